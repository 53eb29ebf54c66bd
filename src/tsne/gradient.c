// gradient.c — KL divergence and gradient of t-SNE, exact (sklearn/manifold/_t_sne.py
// _kl_divergence) and Barnes-Hut (_kl_divergence_bh with sklearn/manifold/_barnes_hut_tsne.pyx:
// compute_gradient, compute_gradient_positive; the negative half is in tree.c).
//
// Precision follows sklearn: the exact method measures distances in double (scipy's pdist
// converts the float32 embedding) and differences in float32; Barnes-Hut works in float32 except
// for the normaliser sum_Q. Where sklearn sums in parallel with an unordered reduction (sum_Q,
// the KL error) the sum here runs per point and then over points in index order, in double. A
// row's attraction is summed in 16 interleaved float32 partial sums (the SIMD layout, described
// in gradient.h) instead of one running sum: rounding-level differences, always the same.
#include "tsne/gradient.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "base/error.h"
#include "kernels/cpu.h"

// Below this size one thread is faster than two meeting at barriers.
#define PARALLEL_MIN_POINTS_EXACT 256

double kevo_tsne_exact_gradient(const double *P, const float *Y, int n, int dim, int dof,
                                int compute_error, float *grad, double *work)
{
    double *dist = work, *row_sum = work + (size_t)n * (size_t)n;
    const double exponent = (dof + 1.0) / -2.0;
    const int threads = n >= PARALLEL_MIN_POINTS_EXACT ? omp_get_max_threads() : 1;
    // dist_ij = (1 + |y_i - y_j|^2 / dof)^exponent; numpy's x **= -1.0 is a reciprocal.
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < n; j++) {
            double d = 0.0;
            for (int a = 0; a < dim; a++) {
                double u = (double)Y[(size_t)i * dim + a] - (double)Y[(size_t)j * dim + a];
                d += u * u;
            }
            double v = d / dof + 1.0;
            v = dof == 1 ? 1.0 / v : pow(v, exponent);
            dist[(size_t)i * n + j] = j == i ? 0.0 : v;
            if (j > i)
                s += v;
        }
        row_sum[i] = s;
    }
    double total = 0.0;   // over the pairs i < j, as sklearn's condensed vector
    for (int i = 0; i < n; i++)
        total += row_sum[i];
    const double two_total = 2.0 * total;
    const float c = (float)(2.0 * (dof + 1.0) / dof);

#pragma omp parallel for schedule(static) num_threads(threads)
    for (int i = 0; i < n; i++) {
        const double *p = P + (size_t)i * n, *w = dist + (size_t)i * n;
        double g[3] = {0, 0, 0}, kl = 0.0;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            double q = fmax(w[j] / two_total, DBL_EPSILON);
            if (compute_error && j > i)
                kl += p[j] * log(fmax(p[j], DBL_EPSILON) / q);
            double pqd = (p[j] - q) * w[j];
            for (int a = 0; a < dim; a++) {
                float diff = Y[(size_t)i * dim + a] - Y[(size_t)j * dim + a];
                g[a] += pqd * (double)diff;
            }
        }
        for (int a = 0; a < dim; a++)
            grad[(size_t)i * dim + a] = (float)g[a] * c;
        row_sum[i] = kl;
    }
    if (!compute_error)
        return NAN;
    double kl = 0.0;
    for (int i = 0; i < n; i++)
        kl += row_sum[i];
    return 2.0 * kl;
}

struct kevo_tsne_bh {
    int n, dim;
    kevo_tsne_tree *tree;
    float *pos;       // (n, dim) attraction numerators
    float *neg;       // (n, dim) repulsion numerators
    double *zsum;     // (n) per-point parts of the normaliser
    double *row_kl;   // (n) per-point parts of the KL divergence
};

kevo_status kevo_tsne_bh_create(int n, int dim, kevo_tsne_bh **out, kevo_error *err)
{
    *out = NULL;
    kevo_tsne_bh *bh = calloc(1, sizeof *bh);
    if (!bh)
        return kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE: out of memory");
    bh->n = n;
    bh->dim = dim;
    kevo_status st = kevo_tsne_tree_create(n, dim, &bh->tree, err);
    if (st != KEVO_OK) {
        kevo_tsne_bh_free(bh);
        return st;
    }
    size_t m = (size_t)n * (size_t)dim;
    bh->pos = malloc(sizeof *bh->pos * m);
    bh->neg = malloc(sizeof *bh->neg * m);
    bh->zsum = malloc(sizeof *bh->zsum * (size_t)n);
    bh->row_kl = malloc(sizeof *bh->row_kl * (size_t)n);
    if (!bh->pos || !bh->neg || !bh->zsum || !bh->row_kl) {
        kevo_tsne_bh_free(bh);
        return kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE: out of memory for %d points", n);
    }
    *out = bh;
    return KEVO_OK;
}

void kevo_tsne_bh_free(kevo_tsne_bh *bh)
{
    if (!bh)
        return;
    kevo_tsne_tree_free(bh->tree);
    free(bh->pos);
    free(bh->neg);
    free(bh->zsum);
    free(bh->row_kl);
    free(bh);
}

// The scalar attraction of rows [i0, i1), in the lane order described in gradient.h.
static void positive_rows(const kevo_tsne_csr *P, const float *Pf, const float *Y, int dim,
                          int dof, int i0, int i1, float *pos)
{
    const float fdof = (float)dof, exponent = (fdof + 1.0f) / 2.0f;
    for (int i = i0; i < i1; i++) {
        const float *yi = Y + (size_t)i * dim;
        float acc[3][KEVO_TSNE_LANES] = {{0}};
        const int64_t first = P->indptr[i];
        for (int64_t k = first; k < P->indptr[i + 1]; k++) {
            const float *yj = Y + (size_t)P->indices[k] * dim;
            float buff[3], dij = 0.0f;
            for (int a = 0; a < dim; a++) {
                buff[a] = yi[a] - yj[a];
                dij += buff[a] * buff[a];
            }
            float qij = fdof / (fdof + dij);
            if (dof != 1)
                qij = powf(qij, exponent);
            float pq = Pf[k] * qij;
            int l = (int)((k - first) % KEVO_TSNE_LANES);
            for (int a = 0; a < dim; a++)
                acc[a][l] += pq * buff[a];
        }
        for (int a = 0; a < dim; a++) {
            for (int s = KEVO_TSNE_LANES / 2; s >= 1; s /= 2)
                for (int l = 0; l < s; l++)
                    acc[a][l] += acc[a][l + s];
            pos[(size_t)i * dim + a] = acc[a][0];
        }
    }
}

// Row i's part of the KL divergence sklearn reports: sum p log(max(p, tiny) / max(q/Z, tiny))
// over the row's nonzeros (float32 ratio as in _barnes_hut_tsne.pyx; summed in double here).
static double row_kl(const kevo_tsne_csr *P, const float *Pf, const float *Y, int dim, int dof,
                     double sum_q, int i)
{
    const float fdof = (float)dof, exponent = (fdof + 1.0f) / 2.0f;
    const float *yi = Y + (size_t)i * dim;
    double e = 0.0;
    for (int64_t k = P->indptr[i]; k < P->indptr[i + 1]; k++) {
        const float *yj = Y + (size_t)P->indices[k] * dim;
        float dij = 0.0f;
        for (int a = 0; a < dim; a++) {
            float u = yi[a] - yj[a];
            dij += u * u;
        }
        float qij = fdof / (fdof + dij);
        if (dof != 1)
            qij = powf(qij, exponent);
        float pij = Pf[k], qn = (float)(qij / sum_q);
        e += (double)pij * log((double)(fmaxf(pij, FLT_MIN) / fmaxf(qn, FLT_MIN)));
    }
    return e;
}

#define ROWS_PER_CHUNK 256

const kevo_tsne_kernels *kevo_tsne_kernels_get(void)
{
#if defined(__x86_64__) || defined(__i386__)
    // The AVX2 attraction on both: on the Zen 4 measured its 64-bit loads beat AVX-512 gathers
    // (digits 154 against 134 us per gradient, 5000 blobs 586 against 1030 us).
    static const kevo_tsne_kernels avx512 = {.positive_2d = kevo_tsne_positive_avx2,
                                             .negative_2d = kevo_tsne_tree_negative_avx512};
    static const kevo_tsne_kernels avx2 = {.positive_2d = kevo_tsne_positive_avx2,
                                           .negative_2d = kevo_tsne_tree_negative_avx2};
    kevo_isa isa = kevo_kernels_get()->id;
    return isa == KEVO_ISA_AVX512 ? &avx512 : isa == KEVO_ISA_AVX2 ? &avx2 : NULL;
#else
    return NULL;   // the *_avx2.c and *_avx512.c files are compiled for x86 only (Makefile)
#endif
}

kevo_status kevo_tsne_bh_gradient(kevo_tsne_bh *bh, const kevo_tsne_csr *P, const float *Pf,
                                  const float *Y, float angle, int dof, int compute_error,
                                  int simd, int n_threads, float *grad, double *kl,
                                  kevo_error *err)
{
    const int n = bh->n, dim = bh->dim;
    // The SIMD forms of this kernel path, where they apply; NULL runs the scalar code.
    const kevo_tsne_kernels *sk = simd && dim == 2 && dof == 1 ? kevo_tsne_kernels_get() : NULL;
    const int n_chunks = (n + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK;
    const float c = (float)(2.0 * (dof + 1.0) / dof);
    kevo_status st = KEVO_OK;
    // One parallel region per gradient, with three barriers. Every output row or point has a
    // single owner and the sums over points run in index order, so the schedule cannot change a
    // bit.
#pragma omp parallel num_threads(n_threads)
    {
        // The tree (serial) is built while the other threads compute the attraction, which does
        // not need it: work item 0 is the tree, items 1.. are chunks of rows.
#pragma omp for schedule(dynamic, 1)
        for (int w = 0; w <= n_chunks; w++) {
            if (w == 0) {
                st = kevo_tsne_tree_build(bh->tree, Y, err);
                continue;
            }
            int i0 = (w - 1) * ROWS_PER_CHUNK;
            int i1 = i0 + ROWS_PER_CHUNK < n ? i0 + ROWS_PER_CHUNK : n;
            if (sk) {
                sk->positive_2d(P, Pf, Y, i0, i1, bh->pos);
                continue;
            }
            positive_rows(P, Pf, Y, dim, dof, i0, i1, bh->pos);
        }
        if (st == KEVO_OK) {
#pragma omp for schedule(dynamic, 4)
            for (int b = 0; b < kevo_tsne_tree_n_blocks(bh->tree); b++)
                kevo_tsne_tree_negative_block(bh->tree, Y, angle, dof,
                                              sk ? sk->negative_2d : NULL, b, bh->neg, bh->zsum);
            // Every thread sums the normaliser itself, in the same order: no barrier needed.
            double z = 0.0;
            for (int i = 0; i < n; i++)
                z += bh->zsum[i];
            z = fmax(z, (double)(float)DBL_EPSILON);   // a C float in _barnes_hut_tsne.pyx
            // compute_gradient: pos - neg / sum_Q (double arithmetic, stored as float32), then
            // the factor 2 (dof + 1) / dof that _kl_divergence_bh applies in float32.
#pragma omp for schedule(static) nowait
            for (int i = 0; i < n; i++) {
                for (int a = 0; a < dim; a++) {
                    size_t o = (size_t)i * dim + a;
                    grad[o] = (float)((double)bh->pos[o] - (double)bh->neg[o] / z) * c;
                }
                if (compute_error)
                    bh->row_kl[i] = row_kl(P, Pf, Y, dim, dof, z, i);
            }
        }
    }
    if (st != KEVO_OK)
        return st;
    *kl = NAN;
    if (compute_error) {
        double s = 0.0;
        for (int i = 0; i < n; i++)
            s += bh->row_kl[i];
        *kl = s;
    }
    return KEVO_OK;
}
