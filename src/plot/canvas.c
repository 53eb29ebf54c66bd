// canvas.c — cairo surfaces for PNG, SVG and PDF streamed into an atomic kevo_outfile.
//
// SVG and PDF are written while cairo renders (cairo_*_surface_create_for_stream); a PNG is drawn
// into an RGB image surface and encoded at the end (cairo_surface_write_to_png_stream). Either
// way the bytes go to a temporary file that is renamed into place only when everything worked.
// Font metrics are unhinted, so that text measured on the scratch context has exactly the size it
// gets on any surface and at any dpi.
#include "plot/canvas.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"

#define PNG_MAX_SIDE 32767            // cairo's image surface limit
#define PNG_MAX_PIXELS (1u << 28)     // 1 GiB of RGB24 memory

struct kevo_canvas {
    kevo_figure_format format;
    char *path;
    kevo_outfile *file;
    cairo_surface_t *surface;
    cairo_t *cr;
    int write_errno;                  // the first failed fwrite's errno, 0 when none failed
};

kevo_status kevo_figure_format_parse(const char *name, kevo_figure_format *out, kevo_error *err)
{
    static const struct {
        const char *name;
        kevo_figure_format format;
    } formats[] = {{"png", KEVO_FIGURE_PNG}, {"svg", KEVO_FIGURE_SVG}, {"pdf", KEVO_FIGURE_PDF}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (name && strcmp(name, formats[i].name) == 0) {
            *out = formats[i].format;
            return KEVO_OK;
        }
    return kevo_fail(err, KEVO_ERR_ARG, "unknown figure format '%s' (png, svg or pdf)",
                     name ? name : "(null)");
}

const char *kevo_figure_format_ext(kevo_figure_format f)
{
    switch (f) {
    case KEVO_FIGURE_PNG: return "png";
    case KEVO_FIGURE_SVG: return "svg";
    case KEVO_FIGURE_PDF: return "pdf";
    }
    return "?";
}

int kevo_canvas_pixels(double points, double dpi)
{
    return (int)lround(points / 72.0 * dpi);
}

static cairo_status_t write_stream(void *closure, const unsigned char *data, unsigned int length)
{
    kevo_canvas *c = closure;
    if (c->write_errno)
        return CAIRO_STATUS_WRITE_ERROR;
    if (length && fwrite(data, 1, length, kevo_outfile_stream(c->file)) != length) {
        c->write_errno = errno ? errno : EIO;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

static void set_font_options(cairo_t *cr)
{
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
}

cairo_t *kevo_canvas_scratch(void)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(s);
    cairo_surface_destroy(s);   // the context keeps its own reference
    set_font_options(cr);
    return cr;
}

static kevo_status check_options(const char *path, const kevo_figure_opts *o, double width,
                                 double height, kevo_error *err)
{
    if (!path || !*path)
        return kevo_fail(err, KEVO_ERR_ARG, "figure: no output path");
    if (!o)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: no figure options", path);
    if (o->format != KEVO_FIGURE_PNG && o->format != KEVO_FIGURE_SVG &&
        o->format != KEVO_FIGURE_PDF)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: unknown figure format %d", path, (int)o->format);
    if (!(width > 0 && height > 0 && width < 1e6 && height < 1e6))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: invalid figure size %g x %g pt", path, width,
                         height);
    if (o->format != KEVO_FIGURE_PNG)
        return KEVO_OK;
    if (!(o->dpi >= KEVO_DPI_MIN && o->dpi <= KEVO_DPI_MAX))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: dpi %g is outside [%g, %g]", path, o->dpi,
                         KEVO_DPI_MIN, KEVO_DPI_MAX);
    double w = width / 72 * o->dpi, h = height / 72 * o->dpi;
    if (w > PNG_MAX_SIDE || h > PNG_MAX_SIDE || w * h > PNG_MAX_PIXELS)
        return kevo_fail(err, KEVO_ERR_ARG,
                         "%s: a %.1f x %.1f in figure at %g dpi would be %.0f x %.0f pixels, "
                         "more than a PNG may have here (%d per side, %u in all); lower the dpi",
                         path, width / 72, height / 72, o->dpi, w, h, PNG_MAX_SIDE,
                         PNG_MAX_PIXELS);
    return KEVO_OK;
}

kevo_status kevo_canvas_create(const char *path, const kevo_figure_opts *o, double width,
                               double height, kevo_canvas **out, kevo_error *err)
{
    *out = NULL;
    kevo_status st = check_options(path, o, width, height, err);
    if (st != KEVO_OK)
        return st;
    kevo_canvas *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    c->format = o->format;
    st = kevo_outfile_open(path, &c->file, err);
    if (st != KEVO_OK)
        goto fail;
    double scale = 1;
    switch (o->format) {
    case KEVO_FIGURE_PNG:
        scale = o->dpi / 72;
        c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24,
                                                kevo_canvas_pixels(width, o->dpi),
                                                kevo_canvas_pixels(height, o->dpi));
        break;
    case KEVO_FIGURE_SVG:
        c->surface = cairo_svg_surface_create_for_stream(write_stream, c, width, height);
        cairo_svg_surface_set_document_unit(c->surface, CAIRO_SVG_UNIT_PT);
        break;
    case KEVO_FIGURE_PDF:
        c->surface = cairo_pdf_surface_create_for_stream(write_stream, c, width, height);
        cairo_pdf_surface_set_metadata(c->surface, CAIRO_PDF_METADATA_CREATOR,
                                       "kevo " KEVO_VERSION);
        break;
    }
    c->cr = cairo_create(c->surface);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: cannot create a %s surface: %s", path,
                       kevo_figure_format_ext(o->format),
                       cairo_status_to_string(cairo_status(c->cr)));
        goto fail;
    }
    cairo_scale(c->cr, scale, scale);
    set_font_options(c->cr);
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    *out = c;
    return KEVO_OK;
fail:
    kevo_canvas_free(c);
    return st;
}

cairo_t *kevo_canvas_cairo(kevo_canvas *c)
{
    return c->cr;
}

static void release_cairo(kevo_canvas *c)
{
    if (c->cr)
        cairo_destroy(c->cr);
    if (c->surface)
        cairo_surface_destroy(c->surface);
    c->cr = NULL;
    c->surface = NULL;
}

kevo_status kevo_canvas_finish(kevo_canvas *c, kevo_error *err)
{
    kevo_status st = KEVO_OK;
    cairo_status_t cs = cairo_status(c->cr);
    if (cs != CAIRO_STATUS_SUCCESS) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: drawing failed: %s", c->path,
                       cairo_status_to_string(cs));
        goto fail;
    }
    cairo_destroy(c->cr);
    c->cr = NULL;
    if (c->format == KEVO_FIGURE_PNG)
        cs = cairo_surface_write_to_png_stream(c->surface, write_stream, c);
    else {
        cairo_surface_finish(c->surface);
        cs = cairo_surface_status(c->surface);
    }
    if (cs != CAIRO_STATUS_SUCCESS || c->write_errno) {
        st = c->write_errno
                 ? kevo_fail(err, KEVO_ERR_IO, "%s: write failed: %s", c->path,
                             strerror(c->write_errno))
                 : kevo_fail(err, KEVO_ERR_IO, "%s: cannot encode the %s: %s", c->path,
                             kevo_figure_format_ext(c->format), cairo_status_to_string(cs));
        goto fail;
    }
    release_cairo(c);
    st = kevo_outfile_commit(c->file, err);   // frees the outfile, on failure too
    c->file = NULL;
fail:
    kevo_canvas_free(c);
    return st;
}

void kevo_canvas_free(kevo_canvas *c)
{
    if (!c)
        return;
    release_cairo(c);
    kevo_outfile_abort(c->file);
    free(c->path);
    free(c);
}
