// figure.h — the one life of every figure: check, lay out, draw, write.
//
// A figure (heatmap.c, area.c, scatter.c) describes itself by a kevo_figure_kind: what it refuses,
// how it lays itself out and how it draws. The steps they share are here once: the layout is
// measured on a scratch context before any file exists (so a refusal leaves no file and the
// figure's size can follow its text), then the canvas is created in the asked format at that
// size, drawn on, and written atomically (canvas.h).
#ifndef KEVO_PLOT_FIGURE_H
#define KEVO_PLOT_FIGURE_H

#include <cairo.h>

#include "kevo.h"
#include "plot/layout.h"
#include "plot/plot.h"

typedef struct kevo_figure_kind {
    const char *name;   // "heatmap", "area chart", "scatter": the prefix of its messages
    // Refuses a description that cannot be drawn; spec may be NULL.
    kevo_status (*check)(const void *spec, kevo_error *err);
    // Fills the figure's own layout (zeroed by the caller) and *size, measuring text on cr.
    kevo_status (*lay_out)(cairo_t *cr, const void *spec, void *layout, kevo_figure_layout *size,
                           kevo_error *err);
    kevo_status (*draw)(cairo_t *cr, const void *spec, const void *layout, kevo_error *err);
    // Frees what lay_out allocated in the layout, also after a failure (or none at all).
    void (*release)(void *layout);
} kevo_figure_kind;

// Checks spec and lays it out into `layout`, a zeroed layout of k's own type, for the tests
// (layout.h): *out receives the figure's size and its data box.
kevo_status kevo_figure_measure(const kevo_figure_kind *k, const void *spec, void *layout,
                                kevo_figure_layout *out, kevo_error *err);

// Checks, lays out and draws spec into the file `path` (written whole, or not at all); messages
// of the checks and the layout are prefixed with the path.
kevo_status kevo_figure_render(const char *path, const kevo_figure_opts *o,
                               const kevo_figure_kind *k, const void *spec, void *layout,
                               kevo_error *err);

#endif
