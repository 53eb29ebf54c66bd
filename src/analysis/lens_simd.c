// lens_simd.c — which SIMD forms of the lens's reductions this kernel path runs (lens_simd.h).
#include "analysis/lens_simd.h"

#include "kernels/cpu.h"

const kevo_lens_simd *kevo_lens_simd_get(void)
{
#if defined(__x86_64__)
    switch (kevo_kernels_get()->id) {
    case KEVO_ISA_AVX512:
        return &kevo_lens_simd_avx512;
    case KEVO_ISA_AVX2:
        return &kevo_lens_simd_avx2;
    default:
        return NULL;
    }
#else
    return NULL;   // the *_avx2.c / *_avx512.c files are compiled for x86 only (Makefile)
#endif
}
