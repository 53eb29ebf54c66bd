// test_diff.c — `kevo diff` against the float64 numpy reference (tools/oracles/oracle_diff.py) on
// the oracle run folders of the same fixture model in three dtypes, raw and norm lens: every
// relative error, cosine, JSD and top token; a run against itself (all zeros, cosine 1, the top
// tokens never disagree); the output folder and its ownership; and the refusals.
//
// Tolerances. The states are the same F32 numbers on both sides, summed in double: relative
// error and cosine agree to 1e-12. kevo's logits are F32 dot products, the reference's float64:
// as tests/test_analysis.c, e = (sqrt(D) + 4) u max_v sum_i |h_i w_vi| bounds a logit's error,
// and a JSD moves by at most e_a sens_a + e_b sens_b to first order (the oracle computes the
// sensitivities); allowed: SAFETY times that, plus 1e-15 for the second order. Top tokens must
// agree except where the reference's top-2 gap is within 2 e (a tie F32 cannot resolve).
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/diff.h"
#include "io/outputs.h"
#include "io/runfolder.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "test.h"

#define SAFETY 2.0

typedef struct pair {
    const char *name, *fa, *ca, *fb, *cb;
    kevo_lens_mode la, lb;
} pair;

static const pair pairs[] = {
    {"f32-bf16-color", "tiny-f32", "color", "tiny-bf16", "color", KEVO_LENS_RAW, KEVO_LENS_RAW},
    {"f32-f16-describe-norm", "tiny-f32", "describe", "tiny-f16", "describe", KEVO_LENS_NORM,
     KEVO_LENS_NORM},
    {"f32-raw-norm-color", "tiny-f32", "color", "tiny-f32", "color", KEVO_LENS_RAW,
     KEVO_LENS_NORM},
};

static const void *need(const kevo_safetensors *f, const char *name, kevo_dtype dtype, size_t n)
{
    const kevo_tensor *t = kevo_safetensors_find(f, name);
    int ok = t && t->dtype == dtype && (size_t)t->n_elems == n;
    CHECK(ok, "oracle lacks %s '%s' of %zu values", kevo_dtype_name(dtype), name, n);
    return ok ? t->data : NULL;
}

// Loads runs and models of a pair and compares them in-process.
static kevo_diff *compute(const pair *p, kevo_runfolder **ra, kevo_runfolder **rb,
                          kevo_model **ma, kevo_model **mb)
{
    kevo_error err;
    char path[1024];
    kevo_diff *d = NULL;
    kevo_diff_params dp = kevo_diff_default_params();
    dp.lens_a = p->la;
    dp.lens_b = p->lb;
    snprintf(path, sizeof path, "oracle/engine/%s/%s.run", p->fa, p->ca);
    if (!CHECK_OK(kevo_runfolder_load(kevo_test_data(path), ra, &err), &err))
        return NULL;
    snprintf(path, sizeof path, "oracle/engine/%s/%s.run", p->fb, p->cb);
    if (!CHECK_OK(kevo_runfolder_load(kevo_test_data(path), rb, &err), &err))
        return NULL;
    snprintf(path, sizeof path, "fixtures/%s", p->fa);
    if (!CHECK_OK(kevo_model_load(kevo_test_data(path), ma, &err), &err))
        return NULL;
    snprintf(path, sizeof path, "fixtures/%s", p->fb);
    if (!CHECK_OK(kevo_model_load(kevo_test_data(path), mb, &err), &err))
        return NULL;
    if (CHECK_OK(kevo_diff_check(*ra, *rb, *ma, *mb, &dp, &err), &err))
        CHECK_OK(kevo_diff_compute(*ra, *rb, *ma, *mb, &dp, &d, &err), &err);
    return d;
}

static void check_pair(const pair *p)
{
    kevo_runfolder *ra = NULL, *rb = NULL;
    kevo_model *ma = NULL, *mb = NULL;
    kevo_safetensors *f = NULL;
    kevo_error err;
    char path[1024];
    snprintf(path, sizeof path, "oracle/diff/%s.safetensors", p->name);
    kevo_diff *d = compute(p, &ra, &rb, &ma, &mb);
    if (!d || !CHECK_OK(kevo_safetensors_open(kevo_test_data(path), &f, &err), &err))
        goto done;
    size_t n = (size_t)d->T * d->S;
    const double *rel = need(f, "rel_err", KEVO_DTYPE_F64, n), *cos = need(f, "cosine",
                                                                           KEVO_DTYPE_F64, n);
    const double *jsd = need(f, "jsd", KEVO_DTYPE_F64, n);
    const double *sa = need(f, "sens_a", KEVO_DTYPE_F64, n), *sb = need(f, "sens_b",
                                                                        KEVO_DTYPE_F64, n);
    const double *xa = need(f, "logit_abs_a", KEVO_DTYPE_F64, n);
    const double *xb = need(f, "logit_abs_b", KEVO_DTYPE_F64, n);
    const double *ga = need(f, "gap_a", KEVO_DTYPE_F64, n), *gb = need(f, "gap_b",
                                                                       KEVO_DTYPE_F64, n);
    const int64_t *ta = need(f, "top_a", KEVO_DTYPE_I64, n), *tb = need(f, "top_b",
                                                                       KEVO_DTYPE_I64, n);
    const int64_t *first = need(f, "first_index", KEVO_DTYPE_I64, (size_t)d->T);
    const int64_t *parting = need(f, "parting", KEVO_DTYPE_I64, 1);
    if (!rel || !cos || !jsd || !sa || !sb || !xa || !xb || !ga || !gb || !ta || !tb || !first ||
        !parting)
        goto done;
    CHECK(d->compared_states, "%s: states not compared", p->name);
    double worst_rel = 0, worst_jsd = 0, max_jsd = 0;
    int n_ties = 0;
    for (size_t k = 0; k < n && d->compared_states; k++) {
        double dr = fabs(d->rel_err[k] - rel[k]), dc = fabs(d->cosine[k] - cos[k]);
        worst_rel = fmax(worst_rel, fmax(dr / (1e-12 * rel[k] + 1e-300), dc / 1e-12));
        double e = (sqrt((double)ra->dim) + 4) * 0x1p-24;
        double bound = SAFETY * (e * xa[k] * sa[k] + e * xb[k] * sb[k]) + 1e-15;
        worst_jsd = fmax(worst_jsd, fabs(d->jsd[k] - jsd[k]) / bound);
        max_jsd = fmax(max_jsd, jsd[k]);
        int tied = ga[k] <= 2 * e * xa[k] || gb[k] <= 2 * e * xb[k];
        n_ties += tied;
        if (!tied)
            CHECK(d->top_a[k] == ta[k] && d->top_b[k] == tb[k], "%s: (step %zu, index %zu): "
                  "top tokens %d / %d, the reference's %lld / %lld", p->name, k / d->S,
                  k % d->S, d->top_a[k], d->top_b[k], (long long)ta[k], (long long)tb[k]);
    }
    CHECK(worst_rel <= 1, "%s: relative errors / cosines %.3g x their tolerance", p->name,
          worst_rel);
    CHECK(worst_jsd <= 1, "%s: JSD %.3g x its tolerance", p->name, worst_jsd);
    CHECK(max_jsd > 1e-7, "%s: the reference's JSD is %.3g at most: nothing was tested",
          p->name, max_jsd);
    for (int t = 0; t < d->T && !n_ties; t++)
        CHECK(d->first_index[t] == first[t], "%s: step %d: first disagreement %d, the "
              "reference's %lld", p->name, t, d->first_index[t], (long long)first[t]);
    CHECK(d->parting == parting[0], "%s: parting step %d, the reference's %lld", p->name,
          d->parting, (long long)parting[0]);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    %s: %d x %d, rel/cos %.3g and JSD %.3g of the tolerance, max JSD %.3g, "
               "%d near ties\n", p->name, d->T, d->S, worst_rel, worst_jsd, max_jsd, n_ties);
done:
    kevo_safetensors_free(f);
    kevo_diff_free(d);
    kevo_model_free(ma);
    kevo_model_free(mb);
    kevo_runfolder_free(ra);
    kevo_runfolder_free(rb);
}

KEVO_TEST(diff_oracle)
{
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        check_pair(&pairs[i]);
}

static cJSON *read_json(const char *path)
{
    char *text = kevo_test_slurp(path, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    CHECK(j != NULL, "%s: not readable JSON", path);
    free(text);
    return j;
}

// A run against itself, in-process and through the command line: zeros, cosine 1, no
// disagreement; the default output folder inside the run, which stays a kevo run folder.
KEVO_TEST(diff_self)
{
    pair self = {"self", "tiny-f32", "describe", "tiny-f32", "describe", KEVO_LENS_NORM,
                 KEVO_LENS_NORM};
    kevo_runfolder *ra = NULL, *rb = NULL;
    kevo_model *ma = NULL, *mb = NULL;
    kevo_diff *d = compute(&self, &ra, &rb, &ma, &mb);
    if (d) {
        kevo_diff_summary s = kevo_diff_summarize(d);
        size_t n = (size_t)d->T * d->S, bad = 0;
        for (size_t k = 0; k < n; k++)
            bad += d->rel_err[k] != 0 || d->cosine[k] != 1 || d->jsd[k] != 0 ||
                   d->top_a[k] != d->top_b[k];
        CHECK(bad == 0, "self diff: %zu of %zu cells are not (0, 1, 0, equal tops)", bad, n);
        CHECK(s.first_step == -1 && s.parting_step == -1 && s.max_jsd == 0 &&
              s.max_rel_err == 0 && s.min_cosine == 1 && s.final_agree == d->T && !s.note[0],
              "self diff summary: first %d, parting %d, JSD %g, rel %g, cos %g, note '%s'",
              s.first_step, s.parting_step, s.max_jsd, s.max_rel_err, s.min_cosine, s.note);
    }
    kevo_diff_free(d);
    kevo_model_free(ma);
    kevo_model_free(mb);
    kevo_runfolder_free(ra);
    kevo_runfolder_free(rb);

    const char *run = kevo_test_copy_run("tiny-f32", "color", "self");
    char *out = NULL, *errs = NULL, path[2200];
    int rc = kevo_test_cli(&out, &errs, "diff '%s' '%s/'", run, run);
    CHECK(rc == 0, "kevo diff RUN RUN: exit %d: %s", rc, errs);
    CHECK(kevo_test_contains(out, "top tokens never disagree") &&
          kevo_test_contains(out, "same tokens"), "summary: %s", out);
    const char *files[] = {"diff.csv", "layers.csv", "diff.json", "report.html",
                           "layers_error.png", "layers_jsd.png", "heatmap.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/diff-self/%s", run, files[i]);
        CHECK(kevo_file_exists(path), "%s was not written", path);
    }
    snprintf(path, sizeof path, "%s/diff-self/diff.csv", run);
    CHECK(kevo_test_count_lines(path) == 1 + 12 * 5, "%s: %d lines, not 1 + 12 x 5", path,
          kevo_test_count_lines(path));
    snprintf(path, sizeof path, "%s/diff-self/layers.csv", run);
    CHECK(kevo_test_count_lines(path) == 1 + 5, "%s: %d lines", path, kevo_test_count_lines(path));
    snprintf(path, sizeof path, "%s/diff-self/diff.json", run);
    cJSON *j = read_json(path);
    const cJSON *fd = cJSON_GetObjectItemCaseSensitive(j, "first_disagreement");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(j, "parting");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *wd = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "a"),
                                         "recorded_model"), "weights_dtype");
    CHECK(cJSON_IsNull(fd) && cJSON_IsNull(pt) && cJSON_IsString(fmt) &&
          !strcmp(fmt->valuestring, "kevo-diff") && cJSON_IsString(wd),
          "diff.json: first_disagreement, parting not null, or no format / weights_dtype");
    cJSON_Delete(j);
    kevo_error err;
    CHECK_OK(kevo_runfolder_owned(run, &err), &err);   // `kevo run -o RUN` may still replace it
    free(out);
    free(errs);
    // Again: the folder is kevo's and is replaced; with a file of the user's in it, refused.
    rc = kevo_test_cli(NULL, &errs, "diff '%s' '%s'", run, run);
    CHECK(rc == 0, "second kevo diff: exit %d: %s", rc, errs);
    free(errs);
    snprintf(path, sizeof path, "%s/diff-self/notes.txt", run);
    kevo_test_write(path, "mine", 4);
    rc = kevo_test_cli(NULL, &errs, "diff '%s' '%s'", run, run);
    CHECK(rc == 2 && kevo_test_contains(errs, "notes.txt"), "a foreign file: exit %d: %s", rc,
          errs);
    CHECK(kevo_runfolder_owned(run, NULL) != KEVO_OK, "a run holding diff-self/notes.txt is "
          "still taken as kevo's");
    free(errs);
}

// The command line on F32 vs BF16 states: the summary and diff.json agree with the in-process
// result, and --lens-b defaults to --lens.
KEVO_TEST(diff_cli)
{
    const char *a = kevo_test_copy_run("tiny-f32", "color", "a");
    const char *b = kevo_test_copy_run("tiny-bf16", "color", "b");
    const char *o = kevo_test_tmp("out");
    char *out = NULL, *errs = NULL, path[2200];
    int rc = kevo_test_cli(&out, &errs, "diff '%s' '%s' --lens norm -o '%s' --dpi 40", a, b, o);
    CHECK(rc == 0, "kevo diff: exit %d: %s", rc, errs);
    CHECK(kevo_test_contains(out, "lenses norm / norm") &&
          kevo_test_contains(out, "relative error at most"), "summary: %s", out);
    snprintf(path, sizeof path, "%s/diff.json", o);
    cJSON *j = read_json(path);
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(j, "max_rel_err");
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "b"),
                                                       "lens");
    CHECK(cJSON_IsNumber(mx) && mx->valuedouble > 1e-4 && mx->valuedouble < 0.1,
          "max_rel_err of F32 vs BF16 states: %g", cJSON_IsNumber(mx) ? mx->valuedouble : NAN);
    CHECK(cJSON_IsString(lb) && !strcmp(lb->valuestring, "norm"), "run B's lens is not norm");
    cJSON_Delete(j);
    free(out);
    free(errs);
    rc = kevo_test_cli(&out, NULL, "diff --help");
    CHECK(rc == 0 && kevo_test_contains(out, "--model-b") && kevo_test_contains(out, "--force"),
          "diff --help: exit %d", rc);
    free(out);
}

// Each refusal: its exit status and a message that says what is wrong.
static void refused(int want_rc, const char *want, const char *fmt, const char *x, const char *y)
{
    char *errs = NULL, args[4400];
    snprintf(args, sizeof args, fmt, x, y);
    int rc = kevo_test_cli(NULL, &errs, "%s", args);
    CHECK(rc == want_rc && kevo_test_contains(errs, want), "kevo %s: exit %d (want %d), "
          "stderr: %s (want \"%s\")", args, rc, want_rc, errs, want);
    free(errs);
}

KEVO_TEST(diff_refusals)
{
    char a[2200], other[2200], q[2200], m[2200], model_q[2200], image[2200];
    snprintf(a, sizeof a, "%s", kevo_test_copy_run("tiny-f32", "color", "a"));
    snprintf(other, sizeof other, "%s", kevo_test_copy_run("tiny-f32", "describe", "other"));
    refused(1, "no such folder", "diff '%s' '%s/missing'", a, kevo_test_tmpdir());
    refused(2, "expects two run folders", "diff '%s'%s", a, "");
    refused(1, "the questions differ", "diff '%s' '%s'", a, other);
    refused(1, "the images differ", "diff '%s' '%s'", a, other);
    char *errs = NULL, *out = NULL;
    int rc = kevo_test_cli(&out, &errs, "diff '%s' '%s' --force", a, other);
    CHECK(rc == 0 && kevo_test_contains(out, "not compared"), "--force: exit %d: %s %s", rc,
          out, errs);
    free(out);
    free(errs);

    // Another vocabulary: a run of the Qwen2-VL fixture (151936 rows) on the same image.
    snprintf(q, sizeof q, "%s", kevo_test_tmp("qwen"));
    snprintf(model_q, sizeof model_q, "%s", kevo_test_data("fixtures/qwen2vl-f32"));
    snprintf(image, sizeof image, "%s", kevo_test_data("oracle/engine/tiny-f32/color.png"));
    rc = kevo_test_cli(NULL, &errs, "run -q -m '%s' -i '%s' -p 'What is the color of the "
                       "flower?' -n 2 -o '%s'", model_q, image, q);
    CHECK(rc == 0, "kevo run (qwen2vl-f32): exit %d: %s", rc, errs);
    free(errs);
    refused(1, "different vocabularies", "diff '%s' '%s'", a, q);

    // The same vocabulary size, another tokenizer: one added token renamed in a copy of the
    // model.
    snprintf(m, sizeof m, "%s", kevo_test_tmp("model"));
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && cd '%s' && sed -i 's/\"<pad>\"/\"<pud>\"/g' "
             "tokenizer.json tokenizer_config.json added_tokens.json special_tokens_map.json",
             kevo_test_data("fixtures/tiny-f32"), m, m);
    CHECK(system(cmd) == 0, "cannot make %s", m);
    char fmt[2400];
    snprintf(fmt, sizeof fmt, "diff '%%s' '%%s' --model-b '%s'", m);
    refused(1, "different tokenizers", fmt, a, a);

    // States that are not finite: one value of run B's hidden.safetensors set to NaN.
    char nan_run[2200];
    snprintf(nan_run, sizeof nan_run, "%s", kevo_test_copy_run("tiny-f32", "color", "nan"));
    char st_path[2300];
    snprintf(st_path, sizeof st_path, "%s/hidden.safetensors", nan_run);
    size_t len;
    unsigned char *bytes = (unsigned char *)kevo_test_slurp(st_path, &len);
    if (CHECK(bytes && len > 64, "cannot read %s", st_path)) {
        unsigned long long hl = 0;
        for (int i = 7; i >= 0; i--)
            hl = hl << 8 | bytes[i];
        const float nan_value = NAN;
        memcpy(bytes + 8 + hl + 4 * 100, &nan_value, 4);
        kevo_test_write(st_path, bytes, len);
    }
    free(bytes);
    refused(1, "not finite", "diff '%s' '%s'", a, nan_run);
}

// The use the command is for: one model as F16 and as Q4_K_M GGUF files (llama.cpp's mix: Q4_K,
// Q6_K for output / attn_v / ffn_down), the same image and prompt. Quantisation moves every
// state a little and the runs' records say which weights they used.
KEVO_TEST(diff_f16_and_q4_k_m_gguf_runs)
{
    const char *runs[2] = {kevo_test_tmp("f16"), kevo_test_tmp("q4km")};
    const char *models[2] = {"fixtures/gguf/tiny-k256-f16", "fixtures/gguf/tiny-k256-q4_k_m"};
    char image[2100], model[2100], path[2200], *errs = NULL;
    snprintf(image, sizeof image, "%s", kevo_test_data("oracle/engine/tiny-f32/describe.png"));
    for (int i = 0; i < 2; i++) {
        snprintf(model, sizeof model, "%s", kevo_test_data(models[i]));
        int rc = kevo_test_cli(NULL, &errs, "run -q -m '%s' -i '%s' -p 'Please describe this "
                               "image in detail.' -n 16 -o '%s'", model, image, runs[i]);
        CHECK(rc == 0, "kevo run %s: exit %d: %s", models[i], rc, errs);
        free(errs);
    }
    const char *o = kevo_test_tmp("quant-diff");
    int rc = kevo_test_cli(NULL, &errs, "diff '%s' '%s' -o '%s' --dpi 40", runs[0], runs[1], o);
    CHECK(rc == 0, "kevo diff F16 Q4_K_M: exit %d: %s", rc, errs);
    free(errs);
    snprintf(path, sizeof path, "%s/diff.json", o);
    cJSON *j = read_json(path);
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(j, "max_rel_err");
    CHECK(cJSON_IsNumber(mx) && mx->valuedouble > 1e-3,
          "max_rel_err of F16 vs Q4_K_M states: %g", cJSON_IsNumber(mx) ? mx->valuedouble : NAN);
    // At the first step (the same prompt) the embeddings differ by Q4_K's rounding only (a few
    // per cent), and each random layer moves the two further apart.
    snprintf(path, sizeof path, "%s/diff.csv", o);
    char *csv = kevo_test_slurp(path, NULL), *line = csv ? strchr(csv, '\n') : NULL;
    double rel[5] = {0}, cosine[5] = {0};
    for (int l = 0; line && l < 5; l++, line = strchr(line + 1, '\n'))
        CHECK(sscanf(line + 1, "0,%*d,%lf,%lf", &rel[l], &cosine[l]) == 2, "diff.csv row %d", l);
    CHECK(rel[0] > 1e-3 && rel[0] < 0.2 && cosine[0] > 0.99 && cosine[4] < cosine[0],
          "step 0: embeddings off by %g (cosine %g), last state cosine %g", rel[0], cosine[0],
          cosine[4]);
    free(csv);
    const char *want[2] = {"F16+F32", "F16+F32+Q4_K+Q6_K"};
    for (int i = 0; i < 2; i++) {
        const cJSON *rm = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, i ? "b" : "a"), "recorded_model");
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(rm, "weights_dtype");
        CHECK(cJSON_IsString(dt) && !strcmp(dt->valuestring, want[i]),
              "run %c records weights %s, not %s", 'a' + i,
              cJSON_IsString(dt) ? dt->valuestring : "(none)", want[i]);
    }
    cJSON_Delete(j);
    snprintf(path, sizeof path, "%s/layers.csv", o);
    CHECK(kevo_test_count_lines(path) == 5 + 1, "layers.csv: %d lines for 5 states",
          kevo_test_count_lines(path));
}
