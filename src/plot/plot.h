// plot.h — the figures of kevo, drawn with cairo (PNG, SVG, PDF) and gathered in one HTML report
// (the figure formats and the report are public: kevo.h, kevo/report.h).
//
// The analyses hand plain arrays and labels to these functions; nothing here knows about models
// or runs. Every figure is written atomically (temporary file + rename). Colours are 0xRRGGBB.
// Stage bands (rapid evolution, stabilisation, mutation) are drawn from what the caller passes;
// no layer number is hard-coded here.
#ifndef KEVO_PLOT_PLOT_H
#define KEVO_PLOT_PLOT_H

#include <stdint.h>

#include "kevo.h"

// A shaded span of the x axis with a legend entry, e.g. a detected stage [from, to]. It covers
// from - 0.5 .. to + 0.5 (whole cells or layers), clipped to the axis; a label too wide for its
// block in the strip above the plot is listed in a legend below instead.
typedef struct kevo_band {
    double from, to;             // in x-axis units, inclusive of whole cells/layers
    const char *label;           // "stabilisation (19-31)"
    uint32_t rgb;
} kevo_band;

// Heatmap of a (rows, cols) matrix, row 0 at the top, e.g. the divergence between consecutive
// layers per generated token (the authors' figure: Purples, cells annotated with two significant
// digits, token labels on the y axis, transitions 0..cols-1 on the x axis).
typedef struct kevo_heatmap {
    const double *values;        // (rows, cols), row-major
    int rows, cols;
    const char *const *row_labels;   // rows strings
    const char *const *col_labels;   // cols strings, or NULL for 0..cols-1
    const char *title, *xlabel, *ylabel, *colorbar_label;
    const char *colormap;        // "Purples" (more may exist; unknown names are an error)
    double vmin, vmax;           // the colour scale's range
    int annotate;                // write each value in its cell (".2g")
    const kevo_band *bands;      // drawn above the x axis; may be NULL
    int n_bands;
} kevo_heatmap;

// The figure's size follows its content (cells fit the widest annotation). A value that is not
// finite is drawn as a hatched "no value" cell and explained in the legend; colormap NULL means
// "Purples", row_labels NULL numbers the rows, and vmin == vmax is widened to vmin -+ 0.5.
kevo_status kevo_plot_heatmap(const char *path, const kevo_figure_opts *o, const kevo_heatmap *h,
                              kevo_error *err);

// Overlapping filled areas, one per series, over x = 0..n_x-1 (the authors' token-probability
// chart: fill_between(x, 0, y) with alpha 0.6, thin black outlines, tab20 colours sampled evenly
// across the series, y from 0 to 1, legend upper left with the series labels).
typedef struct kevo_area_chart {
    const double *y;             // (n_series, n_x), row-major
    int n_series, n_x;
    const char *const *labels;   // n_series legend entries
    const char *title, *xlabel, *ylabel;
    double ymin, ymax;
    const kevo_band *bands;      // may be NULL
    int n_bands;
    int lines;                   // 1: each series a line with a dot at every x, no fill (a line
                                 // chart: per-layer curves); KEVO_AREA_BARS: at every x one bar
                                 // per series, side by side, from 0 (a histogram over layers)
} kevo_area_chart;

#define KEVO_AREA_BARS 2

// 14 x 9 in. Values must be finite; the legend moves outside the plot when it would cover data.
kevo_status kevo_plot_area(const char *path, const kevo_figure_opts *o, const kevo_area_chart *a,
                           kevo_error *err);

// A 2-D scatter of n points coloured by group (t-SNE maps: points coloured by stage; optional
// thin lines joining each trajectory's points in order).
typedef struct kevo_scatter {
    const float *xy;             // (n, 2)
    int n;
    const int *group;            // n group indices in [0, n_groups)
    int n_groups;
    const char *const *group_labels;
    const uint32_t *group_rgb;
    const int *trajectory;       // n trajectory ids (points of one id joined in order), or NULL
    const char *title;
} kevo_scatter;

// 12 x 10 in, one scale for both axes, the legend outside the frame; group_rgb NULL takes tab20.
kevo_status kevo_plot_scatter(const char *path, const kevo_figure_opts *o, const kevo_scatter *s,
                              kevo_error *err);

// Small multiples of a picture with values laid over it cell by cell (the patch maps: one panel
// per recorded layer, a word's probability on every image patch), or a single panel with a text
// label in each cell (every patch's top token).
typedef struct kevo_image_maps {
    const unsigned char *rgb;    // (height, width, 3) the picture, row-major
    int width, height;
    const double *cells;         // (n_cells, 4) x0, y0, x1, y1 in picture pixels; an empty
                                 // rectangle (a cell wholly outside the picture) is skipped
    int n_cells;
    const double *values;        // (n_panels, n_cells); a value that is not finite is not drawn
    int n_panels;                // 1..256, six to a row
    const char *const *panel_titles;   // n_panels ("layer 8"), or NULL
    const int *panel_band;       // n_panels indices into bands (-1: none), or NULL
    const kevo_band *bands;      // the stages: frame colours and a legend; may be NULL
    int n_bands;
    const char *const *cell_labels;    // n_cells labels, single panel only; or NULL
    const char *title, *colorbar_label;
    const char *colormap;        // NULL: "Purples"
    double vmin, vmax;           // the colour scale, shared by every panel
    double alpha;                // opacity of the cells over the picture, 0..1
} kevo_image_maps;

// Panels of 150 pt (one panel: 560 pt) on the picture's longer side.
kevo_status kevo_plot_image_maps(const char *path, const kevo_figure_opts *o,
                                 const kevo_image_maps *m, kevo_error *err);

#endif
