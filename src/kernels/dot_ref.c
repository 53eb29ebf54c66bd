// dot_ref.c — scalar reference kernels: the oracle the SIMD kernels are tested against and the
// fallback on CPUs without AVX2. Products are summed in double, so these are the most accurate
// (not the fastest) results kevo can give.
#include "base/convert.h"
#include "base/quant.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"

static float dot_f32(const float *x, const float *w, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)x[i] * w[i];
    return (float)s;
}

static float dot_f16(const float *x, const uint16_t *w, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)x[i] * kevo_f16_to_f32(w[i]);
    return (float)s;
}

static float dot_bf16(const float *x, const uint16_t *w, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)x[i] * kevo_bf16_to_f32(w[i]);
    return (float)s;
}

static void axpy_f32(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

static void f16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = kevo_f16_to_f32(src[i]);
}

static void bf16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = kevo_bf16_to_f32(src[i]);
}

const kevo_kernels kevo_kernels_ref = {
    .id = KEVO_ISA_REF,
    .isa = "ref",
    .dot_f32 = dot_f32, .dot_f16 = dot_f16, .dot_bf16 = dot_bf16,
    .axpy_f32 = axpy_f32, .f16_to_f32 = f16_to_f32, .bf16_to_f32 = bf16_to_f32,
    .dequant = kevo_dequant, .dot_q = NULL,   // decoding decodes, then dot_f32 (linear.c)
    .gemm = kevo_gemm_ref, .gemm_scratch = kevo_gemm_ref_scratch, .bf16_products = 0,
};
