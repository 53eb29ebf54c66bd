// tree_avx2.c — the Barnes-Hut repulsion of 16 points at once (2-D, AVX2), tree_avx512.c's walk
// with the 16 lanes in two 8-lane halves. At every cell each active lane takes the decision
// negative_point() in tree.c takes for it (summarise, skip, or open the cell) and the children
// are visited only by the lanes that opened it, so a lane meets exactly the cells the scalar walk
// meets, in the same order, and adds the same float32/float64 terms in the same order (no fused
// multiply-add): the scalar bits. One walk of 16 rather than two of 8, and no branch per half:
// the walk is bound by its decisions (data-dependent branches), not its arithmetic (measured on
// digits under KEVO_ISA=avx2: 312 against 360 us per repulsion; zeroing q instead of blending
// the sums, or replacing the opening test's division by products, changed nothing measurable).
#include <immintrin.h>
#include <stdint.h>

#include "tsne/tree.h"

#define LANES 16   // two 8-lane halves walk together: one walk's decisions serve 16 points
#define HALF 8
#define STACK (KEVO_TSNE_MAX_DEPTH * 3 + 1)   // 3 pending siblings per level, plus the root

typedef struct pending {
    int32_t node;
    int32_t active;   // lane mask, bit l for lane l
} pending;

void kevo_tsne_tree_negative_avx2(const kevo_tsne_tree *t, const float *Y, float theta2,
                                  const int32_t *points, int count, float *neg, double *zsum)
{
    float xs[LANES] = {0}, ys[LANES] = {0};
    for (int l = 0; l < count; l++) {
        xs[l] = Y[2 * (size_t)points[l]];
        ys[l] = Y[2 * (size_t)points[l] + 1];
    }
    const __m256 one = _mm256_set1_ps(1.0f), eps = _mm256_set1_ps(KEVO_TSNE_DUP_EPS);
    const __m256 vtheta2 = _mm256_set1_ps(theta2);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256 px[2], py[2], fx[2], fy[2];
    __m256d z[2][2];
    for (int h = 0; h < 2; h++) {
        px[h] = _mm256_loadu_ps(xs + HALF * h);
        py[h] = _mm256_loadu_ps(ys + HALF * h);
        fx[h] = fy[h] = _mm256_setzero_ps();
        z[h][0] = z[h][1] = _mm256_setzero_pd();
    }

    pending stack[STACK];
    int sp = 0;
    stack[sp++] = (pending){0, (int32_t)((1u << count) - 1)};
    while (sp > 0) {
        pending top = stack[--sp];
        const kevo_tsne_node *c = &t->nodes[top.node];
        const __m256 bx = _mm256_set1_ps(c->bary[0]), by = _mm256_set1_ps(c->bary[1]);
        const __m256 w2 = _mm256_set1_ps(c->w2);
        __m256 dx[2], dy[2], d2[2];
        int take = 0;
        for (int h = 0; h < 2; h++) {
            dx[h] = _mm256_sub_ps(px[h], bx);
            dy[h] = _mm256_sub_ps(py[h], by);
            d2[h] = _mm256_add_ps(_mm256_mul_ps(dx[h], dx[h]), _mm256_mul_ps(dy[h], dy[h]));
            __m256 ok;
            if (c->n_children == 0)   // summarised unless a duplicate of the point (skipped)
                ok = _mm256_or_ps(
                    _mm256_cmp_ps(_mm256_and_ps(dx[h], abs_mask), eps, _CMP_NLE_UQ),
                    _mm256_cmp_ps(_mm256_and_ps(dy[h], abs_mask), eps, _CMP_NLE_UQ));
            else
                ok = _mm256_cmp_ps(_mm256_div_ps(w2, d2[h]), vtheta2, _CMP_LT_OQ);
            take |= _mm256_movemask_ps(ok) << (HALF * h);
        }
        take &= top.active;
        int open = c->n_children ? top.active & ~take : 0;
        if (open)
            for (int k = c->n_children - 1; k >= 0; k--)
                stack[sp++] = (pending){c->first + k, open};
        if (!take)
            continue;
        // q = 1 / (1 + d2) in float; size q summed in double; mult = (float)(size q q). q is
        // zeroed in the lanes that do not summarise this cell: they then add +0 to z (never -0,
        // a sum of non-negative terms from +0) and +-0 to the forces (never -0 either: a float
        // sum from +0 only reaches -0 by adding -0 to -0), which leaves them unchanged.
        const __m256d size = _mm256_set1_pd((double)c->size);
        for (int h = 0; h < 2; h++) {
            __m256i on = _mm256_cmpeq_epi32(
                _mm256_and_si256(_mm256_set1_epi32(take >> (HALF * h)), bit), bit);
            __m256 q = _mm256_and_ps(_mm256_div_ps(one, _mm256_add_ps(one, d2[h])),
                                     _mm256_castsi256_ps(on));
            __m256d q_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(q));
            __m256d q_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1));
            __m256d sq_lo = _mm256_mul_pd(size, q_lo), sq_hi = _mm256_mul_pd(size, q_hi);
            z[h][0] = _mm256_add_pd(z[h][0], sq_lo);
            z[h][1] = _mm256_add_pd(z[h][1], sq_hi);
            __m128 m_lo = _mm256_cvtpd_ps(_mm256_mul_pd(sq_lo, q_lo));
            __m128 m_hi = _mm256_cvtpd_ps(_mm256_mul_pd(sq_hi, q_hi));
            __m256 mult = _mm256_insertf128_ps(_mm256_castps128_ps256(m_lo), m_hi, 1);
            fx[h] = _mm256_add_ps(fx[h], _mm256_mul_ps(mult, dx[h]));
            fy[h] = _mm256_add_ps(fy[h], _mm256_mul_ps(mult, dy[h]));
        }
    }
    float ox[LANES], oy[LANES];
    double oz[LANES];
    for (int h = 0; h < 2; h++) {
        _mm256_storeu_ps(ox + HALF * h, fx[h]);
        _mm256_storeu_ps(oy + HALF * h, fy[h]);
        _mm256_storeu_pd(oz + HALF * h, z[h][0]);
        _mm256_storeu_pd(oz + HALF * h + 4, z[h][1]);
    }
    for (int l = 0; l < count; l++) {
        neg[2 * (size_t)points[l]] = ox[l];
        neg[2 * (size_t)points[l] + 1] = oy[l];
        zsum[points[l]] = oz[l];
    }
}
