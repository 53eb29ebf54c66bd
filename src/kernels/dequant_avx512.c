// dequant_avx512.c — ggml's block types decoded 16 floats at a time (AVX-512), dequant_body.h,
// and the fused dot products of decoding, dotq_body.h.
#include <immintrin.h>

#define W 16
#define TABLE_FN kevo_dequant_avx512
#define DOT_FN kevo_dot_q_avx512
#define WIDEN_U8(p) _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#define WIDEN_S8(p) _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#define FMADD(a, b, c) ((vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#include "kernels/cpu.h"
#include "kernels/dequant_body.h"
#include "kernels/dotq_body.h"
