// scaling.c — MaxAbs scaling as scikit-learn's MaxAbsScaler (sklearn/preprocessing/_data.py).
//
// sklearn keeps the dtype and takes the zero rule's epsilon from it, so there is a float32 form
// (hidden states: the maps, kevo tsne) and a float64 form (the divergence heatmap). Both are
// written once below, in MAXABS_FUNCTIONS, and instantiated for each type.
#include "analysis/scaling.h"

#include <float.h>
#include <math.h>
#include <stddef.h>

#define CHUNK 512   // columns handled at once: their scales live on the stack

// usable_scale — _handle_zeros_in_scale: a scale below 10 * eps of the dtype means a constant
// column, which is left unscaled rather than blown up.
// chunk_scales — the scales of columns [j0, j0 + w). Row by row, so that the inner loop reads
// contiguous memory; fmax ignores NaN like numpy's nanmax.
// The division is a division, as numpy's X /= scale (not a reciprocal).
#define MAXABS_FUNCTIONS(T, SUFFIX, EPS, FMAX, FABS)                                             \
    static T usable_scale##SUFFIX(T m)                                                           \
    {                                                                                            \
        return m < 10 * EPS ? (T)1 : m;                                                          \
    }                                                                                            \
                                                                                                 \
    static void chunk_scales##SUFFIX(const T *X, int n, int d, int j0, int w, T *scale)          \
    {                                                                                            \
        for (int j = 0; j < w; j++)                                                              \
            scale[j] = 0;                                                                        \
        for (int i = 0; i < n; i++) {                                                            \
            const T *x = X + (size_t)i * (size_t)d + j0;                                         \
            for (int j = 0; j < w; j++)                                                          \
                scale[j] = FMAX(scale[j], FABS(x[j]));                                           \
        }                                                                                        \
        for (int j = 0; j < w; j++)                                                              \
            scale[j] = usable_scale##SUFFIX(scale[j]);                                           \
    }                                                                                            \
                                                                                                 \
    void kevo_maxabs_scale_columns##SUFFIX(T *X, int n, int d)                                   \
    {                                                                                            \
        T scale[CHUNK];                                                                          \
        for (int j0 = 0; j0 < d; j0 += CHUNK) {                                                  \
            int w = d - j0 < CHUNK ? d - j0 : CHUNK;                                             \
            chunk_scales##SUFFIX(X, n, d, j0, w, scale);                                         \
            for (int i = 0; i < n; i++) {                                                        \
                T *x = X + (size_t)i * (size_t)d + j0;                                           \
                for (int j = 0; j < w; j++)                                                      \
                    x[j] /= scale[j];                                                            \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    void kevo_maxabs_scale_global##SUFFIX(T *X, int n, int d)                                    \
    {                                                                                            \
        size_t len = n > 0 && d > 0 ? (size_t)n * (size_t)d : 0;                                 \
        T m = 0;                                                                                 \
        for (size_t k = 0; k < len; k++)                                                         \
            m = FMAX(m, FABS(X[k]));                                                             \
        m = usable_scale##SUFFIX(m);                                                             \
        for (size_t k = 0; k < len; k++)                                                         \
            X[k] /= m;                                                                           \
    }

MAXABS_FUNCTIONS(float, , FLT_EPSILON, fmaxf, fabsf)
MAXABS_FUNCTIONS(double, _f64, DBL_EPSILON, fmax, fabs)

void kevo_maxabs_column_scales(const float *X, int n, int d, float *scale)
{
    for (int j0 = 0; j0 < d; j0 += CHUNK)
        chunk_scales(X, n, d, j0, d - j0 < CHUNK ? d - j0 : CHUNK, scale + j0);
}
