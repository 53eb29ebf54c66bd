// answer.c — one image and one question through a model of any family, and the run folder that
// records it (kevo.h, kevo/llava.h).
#include "kevo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/image.h"
#include "io/runfolder.h"
#include "model/run.h"

void kevo_answer_clear(kevo_answer *a)
{
    if (!a)
        return;
    for (int i = 0; a->pieces && i < a->n_pieces; i++)
        free(a->pieces[i]);
    free(a->pieces);
    free(a->prompt);
    free(a->prompt_ids);
    free(a->text);
    memset(a, 0, sizeof *a);
}

// The request's image as the family's image processor prepares it for the vision path.
static kevo_status pixels_for(const kevo_model *m, const kevo_request *q, float **pixels,
                              int *n_tiles, kevo_answer *a, kevo_error *err)
{
    *pixels = NULL;
    kevo_image *img = NULL;
    kevo_status st = kevo_image_load(q->image_path, &img, err);
    if (st != KEVO_OK)
        return st;
    a->image_width = img->width;
    a->image_height = img->height;
    st = m->family->preprocess(m, img, q->image_mode, pixels, n_tiles, err);
    kevo_image_free(img);
    return st;
}

// The answer text as LLaVA prints it: decoded without the final EOS, special tokens dropped,
// surrounding whitespace removed (run_llava.py's .strip()).
static kevo_status decode_answer(const kevo_model *m, const kevo_run *r, kevo_answer *a,
                                 kevo_error *err)
{
    const kevo_tokenizer *tok = m->tokenizer;
    int n = kevo_run_n_generated(r);
    const int *ids = kevo_run_generated_ids(r);
    int keep = n, n_tokens = kevo_tokenizer_n_tokens(tok);
    if (kevo_run_stop_reason(r) == KEVO_STOP_EOS)
        keep--;
    int *known = malloc(((size_t)keep + 1) * sizeof *known), n_known = 0;
    if (!known)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < keep; i++)   // padding rows past the tokenizer decode to nothing
        if (ids[i] < n_tokens && kevo_tokenizer_piece(tok, ids[i]))
            known[n_known++] = ids[i];
    kevo_status st = kevo_tokenizer_decode(tok, known, n_known, &a->text, err);
    free(known);
    if (st != KEVO_OK)
        return st;
    size_t len = strlen(a->text), start = 0;
    while (start < len && isspace((unsigned char)a->text[start]))
        start++;
    while (len > start && isspace((unsigned char)a->text[len - 1]))
        len--;
    memmove(a->text, a->text + start, len - start);
    a->text[len - start] = '\0';

    if (!(a->pieces = calloc((size_t)n + 1, sizeof *a->pieces)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *p = ids[i] < n_tokens ? kevo_tokenizer_piece(tok, ids[i]) : NULL;
        char row[32];
        if (!p) {   // a padding row of the embedding matrix: no token of the tokenizer
            snprintf(row, sizeof row, "<row %d>", ids[i]);
            p = row;
        }
        if (!(a->pieces[i] = strdup(p)))
            return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
        a->n_pieces = i + 1;
    }
    return KEVO_OK;
}

kevo_status kevo_llava_answer(const kevo_model *m, kevo_run *r, const kevo_request *q,
                              kevo_answer *a, kevo_error *err)
{
    memset(a, 0, sizeof *a);
    float *pixels = NULL;
    int n_tiles = 0;
    kevo_status st = pixels_for(m, q, &pixels, &n_tiles, a, err);
    if (st == KEVO_OK)
        a->template_kind = q->template_kind == KEVO_TEMPLATE_AUTO ? kevo_model_template(m)
                                                                  : q->template_kind;
    if (st == KEVO_OK)
        st = kevo_template_prompt(m->tokenizer, a->template_kind, q->question, &a->prompt,
                                  &a->prompt_ids, &a->n_prompt_ids, &a->image_position, err);
    if (st == KEVO_OK)
        st = kevo_run_generate(r, &(kevo_image_input){pixels, n_tiles, a->image_width,
                                                      a->image_height},
                               a->prompt_ids, a->n_prompt_ids, err);
    if (st == KEVO_OK)
        st = decode_answer(m, r, a, err);
    free(pixels);
    if (st != KEVO_OK)
        kevo_answer_clear(a);
    return st;
}

// The element types of the weights, joined by '+' in kevo_dtype order ("F16", "F32+Q4_K+Q6_K"):
// a GGUF file mixes them (norms in F32, llama.cpp's *_M types two block types).
static const char *weights_dtype(const kevo_weights *w, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < KEVO_DTYPE_COUNT; d++)
        if (w->dtype_counts[d] && used < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? "+" : "",
                                     kevo_dtype_name((kevo_dtype)d));
    return buf;
}

kevo_status kevo_llava_save(const kevo_model *m, const kevo_run *r, const kevo_request *q,
                            const kevo_answer *a, const kevo_save_options *o, const char *dir,
                            kevo_error *err)
{
    if (r->params.no_record)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: the run kept no hidden states (no_record)", dir);
    const kevo_run_identity *known = o->known;
    kevo_image_position *positions = NULL;
    int n_positions = 0;
    kevo_status st = m->family->positions(m, q->image_mode, a->image_width, a->image_height,
                                          &positions, &n_positions, err);
    if (st == KEVO_OK && n_positions != kevo_run_n_image_tokens(r))
        st = kevo_fail(err, KEVO_ERR_ARG, "%s: the run's image took %d positions, not the %d "
                       "of a %d x %d image", dir, kevo_run_n_image_tokens(r), n_positions,
                       a->image_width, a->image_height);
    if (st != KEVO_OK) {
        free(positions);
        return st;
    }
    char dtypes[KEVO_DTYPE_COUNT * 8];
    kevo_run_record rec = {
        .model_dir = m->dir, .mmproj = m->mmproj, .config = &m->config,
        .weights_dtype = weights_dtype(m->weights, dtypes, sizeof dtypes),
        .image_path = q->image_path, .image_width = a->image_width,
        .image_height = a->image_height,
        .image_mode = kevo_image_mode_for(&m->config, q->image_mode),
        .question = q->question, .template_name = kevo_template_name(a->template_kind),
        .prompt = a->prompt, .prompt_ids = a->prompt_ids, .n_prompt_ids = a->n_prompt_ids,
        .image_position = a->image_position, .n_positions = kevo_run_n_positions(r),
        .generated_ids = kevo_run_generated_ids(r), .pieces = (const char *const *)a->pieces,
        .n_generated = kevo_run_n_generated(r), .text = a->text,
        .stop = kevo_run_stop_reason(r), .max_new_tokens = r->params.max_new_tokens,
        .compute = r->params.compute == KEVO_COMPUTE_BF16 ? "bf16" : "f32",
        .n_threads = o->n_threads, .load_s = o->load_s, .timings = kevo_run_timings(r),
        .hidden = kevo_run_hidden(r), .store = o->store,
        .hidden_states = o->hidden_states, .n_hidden_states = o->n_hidden_states,
        .before_commit = o->before_commit, .ctx = o->ctx,
        .image_first = kevo_run_image_first_position(r), .image_tokens = n_positions,
        .n_tiles = r->n_tiles, .positions = positions, .image_hidden = kevo_run_image_hidden(r),
        .image_states = kevo_run_image_states(r), .n_image_states = kevo_run_n_image_states(r),
        .model_identity = known ? &known->model : NULL,
        .image_sha256 = known ? known->image_sha256 : NULL,
    };
    st = kevo_runfolder_write(dir, &rec, err);
    free(positions);
    return st;
}
