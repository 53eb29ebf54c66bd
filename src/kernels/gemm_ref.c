// gemm_ref.c — the scalar reference micro-kernel of the portable blocked product (gemm.c).
//
// Plain C: each tile element is one running sum, a product rounded and then added (no fused
// multiply-add: the Makefile builds with -ffp-contract=off), in k order. The compiler may
// vectorise across the tile's columns, which leaves every element's order as written.
#include "kernels/gemm.h"

#define MR 4
#define NR 16

static void tile(int kc, const float *a, const float *b, float *y, size_t ldy, int rows, int cols,
                 int accumulate)
{
    float acc[MR][NR] = {{0}};
    for (int kk = 0; kk < kc; kk++)
        for (int i = 0; i < MR; i++) {
            float ai = a[(size_t)kk * MR + i];
            for (int j = 0; j < NR; j++)
                acc[i][j] += ai * b[(size_t)kk * NR + j];
        }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            y[(size_t)i * ldy + j] = accumulate ? y[(size_t)i * ldy + j] + acc[i][j] : acc[i][j];
}

static const kevo_gemm_micro micro = {.mr = MR, .nr = NR, .tile = tile};

size_t kevo_gemm_ref_scratch(int m, int k, int n_threads)
{
    return kevo_gemm_blocked_scratch(&micro, m, k, n_threads);
}

// F32 products only (the table says so: bf16_products is 0).
void kevo_gemm_ref(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                   kevo_compute compute, void *scratch, int n_threads)
{
    kevo_gemm_blocked(&micro, y, ldy, x, ldx, m, w, scratch, n_threads);
}
