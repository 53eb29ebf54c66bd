// test_analysis.c — the lens, both divergences, the candidates and the heatmap scaling against
// the float64 numpy reference (tools/oracle_analysis.py, the authors' formulas) on the run
// folders PyTorch wrote for every fixture (tools/oracle_engine.py), raw and norm lens.
//
// Tolerance (docs/analyses.md, "Cross-check"): kevo's logits are F32 dot products of D terms,
// the reference's are float64. With u = 2^-24 and e = sqrt(D) u max_v sum_i |h_i w_vi| the
// (probabilistic, Higham & Mary 2019) bound on one logit's error, the log-sum-exp may move by e,
// log-probabilities by 2e, so probabilities by a relative 2e; divergences by a relative O(e) plus
// an absolute O(e) (O(e / V) for the paper's mean over V) where they are close to zero. The test
// allows 4x those bounds; top tokens must agree except where the reference's top-2 logit gap is
// within 2e (a near tie F32 cannot resolve); candidate lists must be identical.
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

#define SAFETY 4.0

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
    double *e = logit_error(abs_, ts, dim), *pe = malloc(tl * sizeof *pe);
    double *sens = malloc(tl * sizeof *sens);
    // per transition: 2 max(e_i, e_i+1), the bound on any log-probability's error in the pair
    for (int t = 0; t < T; t++)
        for (int i = 0; i < L; i++)
            pe[(size_t)t * L + i] = 2 * fmax(e[(size_t)t * S + i], e[(size_t)t * S + i + 1]);
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
        snprintf(name, sizeof name, "sens_%s", kind);
        const double *s_ = need_f64(f, name, tl);
        if (!s_)
            continue;
        for (size_t i = 0; i < tl; i++)
            sens[i] = pe[i] * s_[i];
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
    free(pe);
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
