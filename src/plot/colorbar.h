// colorbar.h — the colour bar beside a figure of coloured cells (the heatmap, the image maps):
// one slab per entry of the map's lookup table, as matplotlib's colorbar draws it, "nice" ticks
// on its right and an optional label turned along it.
#ifndef KEVO_PLOT_COLORBAR_H
#define KEVO_PLOT_COLORBAR_H

#include <cairo.h>

#include "plot/axes.h"
#include "plot/colormap.h"

#define KEVO_COLORBAR_W 16.0

typedef struct kevo_colorbar {
    const kevo_colormap *map;
    double vmin, vmax;            // vmin < vmax
    const char *label;            // may be NULL
    kevo_box bar;                 // the bar itself; x and y are set by the figure's layout
    kevo_ticks ticks;
    double tick_w;                // the widest tick label
    double label_h;               // the label's line height, 0 without a label
} kevo_colorbar;

// Ticks for a bar of height h (bar.w and bar.h are set) and the widths they take.
void kevo_colorbar_measure(cairo_t *cr, kevo_colorbar *cb, double h);

// Points from a figure's content to the end of the bar's label, when the bar starts `gap` points
// to the right of it.
double kevo_colorbar_extent(const kevo_colorbar *cb, double gap);

// The y of value v on the bar.
double kevo_colorbar_y(const kevo_colorbar *cb, double v);

// Draws the measured bar; the label is centred on it and may run to label_room points long.
void kevo_colorbar_draw(cairo_t *cr, const kevo_colorbar *cb, double label_room);

#endif
