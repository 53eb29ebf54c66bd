// test_engine.c — the C engine against the PyTorch reference (tools/oracle_engine.py, which
// mirrors transformers' modeling_clip / modeling_llava / modeling_llama line by line).
//
// Tolerance: for every recorded vector (a feature row, an embedding row, one hidden state of one
// step) the largest absolute difference divided by the vector's largest absolute value must be
// at most 1e-4; generated ids must be identical. F16/BF16 fixtures use the same bound because
// both sides widen the stored weights exactly and compute in F32.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/model.h"
#include "test.h"

#define REL_TOL 1e-4

static const char *const fixtures[] = {"tiny-f32", "tiny-f16", "tiny-bf16", "tiny-gqa"};
static const char *const cases[] = {"color", "describe"};

// Largest over rows of max|got - want| / max|want| for (rows, n) arrays.
static double worst_row_error(const float *got, const float *want, size_t rows, size_t n,
                              size_t *worst_row)
{
    double worst = 0;
    for (size_t r = 0; r < rows; r++) {
        double diff = 0, scale = 0;
        for (size_t i = 0; i < n; i++) {
            double a = fabs((double)got[r * n + i] - want[r * n + i]);
            diff = a > diff || isnan(a) ? a : diff;
            scale = fabs(want[r * n + i]) > scale ? fabs(want[r * n + i]) : scale;
        }
        double e = diff / (scale > 0 ? scale : 1);
        if (e > worst || isnan(e)) {
            worst = e;
            *worst_row = r;
        }
    }
    return worst;
}

static void check_rows(const char *what, const float *got, const float *want, size_t rows,
                       size_t n)
{
    size_t row = 0;
    double e = worst_row_error(got, want, rows, n, &row);
    CHECK(e <= REL_TOL, "%s: relative error %.3g at row %zu exceeds %g", what, e, row, REL_TOL);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    %s: %zu rows, worst relative error %.3g\n", what, rows, e);
}

static const kevo_tensor *need(const kevo_safetensors *f, const char *name)
{
    const kevo_tensor *t = kevo_safetensors_find(f, name);
    CHECK(t != NULL, "oracle file lacks '%s'", name);
    return t;
}

static void compare_case(const kevo_model *m, const char *fx, const char *name)
{
    char rel[256], label[128];
    snprintf(rel, sizeof rel, "oracle/engine/%s/%s.safetensors", fx, name);
    snprintf(label, sizeof label, "%s/%s", fx, name);
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(kevo_test_data(rel), &f, &err), &err))
        return;
    const kevo_tensor *px = need(f, "pixel_values"), *pid = need(f, "prompt_ids");
    const kevo_tensor *feat = need(f, "vision_features"), *proj = need(f, "projector");
    const kevo_tensor *hid = need(f, "hidden"), *gen = need(f, "generated_ids");
    const kevo_tensor *lg = need(f, "logits");
    if (!px || !pid || !feat || !proj || !hid || !gen || !lg) {
        kevo_safetensors_free(f);
        return;
    }
    const char *max_new_s = kevo_safetensors_metadata(f, "max_new_tokens");
    kevo_run_params p = kevo_run_default_params();
    p.max_new_tokens = max_new_s ? atoi(max_new_s) : 8;
    kevo_run *run = NULL;
    if (!CHECK_OK(kevo_run_create(m, &p, &run, &err), &err)) {
        kevo_safetensors_free(f);
        return;
    }
    const kevo_config *c = kevo_model_config(m);
    char what[160];
    if (CHECK_OK(kevo_run_encode_image(run, px->data, &err), &err)) {
        snprintf(what, sizeof what, "%s vision features", label);
        check_rows(what, kevo_run_image_features(run), feat->data, (size_t)feat->shape[0],
                   (size_t)feat->shape[1]);
        snprintf(what, sizeof what, "%s projector", label);
        check_rows(what, kevo_run_image_embeds(run), proj->data, (size_t)proj->shape[0],
                   (size_t)proj->shape[1]);
    }
    int n_ids = (int)pid->n_elems;
    int *ids = malloc((size_t)n_ids * sizeof *ids);
    for (int i = 0; i < n_ids; i++)
        ids[i] = (int)((const int64_t *)pid->data)[i];
    if (CHECK_OK(kevo_run_generate(run, px->data, ids, n_ids, &err), &err)) {
        int t = kevo_run_n_generated(run), want_t = (int)gen->n_elems;
        const int64_t *want_ids = gen->data;
        int same = t == want_t;
        for (int i = 0; same && i < t; i++)
            same = kevo_run_generated_ids(run)[i] == want_ids[i];
        CHECK(same, "%s: generated ids differ (kevo %d tokens, reference %d)", label, t, want_t);
        if (same) {
            snprintf(what, sizeof what, "%s hidden states", label);
            check_rows(what, kevo_run_hidden(run), hid->data,
                       (size_t)t * (size_t)(c->text_layers + 1), (size_t)c->text_hidden);
            snprintf(what, sizeof what, "%s last logits", label);
            check_rows(what, kevo_run_logits(run),
                       (const float *)lg->data + (size_t)(t - 1) * c->text_vocab, 1,
                       (size_t)c->text_vocab);
        }
    }
    free(ids);
    kevo_run_free(run);
    kevo_safetensors_free(f);
}

KEVO_TEST(engine_matches_pytorch_reference)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "fixtures/%s", fixtures[i]);
        kevo_error err;
        kevo_model *m = NULL;
        if (!CHECK_OK(kevo_model_load(kevo_test_data(rel), &m, &err), &err))
            continue;
        for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++)
            compare_case(m, fixtures[i], cases[j]);
        kevo_model_free(m);
    }
}
