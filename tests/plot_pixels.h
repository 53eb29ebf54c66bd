// plot_pixels.h — figures read back as pixels, for the tests that check what a figure draws
// where (test_plot.c, test_image_maps.c).
#ifndef KEVO_TESTS_PLOT_PIXELS_H
#define KEVO_TESTS_PLOT_PIXELS_H

#include <cairo.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "plot/colormap.h"
#include "plot/axes.h"
#include "test.h"

// A PNG read back through cairo.
typedef struct image {
    cairo_surface_t *s;
    int w, h;
} image;

static inline int image_load(image *im, const char *path)
{
    im->s = cairo_image_surface_create_from_png(path);
    if (!CHECK(cairo_surface_status(im->s) == CAIRO_STATUS_SUCCESS, "%s does not decode: %s", path,
               cairo_status_to_string(cairo_surface_status(im->s)))) {
        cairo_surface_destroy(im->s);
        im->s = NULL;
        return 0;
    }
    cairo_surface_flush(im->s);
    im->w = cairo_image_surface_get_width(im->s);
    im->h = cairo_image_surface_get_height(im->s);
    return 1;
}

static inline void image_free(image *im)
{
    if (im->s)
        cairo_surface_destroy(im->s);
}

// The pixel at (x, y) as 0..255 channels (the PNGs are opaque).
static inline void pixel(const image *im, int x, int y, int rgb[3])
{
    const unsigned char *row = cairo_image_surface_get_data(im->s) +
                               (size_t)y * cairo_image_surface_get_stride(im->s);
    uint32_t p = ((const uint32_t *)row)[x];
    rgb[0] = (int)(p >> 16 & 255), rgb[1] = (int)(p >> 8 & 255), rgb[2] = (int)(p & 255);
}

// Whether the pixel at point (x, y) of a figure drawn at dpi is within tol of colour c.
static inline int pixel_is(const image *im, double dpi, double x, double y, kevo_rgb c, int tol,
                    const char *what)
{
    int px = (int)(x * dpi / 72), py = (int)(y * dpi / 72), got[3];
    pixel(im, px, py, got);
    int want[3] = {(int)lround(c.r * 255), (int)lround(c.g * 255), (int)lround(c.b * 255)};
    int ok = abs(got[0] - want[0]) <= tol && abs(got[1] - want[1]) <= tol &&
             abs(got[2] - want[2]) <= tol;
    return CHECK(ok, "%s: pixel (%d, %d) is #%02x%02x%02x, want #%02x%02x%02x (+-%d)", what, px,
                 py, got[0], got[1], got[2], want[0], want[1], want[2], tol);
}

// Pixels of colour c (within tol) inside box (points) of a figure drawn at dpi.
static inline int count_pixels(const image *im, double dpi, kevo_box box, kevo_rgb c, int tol)
{
    int want[3] = {(int)lround(c.r * 255), (int)lround(c.g * 255), (int)lround(c.b * 255)};
    int n = 0, got[3];
    for (int y = (int)ceil(box.y * dpi / 72); y < (int)((box.y + box.h) * dpi / 72); y++)
        for (int x = (int)ceil(box.x * dpi / 72); x < (int)((box.x + box.w) * dpi / 72); x++) {
            pixel(im, x, y, got);
            n += abs(got[0] - want[0]) <= tol && abs(got[1] - want[1]) <= tol &&
                 abs(got[2] - want[2]) <= tol;
        }
    return n;
}

#endif
