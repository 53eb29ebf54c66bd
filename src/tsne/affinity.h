// affinity.h — the input similarities of t-SNE: per-row Gaussian conditionals calibrated to
// a perplexity, then symmetrised and normalised into the joint P.
//
// Follows scikit-learn 1.2: sklearn/manifold/_utils.pyx (_binary_search_perplexity) and
// sklearn/manifold/_t_sne.py (_joint_probabilities, _joint_probabilities_nn).
#ifndef KEVO_TSNE_AFFINITY_H
#define KEVO_TSNE_AFFINITY_H

#include <stdint.h>

#include "kevo.h"

// Conditional probabilities p_{j|i} (P: (n, k), double) from squared distances sqd (n, k).
// k < n: row i holds i's k neighbours. k == n: sqd is the full square matrix and the diagonal is
// left out (P[i][i] = 0). Each row's precision beta is found by bisection (at most 100 steps)
// until |entropy - log(perplexity)| <= 1e-5, exactly as _binary_search_perplexity.
void kevo_tsne_conditional_p(const float *sqd, int n, int k, double perplexity, double *P);

// Exact method: P (n, n) becomes max((C + C^T) / sum, DBL_EPSILON) off the diagonal, 0 on it,
// where C is the conditional matrix given in P (overwritten in place).
void kevo_tsne_joint_dense(double *P, int n);

// The sparse joint P of Barnes-Hut: (C + C^T) / sum over the neighbour graph, one row per point
// with its columns in increasing order (scipy's canonical CSR, as sklearn builds it).
typedef struct kevo_tsne_csr {
    int n;
    int64_t *indptr;      // (n + 1)
    int32_t *indices;     // (nnz)
    double *values;       // (nnz)
    uint16_t *indices16;  // (nnz) the same as uint16 when n <= 65536, else NULL: a quarter less
                          // to stream at every gradient step (the SIMD attractions read it)
} kevo_tsne_csr;

// idx, cond: (n, k) neighbour indices and their conditional probabilities. The arrays of *out
// are allocated here; free them with kevo_tsne_csr_free.
kevo_status kevo_tsne_joint_sparse(const int32_t *idx, const double *cond, int n, int k,
                                   kevo_tsne_csr *out, kevo_error *err);
void kevo_tsne_csr_free(kevo_tsne_csr *P);   // accepts a zeroed struct

#endif
