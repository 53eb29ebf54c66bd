// config.c — config.json, generation_config.json and preprocessor_config.json of a llava-hf
// model folder, with transformers' class defaults for every key a sparse config leaves out.
// config.json's model_type picks the family (family.h), which reads its own top-level keys.
//
// Defaults follow transformers: LlavaConfig (configuration_llava.py; an absent vision_config
// means CLIP ViT-L/14-336, an absent text_config means LlamaConfig()), LlamaConfig
// (configuration_llama.py), MistralConfig (configuration_mistral.py), CLIPVisionConfig
// (configuration_clip.py) and CLIPImageProcessor (image_processing_clip.py). Values outside what
// kevo can run are refused here, with the key, so that nothing downstream has to guess.
#include "model/config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/fs.h"
#include "io/json.h"
#include "model/config_read.h"
#include "model/family.h"

#define CONFIG_MAX (4u << 20)

// The decoders kevo runs, by text_config's model_type, with their config classes' defaults
// (configuration_llama.py LlamaConfig; configuration_mistral.py MistralConfig, the same math with
// a sliding window; configuration_qwen2_vl.py Qwen2VLTextConfig and configuration_qwen2_5_vl.py
// Qwen2_5_VLTextConfig, the Qwen2 decoder: biased q/k/v and M-RoPE).
typedef struct text_defaults {
    const char *model_type, *decoder;
    int hidden, intermediate, layers, heads, kv_heads, vocab, max_positions, sliding_window;
    double rms_norm_eps, rope_theta;   // kv_heads 0: = heads; vocab 0: the legacy top level's
    int qwen2;                         // q/k/v biases, rope_scaling's mrope_section
} text_defaults;

static const text_defaults decoders[] = {
    {"llama", "llama", 4096, 11008, 32, 32, 0, 0, 2048, 0, 1e-6, 10000.0, 0},
    {"mistral", "mistral", 4096, 14336, 32, 32, 8, 0, 4096 * 32, 4096, 1e-6, 10000.0, 0},
    {"qwen2_vl_text", "qwen2", 8192, 29568, 80, 64, 8, 152064, 32768, 0, 1e-5, 1e6, 1},
    {"qwen2_5_vl_text", "qwen2", 8192, 29568, 80, 64, 8, 152064, 32768, 0, 1e-5, 1e6, 1},
};

// Mistral's sliding_window: absent takes the default, null means none.
static kevo_status read_window(kevo_cfg_reader *r, int def, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, "sliding_window");
    if (v && cJSON_IsNull(v)) {
        *out = 0;
        return KEVO_OK;
    }
    return kevo_cfg_int(r, "sliding_window", 1, def, 1, 1 << 24, out);
}

// M-RoPE (modeling_qwen2_vl.py apply_multimodal_rotary_pos_emb): rope_scaling (or the newer
// rope_parameters) of type "mrope" (read as "default") with mrope_section, three rotary pair
// counts that must cover the head's E/2 pairs; its rope_theta, when given, wins.
static kevo_status read_mrope(kevo_cfg_reader *r, kevo_config *c)
{
    const char *key = "rope_scaling";
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    if (!cJSON_IsObject(v))
        v = cJSON_GetObjectItemCaseSensitive(r->obj, key = "rope_parameters");
    if (!cJSON_IsObject(v))
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s has no rope_scaling with mrope_section: "
                         "the Qwen2-VL decoder needs M-RoPE's sections", r->where);
    kevo_cfg_reader sub;
    kevo_cfg_sub(&sub, r, v, key);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "type");
    if (!type)
        type = cJSON_GetObjectItemCaseSensitive(v, "rope_type");
    if (type && (!cJSON_IsString(type) || (strcmp(type->valuestring, "mrope") != 0 &&
                                           strcmp(type->valuestring, "default") != 0)))
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s: kevo runs the rope type \"mrope\" "
                         "(\"default\") only", kevo_cfg_key(&sub, "type"));
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(v, "mrope_section");
    if (!cJSON_IsArray(sec) || cJSON_GetArraySize(sec) != 3)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s must list 3 section sizes (temporal, "
                         "height, width)", kevo_cfg_key(&sub, "mrope_section"));
    int sum = 0;
    for (int i = 0; i < 3; i++) {
        const cJSON *x = cJSON_GetArrayItem(sec, i);
        if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > KEVO_CFG_DIM_MAX ||
            x->valuedouble != (int)x->valuedouble)
            return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s[%d] is not a section size",
                             kevo_cfg_key(&sub, "mrope_section"), i);
        sum += c->mrope_section[i] = (int)x->valuedouble;
    }
    if (sum != c->text_head_dim / 2)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s sums to %d but the head has %d rotary "
                         "pairs (head_dim / 2)", kevo_cfg_key(&sub, "mrope_section"), sum,
                         c->text_head_dim / 2);
    c->n_mrope = 3;
    return cJSON_GetObjectItemCaseSensitive(v, "rope_theta")
               ? kevo_cfg_pos_float(&sub, "rope_theta", 0, &c->rope_theta)
               : KEVO_OK;
}

// The decoder's keys with its class defaults: text_config, or (forced_type set) the top level
// that a family's legacy layout keeps them in. `top` supplies the legacy top-level vocab_size.
static kevo_status read_text(kevo_cfg_reader *r, kevo_cfg_reader *top, const char *forced_type,
                             kevo_config *c)
{
    kevo_status st;
    const char *type = forced_type;
    if (!type && (st = kevo_json_str(r->obj, "model_type", 1, "llama", &type, r->where, r->err)))
        return st;
    const text_defaults *td = NULL;
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++)
        if (strcmp(type, decoders[i].model_type) == 0)
            td = &decoders[i];
    if (!td)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = \"%s\" is not supported (kevo runs "
                         "\"llama\", \"mistral\" and the Qwen2-VL decoders)",
                         kevo_cfg_key(r, "model_type"), type);
    snprintf(c->text_model_type, sizeof c->text_model_type, "%s", td->decoder);
    int top_vocab, use_window = 0;
    if ((st = kevo_cfg_int(top, "vocab_size", 1, td->vocab ? td->vocab : 32000, 1, 1 << 24,
                           &top_vocab)) ||
        (st = kevo_cfg_int(r, "hidden_size", 1, td->hidden, 1, KEVO_CFG_DIM_MAX,
                           &c->text_hidden)) ||
        (st = kevo_cfg_int(r, "intermediate_size", 1, td->intermediate, 1, KEVO_CFG_DIM_MAX,
                           &c->text_intermediate)) ||
        (st = kevo_cfg_int(r, "num_hidden_layers", 1, td->layers, 1, 1024, &c->text_layers)) ||
        (st = kevo_cfg_int(r, "num_attention_heads", 1, td->heads, 1, 4096, &c->text_heads)) ||
        (st = kevo_cfg_int(r, "num_key_value_heads", 1, td->kv_heads ? td->kv_heads :
                           c->text_heads, 1, 4096, &c->text_kv_heads)) ||
        (st = kevo_cfg_int(r, "vocab_size", 1, top_vocab, 1, 1 << 24, &c->text_vocab)) ||
        (st = kevo_cfg_int(r, "max_position_embeddings", 1, td->max_positions, 1, 1 << 24,
                           &c->text_max_positions)) ||
        (st = kevo_cfg_pos_float(r, "rms_norm_eps", td->rms_norm_eps, &c->rms_norm_eps)) ||
        (st = kevo_cfg_pos_float(r, "rope_theta", td->rope_theta, &c->rope_theta)) ||
        (st = kevo_cfg_str_is(r, "hidden_act", "silu", "silu", NULL)) ||
        (!td->qwen2 && (st = kevo_cfg_false(r, "attention_bias", "biased attention "
                                            "projections"))) ||
        (st = kevo_cfg_false(r, "mlp_bias", "biased MLP projections")) ||
        (st = kevo_json_bool(r->obj, "tie_word_embeddings", 1, 0, &c->tie_word_embeddings,
                             r->where, r->err)) ||
        (st = kevo_cfg_int(r, "bos_token_id", 1, td->qwen2 ? 151643 : 1, 0, c->text_vocab - 1,
                           &c->bos_id)) ||
        (st = kevo_cfg_int(r, "eos_token_id", 1, td->qwen2 ? 151645 : 2, 0, c->text_vocab - 1,
                           &c->eos_ids[0])) ||
        (st = kevo_cfg_int(r, "pad_token_id", 1, -1, -1, 1 << 24, &c->pad_id)))
        return st;
    c->attention_bias = td->qwen2;   // Qwen2Attention: q/k/v always biased, o_proj never
    c->sliding_window = 0;
    if (td->sliding_window && (st = read_window(r, td->sliding_window, &c->sliding_window)))
        return st;
    // Qwen2's window applies only to layers from max_window_layers on; kevo runs none.
    if (td->qwen2 && ((st = kevo_json_bool(r->obj, "use_sliding_window", 1, 0, &use_window,
                                           r->where, r->err)) || use_window))
        return st ? st : kevo_fail(r->err, KEVO_ERR_CONFIG, "%s is true; kevo runs the Qwen2 "
                                   "decoder with full attention only",
                                   kevo_cfg_key(r, "use_sliding_window"));
    c->n_eos = 1;
    const cJSON *scaling = cJSON_GetObjectItemCaseSensitive(r->obj, "rope_scaling");
    if (!td->qwen2 && scaling && !cJSON_IsNull(scaling))
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s is set; kevo supports only plain RoPE "
                         "(rope_scaling null)", kevo_cfg_key(r, "rope_scaling"));
    int pretraining_tp;
    if ((st = kevo_cfg_int(r, "pretraining_tp", 1, 1, 1, 1024, &pretraining_tp)))
        return st;
    // head_dim may be given explicitly (newer configs); otherwise hidden / heads must divide.
    if (!cJSON_GetObjectItemCaseSensitive(r->obj, "head_dim") ||
        cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r->obj, "head_dim"))) {
        if (c->text_hidden % c->text_heads != 0)
            return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s: hidden_size %d is not divisible by "
                             "num_attention_heads %d", r->where, c->text_hidden, c->text_heads);
        c->text_head_dim = c->text_hidden / c->text_heads;
    } else if ((st = kevo_cfg_int(r, "head_dim", 0, 0, 1, KEVO_CFG_DIM_MAX, &c->text_head_dim))) {
        return st;
    }
    if (c->text_head_dim % 2 != 0)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s: head dimension %d is odd; rotary "
                         "embeddings need an even one", r->where, c->text_head_dim);
    if (c->text_heads % c->text_kv_heads != 0)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s: num_attention_heads %d is not a multiple "
                         "of num_key_value_heads %d", r->where, c->text_heads, c->text_kv_heads);
    return td->qwen2 ? read_mrope(r, c) : KEVO_OK;
}

kevo_status kevo_clip_read_vision(kevo_cfg_reader *r, int absent, kevo_config *c)
{
    kevo_status st;
    double eps;
    if ((st = kevo_cfg_str_is(r, "model_type", "clip_vision_model", "clip_vision_model", NULL)) ||
        (st = kevo_cfg_int(r, "hidden_size", 1, absent ? 1024 : 768, 1, KEVO_CFG_DIM_MAX,
                           &c->vision_hidden)) ||
        (st = kevo_cfg_int(r, "intermediate_size", 1, absent ? 4096 : 3072, 1, KEVO_CFG_DIM_MAX,
                     &c->vision_intermediate)) ||
        (st = kevo_cfg_int(r, "num_hidden_layers", 1, absent ? 24 : 12, 1, 1024,
                           &c->vision_layers)) ||
        (st = kevo_cfg_int(r, "num_attention_heads", 1, absent ? 16 : 12, 1, 4096,
                           &c->vision_heads)) ||
        (st = kevo_cfg_int(r, "image_size", 1, absent ? 336 : 224, 1, 16384, &c->image_size)) ||
        (st = kevo_cfg_int(r, "patch_size", 1, absent ? 14 : 32, 1, 16384, &c->patch_size)) ||
        (st = kevo_cfg_int(r, "num_channels", 1, 3, 3, 3, &c->num_channels)) ||
        (st = kevo_json_num(r->obj, "layer_norm_eps", 1, 1e-5, &eps, r->where, r->err)) ||
        (st = kevo_cfg_vision_act(r, &c->vision_gelu_exact)))
        return st;
    if (!(eps > 0))
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s must be positive",
                         kevo_cfg_key(r, "layer_norm_eps"));
    if (!kevo_cfg_fits_float(eps) || (float)eps == 0)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = %g is %s as a 32-bit float",
                         kevo_cfg_key(r, "layer_norm_eps"), eps,
                         kevo_cfg_fits_float(eps) ? "zero" : "infinite");
    c->vision_ln_eps = (float)eps;
    if (c->vision_hidden % c->vision_heads != 0)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s: hidden_size %d is not divisible by "
                         "num_attention_heads %d", r->where, c->vision_hidden, c->vision_heads);
    c->vision_head_dim = c->vision_hidden / c->vision_heads;
    if (c->image_size % c->patch_size != 0)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s: image_size %d is not a multiple of "
                         "patch_size %d", r->where, c->image_size, c->patch_size);
    return KEVO_OK;
}

// generation_config.json, when present, overrides bos and the EOS set (an int or a list).
static kevo_status read_generation(const char *dir, kevo_config *c, kevo_error *err)
{
    char path[4096];
    kevo_status st = kevo_path_join(path, sizeof path, dir, "generation_config.json", err);
    struct stat sb;   // present but not a regular file (a FIFO...): refused by the loader
    if (st != KEVO_OK || stat(path, &sb) != 0)
        return st;
    cJSON *root;
    if ((st = kevo_json_load(path, CONFIG_MAX, &root, err)) != KEVO_OK)
        return st;
    kevo_cfg_reader r = {.obj = root, .err = err};
    kevo_error_head(r.where, sizeof r.where, "%s:", path);
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");
    // Ids the model has no row for are config errors (the LM head could never yield them).
    if ((st = kevo_cfg_int(&r, "bos_token_id", 1, c->bos_id, 0, c->text_vocab - 1, &c->bos_id)))
        goto done;
    if (cJSON_IsArray(eos)) {
        int n = cJSON_GetArraySize(eos);
        if (n < 1 || n > (int)(sizeof c->eos_ids / sizeof c->eos_ids[0])) {
            st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: eos_token_id lists %d ids (1 to 8 "
                           "supported)", path, n);
            goto done;
        }
        for (int i = 0; i < n; i++) {
            const cJSON *id = cJSON_GetArrayItem(eos, i);
            if (!cJSON_IsNumber(id) || !(id->valuedouble >= 0) ||
                id->valuedouble >= (1 << 24) || id->valuedouble != (int)id->valuedouble) {
                st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: eos_token_id[%d] is not a token id",
                               path, i);
                goto done;
            }
            if (id->valuedouble >= c->text_vocab) {
                st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: eos_token_id[%d] = %d is outside the "
                               "vocabulary of %d (vocab_size)", path, i, (int)id->valuedouble,
                               c->text_vocab);
                goto done;
            }
            c->eos_ids[i] = (int)id->valuedouble;
        }
        c->n_eos = n;
    } else if (eos && !cJSON_IsNull(eos)) {
        if ((st = kevo_cfg_int(&r, "eos_token_id", 0, 0, 0, c->text_vocab - 1, &c->eos_ids[0])))
            goto done;
        c->n_eos = 1;
    }
done:
    cJSON_Delete(root);
    return st;
}

kevo_status kevo_config_load(const char *dir, kevo_config *c, kevo_error *err)
{
    char path[4096];
    kevo_status st = kevo_path_join(path, sizeof path, dir, "config.json", err);
    cJSON *root = NULL;
    if (st != KEVO_OK || (st = kevo_json_load(path, CONFIG_MAX, &root, err)) != KEVO_OK)
        return st;
    st = kevo_config_parse(root, path, c, err);
    cJSON_Delete(root);
    return st == KEVO_OK ? read_generation(dir, c, err) : st;
}

kevo_status kevo_config_parse(const cJSON *root, const char *path, kevo_config *c,
                              kevo_error *err)
{
    memset(c, 0, sizeof *c);
    kevo_status st = KEVO_OK;
    kevo_cfg_reader top = {.obj = root, .err = err};
    kevo_error_head(top.where, sizeof top.where, "%s:", path);
    const char *model_type;
    if (!cJSON_IsObject(root)) {
        st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: not a JSON object", path);
        goto done;
    }
    if ((st = kevo_json_str(root, "model_type", 0, NULL, &model_type, top.where, err)))
        goto done;
    const kevo_family *family = kevo_family_find(model_type);
    if (!family) {
        st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: model_type \"%s\" is not supported; kevo runs "
                       "%s", path, model_type, kevo_family_list());
        goto done;
    }
    snprintf(c->model_type, sizeof c->model_type, "%s", family->model_type);
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    const cJSON *vision = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    cJSON *empty = cJSON_CreateObject();
    kevo_cfg_reader tr, vr;
    kevo_cfg_sub(&tr, &top, cJSON_IsObject(text) ? text : empty, "text_config");
    kevo_cfg_sub(&vr, &top, cJSON_IsObject(vision) ? vision : empty, "vision_config");
    if ((text && !cJSON_IsNull(text) && !cJSON_IsObject(text)) ||
        (vision && !cJSON_IsNull(vision) && !cJSON_IsObject(vision)))
        st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: text_config and vision_config must be objects",
                       path);
    // A family whose legacy layout keeps the decoder's keys at the top level reads them there.
    int at_top = family->text_at_top && !cJSON_IsObject(text);
    if (st == KEVO_OK)
        st = read_text(at_top ? &top : &tr, &top, at_top ? family->text_at_top : NULL, c);
    if (st == KEVO_OK)
        st = family->read_vision(&vr, !cJSON_IsObject(vision), c);
    cJSON_Delete(empty);
    if (st == KEVO_OK)
        st = family->read_config(&top, c);
done:
    return st;
}

// ---------------------------------------------------------------------------------------------
// preprocessor_config.json

// A size that is an int or {"height", "width"} (or {"shortest_edge"} when allowed).
static kevo_status read_size(kevo_cfg_reader *r, const char *key, int def, int allow_shortest,
                             int *w,
                             int *h, int *shortest)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    if (shortest)
        *shortest = 0;
    if (!v || cJSON_IsNull(v) || cJSON_IsNumber(v)) {
        int n;
        kevo_status st = kevo_cfg_int(r, key, 1, def, 1, 1 << 16, &n);
        if (st)
            return st;
        if (allow_shortest)   // get_size_dict(int, default_to_square=False)
            *shortest = n;
        else
            *w = *h = n;
        return KEVO_OK;
    }
    if (!cJSON_IsObject(v))
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s must be an integer or an object",
                         kevo_cfg_key(r, key));
    kevo_cfg_reader sub;
    kevo_cfg_sub(&sub, r, v, key);
    if (allow_shortest && cJSON_GetObjectItemCaseSensitive(v, "shortest_edge"))
        return kevo_cfg_int(&sub, "shortest_edge", 0, 0, 1, 1 << 16, shortest);
    kevo_status st = kevo_cfg_int(&sub, "height", 0, 0, 1, 1 << 16, h);
    return st ? st : kevo_cfg_int(&sub, "width", 0, 0, 1, 1 << 16, w);
}

static kevo_status read_triple(kevo_cfg_reader *r, const char *key, const double def[3],
                               double out[3])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    if (!v || cJSON_IsNull(v)) {
        memcpy(out, def, 3 * sizeof *out);
        return KEVO_OK;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 3)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s must be a list of 3 numbers",
                         kevo_cfg_key(r, key));
    for (int i = 0; i < 3; i++) {
        const cJSON *x = cJSON_GetArrayItem(v, i);
        if (!cJSON_IsNumber(x))
            return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s[%d] is not a number",
                             kevo_cfg_key(r, key), i);
        if (!kevo_cfg_fits_float(x->valuedouble))   // 1e400 parses as Inf; 1e39 overflows a float
            return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s[%d] = %g is not a finite 32-bit "
                             "float", kevo_cfg_key(r, key), i, x->valuedouble);
        out[i] = x->valuedouble;
    }
    return KEVO_OK;
}

// Qwen2VLImageProcessor's own keys (image_processing_qwen2_vl.py __init__): min_pixels and
// max_pixels win over size's shortest_edge / longest_edge (which mean pixel counts here), then
// the class defaults 56 * 56 and 28 * 28 * 1280; no crop.
static kevo_status read_qwen2vl(kevo_cfg_reader *r, kevo_image_config *ic)
{
    int min_def = 56 * 56, max_def = 28 * 28 * 1280;
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(r->obj, "size");
    kevo_status st;
    if (cJSON_IsObject(size)) {
        kevo_cfg_reader sub;
        kevo_cfg_sub(&sub, r, size, "size");
        if ((st = kevo_cfg_int(&sub, "shortest_edge", 1, min_def, 1, 1 << 30, &min_def)) ||
            (st = kevo_cfg_int(&sub, "longest_edge", 1, max_def, 1, 1 << 30, &max_def)))
            return st;
    }
    if ((st = kevo_cfg_int(r, "min_pixels", 1, min_def, 1, 1 << 30, &ic->min_pixels)) ||
        (st = kevo_cfg_int(r, "max_pixels", 1, max_def, 1, 1 << 30, &ic->max_pixels)) ||
        (st = kevo_cfg_int(r, "patch_size", 1, 14, 1, 1024, &ic->patch_size)) ||
        (st = kevo_cfg_int(r, "merge_size", 1, 2, 1, 64, &ic->merge_size)) ||
        (st = kevo_cfg_int(r, "temporal_patch_size", 1, 2, 1, 64, &ic->temporal_patch_size)))
        return st;
    if (ic->min_pixels > ic->max_pixels)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s min_pixels %d exceeds max_pixels %d",
                         r->where, ic->min_pixels, ic->max_pixels);
    ic->do_center_crop = 0;
    ic->shortest_edge = 0;
    return KEVO_OK;
}

// The processor class a preprocessor_config.json names is one of Qwen2-VL's (Qwen2.5-VL uses
// the same class).
static int is_qwen2vl_processor(const cJSON *root)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "image_processor_type");
    return cJSON_IsString(type) && strncmp(type->valuestring, "Qwen2VLImageProcessor", 21) == 0;
}

kevo_status kevo_image_config_load(const char *dir, kevo_image_config *ic, kevo_error *err)
{
    char path[4096];
    cJSON *root = NULL;
    kevo_status st = kevo_path_join(path, sizeof path, dir, "preprocessor_config.json", err);
    if (st != KEVO_OK || (st = kevo_json_load(path, CONFIG_MAX, &root, err)) != KEVO_OK)
        return st;
    st = kevo_image_config_parse(root, path, ic, err);
    cJSON_Delete(root);
    return st;
}

kevo_status kevo_image_config_parse(const cJSON *root, const char *path, kevo_image_config *ic,
                                    kevo_error *err)
{
    // OPENAI_CLIP_MEAN / OPENAI_CLIP_STD (transformers image_utils.py)
    static const double clip_mean[3] = {0.48145466, 0.4578275, 0.40821073};
    static const double clip_std[3] = {0.26862954, 0.26130258, 0.27577711};
    memset(ic, 0, sizeof *ic);
    kevo_status st = KEVO_OK;
    kevo_cfg_reader r = {.obj = root, .err = err};
    kevo_error_head(r.where, sizeof r.where, "%s:", path);
    if (!cJSON_IsObject(root)) {
        st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: not a JSON object", path);
        goto done;
    }
    int qwen = is_qwen2vl_processor(root);
    if ((st = kevo_json_bool(root, "do_convert_rgb", 1, 1, &ic->do_convert_rgb, r.where, err)) ||
        (st = kevo_json_bool(root, "do_resize", 1, 1, &ic->do_resize, r.where, err)) ||
        (!qwen && (st = read_size(&r, "size", 224, 1, &ic->resize_w, &ic->resize_h,
                                  &ic->shortest_edge))) ||
        (st = kevo_cfg_int(&r, "resample", 1, 3, 0, 5, &ic->resample)) ||
        (st = kevo_json_bool(root, "do_center_crop", 1, 1, &ic->do_center_crop, r.where, err)) ||
        (st = read_size(&r, "crop_size", 224, 0, &ic->crop_w, &ic->crop_h, NULL)) ||
        (st = kevo_json_bool(root, "do_rescale", 1, 1, &ic->do_rescale, r.where, err)) ||
        (st = kevo_json_num(root, "rescale_factor", 1, 1.0 / 255.0, &ic->rescale_factor, r.where,
                            err)) ||
        (st = kevo_json_bool(root, "do_normalize", 1, 1, &ic->do_normalize, r.where, err)) ||
        (st = read_triple(&r, "image_mean", clip_mean, ic->mean)) ||
        (st = read_triple(&r, "image_std", clip_std, ic->std)) ||
        (st = kevo_cfg_pinpoints(&r, "image_grid_pinpoints", ic->crop_h, "crop_size",
                                 ic->grid_pinpoints, &ic->n_grid_pinpoints)) ||
        (qwen && (st = read_qwen2vl(&r, ic))))
        goto done;
    if (!kevo_cfg_fits_float(255.0 * ic->rescale_factor)) {
        st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: rescale_factor = %g takes 8-bit pixels past the "
                       "largest 32-bit float", path, ic->rescale_factor);
        goto done;
    }
    for (int i = 0; i < 3; i++)
        if (!(ic->std[i] != 0)) {
            st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: image_std[%d] is zero", path, i);
            goto done;
        }
done:
    return st;
}
