// axes.c — the furniture every figure shares: colours, fonts, nice ticks, legends, stage bands.
//
// Tick steps are 1, 2, 2.5 or 5 times a power of ten, the choice matplotlib's MaxNLocator makes
// by default (lib/matplotlib/ticker.py, steps [1, 2, 2.5, 5, 10]); integer axes drop 2.5.
#include "plot/axes.h"

#include <math.h>
#include <stdio.h>

#include "base/error.h"

const kevo_font kevo_font_title = {17, 1};
const kevo_font kevo_font_label = {14, 1};
const kevo_font kevo_font_tick = {12, 0};
const kevo_font kevo_font_legend = {12.5, 0};
const kevo_font kevo_font_band = {11, 1};

void kevo_set_color(cairo_t *cr, kevo_rgb c, double alpha)
{
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

void kevo_set_rgb(cairo_t *cr, uint32_t rgb, double alpha)
{
    kevo_set_color(cr, kevo_rgb_hex(rgb), alpha);
}

// ---------------------------------------------------------------------------------------------
// Ticks

void kevo_ticks_nice(double lo, double hi, int max_ticks, int integers, kevo_ticks *t)
{
    static const double mantissas[] = {1, 2, 2.5, 5};
    max_ticks = max_ticks < 2 ? 2 : max_ticks > KEVO_TICKS_MAX ? KEVO_TICKS_MAX : max_ticks;
    double span = hi - lo;
    t->n = 0;
    if (!(span > 0) || !isfinite(span))
        return;
    int k = (int)floor(log10(span / max_ticks));   // the smallest step can be just above this
    for (;; k++) {
        for (int m = 0; m < 4; m++) {
            if (integers && (k < 0 || mantissas[m] == 2.5))
                continue;
            double step = mantissas[m] * pow(10, k);
            double first = ceil(lo / step - 1e-9), last = floor(hi / step + 1e-9);
            if (last - first + 1 > max_ticks)
                continue;
            if (last < first)
                return;   // no multiple of the step inside a very narrow range
            for (double i = first; i <= last; i++) {
                double v = i * step;
                t->at[t->n++] = fabs(v) < step * 1e-9 ? 0 : v;
            }
            double top = fmax(fabs(t->at[0]), fabs(t->at[t->n - 1]));
            int extra = mantissas[m] == 2.5;
            t->scientific = top >= 1e5 || (top > 0 && top < 1e-3);
            if (t->scientific)
                t->decimals = (int)fmax(0, floor(log10(top)) - k) + extra;
            else
                t->decimals = k < 0 ? -k + extra : 0;
            return;
        }
    }
}

void kevo_tick_label(const kevo_ticks *t, int i, char buf[32])
{
    double v = t->at[i];
    if (v == 0 && t->scientific)
        snprintf(buf, 32, "0");
    else if (t->scientific)
        snprintf(buf, 32, "%.*e", t->decimals, v);
    else
        snprintf(buf, 32, "%.*f", t->decimals, v);
}

void kevo_draw_missing(cairo_t *cr, double x, double y, double w, double h)
{
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip_preserve(cr);
    kevo_set_rgb(cr, 0xeeeeee, 1);
    cairo_fill(cr);
    kevo_set_rgb(cr, 0x8c8c8c, 1);
    cairo_set_line_width(cr, 0.6);
    for (double d = -h; d < w; d += 5) {
        cairo_move_to(cr, x + d, y + h);
        cairo_line_to(cr, x + d + h, y);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

// ---------------------------------------------------------------------------------------------
// Legends

#define LEGEND_PAD 8.0
#define SWATCH_W 22.0
#define SWATCH_GAP 7.0
#define ENTRY_GAP 18.0

static double legend_row(cairo_t *cr)
{
    return kevo_text_height(cr, kevo_font_legend) * 1.3;
}

static double entry_width(cairo_t *cr, const kevo_legend *l, int i)
{
    char buf[KEVO_TEXT_MAX];
    kevo_text_fit(cr, kevo_font_legend, l->entries[i].label, l->max_label, buf);
    return SWATCH_W + SWATCH_GAP + kevo_text_width(cr, kevo_font_legend, buf);
}

// Walks the entries in drawing order; calls `at` (when not NULL) with each entry's position
// relative to the legend's corner and returns the content size.
static void legend_walk(cairo_t *cr, const kevo_legend *l, double *w, double *h,
                        void (*at)(cairo_t *, const kevo_legend *, int, double, double),
                        double ox, double oy)
{
    double row = legend_row(cr), x = 0, y = 0, widest = 0;
    for (int i = 0; i < l->n; i++) {
        double ew = entry_width(cr, l, i);
        if (i > 0 && (l->max_width <= 0 || x + ENTRY_GAP + ew > l->max_width - 2 * LEGEND_PAD)) {
            x = 0;
            y += row;
        } else if (i > 0)
            x += ENTRY_GAP;
        if (at)
            at(cr, l, i, ox + LEGEND_PAD + x, oy + LEGEND_PAD + y);
        x += ew;
        widest = fmax(widest, x);
    }
    *w = widest + 2 * LEGEND_PAD;
    *h = (l->n ? y + row : 0) + 2 * LEGEND_PAD;
}

void kevo_legend_measure(cairo_t *cr, kevo_legend *l)
{
    legend_walk(cr, l, &l->width, &l->height, NULL, 0, 0);
}

static void draw_entry(cairo_t *cr, const kevo_legend *l, int i, double x, double y)
{
    const kevo_legend_entry *e = &l->entries[i];
    double row = legend_row(cr), mid = y + row / 2;
    if (e->swatch == KEVO_SWATCH_DOT) {
        cairo_arc(cr, x + SWATCH_W / 2, mid, 5, 0, 2 * M_PI);
        kevo_set_color(cr, e->color, e->alpha);
        cairo_fill(cr);
    } else if (e->swatch == KEVO_SWATCH_MISSING) {
        double sh = row * 0.62;
        kevo_draw_missing(cr, x, mid - sh / 2, SWATCH_W, sh);
    } else {
        double sh = row * 0.62;
        cairo_rectangle(cr, x, mid - sh / 2, SWATCH_W, sh);
        kevo_set_color(cr, e->color, e->alpha);
        cairo_fill_preserve(cr);
        if (e->outline) {
            kevo_set_rgb(cr, KEVO_INK, 0.8);
            cairo_set_line_width(cr, 0.6);
            cairo_stroke(cr);
        }
        cairo_new_path(cr);
    }
    char buf[KEVO_TEXT_MAX];
    kevo_text_fit(cr, kevo_font_legend, e->label, l->max_label, buf);
    kevo_set_rgb(cr, KEVO_INK, 1);
    kevo_text_draw(cr, kevo_font_legend, buf, x + SWATCH_W + SWATCH_GAP, mid, KEVO_LEFT,
                   KEVO_MIDDLE, 0);
}

void kevo_legend_draw(cairo_t *cr, const kevo_legend *l, double x, double y, int framed)
{
    if (framed) {
        cairo_rectangle(cr, x, y, l->width, l->height);
        kevo_set_rgb(cr, 0xffffff, 0.85);
        cairo_fill_preserve(cr);
        kevo_set_rgb(cr, KEVO_FRAME, 1);
        cairo_set_line_width(cr, 0.8);
        cairo_stroke(cr);
    }
    double w, h;
    legend_walk(cr, l, &w, &h, draw_entry, x, y);
}

// ---------------------------------------------------------------------------------------------
// Stage bands

kevo_status kevo_bands_check(const char *what, const kevo_band *b, int n, kevo_error *err)
{
    if (n < 0)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: %d bands", what, n);
    if (n > 0 && !b)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: %d bands given without their array", what, n);
    for (int i = 0; i < n; i++)
        if (!isfinite(b[i].from) || !isfinite(b[i].to) || b[i].from > b[i].to)
            return kevo_fail(err, KEVO_ERR_ARG, "%s: band %d ('%s') spans [%g, %g]; it needs "
                             "finite from <= to", what, i, b[i].label ? b[i].label : "",
                             b[i].from, b[i].to);
    return KEVO_OK;
}

int kevo_band_span(const kevo_band *b, double lo, double hi, kevo_box box, double *x0,
                   double *x1)
{
    double from = fmax(b->from - 0.5, lo), to = fmin(b->to + 0.5, hi);
    if (!(to > from))
        return 0;
    *x0 = box.x + (from - lo) / (hi - lo) * box.w;
    *x1 = box.x + (to - lo) / (hi - lo) * box.w;
    return 1;
}

int kevo_band_label_fits(cairo_t *cr, const kevo_band *b, double lo, double hi, kevo_box box)
{
    double x0, x1;
    const char *label = b->label ? b->label : "";
    return !*label || (kevo_band_span(b, lo, hi, box, &x0, &x1) &&
                       kevo_text_width(cr, kevo_font_band, label) <= x1 - x0 - 6);
}

void kevo_bands_strip(cairo_t *cr, const kevo_band *b, int n, double lo, double hi, kevo_box box)
{
    for (int i = 0; i < n; i++) {
        double x0, x1;
        if (!kevo_band_span(&b[i], lo, hi, box, &x0, &x1))
            continue;
        kevo_rgb c = kevo_rgb_hex(b[i].rgb);
        cairo_rectangle(cr, x0, box.y, x1 - x0, box.h);
        kevo_set_color(cr, c, 1);
        cairo_fill(cr);
        if (!b[i].label || !*b[i].label || !kevo_band_label_fits(cr, &b[i], lo, hi, box))
            continue;
        kevo_set_rgb(cr, kevo_rgb_luminance(c) > 0.408 ? KEVO_INK : 0xffffff, 1);
        kevo_text_draw(cr, kevo_font_band, b[i].label, (x0 + x1) / 2, box.y + box.h / 2,
                       KEVO_CENTER, KEVO_MIDDLE, 0);
    }
}
