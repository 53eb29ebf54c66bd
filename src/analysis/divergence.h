// divergence.h — Level 2 of the paper: how much the lens distribution changes from one
// hidden state to the next, and how the authors scale the matrix for their heatmap.
//
// For consecutive states with logits a and b (V entries), P = softmax(a), Q = softmax(b),
// M = (P + Q) / 2, all in double from the F32 logits with log-softmax (a - logsumexp(a)):
//   paper — the authors' heatmap.py, copied from DoLa: F.kl_div(log P, M).mean(-1) is
//           mean_v M_v (log M_v - log P_v) = KL(M || P) / V, so
//           J = (KL(M || P) + KL(M || Q)) / (2 V):
//           reversed arguments (not the textbook JSD), unbounded, divided by V;
//   jsd   — the Jensen-Shannon divergence (KL(P || M) + KL(Q || M)) / 2 in bits, in [0, 1].
// Both use xlogy's convention 0 log 0 = 0 (an entry where M underflows to 0 adds nothing). The
// kinds (kevo_divergence_kind) and the heatmap's scalings (kevo_scale_mode) are public: kevo.h,
// kevo/analysis.h.
#ifndef KEVO_ANALYSIS_DIVERGENCE_H
#define KEVO_ANALYSIS_DIVERGENCE_H

#include "kevo.h"

// One lens distribution as the lens holds it: the logits z (n entries), their maximum, logsum =
// log sum_v exp(z_v - max) computed as log1p of the sum over every entry but the (first)
// maximal one, so that it stays exact for a peaked row whose other entries add up to less than a
// double's epsilon, and the probabilities p_v = exp(z_v - max - logsum) in double.
typedef struct kevo_lens_row {
    const float *z;
    double max, logsum;
    const double *p;
} kevo_lens_row;

// Both divergences between two lens distributions of n entries. Evaluated without cancellation
// (docs/analyses.md, "Accuracy"): with r_v = log q_v - log p_v, m_v = (p_v + q_v) / 2 and
// t_v = tanh(r_v / 2),
//   M (2 log M - log P - log Q) = m_v 2 log cosh(r_v / 2),
//   P log(P / M) + Q log(Q / M) = m_v [(1 - t) log(1 - t) + (1 + t) log(1 + t)],
// sums of non-negative terms, so two nearly equal distributions (the stable layers, where the
// divergence can be 1e-18) get their divergence to double precision instead of to the rounding
// error of terms of order 1. Sums in double in index order.
void kevo_divergence_pair(const kevo_lens_row *a, const kevo_lens_row *b, int n, double *paper,
                          double *jsd);

// Scales m: (rows, cols) row-major, in place, as kevo_scale_mode says (kevo/analysis.h).
void kevo_scale_matrix(double *m, int rows, int cols, kevo_scale_mode mode);

#endif
