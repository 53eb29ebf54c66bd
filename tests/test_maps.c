// test_maps.c — the t-SNE maps of run folders (analysis/maps.h): which states become points, in
// which order, coloured by which stage; `kevo analyze`'s single-run map and `kevo tsne RUN...`.
// The t-SNE itself is checked against scikit-learn in tests/test_tsne.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/maps.h"
#include "base/fs.h"
#include "io/runfolder.h"
#include "test.h"

KEVO_TEST(maps_points_follow_the_authors_layout)
{
    kevo_error err;
    kevo_runfolder *a = NULL, *b = NULL;
    if (!CHECK_OK(kevo_runfolder_load(kevo_test_data("oracle/engine/tiny-f32/color.run"), &a,
                                      &err), &err) ||
        !CHECK_OK(kevo_runfolder_load(kevo_test_data("oracle/engine/tiny-f32/describe.run"), &b,
                                      &err), &err))
        goto done;
    kevo_tsne_params p = kevo_tsne_default_params();
    p.n_iter = 250;
    const kevo_runfolder *one[1] = {a}, *two[2] = {a, b};
    kevo_map *m = NULL;
    // One run: every step x layers 1..L, step-major (tsne.py's hidden_states[t][1:]).
    if (CHECK_OK(kevo_map_compute(one, 1, NULL, &p, &m, &err), &err)) {
        int L = a->n_states - 1, ok = m->n == a->n_steps * L && m->xy != NULL;
        for (int i = 0; ok && i < m->n; i++)
            ok = m->run[i] == 0 && m->step[i] == i / L && m->layer[i] == 1 + i % L;
        CHECK(ok, "single-run points: n %d, expected %d step-major", m->n, a->n_steps * L);
    }
    kevo_map_free(m);
    m = NULL;
    // Two runs, one step each: run-major, layers 1..L (combined_tsne.py).
    int steps[2] = {3, 7};
    if (CHECK_OK(kevo_map_compute(two, 2, steps, &p, &m, &err), &err)) {
        int L = a->n_states - 1, ok = m->n == 2 * L;
        for (int i = 0; ok && i < m->n; i++)
            ok = m->run[i] == i / L && m->step[i] == steps[i / L] && m->layer[i] == 1 + i % L;
        CHECK(ok, "multi-run points");
        CHECK(m->xy && m->tsne.perplexity_used < 8, "8 points at perplexity 40: used %g",
              m->tsne.perplexity_used);
    }
    kevo_map_free(m);
    m = NULL;
    // A step outside a run, too few points.
    steps[1] = b->n_steps;
    CHECK(kevo_map_compute(two, 2, steps, &p, &m, &err) == KEVO_ERR_ARG &&
          kevo_test_contains(err.msg, "not in"), "step beyond the run: %s", err.msg);
    int first[1] = {0};
    if (CHECK_OK(kevo_map_compute(one, 1, first, &p, &m, &err), &err))
        CHECK(m->xy == NULL && kevo_test_contains(m->note, "at least"), "4 points: note '%s'",
              m->note);
    kevo_map_free(m);
done:
    kevo_runfolder_free(a);
    kevo_runfolder_free(b);
}

KEVO_TEST(maps_cli_analyze_and_tsne_runs)
{
    // kevo analyze draws the single-run map and writes its coordinates.
    const char *run = kevo_test_copy_run("tiny-f32", "describe", "run");
    char *out = NULL, *errs = NULL, path[2300];
    int rc = kevo_test_cli(&out, &errs, "analyze '%s' --steps 1 --iters 250 --dpi 30", run);
    CHECK(rc == 0 && kevo_test_contains(out, "t-SNE: 80 points"), "analyze: exit %d: %s %s",
          rc, out, errs);
    free(out);
    free(errs);
    snprintf(path, sizeof path, "%s/analysis/tsne.csv", run);
    int lines = kevo_test_count_lines(path);
    CHECK(lines == 1 + 20 * 4, "tsne.csv: %d lines", lines);
    snprintf(path, sizeof path, "%s/analysis/tsne.png", run);
    CHECK(kevo_file_exists(path), "no tsne.png");
    snprintf(path, sizeof path, "%s/analysis/report.html", run);
    char *html = kevo_test_slurp(path, NULL);
    CHECK(kevo_test_contains(html, "Level 3"), "report without the map");
    free(html);
    rc = kevo_test_cli(NULL, NULL, "analyze '%s' --steps 1 --no-tsne -o '%s/other'", run, run);
    snprintf(path, sizeof path, "%s/other/tsne.csv", run);
    CHECK(rc == 0 && !kevo_file_exists(path), "--no-tsne: exit %d, tsne.csv written", rc);

    // kevo tsne RUN...: one step per run, the answer word's by default.
    const char *other = kevo_test_copy_run("tiny-f32", "color", "run2");
    const char *dir = kevo_test_tmp("map");
    rc = kevo_test_cli(&out, &errs, "tsne '%s' '%s' --iters 250 --dpi 30 -o '%s'", run, other,
                       dir);
    CHECK(rc == 0 && kevo_test_contains(out, "answer word"), "tsne: exit %d: %s %s", rc, out,
          errs);
    free(out);
    free(errs);
    const char *files[] = {"tsne.csv", "tsne.png", "stages.json", "report.html"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        CHECK(kevo_file_exists(path), "%s missing", path);
    }
    snprintf(path, sizeof path, "%s/tsne.csv", dir);
    lines = kevo_test_count_lines(path);
    CHECK(lines == 1 + 2 * 4, "tsne.csv: %d lines", lines);
    snprintf(path, sizeof path, "%s/stages.json", dir);
    char *json = kevo_test_slurp(path, NULL);
    CHECK(kevo_test_contains(json, "\"map_step\"") && kevo_test_contains(json, "\"runs\""),
          "pooled stages.json lacks the runs");
    free(json);
    rc = kevo_test_cli(&out, NULL, "tsne '%s' '%s' --step 2 --iters 250 -o '%s'", run, other,
                       dir);
    CHECK(rc == 0 && kevo_test_contains(out, "step 2"), "--step 2: exit %d: %s", rc, out);
    free(out);

    // Bad requests.
    rc = kevo_test_cli(NULL, &errs, "tsne '%s' --step 99 -o '%s'", run, dir);
    CHECK(rc == 2 && kevo_test_contains(errs, "only 20 steps"), "--step 99: %d %s", rc, errs);
    free(errs);
    rc = kevo_test_cli(NULL, &errs, "tsne '%s' --step 1 --answer", run);
    CHECK(rc == 2 && kevo_test_contains(errs, "exclude"), "--step with --answer: %d %s", rc,
          errs);
    free(errs);
    rc = kevo_test_cli(NULL, &errs, "tsne '%s' -m '%s' -o '%s'", run,
                       kevo_test_data("fixtures/tiny-gqa"), dir);
    CHECK(rc == 1 && kevo_test_contains(errs, "another model"), "other model: %d %s", rc, errs);
    free(errs);
    rc = kevo_test_cli(NULL, &errs, "tsne");
    CHECK(rc == 2 && kevo_test_contains(errs, "RUN_DIR"), "no runs: %d %s", rc, errs);
    free(errs);
}
