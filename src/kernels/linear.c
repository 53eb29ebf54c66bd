// linear.c — matrix products with stored weights (see linear.h).
#include "kernels/linear.h"

#include <cblas.h>
#include <omp.h>

#include "kernels/cpu.h"
#include "kernels/parallel.h"

void kevo_set_threads(int n)
{
    openblas_set_num_threads(1);
    if (n > 0)
        omp_set_num_threads(n);
}

// Floats each thread widens into on the OpenBLAS path.
static size_t widen_floats(int k)
{
    return (size_t)KEVO_CONVERT_ROWS * (size_t)k;
}

size_t kevo_linear_scratch(int m, int k, int n_threads)
{
    size_t blas = (size_t)n_threads * widen_floats(k) * sizeof(float);
    size_t own = kevo_gemm_scratch(m, k, n_threads);
    return blas > own ? blas : own;
}

// One output row per dot product. Threads take contiguous ranges of rows, so each reads one
// sequential stream of weights: what the hardware prefetchers follow best (measured: ~1.5x the
// throughput of interleaving four rows).
static void gemv(float *y, const float *x, const kevo_tensor *w, int n, int k)
{
    const kevo_kernels *kk = kevo_kernels_get();
    kevo_dtype dt = w->dtype;
#pragma omp parallel for schedule(static) if ((size_t)n * k >= KEVO_PARALLEL_MIN_WORK)
    for (int r = 0; r < n; r++) {
        size_t at = (size_t)r * (size_t)k;
        if (dt == KEVO_DTYPE_F32)
            y[r] = kk->dot_f32(x, (const float *)w->data + at, k);
        else if (dt == KEVO_DTYPE_F16)
            y[r] = kk->dot_f16(x, (const uint16_t *)w->data + at, k);
        else
            y[r] = kk->dot_bf16(x, (const uint16_t *)w->data + at, k);
    }
}

// One block of output columns: y[:, r0 : r0 + rows] from weight rows [r0, r0 + rows).
static void gemm_block(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                       int r0, int rows, int k, float *convert)
{
    const float *wb;
    if (w->dtype == KEVO_DTYPE_F32) {
        wb = (const float *)w->data + (size_t)r0 * k;
    } else {
        const kevo_kernels *kk = kevo_kernels_get();
        const uint16_t *src = (const uint16_t *)w->data + (size_t)r0 * k;
        if (w->dtype == KEVO_DTYPE_BF16)
            kk->bf16_to_f32(convert, src, (size_t)rows * k);
        else
            kk->f16_to_f32(convert, src, (size_t)rows * k);
        wb = convert;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, rows, k, 1.0f, x, ldx, wb, k, 0.0f,
                y + r0, ldy);
}

void kevo_linear(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                 const float *bias, const kevo_linear_ctx *ctx)
{
    // k from the element count, so that a conv kernel (Dv, C, P, P) acts as (Dv, C*P*P).
    int n = (int)w->shape[0], k = (int)(w->n_elems / (uint64_t)w->shape[0]);
    if (m < KEVO_GEMV_MAX_ROWS) {
        for (int i = 0; i < m; i++)
            gemv(y + (size_t)i * ldy, x + (size_t)i * ldx, w, n, k);
    } else if (kevo_gemm_available(ctx->compute)) {
        kevo_gemm(y, ldy, x, ldx, m, w, ctx->compute, ctx->scratch);
    } else {
        int n_blocks = (n + KEVO_CONVERT_ROWS - 1) / KEVO_CONVERT_ROWS;
#pragma omp parallel for schedule(static) if ((size_t)m * n * k >= KEVO_PARALLEL_MIN_WORK)
        for (int b = 0; b < n_blocks; b++) {
            int r0 = b * KEVO_CONVERT_ROWS;
            int rows = n - r0 < KEVO_CONVERT_ROWS ? n - r0 : KEVO_CONVERT_ROWS;
            float *mine = (float *)ctx->scratch + widen_floats(k) * omp_get_thread_num();
            gemm_block(y, ldy, x, ldx, m, w, r0, rows, k, mine);
        }
    }
    if (bias)
#pragma omp parallel for schedule(static) if ((size_t)m * n >= KEVO_PARALLEL_MIN_WORK)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                y[(size_t)i * ldy + j] += bias[j];
}
