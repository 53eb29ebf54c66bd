// test_batch_manifest.c — `kevo batch --manifest`: the manifest parser (JSON Lines, CSV, errors
// with their lines), item.json, --states / --no-hidden, shards into one folder equal to the
// unsharded batch, a killed shard resumed, and the bytes an item takes against the files.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/runfolder.h"
#include "test.h"

#define DEMO "models/demo"
#define QUESTION "'What is the color of the flower?'"

static const char *write_text(const char *name, const char *text)
{
    const char *path = kevo_test_tmp(name);
    kevo_test_write(path, text, strlen(text));
    return path;
}

// The message of loading text as the manifest `name`, "" when it loads.
static char *load_error(const char *name, const char *text, const char *question)
{
    static char msg[KEVO_ERROR_MAX];
    kevo_manifest *m = NULL;
    kevo_error err;
    msg[0] = '\0';
    if (kevo_manifest_load(write_text(name, text), question, &m, &err) != KEVO_OK)
        snprintf(msg, sizeof msg, "%s", err.msg);
    kevo_manifest_free(m);
    return msg;
}

KEVO_TEST(manifest_reads_jsonl_and_csv)
{
    const char *jl = write_text("m.jsonl",
                                "{\"id\": \"a\", \"image\": \"x/a.png\", "
                                "\"references\": [\"red\"]}\n"
                                "\n"
                                "{\"id\": \"b\", \"image\": \"/abs/b.png\", "
                                "\"question\": \"Why?\"}\r\n");
    kevo_manifest *m = NULL;
    kevo_error err;
    if (CHECK_OK(kevo_manifest_load(jl, "Q?", &m, &err), &err)) {
        CHECK(kevo_manifest_n_items(m) == 2, "%d items", kevo_manifest_n_items(m));
        kevo_manifest_item a = kevo_manifest_item_at(m, 0), b = kevo_manifest_item_at(m, 1);
        char want[1200];
        snprintf(want, sizeof want, "%s/x/a.png", kevo_test_tmpdir());
        CHECK(!strcmp(a.id, "a") && !strcmp(a.image, "x/a.png") && !strcmp(a.image_path, want) &&
              !strcmp(a.question, "Q?") && a.n_references == 1 &&
              !strcmp(a.references[0], "red") && a.line == 1, "a: %s %s %s %d", a.id,
              a.image_path, a.question, a.line);
        CHECK(!strcmp(b.image_path, "/abs/b.png") && !strcmp(b.question, "Why?") &&
              b.n_references == 0 && b.line == 3, "b: %s %s %d", b.image_path, b.question, b.line);
    }
    kevo_manifest_free(m);
    const char *csv = write_text("m.csv", "id,image,question,references\n"
                                          "a,a.png,,red|dark red\n"
                                          "\"b,1\",b.png,\"Say \"\"hi\"\"\nplease\",\n"
                                          "c,c.png,Q3,\n");
    if (CHECK_OK(kevo_manifest_load(csv, "Q?", &m, &err), &err)) {
        kevo_manifest_item a = kevo_manifest_item_at(m, 0), b = kevo_manifest_item_at(m, 1);
        kevo_manifest_item c = kevo_manifest_item_at(m, 2);
        CHECK(kevo_manifest_n_items(m) == 3 && a.n_references == 2 &&
              !strcmp(a.references[1], "dark red") && !strcmp(a.question, "Q?"),
              "a: %d refs, %s", a.n_references, a.question);
        CHECK(!strcmp(b.id, "b,1") && !strcmp(b.question, "Say \"hi\"\nplease") && b.line == 3 &&
              b.n_references == 0, "b: [%s] [%s] line %d", b.id, b.question, b.line);
        CHECK(c.line == 5 && !strcmp(c.question, "Q3"), "c: line %d", c.line);
    }
    kevo_manifest_free(m);
    // A number as the id (COCO's image ids), a byte order mark.
    if (CHECK_OK(kevo_manifest_load(write_text("n.jsonl", "\xef\xbb\xbf{\"id\": 139, \"image\": "
                                               "\"a.png\"}\n"), "Q", &m, &err), &err))
        CHECK(!strcmp(kevo_manifest_item_at(m, 0).id, "139"), "id %s",
              kevo_manifest_item_at(m, 0).id);
    kevo_manifest_free(m);
    // No extension: read by content.
    if (CHECK_OK(kevo_manifest_load(write_text("list", "id,image\nz,z.png\n"), "Q", &m, &err),
                 &err))
        CHECK(kevo_manifest_n_items(m) == 1, "CSV by content");
    kevo_manifest_free(m);
}

KEVO_TEST(manifest_errors_name_file_line_and_key)
{
    struct {
        const char *name, *text, *want1, *want2;
    } cases[] = {
        {"e1.jsonl", "{\"id\": \"a\", \"image\": \"a.png\"}\n{\"id\": \"b\", \"image\": }\n",
         "e1.jsonl:2:", "byte column 22"},
        {"e2.jsonl",
         "{\"id\": \"a\", \"image\": \"a.png\"}\n\n{\"id\": \"a\", \"image\": \"b.png\"}\n",
         "e2.jsonl:3:", "also the id of line 1"},
        {"e3.jsonl", "{\"id\": \"a/b\", \"image\": \"a.png\"}\n", "e3.jsonl:1:", "'/'"},
        {"e4.jsonl", "{\"id\": \"..\", \"image\": \"a.png\"}\n", "e4.jsonl:1:", "not a folder"},
        {"e5.jsonl", "{\"id\": \"\", \"image\": \"a.png\"}\n", "e5.jsonl:1:", "empty"},
        {"e6.jsonl", "{\"id\": \"a\\u0001\", \"image\": \"a.png\"}\n", "e6.jsonl:1:", "control"},
        {"e7.jsonl", "{\"id\": \".kevo-tmp-1-a\", \"image\": \"a.png\"}\n", "e7.jsonl:1:", "'.'"},
        {"e8.jsonl", "{\"id\": \"a\", \"image\": \"a.png\", \"reference\": [\"x\"]}\n",
         "e8.jsonl:1:", "unknown key \"reference\""},
        {"e9.jsonl", "{\"id\": \"a\", \"image\": \"a.png\", \"references\": \"x\"}\n",
         "e9.jsonl:1:",
         "\"references\" must be a list"},
        {"e10.jsonl", "{\"id\": 3.5, \"image\": \"a.png\"}\n", "e10.jsonl:1:", "\"id\" must be"},
        {"e11.jsonl", "{\"id\": \"a\"}\n", "e11.jsonl:1:", "no \"image\""},
        {"e12.jsonl", "{\"id\": \"a\", \"image\": \"a.png\"}\n", "e12.jsonl:1:", "no -p PROMPT"},
        {"e13.csv", "id,image\na,a.png\nb\n", "e13.csv:3:", "1 fields where the header has 2"},
        {"e14.csv", "id,picture\n", "e14.csv:1:", "unknown column \"picture\""},
        {"e15.csv", "id,image\na,a.png\n\"b,b.png\n", "e15.csv:3:", "not closed"},
        {"e16.csv", "id,image,references\na,a.png,x||y\n", "e16.csv:2:", "empty reference"},
        {"e17.csv", "id,image\nx,a.png\ny,b.png\nx,c.png\n", "e17.csv:4:", "line 2"},
        {"e18.jsonl", "", "e18.jsonl", "no items"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *q = i == 11 ? NULL : "Q?";
        const char *msg = load_error(cases[i].name, cases[i].text, q);
        CHECK(kevo_test_contains(msg, cases[i].want1) && kevo_test_contains(msg, cases[i].want2),
              "%s: \"%s\" should name %s and %s", cases[i].name, msg, cases[i].want1,
              cases[i].want2);
    }
}

// A manifest of n flower images (ids fNN) in the test folder, the images given by absolute
// path; references "red" for each.
static const char *flower_manifest(const char *name, int n)
{
    static char path[1100];
    char cwd[1024], line[2400], *text = calloc(1, (size_t)n * sizeof line + 1);
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    for (int i = 1; i <= n; i++) {
        snprintf(line, sizeof line, "{\"id\": \"f%02d\", \"image\": "
                 "\"%s/examples/flower/flower%02d.png\", \"references\": [\"red\"], "
                 "\"question\": \"What is the color of the flower?\"}\n", i, cwd, i);
        strcat(text, line);
    }
    snprintf(path, sizeof path, "%s", write_text(name, text));
    free(text);
    return path;
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = kevo_test_slurp(a, &na), *y = kevo_test_slurp(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

// Every item folder of `got` holds the same run as in `want`: the run's identity and answer
// (run.json but for timings, threads and paths: compared through kevo_runfolder_differs), the
// hidden states byte for byte, and item.json.
static void check_same_runs(const char *want, const char *got, int n, const char *what)
{
    for (int i = 1; i <= n; i++) {
        char a[1200], b[1200];
        snprintf(a, sizeof a, "%s/f%02d/hidden.safetensors", want, i);
        snprintf(b, sizeof b, "%s/f%02d/hidden.safetensors", got, i);
        CHECK(same_file(a, b), "%s: f%02d's hidden states differ from the unsharded batch's",
              what, i);
        snprintf(a, sizeof a, "%s/f%02d", want, i);
        snprintf(b, sizeof b, "%s/f%02d", got, i);
        kevo_runfolder *ra = NULL, *rb = NULL;
        kevo_error err;
        if (CHECK_OK(kevo_runfolder_load_record(a, &ra, &err), &err) &&
            CHECK_OK(kevo_runfolder_load_record(b, &rb, &err), &err)) {
            kevo_run_identity id = {.question = ra->question, .template_name = ra->template_name,
                                    .image_mode = ra->image_mode, .compute = ra->compute,
                                    .max_new_tokens = ra->max_new_tokens, .model = ra->model,
                                    .image_states = ra->image_states,
                                    .n_image_states = ra->n_image_states, .store = KEVO_DTYPE_F32};
            memcpy(id.image_sha256, ra->image_sha256, sizeof id.image_sha256);
            char why[512] = "";
            CHECK(!kevo_runfolder_differs(rb, &id, why, sizeof why) &&
                  !strcmp(ra->text, rb->text), "%s: f%02d differs: %s", what, i, why);
        }
        kevo_runfolder_free(ra);
        kevo_runfolder_free(rb);
        snprintf(a, sizeof a, "%s/f%02d/item.json", got, i);
        char *item = kevo_test_slurp(a, NULL);
        char want_id[32];
        snprintf(want_id, sizeof want_id, "\"f%02d\"", i);
        CHECK(kevo_test_contains(item, want_id) && kevo_test_contains(item, "\"references\"") &&
              kevo_test_contains(item, "\"red\"") && kevo_test_contains(item, "\"line\""),
              "%s: item.json: %s", what, item ? item : "(none)");
        free(item);
    }
}

// No hidden temporaries left in dir.
static int no_temporaries(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -q '^\\.kevo-'", dir);
    return system(cmd) != 0;
}

KEVO_TEST(batch_manifest_shards_equal_the_unsharded_batch)
{
    const char *mf = flower_manifest("flowers.jsonl", 5);
    char one[1100], sh[1100], cmd[4096], *so = NULL, *se = NULL;
    snprintf(one, sizeof one, "%s/one", kevo_test_tmpdir());
    snprintf(sh, sizeof sh, "%s/sharded", kevo_test_tmpdir());
    int code = kevo_test_cli(&so, &se, "batch -q -m " DEMO " -n 4 --manifest '%s' -o '%s'", mf,
                             one);
    CHECK(code == 0, "unsharded batch: %d\n%s", code, se ? se : "");
    free(so), free(se);
    // Three shards at once into one folder, as GNU parallel runs them (tools/deps.sh installs it).
    const char *bin = getenv("KEVO_BIN") ? getenv("KEVO_BIN") : "build/kevo";
    snprintf(cmd, sizeof cmd, "parallel -j3 '%s' batch -q -m " DEMO " -n 4 --manifest '%s' "
             "-o '%s' --shard {}/3 ::: 0 1 2 >/dev/null 2>&1", bin, mf, sh);
    CHECK(system(cmd) == 0, "the shards under GNU parallel failed: %s", cmd);
    check_same_runs(one, sh, 5, "3 shards");
    char p[1200];
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "%s/summary.shard-%d-of-3.csv", sh, k);
        int lines = kevo_test_count_lines(p);
        CHECK(lines == (k < 2 ? 3 : 2), "%s: %d lines (items %d, %d, ... of 5)", p, lines, k,
              k + 3);
    }
    snprintf(p, sizeof p, "%s/summary.csv", sh);
    CHECK(!kevo_file_exists(p), "a sharded batch wrote the unsharded summary.csv");
    CHECK(no_temporaries(sh), "temporaries left in %s", sh);
    // A shard rerun reuses its runs.
    code = kevo_test_cli(&so, &se, "batch -q -m " DEMO " -n 4 --manifest '%s' -o '%s' "
                         "--shard 1/3", mf, sh);
    CHECK(code == 0 && kevo_test_contains(so, "[reused]") && !kevo_test_contains(so, "done"),
          "rerun of shard 1: %d\n%s%s", code, so ? so : "", se ? se : "");
    free(so), free(se);
    // Under a Slurm job array numbered from 1, task 2 of 3 is shard 1.
    snprintf(cmd, sizeof cmd, "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=1 "
             "SLURM_ARRAY_TASK_COUNT=3 '%s' batch -q -m " DEMO " -n 4 --manifest '%s' -o '%s' "
             ">/dev/null 2>'%s/slurm.err'", bin, mf, sh, kevo_test_tmpdir());
    CHECK(system(cmd) == 0, "%s", cmd);
    snprintf(p, sizeof p, "%s/slurm.err", kevo_test_tmpdir());
    char *text = kevo_test_slurp(p, NULL);
    CHECK(kevo_test_contains(text, "shard 1/3 from the Slurm job array"), "%s", text);
    free(text);
    code = kevo_test_cli(NULL, &se, "batch -q -m " DEMO " --manifest '%s' -o '%s' --shard 3/3",
                         mf, sh);
    CHECK(code == 2 && kevo_test_contains(se, "0 <= K < N"), "--shard 3/3: %d %s", code, se);
    free(se);
}

KEVO_TEST(batch_manifest_resumes_a_killed_shard)
{
    const char *mf = flower_manifest("flowers.jsonl", 4);
    char one[1100], sh[1100], cmd[4096], *so = NULL, *se = NULL;
    snprintf(one, sizeof one, "%s/one", kevo_test_tmpdir());
    snprintf(sh, sizeof sh, "%s/killed", kevo_test_tmpdir());
    int code = kevo_test_cli(NULL, NULL, "batch -q -m " DEMO " -n 4 --manifest '%s' -o '%s'", mf,
                             one);
    CHECK(code == 0, "unsharded batch: %d", code);
    // Shard 0 of 2 (items f01, f03) killed inside its second item's folder swap, while shard 1
    // runs beside it; SIGKILL leaves a temporary of a dead process behind.
    const char *bin = getenv("KEVO_BIN") ? getenv("KEVO_BIN") : "build/kevo";
    snprintf(cmd, sizeof cmd, "(KEVO_TEST_KILL_AT=9 '%s' batch -q -m " DEMO " -n 4 --manifest "
             "'%s' -o '%s' --shard 0/2 & '%s' batch -q -m " DEMO " -n 4 --manifest '%s' -o '%s' "
             "--shard 1/2; wait) >/dev/null 2>&1", bin, mf, sh, bin, mf, sh);
    CHECK(system(cmd) != -1, "%s", cmd);
    char p[1200];
    snprintf(p, sizeof p, "%s/f03/run.json", sh);
    CHECK(!kevo_file_exists(p), "the killed shard was expected to die before f03 was in place");
    code = kevo_test_cli(&so, &se, "batch -q -m " DEMO " -n 4 --manifest '%s' -o '%s' "
                         "--shard 0/2", mf, sh);
    CHECK(code == 0 && kevo_test_contains(so, "[reused]"), "rerun of the killed shard: %d\n%s%s",
          code, so ? so : "", se ? se : "");
    free(so), free(se);
    check_same_runs(one, sh, 4, "killed and resumed");
    CHECK(no_temporaries(sh), "the killed shard's temporaries were not cleaned");
}

KEVO_TEST(batch_manifest_states_and_no_hidden)
{
    const char *mf = flower_manifest("flowers.jsonl", 2);
    char full[1100], st[1100], nh[1100], p[1200], q[1200], *so = NULL, *se = NULL;
    snprintf(full, sizeof full, "%s/full", kevo_test_tmpdir());
    snprintf(st, sizeof st, "%s/states", kevo_test_tmpdir());
    snprintf(nh, sizeof nh, "%s/nohidden", kevo_test_tmpdir());
    int code = kevo_test_cli(NULL, &se, "batch -q -m " DEMO " -n 4 --manifest '%s' -o '%s'", mf,
                             full);
    CHECK(code == 0, "full: %d %s", code, se);
    free(se);
    snprintf(p, sizeof p, "%s/f02", full);
    code = kevo_test_cli(NULL, &se, "analyze '%s'", p);
    CHECK(code == 0, "analyze: %d %s", code, se);
    free(se);
    code = kevo_test_cli(NULL, &se, "batch -q -m " DEMO " -n 4 --states 0,6,L --manifest '%s' "
                         "-o '%s'", mf, st);
    CHECK(code == 0, "--states: %d %s", code, se);
    free(se);
    kevo_runfolder *rf = NULL;
    kevo_error err;
    snprintf(p, sizeof p, "%s/f01", st);
    if (CHECK_OK(kevo_runfolder_load_record(p, &rf, &err), &err)) {
        const int *idx = NULL;
        int k = kevo_runfolder_states_kept(rf, &idx);
        CHECK(k == 3 && idx[0] == 0 && idx[1] == 6 && idx[2] == 12 && rf->n_states == 3,
              "kept %d states", k);
        // The kept states are the full run's at those indices.
        kevo_runfolder *ff = NULL;
        snprintf(q, sizeof q, "%s/f01", full);
        if (CHECK_OK(kevo_runfolder_load(q, &ff, &err), &err)) {
            int same = rf->n_steps == ff->n_steps, D = rf->dim;
            for (int t = 0; same && t < rf->n_steps; t++)
                for (int j = 0; same && j < 3; j++)
                    same = !memcmp(rf->hidden + ((size_t)t * 3 + (size_t)j) * (size_t)D,
                                   ff->hidden + ((size_t)t * 13 + (size_t)idx[j]) * (size_t)D,
                                   (size_t)D * sizeof(float));
            CHECK(same, "the kept states are not the full run's");
        }
        kevo_runfolder_free(ff);
    }
    kevo_runfolder_free(rf);
    code = kevo_test_cli(NULL, &se, "analyze '%s'", p);
    CHECK(code == 1 && kevo_test_contains(se, "only the indices 0,6,12") &&
          kevo_test_contains(se, "--states"), "analyze of a --states run: %d %s", code, se);
    free(se);
    // --no-hidden: run.json and the analysis tables, the same bytes as the full run's analysis.
    code = kevo_test_cli(&so, &se, "batch -q -m " DEMO " -n 4 --no-hidden --manifest '%s' "
                         "-o '%s'", mf, nh);
    CHECK(code == 0, "--no-hidden: %d %s", code, se);
    free(so), free(se);
    snprintf(p, sizeof p, "%s/f02/hidden.safetensors", nh);
    CHECK(!kevo_file_exists(p), "--no-hidden kept hidden.safetensors");
    const char *tables[] = {"stages.json", "divergence.csv", "lens.csv", "candidates.csv"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/f02/analysis/%s", nh, tables[i]);
        snprintf(q, sizeof q, "%s/f02/analysis/%s", full, tables[i]);
        CHECK(same_file(p, q) || (i == 0 && kevo_file_exists(p)),
              "%s differs from the full run's analysis", p);
    }
    snprintf(p, sizeof p, "%s/f02", nh);
    code = kevo_test_cli(NULL, &se, "analyze '%s'", p);
    CHECK(code == 1 && kevo_test_contains(se, "--no-hidden"), "analyze: %d %s", code, se);
    free(se);
    // The states kept are part of the identity: without --no-hidden the items are rerun.
    code = kevo_test_cli(&so, &se, "batch -q -m " DEMO " -n 4 --manifest '%s' -o '%s'", mf, nh);
    CHECK(code == 0 && kevo_test_contains(se, "hidden states kept differ") &&
          kevo_test_contains(so, "[rerun]"), "%d %s %s", code, so, se);
    free(so), free(se);
    code = kevo_test_cli(NULL, &se, "batch -q -m " DEMO " --no-hidden --states 1 --manifest '%s' "
                         "-o '%s'", mf, nh);
    CHECK(code == 2, "--no-hidden with --states: %d", code);
    free(se);
}

KEVO_TEST(batch_manifest_item_json_is_not_identity)
{
    // The image path is relative to the manifest's folder.
    char img[1200], out[1100], p[1200], *so = NULL, *se = NULL;
    snprintf(img, sizeof img, "%s/flower01.png", kevo_test_tmpdir());
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "cp examples/flower/flower01.png '%s'", img);
    CHECK(system(cmd) == 0, "%s", cmd);
    const char *mf = write_text("one.csv", "id,image,references\nx,flower01.png,red|rouge\n");
    snprintf(out, sizeof out, "%s/out", kevo_test_tmpdir());
    int code = kevo_test_cli(NULL, &se, "batch -q -m " DEMO " -n 3 -p " QUESTION " --manifest "
                             "'%s' -o '%s'", mf, out);
    CHECK(code == 0, "%d %s", code, se);
    free(se);
    snprintf(p, sizeof p, "%s/x/item.json", out);
    char *text = kevo_test_slurp(p, NULL);
    CHECK(kevo_test_contains(text, "\"flower01.png\"") && kevo_test_contains(text, "\"rouge\"") &&
          kevo_test_contains(text, "\"line\":\t2") &&
          kevo_test_contains(text, "What is the color of the flower?"), "item.json: %s", text);
    free(text);
    // Other references: the run is reused, item.json rewritten.
    write_text("one.csv", "id,image,references\nx,flower01.png,blue\n");
    code = kevo_test_cli(&so, &se, "batch -q -m " DEMO " -n 3 -p " QUESTION " --manifest '%s' "
                         "-o '%s'", mf, out);
    CHECK(code == 0 && kevo_test_contains(so, "[reused]"), "%d %s %s", code, so, se);
    free(so), free(se);
    text = kevo_test_slurp(p, NULL);
    CHECK(kevo_test_contains(text, "\"blue\"") && !kevo_test_contains(text, "rouge"),
          "item.json not rewritten: %s", text);
    free(text);
    // A reserved id.
    mf = write_text("bad.csv", "id,image\nsummary.shard-0-of-2.csv,flower01.png\n");
    code = kevo_test_cli(NULL, &se, "batch -q -m " DEMO " -p hi --manifest '%s' -o '%s'", mf, out);
    CHECK(code == 2 && kevo_test_contains(se, "summary file"), "%d %s", code, se);
    free(se);
}

KEVO_TEST(batch_bytes_per_item_match_the_files)
{
    // -n 4: the demo model's answers are longer, so every run has exactly 4 steps.
    const char *mf = flower_manifest("flowers.jsonl", 2);
    char out[1100], p[1200], *se = NULL;
    snprintf(out, sizeof out, "%s/sized", kevo_test_tmpdir());
    // --states 0:L keeps every state and analyses each run before it is swapped in (a map of
    // the runs needs more of them than two).
    int code = kevo_test_cli(NULL, &se, "batch -q -m " DEMO " -n 4 --analyze --states 0:L "
                             "--image-states every=4 -p " QUESTION " --manifest '%s' -o '%s'", mf,
                             out);
    CHECK(code == 0 && kevo_test_contains(se, "at most"), "%d %s", code, se);
    free(se);
    kevo_config c;
    kevo_error err;
    if (!CHECK_OK(kevo_config_load(DEMO, &c, &err), &err))
        return;
    kevo_run_bytes b = kevo_runfolder_bytes(&c, c.image_tokens, 64, 4, -1, 4, KEVO_DTYPE_F32, 2);
    uint64_t size[4];
    const char *what[4] = {"hidden.safetensors", "run.json", "item.json", "analysis"};
    for (int i = 0; i < 4; i++) {
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "du -sb '%s/f01/%s' | cut -f1 > '%s/size.n'", out, what[i],
                 kevo_test_tmpdir());
        CHECK(system(cmd) == 0, "%s", cmd);
        snprintf(p, sizeof p, "%s/size.n", kevo_test_tmpdir());
        char *n = kevo_test_slurp(p, NULL);
        size[i] = n ? strtoull(n, NULL, 10) : 0;
        free(n);
    }
    // Margins (docs/run-folder.md, "Sizes"): the states' file within its 1 KiB header bound;
    // run.json and item.json, and the analysis folder, under their bounds and within 4x and 2x.
    CHECK(size[0] <= b.hidden && size[0] + 1024 >= b.hidden,
          "hidden.safetensors %llu bytes, estimated %llu", (unsigned long long)size[0],
          (unsigned long long)b.hidden);
    uint64_t json = size[1] + size[2];
    CHECK(json <= b.run_json && 4 * json >= b.run_json, "run.json + item.json %llu bytes, "
          "estimated %llu", (unsigned long long)json, (unsigned long long)b.run_json);
    CHECK(size[3] <= b.analysis && 2 * size[3] >= b.analysis, "analysis/ %llu bytes, "
          "estimated %llu", (unsigned long long)size[3], (unsigned long long)b.analysis);
    // Refusal: more than the free space is refused before anything runs. Enough items (the
    // twelve flowers over and over, under distinct ids) that they cannot fit on this disk.
    uint64_t free_b = 0;
    CHECK_OK(kevo_free_bytes(kevo_test_tmpdir(), &free_b, &err), &err);
    kevo_run_bytes huge = kevo_runfolder_bytes(&c, c.image_tokens, 64, 1 << 20, -1, 13,
                                               KEVO_DTYPE_F32, 0);
    CHECK(huge.total > 6000000000ull, "%llu", (unsigned long long)huge.total);
    // Twice what fits: free space moves while other programs write.
    uint64_t n_big = 2 * (free_b / huge.total) + 2;
    if (!CHECK(n_big < 100000, "%llu items", (unsigned long long)n_big))
        return;
    char cwd[1024], line[1400], *text = calloc((size_t)n_big, sizeof line);
    if (!CHECK(text && getcwd(cwd, sizeof cwd), "out of memory"))
        return;
    for (uint64_t i = 0, used = 0; i < n_big; i++)
        used += (size_t)snprintf(text + used, sizeof line, "{\"id\": \"big%llu\", \"image\": "
                                 "\"%s/examples/flower/flower%02d.png\"}\n",
                                 (unsigned long long)i, cwd, (int)(i % 12) + 1);
    const char *big = write_text("big.jsonl", text);
    free(text);
    snprintf(p, sizeof p, "%s/huge", kevo_test_tmpdir());
    code = kevo_test_cli(NULL, &se, "batch -q -m " DEMO " -n 1048576 --image-states -p "
                         QUESTION " --manifest '%s' -o '%s'", big, p);
    CHECK(code == 1 && kevo_test_contains(se, "free on its file system") &&
          kevo_test_contains(se, "nothing was run"), "%d %s", code, se);
    // The destination checks made OUT; nothing went into it.
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", p);
    CHECK(system(cmd) == 0, "%s holds files although nothing was run", p);
    free(se);
}
