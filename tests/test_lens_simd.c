// test_lens_simd.c — the lens's fast paths: its per-logit reductions (analysis/lens_simd.h:
// libmvec's vector exp, expm1 and log1p, sums per lane) on every SIMD path this CPU runs and the
// dispatched kevo_divergence_pair() of the current path (ref included), against long double
// evaluations; its BF16 products against the F32 ones within the rounding's bound.
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/divergence.h"
#include "analysis/lens.h"
#include "analysis/lens_simd.h"
#include "base/convert.h"
#include "io/runfolder.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "model/model.h"
#include "test.h"

#define N 1027   // a multiple of neither 4 nor 8: every form's last, partial vector is used

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static double urand(void)   // uniform in [0, 1)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

// A lens row of z as the lens makes it (divergence.h), its tail summed in long double.
static kevo_lens_row make_row(const float *z, double *p)
{
    int best = 0;
    for (int v = 1; v < N; v++)
        best = z[v] > z[best] ? v : best;
    long double tail = 0;
    for (int v = 0; v < N; v++)
        tail += v == best ? 0 : expl((long double)z[v] - z[best]);
    for (int v = 0; v < N; v++)
        p[v] = (double)(expl((long double)z[v] - z[best]) / (1 + tail));
    return (kevo_lens_row){z, z[best], (double)log1pl(tail), p};
}

// The sums kevo_divergence_pair() divides, sum M (2 log M - log P - log Q) and
// sum P log(P / M) + Q log(Q / M), in long double and free of cancellation where the rows are
// close: with r = log Q - log P and t = tanh(r / 2), 2 log M - log P - log Q = 2 log cosh(r / 2)
// = 2 log1p(2 sinh(r / 4)^2), and the JSD's term is M ((1 - t) log(1 - t) + (1 + t) log(1 + t)).
static void reference_sums(const kevo_lens_row *a, const kevo_lens_row *b, long double *paper,
                           long double *jsd)
{
    *paper = *jsd = 0;
    for (int v = 0; v < N; v++) {
        long double lp = (long double)a->z[v] - a->max - a->logsum;
        long double lq = (long double)b->z[v] - b->max - b->logsum;
        long double P = expl(lp), Q = expl(lq), M = (P + Q) / 2, r = lq - lp, t = tanhl(r / 2);
        if (M == 0)
            continue;
        long double s = sinhl(r / 4);
        *paper += M * 2 * log1pl(2 * s * s);
        *jsd += fabsl(r) < 1 ? M * ((1 - t) * log1pl(-t) + (1 + t) * log1pl(t))
                             : P * (lp - logl(M)) + Q * (lq - logl(M));
    }
}

// Pairs of rows: a spread of logits, b = a moved by noise of the given size (small: most
// |log q - log p| < 1, the series branch; large: most above 1); every 17th logit of both rows
// so low that its probabilities underflow to 0 (m = 0, an entry that adds nothing).
static void make_pair(float *za, float *zb, double spread, double noise)
{
    for (int v = 0; v < N; v++) {
        za[v] = (float)(spread * (urand() - 0.5));
        zb[v] = (float)(za[v] + noise * (urand() - 0.5));
        if (v % 17 == 5)
            za[v] = zb[v] = -2000.0f;
    }
}

static void check_form(const char *isa, const kevo_lens_simd *simd)
{
    static float za[N], zb[N];
    static double pa[N], pb[N], e[N];
    const double noises[] = {0.01, 0.5, 3, 40};
    for (int k = 0; k < 4; k++) {
        make_pair(za, zb, 12, noises[k]);
        kevo_lens_row a = make_row(za, pa), b = make_row(zb, pb);
        long double want_paper, want_jsd;
        reference_sums(&a, &b, &want_paper, &want_jsd);
        double worst = 0, sum = 0;
        long double want_sum = 0;
        if (simd) {
            double paper, jsd;
            simd->pair_sums(&a, &b, N, &paper, &jsd);
            CHECK(fabsl(paper - want_paper) <= 1e-14L * want_paper &&
                  fabsl(jsd - want_jsd) <= 1e-14L * want_jsd,
                  "%s, noise %g: sums %.17g %.17g, long double %.17Lg %.17Lg", isa, noises[k],
                  paper, jsd, want_paper, want_jsd);
            sum = simd->exp_sum(za, N, a.max, e);
            for (int v = 0; v < N; v++) {
                long double x = expl((long double)za[v] - a.max);
                want_sum += x;
                worst = fmax(worst, (double)(fabsl(e[v] - x) / fmaxl(x, DBL_MIN)));
            }
            CHECK(worst <= 1e-15 && fabsl(sum - want_sum) <= 1e-14L * want_sum,
                  "%s: exp worst relative error %.3g, sum %.17g vs %.17Lg", isa, worst, sum,
                  want_sum);
            // the patch lens's form: the same sum to the bit, and sum p (z - max)
            double moment, again = simd->exp_moment(za, N, a.max, &moment);
            long double want_moment = 0;
            for (int v = 0; v < N; v++)
                want_moment += expl((long double)za[v] - a.max) * ((long double)za[v] - a.max);
            CHECK(!memcmp(&again, &sum, sizeof sum) &&
                      fabsl(moment - want_moment) <= 1e-13L * fabsl(want_moment),
                  "%s: exp_moment sum %.17g (exp_sum %.17g), moment %.17g vs %.17Lg", isa, again,
                  sum, moment, want_moment);
        } else {   // the dispatched divergences of the current path
            double paper, jsd;
            kevo_divergence_pair(&a, &b, N, &paper, &jsd);
            long double wp = want_paper / (2 * N), wj = want_jsd / 2 / M_LN2;
            CHECK(fabsl(paper - wp) <= 1e-14L * wp && fabsl(jsd - wj) <= 1e-14L * wj,
                  "%s, noise %g: paper %.17g jsd %.17g, long double %.17Lg %.17Lg", isa,
                  noises[k], paper, jsd, wp, wj);
        }
    }
}

KEVO_TEST(analysis_lens_simd_matches_long_double)
{
    check_form(kevo_kernels_get()->isa, NULL);
#if defined(__x86_64__)
    if (kevo_kernels_for("avx2"))
        check_form("avx2", &kevo_lens_simd_avx2);
    if (kevo_kernels_for("avx512"))
        check_form("avx512", &kevo_lens_simd_avx512);
#endif
}

// Largest bound over the rows' logits on what BF16 products may change: rounding x and w to
// BF16 moves each product x_k w_k by at most 2^-8 |x_k w_k| (2^-9 each, to first order), so a
// logit moves by at most 2^-8 sum_k |x_k w_k|, and its row's log-sum-exp by at most the
// largest such bound of the row (the F32 sums' own rounding is far smaller).
static double bf16_row_bound(const kevo_tensor *head, const float *x, int dim)
{
    const int V = (int)head->shape[0];
    float *w = malloc((size_t)dim * sizeof *w);
    double worst = 0;
    for (int v = 0; w && v < V; v++) {
        kevo_convert_to_f32(w, (const char *)head->data + (size_t)v * dim *
                            kevo_dtype_size(head->dtype), head->dtype, (size_t)dim);
        double s = 0;
        for (int k = 0; k < dim; k++)
            s += fabs((double)x[k] * w[k]);
        worst = fmax(worst, s);
    }
    free(w);
    return 0x1p-8 * worst;
}

KEVO_TEST(analysis_lens_bf16_products)
{
    kevo_error err;
    kevo_model *m = NULL;
    kevo_runfolder *rf = NULL;
    kevo_lens_result *a = NULL, *b = NULL;
    if (!CHECK_OK(kevo_model_load(kevo_test_data("fixtures/tiny-bf16"), &m, &err), &err) ||
        !CHECK_OK(kevo_runfolder_load(kevo_test_data("oracle/engine/tiny-bf16/describe.run"), &rf,
                                      &err), &err))
        goto done;
    const kevo_tensor *w = m->weights->lm_head.t;
    kevo_lens_head head = {w, m->weights->final_norm.f32, m->config.rms_norm_eps};
    kevo_lens_params p = {.mode = KEVO_LENS_RAW, .window = kevo_window_default(rf->n_states - 1),
                          .compute = KEVO_COMPUTE_BF16};
    kevo_status st = kevo_lens_run(&head, rf->hidden, rf->n_steps, rf->n_states, rf->dim,
                                   rf->generated_ids, &p, &b, &err);
    if (!kevo_gemm_available(KEVO_COMPUTE_BF16)) {
        CHECK(st == KEVO_ERR_ARG && strstr(err.msg, "AVX512-BF16"),
              "BF16 lens without the instructions: status %d, '%s'", st, err.msg);
        goto done;
    }
    p.compute = KEVO_COMPUTE_F32;
    if (!CHECK_OK(st, &err) ||
        !CHECK_OK(kevo_lens_run(&head, rf->hidden, rf->n_steps, rf->n_states, rf->dim,
                                rf->generated_ids, &p, &a, &err), &err))
        goto done;
    int rows = rf->n_steps * rf->n_states, worse = 0;
    double worst = 0;
    for (int i = 0; i < rows; i++) {
        double bound = bf16_row_bound(w, rf->hidden + (size_t)i * rf->dim, rf->dim);
        double d = fabs(b->lse[i] - a->lse[i]);
        worst = fmax(worst, d / bound);
        // the top-1 probability exp(z - lse) moves by at most a factor e^(2 bound)
        worse += !(d <= bound * 1.001 && (b->top_id[i] != a->top_id[i] ||
                   fabs(b->top_p[i] - a->top_p[i]) <= a->top_p[i] * expm1(2 * bound) * 1.001));
    }
    CHECK(worse == 0 && worst > 0, "BF16 lens: %d of %d rows beyond the rounding bound "
          "(worst log-sum-exp change %.3g of it)", worse, rows, worst);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    BF16 lens: log-sum-exps moved by at most %.3g of the rounding bound\n", worst);
done:
    kevo_lens_result_free(a);
    kevo_lens_result_free(b);
    kevo_runfolder_free(rf);
    kevo_model_free(m);
}
