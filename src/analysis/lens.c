// lens.c — the streamed logit lens (see lens.h). The authors apply lm_head to every hidden state
// of every step and take softmax / log_softmax of the result (heatmap.py,
// plot_token_probabilities_area.py); the norm lens applies the model's final RMSNorm first, as
// transformers' LlamaModel does before its last hidden state (modeling_llama.py, self.norm).
#include "analysis/lens.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/divergence.h"
#include "analysis/lens_simd.h"
#include "base/dtype.h"
#include "base/error.h"
#include "base/threads.h"
#include "kernels/linear.h"
#include "kernels/ops.h"

#define DEFAULT_BUDGET ((size_t)512 << 20)

static const char *const mode_names[] = {"raw", "norm"};

kevo_status kevo_lens_mode_parse(const char *name, kevo_lens_mode *out, kevo_error *err)
{
    for (int i = 0; i < 2; i++)
        if (!strcmp(name, mode_names[i])) {
            *out = (kevo_lens_mode)i;
            return KEVO_OK;
        }
    return kevo_fail(err, KEVO_ERR_ARG, "--lens expects raw or norm, not '%s'", name);
}

const char *kevo_lens_mode_name(kevo_lens_mode mode)
{
    return mode_names[mode];
}

void kevo_lens_result_free(kevo_lens_result *r)
{
    if (!r)
        return;
    free(r->lse);
    free(r->top_id);
    free(r->top_p);
    free(r->top5_id);
    free(r->top5_p);
    free(r->generated_p);
    free(r->generated_gap);
    free(r->div_paper);
    free(r->div_jsd);
    free(r->cand_start);
    free(r->cand_id);
    free(r->cand_p);
    free(r);
}

// Per row: the KEVO_LENS_TOPK largest logits' ids (top5, descending; an equal logit never
// displaces one of a lower id, so equal maxima keep ascending ids and top5[0] is the first
// maximum), logsum = log sum exp(z - max) as log1p of the other entries' sum (exact for peaked
// rows, see divergence.h), the log-sum-exp max + logsum in double, the
// probabilities (prob, double) and those of the top and the generated token.
static void row_stats(const float *z, int n, int generated, double *prob, double *max_out,
                      double *logsum, double *lse, int *top, double *top_p, double *generated_p,
                      int *top5, double *top5_p)
{
    int k = 0;
    for (int v = 0; v < n; v++) {
        if (k == KEVO_LENS_TOPK && !(z[v] > z[top5[k - 1]]))
            continue;
        int at = k < KEVO_LENS_TOPK ? k++ : k - 1;
        for (; at > 0 && z[v] > z[top5[at - 1]]; at--)
            top5[at] = top5[at - 1];
        top5[at] = v;
    }
    int best = top5[0];
    double max = z[best], tail = 0;
    const kevo_lens_simd *simd = kevo_lens_simd_get();
    if (simd)   // the entries before and after the maximum
        tail = simd->exp_sum(z, best, max, prob) +
               simd->exp_sum(z + best + 1, n - best - 1, max, prob + best + 1);
    else
        for (int v = 0; v < n; v++)
            if (v != best)
                tail += prob[v] = exp(z[v] - max);
    prob[best] = 1;
    *logsum = log1p(tail);
    double inv = 1.0 / (1.0 + tail);
    if (simd)
        simd->scale(prob, n, inv);
    else
        for (int v = 0; v < n; v++)
            prob[v] *= inv;
    *max_out = max;
    *lse = max + *logsum;
    *top = best;
    *top_p = prob[best];
    *generated_p = prob[generated];
    for (int i = 0; i < KEVO_LENS_TOPK; i++) {
        top5_p[i] = i < k ? prob[top5[i]] : NAN;
        if (i >= k)
            top5[i] = -1;
    }
}

kevo_status kevo_lens_head_check(const kevo_lens_head *head, int dim, kevo_error *err)
{
    const kevo_tensor *w = head->lm_head;
    if (w->n_dims != 2 || w->shape[1] != dim)
        return kevo_fail(err, KEVO_ERR_ARG, "the LM head has shape [%lld, %lld], not [V, %d] "
                         "for hidden states of width %d", (long long)w->shape[0],
                         (long long)(w->n_dims > 1 ? w->shape[1] : 0), dim, dim);
    if (!kevo_dtype_is_weight(w->dtype))   // kevo_linear reads every weight type
        return kevo_fail(err, KEVO_ERR_ARG, "the LM head is %s; the lens reads F32, F16, BF16 "
                         "or ggml's block types", kevo_dtype_name(w->dtype));
    return KEVO_OK;
}

static kevo_status check_inputs(const kevo_lens_head *head, int n_steps, int n_states, int dim,
                                const int *generated_ids, const kevo_lens_params *p,
                                kevo_error *err)
{
    const kevo_tensor *w = head->lm_head;
    kevo_status st = kevo_lens_head_check(head, dim, err);
    if (st != KEVO_OK)
        return st;
    if (n_steps < 1 || n_states < 2)
        return kevo_fail(err, KEVO_ERR_ARG, "the lens needs at least one step and two hidden "
                         "states, not %d steps of %d states", n_steps, n_states);
    if (p->window.lo < 0 || p->window.lo > p->window.hi || p->window.hi >= n_states)
        return kevo_fail(err, KEVO_ERR_ARG, "candidate window %d:%d is outside the hidden "
                         "states 0..%d", p->window.lo, p->window.hi, n_states - 1);
    if (!kevo_gemm_available(p->compute))
        return kevo_fail(err, KEVO_ERR_ARG, "BF16 products need a CPU with AVX512-BF16 (and "
                         "KEVO_ISA not forcing another path); the lens runs F32 products without "
                         "--compute bf16");
    for (int t = 0; t < n_steps; t++)
        if (generated_ids[t] < 0 || generated_ids[t] >= w->shape[0])
            return kevo_fail(err, KEVO_ERR_ARG, "generated token %d (step %d) is not a row of "
                             "the LM head (%lld rows)", generated_ids[t], t,
                             (long long)w->shape[0]);
    return KEVO_OK;
}

static kevo_lens_result *result_alloc(int T, int S, int V, int wsize)
{
    kevo_lens_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    size_t ts = (size_t)T * S, tl = (size_t)T * (S - 1), nc = (size_t)T * wsize;
    r->n_steps = T;
    r->n_states = S;
    r->vocab = V;
    r->lse = malloc(ts * sizeof *r->lse);
    r->top_id = malloc(ts * sizeof *r->top_id);
    r->top_p = malloc(ts * sizeof *r->top_p);
    r->top5_id = malloc(ts * KEVO_LENS_TOPK * sizeof *r->top5_id);
    r->top5_p = malloc(ts * KEVO_LENS_TOPK * sizeof *r->top5_p);
    r->generated_p = malloc(ts * sizeof *r->generated_p);
    r->generated_gap = malloc((size_t)T * sizeof *r->generated_gap);
    r->div_paper = malloc(tl * sizeof *r->div_paper);
    r->div_jsd = malloc(tl * sizeof *r->div_jsd);
    r->cand_start = calloc((size_t)T + 1, sizeof *r->cand_start);
    r->cand_id = malloc(nc * sizeof *r->cand_id);
    r->cand_p = malloc(nc * S * sizeof *r->cand_p);
    if (!r->lse || !r->top_id || !r->top_p || !r->top5_id || !r->top5_p || !r->generated_p ||
        !r->generated_gap || !r->div_paper || !r->div_jsd || !r->cand_start || !r->cand_id ||
        !r->cand_p) {
        kevo_lens_result_free(r);
        return NULL;
    }
    return r;
}

// Rows of one chunk in the lens's input form: the states as recorded (raw) or normed below L.
static const float *chunk_states(const kevo_lens_head *head, kevo_lens_mode mode,
                                 const float *states, int n_steps, int S, int D, float *normed)
{
    if (mode == KEVO_LENS_RAW)
        return states;
    for (int s = 0; s < n_steps; s++) {
        const float *x = states + (size_t)s * S * D;
        float *y = normed + (size_t)s * S * D;
        kevo_rmsnorm(y, x, S - 1, D, head->final_norm, head->eps, 0);
        memcpy(y + (size_t)(S - 1) * D, x + (size_t)(S - 1) * D, (size_t)D * sizeof *y);
    }
    return normed;
}

// Everything read from the logits of steps [t0, t0 + nt) while they are in memory.
// Scratch for one chunk's rows: probabilities (rows, V), maxima and logsums (rows).
typedef struct chunk_scratch {
    double *prob, *max, *logsum;
} chunk_scratch;

static void chunk_analyses(kevo_lens_result *r, const float *logits, const chunk_scratch *cs,
                           int t0, int nt, const int *generated_ids, kevo_window window)
{
    int S = r->n_states, L = S - 1, V = r->vocab;
    double *prob = cs->prob;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < nt * S; i++) {
        size_t k = (size_t)t0 * S + i;
        row_stats(logits + (size_t)i * V, V, generated_ids[t0 + i / S], prob + (size_t)i * V,
                  &cs->max[i], &cs->logsum[i], &r->lse[k], &r->top_id[k], &r->top_p[k],
                  &r->generated_p[k], &r->top5_id[k * KEVO_LENS_TOPK],
                  &r->top5_p[k * KEVO_LENS_TOPK]);
    }
#pragma omp parallel for schedule(static)
    for (int i = 0; i < nt * L; i++) {
        int s = i / L, l = i % L;
        size_t a = (size_t)s * S + l;
        kevo_lens_row ra = {logits + a * V, cs->max[a], cs->logsum[a], prob + a * V};
        kevo_lens_row rb = {logits + (a + 1) * V, cs->max[a + 1], cs->logsum[a + 1],
                            prob + (a + 1) * V};
        kevo_divergence_pair(&ra, &rb, V, &r->div_paper[(size_t)(t0 + s) * L + l],
                             &r->div_jsd[(size_t)(t0 + s) * L + l]);
    }
    for (int s = 0; s < nt; s++) {
        int t = t0 + s;
        const float *last = logits + ((size_t)s * S + L) * V;
        r->generated_gap[t] = (double)last[r->top_id[(size_t)t * S + L]] - last[generated_ids[t]];
        int start = r->cand_start[t];
        int n = kevo_candidates_pick(r->top_id + (size_t)t * S, window, r->cand_id + start);
        for (int c = 0; c < n; c++)
            for (int l = 0; l < S; l++) {
                size_t row = (size_t)s * S + l;
                r->cand_p[(size_t)(start + c) * S + l] = prob[row * V + r->cand_id[start + c]];
            }
        r->cand_start[t + 1] = start + n;
    }
}

kevo_status kevo_lens_run(const kevo_lens_head *head, const float *hidden, int n_steps,
                          int n_states, int dim, const int *generated_ids,
                          const kevo_lens_params *p, kevo_lens_result **out, kevo_error *err)
{
    *out = NULL;
    kevo_status st = check_inputs(head, n_steps, n_states, dim, generated_ids, p, err);
    if (st != KEVO_OK)
        return st;
    double t_start = kevo_now();
    int T = n_steps, S = n_states, D = dim, V = (int)head->lm_head->shape[0];
    size_t budget = p->budget_bytes ? p->budget_bytes : DEFAULT_BUDGET;
    // Per step: F32 logits and their double probabilities.
    size_t step_bytes = (size_t)S * V * (sizeof(float) + sizeof(double));
    int chunk = budget / step_bytes < (size_t)T ? (int)(budget / step_bytes) : T;
    if (chunk < 1)
        chunk = 1;

    kevo_lens_result *r = result_alloc(T, S, V, p->window.hi - p->window.lo + 1);
    float *logits = malloc((size_t)chunk * S * V * sizeof *logits);
    chunk_scratch cs = {malloc((size_t)chunk * S * V * sizeof *cs.prob),
                        malloc((size_t)chunk * S * sizeof *cs.max),
                        malloc((size_t)chunk * S * sizeof *cs.logsum)};
    float *normed = p->mode == KEVO_LENS_NORM ? malloc((size_t)chunk * S * D * sizeof *normed)
                                              : NULL;
    // F32 products as the reference, or BF16 pairs summed in F32 where asked; the scratch is
    // 64-byte aligned for the GEMM's panels. Batch-invariant: a chunk of one step gives the
    // logits of the whole run to the bit.
    int threads = kevo_threads_resolve(0);
    size_t scratch_bytes = (kevo_linear_scratch(chunk * S, D, threads) + 63) & ~63ul;
    kevo_linear_ctx ctx = {.scratch = aligned_alloc(64, scratch_bytes ? scratch_bytes : 64),
                           .compute = p->compute, .batch_invariant = 1,
                           .n_threads = threads};
    if (!r || !logits || !cs.prob || !cs.max || !cs.logsum ||
        (p->mode == KEVO_LENS_NORM && !normed) || !ctx.scratch) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the lens (%d steps x %d states, "
                       "vocabulary %d, chunks of %d steps)", T, S, V, chunk);
        goto done;
    }
    for (int t0 = 0; t0 < T; t0 += chunk) {
        int nt = T - t0 < chunk ? T - t0 : chunk;
        const float *x = chunk_states(head, p->mode, hidden + (size_t)t0 * S * D, nt, S, D,
                                      normed);
        double t1 = kevo_now();
        kevo_linear(logits, V, x, D, nt * S, head->lm_head, NULL, &ctx);
        double t2 = kevo_now();
        chunk_analyses(r, logits, &cs, t0, nt, generated_ids, p->window);
        r->seconds_products += t2 - t1;
        r->seconds_reductions += kevo_now() - t2;
        r->n_chunks++;
    }
    r->n_cand = r->cand_start[T];
    r->seconds = kevo_now() - t_start;
    *out = r;
    r = NULL;
done:
    kevo_lens_result_free(r);
    free(logits);
    free(cs.prob);
    free(cs.max);
    free(cs.logsum);
    free(normed);
    free(ctx.scratch);
    return st;
}

struct kevo_lens_block {
    kevo_lens_head head;
    kevo_lens_mode mode;
    int max_steps, S, D, V;
    float *logits, *normed;
    double *prob, *max, *logsum, *top_p;
    int *top;
    kevo_linear_ctx ctx;
};

void kevo_lens_block_free(kevo_lens_block *b)
{
    if (!b)
        return;
    free(b->logits);
    free(b->normed);
    free(b->prob);
    free(b->max);
    free(b->logsum);
    free(b->top_p);
    free(b->top);
    free(b->ctx.scratch);
    free(b);
}

kevo_status kevo_lens_block_create(const kevo_lens_head *head, kevo_lens_mode mode,
                                   kevo_compute compute, int max_steps, int n_states, int dim,
                                   kevo_lens_block **out, kevo_error *err)
{
    *out = NULL;
    kevo_status st = kevo_lens_head_check(head, dim, err);
    if (st != KEVO_OK)
        return st;
    if (!kevo_gemm_available(compute))
        return kevo_fail(err, KEVO_ERR_ARG, "BF16 products need a CPU with AVX512-BF16 (and "
                         "KEVO_ISA not forcing another path)");
    kevo_lens_block *b = calloc(1, sizeof *b);
    if (!b)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the lens");
    size_t rows = (size_t)max_steps * n_states, V = (size_t)head->lm_head->shape[0];
    *b = (kevo_lens_block){.head = *head, .mode = mode, .max_steps = max_steps, .S = n_states,
                           .D = dim, .V = (int)V};
    int threads = kevo_threads_resolve(0);
    size_t scratch_bytes = (kevo_linear_scratch((int)rows, dim, threads) + 63) & ~63ul;
    b->ctx = (kevo_linear_ctx){.scratch = aligned_alloc(64, scratch_bytes ? scratch_bytes : 64),
                               .compute = compute, .batch_invariant = 1, .n_threads = threads};
    b->logits = malloc(rows * V * sizeof *b->logits);
    b->prob = malloc(rows * V * sizeof *b->prob);
    b->max = malloc(rows * sizeof *b->max);
    b->logsum = malloc(rows * sizeof *b->logsum);
    b->top_p = malloc(rows * sizeof *b->top_p);
    b->top = malloc(rows * sizeof *b->top);
    b->normed = mode == KEVO_LENS_NORM ? malloc(rows * dim * sizeof *b->normed) : NULL;
    if (!b->ctx.scratch || !b->logits || !b->prob || !b->max || !b->logsum || !b->top_p ||
        !b->top || (mode == KEVO_LENS_NORM && !b->normed)) {
        kevo_lens_block_free(b);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the lens (%d steps x %d "
                         "states, vocabulary %zu)", max_steps, n_states, V);
    }
    *out = b;
    return KEVO_OK;
}

void kevo_lens_block_run(kevo_lens_block *b, const float *states, int n)
{
    int V = b->V;
    const float *x = chunk_states(&b->head, b->mode, states, n, b->S, b->D, b->normed);
    kevo_linear(b->logits, V, x, b->D, n * b->S, b->head.lm_head, NULL, &b->ctx);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n * b->S; i++) {
        double lse, gen_p, top5_p[KEVO_LENS_TOPK];
        int top5[KEVO_LENS_TOPK];
        row_stats(b->logits + (size_t)i * V, V, 0, b->prob + (size_t)i * V, &b->max[i],
                  &b->logsum[i], &lse, &b->top[i], &b->top_p[i], &gen_p, top5, top5_p);
    }
}

kevo_lens_row kevo_lens_block_row(const kevo_lens_block *b, int step, int state, int *top,
                                  double *top_p)
{
    size_t i = (size_t)step * b->S + state;
    if (top)
        *top = b->top[i];
    if (top_p)
        *top_p = b->top_p[i];
    return (kevo_lens_row){b->logits + i * b->V, b->max[i], b->logsum[i], b->prob + i * b->V};
}
