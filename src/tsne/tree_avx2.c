// tree_avx2.c — the Barnes-Hut repulsion of 8 points at once (2-D, AVX2), tree_avx512.c's walk
// in 8 lanes: a block of KEVO_TSNE_BLOCK points walks the tree as two groups of 8. At every cell
// each active lane takes the decision negative_point() in tree.c takes for it (summarise, skip,
// or open the cell) and the children are visited only by the lanes that opened it, so a lane
// meets exactly the cells the scalar walk meets, in the same order, and adds the same
// float32/float64 terms in the same order (no fused multiply-add): the scalar bits.
#include <immintrin.h>
#include <stdint.h>

#include "tsne/tree.h"

#define LANES 8
#define STACK (KEVO_TSNE_MAX_DEPTH * 3 + 1)   // 3 pending siblings per level, plus the root

typedef struct pending {
    int32_t node;
    int32_t active;   // lane mask
} pending;

// The walk of points[0, count), count <= 8.
static void walk8(const kevo_tsne_tree *t, const float *Y, float theta2, const int32_t *points,
                  int count, float *neg, double *zsum)
{
    float xs[LANES] = {0}, ys[LANES] = {0};
    for (int l = 0; l < count; l++) {
        xs[l] = Y[2 * (size_t)points[l]];
        ys[l] = Y[2 * (size_t)points[l] + 1];
    }
    const __m256 px = _mm256_loadu_ps(xs), py = _mm256_loadu_ps(ys);
    const __m256 one = _mm256_set1_ps(1.0f), eps = _mm256_set1_ps(KEVO_TSNE_DUP_EPS);
    const __m256 vtheta2 = _mm256_set1_ps(theta2);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256 fx = _mm256_setzero_ps(), fy = _mm256_setzero_ps();
    __m256d z_lo = _mm256_setzero_pd(), z_hi = _mm256_setzero_pd();

    pending stack[STACK];
    int sp = 0;
    stack[sp++] = (pending){0, (1 << count) - 1};
    while (sp > 0) {
        pending top = stack[--sp];
        const kevo_tsne_node *c = &t->nodes[top.node];
        __m256 dx = _mm256_sub_ps(px, _mm256_set1_ps(c->bary[0]));
        __m256 dy = _mm256_sub_ps(py, _mm256_set1_ps(c->bary[1]));
        __m256 d2 = _mm256_add_ps(_mm256_mul_ps(dx, dx), _mm256_mul_ps(dy, dy));
        int take;
        if (c->n_children == 0) {
            __m256 dup = _mm256_and_ps(
                _mm256_cmp_ps(_mm256_and_ps(dx, abs_mask), eps, _CMP_LE_OQ),
                _mm256_cmp_ps(_mm256_and_ps(dy, abs_mask), eps, _CMP_LE_OQ));
            take = top.active & ~_mm256_movemask_ps(dup);
        } else {
            __m256 ratio = _mm256_div_ps(_mm256_set1_ps(c->w2), d2);
            take = top.active & _mm256_movemask_ps(_mm256_cmp_ps(ratio, vtheta2, _CMP_LT_OQ));
            int open = top.active & ~take;
            if (open)
                for (int k = c->n_children - 1; k >= 0; k--)
                    stack[sp++] = (pending){c->first + k, open};
        }
        if (!take)
            continue;
        // The lanes that summarise this cell, as a vector mask.
        __m256i on = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(take), bit), bit);
        // q = 1 / (1 + d2) in float; size q summed in double; mult = (float)(size q q).
        __m256 q = _mm256_div_ps(one, _mm256_add_ps(one, d2));
        __m256d size = _mm256_set1_pd((double)c->size);
        __m256d q_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(q));
        __m256d q_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1));
        __m256d sq_lo = _mm256_mul_pd(size, q_lo), sq_hi = _mm256_mul_pd(size, q_hi);
        __m256d on_lo = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(on)));
        __m256d on_hi = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(on, 1)));
        z_lo = _mm256_blendv_pd(z_lo, _mm256_add_pd(z_lo, sq_lo), on_lo);
        z_hi = _mm256_blendv_pd(z_hi, _mm256_add_pd(z_hi, sq_hi), on_hi);
        __m128 m_lo = _mm256_cvtpd_ps(_mm256_mul_pd(sq_lo, q_lo));
        __m128 m_hi = _mm256_cvtpd_ps(_mm256_mul_pd(sq_hi, q_hi));
        __m256 mult = _mm256_insertf128_ps(_mm256_castps128_ps256(m_lo), m_hi, 1);
        __m256 onf = _mm256_castsi256_ps(on);
        fx = _mm256_blendv_ps(fx, _mm256_add_ps(fx, _mm256_mul_ps(mult, dx)), onf);
        fy = _mm256_blendv_ps(fy, _mm256_add_ps(fy, _mm256_mul_ps(mult, dy)), onf);
    }
    float ox[LANES], oy[LANES];
    double oz[LANES];
    _mm256_storeu_ps(ox, fx);
    _mm256_storeu_ps(oy, fy);
    _mm256_storeu_pd(oz, z_lo);
    _mm256_storeu_pd(oz + 4, z_hi);
    for (int l = 0; l < count; l++) {
        neg[2 * (size_t)points[l]] = ox[l];
        neg[2 * (size_t)points[l] + 1] = oy[l];
        zsum[points[l]] = oz[l];
    }
}

void kevo_tsne_tree_negative_avx2(const kevo_tsne_tree *t, const float *Y, float theta2,
                                  const int32_t *points, int count, float *neg, double *zsum)
{
    for (int g = 0; g < count; g += LANES)
        walk8(t, Y, theta2, points + g, count - g < LANES ? count - g : LANES, neg, zsum);
}
