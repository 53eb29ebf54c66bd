// test_quant.c — ggml's block types (base/quant.h): decoding bit-identical to the numpy statement
// of ggml-quants.c (tools/oracles/oracle_quant.py) on every kernel path, and products with block-type weights on the
// current kernel path: the GEMM bit-identical to the same product with the decoded F32 weights,
// the decode-time dot products within F32 rounding of a double reference.
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
        // Decoding: one row at a time through the dot products
        double worst = 0;
        for (int r = 0; r < M; r++) {
            kevo_linear(yq, ROWS, x + (size_t)r * COLS, COLS, 1, &wq, NULL, NULL);
            for (int n = 0; n < ROWS; n++) {
                double want = 0, mag = 0;
                for (int k = 0; k < COLS; k++) {
                    want += (double)x[(size_t)r * COLS + k] * w[(size_t)n * COLS + k];
                    mag += fabs((double)x[(size_t)r * COLS + k] * w[(size_t)n * COLS + k]);
                }
                worst = fmax(worst, fabs(yq[n] - want) / (mag + 1e-30));
            }
        }
        CHECK(worst < 1e-6, "%s: decode-time products off by %.3g of sum |x w|", name, worst);
    }
    free(yq);
    free(yf);
    free(scratch);
    kevo_safetensors_free(f);
}
