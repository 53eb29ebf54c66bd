// dequant_body.h — the body of dequant_avx2.c and dequant_avx512.c: ggml's most used block types
// (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K: llama.cpp's Q8_0, Q4_0, Q4_K_M and Q5_K_M files) decoded W
// values at a time with GCC's generic vectors, compiled once per ISA; the other block types go
// to the scalar decoders. Every value is computed by the same F32 operations in the same order
// as base/quant.c (conversions are exact; this is ISO C, so no multiply and add are fused):
// the two give the same bits, which tests/test_quant.c checks on every path.
// The same file holds the fused dot products of decoding (dotq_body.h's DOT_FN).
// Before including it a file includes <immintrin.h> (F16C's scalar conversion) and defines W
// (floats per vector: 8 or 16), TABLE_FN (the name of the decoder it defines) and WIDEN_U8 /
// WIDEN_S8 (W bytes at p to W int32, zero- or sign-extended: GCC 12 builds the generic
// conversion one byte at a time, the ISA's vpmov*xbd does it in one).
#include <stdint.h>
#include <string.h>

#include "base/quant.h"

typedef float vf __attribute__((vector_size(W * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(W * sizeof(int32_t))));

// An F16 scale widened by F16C's vcvtph2ps: exact like base/convert.h's, in one instruction.
static inline float half(const uint8_t *p)
{
    return _cvtsh_ss((unsigned short)(p[0] | p[1] << 8));
}

static inline vi load_u8(const uint8_t *p)   // W bytes, zero-extended
{
    return (vi)WIDEN_U8(p);
}

static inline void store(float *y, vf v)
{
    memcpy(y, &v, sizeof v);
}

// block_q8_0 {d; qs[32] int8}: x * d.
static void q8_0(const uint8_t *b, float *y)
{
    float d = half(b);
    for (int j = 0; j < 32; j += W)
        store(y + j, __builtin_convertvector((vi)WIDEN_S8(b + 2 + j), vf) * d);
}

// block_q4_0 {d; qs[16]}: (nibble - 8) * d, low nibbles first.
static void q4_0(const uint8_t *b, float *y)
{
    float d = half(b);
    for (int j = 0; j < 16; j += W) {
        vi q = load_u8(b + 2 + j);
        store(y + j, __builtin_convertvector((q & 0x0F) - 8, vf) * d);
        store(y + j + 16, __builtin_convertvector((q >> 4) - 8, vf) * d);
    }
}

// get_scale_min_k4 (ggml-quants.c): sub-block j's 6-bit scale and minimum.
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

// block_q4_K / block_q5_K: d1 * x - m1 per sub-block of 32 (Q5_K's fifth bit from qh).
static void q45_k(const uint8_t *b, float *y, int five)
{
    float d = half(b), dmin = half(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *q = b + (five ? 48 : 16);
    for (int j = 0, is = 0; j < 256; j += 64, q += 32, is += 2) {
        int sc, m;
        scale_min_k4(is, scales, &sc, &m);
        float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, scales, &sc, &m);
        float d2 = d * (float)sc, m2 = dmin * (float)m;
        int shift = j / 32;   // qh bit of the low nibbles (u1); the high ones use shift + 1
        for (int l = 0; l < 32; l += W) {
            vi v = load_u8(q + l), lo = v & 0x0F, hi = v >> 4;
            if (five) {
                vi h = load_u8(qh + l);
                lo += ((h >> shift) & 1) * 16;
                hi += ((h >> (shift + 1)) & 1) * 16;
            }
            store(y + j + l, __builtin_convertvector(lo, vf) * d1 - m1);
            store(y + j + 32 + l, __builtin_convertvector(hi, vf) * d2 - m2);
        }
    }
}

// block_q6_K {ql[128]; qh[64]; scales[16] int8; d}: (d * sc) * (6-bit value - 32).
static void q6_k(const uint8_t *b, float *y)
{
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = half(b + 208);
    for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
        for (int l = 0; l < 32; l += W) {
            int is = l / 16;   // W <= 16: one scale per vector
            vi a = load_u8(ql + l), c = load_u8(ql + l + 32), h = load_u8(qh + l);
            vi q1 = ((a & 0x0F) | ((h >> 0) & 3) << 4) - 32;
            vi q2 = ((c & 0x0F) | ((h >> 2) & 3) << 4) - 32;
            vi q3 = ((a >> 4) | ((h >> 4) & 3) << 4) - 32;
            vi q4 = ((c >> 4) | ((h >> 6) & 3) << 4) - 32;
            store(y + l, d * (float)sc[is] * __builtin_convertvector(q1, vf));
            store(y + l + 32, d * (float)sc[is + 2] * __builtin_convertvector(q2, vf));
            store(y + l + 64, d * (float)sc[is + 4] * __builtin_convertvector(q3, vf));
            store(y + l + 96, d * (float)sc[is + 6] * __builtin_convertvector(q4, vf));
        }
}

void TABLE_FN(kevo_dtype dt, const void *blocks, float *y, size_t n)
{
    void (*one)(const uint8_t *, float *) = dt == KEVO_DTYPE_Q8_0 ? q8_0
                                            : dt == KEVO_DTYPE_Q4_0 ? q4_0 : q6_k;
    if (dt != KEVO_DTYPE_Q8_0 && dt != KEVO_DTYPE_Q4_0 && dt != KEVO_DTYPE_Q4_K &&
        dt != KEVO_DTYPE_Q5_K && dt != KEVO_DTYPE_Q6_K) {
        kevo_dequant(dt, blocks, y, n);
        return;
    }
    const uint8_t *b = blocks;
    size_t elems = (size_t)kevo_dtype_block_elems(dt), bytes = kevo_dtype_block_bytes(dt);
    for (size_t i = 0; i < n / elems; i++, b += bytes, y += elems) {
        if (dt == KEVO_DTYPE_Q4_K || dt == KEVO_DTYPE_Q5_K)
            q45_k(b, y, dt == KEVO_DTYPE_Q5_K);
        else
            one(b, y);
    }
}
