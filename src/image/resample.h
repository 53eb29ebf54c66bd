// resample.h — Pillow's bicubic resize of 8-bit RGB, bit for bit (Pillow 9.4 Resample.c).
//
// The source is read row by row through a callback, so a virtual image (a picture pasted on a
// square canvas, see preprocess.c) costs no full-size buffer; and only a window of the resized
// image is computed, which gives the same bytes as resizing everything and cropping afterwards,
// because every output pixel depends only on its own coefficients.
#ifndef KEVO_IMAGE_RESAMPLE_H
#define KEVO_IMAGE_RESAMPLE_H

#include "kevo.h"

// Returns row y (0 <= y < height) of the source: 3 * width bytes of RGB. It may build the row in
// `scratch` (3 * width bytes, private to the calling thread) and return that. Called from
// several threads at once.
typedef const unsigned char *(*kevo_row_fn)(const void *ctx, int y, unsigned char *scratch);

typedef struct kevo_rgb_source {
    int width, height;
    kevo_row_fn row;
    const void *ctx;
} kevo_rgb_source;

// The rectangle [x0, x0 + w) x [y0, y0 + h) of the resized image, written to dst with a row
// stride of `dst_stride` bytes.
typedef struct kevo_resample_window {
    int x0, y0, w, h;
    unsigned char *dst;
    size_t dst_stride;
} kevo_resample_window;

// Resizes `src` to out_w x out_h as PIL.Image.resize((out_w, out_h), Image.BICUBIC) does and
// stores `win` of the result. The window must lie inside the output. Uses OpenMP threads.
kevo_status kevo_resample_bicubic(const kevo_rgb_source *src, int out_w, int out_h,
                                  const kevo_resample_window *win, kevo_error *err);

#endif
