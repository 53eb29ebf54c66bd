// anyres.c — LLaVA-NeXT's anyres tiling (see anyres.h), following transformers'
// image_processing_utils.py select_best_resolution and get_patch_output_size, and
// models/llava_next/image_processing_llava_next.py LlavaNextImageProcessor: get_image_patches
// (_resize_for_patching, _pad_for_patching with divmod offsets, divide_to_patches, the base image
// resized to (shortest_edge, shortest_edge)) and _preprocess (CLIPImageProcessor's steps per tile).
//
// transformers' resize goes through PIL.Image.resize((w, h), BICUBIC) on the uint8 array, and
// np.pad keeps uint8, so the canvas is bytes until rescale. _preprocess then resizes each tile's
// shortest edge to shortest_edge and centre-crops it to crop_size: with crop_size ==
// shortest_edge (checked) both are identities (Pillow's resize to the same size returns a copy),
// so only rescale and normalise remain.
#include "image/anyres.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/resample.h"

// select_best_resolution: Python's loop with its float divisions, int() truncations and exact
// integer products; the first strictly better candidate wins, so earlier ones win ties.
void kevo_select_best_resolution(const int (*pinpoints)[2], int n, int height, int width,
                                 int *best_h, int *best_w)
{
    int64_t max_effective = 0, min_wasted = 0;
    int found = 0;                                  // min_wasted is still float("inf")
    *best_h = n > 0 ? pinpoints[0][0] : 0;
    *best_w = n > 0 ? pinpoints[0][1] : 0;
    for (int i = 0; i < n; i++) {
        int h = pinpoints[i][0], w = pinpoints[i][1];
        double sw = (double)w / width, sh = (double)h / height;
        double scale = sw <= sh ? sw : sh;
        int64_t dw = (int64_t)((double)width * scale), dh = (int64_t)((double)height * scale);
        int64_t effective = dw * dh, original = (int64_t)width * height;
        if (original < effective)
            effective = original;
        int64_t wasted = (int64_t)w * h - effective;
        if (effective > max_effective ||
            (effective == max_effective && (!found || wasted < min_wasted))) {
            max_effective = effective;
            min_wasted = wasted;
            found = 1;
            *best_h = h, *best_w = w;
        }
    }
}

// The side of the square tiles: crop_size, which must equal what _preprocess resizes to.
static kevo_status tile_side(const kevo_image_config *cfg, int *tile, int *base, kevo_error *err)
{
    if (!cfg->do_convert_rgb)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: do_convert_rgb false is "
                         "not supported (kevo always converts images to RGB)");
    // get_image_patches resizes whatever do_resize says: resample always applies.
    if (cfg->resample != 3)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: resample %d is not "
                         "supported; kevo implements 3 (PIL bicubic)", cfg->resample);
    if (cfg->crop_w != cfg->crop_h || cfg->crop_h < 1 || cfg->crop_h > 4096)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: crop_size %d x %d: "
                         "anyres tiles need a square crop_size of 1 to 4096", cfg->crop_w,
                         cfg->crop_h);
    // The base image's side: size's shortest_edge, or min(height, width).
    int s = cfg->shortest_edge > 0 ? cfg->shortest_edge
            : cfg->resize_w < cfg->resize_h ? cfg->resize_w : cfg->resize_h;
    if (cfg->shortest_edge <= 0 && cfg->do_resize && cfg->resize_w != cfg->resize_h)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: size %d x %d is not "
                         "square: anyres tiles would be resized out of shape", cfg->resize_w,
                         cfg->resize_h);
    if (s != cfg->crop_h)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: size %d differs from "
                         "crop_size %d: kevo implements anyres tiles that _preprocess leaves "
                         "unchanged (size == crop_size)", s, cfg->crop_h);
    *tile = cfg->crop_h;
    *base = s;
    return KEVO_OK;
}

kevo_status kevo_anyres_layout_compute(const kevo_image_config *cfg, int width, int height,
                                       kevo_anyres_layout *l, kevo_error *err)
{
    memset(l, 0, sizeof *l);
    int tile = 0, base = 0;
    kevo_status st = tile_side(cfg, &tile, &base, err);
    if (st != KEVO_OK)
        return st;
    int n = cfg->n_grid_pinpoints;
    if (n < 1 || n > KEVO_PINPOINTS_MAX)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: image_grid_pinpoints: "
                         "%d entries (anyres needs 1 to %d)", n, KEVO_PINPOINTS_MAX);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 2; j++) {
            int v = cfg->grid_pinpoints[i][j];
            if (v < tile || v > 1 << 16 || v % tile)
                return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: "
                                 "image_grid_pinpoints[%d][%d] = %d is not a multiple of "
                                 "crop_size %d in [%d, 65536]", i, j, v, tile, tile);
        }
    if (width < 1 || height < 1 || (int64_t)width * height > KEVO_IMAGE_MAX_PIXELS)
        return kevo_fail(err, KEVO_ERR_FORMAT, "a %d x %d image is empty or over 2^28 pixels",
                         width, height);
    l->width = width, l->height = height, l->tile = tile, l->base_side = base;
    kevo_select_best_resolution((const int (*)[2])cfg->grid_pinpoints, n, height, width,
                                &l->best_h, &l->best_w);
    l->grid_rows = l->best_h / tile;
    l->grid_cols = l->best_w / tile;
    int64_t grid = (int64_t)l->grid_rows * l->grid_cols;
    if (grid > KEVO_ANYRES_MAX_TILES ||
        (grid + 1) * 3 * tile * tile > KEVO_ANYRES_MAX_FLOATS)
        return kevo_fail(err, KEVO_ERR_FORMAT, "a %d x %d image would be tiled %d x %d (%lld "
                         "tiles of %d x %d): over kevo's limit of %d tiles or %ld floats",
                         width, height, l->grid_cols, l->grid_rows, (long long)grid, tile, tile,
                         KEVO_ANYRES_MAX_TILES, KEVO_ANYRES_MAX_FLOATS);
    l->n_tiles = 1 + (int)grid;
    // get_patch_output_size: fit the canvas along the axis that scales least.
    double scale_w = (double)l->best_w / width, scale_h = (double)l->best_h / height;
    if (scale_w < scale_h) {
        l->resized_w = l->best_w;
        double h = ceil((double)height * scale_w);
        l->resized_h = h < l->best_h ? (int)h : l->best_h;
    } else {
        l->resized_h = l->best_h;
        double w = ceil((double)width * scale_h);
        l->resized_w = w < l->best_w ? (int)w : l->best_w;
    }
    // _pad_for_patching: divmod(target - new, 2), the odd pixel after the image.
    l->pad_x = (l->best_w - l->resized_w) / 2;
    l->pad_y = (l->best_h - l->resized_h) / 2;
    return KEVO_OK;
}

size_t kevo_anyres_floats(const kevo_anyres_layout *l)
{
    return (size_t)l->n_tiles * 3 * (size_t)l->tile * (size_t)l->tile;
}

// ---------------------------------------------------------------------------------------------

void kevo_rescale_normalize(const kevo_image_config *cfg, const unsigned char *rgb, int w, int h,
                            size_t stride, float *out)
{
    // Rescale and normalise depend on the byte alone: one table per channel.
    float table[3][256];
    for (int c = 0; c < 3; c++) {
        float mean = (float)cfg->mean[c], std = (float)cfg->std[c];
        for (int v = 0; v < 256; v++) {
            float x = cfg->do_rescale ? (float)((double)v * cfg->rescale_factor) : (float)v;
            table[c][v] = cfg->do_normalize ? (x - mean) / std : x;
        }
    }
    size_t plane = (size_t)w * h;
    for (int y = 0; y < h; y++) {
        const unsigned char *row = rgb + (size_t)y * stride;
        float *o = out + (size_t)y * w;
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                o[c * plane + x] = table[c][row[3 * x + c]];
    }
}

static const unsigned char *image_row(const void *ctx, int y, unsigned char *scratch)
{
    (void)scratch;
    const kevo_image *img = ctx;
    return img->rgb + (size_t)3 * img->width * y;
}

kevo_status kevo_anyres_preprocess(const kevo_image *img, const kevo_image_config *cfg,
                                   const kevo_anyres_layout *l, float *pixels, kevo_error *err)
{
    if (l->width != img->width || l->height != img->height || l->n_tiles < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "anyres layout of a %d x %d image used for a %d x %d "
                         "one", l->width, l->height, img->width, img->height);
    int t = l->tile;
    size_t plane3 = (size_t)3 * t * t, stride = (size_t)3 * l->best_w;
    kevo_rgb_source src = {img->width, img->height, image_row, img};
    // The base image: resize(image, (side, side)) straight from the original.
    unsigned char *buf = malloc(plane3);
    if (!buf)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a %d x %d tile", t, t);
    kevo_resample_window bw = {0, 0, t, t, buf, (size_t)3 * t};
    kevo_status st = kevo_resample_bicubic(&src, l->base_side, l->base_side, &bw, err);
    if (st == KEVO_OK)
        kevo_rescale_normalize(cfg, buf, t, t, (size_t)3 * t, pixels);
    free(buf);
    if (st != KEVO_OK)
        return st;
    // The padded canvas: zeros, the resized image pasted at (pad_x, pad_y).
    unsigned char *canvas = calloc((size_t)l->best_h, stride);
    if (!canvas)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a %d x %d canvas", l->best_w,
                         l->best_h);
    kevo_resample_window win = {0, 0, l->resized_w, l->resized_h,
                                canvas + (size_t)l->pad_y * stride + (size_t)3 * l->pad_x, stride};
    if ((st = kevo_resample_bicubic(&src, l->resized_w, l->resized_h, &win, err)) == KEVO_OK)
        for (int r = 0; r < l->grid_rows; r++)        // divide_to_patches: row-major
            for (int c = 0; c < l->grid_cols; c++) {
                const unsigned char *at = canvas + (size_t)r * t * stride + (size_t)3 * c * t;
                float *out = pixels + (size_t)(1 + r * l->grid_cols + c) * plane3;
                kevo_rescale_normalize(cfg, at, t, t, stride, out);
            }
    free(canvas);
    return st;
}

// ---------------------------------------------------------------------------------------------
// Patch maps

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

// Pillow's resize maps pixel edges linearly (see geometry.c): original = scale * (x - offset).
static kevo_rect map_affine(const kevo_anyres_layout *l, double sx, double sy, double ox,
                            double oy, kevo_rect r)
{
    return (kevo_rect){clamp(sx * (r.x0 - ox), 0, l->width), clamp(sy * (r.y0 - oy), 0, l->height),
                       clamp(sx * (r.x1 - ox), 0, l->width), clamp(sy * (r.y1 - oy), 0, l->height)};
}

kevo_rect kevo_anyres_map_canvas(const kevo_anyres_layout *l, kevo_rect r)
{
    return map_affine(l, (double)l->width / l->resized_w, (double)l->height / l->resized_h,
                      l->pad_x, l->pad_y, r);
}

kevo_rect kevo_anyres_map_tile(const kevo_anyres_layout *l, int t, kevo_rect r)
{
    if (t < 0 || t >= l->n_tiles)
        return (kevo_rect){0, 0, 0, 0};
    if (t == 0)
        return map_affine(l, (double)l->width / l->base_side, (double)l->height / l->base_side,
                          0, 0, r);
    int row = (t - 1) / l->grid_cols, col = (t - 1) % l->grid_cols;
    double dx = (double)col * l->tile, dy = (double)row * l->tile;
    return kevo_anyres_map_canvas(l, (kevo_rect){r.x0 + dx, r.y0 + dy, r.x1 + dx, r.y1 + dy});
}
