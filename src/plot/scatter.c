// scatter.c — a 2-D map of points coloured by group (the t-SNE figures).
//
// It follows the authors' tsne.py / combined_tsne.py: one colour per stage group, points of
// area 25 pt^2 at alpha 0.7 drawn group after group, no ticks (t-SNE axes carry no units), a
// dashed light grid and a legend. Unlike theirs, the legend sits outside the frame, so it never
// hides points, and both axes share one scale, so that distances read the same in every
// direction. Optional thin grey lines join each trajectory's points in their order.
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "plot/axes.h"
#include "plot/colormap.h"
#include "plot/figure.h"
#include "plot/layout.h"
#include "plot/plot.h"
#include "plot/text.h"

#define WIDTH (12 * 72.0)
#define HEIGHT (10 * 72.0)
#define MAX_POINTS 10000000
#define MAX_GROUPS 256
#define GROUP_LABEL_MAX 240.0
#define POINT_RADIUS 2.8              // area ~25 pt^2, matplotlib's s=25
#define POINT_ALPHA 0.7
#define MARGIN_FRACTION 0.05          // of the data's extent, on each side
#define MAX_ASPECT 3.0                // a frame is never thinner than 1:3
#define GRID_CLEARANCE 6.0            // points between a grid line and the frame

typedef struct layout {
    kevo_box frame;
    double scale, x0, y0;             // data (x0, y0) is at the frame's bottom-left corner
    double title_y;
    kevo_ticks xticks, yticks;
    kevo_legend legend;
    kevo_legend_entry *entries;
    double legend_x, legend_y;
} layout;

static kevo_status check(const void *spec, kevo_error *err)
{
    const kevo_scatter *s = spec;
    if (!s)
        return kevo_fail(err, KEVO_ERR_ARG, "scatter: no description given");
    if (s->n < 1 || s->n > MAX_POINTS)
        return kevo_fail(err, KEVO_ERR_ARG, "scatter: %d points; it takes 1..%d", s->n,
                         MAX_POINTS);
    if (s->n_groups < 1 || s->n_groups > MAX_GROUPS)
        return kevo_fail(err, KEVO_ERR_ARG, "scatter: %d groups; it takes 1..%d", s->n_groups,
                         MAX_GROUPS);
    if (!s->xy || !s->group)
        return kevo_fail(err, KEVO_ERR_ARG, "scatter: no %s given", s->xy ? "groups" : "points");
    for (int i = 0; i < s->n; i++) {
        if (!isfinite(s->xy[2 * i]) || !isfinite(s->xy[2 * i + 1]))
            return kevo_fail(err, KEVO_ERR_ARG, "scatter: point %d is (%g, %g); coordinates must "
                             "be finite", i, s->xy[2 * i], s->xy[2 * i + 1]);
        if (s->group[i] < 0 || s->group[i] >= s->n_groups)
            return kevo_fail(err, KEVO_ERR_ARG, "scatter: point %d is in group %d, outside "
                             "0..%d", i, s->group[i], s->n_groups - 1);
    }
    return KEVO_OK;
}

static kevo_rgb group_color(const kevo_scatter *s, const kevo_colormap *tab20, int g)
{
    return s->group_rgb ? kevo_rgb_hex(s->group_rgb[g])
                        : kevo_colormap_spread(tab20, g, s->n_groups);
}

static double px(const layout *l, double x)
{
    return l->frame.x + (x - l->x0) * l->scale;
}

static double py(const layout *l, double y)
{
    return l->frame.y + l->frame.h - (y - l->y0) * l->scale;
}

static kevo_status lay_out(cairo_t *cr, const void *spec, void *out, kevo_figure_layout *size,
                           kevo_error *err)
{
    const kevo_scatter *s = spec;
    layout *l = out;
    const kevo_colormap *tab20;
    kevo_status st = kevo_colormap_find("tab20", &tab20, err);
    if (st != KEVO_OK)
        return st;
    l->entries = calloc((size_t)s->n_groups, sizeof *l->entries);
    if (!l->entries)
        return kevo_fail(err, KEVO_ERR_NOMEM, "scatter: out of memory");
    for (int g = 0; g < s->n_groups; g++)
        l->entries[g] = (kevo_legend_entry){s->group_labels ? s->group_labels[g] : NULL,
                                            group_color(s, tab20, g), POINT_ALPHA,
                                            KEVO_SWATCH_DOT, 0};
    l->legend = (kevo_legend){l->entries, s->n_groups, GROUP_LABEL_MAX, 0, 0, 0};
    kevo_legend_measure(cr, &l->legend);

    double top = KEVO_MARGIN;
    if (kevo_text_present(s->title)) {
        l->title_y = top;
        top += kevo_text_height(cr, kevo_font_title) + 14;
    }
    double avail_w = WIDTH - 2 * KEVO_MARGIN - l->legend.width - 16;
    double avail_h = HEIGHT - KEVO_MARGIN - top;

    // The data's extent with a margin, widened where needed to keep the frame within 1:3.
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < s->n; i++) {
        xmin = fmin(xmin, s->xy[2 * i]), xmax = fmax(xmax, s->xy[2 * i]);
        ymin = fmin(ymin, s->xy[2 * i + 1]), ymax = fmax(ymax, s->xy[2 * i + 1]);
    }
    double dx = xmax - xmin, dy = ymax - ymin;
    double span = fmax(fmax(dx, dy), 1e-30 + 1e-9 * fmax(fabs(xmax), fabs(ymax)));
    dx = fmax(dx, span / MAX_ASPECT) * (1 + 2 * MARGIN_FRACTION);
    dy = fmax(dy, span / MAX_ASPECT) * (1 + 2 * MARGIN_FRACTION);
    l->x0 = (xmin + xmax) / 2 - dx / 2;
    l->y0 = (ymin + ymax) / 2 - dy / 2;
    l->scale = fmin(avail_w / dx, avail_h / dy);
    l->frame.w = dx * l->scale;
    l->frame.h = dy * l->scale;

    // Frame and legend side by side, centred together.
    l->frame.x = (WIDTH - (l->frame.w + 16 + l->legend.width)) / 2;
    l->frame.y = top + (avail_h - l->frame.h) / 2;
    l->legend_x = l->frame.x + l->frame.w + 16;
    l->legend_y = l->frame.y;
    kevo_ticks_nice(l->x0, l->x0 + dx, (int)fmax(2, l->frame.w / 70), 0, &l->xticks);
    kevo_ticks_nice(l->y0, l->y0 + dy, (int)fmax(2, l->frame.h / 70), 0, &l->yticks);
    *size = (kevo_figure_layout){WIDTH, HEIGHT, l->frame};
    return KEVO_OK;
}

typedef struct stop {
    int trajectory, index;
} stop;

// Trajectory order: by trajectory id, then by position in the input.
static int by_trajectory(const void *a, const void *b)
{
    const stop *p = a, *q = b;
    if (p->trajectory != q->trajectory)
        return (p->trajectory > q->trajectory) - (p->trajectory < q->trajectory);
    return (p->index > q->index) - (p->index < q->index);
}

static kevo_status draw_trajectories(cairo_t *cr, const kevo_scatter *s, const layout *l,
                                     kevo_error *err)
{
    stop *order = malloc((size_t)s->n * sizeof *order);
    if (!order)
        return kevo_fail(err, KEVO_ERR_NOMEM, "scatter: out of memory");
    for (int i = 0; i < s->n; i++)
        order[i] = (stop){s->trajectory[i], i};
    qsort(order, (size_t)s->n, sizeof *order, by_trajectory);
    for (int k = 0; k < s->n; k++) {
        int i = order[k].index;
        double x = px(l, s->xy[2 * i]), y = py(l, s->xy[2 * i + 1]);
        if (k > 0 && order[k - 1].trajectory == order[k].trajectory)
            cairo_line_to(cr, x, y);
        else
            cairo_move_to(cr, x, y);
    }
    free(order);
    kevo_set_rgb(cr, 0x808080, 0.55);
    cairo_set_line_width(cr, 0.6);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_stroke(cr);
    return KEVO_OK;
}

static kevo_status draw(cairo_t *cr, const void *spec, const void *out, kevo_error *err)
{
    const kevo_scatter *s = spec;
    const layout *l = out;
    double dash[] = {3, 3};
    cairo_save(cr);
    cairo_set_dash(cr, dash, 2, 0);
    for (int i = 0; i < l->xticks.n; i++) {
        double x = px(l, l->xticks.at[i]);
        if (x - l->frame.x < GRID_CLEARANCE || l->frame.x + l->frame.w - x < GRID_CLEARANCE)
            continue;   // a line hugging the frame reads as a double border
        cairo_move_to(cr, x, l->frame.y);
        cairo_line_to(cr, x, l->frame.y + l->frame.h);
    }
    for (int i = 0; i < l->yticks.n; i++) {
        double y = py(l, l->yticks.at[i]);
        if (y - l->frame.y < GRID_CLEARANCE || l->frame.y + l->frame.h - y < GRID_CLEARANCE)
            continue;
        cairo_move_to(cr, l->frame.x, y);
        cairo_line_to(cr, l->frame.x + l->frame.w, y);
    }
    kevo_set_rgb(cr, KEVO_GRID, 1);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    cairo_restore(cr);

    cairo_save(cr);
    cairo_rectangle(cr, l->frame.x, l->frame.y, l->frame.w, l->frame.h);
    cairo_clip(cr);
    kevo_status st = s->trajectory ? draw_trajectories(cr, s, l, err) : KEVO_OK;
    for (int g = 0; g < s->n_groups && st == KEVO_OK; g++) {
        kevo_set_color(cr, l->entries[g].color, POINT_ALPHA);
        for (int i = 0; i < s->n; i++)
            if (s->group[i] == g) {
                cairo_new_sub_path(cr);
                cairo_arc(cr, px(l, s->xy[2 * i]), py(l, s->xy[2 * i + 1]), POINT_RADIUS, 0,
                          2 * M_PI);
                cairo_fill(cr);   // one by one: overlapping points darken, as in matplotlib
            }
    }
    cairo_restore(cr);

    cairo_rectangle(cr, l->frame.x, l->frame.y, l->frame.w, l->frame.h);
    kevo_set_rgb(cr, KEVO_FRAME, 1);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    kevo_legend_draw(cr, &l->legend, l->legend_x, l->legend_y, 0);
    if (kevo_text_present(s->title)) {
        char buf[KEVO_TEXT_MAX];
        kevo_set_rgb(cr, KEVO_INK, 1);
        kevo_text_fit(cr, kevo_font_title, s->title, WIDTH - 2 * KEVO_MARGIN, buf);
        kevo_text_draw(cr, kevo_font_title, buf, WIDTH / 2, l->title_y, KEVO_CENTER, KEVO_TOP, 0);
    }
    return st;
}

static void release(void *out)
{
    free(((layout *)out)->entries);
}

static const kevo_figure_kind scatter = {
    .name = "scatter", .check = check, .lay_out = lay_out, .draw = draw, .release = release};

kevo_status kevo_scatter_layout(const kevo_scatter *s, kevo_figure_layout *out, kevo_error *err)
{
    return kevo_figure_measure(&scatter, s, &(layout){0}, out, err);
}

kevo_status kevo_plot_scatter(const char *path, const kevo_figure_opts *o, const kevo_scatter *s,
                              kevo_error *err)
{
    return kevo_figure_render(path, o, &scatter, s, &(layout){0}, err);
}
