// lens.c — times kevo's streamed logit lens (analysis/lens.h: logits, log-sum-exps, top tokens,
// both divergences for every pair of consecutive layers, candidates) on synthetic data of a real
// run's shape, and leaves the data and kevo's results in a safetensors file for bench/lens.py,
// which runs numpy on the same data beside it.
//
// usage: build/bench/lens OUT.safetensors T L D V [f16|f32] [REPEATS]
// Prints key=value lines: seconds (best of REPEATS), of which products (with the head) and
// reductions (per row and per pair), chunks, the products' GFLOP/s; where the CPU has
// AVX512-BF16, the same with BF16 products (bf16_*) and how far their results are from the F32
// ones: top-1 agreement, the largest differences of the top-1 probabilities and log-sum-exps,
// the largest relative differences of both divergences.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lens.h"
#include "io/safetensors.h"
#include "kernels/gemm.h"
#include "base/convert.h"
#include "bench_random.h"
#include "kevo.h"

static double max_abs(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static double max_rel(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i] - b[i]) / fmax(fabs(b[i]), 1e-300));
    return m;
}

// The lens with BF16 products, timed as the F32 one, and compared with its result f32.
static kevo_status bf16_row(const kevo_lens_head *lh, const float *hidden, int T, int S, int D,
                            const int *ids, const kevo_lens_params *p32,
                            const kevo_lens_result *f32, int repeats)
{
    kevo_lens_params p = *p32;
    p.compute = KEVO_COMPUTE_BF16;
    kevo_lens_result *r = NULL;
    kevo_error err;
    double best = 1e30, products = 0, reductions = 0;
    for (int rep = 0; rep < repeats; rep++) {
        kevo_lens_result_free(r);
        double t0 = kevo_now();
        if (kevo_lens_run(lh, hidden, T, S, D, ids, &p, &r, &err) != KEVO_OK) {
            fprintf(stderr, "lens: %s\n", err.msg);
            return err.status;
        }
        double s = kevo_now() - t0;
        if (s < best)
            best = s, products = r->seconds_products, reductions = r->seconds_reductions;
    }
    size_t ts = (size_t)T * S, tl = (size_t)T * (S - 1), same = 0;
    for (size_t i = 0; i < ts; i++)
        same += r->top_id[i] == f32->top_id[i];
    printf("bf16_seconds=%.4f\nbf16_products=%.4f\nbf16_reductions=%.4f\nbf16_gflops=%.1f\n"
           "bf16_top1_agree=%.6f\nbf16_top1_p_abs=%.3g\nbf16_lse_abs=%.3g\n"
           "bf16_paper_rel=%.3g\nbf16_jsd_rel=%.3g\n", best, products, reductions,
           2.0 * T * S * (double)lh->lm_head->shape[0] * D / products / 1e9,
           (double)same / ts, max_abs(r->top_p, f32->top_p, ts), max_abs(r->lse, f32->lse, ts),
           max_rel(r->div_paper, f32->div_paper, tl), max_rel(r->div_jsd, f32->div_jsd, tl));
    kevo_lens_result_free(r);
    return KEVO_OK;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s OUT.safetensors T L D V [f16|f32] [REPEATS]\n", argv[0]);
        return 2;
    }
    const char *out = argv[1];
    int T = atoi(argv[2]), L = atoi(argv[3]), D = atoi(argv[4]), V = atoi(argv[5]);
    int f16 = argc < 7 || strcmp(argv[6], "f32") != 0, repeats = argc > 7 ? atoi(argv[7]) : 2;
    int S = L + 1;
    size_t nh = (size_t)T * S * D, nw = (size_t)V * D;
    float *hidden = malloc(nh * sizeof *hidden), *norm = malloc((size_t)D * sizeof *norm);
    void *w = malloc(nw * (f16 ? 2 : 4));
    int *ids = malloc((size_t)T * sizeof *ids);
    if (!hidden || !norm || !w || !ids)
        return 1;
    // States grow with depth as a residual stream does; the head is a scaled random matrix.
    for (size_t i = 0; i < nh; i++)
        hidden[i] = uniform() * (1.0f + (float)((i / D) % S) / 4);
    for (size_t i = 0; i < nw; i++) {
        float x = uniform() * 0.05f;
        if (f16)
            ((uint16_t *)w)[i] = kevo_f32_to_f16(x);
        else
            ((float *)w)[i] = x;
    }
    for (int i = 0; i < D; i++)
        norm[i] = 1;
    for (int t = 0; t < T; t++)
        ids[t] = t % V;
    kevo_tensor head = {.name = "lm_head", .dtype = f16 ? KEVO_DTYPE_F16 : KEVO_DTYPE_F32,
                        .n_dims = 2, .shape = {V, D}, .n_elems = nw, .data = w};
    kevo_lens_head lh = {&head, norm, 1e-5f};
    kevo_lens_params p = {.mode = KEVO_LENS_RAW, .window = kevo_window_default(L)};

    double best = 1e30, products = 0, reductions = 0;
    kevo_lens_result *r = NULL;
    kevo_error err;
    for (int rep = 0; rep < repeats; rep++) {
        kevo_lens_result_free(r);
        double t0 = kevo_now();
        if (kevo_lens_run(&lh, hidden, T, S, D, ids, &p, &r, &err) != KEVO_OK) {
            fprintf(stderr, "lens: %s\n", err.msg);
            return 1;
        }
        double s = kevo_now() - t0;
        if (s < best) {
            best = s;
            products = r->seconds_products;
            reductions = r->seconds_reductions;
        }
    }
    // The generated ids are arbitrary here, so the head's own top tokens stand in for them.
    kevo_tensor_out t[] = {
        {"hidden", KEVO_DTYPE_F32, 3, {T, S, D}, hidden},
        {"lm_head", head.dtype, 2, {V, D}, w},
        {"lse", KEVO_DTYPE_F64, 2, {T, S}, r->lse},
        {"div_paper", KEVO_DTYPE_F64, 2, {T, L}, r->div_paper},
        {"div_jsd", KEVO_DTYPE_F64, 2, {T, L}, r->div_jsd},
    };
    if (kevo_safetensors_write(out, t, 5, NULL, 0, &err) != KEVO_OK) {
        fprintf(stderr, "lens: %s\n", err.msg);
        return 1;
    }
    printf("seconds=%.4f\nproducts=%.4f\nreductions=%.4f\nchunks=%d\ngflops=%.1f\n", best,
           products, reductions, r->n_chunks, 2.0 * T * S * (double)V * D / products / 1e9);
    if (kevo_gemm_available(KEVO_COMPUTE_BF16) && bf16_row(&lh, hidden, T, S, D, ids, &p, r,
                                                          repeats) != KEVO_OK)
        return 1;
    kevo_lens_result_free(r);
    free(hidden);
    free(norm);
    free(w);
    free(ids);
    return 0;
}
