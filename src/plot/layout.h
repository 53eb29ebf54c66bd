// layout.h — where each figure puts its data, for the tests that check pixels.
//
// The figures lay themselves out before drawing (sizes follow from the text they hold); these
// functions run the same layout and report the figure size and the box the data occupies, in
// points from the figure's top-left corner. A PNG pixel is at points * dpi / 72.
#ifndef KEVO_PLOT_LAYOUT_H
#define KEVO_PLOT_LAYOUT_H

#include "kevo.h"
#include "plot/axes.h"
#include "plot/plot.h"

typedef struct kevo_figure_layout {
    double width, height;   // the figure
    kevo_box data;          // heatmap: the cells; area chart: x 0..n_x-1 by y ymin..ymax;
                            // scatter: the frame around the points; image maps: the first
                            // panel's picture
} kevo_figure_layout;

kevo_status kevo_heatmap_layout(const kevo_heatmap *h, kevo_figure_layout *out, kevo_error *err);
kevo_status kevo_area_layout(const kevo_area_chart *a, kevo_figure_layout *out, kevo_error *err);
kevo_status kevo_scatter_layout(const kevo_scatter *s, kevo_figure_layout *out, kevo_error *err);
kevo_status kevo_image_maps_layout(const kevo_image_maps *m, kevo_figure_layout *out,
                                   kevo_error *err);

#endif
