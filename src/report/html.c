// html.c — one self-contained HTML page: headings, text and the figures embedded in it.
//
// A PNG is embedded as a base64 data URI (RFC 2397, RFC 4648 §4); an SVG is inlined after its
// XML prolog, with its ids prefixed per figure, because cairo names the glyphs and clip paths of
// every SVG alike ("glyph0-1", "clip1") and inlined documents share one id space. Every piece of
// caller text is escaped, and ill-formed UTF-8 becomes U+FFFD. Figures fit the page's width; a
// click shows one at full size (CSS :target, no script).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/html.h"

#include "base/error.h"
#include "base/fs.h"
#include "plot/plot.h"
#include "base/utf8.h"

#define FIGURE_MAX_BYTES (512u << 20)

static const char style[] =
    "body{margin:0;background:#f6f6f4;color:#262626;"
    "font:16px/1.55 'DejaVu Sans',system-ui,-apple-system,'Segoe UI',sans-serif}"
    "main{max-width:1180px;margin:0 auto;padding:28px 32px 48px;background:#fff;"
    "box-shadow:0 0 0 1px #e4e4e0}"
    "h1{font-size:1.75em;line-height:1.25;margin:.2em 0 .6em}"
    "h2{font-size:1.3em;margin:1.8em 0 .5em;padding-top:.6em;border-top:1px solid #e4e4e0}"
    "nav{font-size:.92em;margin:0 0 1.5em}nav ol{margin:.3em 0;padding-left:1.4em}"
    "a{color:#54278f}"
    ".text{white-space:pre-line;max-width:52em}"
    "figure{margin:1.2em 0 1.6em}"
    ".frame{overflow:hidden;border:1px solid #e4e4e0;border-radius:4px;background:#fff}"
    ".frame img,.frame svg{display:block;max-width:100%;height:auto}"
    "figure:target .frame{overflow:auto;max-height:92vh}"
    "figure:target .frame img,figure:target .frame svg{max-width:none}"
    "figcaption{font-size:.92em;color:#595959;margin-top:.5em;max-width:60em}"
    ".fit{display:none;margin-left:.6em}figure:target .fit{display:inline}"
    "footer{margin-top:3em;font-size:.85em;color:#8c8c8c}"
    ".hover{position:absolute;z-index:5;background:#fff;border:1px solid #bbb;border-radius:4px;"
    "padding:6px 9px;font-size:.82em;line-height:1.35;box-shadow:0 2px 8px rgba(0,0,0,.15);"
    "pointer-events:none;max-width:36em}.hover .head{font-weight:bold}"
    ".hover table{border-collapse:collapse;margin-top:4px}.hover td,.hover th{padding:1px 6px;"
    "text-align:left}.hover .num{text-align:right;font-variant-numeric:tabular-nums}"
    ".hover tr.now{background:#efedf5}.piece{white-space:pre}"
    ".patch-stage{position:relative;width:min(100%,640px)}"
    ".patch-stage img,.patch-stage canvas{display:block;width:100%;height:auto}"
    ".patch-stage canvas{position:absolute;left:0;top:0;width:100%;height:100%}"
    ".patch-controls{margin:.6em 0}.patch-controls label{margin-right:1.5em}";

// Writes s escaped for HTML text and attribute values.
static void put_escaped(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t left = strlen((const char *)p);
    while (left) {
        unsigned cp;
        int n = kevo_utf8_decode(p, left, &cp);
        if (n == 0) {
            fputs("\xEF\xBF\xBD", f);
            n = 1;
        } else if (cp == '&')
            fputs("&amp;", f);
        else if (cp == '<')
            fputs("&lt;", f);
        else if (cp == '>')
            fputs("&gt;", f);
        else if (cp == '"')
            fputs("&quot;", f);
        else if (cp == '\'')
            fputs("&#39;", f);
        else if (cp == '\n' || cp == '\t')
            fputc((int)cp, f);
        else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
            fputc(' ', f);
        else
            fwrite(p, 1, (size_t)n, f);
        p += n;
        left -= (size_t)n;
    }
}

void kevo_html_base64(FILE *f, const unsigned char *d, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        quad[0] = digits[v >> 18 & 63];
        quad[1] = digits[v >> 12 & 63];
        quad[2] = i + 1 < n ? digits[v >> 6 & 63] : '=';
        quad[3] = i + 2 < n ? digits[v & 63] : '=';
        fwrite(quad, 1, 4, f);
    }
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

static kevo_status put_png(FILE *f, const char *path, const unsigned char *d, size_t n,
                           const char *alt, kevo_error *err)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n < 33 || memcmp(d, signature, 8) != 0 || memcmp(d + 12, "IHDR", 4) != 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: not a PNG file (no PNG signature and IHDR "
                         "chunk at byte 0)", path);
    unsigned long w = (unsigned long)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
    unsigned long h = (unsigned long)d[20] << 24 | d[21] << 16 | d[22] << 8 | d[23];
    fprintf(f, "<img width=\"%lu\" height=\"%lu\" alt=\"", w, h);
    put_escaped(f, alt);
    fputs("\" src=\"data:image/png;base64,", f);
    kevo_html_base64(f, d, n);
    fputs("\">", f);
    return KEVO_OK;
}

// Copies the SVG element (from "<svg" on, without the XML prolog) and prefixes every id and
// every reference to one (id="x", href="#x", url(#x)) with `prefix`.
static kevo_status put_svg(FILE *f, const char *path, const char *svg, const char *prefix,
                           kevo_error *err)
{
    const char *p = strstr(svg, "<svg");
    if (!p)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: not an SVG file (no <svg element)", path);
    static const char *const refs[] = {"id=\"", "href=\"#", "url(#"};
    while (*p) {
        int hit = -1;
        for (int r = 0; r < 3 && hit < 0; r++)
            if (starts_with(p, refs[r]) && (r > 0 || p[-1] == ' ' || p[-1] == '\n'))
                hit = r;
        if (hit >= 0) {
            fputs(refs[hit], f);
            fputs(prefix, f);
            p += strlen(refs[hit]);
        } else
            fputc(*p++, f);
    }
    return KEVO_OK;
}

static kevo_status put_figure(FILE *f, const kevo_report_item *it, const char *attrs, int index,
                              kevo_error *err)
{
    const char *path = it->figure_path;
    int png = has_extension(path, ".png"), svg = has_extension(path, ".svg");
    if (!png && !svg)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: a report embeds .png and .svg figures only",
                         path);
    char *data = NULL;
    size_t n = 0;
    kevo_status st = kevo_read_file(path, FIGURE_MAX_BYTES, &data, &n, err);
    if (st != KEVO_OK)
        return st;
    const char *alt = it->caption ? it->caption : it->heading ? it->heading : kevo_path_base(path);
    char id[32];
    snprintf(id, sizeof id, "fig-%d", index + 1);
    fprintf(f, "<figure id=\"%s\"><div class=\"frame\"%s><a href=\"#%s\" title=\"Show at full "
               "size\">", id, attrs ? attrs : "", id);
    if (png)
        st = put_png(f, path, (const unsigned char *)data, n, alt, err);
    else {
        char prefix[40];
        snprintf(prefix, sizeof prefix, "%s-", id);
        st = put_svg(f, path, data, prefix, err);
    }
    free(data);
    if (st != KEVO_OK)
        return st;
    fputs("</a></div><figcaption>", f);
    put_escaped(f, it->caption);
    fputs("<a class=\"fit\" href=\"#_\">fit to page</a></figcaption></figure>\n", f);
    return KEVO_OK;
}

static kevo_status put_page(FILE *f, const char *title, const kevo_report_item *items,
                            const kevo_report_extra *extras, int n, kevo_report_put_fn tail,
                            const void *tail_ctx, kevo_error *err)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    put_escaped(f, title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<h1>", style);
    put_escaped(f, title);
    fputs("</h1>\n", f);
    int headings = 0;
    for (int i = 0; i < n; i++)
        headings += items[i].heading && *items[i].heading;
    if (headings >= 2) {
        fputs("<nav><ol>", f);
        for (int i = 0; i < n; i++)
            if (items[i].heading && *items[i].heading) {
                fprintf(f, "<li><a href=\"#s%d\">", i + 1);
                put_escaped(f, items[i].heading);
                fputs("</a></li>", f);
            }
        fputs("</ol></nav>\n", f);
    }
    for (int i = 0; i < n; i++) {
        const kevo_report_item *it = &items[i];
        fprintf(f, "<section id=\"s%d\">\n", i + 1);
        if (it->heading && *it->heading) {
            fputs("<h2>", f);
            put_escaped(f, it->heading);
            fputs("</h2>\n", f);
        }
        if (it->text && *it->text) {
            fputs("<div class=\"text\">", f);
            put_escaped(f, it->text);
            fputs("</div>\n", f);
        }
        const kevo_report_extra *x = extras ? &extras[i] : NULL;
        kevo_status st = KEVO_OK;
        if (it->figure_path)
            st = put_figure(f, it, x ? x->frame_attrs : NULL, i, err);
        if (st == KEVO_OK && x && x->after)
            st = x->after(f, x->ctx, err);
        if (st != KEVO_OK)
            return st;
        fputs("</section>\n", f);
    }
    if (tail) {
        kevo_status st = tail(f, tail_ctx, err);
        if (st != KEVO_OK)
            return st;
    }
    fputs("<footer>Written by kevo " KEVO_VERSION ".</footer>\n</main>\n</body>\n</html>\n", f);
    return KEVO_OK;
}

kevo_status kevo_report_write(const char *path, const char *title, const kevo_report_item *items,
                              int n_items, kevo_error *err)
{
    return kevo_report_write_extra(path, title, items, NULL, n_items, NULL, NULL, err);
}

kevo_status kevo_report_write_extra(const char *path, const char *title,
                                    const kevo_report_item *items,
                                    const kevo_report_extra *extras, int n_items,
                                    kevo_report_put_fn tail, const void *tail_ctx,
                                    kevo_error *err)
{
    if (!path || !*path)
        return kevo_fail(err, KEVO_ERR_ARG, "report: no output path");
    if (n_items < 0 || (n_items > 0 && !items))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: %d report items given without their array",
                         path, n_items);
    kevo_outfile *out;
    kevo_status st = kevo_outfile_open(path, &out, err);
    if (st != KEVO_OK)
        return st;
    st = put_page(kevo_outfile_stream(out), title ? title : "kevo report", items, extras, n_items,
                  tail, tail_ctx, err);
    if (st != KEVO_OK) {
        kevo_outfile_abort(out);
        return kevo_error_prefix(err, "%s: ", path);
    }
    return kevo_outfile_commit(out, err);
}
