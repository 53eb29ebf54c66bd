// test_quant.c — ggml's block types (base/quant.h): decoding bit-identical to the numpy statement
// of ggml-quants.c (tools/oracles/oracle_quant.py) on every kernel path; the fused decode-time
// dot products (kernels/dotq_body.h) of every SIMD path within a stated F32 bound of a long
// double reference; products with block-type weights on the current kernel path: the GEMM
// bit-identical to the same product with the decoded F32 weights, the decode-time products
// within F32 rounding of a double reference and the same for any thread count.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/quant.h"
#include "io/safetensors.h"
#include "kernels/cpu.h"
#include "kernels/linear.h"
#include "test.h"

#define ROWS 64
#define COLS 512

static const char *const isas[] = {"ref", "avx2", "avx512"};
static const kevo_dtype types[] = {KEVO_DTYPE_Q4_0, KEVO_DTYPE_Q4_1, KEVO_DTYPE_Q5_0,
                                   KEVO_DTYPE_Q5_1, KEVO_DTYPE_Q8_0, KEVO_DTYPE_IQ4_NL,
                                   KEVO_DTYPE_Q2_K, KEVO_DTYPE_Q3_K, KEVO_DTYPE_Q4_K,
                                   KEVO_DTYPE_Q5_K, KEVO_DTYPE_Q6_K};

static const kevo_tensor *need(const kevo_safetensors *f, const char *type, const char *what)
{
    char name[64];
    snprintf(name, sizeof name, "%s.%s", type, what);
    const kevo_tensor *t = kevo_safetensors_find(f, name);
    CHECK(t, "oracle lacks '%s'", name);
    return t;
}

KEVO_TEST(quant_decoding_matches_numpy)
{
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(kevo_test_data("oracle/quant/blocks.safetensors"), &f,
                                        &err), &err))
        return;
    float *y = malloc((size_t)ROWS * COLS * sizeof *y);
    for (size_t i = 0; y && i < sizeof types / sizeof types[0]; i++) {
        const char *name = kevo_dtype_name(types[i]);
        const kevo_tensor *blocks = need(f, name, "blocks"), *want = need(f, name, "values");
        if (!blocks || !want)
            continue;
        CHECK(blocks->n_bytes == kevo_dtype_bytes(types[i], (size_t)ROWS * COLS),
              "%s: %llu bytes of blocks for %d elements", name,
              (unsigned long long)blocks->n_bytes, ROWS * COLS);
        for (int p = 0; p < 3; p++) {   // every kernel path this CPU runs
            const kevo_kernels *kk = kevo_kernels_for(isas[p]);
            if (!kk)
                continue;
            kk->dequant(types[i], blocks->data, y, (size_t)ROWS * COLS);
            size_t bad = 0, first = 0;
            for (size_t e = 0; e < (size_t)ROWS * COLS; e++)
                if (memcmp(&y[e], (const float *)want->data + e, sizeof *y) && !bad++)
                    first = e;
            CHECK(bad == 0, "%s on %s: %zu of %d values differ from numpy's, first at %zu: %.9g "
                  "vs %.9g", name, isas[p], bad, ROWS * COLS, first, y[first],
                  ((const float *)want->data)[first]);
        }
    }
    free(y);
    kevo_safetensors_free(f);
}

static kevo_tensor matrix(kevo_dtype dt, const void *data)
{
    return (kevo_tensor){.name = kevo_dtype_name(dt), .dtype = dt, .n_dims = 2,
                         .shape = {ROWS, COLS}, .n_elems = (uint64_t)ROWS * COLS,
                         .n_bytes = kevo_dtype_bytes(dt, (size_t)ROWS * COLS), .data = data};
}

KEVO_TEST(quant_products_on_this_path)
{
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(kevo_test_data("oracle/quant/blocks.safetensors"), &f,
                                        &err), &err))
        return;
    enum { M = 9 };   // GEMM rows: more than KEVO_GEMV_MAX_ROWS, not a multiple of any tile
    float *yq = malloc((size_t)M * ROWS * sizeof *yq), *yf = malloc((size_t)M * ROWS * sizeof *yf);
    void *scratch = aligned_alloc(64, (kevo_linear_scratch(M, COLS, 2) + 63) / 64 * 64);
    kevo_linear_ctx ctx = {.scratch = scratch, .n_threads = 2, .batch_invariant = 1};
    for (size_t i = 0; yq && yf && scratch && i < sizeof types / sizeof types[0]; i++) {
        const char *name = kevo_dtype_name(types[i]);
        const kevo_tensor *blocks = need(f, name, "blocks"), *values = need(f, name, "values");
        const kevo_tensor *xt = need(f, name, "x");
        if (!blocks || !values || !xt)
            continue;
        const float *x = xt->data, *w = values->data;
        kevo_tensor wq = matrix(types[i], blocks->data), wf = matrix(KEVO_DTYPE_F32, w);
        kevo_linear(yq, ROWS, x, COLS, M, &wq, NULL, &ctx);
        kevo_linear(yf, ROWS, x, COLS, M, &wf, NULL, &ctx);
        CHECK(!memcmp(yq, yf, (size_t)M * ROWS * sizeof *yq),
              "%s: the GEMM differs from the one with the decoded F32 weights", name);
        // Decoding: one row at a time through the dot products (fused or not), relative to the
        // magnitude of what they add (oracle_quant.py's terms); the same bits with 1 thread
        const float *terms = need(f, name, "terms") ? need(f, name, "terms")->data : w;
        kevo_linear_ctx one = {.n_threads = 1};
        double worst = 0;
        for (int r = 0; r < M; r++) {
            const float *xr = x + (size_t)r * COLS;
            kevo_linear(yq, ROWS, xr, COLS, 1, &wq, NULL, NULL);
            kevo_linear(yf, ROWS, xr, COLS, 1, &wq, NULL, &one);
            CHECK(!memcmp(yq, yf, ROWS * sizeof *yq), "%s: decoding differs with 1 thread", name);
            for (int n = 0; n < ROWS; n++) {
                double want = 0, mag = 0;
                for (int k = 0; k < COLS; k++) {
                    want += (double)xr[k] * w[(size_t)n * COLS + k];
                    mag += fabs((double)xr[k] * terms[(size_t)n * COLS + k]);
                }
                worst = fmax(worst, fabs(yq[n] - want) / (mag + 1e-30));
            }
        }
        CHECK(worst < 2e-6, "%s: decode-time products off by %.3g of sum |x terms|", name, worst);
    }
    free(yq);
    free(yf);
    free(scratch);
    kevo_safetensors_free(f);
}

// x's sums per 32 elements, as the fused products take them (here in long double).
static void sums32(const float *x, int n, float *xsum)
{
    for (int i = 0; i < n / 32; i++) {
        long double t = 0;
        for (int j = 0; j < 32; j++)
            t += x[32 * i + j];
        xsum[i] = (float)t;
    }
}

// |got - Σ x w| (w the decoded weights, summed in long double) over Σ |x terms|.
static double fused_error(float got, const float *x, const float *w, const float *terms, int n)
{
    long double want = 0, mag = 0;
    for (int k = 0; k < n; k++) {
        want += (long double)x[k] * w[k];
        mag += fabsl((long double)x[k] * terms[k]);
    }
    return (double)(fabsl((long double)got - want) / (mag + 1e-30L));
}

// Every fused type on every SIMD path: each of the 64 activation rows with each of the 64
// weight rows of random blocks (zero, subnormal and large F16 scales among them). Bound: the
// first-order bound L u of F32 sums whose longest chain of roundings is L (u = 2^-24). Per
// row of 512 the deepest chain is an accumulator's n/64 FMAs, a sub-block's 32/W, the W
// lanes' sum and the minima's subtraction: under 32 for W = 8 or 16.
KEVO_TEST(quant_fused_products_every_path)
{
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(kevo_test_data("oracle/quant/blocks.safetensors"), &f,
                                        &err), &err))
        return;
    const double bound = 32 * 0x1p-24;
    int paths = 0;
    for (int p = 0; p < 3; p++) {
        const kevo_kernels *kk = kevo_kernels_for(isas[p]);
        if (!kk || !kk->dot_q)
            continue;
        paths++;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            if (!kevo_dot_q_fuses(types[i]))
                continue;
            const char *name = kevo_dtype_name(types[i]);
            const kevo_tensor *blocks = need(f, name, "blocks"), *values = need(f, name, "values");
            const kevo_tensor *xt = need(f, name, "x"), *terms = need(f, name, "terms");
            if (!blocks || !values || !xt || !terms)
                continue;
            size_t row_bytes = kevo_dtype_bytes(types[i], COLS);
            double worst = 0;
            for (int r = 0; r < ROWS; r++) {
                const float *x = (const float *)xt->data + (size_t)r * COLS;
                float xsum[COLS / 32];
                sums32(x, COLS, xsum);
                for (int n = 0; n < ROWS; n++) {
                    float got = kk->dot_q(types[i], x, xsum,
                                          (const char *)blocks->data + n * row_bytes, COLS);
                    worst = fmax(worst, fused_error(got, x, (const float *)values->data +
                                                    (size_t)n * COLS, (const float *)terms->data
                                                    + (size_t)n * COLS, COLS));
                }
            }
            CHECK(worst <= bound, "%s on %s: off by %.3g of sum |x terms| (bound %.3g)", name,
                  isas[p], worst, bound);
            if (getenv("KEVO_TEST_VERBOSE"))
                printf("%s on %s: worst %.3g of sum |x terms|\n", name, isas[p], worst);
        }
    }
    CHECK(paths > 0 || !kevo_kernels_for("avx2"), "no SIMD path with fused products ran");
    kevo_safetensors_free(f);
}

// A row wider than one pass of linear.c's fused products (FUSED_K = 32768 columns): the 64
// rows of blocks end to end, twice (65536 columns), through kevo_linear on this path: within
// L u of the long double reference with L = n/64 + 64 (the accumulators' chains over both
// passes, the sub-blocks', the lanes' sums and the passes' addition).
KEVO_TEST(quant_fused_products_wide_rows)
{
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(kevo_test_data("oracle/quant/blocks.safetensors"), &f,
                                        &err), &err))
        return;
    enum { K = 2 * ROWS * COLS };
    float *x = malloc(K * sizeof *x), *w = malloc(K * sizeof *w), *t = malloc(K * sizeof *t);
    char *b = malloc(2 * kevo_dtype_bytes(KEVO_DTYPE_Q8_0, ROWS * COLS));
    for (size_t i = 0; x && w && t && b && i < sizeof types / sizeof types[0]; i++) {
        if (!kevo_dot_q_fuses(types[i]))
            continue;
        const char *name = kevo_dtype_name(types[i]);
        const kevo_tensor *blocks = need(f, name, "blocks"), *values = need(f, name, "values");
        const kevo_tensor *xt = need(f, name, "x"), *terms = need(f, name, "terms");
        if (!blocks || !values || !xt || !terms)
            continue;
        size_t half_bytes = kevo_dtype_bytes(types[i], ROWS * COLS), half_n = ROWS * COLS;
        for (int c = 0; c < 2; c++) {
            memcpy(b + c * half_bytes, blocks->data, half_bytes);
            memcpy(w + c * half_n, values->data, half_n * sizeof *w);
            memcpy(t + c * half_n, terms->data, half_n * sizeof *t);
            memcpy(x + c * half_n, xt->data, half_n * sizeof *x);
        }
        kevo_tensor wq = {.name = name, .dtype = types[i], .n_dims = 2, .shape = {1, K},
                          .n_elems = K, .n_bytes = 2 * half_bytes, .data = b};
        float y;
        kevo_linear(&y, 1, x, K, 1, &wq, NULL, NULL);
        double e = fused_error(y, x, w, t, K), bound = (K / 64 + 64) * 0x1p-24;
        CHECK(e <= bound, "%s: a row of %d off by %.3g of sum |x terms| (bound %.3g)", name, K,
              e, bound);
    }
    free(x);
    free(w);
    free(t);
    free(b);
    kevo_safetensors_free(f);
}
