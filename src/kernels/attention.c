// attention.c — scaled dot-product attention (see attention.h).
// Follows transformers' eager attention: CLIPAttention (modeling_clip.py) and LlamaAttention with
// repeat_kv and the additive causal mask (modeling_llama.py); masked scores contribute exactly
// zero, as exp(finfo.min - max) does there.
#include "kernels/attention.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "base/threads.h"
#include "kernels/cpu.h"
#include "kernels/linear.h"
#include "kernels/ops.h"
#include "kernels/parallel.h"

size_t kevo_attention_scratch(int n_queries, int n_keys, int n_threads)
{
    size_t rows = (size_t)(n_queries < KEVO_GEMV_MAX_ROWS ? 1 : n_queries);
    return (size_t)n_threads * rows * (size_t)n_keys;
}

// Keys visible to query row i: [first_visible, visible).
static int visible(const kevo_attention_shape *s, int i)
{
    return s->causal ? s->first_pos + i + 1 : s->n_keys;
}

// Mistral's sliding window (transformers masking_utils sliding_window_overlay: key j is kept
// for the query at position p when j > p - window).
static int first_visible(const kevo_attention_shape *s, int i)
{
    int lo = s->causal && s->window > 0 ? s->first_pos + i - s->window + 1 : 0;
    return lo > 0 ? lo : 0;
}

// Few queries (decoding): threads take whole heads; dot products straight from the cache.
static void attention_rows(float *out, const float *q, const float *k, const float *v,
                           const kevo_attention_shape *s, float *scores, int n_threads)
{
    const kevo_kernels *kk = kevo_kernels_get();
    int group = s->n_heads / s->n_kv_heads, e = s->head_dim;
#pragma omp parallel for schedule(static) num_threads(n_threads) \
    if ((size_t)s->n_heads * s->n_queries * s->n_keys * e >= KEVO_PARALLEL_MIN_WORK)
    for (int h = 0; h < s->n_heads; h++) {
        float *sc = scores + (size_t)omp_get_thread_num() * s->n_keys;
        const float *kh = k + (size_t)(h / group) * s->kv_head_stride;
        const float *vh = v + (size_t)(h / group) * s->kv_head_stride;
        for (int i = 0; i < s->n_queries; i++) {
            const float *qi = q + (size_t)i * s->q_row_stride + (size_t)h * e;
            float *oi = out + (size_t)i * s->out_row_stride + (size_t)h * e;
            int lo = first_visible(s, i), n = visible(s, i);
            for (int j = lo; j < n; j++)
                sc[j] = kk->dot_f32(qi, kh + (size_t)j * s->kv_row_stride, e) * s->scale;
            kevo_softmax(sc + lo, n - lo);
            memset(oi, 0, (size_t)e * sizeof *oi);
            for (int j = lo; j < n; j++)
                kk->axpy_f32(oi, sc[j], vh + (size_t)j * s->kv_row_stride, e);
        }
    }
}

// Many queries (prefill, the vision tower): threads take whole heads; per head, two
// single-threaded BLAS products around a row softmax.
static void attention_blocks(float *out, const float *q, const float *k, const float *v,
                             const kevo_attention_shape *s, float *scores_all, int n_threads)
{
    int group = s->n_heads / s->n_kv_heads, e = s->head_dim, nq = s->n_queries, nk = s->n_keys;
    kevo_threads_blas_single();
#pragma omp parallel for schedule(static) num_threads(n_threads) \
    if ((size_t)s->n_heads * nq * nk * e >= KEVO_PARALLEL_MIN_WORK)
    for (int h = 0; h < s->n_heads; h++) {
        float *scores = scores_all + (size_t)omp_get_thread_num() * nq * nk;
        const float *kh = k + (size_t)(h / group) * s->kv_head_stride;
        const float *vh = v + (size_t)(h / group) * s->kv_head_stride;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, e, s->scale,
                    q + (size_t)h * e, (int)s->q_row_stride, kh, (int)s->kv_row_stride, 0.0f,
                    scores, nk);
        for (int i = 0; i < nq; i++) {
            float *row = scores + (size_t)i * nk;
            int lo = first_visible(s, i), n = visible(s, i);
            kevo_softmax(row + lo, n - lo);
            memset(row, 0, (size_t)lo * sizeof *row);
            memset(row + n, 0, (size_t)(nk - n) * sizeof *row);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, e, nk, 1.0f, scores, nk, vh,
                    (int)s->kv_row_stride, 0.0f, out + (size_t)h * e, (int)s->out_row_stride);
    }
}

void kevo_attention(float *out, const float *q, const float *k, const float *v,
                    const kevo_attention_shape *s, float *scores, int n_threads)
{
    int threads = kevo_threads_resolve(n_threads);
    if (s->n_queries < KEVO_GEMV_MAX_ROWS)
        attention_rows(out, q, k, v, s, scores, threads);
    else
        attention_blocks(out, q, k, v, s, scores, threads);
}
