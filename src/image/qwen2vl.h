// qwen2vl.h — Qwen2-VL's image processor (Qwen2.5-VL uses the same): an RGB image at its own
// resolution to pixel_values (patches, C * T * P * P) and image_grid_thw, exactly as
// transformers' models/qwen2_vl/image_processing_qwen2_vl.py Qwen2VLImageProcessor (slow path,
// Pillow):
//
//   1. smart_resize: both sides to multiples of factor = patch_size * merge_size, the pixel
//      count kept within [min_pixels, max_pixels];
//   2. the image resized to that size (Pillow bicubic), rescaled and normalised as
//      CLIPImageProcessor does;
//   3. a still image repeated temporal_patch_size times, cut into P x P patches whose rows come
//      merge window by merge window (the m x m patches of a window consecutive), each row
//      (C, T, P, P).
//
//     kevo_qwen2vl_grid g;
//     if (kevo_qwen2vl_grid_compute(cfg, img->width, img->height, &g, &err)) ...
//     float *px = malloc((size_t)g.n_patches * g.row_floats * sizeof *px);
//     kevo_qwen2vl_preprocess(img, cfg, &g, px, &err);
//
// Owned by the image module (src/image/).
#ifndef KEVO_IMAGE_QWEN2VL_H
#define KEVO_IMAGE_QWEN2VL_H

#include "image/geometry.h"
#include "image/image.h"
#include "kevo.h"

#define KEVO_QWEN2VL_MAX_PATCHES (1 << 16)   // patches of one image (a 3584 x 3584 picture)

typedef struct kevo_qwen2vl_grid {
    int width, height;          // the original image
    int resized_w, resized_h;   // smart_resize's sides, multiples of patch * merge
    int t, h, w;                // image_grid_thw: 1, resized_h / patch, resized_w / patch
    int n_patches;              // t * h * w: the rows of pixel_values
    int row_floats;             // 3 * temporal_patch_size * patch * patch (1176 for 2, 14)
} kevo_qwen2vl_grid;

// smart_resize(height, width, factor, min_pixels, max_pixels) into *out_h, *out_w;
// KEVO_ERR_ARG for an aspect ratio above 200 (transformers' ValueError) or a side outside
// 1 .. 65536.
kevo_status kevo_smart_resize(int height, int width, int factor, long min_pixels, long max_pixels,
                              int *out_h, int *out_w, kevo_error *err);

// The grid of a width x height image under cfg (a Qwen2VLImageProcessor config: merge_size > 0).
// KEVO_ERR_CONFIG names the preprocessor_config.json key kevo does not implement;
// KEVO_ERR_ARG for images smart_resize refuses or that exceed KEVO_QWEN2VL_MAX_PATCHES.
kevo_status kevo_qwen2vl_grid_compute(const kevo_image_config *cfg, int width, int height,
                                      kevo_qwen2vl_grid *g, kevo_error *err);

// pixel_values (n_patches, row_floats) of img into `pixels`; g from kevo_qwen2vl_grid_compute
// of the same config and image size.
kevo_status kevo_qwen2vl_preprocess(const kevo_image *img, const kevo_image_config *cfg,
                                    const kevo_qwen2vl_grid *g, float *pixels, kevo_error *err);

// A rectangle of the resized image (continuous pixel coordinates) in the original image's: a
// per-axis scale.
kevo_rect kevo_qwen2vl_map_rect(const kevo_qwen2vl_grid *g, kevo_rect r);

#endif
