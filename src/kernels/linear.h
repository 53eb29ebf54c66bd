// linear.h — y = x Wᵀ + b for stored weights (PyTorch Linear layout W: (N, K), F32/F16/BF16).
//
// Few rows (decode: one token) are memory-bound: each output row is a dot product computed by the
// run-time kernels straight from the mapped weights, threads splitting the outputs. Many rows
// (prefill, the vision tower) are compute-bound: F32 weights go to OpenBLAS as they are; F16/BF16
// weights are widened KEVO_CONVERT_ROWS rows at a time into a caller-provided buffer first, so no
// weight is ever converted whole.
#ifndef KEVO_KERNELS_LINEAR_H
#define KEVO_KERNELS_LINEAR_H

#include "io/safetensors.h"
#include "model/plan.h"

// y: (m, n) row-major with row stride ldy; x: (m, k) row-major with row stride ldx; w: (n, k)
// (or any (n, ...) tensor, read as (n, elements / n));
// bias: n floats or NULL. convert: KEVO_CONVERT_ROWS * k floats, used only when m is large and
// w is F16/BF16 (may be NULL otherwise).
void kevo_linear(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                 const float *bias, float *convert);

// Rows below this count go through the dot-product kernels instead of a GEMM.
#define KEVO_GEMV_MAX_ROWS 4

// Sets the threads used by OpenMP regions and by OpenBLAS (n <= 0: leave as is).
void kevo_set_threads(int n);

#endif
