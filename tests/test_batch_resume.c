// test_batch_resume.c — `kevo batch` bookkeeping that cannot lie (issue 14): inputs that would
// share a run folder are refused before the model loads, and a finished run folder is reused
// only when everything that determines the run matches (model, image bytes, question,
// template, image mode, max new tokens, compute precision, kevo's format); otherwise the image
// is rerun and stderr says why. The SHA-256 behind the image identity is checked against
// coreutils' sha256sum.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "io/runfolder.h"
#include "kernels/gemm.h"
#include "test.h"

#define QUESTION "'What is the color of the flower?'"

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd) == 0;
}

static void copy_file(const char *from, const char *to)
{
    CHECK(sh("cp '%s' '%s'", from, to), "cannot copy %s to %s", from, to);
}

// `sha256sum FILE`'s 64 hex digits (coreutils: the independent reference), or "".
static void sha256sum(const char *path, char out[65])
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (p) {
        if (fscanf(p, "%64s", out) != 1)
            out[0] = '\0';
        pclose(p);
    }
}

static cJSON *load_json(const char *path)
{
    char *text = kevo_test_slurp(path, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(j != NULL, "%s: not JSON", path);
    return j;
}

static void save_json(const char *path, cJSON *j)
{
    char *text = cJSON_Print(j);
    CHECK(text && kevo_test_write(path, text, strlen(text)), "cannot write %s", path);
    free(text);
    cJSON_Delete(j);
}

static const char *json_str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : "";
}

KEVO_TEST(batch_sha256_matches_sha256sum)
{
    // FIPS 180-2 appendix B.1 and B.2 messages, checked against sha256sum rather than against
    // digests typed in here.
    const char *msgs[] = {"", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"};
    char path[1200], got[65], want[65];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/msg%d", kevo_test_tmpdir(), i);
        CHECK(kevo_test_write(path, msgs[i], strlen(msgs[i])), "cannot write %s", path);
        kevo_sha256 s;
        kevo_sha256_init(&s);
        kevo_sha256_update(&s, msgs[i], strlen(msgs[i]));
        kevo_sha256_hex(&s, got);
        sha256sum(path, want);
        CHECK(strcmp(got, want) == 0, "SHA-256 of \"%s\": %s, sha256sum says %s", msgs[i], got,
              want);
    }
    // A million 'a' fed in uneven pieces (block boundaries everywhere), and real image files.
    char *a = malloc(1000000);
    if (!CHECK(a != NULL, "out of memory"))
        return;
    memset(a, 'a', 1000000);
    snprintf(path, sizeof path, "%s/million", kevo_test_tmpdir());
    CHECK(kevo_test_write(path, a, 1000000), "cannot write %s", path);
    kevo_sha256 s;
    kevo_sha256_init(&s);
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 131 + 7)
        kevo_sha256_update(&s, a + off, off + step > 1000000 ? 1000000 - off : step);
    kevo_sha256_hex(&s, got);
    sha256sum(path, want);
    CHECK(strcmp(got, want) == 0, "SHA-256 of a million 'a': %s, sha256sum says %s", got, want);
    free(a);
    const char *files[] = {"tests/data/images/flower3.jpg", "examples/flower/flower02.png"};
    for (int i = 0; i < 2; i++) {
        kevo_error err;
        if (CHECK_OK(kevo_file_sha256(files[i], got, &err), &err)) {
            sha256sum(files[i], want);
            CHECK(strcmp(got, want) == 0, "%s: %s, sha256sum says %s", files[i], got, want);
        }
    }
}

// The shell glob orders a-2.png before a.png; each must get its own run, not the other's.
KEVO_TEST(batch_a2_before_a_get_their_own_runs)
{
    char img[1024], a2[1100], a[1100], out[1100], dir[1200], *so = NULL, *se = NULL;
    snprintf(img, sizeof img, "%s/img", kevo_test_tmpdir());
    mkdir(img, 0755);
    snprintf(a2, sizeof a2, "%s/a-2.png", img);
    snprintf(a, sizeof a, "%s/a.png", img);
    snprintf(out, sizeof out, "%s/out", kevo_test_tmpdir());
    copy_file("tests/data/images/animal11-small.png", a2);
    copy_file(kevo_test_data("oracle/engine/tiny-f32/color.png"), a);
    int code = kevo_test_cli(&so, &se, "batch -q -m tests/fixtures/tiny-f32 -p " QUESTION
                             " -n 3 -o '%s' '%s' '%s'", out, a2, a);
    CHECK(code == 0 && !kevo_test_contains(so, "already done") &&
          !kevo_test_contains(so, "reused"), "exit %d, stdout: %s\nstderr: %s", code,
          so ? so : "", se ? se : "");
    const char *names[] = {"a-2", "a"}, *images[] = {a2, a};
    for (int i = 0; i < 2; i++) {
        snprintf(dir, sizeof dir, "%s/%s", out, names[i]);
        kevo_runfolder *rf = NULL;
        kevo_error err;
        if (CHECK_OK(kevo_runfolder_load(dir, &rf, &err), &err))
            CHECK(strcmp(rf->image_path, images[i]) == 0, "%s holds the run of %s, not %s", dir,
                  rf->image_path, images[i]);
        kevo_runfolder_free(rf);
    }
    free(so);
    free(se);
}

// a.png and a.jpg, d1/b.png and d2/b.png: refused before the model loads, every collision named.
KEVO_TEST(batch_refuses_inputs_sharing_a_run_folder)
{
    char t[1024], out[1100], *so = NULL, *se = NULL;
    snprintf(t, sizeof t, "%s", kevo_test_tmpdir());
    CHECK(sh("mkdir -p '%s/d1' '%s/d2'", t, t), "mkdir");
    char p[4][1100];
    snprintf(p[0], sizeof p[0], "%s/a.png", t);
    snprintf(p[1], sizeof p[1], "%s/a.jpg", t);
    snprintf(p[2], sizeof p[2], "%s/d1/b.png", t);
    snprintf(p[3], sizeof p[3], "%s/d2/b.png", t);
    copy_file(kevo_test_data("oracle/engine/tiny-f32/color.png"), p[0]);
    copy_file("tests/data/images/flower3.jpg", p[1]);
    copy_file(kevo_test_data("oracle/engine/tiny-f32/color.png"), p[2]);
    copy_file("tests/data/images/animal11-small.png", p[3]);
    snprintf(out, sizeof out, "%s/out", t);
    // A model folder that does not exist: the refusal must come before any loading.
    int code = kevo_test_cli(&so, &se, "batch -q -m '%s/no-model' -p " QUESTION " -o '%s' '%s' "
                             "'%s' '%s' '%s'", t, out, p[0], p[1], p[2], p[3]);
    CHECK(code == 2, "colliding names must be a usage error (exit %d)", code);
    for (int i = 0; i < 4; i++)
        CHECK(kevo_test_contains(se, p[i]), "stderr does not name %s: %s", p[i], se ? se : "");
    CHECK(kevo_test_contains(se, "/out/a") && kevo_test_contains(se, "/out/b"),
          "stderr names the shared folders: %s", se ? se : "");
    struct stat st;
    CHECK(stat(out, &st) != 0, "nothing may be written when the batch is refused");
    free(so);
    free(se);
    // The same file twice is the same collision.
    code = kevo_test_cli(&so, &se, "batch -q -m tests/fixtures/tiny-f32 -p hi -o '%s' '%s' '%s'",
                         out, p[0], p[0]);
    CHECK(code == 2 && kevo_test_contains(se, "/out/a"), "same file twice: exit %d: %s", code,
          se ? se : "");
    free(so);
    free(se);
    // With --analyze the runs' map goes to OUT/tsne, so an image named tsne cannot be a run.
    snprintf(p[0], sizeof p[0], "%s/tsne.png", t);
    copy_file(kevo_test_data("oracle/engine/tiny-f32/color.png"), p[0]);
    code = kevo_test_cli(&so, &se, "batch -q --analyze -m tests/fixtures/tiny-f32 -p hi -o '%s' "
                         "'%s'", out, p[0]);
    CHECK(code == 2 && kevo_test_contains(se, "tsne"), "tsne.png with --analyze: exit %d: %s",
          code, se ? se : "");
    free(so);
    free(se);
}

typedef struct resume_case {
    char model[1100], image[1100], out[1100], run_json[1200], csv[1200];
} resume_case;

// Runs the batch once more with EXTRA options; checks the image was rerun (stderr names why,
// the summary says "rerun") or reused (and then the run folder is untouched).
static void again(const resume_case *c, const char *extra, const char *why)
{
    char *so = NULL, *se = NULL;
    struct stat before, after;
    stat(c->run_json, &before);
    int code = kevo_test_cli(&so, &se, "batch -q -m '%s' -p " QUESTION " -n 3 -o '%s' %s '%s'",
                             c->model, c->out, extra, c->image);
    stat(c->run_json, &after);
    char *csv = kevo_test_slurp(c->csv, NULL);
    if (why) {
        CHECK(code == 0 && kevo_test_contains(se, "rerun: ") && kevo_test_contains(se, why) &&
              kevo_test_contains(csv, "\"rerun") && kevo_test_contains(so, "[rerun"),
              "[%s] expected a rerun because %s; exit %d\nstdout: %s\nstderr: %s\ncsv: %s",
              extra, why, code, so ? so : "", se ? se : "", csv ? csv : "");
        CHECK(before.st_ino != after.st_ino, "[%s] the run folder was not rewritten", extra);
    } else {
        CHECK(code == 0 && kevo_test_contains(so, "[reused]") &&
              kevo_test_contains(csv, "\"reused\"") && !kevo_test_contains(se, "rerun"),
              "[%s] expected a reuse; exit %d\nstdout: %s\nstderr: %s\ncsv: %s", extra, code,
              so ? so : "", se ? se : "", csv ? csv : "");
        CHECK(before.st_ino == after.st_ino && before.st_mtime == after.st_mtime,
              "[%s] a reused run folder must not be rewritten", extra);
    }
    free(csv);
    free(so);
    free(se);
}

// Edits the run folder's run.json: sets (or with value NULL removes) obj.key.
static void edit_run(const resume_case *c, const char *obj, const char *key, const char *value)
{
    cJSON *j = load_json(c->run_json);
    if (!j)
        return;
    cJSON *o = obj ? cJSON_GetObjectItemCaseSensitive(j, obj) : j;
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    if (value)
        cJSON_AddStringToObject(o, key, value);
    save_json(c->run_json, j);
}

// Every byte of every tensor changed, headers and sizes kept: a retrained checkpoint.
static void retrain(const char *path)
{
    size_t len;
    unsigned char *b = (unsigned char *)kevo_test_slurp(path, &len);
    if (!CHECK(b && len > 8, "%s unreadable", path))
        return;
    unsigned long long n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    for (size_t i = 8 + n; i < len; i++)
        b[i] ^= 0x01;
    CHECK(kevo_test_write(path, b, len), "cannot write %s", path);
    free(b);
}

KEVO_TEST(batch_resume_reuses_only_an_identical_run)
{
    resume_case c;
    const char *t = kevo_test_tmpdir();
    snprintf(c.model, sizeof c.model, "%s/model", t);
    snprintf(c.image, sizeof c.image, "%s/x.png", t);
    snprintf(c.out, sizeof c.out, "%s/out", t);
    snprintf(c.run_json, sizeof c.run_json, "%s/x/run.json", c.out);
    snprintf(c.csv, sizeof c.csv, "%s/summary.csv", c.out);
    CHECK(sh("cp -r tests/fixtures/tiny-f32 '%s'%s", c.model, ""), "cannot copy the model");
    copy_file(kevo_test_data("oracle/engine/tiny-f32/color.png"), c.image);
    char *so = NULL, *se = NULL;
    int code = kevo_test_cli(&so, &se, "batch -q -m '%s' -p " QUESTION " -n 3 -o '%s' '%s'",
                             c.model, c.out, c.image);
    CHECK(code == 0, "first batch: exit %d: %s", code, se ? se : "");
    free(so);
    free(se);

    again(&c, "", NULL);
    // The identity is the model's content, not its path.
    char moved[1100];
    snprintf(moved, sizeof moved, "%s/model-moved", t);
    CHECK(rename(c.model, moved) == 0, "cannot move the model");
    snprintf(c.model, sizeof c.model, "%s", moved);
    again(&c, "", NULL);
    again(&c, "--threads 1", NULL);   // results are identical for any thread count

    copy_file("tests/data/images/animal11-small.png", c.image);
    again(&c, "", "the image changed");
    cJSON *j = load_json(c.run_json);
    char want[65];
    sha256sum(c.image, want);
    CHECK(j && strcmp(json_str(j, "image", "sha256"), want) == 0, "image.sha256 %s, want %s",
          j ? json_str(j, "image", "sha256") : "?", want);
    cJSON_Delete(j);
    again(&c, "", NULL);

    again(&c, "-n 4", "max new tokens");
    again(&c, "", "max new tokens");
    again(&c, "--template llava-hf", "template");
    again(&c, "", "template");
    again(&c, "--image-mode crop", "image mode");
    again(&c, "", "image mode");
    again(&c, "--image-states", "image states");
    again(&c, "--image-states=all", NULL);   // the same indices however they are written
    again(&c, "--image-states 0,2", "image states");
    again(&c, "--image-states 0,2 --store f16", "stored as F32, now as F16");
    again(&c, "--image-states 0,2 --store f16", NULL);
    again(&c, "", "image states");
    edit_run(&c, "options", "compute", "bf16");
    again(&c, "", "compute precision");
    if (kevo_gemm_available(KEVO_COMPUTE_BF16)) {   // else kevo refuses --compute bf16
        again(&c, "--compute bf16", "compute precision");
        j = load_json(c.run_json);
        CHECK(j && strcmp(json_str(j, "options", "compute"), "bf16") == 0,
              "a bf16 run records options.compute \"bf16\"");
        cJSON_Delete(j);
        again(&c, "--compute bf16", NULL);
        again(&c, "", "compute precision");
    }
    edit_run(&c, NULL, "question", "What is this?");
    again(&c, "", "question");
    edit_run(&c, NULL, "kevo_version", "0.0.1");
    again(&c, "", "kevo 0.0.1");

    char path[1300];
    snprintf(path, sizeof path, "%s/config.json", c.model);
    CHECK(sh("printf '\\n' >> '%s'%s", path, ""), "cannot edit %s", path);
    again(&c, "", "config.json");
    snprintf(path, sizeof path, "%s/tokenizer_config.json", c.model);
    CHECK(sh("printf '\\n' >> '%s'%s", path, ""), "cannot edit %s", path);
    again(&c, "", "tokenizer");
    for (int i = 1; i <= 2; i++) {
        snprintf(path, sizeof path, "%s/model-0000%d-of-00002.safetensors", c.model, i);
        retrain(path);
    }
    again(&c, "", "weights");
    again(&c, "", NULL);

    // A run folder written before the identity was recorded is not trusted.
    edit_run(&c, NULL, "format_version", NULL);
    edit_run(&c, "image", "sha256", NULL);
    again(&c, "", "older kevo");
    again(&c, "", NULL);
}

// `kevo run` records the same identity as `kevo batch`, except the compute precision, which
// kevo_llava_save (src/model/llava.c) does not pass on yet: kevo batch then reruns the image
// rather than trust the folder.
KEVO_TEST(batch_run_json_records_identity)
{
    char run_dir[1100], batch_out[1100], path[1200], want[65], *se = NULL;
    const char *image = kevo_test_data("oracle/engine/tiny-f32/color.png");
    char img[1100];
    snprintf(img, sizeof img, "%s", image);
    snprintf(run_dir, sizeof run_dir, "%s/run", kevo_test_tmpdir());
    snprintf(batch_out, sizeof batch_out, "%s/batch", kevo_test_tmpdir());
    int code = kevo_test_cli(NULL, &se, "run -q -m tests/fixtures/tiny-f32 -i '%s' -p " QUESTION
                             " -n 2 -o '%s'", img, run_dir);
    CHECK(code == 0, "kevo run: exit %d: %s", code, se ? se : "");
    free(se);
    code = kevo_test_cli(NULL, &se, "batch -q -m tests/fixtures/tiny-f32 -p " QUESTION
                         " -n 2 -o '%s' '%s'", batch_out, img);
    CHECK(code == 0, "kevo batch: exit %d: %s", code, se ? se : "");
    free(se);
    snprintf(path, sizeof path, "%s/run.json", run_dir);
    cJSON *r = load_json(path);
    snprintf(path, sizeof path, "%s/color/run.json", batch_out);
    cJSON *b = load_json(path);
    sha256sum(img, want);
    if (r && b) {
        const cJSON *fv = cJSON_GetObjectItemCaseSensitive(r, "format_version");
        CHECK(cJSON_IsNumber(fv) && fv->valueint == KEVO_RUN_FORMAT_VERSION,
              "run.json format_version");
        CHECK(strcmp(json_str(r, "image", "sha256"), want) == 0, "kevo run image.sha256 %s, "
              "want %s", json_str(r, "image", "sha256"), want);
        const char *same[][2] = {{"image", "sha256"}, {"model", "weights_sha256"},
                                 {"model", "files_sha256"}, {"model", "config_fnv1a64"}};
        for (int i = 0; i < 4; i++)
            CHECK(strcmp(json_str(r, same[i][0], same[i][1]),
                         json_str(b, same[i][0], same[i][1])) == 0 &&
                  strlen(json_str(b, same[i][0], same[i][1])) > 0,
                  "%s.%s: kevo run wrote \"%s\", kevo batch \"%s\"", same[i][0], same[i][1],
                  json_str(r, same[i][0], same[i][1]), json_str(b, same[i][0], same[i][1]));
        CHECK(strlen(json_str(b, "model", "weights_sha256")) == 64, "weights_sha256 is 64 hex");
        CHECK(strcmp(json_str(b, "options", "compute"), "f32") == 0, "batch options.compute");
    }
    cJSON_Delete(r);
    cJSON_Delete(b);
    // A batch over kevo run's folder reuses it only when the folder says how it was computed.
    char *so = NULL, batch_dir[1200];
    snprintf(path, sizeof path, "%s/run.json", run_dir);
    cJSON *j = load_json(path);
    int has_compute = j && json_str(j, "options", "compute")[0];
    cJSON_Delete(j);
    snprintf(batch_dir, sizeof batch_dir, "%s/color", batch_out);
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", batch_dir, run_dir, batch_dir);
    CHECK(system(cmd) == 0, "%s failed", cmd);
    code = kevo_test_cli(&so, &se, "batch -q -m tests/fixtures/tiny-f32 -p " QUESTION
                         " -n 2 -o '%s' '%s'", batch_out, img);
    CHECK(code == 0 && (has_compute ? kevo_test_contains(so, "[reused]")
                                    : kevo_test_contains(se, "rerun: the run does not record its "
                                                         "compute precision")),
          "batch over kevo run's folder: exit %d\nstdout: %s\nstderr: %s", code, so ? so : "",
          se ? se : "");
    free(so);
    free(se);
}

// The model's identity is read without blocking: a FIFO named like a weights file is refused
// (it hung the identity read of kevo run and kevo batch).
KEVO_TEST(batch_identity_refuses_a_fifo_weights_file)
{
    char dir[1200], path[1300];
    snprintf(dir, sizeof dir, "%s", kevo_test_tmp("model"));
    CHECK(mkdir(dir, 0777) == 0, "mkdir %s", dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    kevo_test_write(path, "{}", 2);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(mkfifo(path, 0666) == 0, "mkfifo %s", path);
    alarm(10);   // the old code blocked in open() here
    kevo_model_identity id;
    kevo_error err;
    kevo_status st = kevo_model_identity_read(dir, &id, &err);
    alarm(0);
    CHECK(st != KEVO_OK && kevo_test_contains(err.msg, "model.safetensors") &&
              kevo_test_contains(err.msg, "FIFO"),
          "status %d: %s", st, err.msg);
}
