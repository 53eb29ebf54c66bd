// figure.c — the shared life of a figure (see figure.h).
#include "plot/figure.h"

#include "base/error.h"
#include "plot/canvas.h"

static kevo_status prepare(const kevo_figure_kind *k, const void *spec, void *layout,
                           kevo_figure_layout *size, kevo_error *err)
{
    kevo_status st = k->check(spec, err);
    if (st != KEVO_OK)
        return st;
    cairo_t *cr = kevo_canvas_scratch();
    st = k->lay_out(cr, spec, layout, size, err);
    if (st == KEVO_OK && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: cannot measure text: %s", k->name,
                       cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    return st;
}

kevo_status kevo_figure_measure(const kevo_figure_kind *k, const void *spec, void *layout,
                                kevo_figure_layout *out, kevo_error *err)
{
    kevo_figure_layout size;
    kevo_status st = prepare(k, spec, layout, &size, err);
    if (st == KEVO_OK)
        *out = size;
    k->release(layout);
    return st;
}

kevo_status kevo_figure_render(const char *path, const kevo_figure_opts *o,
                               const kevo_figure_kind *k, const void *spec, void *layout,
                               kevo_error *err)
{
    kevo_figure_layout size;
    kevo_canvas *canvas = NULL;
    kevo_status st = prepare(k, spec, layout, &size, err);
    if (st != KEVO_OK)
        kevo_error_prefix(err, "%s: ", path ? path : "(no path)");
    else if ((st = kevo_canvas_create(path, o, size.width, size.height, &canvas, err)) ==
             KEVO_OK) {
        st = k->draw(kevo_canvas_cairo(canvas), spec, layout, err);
        if (st == KEVO_OK)
            st = kevo_canvas_finish(canvas, err);
        else
            kevo_canvas_free(canvas);
    }
    k->release(layout);
    return st;
}
