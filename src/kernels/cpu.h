// cpu.h — the compute kernels, chosen once at run time for this CPU.
//
// Every kernel has a scalar reference (`ref`) that stays in the tree as oracle and fallback; the
// AVX2+F16C+FMA and AVX-512 variants live in their own files, compiled with their own flags. The
// environment variable KEVO_ISA=ref|avx2|avx512 forces a path (tests run every path on one
// machine); asking for an ISA the CPU lacks falls back to the best available one.
#ifndef KEVO_KERNELS_CPU_H
#define KEVO_KERNELS_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "base/tensor.h"
#include "kevo.h"

// The kernel paths. Code outside kernels/ that has SIMD forms of its own (tsne/) picks them by
// the path of kevo_kernels_get(), so that KEVO_ISA and the CPU are consulted here alone.
typedef enum kevo_isa { KEVO_ISA_REF, KEVO_ISA_AVX2, KEVO_ISA_AVX512 } kevo_isa;

typedef struct kevo_kernels {
    kevo_isa id;
    const char *isa;   // its name: "ref", "avx2" or "avx512"
    // Dot products of an F32 activation row with a stored weight row of n elements.
    float (*dot_f32)(const float *x, const float *w, int n);
    float (*dot_f16)(const float *x, const uint16_t *w, int n);
    float (*dot_bf16)(const float *x, const uint16_t *w, int n);
    // y += a * x over n floats (attention's weighted sum of value rows).
    void (*axpy_f32)(float *y, float a, const float *x, int n);
    // Exact widening of n stored elements.
    void (*f16_to_f32)(float *dst, const uint16_t *src, size_t n);
    void (*bf16_to_f32)(float *dst, const uint16_t *src, size_t n);
    // n elements (whole blocks) of one of ggml's block types decoded (base/quant.h): the same
    // bits on every path.
    void (*dequant)(kevo_dtype dt, const void *blocks, float *dst, size_t n);
    // Decoding's fused dot product of x with a row of n elements of a block type that
    // kevo_dot_q_fuses (dotq_body.h), xsum[i] the sum of x[32 i .. 32 i + 32); NULL on the
    // reference path, which decodes and then takes the F32 dot product.
    float (*dot_q)(kevo_dtype dt, const float *x, const float *xsum, const void *w, int n);
    // The blocked matrix product of gemm.h on this path, and the scratch it needs.
    void (*gemm)(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                 kevo_compute compute, void *scratch, int n_threads);
    size_t (*gemm_scratch)(int m, int k, int n_threads);
    int bf16_products;   // gemm takes KEVO_COMPUTE_BF16 where the CPU has AVX512-BF16
} kevo_kernels;

// The kernel table for this CPU (or for KEVO_ISA). Thread-safe; detection runs once.
const kevo_kernels *kevo_kernels_get(void);

// The tables that exist in this build, by name, for tests and benchmarks. NULL when the CPU
// cannot run that ISA.
const kevo_kernels *kevo_kernels_for(const char *isa);

// Whether the CPU multiplies BF16 pairs into F32 sums (AVX512-BF16 vdpbf16ps).
int kevo_cpu_has_bf16_products(void);

// The block types the SIMD paths' dot_q takes: llama.cpp's Q8_0, Q4_0, Q4_K_M and Q5_K_M files.
static inline int kevo_dot_q_fuses(kevo_dtype dt)
{
    return dt == KEVO_DTYPE_Q8_0 || dt == KEVO_DTYPE_Q4_0 || dt == KEVO_DTYPE_Q4_K ||
           dt == KEVO_DTYPE_Q5_K || dt == KEVO_DTYPE_Q6_K;
}

void kevo_dequant_avx2(kevo_dtype dt, const void *blocks, float *dst, size_t n);
void kevo_dequant_avx512(kevo_dtype dt, const void *blocks, float *dst, size_t n);
float kevo_dot_q_avx2(kevo_dtype dt, const float *x, const float *xsum, const void *w, int n);
float kevo_dot_q_avx512(kevo_dtype dt, const float *x, const float *xsum, const void *w, int n);

extern const kevo_kernels kevo_kernels_ref;
extern const kevo_kernels kevo_kernels_avx2;
extern const kevo_kernels kevo_kernels_avx512;

#endif
