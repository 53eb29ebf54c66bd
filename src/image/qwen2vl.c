// qwen2vl.c — Qwen2VLImageProcessor (see qwen2vl.h): smart_resize, Pillow's bicubic resize,
// rescale and normalise, the temporal repeat and the merge-window patch order.
#include "image/qwen2vl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/anyres.h"
#include "image/resample.h"

#define SIDE_MAX (1 << 16)

kevo_status kevo_smart_resize(int height, int width, int factor, long min_pixels, long max_pixels,
                              int *out_h, int *out_w, kevo_error *err)
{
    if (height < 1 || width < 1 || height > SIDE_MAX || width > SIDE_MAX || factor < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "an image of %d x %d pixels cannot be resized",
                         width, height);
    double ratio = (double)(height > width ? height : width) / (height > width ? width : height);
    if (ratio > 200)   // smart_resize's ValueError
        return kevo_fail(err, KEVO_ERR_ARG, "a %d x %d image has an aspect ratio of %.1f; "
                         "Qwen2-VL's smart_resize takes at most 200", width, height, ratio);
    // Python's round() on the quotient: halves to even, as rint in the default rounding mode.
    long long h_bar = (long long)rint((double)height / factor) * factor;
    long long w_bar = (long long)rint((double)width / factor) * factor;
    double area = (double)height * (double)width;
    if (h_bar * w_bar > max_pixels) {
        double beta = sqrt(area / (double)max_pixels);
        h_bar = (long long)floor((double)height / beta / factor) * factor;
        w_bar = (long long)floor((double)width / beta / factor) * factor;
        h_bar = h_bar > factor ? h_bar : factor;
        w_bar = w_bar > factor ? w_bar : factor;
    } else if (h_bar * w_bar < min_pixels) {
        double beta = sqrt((double)min_pixels / area);
        h_bar = (long long)ceil((double)height * beta / factor) * factor;
        w_bar = (long long)ceil((double)width * beta / factor) * factor;
    }
    if (h_bar < 1 || w_bar < 1 || h_bar > SIDE_MAX || w_bar > SIDE_MAX)
        return kevo_fail(err, KEVO_ERR_ARG, "smart_resize takes a %d x %d image to %lld x %lld "
                         "pixels, beyond kevo's limit of %d a side", width, height, w_bar, h_bar,
                         SIDE_MAX);
    *out_h = (int)h_bar;
    *out_w = (int)w_bar;
    return KEVO_OK;
}

// What kevo implements of the processor's switches.
static kevo_status check_config(const kevo_image_config *cfg, kevo_error *err)
{
    const char *f = "preprocessor_config.json";
    if (cfg->merge_size < 1 || cfg->patch_size < 1 || cfg->temporal_patch_size < 1)
        return kevo_fail(err, KEVO_ERR_CONFIG, "%s: not a Qwen2VLImageProcessor config (no "
                         "merge_size)", f);
    if (!cfg->do_convert_rgb)
        return kevo_fail(err, KEVO_ERR_CONFIG, "%s: do_convert_rgb false is not supported (kevo "
                         "always converts images to RGB)", f);
    if (!cfg->do_resize)   // the sides would not be multiples of the patch
        return kevo_fail(err, KEVO_ERR_CONFIG, "%s: do_resize false is not supported", f);
    if (cfg->resample != 3)
        return kevo_fail(err, KEVO_ERR_CONFIG, "%s: resample %d is not supported; kevo "
                         "implements 3 (PIL bicubic)", f, cfg->resample);
    return KEVO_OK;
}

kevo_status kevo_qwen2vl_grid_compute(const kevo_image_config *cfg, int width, int height,
                                      kevo_qwen2vl_grid *g, kevo_error *err)
{
    kevo_status st = check_config(cfg, err);
    int p = cfg->patch_size, m = cfg->merge_size, rh, rw;
    if (st == KEVO_OK)
        st = kevo_smart_resize(height, width, p * m, cfg->min_pixels, cfg->max_pixels, &rh, &rw,
                               err);
    if (st != KEVO_OK)
        return st;
    long long patches = (long long)(rh / p) * (rw / p);
    if (patches > KEVO_QWEN2VL_MAX_PATCHES)
        return kevo_fail(err, KEVO_ERR_ARG, "a %d x %d image resized to %d x %d makes %lld "
                         "patches, more than kevo's limit of %d (lower max_pixels)", width,
                         height, rw, rh, patches, KEVO_QWEN2VL_MAX_PATCHES);
    *g = (kevo_qwen2vl_grid){.width = width, .height = height, .resized_w = rw, .resized_h = rh,
                             .t = 1, .h = rh / p, .w = rw / p, .n_patches = (int)patches,
                             .row_floats = 3 * cfg->temporal_patch_size * p * p};
    return KEVO_OK;
}

static const unsigned char *image_row(const void *ctx, int y, unsigned char *scratch)
{
    (void)scratch;
    const kevo_image *img = ctx;
    return img->rgb + (size_t)3 * img->width * y;
}

// The normalised (3, H, W) image into rows: reshape (t, T, C, h/m, m, P, w/m, m, P), permute
// (0, 3, 6, 4, 7, 2, 1, 5, 8), flatten: row ((by * w/m + bx) * m + i) * m + j is patch
// (by * m + i, bx * m + j), laid out (C, T, P, P) with the T frames equal.
static void cut_rows(const float *plane, const kevo_image_config *cfg,
                     const kevo_qwen2vl_grid *g, float *pixels)
{
    int p = cfg->patch_size, m = cfg->merge_size, frames = cfg->temporal_patch_size;
    size_t side_w = (size_t)g->resized_w, area = side_w * (size_t)g->resized_h;
    size_t pp = (size_t)p * p;
#pragma omp parallel for schedule(static)
    for (int s = 0; s < g->n_patches; s++) {
        int window = s / (m * m), inner = s % (m * m), per_row = g->w / m;
        int y = (window / per_row) * m + inner / m, x = (window % per_row) * m + inner % m;
        float *row = pixels + (size_t)s * g->row_floats;
        for (int c = 0; c < 3; c++)
            for (int t = 0; t < frames; t++) {
                float *out = row + ((size_t)c * frames + t) * pp;
                for (int py = 0; py < p; py++)
                    memcpy(out + (size_t)py * p,
                           plane + c * area + ((size_t)y * p + py) * side_w + (size_t)x * p,
                           (size_t)p * sizeof *out);
            }
    }
}

kevo_status kevo_qwen2vl_preprocess(const kevo_image *img, const kevo_image_config *cfg,
                                    const kevo_qwen2vl_grid *g, float *pixels, kevo_error *err)
{
    if (g->width != img->width || g->height != img->height)
        return kevo_fail(err, KEVO_ERR_ARG, "a grid for a %d x %d image given a %d x %d one",
                         g->width, g->height, img->width, img->height);
    size_t w = (size_t)g->resized_w, h = (size_t)g->resized_h;
    unsigned char *resized = malloc(3 * w * h);
    float *plane = malloc(3 * w * h * sizeof *plane);
    kevo_status st = resized && plane ? KEVO_OK
                                      : kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a %zu "
                                                  "x %zu image", w, h);
    // image_transforms.resize: the uint8 image through PIL's resize (bicubic).
    kevo_rgb_source src = {img->width, img->height, image_row, img};
    kevo_resample_window win = {0, 0, (int)w, (int)h, resized, 3 * w};
    if (st == KEVO_OK)
        st = kevo_resample_bicubic(&src, (int)w, (int)h, &win, err);
    if (st == KEVO_OK) {
        kevo_rescale_normalize(cfg, resized, (int)w, (int)h, 3 * w, plane);
        cut_rows(plane, cfg, g, pixels);
    }
    free(resized);
    free(plane);
    return st;
}

kevo_rect kevo_qwen2vl_map_rect(const kevo_qwen2vl_grid *g, kevo_rect r)
{
    double sx = (double)g->width / g->resized_w, sy = (double)g->height / g->resized_h;
    return (kevo_rect){r.x0 * sx, r.y0 * sy, r.x1 * sx, r.y1 * sy};
}
