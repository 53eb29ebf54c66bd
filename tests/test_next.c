// test_next.c — LLaVA-NeXT against the PyTorch re-statement of transformers'
// modeling_llava_next.py and image_processing_llava_next.py (tools/pylib/llava_next_torch.py,
// tools/oracles/oracle_next.py) on tiny fixtures in the llava-hf 1.6 layout: Vicuna (F32, BF16) and Mistral (grouped-query,
// sliding window 24, two feature layers), eleven images whose sizes pick every grid shape.
//
// Tolerances: pixel_values bit-identical (the image processor is Pillow's arithmetic); every
// feature, embedding and hidden-state vector within 1e-4 of the reference relative to its
// largest element (as test_engine.c); generated ids identical.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/runfolder.h"
#include "io/safetensors.h"
#include "test.h"

#define REL_TOL 1e-4

static const char *const fixtures[] = {"next-vicuna-f32", "next-vicuna-bf16", "next-mistral-f32"};
static const char *const cases[] = {"landscape", "portrait", "square", "tiny", "huge", "pinpoint",
                                    "odd", "odd-tall", "odd-pad", "slim", "flat"};

static const kevo_tensor *need(const kevo_safetensors *f, const char *name)
{
    const kevo_tensor *t = kevo_safetensors_find(f, name);
    CHECK(t != NULL, "oracle file lacks '%s'", name);
    return t;
}

static int *ids_of(const kevo_tensor *t)
{
    int *ids = malloc(t->n_elems * sizeof *ids);
    for (size_t i = 0; ids && i < t->n_elems; i++)
        ids[i] = (int)((const int64_t *)t->data)[i];
    return ids;
}

// The request path (image file -> pixel_values -> tiles) against the reference's pixel_values,
// the image alone against its features and packed embeddings, then generation from the slot
// form of the prompt against its ids and every recorded state.
static void compare_case(const kevo_model *m, const char *fixture, const char *dir,
                         const char *name)
{
    char path[2048], label[256], what[320];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
    snprintf(label, sizeof label, "%s/%s", fixture, name);
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(path, &f, &err), &err))
        return;
    const kevo_tensor *px = need(f, "pixel_values"), *size = need(f, "image_size");
    const kevo_tensor *feat = need(f, "vision_features"), *emb = need(f, "image_embeds");
    const kevo_tensor *slot = need(f, "prompt_ids_slot"), *expanded = need(f, "prompt_ids");
    const kevo_tensor *gen = need(f, "generated_ids"), *hid = need(f, "hidden");
    const kevo_tensor *img_hid = need(f, "image_hidden");
    if (!px || !size || !feat || !emb || !slot || !expanded || !gen || !hid || !img_hid) {
        kevo_safetensors_free(f);
        return;
    }
    const kevo_config *c = kevo_model_config(m);
    int h = (int)((const int64_t *)size->data)[0], w = (int)((const int64_t *)size->data)[1];
    kevo_image_input image = {px->data, (int)px->shape[0], w, h};
    int n_tiles = 0, n_tokens = 0;
    if (CHECK_OK(kevo_model_image_tokens(m, w, h, &n_tiles, &n_tokens, &err), &err))
        CHECK(n_tiles == image.n_tiles && n_tokens == emb->shape[0],
              "%s: %d tiles and %d positions, the reference %d and %lld", label, n_tiles,
              n_tokens, image.n_tiles, (long long)emb->shape[0]);

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
        CHECK_ROWS(what, kevo_run_image_features(run), feat->data,
                   (size_t)(feat->shape[0] * feat->shape[1]), (size_t)feat->shape[2], REL_TOL);
        snprintf(what, sizeof what, "%s packed image embeddings", label);
        CHECK_ROWS(what, kevo_run_image_embeds(run), emb->data, (size_t)emb->shape[0],
                   (size_t)emb->shape[1], REL_TOL);
    }
    // Both prompt forms: one slot (kevo's) and the processor's expanded image tokens.
    const kevo_tensor *forms[2] = {slot, expanded};
    for (int form = 0; form < 2; form++) {
        int *ids = ids_of(forms[form]);
        if (!CHECK_OK(kevo_run_generate(run, &image, ids, (int)forms[form]->n_elems, &err),
                      &err)) {
            free(ids);
            continue;
        }
        free(ids);
        int t = kevo_run_n_generated(run), same = t == (int)gen->n_elems;
        for (int i = 0; same && i < t; i++)
            same = kevo_run_generated_ids(run)[i] == ((const int64_t *)gen->data)[i];
        CHECK(same, "%s (%s prompt): generated ids differ (kevo %d tokens, reference %zu)", label,
              form ? "expanded" : "slot", t, (size_t)gen->n_elems);
        if (!same || form)
            continue;
        size_t states = (size_t)c->text_layers + 1;
        snprintf(what, sizeof what, "%s hidden states", label);
        CHECK_ROWS(what, kevo_run_hidden(run), hid->data, (size_t)t * states,
                   (size_t)c->text_hidden, REL_TOL);
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

KEVO_TEST(next_engine_matches_pytorch_reference)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char model_dir[1024], dir[1024];
        snprintf(model_dir, sizeof model_dir, "%sfixtures/%s", kevo_test_data(""), fixtures[i]);
        snprintf(dir, sizeof dir, "%soracle/next/%s", kevo_test_data(""), fixtures[i]);
        kevo_error err;
        kevo_model *m = NULL;
        if (!CHECK_OK(kevo_model_load(model_dir, &m, &err), &err))
            continue;
        CHECK(!strcmp(kevo_model_config(m)->model_type, "llava_next"), "%s: family %s",
              fixtures[i], kevo_model_config(m)->model_type);
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
            compare_case(m, fixtures[i], dir, cases[k]);
        kevo_model_free(m);
    }
}

// The request path end to end on every case: the image file through the family's image
// processor, the checkpoint's own template (chosen from its chat_template.json), the prompt ids
// and the generation equal to the reference's; the run folder maps the unpadded tile grid.
KEVO_TEST(next_request_matches_reference_end_to_end)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char model_dir[1024], dir[1024], path[1100], png[1100];
        snprintf(model_dir, sizeof model_dir, "%sfixtures/%s", kevo_test_data(""), fixtures[i]);
        snprintf(dir, sizeof dir, "%soracle/next/%s", kevo_test_data(""), fixtures[i]);
        kevo_error err;
        kevo_model *m = NULL;
        if (!CHECK_OK(kevo_model_load(model_dir, &m, &err), &err))
            continue;
        const char *want_tpl = strstr(fixtures[i], "mistral") ? "mistral-instruct" : "llava-hf";
        CHECK(!strcmp(kevo_template_name(kevo_model_template(m)), want_tpl), "%s: template %s",
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
            const kevo_tensor *layout = need(f, "layout"), *px = need(f, "pixel_values");
            kevo_pixels *pix = NULL;   // kevo preprocess's path: bit-identical pixel_values
            if (px && CHECK_OK(kevo_pixels_load(model_dir, png, KEVO_IMAGE_MODE_PAD, &pix, &err),
                               &err))
                CHECK(kevo_pixels_n_tiles(pix) == px->shape[0] &&
                          !memcmp(kevo_pixels_values(pix), px->data, px->n_bytes),
                      "%s/%s: pixel_values differ from the reference's", fixtures[i], cases[k]);
            kevo_pixels_free(pix);
            kevo_request q = {png, kevo_safetensors_metadata(f, "question"), KEVO_TEMPLATE_AUTO,
                              KEVO_IMAGE_MODE_PAD};
            kevo_answer a = {0};
            if (slot && gen && layout && q.question &&
                CHECK_OK(kevo_llava_answer(m, run, &q, &a, &err), &err)) {
                int same = a.n_prompt_ids == (int)slot->n_elems;
                for (int j = 0; same && j < a.n_prompt_ids; j++)
                    same = a.prompt_ids[j] == ((const int64_t *)slot->data)[j];
                CHECK(same, "%s/%s: prompt ids differ", fixtures[i], cases[k]);
                int t = kevo_run_n_generated(run);
                same = t <= (int)gen->n_elems;
                for (int j = 0; same && j < t; j++)
                    same = kevo_run_generated_ids(run)[j] == ((const int64_t *)gen->data)[j];
                CHECK(same, "%s/%s: generated ids differ", fixtures[i], cases[k]);
                char out[1100];
                snprintf(out, sizeof out, "%s/%s-%s", kevo_test_tmpdir(), fixtures[i], cases[k]);
                kevo_save_options o = {.store = KEVO_DTYPE_F32};
                kevo_runfolder *rf = NULL;
                const int64_t *lay = layout->data;   // unpadded rows, cols at [4], [5]
                if (CHECK_OK(kevo_llava_save(m, run, &q, &a, &o, out, &err), &err) &&
                    CHECK_OK(kevo_runfolder_load(out, &rf, &err), &err))
                    CHECK(rf->grid_rows == lay[4] && rf->grid_cols == lay[5] &&
                              rf->n_tiles == 1 + lay[2] * lay[3] &&
                              rf->image_tokens == kevo_run_n_image_tokens(run),
                          "%s/%s: run folder grid %d x %d of %d tiles, reference %lld x %lld",
                          fixtures[i], cases[k], rf->grid_rows, rf->grid_cols, rf->n_tiles,
                          (long long)lay[4], (long long)lay[5]);
                kevo_runfolder_free(rf);
            }
            kevo_answer_clear(&a);
            kevo_safetensors_free(f);
        }
        kevo_run_free(run);
        kevo_model_free(m);
    }
}

// A tiled run.json that lies is refused with the key and the position.
KEVO_TEST(next_run_folder_refuses_bad_tiles)
{
    char model_dir[1024], png[1100];
    snprintf(model_dir, sizeof model_dir, "%sfixtures/next-mistral-f32", kevo_test_data(""));
    snprintf(png, sizeof png, "%soracle/next/next-mistral-f32/landscape.png", kevo_test_data(""));
    kevo_error err;
    kevo_model *m = NULL;
    kevo_run *run = NULL;
    kevo_run_params p = kevo_run_default_params();
    p.max_new_tokens = 2;
    kevo_request q = {png, "What is it?", KEVO_TEMPLATE_AUTO, KEVO_IMAGE_MODE_PAD};
    kevo_answer a = {0};
    kevo_save_options o = {.store = KEVO_DTYPE_F32};
    const char *dir = kevo_test_tmp("tiled");
    if (!CHECK_OK(kevo_model_load(model_dir, &m, &err), &err) ||
        !CHECK_OK(kevo_run_create(m, &p, &run, &err), &err) ||
        !CHECK_OK(kevo_llava_answer(m, run, &q, &a, &err), &err) ||
        !CHECK_OK(kevo_llava_save(m, run, &q, &a, &o, dir, &err), &err)) {
        kevo_answer_clear(&a);
        kevo_run_free(run);
        kevo_model_free(m);
        return;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/run.json", dir);
    size_t len;
    char *good = kevo_test_slurp(path, &len);
    static const struct {
        const char *from, *to, *needle;
    } lies[] = {
        {"\"newline\"", "\"bogus!!\"", "is not patch, class or newline"},
        {"\"kind\"", "\"kinx\"", "rows"},
        {"\"tiles\":\t4", "\"tiles\":\t0", "patches.tiles 0 is out of range"},
    };
    for (size_t i = 0; good && i < sizeof lies / sizeof lies[0]; i++) {
        char *text = strdup(good), *at = strstr(text, lies[i].from);
        if (!CHECK(at != NULL, "run.json lacks %s", lies[i].from)) {
            free(text);
            continue;
        }
        memcpy(at, lies[i].to, strlen(lies[i].to));   // the same length
        kevo_test_write(path, text, len);
        kevo_runfolder *rf = NULL;
        kevo_status st = kevo_runfolder_load(dir, &rf, &err);
        CHECK(st != KEVO_OK && kevo_test_contains(err.msg, lies[i].needle) &&
                  kevo_test_contains(err.msg, "run.json"),
              "%s -> %s: %s", lies[i].from, lies[i].to, st ? err.msg : "accepted");
        kevo_runfolder_free(rf);
        free(text);
    }
    free(good);
    kevo_answer_clear(&a);
    kevo_run_free(run);
    kevo_model_free(m);
}

// Which thread computes a value never changes it (docs/engine.md): the tiled path too.
KEVO_TEST(next_same_result_for_any_thread_count)
{
    char model_dir[1024], png[1100];
    snprintf(model_dir, sizeof model_dir, "%sfixtures/next-mistral-f32", kevo_test_data(""));
    snprintf(png, sizeof png, "%soracle/next/next-mistral-f32/huge.png", kevo_test_data(""));
    kevo_error err;
    kevo_model *m = NULL;
    if (!CHECK_OK(kevo_model_load(model_dir, &m, &err), &err))
        return;
    float *first = NULL;
    size_t n = 0;
    for (int threads = 1; threads <= 3; threads++) {
        kevo_run_params p = kevo_run_default_params();
        p.max_new_tokens = 6;
        p.n_threads = threads;
        int *every = NULL;
        CHECK_OK(kevo_image_states_parse("all", kevo_model_config(m)->text_layers, &every,
                                         &p.n_image_states, &err), &err);
        p.image_states = every;
        kevo_run *run = NULL;
        kevo_request q = {png, "Describe it.", KEVO_TEMPLATE_AUTO, KEVO_IMAGE_MODE_PAD};
        kevo_answer a = {0};
        if (CHECK_OK(kevo_run_create(m, &p, &run, &err), &err) &&
            CHECK_OK(kevo_llava_answer(m, run, &q, &a, &err), &err)) {
            const kevo_config *c = kevo_model_config(m);
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
