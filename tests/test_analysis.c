// test_analysis.c — the lens, both divergences, the candidates and the heatmap scaling against
// the float64 numpy reference (tools/oracles/oracle_analysis.py, the authors' formulas) on the run
// folders PyTorch wrote for every fixture (tools/oracles/oracle_engine.py), raw and norm lens.
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

#include "analysis/analysis.h"
#include "analysis/candidates.h"
#include "analysis/divergence.h"
#include "analysis/lens.h"
#include "base/fs.h"
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

// The top 5 against numpy's stable sort of the negated logits: rank 0 is top_id / top_p to the
// bit; each rank's probability within the top-1 probability's tolerance (2 e relative: sorting
// moves no value by more than the largest elementwise error); each rank's id equal wherever the
// logit is more than 2 e from both neighbours' (the near ties an F32 product may swap).
static void compare_top5(const char *label, const kevo_lens_result *r, const kevo_safetensors *f,
                         const double *e)
{
    int K = KEVO_LENS_TOPK;
    size_t ts = (size_t)r->n_steps * r->n_states, n;
    const int64_t *id = need_i64(f, "top5_id", &n);
    const double *z6 = need_f64(f, "top6_logit", ts * (K + 1));
    const double *p = need_f64(f, "top5_p", ts * K);
    if (!id || !z6 || !p || n != ts * K)
        return;
    double *rel = malloc(ts * K * sizeof *rel), *got = malloc(ts * K * sizeof *got);
    int n_bad = 0, n_tied = 0, n_first = 0;
    for (size_t i = 0; i < ts; i++) {
        n_first += r->top5_id[i * K] != r->top_id[i] ||
                   memcmp(&r->top5_p[i * K], &r->top_p[i], sizeof(double)) != 0;
        for (int k = 0; k < K; k++) {
            rel[i * K + k] = 2 * e[i];
            got[i * K + k] = r->top5_p[i * K + k];
            const double *z = z6 + i * (K + 1);
            int tied = z[k + 1] >= z[k] - 2 * e[i] || (k > 0 && z[k] >= z[k - 1] - 2 * e[i]);
            if (tied)
                n_tied++;
            else if (r->top5_id[i * K + k] != id[i * K + k])
                n_bad++;
        }
    }
    CHECK(n_first == 0, "%s: %d rows whose top-5 rank 0 is not top_id/top_p to the bit", label,
          n_first);
    CHECK(n_bad == 0, "%s: %d top-5 ids differ from numpy's (beyond near ties)", label, n_bad);
    char what[200];
    snprintf(what, sizeof what, "%s top-5 probabilities", label);
    check_bound(what, got, p, ts * K, NULL, rel, 0, 1);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    %s top-5: %d of %zu ranks near ties\n", label, n_tied, ts * K);
    free(rel);
    free(got);
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
    compare_top5(label, r, f, e);
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
        const double *off = need_f64(f, "off_top", tl);
        if (!off)
            continue;
        // Second order: K sum_v m_v h''(r) dr^2 / 2 + cross terms, K = 1/2V (paper) or
        // 1/(2 ln 2) (jsd), |h'| <= 1, |h''| <= 1/2, |dr| <= 2 (e_a + e_b) except on M's largest
        // entry, whose log-ratio carries no logit error when both rows peak there.
        double K = k ? 0.5 / M_LN2 : 0.5 / r->vocab;
        for (int t = 0; t < T; t++)
            for (int i = 0; i < L; i++) {
                size_t k2 = (size_t)t * L + i, a = (size_t)t * S + i;
                double ea = e[a], eb = e[a + 1];
                sens[k2] = ea * sa[k2] + eb * sb[k2] + 5 * K * off[k2] * (ea + eb) * (ea + eb);
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

// The run folders the reference covers: PyTorch's generations, and a tiny-f32 run whose states
// are peaked and nearly equal across layers, where divergences fall to 1e-38 and a naive
// evaluation cancels (tools/oracles/oracle_analysis.py, write_peaked_run).
static const char *run_path(const char *fx, const char *name)
{
    static char rel[256];
    if (!strcmp(name, "peaked"))
        snprintf(rel, sizeof rel, "oracle/analysis/%s/peaked.run", fx);
    else
        snprintf(rel, sizeof rel, "oracle/engine/%s/%s.run", fx, name);
    return rel;
}

static void compare_run(const kevo_model *m, const char *fx, const char *name,
                        kevo_lens_mode mode, size_t budget)
{
    char rel[256], label[128];
    snprintf(label, sizeof label, "%s/%s %s", fx, name, kevo_lens_mode_name(mode));
    snprintf(rel, sizeof rel, "%s", run_path(fx, name));
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
        for (int mode = 0; i == 0 && mode < 2; mode++)
            compare_run(m, fixtures[i], "peaked", (kevo_lens_mode)mode, 0);
        kevo_model_free(m);
    }
}

// Streaming: one step per chunk gives exactly the numbers of one chunk for everything.
KEVO_TEST(analysis_lens_streaming_is_exact)
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
    // kevo_linear sums every logit in the same order for any number of rows: bit-identical.
    CHECK(!memcmp(a->lse, b->lse, ts * sizeof *a->lse) &&
          !memcmp(a->top_id, b->top_id, ts * sizeof *a->top_id) &&
          !memcmp(a->top_p, b->top_p, ts * sizeof *a->top_p) &&
          !memcmp(a->div_paper, b->div_paper, tl * sizeof *a->div_paper) &&
          !memcmp(a->div_jsd, b->div_jsd, tl * sizeof *a->div_jsd) && a->n_cand == b->n_cand &&
          !memcmp(a->cand_start, b->cand_start, (rf->n_steps + 1) * sizeof *a->cand_start) &&
          !memcmp(a->cand_id, b->cand_id, (size_t)a->n_cand * sizeof *a->cand_id) &&
          !memcmp(a->cand_p, b->cand_p, (size_t)a->n_cand * rf->n_states * sizeof *a->cand_p),
          "chunked and whole results differ");
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

// A lens row (analysis/divergence.h) for n logits; p receives the probabilities.
static kevo_lens_row make_row(const float *z, int n, double *p)
{
    int best = 0;
    for (int v = 1; v < n; v++)
        best = z[v] > z[best] ? v : best;
    double tail = 0;
    for (int v = 0; v < n; v++)
        tail += v == best ? 0 : exp((double)z[v] - z[best]);
    for (int v = 0; v < n; v++)
        p[v] = exp((double)z[v] - z[best]) / (1 + tail);
    return (kevo_lens_row){z, z[best], log1p(tail), p};
}

KEVO_TEST(analysis_divergence_properties)
{
    // Identical rows: both divergences are 0. Disjoint supports: the JSD is exactly 1 bit while
    // the authors' reversed KL is unbounded: KL(M||P) = KL(M||Q) = 500 - ln 2 for logits that
    // differ by 1000, divided by 2V = 4.
    float a[2] = {0, -1000}, b[2] = {-1000, 0}, c[3] = {1.5f, -2, 0.25f}, d[3] = {0.5f, 1, -3};
    double paper, jsd, p2, j2, pa[2], pb[2], pc[3], pd[3];
    kevo_lens_row ra = make_row(a, 2, pa), rb = make_row(b, 2, pb), rc = make_row(c, 3, pc);
    kevo_lens_row rd = make_row(d, 3, pd);
    kevo_divergence_pair(&rc, &rc, 3, &paper, &jsd);
    CHECK(paper == 0 && jsd == 0, "identical: paper %g jsd %g", paper, jsd);
    kevo_divergence_pair(&ra, &rb, 2, &paper, &jsd);
    CHECK(fabs(jsd - 1) < 1e-15, "disjoint: jsd %.17g bits", jsd);
    CHECK(fabs(paper - (500 - M_LN2) / 2) < 1e-12, "disjoint: paper %.17g", paper);
    // Symmetric in its arguments, JSD within (0, 1).
    kevo_divergence_pair(&rc, &rd, 3, &paper, &jsd);
    kevo_divergence_pair(&rd, &rc, 3, &p2, &j2);
    CHECK(fabs(paper - p2) <= 1e-15 * paper && fabs(jsd - j2) <= 1e-15 * jsd && jsd > 0 &&
          jsd < 1, "symmetry / range: %.17g %.17g, %.17g %.17g", paper, p2, jsd, j2);
    // Nearly equal peaked rows: second-order small, computed without cancellation. For
    // logits (0, -x) and (0, -x - h) with tiny tails, KL(M||P) + KL(M||Q) ~ e^-x h^2 / 4 and
    // the JSD ~ e^-x h^2 / 8 nats: the exact small-h limits of both formulas.
    float e[2] = {0, -40}, f[2] = {0, -40.0009765625f};   // h = 2^-10, exact in F32
    double pe[2], pf[2], h = 0x1p-10, tail = exp(-40.0);
    kevo_lens_row re = make_row(e, 2, pe), rf = make_row(f, 2, pf);
    kevo_divergence_pair(&re, &rf, 2, &paper, &jsd);
    CHECK(fabs(paper / (tail * h * h / 4 / 4) - 1) < 1e-3, "peaked: paper %.6g, want ~%.6g",
          paper, tail * h * h / 16);
    CHECK(fabs(jsd / (tail * h * h / 8 / M_LN2) - 1) < 1e-3, "peaked: jsd %.6g, want ~%.6g", jsd,
          tail * h * h / 8 / M_LN2);

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

// ---------------------------------------------------------------------------------------------
// Synthetic runs through the whole analysis: a model and a run folder built in memory.

typedef struct fake {
    kevo_model model;
    kevo_weights weights;
    kevo_tensor head;
    kevo_runfolder run;
    float *w, *norm, *hidden;
    int *ids;
    char **pieces;
} fake;

static uint64_t fake_rng;
static double gauss(void)   // Box-Muller over a fixed LCG: the same numbers on every run
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        fake_rng = fake_rng * 6364136223846793005ull + 1442695040888963407ull;
        u[i] = ((double)(fake_rng >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

// A model of L layers with a random (V, D) head and unit final norm, and a T-step run of zero
// states (the caller fills fake->hidden and fake->ids).
static void fake_init(fake *f, int L, int D, int V, int T)
{
    memset(f, 0, sizeof *f);
    fake_rng = 7;
    static char dir[2100];
    snprintf(dir, sizeof dir, "%s/fake-model", kevo_test_tmpdir());
    kevo_error err;
    char path[2200];
    kevo_mkdirs(dir, &err);
    snprintf(path, sizeof path, "%s/config.json", dir);
    kevo_test_write(path, "{}", 2);
    f->w = malloc((size_t)V * D * sizeof *f->w);
    f->norm = malloc((size_t)D * sizeof *f->norm);
    f->hidden = calloc((size_t)T * (L + 1) * D, sizeof *f->hidden);
    f->ids = calloc((size_t)T, sizeof *f->ids);
    f->pieces = calloc((size_t)T + 1, sizeof *f->pieces);
    for (size_t i = 0; i < (size_t)V * D; i++)
        f->w[i] = (float)gauss();
    for (int i = 0; i < D; i++)
        f->norm[i] = 1;
    for (int t = 0; t < T; t++)
        f->pieces[t] = "▁x";
    f->head = (kevo_tensor){.name = "lm_head", .dtype = KEVO_DTYPE_F32, .n_dims = 2,
                            .shape = {V, D}, .n_elems = (uint64_t)V * D, .data = f->w};
    f->weights.lm_head.t = &f->head;
    f->weights.final_norm.f32 = f->norm;
    f->model.dir = dir;
    f->model.weights = &f->weights;
    f->model.config = (kevo_config){.text_layers = L, .text_hidden = D, .text_vocab = V,
                                    .rms_norm_eps = 1e-5f};
    f->run = (kevo_runfolder){.dir = "synthetic-run", .model_dir = dir, .text_layers = L,
                              .text_hidden = D, .vocab_rows = V, .generated_ids = f->ids,
                              .pieces = f->pieces, .n_steps = T, .hidden = f->hidden,
                              .n_states = L + 1, .dim = D};
}

static void fake_free(fake *f)
{
    free(f->w);
    free(f->norm);
    free(f->hidden);
    free(f->ids);
    free(f->pieces);
}

// State (t, l) = scale * (the unit head row of `token`) + noise, or pure noise when token < 0.
static void fake_state(fake *f, int t, int l, int token, double scale, double noise)
{
    int D = f->run.dim;
    float *h = f->hidden + ((size_t)t * f->run.n_states + l) * D;
    double norm = 0;
    for (int i = 0; token >= 0 && i < D; i++)
        norm += (double)f->w[(size_t)token * D + i] * f->w[(size_t)token * D + i];
    for (int i = 0; i < D; i++)
        h[i] = (float)((token >= 0 ? scale * f->w[(size_t)token * D + i] / sqrt(norm) : 0) +
                       noise * gauss());
}

KEVO_TEST(analysis_detects_planted_stages_end_to_end)
{
    // 12 layers: states 0..6 are small random vectors (the lens sees no token), states 7..12
    // point at the step's token (the distribution is stable); 4 of 10 tokens switch to another
    // token at the last state (a mutation at layer 12).
    fake f;
    int L = 12, T = 10, V = 64, C = 7;
    fake_init(&f, L, 32, V, T);
    for (int t = 0; t < T; t++) {
        int y = (7 + 5 * t) % V, z = (y + 1) % V, mutates = t < 4;
        for (int l = 0; l <= L; l++)
            fake_state(&f, t, l, l < C ? -1 : l == L && mutates ? z : y, 4, l < C ? 0.3 : 1e-3);
        f.ids[t] = mutates ? z : y;
    }
    kevo_error err;
    kevo_analysis *a = NULL;
    kevo_analysis_options o = kevo_analysis_default_options();
    for (int k = 0; k < 2; k++) {
        o.divergence = k ? KEVO_DIVERGENCE_JSD : KEVO_DIVERGENCE_PAPER;
        if (!CHECK_OK(kevo_analysis_compute(&f.run, &f.model, &o, &a, &err), &err))
            break;
        const kevo_stages *s = a->stages;
        CHECK(s->critical == C && s->critical_level1 == C, "%s: critical %d, token median %d "
              "(planted %d; %s)", kevo_divergence_name(o.divergence), s->critical,
              s->critical_level1, C, s->note);
        CHECK(s->mutation == L && s->n_mutated == 4 && s->tokens[0].mutation == L &&
              s->tokens[5].mutation == -1, "%s: mutation %d, %d mutated",
              kevo_divergence_name(o.divergence), s->mutation, s->n_mutated);
        CHECK(a->n_mismatched == 0 && a->heat_rows == T && a->chart_steps == T,
              "mismatched %d, rows %d, charts %d", a->n_mismatched, a->heat_rows, a->chart_steps);
        kevo_analysis_free(a);
        a = NULL;
    }
    fake_free(&f);
}

KEVO_TEST(analysis_degrades_on_two_layer_models_and_single_steps)
{
    fake f;
    fake_init(&f, 2, 16, 40, 1);
    for (int l = 0; l <= 2; l++)
        fake_state(&f, 0, l, -1, 0, 1.0);
    kevo_error err;
    kevo_analysis *a = NULL;
    kevo_analysis_options o = kevo_analysis_default_options();
    // The generated token must be what the head ranks first: find it.
    kevo_lens_result *r = NULL;
    kevo_lens_head head = {&f.head, f.norm, 1e-5f};
    kevo_lens_params p = {.window = kevo_window_default(2)};
    if (CHECK_OK(kevo_lens_run(&head, f.hidden, 1, 3, 16, f.ids, &p, &r, &err), &err))
        f.ids[0] = r->top_id[2];
    kevo_lens_result_free(r);
    if (CHECK_OK(kevo_analysis_compute(&f.run, &f.model, &o, &a, &err), &err)) {
        CHECK(a->window.lo == 2 && a->window.hi == 2 && a->lens->n_cand == 1,
              "window %d:%d, %d candidates", a->window.lo, a->window.hi, a->lens->n_cand);
        CHECK(a->heat_rows == 1 && a->chart_steps == 1, "rows %d charts %d", a->heat_rows,
              a->chart_steps);
        CHECK(a->stages->critical == -1 &&
              kevo_test_contains(a->stages->note, "no clear critical layer"),
              "2 layers of noise: critical %d, note '%s'", a->stages->critical, a->stages->note);
        CHECK(a->digest_matches == 0 && kevo_test_contains(a->warning, "config.json"),
              "warning '%s'", a->warning);
    }
    kevo_analysis_free(a);
    a = NULL;
    // A generated token the head does not rank first: another model's run.
    f.ids[0] = (f.ids[0] + 1) % 40;
    kevo_status st = kevo_analysis_compute(&f.run, &f.model, &o, &a, &err);
    CHECK(st == KEVO_ERR_MODEL && kevo_test_contains(err.msg, "another model"), "accepted: %s",
          err.msg);
    kevo_analysis_free(a);
    fake_free(&f);
}

// ---------------------------------------------------------------------------------------------
// `kevo analyze` from the command line

// Column `col` (0-based) of every data line of a CSV whose text fields hold no commas.
static double *csv_column(const char *path, int col, int *n_rows)
{
    char *text = kevo_test_slurp(path, NULL);
    double *v = NULL;
    int n = 0;
    char *line = text ? strchr(text, '\n') : NULL;
    while (line && line[1]) {
        char *s = line + 1;
        for (int c = 0; c < col && s; c++)
            s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL;
        v = realloc(v, (size_t)(n + 1) * sizeof *v);
        v[n++] = s ? strtod(s, NULL) : NAN;
        line = strchr(line + 1, '\n');
    }
    free(text);
    *n_rows = n;
    return v;
}

KEVO_TEST(analyze_cli_writes_tables_that_match_the_reference)
{
    const char *run = kevo_test_copy_run("tiny-f16", "describe", "run");
    char *out = NULL, *errs = NULL;
    int rc = kevo_test_cli(&out, &errs, "analyze '%s'", run);
    CHECK(rc == 0, "exit %d: %s", rc, errs);
    CHECK(kevo_test_contains(out, "stages:"), "summary: %s", out);
    free(out);
    free(errs);
    char path[2300];
    const char *files[] = {"lens.csv", "divergence.csv", "heatmap.csv", "candidates.csv",
                           "stages.json"};
    int lines[] = {1 + 20 * 5, 21, 21, -1, -1};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/analysis/%s", run, files[i]);
        CHECK(kevo_file_exists(path), "%s missing", path);
        if (lines[i] > 0)
            CHECK(kevo_test_count_lines(path) == lines[i], "%s: %d lines, expected %d", files[i],
                  kevo_test_count_lines(path), lines[i]);
    }
    // The CSV values are the reference's within the tolerance of the library test.
    kevo_safetensors *f = NULL;
    kevo_error err;
    if (CHECK_OK(kevo_safetensors_open(kevo_test_data("oracle/analysis/tiny-f16/describe.raw."
                                                      "safetensors"), &f, &err), &err)) {
        const double *want = need_f64(f, "div_paper", 80), *sa = need_f64(f, "sens_a_paper", 80);
        const double *sb = need_f64(f, "sens_b_paper", 80), *abs_ = need_f64(f, "logit_abs", 100);
        double got[80], bound[80];
        snprintf(path, sizeof path, "%s/analysis/divergence.csv", run);
        for (int i = 0; i < 4 && want && sa && sb && abs_; i++) {
            int n;
            double *c = csv_column(path, 3 + i, &n);
            for (int t = 0; t < 20 && n == 20; t++) {
                got[t * 4 + i] = c[t];
                double *e = logit_error(abs_ + t * 5 + i, 2, 64);
                bound[t * 4 + i] = e[0] * sa[t * 4 + i] + e[1] * sb[t * 4 + i];
                free(e);
            }
            CHECK(n == 20, "divergence.csv column %d has %d rows", i, n);
            free(c);
        }
        check_bound("divergence.csv", got, want, 80, bound, NULL, 1, 0);
    }
    kevo_safetensors_free(f);

    // The correct variants, one option away, and stated in stages.json.
    rc = kevo_test_cli(NULL, &errs, "analyze '%s' --lens norm --divergence jsd --scale global "
                       "--window 2: --rows 5 --steps 3", run);
    CHECK(rc == 0, "variants: exit %d: %s", rc, errs);
    free(errs);
    snprintf(path, sizeof path, "%s/analysis/heatmap.csv", run);
    CHECK(kevo_test_count_lines(path) == 6, "--rows 5: %d lines", kevo_test_count_lines(path));
    snprintf(path, sizeof path, "%s/analysis/stages.json", run);
    char *json = kevo_test_slurp(path, NULL);
    CHECK(kevo_test_contains(json, "\"lens\":\t\"norm\"") &&
          kevo_test_contains(json, "\"divergence\":\t\"jsd\"") &&
          kevo_test_contains(json, "\"scale\":\t\"global\"") &&
          kevo_test_contains(json, "\"window\":\t[2, 4]"), "options not recorded: %.400s", json);
    free(json);
    // Global scaling: heatmap = divergence / max |divergence| over the rows shown, exactly.
    int n1, n2;
    double max = 0, *d[4] = {0};
    snprintf(path, sizeof path, "%s/analysis/divergence.csv", run);
    for (int i = 0; i < 4; i++) {
        d[i] = csv_column(path, 3 + i, &n2);
        for (int t = 0; t < 5 && t < n2; t++)
            max = fmax(max, fabs(d[i][t]));
    }
    snprintf(path, sizeof path, "%s/analysis/heatmap.csv", run);
    for (int i = 0; i < 4; i++) {
        double *h = csv_column(path, 3 + i, &n1);
        CHECK(n1 == 5, "heatmap rows %d", n1);
        for (int t = 0; t < 5 && t < n1; t++)
            CHECK(h[t] == d[i][t] / max, "global heatmap (%d, %d): %.17g vs %.17g", t, i, h[t],
                  d[i][t] / max);
        free(h);
        free(d[i]);
    }
}

// A run folder (kevo's writer) of the first T steps of the tiny-f32 describe run, recorded as if
// by a model with `layers` layers (the states are the original floats, reshaped).
static const char *write_run(const char *name, int T, int layers)
{
    kevo_error err;
    kevo_runfolder *rf = NULL;
    kevo_model *m = NULL;
    const char *dir = kevo_test_tmp(name);
    if (!CHECK_OK(kevo_runfolder_load(kevo_test_data("oracle/engine/tiny-f32/describe.run"), &rf,
                                      &err), &err) ||
        !CHECK_OK(kevo_model_load(kevo_test_data("fixtures/tiny-f32"), &m, &err), &err))
        goto done;
    kevo_config c = m->config;
    c.text_layers = layers;
    int prompt[3] = {1, KEVO_IMAGE_SLOT, 13};
    kevo_run_record rec = {
        .model_dir = kevo_test_data("fixtures/tiny-f32"), .config = &c, .weights_dtype = "F32",
        .image_path = "x.png", .image_width = 4, .image_height = 4, .image_mode = "pad",
        .question = rf->question, .template_name = "llava_v1", .prompt = rf->prompt,
        .prompt_ids = prompt, .n_prompt_ids = 3, .image_position = 1, .n_positions = 18,
        .generated_ids = rf->generated_ids, .pieces = (const char *const *)rf->pieces,
        .n_generated = T, .text = rf->text, .stop = KEVO_STOP_MAX_NEW, .max_new_tokens = T,
        .n_threads = 1, .hidden = rf->hidden, .store = KEVO_DTYPE_F32,
    };
    CHECK_OK(kevo_runfolder_write(dir, &rec, &err), &err);
done:
    kevo_model_free(m);
    kevo_runfolder_free(rf);
    return dir;
}

static void expect_failure(int want_rc, const char *needle, const char *fmt, const char *arg1,
                           const char *arg2)
{
    char *errs = NULL;
    int rc = kevo_test_cli(NULL, &errs, fmt, arg1, arg2);
    CHECK(rc == want_rc && kevo_test_contains(errs, needle), "'%s' with %s: exit %d (want %d), "
          "message '%s' lacks '%s'", fmt, arg1, rc, want_rc, errs, needle);
    free(errs);
}

static void rewrite(const char *path, const char *from, const char *to, int truncate_by)
{
    size_t len;
    char *text = kevo_test_slurp(path, &len), *at = text ? strstr(text, from) : NULL;
    CHECK(text != NULL, "cannot read %s", path);
    FILE *f = fopen(path, "wb");
    if (at) {
        fwrite(text, 1, (size_t)(at - text), f);
        fputs(to, f);
        fputs(at + strlen(from), f);
    } else if (text) {
        fwrite(text, 1, len - (size_t)truncate_by, f);
    }
    fclose(f);
    free(text);
}

KEVO_TEST(analyze_cli_single_step_run)
{
    const char *run = write_run("one-step", 1, 4);
    char *out = NULL, *errs = NULL, path[2300];
    int rc = kevo_test_cli(&out, &errs, "analyze '%s'", run);
    CHECK(rc == 0, "exit %d: %s", rc, errs);
    snprintf(path, sizeof path, "%s/analysis/divergence.csv", run);
    int lines = kevo_test_count_lines(path);
    CHECK(lines == 2, "divergence.csv: %d lines", lines);
    snprintf(path, sizeof path, "%s/analysis/heatmap.csv", run);
    CHECK(kevo_test_count_lines(path) == 2, "heatmap.csv: %d lines", kevo_test_count_lines(path));
    snprintf(path, sizeof path, "%s/analysis/stages.json", run);
    CHECK(kevo_file_exists(path), "no stages.json");
    free(out);
    free(errs);
}

KEVO_TEST(analyze_cli_refuses_bad_runs)
{
    // Another model's run: different dimensions, or the same dimensions and other weights.
    const char *shallow = write_run("shallow", 3, 2);
    expect_failure(1, "recorded with a model of 2 layers", "analyze '%s'%s", shallow, "");
    const char *run = kevo_test_copy_run("tiny-f32", "color", "other-model");
    char gqa[2100];
    snprintf(gqa, sizeof gqa, " -m '%s'", kevo_test_data("fixtures/tiny-gqa"));
    expect_failure(1, "another model", "analyze '%s'%s", run, gqa);

    // Broken files (the run folder reader's checks, reported with exit 1).
    char path[2300];
    run = kevo_test_copy_run("tiny-f32", "color", "truncated");
    snprintf(path, sizeof path, "%s/hidden.safetensors", run);
    rewrite(path, "\x01\x02\x03 never there", "", 64);
    expect_failure(1, "hidden.safetensors", "analyze '%s'%s", run, "");
    run = write_run("nan", 3, 4);
    snprintf(path, sizeof path, "%s/hidden.safetensors", run);
    size_t len;
    char *bytes = kevo_test_slurp(path, &len);
    float nan = NAN;
    memcpy(bytes + len - 40, &nan, 4);
    kevo_test_write(path, bytes, len);
    free(bytes);
    expect_failure(1, "is not finite", "analyze '%s'%s", run, "");
    run = kevo_test_copy_run("tiny-f32", "color", "no-model");
    snprintf(path, sizeof path, "%s/run.json", run);
    rewrite(path, "\"path\": \"build/data/fixtures/tiny-f32\"", "\"path\": \"/nonexistent/model\"",
            0);
    expect_failure(1, "give it with -m", "analyze '%s'%s", run, "");
    expect_failure(1, "no run.json", "analyze '%s'%s", kevo_test_tmpdir(), "");
}

KEVO_TEST(analyze_cli_refuses_bad_options)
{
    const char *run = kevo_test_copy_run("tiny-f32", "color", "options");
    const char *bad[][2] = {
        {"--rows 0", "--rows"},       {"--steps 0", "--steps"},
        {"--window 9:3", "--window"}, {"--window 0:9", "--window"},
        {"--window x", "--window"},   {"--lens tuned", "--lens"},
        {"--divergence js", "--divergence"}, {"--scale row", "--scale"},
        {"--critical 0", "--critical"}, {"--critical 9", "--critical"},
        {"--critical 3 --mutation 3", "--mutation"}, {"--threads 0", "--threads"},
        {"--compute f16", "--compute"}, {"--bogus", "unknown option"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_failure(2, bad[i][1], "analyze '%s' %s", run, bad[i][0]);
    expect_failure(2, "expects one RUN_DIR", "analyze%s%s", "", "");
}

KEVO_TEST(analyze_cli_writes_figures_and_report)
{
    const char *run = kevo_test_copy_run("tiny-f32", "describe", "figures");
    char *out = NULL, *errs = NULL, path[2300];
    int rc = kevo_test_cli(&out, &errs, "analyze '%s' --steps 25 --dpi 40", run);
    CHECK(rc == 0, "exit %d: %s", rc, errs);
    free(out);
    free(errs);
    // 20 steps: 20 charts however many were asked for, a heatmap, the t-SNE map, a report holding
    // all of them.
    for (int t = 0; t < 21; t++) {
        snprintf(path, sizeof path, "%s/analysis/area/step_%03d.png", run, t);
        CHECK(kevo_file_exists(path) == (t < 20), "%s: exists %d", path, kevo_file_exists(path));
    }
    snprintf(path, sizeof path, "%s/analysis/heatmap.png", run);
    size_t len = 0;
    char *png = kevo_test_slurp(path, &len);
    CHECK(png && len > 8 && !memcmp(png, "\x89PNG", 4), "heatmap.png is not a PNG");
    free(png);
    snprintf(path, sizeof path, "%s/analysis/report.html", run);
    char *html = kevo_test_slurp(path, NULL);
    int images = 0;
    for (const char *s = html; s && (s = strstr(s, "data:image/png;base64,")); s++)
        images++;
    // The run has image states: the answer word's patch maps, the labelled picture, and the
    // original picture under the explorable patch map.
    CHECK(images == 25, "report embeds %d PNG images, expected 25 (20 charts, heatmap, map, the "
          "word's patch maps, the labelled picture, the picture under the patch map)", images);
    CHECK(kevo_test_contains(html, "Please describe this image in detail.") &&
          kevo_test_contains(html, "raw lens") && kevo_test_contains(html, "no clear stages") &&
          kevo_test_contains(html, "Stages"), "report lacks the question, options or stages");
    free(html);

    // Fewer charts on a second run: the earlier ones go. PDF figures, PNG copies for the report.
    rc = kevo_test_cli(NULL, &errs, "analyze '%s' --steps 2 --format pdf --dpi 30", run);
    CHECK(rc == 0, "pdf: exit %d: %s", rc, errs);
    free(errs);
    const char *want[] = {"heatmap.pdf", "heatmap.png", "area/step_000.pdf", "area/step_001.png"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/analysis/%s", run, want[i]);
        CHECK(kevo_file_exists(path), "%s missing", path);
    }
    snprintf(path, sizeof path, "%s/analysis/area/step_002.png", run);
    CHECK(!kevo_file_exists(path), "a stale chart survived");
    snprintf(path, sizeof path, "%s/analysis/heatmap.pdf", run);
    char *pdf = kevo_test_slurp(path, NULL);
    CHECK(pdf && !strncmp(pdf, "%PDF", 4), "heatmap.pdf is not a PDF");
    free(pdf);
    rc = kevo_test_cli(NULL, &errs, "analyze '%s' --steps 1 --format svg", run);
    snprintf(path, sizeof path, "%s/analysis/report.html", run);
    html = kevo_test_slurp(path, NULL);
    CHECK(rc == 0 && kevo_test_contains(html, "<svg"), "svg: exit %d, report without svg", rc);
    free(html);
    free(errs);
    expect_failure(2, "figure format", "analyze '%s' %s", run, "--format jpg");
    expect_failure(2, "--dpi", "analyze '%s' %s", run, "--dpi 0");
}
