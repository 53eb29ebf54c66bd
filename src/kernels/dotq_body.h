// dotq_body.h — the decode-time dot products of an F32 activation row with a row of ggml blocks
// (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), fused: the decoded row is never stored. Included by
// dequant_avx2.c and dequant_avx512.c after dequant_body.h (its vector types and field readers);
// they also define DOT_FN (the function's name) and FMADD(a, b, c) (the ISA's fused a * b + c).
//
// Each block's scales are taken out of its sum, as ggml's vec_dot_q8_0_q8_0 / vec_dot_q4_K_q8_K
// (ggml-cpu/arch/x86/quants.c) take them out of their integer sums, but with F32 activations:
//   Q8_0, Q4_0   d · Σ x_j q_j                                    (q - 8 for Q4_0)
//   Q4_K, Q5_K   Σ_sub (d·sc) · Σ x_j q_j  −  dmin · Σ_sub m · Σ_sub x_j
//                (Σ_sub x_j: the caller's xsum, once per activation row for all weight rows)
//   Q6_K         Σ x_j · ((d·sc) · (q_j − 32)), the decoder's exact weight, one scale per 16
// This associates differently from decode-then-dot, so results differ from it in the last bits
// (tests/test_quant.c bounds the difference against a long double reference); for a given n the
// order of every operation is fixed, so results do not depend on the thread count.
//
// Cost per 16 weights on AVX-512 (Q4_K): a byte widening (shared by a low and a high nibble),
// an and or a shift, a conversion, one FMA with x from memory, and per 32 weights one FMA with
// the scale: about 4 vector operations, against the decoder's 6 plus a store, a reload and the
// FMA of the separate dot product.
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 2048   // bytes of blocks ahead of the current ones that a row prefetches
#endif

// Ahead of the hardware prefetchers, which stop at 4 KiB page boundaries (as dot_avx512.c's);
// rows are contiguous, so running past a row's end fetches the next row's start.
static inline void prefetch(const uint8_t *p, size_t bytes)
{
    for (size_t b = 0; b < bytes; b += 64)
        _mm_prefetch((const char *)p + PREFETCH_AHEAD + b, _MM_HINT_T0);
}

static inline vf load_x(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline vf cvt(vi q)
{
    return __builtin_convertvector(q, vf);
}

static inline vf splat(float a)
{
    return (vf){0} + a;
}

typedef float v8f __attribute__((vector_size(8 * sizeof(float))));
typedef int32_t v8i __attribute__((vector_size(8 * sizeof(int32_t))));

static inline float hsum(vf v)   // lanes in order: the same for every row of a given n
{
    float s = 0;
    for (int i = 0; i < W; i++)
        s += v[i];
    return s;
}

// block_q8_0 {d; qs[32] int8}. Two accumulators (even and odd blocks) keep the FMAs with d
// from waiting on each other.
static float dot_q8_0(const float *x, const uint8_t *b, int n)
{
    vf acc[2] = {0};
    for (int i = 0; i < n / 32; i++, b += 34, x += 32) {
        if (i % 8 == 0)
            prefetch(b, 8 * 34);
        vf s = {0};
        for (int j = 0; j < 32; j += W)
            s = FMADD(cvt((vi)WIDEN_S8(b + 2 + j)), load_x(x + j), s);
        acc[i & 1] = FMADD(s, splat(half(b)), acc[i & 1]);
    }
    return hsum(acc[0] + acc[1]);
}

// block_q4_0 {d; qs[16]}: element j the low nibble of qs[j] minus 8, element j + 16 the high.
static float dot_q4_0(const float *x, const uint8_t *b, int n)
{
    vf acc[2] = {0};
    for (int i = 0; i < n / 32; i++, b += 18, x += 32) {
        if (i % 8 == 0)
            prefetch(b, 8 * 18);
        vf s = {0};
        for (int j = 0; j < 16; j += W) {
            vi v = load_u8(b + 2 + j);
            s = FMADD(cvt((v & 0x0F) - 8), load_x(x + j), s);
            s = FMADD(cvt((v >> 4) - 8), load_x(x + 16 + j), s);
        }
        acc[i & 1] = FMADD(s, splat(half(b)), acc[i & 1]);
    }
    return hsum(acc[0] + acc[1]);
}

// The 8 six-bit scales and minima of a Q4_K / Q5_K block (get_scale_min_k4 of every sub-block,
// without its branch).
static inline void scales_mins_k4(const uint8_t *q, int sc[8], int m[8])
{
    for (int j = 0; j < 4; j++) {
        sc[j] = q[j] & 63;
        m[j] = q[j + 4] & 63;
        sc[j + 4] = (q[j + 8] & 0x0F) | ((q[j] >> 6) << 4);
        m[j + 4] = (q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4);
    }
}

// block_q4_K / block_q5_K, as dequant_body.h's q45_k reads them; the minima's term of a block
// as dmin · Σ_sub m · Σ_sub x, in scalars (8 per 256 weights).
static inline __attribute__((always_inline)) float dot_q45_k(const float *x, const float *xsum,
                                                             const uint8_t *b, int n, int five)
{
    size_t bytes = five ? 176 : 144;
    vf acc[2] = {0};
    float mins = 0;
    for (int i = 0; i < n / 256; i++, b += bytes, x += 256, xsum += 8) {
        prefetch(b, bytes);
        const uint8_t *qh = b + 16, *q = b + (five ? 48 : 16);
        int sc[8], m[8];
        scales_mins_k4(b + 4, sc, m);
        v8i scv, mv;   // 8-lane vectors whatever W: one operation for the block's 8 scales
        memcpy(&scv, sc, sizeof scv);
        memcpy(&mv, m, sizeof mv);
        v8f xs, dsc8 = __builtin_convertvector(scv, v8f) * half(b);
        memcpy(&xs, xsum, sizeof xs);
        v8f mx = __builtin_convertvector(mv, v8f) * xs;
        float dsc[8];
        memcpy(dsc, &dsc8, sizeof dsc);
        mins += half(b + 2) * (((mx[0] + mx[1]) + (mx[2] + mx[3])) +
                               ((mx[4] + mx[5]) + (mx[6] + mx[7])));
        for (int j = 0; j < 4; j++, q += 32) {
            vf s1 = {0}, s2 = {0};
            for (int l = 0; l < 32; l += W) {
                vi v = load_u8(q + l), lo = v & 0x0F, hi = v >> 4;
                if (five) {   // the fifth bits: qh bit 2j for the low nibbles, 2j + 1 the high
                    vi h = load_u8(qh + l);
                    lo += ((h >> (2 * j)) & 1) << 4;
                    hi += ((h >> (2 * j + 1)) & 1) << 4;
                }
                s1 = FMADD(cvt(lo), load_x(x + 64 * j + l), s1);
                s2 = FMADD(cvt(hi), load_x(x + 64 * j + 32 + l), s2);
            }
            acc[0] = FMADD(s1, splat(dsc[2 * j]), acc[0]);
            acc[1] = FMADD(s2, splat(dsc[2 * j + 1]), acc[1]);
        }
    }
    return hsum(acc[0] + acc[1]) - mins;
}

// block_q6_K {ql[128]; qh[64]; scales[16] int8; d}, as dequant_body.h's q6_k reads it; one
// accumulator per quarter of a 128-element half.
static float dot_q6_k(const float *x, const uint8_t *b, int n)
{
    vf acc[4] = {0};
    for (int i = 0; i < n / 256; i++, b += 210) {
        prefetch(b, 210);
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        float d = half(b + 208);
        for (int h = 0; h < 2; h++, x += 128, ql += 64, qh += 32, sc += 8)
            for (int l = 0; l < 32; l += W) {
                int is = l / 16;   // W <= 16: one scale per vector
                vi a = load_u8(ql + l), c = load_u8(ql + l + 32), hb = load_u8(qh + l);
                vi q1 = ((a & 0x0F) | ((hb >> 0) & 3) << 4) - 32;
                vi q2 = ((c & 0x0F) | ((hb >> 2) & 3) << 4) - 32;
                vi q3 = ((a >> 4) | ((hb >> 4) & 3) << 4) - 32;
                vi q4 = ((c >> 4) | ((hb >> 6) & 3) << 4) - 32;
                acc[0] = FMADD(load_x(x + l), splat(d * (float)sc[is]) * cvt(q1), acc[0]);
                acc[1] = FMADD(load_x(x + l + 32), splat(d * (float)sc[is + 2]) * cvt(q2),
                               acc[1]);
                acc[2] = FMADD(load_x(x + l + 64), splat(d * (float)sc[is + 4]) * cvt(q3),
                               acc[2]);
                acc[3] = FMADD(load_x(x + l + 96), splat(d * (float)sc[is + 6]) * cvt(q4),
                               acc[3]);
            }
    }
    return hsum((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

float DOT_FN(kevo_dtype dt, const float *x, const float *xsum, const void *w, int n)
{
    switch (dt) {
    case KEVO_DTYPE_Q8_0: return dot_q8_0(x, w, n);
    case KEVO_DTYPE_Q4_0: return dot_q4_0(x, w, n);
    case KEVO_DTYPE_Q4_K: return dot_q45_k(x, xsum, w, n, 0);
    case KEVO_DTYPE_Q5_K: return dot_q45_k(x, xsum, w, n, 1);
    case KEVO_DTYPE_Q6_K: return dot_q6_k(x, w, n);
    default: return 0;   // callers ask kevo_dot_q_fuses first (cpu.h)
    }
}
