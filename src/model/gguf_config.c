// gguf_config.c — LLaVA-1.5's config.json and preprocessor_config.json as transformers would
// read them, from the metadata of llama.cpp's GGUF pair (see gguf_llava.c). Keys follow
// gguf-py/gguf/constants.py (Keys.LLM, Keys.Attention, Keys.Rope, Keys.ClipVision) as
// convert_hf_to_gguf.py and convert_image_encoder_to_gguf.py write them.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "io/gguf.h"
#include "kernels/ops.h"
#include "model/config.h"
#include "model/gguf.h"

typedef struct reader {
    const kevo_gguf *g;
    cJSON *obj;
    kevo_error *err;
    kevo_status st;
} reader;

// obj[json] = the integer at key; a missing key takes def (< 0: required).
static void put_int(reader *r, const char *key, const char *json, long long def)
{
    uint64_t v = (uint64_t)def;
    if (r->st == KEVO_OK && (def < 0 || kevo_gguf_find(r->g, key)))
        r->st = kevo_gguf_get_u64(r->g, key, &v, r->err);
    if (r->st == KEVO_OK && v > (1u << 30))
        r->st = kevo_fail(r->err, KEVO_ERR_MODEL, "%s: key '%s' is %llu, past any model's size",
                          kevo_gguf_path(r->g), key, (unsigned long long)v);
    if (r->st == KEVO_OK)
        cJSON_AddNumberToObject(r->obj, json, (double)v);
}

static void put_float(reader *r, const char *key, const char *json, double def)
{
    double v = def;
    if (r->st == KEVO_OK && (def < 0 || kevo_gguf_find(r->g, key)))
        r->st = kevo_gguf_get_f64(r->g, key, &v, r->err);
    if (r->st == KEVO_OK)
        cJSON_AddNumberToObject(r->obj, json, v);
}

// Whether the string at key equals want (a missing key is an error naming it).
static int str_is(reader *r, const char *key, const char *want)
{
    kevo_gguf_str s;
    if (r->st != KEVO_OK || (r->st = kevo_gguf_get_str(r->g, key, &s, r->err)) != KEVO_OK)
        return 0;
    if (s.len == strlen(want) && !memcmp(s.s, want, s.len))
        return 1;
    r->st = kevo_fail(r->err, KEVO_ERR_MODEL, "%s: %s is \"%.*s\"; kevo reads \"%s\" here",
                      kevo_gguf_path(r->g), key, (int)(s.len < 64 ? s.len : 64), s.s, want);
    return 0;
}

// The id of the token whose piece is `piece`, or -1.
static int token_id(const kevo_gguf *g, const char *piece)
{
    const kevo_gguf_kv *kv = kevo_gguf_find(g, "tokenizer.ggml.tokens");
    if (!kv || kv->type != KEVO_GGUF_ARRAY || kv->elem_type != KEVO_GGUF_STRING)
        return -1;
    for (uint64_t i = 0; i < kv->n && i < (1u << 30); i++)
        if (kv->strings[i].len == strlen(piece) && !memcmp(kv->strings[i].s, piece,
                                                           kv->strings[i].len))
            return (int)i;
    return -1;
}

// text_config: LlamaConfig from the "llama" architecture's keys.
static void text_config(reader *r)
{
    if (!str_is(r, "general.architecture", "llama"))
        return;
    cJSON_AddStringToObject(r->obj, "model_type", "llama");
    put_int(r, "llama.embedding_length", "hidden_size", -1);
    put_int(r, "llama.feed_forward_length", "intermediate_size", -1);
    put_int(r, "llama.block_count", "num_hidden_layers", -1);
    put_int(r, "llama.attention.head_count", "num_attention_heads", -1);
    put_int(r, "llama.context_length", "max_position_embeddings", 4096);
    put_float(r, "llama.attention.layer_norm_rms_epsilon", "rms_norm_eps", -1);
    put_float(r, "llama.rope.freq_base", "rope_theta", 10000);
    const cJSON *h = cJSON_GetObjectItem(r->obj, "num_attention_heads");
    if (r->st == KEVO_OK)
        put_int(r, "llama.attention.head_count_kv", "num_key_value_heads",
                (long long)h->valuedouble);
    const kevo_gguf_tensor *embd = kevo_gguf_find_tensor(r->g, "token_embd.weight");
    if (r->st == KEVO_OK && (!embd || embd->n_dims != 2))
        r->st = kevo_fail(r->err, KEVO_ERR_MODEL, "%s: no 2-D tensor 'token_embd.weight'",
                          kevo_gguf_path(r->g));
    if (r->st == KEVO_OK)
        cJSON_AddNumberToObject(r->obj, "vocab_size", (double)embd->ne[1]);
}

// vision_config: CLIPVisionConfig from the "clip" architecture's keys; the LLaVA projector only.
static void vision_config(reader *r)
{
    if (!str_is(r, "general.architecture", "clip") ||
        !str_is(r, "clip.projector_type", "mlp"))
        return;
    put_int(r, "clip.vision.embedding_length", "hidden_size", -1);
    put_int(r, "clip.vision.feed_forward_length", "intermediate_size", -1);
    put_int(r, "clip.vision.block_count", "num_hidden_layers", -1);
    put_int(r, "clip.vision.attention.head_count", "num_attention_heads", -1);
    put_int(r, "clip.vision.image_size", "image_size", -1);
    put_int(r, "clip.vision.patch_size", "patch_size", -1);
    put_float(r, "clip.vision.attention.layer_norm_epsilon", "layer_norm_eps", -1);
    // clip.use_gelu (a bool): erf GELU; CLIP's own quick_gelu otherwise
    const kevo_gguf_kv *kv = kevo_gguf_find(r->g, "clip.use_gelu");
    int gelu = kv && kv->type == KEVO_GGUF_BOOL && kv->value[0];
    if (r->st == KEVO_OK && kv && kv->type != KEVO_GGUF_BOOL)
        r->st = kevo_fail(r->err, KEVO_ERR_MODEL, "%s: key 'clip.use_gelu' (byte %llu) is not a "
                          "bool", kevo_gguf_path(r->g), (unsigned long long)kv->offset);
    if (r->st == KEVO_OK)
        cJSON_AddStringToObject(r->obj, "hidden_act", gelu ? "gelu" : "quick_gelu");
}

// The feature layer as transformers indexes hidden_states (0: the embeddings): the one
// clip.vision.feature_layer names, else the last stored block's output (the converter stores
// the blocks up to LLaVA's vision_feature_layer and no further).
static int feature_layer(reader *r, int blocks)
{
    const kevo_gguf_kv *kv = kevo_gguf_find(r->g, "clip.vision.feature_layer");
    if (!kv)
        return blocks;
    double l = kv->type == KEVO_GGUF_ARRAY && kv->n == 1 && kv->elem_type != KEVO_GGUF_STRING
                   ? kevo_gguf_array_f64(kv, 0) : -1;
    if (r->st == KEVO_OK && !(l >= 0 && l <= blocks && l == (int)l))
        r->st = kevo_fail(r->err, KEVO_ERR_MODEL, "%s: clip.vision.feature_layer (byte %llu) "
                          "is not one index of the %d stored blocks' hidden states",
                          kevo_gguf_path(r->g), (unsigned long long)kv->offset, blocks);
    return (int)l;
}

static kevo_status config_json(const kevo_gguf *text, const kevo_gguf *mmproj, cJSON *root,
                               kevo_error *err)
{
    reader t = {text, cJSON_AddObjectToObject(root, "text_config"), err, KEVO_OK};
    text_config(&t);
    if (t.st != KEVO_OK)
        return t.st;
    reader v = {mmproj, cJSON_AddObjectToObject(root, "vision_config"), err, KEVO_OK};
    vision_config(&v);
    if (v.st != KEVO_OK)
        return v.st;
    int image = token_id(text, "<image>");
    if (image < 0)
        return kevo_fail(err, KEVO_ERR_MODEL, "%s: no '<image>' among tokenizer.ggml.tokens "
                         "(LLaVA's image token)", kevo_gguf_path(text));
    cJSON_AddStringToObject(root, "model_type", "llava");
    int blocks = (int)cJSON_GetObjectItem(v.obj, "num_hidden_layers")->valuedouble;
    cJSON_AddNumberToObject(root, "vision_feature_layer", feature_layer(&v, blocks));
    cJSON_AddStringToObject(root, "vision_feature_select_strategy", "default");
    cJSON_AddNumberToObject(root, "image_token_index", image);
    cJSON_AddBoolToObject(root, "multimodal_projector_bias",
                          kevo_gguf_find_tensor(mmproj, "mm.0.bias") != NULL);
    cJSON_AddBoolToObject(root, "tie_word_embeddings",
                          kevo_gguf_find_tensor(text, "output.weight") == NULL);
    return v.st;
}

// CLIPImageProcessor as llava-hf configures it for the tower's image size: resize the short
// side, centre crop, bicubic, 1/255, the mean and std the mmproj file holds.
static kevo_status preprocessor_json(const kevo_gguf *mmproj, int size, cJSON *root,
                                     kevo_error *err)
{
    const char *keys[2] = {"clip.vision.image_mean", "clip.vision.image_std"};
    double v[2][3];
    for (int k = 0; k < 2; k++) {
        const kevo_gguf_kv *kv = kevo_gguf_find(mmproj, keys[k]);
        if (!kv || kv->type != KEVO_GGUF_ARRAY || kv->n != 3 || kv->elem_type == KEVO_GGUF_STRING)
            return kevo_fail(err, KEVO_ERR_MODEL, "%s: %s is missing or not 3 numbers",
                             kevo_gguf_path(mmproj), keys[k]);
        for (int c = 0; c < 3; c++)
            v[k][c] = kevo_gguf_array_f64(kv, (uint64_t)c);
    }
    cJSON_AddStringToObject(root, "image_processor_type", "CLIPImageProcessor");
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(root, "size"), "shortest_edge", size);
    cJSON *crop = cJSON_AddObjectToObject(root, "crop_size");
    cJSON_AddNumberToObject(crop, "height", size);
    cJSON_AddNumberToObject(crop, "width", size);
    cJSON_AddItemToObject(root, "image_mean", cJSON_CreateDoubleArray(v[0], 3));
    cJSON_AddItemToObject(root, "image_std", cJSON_CreateDoubleArray(v[1], 3));
    return KEVO_OK;
}

// *id = the token id at key when the file has the key (else *id is kept), checked against the
// vocabulary.
static kevo_status token_key(const kevo_gguf *g, const char *key, int vocab, int *id,
                             kevo_error *err)
{
    uint64_t v;
    if (!kevo_gguf_find(g, key))
        return KEVO_OK;
    kevo_status st = kevo_gguf_get_u64(g, key, &v, err);
    if (st == KEVO_OK && v >= (uint64_t)vocab)
        st = kevo_fail(err, KEVO_ERR_MODEL, "%s: %s %llu is past the vocabulary (%d rows)",
                       kevo_gguf_path(g), key, (unsigned long long)v, vocab);
    if (st == KEVO_OK)
        *id = (int)v;
    return st;
}

kevo_status kevo_gguf_llava_config(const kevo_gguf *text, const kevo_gguf *mmproj,
                                   kevo_config *c, kevo_image_config *ic, kevo_error *err)
{
    cJSON *config = cJSON_CreateObject(), *pre = cJSON_CreateObject();
    kevo_status st = !config || !pre ? kevo_fail(err, KEVO_ERR_NOMEM, "out of memory")
                                     : config_json(text, mmproj, config, err);
    char where[4200];
    snprintf(where, sizeof where, "%s (read as config.json)", kevo_gguf_path(text));
    if (st == KEVO_OK)
        st = kevo_config_parse(config, where, c, err);
    if (st == KEVO_OK)
        st = preprocessor_json(mmproj, c->image_size, pre, err);
    snprintf(where, sizeof where, "%s (read as preprocessor_config.json)",
             kevo_gguf_path(mmproj));
    if (st == KEVO_OK)
        st = kevo_image_config_parse(pre, where, ic, err);
    // BOS, EOS and padding from the tokenizer's keys (generation_config.json's role)
    if (st == KEVO_OK)
        st = token_key(text, "tokenizer.ggml.bos_token_id", c->text_vocab, &c->bos_id, err);
    int eos = -1;
    if (st == KEVO_OK &&
        (st = token_key(text, "tokenizer.ggml.eos_token_id", c->text_vocab, &eos, err)) ==
            KEVO_OK && eos >= 0) {
        c->eos_ids[0] = eos;
        c->n_eos = 1;
    }
    if (st == KEVO_OK)
        st = token_key(text, "tokenizer.ggml.padding_token_id", c->text_vocab, &c->pad_id, err);
    c->qk_interleaved = 1;
    if (st == KEVO_OK && (c->text_head_dim % 2 || c->text_head_dim > KEVO_DEINTERLEAVE_MAX))
        st = kevo_fail(err, KEVO_ERR_MODEL, "%s: heads of %d values; kevo undoes the converter's "
                       "interleaved q/k rows for even head sizes up to %d", kevo_gguf_path(text),
                       c->text_head_dim, KEVO_DEINTERLEAVE_MAX);
    cJSON_Delete(config);
    cJSON_Delete(pre);
    return st;
}
