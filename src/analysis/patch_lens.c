// patch_lens.c — the logit lens over every image patch and recorded index (see patch_lens.h).
// The distribution is the answer lens's (lens.c): lm_head on the state, raw or after the final
// RMSNorm below index L, softmax in double; its top probability and tracked probabilities are
// computed with the same operations in the same order as lens.c's row_stats, so a state read by
// both lenses gives the same bits.
#include "analysis/patch_lens.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lens_simd.h"
#include "base/error.h"
#include "base/threads.h"
#include "kernels/linear.h"
#include "kernels/ops.h"

#define DEFAULT_BUDGET ((size_t)256 << 20)

void kevo_patch_lens_result_free(kevo_patch_lens_result *r)
{
    if (!r)
        return;
    free(r->top_id);
    free(r->top_p);
    free(r->entropy);
    free(r->word_p);
    free(r);
}

// One row of logits: with m the first maximum and s = sum exp(z - m) = 1 + tail (the top entry
// contributes exactly 1), p_v = exp(z_v - m) / s and the entropy is
// -sum p_v log p_v = log s - sum exp(z_v - m)(z_v - m) / s.
static void row_reduce(const float *z, int n, const int *words, int n_words, int *top,
                       double *top_p, double *entropy, double *word_p)
{
    int best = 0;
    for (int v = 1; v < n; v++)
        if (z[v] > z[best])
            best = v;
    double max = z[best], tail = 0, moment = 0;
    // the answer lens's SIMD forms where it runs them, so that both agree to the bit
    const kevo_lens_simd *simd = kevo_lens_simd_get();
    if (simd) {
        double m_before, m_after;
        tail = simd->exp_moment(z, best, max, &m_before) +
               simd->exp_moment(z + best + 1, n - best - 1, max, &m_after);
        moment = m_before + m_after;
    } else {
        for (int v = 0; v < n; v++)
            if (v != best) {
                double d = z[v] - max, e = exp(d);
                tail += e;
                moment += e * d;
            }
    }
    double inv = 1.0 / (1.0 + tail);
    *top = best;
    *top_p = inv;
    *entropy = log1p(tail) - moment * inv;
    for (int w = 0; w < n_words; w++) {
        double d = (double)z[words[w]] - max;
        word_p[w] = words[w] == best ? inv : (simd ? simd->exp1(d) : exp(d)) * inv;
    }
}

static kevo_status check_inputs(const kevo_lens_head *head, int n_patches, int n_indices,
                                const int *indices, int n_layers, int dim,
                                const kevo_patch_lens_params *p, kevo_error *err)
{
    kevo_status st = kevo_lens_head_check(head, dim, err);
    if (st != KEVO_OK)
        return st;
    if (n_patches < 1 || n_indices < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "the patch lens needs at least one patch and one "
                         "hidden-state index, not %d patches of %d indices", n_patches,
                         n_indices);
    for (int k = 0; k < n_indices; k++)
        if (indices[k] < 0 || indices[k] > n_layers)
            return kevo_fail(err, KEVO_ERR_ARG, "recorded image index %d is outside the hidden "
                             "states 0..%d", indices[k], n_layers);
    int64_t V = head->lm_head->shape[0];
    for (int w = 0; w < p->n_words; w++)
        if (p->word_ids[w] < 0 || p->word_ids[w] >= V)
            return kevo_fail(err, KEVO_ERR_ARG, "tracked token %d is not a row of the LM head "
                             "(%lld rows)", p->word_ids[w], (long long)V);
    return KEVO_OK;
}

static kevo_patch_lens_result *result_alloc(int P, int K, int V, int W)
{
    kevo_patch_lens_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    size_t n = (size_t)P * K;
    *r = (kevo_patch_lens_result){.n_patches = P, .n_indices = K, .vocab = V, .n_words = W,
                                  .top_id = malloc(n * sizeof *r->top_id),
                                  .top_p = malloc(n * sizeof *r->top_p),
                                  .entropy = malloc(n * sizeof *r->entropy),
                                  .word_p = malloc((n * W + 1) * sizeof *r->word_p)};
    if (!r->top_id || !r->top_p || !r->entropy || !r->word_p) {
        kevo_patch_lens_result_free(r);
        return NULL;
    }
    return r;
}

// Rows [r0, r0 + n) in the lens's input form: as recorded (raw), or normed where their index is
// below L (index L is already after the final norm).
static const float *chunk_states(const kevo_lens_head *head, kevo_lens_mode mode,
                                 const float *states, size_t r0, int n, int K,
                                 const int *indices, int L, int D, float *normed)
{
    const float *x = states + r0 * D;
    if (mode == KEVO_LENS_RAW)
        return x;
    for (int i = 0; i < n; i++) {
        const float *row = x + (size_t)i * D;
        float *y = normed + (size_t)i * D;
        if (indices[(r0 + i) % K] < L)
            kevo_rmsnorm(y, row, 1, D, head->final_norm, head->eps, 1);
        else
            memcpy(y, row, (size_t)D * sizeof *y);
    }
    return normed;
}

kevo_status kevo_patch_lens_run(const kevo_lens_head *head, const float *states, int n_patches,
                                int n_indices, const int *indices, int n_layers, int dim,
                                const kevo_patch_lens_params *p, kevo_patch_lens_result **out,
                                kevo_error *err)
{
    *out = NULL;
    kevo_status st = check_inputs(head, n_patches, n_indices, indices, n_layers, dim, p, err);
    if (st != KEVO_OK)
        return st;
    double t_start = kevo_now();
    int K = n_indices, D = dim, V = (int)head->lm_head->shape[0], W = p->n_words;
    size_t rows = (size_t)n_patches * K;
    size_t budget = p->budget_bytes ? p->budget_bytes : DEFAULT_BUDGET;
    size_t fit = budget / ((size_t)V * sizeof(float));
    int chunk = (int)(fit < 1 ? 1 : fit < rows ? fit : rows);

    kevo_patch_lens_result *r = result_alloc(n_patches, K, V, W);
    float *logits = malloc((size_t)chunk * V * sizeof *logits);
    float *normed = p->mode == KEVO_LENS_NORM ? malloc((size_t)chunk * D * sizeof *normed)
                                              : NULL;
    int threads = kevo_threads_resolve(0);
    size_t scratch_bytes = (kevo_linear_scratch(chunk, D, threads) + 63) & ~63ul;
    kevo_linear_ctx ctx = {.scratch = aligned_alloc(64, scratch_bytes ? scratch_bytes : 64),
                           .compute = KEVO_COMPUTE_F32, .batch_invariant = 1,
                           .n_threads = threads};
    if (!r || !logits || (p->mode == KEVO_LENS_NORM && !normed) || !ctx.scratch) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the patch lens (%d patches x %d "
                       "indices, vocabulary %d, chunks of %d rows)", n_patches, K, V, chunk);
        goto done;
    }
    for (size_t r0 = 0; r0 < rows; r0 += (size_t)chunk) {
        int n = rows - r0 < (size_t)chunk ? (int)(rows - r0) : chunk;
        const float *x = chunk_states(head, p->mode, states, r0, n, K, indices, n_layers, D,
                                      normed);
        double t1 = kevo_now();
        kevo_linear(logits, V, x, D, n, head->lm_head, NULL, &ctx);
        r->seconds_products += kevo_now() - t1;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int i = 0; i < n; i++) {
            size_t k = r0 + (size_t)i;
            row_reduce(logits + (size_t)i * V, V, p->word_ids, W, &r->top_id[k], &r->top_p[k],
                       &r->entropy[k], &r->word_p[k * W]);
        }
        r->n_chunks++;
    }
    r->seconds = kevo_now() - t_start;
    *out = r;
    r = NULL;
done:
    kevo_patch_lens_result_free(r);
    free(logits);
    free(normed);
    free(ctx.scratch);
    return st;
}
