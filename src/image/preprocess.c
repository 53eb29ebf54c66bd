// preprocess.c — pixel_values as transformers' CLIPImageProcessor (slow path) and LLaVA do.
//
// Follows transformers' models/clip/image_processing_clip.py `preprocess` with
// image_transforms.py: get_resize_output_image_size (default_to_square=False: the short side
// becomes `shortest_edge`, the long side int(shortest_edge * long / short), truncated), resize
// through PIL.Image.resize(BICUBIC) on the uint8 image, center_crop (offsets (H - h) // 2; an
// image smaller than the crop is zero-padded, ceil((h - H) / 2) before it), rescale
// (float64(u8) * rescale_factor, then float32) and normalize in float32 ((x - mean) / std, mean
// and std cast to float32). The pad mode first applies expand2square from LLaVA's
// llava/mm_utils.py: a max(W, H) square of colour tuple(int(x * 255) for x in image_mean) with
// the image pasted at ((side - W) // 2, (side - H) // 2).
//
// The sizes and offsets come from geometry.c (shared with the patch maps). Only the crop window
// of the resized image is computed, and the square canvas is never built: its rows are made one
// at a time for the resampler (see resample.h).
#include "image/preprocess.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/anyres.h"
#include "image/geometry.h"
#include "image/resample.h"

#define PAD_MAX_SIDE 32768

kevo_status kevo_image_mode_parse(const char *name, kevo_image_mode *out, kevo_error *err)
{
    if (!strcmp(name, "pad"))
        *out = KEVO_IMAGE_MODE_PAD;
    else if (!strcmp(name, "crop"))
        *out = KEVO_IMAGE_MODE_CROP;
    else
        return kevo_fail(err, KEVO_ERR_ARG, "image mode '%s': expected pad or crop", name);
    return KEVO_OK;
}

const char *kevo_image_mode_name(kevo_image_mode mode)
{
    return mode == KEVO_IMAGE_MODE_PAD ? "pad" : "crop";
}

kevo_status kevo_image_config_check(const kevo_image_config *cfg, kevo_error *err)
{
    if (!cfg->do_convert_rgb)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: do_convert_rgb false is "
                         "not supported (kevo always converts images to RGB)");
    if (cfg->merge_size)   // Qwen2VLImageProcessor: no crop (kevo_qwen2vl_grid_compute checks)
        return cfg->do_resize && cfg->resample != 3
                   ? kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: resample %d is "
                               "not supported; kevo implements 3 (PIL bicubic)", cfg->resample)
                   : KEVO_OK;
    if (!cfg->do_center_crop)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: do_center_crop false "
                         "is not supported (the vision tower needs crop_size images)");
    if (cfg->do_resize && cfg->resample != 3)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: resample %d is not "
                         "supported; kevo implements 3 (PIL bicubic)", cfg->resample);
    if (cfg->crop_w < 1 || cfg->crop_h < 1 || (long)cfg->crop_w * cfg->crop_h > 1L << 26)
        return kevo_fail(err, KEVO_ERR_CONFIG, "preprocessor_config.json: crop_size %d x %d is "
                         "out of range", cfg->crop_w, cfg->crop_h);
    return KEVO_OK;
}

// ---------------------------------------------------------------------------------------------
// Sources of rows for the resampler

static const unsigned char *image_row(const void *ctx, int y, unsigned char *scratch)
{
    (void)scratch;
    const kevo_image *img = ctx;
    return img->rgb + (size_t)3 * img->width * y;
}

// expand2square, one row at a time.
typedef struct square {
    const kevo_image *img;
    int side, x0, y0;           // where the image is pasted
    unsigned char bg[3];
} square;

static const unsigned char *square_row(const void *ctx, int y, unsigned char *scratch)
{
    const square *sq = ctx;
    for (int x = 0; x < sq->side; x++)
        memcpy(scratch + 3 * (size_t)x, sq->bg, 3);
    int iy = y - sq->y0;
    if (iy >= 0 && iy < sq->img->height)
        memcpy(scratch + 3 * (size_t)sq->x0, image_row(sq->img, iy, NULL),
               (size_t)3 * sq->img->width);
    return scratch;
}

// ---------------------------------------------------------------------------------------------

kevo_status kevo_preprocess(const kevo_image *img, const kevo_image_config *cfg,
                            kevo_image_mode mode, float *pixels, kevo_image **shown,
                            kevo_error *err)
{
    if (shown)
        *shown = NULL;
    kevo_image_geometry g;
    kevo_status st = kevo_image_geometry_compute(cfg, mode, img->width, img->height, &g, err);
    if (st != KEVO_OK)
        return st;
    square sq = {.img = img, .side = g.square_side, .x0 = g.square_x, .y0 = g.square_y};
    kevo_rgb_source src = {img->width, img->height, image_row, img};
    if (g.square_side) {
        for (int c = 0; c < 3; c++)
            sq.bg[c] = (unsigned char)(int)(cfg->mean[c] * 255);   // int() truncates
        // The square is never allocated, but every row of it is filtered: bound the work.
        if (sq.side > PAD_MAX_SIDE)
            return kevo_fail(err, KEVO_ERR_FORMAT, "a %d x %d image padded to a square would "
                             "be %d pixels wide (pad mode allows up to %d)", img->width,
                             img->height, sq.side, PAD_MAX_SIDE);
        src = (kevo_rgb_source){sq.side, sq.side, square_row, &sq};
    }
    kevo_image *out;
    if ((st = kevo_image_create(cfg->crop_w, cfg->crop_h, &out, err)) != KEVO_OK)
        return st;
    kevo_crop_span cx = g.crop_x, cy = g.crop_y;
    if (cx.n < cfg->crop_w || cy.n < cfg->crop_h)
        memset(out->rgb, 0, (size_t)3 * out->width * out->height);
    size_t stride = (size_t)3 * out->width;
    kevo_resample_window win = {cx.from, cy.from, cx.n, cy.n,
                                out->rgb + (size_t)cy.to * stride + (size_t)3 * cx.to, stride};
    if ((st = kevo_resample_bicubic(&src, g.resized_w, g.resized_h, &win, err)) != KEVO_OK) {
        kevo_image_free(out);
        return st;
    }

    // rescale + normalize, shared with LLaVA-NeXT's tiles (anyres.h).
    kevo_rescale_normalize(cfg, out->rgb, out->width, out->height, stride, pixels);
    if (shown)
        *shown = out;
    else
        kevo_image_free(out);
    return KEVO_OK;
}
