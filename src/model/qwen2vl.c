// qwen2vl.c — the Qwen2-VL and Qwen2.5-VL families (model_type "qwen2_vl", "qwen2_5_vl"): the
// image at its own resolution (smart_resize, image/qwen2vl.h), the native-resolution tower and
// PatchMerger (qwen2vl_vision.c), one image position per merged 2 x 2 patches, and the Qwen2
// decoder with M-RoPE, whose image positions take (temporal, row, column) ids (get_rope_index
// in modeling_qwen2_vl.py).
//
// The published configs keep the decoder's keys at the top level of config.json (newer
// transformers writes text_config); vision_config holds the tower's, with the class defaults of
// configuration_qwen2_vl.py Qwen2VLVisionConfig and configuration_qwen2_5_vl.py
// Qwen2_5_VLVisionConfig.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/qwen2vl.h"
#include "model/config.h"
#include "model/run.h"

// The tower's keys both versions share.
static kevo_status read_common(kevo_cfg_reader *r, kevo_config *c)
{
    kevo_status st;
    if ((st = kevo_cfg_int(r, "depth", 1, 32, 1, 1024, &c->vision_layers)) ||
        (st = kevo_cfg_int(r, "num_heads", 1, 16, 1, 4096, &c->vision_heads)) ||
        (st = kevo_cfg_int(r, "in_channels", 1, 3, 3, 3, &c->num_channels)) ||
        (st = kevo_cfg_int(r, "patch_size", 1, 14, 1, 1024, &c->patch_size)) ||
        (st = kevo_cfg_int(r, "spatial_merge_size", 1, 2, 1, 64, &c->spatial_merge_size)) ||
        (st = kevo_cfg_int(r, "temporal_patch_size", 1, 2, 1, 64, &c->temporal_patch_size)))
        return st;
    c->vision_ln_eps = 1e-6f;   // nn.LayerNorm / Qwen2RMSNorm(eps=1e-6) in the blocks and merger
    c->image_size = 0;          // no fixed size: smart_resize decides per image
    return KEVO_OK;
}

// The tower's width split into heads whose rotary pairs halve again into row and column.
static kevo_status check_heads(kevo_cfg_reader *r, kevo_config *c)
{
    if (c->vision_hidden % c->vision_heads != 0 || (c->vision_hidden / c->vision_heads) % 4)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s: a width of %d in %d heads does not give "
                         "a head dimension divisible by 4 (the 2-D rotary embedding's row and "
                         "column halves)", r->where, c->vision_hidden, c->vision_heads);
    c->vision_head_dim = c->vision_hidden / c->vision_heads;
    return KEVO_OK;
}

// Qwen2VLVisionConfig: embed_dim the tower's width, hidden_size the merger's output,
// VisionMlp of int(embed_dim * mlp_ratio).
static kevo_status read_vision_qwen2(kevo_cfg_reader *r, int absent, kevo_config *c)
{
    (void)absent;
    kevo_status st;
    double ratio;
    if ((st = read_common(r, c)) ||
        (st = kevo_cfg_int(r, "embed_dim", 1, 1280, 1, KEVO_CFG_DIM_MAX, &c->vision_hidden)) ||
        (st = kevo_cfg_int(r, "hidden_size", 1, 3584, 1, KEVO_CFG_DIM_MAX,
                           &c->vision_out_hidden)) ||
        (st = kevo_json_num(r->obj, "mlp_ratio", 1, 4, &ratio, r->where, r->err)) ||
        (st = kevo_cfg_vision_act(r, &c->vision_gelu_exact)))
        return st;
    if (!(ratio > 0) || ratio * c->vision_hidden >= KEVO_CFG_DIM_MAX)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = %g does not give an MLP width",
                         kevo_cfg_key(r, "mlp_ratio"), ratio);
    c->vision_intermediate = (int)(c->vision_hidden * ratio);
    if (c->vision_intermediate < 1)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = %g gives an MLP of no width",
                         kevo_cfg_key(r, "mlp_ratio"), ratio);
    return check_heads(r, c);
}

// fullatt_block_indexes: the blocks that attend over the whole image, each a block of the tower.
static kevo_status read_fullatt(kevo_cfg_reader *r, kevo_config *c)
{
    static const int defaults[] = {7, 15, 23, 31};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, "fullatt_block_indexes");
    if (!v) {
        c->n_fullatt_blocks = 4;
        memcpy(c->fullatt_blocks, defaults, sizeof defaults);
    } else if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 64) {
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s must be a list of at most 64 block "
                         "indices", kevo_cfg_key(r, "fullatt_block_indexes"));
    } else {
        c->n_fullatt_blocks = 0;
        for (const cJSON *x = v->child; x; x = x->next) {
            if (!cJSON_IsNumber(x) || x->valuedouble != (int)x->valuedouble)
                return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s[%d] is not an integer",
                                 kevo_cfg_key(r, "fullatt_block_indexes"), c->n_fullatt_blocks);
            c->fullatt_blocks[c->n_fullatt_blocks++] = (int)x->valuedouble;
        }
    }
    for (int i = 0; i < c->n_fullatt_blocks; i++)
        if (c->fullatt_blocks[i] < 0 || c->fullatt_blocks[i] >= c->vision_layers)
            return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s[%d] = %d is not a block of a tower of "
                             "depth %d", kevo_cfg_key(r, "fullatt_block_indexes"), i,
                             c->fullatt_blocks[i], c->vision_layers);
    return KEVO_OK;
}

// Qwen2_5_VLVisionConfig: hidden_size the tower's width, out_hidden_size the merger's output,
// the SwiGLU MLP's intermediate_size, window attention of window_size pixels.
static kevo_status read_vision_qwen25(kevo_cfg_reader *r, int absent, kevo_config *c)
{
    (void)absent;
    kevo_status st;
    if ((st = read_common(r, c)) ||
        (st = kevo_cfg_int(r, "hidden_size", 1, 3584, 1, KEVO_CFG_DIM_MAX, &c->vision_hidden)) ||
        (st = kevo_cfg_int(r, "intermediate_size", 1, 3420, 1, KEVO_CFG_DIM_MAX,
                           &c->vision_intermediate)) ||
        (st = kevo_cfg_int(r, "out_hidden_size", 1, 3584, 1, KEVO_CFG_DIM_MAX,
                           &c->vision_out_hidden)) ||
        (st = kevo_cfg_int(r, "window_size", 1, 112, 1, 1 << 16, &c->vision_window)) ||
        (st = kevo_cfg_str_is(r, "hidden_act", "silu", "silu", NULL)) || (st = read_fullatt(r, c)))
        return st;
    if (c->vision_window < c->spatial_merge_size * c->patch_size)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = %d is smaller than one merged position "
                         "(%d pixels)", kevo_cfg_key(r, "window_size"), c->vision_window,
                         c->spatial_merge_size * c->patch_size);
    c->vision_swiglu = 1;
    return check_heads(r, c);
}

// The image's tokens at the top level (Qwen2VLConfig), and the merger's width against the
// decoder's.
static kevo_status read_config(kevo_cfg_reader *r, kevo_config *c)
{
    kevo_status st;
    int vocab = c->text_vocab - 1;
    if ((st = kevo_cfg_int(r, "image_token_id", 1, 151655, 0, vocab, &c->image_token_id)) ||
        (st = kevo_cfg_int(r, "vision_start_token_id", 1, 151652, 0, vocab,
                           &c->vision_start_id)) ||
        (st = kevo_cfg_int(r, "vision_end_token_id", 1, 151653, 0, vocab, &c->vision_end_id)))
        return st;
    if (c->vision_out_hidden != c->text_hidden)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s: the vision merger's output width %d is "
                         "not the decoder's hidden_size %d", r->where, c->vision_out_hidden,
                         c->text_hidden);
    if (c->n_mrope != 3)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s: rope_scaling has no mrope_section "
                         "(Qwen2-VL's positions are 3-D)", r->where);
    return KEVO_OK;
}

// The processor's patch, merge and temporal sizes must be the tower's; the largest image the
// pixel bounds allow sets image_tokens (for `kevo info`).
static kevo_status image_config(const char *dir, kevo_config *c, kevo_image_config *ic,
                                kevo_error *err)
{
    if (ic->merge_size == 0)
        return kevo_fail(err, KEVO_ERR_CONFIG, "%s/preprocessor_config.json: image_processor_type "
                         "is not Qwen2VLImageProcessor, which %s needs", dir, c->model_type);
    if (ic->patch_size != c->patch_size || ic->merge_size != c->spatial_merge_size ||
        ic->temporal_patch_size != c->temporal_patch_size)
        return kevo_fail(err, KEVO_ERR_CONFIG, "%s/preprocessor_config.json: patch_size %d, "
                         "merge_size %d and temporal_patch_size %d, but config.json's tower "
                         "has %d, %d and %d", dir, ic->patch_size, ic->merge_size,
                         ic->temporal_patch_size, c->patch_size, c->spatial_merge_size,
                         c->temporal_patch_size);
    int side = c->patch_size * c->spatial_merge_size;
    c->image_tokens = ic->max_pixels / (side * side);
    return KEVO_OK;
}

static kevo_status grid_of(const kevo_model *m, int width, int height, kevo_qwen2vl_grid *g,
                           kevo_error *err)
{
    kevo_status st = kevo_qwen2vl_grid_compute(&m->image, width, height, g, err);
    return st == KEVO_OK ? st : kevo_error_prefix(err, "%s: ", m->dir);
}

static kevo_status image_tokens(const kevo_model *m, int width, int height, int *n_tiles,
                                int *n_tokens, kevo_error *err)
{
    kevo_qwen2vl_grid g;
    kevo_status st = grid_of(m, width, height, &g, err);
    int merge = m->config.spatial_merge_size;
    *n_tiles = 1;
    *n_tokens = st == KEVO_OK ? g.n_patches / (merge * merge) : 0;
    return st;
}

static kevo_status preprocess(const kevo_model *m, const kevo_image *img, kevo_image_mode mode,
                              float **pixels, int *n_tiles, kevo_error *err)
{
    (void)mode;   // one way: smart_resize; pad and crop are LLaVA-1.5's
    kevo_qwen2vl_grid g;
    *pixels = NULL;
    *n_tiles = 1;
    kevo_status st = grid_of(m, img->width, img->height, &g, err);
    if (st != KEVO_OK)
        return st;
    if (!(*pixels = malloc((size_t)g.n_patches * (size_t)g.row_floats * sizeof **pixels)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for %d patches' pixel values",
                         g.n_patches);
    if ((st = kevo_qwen2vl_preprocess(img, &m->image, &g, *pixels, err)) != KEVO_OK) {
        free(*pixels);
        *pixels = NULL;
    }
    return st;
}

static kevo_status encode(kevo_run *r, const kevo_image_input *image, kevo_error *err)
{
    kevo_qwen2vl_grid g;
    kevo_status st = grid_of(r->model, image->width, image->height, &g, err);
    return st == KEVO_OK ? kevo_qwen_vision_encode(r, image->pixels, g.h, g.w, err) : st;
}

// The merged positions row-major over the (h / m) x (w / m) grid, each m * P pixels square in
// the resized image and a per-axis scale of that in the original.
static kevo_status positions(const kevo_model *m, kevo_image_mode mode, int width, int height,
                             kevo_image_position **out, int *n_out, kevo_error *err)
{
    (void)mode;
    kevo_qwen2vl_grid g;
    kevo_status st = grid_of(m, width, height, &g, err);
    if (st != KEVO_OK)
        return st;
    int merge = m->config.spatial_merge_size, rows = g.h / merge, cols = g.w / merge;
    double side = (double)merge * m->config.patch_size;
    kevo_image_position *p = calloc((size_t)rows * (size_t)cols, sizeof *p);
    if (!p)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < rows * cols; i++) {
        int y = i / cols, x = i % cols;
        kevo_rect pre = {x * side, y * side, (x + 1) * side, (y + 1) * side};
        kevo_rect o = kevo_qwen2vl_map_rect(&g, pre);
        p[i] = (kevo_image_position){.kind = KEVO_POSITION_PATCH, .tile = 0, .row = y, .col = x,
                                     .pre = {pre.x0, pre.y0, pre.x1, pre.y1},
                                     .orig = {o.x0, o.y0, o.x1, o.y1}};
    }
    *out = p;
    *n_out = rows * cols;
    return KEVO_OK;
}

// get_rope_index's image ids: llm_grid_t x h x w positions, temporal id 0 for a still image
// (Qwen2.5-VL scales it by second_per_grid_t * tokens_per_second, 0 for images), the row and
// the column of the merged grid.
static kevo_status rope_ids(const kevo_model *m, int width, int height, int (*ids)[3], int n,
                            kevo_error *err)
{
    kevo_qwen2vl_grid g;
    kevo_status st = grid_of(m, width, height, &g, err);
    if (st != KEVO_OK)
        return st;
    int merge = m->config.spatial_merge_size, rows = g.h / merge, cols = g.w / merge;
    if (n != rows * cols)
        return kevo_fail(err, KEVO_ERR_ARG, "%d image positions for a grid of %d x %d", n, rows,
                         cols);
    for (int i = 0; i < n; i++) {
        ids[i][0] = i / (rows * cols);
        ids[i][1] = (i / cols) % rows;
        ids[i][2] = i % cols;
    }
    return KEVO_OK;
}

// `kevo info`'s lines: the tower (windows and full-attention blocks for Qwen2.5-VL), the
// resize bounds, the merger.
static void describe(const kevo_model *m, kevo_family_info *info)
{
    const kevo_config *c = &m->config;
    const kevo_image_config *ic = &m->image;
    char attention[160] = "full attention";
    if (c->vision_window) {
        int k = snprintf(attention, sizeof attention, "attention in windows of %d px, full at "
                         "blocks", c->vision_window);
        for (int i = 0; i < c->n_fullatt_blocks && k < (int)sizeof attention; i++)
            k += snprintf(attention + k, sizeof attention - (size_t)k, "%s%d", i ? "," : " ",
                          c->fullatt_blocks[i]);
    }
    snprintf(info->vision, sizeof info->vision, "native-resolution ViT, width %d, %d blocks, "
             "%d heads x %d with 2-D rotary positions, %s, MLP %d (%s), %s eps %g",
             c->vision_hidden, c->vision_layers, c->vision_heads, c->vision_head_dim, attention,
             c->vision_intermediate, c->vision_swiglu ? "SwiGLU" : c->vision_gelu_exact ?
             "gelu" : "quick_gelu", c->vision_swiglu ? "RMSNorm" : "LayerNorm",
             (double)c->vision_ln_eps);
    int side = c->patch_size * c->spatial_merge_size;
    snprintf(info->image, sizeof info->image, "any size, resized to multiples of %d px within "
             "%d..%d pixels; patch %d x %d x %d frames, %d x %d patches per position; up to %d "
             "positions per image", side, ic->min_pixels, ic->max_pixels, c->patch_size,
             c->patch_size, c->temporal_patch_size, c->spatial_merge_size, c->spatial_merge_size,
             c->image_tokens);
    int dm = c->vision_hidden * c->spatial_merge_size * c->spatial_merge_size;
    snprintf(info->projector, sizeof info->projector, "PatchMerger: %s, %d x %d positions "
             "concatenated, linear %d -> %d, GELU (erf), linear %d -> %d", c->vision_swiglu ?
             "RMSNorm" : "LayerNorm", c->spatial_merge_size, c->spatial_merge_size, dm, dm, dm,
             c->text_hidden);
}

#define QWEN_FAMILY_COMMON                                                                     \
    .image_processor = "Qwen2VLImageProcessor (smart_resize, merge windows)",                  \
    .image_token = "<|image_pad|>", .image_token_key = "image_token_id",                       \
    .default_template = KEVO_TEMPLATE_QWEN2VL, .weights = &kevo_qwen_weight_layout,            \
    .read_config = read_config, .image_config = image_config, .image_tokens = image_tokens,    \
    .preprocess = preprocess, .encode = encode, .positions = positions, .rope_ids = rope_ids, \
    .describe = describe

const kevo_family kevo_family_qwen2vl = {
    .model_type = "qwen2_vl",
    .name = "Qwen2-VL",
    .vision_path = "native-resolution ViT with 2-D rotary positions, PatchMerger of 2 x 2 "
                   "patches",
    .text_at_top = "qwen2_vl_text",
    .read_vision = read_vision_qwen2,
    QWEN_FAMILY_COMMON,
};

const kevo_family kevo_family_qwen25vl = {
    .model_type = "qwen2_5_vl",
    .name = "Qwen2.5-VL",
    .vision_path = "native-resolution ViT with window attention, RMSNorm and SwiGLU, "
                   "PatchMerger of 2 x 2 patches",
    .text_at_top = "qwen2_5_vl_text",
    .read_vision = read_vision_qwen25,
    QWEN_FAMILY_COMMON,
};
