// explore.c — the data the report's script reads (see explore.h), written as JSON by hand: the
// numbers with 17 significant digits (JSON.parse gives back the very doubles of the CSVs),
// non-finite values as null, text as JSON strings safe inside a <script> element.
#include "report/explore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/utf8.h"
#include "report/html.h"

#define PIECE_MAX 64
#define IMAGE_MAX_BYTES (64u << 20)

// A JSON string: ill-formed UTF-8 as U+FFFD; "</" as "<\/" and "<!" as "\u003c!" so that the
// text can neither close the <script> element holding it nor open a comment in it.
static void put_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t left = strlen((const char *)p);
    fputc('"', f);
    while (left) {
        unsigned cp;
        int n = kevo_utf8_decode(p, left, &cp);
        if (n == 0) {
            fputs("\\ufffd", f);
            n = 1;
        } else if (cp == '"' || cp == '\\')
            fprintf(f, "\\%c", (int)cp);
        else if (cp < 0x20 || cp == 0x7F)
            fprintf(f, "\\u%04x", cp);
        else if (cp == '<' && left > 1 && p[1] == '/')
            fputs("<\\", f);
        else if (cp == '<' && left > 1 && p[1] == '!')
            fputs("\\u003c", f);
        else
            fwrite(p, 1, (size_t)n, f);
        p += n;
        left -= (size_t)n;
    }
    fputc('"', f);
}

static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

static void put_piece(FILE *f, const kevo_analysis *a, int id)
{
    char buf[PIECE_MAX];
    if (id < 0)
        fputs("null", f);
    else
        put_str(f, kevo_analysis_piece(a, id, buf, sizeof buf));
}

void kevo_explore_heatmap_attrs(const kevo_figure_layout *l, char *buf, size_t size)
{
    snprintf(buf, size, " data-kevo-heatmap data-fig-w=\"%.17g\" data-fig-h=\"%.17g\" "
             "data-x0=\"%.17g\" data-y0=\"%.17g\" data-x1=\"%.17g\" data-y1=\"%.17g\"", l->width,
             l->height, l->data.x, l->data.y, l->data.x + l->data.w, l->data.y + l->data.h);
}

kevo_status kevo_explore_put_heatmap(FILE *f, const void *ctx, kevo_error *err)
{
    const kevo_analysis *a = ctx;
    const kevo_lens_result *r = a->lens;
    int L = r->n_states - 1, S = r->n_states, K = KEVO_LENS_TOPK;
    fputs("<div class=\"hover\" id=\"kevo-heat-hover\" hidden></div>\n"
          "<script type=\"application/json\" id=\"kevo-heat-data\">", f);
    fprintf(f, "{\"rows\":%d,\"cols\":%d,\"states\":%d,\"divergence\":", a->heat_rows, L, S);
    put_str(f, kevo_divergence_name(a->opt.divergence));
    fputs(",\"scale\":", f);
    put_str(f, a->opt.scale == KEVO_SCALE_COLUMN ? "column"
               : a->opt.scale == KEVO_SCALE_GLOBAL ? "global" : "none");
    fputs(",\"steps\":[", f);
    for (int t = 0; t < a->heat_rows; t++) {
        fprintf(f, "%s\n{\"step\":%d,\"piece\":", t ? "," : "", t);
        put_str(f, a->run->pieces[t]);
        fputs(",\"div\":[", f);
        for (int l = 0; l < L; l++) {
            fputs(l ? "," : "", f);
            put_num(f, a->div[(size_t)t * L + l]);
        }
        fputs("],\"heat\":[", f);
        for (int l = 0; l < L; l++) {
            fputs(l ? "," : "", f);
            put_num(f, a->heat[(size_t)t * L + l]);
        }
        fputs("],\"top\":[", f);   // per state: [[piece, p], ...] most probable first
        for (int l = 0; l < S; l++) {
            size_t k = ((size_t)t * S + l) * K;
            fputs(l ? ",[" : "[", f);
            for (int i = 0; i < K && r->top5_id[k + i] >= 0; i++) {
                fputs(i ? ",[" : "[", f);
                put_piece(f, a, r->top5_id[k + i]);
                fputc(',', f);
                put_num(f, r->top5_p[k + i]);
                fputc(']', f);
            }
            fputc(']', f);
        }
        fputs("]}", f);
    }
    fputs("]}</script>\n", f);
    return KEVO_OK;
}

// The original image as a data URI; nothing (the map is drawn on a blank ground) when the file
// cannot be read or is neither PNG nor JPEG: the page must not fail for a moved image.
static void put_image(FILE *f, const kevo_patch_analysis *p)
{
    char *data = NULL;
    size_t n = 0;
    kevo_error e = {0};
    if (!p->image_path || kevo_read_file(p->image_path, IMAGE_MAX_BYTES, &data, &n, &e) != KEVO_OK)
        return;
    const unsigned char *d = (const unsigned char *)data;
    const char *type = n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8) ? "image/png"
                       : n >= 3 && !memcmp(d, "\xff\xd8\xff", 3) ? "image/jpeg" : NULL;
    if (type) {
        fprintf(f, "<img class=\"patch-image\" alt=\"the original image\" width=\"%d\" "
                   "height=\"%d\" src=\"data:%s;base64,", p->image_width, p->image_height, type);
        kevo_html_base64(f, d, n);
        fputs("\">", f);
    }
    free(data);
}

kevo_status kevo_explore_put_patches(FILE *f, const void *ctx, kevo_error *err)
{
    const kevo_analysis *a = ctx;
    const kevo_patch_analysis *p = a->patches;
    if (!p)
        return KEVO_OK;
    const kevo_patch_lens_result *r = p->lens;
    // The map shows the grid's patches; a class token (image position 0) has no place on it.
    int P = p->n_patches, K = p->n_indices, W = p->n_words, cells = p->rows * p->cols;
    if (!r || r->n_patches != P || r->n_indices != K || r->n_words != W ||
        P < cells + p->class_token)
        return kevo_fail(err, KEVO_ERR_ARG, "report: the patch lens has %d x %d rows for %d "
                         "patches (%d x %d) at %d indices", r ? r->n_patches : 0,
                         r ? r->n_indices : 0, P, p->rows, p->cols, K);
    fputs("<div id=\"kevo-patches\"><div class=\"text\">The patch lens of every image "
          "position at the recorded hidden-state indices, over the original image. Move the "
          "slider to change the index, choose the tracked word, hover a patch for its top token at every index. Numbers: "
          "patch_lens.csv.</div>\n<noscript><div class=\"text\">(The map needs JavaScript.)"
          "</div></noscript>\n<div class=\"patch-controls\" hidden>"
          "<label>Hidden-state index <input type=\"range\" id=\"kevo-patch-layer\" min=\"0\" "
          "step=\"1\"> <output id=\"kevo-patch-layer-value\"></output></label> "
          "<label>Word <select id=\"kevo-patch-word\"></select></label></div>\n"
          "<div class=\"patch-view\"><div class=\"patch-stage\" id=\"kevo-patch-stage\">", f);
    put_image(f, p);
    fputs("<canvas id=\"kevo-patch-canvas\"></canvas></div>"
          "<div class=\"hover\" id=\"kevo-patch-hover\" hidden></div></div>\n"
          "<script type=\"application/json\" id=\"kevo-patch-data\">", f);
    fprintf(f, "{\"rows\":%d,\"cols\":%d,\"width\":%d,\"height\":%d,\"figure_index\":%d,"
               "\"indices\":[", p->rows, p->cols, p->image_width, p->image_height,
            p->figure_index);
    for (int k = 0; k < K; k++)
        fprintf(f, "%s%d", k ? "," : "", p->indices[k]);
    fputs("],\"words\":[", f);
    for (int w = 0; w < W; w++) {
        fputs(w ? "," : "", f);
        put_str(f, p->words[w]);
    }
    fputs("],\"patches\":[", f);
    for (int cell = 0; cell < cells; cell++) {
        const double *o = p->original + (size_t)cell * 4;
        int i = p->cell_position[cell];   // its image position
        fprintf(f, "%s\n{\"rect\":[", cell ? "," : "");
        for (int c = 0; c < 4; c++) {
            fputs(c ? "," : "", f);
            put_num(f, o[c]);
        }
        fputs("],\"top\":[", f);   // per index: [piece, p, entropy]
        for (int k = 0; k < K; k++) {
            size_t j = (size_t)i * K + k;
            fputs(k ? ",[" : "[", f);
            put_piece(f, a, r->top_id[j]);
            fputc(',', f);
            put_num(f, r->top_p[j]);
            fputc(',', f);
            put_num(f, r->entropy[j]);
            fputc(']', f);
        }
        fputs("],\"word_p\":[", f);   // per index: one probability per word
        for (int k = 0; k < K; k++) {
            fputs(k ? ",[" : "[", f);
            for (int w = 0; w < W; w++) {
                fputs(w ? "," : "", f);
                put_num(f, r->word_p[((size_t)i * K + k) * W + w]);
            }
            fputc(']', f);
        }
        fputs("]}", f);
    }
    fputs("]}</script>\n</div>\n", f);
    return KEVO_OK;
}
