// area.c — overlapping filled areas, one per series (the token-probability chart).
//
// It follows the authors' plot_token_probabilities_area.py: fill_between(x, 0, y) per series at
// alpha 0.6 with a thin black outline, colours tab20(linspace(0, 1, n_series)), x from 0 to
// n_x - 1, a light grid under the data (seaborn's whitegrid), the legend in the upper left. The
// legend moves outside, to the right of the plot, when it would cover any data, and the stage
// bands tint the plot behind the data.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "plot/axes.h"
#include "plot/colormap.h"
#include "plot/figure.h"
#include "plot/layout.h"
#include "plot/plot.h"
#include "plot/text.h"

#define WIDTH (14 * 72.0)
#define HEIGHT (9 * 72.0)
#define MAX_SERIES 256
#define MAX_X 1000000
#define LEGEND_INSET 10.0
#define SERIES_LABEL_MAX 220.0
#define FILL_ALPHA 0.6
#define BAND_TINT 0.14

typedef struct layout {
    kevo_box plot, strip;
    kevo_ticks xticks, yticks;
    double label_h, title_y, xtick_y, xlabel_y, ylabel_x, bands_y;
    double xlo, xhi;
    const kevo_colormap *map;
    kevo_legend legend, band_legend;
    kevo_legend_entry *entries;       // n_series, then the bands whose label does not fit
    double legend_x, legend_y;
    int legend_inside;
} layout;

static kevo_status check(const void *spec, kevo_error *err)
{
    const kevo_area_chart *a = spec;
    if (!a)
        return kevo_fail(err, KEVO_ERR_ARG, "area chart: no description given");
    if (a->n_series < 1 || a->n_series > MAX_SERIES)
        return kevo_fail(err, KEVO_ERR_ARG, "area chart: %d series; it takes 1..%d",
                         a->n_series, MAX_SERIES);
    if (a->n_x < 2 || a->n_x > MAX_X)
        return kevo_fail(err, KEVO_ERR_ARG, "area chart: %d x positions; it takes 2..%d", a->n_x,
                         MAX_X);
    if (!a->y)
        return kevo_fail(err, KEVO_ERR_ARG, "area chart: no values given");
    if (!isfinite(a->ymin) || !isfinite(a->ymax) || !(a->ymin < a->ymax))
        return kevo_fail(err, KEVO_ERR_ARG, "area chart: y range [%g, %g] needs finite ymin < ymax",
                         a->ymin, a->ymax);
    for (int s = 0; s < a->n_series; s++)
        for (int x = 0; x < a->n_x; x++)
            if (!isfinite(a->y[(size_t)s * a->n_x + x]))
                return kevo_fail(err, KEVO_ERR_ARG,
                                 "area chart: series %d ('%s') is %g at x = %d; values must be "
                                 "finite", s, a->labels && a->labels[s] ? a->labels[s] : "",
                                 a->y[(size_t)s * a->n_x + x], x);
    return kevo_bands_check("area chart", a->bands, a->n_bands, err);
}

static double px(const layout *l, double x)
{
    return l->plot.x + (x - l->xlo) / (l->xhi - l->xlo) * l->plot.w;
}

static double py(const layout *l, const kevo_area_chart *a, double y)
{
    return l->plot.y + (a->ymax - y) / (a->ymax - a->ymin) * l->plot.h;
}

// Whether some series rises above data value y_floor anywhere in [x0, x1] (data units),
// following the straight segments between positions.
static int data_above(const kevo_area_chart *a, double x0, double x1, double y_floor)
{
    int first = (int)fmax(0, floor(x0)), last = (int)fmin(a->n_x - 1, ceil(x1));
    for (int s = 0; s < a->n_series; s++) {
        const double *y = a->y + (size_t)s * a->n_x;
        for (int i = first; i < last; i++) {
            double lo = fmax(x0, i), hi = fmin(x1, i + 1);
            double ylo = y[i] + (y[i + 1] - y[i]) * (lo - i);
            double yhi = y[i] + (y[i + 1] - y[i]) * (hi - i);
            if (fmax(ylo, yhi) > y_floor)
                return 1;
        }
    }
    return 0;
}

// The rows under the plot, from the bottom up: the legend of the bands whose label does not fit
// the strip (which depends on the plot's width), the x label, the x tick labels. The plot takes
// the height that is left down from `top`.
static void place_rows_below(cairo_t *cr, const kevo_area_chart *a, layout *l, double top)
{
    kevo_box strip = {l->plot.x, 0, l->plot.w, KEVO_BAND_STRIP};
    kevo_legend_entry *unfit = l->entries + a->n_series;
    int n = 0;
    for (int i = 0; i < a->n_bands; i++)
        if (!kevo_band_label_fits(cr, &a->bands[i], l->xlo, l->xhi, strip))
            unfit[n++] = (kevo_legend_entry){a->bands[i].label, kevo_rgb_hex(a->bands[i].rgb), 1,
                                             KEVO_SWATCH_BOX, 0};
    l->band_legend = (kevo_legend){unfit, n, 400, WIDTH - 2 * KEVO_MARGIN, 0, 0};
    kevo_legend_measure(cr, &l->band_legend);
    double y = HEIGHT - KEVO_MARGIN;
    if (n) {
        l->bands_y = y - l->band_legend.height;
        y = l->bands_y - 6;
    }
    if (kevo_text_present(a->xlabel)) {
        l->xlabel_y = y - l->label_h;
        y = l->xlabel_y - 8;
    }
    l->xtick_y = y - kevo_text_height(cr, kevo_font_tick);
    l->plot.y = top;
    l->plot.h = l->xtick_y - 6 - top;
}

static kevo_status lay_out(cairo_t *cr, const void *spec, void *out, kevo_figure_layout *size,
                           kevo_error *err)
{
    const kevo_area_chart *a = spec;
    layout *l = out;
    kevo_status st = kevo_colormap_find("tab20", &l->map, err);
    if (st != KEVO_OK)
        return st;
    // bars stand on whole positions and need half a position's room at both ends
    l->xlo = a->lines == KEVO_AREA_BARS ? -0.5 : 0;
    l->xhi = a->lines == KEVO_AREA_BARS ? a->n_x - 0.5 : a->n_x - 1;
    l->entries = calloc((size_t)a->n_series + a->n_bands, sizeof *l->entries);
    if (!l->entries)
        return kevo_fail(err, KEVO_ERR_NOMEM, "area chart: out of memory");
    for (int s = 0; s < a->n_series; s++) {
        const char *label = a->labels && a->labels[s] ? a->labels[s] : "";
        l->entries[s] = (kevo_legend_entry){label, kevo_colormap_spread(l->map, s, a->n_series),
                                            a->lines ? 1 : FILL_ALPHA, KEVO_SWATCH_BOX,
                                            !a->lines};
    }
    l->legend = (kevo_legend){l->entries, a->n_series, SERIES_LABEL_MAX, 0, 0, 0};
    kevo_legend_measure(cr, &l->legend);
    l->label_h = kevo_text_height(cr, kevo_font_label);
    double tick_h = kevo_text_height(cr, kevo_font_tick), ytick_w = 0;
    char num[32];
    kevo_ticks_nice(a->ymin, a->ymax, 8, 0, &l->yticks);
    for (int i = 0; i < l->yticks.n; i++) {
        kevo_tick_label(&l->yticks, i, num);
        ytick_w = fmax(ytick_w, kevo_text_width(cr, kevo_font_tick, num));
    }

    double y = KEVO_MARGIN;
    if (kevo_text_present(a->title)) {
        l->title_y = y;
        y += kevo_text_height(cr, kevo_font_title) + 12;
    }
    double strip_y = y;
    if (a->n_bands > 0)
        y += KEVO_BAND_STRIP + 4;
    double plot_top = y + tick_h / 2;   // room for the top tick label
    l->plot.x = KEVO_MARGIN + (kevo_text_present(a->ylabel) ? l->label_h + 10 : 0) + ytick_w + 8;
    l->plot.w = WIDTH - KEVO_MARGIN - tick_h / 2 - l->plot.x;
    place_rows_below(cr, a, l, plot_top);

    // The legend goes inside, upper left, unless it would cover data; then outside on the right.
    double lw = (l->legend.width + LEGEND_INSET) / l->plot.w * (l->xhi - l->xlo);
    double lh = (l->legend.height + LEGEND_INSET) / l->plot.h * (a->ymax - a->ymin);
    l->legend_inside = l->legend.height + 2 * LEGEND_INSET < l->plot.h &&
                       !data_above(a, l->xlo, l->xlo + lw, a->ymax - lh);
    if (!l->legend_inside) {
        l->plot.w -= l->legend.width + 16;
        place_rows_below(cr, a, l, plot_top);
    }
    l->legend_x = l->legend_inside ? l->plot.x + LEGEND_INSET : l->plot.x + l->plot.w + 16;
    l->legend_y = l->legend_inside ? l->plot.y + LEGEND_INSET : l->plot.y;
    l->strip = (kevo_box){l->plot.x, strip_y, l->plot.w, KEVO_BAND_STRIP};
    l->ylabel_x = KEVO_MARGIN + l->label_h / 2;
    kevo_ticks_nice(l->xlo, l->xhi, (int)fmax(2, fmin(12, l->plot.w / 70)), 1, &l->xticks);
    *size = (kevo_figure_layout){WIDTH, HEIGHT, l->plot};
    return KEVO_OK;
}

static void draw_grid(cairo_t *cr, const kevo_area_chart *a, const layout *l)
{
    for (int i = 0; i < l->xticks.n; i++) {
        double x = px(l, l->xticks.at[i]);
        cairo_move_to(cr, x, l->plot.y);
        cairo_line_to(cr, x, l->plot.y + l->plot.h);
    }
    for (int i = 0; i < l->yticks.n; i++) {
        double y = py(l, a, l->yticks.at[i]);
        cairo_move_to(cr, l->plot.x, y);
        cairo_line_to(cr, l->plot.x + l->plot.w, y);
    }
    kevo_set_rgb(cr, KEVO_GRID, 1);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
}

// The line chart's form: a 2 pt line per series with a dot at every position.
static void draw_lines(cairo_t *cr, const kevo_area_chart *a, const layout *l)
{
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (int s = 0; s < a->n_series; s++) {
        const double *y = a->y + (size_t)s * a->n_x;
        for (int x = 0; x < a->n_x; x++)
            cairo_line_to(cr, px(l, x), py(l, a, y[x]));
        kevo_set_color(cr, l->entries[s].color, 1);
        cairo_set_line_width(cr, 2);
        cairo_stroke(cr);
        for (int x = 0; a->n_x <= 200 && x < a->n_x; x++) {
            cairo_new_sub_path(cr);
            cairo_arc(cr, px(l, x), py(l, a, y[x]), 3, 0, 2 * M_PI);
        }
        cairo_fill(cr);
    }
}

// The histogram's form: at every position one bar per series, side by side, 0.8 wide in all.
static void draw_bars(cairo_t *cr, const kevo_area_chart *a, const layout *l)
{
    double w = 0.8 / a->n_series, base = py(l, a, fmax(a->ymin, 0));
    for (int s = 0; s < a->n_series; s++) {
        const double *y = a->y + (size_t)s * a->n_x;
        for (int x = 0; x < a->n_x; x++) {
            double x0 = px(l, x - 0.4 + s * w), x1 = px(l, x - 0.4 + (s + 1) * w);
            cairo_rectangle(cr, x0, py(l, a, y[x]), x1 - x0, base - py(l, a, y[x]));
        }
        kevo_set_color(cr, l->entries[s].color, 1);
        cairo_fill_preserve(cr);
        kevo_set_rgb(cr, 0x000000, 0.75);
        cairo_set_line_width(cr, 0.5);
        cairo_stroke(cr);
    }
}

static void draw_series(cairo_t *cr, const kevo_area_chart *a, const layout *l)
{
    if (a->lines == KEVO_AREA_BARS) {
        draw_bars(cr, a, l);
        return;
    }
    if (a->lines) {
        draw_lines(cr, a, l);
        return;
    }
    double base = py(l, a, 0);
    for (int s = 0; s < a->n_series; s++) {
        const double *y = a->y + (size_t)s * a->n_x;
        cairo_move_to(cr, px(l, 0), base);
        for (int x = 0; x < a->n_x; x++)
            cairo_line_to(cr, px(l, x), py(l, a, y[x]));
        cairo_line_to(cr, px(l, a->n_x - 1), base);
        cairo_close_path(cr);
        kevo_set_color(cr, l->entries[s].color, FILL_ALPHA);
        cairo_fill_preserve(cr);
        kevo_set_rgb(cr, 0x000000, 0.75);
        cairo_set_line_width(cr, 0.5);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        cairo_stroke(cr);
    }
}

static void draw_axes(cairo_t *cr, const kevo_area_chart *a, const layout *l)
{
    char num[32], buf[KEVO_TEXT_MAX];
    cairo_rectangle(cr, l->plot.x, l->plot.y, l->plot.w, l->plot.h);
    kevo_set_rgb(cr, KEVO_FRAME, 1);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    kevo_set_rgb(cr, KEVO_INK, 1);
    for (int i = 0; i < l->xticks.n; i++) {
        kevo_tick_label(&l->xticks, i, num);
        kevo_text_draw(cr, kevo_font_tick, num, px(l, l->xticks.at[i]), l->xtick_y, KEVO_CENTER,
                       KEVO_TOP, 0);
    }
    for (int i = 0; i < l->yticks.n; i++) {
        kevo_tick_label(&l->yticks, i, num);
        kevo_text_draw(cr, kevo_font_tick, num, l->plot.x - 8, py(l, a, l->yticks.at[i]),
                       KEVO_RIGHT, KEVO_MIDDLE, 0);
    }
    if (kevo_text_present(a->xlabel)) {
        kevo_text_fit(cr, kevo_font_label, a->xlabel, l->plot.w, buf);
        kevo_text_draw(cr, kevo_font_label, buf, l->plot.x + l->plot.w / 2, l->xlabel_y,
                       KEVO_CENTER, KEVO_TOP, 0);
    }
    if (kevo_text_present(a->ylabel)) {
        kevo_text_fit(cr, kevo_font_label, a->ylabel, l->plot.h, buf);
        kevo_text_draw(cr, kevo_font_label, buf, l->ylabel_x, l->plot.y + l->plot.h / 2,
                       KEVO_CENTER, KEVO_MIDDLE, 1);
    }
    if (kevo_text_present(a->title)) {
        kevo_text_fit(cr, kevo_font_title, a->title, WIDTH - 2 * KEVO_MARGIN, buf);
        kevo_text_draw(cr, kevo_font_title, buf, WIDTH / 2, l->title_y, KEVO_CENTER, KEVO_TOP, 0);
    }
}

static kevo_status draw(cairo_t *cr, const void *spec, const void *out, kevo_error *err)
{
    const kevo_area_chart *a = spec;
    const layout *l = out;
    (void)err;
    for (int i = 0; i < a->n_bands; i++) {
        double x0, x1;
        if (!kevo_band_span(&a->bands[i], l->xlo, l->xhi, l->plot, &x0, &x1))
            continue;
        cairo_rectangle(cr, x0, l->plot.y, x1 - x0, l->plot.h);
        kevo_set_rgb(cr, a->bands[i].rgb, BAND_TINT);
        cairo_fill(cr);
    }
    draw_grid(cr, a, l);
    cairo_save(cr);
    cairo_rectangle(cr, l->plot.x, l->plot.y, l->plot.w, l->plot.h);
    cairo_clip(cr);
    draw_series(cr, a, l);
    cairo_restore(cr);
    draw_axes(cr, a, l);
    if (a->n_bands > 0)
        kevo_bands_strip(cr, a->bands, a->n_bands, l->xlo, l->xhi, l->strip);
    if (l->band_legend.n > 0)
        kevo_legend_draw(cr, &l->band_legend, l->plot.x + (l->plot.w - l->band_legend.width) / 2,
                         l->bands_y, 0);
    kevo_legend_draw(cr, &l->legend, l->legend_x, l->legend_y, l->legend_inside);
    return KEVO_OK;
}

static void release(void *out)
{
    free(((layout *)out)->entries);
}

static const kevo_figure_kind area = {
    .name = "area chart", .check = check, .lay_out = lay_out, .draw = draw, .release = release};

kevo_status kevo_area_layout(const kevo_area_chart *a, kevo_figure_layout *out, kevo_error *err)
{
    return kevo_figure_measure(&area, a, &(layout){0}, out, err);
}

kevo_status kevo_plot_area(const char *path, const kevo_figure_opts *o, const kevo_area_chart *a,
                           kevo_error *err)
{
    return kevo_figure_render(path, o, &area, a, &(layout){0}, err);
}
