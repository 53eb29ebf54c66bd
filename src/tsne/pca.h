// pca.h — the PCA initialisation of t-SNE (sklearn/manifold/_t_sne.py, init="pca").
//
// sklearn 1.2 runs PCA(n_components, svd_solver="randomized", random_state) on X, casts the
// scores to float32 and rescales them so that the first column has standard deviation 1e-4.
// This is the same randomized SVD (sklearn/utils/extmath.py randomized_svd: 10 oversamples,
// 7 power iterations, or 4 when n_components >= 0.1 min(n, d), working on X^T when n < d; the
// centred X is never formed), with kevo's own seeded Gaussian start and Gram-Schmidt instead of
// LU normalisation between the power iterations (the same subspace in exact arithmetic). The
// signs follow svd_flip: in every column the score of largest magnitude is positive.
#ifndef KEVO_TSNE_PCA_H
#define KEVO_TSNE_PCA_H

#include <stdint.h>

#include "kevo.h"

// X: (n, d) row-major; Y: (n, k) the rescaled scores. Needs k <= min(n, d) and X not constant.
kevo_status kevo_tsne_pca_init(const float *X, int n, int d, int k, uint64_t seed, float *Y,
                               kevo_error *err);

// The plain PCA scores (n, k) (centred X times the top-k right singular vectors, signs flipped
// as above), before the rescaling; exposed for testing.
kevo_status kevo_tsne_pca_scores(const float *X, int n, int d, int k, uint64_t seed,
                                 float *scores, kevo_error *err);

#endif
