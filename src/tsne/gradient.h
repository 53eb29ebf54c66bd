// gradient.h — the t-SNE objective (KL divergence of P and the Student-t Q) and its
// gradient, exact or Barnes-Hut, with scikit-learn 1.2's arithmetic (sklearn/manifold/_t_sne.py
// _kl_divergence and _kl_divergence_bh; sklearn/manifold/_barnes_hut_tsne.pyx gradient).
//
// Y holds float32 positions as sklearn's params do; dof is the Student-t degrees of freedom
// (max(n_components - 1, 1)). The returned gradient includes the factor 2 (dof + 1) / dof.
// Every output row is owned by one thread and sums run in a fixed order: the results do not
// depend on the thread count.
#ifndef KEVO_TSNE_GRADIENT_H
#define KEVO_TSNE_GRADIENT_H

#include "tsne/affinity.h"
#include "tsne/tree.h"

// Exact: P (n, n) joint probabilities (0 diagonal, already multiplied by any exaggeration),
// Y (n, dim), grad (n, dim); work: n (n + 1) doubles. Returns the KL divergence when
// compute_error, else NaN.
double kevo_tsne_exact_gradient(const double *P, const float *Y, int n, int dim, int dof,
                                int compute_error, float *grad, double *work);

// Barnes-Hut workspace for n points of dimension dim (1..3).
typedef struct kevo_tsne_bh kevo_tsne_bh;
kevo_status kevo_tsne_bh_create(int n, int dim, kevo_tsne_bh **out, kevo_error *err);
void kevo_tsne_bh_free(kevo_tsne_bh *bh);   // accepts NULL

// Barnes-Hut: the sparse P with its values as float32 (Pf: (nnz), already multiplied by any
// exaggeration, as sklearn's val_P), positions Y (n, dim) -> grad (n, dim). *kl receives the KL
// divergence estimate sklearn reports (over the nonzeros of P, with the tree's normaliser) when
// compute_error, else NaN. simd = 0 forces the scalar code; otherwise the SIMD forms of the
// kernel path in use run where they apply (kevo_tsne_kernels_get: the same bits). n_threads
// (>= 1) changes the speed only.
kevo_status kevo_tsne_bh_gradient(kevo_tsne_bh *bh, const kevo_tsne_csr *P, const float *Pf,
                                  const float *Y, float angle, int dof, int compute_error,
                                  int simd, int n_threads, float *grad, double *kl,
                                  kevo_error *err);

// The kernels with a SIMD form (2-D maps, dof 1), chosen by the kernel path of
// kevo_kernels_get() (kernels/cpu.h: KEVO_ISA and the CPU are consulted there alone): the
// AVX-512 walk with the AVX2 attraction on the avx512 path, the AVX2 ones on the avx2 path, NULL
// (the scalar code) on ref. All give the same bits.
typedef struct kevo_tsne_kernels {
    void (*positive_2d)(const kevo_tsne_csr *P, const float *Pf, const float *Y, int i0, int i1,
                        float *pos);
    kevo_tsne_negative_fn negative_2d;
} kevo_tsne_kernels;

const kevo_tsne_kernels *kevo_tsne_kernels_get(void);

// ---- internals shared with gradient_avx2.c
//
// The attraction numerators pos[i] = sum over row i of P of Pf[k] q_ik (y_i - y_j), with
// q_ik = (dof / (dof + |y_i - y_j|^2))^((dof + 1) / 2) in float32 as
// compute_gradient_positive. Entry k of a row is added to partial sum (k - row start) mod 16;
// the 16 partial sums are then folded pairwise: l += l + 8, then l + 4, l + 2, l + 1. This fixed
// order is the SIMD layout, and the scalar code follows it too.
#define KEVO_TSNE_LANES 16

// dim 2, dof 1: rows [i0, i1); Y: (n, 2); pos: (n, 2).
void kevo_tsne_positive_avx2(const kevo_tsne_csr *P, const float *Pf, const float *Y, int i0,
                             int i1, float *pos);

#endif
