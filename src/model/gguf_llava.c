// gguf_llava.c — LLaVA-1.5 from llama.cpp's pair of GGUF files: the text model (architecture
// "llama", convert_hf_to_gguf.py's LlamaModel) and the mmproj file (architecture "clip" with the
// LLaVA projector, as examples/llava/convert_image_encoder_to_gguf.py writes it).
//
// The metadata is translated into the config.json and preprocessor_config.json transformers
// would read for the same model and parsed by the same code as a safetensors folder
// (config.c), so every derived quantity and every check is the one the hub layout gets; the
// tensors are presented under llava-hf's names (weights_llava.c binds them), ggml's dimension
// order (ne[0] fastest) reversed to PyTorch's. Two things GGUF changes are undone here:
// - the converter drops the tower's layers past the feature layer (and its post-LayerNorm), so
//   the feature layer is the last stored block unless clip.vision.feature_layer names one;
// - LlamaModel.permute interleaves each head's rows of attn_q / attn_k (pairs (i, i + E/2)
//   become (2i, 2i + 1)) for ggml's rotary layout; the decoder puts the products back in
//   transformers' order (kevo_config.qk_interleaved, llama.c), which leaves every value exact.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/gguf.h"
#include "model/config.h"
#include "model/gguf.h"

// ggml tensor names -> llava-hf names; %d is the block index.
static const char *const text_names[][2] = {
    {"token_embd.weight", "language_model.model.embed_tokens.weight"},
    {"output_norm.weight", "language_model.model.norm.weight"},
    {"output.weight", "language_model.lm_head.weight"},
    {"blk.%d.attn_norm.weight", "language_model.model.layers.%d.input_layernorm.weight"},
    {"blk.%d.attn_q.weight", "language_model.model.layers.%d.self_attn.q_proj.weight"},
    {"blk.%d.attn_k.weight", "language_model.model.layers.%d.self_attn.k_proj.weight"},
    {"blk.%d.attn_v.weight", "language_model.model.layers.%d.self_attn.v_proj.weight"},
    {"blk.%d.attn_output.weight", "language_model.model.layers.%d.self_attn.o_proj.weight"},
    {"blk.%d.ffn_norm.weight", "language_model.model.layers.%d.post_attention_layernorm.weight"},
    {"blk.%d.ffn_gate.weight", "language_model.model.layers.%d.mlp.gate_proj.weight"},
    {"blk.%d.ffn_up.weight", "language_model.model.layers.%d.mlp.up_proj.weight"},
    {"blk.%d.ffn_down.weight", "language_model.model.layers.%d.mlp.down_proj.weight"},
};

#define VT "vision_tower.vision_model."
#define VL VT "encoder.layers.%d."
static const char *const vision_names[][2] = {
    {"v.class_embd", VT "embeddings.class_embedding"},
    {"v.patch_embd.weight", VT "embeddings.patch_embedding.weight"},
    {"v.position_embd.weight", VT "embeddings.position_embedding.weight"},
    {"v.pre_ln.weight", VT "pre_layrnorm.weight"}, {"v.pre_ln.bias", VT "pre_layrnorm.bias"},
    {"v.post_ln.weight", VT "post_layernorm.weight"}, {"v.post_ln.bias", VT "post_layernorm.bias"},
    {"v.blk.%d.attn_q.weight", VL "self_attn.q_proj.weight"},
    {"v.blk.%d.attn_q.bias", VL "self_attn.q_proj.bias"},
    {"v.blk.%d.attn_k.weight", VL "self_attn.k_proj.weight"},
    {"v.blk.%d.attn_k.bias", VL "self_attn.k_proj.bias"},
    {"v.blk.%d.attn_v.weight", VL "self_attn.v_proj.weight"},
    {"v.blk.%d.attn_v.bias", VL "self_attn.v_proj.bias"},
    {"v.blk.%d.attn_out.weight", VL "self_attn.out_proj.weight"},
    {"v.blk.%d.attn_out.bias", VL "self_attn.out_proj.bias"},
    {"v.blk.%d.ln1.weight", VL "layer_norm1.weight"}, {"v.blk.%d.ln1.bias", VL "layer_norm1.bias"},
    {"v.blk.%d.ln2.weight", VL "layer_norm2.weight"}, {"v.blk.%d.ln2.bias", VL "layer_norm2.bias"},
    {"v.blk.%d.ffn_up.weight", VL "mlp.fc1.weight"}, {"v.blk.%d.ffn_up.bias", VL "mlp.fc1.bias"},
    {"v.blk.%d.ffn_down.weight", VL "mlp.fc2.weight"},
    {"v.blk.%d.ffn_down.bias", VL "mlp.fc2.bias"},
    {"mm.0.weight", "multi_modal_projector.linear_1.weight"},
    {"mm.0.bias", "multi_modal_projector.linear_1.bias"},
    {"mm.2.weight", "multi_modal_projector.linear_2.weight"},
    {"mm.2.bias", "multi_modal_projector.linear_2.bias"},
};

// The llava-hf name of a ggml name (into buf), or NULL when the table has none.
static const char *hub_name(const char *const (*table)[2], size_t n, const char *name,
                            char *buf, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        const char *pat = table[i][0], *pct = strstr(pat, "%d");
        if (!pct) {
            if (!strcmp(pat, name))
                return snprintf(buf, size, "%s", table[i][1]), buf;
            continue;
        }
        size_t head = (size_t)(pct - pat);
        char *end;
        if (strncmp(name, pat, head) || name[head] < '0' || name[head] > '9')
            continue;
        long block = strtol(name + head, &end, 10);
        if (block > 1 << 20 || strcmp(end, pct + 2))
            continue;
        snprintf(buf, size, table[i][1], (int)block);
        return buf;
    }
    return NULL;
}

// The mapped files and the names the views point to.
typedef struct gguf_owner {
    kevo_gguf *files[2];
    char **names;
    size_t n_names;
} gguf_owner;

static void owner_free(void *p)
{
    gguf_owner *o = p;
    if (!o)
        return;
    for (size_t i = 0; i < o->n_names; i++)
        free(o->names[i]);
    free(o->names);
    kevo_gguf_free(o->files[0]);
    kevo_gguf_free(o->files[1]);
    free(o);
}

// One view per tensor of g, named as the hub names it (its own name where the table has none,
// which the binder then reports as unexpected).
static kevo_status add_views(gguf_owner *o, const kevo_gguf *g, const char *path,
                             const char *const (*table)[2], size_t n_table, kevo_tensor *views,
                             size_t *n, kevo_error *err)
{
    for (size_t i = 0; i < kevo_gguf_n_tensors(g); i++) {
        const kevo_gguf_tensor *t = kevo_gguf_tensor_at(g, i);
        char raw[256], hub[320];
        snprintf(raw, sizeof raw, "%.*s", (int)(t->name.len < 255 ? t->name.len : 255),
                 t->name.s);
        const char *name = hub_name(table, n_table, raw, hub, sizeof hub);
        int dtype = kevo_gguf_dtype(t->ggml_type);
        if (dtype < 0)
            return kevo_fail(err, KEVO_ERR_MODEL, "%s: tensor '%s' (byte %llu) is %s, a type "
                             "kevo does not decode (it reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, "
                             "Q5_1, Q8_0, Q2_K..Q6_K and IQ4_NL)", path, raw,
                             (unsigned long long)t->info_offset,
                             kevo_gguf_type_name(t->ggml_type));
        if (!(o->names[o->n_names] = strdup(name ? name : raw)))
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
        kevo_tensor *v = &views[(*n)++];
        *v = (kevo_tensor){.name = o->names[o->n_names++], .dtype = (kevo_dtype)dtype,
                           .n_dims = t->n_dims, .n_elems = 1, .n_bytes = t->n_bytes,
                           .data = t->data, .path = path, .file_offset = t->file_offset};
        for (int d = 0; d < t->n_dims; d++) {
            v->shape[d] = (int64_t)t->ne[t->n_dims - 1 - d];
            v->n_elems *= t->ne[d];
        }
    }
    return KEVO_OK;
}

kevo_status kevo_gguf_llava_checkpoint(kevo_gguf *text, const char *text_path, kevo_gguf *mmproj,
                                       const char *mmproj_path, kevo_checkpoint **out,
                                       kevo_error *err)
{
    *out = NULL;
    size_t total = kevo_gguf_n_tensors(text) + kevo_gguf_n_tensors(mmproj), n = 0;
    gguf_owner *o = calloc(1, sizeof *o);
    kevo_tensor *views = calloc(total + 1, sizeof *views);
    if (o)
        o->files[0] = text, o->files[1] = mmproj, o->names = calloc(total + 1, sizeof *o->names);
    kevo_status st = !o || !views || !o->names
                         ? kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", text_path)
                         : add_views(o, text, text_path, text_names,
                                     sizeof text_names / sizeof text_names[0], views, &n, err);
    if (st == KEVO_OK)
        st = add_views(o, mmproj, mmproj_path, vision_names,
                       sizeof vision_names / sizeof vision_names[0], views, &n, err);
    if (st != KEVO_OK) {
        free(views);
        if (o)
            owner_free(o);
        else
            kevo_gguf_free(text), kevo_gguf_free(mmproj);
        return st;
    }
    return kevo_checkpoint_from_views(views, n, "GGUF", 2, kevo_gguf_file_size(text) +
                                      kevo_gguf_file_size(mmproj), owner_free, o, out, err);
}
