// test_image_states.c — the image recorder from the command line to the run folder: the SPEC
// grammar, `kevo run --image-states` against the PyTorch reference's image_hidden (every image
// position's hidden_states at prefill), kept subsets, F16 storage and its stated precision, the
// spans and patch rectangles of run.json, and kevo batch's resume seeing a changed recorder.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/runfolder.h"
#include "io/safetensors.h"
#include "test.h"

// The parse of spec over 0..L as a string "0,4,5" ("" on failure, with the error in why).
static void parse(const char *spec, int L, char *got, size_t size, kevo_error *why)
{
    int *idx = NULL, n = 0;
    got[0] = '\0';
    if (kevo_image_states_parse(spec, L, &idx, &n, why) != KEVO_OK)
        return;
    size_t len = 0;
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(got + len, size - len, "%s%d", i ? "," : "", idx[i]);
    free(idx);
}

KEVO_TEST(image_states_spec_grammar)
{
    struct {
        const char *spec, *want;
    } good[] = {
        {"", "0,1,2,3,4,5,6,7,8"},   {"all", "0,1,2,3,4,5,6,7,8"}, {"0,8", "0,8"},
        {"8,0,0", "0,8"},            {"0,2:4,L", "0,2,3,4,8"},     {"every=3", "0,3,6,8"},
        {"every=4", "0,4,8"},        {"L", "8"},                   {"6:L", "6,7,8"},
        {"every=8", "0,8"},          {"3:3", "3"},
    };
    char got[256];
    kevo_error err;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        parse(good[i].spec, 8, got, sizeof got, &err);
        CHECK(strcmp(got, good[i].want) == 0, "'%s': got '%s', want '%s'", good[i].spec, got,
              good[i].want);
    }
    const char *bad[] = {"9", "0,,1", "4:2", "every=0", "every=9", "every=", "every=2x", "x",
                         "1:", "-1", "0;1", " 1", "L:0", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int *idx = NULL, n = 0;
        kevo_status st = kevo_image_states_parse(bad[i], 8, &idx, &n, &err);
        CHECK(st == KEVO_ERR_ARG && idx == NULL, "'%s' was accepted", bad[i]);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        CHECK(st != KEVO_ERR_ARG || strstr(err.msg, quoted), "'%s': message '%s' does not quote "
              "the spec", bad[i], err.msg);
    }
}

// Runs the CLI on the tiny-f32 reference image; returns the loaded run folder or NULL.
static kevo_runfolder *run_cli(const char *name, const char *options)
{
    char model[1024], image[1024], out[1024], *so = NULL, *se = NULL;
    snprintf(model, sizeof model, "%s", kevo_test_data("fixtures/tiny-f32"));
    snprintf(image, sizeof image, "%s/tiny-f32/color.png", kevo_test_data("oracle/engine"));
    snprintf(out, sizeof out, "%s/%s", kevo_test_tmpdir(), name);
    int code = kevo_test_cli(&so, &se, "run -m '%s' -i '%s' -p 'What is the color of the "
                             "flower?' -n 12 -o '%s' -q %s", model, image, out, options);
    CHECK(code == 0, "%s: exit %d: %s", options, code, se ? se : "");
    free(so);
    free(se);
    kevo_error err;
    kevo_runfolder *rf = NULL;
    if (code == 0)
        CHECK_OK(kevo_runfolder_load(out, &rf, &err), &err);
    return rf;
}

// The worst |a - b| / max|b| over rows of n, the states of kept index k of every position.
static double worst_error(const kevo_runfolder *rf, const float *want, int want_k, int k,
                          int want_index)
{
    double worst = 0;
    size_t d = (size_t)rf->dim;
    for (int p = 0; p < rf->image_tokens; p++) {
        const float *a = rf->image_hidden + ((size_t)p * rf->n_image_states + k) * d;
        const float *b = want + ((size_t)p * want_k + want_index) * d;
        double e = 0, s = 0;
        for (size_t i = 0; i < d; i++) {
            e = fmax(e, fabs((double)a[i] - b[i]));
            s = fmax(s, fabs((double)b[i]));
        }
        worst = fmax(worst, e / s);
    }
    return worst;
}

KEVO_TEST(image_states_run_matches_reference_and_stores_f16)
{
    char ref[1024];
    snprintf(ref, sizeof ref, "%s/tiny-f32/color.safetensors", kevo_test_data("oracle/engine"));
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(ref, &f, &err), &err))
        return;
    const kevo_tensor *want = kevo_safetensors_find(f, "image_hidden");
    kevo_runfolder *all = run_cli("all", "--image-states");
    kevo_runfolder *some = run_cli("some", "--image-states 0,2:L");
    kevo_runfolder *half = run_cli("half", "--image-states=every=2 --store f16");
    kevo_runfolder *none = run_cli("none", "");
    if (!CHECK(want && all && some && half && none, "a run or the reference is missing"))
        goto done;
    int L = all->text_layers;
    CHECK(all->n_image_states == L + 1 && want->shape[1] == L + 1 &&
              want->shape[0] == all->image_tokens,
          "every index: %d kept of %d, reference [%lld, %lld]", all->n_image_states, L + 1,
          (long long)want->shape[0], (long long)want->shape[1]);
    for (int k = 0; k <= L && k < all->n_image_states; k++) {
        double e = worst_error(all, want->data, L + 1, k, k);
        CHECK(e <= 1e-4, "index %d: relative error %.3g against PyTorch > 1e-4", k, e);
    }
    // A subset holds the same bits as the full record at its indices.
    CHECK(some->n_image_states == L, "0,2:L kept %d indices of %d", some->n_image_states, L);
    for (int k = 0; k < some->n_image_states; k++) {
        int index = some->image_states[k];
        CHECK(index == (k == 0 ? 0 : k + 1), "kept index %d is %d", k, index);
        CHECK(worst_error(some, all->image_hidden, L + 1, k, index) == 0,
              "index %d differs between the subset and the full record", index);
    }
    // F16: within F16's rounding of the F32 states (relative 2^-11 of each value, absolute
    // 2^-25 for subnormals), answer states included.
    for (int k = 0; k < half->n_image_states; k++) {
        int index = half->image_states[k];
        size_t d = (size_t)half->dim;
        for (int p = 0; p < half->image_tokens; p++)
            for (size_t i = 0; i < d; i++) {
                double a = half->image_hidden[((size_t)p * half->n_image_states + k) * d + i];
                double b = all->image_hidden[((size_t)p * (L + 1) + index) * d + i];
                if (!CHECK(fabs(a - b) <= fabs(b) * 0x1p-11 + 0x1p-25, "F16 image state (%d, "
                           "%d, %zu): %.9g vs %.9g", p, index, i, a, b))
                    goto done;
            }
    }
    for (size_t i = 0; i < (size_t)half->n_steps * half->n_states * half->dim; i++)
        if (!CHECK(fabs(half->hidden[i] - all->hidden[i]) <= fabs(all->hidden[i]) * 0x1p-11 +
                                                                 0x1p-25,
                   "F16 answer state %zu: %.9g vs %.9g", i, (double)half->hidden[i],
                   (double)all->hidden[i]))
            break;
    CHECK(half->n_image_states == L / 2 + 1 + (L % 2), "every=2 kept %d", half->n_image_states);
    CHECK(none->n_image_states == 0 && none->image_hidden == NULL, "a run without "
          "--image-states kept %d image states", none->n_image_states);
    // Where things sit: the image's first position in the prompt, the patch grid, rectangles.
    const cJSON *spans = cJSON_GetObjectItem(none->json, "spans");
    const cJSON *img = cJSON_GetObjectItem(spans, "image");
    CHECK(cJSON_GetObjectItem(img, "first") &&
              cJSON_GetObjectItem(img, "first")->valueint == none->image_first &&
              none->image_first > 0,
          "spans.image.first");
    CHECK(none->grid_rows * none->grid_cols + none->class_token == none->image_tokens,
          "grid %d x %d for %d tokens", none->grid_rows, none->grid_cols, none->image_tokens);
done:
    kevo_runfolder_free(all);
    kevo_runfolder_free(some);
    kevo_runfolder_free(half);
    kevo_runfolder_free(none);
    kevo_safetensors_free(f);
}

KEVO_TEST(image_states_cli_refusals)
{
    char model[1024], image[1024], *so = NULL, *se = NULL;
    snprintf(model, sizeof model, "%s", kevo_test_data("fixtures/tiny-f32"));
    snprintf(image, sizeof image, "%s/tiny-f32/color.png", kevo_test_data("oracle/engine"));
    int code = kevo_test_cli(&so, &se, "run -m '%s' -i '%s' -p 'Q?' -n 2 -o '%s/bad' -q "
                             "--image-states=0,99", model, image, kevo_test_tmpdir());
    CHECK(code == 2 && se && strstr(se, "'0,99'"), "a spec past L: exit %d, '%s'", code,
          se ? se : "");
    free(so);
    free(se);
    code = kevo_test_cli(&so, &se, "run -m '%s' -i '%s' -p 'Q?' -n 2 -o '%s/bad' -q --store "
                         "f8", model, image, kevo_test_tmpdir());
    CHECK(code == 2 && se && strstr(se, "f8"), "--store f8: exit %d, '%s'", code, se ? se : "");
    free(so);
    free(se);
}
