// dot_avx2.c — AVX2 + FMA + F16C kernels: dot products of F32 activations with F32/F16/BF16
// weight rows, and exact widening. Compiled with these flags only for this file; cpu.c selects it
// after checking the CPU. AVX2 has no 16-bit masked loads, so tails (n % 8 elements) are widened
// through a small stack buffer; the summation order depends only on n.
#include <immintrin.h>

#include "base/convert.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"

enum wtype { W_F32, W_F16, W_BF16 };

// 8 weights starting at element i, widened exactly to F32.
static inline __attribute__((always_inline)) __m256 load_w(const void *w, size_t i, enum wtype t)
{
    switch (t) {
    case W_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
    case W_BF16: {
        __m256i wide = _mm256_cvtepu16_epi32(
            _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    }
    default:
        return _mm256_loadu_ps((const float *)w + i);
    }
}

// The last n % 8 elements, zero-padded to a full vector (x and w both).
static inline __attribute__((always_inline)) void load_tail(const float *x, const void *w,
                                                            size_t i, int left, enum wtype t,
                                                            __m256 *xv, __m256 *wv)
{
    float xs[8] = {0}, ws[8] = {0};
    for (int j = 0; j < left; j++) {
        xs[j] = x[i + j];
        ws[j] = t == W_F32 ? ((const float *)w)[i + j]
              : t == W_F16 ? kevo_f16_to_f32(((const uint16_t *)w)[i + j])
                           : kevo_bf16_to_f32(((const uint16_t *)w)[i + j]);
    }
    *xv = _mm256_loadu_ps(xs);
    *wv = _mm256_loadu_ps(ws);
}

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// One row: four accumulators over 32-element steps (enough loads in flight to stream a row at
// DRAM speed), then 8-element steps and a zero-padded tail.
static inline __attribute__((always_inline)) float dot(const float *x, const void *w, int n,
                                                       enum wtype t)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), load_w(w, (size_t)i, t), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), load_w(w, (size_t)i + 8, t), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), load_w(w, (size_t)i + 16, t), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), load_w(w, (size_t)i + 24, t), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), load_w(w, (size_t)i, t), a0);
    if (i < n) {
        __m256 xv, wv;
        load_tail(x, w, (size_t)i, n - i, t, &xv, &wv);
        a1 = _mm256_fmadd_ps(xv, wv, a1);
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

static inline __attribute__((always_inline)) void widen(float *dst, const uint16_t *src, size_t n,
                                                        enum wtype t)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, load_w(src, i, t));
    for (; i < n; i++)
        dst[i] = t == W_F16 ? kevo_f16_to_f32(src[i]) : kevo_bf16_to_f32(src[i]);
}

static float dot_f32(const float *x, const float *w, int n) { return dot(x, w, n, W_F32); }
static float dot_f16(const float *x, const uint16_t *w, int n) { return dot(x, w, n, W_F16); }
static float dot_bf16(const float *x, const uint16_t *w, int n) { return dot(x, w, n, W_BF16); }

static void axpy_f32(float *y, float a, const float *x, int n)
{
    __m256 av = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

static void f16_to_f32(float *d, const uint16_t *s, size_t n) { widen(d, s, n, W_F16); }
static void bf16_to_f32(float *d, const uint16_t *s, size_t n) { widen(d, s, n, W_BF16); }

const kevo_kernels kevo_kernels_avx2 = {
    .id = KEVO_ISA_AVX2,
    .isa = "avx2",
    .dot_f32 = dot_f32, .dot_f16 = dot_f16, .dot_bf16 = dot_bf16,
    .axpy_f32 = axpy_f32, .f16_to_f32 = f16_to_f32, .bf16_to_f32 = bf16_to_f32,
    .dequant = kevo_dequant_avx2, .dot_q = kevo_dot_q_avx2,
    .gemm = kevo_gemm_avx2, .gemm_scratch = kevo_gemm_avx2_scratch, .bf16_products = 0,
};
