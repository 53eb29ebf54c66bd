// kevo/report.h — part of kevo.h (include kevo.h): the formats figures are written in, and
// self-contained HTML reports that gather text and figures.
#ifndef KEVO_REPORT_H
#define KEVO_REPORT_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/report.h"
#endif

typedef enum kevo_figure_format {
    KEVO_FIGURE_PNG,
    KEVO_FIGURE_SVG,
    KEVO_FIGURE_PDF,
} kevo_figure_format;

// "png" | "svg" | "pdf"
kevo_status kevo_figure_format_parse(const char *name, kevo_figure_format *out, kevo_error *err);
const char *kevo_figure_format_ext(kevo_figure_format f);   // "png", ...

typedef struct kevo_figure_opts {
    kevo_figure_format format;
    double dpi;                  // PNG only: pixels per inch (sizes are given in inches)
} kevo_figure_opts;

// One self-contained HTML page: a title, paragraphs of text (escaped here) and figures embedded
// from files already written (PNG as base64 data URIs, SVG inline).
typedef struct kevo_report_item {
    const char *heading;         // may be NULL
    const char *text;            // plain text, may be NULL
    const char *figure_path;     // a .png or .svg file, may be NULL
    const char *caption;         // may be NULL
} kevo_report_item;

kevo_status kevo_report_write(const char *path, const char *title, const kevo_report_item *items,
                              int n_items, kevo_error *err);

// The file name (without extension) of a tracked word's patch maps in ANALYSIS/patches/:
// "word_" and the word with every byte outside [A-Za-z0-9_-] as %XX, so distinct words get
// distinct files.
void kevo_patch_figure_stem(const char *word, char *buf, size_t size);

#endif
