// lens_simd.h — the lens's per-logit reductions in SIMD form: a row's exponentials and the two
// divergences' sums over a pair of rows, which are most of `kevo analyze`'s time after the
// products (one exp per logit, three transcendental functions per pair of logits).
//
// The scalar forms in lens.c and divergence.c are the reference and the ref path. These forms
// compute the same quantities with glibc's vector math library (libmvec, part of libc6: exp,
// expm1, log1p on 4 or 8 doubles; glibc's wiki says they differ from the scalar functions in
// accuracy, so tests/test_lens_simd.c measures them: each exponential within 1e-15 of long
// double) and sums kept per lane and folded at the end, so they differ from the scalar forms
// by rounding only (the tests hold both paths to long double within 1e-14).
#ifndef KEVO_ANALYSIS_LENS_SIMD_H
#define KEVO_ANALYSIS_LENS_SIMD_H

#include "analysis/divergence.h"

typedef struct kevo_lens_simd {
    // p[v] = exp(z[v] - max) for v in [0, n); returns their sum.
    double (*exp_sum)(const float *z, int n, double max, double *p);
    // The same sum (to the bit) without storing p, and sum_v p[v] (z[v] - max) in *moment:
    // the patch lens's entropy (patch_lens.c), which must agree with the lens to the bit.
    double (*exp_moment)(const float *z, int n, double max, double *moment);
    // exp(x) as these forms compute it for any one entry.
    double (*exp1)(double x);
    // p[v] *= s for v in [0, n).
    void (*scale)(double *p, int n, double s);
    // The sums kevo_divergence_pair() divides: sum_v m_v g(r_v) and sum_v m_v f(r_v).
    void (*pair_sums)(const kevo_lens_row *a, const kevo_lens_row *b, int n, double *paper,
                      double *jsd);
} kevo_lens_simd;

// The forms for this kernel path (kevo_kernels_get(): KEVO_ISA and the CPU), or NULL where the
// scalar code runs (the ref path, other architectures).
const kevo_lens_simd *kevo_lens_simd_get(void);

extern const kevo_lens_simd kevo_lens_simd_avx2;
extern const kevo_lens_simd kevo_lens_simd_avx512;

#endif
