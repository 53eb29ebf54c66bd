// weights_llava.c — the LLaVA families' tensors in the llava-hf hub layout: the CLIP tower, the
// projector, LLaVA-NeXT's image_newline (spec: transformers convert_llava_weights_to_hf.py and
// modeling_llava.py `_checkpoint_conversion_mapping`, whose new names map back here).
#include "model/family.h"

static const kevo_rename renames[] = {
    {"model.language_model.", "language_model.model."},
    {"model.vision_tower.", "vision_tower."},
    {"model.multi_modal_projector.", "multi_modal_projector."},
    {"lm_head.", "language_model.lm_head."},
    {"model.image_newline", "image_newline"},
};

// Layers at or above the feature layer are validated when present but never bound or read.
static void add_clip_layer(kevo_binder *b, const kevo_config *c, kevo_clip_layer_weights *l,
                           int i)
{
    const char *p = "vision_tower.vision_model.encoder.layers";
    int64_t d = c->vision_hidden, f = c->vision_intermediate;
    int r = l != NULL;
#define SLOT(field) (l ? &l->field : NULL)
    kevo_bind_add(b, SLOT(ln1_w), r, KEVO_SHAPE(d), "%s.%d.layer_norm1.weight", p, i);
    kevo_bind_add(b, SLOT(ln1_b), r, KEVO_SHAPE(d), "%s.%d.layer_norm1.bias", p, i);
    kevo_bind_add(b, SLOT(q_w), r, KEVO_SHAPE(d, d), "%s.%d.self_attn.q_proj.weight", p, i);
    kevo_bind_add(b, SLOT(q_b), r, KEVO_SHAPE(d), "%s.%d.self_attn.q_proj.bias", p, i);
    kevo_bind_add(b, SLOT(k_w), r, KEVO_SHAPE(d, d), "%s.%d.self_attn.k_proj.weight", p, i);
    kevo_bind_add(b, SLOT(k_b), r, KEVO_SHAPE(d), "%s.%d.self_attn.k_proj.bias", p, i);
    kevo_bind_add(b, SLOT(v_w), r, KEVO_SHAPE(d, d), "%s.%d.self_attn.v_proj.weight", p, i);
    kevo_bind_add(b, SLOT(v_b), r, KEVO_SHAPE(d), "%s.%d.self_attn.v_proj.bias", p, i);
    kevo_bind_add(b, SLOT(o_w), r, KEVO_SHAPE(d, d), "%s.%d.self_attn.out_proj.weight", p, i);
    kevo_bind_add(b, SLOT(o_b), r, KEVO_SHAPE(d), "%s.%d.self_attn.out_proj.bias", p, i);
    kevo_bind_add(b, SLOT(ln2_w), r, KEVO_SHAPE(d), "%s.%d.layer_norm2.weight", p, i);
    kevo_bind_add(b, SLOT(ln2_b), r, KEVO_SHAPE(d), "%s.%d.layer_norm2.bias", p, i);
    kevo_bind_add(b, SLOT(fc1_w), r, KEVO_SHAPE(f, d), "%s.%d.mlp.fc1.weight", p, i);
    kevo_bind_add(b, SLOT(fc1_b), r, KEVO_SHAPE(f), "%s.%d.mlp.fc1.bias", p, i);
    kevo_bind_add(b, SLOT(fc2_w), r, KEVO_SHAPE(d, f), "%s.%d.mlp.fc2.weight", p, i);
    kevo_bind_add(b, SLOT(fc2_b), r, KEVO_SHAPE(d), "%s.%d.mlp.fc2.bias", p, i);
#undef SLOT
}

static void add_vision(kevo_binder *b, const kevo_config *c, kevo_weights *w)
{
    const char *v = "vision_tower.vision_model";
    int64_t dv = c->vision_hidden, p = c->patch_size, grid = c->image_size / c->patch_size;
    // The deepest feature layer is hidden_states[feature_layer]: layers 0 .. feature_layer-1 run.
    w->n_vision = c->feature_layer;
    w->vision = kevo_bind_alloc(b, (size_t)w->n_vision + 1, sizeof *w->vision);
    if (!w->vision)
        return;
    kevo_bind_add(b, &w->class_emb, 1, KEVO_SHAPE(dv), "%s.embeddings.class_embedding", v);
    kevo_bind_add(b, &w->patch_w, 1, KEVO_SHAPE(dv, c->num_channels, p, p),
                  "%s.embeddings.patch_embedding.weight", v);
    kevo_bind_add(b, &w->pos_emb, 1, KEVO_SHAPE(grid * grid + 1, dv),
                  "%s.embeddings.position_embedding.weight", v);
    kevo_bind_want_f32(b);   // added to every patch: worth one F32 copy
    kevo_bind_add(b, &w->pre_ln_w, 1, KEVO_SHAPE(dv), "%s.pre_layrnorm.weight", v);
    kevo_bind_add(b, &w->pre_ln_b, 1, KEVO_SHAPE(dv), "%s.pre_layrnorm.bias", v);
    for (int i = 0; i < c->vision_layers; i++)
        add_clip_layer(b, c, i < w->n_vision ? &w->vision[i] : NULL, i);
    kevo_bind_add(b, NULL, 0, KEVO_SHAPE(dv), "%s.post_layernorm.weight", v);
    kevo_bind_add(b, NULL, 0, KEVO_SHAPE(dv), "%s.post_layernorm.bias", v);

    int64_t d = c->text_hidden, features = dv * c->n_feature_layers;
    const char *mp = "multi_modal_projector";
    kevo_bind_add(b, &w->proj1_w, 1, KEVO_SHAPE(d, features), "%s.linear_1.weight", mp);
    kevo_bind_add(b, &w->proj2_w, 1, KEVO_SHAPE(d, d), "%s.linear_2.weight", mp);
    if (c->projector_bias) {
        kevo_bind_add(b, &w->proj1_b, 1, KEVO_SHAPE(d), "%s.linear_1.bias", mp);
        kevo_bind_add(b, &w->proj2_b, 1, KEVO_SHAPE(d), "%s.linear_2.bias", mp);
    }
    if (c->image_newline)   // LLaVA-NeXT's learned end of every row of tile features
        kevo_bind_add(b, &w->image_newline, 1, KEVO_SHAPE(d), "image_newline");
}

const kevo_weight_layout kevo_llava_weight_layout = {
    .renames = renames,
    .n_renames = (int)(sizeof renames / sizeof renames[0]),
    .text_prefix = "language_model.model.",
    .lm_head = "language_model.lm_head.weight",
    .vision_prefix = "vision_tower.",
    .projector_prefixes = {"multi_modal_projector.", "image_newline"},
    .add_vision = add_vision,
};
