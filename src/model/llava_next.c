// llava_next.c — the LLaVA-NeXT family (model_type "llava_next", LLaVA-1.6): the image cut into
// a base image and a grid of tiles (image/anyres.h), CLIP and the projector on every tile, and
// the features packed as transformers' modeling_llava_next.py does: the base image's, then the
// tile grid's, unpadded to the image's aspect ratio, with image_newline after every row.
//
// Letters: T tile side in pixels (vision image_size), G patches per tile side, P = G * G,
// R tiles (1 + grid rows * grid cols), D text width.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/anyres.h"
#include "model/config.h"
#include "model/run.h"

// The tile grid's feature rectangle kept by unpadding: rows [y0, y1), columns [x0, x1) of the
// (rows * G) x (cols * G) grid.
typedef struct grid_shape {
    int tile_rows, tile_cols;   // get_anyres_image_grid_shape
    int y0, y1, x0, x1;         // unpad_image
} grid_shape;

// Python's int(round(v, 7)): round to 7 decimals (correctly rounded, as printf's %.7f on the
// exact binary value), then truncate toward zero.
static int round7_trunc(double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.7f", v);
    return (int)strtod(buf, NULL);
}

// get_anyres_image_grid_shape with config.json's pinpoints and the tower's image_size, then
// unpad_image's slice of the (C, rows * G, cols * G) feature grid for an image of width x
// height (transformers' current rounding: int(round(original * scale, 7))).
static kevo_status grid_for(const kevo_config *c, int width, int height, grid_shape *s,
                            kevo_error *err)
{
    if (width < 1 || height < 1 || width > 1 << 16 || height > 1 << 16)
        return kevo_fail(err, KEVO_ERR_ARG, "an image of %d x %d pixels cannot be tiled",
                         width, height);
    int best_h, best_w, g = c->image_size / c->patch_size;
    kevo_select_best_resolution((const int(*)[2])c->grid_pinpoints, c->n_grid_pinpoints,
                                height, width, &best_h, &best_w);
    s->tile_rows = best_h / c->image_size;
    s->tile_cols = best_w / c->image_size;
    int cur_h = s->tile_rows * g, cur_w = s->tile_cols * g;
    s->y0 = 0, s->y1 = cur_h, s->x0 = 0, s->x1 = cur_w;
    if ((double)width / height > (double)cur_w / cur_h) {
        int new_h = round7_trunc(height * ((double)cur_w / width));
        int pad = (cur_h - new_h) / 2;
        s->y0 = pad, s->y1 = cur_h - pad;
    } else {
        int new_w = round7_trunc(width * ((double)cur_h / height));
        int pad = (cur_w - new_w) / 2;
        s->x0 = pad, s->x1 = cur_w - pad;
    }
    return KEVO_OK;
}

static kevo_status tiles_and_tokens(const kevo_config *c, int width, int height, int *n_tiles,
                                    int *n_tokens, kevo_error *err)
{
    grid_shape s;
    kevo_status st = grid_for(c, width, height, &s, err);
    if (st != KEVO_OK)
        return st;
    int g = c->image_size / c->patch_size;
    *n_tiles = 1 + s.tile_rows * s.tile_cols;
    *n_tokens = g * g + (s.y1 - s.y0) * (s.x1 - s.x0 + 1);
    return KEVO_OK;
}

static kevo_status image_tokens(const kevo_model *m, int width, int height, int *n_tiles,
                                int *n_tokens, kevo_error *err)
{
    return tiles_and_tokens(&m->config, width, height, n_tiles, n_tokens, err);
}

// The processor's pinpoints and tile size must give the grid the model unpacks.
static kevo_status check_layout(const kevo_model *m, const kevo_anyres_layout *l,
                                kevo_error *err)
{
    const kevo_config *c = &m->config;
    grid_shape s;
    kevo_status st = grid_for(c, l->width, l->height, &s, err);
    if (st == KEVO_OK && (l->tile != c->image_size || l->grid_rows != s.tile_rows ||
                          l->grid_cols != s.tile_cols))
        st = kevo_fail(err, KEVO_ERR_CONFIG, "%s: preprocessor_config.json cuts a %d x %d image "
                       "into %d x %d tiles of %d pixels but config.json's image_grid_pinpoints "
                       "and vision image_size unpack %d x %d tiles of %d", m->dir, l->width,
                       l->height, l->grid_rows, l->grid_cols, l->tile, s.tile_rows,
                       s.tile_cols, c->image_size);
    return st;
}

// LlavaNextImageProcessor.__init__: image_grid_pinpoints None means the five 336-pixel grids.
static kevo_status image_config(const char *dir, kevo_config *c, kevo_image_config *ic,
                                kevo_error *err)
{
    (void)dir, (void)c, (void)err;
    if (ic->n_grid_pinpoints == 0) {
        memcpy(ic->grid_pinpoints, kevo_llava_next_pinpoints, sizeof kevo_llava_next_pinpoints);
        ic->n_grid_pinpoints = 5;
    }
    return KEVO_OK;
}

static kevo_status preprocess(const kevo_model *m, const kevo_image *img, kevo_image_mode mode,
                              float **pixels, int *n_tiles, kevo_error *err)
{
    (void)mode;   // anyres is LLaVA-NeXT's one way; the pad and crop modes are LLaVA-1.5's
    kevo_anyres_layout l;
    *pixels = NULL;
    kevo_status st = kevo_anyres_layout_compute(&m->image, img->width, img->height, &l, err);
    if (st != KEVO_OK)
        return kevo_error_prefix(err, "%s: ", m->dir);
    if ((st = check_layout(m, &l, err)) != KEVO_OK)
        return st;
    if (!(*pixels = malloc(kevo_anyres_floats(&l) * sizeof **pixels)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for %d tiles' pixel values",
                         l.n_tiles);
    if ((st = kevo_anyres_preprocess(img, &m->image, &l, *pixels, err)) != KEVO_OK) {
        free(*pixels);
        *pixels = NULL;
    }
    *n_tiles = l.n_tiles;
    return st;
}

// pack_image_features: the base tile's P rows, then the unpadded grid row by row, each row's
// features followed by image_newline. Grid cell (y, x) is patch (y % G, x % G) of tile
// 1 + (y / G) * cols + x / G (the view(rows, cols, G, G, -1).permute(4, 0, 2, 1, 3) there).
static void pack(kevo_run *r, const grid_shape *s)
{
    const kevo_config *c = &r->model->config;
    int g = c->image_size / c->patch_size, p = g * g;
    size_t d = (size_t)c->text_hidden, row_bytes = d * sizeof(float);
    const float *tiles = r->act.vision.tile_emb;
    float *out = r->act.vision.emb;
    memcpy(out, tiles, (size_t)p * row_bytes);
    out += (size_t)p * d;
    for (int y = s->y0; y < s->y1; y++) {
        for (int x = s->x0; x < s->x1; x++) {
            int tile = 1 + (y / g) * s->tile_cols + x / g, patch = (y % g) * g + x % g;
            memcpy(out, tiles + ((size_t)tile * p + (size_t)patch) * d, row_bytes);
            out += d;
        }
        memcpy(out, r->model->weights->image_newline.f32, row_bytes);
        out += d;
    }
}

// get_image_features on every tile (the tower one tile at a time), the projector over all of
// their features at once, then the packing.
static kevo_status encode(kevo_run *r, const kevo_image_input *image, kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    grid_shape s;
    kevo_status st = grid_for(c, image->width, image->height, &s, err);
    int g = c->image_size / c->patch_size, p = g * g;
    size_t tile_floats = (size_t)c->num_channels * c->image_size * c->image_size;
    size_t feature_floats = (size_t)p * c->vision_hidden * c->n_feature_layers;
    for (int t = 0; t < r->n_tiles && st == KEVO_OK; t++)
        if ((st = kevo_clip_encode(r, image->pixels + (size_t)t * tile_floats,
                                   r->act.vision.features + (size_t)t * feature_floats, err)))
            kevo_error_prefix(err, "tile %d of %d: ", t, r->n_tiles);
    if (st == KEVO_OK)
        st = kevo_projector_forward(r, r->n_tiles * p, r->act.vision.tile_emb, err);
    if (st == KEVO_OK)
        pack(r, &s);
    return st;
}

static void set_rects(kevo_image_position *q, kevo_rect pre, kevo_rect orig)
{
    q->pre[0] = pre.x0, q->pre[1] = pre.y0, q->pre[2] = pre.x1, q->pre[3] = pre.y1;
    q->orig[0] = orig.x0, q->orig[1] = orig.y0, q->orig[2] = orig.x1, q->orig[3] = orig.y1;
}

// The positions in pack's order: the base tile's patches (their rectangles a per-axis scale of
// the whole image), then the grid's kept cells (mapped through the canvas's resize and padding)
// with a newline ending every row.
static kevo_status positions(const kevo_model *m, kevo_image_mode mode, int width, int height,
                             kevo_image_position **out, int *n_out, kevo_error *err)
{
    (void)mode;
    const kevo_config *c = &m->config;
    kevo_anyres_layout l;
    grid_shape s;
    int n_tiles, n;
    kevo_status st = kevo_anyres_layout_compute(&m->image, width, height, &l, err);
    if (st == KEVO_OK)
        st = check_layout(m, &l, err);
    if (st == KEVO_OK)
        st = grid_for(c, width, height, &s, err);
    if (st == KEVO_OK)
        st = tiles_and_tokens(c, width, height, &n_tiles, &n, err);
    if (st != KEVO_OK)
        return st;
    kevo_image_position *pos = calloc((size_t)n, sizeof *pos), *q = pos;
    if (!pos)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    int g = c->image_size / c->patch_size;
    double ps = c->patch_size;
    for (int i = 0; i < g * g; i++, q++) {
        kevo_rect pre = {(i % g) * ps, (i / g) * ps, (i % g + 1) * ps, (i / g + 1) * ps};
        *q = (kevo_image_position){.kind = KEVO_POSITION_PATCH, .tile = 0, .row = i / g,
                                   .col = i % g};
        set_rects(q, pre, kevo_anyres_map_tile(&l, 0, pre));
    }
    for (int y = s.y0; y < s.y1; y++) {
        for (int x = s.x0; x < s.x1; x++, q++) {
            int tile = 1 + (y / g) * s.tile_cols + x / g;
            kevo_rect pre = {(x % g) * ps, (y % g) * ps, (x % g + 1) * ps, (y % g + 1) * ps};
            kevo_rect canvas = {x * ps, y * ps, (x + 1) * ps, (y + 1) * ps};
            *q = (kevo_image_position){.kind = KEVO_POSITION_PATCH, .tile = tile, .row = y,
                                       .col = x};
            set_rects(q, pre, kevo_anyres_map_canvas(&l, canvas));
        }
        *q++ = (kevo_image_position){.kind = KEVO_POSITION_NEWLINE, .tile = -1, .row = y,
                                     .col = s.x1};
    }
    *out = pos;
    *n_out = n;
    return KEVO_OK;
}

const kevo_family kevo_family_llava_next = {
    .model_type = "llava_next",
    .name = "LLaVA-NeXT",
    .image_processor = "LlavaNextImageProcessor (anyres tiles)",
    .vision_path = "CLIP tower on the base image and every tile, projector, unpadded grid "
                   "with image_newline",
    .image_token = "<image>",
    .image_token_key = "image_token_index",
    .weights = &kevo_llava_weight_layout,
    .default_template = KEVO_TEMPLATE_LLAVA_HF,
    .read_vision = kevo_clip_read_vision,
    .read_config = kevo_llava_next_read_config,
    .image_config = image_config,
    .image_tokens = image_tokens,
    .preprocess = preprocess,
    .encode = encode,
    .positions = positions,
    .describe = kevo_llava_describe,
};
