// tree_avx512.c — the Barnes-Hut repulsion of 16 points at once (2-D, AVX-512F).
//
// Points that are neighbours in the tree's order walk the tree together, one lane each: at
// every cell each active lane takes the decision negative_point() in tree.c takes for it
// (summarise, skip, or open the cell), and the cell's children are visited only by the lanes
// that opened it. A lane therefore meets exactly the cells the scalar walk meets, in the same
// order, and adds the same float32/float64 terms in the same order (no fused multiply-add):
// the result is bit-identical to the scalar reference, only the tree is read 16 times less.
#include <immintrin.h>
#include <stdint.h>

#include "tsne/tree.h"

#define LANES 16
#define STACK (KEVO_TSNE_MAX_DEPTH * 3 + 1)   // 3 pending siblings per level, plus the root

typedef struct pending {
    int32_t node;
    __mmask16 active;
} pending;

void kevo_tsne_tree_negative_avx512(const kevo_tsne_tree *t, const float *Y, float theta2,
                                    const int32_t *points, int count, float *neg,
                                    double *zsum)
{
    __mmask16 all = (__mmask16)(count == LANES ? 0xffff : (1u << count) - 1);
    float xs[LANES] = {0}, ys[LANES] = {0};
    for (int l = 0; l < count; l++) {
        xs[l] = Y[2 * (size_t)points[l]];
        ys[l] = Y[2 * (size_t)points[l] + 1];
    }
    const __m512 px = _mm512_loadu_ps(xs), py = _mm512_loadu_ps(ys);
    const __m512 one = _mm512_set1_ps(1.0f), eps = _mm512_set1_ps(KEVO_TSNE_DUP_EPS);
    const __m512 vtheta2 = _mm512_set1_ps(theta2);
    __m512 fx = _mm512_setzero_ps(), fy = _mm512_setzero_ps();
    __m512d z_lo = _mm512_setzero_pd(), z_hi = _mm512_setzero_pd();

    pending stack[STACK];
    int sp = 0;
    stack[sp++] = (pending){0, all};
    while (sp > 0) {
        pending top = stack[--sp];
        const kevo_tsne_node *c = &t->nodes[top.node];
        __m512 dx = _mm512_sub_ps(px, _mm512_set1_ps(c->bary[0]));
        __m512 dy = _mm512_sub_ps(py, _mm512_set1_ps(c->bary[1]));
        __m512 d2 = _mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy));
        __mmask16 take;
        if (c->n_children == 0) {
            __mmask16 dup = _mm512_cmp_ps_mask(_mm512_abs_ps(dx), eps, _CMP_LE_OQ) &
                            _mm512_cmp_ps_mask(_mm512_abs_ps(dy), eps, _CMP_LE_OQ);
            take = top.active & (__mmask16)~dup;
        } else {
            __m512 ratio = _mm512_div_ps(_mm512_set1_ps(c->w2), d2);
            take = _mm512_mask_cmp_ps_mask(top.active, ratio, vtheta2, _CMP_LT_OQ);
            __mmask16 open = top.active & (__mmask16)~take;
            if (open)
                for (int k = c->n_children - 1; k >= 0; k--)
                    stack[sp++] = (pending){c->first + k, open};
        }
        if (!take)
            continue;
        // q = 1 / (1 + d2) in float; size q summed in double; mult = (float)(size q q).
        __m512 q = _mm512_div_ps(one, _mm512_add_ps(one, d2));
        __m512d size = _mm512_set1_pd((double)c->size);
        __m512d q_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(q));
        __m512d q_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(
            _mm512_castps_pd(q), 1)));
        __m512d sq_lo = _mm512_mul_pd(size, q_lo), sq_hi = _mm512_mul_pd(size, q_hi);
        z_lo = _mm512_mask_add_pd(z_lo, (__mmask8)take, z_lo, sq_lo);
        z_hi = _mm512_mask_add_pd(z_hi, (__mmask8)(take >> 8), z_hi, sq_hi);
        __m256 m_lo = _mm512_cvtpd_ps(_mm512_mul_pd(sq_lo, q_lo));
        __m256 m_hi = _mm512_cvtpd_ps(_mm512_mul_pd(sq_hi, q_hi));
        __m512 mult = _mm512_castpd_ps(_mm512_insertf64x4(
            _mm512_castps_pd(_mm512_castps256_ps512(m_lo)), _mm256_castps_pd(m_hi), 1));
        fx = _mm512_mask_add_ps(fx, take, fx, _mm512_mul_ps(mult, dx));
        fy = _mm512_mask_add_ps(fy, take, fy, _mm512_mul_ps(mult, dy));
    }
    float ox[LANES], oy[LANES];
    double oz[LANES];
    _mm512_storeu_ps(ox, fx);
    _mm512_storeu_ps(oy, fy);
    _mm512_storeu_pd(oz, z_lo);
    _mm512_storeu_pd(oz + 8, z_hi);
    for (int l = 0; l < count; l++) {
        neg[2 * (size_t)points[l]] = ox[l];
        neg[2 * (size_t)points[l] + 1] = oy[l];
        zsum[points[l]] = oz[l];
    }
}
