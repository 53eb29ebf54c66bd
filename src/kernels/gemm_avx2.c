// gemm_avx2.c — the AVX2 + FMA micro-kernel of the portable blocked product (gemm.c).
//
// A 6 x 16 tile in 12 ymm accumulators (BLIS's Haswell shape): per k, two vectors of Wᵀ and six
// broadcasts of x, 12 FMAs, which keeps both FMA pipes busy through their 4-5 cycle latency with
// 15 of the 16 registers. Each element is one FMA chain from zero in k order; partial tiles go
// through a buffer, where the same additions happen one element at a time.
#include <immintrin.h>

#include "kernels/gemm.h"

#define MR 6
#define NR 16

static void tile(int kc, const float *a, const float *b, float *y, size_t ldy, int rows, int cols,
                 int accumulate)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int kk = 0; kk < kc; kk++) {
        __m256 b0 = _mm256_loadu_ps(b + (size_t)kk * NR);
        __m256 b1 = _mm256_loadu_ps(b + (size_t)kk * NR + 8);
        const float *ak = a + (size_t)kk * MR;
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(ak + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    if (rows == MR && cols == NR) {
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            float *yr = y + (size_t)i * ldy;
            __m256 v0 = acc[i][0], v1 = acc[i][1];
            if (accumulate) {
                v0 = _mm256_add_ps(_mm256_loadu_ps(yr), v0);
                v1 = _mm256_add_ps(_mm256_loadu_ps(yr + 8), v1);
            }
            _mm256_storeu_ps(yr, v0);
            _mm256_storeu_ps(yr + 8, v1);
        }
        return;
    }
    float part[MR][NR];
#pragma GCC unroll 6   // every index of acc constant, or GCC keeps acc in memory in the k loop
    for (int i = 0; i < MR; i++) {
        _mm256_storeu_ps(part[i], acc[i][0]);
        _mm256_storeu_ps(part[i] + 8, acc[i][1]);
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            y[(size_t)i * ldy + j] = accumulate ? y[(size_t)i * ldy + j] + part[i][j] : part[i][j];
}

static const kevo_gemm_micro micro = {.mr = MR, .nr = NR, .tile = tile};

size_t kevo_gemm_avx2_scratch(int m, int k, int n_threads)
{
    return kevo_gemm_blocked_scratch(&micro, m, k, n_threads);
}

// F32 products only (the table says so: bf16_products is 0).
void kevo_gemm_avx2(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                    kevo_compute compute, void *scratch, int n_threads)
{
    kevo_gemm_blocked(&micro, y, ldy, x, ldx, m, w, scratch, n_threads);
}
