// scaling.h — MaxAbs scaling of a row-major matrix, in place: the one MaxAbsScaler of kevo.
//
// Per column it is scikit-learn's MaxAbsScaler().fit_transform(X) for float32 (or float64) X
// (sklearn/preprocessing/_data.py: scale = nanmax|X| per column, scales below 10 * float32 eps
// replaced by 1 as in _handle_zeros_in_scale, then X /= scale). The global variant divides the
// whole matrix by one scale, its largest |value| (same near-zero rule), which keeps magnitudes
// comparable across columns.
#ifndef KEVO_ANALYSIS_SCALING_H
#define KEVO_ANALYSIS_SCALING_H

// X: (n, d) row-major. NaN entries are ignored when finding the maxima and stay NaN.
void kevo_maxabs_scale_columns(float *X, int n, int d);
void kevo_maxabs_scale_global(float *X, int n, int d);

// The same for float64 X (the near-zero rule then uses float64's epsilon, as sklearn does).
void kevo_maxabs_scale_columns_f64(double *X, int n, int d);
void kevo_maxabs_scale_global_f64(double *X, int n, int d);

// The per-column scales kevo_maxabs_scale_columns divides by. scale: (d).
void kevo_maxabs_column_scales(const float *X, int n, int d, float *scale);

#endif
