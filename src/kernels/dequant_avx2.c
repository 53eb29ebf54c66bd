// dequant_avx2.c — ggml's block types decoded 8 floats at a time (AVX2), dequant_body.h, and
// the fused dot products of decoding, dotq_body.h.
#include <immintrin.h>

#define W 8
#define TABLE_FN kevo_dequant_avx2
#define DOT_FN kevo_dot_q_avx2
#define WIDEN_U8(p) _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(p)))
#define WIDEN_S8(p) _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(p)))
#define FMADD(a, b, c) ((vf)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#include "kernels/cpu.h"
#include "kernels/dequant_body.h"
#include "kernels/dotq_body.h"
