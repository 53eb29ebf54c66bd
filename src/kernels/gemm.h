// gemm.h — kevo's own blocked matrix product for prefill and the vision tower, AVX-512 only.
//
//     y (m, n) = x (m, k) · Wᵀ,   W (n, k) stored F32, F16 or BF16 (PyTorch Linear layout)
//
// Organised like BLIS (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS
// Functionality", 2015): x is packed once into row micro-panels; each thread takes fixed blocks of
// W's rows, packs them (widening F16/BF16, or rounding to BF16) into column micro-panels that stay
// in L2, and a register-blocked micro-kernel accumulates one tile of y at a time. Blocks have fixed
// sizes, so every element of y is summed in the same order whatever the thread count.
//
// Two precisions of the products: F32 FMAs, or BF16 pairs summed in F32 (AVX512-BF16
// vdpbf16ps) when the caller asks for --compute bf16 and the CPU has it.
#ifndef KEVO_KERNELS_GEMM_H
#define KEVO_KERNELS_GEMM_H

#include <stddef.h>

#include "io/safetensors.h"
#include "kevo.h"

// Whether this CPU runs kevo_gemm in that precision (KEVO_ISA=ref|avx2 turns it off).
int kevo_gemm_available(kevo_compute compute);

// Bytes of scratch kevo_gemm needs for x up to (m, k) with n_threads threads.
size_t kevo_gemm_scratch(int m, int k, int n_threads);

// y (m, n) with row stride ldy = x (m, k) with row stride ldx times Wᵀ; scratch as above, 64-byte
// aligned. Must only be called when kevo_gemm_available(compute).
void kevo_gemm(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
               kevo_compute compute, void *scratch);

#endif
