// gradient_avx2.c — the Barnes-Hut attraction of t-SNE, 16 neighbours at a time in two 8-lane
// halves (2-D, AVX2; the avx512 path runs it too). Lane l of a row takes its entries l, l + 16,
// ..., then the lanes are folded pairwise (l += l + 8, + 4, + 2, + 1), exactly as positive_rows()
// in gradient.c adds them, with the same float32 operations (no fused multiply-add): identical
// bits. The neighbours' (x, y) pairs are read with one 64-bit load each rather than gathered: the
// gathers were the cost (perf: half the cycles of the former AVX-512 kernel), and on the AMD core
// measured (Zen 4) the loads took half the time of even 64-bit pair gathers.
#include <immintrin.h>

#include "tsne/gradient.h"

// Lanes 8 (lo) and 8 (hi) folded as v[l] += v[l + 8], + 4, + 2, + 1; returns v[0].
static float fold(__m256 lo, __m256 hi)
{
    __m256 v = _mm256_add_ps(lo, hi);
    __m128 w = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    w = _mm_add_ps(w, _mm_movehl_ps(w, w));
    w = _mm_add_ss(w, _mm_shuffle_ps(w, w, _MM_SHUFFLE(1, 1, 1, 1)));
    return _mm_cvtss_f32(w);
}

// Point j's (x, y) pair into the low or high half of an xmm register.
static inline __m128 pair_lo(__m128 v, const float *Y, int32_t j)
{
    return _mm_loadl_pi(v, (const __m64 *)(Y + 2 * (size_t)j));
}
static inline __m128 pair_hi(__m128 v, const float *Y, int32_t j)
{
    return _mm_loadh_pi(v, (const __m64 *)(Y + 2 * (size_t)j));
}

// Eight entries: neighbour indices j, values p; adds p q (y_i - y_j) to the lanes where `on`.
static inline void eight(const float *Y, const int32_t *j, __m256 p, __m256 xi, __m256 yi,
                         __m256 on, __m256 *ax, __m256 *ay)
{
    // Entries 0 1 | 4 5 and 2 3 | 6 7 as (x, y) pairs: the in-lane shuffles then give x and y
    // in order. Plain 64-bit loads: on AMD cores they beat a gather (measured).
    __m128 z = _mm_setzero_ps();
    __m256 g0 = _mm256_insertf128_ps(
        _mm256_castps128_ps256(pair_hi(pair_lo(z, Y, j[0]), Y, j[1])),
        pair_hi(pair_lo(z, Y, j[4]), Y, j[5]), 1);
    __m256 g1 = _mm256_insertf128_ps(
        _mm256_castps128_ps256(pair_hi(pair_lo(z, Y, j[2]), Y, j[3])),
        pair_hi(pair_lo(z, Y, j[6]), Y, j[7]), 1);
    __m256 dx = _mm256_sub_ps(xi, _mm256_shuffle_ps(g0, g1, _MM_SHUFFLE(2, 0, 2, 0)));
    __m256 dy = _mm256_sub_ps(yi, _mm256_shuffle_ps(g0, g1, _MM_SHUFFLE(3, 1, 3, 1)));
    __m256 d = _mm256_add_ps(_mm256_mul_ps(dx, dx), _mm256_mul_ps(dy, dy));
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 pq = _mm256_mul_ps(p, _mm256_div_ps(one, _mm256_add_ps(one, d)));
    *ax = _mm256_blendv_ps(*ax, _mm256_add_ps(*ax, _mm256_mul_ps(pq, dx)), on);
    *ay = _mm256_blendv_ps(*ay, _mm256_add_ps(*ay, _mm256_mul_ps(pq, dy)), on);
}

void kevo_tsne_positive_avx2(const kevo_tsne_csr *P, const float *Pf, const float *Y, int i0,
                             int i1, float *pos)
{
    const __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int i = i0; i < i1; i++) {
        const __m256 xi = _mm256_set1_ps(Y[2 * (size_t)i]);
        const __m256 yi = _mm256_set1_ps(Y[2 * (size_t)i + 1]);
        __m256 ax[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        __m256 ay[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        int64_t k = P->indptr[i], end = P->indptr[i + 1];
        int32_t j[KEVO_TSNE_LANES];
        for (; end - k >= KEVO_TSNE_LANES; k += KEVO_TSNE_LANES) {
            const int32_t *jk = P->indices + k;
            if (P->indices16) {
                for (int l = 0; l < KEVO_TSNE_LANES; l++)
                    j[l] = P->indices16[k + l];
                jk = j;
            }
            for (int h = 0; h < 2; h++)
                eight(Y, jk + 8 * h, _mm256_loadu_ps(Pf + k + 8 * h), xi, yi, all, &ax[h],
                      &ay[h]);
        }
        if (k < end) {
            // The last partial group: its entries copied out, the lanes past the row's end
            // pointing at point i itself and switched off.
            float p[KEVO_TSNE_LANES];
            int r = (int)(end - k);
            for (int l = 0; l < KEVO_TSNE_LANES; l++) {
                j[l] = l < r ? (P->indices16 ? P->indices16[k + l] : P->indices[k + l]) : i;
                p[l] = l < r ? Pf[k + l] : 0.0f;
            }
            for (int h = 0; h < 2; h++) {
                __m256 on = _mm256_castsi256_ps(
                    _mm256_cmpgt_epi32(_mm256_set1_epi32(r - 8 * h), lane));
                eight(Y, j + 8 * h, _mm256_loadu_ps(p + 8 * h), xi, yi, on, &ax[h], &ay[h]);
            }
        }
        pos[2 * (size_t)i] = fold(ax[0], ax[1]);
        pos[2 * (size_t)i + 1] = fold(ay[0], ay[1]);
    }
}
