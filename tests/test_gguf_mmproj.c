// test_gguf_mmproj.c — a GGUF model's vision file named apart (kevo run -m TEXT.gguf --mmproj
// MMPROJ.gguf, llama.cpp's convention): the text model and the mmproj file in two folders give
// the run of the same pair in one folder to the bit, run.json records the vision file so that
// kevo analyze reloads the model without -m, kevo batch resumes over the pair (its identity holds
// no path), and misuses are refused naming the file.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/runfolder.h"
#include "test.h"

#define FIXTURE "fixtures/gguf/tiny-f32-f16"
#define QUESTION "What is the color of the flower?"

// The fixture pair laid out three ways under the test's folder: text/llava-text.gguf with
// vision/clip-vision.gguf (names llama.cpp would not pair on its own), and both/ holding
// model.gguf and mmproj.gguf.
typedef struct layout {
    char text[1200], mmproj[1200], both[1200], image[1200];
} layout;

static int copy_file(const char *rel, const char *dst)
{
    size_t len;
    char *data = kevo_test_slurp(kevo_test_data(rel), &len);
    int ok = CHECK(data, "cannot read %s", rel) &&
             CHECK(kevo_test_write(dst, data, len), "cannot write %s", dst);
    free(data);
    return ok;
}

static int make_layout(layout *l)
{
    char path[1300];
    snprintf(l->text, sizeof l->text, "%s/llava-text.gguf", kevo_test_tmp("text"));
    snprintf(l->mmproj, sizeof l->mmproj, "%s/clip-vision.gguf", kevo_test_tmp("vision"));
    snprintf(l->both, sizeof l->both, "%s", kevo_test_tmp("both"));
    snprintf(l->image, sizeof l->image, "%s", kevo_test_data("oracle/engine/tiny-f32/color.png"));
    const char *dirs[] = {kevo_test_tmp("text"), kevo_test_tmp("vision"), l->both};
    for (int i = 0; i < 3; i++)
        if (!CHECK(kevo_mkdirs(dirs[i], NULL) == KEVO_OK, "cannot make %s", dirs[i]))
            return 0;
    int ok = copy_file(FIXTURE "/model.gguf", l->text) &&
             copy_file(FIXTURE "/mmproj.gguf", l->mmproj);
    snprintf(path, sizeof path, "%s/model.gguf", l->both);
    ok = ok && copy_file(FIXTURE "/model.gguf", path);
    snprintf(path, sizeof path, "%s/mmproj.gguf", l->both);
    return ok && copy_file(FIXTURE "/mmproj.gguf", path);
}

static int same_ints(const int *a, const int *b, int n)
{
    return !n || !memcmp(a, b, (size_t)n * sizeof *a);
}

KEVO_TEST(gguf_mmproj_run_equals_the_pair_in_one_folder)
{
    layout l;
    if (!make_layout(&l))
        return;
    const char *apart = kevo_test_tmp("apart.run"), *together = kevo_test_tmp("together.run");
    char *se = NULL;
    int code = kevo_test_cli(NULL, &se, "run -m '%s' --mmproj '%s' -i '%s' -p '" QUESTION "' "
                             "-n 6 -o '%s' -q", l.text, l.mmproj, l.image, apart);
    CHECK(code == 0, "run with --mmproj: exit %d: %s", code, se ? se : "");
    free(se);
    code = kevo_test_cli(NULL, &se, "run -m '%s' -i '%s' -p '" QUESTION "' -n 6 -o '%s' -q",
                         l.both, l.image, together);
    CHECK(code == 0, "run of the folder: exit %d: %s", code, se ? se : "");
    free(se);

    char a_path[1300], b_path[1300];
    snprintf(a_path, sizeof a_path, "%s/hidden.safetensors", apart);
    snprintf(b_path, sizeof b_path, "%s/hidden.safetensors", together);
    size_t na = 0, nb = 0;
    char *ha = kevo_test_slurp(a_path, &na), *hb = kevo_test_slurp(b_path, &nb);
    CHECK(ha && hb && na == nb && !memcmp(ha, hb, na),
          "hidden.safetensors differs (%zu and %zu bytes)", na, nb);
    free(ha);
    free(hb);

    kevo_error err;
    kevo_runfolder *ra = NULL, *rb = NULL;
    if (CHECK_OK(kevo_runfolder_load(apart, &ra, &err), &err) &&
        CHECK_OK(kevo_runfolder_load(together, &rb, &err), &err)) {
        CHECK(ra->n_steps == rb->n_steps &&
                  same_ints(ra->generated_ids, rb->generated_ids, ra->n_steps) &&
                  !strcmp(ra->prompt, rb->prompt) && !strcmp(ra->text, rb->text),
              "the runs' tokens differ");
        CHECK(!strcmp(ra->model.config_fnv1a64, rb->model.config_fnv1a64) &&
                  !strcmp(ra->model.weights_sha256, rb->model.weights_sha256) &&
                  ra->model.weights_sha256[0],
              "the pair's identity depends on where its files are");
        const char *mm = kevo_runfolder_mmproj(ra);
        CHECK(mm && !strcmp(mm, l.mmproj) && !strcmp(kevo_runfolder_model_dir(ra), l.text),
              "run.json records model %s, mmproj %s", kevo_runfolder_model_dir(ra),
              mm ? mm : "(none)");
        CHECK(!kevo_runfolder_mmproj(rb), "a pair found in its folder records no mmproj");
    }
    kevo_runfolder_free(ra);
    kevo_runfolder_free(rb);

    // The run names its model's two files: analyze, diff and info need no -m (no warning that
    // the model's config differs from the run's).
    char *so = NULL;
    code = kevo_test_cli(&so, &se, "analyze '%s' --no-tsne", apart);
    CHECK(code == 0 && !kevo_test_contains(se, "warning"), "analyze without -m: exit %d: %s",
          code, se ? se : "");
    free(so);
    free(se);
    code = kevo_test_cli(&so, &se, "diff '%s' '%s'", apart, together);
    CHECK(code == 0 && kevo_test_contains(so, "both runs generated the same tokens") &&
              kevo_test_contains(so, "relative error at most 0,"),
          "diff: exit %d: %s %s", code, so ? so : "", se ? se : "");
    free(so);
    free(se);
    code = kevo_test_cli(&so, NULL, "info '%s' --mmproj '%s'", l.text, l.mmproj);
    CHECK(code == 0 && kevo_test_contains(so, "mmproj") && kevo_test_contains(so, l.mmproj),
          "info: exit %d: %s", code, so ? so : "");
    free(so);
}

KEVO_TEST(gguf_mmproj_batch_resumes)
{
    layout l;
    if (!make_layout(&l))
        return;
    const char *out = kevo_test_tmp("batch");
    char *so = NULL, *se = NULL;
    const char *given = "batch -m '%s' --mmproj '%s' -p '" QUESTION "' -n 4 -o '%s' '%s' -q";
    int code = kevo_test_cli(&so, &se, given, l.text, l.mmproj, out, l.image);
    CHECK(code == 0 && !kevo_test_contains(so, "[reused]"), "first batch: exit %d: %s %s",
          code, so ? so : "", se ? se : "");
    free(so);
    free(se);
    code = kevo_test_cli(&so, &se, given, l.text, l.mmproj, out, l.image);
    CHECK(code == 0 && kevo_test_contains(so, "[reused]"), "second batch: exit %d: %s %s",
          code, so ? so : "", se ? se : "");
    free(so);
    free(se);
    // The same two files found in one folder are the same model: still reused.
    code = kevo_test_cli(&so, &se, "batch -m '%s' -p '" QUESTION "' -n 4 -o '%s' '%s' -q",
                         l.both, out, l.image);
    CHECK(code == 0 && kevo_test_contains(so, "[reused]"), "batch of the folder: exit %d: %s %s",
          code, so ? so : "", se ? se : "");
    free(so);
    free(se);
}

// Runs `kevo ARGS` and checks the exit status and that stderr holds want.
static void expect_refusal(int want_code, const char *want, const char *args)
{
    char *se = NULL;
    int code = kevo_test_cli(NULL, &se, "%s", args);
    CHECK(code == want_code && kevo_test_contains(se, want),
          "kevo %s: exit %d (want %d), stderr '%s' lacks '%s'", args, code, want_code,
          se ? se : "", want);
    free(se);
}

KEVO_TEST(gguf_mmproj_refusals)
{
    layout l;
    if (!make_layout(&l))
        return;
    char args[6000], missing[1300], moved[1300];
    const char *run = "-i '%s' -p hi -n 2 -o '%s' -q";
    char tail[2600];
    snprintf(tail, sizeof tail, run, l.image, kevo_test_tmp("refused.run"));
    snprintf(missing, sizeof missing, "%s/none.gguf", kevo_test_tmp("vision"));
    snprintf(args, sizeof args, "run -m '%s' --mmproj '%s' %s", l.text, missing, tail);
    expect_refusal(1, missing, args);
    // A text model given as the vision file: named, with what it is.
    snprintf(args, sizeof args, "run -m '%s' --mmproj '%s' %s", l.text, l.text, tail);
    expect_refusal(1, "llava-text.gguf: general.architecture is \"llama\"", args);
    snprintf(args, sizeof args, "run -m tests/fixtures/tiny-f32 --mmproj '%s' %s", l.mmproj,
             tail);
    expect_refusal(2, "tests/fixtures/tiny-f32: a hub model folder", args);
    snprintf(args, sizeof args, "batch -m '%s' --mmproj '%s' -p hi -o '%s' '%s'", l.both,
             l.mmproj, kevo_test_tmp("refused.batch"), l.image);
    expect_refusal(2, "a vision file named apart", args);
    snprintf(args, sizeof args, "analyze '%s' --mmproj '%s'", kevo_test_tmp("refused.run"),
             l.mmproj);
    expect_refusal(2, "--mmproj goes with -m", args);

    // A run whose vision file has moved names it rather than loading another model.
    const char *ran = kevo_test_tmp("moved.run");
    snprintf(args, sizeof args, "run -m '%s' --mmproj '%s' -i '%s' -p hi -n 2 -o '%s' -q",
             l.text, l.mmproj, l.image, ran);
    CHECK(kevo_test_cli(NULL, NULL, "%s", args) == 0, "kevo %s failed", args);
    snprintf(moved, sizeof moved, "%s.moved", l.mmproj);
    CHECK(rename(l.mmproj, moved) == 0, "cannot move %s", l.mmproj);
    snprintf(args, sizeof args, "analyze '%s' --no-tsne", ran);
    expect_refusal(1, "clip-vision.gguf is not there", args);
}
