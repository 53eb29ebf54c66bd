// linear.c — matrix products with stored weights (see linear.h).
#include "kernels/linear.h"

#include <cblas.h>
#include <omp.h>

#include "kernels/cpu.h"

void kevo_set_threads(int n)
{
    if (n <= 0)
        return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

// One output row per call of dot(), four at a time with dot4() (x read once per four rows).
static void gemv(float *y, const float *x, const kevo_tensor *w, int n, int k)
{
    const kevo_kernels *kk = kevo_kernels_get();
    int n4 = n / 4;
    kevo_dtype dt = w->dtype;
#pragma omp parallel for schedule(static)
    for (int g = 0; g < n4; g++) {
        size_t r = (size_t)g * 4;
        if (dt == KEVO_DTYPE_F32)
            kk->dot4_f32(y + r, x, (const float *)w->data + r * (size_t)k, (size_t)k, k);
        else if (dt == KEVO_DTYPE_F16)
            kk->dot4_f16(y + r, x, (const uint16_t *)w->data + r * (size_t)k, (size_t)k, k);
        else
            kk->dot4_bf16(y + r, x, (const uint16_t *)w->data + r * (size_t)k, (size_t)k, k);
    }
    for (size_t r = (size_t)n4 * 4; r < (size_t)n; r++) {
        if (dt == KEVO_DTYPE_F32)
            y[r] = kk->dot_f32(x, (const float *)w->data + r * (size_t)k, k);
        else if (dt == KEVO_DTYPE_F16)
            y[r] = kk->dot_f16(x, (const uint16_t *)w->data + r * (size_t)k, k);
        else
            y[r] = kk->dot_bf16(x, (const uint16_t *)w->data + r * (size_t)k, k);
    }
}

// Widens rows [r0, r0 + rows) of a F16/BF16 weight into dst, threads splitting the rows.
static void widen_rows(float *dst, const kevo_tensor *w, size_t r0, int rows, int k)
{
    const kevo_kernels *kk = kevo_kernels_get();
    const uint16_t *src = (const uint16_t *)w->data + r0 * (size_t)k;
    int bf16 = w->dtype == KEVO_DTYPE_BF16;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        if (bf16)
            kk->bf16_to_f32(dst + (size_t)r * k, src + (size_t)r * k, (size_t)k);
        else
            kk->f16_to_f32(dst + (size_t)r * k, src + (size_t)r * k, (size_t)k);
    }
}

void kevo_linear(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                 const float *bias, float *convert)
{
    // k from the element count, so that a conv kernel (Dv, C, P, P) acts as (Dv, C*P*P).
    int n = (int)w->shape[0], k = (int)(w->n_elems / (uint64_t)w->shape[0]);
    if (m < KEVO_GEMV_MAX_ROWS) {
        for (int i = 0; i < m; i++)
            gemv(y + (size_t)i * ldy, x + (size_t)i * ldx, w, n, k);
    } else if (w->dtype == KEVO_DTYPE_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, ldx, w->data, k,
                    0.0f, y, ldy);
    } else {
        for (int r0 = 0; r0 < n; r0 += KEVO_CONVERT_ROWS) {
            int rows = n - r0 < KEVO_CONVERT_ROWS ? n - r0 : KEVO_CONVERT_ROWS;
            widen_rows(convert, w, (size_t)r0, rows, k);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, rows, k, 1.0f, x, ldx,
                        convert, k, 0.0f, y + r0, ldy);
        }
    }
    if (bias)
#pragma omp parallel for schedule(static)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                y[(size_t)i * ldy + j] += bias[j];
}
