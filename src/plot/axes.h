// axes.h — what the figures share: the house style, tick positions, legends and stage bands.
#ifndef KEVO_PLOT_AXES_H
#define KEVO_PLOT_AXES_H

#include <cairo.h>

#include "kevo.h"
#include "plot/colormap.h"
#include "plot/plot.h"
#include "plot/text.h"

// The house style (sizes in points), chosen so that a figure stays readable when a 12-14 inch
// figure is shown at screen width: larger than matplotlib's defaults, lighter than the authors'
// 25 pt bold.
#define KEVO_INK 0x262626u           // text and outlines (seaborn's ".15")
#define KEVO_MUTED 0x595959u         // secondary text: tick labels, notes
#define KEVO_GRID 0xd9d9d9u          // grid lines
#define KEVO_FRAME 0xb3b3b3u         // the frame around a plot
#define KEVO_MARGIN 14.0             // around the whole figure
extern const kevo_font kevo_font_title, kevo_font_label, kevo_font_tick, kevo_font_legend,
    kevo_font_band;

void kevo_set_rgb(cairo_t *cr, uint32_t rgb, double alpha);
void kevo_set_color(cairo_t *cr, kevo_rgb c, double alpha);

// A box in points from the figure's top-left corner.
typedef struct kevo_box {
    double x, y, w, h;
} kevo_box;

// ---------------------------------------------------------------------------------------------
// Ticks: "nice" positions (1, 2, 2.5 or 5 times a power of ten) inside [lo, hi].

#define KEVO_TICKS_MAX 64
typedef struct kevo_ticks {
    double at[KEVO_TICKS_MAX];
    int n;
    int scientific;                  // labels as %e (very small or large values) or %f
    int decimals;                    // digits after the point: enough to tell ticks apart
} kevo_ticks;

// At most max_ticks (>= 2) ticks covering [lo, hi] (lo < hi, both finite); with `integers` the
// step is a whole number.
void kevo_ticks_nice(double lo, double hi, int max_ticks, int integers, kevo_ticks *t);
void kevo_tick_label(const kevo_ticks *t, int i, char buf[32]);

// ---------------------------------------------------------------------------------------------
// Legends: a column (series, groups) or rows that wrap (stage bands) of swatch + label.

// A box, a dot (scatter groups) or the hatched box of missing values.
typedef enum kevo_swatch { KEVO_SWATCH_BOX, KEVO_SWATCH_DOT, KEVO_SWATCH_MISSING } kevo_swatch;

// Paints a rectangle as "no value": light grey with dark diagonal hatching, a look no colour map
// of ours produces.
void kevo_draw_missing(cairo_t *cr, double x, double y, double w, double h);

typedef struct kevo_legend_entry {
    const char *label;
    kevo_rgb color;
    double alpha;
    kevo_swatch swatch;
    int outline;                     // a thin dark outline around the swatch (area fills)
} kevo_legend_entry;

typedef struct kevo_legend {
    const kevo_legend_entry *entries;
    int n;
    double max_label;                // labels are cut to this width (points)
    double max_width;                // rows wrap at this width; 0 = one entry per row
    double width, height;            // filled by kevo_legend_measure
} kevo_legend;

void kevo_legend_measure(cairo_t *cr, kevo_legend *l);
// Draws the measured legend with its top-left corner at (x, y); `framed` adds a white,
// slightly transparent box with a light border (for a legend inside a plot).
void kevo_legend_draw(cairo_t *cr, const kevo_legend *l, double x, double y, int framed);

// ---------------------------------------------------------------------------------------------
// Stage bands. Band [from, to] covers whole positions: x from `from - 0.5` to `to + 0.5` on an
// axis whose positions are integers, clipped to the axis.

// Checks the caller's bands: a non-negative count, finite from <= to. `what` names the figure.
kevo_status kevo_bands_check(const char *what, const kevo_band *b, int n, kevo_error *err);

// The strip above a plot: one coloured block per band with its label inside when it fits. The
// axis runs from data value lo at x = box.x to hi at x = box.x + box.w.
#define KEVO_BAND_STRIP 18.0
void kevo_bands_strip(cairo_t *cr, const kevo_band *b, int n, double lo, double hi, kevo_box box);

// Whether band b's label fits inside its block of that strip (labels that do not fit go to the
// legend below the plot instead).
int kevo_band_label_fits(cairo_t *cr, const kevo_band *b, double lo, double hi, kevo_box box);

// The x extent of band i on that axis, clipped; returns 0 when nothing of it is visible.
int kevo_band_span(const kevo_band *b, double lo, double hi, kevo_box box, double *x0,
                   double *x1);

#endif
