// gradient_avx512.c — the Barnes-Hut attraction of t-SNE, 16 neighbours at a time (2-D,
// AVX-512F, and BW + VL for the 16-bit indices). Lane l of a row takes its entries l, l + 16,
// l + 32, ... and the lanes are folded pairwise at the end, exactly as positive_rows() in
// gradient.c adds them, with the same float32 operations (no fused multiply-add): the two give
// identical bits.
//
// The neighbours' positions are gathered as (x, y) pairs, one 64-bit element per neighbour, and
// split into x and y afterwards: the gathers were the kernel's cost (perf: half its cycles), and
// a gather costs by the element, so pairs halve it against separate x and y gathers.
#include <immintrin.h>

#include "tsne/gradient.h"

// v[l] += v[l + 8], then + 4, + 2, + 1; returns v[0].
static float fold(__m512 v)
{
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_cvtss_f32(v);
}

void kevo_tsne_positive_avx512(const kevo_tsne_csr *P, const float *Pf, const float *Y, int i0,
                               int i1, float *pos)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int i = i0; i < i1; i++) {
        const float *yi_ = Y + 2 * (size_t)i;
        const __m512 xi = _mm512_set1_ps(yi_[0]), yi = _mm512_set1_ps(yi_[1]);
        // Point i's own pair fills the lanes past a row's end (they are masked off).
        const __m512d self = _mm512_broadcastsd_pd(_mm_castsi128_pd(
            _mm_loadl_epi64((const __m128i *)yi_)));
        __m512 ax = _mm512_setzero_ps(), ay = _mm512_setzero_ps();
        int64_t k = P->indptr[i], end = P->indptr[i + 1];
        for (; k < end; k += KEVO_TSNE_LANES) {
            __mmask16 m = end - k >= KEVO_TSNE_LANES ? 0xffff
                                                     : (__mmask16)((1u << (end - k)) - 1);
            __m512i j = P->indices16
                            ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, P->indices16 + k))
                            : _mm512_maskz_loadu_epi32(m, P->indices + k);
            __m512 lo = _mm512_castpd_ps(_mm512_mask_i32gather_pd(
                self, (__mmask8)m, _mm512_castsi512_si256(j), Y, 8));
            __m512 hi = _mm512_castpd_ps(_mm512_mask_i32gather_pd(
                self, (__mmask8)(m >> 8), _mm512_extracti64x4_epi64(j, 1), Y, 8));
            __m512 dx = _mm512_sub_ps(xi, _mm512_permutex2var_ps(lo, even, hi));
            __m512 dy = _mm512_sub_ps(yi, _mm512_permutex2var_ps(lo, odd, hi));
            __m512 d = _mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy));
            __m512 q = _mm512_div_ps(one, _mm512_add_ps(one, d));
            __m512 pq = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, Pf + k), q);
            ax = _mm512_mask_add_ps(ax, m, ax, _mm512_mul_ps(pq, dx));
            ay = _mm512_mask_add_ps(ay, m, ay, _mm512_mul_ps(pq, dy));
        }
        pos[2 * (size_t)i] = fold(ax);
        pos[2 * (size_t)i + 1] = fold(ay);
    }
}
