// linear.h — y = x Wᵀ + b for stored weights (PyTorch Linear layout W: (N, K), F32/F16/BF16).
//
// Few rows (decode: one token) are memory-bound: each output row is a dot product computed by the
// run-time kernels straight from the mapped weights, threads splitting the outputs. Many rows
// (prefill, the vision tower, the lens) are compute-bound: kevo's own blocked GEMM (gemm.h) of the
// chosen kernel path, F32 or BF16 products, which widens F16/BF16 weights while packing, so no
// weight is ever converted whole. Either way every output element is computed the same way for
// any number of threads: results are bit-identical. The GEMM's elements also do not depend on how
// many rows come with them; a caller that splits its rows into chunks of any size asks for
// batch_invariant, so that chunks of few rows are not sent to the dot products.
#ifndef KEVO_KERNELS_LINEAR_H
#define KEVO_KERNELS_LINEAR_H

#include "base/tensor.h"
#include "kernels/gemm.h"

// What a product needs besides its operands.
typedef struct kevo_linear_ctx {
    void *scratch;          // kevo_linear_scratch(m, k, threads) bytes, 64-byte aligned
    kevo_compute compute;   // precision of the products of many-row inputs (F32 by default)
    int batch_invariant;    // each row exactly as among any other rows: always the GEMM
    int n_threads;          // threads of its loops, 0: kevo_threads_resolve(0) (base/threads.h);
                            // the scratch must be sized for as many
} kevo_linear_ctx;

// y: (m, n) row-major with row stride ldy; x: (m, k) row-major with row stride ldx; w: (n, k)
// (or any (n, ...) tensor, read as (n, elements / n)); bias: n floats or NULL. ctx may be NULL
// when m < KEVO_GEMV_MAX_ROWS (default threads).
void kevo_linear(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                 const float *bias, const kevo_linear_ctx *ctx);

// Rows below this count go through the dot-product kernels instead of a GEMM.
#define KEVO_GEMV_MAX_ROWS 4

// Bytes of scratch kevo_linear needs for inputs up to (m, k) with n_threads threads.
size_t kevo_linear_scratch(int m, int k, int n_threads);

#endif
