// affinity.c — perplexity calibration and the joint probabilities P of t-SNE, following
// sklearn/manifold/_utils.pyx (_binary_search_perplexity) and sklearn/manifold/_t_sne.py
// (_joint_probabilities, _joint_probabilities_nn) of scikit-learn 1.2.
#include "tsne/affinity.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

// _utils.pyx declares these as C floats, so their values are the float32 roundings.
#define PERPLEXITY_TOLERANCE ((double)1e-5f)
#define EPSILON_DBL ((double)1e-8f)
#define N_STEPS 100
#define PARALLEL_MIN (1u << 16)   // smaller loops run on one thread: a team costs more

void kevo_tsne_conditional_p(const float *sqd, int n, int k, double perplexity, double *P)
{
    int using_neighbors = k < n;
    // The Cython signature takes the perplexity as a C float.
    double desired_entropy = log((double)(float)perplexity);
#pragma omp parallel for schedule(dynamic, 64) if ((size_t)n * k > PARALLEL_MIN)
    for (int i = 0; i < n; i++) {
        const float *d = sqd + (size_t)i * (size_t)k;
        double *p = P + (size_t)i * (size_t)k;
        double beta = 1.0, beta_min = -INFINITY, beta_max = INFINITY;
        memset(p, 0, sizeof *p * (size_t)k);
        for (int step = 0; step < N_STEPS; step++) {
            double sum_p = 0.0;
            for (int j = 0; j < k; j++)
                if (j != i || using_neighbors) {
                    p[j] = exp(-(double)d[j] * beta);
                    sum_p += p[j];
                }
            if (sum_p == 0.0)
                sum_p = EPSILON_DBL;
            double sum_dp = 0.0;
            for (int j = 0; j < k; j++) {
                p[j] /= sum_p;
                sum_dp += (double)d[j] * p[j];
            }
            double entropy_diff = log(sum_p) + beta * sum_dp - desired_entropy;
            if (fabs(entropy_diff) <= PERPLEXITY_TOLERANCE)
                break;
            // Entropy too high: sharpen (raise beta); too low: widen. Double or halve until the
            // other bound is known, then bisect.
            if (entropy_diff > 0.0) {
                beta_min = beta;
                beta = beta_max == INFINITY ? beta * 2.0 : (beta + beta_max) / 2.0;
            } else {
                beta_max = beta;
                beta = beta_min == -INFINITY ? beta / 2.0 : (beta + beta_min) / 2.0;
            }
        }
    }
}

void kevo_tsne_joint_dense(double *P, int n)
{
    // Symmetrise in place: the upper triangle takes c_ij + c_ji, then is mirrored. The sum runs
    // over rows in a fixed order.
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        double row = 0.0;
        for (int j = i + 1; j < n; j++) {
            double v = P[(size_t)i * n + j] + P[(size_t)j * n + i];
            P[(size_t)i * n + j] = v;
            row += v;
        }
        sum += 2.0 * row;
    }
    sum = fmax(sum, DBL_EPSILON);
    for (int i = 0; i < n; i++) {
        P[(size_t)i * n + i] = 0.0;
        for (int j = i + 1; j < n; j++) {
            double v = fmax(P[(size_t)i * n + j] / sum, DBL_EPSILON);
            P[(size_t)i * n + j] = v;
            P[(size_t)j * n + i] = v;
        }
    }
}

void kevo_tsne_csr_free(kevo_tsne_csr *P)
{
    if (!P)
        return;
    free(P->indptr);
    free(P->indices);
    free(P->values);
    free(P->indices16);
    memset(P, 0, sizeof *P);
}

typedef struct entry {
    int32_t col;
    double val;
} entry;

static int by_col(const void *a, const void *b)
{
    int32_t x = ((const entry *)a)->col, y = ((const entry *)b)->col;
    return (x > y) - (x < y);
}

kevo_status kevo_tsne_joint_sparse(const int32_t *idx, const double *cond, int n, int k,
                                   kevo_tsne_csr *out, kevo_error *err)
{
    memset(out, 0, sizeof *out);
    size_t nk = (size_t)n * (size_t)k;
    // Every conditional c_{j|i} lands twice: at (i, j) and at (j, i). Bucket the 2nk entries by
    // row (a counting sort), then sort each row by column and merge the pairs that meet.
    int64_t *start = calloc((size_t)n + 1, sizeof *start);
    entry *e = malloc(sizeof *e * 2 * nk);
    if (!start || !e)
        goto nomem;
    for (size_t t = 0; t < nk; t++) {
        start[t / (size_t)k + 1]++;
        start[idx[t] + 1]++;
    }
    for (int i = 0; i < n; i++)
        start[i + 1] += start[i];
    {
        int64_t *fill = malloc(sizeof *fill * (size_t)n);
        if (!fill)
            goto nomem;
        memcpy(fill, start, sizeof *fill * (size_t)n);
        for (size_t t = 0; t < nk; t++) {
            int32_t i = (int32_t)(t / (size_t)k), j = idx[t];
            e[fill[i]++] = (entry){j, cond[t]};
            e[fill[j]++] = (entry){i, cond[t]};
        }
        free(fill);
    }
    out->n = n;
    out->indptr = malloc(sizeof *out->indptr * ((size_t)n + 1));
    out->indices = malloc(sizeof *out->indices * 2 * nk);
    out->values = malloc(sizeof *out->values * 2 * nk);
    if (!out->indptr || !out->indices || !out->values)
        goto nomem;
    // Rows are merged independently, then packed in order.
    int64_t *len = malloc(sizeof *len * (size_t)n);
    if (!len)
        goto nomem;
#pragma omp parallel for schedule(dynamic, 256) if (nk > PARALLEL_MIN)
    for (int i = 0; i < n; i++) {
        entry *r = e + start[i];
        int64_t m = start[i + 1] - start[i], w = 0;
        qsort(r, (size_t)m, sizeof *r, by_col);
        for (int64_t a = 0; a < m; a++) {
            if (w > 0 && r[w - 1].col == r[a].col)
                r[w - 1].val += r[a].val;   // c_{j|i} + c_{i|j}: one addition, as P + P.T
            else
                r[w++] = r[a];
        }
        len[i] = w;
    }
    double sum = 0.0;
    int64_t nnz = 0;
    out->indptr[0] = 0;
    for (int i = 0; i < n; i++) {
        const entry *r = e + start[i];
        for (int64_t a = 0; a < len[i]; a++) {
            out->indices[nnz] = r[a].col;
            out->values[nnz] = r[a].val;
            sum += r[a].val;
            nnz++;
        }
        out->indptr[i + 1] = nnz;
    }
    free(len);
    sum = fmax(sum, DBL_EPSILON);
    for (int64_t t = 0; t < nnz; t++)
        out->values[t] /= sum;
    if (n <= 65536) {
        if (!(out->indices16 = malloc(sizeof *out->indices16 * (size_t)nnz)))
            goto nomem;
        for (int64_t t = 0; t < nnz; t++)
            out->indices16[t] = (uint16_t)out->indices[t];
    }
    free(start);
    free(e);
    return KEVO_OK;
nomem:
    free(start);
    free(e);
    kevo_tsne_csr_free(out);
    return kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE: out of memory for the joint probabilities of "
                     "%d points with %d neighbours", n, k);
}
