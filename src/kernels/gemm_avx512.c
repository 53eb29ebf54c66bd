// gemm_avx512.c — the blocked matrix product of gemm.h for AVX-512 (F32 FMA) and AVX512-BF16
// (vdpbf16ps). Compiled with AVX-512 flags only; reached through the avx512 kernel table, which
// kernels/cpu.c hands out only to a CPU that has the instructions.
//
// Shapes: y (m, n) = x (m, k) · Wᵀ. In BLIS terms A = x and B = Wᵀ. Loop nest per thread:
//   for each block of NC rows of W (fixed boundaries; threads take whole blocks):
//     for each KC slice of k:   pack Wᵀ[slice, block] into column panels of NR (L2-resident)
//       for each MR-row panel of packed x:        (L1-resident while the panels below stream)
//         for each NR-column panel:  micro-kernel: a (MR, NR) tile of y, = on the first slice,
//                                    += on the others
// The micro-kernel keeps the MR x NR tile in 24 zmm registers: per k it loads two vectors of Wᵀ
// and broadcasts MR values of x. Packing transposes W 16 x 16 at a time in registers, widening
// F16/BF16 (or rounding to BF16) on the way.
#include <immintrin.h>
#include <omp.h>
#include <string.h>

#include "base/convert.h"
#include "base/quant.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/parallel.h"

#define MR 12      // rows of x per micro-tile
#define NR 32      // rows of W (columns of y) per micro-tile: two zmm
#define KC 512     // k per slice (even: BF16 pairs)
#define NC 256     // rows of W per thread block (a multiple of NR)

static size_t round_up(size_t a, size_t b)
{
    return (a + b - 1) / b * b;
}

size_t kevo_gemm_avx512_scratch(int m, int k, int n_threads)
{
    size_t a = round_up((size_t)m, MR) * round_up((size_t)k, KC) * sizeof(float);
    // per thread: the packed block, and the block decoded when W is of a block type
    size_t b = 2 * (size_t)KC * NC * sizeof(float) * (size_t)n_threads;
    return round_up(a, 64) + b + 64;
}

// ---------------------------------------------------------------------------------------------
// Packing x: slice s, row panel p holds x[p*MR + i][s*KC + kk] at [kk][i] (F32) or, for BF16,
// pairs (kk, kk+1) of row i as one 32-bit word at [kk/2][i]. Rows past m and k past k are zero.

static float *a_panel_f32(float *ap, int m_pad, int s, int p, int kc_s)
{
    return ap + (size_t)s * m_pad * KC + (size_t)p * MR * kc_s;
}

static void pack_x_f32(float *ap, const float *x, int ldx, int m, int k, int n_threads)
{
    int m_pad = (int)round_up((size_t)m, MR), n_slices = (k + KC - 1) / KC;
#pragma omp parallel for collapse(2) schedule(static) num_threads(n_threads) \
    if ((size_t)m_pad * k >= KEVO_PARALLEL_MIN_WORK)
    for (int s = 0; s < n_slices; s++)
        for (int p = 0; p < m_pad / MR; p++) {
            int k0 = s * KC, kc = k - k0 < KC ? k - k0 : KC;
            float *dst = a_panel_f32(ap, m_pad, s, p, kc);
            for (int i = 0; i < MR; i++) {
                int row = p * MR + i;
                for (int kk = 0; kk < kc; kk++)
                    dst[(size_t)kk * MR + i] = row < m ? x[(size_t)row * ldx + k0 + kk] : 0.0f;
            }
        }
}

// BF16 slices hold kc rounded up to even; the extra k is zero.
static uint32_t *a_panel_bf16(uint32_t *ap, int m_pad, int s, int p, int kc_pairs)
{
    return ap + (size_t)s * m_pad * (KC / 2) + (size_t)p * MR * kc_pairs;
}

static void pack_x_bf16(uint32_t *ap, const float *x, int ldx, int m, int k, int n_threads)
{
    int m_pad = (int)round_up((size_t)m, MR), n_slices = (k + KC - 1) / KC;
#pragma omp parallel for collapse(2) schedule(static) num_threads(n_threads) \
    if ((size_t)m_pad * k >= KEVO_PARALLEL_MIN_WORK)
    for (int s = 0; s < n_slices; s++)
        for (int p = 0; p < m_pad / MR; p++) {
            int k0 = s * KC, kc = k - k0 < KC ? k - k0 : KC, pairs = (kc + 1) / 2;
            uint32_t *dst = a_panel_bf16(ap, m_pad, s, p, pairs);
            for (int i = 0; i < MR; i++) {
                int row = p * MR + i;
                const float *src = x + (size_t)row * ldx + k0;
                for (int q = 0; q < pairs; q++) {
                    uint32_t lo = 0, hi = 0;
                    if (row < m) {
                        lo = kevo_f32_to_bf16(src[2 * q]);
                        hi = 2 * q + 1 < kc ? kevo_f32_to_bf16(src[2 * q + 1]) : 0;
                    }
                    dst[(size_t)q * MR + i] = lo | hi << 16;
                }
            }
        }
}

// ---------------------------------------------------------------------------------------------
// Packing W: for the block of rows [n0, n0 + nb) and slice [k0, k0 + kc), column panel j holds
// W[n0 + j*NR + c][k0 + kk] at [kk][c] (F32) or pairs at [kk/2][c] (BF16). 16 rows x 16 k are
// loaded (widened), transposed in registers and stored as 16 k-rows of 16 columns.

static void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

// 16 consecutive values of row `row` from k0, as F32 (zero past `valid`).
static inline __m512 load_w16(const kevo_tensor *w, size_t row, size_t k, int k0, int valid)
{
    __mmask16 m = valid >= 16 ? (__mmask16)0xffff
                : valid > 0   ? (__mmask16)((1u << valid) - 1) : (__mmask16)0;
    size_t at = row * k + (size_t)k0;
    if (w->dtype == KEVO_DTYPE_F32)
        return _mm512_maskz_loadu_ps(m, (const float *)w->data + at);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)w->data + at);
    if (w->dtype == KEVO_DTYPE_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static void pack_w_f32(float *bp, const kevo_tensor *w, int n, int k, int n0, int nb, int k0,
                       int kc)
{
    for (int r0 = 0; r0 < (int)round_up((size_t)nb, NR); r0 += 16) {
        float *panel = bp + (size_t)(r0 / NR) * kc * NR + (r0 % NR);
        for (int kk = 0; kk < kc; kk += 16) {
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                int row = n0 + r0 + i;
                r[i] = row < n0 + nb && row < n ? load_w16(w, (size_t)row, (size_t)k, k0 + kk,
                                                           kc - kk)
                                                : _mm512_setzero_ps();
            }
            transpose16(r);
            for (int i = 0; i < 16 && kk + i < kc; i++)
                _mm512_storeu_ps(panel + (size_t)(kk + i) * NR, r[i]);
        }
    }
}

// BF16: 16 rows x 32 k -> 16 words (k pairs) per row, transposed as 32-bit elements.
static void pack_w_bf16(uint32_t *bp, const kevo_tensor *w, int n, int k, int n0, int nb, int k0,
                        int kc)
{
    int pairs = (kc + 1) / 2;
    for (int r0 = 0; r0 < (int)round_up((size_t)nb, NR); r0 += 16) {
        uint32_t *panel = bp + (size_t)(r0 / NR) * pairs * NR + (r0 % NR);
        for (int kk = 0; kk < kc; kk += 32) {
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                int row = n0 + r0 + i;
                if (row >= n0 + nb || row >= n) {
                    r[i] = _mm512_setzero_ps();
                } else if (w->dtype == KEVO_DTYPE_BF16) {   // already BF16: copy the pairs
                    int valid = kc - kk >= 32 ? 32 : kc - kk;
                    __mmask32 m = valid >= 32 ? 0xffffffffu : (1u << valid) - 1;
                    r[i] = _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(
                        m, (const uint16_t *)w->data + (size_t)row * k + k0 + kk));
                } else {   // round F32 (or widened F16) to BF16, nearest even
                    __m512 lo = load_w16(w, (size_t)row, (size_t)k, k0 + kk, kc - kk);
                    __m512 hi = load_w16(w, (size_t)row, (size_t)k, k0 + kk + 16, kc - kk - 16);
                    r[i] = _mm512_castsi512_ps((__m512i)_mm512_cvtne2ps_pbh(hi, lo));
                }
            }
            transpose16(r);
            for (int i = 0; i < 16 && kk / 2 + i < pairs; i++)
                _mm512_storeu_ps((float *)(panel + (size_t)(kk / 2 + i) * NR), r[i]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Micro-kernels: the (MR, NR) tile at y (row stride ldy) from a panel of x and one of Wᵀ.
// rows/cols: the valid part of the tile; accumulate: add to y instead of storing.

static inline void store_tile(float *y, size_t ldy, __m512 acc[MR][2], int rows, int cols,
                              int accumulate)
{
    __mmask16 m0 = cols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? (__mmask16)0xffff
                 : cols > 16  ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
    for (int i = 0; i < MR; i++) {
        if (i >= rows)
            break;
        float *yr = y + (size_t)i * ldy;
        __m512 v0 = acc[i][0], v1 = acc[i][1];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, yr));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, yr + 16));
        }
        _mm512_mask_storeu_ps(yr, m0, v0);
        _mm512_mask_storeu_ps(yr + 16, m1, v1);
    }
}

static void kernel_f32(int kc, const float *a, const float *b, float *y, size_t ldy, int rows,
                       int cols, int accumulate)
{
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int kk = 0; kk < kc; kk++) {
        __m512 b0 = _mm512_loadu_ps(b + (size_t)kk * NR);
        __m512 b1 = _mm512_loadu_ps(b + (size_t)kk * NR + 16);
        const float *ak = a + (size_t)kk * MR;
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(ak[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    store_tile(y, ldy, acc, rows, cols, accumulate);
}

static void kernel_bf16(int pairs, const uint32_t *a, const uint32_t *b, float *y, size_t ldy,
                        int rows, int cols, int accumulate)
{
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int q = 0; q < pairs; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + (size_t)q * NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + (size_t)q * NR + 16);
        const uint32_t *aq = a + (size_t)q * MR;
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)aq[i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
        }
    }
    store_tile(y, ldy, acc, rows, cols, accumulate);
}

// W's rows [n0, n0 + nb), columns [k0, k0 + kc) of a block type decoded into dst (nb, kc), and
// an F32 view of them for the packing: k0 is a multiple of KC, so the slice is whole blocks.
static kevo_tensor decode_block(float *dst, const kevo_tensor *w, int k, int n0, int nb, int k0,
                                int kc)
{
    for (int r = 0; r < nb; r++)
        kevo_dequant_avx512(w->dtype, (const char *)w->data +
                     kevo_dtype_bytes(w->dtype, (size_t)(n0 + r) * k + (size_t)k0),
                     dst + (size_t)r * kc, (size_t)kc);
    return (kevo_tensor){.name = w->name, .dtype = KEVO_DTYPE_F32, .n_dims = 2,
                         .shape = {nb, kc}, .n_elems = (uint64_t)nb * kc, .data = dst};
}

// ---------------------------------------------------------------------------------------------

void kevo_gemm_avx512(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
                      kevo_compute compute, void *scratch, int n_threads)
{
    int n = (int)w->shape[0], k = (int)(w->n_elems / (uint64_t)w->shape[0]);
    int m_pad = (int)round_up((size_t)m, MR), n_slices = (k + KC - 1) / KC;
    int n_blocks = (n + NC - 1) / NC, bf16 = compute == KEVO_COMPUTE_BF16;
    char *ap = scratch;
    char *bp_all = ap + round_up(round_up((size_t)m, MR) * round_up((size_t)k, KC) * sizeof(float),
                                 64);
    if (bf16)
        pack_x_bf16((uint32_t *)ap, x, ldx, m, k, n_threads);
    else
        pack_x_f32((float *)ap, x, ldx, m, k, n_threads);

#pragma omp parallel for schedule(dynamic) num_threads(n_threads) \
    if ((size_t)m * n * k >= KEVO_PARALLEL_MIN_WORK)
    for (int blk = 0; blk < n_blocks; blk++) {
        void *bp = bp_all + (size_t)omp_get_thread_num() * 2 * KC * NC * sizeof(float);
        float *decoded = (float *)bp + (size_t)KC * NC;
        int n0 = blk * NC, nb = n - n0 < NC ? n - n0 : NC;
        for (int s = 0; s < n_slices; s++) {
            int k0 = s * KC, kc = k - k0 < KC ? k - k0 : KC, pairs = (kc + 1) / 2;
            if (kevo_dtype_is_block(w->dtype)) {   // packed from its decoded F32 values
                kevo_tensor f32 = decode_block(decoded, w, k, n0, nb, k0, kc);
                if (bf16)
                    pack_w_bf16(bp, &f32, nb, kc, 0, nb, 0, kc);
                else
                    pack_w_f32(bp, &f32, nb, kc, 0, nb, 0, kc);
            } else if (bf16) {
                pack_w_bf16(bp, w, n, k, n0, nb, k0, kc);
            } else {
                pack_w_f32(bp, w, n, k, n0, nb, k0, kc);
            }
            for (int p = 0; p < m_pad / MR; p++) {
                int rows = m - p * MR < MR ? m - p * MR : MR;
                for (int j = 0; j < nb; j += NR) {
                    float *tile = y + (size_t)p * MR * ldy + n0 + j;
                    int cols = nb - j < NR ? nb - j : NR;
                    if (bf16)
                        kernel_bf16(pairs,
                                    a_panel_bf16((uint32_t *)ap, m_pad, s, p, pairs),
                                    (const uint32_t *)bp + (size_t)(j / NR) * pairs * NR, tile,
                                    (size_t)ldy, rows, cols, s > 0);
                    else
                        kernel_f32(kc, a_panel_f32((float *)ap, m_pad, s, p, kc),
                                   (const float *)bp + (size_t)(j / NR) * kc * NR, tile,
                                   (size_t)ldy, rows, cols, s > 0);
                }
            }
        }
    }
}
