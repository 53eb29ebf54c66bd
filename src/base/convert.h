// convert.h — exact conversions between F32 and the 16-bit float formats of stored weights.
//
// F16 is IEEE binary16; BF16 is the upper half of an IEEE binary32. Widening to F32 is exact for
// every value (subnormals, infinities and NaN payloads included); narrowing rounds to nearest even
// like PyTorch's .to(torch.float16 / torch.bfloat16).
#ifndef KEVO_BASE_CONVERT_H
#define KEVO_BASE_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kevo.h"

static inline float kevo_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float kevo_f16_to_f32(uint16_t h);
uint16_t kevo_f32_to_f16(float f);
uint16_t kevo_f32_to_bf16(float f);

// Widens n elements of a stored F32/F16/BF16 array (src) into dst, or decodes n elements of a
// block type (n a multiple of its block, base/quant.h).
void kevo_convert_to_f32(float *dst, const void *src, kevo_dtype dtype, size_t n);

#endif
