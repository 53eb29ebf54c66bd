// patches.c — the image side of an analysis (see patches.h): the patch lens over the run's
// image states, the words it tracks, and its tables.
#include "analysis/patches.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/answer.h"
#include "base/error.h"
#include "base/fs.h"
#include "io/json.h"
#include "model/model.h"

#define MAX_WORDS 16
#define WORD_MAX 64

void kevo_patch_analysis_free(kevo_patch_analysis *p)
{
    if (!p)
        return;
    kevo_patch_lens_result_free(p->lens);
    for (int w = 0; p->words && w < p->n_words; w++)
        free(p->words[w]);
    free(p->words);
    free(p->word_ids);
    free(p);
}

static kevo_status add_word(kevo_patch_analysis *p, const char *word, size_t len, int id,
                            kevo_error *err)
{
    if (!(p->words[p->n_words] = strndup(word, len)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    p->word_ids[p->n_words++] = id;
    return KEVO_OK;
}

// --patch-words: each comma-separated word read through the first piece of its encoding (with
// SentencePiece's dummy prefix that is the word's form after a space, "▁red").
static kevo_status words_given(kevo_patch_analysis *p, const kevo_model *m, const char *list,
                               kevo_error *err)
{
    for (const char *s = list;; s++) {
        size_t len = strcspn(s, ",");
        if (len == 0 || len > WORD_MAX)
            return kevo_fail(err, KEVO_ERR_ARG, "--patch-words '%s': each word must have 1 to "
                             "%d bytes", list, WORD_MAX);
        if (p->n_words == MAX_WORDS)
            return kevo_fail(err, KEVO_ERR_ARG, "--patch-words '%s': at most %d words", list,
                             MAX_WORDS);
        int *ids = NULL, n = 0;
        kevo_status st = kevo_tokenizer_encode(m->tokenizer, s, len, 0, &ids, &n, err);
        if (st == KEVO_OK && n == 0)
            st = kevo_fail(err, KEVO_ERR_ARG, "--patch-words: '%.*s' encodes to no token",
                           (int)len, s);
        if (st == KEVO_OK)
            st = add_word(p, s, len, ids[0], err);
        free(ids);
        if (st != KEVO_OK)
            return st;
        s += len;
        if (!*s)
            return KEVO_OK;
    }
}

// The answer word (answer.h), read through the token generated for its first piece; none when
// every word of the answer is a question or function word.
static kevo_status word_of_answer(kevo_patch_analysis *p, const kevo_runfolder *run,
                                  kevo_error *err)
{
    char word[WORD_MAX + 1];
    int step = kevo_answer_step(run->question, (const char *const *)run->pieces, run->n_steps,
                                word, sizeof word);
    return step < 0 ? KEVO_OK : add_word(p, word, strlen(word), run->generated_ids[step], err);
}

// The recorded index nearest the critical layer (the later of two as near), else the last.
static int nearest_index(const int *indices, int k, int critical)
{
    if (critical < 0)
        return k - 1;
    int best = 0;
    for (int i = 1; i < k; i++)
        if (abs(indices[i] - critical) <= abs(indices[best] - critical))
            best = i;
    return best;
}

kevo_status kevo_patch_analysis_compute(const kevo_runfolder *run, const kevo_model *model,
                                        kevo_lens_mode mode, const char *words, int critical,
                                        kevo_patch_analysis **out, kevo_error *err)
{
    *out = NULL;
    if (run->n_image_states < 1 || !run->image_hidden)
        return kevo_fail(err, KEVO_ERR_ARG, "%s holds no image states (record them with kevo "
                         "run --image-states)", run->dir);
    kevo_patch_analysis *p = calloc(1, sizeof *p);
    if (!p || !(p->words = calloc(MAX_WORDS, sizeof *p->words)) ||
        !(p->word_ids = calloc(MAX_WORDS, sizeof *p->word_ids))) {
        kevo_patch_analysis_free(p);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    }
    *p = (kevo_patch_analysis){
        .n_patches = run->image_tokens, .n_indices = run->n_image_states,
        .indices = run->image_states, .rows = run->grid_rows, .cols = run->grid_cols,
        .class_token = run->class_token, .cell_position = run->cell_position,
        .original = run->patch_original,
        .image_path = run->image_path, .image_width = run->image_width,
        .image_height = run->image_height, .words = p->words, .word_ids = p->word_ids,
        .figure_index = nearest_index(run->image_states, run->n_image_states, critical),
    };
    kevo_status st = words ? words_given(p, model, words, err) : word_of_answer(p, run, err);
    const kevo_weights *w = model->weights;
    kevo_lens_head head = {w->lm_head.t, w->final_norm.f32, model->config.rms_norm_eps};
    kevo_patch_lens_params lp = {.mode = mode, .word_ids = p->word_ids, .n_words = p->n_words};
    if (st == KEVO_OK)
        st = kevo_patch_lens_run(&head, run->image_hidden, p->n_patches, p->n_indices,
                                 p->indices, run->text_layers, run->dim, &lp, &p->lens, err);
    if (st != KEVO_OK) {
        kevo_patch_analysis_free(p);
        return st;
    }
    *out = p;
    return KEVO_OK;
}

// Every image position's row and column in the drawn grid, -1 for those it does not show (the
// class token, a tiled image's base tile and newlines): (n_patches, 2), caller frees.
static int *grid_places(const kevo_patch_analysis *p)
{
    int *at = malloc((size_t)p->n_patches * 2 * sizeof *at);
    for (int i = 0; at && i < 2 * p->n_patches; i++)
        at[i] = -1;
    for (int c = 0; at && c < p->rows * p->cols; c++) {
        at[2 * p->cell_position[c]] = c / p->cols;
        at[2 * p->cell_position[c] + 1] = c % p->cols;
    }
    return at;
}

static kevo_status write_csv(const kevo_analysis *a, const char *path, kevo_error *err)
{
    const kevo_patch_analysis *p = a->patches;
    const kevo_patch_lens_result *r = p->lens;
    kevo_outfile *o;
    int *at = grid_places(p);
    if (!at)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    kevo_status st = kevo_outfile_open(path, &o, err);
    if (st != KEVO_OK) {
        free(at);
        return st;
    }
    FILE *f = kevo_outfile_stream(o);
    fprintf(f, "index,patch,row,col,top_id,top_piece,top_p,entropy");
    char buf[64];
    for (int w = 0; w < p->n_words; w++) {
        snprintf(buf, sizeof buf, "p:%s", p->words[w]);
        fputc(',', f);
        kevo_csv_text(f, buf);
    }
    fputc('\n', f);
    for (int k = 0; k < p->n_indices; k++)   // index-major: one layer's map is one block
        for (int n = 0; n < p->n_patches; n++) {
            size_t i = (size_t)n * p->n_indices + k;
            fprintf(f, "%d,%d,%d,%d,%d,", p->indices[k], n, at[2 * n], at[2 * n + 1],
                    r->top_id[i]);
            kevo_csv_text(f, kevo_analysis_piece(a, r->top_id[i], buf, sizeof buf));
            fprintf(f, ",%.17g,%.17g", r->top_p[i], r->entropy[i]);
            for (int w = 0; w < p->n_words; w++)
                fprintf(f, ",%.17g", r->word_p[i * p->n_words + w]);
            fputc('\n', f);
        }
    free(at);
    return kevo_outfile_commit(o, err);
}

static kevo_status write_json(const kevo_analysis *a, const char *path, kevo_error *err)
{
    const kevo_patch_analysis *p = a->patches;
    cJSON *root = cJSON_CreateObject(), *words = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "lens", kevo_lens_mode_name(a->opt.lens));
    cJSON_AddItemToObject(root, "indices", cJSON_CreateIntArray(p->indices, p->n_indices));
    cJSON_AddNumberToObject(root, "rows", p->rows);
    cJSON_AddNumberToObject(root, "cols", p->cols);
    cJSON_AddBoolToObject(root, "class_token", p->class_token);
    cJSON_AddNumberToObject(root, "labelled_index", p->indices[p->figure_index]);
    char buf[64];
    for (int w = 0; w < p->n_words; w++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "word", p->words[w]);
        cJSON_AddNumberToObject(o, "token", p->word_ids[w]);
        cJSON_AddStringToObject(o, "piece", kevo_analysis_piece(a, p->word_ids[w], buf,
                                                                sizeof buf));
        cJSON_AddItemToArray(words, o);
    }
    cJSON_AddItemToObject(root, "words", words);
    cJSON_AddNumberToObject(root, "seconds", p->lens->seconds);
    return kevo_json_save(root, path, err);
}

kevo_status kevo_patch_analysis_write(const kevo_analysis *a, const char *dir, kevo_error *err)
{
    if (!a->patches)
        return KEVO_OK;
    char path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(path, sizeof path, dir, "patch_lens.csv", err);
    if (st == KEVO_OK)
        st = write_csv(a, path, err);
    if (st == KEVO_OK)
        st = kevo_path_join(path, sizeof path, dir, "patch_lens.json", err);
    return st == KEVO_OK ? write_json(a, path, err) : st;
}
