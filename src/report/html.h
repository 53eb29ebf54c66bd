// html.h — what kevo_report_write (kevo.h) takes besides its items, for the pages of report/:
// raw attributes on a figure's frame and HTML written after it or at the end of the page. These
// strings are the caller's own markup, written unescaped (explore.c makes them).
#ifndef KEVO_REPORT_HTML_H
#define KEVO_REPORT_HTML_H

#include <stdio.h>

#include "kevo.h"

typedef kevo_status (*kevo_report_put_fn)(FILE *f, const void *ctx, kevo_error *err);

typedef struct kevo_report_extra {
    const char *frame_attrs;        // e.g. ` data-x0="..."`, on the figure's <div class="frame">
    kevo_report_put_fn after;       // written after the item's section content; may be NULL
    const void *ctx;
} kevo_report_extra;

// kevo_report_write with extras[i] for items[i] (extras may be NULL) and `tail` (may be NULL)
// written after the last section.
kevo_status kevo_report_write_extra(const char *path, const char *title,
                                    const kevo_report_item *items,
                                    const kevo_report_extra *extras, int n_items,
                                    kevo_report_put_fn tail, const void *tail_ctx,
                                    kevo_error *err);

// Writes d as base64 (RFC 4648 §4), for data URIs.
void kevo_html_base64(FILE *f, const unsigned char *d, size_t n);

#endif
