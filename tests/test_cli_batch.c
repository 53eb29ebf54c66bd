// test_cli_batch.c — `kevo batch`: many images, one run folder each, failures skipped, resumable.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/runfolder.h"
#include "test.h"

KEVO_TEST(cli_batch_runs_skips_and_resumes)
{
    char out[1024], a[1024], b[1024], *so = NULL, *se = NULL;
    snprintf(out, sizeof out, "%s/batch", kevo_test_tmpdir());
    snprintf(a, sizeof a, "%s", kevo_test_data("oracle/engine/tiny-f32/color.png"));
    snprintf(b, sizeof b, "%s", "tests/data/images/animal11-small.png");
    const char *args = "batch -m tests/fixtures/tiny-f32 -p 'What is the color of the flower?' "
                       "-n 5 -o '%s' '%s' '%s' '%s/missing.jpg'";
    int code = kevo_test_cli(&so, &se, args, out, a, b, kevo_test_tmpdir());
    CHECK(code == 1, "a failing image must make the exit status 1 (got %d)", code);
    CHECK(kevo_test_contains(se, "missing.jpg: skipped") &&
          kevo_test_contains(se, "1 of 3 images failed"), "stderr: %s", se ? se : "");
    // Both good images got run folders, named after them (inputs that would share a folder are
    // refused: tests/test_batch_resume.c).
    char dir[1100];
    kevo_error err;
    for (int i = 0; i < 2; i++) {
        snprintf(dir, sizeof dir, "%s/%s", out, i ? "animal11-small" : "color");
        kevo_runfolder *rf = NULL;
        if (CHECK_OK(kevo_runfolder_load(dir, &rf, &err), &err))
            CHECK(rf->n_steps == 5 && strcmp(rf->question, "What is the color of the flower?") == 0,
                  "%s: %d steps, question %s", dir, rf->n_steps, rf->question);
        kevo_runfolder_free(rf);
    }
    char csv[1100];
    snprintf(csv, sizeof csv, "%s/summary.csv", out);
    char *text = kevo_test_slurp(csv, NULL);
    int lines = 0;
    for (char *p = text; p && *p; p++)
        lines += *p == '\n';
    CHECK(lines == 4 && kevo_test_contains(text, "\"done\"") &&
          kevo_test_contains(text, "failed: "), "summary.csv:\n%s", text ? text : "");
    free(text);

    // Running again reuses the finished images (their run.json is not rewritten).
    struct stat before, after;
    snprintf(dir, sizeof dir, "%s/color/run.json", out);
    stat(dir, &before);
    free(so);
    free(se);
    code = kevo_test_cli(&so, &se, args, out, a, b, kevo_test_tmpdir());
    stat(dir, &after);
    CHECK(code == 1 && kevo_test_contains(so, "[reused]") &&
          before.st_ino == after.st_ino && before.st_mtime == after.st_mtime,
          "resume: exit %d, stdout: %s", code, so ? so : "");
    free(so);
    free(se);

    code = kevo_test_cli(NULL, &se, "batch -m tests/fixtures/tiny-f32 -p hi -o '%s'", out);
    CHECK(code == 2 && kevo_test_contains(se, "needs at least one IMAGE"), "no images: %d", code);
    free(se);
}

KEVO_TEST(cli_batch_analyze)
{
    char out[1024], *so = NULL, *se = NULL;
    snprintf(out, sizeof out, "%s/batch", kevo_test_tmpdir());
    int code = kevo_test_cli(&so, &se, "batch --analyze -m tests/fixtures/tiny-f32 -p 'What is "
                             "the color of the flower?' -n 8 -o '%s' '%s' '%s' -q", out,
                             kevo_test_data("oracle/engine/tiny-f32/color.png"),
                             "tests/data/images/flower3.jpg");
    CHECK(code == 0 && kevo_test_contains(so, "stages over 16 tokens of 2 runs"),
          "exit %d: %s %s", code, so ? so : "", se ? se : "");
    const char *files[] = {"color/analysis/report.html", "color/analysis/heatmap.png",
                           "flower3/analysis/stages.json", "tsne/tsne.png", "tsne/report.html",
                           "tsne/stages.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        FILE *f = fopen(path, "r");
        CHECK(f != NULL, "%s missing", files[i]);
        if (f)
            fclose(f);
    }
    free(so);
    free(se);
}
