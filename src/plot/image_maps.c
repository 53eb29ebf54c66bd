// image_maps.c — a picture with values laid over it cell by cell, as small multiples (one panel
// per layer: a word's probability on every image patch) or as one large panel whose cells carry
// text (each patch's top token, as Neo et al. 2024 label LLaVA's image tokens).
//
// Every panel shows the whole picture scaled to the panel, each cell painted over its rectangle
// in one colour scale for all panels (a colour bar on the right) at the caller's opacity, so the
// photo stays visible beneath. A panel belonging to a stage band gets a frame in the band's
// colour and the bands are explained in a legend under the title. Cells with a value that is not
// finite are left unpainted.
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "plot/axes.h"
#include "plot/colorbar.h"
#include "plot/colormap.h"
#include "plot/figure.h"
#include "plot/layout.h"
#include "plot/plot.h"
#include "plot/text.h"

#define MAX_SIDE 16384
#define MAX_CELLS (1 << 20)
#define MAX_PANELS 256
#define MAX_COLS 6
#define SMALL_PANEL 150.0             // points: the longer side of each small multiple
#define LARGE_PANEL 560.0             // a single panel
#define PANEL_GAP 12.0
#define PANEL_TITLE_GAP 4.0
#define FRAME_W 2.0                   // the band-coloured frame around a panel
#define COLORBAR_MIN_H 120.0
#define LEGEND_MAX_LABEL 300.0
#define LABEL_MIN_SIZE 3.5            // points: smaller cell labels are not drawn
#define LABEL_MAX_SIZE 11.0

typedef struct layout {
    double width, height, inner_w;
    int cols, rows;
    double panel_w, panel_h, scale;   // every panel, and picture pixels to points
    double grid_x, grid_y, title_y, legend_y, panel_title_h;
    kevo_colorbar cbar;
    kevo_font cell_font;
    kevo_legend legend;
    kevo_legend_entry *entries;
} layout;

static kevo_status check(const void *spec, kevo_error *err)
{
    const kevo_image_maps *m = spec;
    if (!m)
        return kevo_fail(err, KEVO_ERR_ARG, "image maps: no description given");
    if (!m->rgb || m->width < 1 || m->height < 1 || m->width > MAX_SIDE || m->height > MAX_SIDE)
        return kevo_fail(err, KEVO_ERR_ARG, "image maps: a %d x %d picture; it takes 1..%d "
                         "pixels a side", m->width, m->height, MAX_SIDE);
    if (!m->cells || m->n_cells < 1 || m->n_cells > MAX_CELLS)
        return kevo_fail(err, KEVO_ERR_ARG, "image maps: %d cells; it takes 1..%d", m->n_cells,
                         MAX_CELLS);
    if (!m->values || m->n_panels < 1 || m->n_panels > MAX_PANELS)
        return kevo_fail(err, KEVO_ERR_ARG, "image maps: %d panels; it takes 1..%d",
                         m->n_panels, MAX_PANELS);
    if (m->cell_labels && m->n_panels != 1)
        return kevo_fail(err, KEVO_ERR_ARG, "image maps: cell labels need a single panel, not "
                         "%d", m->n_panels);
    if (!isfinite(m->vmin) || !isfinite(m->vmax) || m->vmin > m->vmax)
        return kevo_fail(err, KEVO_ERR_ARG, "image maps: colour range %g..%g is not finite and "
                         "increasing", m->vmin, m->vmax);
    if (!(m->alpha >= 0 && m->alpha <= 1))
        return kevo_fail(err, KEVO_ERR_ARG, "image maps: opacity %g is outside 0..1", m->alpha);
    for (int c = 0; c < m->n_cells; c++) {
        const double *r = m->cells + 4 * (size_t)c;
        if (!isfinite(r[0]) || !isfinite(r[1]) || !isfinite(r[2]) || !isfinite(r[3]) ||
            r[0] > r[2] || r[1] > r[3])
            return kevo_fail(err, KEVO_ERR_ARG, "image maps: cell %d is not a rectangle "
                             "(%g, %g)-(%g, %g)", c, r[0], r[1], r[2], r[3]);
    }
    kevo_status st = kevo_bands_check("image maps", m->bands, m->n_bands, err);
    for (int p = 0; st == KEVO_OK && m->panel_band && p < m->n_panels; p++)
        if (m->panel_band[p] < -1 || m->panel_band[p] >= m->n_bands)
            st = kevo_fail(err, KEVO_ERR_ARG, "image maps: panel %d is in band %d of %d", p,
                           m->panel_band[p], m->n_bands);
    return st;
}

static kevo_status lay_out(cairo_t *cr, const void *spec, void *out, kevo_figure_layout *size,
                           kevo_error *err)
{
    const kevo_image_maps *m = spec;
    layout *l = out;
    const kevo_colormap *map;
    kevo_status st = kevo_colormap_find(m->colormap ? m->colormap : "Purples", &map, err);
    if (st != KEVO_OK)
        return kevo_error_prefix(err, "image maps: ");
    l->cols = m->n_panels < MAX_COLS ? m->n_panels : MAX_COLS;
    l->rows = (m->n_panels + l->cols - 1) / l->cols;
    double side = m->n_panels == 1 ? LARGE_PANEL : SMALL_PANEL;
    l->scale = side / fmax(m->width, m->height);
    l->panel_w = m->width * l->scale;
    l->panel_h = m->height * l->scale;
    l->panel_title_h = m->panel_titles ? kevo_text_height(cr, kevo_font_tick) + PANEL_TITLE_GAP
                                       : 0;
    double grid_w = l->cols * l->panel_w + (l->cols - 1) * PANEL_GAP;
    double grid_h = l->rows * (l->panel_title_h + l->panel_h) + (l->rows - 1) * PANEL_GAP;

    // One colour scale for every panel; a constant one gets a unit range around its value.
    double lo = m->vmin == m->vmax ? m->vmin - 0.5 : m->vmin;
    double hi = m->vmin == m->vmax ? m->vmax + 0.5 : m->vmax;
    l->cbar = (kevo_colorbar){.map = map, .vmin = lo, .vmax = hi, .label = m->colorbar_label};
    kevo_colorbar_measure(cr, &l->cbar, fmax(grid_h, COLORBAR_MIN_H));
    double content_w = kevo_colorbar_extent(&l->cbar, grid_w + 18);

    l->entries = calloc((size_t)m->n_bands + 1, sizeof *l->entries);
    if (!l->entries)
        return kevo_fail(err, KEVO_ERR_NOMEM, "image maps: out of memory");
    for (int b = 0; b < m->n_bands; b++)
        l->entries[b] = (kevo_legend_entry){m->bands[b].label, kevo_rgb_hex(m->bands[b].rgb), 1,
                                            KEVO_SWATCH_BOX, 0};
    l->legend = (kevo_legend){l->entries, m->n_bands, LEGEND_MAX_LABEL, content_w, 0, 0};
    kevo_legend_measure(cr, &l->legend);

    double title_w = kevo_text_present(m->title) ? kevo_text_width(cr, kevo_font_title, m->title)
                                                 : 0;
    l->inner_w = fmax(content_w, fmax(fmin(title_w, 1100), m->n_bands ? l->legend.width : 0));
    double y = KEVO_MARGIN;
    if (title_w > 0) {
        l->title_y = y;
        y += kevo_text_height(cr, kevo_font_title) + 10;
    }
    if (m->n_bands) {
        l->legend_y = y;
        y += l->legend.height + 10;
    }
    l->grid_x = KEVO_MARGIN + (l->inner_w - content_w) / 2;
    l->grid_y = y;
    l->cbar.bar.x = l->grid_x + grid_w + 18;
    l->cbar.bar.y = y;
    y += fmax(grid_h, l->cbar.bar.h + kevo_text_height(cr, kevo_font_tick) / 2);

    // Cell labels as large as the smallest cell allows, within limits.
    double cell_h = INFINITY;
    for (int c = 0; m->cell_labels && c < m->n_cells; c++) {
        const double *r = m->cells + 4 * (size_t)c;
        if (r[3] > r[1] && r[2] > r[0])
            cell_h = fmin(cell_h, (r[3] - r[1]) * l->scale);
    }
    l->cell_font = (kevo_font){fmin(LABEL_MAX_SIZE, 0.42 * cell_h), 0};
    l->width = ceil(l->inner_w + 2 * KEVO_MARGIN);
    l->height = ceil(y + KEVO_MARGIN);
    kevo_box first = {l->grid_x, l->grid_y + l->panel_title_h, l->panel_w, l->panel_h};
    *size = (kevo_figure_layout){l->width, l->height, first};
    return KEVO_OK;
}

// The picture as a cairo surface (cairo's RGB24 is 0x00RRGGBB in native-endian words).
static kevo_status picture_surface(const kevo_image_maps *m, cairo_surface_t **out,
                                   kevo_error *err)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, m->width, m->height);
    *out = NULL;
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        kevo_status st = kevo_fail(err, KEVO_ERR_NOMEM, "image maps: cannot hold a %d x %d "
                                   "picture: %s", m->width, m->height,
                                   cairo_status_to_string(cairo_surface_status(s)));
        cairo_surface_destroy(s);
        return st;
    }
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < m->height; y++) {
        uint32_t *row = (uint32_t *)(data + (size_t)y * stride);
        const unsigned char *p = m->rgb + (size_t)3 * m->width * y;
        for (int x = 0; x < m->width; x++, p += 3)
            row[x] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    }
    cairo_surface_mark_dirty(s);
    *out = s;
    return KEVO_OK;
}

static void draw_cell_labels(cairo_t *cr, const kevo_image_maps *m, const layout *l, double x0,
                             double y0)
{
    if (l->cell_font.size < LABEL_MIN_SIZE)
        return;
    char buf[KEVO_TEXT_MAX];
    for (int c = 0; c < m->n_cells; c++) {
        const double *r = m->cells + 4 * (size_t)c;
        double w = (r[2] - r[0]) * l->scale;
        if (w <= 0 || r[3] <= r[1] || !kevo_text_present(m->cell_labels[c]))
            continue;
        // Dark text on light cells, white on dark ones, judged by the cell's colour (seaborn's
        // rule, as the heatmap's annotations).
        double v = m->values[c];
        kevo_rgb under = kevo_colormap_at(l->cbar.map, (v - l->cbar.vmin) /
                                                           (l->cbar.vmax - l->cbar.vmin));
        int light = !isfinite(v) || kevo_rgb_luminance(under) > 0.408;
        kevo_set_rgb(cr, light ? KEVO_INK : 0xffffff, 1);
        kevo_text_fit(cr, l->cell_font, m->cell_labels[c], w - 1, buf);
        kevo_text_draw(cr, l->cell_font, buf, x0 + (r[0] + r[2]) / 2 * l->scale,
                       y0 + (r[1] + r[3]) / 2 * l->scale, KEVO_CENTER, KEVO_MIDDLE, 0);
    }
}

static void draw_panel(cairo_t *cr, const kevo_image_maps *m, const layout *l,
                       cairo_surface_t *picture, int p)
{
    double x0 = l->grid_x + (p % l->cols) * (l->panel_w + PANEL_GAP);
    double top = l->grid_y + (p / l->cols) * (l->panel_title_h + l->panel_h + PANEL_GAP);
    double y0 = top + l->panel_title_h;
    if (m->panel_titles && kevo_text_present(m->panel_titles[p])) {
        char buf[KEVO_TEXT_MAX];
        kevo_set_rgb(cr, KEVO_INK, 1);
        kevo_text_fit(cr, kevo_font_tick, m->panel_titles[p], l->panel_w, buf);
        kevo_text_draw(cr, kevo_font_tick, buf, x0 + l->panel_w / 2, top, KEVO_CENTER, KEVO_TOP,
                       0);
    }
    cairo_save(cr);
    cairo_rectangle(cr, x0, y0, l->panel_w, l->panel_h);
    cairo_clip(cr);
    cairo_save(cr);
    cairo_translate(cr, x0, y0);
    cairo_scale(cr, l->scale, l->scale);
    cairo_set_source_surface(cr, picture, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    const double *values = m->values + (size_t)p * m->n_cells;
    for (int c = 0; c < m->n_cells; c++) {
        const double *r = m->cells + 4 * (size_t)c;
        if (!isfinite(values[c]) || r[2] <= r[0] || r[3] <= r[1])
            continue;
        double t = (values[c] - l->cbar.vmin) / (l->cbar.vmax - l->cbar.vmin);
        kevo_set_color(cr, kevo_colormap_at(l->cbar.map, t), m->alpha);
        cairo_rectangle(cr, x0 + r[0] * l->scale, y0 + r[1] * l->scale,
                        (r[2] - r[0]) * l->scale, (r[3] - r[1]) * l->scale);
        cairo_fill(cr);
    }
    if (m->cell_labels)
        draw_cell_labels(cr, m, l, x0, y0);
    cairo_restore(cr);
    int band = m->panel_band ? m->panel_band[p] : -1;
    cairo_rectangle(cr, x0, y0, l->panel_w, l->panel_h);
    if (band >= 0) {
        kevo_set_rgb(cr, m->bands[band].rgb, 1);
        cairo_set_line_width(cr, FRAME_W);
    } else {
        kevo_set_rgb(cr, KEVO_FRAME, 1);
        cairo_set_line_width(cr, 0.8);
    }
    cairo_stroke(cr);
}

static kevo_status draw(cairo_t *cr, const void *spec, const void *out, kevo_error *err)
{
    const kevo_image_maps *m = spec;
    const layout *l = out;
    cairo_surface_t *picture;
    kevo_status st = picture_surface(m, &picture, err);
    if (st != KEVO_OK)
        return st;
    for (int p = 0; p < m->n_panels; p++)
        draw_panel(cr, m, l, picture, p);
    cairo_surface_destroy(picture);
    kevo_colorbar_draw(cr, &l->cbar, l->cbar.bar.h);
    if (m->n_bands)
        kevo_legend_draw(cr, &l->legend, KEVO_MARGIN + (l->inner_w - l->legend.width) / 2,
                         l->legend_y, 0);
    if (kevo_text_present(m->title)) {
        char buf[KEVO_TEXT_MAX];
        kevo_set_rgb(cr, KEVO_INK, 1);
        kevo_text_fit(cr, kevo_font_title, m->title, l->inner_w, buf);
        kevo_text_draw(cr, kevo_font_title, buf, KEVO_MARGIN + l->inner_w / 2, l->title_y,
                       KEVO_CENTER, KEVO_TOP, 0);
    }
    return KEVO_OK;
}

static void release(void *out)
{
    free(((layout *)out)->entries);
}

static const kevo_figure_kind image_maps = {
    .name = "image maps", .check = check, .lay_out = lay_out, .draw = draw, .release = release};

kevo_status kevo_image_maps_layout(const kevo_image_maps *m, kevo_figure_layout *out,
                                   kevo_error *err)
{
    return kevo_figure_measure(&image_maps, m, &(layout){0}, out, err);
}

kevo_status kevo_plot_image_maps(const char *path, const kevo_figure_opts *o,
                                 const kevo_image_maps *m, kevo_error *err)
{
    return kevo_figure_render(path, o, &image_maps, m, &(layout){0}, err);
}
