// scaling.c — MaxAbs scaling as scikit-learn's MaxAbsScaler (sklearn/preprocessing/_data.py).
#include "analysis/scaling.h"

#include <float.h>
#include <math.h>
#include <stddef.h>

#define CHUNK 512   // columns handled at once: their scales live on the stack

// _handle_zeros_in_scale: a scale below 10 * eps of the dtype (float32 here) means a constant
// column, which is left unscaled rather than blown up.
static float usable_scale(float m)
{
    return m < 10.0f * FLT_EPSILON ? 1.0f : m;
}

// The scales of columns [j0, j0 + w). Row by row, so that the inner loop reads contiguous
// memory; fmaxf ignores NaN like numpy's nanmax.
static void chunk_scales(const float *X, int n, int d, int j0, int w, float *scale)
{
    for (int j = 0; j < w; j++)
        scale[j] = 0.0f;
    for (int i = 0; i < n; i++) {
        const float *x = X + (size_t)i * (size_t)d + j0;
        for (int j = 0; j < w; j++)
            scale[j] = fmaxf(scale[j], fabsf(x[j]));
    }
    for (int j = 0; j < w; j++)
        scale[j] = usable_scale(scale[j]);
}

void kevo_maxabs_column_scales(const float *X, int n, int d, float *scale)
{
    for (int j0 = 0; j0 < d; j0 += CHUNK)
        chunk_scales(X, n, d, j0, d - j0 < CHUNK ? d - j0 : CHUNK, scale + j0);
}

void kevo_maxabs_scale_columns(float *X, int n, int d)
{
    float scale[CHUNK];
    for (int j0 = 0; j0 < d; j0 += CHUNK) {
        int w = d - j0 < CHUNK ? d - j0 : CHUNK;
        chunk_scales(X, n, d, j0, w, scale);
        for (int i = 0; i < n; i++) {
            float *x = X + (size_t)i * (size_t)d + j0;
            for (int j = 0; j < w; j++)
                x[j] /= scale[j];   // a division, as numpy's X /= scale (not a reciprocal)
        }
    }
}

void kevo_maxabs_scale_global(float *X, int n, int d)
{
    size_t len = n > 0 && d > 0 ? (size_t)n * (size_t)d : 0;
    float m = 0.0f;
    for (size_t k = 0; k < len; k++)
        m = fmaxf(m, fabsf(X[k]));
    m = usable_scale(m);
    for (size_t k = 0; k < len; k++)
        X[k] /= m;
}
