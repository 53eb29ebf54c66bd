// text.c — cairo's toy text API with DejaVu Sans (the font matplotlib ships as its default).
//
// The toy API resolves "DejaVu Sans" through fontconfig and draws single-font text, which is all
// figure labels need; metrics are unhinted (see canvas.c), so widths scale exactly with the size.
#include "plot/text.h"

#include <math.h>
#include <string.h>

#include "base/utf8.h"

static const char ellipsis[] = "\xE2\x80\xA6";   // U+2026

static void use_font(cairo_t *cr, kevo_font f)
{
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           f.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, f.size);
}

static double advance(cairo_t *cr, const char *clean)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, clean, &e);
    return e.x_advance;
}

int kevo_text_present(const char *s)
{
    return s && *s;
}

double kevo_text_width(cairo_t *cr, kevo_font f, const char *s)
{
    char buf[KEVO_TEXT_MAX];
    kevo_utf8_clean(s, buf, sizeof buf);
    use_font(cr, f);
    return advance(cr, buf);
}

double kevo_text_height(cairo_t *cr, kevo_font f)
{
    cairo_font_extents_t e;
    use_font(cr, f);
    cairo_font_extents(cr, &e);
    return e.ascent + e.descent;
}

int kevo_text_fit(cairo_t *cr, kevo_font f, const char *s, double max_width,
                  char buf[KEVO_TEXT_MAX])
{
    // Room for the ellipsis is kept, so that a cut label can always take one.
    int whole = kevo_utf8_clean(s, buf, KEVO_TEXT_MAX - sizeof ellipsis);
    use_font(cr, f);
    if (whole && advance(cr, buf) <= max_width)
        return 1;
    size_t n = strlen(buf);
    for (;;) {
        memcpy(buf + n, ellipsis, sizeof ellipsis);
        if (n == 0 || advance(cr, buf) <= max_width)
            break;
        n = kevo_utf8_shorter(buf, n);
        while (n > 0 && buf[n - 1] == ' ')   // "long…", not "long …"
            n--;
    }
    if (n == 0 && advance(cr, buf) > max_width)
        buf[0] = '\0';   // not even the ellipsis fits
    return 0;
}

void kevo_text_draw(cairo_t *cr, kevo_font f, const char *s, double x, double y, kevo_halign ha,
                    kevo_valign va, int vertical)
{
    char buf[KEVO_TEXT_MAX];
    kevo_utf8_clean(s, buf, sizeof buf);
    if (!buf[0])
        return;
    use_font(cr, f);
    cairo_font_extents_t fe;
    cairo_text_extents_t cap;
    cairo_font_extents(cr, &fe);
    cairo_text_extents(cr, "H", &cap);
    double dx = -advance(cr, buf) * (ha == KEVO_LEFT ? 0 : ha == KEVO_CENTER ? 0.5 : 1);
    double dy = va == KEVO_TOP      ? fe.ascent
                : va == KEVO_MIDDLE ? -cap.y_bearing / 2
                : va == KEVO_BOTTOM ? -fe.descent
                                    : 0;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (vertical)
        cairo_rotate(cr, -M_PI / 2);
    cairo_move_to(cr, dx, dy);
    cairo_show_text(cr, buf);
    cairo_new_path(cr);
    cairo_restore(cr);
}
