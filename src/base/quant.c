// quant.c — ggml's block types decoded (see quant.h). Each decoder follows the dequantize_row_*
// of ggml/src/ggml-quants.c of the same name, block layouts from ggml/src/ggml-common.h; fields
// are read byte by byte (little-endian), so no struct layout is assumed.
#include "base/quant.h"

#include <stdint.h>

#include "base/convert.h"

static float half(const uint8_t *p)
{
    return kevo_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

// block_q4_0 {d; qs[16]}: element j is the low nibble of qs[j], element j + 16 its high nibble.
static void q4_0(const uint8_t *b, float *y)
{
    float d = half(b);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((b[2 + j] & 0x0F) - 8) * d;
        y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
    }
}

// block_q4_1 {d; m; qs[16]}: x * d + m.
static void q4_1(const uint8_t *b, float *y)
{
    float d = half(b), m = half(b + 2);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(b[4 + j] & 0x0F) * d + m;
        y[j + 16] = (float)(b[4 + j] >> 4) * d + m;
    }
}

// The fifth bits of a Q5 block: bit j of qh (a little-endian u32) for element j, bit j + 16
// for element j + 16 (dequantize_row_q5_0's xh_0 / xh_1).
static void q5_values(const uint8_t *qh4, const uint8_t *qs, int lo[16], int hi[16])
{
    uint32_t qh = (uint32_t)qh4[0] | (uint32_t)qh4[1] << 8 | (uint32_t)qh4[2] << 16 |
                  (uint32_t)qh4[3] << 24;
    for (int j = 0; j < 16; j++) {
        lo[j] = (qs[j] & 0x0F) | (int)(((qh >> j) << 4) & 0x10);
        hi[j] = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
    }
}

// block_q5_0 {d; qh[4]; qs[16]}: (x - 16) * d.
static void q5_0(const uint8_t *b, float *y)
{
    int lo[16], hi[16];
    float d = half(b);
    q5_values(b + 2, b + 6, lo, hi);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(lo[j] - 16) * d;
        y[j + 16] = (float)(hi[j] - 16) * d;
    }
}

// block_q5_1 {d; m; qh[4]; qs[16]}: x * d + m.
static void q5_1(const uint8_t *b, float *y)
{
    int lo[16], hi[16];
    float d = half(b), m = half(b + 2);
    q5_values(b + 4, b + 8, lo, hi);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)lo[j] * d + m;
        y[j + 16] = (float)hi[j] * d + m;
    }
}

// block_q8_0 {d; qs[32] int8}: x * d.
static void q8_0(const uint8_t *b, float *y)
{
    float d = half(b);
    for (int j = 0; j < 32; j++)
        y[j] = (float)(int8_t)b[2 + j] * d;
}

// block_iq4_nl {d; qs[16]}: d * kvalues_iq4nl[nibble], nibbles as Q4_0's.
static void iq4_nl(const uint8_t *b, float *y)
{
    static const int8_t kvalues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                       1,    13,   25,  38,  53,  69,  89,  113};
    float d = half(b);
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)kvalues[b[2 + j] & 0x0F];
        y[j + 16] = d * (float)kvalues[b[2 + j] >> 4];
    }
}

// block_q2_K {scales[16]; qs[64]; d; dmin}: 16 groups of 16, group g with scale d * (s & 15) and
// minimum dmin * (s >> 4); 2-bit values, four per byte of a 32-byte run (shifts 0, 2, 4, 6).
static void q2_k(const uint8_t *b, float *y)
{
    const uint8_t *sc = b, *q = b + 16;
    float d = half(b + 80), dmin = half(b + 82);
    int is = 0;
    for (int n = 0; n < 256; n += 128, q += 32)
        for (int shift = 0; shift < 8; shift += 2)
            for (int half16 = 0; half16 < 32; half16 += 16) {
                float dl = d * (float)(sc[is] & 0x0F), ml = dmin * (float)(sc[is] >> 4);
                is++;
                for (int l = 0; l < 16; l++)
                    *y++ = dl * (float)((q[half16 + l] >> shift) & 3) - ml;
            }
}

// block_q3_K {hmask[32]; qs[64]; scales[12]; d}: 16 signed 6-bit scales (low nibbles in
// scales[0..7], high pairs of bits in scales[8..11], the kmask1 / kmask2 unpacking), values of 2
// bits from qs and a third from hmask, 4 subtracted when that bit is clear.
static void q3_k(const uint8_t *b, float *y)
{
    const uint8_t *hm = b, *q = b + 32, *s = b + 96;
    float d_all = half(b + 108);
    int scales[16];
    for (int j = 0; j < 16; j++) {
        int low = j < 8 ? s[j] & 0x0F : s[j - 8] >> 4;
        int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        scales[j] = (low | high << 4) - 32;
    }
    int is = 0;
    uint8_t m = 1;
    for (int n = 0; n < 256; n += 128, q += 32)
        for (int shift = 0; shift < 8; shift += 2, m <<= 1)
            for (int half16 = 0; half16 < 32; half16 += 16) {
                float dl = d_all * (float)scales[is++];
                for (int l = 0; l < 16; l++) {
                    int v = ((q[half16 + l] >> shift) & 3) - ((hm[half16 + l] & m) ? 0 : 4);
                    *y++ = dl * (float)v;
                }
            }
}

// get_scale_min_k4: the 6-bit scale and minimum of sub-block j of Q4_K / Q5_K.
static void scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// block_q4_K {d; dmin; scales[12]; qs[128]} and block_q5_K {d; dmin; scales[12]; qh[32];
// qs[128]}: 8 sub-blocks of 32, d1 = d * sc and m1 = dmin * m rounded first, then d1 * x - m1;
// 64 elements per 32 bytes of qs (low nibbles, then high), Q5_K adding 16 where qh's bit is set.
static void q45_k(const uint8_t *b, float *y, int five)
{
    float d = half(b), dmin = half(b + 2);
    const uint8_t *scales = b + 4, *qh = five ? b + 16 : NULL, *q = b + (five ? 48 : 16);
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < 256; j += 64, q += 32, is += 2, u1 <<= 2, u2 <<= 2) {
        int sc, m;
        scale_min_k4(is, scales, &sc, &m);
        float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, scales, &sc, &m);
        float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++)
            *y++ = d1 * (float)((q[l] & 0x0F) + (qh && (qh[l] & u1) ? 16 : 0)) - m1;
        for (int l = 0; l < 32; l++)
            *y++ = d2 * (float)((q[l] >> 4) + (qh && (qh[l] & u2) ? 16 : 0)) - m2;
    }
}

// block_q6_K {ql[128]; qh[64]; scales[16] int8; d}: 6-bit values (4 from ql, 2 from qh) minus
// 32, times d * scale (left to right: (d * sc) * x); per 128 elements 64 bytes of ql, 32 of qh.
static void q6_k(const uint8_t *b, float *y)
{
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = half(b + 208);
    for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32;
            int q2 = ((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32;
            int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
            int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
            y[l] = d * (float)sc[is] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
}

void kevo_dequant(kevo_dtype dt, const void *blocks, float *y, size_t n)
{
    const uint8_t *b = blocks;
    size_t elems = (size_t)kevo_dtype_block_elems(dt), bytes = kevo_dtype_block_bytes(dt);
    for (size_t i = 0; i < n / elems; i++, b += bytes, y += elems) {
        switch (dt) {
        case KEVO_DTYPE_Q4_0: q4_0(b, y); break;
        case KEVO_DTYPE_Q4_1: q4_1(b, y); break;
        case KEVO_DTYPE_Q5_0: q5_0(b, y); break;
        case KEVO_DTYPE_Q5_1: q5_1(b, y); break;
        case KEVO_DTYPE_Q8_0: q8_0(b, y); break;
        case KEVO_DTYPE_IQ4_NL: iq4_nl(b, y); break;
        case KEVO_DTYPE_Q2_K: q2_k(b, y); break;
        case KEVO_DTYPE_Q3_K: q3_k(b, y); break;
        case KEVO_DTYPE_Q4_K: q45_k(b, y, 0); break;
        case KEVO_DTYPE_Q5_K: q45_k(b, y, 1); break;
        case KEVO_DTYPE_Q6_K: q6_k(b, y); break;
        default: return;   // not a block type: callers dispatch those elsewhere
        }
    }
}
