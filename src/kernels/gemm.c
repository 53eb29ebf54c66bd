// gemm.c — the blocked matrix product of gemm.h: dispatch through the kernel table, and the
// portable driver that the scalar reference and AVX2 paths run with their own micro-kernels.
//
// Shapes: y (m, n) = x (m, k) · Wᵀ. In BLIS terms A = x and B = Wᵀ. Loop nest per thread:
//   for each block of NC rows of W (fixed boundaries; threads take whole blocks):
//     for each KC slice of k:   pack Wᵀ[slice, block] into column panels of nr (L2-resident)
//       for each MC_PANELS row panels of packed x:           (L2-resident, as in BLIS)
//         for each nr-column panel:                          (L1-resident while x's stream)
//           for each mr-row panel: micro-kernel: an (mr, nr) tile of y, = on the first slice,
//                                  += on the others
// The order of the tiles never changes a value: each element is one tile's sum per slice.
#include "kernels/gemm.h"

#include <omp.h>
#include <string.h>

#include "base/quant.h"

#include "kernels/cpu.h"
#include "kernels/parallel.h"

#define KC 256     // k per slice: an (nr, KC) panel of Wᵀ is 16 KiB for nr = 16, in L1 with x's
#define NC 192     // rows of W per thread block: a packed block (KC, NC) is 192 KiB, in L2
#define MC_PANELS 12   // x's row panels per pass over a slice's Wᵀ panels: 72 KiB for mr = 6

int kevo_gemm_available(kevo_compute compute)
{
    return compute == KEVO_COMPUTE_F32 ||
           (kevo_kernels_get()->bf16_products && kevo_cpu_has_bf16_products());
}

size_t kevo_gemm_scratch(int m, int k, int n_threads)
{
    return kevo_kernels_get()->gemm_scratch(m, k, n_threads);
}

void kevo_gemm(float *y, int ldy, const float *x, int ldx, int m, const kevo_tensor *w,
               kevo_compute compute, void *scratch, int n_threads)
{
    kevo_kernels_get()->gemm(y, ldy, x, ldx, m, w, compute, scratch, n_threads);
}

// ---------------------------------------------------------------------------------------------

static size_t round_up(size_t a, size_t b)
{
    return (a + b - 1) / b * b;
}

// Packed x: slices of KC columns, each holding the m_pad rows as mr-row panels.
static size_t packed_x_bytes(const kevo_gemm_micro *mk, int m, int k)
{
    return round_up(round_up((size_t)m, mk->mr) * round_up((size_t)k, KC) * sizeof(float), 64);
}

// Per thread: one packed block of Wᵀ and one widened row.
static size_t thread_bytes(void)
{
    return round_up(((size_t)KC * NC + KC) * sizeof(float), 64);
}

size_t kevo_gemm_blocked_scratch(const kevo_gemm_micro *mk, int m, int k, int n_threads)
{
    return packed_x_bytes(mk, m, k) + (size_t)n_threads * thread_bytes() + 64;
}

// Slice s, row panel p: x[p*mr + i][s*KC + kk] at [kk*mr + i]; rows past m are zero.
static float *x_panel(const kevo_gemm_micro *mk, float *ap, int m_pad, int s, int p, int kc)
{
    return ap + (size_t)s * m_pad * KC + (size_t)p * mk->mr * kc;
}

static void pack_x(const kevo_gemm_micro *mk, float *ap, const float *x, int ldx, int m, int k,
                   int n_threads)
{
    int mr = mk->mr, m_pad = (int)round_up((size_t)m, mr), n_slices = (k + KC - 1) / KC;
#pragma omp parallel for collapse(2) schedule(static) num_threads(n_threads) \
    if ((size_t)m_pad * k >= KEVO_PARALLEL_MIN_WORK)
    for (int s = 0; s < n_slices; s++)
        for (int p = 0; p < m_pad / mr; p++) {
            int k0 = s * KC, kc = k - k0 < KC ? k - k0 : KC;
            float *dst = x_panel(mk, ap, m_pad, s, p, kc);
            for (int i = 0; i < mr; i++) {
                int row = p * mr + i;
                const float *src = x + (size_t)row * ldx + k0;
                for (int kk = 0; kk < kc; kk++)
                    dst[(size_t)kk * mr + i] = row < m ? src[kk] : 0.0f;
            }
        }
}

// W's rows [n0, n0 + nb), columns [k0, k0 + kc) as column panels of nr: panel j holds
// W[n0 + j*nr + c][k0 + kk] at [kk*nr + c]; rows past the block are zero. F16/BF16 rows are
// widened (exactly) into `row` first.
static void pack_w(const kevo_gemm_micro *mk, float *bp, float *row, const kevo_tensor *w, int k,
                   int n0, int nb, int k0, int kc)
{
    const kevo_kernels *kk_ = kevo_kernels_get();
    int nr = mk->nr;
    for (int r = 0; r < (int)round_up((size_t)nb, nr); r++) {
        float *dst = bp + (size_t)(r / nr) * kc * nr + r % nr;
        if (r >= nb) {
            for (int kk = 0; kk < kc; kk++)
                dst[(size_t)kk * nr] = 0.0f;
            continue;
        }
        size_t at = (size_t)(n0 + r) * (size_t)k + (size_t)k0;
        const float *src = row;
        if (w->dtype == KEVO_DTYPE_F32)
            src = (const float *)w->data + at;
        else if (w->dtype == KEVO_DTYPE_F16)
            kk_->f16_to_f32(row, (const uint16_t *)w->data + at, (size_t)kc);
        else if (w->dtype == KEVO_DTYPE_BF16)
            kk_->bf16_to_f32(row, (const uint16_t *)w->data + at, (size_t)kc);
        else   // a block type: k0 is a multiple of KC, so a slice is whole blocks
            kk_->dequant(w->dtype, (const char *)w->data + kevo_dtype_bytes(w->dtype, at), row,
                         (size_t)kc);
        for (int kk = 0; kk < kc; kk++)
            dst[(size_t)kk * nr] = src[kk];
    }
}

void kevo_gemm_blocked(const kevo_gemm_micro *mk, float *y, int ldy, const float *x, int ldx,
                       int m, const kevo_tensor *w, void *scratch, int n_threads)
{
    int n = (int)w->shape[0], k = (int)(w->n_elems / (uint64_t)w->shape[0]);
    int mr = mk->mr, nr = mk->nr;
    int m_pad = (int)round_up((size_t)m, mr), n_slices = (k + KC - 1) / KC;
    int n_blocks = (n + NC - 1) / NC;
    float *ap = scratch;
    char *threads = (char *)scratch + packed_x_bytes(mk, m, k);
    pack_x(mk, ap, x, ldx, m, k, n_threads);

#pragma omp parallel for schedule(dynamic) num_threads(n_threads) \
    if ((size_t)m * n * k >= KEVO_PARALLEL_MIN_WORK)
    for (int blk = 0; blk < n_blocks; blk++) {
        float *bp = (float *)(threads + (size_t)omp_get_thread_num() * thread_bytes());
        int n0 = blk * NC, nb = n - n0 < NC ? n - n0 : NC;
        for (int s = 0; s < n_slices; s++) {
            int k0 = s * KC, kc = k - k0 < KC ? k - k0 : KC;
            pack_w(mk, bp, bp + (size_t)KC * NC, w, k, n0, nb, k0, kc);
            for (int p0 = 0; p0 < m_pad / mr; p0 += MC_PANELS) {
                int p1 = p0 + MC_PANELS < m_pad / mr ? p0 + MC_PANELS : m_pad / mr;
                for (int j = 0; j < nb; j += nr)
                    for (int p = p0; p < p1; p++)
                        mk->tile(kc, x_panel(mk, ap, m_pad, s, p, kc),
                                 bp + (size_t)(j / nr) * kc * nr, y + (size_t)p * mr * ldy + n0 + j,
                                 (size_t)ldy, m - p * mr < mr ? m - p * mr : mr,
                                 nb - j < nr ? nb - j : nr, s > 0);
            }
        }
    }
}
