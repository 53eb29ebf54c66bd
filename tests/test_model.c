// test_model.c — loading the fixture models, weight binding and its refusals, `kevo info`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/model.h"
#include "test.h"

static const char *const variants[] = {"tiny-f32", "tiny-f16", "tiny-bf16", "tiny-gqa"};

// Parameter count from the dimensions alone (an independent formula, not the binder's sum).
static unsigned long long expected_params(const kevo_config *c)
{
    unsigned long long dv = c->vision_hidden, fv = c->vision_intermediate, d = c->text_hidden;
    unsigned long long f = c->text_intermediate, p = c->patch_size, v = c->text_vocab;
    unsigned long long grid = c->image_size / c->patch_size, e = c->text_head_dim;
    unsigned long long vision = dv + dv * 3 * p * p + (grid * grid + 1) * dv + 4 * dv +
                                c->vision_layers * (4 * (dv * dv + dv) + 4 * dv + 2 * fv * dv +
                                                    fv + dv);
    unsigned long long projector = d * dv + d + d * d + d;
    unsigned long long q = c->text_heads * e, kv = c->text_kv_heads * e;
    unsigned long long text = 2 * v * d + d +
                              c->text_layers * (2 * q * d + 2 * kv * d + 3 * f * d + 2 * d);
    return vision + projector + text;
}

KEVO_TEST(model_loads_every_fixture)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        kevo_error err;
        kevo_model *m = NULL;
        char rel[64];
        snprintf(rel, sizeof rel, "fixtures/%s", variants[i]);
        if (!CHECK_OK(kevo_model_load(kevo_test_data(rel), &m, &err), &err))
            continue;
        const kevo_config *c = kevo_model_config(m);
        const kevo_weights *w = m->weights;
        CHECK(w->n_vision == c->feature_layer && w->n_vision == 2, "%s: %d vision layers bound",
              variants[i], w->n_vision);
        int bound = w->class_emb.f32 && w->patch_w.t && w->pos_emb.f32 && w->pre_ln_w.f32 &&
                    w->pre_ln_b.f32 && w->proj1_w.t && w->proj1_b.f32 && w->proj2_w.t &&
                    w->proj2_b.f32 && w->embed.t && w->final_norm.f32 && w->lm_head.t;
        for (int l = 0; l < w->n_vision; l++)
            bound &= w->vision[l].q_w.t && w->vision[l].fc2_b.f32 && w->vision[l].ln2_b.f32;
        for (int l = 0; l < c->text_layers; l++)
            bound &= w->text[l].q.t && w->text[l].k.t && w->text[l].down.t &&
                     w->text[l].ffn_norm.f32 && !w->text[l].q.f32;
        CHECK(bound, "%s: a slot is unbound", variants[i]);
        // Vector views hold exactly the stored values, widened.
        const kevo_tensor *norm = w->final_norm.t;
        for (int k = 0; k < (int)norm->n_elems; k++)
            if (norm->dtype == KEVO_DTYPE_F32)
                CHECK(w->final_norm.f32[k] == ((const float *)norm->data)[k], "f32 view");
        CHECK(w->n_params == expected_params(c), "%s: %llu parameters, expected %llu",
              variants[i], (unsigned long long)w->n_params, expected_params(c));
        kevo_dtype want = strstr(variants[i], "bf16")  ? KEVO_DTYPE_BF16
                          : strstr(variants[i], "f16") ? KEVO_DTYPE_F16
                                                       : KEVO_DTYPE_F32;
        CHECK(w->embed.t->dtype == want && w->dtype_counts[want] == (int)kevo_checkpoint_count(m->ckpt),
              "%s: dtype %s", variants[i], kevo_dtype_name(w->embed.t->dtype));
        if (strcmp(variants[i], "tiny-gqa") == 0)
            CHECK(c->text_kv_heads == 2 && w->text[0].k.t->shape[0] == 32 &&
                  strncmp(w->embed.t->name, "model.language_model.", 21) == 0,
                  "tiny-gqa: grouped-query shapes under the new names");
        kevo_model_free(m);
    }
}

// Copies the single-file GQA fixture to the test directory and rewrites model.safetensors with
// `drop` removed, `reshape` given a different shape, `retype` stored as I32, `extra` added.
static const char *mutated(const char *drop, const char *reshape, const char *retype,
                           const char *extra)
{
    static char dir[1200];
    char cmd[4096], path[1300];
    snprintf(dir, sizeof dir, "%s/model", kevo_test_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", dir,
             kevo_test_data("fixtures/tiny-gqa"), dir);
    if (system(cmd) != 0)
        return NULL;
    kevo_error err;
    kevo_safetensors *f;
    snprintf(path, sizeof path, "%s/model.safetensors", kevo_test_data("fixtures/tiny-gqa"));
    if (kevo_safetensors_open(path, &f, &err) != KEVO_OK)
        return NULL;
    size_t n = kevo_safetensors_count(f);
    kevo_tensor_out *out = calloc(n + 1, sizeof *out);
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        const kevo_tensor *t = kevo_safetensors_at(f, i);
        if (drop && strcmp(t->name, drop) == 0)
            continue;
        kevo_tensor_out *o = &out[k++];
        o->name = t->name;
        o->dtype = retype && strcmp(t->name, retype) == 0 ? KEVO_DTYPE_I32 : t->dtype;
        o->n_dims = t->n_dims;
        memcpy(o->shape, t->shape, sizeof o->shape);
        o->data = t->data;
        if (reshape && strcmp(t->name, reshape) == 0) {   // same bytes, transposed-looking shape
            o->n_dims = 2;
            o->shape[0] = t->n_elems / 16;
            o->shape[1] = 16;
        }
    }
    static float extra_data[3];
    if (extra)
        out[k++] = (kevo_tensor_out){extra, KEVO_DTYPE_F32, 1, {3}, extra_data};
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    kevo_status st = kevo_safetensors_write(path, out, k, NULL, 0, &err);
    free(out);
    kevo_safetensors_free(f);
    return st == KEVO_OK ? dir : NULL;
}

static void expect_model_error(const char *label, const char *dir, const char *needle)
{
    kevo_error err = {0};
    kevo_model *m = NULL;
    if (!CHECK(dir != NULL, "%s: could not build the broken model", label))
        return;
    kevo_status st = kevo_model_load(dir, &m, &err);
    CHECK(st == KEVO_ERR_MODEL && m == NULL, "%s: status %d (%s)", label, st, err.msg);
    CHECK(kevo_test_contains(err.msg, needle), "%s: message '%s' lacks '%s'", label, err.msg,
          needle);
    kevo_model_free(m);
}

KEVO_TEST(model_binding_refusals)
{
    expect_model_error("missing", mutated("model.language_model.norm.weight", 0, 0, 0),
                       "missing 'language_model.model.norm.weight' [64]");
    expect_model_error("reshaped",
                       mutated(0, "model.multi_modal_projector.linear_1.weight", 0, 0),
                       "'model.multi_modal_projector.linear_1.weight' has shape [128, 16], "
                       "expected [64, 32]");
    expect_model_error("retyped", mutated(0, 0, "lm_head.weight", 0),
                       "'lm_head.weight' is I32; weights must be F32, F16, BF16 or (in GGUF "
                       "files) one of ggml's block types");
    expect_model_error("unexpected", mutated(0, 0, 0, "model.language_model.layers.0.self_attn."
                                             "q_proj.bias"),
                       "unexpected 'model.language_model.layers.0.self_attn.q_proj.bias' [3]");
    // Several problems are listed in one message, with their count.
    expect_model_error("several", mutated("lm_head.weight", 0, 0, "stray.tensor"),
                       "2 tensors do not match the config");
    // A tensor the tower never runs may be absent (the last CLIP layer, post_layernorm).
    const char *dir = mutated("model.vision_tower.vision_model.post_layernorm.weight", 0, 0, 0);
    kevo_error err;
    kevo_model *m = NULL;
    CHECK(dir && kevo_model_load(dir, &m, &err) == KEVO_OK, "unused tensor required: %s",
          err.msg);
    kevo_model_free(m);
}

KEVO_TEST(info_prints_every_variant)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char rel[64], *out = NULL, *errs = NULL;
        snprintf(rel, sizeof rel, "fixtures/%s", variants[i]);
        int code = kevo_test_cli(&out, &errs, "info '%s'", kevo_test_data(rel));
        CHECK(code == 0, "%s: exit %d, stderr: %s", variants[i], code, errs ? errs : "");
        int gqa = strcmp(variants[i], "tiny-gqa") == 0;
        CHECK(kevo_test_contains(out, "width 64, 4 layers, 4 heads x 16") &&
              kevo_test_contains(out, gqa ? "2 key/value heads (grouped-query)"
                                          : "4 key/value heads,") &&
              kevo_test_contains(out, "576 rows in embed_tokens and lm_head") &&
              kevo_test_contains(out, "16 tokens per image") &&
              kevo_test_contains(out, "3 layers stored, 2 run") &&
              kevo_test_contains(out, gqa ? "parameters    310048" : "parameters    326432"),
              "%s: info output:\n%s", variants[i], out ? out : "");
        const char *dtype = strstr(variants[i], "bf16") ? "BF16 x 98" :
                            strstr(variants[i], "f16") ? "F16 x 98" : "F32 x 98";
        CHECK(kevo_test_contains(out, dtype), "%s: dtype line lacks %s", variants[i], dtype);
        free(out);
        free(errs);
    }
}

KEVO_TEST(info_exit_codes)
{
    char *errs = NULL;
    int code = kevo_test_cli(NULL, &errs, "info '%s/nowhere'", kevo_test_tmpdir());
    CHECK(code == 1 && kevo_test_contains(errs, "not a directory"), "missing dir: %d %s", code,
          errs ? errs : "");
    free(errs);
    code = kevo_test_cli(NULL, &errs, "info");
    CHECK(code == 2 && kevo_test_contains(errs, "expects one MODEL_DIR"), "no args: %d", code);
    free(errs);
    code = kevo_test_cli(NULL, &errs, "info -n -5 '%s'", kevo_test_data("fixtures/tiny-f32"));
    CHECK(code == 2 && kevo_test_contains(errs, "--max-new expects a whole number"),
          "absurd option: %d %s", code, errs ? errs : "");
    free(errs);
    code = kevo_test_cli(NULL, &errs, "frobnicate");
    CHECK(code == 2 && kevo_test_contains(errs, "unknown command"), "unknown command: %d", code);
    free(errs);
}

KEVO_TEST(fixture_generator_matches_committed_fixture)
{
    // tools/fixtures/make_fixture.py is deterministic, and tests/fixtures/tiny-f32 (which docs and
    // tools point at) is exactly what it writes today.
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "diff -r tests/fixtures/tiny-f32 '%s' >/dev/null",
             kevo_test_data("fixtures/tiny-f32"));
    CHECK(system(cmd) == 0, "tests/fixtures/tiny-f32 differs from a fresh make_fixture.py run; "
          "regenerate it with: /usr/bin/python3 tools/fixtures/make_fixture.py --variant tiny-f32 "
          "tests/fixtures/tiny-f32");
}
