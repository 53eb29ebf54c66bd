// dot_avx512.c — AVX-512 kernels (F, BW, VL, DQ + F16C): dot products of F32 activations with
// F32/F16/BF16 weight rows, and exact widening. Compiled with AVX-512 flags only for this file;
// cpu.c selects it after checking the CPU. Tails use masked loads, so every element is read once
// and the summation order depends only on n (results are identical for any thread count).
#include <immintrin.h>

#include "kernels/cpu.h"
#include "kernels/gemm.h"

enum wtype { W_F32, W_F16, W_BF16 };

#ifndef PREFETCH_ELEMS
#define PREFETCH_ELEMS 1024   // weights ahead of the current 64 that a row's dot prefetches
#endif

static inline __mmask16 tail_mask(size_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

// 16 weights starting at element i of a row stored as `t`, widened exactly to F32. Inlined with
// a constant `t`, the switch disappears.
static inline __attribute__((always_inline)) __m512 load_w(const void *w, size_t i, __mmask16 m,
                                                           enum wtype t)
{
    switch (t) {
    case W_F16:
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i));
    case W_BF16: {
        __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i));
        return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
    }
    default:
        return _mm512_maskz_loadu_ps(m, (const float *)w + i);
    }
}

// One row: four accumulators over 64-element steps (enough loads in flight to stream a row at
// DRAM speed), then a masked tail.
static inline __attribute__((always_inline)) float dot(const float *x, const void *w, int n,
                                                       enum wtype t)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    const size_t bytes = t == W_F32 ? 4 : 2;
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        // Ahead of the hardware prefetchers, which stop at 4 KiB page boundaries; rows are
        // contiguous, so running past this row's end fetches the next one's start.
        for (size_t b = 0; b < 64 * bytes; b += 64)
            _mm_prefetch((const char *)w + (i + PREFETCH_ELEMS) * bytes + b, _MM_HINT_T0);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), load_w(w, (size_t)i, 0xffff, t), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), load_w(w, (size_t)i + 16, 0xffff, t),
                             a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), load_w(w, (size_t)i + 32, 0xffff, t),
                             a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), load_w(w, (size_t)i + 48, 0xffff, t),
                             a3);
    }
    for (; i < n; i += 16) {
        __mmask16 m = tail_mask((size_t)(n - i));
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), load_w(w, (size_t)i, m, t), a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

static inline __attribute__((always_inline)) void widen(float *dst, const uint16_t *src, size_t n,
                                                        enum wtype t)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(dst + i, m, load_w(src, i, m, t));
    }
}

static float dot_f32(const float *x, const float *w, int n) { return dot(x, w, n, W_F32); }
static float dot_f16(const float *x, const uint16_t *w, int n) { return dot(x, w, n, W_F16); }
static float dot_bf16(const float *x, const uint16_t *w, int n) { return dot(x, w, n, W_BF16); }

static void axpy_f32(float *y, float a, const float *x, int n)
{
    __m512 av = _mm512_set1_ps(a);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask((size_t)(n - i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i),
                                                        _mm512_maskz_loadu_ps(m, y + i)));
    }
}

static void f16_to_f32(float *d, const uint16_t *s, size_t n) { widen(d, s, n, W_F16); }
static void bf16_to_f32(float *d, const uint16_t *s, size_t n) { widen(d, s, n, W_BF16); }

const kevo_kernels kevo_kernels_avx512 = {
    .id = KEVO_ISA_AVX512,
    .isa = "avx512",
    .dot_f32 = dot_f32, .dot_f16 = dot_f16, .dot_bf16 = dot_bf16,
    .axpy_f32 = axpy_f32, .f16_to_f32 = f16_to_f32, .bf16_to_f32 = bf16_to_f32,
    .dequant = kevo_dequant_avx512, .dot_q = kevo_dot_q_avx512,
    .gemm = kevo_gemm_avx512, .gemm_scratch = kevo_gemm_avx512_scratch, .bf16_products = 1,
};
