// gemm.h — kevo's own blocked matrix product for prefill, the vision tower and the lens.
//
//     y (m, n) = x (m, k) · Wᵀ,   W (n, k) stored F32, F16 or BF16 (PyTorch Linear layout)
//
// Organised like BLIS (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS
// Functionality", 2015): x is packed once into row micro-panels; each thread takes fixed blocks of
// W's rows, packs them (widening F16/BF16, or rounding to BF16) into column micro-panels that stay
// in L2, and a register-blocked micro-kernel accumulates one tile of y at a time.
//
// Every kernel path has one (the kernel table's `gemm`): the scalar reference and AVX2 share the
// portable driver below with their own micro-kernels; AVX-512 has its own (gemm_avx512.c). On
// every path each element of y is summed the same way: k in order within fixed slices of KC
// (from zero), the slices added in order. Nothing depends on m, on which rows come with it, or on
// the thread count, so results are bit-identical for any chunking of the rows and any threads.
//
// Two precisions of the products: F32, or BF16 pairs summed in F32 (AVX512-BF16 vdpbf16ps) when
// the caller asks for --compute bf16 and the CPU has it.
#ifndef KEVO_KERNELS_GEMM_H
#define KEVO_KERNELS_GEMM_H

#include <stddef.h>

#include "base/tensor.h"
#include "kevo.h"

// Whether this kernel path runs kevo_gemm in that precision (F32: always; BF16: AVX512-BF16).
int kevo_gemm_available(kevo_compute compute);

// Bytes of scratch kevo_gemm needs for x up to (m, k) with n_threads threads.
size_t kevo_gemm_scratch(int m, int k, int n_threads);

// y (m, n) with row stride ldy = x (m, k) with row stride ldx times Wᵀ, on n_threads (> 0)
// threads; scratch as above for at least n_threads, 64-byte aligned. Must only be called when
// kevo_gemm_available(compute).
void kevo_gemm(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
               kevo_compute compute, void *scratch, int n_threads);

// ---- for the kernel tables (cpu.h): each path's implementation of the two calls above

// A micro-kernel of the portable driver: the (rows <= mr, cols <= nr) valid part of one tile of
// y (row stride ldy) from kc steps of a packed x panel (a[kk*mr + i]) and a packed Wᵀ panel
// (b[kk*nr + j]); accumulate: add to y instead of storing. Each tile element must be summed from
// zero in kk order, so that the tile's shape never changes a value.
typedef void (*kevo_gemm_tile_fn)(int kc, const float *a, const float *b, float *y, size_t ldy,
                                  int rows, int cols, int accumulate);

typedef struct kevo_gemm_micro {
    int mr, nr;               // tile rows (of x) and columns (rows of W); nr a multiple of 8
    kevo_gemm_tile_fn tile;
} kevo_gemm_micro;

size_t kevo_gemm_blocked_scratch(const kevo_gemm_micro *mk, int m, int k, int n_threads);
// F32 products only.
void kevo_gemm_blocked(const kevo_gemm_micro *mk, float *y, int ldy, const float *x, int ldx,
                       int m, const kevo_tensor *w, void *scratch, int n_threads);

size_t kevo_gemm_ref_scratch(int m, int k, int n_threads);
void kevo_gemm_ref(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                   kevo_compute compute, void *scratch, int n_threads);
size_t kevo_gemm_avx2_scratch(int m, int k, int n_threads);
void kevo_gemm_avx2(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                    kevo_compute compute, void *scratch, int n_threads);
size_t kevo_gemm_avx512_scratch(int m, int k, int n_threads);
void kevo_gemm_avx512(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                      kevo_compute compute, void *scratch, int n_threads);

#endif
