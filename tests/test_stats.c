// test_stats.c — `kevo stats` against its independent reference (tools/oracles/oracle_stats.py)
// on planted run folders (tools/fixtures/make_synthetic_runs.py): every cell of every CSV table
// and every number of stats.json, for one batch folder, for the same items split over two
// folders (the merge must equal the single folder), and grouped by model, by settings and by
// both; the refusal of mixed models and settings; hostile run folders (the message names the
// file and the key); the output folder's ownership; and an end-to-end on real runs of the demo
// model (kevo batch --analyze, then kevo stats).
//
// Tolerance: counts must be equal; shares and quartiles are a few double operations on the same
// inputs (numpy's percentile interpolates in another order), so 1e-12 relative.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define TOL 1e-12

static const char *const tables[] = {"items", "layers", "token_kinds", "profile", "shift",
                                     "hallucination"};

// The next CSV field of *s (RFC 4180 quotes removed) into buf; 0 at the end of the line.
static int next_field(const char **s, char *buf, size_t size, int *quoted)
{
    const char *p = *s;
    size_t n = 0;
    *quoted = *p == '"';
    if (*quoted) {
        for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
            if (*p == '"')
                p++;
            if (n + 1 < size)
                buf[n++] = *p;
        }
        if (*p == '"')
            p++;
    } else {
        for (; *p && *p != ',' && *p != '\n'; p++)
            if (n + 1 < size)
                buf[n++] = *p;
    }
    buf[n] = '\0';
    int more = *p == ',';
    *s = *p ? p + 1 : p;
    return more;
}

static int same_value(const char *a, const char *b)
{
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    if (*a && *b && !*ea && !*eb)
        return fabs(x - y) <= TOL * fmax(1, fabs(y));
    return !strcmp(a, b);
}

static const char *base_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

// kevo's table (a header line, then rows) against the oracle's rows, cell by cell.
static void compare_table(const char *got_dir, const char *want_dir, const char *name)
{
    char gp[1300], wp[1300];
    snprintf(gp, sizeof gp, "%s/%s.csv", got_dir, name);
    snprintf(wp, sizeof wp, "%s/%s.csv", want_dir, name);
    char *got = kevo_test_slurp(gp, NULL), *want = kevo_test_slurp(wp, NULL);
    if (!CHECK(got && want, "%s or %s missing", gp, wp))
        goto done;
    const char *g = strchr(got, '\n'), *w = want;
    g = g ? g + 1 : got + strlen(got);
    int row = 0, bad = 0;
    while (*w && *g && bad < 5) {
        int col = 0, mg, mw;
        do {
            char a[512], b[512];
            int qa, qb;
            mg = next_field(&g, a, sizeof a, &qa);
            mw = next_field(&w, b, sizeof b, &qb);
            const char *av = !strcmp(name, "items") && col == 2 ? base_of(a) : a;
            if (!CHECK(same_value(av, b) && qa == qb, "%s row %d column %d: kevo '%s', oracle "
                       "'%s'", name, row, col, a, b))
                bad++;
            col++;
        } while (mg && mw);
        CHECK(mg == mw, "%s row %d: kevo and the oracle have different column counts", name,
              row);
        row++;
    }
    CHECK(!*w && !*g, "%s: kevo has %s rows than the oracle (%d compared)", name,
          *g ? "more" : "fewer", row);
done:
    free(got);
    free(want);
}

// Every key of want (the oracle's) in got: numbers within TOL, strings and nulls equal.
static int compare_json(const cJSON *got, const cJSON *want, const char *path)
{
    char sub[512];
    if (cJSON_IsObject(want)) {
        int ok = 1;
        for (const cJSON *c = want->child; c; c = c->next) {
            snprintf(sub, sizeof sub, "%s.%s", path, c->string);
            ok &= compare_json(cJSON_GetObjectItemCaseSensitive(got, c->string), c, sub);
        }
        return ok;
    }
    if (cJSON_IsArray(want)) {
        if (!CHECK(cJSON_IsArray(got) && cJSON_GetArraySize(got) == cJSON_GetArraySize(want),
                   "%s: kevo's array has %d entries, the oracle's %d", path,
                   cJSON_GetArraySize(got), cJSON_GetArraySize(want)))
            return 0;
        int ok = 1, i = 0;
        for (const cJSON *c = want->child, *d = got->child; c && ok; c = c->next, d = d->next) {
            snprintf(sub, sizeof sub, "%s[%d]", path, i++);
            ok &= compare_json(d, c, sub);
        }
        return ok;
    }
    if (cJSON_IsNumber(want))
        return CHECK(cJSON_IsNumber(got) && fabs(got->valuedouble - want->valuedouble) <=
                         TOL * fmax(1, fabs(want->valuedouble)),
                     "%s: kevo %g, oracle %.17g", path, got ? got->valuedouble : NAN,
                     want->valuedouble);
    if (cJSON_IsString(want))
        return CHECK(cJSON_IsString(got) && !strcmp(got->valuestring, want->valuestring),
                     "%s: kevo '%s', oracle '%s'", path,
                     cJSON_IsString(got) ? got->valuestring : "?", want->valuestring);
    return CHECK(got && got->type == want->type, "%s: kevo's value is not the oracle's (%s)",
                 path, cJSON_IsNull(want) ? "null" : "a boolean");
}

static void compare_stats(const char *got_dir, const char *expected)
{
    char want_dir[1200], path[1300];
    snprintf(want_dir, sizeof want_dir, "%s", kevo_test_data(expected));
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        compare_table(got_dir, want_dir, tables[i]);
    snprintf(path, sizeof path, "%s/stats.json", got_dir);
    char *g = kevo_test_slurp(path, NULL);
    snprintf(path, sizeof path, "%s/stats.json", want_dir);
    char *w = kevo_test_slurp(path, NULL);
    cJSON *gj = g ? cJSON_Parse(g) : NULL, *wj = w ? cJSON_Parse(w) : NULL;
    if (CHECK(gj && wj, "stats.json of kevo or of the oracle missing or malformed")) {
        // the oracle counts the skipped runs; kevo lists them
        cJSON_AddNumberToObject(gj, "n_skipped",
                                cJSON_GetArraySize(cJSON_GetObjectItem(gj, "skipped")));
        compare_json(gj, wj, "stats.json");
    }
    cJSON_Delete(gj);
    cJSON_Delete(wj);
    free(g);
    free(w);
}

// kevo stats ARGS -o TMP/name, expected to succeed; returns the output folder.
static const char *run_stats(const char *name, const char *args)
{
    static char out[1024];
    char *so = NULL, *se = NULL;
    snprintf(out, sizeof out, "%s/%s", kevo_test_tmpdir(), name);
    int code = kevo_test_cli(&so, &se, "stats %s -o '%s'", args, out);
    CHECK(code == 0, "kevo stats %s: exit %d: %s %s", args, code, so ? so : "", se ? se : "");
    free(so);
    free(se);
    return out;
}

// ' RUNS/a' ' RUNS/b' ... for the planted folders named in list (space-separated).
static const char *runs(const char *list)
{
    static char buf[4096];
    char names[256], *save = NULL;
    size_t n = 0;
    snprintf(names, sizeof names, "%s", list);
    buf[0] = '\0';
    for (char *t = strtok_r(names, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char rel[64];
        snprintf(rel, sizeof rel, "oracle/stats/runs/%s", t);
        n += (size_t)snprintf(buf + n, sizeof buf - n, " '%s'", kevo_test_data(rel));
    }
    return buf;
}

KEVO_TEST(stats_matches_oracle)
{
    compare_stats(run_stats("single", runs("all")), "oracle/stats/expected/single");
}

KEVO_TEST(stats_merge_of_two_folders_equals_one)
{
    // the same 60 items as runs/all, split 30 / 30 over two batch folders
    compare_stats(run_stats("merged", runs("a1 a2")), "oracle/stats/expected/single");
}

KEVO_TEST(stats_group_by_matches_oracle)
{
    char args[4200];
    snprintf(args, sizeof args, "%s --group-by model", runs("all other"));
    compare_stats(run_stats("model", args), "oracle/stats/expected/model");
    snprintf(args, sizeof args, "%s --group-by settings", runs("all norm"));
    compare_stats(run_stats("settings", args), "oracle/stats/expected/settings");
    snprintf(args, sizeof args, "%s --group-by model,settings", runs("all other norm"));
    compare_stats(run_stats("both", args), "oracle/stats/expected/both");
}

static void expect_refusal(const char *args, int want_code, const char *const *needles, int n)
{
    char *so = NULL, *se = NULL;
    int code = kevo_test_cli(&so, &se, "stats %s -o '%s'", args, kevo_test_tmp("refused"));
    CHECK(code == want_code, "kevo stats %s: exit %d, expected %d: %s", args, code, want_code,
          se ? se : "");
    for (int i = 0; i < n; i++)
        CHECK(kevo_test_contains(se, needles[i]), "kevo stats %s: the message lacks '%s': %s",
              args, needles[i], se ? se : "");
    CHECK(!kevo_dir_exists(kevo_test_tmp("refused")), "a refused kevo stats wrote its folder");
    free(so);
    free(se);
}

KEVO_TEST(stats_refuses_mixed_models_and_settings)
{
    const char *model[] = {"runs of different models", "runs/all/item-00000/run.json",
                           "runs/other/item-00000/run.json", "model.text_layers",
                           "--group-by model"};
    expect_refusal(runs("all other"), 1, model, 5);
    const char *settings[] = {"analysis settings", "runs/norm/item-00100/analysis/stages.json",
                              "options.lens", "--group-by settings"};
    expect_refusal(runs("all norm"), 1, settings, 4);
    // grouped by model, the settings must still agree within the model
    char args[4200];
    snprintf(args, sizeof args, "%s --group-by model", runs("all norm"));
    expect_refusal(args, 1, settings, 3);
    const char *twice[] = {"the same run folder"};
    expect_refusal(runs("all all"), 2, twice, 1);
    const char *usage[] = {"--group-by"};
    snprintf(args, sizeof args, "%s --group-by colour", runs("all"));
    expect_refusal(args, 2, usage, 1);
}

// A copy of planted item k at TMP/hostile/item, with sed applied to one of its files.
static const char *hostile(const char *file, const char *sed)
{
    static char dir[1024];
    char cmd[8192];
    snprintf(dir, sizeof dir, "%s/hostile", kevo_test_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp -r '%s' '%s/item' && "
             "sed -i -e '%s' '%s/item/%s'", dir, dir,
             kevo_test_data("oracle/stats/runs/all/item-00001"), dir, sed, dir, file);
    CHECK(system(cmd) == 0, "%s", cmd);
    return dir;
}

KEVO_TEST(stats_hostile_run_folders)
{
    static const struct { const char *file, *sed, *needle; } cases[] = {
        {"analysis/stages.json", "s/\"mutation\": 12/\"mutation\": 99/",
         "stages.json: tokens[0].mutation must be an integer in 1..12 or null"},
        {"analysis/stages.json", "s/\"layers\": 12/\"layers\": 13/", "layers is 13"},
        {"analysis/stages.json", "s/\"tokens\": \\[/\"tokens\": 3, \"x\": [/",
         "tokens must be a non-empty array"},
        {"analysis/stages.json", "s/\"lens\": \"raw\"/\"lens\": 7/", "options.lens must be"},
        {"analysis/stages.json", "s/\"piece\": \"\\(.*\\)\",/\"piece\": [],/",
         "tokens[0].piece must be a string"},
        {"analysis/stages.json", "0,/-[0-9.]*,/s//\"x\",/",
         "divergence_profile_log10[0] must be a finite number"},
        {"analysis/stages.json", "s/\"kevo-stages\"/\"other\"/", "format must be"},
        {"analysis/stages.json", "$d", "stages.json"},
        {"run.json", "s/\"text_layers\": 12/\"text_layers\": -1/", "model.text_layers must be"},
        {"item.json", "s/\"references\": \\[/\"references\": 5, \"r\": [/",
         "item.json: references must be an array of strings"},
        {"item.json", "s/\"id\": \"id00001\"/\"id\": 1/", "item.json: id must be a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *dir = hostile(cases[i].file, cases[i].sed);
        char *se = NULL;
        int code = kevo_test_cli(NULL, &se, "stats '%s' -o '%s/out'", dir, kevo_test_tmpdir());
        CHECK(code == 1 && kevo_test_contains(se, cases[i].needle) &&
                  kevo_test_contains(se, "hostile/item/"),
              "case %zu (%s: %s): exit %d, expected 1 and '%s': %s", i, cases[i].file,
              cases[i].sed, code, cases[i].needle, se ? se : "");
        free(se);
    }
}

KEVO_TEST(stats_output_folder)
{
    char cmd[4096], out[1100], *so = NULL, *se = NULL;
    const char *batch = kevo_test_tmp("batch");
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", kevo_test_data("oracle/stats/runs/a1"), batch);
    CHECK(system(cmd) == 0, "%s", cmd);
    // the default: OUT/stats, passed over as a run when read again
    int code = kevo_test_cli(&so, &se, "stats '%s'", batch);
    snprintf(out, sizeof out, "%s/stats/report.html", batch);
    CHECK(code == 0 && kevo_file_exists(out), "exit %d: %s", code, se ? se : "");
    free(so), free(se), so = se = NULL;
    code = kevo_test_cli(&so, &se, "stats '%s'", batch);   // replaces its own folder
    CHECK(code == 0 && kevo_test_contains(so, "30 analysed runs"), "rerun: exit %d: %s %s",
          code, so ? so : "", se ? se : "");
    free(so), free(se), so = se = NULL;
    // a file of the user's in it: refused, nothing deleted
    snprintf(out, sizeof out, "%s/stats/notes.txt", batch);
    CHECK(kevo_test_write(out, "mine", 4), "write %s", out);
    code = kevo_test_cli(NULL, &se, "stats '%s'", batch);
    CHECK(code == 2 && kevo_test_contains(se, "notes.txt") && kevo_file_exists(out),
          "exit %d: %s", code, se ? se : "");
    free(se), se = NULL;
    // several inputs need -o; a run folder alone too
    code = kevo_test_cli(NULL, &se, "stats '%s' '%s'", batch, batch);
    CHECK(code == 2 && kevo_test_contains(se, "-o"), "exit %d: %s", code, se ? se : "");
    free(se), se = NULL;
    code = kevo_test_cli(NULL, &se, "stats '%s/item-00001'", batch);
    CHECK(code == 2, "a run folder without -o: exit %d: %s", code, se ? se : "");
    free(se), se = NULL;
    code = kevo_test_cli(NULL, &se, "stats '%s/nothing' -o '%s/x'", batch, batch);
    CHECK(code == 1 && kevo_test_contains(se, "no such folder"), "exit %d: %s", code,
          se ? se : "");
    free(se);
}

// Real runs: the demo model on four flower pictures and two descriptions, two batches merged.
KEVO_TEST(stats_demo_end_to_end)
{
    char *so = NULL, *se = NULL;
    const char *flowers = kevo_test_tmp("flowers");
    int code = kevo_test_cli(&so, &se, "batch --analyze -m models/demo -p 'What is the color of "
                             "the flower?' -o '%s' examples/flower/flower0[1-4].png -q", flowers);
    CHECK(code == 0, "batch: exit %d: %s", code, se ? se : "");
    free(so), free(se), so = se = NULL;
    const char *scenes = kevo_test_tmp("scenes");
    code = kevo_test_cli(&so, &se, "batch --analyze -m models/demo -p 'Please describe this "
                         "image in detail.' -o '%s' examples/describe/*.png -q", scenes);
    CHECK(code == 0, "batch: exit %d: %s", code, se ? se : "");
    free(so), free(se), so = se = NULL;
    const char *out = kevo_test_tmp("stats");
    code = kevo_test_cli(&so, &se, "stats '%s' '%s' -o '%s'", flowers, scenes, out);
    CHECK(code == 0 && kevo_test_contains(so, "8 analysed runs"), "stats: exit %d: %s %s",
          code, so ? so : "", se ? se : "");
    // each item's critical and mutation layers are its own stages.json's
    char path[1200];
    snprintf(path, sizeof path, "%s/items.csv", out);
    char *items = kevo_test_slurp(path, NULL);
    CHECK(items && kevo_test_count_lines(path) == 9, "items.csv: %d lines",
          kevo_test_count_lines(path));
    for (const char *line = items ? strchr(items, '\n') : NULL; line && line[1]; ) {
        line++;
        char f[9][512];
        int q;
        const char *s = line;
        for (int k = 0; k < 9; k++)
            next_field(&s, f[k], sizeof f[k], &q);
        snprintf(path, sizeof path, "%s/analysis/stages.json", f[2]);
        char *text = kevo_test_slurp(path, NULL);
        cJSON *j = text ? cJSON_Parse(text) : NULL;
        const cJSON *c = cJSON_GetObjectItem(j, "critical_layer");
        const cJSON *m = cJSON_GetObjectItem(j, "mutation_layer");
        char want_c[16] = "", want_m[16] = "";
        if (cJSON_IsNumber(c))
            snprintf(want_c, sizeof want_c, "%d", c->valueint);
        if (cJSON_IsNumber(m))
            snprintf(want_m, sizeof want_m, "%d", m->valueint);
        CHECK(j && !strcmp(f[4], want_c) && !strcmp(f[5], want_m) &&
                  atoi(f[3]) == cJSON_GetArraySize(cJSON_GetObjectItem(j, "tokens")),
              "%s: items.csv says C %s M %s T %s", f[2], f[4], f[5], f[3]);
        cJSON_Delete(j);
        free(text);
        line = strchr(line, '\n');
    }
    const char *files[] = {"report.html", "critical.png", "mutation.png", "profile.png",
                           "token_kinds.png", "stats.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        CHECK(kevo_file_exists(path), "%s missing", files[i]);
    }
    free(items);
    free(so);
    free(se);
}
