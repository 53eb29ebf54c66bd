// diff.c — two runs compared state by state (see diff.h): the checks that they can be, the
// states' relative errors and cosines, both lenses side by side, and where the runs part.
#include "analysis/diff.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/divergence.h"
#include "analysis/lens.h"
#include "base/error.h"
#include "model/model.h"

#define DEFAULT_BUDGET ((size_t)256 << 20)
// As analysis.c: a generated token this many nats below the head's top is no near tie.
#define MISMATCH_NATS 0.5

kevo_diff_params kevo_diff_default_params(void)
{
    return (kevo_diff_params){.lens_a = KEVO_LENS_RAW, .lens_b = KEVO_LENS_RAW,
                              .figure = {.format = KEVO_FIGURE_PNG, .dpi = 150}};
}

void kevo_diff_free(kevo_diff *d)
{
    if (!d)
        return;
    free(d->rel_err);
    free(d->cosine);
    free(d->jsd);
    free(d->top_a);
    free(d->top_b);
    free(d->top_pa);
    free(d->top_pb);
    free(d->first_index);
    free(d->mean_rel);
    free(d->max_rel);
    free(d->mean_cos);
    free(d->min_cos);
    free(d->median_jsd);
    free(d->max_jsd);
    free(d->agree);
    free(d);
}

const char *kevo_diff_piece(const kevo_diff *d, int which, int id, char *buf, size_t size)
{
    const kevo_model *m = which ? d->mb : d->ma;
    const kevo_runfolder *r = which ? d->b : d->a;
    const char *piece = m->tokenizer ? kevo_tokenizer_piece(m->tokenizer, id) : NULL;
    if (piece)
        return piece;
    for (int t = 0; t < r->n_steps; t++)
        if (r->generated_ids[t] == id)
            return r->pieces[t];
    snprintf(buf, size, "<id %d>", id);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// Checks

// The same vocabulary: as many rows, and the same piece for every id when both have tokenizers.
static kevo_status check_vocabulary(const kevo_model *ma, const kevo_model *mb, char *note,
                                    size_t size, kevo_error *err)
{
    int va = ma->config.text_vocab, vb = mb->config.text_vocab;
    if (va != vb)
        return kevo_fail(err, KEVO_ERR_MODEL, "the runs' models have different vocabularies: %s "
                         "has %d rows, %s has %d; the lens distributions of two vocabularies "
                         "cannot be compared", ma->dir, va, mb->dir, vb);
    const kevo_tokenizer *ta = ma->tokenizer, *tb = mb->tokenizer;
    if (!ta || !tb) {
        snprintf(note, size, "the tokenizers were not compared (%s has none). ",
                 !ta ? ma->dir : mb->dir);
        return KEVO_OK;
    }
    int na = kevo_tokenizer_n_tokens(ta), nb = kevo_tokenizer_n_tokens(tb);
    if (na != nb)
        return kevo_fail(err, KEVO_ERR_MODEL, "the runs' models have different tokenizers: %s "
                         "(%s) has %d tokens, %s (%s) has %d", ma->dir, kevo_tokenizer_path(ta),
                         na, mb->dir, kevo_tokenizer_path(tb), nb);
    for (int id = 0; id < na; id++) {
        const char *pa = kevo_tokenizer_piece(ta, id), *pb = kevo_tokenizer_piece(tb, id);
        if ((pa == NULL) != (pb == NULL) || (pa && strcmp(pa, pb)))
            return kevo_fail(err, KEVO_ERR_MODEL, "the runs' models have different tokenizers: "
                             "token %d is \"%.80s\" in %s but \"%.80s\" in %s", id,
                             pa ? pa : "(none)", kevo_tokenizer_path(ta), pb ? pb : "(none)",
                             kevo_tokenizer_path(tb));
    }
    return KEVO_OK;
}

// run.json's image.width x height, or 0 x 0.
static void image_size(const kevo_runfolder *r, int *w, int *h)
{
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(r->json, "image");
    const cJSON *jw = cJSON_GetObjectItemCaseSensitive(img, "width");
    const cJSON *jh = cJSON_GetObjectItemCaseSensitive(img, "height");
    *w = cJSON_IsNumber(jw) ? jw->valueint : 0;
    *h = cJSON_IsNumber(jh) ? jh->valueint : 0;
}

// Whether the runs saw the same image: their recorded digests, else the files' bytes when both
// are still there, else their sizes. Writes how it was found out into how, what differs into
// why ("" when the same).
static void compare_images(const kevo_runfolder *a, const kevo_runfolder *b, char *how,
                           size_t how_size, char *why, size_t why_size)
{
    char da[65], db[65];
    const char *ha = a->image_sha256, *hb = b->image_sha256;
    const char *what = "run.json's image digests";
    why[0] = '\0';
    if (!ha[0] || !hb[0]) {
        kevo_error ignored;
        if (kevo_image_digest(a->image_path, da, &ignored) == KEVO_OK &&
            kevo_image_digest(b->image_path, db, &ignored) == KEVO_OK) {
            if (ha[0] && strcmp(ha, da))
                snprintf(why, why_size, "the image %s changed since run A", a->image_path);
            else if (hb[0] && strcmp(hb, db))
                snprintf(why, why_size, "the image %s changed since run B", b->image_path);
            ha = da, hb = db, what = "the image files' SHA-256 (no digest in a run.json)";
        } else
            ha = hb = NULL;
    }
    if (why[0])
        ;
    else if (ha && hb) {
        snprintf(how, how_size, "%s", what);
        if (strcmp(ha, hb))
            snprintf(why, why_size, "the images differ (%s: %s is %.12s..., %s is %.12s...)",
                     what, a->image_path, ha, b->image_path, hb);
    } else {
        int wa, hta, wb, htb;
        image_size(a, &wa, &hta);
        image_size(b, &wb, &htb);
        snprintf(how, how_size, "only the images' sizes (no digest recorded, a file is gone)");
        if (wa != wb || hta != htb)
            snprintf(why, why_size, "the images differ (%s is %dx%d, %s is %dx%d)",
                     a->image_path, wa, hta, b->image_path, wb, htb);
    }
}

kevo_status kevo_diff_check(const kevo_runfolder *a, const kevo_runfolder *b,
                            const kevo_model *ma, const kevo_model *mb,
                            const kevo_diff_params *p, kevo_error *err)
{
    int same;
    kevo_status st = kevo_analysis_check_model(a, ma, &same, err);
    if (st == KEVO_OK)
        st = kevo_analysis_check_model(b, mb, &same, err);
    char note[256];
    if (st == KEVO_OK)
        st = check_vocabulary(ma, mb, note, sizeof note, err);
    if (st != KEVO_OK)
        return st == KEVO_ERR_ARG ? kevo_fail(err, KEVO_ERR_MODEL, "%s", err->msg) : st;
    char how[160], image[600], question[700] = "";
    compare_images(a, b, how, sizeof how, image, sizeof image);
    if (strcmp(a->question, b->question))
        snprintf(question, sizeof question, "the questions differ (\"%.300s\" and \"%.300s\")",
                 a->question, b->question);
    if (p->force || (!image[0] && !question[0]))
        return KEVO_OK;
    return kevo_fail(err, KEVO_ERR_MODEL, "%s and %s are not runs of the same image and "
                     "question: %s%s%s; give --force to compare them anyway", a->dir, b->dir,
                     image, image[0] && question[0] ? "; " : "", question);
}

// ---------------------------------------------------------------------------------------------
// The comparison

static int alloc_arrays(kevo_diff *d)
{
    size_t ts = (size_t)d->T * d->S, s = (size_t)d->S;
    double **per_index[] = {&d->mean_rel, &d->max_rel, &d->mean_cos, &d->min_cos,
                            &d->median_jsd, &d->max_jsd, &d->agree};
    int ok = (d->jsd = malloc(ts * sizeof *d->jsd)) && (d->top_a = malloc(ts * sizeof(int))) &&
             (d->top_b = malloc(ts * sizeof(int))) && (d->top_pa = malloc(ts * sizeof(double))) &&
             (d->top_pb = malloc(ts * sizeof(double))) &&
             (d->first_index = malloc((size_t)d->T * sizeof(int)));
    for (size_t i = 0; ok && i < sizeof per_index / sizeof per_index[0]; i++)
        ok = (*per_index[i] = malloc(s * sizeof(double))) != NULL;
    if (ok && d->compared_states)
        ok = (d->rel_err = malloc(ts * sizeof(double))) &&
             (d->cosine = malloc(ts * sizeof(double)));
    return ok;
}

// ||a - b|| / ||a|| and the cosine of two states of n values, in double (0 and 1 for equal
// states, also zero ones; a zero state against another: inf and NaN).
static void compare_states(const float *x, const float *y, int n, double *rel, double *cos)
{
    double xx = 0, yy = 0, xy = 0, dd = 0;
    for (int i = 0; i < n; i++) {
        double u = x[i], v = y[i], w = u - v;
        xx += u * u;
        yy += v * v;
        xy += u * v;
        dd += w * w;
    }
    *rel = dd == 0 ? 0 : sqrt(dd) / sqrt(xx);
    *cos = dd == 0 ? 1 : xy / (sqrt(xx) * sqrt(yy));
}

// One chunk of steps [t0, t0 + nt), both runs' lenses in memory.
static void chunk_pairs(kevo_diff *d, const kevo_lens_block *la, const kevo_lens_block *lb,
                        int t0, int nt)
{
    int S = d->S;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < nt * S; i++) {
        int s = i / S, l = i % S;
        size_t k = (size_t)(t0 + s) * S + l;
        kevo_lens_row ra = kevo_lens_block_row(la, s, l, &d->top_a[k], &d->top_pa[k]);
        kevo_lens_row rb = kevo_lens_block_row(lb, s, l, &d->top_b[k], &d->top_pb[k]);
        double paper;
        kevo_divergence_pair(&ra, &rb, d->V, &paper, &d->jsd[k]);
    }
}

// Steps whose generated token the head ranks more than MISMATCH_NATS below its top, at the
// run's last state.
static int count_mismatches(const kevo_lens_block *lb, const kevo_runfolder *r, int t0, int nt,
                            int *first)
{
    int n = 0;
    for (int s = 0; s < nt; s++) {
        int top;
        kevo_lens_row row = kevo_lens_block_row(lb, s, r->n_states - 1, &top, NULL);
        if ((double)row.z[top] - row.z[r->generated_ids[t0 + s]] > MISMATCH_NATS) {
            n++;
            if (*first < 0)
                *first = t0 + s;
        }
    }
    return n;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

// The per-index summaries over the T steps, and each step's first disagreement.
static void summarize(kevo_diff *d, double *scratch)
{
    int T = d->T, S = d->S;
    for (int t = 0; t < T; t++) {
        d->first_index[t] = -1;
        for (int l = 0; l < S && d->first_index[t] < 0; l++)
            if (d->top_a[(size_t)t * S + l] != d->top_b[(size_t)t * S + l])
                d->first_index[t] = l;
    }
    for (int l = 0; l < S; l++) {
        double sr = 0, mr = 0, sc = 0, mc = INFINITY, mj = 0;
        int agree = 0;
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)t * S + l;
            if (d->compared_states) {
                sr += d->rel_err[k];
                mr = fmax(mr, d->rel_err[k]);
                sc += d->cosine[k];
                mc = fmin(mc, d->cosine[k]);
            }
            scratch[t] = d->jsd[k];
            mj = fmax(mj, d->jsd[k]);
            agree += d->top_a[k] == d->top_b[k];
        }
        qsort(scratch, (size_t)T, sizeof *scratch, cmp_double);
        d->median_jsd[l] = T % 2 ? scratch[T / 2] : 0.5 * (scratch[T / 2 - 1] + scratch[T / 2]);
        d->max_jsd[l] = mj;
        d->agree[l] = (double)agree / T;
        d->mean_rel[l] = d->compared_states ? sr / T : NAN;
        d->max_rel[l] = d->compared_states ? mr : NAN;
        d->mean_cos[l] = d->compared_states ? sc / T : NAN;
        d->min_cos[l] = d->compared_states ? mc : NAN;
    }
}

// ids [from, to) of run r decoded by model m (or its raw pieces joined), into buf.
static void decode_span(const kevo_model *m, const kevo_runfolder *r, int from, int to,
                        char *buf, size_t size)
{
    buf[0] = '\0';
    from = from < 0 ? 0 : from;
    to = to > r->n_steps ? r->n_steps : to;
    if (from >= to)
        return;
    char *text = NULL;
    kevo_error ignored;
    if (m->tokenizer && kevo_tokenizer_decode(m->tokenizer, r->generated_ids + from, to - from,
                                              &text, &ignored) == KEVO_OK) {
        snprintf(buf, size, "%s", text);
        free(text);
        return;
    }
    size_t n = 0;
    for (int t = from; t < to && n < size; t++)
        n += (size_t)snprintf(buf + n, size - n, "%s", r->pieces[t]);
}

// Where the generated texts part, and the notes on what was not compared.
static void parting_and_notes(kevo_diff *d)
{
    const kevo_runfolder *a = d->a, *b = d->b;
    d->parting = -1;
    for (int t = 0; t < d->T && d->parting < 0; t++)
        if (a->generated_ids[t] != b->generated_ids[t])
            d->parting = t;
    if (d->parting < 0 && a->n_steps != b->n_steps)
        d->parting = d->T;
    if (d->parting >= 0) {
        int p = d->parting;
        decode_span(d->ma, a, p - KEVO_DIFF_CONTEXT, p, d->shared_text, sizeof d->shared_text);
        decode_span(d->ma, a, p, p + KEVO_DIFF_CONTEXT, d->part_a, sizeof d->part_a);
        decode_span(d->mb, b, p, p + KEVO_DIFF_CONTEXT, d->part_b, sizeof d->part_b);
    }
    size_t n = strlen(d->note);
    if (a->n_steps != b->n_steps)
        n += (size_t)snprintf(d->note + n, sizeof d->note - n, "steps %d..%d of the longer run "
                              "are not compared (run A has %d steps, run B %d). ", d->T,
                              (a->n_steps > b->n_steps ? a->n_steps : b->n_steps) - 1,
                              a->n_steps, b->n_steps);
    if (!d->compared_states && n < sizeof d->note)
        n += (size_t)snprintf(d->note + n, sizeof d->note - n, "relative errors and cosines "
                              "are not computed: the runs' states differ in %s (A: %d x %d, "
                              "B: %d x %d states x width). ", a->dim != b->dim ? "width" :
                              "number", a->n_states, a->dim, b->n_states, b->dim);
    if (a->n_states != b->n_states && n < sizeof d->note)
        n += (size_t)snprintf(d->note + n, sizeof d->note - n, "the lenses are compared at "
                              "the indices 0..%d both runs have; the deeper run's indices "
                              "%d..%d are not compared. ", d->S - 1, d->S,
                              (a->n_states > b->n_states ? a->n_states : b->n_states) - 1);
    if (d->parting >= 0 && d->parting < d->T && n < sizeof d->note)
        snprintf(d->note + n, sizeof d->note - n, "the runs generated different tokens at step "
                 "%d, so their states from step %d on follow different texts. ", d->parting,
                 d->parting + 1);
}

static void warnings(kevo_diff *d, int first_a, int first_b)
{
    size_t n = 0;
    const kevo_model *m[2] = {d->ma, d->mb};
    const kevo_runfolder *r[2] = {d->a, d->b};
    int digest[2] = {d->digest_a, d->digest_b}, mis[2] = {d->mismatched_a, d->mismatched_b};
    int first[2] = {first_a, first_b};
    for (int i = 0; i < 2 && n < sizeof d->warning; i++) {
        if (!digest[i])
            n += (size_t)snprintf(d->warning + n, sizeof d->warning - n, "%s/config.json is not "
                                  "the file run %c was recorded with (%s); the dimensions "
                                  "agree. ", m[i]->dir, 'A' + i, r[i]->model_dir);
        if (mis[i] && n < sizeof d->warning)
            n += (size_t)snprintf(d->warning + n, sizeof d->warning - n, "%d of run %c's %d "
                                  "compared tokens are not its head's top token at the last "
                                  "layer (first at step %d). ", mis[i], 'A' + i, d->T, first[i]);
    }
}

// The head (and final norm) of a model, as the lens reads it.
static kevo_lens_head model_head(const kevo_model *m)
{
    return (kevo_lens_head){m->weights->lm_head.t, m->weights->final_norm.f32,
                            m->config.rms_norm_eps};
}

// A run's mismatches beyond the tolerance of analyze: the states come from another model.
static kevo_status check_mismatches(const kevo_runfolder *r, const kevo_model *m, int n, int T,
                                    int first, kevo_error *err)
{
    if (n * 2 <= T)
        return KEVO_OK;
    return kevo_fail(err, KEVO_ERR_MODEL, "%s: the LM head of %s does not reproduce the run's "
                     "tokens (%d of %d steps differ, first at step %d): the run folder comes "
                     "from another model; give its model with -m or --model-b", r->dir, m->dir,
                     n, T, first);
}

kevo_status kevo_diff_compute(const kevo_runfolder *a, const kevo_runfolder *b,
                              const kevo_model *ma, const kevo_model *mb,
                              const kevo_diff_params *p, kevo_diff **out, kevo_error *err)
{
    *out = NULL;
    double t_start = kevo_now();
    kevo_diff *d = calloc(1, sizeof *d);
    if (!d)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    *d = (kevo_diff){.a = a, .b = b, .ma = ma, .mb = mb, .p = *p,
                     .T = a->n_steps < b->n_steps ? a->n_steps : b->n_steps,
                     .S = a->n_states < b->n_states ? a->n_states : b->n_states,
                     .V = ma->config.text_vocab,
                     .compared_states = a->dim == b->dim && a->n_states == b->n_states};
    kevo_lens_block *la = NULL, *lb = NULL;
    double *scratch = NULL;
    kevo_status st = kevo_analysis_check_model(a, ma, &d->digest_a, err);
    if (st == KEVO_OK)
        st = kevo_analysis_check_model(b, mb, &d->digest_b, err);
    if (st == KEVO_OK && !alloc_arrays(d))
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the comparison (%d steps x %d "
                       "states)", d->T, d->S);
    size_t budget = p->budget_bytes ? p->budget_bytes : DEFAULT_BUDGET;
    int widest = a->n_states * a->dim > b->n_states * b->dim ? 0 : 1;
    size_t step_bytes = (size_t)(a->n_states > b->n_states ? a->n_states : b->n_states) * d->V *
                            (sizeof(float) + sizeof(double)) +
                        (size_t)(widest ? b->n_states * b->dim : a->n_states * a->dim) * 4;
    int chunk = budget / step_bytes < (size_t)d->T ? (int)(budget / step_bytes) : d->T;
    chunk = chunk < 1 ? 1 : chunk;
    kevo_lens_head ha = model_head(ma), hb = model_head(mb);
    if (st == KEVO_OK)
        st = kevo_lens_block_create(&ha, p->lens_a, KEVO_COMPUTE_F32, chunk, a->n_states, a->dim,
                                    &la, err);
    if (st == KEVO_OK)
        st = kevo_lens_block_create(&hb, p->lens_b, KEVO_COMPUTE_F32, chunk, b->n_states, b->dim,
                                    &lb, err);
    if (st == KEVO_OK && !(scratch = malloc((size_t)d->T * sizeof *scratch)))
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    int first_a = -1, first_b = -1;
    for (int t0 = 0; st == KEVO_OK && t0 < d->T; t0 += chunk) {
        if (p->interrupt && *p->interrupt) {
            st = kevo_fail(err, KEVO_ERR_INTERRUPTED, "interrupted");
            break;
        }
        int nt = d->T - t0 < chunk ? d->T - t0 : chunk;
        kevo_lens_block_run(la, a->hidden + (size_t)t0 * a->n_states * a->dim, nt);
        kevo_lens_block_run(lb, b->hidden + (size_t)t0 * b->n_states * b->dim, nt);
        chunk_pairs(d, la, lb, t0, nt);
        d->mismatched_a += count_mismatches(la, a, t0, nt, &first_a);
        d->mismatched_b += count_mismatches(lb, b, t0, nt, &first_b);
    }
    if (st == KEVO_OK && d->compared_states) {
        int S = d->S, D = a->dim;
#pragma omp parallel for schedule(static)
        for (int k = 0; k < d->T * S; k++)
            compare_states(a->hidden + (size_t)k * D, b->hidden + (size_t)k * D, D,
                           &d->rel_err[k], &d->cosine[k]);
    }
    if (st == KEVO_OK)
        st = check_mismatches(a, ma, d->mismatched_a, d->T, first_a, err);
    if (st == KEVO_OK)
        st = check_mismatches(b, mb, d->mismatched_b, d->T, first_b, err);
    if (st == KEVO_OK) {
        char ignored[600];
        compare_images(a, b, d->image_check, sizeof d->image_check, ignored, sizeof ignored);
        size_t n = (size_t)snprintf(d->differs, sizeof d->differs, "%s", ignored);
        if (strcmp(a->question, b->question) && n < sizeof d->differs)
            snprintf(d->differs + n, sizeof d->differs - n, "%sthe questions differ",
                     n ? "; " : "");
        check_vocabulary(ma, mb, d->note, sizeof d->note, NULL);
        summarize(d, scratch);
        parting_and_notes(d);
        warnings(d, first_a, first_b);
        d->seconds = kevo_now() - t_start;
    }
    kevo_lens_block_free(la);
    kevo_lens_block_free(lb);
    free(scratch);
    if (st != KEVO_OK) {
        kevo_diff_free(d);
        return st;
    }
    *out = d;
    return KEVO_OK;
}

kevo_diff_summary kevo_diff_summarize(const kevo_diff *d)
{
    kevo_diff_summary s = {
        .steps_a = d->a->n_steps, .steps_b = d->b->n_steps, .steps = d->T,
        .states_a = d->a->n_states, .states_b = d->b->n_states, .states = d->S,
        .dim_a = d->a->dim, .dim_b = d->b->dim, .compared_states = d->compared_states,
        .max_rel_err = d->compared_states ? 0 : NAN, .min_cosine = d->compared_states ? 1 : NAN,
        .first_step = -1, .first_index = -1, .shallowest_index = -1, .shallowest_step = -1,
        .parting_step = d->parting, .note = d->note, .warning = d->warning};
    for (int l = 0; l < d->S; l++) {
        if (d->compared_states) {
            s.max_rel_err = fmax(s.max_rel_err, d->max_rel[l]);
            s.min_cosine = fmin(s.min_cosine, d->min_cos[l]);
        }
        s.max_jsd = fmax(s.max_jsd, d->max_jsd[l]);
    }
    for (int t = 0; t < d->T; t++) {
        int f = d->first_index[t];
        if (f >= 0 && s.first_step < 0)
            s.first_step = t, s.first_index = f;
        if (f >= 0 && (s.shallowest_index < 0 || f < s.shallowest_index))
            s.shallowest_index = f, s.shallowest_step = t;
        size_t k = (size_t)t * d->S + d->S - 1;
        s.final_agree += d->top_a[k] == d->top_b[k];
    }
    return s;
}
