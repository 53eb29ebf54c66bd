// config_llava.c — the top-level keys of LlavaConfig (configuration_llava.py) and
// LlavaNextConfig (configuration_llava_next.py), with their class defaults: the feature layers,
// the feature selection, the projector, the image token; for LLaVA-NeXT the anyres pinpoints.
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "model/config.h"
#include "model/config_read.h"
#include "model/model.h"

// vision_feature_layer: one index or a list (transformers concatenates the listed hidden states
// on the feature axis, modeling_llava_next.py get_image_features). hidden_states has
// vision_layers + 1 entries; negative indices count from the end.
static kevo_status read_feature_layers(kevo_cfg_reader *r, kevo_config *c)
{
    const char *key = "vision_feature_layer";
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    int n_states = c->vision_layers + 1, max_n = (int)(sizeof c->feature_layers /
                                                       sizeof c->feature_layers[0]);
    int raw[sizeof c->feature_layers / sizeof c->feature_layers[0]];
    c->n_feature_layers = 0;
    if (cJSON_IsArray(v)) {
        int n = cJSON_GetArraySize(v);
        if (n < 1 || n > max_n)
            return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s lists %d layers (1 to %d supported)",
                             kevo_cfg_key(r, key), n, max_n);
        for (int i = 0; i < n; i++) {
            const cJSON *x = cJSON_GetArrayItem(v, i);
            if (!cJSON_IsNumber(x) || x->valuedouble != (int)x->valuedouble ||
                x->valuedouble < -1025 || x->valuedouble > 1025)
                return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s[%d] is not a layer index",
                                 kevo_cfg_key(r, key), i);
            raw[i] = (int)x->valuedouble;
        }
        c->n_feature_layers = n;
    } else {
        kevo_status st = kevo_cfg_int(r, key, 1, -2, -1025, 1025, &raw[0]);
        if (st != KEVO_OK)
            return st;
        c->n_feature_layers = 1;
    }
    c->feature_layer = 0;
    for (int i = 0; i < c->n_feature_layers; i++) {
        int l = raw[i] < 0 ? n_states + raw[i] : raw[i];
        if (l < 0 || l >= n_states)
            return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s %d is outside the tower's %d hidden "
                             "states", kevo_cfg_key(r, key), raw[i], n_states);
        c->feature_layers[i] = l;
        if (l > c->feature_layer)
            c->feature_layer = l;
    }
    return KEVO_OK;
}

// The keys LlavaConfig and LlavaNextConfig share: what ties the tower to the language model.
static kevo_status read_glue(kevo_cfg_reader *r, kevo_config *c)
{
    kevo_status st;
    const char *strategy;
    int token_id;
    if ((st = read_feature_layers(r, c)) ||
        (st = kevo_json_str(r->obj, "vision_feature_select_strategy", 1, "default", &strategy,
                            r->where, r->err)) ||
        (st = kevo_cfg_str_is(r, "projector_hidden_act", "gelu", "gelu", NULL)) ||
        (st = kevo_json_bool(r->obj, "multimodal_projector_bias", 1, 1, &c->projector_bias,
                             r->where, r->err)) ||
        (st = kevo_cfg_int(r, "image_token_index", 1, 32000, 0, 1 << 24, &token_id)) ||
        (st = kevo_cfg_int(r, "image_token_id", 1, token_id, 0, 1 << 24, &c->image_token_id)))
        return st;
    if (strcmp(strategy, "default") == 0)
        c->feature_keep_cls = 0;
    else if (strcmp(strategy, "full") == 0)
        c->feature_keep_cls = 1;
    else
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = \"%s\" (expected \"default\" or "
                         "\"full\")", kevo_cfg_key(r, "vision_feature_select_strategy"), strategy);
    int tie;
    if ((st = kevo_json_bool(r->obj, "tie_word_embeddings", 1, 0, &tie, r->where, r->err)))
        return st;
    c->tie_word_embeddings |= tie;
    return KEVO_OK;
}


kevo_status kevo_llava_read_config(kevo_cfg_reader *r, kevo_config *c)
{
    kevo_status st = read_glue(r, c);
    if (st != KEVO_OK)
        return st;
    int grid = c->image_size / c->patch_size, seq_len;
    c->image_tokens = grid * grid + c->feature_keep_cls;
    if ((st = kevo_cfg_int(r, "image_seq_length", 1, c->image_tokens, 1, 1 << 24, &seq_len)))
        return st;
    if (seq_len != c->image_tokens)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s %d disagrees with the %d features the "
                         "vision tower yields", kevo_cfg_key(r, "image_seq_length"), seq_len,
                         c->image_tokens);
    return KEVO_OK;
}

const int kevo_llava_next_pinpoints[5][2] = {{336, 672}, {672, 336}, {672, 672}, {1008, 336},
                                             {336, 1008}};

// image_grid_pinpoints, LlavaNextConfig's default when absent; whole tiles of the vision tower,
// as the tile split (view(rows, cols, ...)) requires.
static kevo_status read_pinpoints(kevo_cfg_reader *r, kevo_config *c)
{
    kevo_status st = kevo_cfg_pinpoints(r, "image_grid_pinpoints", c->image_size,
                                        "vision_config.image_size", c->grid_pinpoints,
                                        &c->n_grid_pinpoints);
    if (st == KEVO_OK && c->n_grid_pinpoints == 0) {
        c->n_grid_pinpoints = 5;
        memcpy(c->grid_pinpoints, kevo_llava_next_pinpoints, sizeof kevo_llava_next_pinpoints);
    }
    return st;
}

kevo_status kevo_llava_next_read_config(kevo_cfg_reader *r, kevo_config *c)
{
    kevo_status st = read_glue(r, c);
    int seq_len;
    if (st == KEVO_OK)
        st = read_pinpoints(r, c);
    // image_seq_length (576: the base image's features) only sizes the processor's prompt.
    if (st == KEVO_OK)
        st = kevo_cfg_int(r, "image_seq_length", 1, 576, 1, 1 << 24, &seq_len);
    if (st != KEVO_OK)
        return st;
    // pack_image_features views each tile's features as a G x G grid: the class token cannot
    // be kept ("full" fails there in transformers too).
    if (c->feature_keep_cls)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = \"full\" cannot be packed into "
                         "LLaVA-NeXT's tile grid (expected \"default\")",
                         kevo_cfg_key(r, "vision_feature_select_strategy"));
    c->image_newline = 1;
    // The most positions an image can take: the base image's G x G, then a pinpoint's whole
    // grid (unpadding only removes rows or columns) with a newline ending every row.
    int g = c->image_size / c->patch_size;
    c->image_tokens = 0;
    for (int i = 0; i < c->n_grid_pinpoints; i++) {
        int rows = c->grid_pinpoints[i][0] / c->image_size * g;
        int cols = c->grid_pinpoints[i][1] / c->image_size * g;
        long long n = (long long)g * g + (long long)rows * (cols + 1);
        if (n > 1 << 24)
            return kevo_fail(r->err, KEVO_ERR_CONFIG, "image_grid_pinpoints[%d] gives %lld "
                             "image positions", i, n);
        if (n > c->image_tokens)
            c->image_tokens = (int)n;
    }
    return KEVO_OK;
}

// `kevo info`'s lines of both LLaVA families: the CLIP tower up to the feature layer, the fixed
// image or LLaVA-NeXT's tiles, the projector.
void kevo_llava_describe(const kevo_model *m, kevo_family_info *info)
{
    const kevo_config *c = &m->config;
    int grid = c->image_size / c->patch_size, run = m->weights->n_vision, k = 0;
    char layers[96] = "";
    for (int i = 0; i < c->n_feature_layers && k < (int)sizeof layers; i++)
        k += snprintf(layers + k, sizeof layers - (size_t)k, "%s%d", i ? "," : "",
                      c->feature_layers[i]);
    const char *s = c->n_feature_layers > 1 ? "s" : "";
    snprintf(info->vision, sizeof info->vision, "CLIP ViT, width %d, %d layers stored, %d run "
             "(feature layer%s = hidden state%s %s), %d heads x %d, MLP %d, %s, layer-norm eps "
             "%g", c->vision_hidden, c->vision_layers, run, s, s, layers, c->vision_heads,
             c->vision_head_dim, c->vision_intermediate,
             c->vision_gelu_exact ? "gelu" : "quick_gelu", (double)c->vision_ln_eps);
    if (c->n_grid_pinpoints) {
        k = snprintf(info->image, sizeof info->image, "tiles of %d x %d px, patch %d, %d x %d "
                     "patches each; a base image and one of %d grids (", c->image_size,
                     c->image_size, c->patch_size, grid, grid, c->n_grid_pinpoints);
        for (int i = 0; i < c->n_grid_pinpoints && k < (int)sizeof info->image; i++)
            k += snprintf(info->image + k, sizeof info->image - (size_t)k, "%s%dx%d",
                          i ? ", " : "", c->grid_pinpoints[i][1] / c->image_size,
                          c->grid_pinpoints[i][0] / c->image_size);
        if (k < (int)sizeof info->image)
            snprintf(info->image + k, sizeof info->image - (size_t)k, " tiles); up to %d "
                     "positions per image, unpadded, image_newline after every row",
                     c->image_tokens);
    } else {
        snprintf(info->image, sizeof info->image, "%d x %d px, patch %d, %d x %d patches, %d "
                 "tokens per image (%s)", c->image_size, c->image_size, c->patch_size, grid,
                 grid, c->image_tokens,
                 c->feature_keep_cls ? "class token kept" : "class token dropped");
    }
    snprintf(info->projector, sizeof info->projector, "linear %d -> %d, GELU (erf), linear %d "
             "-> %d, %s", c->vision_hidden * c->n_feature_layers, c->text_hidden,
             c->text_hidden, c->text_hidden, c->projector_bias ? "with biases" : "no biases");
}
