// weights_qwen.c — Qwen2-VL's and Qwen2.5-VL's tensors in the hub layout of Qwen/Qwen2-VL-*
// and Qwen/Qwen2.5-VL-*: the decoder under "model.", the head "lm_head.weight", the vision
// tower and its PatchMerger under "visual." (modeling_qwen2_vl.py, modeling_qwen2_5_vl.py;
// newer transformers re-save them under the `_checkpoint_conversion_mapping` names, which the
// renames map back).
#include "model/family.h"

static const kevo_rename renames[] = {
    {"model.language_model.", "model."},
    {"model.visual.", "visual."},
};

// One Qwen2VLVisionBlock (LayerNorm, fc1 / fc2) or Qwen2_5_VLVisionBlock (RMSNorm without
// bias, the biased gate / up / down of Qwen2_5_VLMLP).
static void add_block(kevo_binder *b, const kevo_config *c, kevo_qwen_vision_layer_weights *l,
                      int i)
{
    const char *p = "visual.blocks";
    int64_t d = c->vision_hidden, f = c->vision_intermediate;
    kevo_bind_add(b, &l->norm1_w, 1, KEVO_SHAPE(d), "%s.%d.norm1.weight", p, i);
    kevo_bind_add(b, &l->norm2_w, 1, KEVO_SHAPE(d), "%s.%d.norm2.weight", p, i);
    kevo_bind_add(b, &l->qkv_w, 1, KEVO_SHAPE(3 * d, d), "%s.%d.attn.qkv.weight", p, i);
    kevo_bind_add(b, &l->qkv_b, 1, KEVO_SHAPE(3 * d), "%s.%d.attn.qkv.bias", p, i);
    kevo_bind_add(b, &l->proj_w, 1, KEVO_SHAPE(d, d), "%s.%d.attn.proj.weight", p, i);
    kevo_bind_add(b, &l->proj_b, 1, KEVO_SHAPE(d), "%s.%d.attn.proj.bias", p, i);
    if (c->vision_swiglu) {
        kevo_bind_add(b, &l->gate_w, 1, KEVO_SHAPE(f, d), "%s.%d.mlp.gate_proj.weight", p, i);
        kevo_bind_add(b, &l->gate_b, 1, KEVO_SHAPE(f), "%s.%d.mlp.gate_proj.bias", p, i);
        kevo_bind_add(b, &l->up_w, 1, KEVO_SHAPE(f, d), "%s.%d.mlp.up_proj.weight", p, i);
        kevo_bind_add(b, &l->up_b, 1, KEVO_SHAPE(f), "%s.%d.mlp.up_proj.bias", p, i);
        kevo_bind_add(b, &l->down_w, 1, KEVO_SHAPE(d, f), "%s.%d.mlp.down_proj.weight", p, i);
        kevo_bind_add(b, &l->down_b, 1, KEVO_SHAPE(d), "%s.%d.mlp.down_proj.bias", p, i);
        return;
    }
    kevo_bind_add(b, &l->norm1_b, 1, KEVO_SHAPE(d), "%s.%d.norm1.bias", p, i);
    kevo_bind_add(b, &l->norm2_b, 1, KEVO_SHAPE(d), "%s.%d.norm2.bias", p, i);
    kevo_bind_add(b, &l->fc1_w, 1, KEVO_SHAPE(f, d), "%s.%d.mlp.fc1.weight", p, i);
    kevo_bind_add(b, &l->fc1_b, 1, KEVO_SHAPE(f), "%s.%d.mlp.fc1.bias", p, i);
    kevo_bind_add(b, &l->fc2_w, 1, KEVO_SHAPE(d, f), "%s.%d.mlp.fc2.weight", p, i);
    kevo_bind_add(b, &l->fc2_b, 1, KEVO_SHAPE(d), "%s.%d.mlp.fc2.bias", p, i);
}

static void add_vision(kevo_binder *b, const kevo_config *c, kevo_weights *w)
{
    int64_t dv = c->vision_hidden, p = c->patch_size, m = c->spatial_merge_size;
    int64_t dm = dv * m * m, d = c->text_hidden;
    kevo_bind_add(b, &w->qwen_patch_w, 1,
                  KEVO_SHAPE(dv, c->num_channels, c->temporal_patch_size, p, p),
                  "visual.patch_embed.proj.weight");
    w->n_qwen_vision = c->vision_layers;
    w->qwen_vision = kevo_bind_alloc(b, (size_t)c->vision_layers, sizeof *w->qwen_vision);
    for (int i = 0; w->qwen_vision && i < c->vision_layers; i++)
        add_block(b, c, &w->qwen_vision[i], i);
    kevo_bind_add(b, &w->merger_ln_w, 1, KEVO_SHAPE(dv), "visual.merger.ln_q.weight");
    if (!c->vision_swiglu)   // Qwen2-VL's LayerNorm; Qwen2.5-VL's RMSNorm has no bias
        kevo_bind_add(b, &w->merger_ln_b, 1, KEVO_SHAPE(dv), "visual.merger.ln_q.bias");
    kevo_bind_add(b, &w->merger1_w, 1, KEVO_SHAPE(dm, dm), "visual.merger.mlp.0.weight");
    kevo_bind_add(b, &w->merger1_b, 1, KEVO_SHAPE(dm), "visual.merger.mlp.0.bias");
    kevo_bind_add(b, &w->merger2_w, 1, KEVO_SHAPE(d, dm), "visual.merger.mlp.2.weight");
    kevo_bind_add(b, &w->merger2_b, 1, KEVO_SHAPE(d), "visual.merger.mlp.2.bias");
}

const kevo_weight_layout kevo_qwen_weight_layout = {
    .renames = renames,
    .n_renames = (int)(sizeof renames / sizeof renames[0]),
    .text_prefix = "model.",
    .lm_head = "lm_head.weight",
    .vision_prefix = "visual.",
    .projector_prefixes = {"visual.merger.", NULL},
    .add_vision = add_vision,
};
