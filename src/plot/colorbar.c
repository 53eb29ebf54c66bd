// colorbar.c — the colour bar (see colorbar.h).
#include "plot/colorbar.h"

#include <math.h>

#include "plot/text.h"

#define SLABS 256
#define SLAB_OVERLAP 0.6   // each slab reaches under the next, so antialiasing leaves no seams
#define TICK_GAP 8.0       // between the bar and its tick labels
#define LABEL_GAP 10.0     // between the tick labels and the label

void kevo_colorbar_measure(cairo_t *cr, kevo_colorbar *cb, double h)
{
    char num[32];
    cb->bar.w = KEVO_COLORBAR_W;
    cb->bar.h = h;
    kevo_ticks_nice(cb->vmin, cb->vmax, (int)fmax(4, fmin(8, h / 60)), 0, &cb->ticks);
    cb->tick_w = 0;
    for (int i = 0; i < cb->ticks.n; i++) {
        kevo_tick_label(&cb->ticks, i, num);
        cb->tick_w = fmax(cb->tick_w, kevo_text_width(cr, kevo_font_tick, num));
    }
    cb->label_h = kevo_text_present(cb->label) ? kevo_text_height(cr, kevo_font_label) : 0;
}

double kevo_colorbar_extent(const kevo_colorbar *cb, double gap)
{
    return gap + KEVO_COLORBAR_W + TICK_GAP + cb->tick_w +
           (cb->label_h > 0 ? LABEL_GAP + cb->label_h : 0);
}

double kevo_colorbar_y(const kevo_colorbar *cb, double v)
{
    return cb->bar.y + cb->bar.h * (1 - (v - cb->vmin) / (cb->vmax - cb->vmin));
}

void kevo_colorbar_draw(cairo_t *cr, const kevo_colorbar *cb, double label_room)
{
    const kevo_box *b = &cb->bar;
    for (int i = 0; i < SLABS; i++) {
        double y1 = b->y + b->h * (1 - (double)i / SLABS);
        double y0 = b->y + b->h * (1 - (double)(i + 1) / SLABS);
        cairo_rectangle(cr, b->x, y0 - (i + 1 < SLABS ? SLAB_OVERLAP : 0), b->w,
                        y1 - y0 + (i + 1 < SLABS ? SLAB_OVERLAP : 0));
        kevo_set_color(cr, kevo_colormap_at(cb->map, (i + 0.5) / SLABS), 1);
        cairo_fill(cr);
    }
    cairo_rectangle(cr, b->x, b->y, b->w, b->h);
    kevo_set_rgb(cr, KEVO_FRAME, 1);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    double tick_x = b->x + KEVO_COLORBAR_W + TICK_GAP;
    char num[32], buf[KEVO_TEXT_MAX];
    for (int i = 0; i < cb->ticks.n; i++) {
        double y = kevo_colorbar_y(cb, cb->ticks.at[i]);
        cairo_move_to(cr, b->x + b->w, y);
        cairo_line_to(cr, b->x + b->w + 4, y);
        kevo_set_rgb(cr, KEVO_INK, 1);
        cairo_set_line_width(cr, 0.8);
        cairo_stroke(cr);
        kevo_tick_label(&cb->ticks, i, num);
        kevo_text_draw(cr, kevo_font_tick, num, tick_x, y, KEVO_LEFT, KEVO_MIDDLE, 0);
    }
    if (cb->label_h > 0) {
        double mid = b->y + b->h / 2;
        kevo_text_fit(cr, kevo_font_label, cb->label, fmax(b->h, label_room), buf);
        kevo_text_draw(cr, kevo_font_label, buf,
                       tick_x + cb->tick_w + LABEL_GAP + cb->label_h / 2, mid, KEVO_CENTER,
                       KEVO_MIDDLE, 1);
    }
}
