// test_qwen.c — Qwen2-VL and Qwen2.5-VL against the PyTorch re-statement of transformers'
// modeling_qwen2_vl.py, modeling_qwen2_5_vl.py and image_processing_qwen2_vl.py
// (tools/pylib/qwen2vl_torch.py, tools/oracles/oracle_qwen.py) on tiny fixtures in the hub
// layouts of Qwen2-VL-2B (tied, legacy config), of newer transformers' re-save (BF16, untied,
// text_config, model.language_model.*), of Qwen2.5-VL-3B (tied) and -7B (BF16, untied), with
// the real Qwen tokenizer and vocabulary (151,936 rows), on images of several sizes and aspect
// ratios (both smart_resize bounds, odd sizes, windows that do not divide the grid).
//
// Tolerances: pixel_values bit-identical (the image processor is Pillow's arithmetic); every
// feature, embedding and logit vector within 1e-4 of the F32 reference relative to its largest
// element (as test_engine.c), every hidden state within 1e-4 of the reference run in float64
// (these random tiny models amplify F32 rounding: the F32 reference itself is up to 4e-5 from
// it, kevo's paths up to 7e-5); prompt and generated ids identical.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "io/runfolder.h"
#include "io/safetensors.h"
#include "test.h"

#define REL_TOL 1e-4

static const char *const fixtures[] = {"qwen2vl-f32", "qwen2vl-bf16", "qwen25vl-f32",
                                       "qwen25vl-bf16"};
static const char *const cases[] = {"landscape", "portrait", "square", "tiny", "huge", "odd",
                                    "tall"};

static const kevo_tensor *need(const kevo_safetensors *f, const char *name)
{
    const kevo_tensor *t = kevo_safetensors_find(f, name);
    CHECK(t != NULL, "oracle file lacks '%s'", name);
    return t;
}

// The reference's ids; in its slot form (one <|image_pad|>, `slot_id`) that token is kevo's
// KEVO_IMAGE_SLOT.
static int id_at(const kevo_tensor *t, size_t i, int slot_id)
{
    int id = (int)((const int64_t *)t->data)[i];
    return id == slot_id ? KEVO_IMAGE_SLOT : id;
}

static int *ids_of(const kevo_tensor *t, int slot_id)
{
    int *ids = malloc(t->n_elems * sizeof *ids);
    for (size_t i = 0; ids && i < t->n_elems; i++)
        ids[i] = id_at(t, i, slot_id);
    return ids;
}

static int same_ids(const int *got, int n, const kevo_tensor *want, int slot_id)
{
    int same = n == (int)want->n_elems;
    for (int i = 0; same && i < n; i++)
        same = got[i] == id_at(want, (size_t)i, slot_id);
    return same;
}

static char *path_of(const char *dir, const char *fixture)
{
    static char buf[2][1024];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s%s/%s", kevo_test_data(""), dir, fixture);
    return buf[k];
}

// The oracle's pixel_values through the tower and merger, then generation from both prompt
// forms (one <|image_pad|>, and the processor's expansion) against its ids and every state.
static void compare_case(const kevo_model *m, const char *fixture, const char *name)
{
    char path[2048], label[256], what[320];
    snprintf(path, sizeof path, "%s/%s.safetensors", path_of("oracle/qwen", fixture), name);
    snprintf(label, sizeof label, "%s/%s", fixture, name);
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(path, &f, &err), &err))
        return;
    const kevo_tensor *px = need(f, "pixel_values"), *size = need(f, "image_size");
    const kevo_tensor *feat = need(f, "vision_features"), *emb = need(f, "image_embeds");
    const kevo_tensor *slot = need(f, "prompt_ids_slot"), *expanded = need(f, "prompt_ids");
    const kevo_tensor *gen = need(f, "generated_ids"), *hid = need(f, "hidden_f64");
    const kevo_tensor *img_hid = need(f, "image_hidden_f64"), *logits = need(f, "logits");
    if (!px || !size || !feat || !emb || !slot || !expanded || !gen || !hid || !img_hid ||
        !logits) {
        kevo_safetensors_free(f);
        return;
    }
    const kevo_config *c = kevo_model_config(m);
    int h = (int)((const int64_t *)size->data)[0], w = (int)((const int64_t *)size->data)[1];
    kevo_image_input image = {px->data, 1, w, h};
    int n_tiles = 0, n_tokens = 0;
    if (CHECK_OK(kevo_model_image_tokens(m, w, h, &n_tiles, &n_tokens, &err), &err))
        CHECK(n_tiles == 1 && n_tokens == emb->shape[0] && n_tokens * 4 == px->shape[0],
              "%s: %d positions, the reference %lld (of %lld patches)", label, n_tokens,
              (long long)emb->shape[0], (long long)px->shape[0]);

    kevo_run_params p = kevo_run_default_params();
    const char *max_new_s = kevo_safetensors_metadata(f, "max_new_tokens");
    p.max_new_tokens = max_new_s ? atoi(max_new_s) : 8;
    int *every = NULL;
    CHECK_OK(kevo_image_states_parse("all", c->text_layers, &every, &p.n_image_states, &err),
             &err);
    p.image_states = every;
    kevo_run *run = NULL;
    if (!CHECK_OK(kevo_run_create(m, &p, &run, &err), &err)) {
        free(every);
        kevo_safetensors_free(f);
        return;
    }
    if (CHECK_OK(kevo_run_encode_image(run, &image, &err), &err)) {
        snprintf(what, sizeof what, "%s vision features", label);
        CHECK_ROWS(what, kevo_run_image_features(run), feat->data, (size_t)feat->shape[0],
                   (size_t)feat->shape[1], REL_TOL);
        snprintf(what, sizeof what, "%s merged image embeddings", label);
        CHECK_ROWS(what, kevo_run_image_embeds(run), emb->data, (size_t)emb->shape[0],
                   (size_t)emb->shape[1], REL_TOL);
    }
    const kevo_tensor *forms[2] = {slot, expanded};
    for (int form = 0; form < 2; form++) {
        int *ids = ids_of(forms[form], form ? -1 : c->image_token_id);
        if (!CHECK_OK(kevo_run_generate(run, &image, ids, (int)forms[form]->n_elems, &err),
                      &err)) {
            free(ids);
            continue;
        }
        free(ids);
        int t = kevo_run_n_generated(run);
        int same = same_ids(kevo_run_generated_ids(run), t, gen, -1);
        CHECK(same, "%s (%s prompt): generated ids differ (kevo %d tokens, reference %zu)", label,
              form ? "expanded" : "slot", t, (size_t)gen->n_elems);
        if (!same || form)
            continue;
        size_t states = (size_t)c->text_layers + 1;
        snprintf(what, sizeof what, "%s hidden states", label);
        CHECK_ROWS(what, kevo_run_hidden(run), hid->data, (size_t)t * states,
                   (size_t)c->text_hidden, REL_TOL);
        snprintf(what, sizeof what, "%s last logits", label);
        CHECK_ROWS(what, kevo_run_logits(run), (const float *)logits->data +
                   (size_t)(t - 1) * (size_t)logits->shape[1], 1, (size_t)logits->shape[1],
                   REL_TOL);
        snprintf(what, sizeof what, "%s image positions' hidden states", label);
        if (CHECK(kevo_run_n_image_tokens(run) == img_hid->shape[0], "%s: %d image positions",
                  label, kevo_run_n_image_tokens(run)))
            CHECK_ROWS(what, kevo_run_image_hidden(run), img_hid->data,
                       (size_t)img_hid->shape[0] * states, (size_t)c->text_hidden, REL_TOL);
    }
    kevo_run_free(run);
    free(every);
    kevo_safetensors_free(f);
}

KEVO_TEST(qwen_engine_matches_pytorch_reference)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        kevo_error err;
        kevo_model *m = NULL;
        if (!CHECK_OK(kevo_model_load(path_of("fixtures", fixtures[i]), &m, &err), &err))
            continue;
        const char *want = strncmp(fixtures[i], "qwen25", 6) ? "qwen2_vl" : "qwen2_5_vl";
        CHECK(!strcmp(kevo_model_config(m)->model_type, want), "%s: family %s", fixtures[i],
              kevo_model_config(m)->model_type);
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
            compare_case(m, fixtures[i], cases[k]);
        kevo_model_free(m);
    }
}

// The request path end to end: the PNG through kevo's image processor (bit-identical
// pixel_values), the checkpoint's chat template recognised as Qwen2-VL's ChatML, the prompt ids
// of the real tokenizer, the generation, and a run folder whose patch grid is the merged grid.
KEVO_TEST(qwen_request_matches_reference_end_to_end)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char path[1100], png[1100];
        const char *model_dir = path_of("fixtures", fixtures[i]);
        const char *dir = path_of("oracle/qwen", fixtures[i]);
        kevo_error err;
        kevo_model *m = NULL;
        if (!CHECK_OK(kevo_model_load(model_dir, &m, &err), &err))
            continue;
        CHECK(!strcmp(kevo_template_name(kevo_model_template(m)), "qwen2-vl"), "%s: template %s",
              fixtures[i], kevo_template_name(kevo_model_template(m)));
        kevo_run_params p = kevo_run_default_params();
        p.max_new_tokens = 8;
        kevo_run *run = NULL;
        CHECK_OK(kevo_run_create(m, &p, &run, &err), &err);
        for (size_t k = 0; run && k < sizeof cases / sizeof cases[0]; k++) {
            snprintf(path, sizeof path, "%s/%s.safetensors", dir, cases[k]);
            snprintf(png, sizeof png, "%s/%s.png", dir, cases[k]);
            kevo_safetensors *f = NULL;
            if (!CHECK_OK(kevo_safetensors_open(path, &f, &err), &err))
                continue;
            const kevo_tensor *slot = need(f, "prompt_ids_slot"), *gen = need(f, "generated_ids");
            const kevo_tensor *px = need(f, "pixel_values"), *grid = need(f, "image_grid_thw");
            kevo_pixels *pix = NULL;   // kevo preprocess's path
            if (px && CHECK_OK(kevo_pixels_load(model_dir, png, KEVO_IMAGE_MODE_PAD, &pix, &err),
                               &err))
                CHECK(kevo_pixels_n_patches(pix) == px->shape[0] &&
                          !memcmp(kevo_pixels_values(pix), px->data, px->n_bytes),
                      "%s/%s: pixel_values differ from the reference's", fixtures[i], cases[k]);
            kevo_pixels_free(pix);
            kevo_request q = {png, kevo_safetensors_metadata(f, "question"), KEVO_TEMPLATE_AUTO,
                              KEVO_IMAGE_MODE_PAD};
            kevo_answer a = {0};
            if (slot && gen && grid && q.question &&
                CHECK_OK(kevo_llava_answer(m, run, &q, &a, &err), &err)) {
                CHECK(same_ids(a.prompt_ids, a.n_prompt_ids, slot,
                               kevo_model_config(m)->image_token_id), "%s/%s: prompt ids differ",
                      fixtures[i], cases[k]);
                int t = kevo_run_n_generated(run), same = t <= (int)gen->n_elems;
                for (int j = 0; same && j < t; j++)
                    same = kevo_run_generated_ids(run)[j] == ((const int64_t *)gen->data)[j];
                CHECK(same, "%s/%s: generated ids differ", fixtures[i], cases[k]);
                char out[1100];
                snprintf(out, sizeof out, "%s/%s-%s", kevo_test_tmpdir(), fixtures[i], cases[k]);
                kevo_save_options o = {.store = KEVO_DTYPE_F32};
                kevo_runfolder *rf = NULL;
                const int64_t *thw = grid->data;
                if (CHECK_OK(kevo_llava_save(m, run, &q, &a, &o, out, &err), &err) &&
                    CHECK_OK(kevo_runfolder_load(out, &rf, &err), &err))
                    CHECK(rf->grid_rows == thw[1] / 2 && rf->grid_cols == thw[2] / 2 &&
                              rf->image_tokens == kevo_run_n_image_tokens(run),
                          "%s/%s: run folder grid %d x %d, reference %lld x %lld", fixtures[i],
                          cases[k], rf->grid_rows, rf->grid_cols, (long long)thw[1] / 2,
                          (long long)thw[2] / 2);
                kevo_runfolder_free(rf);
            }
            kevo_answer_clear(&a);
            kevo_safetensors_free(f);
        }
        kevo_run_free(run);
        kevo_model_free(m);
    }
}

// Which thread computes a value never changes it: the windowed tower too.
KEVO_TEST(qwen_same_result_for_any_thread_count)
{
    char png[1100];
    snprintf(png, sizeof png, "%s/huge.png", path_of("oracle/qwen", "qwen25vl-f32"));
    kevo_error err;
    kevo_model *m = NULL;
    if (!CHECK_OK(kevo_model_load(path_of("fixtures", "qwen25vl-f32"), &m, &err), &err))
        return;
    const kevo_config *c = kevo_model_config(m);
    float *first = NULL;
    size_t n = 0;
    for (int threads = 1; threads <= 3; threads++) {
        kevo_run_params p = kevo_run_default_params();
        p.max_new_tokens = 4;
        p.n_threads = threads;
        int *every = NULL;
        CHECK_OK(kevo_image_states_parse("all", c->text_layers, &every, &p.n_image_states, &err),
                 &err);
        p.image_states = every;
        kevo_run *run = NULL;
        kevo_request q = {png, "Describe it.", KEVO_TEMPLATE_AUTO, KEVO_IMAGE_MODE_PAD};
        kevo_answer a = {0};
        if (CHECK_OK(kevo_run_create(m, &p, &run, &err), &err) &&
            CHECK_OK(kevo_llava_answer(m, run, &q, &a, &err), &err)) {
            size_t states = (size_t)kevo_run_n_generated(run) * (c->text_layers + 1) *
                            c->text_hidden;
            size_t image = (size_t)kevo_run_n_image_tokens(run) * (c->text_layers + 1) *
                           c->text_hidden;
            if (!first) {
                n = states + image;
                first = malloc(n * sizeof *first);
                memcpy(first, kevo_run_hidden(run), states * sizeof *first);
                memcpy(first + states, kevo_run_image_hidden(run), image * sizeof *first);
            } else {
                CHECK(states + image == n &&
                          !memcmp(first, kevo_run_hidden(run), states * sizeof *first) &&
                          !memcmp(first + states, kevo_run_image_hidden(run),
                                  image * sizeof *first),
                      "%d threads: states differ from 1 thread's", threads);
            }
        }
        kevo_answer_clear(&a);
        kevo_run_free(run);
        free(every);
    }
    free(first);
    kevo_model_free(m);
}

// Configs kevo cannot follow are refused naming the key: config.json of a copy of the
// qwen25vl-f32 fixture with one key of a section replaced.
KEVO_TEST(qwen_config_refusals)
{
    static const struct {
        const char *section, *key, *value, *needle;
    } lies[] = {
        {"vision_config", "window_size", "14", "window_size = 14 is smaller"},
        {"vision_config", "fullatt_block_indexes", "[1, 9]", "fullatt_block_indexes[1] = 9"},
        {"vision_config", "hidden_act", "\"gelu\"", "hidden_act"},
        {"vision_config", "out_hidden_size", "48", "merger's output width 48"},
        {"vision_config", "num_heads", "3", "head dimension divisible by 4"},
        {NULL, "rope_scaling", "{\"type\": \"mrope\", \"mrope_section\": [2, 3, 4]}",
         "mrope_section"},
    };
    const char *src = path_of("fixtures", "qwen25vl-f32");
    char cmd[8192], dir[1200], cfg[1300];
    snprintf(dir, sizeof dir, "%s/model", kevo_test_tmpdir());
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s'/*.json '%s' && "
                 "ln -s '%s/model.safetensors' '%s/'", dir, dir, src, dir, src, dir);
        if (!CHECK(system(cmd) == 0, "cannot copy %s", src))
            return;
        size_t len;
        char *text = kevo_test_slurp(cfg, &len);
        cJSON *root = text ? cJSON_Parse(text) : NULL, *value = cJSON_Parse(lies[i].value);
        cJSON *section = lies[i].section ? cJSON_GetObjectItem(root, lies[i].section) : root;
        if (!CHECK(section && value, "%s: no %s", cfg, lies[i].section)) {
            cJSON_Delete(root);
            cJSON_Delete(value);
            free(text);
            continue;
        }
        cJSON_DeleteItemFromObject(section, lies[i].key);
        cJSON_AddItemToObject(section, lies[i].key, value);
        char *out = cJSON_Print(root);
        kevo_test_write(cfg, out, strlen(out));
        kevo_error err;
        kevo_model *m = NULL;
        kevo_status st = kevo_model_load(dir, &m, &err);
        CHECK(st == KEVO_ERR_CONFIG && !m && kevo_test_contains(err.msg, lies[i].needle),
              "%s = %s: %s", lies[i].key, lies[i].value, st ? err.msg : "accepted");
        kevo_model_free(m);
        cJSON_free(out);
        cJSON_Delete(root);
        free(text);
    }
}
