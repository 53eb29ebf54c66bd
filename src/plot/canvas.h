// canvas.h — one figure's drawing surface (PNG, SVG or PDF), written atomically.
//
// Figures are laid out and drawn in points (1/72 in) from the top-left corner whatever the format,
// so a figure looks the same in every format; a PNG is rasterised at the caller's dpi.
//
//     kevo_canvas *c;
//     if (kevo_canvas_create(path, opts, 864, 648, &c, err) != KEVO_OK) return err->status;
//     cairo_t *cr = kevo_canvas_cairo(c);
//     ... draw ...
//     return kevo_canvas_finish(c, err);   // written and renamed into place, or no file at all
#ifndef KEVO_PLOT_CANVAS_H
#define KEVO_PLOT_CANVAS_H

#include <cairo.h>

#include "kevo.h"
#include "plot/plot.h"

typedef struct kevo_canvas kevo_canvas;

// Opens a temporary file beside `path` and a white surface of width x height points. Checks the
// options (a known format; for PNG a dpi in [KEVO_DPI_MIN, KEVO_DPI_MAX] and a pixel size
// cairo can hold).
#define KEVO_DPI_MIN 10.0
#define KEVO_DPI_MAX 2400.0
kevo_status kevo_canvas_create(const char *path, const kevo_figure_opts *o, double width,
                               double height, kevo_canvas **out, kevo_error *err);

// The drawing context; borrowed from the canvas.
cairo_t *kevo_canvas_cairo(kevo_canvas *c);

// Renders, writes and renames the file into place, then frees c (on failure too, leaving no file).
kevo_status kevo_canvas_finish(kevo_canvas *c, kevo_error *err);

// Discards an unfinished canvas and its temporary file; accepts NULL.
void kevo_canvas_free(kevo_canvas *c);

// A context on a 1x1 scratch surface with the canvases' font options, for measuring text before
// a canvas exists. The caller frees it with cairo_destroy; check cairo_status for failure.
cairo_t *kevo_canvas_scratch(void);

// The pixel size of a width x height point figure at `dpi`.
int kevo_canvas_pixels(double points, double dpi);

#endif
