// convert.c — scalar reference conversions between F32, F16 and BF16 (see convert.h).
// The bit manipulation follows IEEE 754-2008 §3.4 (binary16/binary32 layouts).
#include "base/convert.h"

#include "base/quant.h"

float kevo_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (exp == 0x1f) {                 // infinity, or NaN made quiet as F16C hardware does
        u = sign | 0x7f800000u | (man << 13) | (man ? 0x400000u : 0);
    } else if (exp != 0) {             // normal: rebias 15 -> 127
        u = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {             // signed zero
        u = sign;
    } else {                           // subnormal: normalise the mantissa
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while (!(man & 0x400));
        u = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t kevo_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t abs = u & 0x7fffffffu;
    if (abs >= 0x7f800000u)            // infinity or NaN (quiet, keep top payload bits)
        return (uint16_t)(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 | ((abs >> 13) & 0x3ff) : 0));
    if (abs >= 0x477ff000u)            // rounds to >= 65520: overflow to infinity
        return (uint16_t)(sign | 0x7c00);
    if (abs < 0x38800000u) {           // below the smallest normal: subnormal or zero
        if (abs < 0x33000000u)         // below half the smallest subnormal
            return sign;
        uint32_t man = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(abs >> 23);            // 14 .. 24
        uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        q += rem > half || (rem == half && (q & 1));
        return (uint16_t)(sign | q);
    }
    uint32_t q = abs - 0x38000000u;    // rebias 127 -> 15 (in place, before the shift)
    uint32_t rem = q & 0x1fff;
    q >>= 13;
    q += rem > 0x1000 || (rem == 0x1000 && (q & 1));
    return (uint16_t)(sign | q);
}

uint16_t kevo_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)   // NaN: keep it quiet
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

void kevo_convert_to_f32(float *dst, const void *src, kevo_dtype dtype, size_t n)
{
    const uint16_t *h = src;
    switch (dtype) {
    case KEVO_DTYPE_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = kevo_f16_to_f32(h[i]);
        break;
    case KEVO_DTYPE_BF16:
        for (size_t i = 0; i < n; i++)
            dst[i] = kevo_bf16_to_f32(h[i]);
        break;
    case KEVO_DTYPE_F32:
        memcpy(dst, src, n * sizeof *dst);
        break;
    default:   // ggml's block types: n a multiple of the block
        kevo_dequant(dtype, src, dst, n);
        break;
    }
}
