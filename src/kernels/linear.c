// linear.c — matrix products with stored weights (see linear.h).
#include "kernels/linear.h"

#include "base/quant.h"
#include "base/threads.h"
#include "kernels/cpu.h"
#include "kernels/parallel.h"

size_t kevo_linear_scratch(int m, int k, int n_threads)
{
    return kevo_gemm_scratch(m, k, n_threads);
}

// A row of a block type (base/quant.h) without a fused product on this path times x: decoded
// 256 elements at a time (whole blocks of 32 or 256), the slices' dot products added in F32 as
// the GEMM adds its KC slices.
static float dot_blocks(const kevo_kernels *kk, const float *x, const kevo_tensor *w, int r,
                        int k)
{
    float row[256];
    const char *src = (const char *)w->data + kevo_dtype_bytes(w->dtype, (size_t)r * k);
    float sum = 0;
    for (int k0 = 0; k0 < k; k0 += 256) {
        int kc = k - k0 < 256 ? k - k0 : 256;
        kk->dequant(w->dtype, src + kevo_dtype_bytes(w->dtype, (size_t)k0), row, (size_t)kc);
        sum += kk->dot_f32(x + k0, row, kc);
    }
    return sum;
}

// Columns per pass of the fused products: the sub-blocks' sums of x live on the stack (4 KiB).
// Wider rows (none of the supported models has one) take several passes, added in order.
#define FUSED_K 32768

// A block type with a fused dot product on this path (dotq_body.h): Σx per 32 elements once
// for all rows, then one fused dot product per row.
static void gemv_fused(const kevo_kernels *kk, float *y, const float *x, const kevo_tensor *w,
                       int n, int k, int n_threads)
{
    float xsum[FUSED_K / 32];
    for (int k0 = 0; k0 < k; k0 += FUSED_K) {
        int kc = k - k0 < FUSED_K ? k - k0 : FUSED_K;   // whole blocks: FUSED_K % 256 == 0
        for (int i = 0; i < kc / 32; i++) {
            double s = 0;
            for (int j = 0; j < 32; j++)
                s += x[k0 + 32 * i + j];
            xsum[i] = (float)s;
        }
#pragma omp parallel for schedule(static) num_threads(n_threads) \
    if ((size_t)n * kc >= KEVO_PARALLEL_MIN_WORK)
        for (int r = 0; r < n; r++) {
            const char *row = (const char *)w->data + kevo_dtype_bytes(w->dtype,
                                                                       (size_t)r * k + k0);
            float v = kk->dot_q(w->dtype, x + k0, xsum, row, kc);
            y[r] = k0 ? y[r] + v : v;
        }
    }
}

// One output row per dot product. Threads take contiguous ranges of rows, so each reads one
// sequential stream of weights: what the hardware prefetchers follow best (measured: ~1.5x the
// throughput of interleaving four rows).
static void gemv(float *y, const float *x, const kevo_tensor *w, int n, int k, int n_threads)
{
    const kevo_kernels *kk = kevo_kernels_get();
    kevo_dtype dt = w->dtype;
    if (kk->dot_q && kevo_dot_q_fuses(dt)) {
        gemv_fused(kk, y, x, w, n, k, n_threads);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(n_threads) \
    if ((size_t)n * k >= KEVO_PARALLEL_MIN_WORK)
    for (int r = 0; r < n; r++) {
        size_t at = (size_t)r * (size_t)k;
        if (dt == KEVO_DTYPE_F32)
            y[r] = kk->dot_f32(x, (const float *)w->data + at, k);
        else if (dt == KEVO_DTYPE_F16)
            y[r] = kk->dot_f16(x, (const uint16_t *)w->data + at, k);
        else if (dt == KEVO_DTYPE_BF16)
            y[r] = kk->dot_bf16(x, (const uint16_t *)w->data + at, k);
        else
            y[r] = dot_blocks(kk, x, w, r, k);
    }
}

void kevo_linear(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                 const float *bias, const kevo_linear_ctx *ctx)
{
    // k from the element count, so that a conv kernel (Dv, C, P, P) acts as (Dv, C*P*P).
    int n = (int)w->shape[0], k = (int)(w->n_elems / (uint64_t)w->shape[0]);
    int threads = kevo_threads_resolve(ctx ? ctx->n_threads : 0);
    if (m < KEVO_GEMV_MAX_ROWS && !(ctx && ctx->batch_invariant)) {
        for (int i = 0; i < m; i++)
            gemv(y + (size_t)i * ldy, x + (size_t)i * ldx, w, n, k, threads);
    } else {
        kevo_gemm(y, ldy, x, ldx, m, w, ctx->compute, ctx->scratch, threads);
    }
    if (bias)
#pragma omp parallel for schedule(static) num_threads(threads) \
    if ((size_t)m * n >= KEVO_PARALLEL_MIN_WORK)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                y[(size_t)i * ldy + j] += bias[j];
}
