// test_runfolder.c — writing and reading run folders, and the broken ones a reader must refuse.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "io/runfolder.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "test.h"

// A record around synthetic hidden states of the tiny-f32 fixture's shape.
typedef struct fake_run {
    kevo_model *model;
    float *hidden;
    int ids[3];
    const char *pieces[3];
    int prompt[4];
    kevo_run_record rec;
} fake_run;

static int fake_run_init(fake_run *f)
{
    kevo_error err;
    memset(f, 0, sizeof *f);
    if (!CHECK_OK(kevo_model_load(kevo_test_data("fixtures/tiny-f32"), &f->model, &err), &err))
        return 0;
    const kevo_config *c = kevo_model_config(f->model);
    size_t n = 3 * (size_t)(c->text_layers + 1) * c->text_hidden;
    f->hidden = malloc(n * sizeof *f->hidden);
    for (size_t i = 0; i < n; i++)
        f->hidden[i] = (float)sin((double)i) * 3.0f;
    int ids[3] = {5, 17, 2}, prompt[4] = {1, 9, KEVO_IMAGE_SLOT, 13};
    memcpy(f->ids, ids, sizeof ids);
    memcpy(f->prompt, prompt, sizeof prompt);
    f->pieces[0] = "▁The";
    f->pieces[1] = "\"quoted\"";
    f->pieces[2] = "</s>";
    f->rec = (kevo_run_record){
        .model_dir = kevo_test_data("fixtures/tiny-f32"), .config = c, .weights_dtype = "F32",
        .image_path = "x.png", .image_width = 7, .image_height = 5, .image_mode = "pad",
        .question = "What?", .template_name = "llava_v1", .prompt = "USER: <image>\nWhat?",
        .prompt_ids = f->prompt, .n_prompt_ids = 4, .image_position = 2, .n_positions = 19,
        .generated_ids = f->ids, .pieces = f->pieces, .n_generated = 3, .text = "The",
        .stop = KEVO_STOP_EOS, .max_new_tokens = 8, .n_threads = 2, .hidden = f->hidden,
        .store = KEVO_DTYPE_F32,
    };
    return 1;
}

static void fake_run_free(fake_run *f)
{
    kevo_model_free(f->model);
    free(f->hidden);
}

static const char *in_tmp(const char *name)
{
    static char path[4][2048];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", kevo_test_tmpdir(), name);
    return p;
}

KEVO_TEST(runfolder_roundtrip)
{
    fake_run f;
    if (!fake_run_init(&f))
        return;
    kevo_error err;
    const char *dir = in_tmp("runs/one");
    if (!CHECK_OK(kevo_runfolder_write(dir, &f.rec, &err), &err))
        goto done;
    kevo_runfolder *rf = NULL;
    if (CHECK_OK(kevo_runfolder_load(dir, &rf, &err), &err)) {
        const kevo_config *c = kevo_model_config(f.model);
        CHECK(rf->n_steps == 3 && rf->n_states == c->text_layers + 1 && rf->dim == c->text_hidden,
              "shape %d %d %d", rf->n_steps, rf->n_states, rf->dim);
        CHECK(memcmp(rf->hidden, f.hidden, 3 * (size_t)rf->n_states * rf->dim * 4) == 0,
              "hidden states changed on the way through the file");
        CHECK(rf->generated_ids[1] == 17 && strcmp(rf->pieces[0], "▁The") == 0 &&
              strcmp(rf->pieces[1], "\"quoted\"") == 0, "ids/pieces");
        CHECK(strcmp(rf->question, "What?") == 0 && strcmp(rf->stop, "eos") == 0 &&
              strcmp(rf->template_name, "llava_v1") == 0, "strings");
        char digest[17];
        kevo_model_source src = {.path = kevo_test_data("fixtures/tiny-f32")};
        CHECK_OK(kevo_config_digest(&src, digest, &err), &err);
        CHECK(strcmp(rf->config_fnv1a64, digest) == 0, "digest %s vs %s", rf->config_fnv1a64,
              digest);
    }
    kevo_runfolder_free(rf);

    // Writing again replaces the run whole; no temporary folders are left behind.
    f.rec.text = "second";
    CHECK_OK(kevo_runfolder_write(dir, &f.rec, &err), &err);
    rf = NULL;
    if (CHECK_OK(kevo_runfolder_load(dir, &rf, &err), &err))
        CHECK(strcmp(rf->text, "second") == 0, "not replaced");
    kevo_runfolder_free(rf);
    char *ls = NULL;
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "ls -a '%s'", in_tmp("runs"));
    FILE *p = popen(cmd, "r");
    char line[256];
    int entries = 0;
    while (p && fgets(line, sizeof line, p))
        entries += line[0] != '.';
    if (p)
        pclose(p);
    CHECK(entries == 1, "%d entries beside the run folder (temporary folders left?)", entries);
    free(ls);

    // A folder that is not a run is never replaced.
    const char *other = in_tmp("precious");
    kevo_mkdirs(other, &err);
    kevo_test_write(in_tmp("precious/notes.txt"), "x", 1);
    kevo_status st = kevo_runfolder_write(other, &f.rec, &err);
    CHECK(st == KEVO_ERR_ARG && kevo_test_contains(err.msg, "not a kevo run folder") &&
          kevo_file_exists(in_tmp("precious/notes.txt")), "replaced a foreign folder: %s",
          err.msg);

    // Nor one that merely holds a file named run.json.
    const char *foreign = in_tmp("foreign");
    kevo_mkdirs(foreign, &err);
    kevo_test_write(in_tmp("foreign/run.json"), "{\"format\": \"mine\"}", 19);
    st = kevo_runfolder_write(foreign, &f.rec, &err);
    char *kept = kevo_test_slurp(in_tmp("foreign/run.json"), NULL);
    CHECK(st == KEVO_ERR_ARG && kept && kevo_test_contains(kept, "mine"),
          "replaced a folder with a foreign run.json: %s", err.msg);
    free(kept);

    // A run folder with a file of the user's in it is refused, the file and the run kept.
    char one[2048];
    snprintf(one, sizeof one, "%s", in_tmp("runs/one"));   // in_tmp reuses its buffers
    kevo_test_write(in_tmp("runs/one/notes.txt"), "layer 3!", 8);
    f.rec.text = "third";
    st = kevo_runfolder_write(one, &f.rec, &err);
    rf = NULL;
    CHECK(st == KEVO_ERR_ARG && kevo_test_contains(err.msg, "notes.txt") &&
          kevo_file_exists(in_tmp("runs/one/notes.txt")), "notes.txt: %s", err.msg);
    if (CHECK_OK(kevo_runfolder_load(one, &rf, &err), &err))
        CHECK(strcmp(rf->text, "second") == 0, "the run was replaced anyway");
    kevo_runfolder_free(rf);
done:
    fake_run_free(&f);
}

KEVO_TEST(runfolder_reads_python_reference)
{
    // tools/pylib/llava_torch.py writes run folders independently of kevo's writer.
    kevo_error err;
    kevo_runfolder *rf = NULL;
    if (!CHECK_OK(kevo_runfolder_load(kevo_test_data("oracle/engine/tiny-f32/color.run"), &rf,
                                      &err), &err))
        return;
    kevo_safetensors *f = NULL;
    if (CHECK_OK(kevo_safetensors_open(kevo_test_data("oracle/engine/tiny-f32/color.safetensors"),
                                       &f, &err), &err)) {
        const kevo_tensor *h = kevo_safetensors_find(f, "hidden");
        CHECK(h && h->n_elems == (uint64_t)rf->n_steps * rf->n_states * rf->dim &&
              memcmp(h->data, rf->hidden, h->n_bytes) == 0, "hidden differs from the oracle's");
    }
    CHECK(strcmp(rf->question, "What is the color of the flower?") == 0, "question '%s'",
          rf->question);
    kevo_safetensors_free(f);
    kevo_runfolder_free(rf);
}

// Writes a good run, applies `breakage` to it, and expects loading to fail with `needle`.
static void expect_broken(const char *label, void (*breakage)(const char *dir), const char *needle)
{
    fake_run f;
    if (!fake_run_init(&f))
        return;
    kevo_error err;
    char name[64];
    snprintf(name, sizeof name, "broken-%s", label);
    const char *dir = in_tmp(name);
    if (CHECK_OK(kevo_runfolder_write(dir, &f.rec, &err), &err)) {
        breakage(dir);
        kevo_runfolder *rf = NULL;
        kevo_status st = kevo_runfolder_load(dir, &rf, &err);
        CHECK(st != KEVO_OK && rf == NULL, "%s: accepted", label);
        CHECK(kevo_test_contains(err.msg, needle), "%s: message '%s' lacks '%s'", label, err.msg,
              needle);
    }
    fake_run_free(&f);
}

static void truncate_hidden(const char *dir)
{
    char path[2100];
    snprintf(path, sizeof path, "%s/hidden.safetensors", dir);
    size_t len;
    char *bytes = kevo_test_slurp(path, &len);
    kevo_test_write(path, bytes, len - 100);
    free(bytes);
}

static void poison_hidden(const char *dir)
{
    char path[2100];
    snprintf(path, sizeof path, "%s/hidden.safetensors", dir);
    size_t len;
    char *bytes = kevo_test_slurp(path, &len);
    float nan = NAN;
    memcpy(bytes + len - 8, &nan, 4);   // the next-to-last value of the last step
    kevo_test_write(path, bytes, len);
    free(bytes);
}

static void drop_run_json(const char *dir)
{
    char path[2100];
    snprintf(path, sizeof path, "%s/run.json", dir);
    remove(path);
}

static void edit_run_json(const char *dir, const char *from, const char *to)
{
    char path[2100];
    snprintf(path, sizeof path, "%s/run.json", dir);
    char *text = kevo_test_slurp(path, NULL), *at = text ? strstr(text, from) : NULL;
    if (!at)
        return;
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
    free(text);
}

// cJSON_Print writes "key":<TAB>value.
static void other_model(const char *dir)
{
    edit_run_json(dir, "\"text_hidden\":\t64", "\"text_hidden\":\t65");
}

static void bad_json(const char *dir)
{
    edit_run_json(dir, "\"format\"", "\"format");
}

static void bad_format(const char *dir)
{
    edit_run_json(dir, "\"kevo-run\"", "\"other\"");
}

KEVO_TEST(runfolder_refuses_broken_folders)
{
    expect_broken("truncated", truncate_hidden, "exceed the data section");
    expect_broken("nan", poison_hidden, "is not finite");
    expect_broken("nan-location", poison_hidden, "step 2, layer 4, element 62");
    expect_broken("no-run-json", drop_run_json, "no run.json");
    expect_broken("shape", other_model, "but run.json describes [3, 5, 65]");
    expect_broken("json", bad_json, "invalid JSON at line");
    expect_broken("format", bad_format, "is not \"kevo-run\"");
}
