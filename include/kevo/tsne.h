// kevo/tsne.h — part of kevo.h (include kevo.h): t-SNE, exact or Barnes-Hut, with the
// semantics of scikit-learn 1.2's sklearn.manifold.TSNE (init="pca", metric="euclidean"; the
// authors' call is TSNE(n_components=2, perplexity=40, learning_rate=200, n_iter=2000,
// random_state=0)), and the matrix files `kevo tsne --input` reads and writes.
//
//     kevo_tsne_params p = kevo_tsne_default_params();
//     kevo_tsne_result r;
//     kevo_matrix_load("X.npy", NULL, 1, &X, &n, &d, &err);   // MaxAbs-scaled, as the authors
//     if (kevo_tsne_run(X, n, d, &p, Y, &r, &err) != KEVO_OK) ...
//
// The pipeline: squared Euclidean distances (all pairs for the exact method; the
// min(n - 1, 3 perplexity + 1) nearest neighbours for Barnes-Hut), per-point Gaussians calibrated
// to the perplexity, P symmetrised and normalised, PCA initialisation rescaled to a first-column
// standard deviation of 1e-4, then gradient descent on KL(P || Q) with a Student-t Q of
// max(n_components - 1, 1) degrees of freedom: 250 iterations with P exaggerated and momentum 0.5,
// then momentum 0.8 up to n_iter, per-parameter gains (+0.2 / x0.8, at least 0.01), the error
// checked every 50 iterations, stopping after n_iter_without_progress iterations without a lower
// error or when the gain-scaled gradient's norm drops to min_grad_norm.
//
// Deliberate differences from sklearn: the output does not depend on the thread count (each
// output has one owner, every sum a fixed order); where sklearn refuses a perplexity >= n (e.g.
// one token's 33 states at perplexity 40) it is lowered to max(1, (n - 1) / 3), the value
// openTSNE uses, and reported in perplexity_used; the PCA uses kevo's random numbers (see
// src/tsne/pca.h), so coordinates match sklearn's in quality, not in bits.
#ifndef KEVO_TSNE_H
#define KEVO_TSNE_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/tsne.h"
#endif

#include <stdio.h>

typedef struct kevo_tsne_params {
    int n_components;              // 2; 1 to 3
    double perplexity;             // 40; > 0
    double early_exaggeration;     // 12; >= 1
    double learning_rate;          // 200; > 0
    int n_iter;                    // 2000; >= 250 (the exaggeration phase)
    int n_iter_without_progress;   // 300; >= -1
    double min_grad_norm;          // 1e-7; >= 0
    double angle;                  // 0.5; in [0, 1], Barnes-Hut only
    int exact;                     // 0 = Barnes-Hut, 1 = exact (O(n^2) time and memory)
    uint64_t seed;                 // 0; drives the PCA initialisation's random start
    int n_threads;                 // 0 = OpenMP's default
} kevo_tsne_params;

kevo_tsne_params kevo_tsne_default_params(void);

typedef struct kevo_tsne_result {
    double kl_divergence;          // at the last evaluation, as sklearn's kl_divergence_
    int n_iter_run;                // iterations run (sklearn's n_iter_ + 1)
    double perplexity_used;        // the perplexity asked for, unless lowered (see above)
    int n_neighbors;               // neighbours per point in P (n - 1 for the exact method)
    double seconds_neighbors;      // distances / nearest neighbours
    double seconds_affinities;     // perplexity calibration and P
    double seconds_init;           // PCA initialisation
    double seconds_optimize;       // gradient descent
} kevo_tsne_result;

// X: (n, d) row-major floats (already scaled as the caller wants); Y: (n, n_components) output,
// owned by the caller. res may be NULL. Fails with KEVO_ERR_ARG on NaN/Inf in X, n < 2, d < 1,
// or parameters outside the ranges above.
kevo_status kevo_tsne_run(const float *X, int n, int d, const kevo_tsne_params *p, float *Y,
                          kevo_tsne_result *res, kevo_error *err);

// ---------------------------------------------------------------------------------------------
// Matrix files

// The rows of a stored F32, F64, F16 or BF16 tensor of rank >= 2, as a new float matrix *X
// (n, d) the caller frees: the last dimension is the features, the leading ones are flattened
// into rows in C order, so a run's hidden [T, L+1, D] gives T * (L+1) points, step by step.
// path: a .npy file, or a .safetensors file holding tensor `tensor` (NULL: its only tensor of
// 2 or more dimensions). maxabs: MaxAbs-scale the columns (sklearn's MaxAbsScaler, as the
// authors do before t-SNE). Values that are not finite (in float32) are refused, naming the
// file and the element.
kevo_status kevo_matrix_load(const char *path, const char *tensor, int maxabs, float **X,
                             int *n, int *d, kevo_error *err);

// Writes an embedding Y (n, k) atomically to path, by its extension: .npy, .safetensors (tensor
// "embedding", the method, perplexity used, KL divergence, iterations and seed in
// "__metadata__"), anything else CSV (kevo_embedding_write_csv).
kevo_status kevo_embedding_write(const char *path, const float *Y, int n, int k,
                                 const kevo_tsne_params *p, const kevo_tsne_result *r,
                                 kevo_error *err);
// The CSV form: a header line x[,y[,z]], then one row per point ("%.9g").
void kevo_embedding_write_csv(FILE *f, const float *Y, int n, int k);

#endif
