// patch_figures.c — the patch lens's figures on the original picture (see patch_figures.h),
// drawn by plot/image_maps.c from analysis->patches.
#include "report/patch_figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/image.h"
#include "model/model.h"
#include "plot/plot.h"
#include "report/figures.h"

#define LABEL_MAX 48

void kevo_patch_figure_stem(const char *word, char *buf, size_t size)
{
    static const char keep[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    size_t n = (size_t)snprintf(buf, size, "word_");
    for (const unsigned char *s = (const unsigned char *)word; *s; s++) {
        if (n + 4 >= size)
            break;
        n += (size_t)(strchr(keep, *s) ? snprintf(buf + n, size - n, "%c", *s)
                                       : snprintf(buf + n, size - n, "%%%02X", *s));
    }
}

// The picture to draw on: the original image, or (moved, unreadable) a grey ground of its size,
// said in the title.
typedef struct picture {
    kevo_image *img;
    unsigned char *blank;
    const unsigned char *rgb;
    int width, height;
} picture;

static kevo_status picture_open(const kevo_patch_analysis *p, picture *pic, kevo_error *err)
{
    *pic = (picture){.width = p->image_width, .height = p->image_height};
    kevo_error ignored;
    if (kevo_image_load(p->image_path, &pic->img, &ignored) == KEVO_OK &&
        pic->img->width == p->image_width && pic->img->height == p->image_height) {
        pic->rgb = pic->img->rgb;
        return KEVO_OK;
    }
    kevo_image_free(pic->img);
    pic->img = NULL;
    size_t n = (size_t)pic->width * pic->height * 3;
    if (!(pic->blank = malloc(n)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a %d x %d picture", pic->width,
                         pic->height);
    memset(pic->blank, 0xD0, n);
    pic->rgb = pic->blank;
    return KEVO_OK;
}

static void picture_close(picture *pic)
{
    kevo_image_free(pic->img);
    free(pic->blank);
}

// The image position of grid cell c.
static size_t position(const kevo_patch_analysis *p, int cell)
{
    return (size_t)p->cell_position[cell];
}

// One colour scale for the whole grid, from 0 to the word's largest probability on any patch of
// the picture at any layer: a word that never passes a few percent still shows where it is
// strongest, and the colour bar says how strong that is. Patches of padding only are not drawn
// and do not set the scale.
double kevo_patch_word_scale(const kevo_patch_analysis *p, int w)
{
    double vmax = 0;
    int K = p->n_indices, W = p->n_words;
    for (int c = 0; c < p->rows * p->cols; c++) {
        const double *rect = p->original + 4 * (size_t)c;
        for (int k = 0; k < K && rect[2] > rect[0] && rect[3] > rect[1]; k++)
            vmax = fmax(vmax, p->lens->word_p[(position(p, c) * K + k) * W + w]);
    }
    return vmax;
}

kevo_status kevo_patch_draw_word(const kevo_analysis *a, int w, const char *path,
                                 const kevo_figure_opts *o, kevo_error *err)
{
    const kevo_patch_analysis *p = a->patches;
    const kevo_patch_lens_result *r = p->lens;
    int K = p->n_indices, cells = p->rows * p->cols, W = p->n_words;
    double *values = malloc((size_t)K * cells * sizeof *values);
    char(*titles)[32] = malloc((size_t)K * sizeof *titles);
    const char **title_ptr = malloc((size_t)K * sizeof *title_ptr);
    int *panel_band = malloc((size_t)K * sizeof *panel_band);
    picture pic = {0};
    kevo_status st = values && titles && title_ptr && panel_band
                         ? picture_open(p, &pic, err)
                         : kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    if (st != KEVO_OK)
        goto done;
    kevo_band bands[3];
    char band_labels[3][96], title[256], cbar[128], piece[LABEL_MAX];
    int nb = kevo_stage_bands(a->stages, 0, bands, band_labels);
    double vmax = kevo_patch_word_scale(p, w);
    for (int k = 0; k < K; k++) {
        for (int c = 0; c < cells; c++)
            values[(size_t)k * cells + c] = r->word_p[(position(p, c) * K + k) * W + w];
        snprintf(titles[k], sizeof titles[k], "layer %d", p->indices[k]);
        title_ptr[k] = titles[k];
        panel_band[k] = -1;
        for (int b = 0; b < nb; b++)
            if (p->indices[k] >= bands[b].from && p->indices[k] <= bands[b].to)
                panel_band[k] = b;
    }
    snprintf(title, sizeof title, "p(\"%s\", read as %s) on every patch, %s lens%s", p->words[w],
             kevo_analysis_piece(a, p->word_ids[w], piece, sizeof piece),
             kevo_lens_mode_name(a->opt.lens), pic.blank ? " (image file not found)" : "");
    snprintf(cbar, sizeof cbar, "probability of \"%s\"", p->words[w]);
    kevo_image_maps m = {
        .rgb = pic.rgb, .width = pic.width, .height = pic.height, .cells = p->original,
        .n_cells = cells, .values = values, .n_panels = K, .panel_titles = title_ptr,
        .panel_band = panel_band, .bands = bands, .n_bands = nb, .title = title,
        .colorbar_label = cbar, .vmin = 0, .vmax = vmax > 0 ? vmax : 1, .alpha = 0.75,
    };
    st = kevo_plot_image_maps(path, o, &m, err);
done:
    picture_close(&pic);
    free(values);
    free(titles);
    free(title_ptr);
    free(panel_band);
    return st;
}

kevo_status kevo_patch_draw_top(const kevo_analysis *a, const char *path,
                                const kevo_figure_opts *o, kevo_error *err)
{
    const kevo_patch_analysis *p = a->patches;
    const kevo_patch_lens_result *r = p->lens;
    int K = p->n_indices, cells = p->rows * p->cols, k = p->figure_index;
    double *values = malloc((size_t)cells * sizeof *values);
    char(*labels)[LABEL_MAX] = malloc((size_t)cells * sizeof *labels);
    const char **label_ptr = malloc((size_t)cells * sizeof *label_ptr);
    picture pic = {0};
    kevo_status st = values && labels && label_ptr
                         ? picture_open(p, &pic, err)
                         : kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    if (st != KEVO_OK)
        goto done;
    const kevo_tokenizer *tok = a->model->tokenizer;
    for (int c = 0; c < cells; c++) {
        size_t i = position(p, c) * K + k;
        int id = r->top_id[i];
        char raw[LABEL_MAX];
        values[c] = r->top_p[i];
        label_ptr[c] = tok && kevo_tokenizer_piece(tok, id)
                           ? kevo_tokenizer_piece_display(tok, id, labels[c], LABEL_MAX)
                           : kevo_piece_label(kevo_analysis_piece(a, id, raw, sizeof raw),
                                              labels[c], LABEL_MAX);
    }
    char title[256];
    snprintf(title, sizeof title, "The top token of every patch at layer %d (%s lens)%s",
             p->indices[k], kevo_lens_mode_name(a->opt.lens),
             pic.blank ? " (image file not found)" : "");
    kevo_image_maps m = {
        .rgb = pic.rgb, .width = pic.width, .height = pic.height, .cells = p->original,
        .n_cells = cells, .values = values, .n_panels = 1, .cell_labels = label_ptr,
        .title = title, .colorbar_label = "probability of the top token", .vmin = 0, .vmax = 1,
        .alpha = 0.6,
    };
    st = kevo_plot_image_maps(path, o, &m, err);
done:
    picture_close(&pic);
    free(values);
    free(labels);
    free(label_ptr);
    return st;
}
