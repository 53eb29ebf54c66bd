// text.h — labels in DejaVu Sans: measuring, fitting with an ellipsis, drawing aligned.
//
// Every function cleans its string first (base/utf8.h), so any caller-supplied label is safe to
// pass: invalid UTF-8 becomes U+FFFD instead of putting the cairo context into an error state.
// Characters DejaVu lacks (CJK, most emoji) are drawn as the font's empty box, never as mojibake.
#ifndef KEVO_PLOT_TEXT_H
#define KEVO_PLOT_TEXT_H

#include <cairo.h>

// Bytes of a cleaned label; longer labels are cut (with an ellipsis where they are fitted).
#define KEVO_TEXT_MAX 512

typedef struct kevo_font {
    double size;   // points
    int bold;
} kevo_font;

typedef enum kevo_halign { KEVO_LEFT, KEVO_CENTER, KEVO_RIGHT } kevo_halign;
// TOP and BOTTOM are the font's ascent and descent lines; MIDDLE centres the capital height on
// the anchor, which centres digits and words visually whatever their descenders.
typedef enum kevo_valign { KEVO_TOP, KEVO_MIDDLE, KEVO_BASELINE, KEVO_BOTTOM } kevo_valign;

// Whether s is a label to draw: neither NULL nor "".
int kevo_text_present(const char *s);

// The advance width of s in points.
double kevo_text_width(cairo_t *cr, kevo_font f, const char *s);

// The height of a line (ascent + descent) in points.
double kevo_text_height(cairo_t *cr, kevo_font f);

// Copies s into buf, cut at a character boundary and ended with "…" when it is wider than
// max_width points. Returns 1 when the whole label fits.
int kevo_text_fit(cairo_t *cr, kevo_font f, const char *s, double max_width,
                  char buf[KEVO_TEXT_MAX]);

// Draws s in the current source colour with its anchor at (x, y). A vertical label is turned
// 90 degrees counter-clockwise (read from bottom to top); ha and va apply along its own lines.
void kevo_text_draw(cairo_t *cr, kevo_font f, const char *s, double x, double y, kevo_halign ha,
                    kevo_valign va, int vertical);

#endif
