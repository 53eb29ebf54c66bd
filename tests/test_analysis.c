// test_analysis.c — the lens, both divergences, the candidates and the heatmap scaling against
// the float64 numpy reference (tools/oracle_analysis.py, the authors' formulas) on the run
// folders PyTorch wrote for every fixture (tools/oracle_engine.py), raw and norm lens.
//
// Tolerance (docs/analyses.md, "Cross-check"): kevo's logits are F32 dot products of D terms,
// the reference's are float64. e = (sqrt(D) + 4) u max_v sum_i |h_i w_vi| (u = 2^-24) bounds one
// logit's rounding error in the random-walk model of a D-term sum (Higham & Mary 2019), plus
// 4 u for the norm lens's F32 RMSNorm. Then, to first order: the log-sum-exp moves by at most e,
// log-probabilities by 2e, probabilities by a relative 2e, and a divergence J by at most
// e_a sum_v |dJ/dz_v| + e_b sum_v |dJ/dz'_v| over the logits z, z' of its two rows (the oracle
// computes these sensitivities exactly). The test allows SAFETY times these bounds. Top tokens
// must agree except where the reference's top-2 logit gap is within 2e (a tie F32 cannot
// resolve); candidate lists must be identical.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/candidates.h"
#include "analysis/divergence.h"
#include "analysis/lens.h"
#include "io/runfolder.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "test.h"

static const char *const fixtures[] = {"tiny-f32", "tiny-f16", "tiny-bf16", "tiny-gqa"};
static const char *const cases[] = {"color", "describe"};

#define SAFETY 2.0

static const double *need_f64(const kevo_safetensors *f, const char *name, size_t n)
{
    const kevo_tensor *t = kevo_safetensors_find(f, name);
    CHECK(t && t->dtype == KEVO_DTYPE_F64 && t->n_elems == n, "oracle lacks F64 '%s' of %zu",
          name, n);
    return t && t->dtype == KEVO_DTYPE_F64 && t->n_elems == n ? t->data : NULL;
}

static const int64_t *need_i64(const kevo_safetensors *f, const char *name, size_t *n)
{
    const kevo_tensor *t = kevo_safetensors_find(f, name);
    CHECK(t && t->dtype == KEVO_DTYPE_I64, "oracle lacks I64 '%s'", name);
    if (!t || t->dtype != KEVO_DTYPE_I64)
        return NULL;
    *n = (size_t)t->n_elems;
    return t->data;
}

// Checks |got - want| <= SAFETY (abs_e[i] + rel_e[i] |want|) everywhere; prints the worst
// ratio to the bound with KEVO_TEST_VERBOSE. abs_e / rel_e are per element (stride 1) or NULL.
static void check_bound(const char *what, const double *got, const double *want, size_t n,
                        const double *abs_e, const double *rel_e, double abs_scale,
                        double rel_scale)
{
    if (!want)
        return;
    double worst = 0, worst_rel = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        double bound = (abs_e ? abs_e[i] * abs_scale : 0) +
                       (rel_e ? rel_e[i] * rel_scale : 0) * fabs(want[i]);
        double ratio = d / (SAFETY * bound + 1e-300);
        if (!(ratio <= worst)) {
            worst = ratio;
            at = i;
        }
        if (want[i] != 0 && d / fabs(want[i]) > worst_rel)
            worst_rel = d / fabs(want[i]);
    }
    CHECK(worst <= 1.0, "%s: element %zu: kevo %.17g, reference %.17g: %.3g x the tolerance",
          what, at, got[at], want[at], worst);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    %-44s worst %.3g of the tolerance, max relative difference %.3g\n", what,
               worst, worst_rel);
}

// The F32 error scale of each logit row: e = (sqrt(D) + 4) u max_v sum_i |h_i w_vi| (the
// sqrt(D) u of a D-term dot product, 4 u for the norm lens's F32 RMSNorm).
static double *logit_error(const double *logit_abs, size_t n, int dim)
{
    double *e = malloc(n * sizeof *e);
    for (size_t i = 0; i < n && e; i++)
        e[i] = (sqrt((double)dim) + 4) * 0x1p-24 * logit_abs[i];
    return e;
}

static void compare_lens(const char *label, const kevo_lens_result *r, const kevo_safetensors *f,
                         const int *generated_ids, int dim)
{
    int T = r->n_steps, S = r->n_states, L = S - 1;
    size_t ts = (size_t)T * S, tl = (size_t)T * L, n;
    char what[200];
    const double *abs_ = need_f64(f, "logit_abs", ts), *gap = need_f64(f, "top_gap", ts);
    const int64_t *top = need_i64(f, "top_id", &n);
    if (!abs_ || !gap || !top || n != ts)
        return;
    double *e = logit_error(abs_, ts, dim), *sens = malloc(tl * sizeof *sens);
    double *two_e = malloc(ts * sizeof *two_e);
    for (size_t i = 0; i < ts; i++)
        two_e[i] = 2 * e[i];

    snprintf(what, sizeof what, "%s log-sum-exp", label);
    check_bound(what, r->lse, need_f64(f, "lse", ts), ts, e, NULL, 1, 0);
    snprintf(what, sizeof what, "%s top-1 probability", label);
    check_bound(what, r->top_p, need_f64(f, "top_p", ts), ts, NULL, two_e, 0, 1);
    snprintf(what, sizeof what, "%s generated-token probability", label);
    check_bound(what, r->generated_p, need_f64(f, "generated_p", ts), ts, NULL, two_e, 0, 1);
    int n_tied = 0, n_bad = 0;
    for (size_t i = 0; i < ts; i++) {
        if (gap[i] <= 2 * e[i])
            n_tied++;
        else if (r->top_id[i] != top[i])
            n_bad++;
    }
    CHECK(n_bad == 0, "%s: %d top tokens differ from the reference's (beyond near ties)", label,
          n_bad);
    for (int k = 0; k < 2; k++) {
        const char *kind = k ? "jsd" : "paper";
        const double *got = k ? r->div_jsd : r->div_paper;
        char name[64];
        snprintf(name, sizeof name, "sens_a_%s", kind);
        const double *sa = need_f64(f, name, tl);
        snprintf(name, sizeof name, "sens_b_%s", kind);
        const double *sb = need_f64(f, name, tl);
        if (!sa || !sb)
            continue;
        for (int t = 0; t < T; t++)
            for (int i = 0; i < L; i++) {
                size_t k2 = (size_t)t * L + i, a = (size_t)t * S + i;
                sens[k2] = e[a] * sa[k2] + e[a + 1] * sb[k2];
            }
        snprintf(name, sizeof name, "div_%s", kind);
        snprintf(what, sizeof what, "%s %s divergence", label, kind);
        check_bound(what, got, need_f64(f, name, tl), tl, sens, NULL, 1, 0);
    }

    // Candidates: the same lists, probabilities within 2e relative.
    size_t n_start, n_id;
    const int64_t *start = need_i64(f, "cand_start", &n_start), *id = need_i64(f, "cand_id", &n_id);
    if (start && id && CHECK(n_start == (size_t)T + 1 && (int)n_id == r->n_cand,
                             "%s: %d candidates, the reference has %zu", label, r->n_cand, n_id)) {
        int same = 1;
        for (int t = 0; t <= T; t++)
            same &= start[t] == r->cand_start[t];
        for (size_t c = 0; same && c < n_id; c++)
            same &= id[c] == r->cand_id[c];
        CHECK(same, "%s: candidate lists differ from the reference's", label);
        const double *want = need_f64(f, "cand_p", n_id * S);
        double *ce = malloc(n_id * S * sizeof *ce);
        for (int t = 0; same && t < T; t++)
            for (int c = r->cand_start[t]; c < r->cand_start[t + 1]; c++)
                for (int l = 0; l < S; l++)
                    ce[(size_t)c * S + l] = two_e[(size_t)t * S + l];
        snprintf(what, sizeof what, "%s candidate probabilities", label);
        if (same)
            check_bound(what, r->cand_p, want, n_id * S, NULL, ce, 0, 1);
        free(ce);
    }
    // The generated token is the top token of the last state.
    for (int t = 0; t < T; t++)
        CHECK(r->generated_gap[t] <= 2 * e[(size_t)t * S + L], "%s: step %d generated %d but the "
              "lens's top token at the last state is %d", label, t, generated_ids[t],
              r->top_id[(size_t)t * S + L]);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    %s: %d near-tied top tokens, %d chunks\n", label, n_tied, r->n_chunks);
    free(e);
    free(sens);
    free(two_e);
}

// The heatmap's matrix: the first 40 rows of each divergence, scaled per column and globally.
static void compare_scaling(const char *label, const kevo_lens_result *r,
                            const kevo_safetensors *f)
{
    int L = r->n_states - 1, rows = r->n_steps < 40 ? r->n_steps : 40;
    size_t n = (size_t)rows * L;
    double *m = malloc(n * sizeof *m);
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < 2; s++) {
            const char *kind = k ? "jsd" : "paper";
            kevo_scale_mode mode = s ? KEVO_SCALE_GLOBAL : KEVO_SCALE_COLUMN;
            char name[64], what[200];
            snprintf(name, sizeof name, "div_%s", kind);
            const double *raw = need_f64(f, name, (size_t)r->n_steps * L);
            snprintf(name, sizeof name, "heat_%s_%s", kevo_scale_name(mode), kind);
            const double *want = need_f64(f, name, n);
            if (!raw || !want)
                continue;
            // Scale the reference's own raw values: this checks the scaling alone, exactly.
            memcpy(m, raw, n * sizeof *m);
            kevo_scale_matrix(m, rows, L, mode);
            double worst = 0;
            for (size_t i = 0; i < n; i++)
                worst = fmax(worst, fabs(m[i] - want[i]));
            snprintf(what, sizeof what, "%s %s", label, name);
            CHECK(worst <= 1e-15, "%s: scaled matrix differs by %.3g", what, worst);
            int ones = 0;
            for (int c = 0; c < L && mode == KEVO_SCALE_COLUMN; c++)
                for (int i = 0; i < rows; i++)
                    ones += m[(size_t)i * L + c] == 1.0;
            CHECK(mode != KEVO_SCALE_COLUMN || ones >= L, "%s: %d cells of 1.0 for %d columns",
                  what, ones, L);
        }
    free(m);
}

static void compare_run(const kevo_model *m, const char *fx, const char *name,
                        kevo_lens_mode mode, size_t budget)
{
    char rel[256], label[128];
    snprintf(label, sizeof label, "%s/%s %s", fx, name, kevo_lens_mode_name(mode));
    snprintf(rel, sizeof rel, "oracle/engine/%s/%s.run", fx, name);
    kevo_error err;
    kevo_runfolder *rf = NULL;
    kevo_safetensors *f = NULL;
    kevo_lens_result *r = NULL;
    if (!CHECK_OK(kevo_runfolder_load(kevo_test_data(rel), &rf, &err), &err))
        return;
    snprintf(rel, sizeof rel, "oracle/analysis/%s/%s.%s.safetensors", fx, name,
             kevo_lens_mode_name(mode));
    if (!CHECK_OK(kevo_safetensors_open(kevo_test_data(rel), &f, &err), &err))
        goto done;
    int L = rf->n_states - 1;
    const kevo_weights *w = m->weights;
    kevo_lens_head head = {w->lm_head.t, w->final_norm.f32, m->config.rms_norm_eps};
    kevo_lens_params p = {.mode = mode, .window = kevo_window_default(L), .budget_bytes = budget};
    size_t n_win;
    const int64_t *win = need_i64(f, "window", &n_win);
    CHECK(win && n_win == 2 && win[0] == p.window.lo && win[1] == p.window.hi,
          "%s: default window %d:%d differs from the reference's", label, p.window.lo,
          p.window.hi);
    if (CHECK_OK(kevo_lens_run(&head, rf->hidden, rf->n_steps, rf->n_states, rf->dim,
                               rf->generated_ids, &p, &r, &err), &err)) {
        compare_lens(label, r, f, rf->generated_ids, rf->dim);
        compare_scaling(label, r, f);
    }
done:
    kevo_lens_result_free(r);
    kevo_safetensors_free(f);
    kevo_runfolder_free(rf);
}

KEVO_TEST(analysis_lens_matches_numpy_reference)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "fixtures/%s", fixtures[i]);
        kevo_error err;
        kevo_model *m = NULL;
        if (!CHECK_OK(kevo_model_load(kevo_test_data(rel), &m, &err), &err))
            continue;
        for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++)
            for (int mode = 0; mode < 2; mode++)
                compare_run(m, fixtures[i], cases[j], (kevo_lens_mode)mode, 0);
        kevo_model_free(m);
    }
}

static void check_close_rel(const char *what, const double *got, const double *want, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(got[i] - want[i]) / (fabs(want[i]) + 1e-300));
    CHECK(worst <= 1e-4, "%s: chunked and whole differ by %.3g relative", what, worst);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    %-28s chunked vs whole: %.3g relative\n", what, worst);
}

// Streaming: one step per chunk gives the same numbers as one chunk for everything.
KEVO_TEST(analysis_lens_streaming_matches_whole)
{
    kevo_error err;
    kevo_model *m = NULL;
    kevo_runfolder *rf = NULL;
    kevo_lens_result *a = NULL, *b = NULL;
    if (!CHECK_OK(kevo_model_load(kevo_test_data("fixtures/tiny-bf16"), &m, &err), &err) ||
        !CHECK_OK(kevo_runfolder_load(kevo_test_data("oracle/engine/tiny-bf16/describe.run"), &rf,
                                      &err), &err))
        goto done;
    kevo_lens_head head = {m->weights->lm_head.t, m->weights->final_norm.f32,
                           m->config.rms_norm_eps};
    kevo_lens_params p = {.mode = KEVO_LENS_NORM, .window = kevo_window_default(rf->n_states - 1)};
    if (!CHECK_OK(kevo_lens_run(&head, rf->hidden, rf->n_steps, rf->n_states, rf->dim,
                                rf->generated_ids, &p, &a, &err), &err))
        goto done;
    p.budget_bytes = 1;   // below one step: one step per chunk
    if (!CHECK_OK(kevo_lens_run(&head, rf->hidden, rf->n_steps, rf->n_states, rf->dim,
                                rf->generated_ids, &p, &b, &err), &err))
        goto done;
    size_t ts = (size_t)rf->n_steps * rf->n_states, tl = (size_t)rf->n_steps * (rf->n_states - 1);
    CHECK(a->n_chunks == 1 && b->n_chunks == rf->n_steps, "chunks %d and %d", a->n_chunks,
          b->n_chunks);
    // OpenBLAS may round a product differently for another number of rows, so the values are
    // compared to 1e-4 relative (a bookkeeping error would move them by O(1)); ids exactly.
    CHECK(!memcmp(a->top_id, b->top_id, ts * sizeof *a->top_id) && a->n_cand == b->n_cand &&
          !memcmp(a->cand_start, b->cand_start, (rf->n_steps + 1) * sizeof *a->cand_start) &&
          !memcmp(a->cand_id, b->cand_id, (size_t)a->n_cand * sizeof *a->cand_id),
          "chunked and whole top tokens or candidates differ");
    check_close_rel("log-sum-exp", b->lse, a->lse, ts);
    check_close_rel("top-1 probability", b->top_p, a->top_p, ts);
    check_close_rel("paper divergence", b->div_paper, a->div_paper, tl);
    check_close_rel("jsd divergence", b->div_jsd, a->div_jsd, tl);
    check_close_rel("candidate probabilities", b->cand_p, a->cand_p,
                    (size_t)a->n_cand * rf->n_states);
done:
    kevo_lens_result_free(a);
    kevo_lens_result_free(b);
    kevo_runfolder_free(rf);
    kevo_model_free(m);
}

KEVO_TEST(analysis_candidate_window_and_pick)
{
    // The authors' range(20, 33) for 32 layers; the same share of depth elsewhere.
    kevo_window w = kevo_window_default(32);
    CHECK(w.lo == 20 && w.hi == 32, "32 layers: %d:%d", w.lo, w.hi);
    w = kevo_window_default(40);
    CHECK(w.lo == 25 && w.hi == 40, "40 layers: %d:%d", w.lo, w.hi);
    w = kevo_window_default(2);
    CHECK(w.lo == 2 && w.hi == 2, "2 layers: %d:%d", w.lo, w.hi);
    w = kevo_window_default(1);
    CHECK(w.lo == 1 && w.hi == 1, "1 layer: %d:%d", w.lo, w.hi);

    kevo_error err;
    CHECK_OK(kevo_window_parse("20:", 32, &w, &err), &err);
    CHECK(w.lo == 20 && w.hi == 32, "20: -> %d:%d", w.lo, w.hi);
    CHECK_OK(kevo_window_parse(":5", 32, &w, &err), &err);
    CHECK(w.lo == 0 && w.hi == 5, ":5 -> %d:%d", w.lo, w.hi);
    CHECK_OK(kevo_window_parse("3:3", 4, &w, &err), &err);
    const char *bad[] = {"9:3", "0:33", "33:", "abc", "3:5x", "", "-1:3", "3", "1::2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(kevo_window_parse(bad[i], 32, &w, &err) == KEVO_ERR_ARG &&
              kevo_test_contains(err.msg, "--window"), "'%s' accepted (%s)", bad[i], err.msg);

    int top[] = {5, 5, 7, 5, 9, 7}, out[6];
    int n = kevo_candidates_pick(top, (kevo_window){1, 5}, out);
    CHECK(n == 3 && out[0] == 5 && out[1] == 7 && out[2] == 9, "picked %d: %d %d %d", n, out[0],
          out[1], out[2]);
    n = kevo_candidates_pick(top, (kevo_window){4, 4}, out);
    CHECK(n == 1 && out[0] == 9, "one-state window");
}

KEVO_TEST(analysis_divergence_properties)
{
    // Identical rows: both divergences are 0. Disjoint supports: the JSD is exactly 1 bit while
    // the authors' reversed KL is unbounded: KL(M||P) = KL(M||Q) = 500 - ln 2 for logits that
    // differ by 1000, divided by 2V = 4.
    float a[2] = {0, -1000}, b[2] = {-1000, 0}, c[3] = {1.5f, -2, 0.25f};
    double paper, jsd, lse_c = log(exp(1.5) + exp(-2.0) + exp(0.25));
    kevo_divergence_pair(c, lse_c, c, lse_c, 3, &paper, &jsd);
    CHECK(fabs(paper) < 1e-16 && fabs(jsd) < 1e-16, "identical: paper %g jsd %g", paper, jsd);
    kevo_divergence_pair(a, 0, b, 0, 2, &paper, &jsd);
    CHECK(fabs(jsd - 1) < 1e-15, "disjoint: jsd %.17g bits", jsd);
    CHECK(fabs(paper - (500 - M_LN2) / 2) < 1e-12, "disjoint: paper %.17g", paper);
    // Symmetric in its arguments.
    float d[3] = {0.5f, 1, -3};
    double lse_d = log(exp(0.5) + exp(1.0) + exp(-3.0)), p2, j2;
    kevo_divergence_pair(c, lse_c, d, lse_d, 3, &paper, &jsd);
    kevo_divergence_pair(d, lse_d, c, lse_c, 3, &p2, &j2);
    CHECK(paper == p2 && jsd == j2 && jsd > 0 && jsd < 1, "symmetry / range");

    kevo_error err;
    kevo_divergence_kind k;
    kevo_scale_mode s;
    kevo_lens_mode lm;
    CHECK(kevo_divergence_parse("jsd", &k, &err) == KEVO_OK && k == KEVO_DIVERGENCE_JSD, "jsd");
    CHECK(kevo_divergence_parse("js", &k, &err) == KEVO_ERR_ARG, "js accepted");
    CHECK(kevo_scale_parse("global", &s, &err) == KEVO_OK && s == KEVO_SCALE_GLOBAL, "global");
    CHECK(kevo_scale_parse("row", &s, &err) == KEVO_ERR_ARG, "row accepted");
    CHECK(kevo_lens_mode_parse("norm", &lm, &err) == KEVO_OK && lm == KEVO_LENS_NORM, "norm");
    CHECK(kevo_lens_mode_parse("tuned", &lm, &err) == KEVO_ERR_ARG, "tuned accepted");
}

KEVO_TEST(analysis_scaling_edge_cases)
{
    // A zero column and a column below 10 machine epsilons keep their values (sklearn's rule).
    double m[6] = {0, 1e-16, -4, 0, 2e-16, 2};
    kevo_scale_matrix(m, 2, 3, KEVO_SCALE_COLUMN);
    CHECK(m[0] == 0 && m[3] == 0 && m[1] == 1e-16 && m[4] == 2e-16 && m[2] == -1 && m[5] == 0.5,
          "column scaling: %g %g %g / %g %g %g", m[0], m[1], m[2], m[3], m[4], m[5]);
    double g[4] = {1, -8, 2, 4};
    kevo_scale_matrix(g, 2, 2, KEVO_SCALE_GLOBAL);
    CHECK(g[0] == 0.125 && g[1] == -1 && g[2] == 0.25 && g[3] == 0.5, "global scaling");
    kevo_scale_matrix(g, 2, 2, KEVO_SCALE_NONE);
    CHECK(g[0] == 0.125, "none changed the matrix");
}
