// gemm.c — dispatch of the blocked matrix product (see gemm.h) to the AVX-512 implementation.
#include "kernels/gemm.h"

#include <string.h>

#include "kernels/cpu.h"

size_t kevo_gemm_avx512_scratch(int m, int k, int n_threads);
void kevo_gemm_avx512(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                      kevo_compute compute, void *scratch);

int kevo_gemm_available(kevo_compute compute)
{
    if (strcmp(kevo_kernels_get()->isa, "avx512") != 0)
        return 0;
    return compute == KEVO_COMPUTE_F32 || __builtin_cpu_supports("avx512bf16");
}

size_t kevo_gemm_scratch(int m, int k, int n_threads)
{
    return kevo_gemm_avx512_scratch(m, k, n_threads);
}

void kevo_gemm(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
               kevo_compute compute, void *scratch)
{
    kevo_gemm_avx512(y, ldy, x, ldx, m, w, compute, scratch);
}
