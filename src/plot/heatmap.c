// heatmap.c — a matrix as coloured cells with row labels, a colour bar and optional stage bands.
//
// It follows the authors' figure (seaborn's heatmap with cmap "Purples", annot=True, fmt ".2g";
// seaborn/matrix.py) and sizes itself from its content: the cells are as wide as the widest
// annotation and as tall as a label, so the numbers stay legible for 1..40 rows and 2..80
// columns. As in seaborn, annotations are dark on light cells and white on dark ones (relative
// luminance above 0.408). Unlike seaborn, the cells are opaque (the authors' alpha 0.7 washed
// the scale out), and a value that is not finite (NaN, +-inf) is drawn as a hatched "no value"
// cell with its name written in it, and explained in the legend.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "plot/axes.h"
#include "plot/colorbar.h"
#include "plot/colormap.h"
#include "plot/figure.h"
#include "plot/layout.h"
#include "plot/plot.h"
#include "plot/text.h"

#define MAX_CELLS_PER_SIDE 4096
#define ROW_LABEL_MAX 150.0           // points; longer token labels are cut with an ellipsis
#define COL_LABEL_MAX 90.0
#define COLORBAR_MIN_H 120.0
#define TITLE_MAX_W 1100.0
#define CELL_OVERLAP 0.6              // each cell reaches under its right and lower neighbours,
                                      // so that antialiasing leaves no seams between cells

static const kevo_font annot_font = {9, 1};
static const kevo_font row_font = {11.5, 1};

typedef struct layout {
    double width, height;
    double inner_w;                   // the widest element: content, title or legend
    kevo_box cells, strip;
    kevo_colorbar cbar;
    double cell_w, cell_h;
    int vertical_xticks, ylabel_vertical;
    double row_label_w, xtick_h, label_h, ylabel_w, xlabel_w, title_w;
    double title_y, xtick_y, xlabel_y, legend_y, ylabel_x;
    const kevo_colormap *map;
    double vmin, vmax;
    int missing;                      // some value is not finite
    kevo_legend legend;               // unfit bands and the missing-value key
    kevo_legend_entry *entries;
} layout;

static kevo_status check(const void *spec, kevo_error *err)
{
    const kevo_heatmap *h = spec;
    if (!h)
        return kevo_fail(err, KEVO_ERR_ARG, "heatmap: no description given");
    if (h->rows < 1 || h->cols < 1 || h->rows > MAX_CELLS_PER_SIDE ||
        h->cols > MAX_CELLS_PER_SIDE)
        return kevo_fail(err, KEVO_ERR_ARG,
                         "heatmap: %d x %d cells; rows and columns must be in 1..%d", h->rows,
                         h->cols, MAX_CELLS_PER_SIDE);
    if (!h->values)
        return kevo_fail(err, KEVO_ERR_ARG, "heatmap: no values given");
    if (!isfinite(h->vmin) || !isfinite(h->vmax) || h->vmin > h->vmax)
        return kevo_fail(err, KEVO_ERR_ARG,
                         "heatmap: colour scale [%g, %g] needs finite vmin <= vmax", h->vmin,
                         h->vmax);
    return kevo_bands_check("heatmap", h->bands, h->n_bands, err);
}

static const char *row_label(const kevo_heatmap *h, int r, char buf[16])
{
    if (h->row_labels)
        return h->row_labels[r] ? h->row_labels[r] : "";
    snprintf(buf, 16, "%d", r);
    return buf;
}

static const char *col_label(const kevo_heatmap *h, int c, char buf[16])
{
    if (h->col_labels)
        return h->col_labels[c] ? h->col_labels[c] : "";
    snprintf(buf, 16, "%d", c);
    return buf;
}

// Sizes that follow from the content: cells as wide as the widest annotation, row and column
// labels (column labels turn vertical when they do not fit a cell), colour bar ticks, y label.
static void measure(cairo_t *cr, const kevo_heatmap *h, layout *l)
{
    char buf[KEVO_TEXT_MAX], num[32];
    double annot_w = 0;
    for (size_t i = 0; i < (size_t)h->rows * h->cols; i++) {
        double v = h->values[i];
        l->missing |= !isfinite(v);
        if (h->annotate) {
            snprintf(num, sizeof num, "%.2g", v);
            annot_w = fmax(annot_w, kevo_text_width(cr, annot_font, num));
        }
    }
    l->label_h = kevo_text_height(cr, kevo_font_label);
    l->cell_w = fmax(h->annotate ? annot_w + 8 : 0, 22);
    l->cell_h = fmax(kevo_text_height(cr, annot_font) * 1.6,
                     kevo_text_height(cr, row_font) * 1.25);
    l->cells.w = l->cell_w * h->cols;
    l->cells.h = l->cell_h * h->rows;

    for (int r = 0; r < h->rows; r++) {
        kevo_text_fit(cr, row_font, row_label(h, r, num), ROW_LABEL_MAX, buf);
        l->row_label_w = fmax(l->row_label_w, kevo_text_width(cr, row_font, buf));
    }
    double xtick_w = 0;
    for (int c = 0; c < h->cols; c++) {
        kevo_text_fit(cr, kevo_font_tick, col_label(h, c, num), COL_LABEL_MAX, buf);
        xtick_w = fmax(xtick_w, kevo_text_width(cr, kevo_font_tick, buf));
    }
    l->vertical_xticks = xtick_w > l->cell_w - 3;
    l->xtick_h = l->vertical_xticks ? xtick_w : kevo_text_height(cr, kevo_font_tick);

    l->cbar = (kevo_colorbar){.map = l->map, .vmin = l->vmin, .vmax = l->vmax,
                              .label = h->colorbar_label};
    kevo_colorbar_measure(cr, &l->cbar, fmax(l->cells.h, COLORBAR_MIN_H));
    // The y label runs along the rows when they are tall enough for it, else it sits beside them.
    if (kevo_text_present(h->ylabel)) {
        l->ylabel_vertical = kevo_text_width(cr, kevo_font_label, h->ylabel) <= l->cells.h;
        kevo_text_fit(cr, kevo_font_label, h->ylabel, ROW_LABEL_MAX, buf);
        l->ylabel_w = l->ylabel_vertical ? l->label_h + 8
                                         : kevo_text_width(cr, kevo_font_label, buf) + 12;
    }
    if (kevo_text_present(h->xlabel)) {
        kevo_text_fit(cr, kevo_font_label, h->xlabel, TITLE_MAX_W, buf);
        l->xlabel_w = kevo_text_width(cr, kevo_font_label, buf);
    }
    if (kevo_text_present(h->title))
        l->title_w = kevo_text_width(cr, kevo_font_title, h->title);
}

// The legend below the figure: bands whose label does not fit their block, and the key to the
// missing-value hatching.
static kevo_status make_legend(cairo_t *cr, const kevo_heatmap *h, layout *l, kevo_error *err)
{
    int n = 0;
    l->entries = calloc((size_t)h->n_bands + 1, sizeof *l->entries);
    if (!l->entries)
        return kevo_fail(err, KEVO_ERR_NOMEM, "heatmap: out of memory");
    kevo_box strip = {0, 0, l->cells.w, KEVO_BAND_STRIP};
    for (int i = 0; i < h->n_bands; i++)
        if (!kevo_band_label_fits(cr, &h->bands[i], -0.5, h->cols - 0.5, strip))
            l->entries[n++] = (kevo_legend_entry){h->bands[i].label, kevo_rgb_hex(h->bands[i].rgb),
                                                  1, KEVO_SWATCH_BOX, 0};
    if (l->missing)
        l->entries[n++] = (kevo_legend_entry){"no value (NaN or infinite)", {0, 0, 0}, 1,
                                              KEVO_SWATCH_MISSING, 0};
    l->legend = (kevo_legend){l->entries, n, 400, l->inner_w, 0, 0};
    kevo_legend_measure(cr, &l->legend);
    return KEVO_OK;
}

// Places the parts: left to right the y label, the row labels, the cells and the colour bar
// block; top to bottom the title, the band strip, the cells, the x labels and the legend. The x
// label is centred under the cells; where it is wider, the blocks beside it make room.
static kevo_status lay_out(cairo_t *cr, const void *spec, void *out, kevo_figure_layout *size,
                           kevo_error *err)
{
    const kevo_heatmap *h = spec;
    layout *l = out;
    kevo_status st = kevo_colormap_find(h->colormap ? h->colormap : "Purples", &l->map, err);
    if (st != KEVO_OK)
        return kevo_error_prefix(err, "heatmap: ");
    // A constant scale gets a unit range around its value, so colours and ticks stay defined.
    l->vmin = h->vmin == h->vmax ? h->vmin - 0.5 : h->vmin;
    l->vmax = h->vmin == h->vmax ? h->vmax + 0.5 : h->vmax;
    measure(cr, h, l);

    double overhang = fmax(0, l->xlabel_w / 2 - l->cells.w / 2);
    double left_w = l->ylabel_w + fmax(l->row_label_w + 7, overhang);
    double cbar_gap = fmax(18, overhang + 12);
    double right_w = kevo_colorbar_extent(&l->cbar, cbar_gap);
    double content_w = left_w + l->cells.w + right_w;
    l->inner_w = fmax(content_w, fmin(l->title_w, TITLE_MAX_W));
    if ((st = make_legend(cr, h, l, err)) != KEVO_OK)
        return st;
    l->inner_w = fmax(l->inner_w, l->legend.n ? l->legend.width : 0);

    double x = KEVO_MARGIN + (l->inner_w - content_w) / 2;   // centred under a wider title
    l->ylabel_x = l->ylabel_vertical ? x + l->label_h / 2 : x;
    l->cells.x = x + left_w;
    l->cbar.bar.x = l->cells.x + l->cells.w + cbar_gap;

    double y = KEVO_MARGIN;
    if (l->title_w > 0) {
        l->title_y = y;
        y += kevo_text_height(cr, kevo_font_title) + 10;
    }
    if (h->n_bands > 0) {
        l->strip = (kevo_box){l->cells.x, y, l->cells.w, KEVO_BAND_STRIP};
        y += KEVO_BAND_STRIP + 5;
    }
    l->cells.y = l->cbar.bar.y = y;
    y += l->cells.h + 5;
    l->xtick_y = y;
    y += l->xtick_h;
    if (kevo_text_present(h->xlabel)) {
        l->xlabel_y = y + 8;
        y = l->xlabel_y + l->label_h;
    }
    // Half a tick label may stick out below the colour bar.
    y = fmax(y, l->cbar.bar.y + l->cbar.bar.h + kevo_text_height(cr, kevo_font_tick) / 2);
    if (l->legend.n) {
        l->legend_y = y + 10;
        y = l->legend_y + l->legend.height;
    }
    l->width = ceil(l->inner_w + 2 * KEVO_MARGIN);   // whole points: tidy SVG and PDF pages
    l->height = ceil(y + KEVO_MARGIN);
    *size = (kevo_figure_layout){l->width, l->height, l->cells};
    return KEVO_OK;
}

static void draw_cells(cairo_t *cr, const kevo_heatmap *h, const layout *l)
{
    for (int r = 0; r < h->rows; r++)
        for (int c = 0; c < h->cols; c++) {
            double v = h->values[(size_t)r * h->cols + c];
            double x = l->cells.x + c * l->cell_w, y = l->cells.y + r * l->cell_h;
            double w = l->cell_w + (c + 1 < h->cols ? CELL_OVERLAP : 0);
            double ht = l->cell_h + (r + 1 < h->rows ? CELL_OVERLAP : 0);
            if (!isfinite(v)) {
                kevo_draw_missing(cr, x, y, w, ht);
                continue;
            }
            cairo_rectangle(cr, x, y, w, ht);
            kevo_set_color(cr, kevo_colormap_at(l->map, (v - l->vmin) / (l->vmax - l->vmin)), 1);
            cairo_fill(cr);
        }
}

static void draw_annotations(cairo_t *cr, const kevo_heatmap *h, const layout *l)
{
    char num[32];
    for (int r = 0; r < h->rows; r++)
        for (int c = 0; c < h->cols; c++) {
            double v = h->values[(size_t)r * h->cols + c];
            kevo_rgb fill = kevo_colormap_at(l->map, (v - l->vmin) / (l->vmax - l->vmin));
            int dark_cell = isfinite(v) && kevo_rgb_luminance(fill) <= 0.408;
            kevo_set_rgb(cr, dark_cell ? 0xffffff : KEVO_INK, 1);
            snprintf(num, sizeof num, "%.2g", v);
            kevo_text_draw(cr, annot_font, num, l->cells.x + (c + 0.5) * l->cell_w,
                           l->cells.y + (r + 0.5) * l->cell_h, KEVO_CENTER, KEVO_MIDDLE, 0);
        }
}

// Dashed lines through the cells where one band ends and the next begins.
static void draw_band_edges(cairo_t *cr, const kevo_heatmap *h, const layout *l)
{
    double dash[] = {4, 3};
    cairo_save(cr);
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1.2);
    kevo_set_rgb(cr, KEVO_INK, 0.85);
    for (int i = 0; i < h->n_bands; i++) {
        double x0, x1;
        if (!kevo_band_span(&h->bands[i], -0.5, h->cols - 0.5, l->cells, &x0, &x1))
            continue;
        double edges[2] = {x0, x1};
        for (int e = 0; e < 2; e++)
            if (edges[e] > l->cells.x + 0.5 && edges[e] < l->cells.x + l->cells.w - 0.5) {
                cairo_move_to(cr, edges[e], l->strip.y + l->strip.h);
                cairo_line_to(cr, edges[e], l->cells.y + l->cells.h);
            }
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

static void draw_labels(cairo_t *cr, const kevo_heatmap *h, const layout *l)
{
    char buf[KEVO_TEXT_MAX], num[16];
    kevo_set_rgb(cr, KEVO_INK, 1);
    for (int r = 0; r < h->rows; r++) {
        kevo_text_fit(cr, row_font, row_label(h, r, num), ROW_LABEL_MAX, buf);
        kevo_text_draw(cr, row_font, buf, l->cells.x - 7, l->cells.y + (r + 0.5) * l->cell_h,
                       KEVO_RIGHT, KEVO_MIDDLE, 0);
    }
    for (int c = 0; c < h->cols; c++) {
        double x = l->cells.x + (c + 0.5) * l->cell_w;
        kevo_text_fit(cr, kevo_font_tick, col_label(h, c, num), COL_LABEL_MAX, buf);
        if (l->vertical_xticks)
            kevo_text_draw(cr, kevo_font_tick, buf, x, l->xtick_y, KEVO_RIGHT, KEVO_MIDDLE, 1);
        else
            kevo_text_draw(cr, kevo_font_tick, buf, x, l->xtick_y, KEVO_CENTER, KEVO_TOP, 0);
    }
    if (kevo_text_present(h->xlabel)) {
        kevo_text_fit(cr, kevo_font_label, h->xlabel, TITLE_MAX_W, buf);
        kevo_text_draw(cr, kevo_font_label, buf, l->cells.x + l->cells.w / 2, l->xlabel_y,
                       KEVO_CENTER, KEVO_TOP, 0);
    }
    if (kevo_text_present(h->ylabel)) {
        double mid = l->cells.y + l->cells.h / 2;
        double room = l->ylabel_vertical ? l->cells.h : ROW_LABEL_MAX;
        kevo_text_fit(cr, kevo_font_label, h->ylabel, room, buf);
        if (l->ylabel_vertical)
            kevo_text_draw(cr, kevo_font_label, buf, l->ylabel_x, mid, KEVO_CENTER, KEVO_MIDDLE, 1);
        else
            kevo_text_draw(cr, kevo_font_label, buf, l->ylabel_x, mid, KEVO_LEFT, KEVO_MIDDLE, 0);
    }
    if (kevo_text_present(h->title)) {
        kevo_text_fit(cr, kevo_font_title, h->title, l->inner_w, buf);
        kevo_text_draw(cr, kevo_font_title, buf, KEVO_MARGIN + l->inner_w / 2, l->title_y,
                       KEVO_CENTER, KEVO_TOP, 0);
    }
}

static kevo_status draw(cairo_t *cr, const void *spec, const void *out, kevo_error *err)
{
    const kevo_heatmap *h = spec;
    const layout *l = out;
    (void)err;
    if (h->n_bands > 0)
        kevo_bands_strip(cr, h->bands, h->n_bands, -0.5, h->cols - 0.5, l->strip);
    draw_cells(cr, h, l);
    if (h->n_bands > 0)
        draw_band_edges(cr, h, l);
    if (h->annotate)
        draw_annotations(cr, h, l);
    draw_labels(cr, h, l);
    // The bar's label is centred on it but free to run past its ends up to the margins: a
    // heatmap of a few rows has a short bar.
    double mid = l->cbar.bar.y + l->cbar.bar.h / 2;
    kevo_colorbar_draw(cr, &l->cbar, 2 * fmin(mid - KEVO_MARGIN, l->height - KEVO_MARGIN - mid));
    if (l->legend.n > 0)
        kevo_legend_draw(cr, &l->legend, KEVO_MARGIN + (l->inner_w - l->legend.width) / 2,
                         l->legend_y, 0);
    return KEVO_OK;
}

static void release(void *out)
{
    free(((layout *)out)->entries);
}

static const kevo_figure_kind heatmap = {
    .name = "heatmap", .check = check, .lay_out = lay_out, .draw = draw, .release = release};

kevo_status kevo_heatmap_layout(const kevo_heatmap *h, kevo_figure_layout *out, kevo_error *err)
{
    return kevo_figure_measure(&heatmap, h, &(layout){0}, out, err);
}

kevo_status kevo_plot_heatmap(const char *path, const kevo_figure_opts *o, const kevo_heatmap *h,
                              kevo_error *err)
{
    return kevo_figure_render(path, o, &heatmap, h, &(layout){0}, err);
}
