// linear.h — y = x Wᵀ + b for stored weights (PyTorch Linear layout W: (N, K), F32/F16/BF16).
//
// Few rows (decode: one token) are memory-bound: each output row is a dot product computed by the
// run-time kernels straight from the mapped weights, threads splitting the outputs. Many rows
// (prefill, the vision tower) are compute-bound: the weight is cut into blocks of
// KEVO_CONVERT_ROWS rows, threads take whole blocks, and each block is one single-threaded
// OpenBLAS product (F16/BF16 blocks are widened first into the thread's own buffer, so no weight
// is ever converted whole). Blocks have the same size whatever the thread count, so every output
// element is computed the same way: results are bit-identical for any number of threads.
#ifndef KEVO_KERNELS_LINEAR_H
#define KEVO_KERNELS_LINEAR_H

#include "io/safetensors.h"

// Rows of a weight per block of a matrix product (and per F16/BF16 widening).
#define KEVO_CONVERT_ROWS 512

// y: (m, n) row-major with row stride ldy; x: (m, k) row-major with row stride ldx; w: (n, k)
// (or any (n, ...) tensor, read as (n, elements / n));
// bias: n floats or NULL. convert: per-thread scratch, KEVO_CONVERT_ROWS * k floats for each
// thread (kevo_linear_scratch), used only when m is large and w is F16/BF16 (else may be NULL).
void kevo_linear(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                 const float *bias, float *convert);

// Rows below this count go through the dot-product kernels instead of a GEMM.
#define KEVO_GEMV_MAX_ROWS 4

// Sets the OpenMP threads (n <= 0: leave as is). OpenBLAS always runs single-threaded inside
// kevo's own threads, which is what makes the results independent of the thread count.
void kevo_set_threads(int n);

// Floats of conversion scratch kevo_linear needs for inputs up to k wide with n_threads threads.
size_t kevo_linear_scratch(int k, int n_threads);

#endif
