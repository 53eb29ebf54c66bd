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
#include "report/patch_figures.h"
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
    // The rectangles on the original image: as the Python re-statement of expand2square and
    // the resize places them (tools/pylib/llava_torch.py, pad_patch_rects).
    kevo_runfolder *py = NULL;
    if (CHECK_OK(kevo_runfolder_load(kevo_test_data("oracle/engine/tiny-f32/color.run"), &py,
                                     &err), &err) &&
        CHECK(py->grid_rows == none->grid_rows && py->patch_original, "grids differ")) {
        double worst = 0;
        for (int i = 0; i < 4 * py->grid_rows * py->grid_cols; i++)
            worst = fmax(worst, fabs(py->patch_original[i] - none->patch_original[i]));
        CHECK(worst <= 1e-9, "patch rectangles differ from Python's by %.3g px", worst);
    }
    kevo_runfolder_free(py);
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

// The fields of one CSV line (RFC 4180, quoted fields unquoted in place); returns their count.
static int csv_fields(char *line, char **f, int max)
{
    int n = 0;
    char *s = line;
    while (n < max) {
        if (*s == '"') {   // a quoted field: "" is a quote
            char *w = ++s;
            f[n++] = w;
            while (*s && !(*s == '"' && s[1] != '"'))
                *w++ = *s == '"' ? (s += 2, '"') : *s++;
            if (*s == '"')
                s++;
            *w = '\0';
        } else {
            f[n++] = s;
            s += strcspn(s, ",\n");
        }
        if (*s != ',')
            break;
        *s++ = '\0';
    }
    s[strcspn(s, "\n")] = '\0';
    return n;
}

// kevo analyze of PyTorch's run folder against numpy's patch lens of its image states.
static void check_patch_lens(const char *run_case, const char *lens, const char *words)
{
    char name[64], oracle[1024], *so = NULL, *se = NULL;
    snprintf(name, sizeof name, "%s-%s", run_case, lens);
    const char *run = kevo_test_copy_run("tiny-f32", run_case, name);
    int code = kevo_test_cli(&so, &se, "analyze '%s' --lens %s --no-tsne %s%s", run, lens,
                             words ? "--patch-words " : "", words ? words : "");
    CHECK(code == 0, "%s: analyze exit %d: %s", name, code, se ? se : "");
    free(so);
    free(se);
    snprintf(oracle, sizeof oracle, "%s/run.%s.%s.safetensors",
             kevo_test_data("oracle/patch_lens"), run_case, lens);
    char csv[1024], meta[1024];
    snprintf(csv, sizeof csv, "%s/analysis/patch_lens.csv", run);
    snprintf(meta, sizeof meta, "%s/analysis/patch_lens.json", run);
    kevo_error err;
    kevo_safetensors *f = NULL;
    char *text = kevo_test_slurp(csv, NULL), *json_text = kevo_test_slurp(meta, NULL);
    cJSON *json = json_text ? cJSON_Parse(json_text) : NULL;
    if (!CHECK(text && json, "%s: no patch_lens.csv or patch_lens.json", name) ||
        !CHECK_OK(kevo_safetensors_open(oracle, &f, &err), &err))
        goto done;
    const kevo_tensor *logp = kevo_safetensors_find(f, "logp");
    const kevo_tensor *top = kevo_safetensors_find(f, "top_id");
    const kevo_tensor *ent = kevo_safetensors_find(f, "entropy");
    const kevo_tensor *gap = kevo_safetensors_find(f, "gap");
    const kevo_tensor *tol_p = kevo_safetensors_find(f, "tol_p");
    const kevo_tensor *tol_e = kevo_safetensors_find(f, "tol_entropy");
    if (!CHECK(logp && top && ent && gap && tol_p && tol_e, "%s: oracle incomplete", oracle))
        goto done;
    int P = (int)logp->shape[0], K = (int)logp->shape[1], V = (int)logp->shape[2];
    const cJSON *jw = cJSON_GetObjectItem(json, "words"), *ji = cJSON_GetObjectItem(json,
                                                                                   "indices");
    int W = cJSON_GetArraySize(jw), word_id[8];
    CHECK(W >= 1 && W <= 8 && cJSON_GetArraySize(ji) == K, "%s: %d words, %d indices", name, W,
          cJSON_GetArraySize(ji));
    for (int w = 0; w < W && w < 8; w++)
        word_id[w] = cJSON_GetObjectItem(cJSON_GetArrayItem(jw, w), "token")->valueint;
    const double *lp = logp->data, *en = ent->data, *gp = gap->data, *tp = tol_p->data,
                 *te = tol_e->data;
    const int32_t *tid = top->data;
    int rows = 0, bad = 0;
    char *line = strchr(text, '\n');
    for (line = line ? line + 1 : NULL; line && *line && bad < 5; rows++) {
        char *next = strchr(line, '\n'), *fld[16];
        if (next)
            *next = '\0';
        int nf = csv_fields(line, fld, 16);
        int index = atoi(fld[0]), patch = atoi(fld[1]), k = 0;
        while (k < K && cJSON_GetArrayItem(ji, k)->valueint != index)
            k++;
        if (!CHECK(nf == 8 + W && k < K && patch >= 0 && patch < P, "%s: row %d: '%s'", name,
                   rows, line)) {
            bad++;
            break;
        }
        size_t i = (size_t)patch * K + k;
        int id = atoi(fld[4]);
        double got_p = strtod(fld[6], NULL), got_e = strtod(fld[7], NULL);
        bad += !CHECK(id == tid[i] || gp[i] <= tp[i], "%s: index %d patch %d: top %d, numpy %d "
                      "(logit gap %.3g)", name, index, patch, id, tid[i], gp[i]);
        bad += !CHECK(fabs(got_p - exp(lp[i * V + tid[i]])) <= tp[i] || id != tid[i],
                      "%s: index %d patch %d: top p %.17g, numpy %.17g", name, index, patch,
                      got_p, exp(lp[i * V + tid[i]]));
        bad += !CHECK(fabs(got_e - en[i]) <= te[i], "%s: index %d patch %d: entropy %.17g, "
                      "numpy %.17g", name, index, patch, got_e, en[i]);
        for (int w = 0; w < W; w++) {
            double want = exp(lp[i * V + word_id[w]]), got = strtod(fld[8 + w], NULL);
            bad += !CHECK(fabs(got - want) <= tp[i], "%s: index %d patch %d: p(%d) %.17g, numpy "
                          "%.17g", name, index, patch, word_id[w], got, want);
        }
        line = next ? next + 1 : NULL;
    }
    CHECK(bad || rows == P * K, "%s: %d rows for %d patches x %d indices", name, rows, P, K);
done:
    cJSON_Delete(json);
    free(json_text);
    free(text);
    kevo_safetensors_free(f);
}

KEVO_TEST(image_states_patch_lens_matches_numpy)
{
    check_patch_lens("color", "raw", NULL);
    check_patch_lens("color", "norm", "red,flower");
    check_patch_lens("describe", "raw", "image,the");
}

// The patch maps on the picture: one figure per tracked word (distinct words, distinct files,
// whatever their bytes) and the labelled picture, in every format; a second analysis may
// replace the folder that holds them.
KEVO_TEST(image_states_patch_figures_in_every_format)
{
    const char *run = kevo_test_copy_run("tiny-f32", "color", "figures");
    static const struct {
        const char *format, *magic;
    } formats[] = {{"png", "\x89PNG"}, {"svg", "<?xml"}, {"pdf", "%PDF"}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        char *so = NULL, *se = NULL;
        int code = kevo_test_cli(&so, &se, "analyze '%s' --no-tsne --format %s --patch-words "
                                 "'red,a b,a_b,'\\''x'\\'''", run, formats[i].format);
        CHECK(code == 0, "--format %s: exit %d: %s", formats[i].format, code, se ? se : "");
        free(so);
        free(se);
        const char *stems[] = {"word_red", "word_a%20b", "word_a_b", "word_%27x%27",
                               "top_tokens"};
        for (size_t s = 0; s < sizeof stems / sizeof stems[0]; s++) {
            char path[1200];
            snprintf(path, sizeof path, "%s/analysis/patches/%s.%s", run, stems[s],
                     formats[i].format);
            size_t len = 0;
            char *data = kevo_test_slurp(path, &len);
            CHECK(data && len > 100 && !memcmp(data, formats[i].magic, strlen(formats[i].magic)),
                  "%s: missing or not a %s file", path, formats[i].format);
            free(data);
        }
    }
}

// The word maps' colour scale ignores patches of padding only (pad mode's bands), which are not
// drawn: a padding patch holding the largest probability must not wash the picture out.
KEVO_TEST(image_states_patch_scale_ignores_padding)
{
    // 1 x 3 grid, 2 indices, 1 word; patch 0 is padding only (an empty rectangle).
    double original[12] = {0, 0, 0, 5, 0, 0, 4, 5, 4, 0, 8, 5};
    double word_p[6] = {0.9, 0.8, 0.1, 0.3, 0.2, 0.05};   // [patch][index]
    kevo_patch_lens_result lens = {.n_patches = 3, .n_indices = 2, .n_words = 1,
                                   .word_p = word_p};
    int cells[3] = {0, 1, 2};
    kevo_patch_analysis p = {.lens = &lens, .n_patches = 3, .n_indices = 2, .rows = 1,
                             .cols = 3, .cell_position = cells, .original = original,
                             .n_words = 1};
    double got = kevo_patch_word_scale(&p, 0);
    CHECK(got == 0.3, "scale %g, want 0.3 (the largest value on the picture's patches)", got);
    original[2] = 4;   // patch 0 now covers pixels: its 0.9 counts
    got = kevo_patch_word_scale(&p, 0);
    CHECK(got == 0.9, "scale %g, want 0.9 once patch 0 covers the picture", got);
}
