// test_gguf_model.c — LLaVA-1.5 from llama.cpp's GGUF pairs (model.gguf + mmproj.gguf, written by
// tools/fixtures/make_gguf.py from the safetensors fixtures): an F32 pair gives the hub folder's
// run to the bit; every quantised pair gives PyTorch's run on its decoded weights
// (tools/oracles/oracle_gguf_engine.py) within the engine's F32 tolerance and the same tokens;
// bad pairs are refused naming the file.
#define _GNU_SOURCE   // memmem
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "test.h"

#define REL_TOL 1e-4

static const char *const cases[] = {"color", "describe"};

// A run of m on the inputs of the reference file; returns it or NULL (after a failed check).
static kevo_run *run_case(const kevo_model *m, const kevo_safetensors *f, const char *label)
{
    const kevo_tensor *px = kevo_safetensors_find(f, "pixel_values");
    const kevo_tensor *pid = kevo_safetensors_find(f, "prompt_ids");
    if (!CHECK(px && pid, "%s: reference lacks its inputs", label))
        return NULL;
    const char *max_new = kevo_safetensors_metadata(f, "max_new_tokens");
    kevo_run_params p = kevo_run_default_params();
    p.max_new_tokens = max_new ? atoi(max_new) : 8;
    kevo_error err;
    kevo_run *run = NULL;
    if (!CHECK_OK(kevo_run_create(m, &p, &run, &err), &err))
        return NULL;
    int n = (int)pid->n_elems, *ids = malloc((size_t)n * sizeof *ids);
    for (int i = 0; ids && i < n; i++)
        ids[i] = (int)((const int64_t *)pid->data)[i];
    kevo_image_input image = {.pixels = px->data, .n_tiles = 1, .width = 1, .height = 1};
    int ok = ids && CHECK_OK(kevo_run_generate(run, &image, ids, n, &err), &err);
    free(ids);
    if (!ok) {
        kevo_run_free(run);
        return NULL;
    }
    return run;
}

static void compare(const kevo_model *m, const char *folder, const char *case_name)
{
    char rel[512], label[300];
    snprintf(label, sizeof label, "gguf/%s/%s", folder, case_name);
    snprintf(rel, sizeof rel, "oracle/gguf_engine/%s/%s.safetensors", folder, case_name);
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(kevo_test_data(rel), &f, &err), &err))
        return;
    kevo_run *run = run_case(m, f, label);
    const kevo_tensor *hid = kevo_safetensors_find(f, "hidden");
    const kevo_tensor *gen = kevo_safetensors_find(f, "generated_ids");
    if (run && CHECK(hid && gen, "%s: reference lacks hidden / generated_ids", label)) {
        const kevo_config *c = kevo_model_config(m);
        int t = kevo_run_n_generated(run), same = t == (int)gen->n_elems;
        for (int i = 0; same && i < t; i++)
            same = kevo_run_generated_ids(run)[i] == ((const int64_t *)gen->data)[i];
        CHECK(same, "%s: generated ids differ (kevo %d tokens, reference %d)", label, t,
              (int)gen->n_elems);
        if (same)
            CHECK_ROWS(label, kevo_run_hidden(run), hid->data,
                       (size_t)t * (size_t)(c->text_layers + 1), (size_t)c->text_hidden, REL_TOL);
    }
    kevo_run_free(run);
    kevo_safetensors_free(f);
}

KEVO_TEST(gguf_model_matches_pytorch_on_decoded_weights)
{
    DIR *d = opendir(kevo_test_data("fixtures/gguf"));
    if (!CHECK(d, "no fixtures/gguf folder"))
        return;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char rel[300];
        snprintf(rel, sizeof rel, "fixtures/gguf/%s", e->d_name);
        kevo_error err;
        kevo_model *m = NULL;
        if (!CHECK_OK(kevo_model_load(kevo_test_data(rel), &m, &err), &err))
            continue;
        for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++)
            compare(m, e->d_name, cases[j]);
        kevo_model_free(m);
        n++;
    }
    closedir(d);
    CHECK(n >= 20, "only %d GGUF fixtures", n);
}

KEVO_TEST(gguf_model_f32_equals_the_hub_folder_to_the_bit)
{
    kevo_error err;
    kevo_model *hub = NULL, *gguf = NULL;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_model_load(kevo_test_data("fixtures/tiny-f32"), &hub, &err), &err) ||
        !CHECK_OK(kevo_model_load(kevo_test_data("fixtures/gguf/tiny-f32-f32/model.gguf"),
                                  &gguf, &err), &err) ||
        !CHECK_OK(kevo_safetensors_open(kevo_test_data("oracle/engine/tiny-f32/describe."
                                                       "safetensors"), &f, &err), &err))
        goto done;
    kevo_run *a = run_case(hub, f, "hub"), *b = run_case(gguf, f, "gguf");
    if (a && b) {
        const kevo_config *c = kevo_model_config(hub);
        int t = kevo_run_n_generated(a);
        CHECK(t == kevo_run_n_generated(b) &&
                  !memcmp(kevo_run_generated_ids(a), kevo_run_generated_ids(b),
                          (size_t)t * sizeof(int)) &&
                  !memcmp(kevo_run_hidden(a), kevo_run_hidden(b),
                          (size_t)t * (c->text_layers + 1) * c->text_hidden * sizeof(float)),
              "the F32 GGUF pair's run differs from the hub folder's");
    }
    kevo_run_free(a);
    kevo_run_free(b);
done:
    kevo_safetensors_free(f);
    kevo_model_free(hub);
    kevo_model_free(gguf);
}

// Copies fixtures/gguf/FOLDER/NAME to DIR/AS, with the first `from` in it replaced by `to` (the
// same length) when from is not NULL.
static void copy_patched(const char *folder, const char *name, const char *dir, const char *as,
                         const char *from, const char *to)
{
    char rel[512], dst[2300];
    snprintf(rel, sizeof rel, "fixtures/gguf/%s/%s", folder, name);
    size_t len;
    char *data = kevo_test_slurp(kevo_test_data(rel), &len);
    if (!CHECK(data, "cannot read %s", rel))
        return;
    char *at = from ? memmem(data, len, from, strlen(from)) : NULL;
    CHECK(!from || at, "%s holds no '%s'", rel, from ? from : "");
    if (at)
        memcpy(at, to, strlen(to));
    snprintf(dst, sizeof dst, "%s/%s", dir, as);
    CHECK(kevo_test_write(dst, data, len), "cannot write %s", dst);
    free(data);
}

static void expect_refusal(const char *path, const char *want)
{
    kevo_error err;
    kevo_model *m = NULL;
    kevo_status st = kevo_model_load(path, &m, &err);
    CHECK(st != KEVO_OK && !m && kevo_test_contains(err.msg, want),
          "%s: status %d, message '%s' lacks '%s'", path, st, st ? err.msg : "", want);
    kevo_model_free(m);
}

KEVO_TEST(gguf_model_refusals)
{
    const char *fx = "tiny-f32-f16";
    const char *alone = kevo_test_tmp("alone"), *two = kevo_test_tmp("two");
    const char *arch = kevo_test_tmp("arch");
    CHECK(kevo_mkdirs(alone, NULL) == KEVO_OK && kevo_mkdirs(two, NULL) == KEVO_OK &&
          kevo_mkdirs(arch, NULL) == KEVO_OK, "cannot make folders");
    copy_patched(fx, "model.gguf", alone, "model.gguf", NULL, NULL);
    expect_refusal(alone, "one vision file (mmproj*.gguf)");
    copy_patched(fx, "model.gguf", two, "a.gguf", NULL, NULL);
    copy_patched(fx, "model.gguf", two, "b.gguf", NULL, NULL);
    copy_patched(fx, "mmproj.gguf", two, "mmproj.gguf", NULL, NULL);
    expect_refusal(two, "this one has 2 and 1");
    char path[2300];
    snprintf(path, sizeof path, "%s/mmproj.gguf", two);
    expect_refusal(path, "the vision file of a GGUF model");
    copy_patched(fx, "model.gguf", arch, "model.gguf", "llama", "gemma");
    copy_patched(fx, "mmproj.gguf", arch, "mmproj-f16.gguf", NULL, NULL);
    expect_refusal(arch, "general.architecture is \"gemma\"");
}

// A block of a Q8_0 weight whose F16 scale is +Inf (0x7C00): the layer's output is not finite and
// the run fails naming the tensor, its element and the block's byte offset in the GGUF file.
KEVO_TEST(gguf_model_non_finite_block_scale_named)
{
    const char *dir = kevo_test_tmp("inf-scale");
    CHECK(kevo_mkdirs(dir, NULL) == KEVO_OK, "cannot make %s", dir);
    copy_patched("tiny-f32-q8_0", "model.gguf", dir, "model.gguf", NULL, NULL);
    copy_patched("tiny-f32-q8_0", "mmproj.gguf", dir, "mmproj.gguf", NULL, NULL);
    char path[2300];
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    kevo_error err;
    kevo_gguf *g = NULL;
    if (!CHECK_OK(kevo_gguf_open(path, &g, &err), &err))
        return;
    const kevo_gguf_tensor *t = kevo_gguf_find_tensor(g, "blk.1.ffn_up.weight");
    int q8 = t && t->ggml_type == 8;   // ggml's GGML_TYPE_Q8_0
    // Block 3 (34 bytes each: the F16 scale, then 32 int8) holds elements 96..127.
    uint64_t at = q8 ? t->file_offset + 3 * 34 : 0;
    kevo_gguf_free(g);
    if (!CHECK(q8, "blk.1.ffn_up.weight is not Q8_0 in the fixture"))
        return;
    FILE *f = fopen(path, "r+b");
    const unsigned char inf[2] = {0x00, 0x7C};
    int ok = f && fseek(f, (long)at, SEEK_SET) == 0 && fwrite(inf, 1, 2, f) == 2;
    if (f)
        fclose(f);
    if (!CHECK(ok, "cannot patch %s", path))
        return;
    char image[1200], want[200], *out = NULL, *errs = NULL;
    snprintf(image, sizeof image, "%s/tiny-f32/color.png", kevo_test_data("oracle/engine"));
    int code = kevo_test_cli(&out, &errs, "run -m '%s' -i '%s' -p 'What is it?' -n 3 -o '%s'",
                             dir, image, kevo_test_tmp("inf-scale.run"));
    // The element is ±Inf (or NaN for a zero quant): Inf times the element's int8.
    snprintf(want, sizeof want, "at element 96 (its Q8_0 block 3, byte %llu of",
             (unsigned long long)at);
    CHECK(code == 1 && kevo_test_contains(errs, "up_proj") && kevo_test_contains(errs, want),
          "exit %d, message '%s' lacks the tensor or '%s'", code, errs ? errs : "", want);
    free(out);
    free(errs);
}
