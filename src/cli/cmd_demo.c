// cmd_demo.c — `kevo demo`: the bundled model on the bundled images, every analysis, one report.
//
// Each folder of examples/ holds images and a questions.jsonl ({"image", "question", "answer"}
// per line). Every image is asked its question with the demo model (one run folder each), every
// run is analysed, the runs of a folder are mapped together at their answer words (the
// multi-image t-SNE), and OUT_DIR/report.html gathers the answers (checked against the expected
// ones), the critical and mutation layers and the figures.
//
// OUT_DIR is one output folder (base/outdir.h): checked before anything is read, built in a
// hidden PARENT/.kevo-tmp-PID-NAME and swapped in whole at the end, so a failure, Ctrl-C or a
// kill leaves the previous demo complete, never new runs beside an old report.html. Only a
// folder of a previous demo is replaced (demo_owned).
#include <cjson/cJSON.h>
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/answer.h"
#include "report/figures.h"
#include "report/pipeline.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/outdir.h"
#include "cli/cli.h"
#include "cli/generation.h"
#include "io/json.h"
#include "io/outputs.h"
#include "model/model.h"

static const char usage[] =
    "usage: kevo demo [-o OUT_DIR] [--model DIR] [--examples DIR] [--threads N] [-q]\n"
    "\n"
    "Runs the bundled demo model (models/demo, a small LLaVA trained on synthetic images) on the\n"
    "bundled images (examples/): every image is asked the question of its folder's\n"
    "questions.jsonl, every run is analysed (heatmap, area charts, t-SNE, stages), each folder's\n"
    "runs are mapped together at their answer words, and OUT_DIR/report.html gathers the\n"
    "answers, the critical and mutation layers and the figures. OUT_DIR is replaced whole at\n"
    "the end, and only when it is a previous demo's.\n"
    "\n"
    "  -o, --out DIR      where everything goes (default out/demo)\n"
    "  --model DIR        the model (default models/demo, here or beside the kevo binary)\n"
    "  --examples DIR     the images (default examples, found the same way)\n"
    "  --threads N        threads (default: all cores)\n"
    "  -q, --quiet        no progress\n";

#define MAX_ITEMS 256

typedef struct demo_item {
    char image[4096], run_dir[4200], set[256];
    int set_index;                // order of the sets: the colour question first
    char *question, *expected, *answer;
    kevo_runfolder *run;
} demo_item;

// A bundled folder: NAME in the current directory, else beside the binary (build/kevo ->
// ../NAME), so `kevo demo` works from the repository and from the build folder.
static int find_bundled(const char *name, char *out, size_t size)
{
    if (kevo_dir_exists(name))
        return snprintf(out, size, "%s", name) < (int)size;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, size, "%.3000s/../%.64s", exe, name);
    return kevo_dir_exists(out);
}

static const char *const demo_sets[] = {"flower", "describe"};   // the two questions, in order

// kevo's hidden temporaries: its folders' (base/outdir.h) and its files' (.NAME.tmp.PID).
static int is_temporary(const char *name)
{
    if (!strncmp(name, ".kevo-tmp-", 10) || !strncmp(name, ".kevo-old-", 10))
        return 1;
    const char *t = name[0] == '.' ? strstr(name + 1, ".tmp.") : NULL;
    if (!t || !t[5])
        return 0;
    for (t += 5; *t >= '0' && *t <= '9'; t++)
        ;
    return *t == '\0';
}

// A folder of a previous `kevo demo` (a kevo_outdir_owned_fn): report.html, and flower/ and
// describe/ holding only run folders of kevo's (kevo_runfolder_owned) and a map/ analysis folder
// (kevo_analysis_folder_owned), at least one run among them; kevo's temporaries besides.
static kevo_status demo_owned(const char *dir, kevo_error *err)
{
    char bad[600] = "", sub[4400], path[4700];
    int runs = 0;
    kevo_error inner = {0};
    DIR *d = opendir(dir);
    if (!d)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot list the folder", dir);
    for (struct dirent *e; !bad[0] && !inner.status && (e = readdir(d));) {
        const char *s = e->d_name;
        int set = 0;
        for (size_t k = 0; k < sizeof demo_sets / sizeof demo_sets[0]; k++)
            set |= !strcmp(s, demo_sets[k]);
        if (!strcmp(s, ".") || !strcmp(s, "..") || is_temporary(s) ||
            (!strcmp(s, "report.html") && kevo_entry_kind(dir, s) == 'f'))
            continue;
        if (!set || kevo_entry_kind(dir, s) != 'd') {
            snprintf(bad, sizeof bad, "%.200s", s);
            break;
        }
        snprintf(sub, sizeof sub, "%s/%s", dir, s);
        DIR *sd = opendir(sub);
        if (!sd) {
            snprintf(bad, sizeof bad, "%.200s/ (unreadable)", s);
            break;
        }
        for (struct dirent *x; !bad[0] && !inner.status && (x = readdir(sd));) {
            const char *t = x->d_name;
            if (!strcmp(t, ".") || !strcmp(t, "..") || is_temporary(t))
                continue;
            snprintf(path, sizeof path, "%s/%s", sub, t);
            if (kevo_entry_kind(sub, t) != 'd')
                snprintf(bad, sizeof bad, "%.200s/%.200s", s, t);
            else if (!strcmp(t, "map"))
                kevo_analysis_folder_owned(path, &inner);
            else if (kevo_runfolder_owned(path, &inner) == KEVO_OK)
                runs++;
        }
        closedir(sd);
    }
    closedir(d);
    if (bad[0])
        return kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not a kevo demo folder (%s in it "
                         "is not one of kevo's files); refusing to replace it (move it out of the "
                         "folder, or choose another -o)", dir, bad);
    if (inner.status) {
        *err = inner;
        return err->status;
    }
    if (!runs)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not a kevo demo folder (no run "
                         "folder of kevo's in it); refusing to replace it", dir);
    return KEVO_OK;
}

static int by_image(const void *a, const void *b)
{
    const demo_item *x = a, *y = b;
    int c = x->set_index - y->set_index;
    return c ? c : strcmp(x->image, y->image);
}

// Every line of every examples/*/questions.jsonl.
static kevo_status read_examples(const char *examples, demo_item *items, int *n,
                                 kevo_error *err)
{
    *n = 0;
    char path[4400], *text;
    size_t len;
    const char *const *sets = demo_sets;
    for (size_t s = 0; s < sizeof demo_sets / sizeof demo_sets[0]; s++) {
        snprintf(path, sizeof path, "%s/%s/questions.jsonl", examples, sets[s]);
        kevo_status st = kevo_read_file(path, 1 << 20, &text, &len, err);
        if (st != KEVO_OK)
            return st;
        int line = 0;
        for (char *p = text, *next; *p; p = next) {
            next = strchr(p, '\n');
            next = next ? (*next = '\0', next + 1) : p + strlen(p);
            line++;
            if (!*p)
                continue;
            cJSON *j;
            char where[4500];
            snprintf(where, sizeof where, "%s line %d", path, line);
            if ((st = kevo_json_parse(p, strlen(p), where, &j, err)) != KEVO_OK)
                break;
            const char *image, *question, *answer;
            snprintf(where + strlen(where), sizeof where - strlen(where), ":");
            if (*n == MAX_ITEMS)
                st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: more than %d examples", path,
                               MAX_ITEMS);
            if (st == KEVO_OK &&
                !(st = kevo_json_str(j, "image", 0, NULL, &image, where, err)) &&
                !(st = kevo_json_str(j, "question", 0, NULL, &question, where, err)) &&
                !(st = kevo_json_str(j, "answer", 1, "", &answer, where, err))) {
                demo_item *it = &items[(*n)++];
                snprintf(it->image, sizeof it->image, "%.2000s/%s/%.1000s", examples, sets[s],
                         image);
                snprintf(it->set, sizeof it->set, "%s", sets[s]);
                it->set_index = (int)s;
                it->question = strdup(question);
                it->expected = strdup(answer);
            }
            cJSON_Delete(j);
            if (st != KEVO_OK)
                break;
        }
        free(text);
        if (st != KEVO_OK)
            return st;
    }
    qsort(items, (size_t)*n, sizeof *items, by_image);
    return KEVO_OK;
}

// Asks every item its question; one run folder each under tmp/<set>/ (the demo's temporary
// folder), which its run knows by its final name, out/<set>/<image> (the per-run reports name it).
static kevo_status generate_all(const kevo_model *m, demo_item *items, int n, const char *tmp,
                                const char *out, kevo_run_params *params, int quiet,
                                kevo_error *err)
{
    kevo_run *run = NULL;
    kevo_status st = kevo_run_create(m, params, &run, err);
    kevo_set_threads(params->n_threads);   // --threads for preprocessing and analyses too
    int threads = run ? kevo_run_threads(run) : 0;
    for (int i = 0; st == KEVO_OK && i < n; i++) {
        demo_item *it = &items[i];
        const char *base = kevo_path_base(it->image), *dot = strrchr(base, '.');
        int stem = dot ? (int)(dot - base) : (int)strlen(base);
        snprintf(it->run_dir, sizeof it->run_dir, "%s/%s/%.*s", tmp, it->set, stem, base);
        kevo_request q = {it->image, it->question, KEVO_TEMPLATE_LLAVA_V1, KEVO_IMAGE_MODE_PAD};
        kevo_answer a = {0};
        st = kevo_llava_answer(m, run, &q, &a, err);
        if (st == KEVO_OK)
            st = kevo_llava_save(m, run, &q, &a, NULL, it->run_dir, threads, 0, err);
        if (st == KEVO_OK) {
            it->answer = strdup(a.text);
            int ok = strcmp(a.text, it->expected) == 0;
            if (!quiet)
                printf("  %-14s %s%s%s%s\n", base, a.text, !it->expected[0] ? "" : ok
                       ? "  (correct)" : "  (expected: ", it->expected[0] && !ok ? it->expected
                       : "", it->expected[0] && !ok ? ")" : "");
        }
        kevo_answer_clear(&a);
        if (st == KEVO_OK)
            st = kevo_runfolder_load(it->run_dir, &it->run, err);
        if (st == KEVO_OK) {   // its files are open; the name is only what reports show
            char final[4400];
            snprintf(final, sizeof final, "%s/%s/%.*s", out, it->set, stem, base);
            free(it->run->dir);
            if (!(it->run->dir = strdup(final)))
                st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
        }
    }
    kevo_run_free(run);
    return st;
}

// "critical layer 7, mutation layer 9; stages: ..." for the report and the terminal.
static void describe_stages(const kevo_stages *s, char *buf, size_t size)
{
    kevo_stage_range rg[3];
    char label[96];
    int n = kevo_stages_ranges(s, rg), o;
    o = s->critical >= 0 ? snprintf(buf, size, "critical layer %d", s->critical)
                         : snprintf(buf, size, "no clear critical layer");
    o += s->mutation >= 0 ? snprintf(buf + o, size - (size_t)o, ", mutation layer %d (%d of %d "
                                     "tokens mutate)", s->mutation, s->n_mutated, s->n_tokens)
                          : snprintf(buf + o, size - (size_t)o, ", no mutation layer");
    o += snprintf(buf + o, size - (size_t)o, "; stages:");
    for (int i = 0; i < n && o < (int)size; i++)
        o += snprintf(buf + o, size - (size_t)o, "%s %s", i ? "," : "",
                      kevo_stage_label(&rg[i], label, sizeof label));
}

// The runs of one set: each analysed into its folder, then all mapped together.
static kevo_status analyse_set(const kevo_model *m, demo_item *items, int n, const char *set,
                               const char *out, char *stages_text, size_t size, kevo_error *err)
{
    kevo_analyze_params p = kevo_analyze_default_params();
    const kevo_runfolder *runs[MAX_ITEMS];
    int steps[MAX_ITEMS], k = 0;
    char dir[4400];
    for (int i = 0; i < n; i++) {
        if (strcmp(items[i].set, set) != 0)
            continue;
        snprintf(dir, sizeof dir, "%s/analysis", items[i].run_dir);
        kevo_status st = kevo_analyze_run(items[i].run, m, &p, dir, NULL, NULL, err);
        if (st != KEVO_OK)
            return st;
        runs[k] = items[i].run;
        steps[k++] = -1;
    }
    p.tsne.perplexity = 35;   // combined_tsne.py
    snprintf(dir, sizeof dir, "%s/%s/map", out, set);
    kevo_stages *s = NULL;
    kevo_status st = kevo_analyze_across(runs, k, m, steps, &p, dir, &s, NULL, err);
    if (st == KEVO_OK)
        describe_stages(s, stages_text, size);
    kevo_stages_free(s);
    return st;
}

static kevo_status write_report(const demo_item *items, int n, const char *tmp,
                                const char *out, const char *flower_stages,
                                const char *describe_stages_text, const kevo_model *m,
                                kevo_error *err)
{
    char answers[8192], intro[1024], flower_map[4400], heat[4400], area[4400], dheat[4400],
        dmap[4400], path[4400];
    int correct = 0, asked = 0;
    size_t o = 0;
    for (int i = 0; i < n && o < sizeof answers; i++) {
        int has = items[i].expected[0] != 0, ok = has && strcmp(items[i].answer,
                                                                items[i].expected) == 0;
        asked += has;
        correct += ok;
        o += (size_t)snprintf(answers + o, sizeof answers - o, "%s: \"%s\"%s%s%s\n",
                              kevo_path_base(items[i].image), items[i].answer,
                              has ? (ok ? "  [correct]" : "  [expected \"") : "",
                              has && !ok ? items[i].expected : "", has && !ok ? "\"]" : "");
    }
    const kevo_config *c = kevo_model_config(m);
    snprintf(intro, sizeof intro, "The bundled demo model (%s: CLIP-style tower, %d-layer LLaMA "
             "of width %d) answered %d of %d questions with the expected answer. Each run "
             "folder under %s holds its own analysis/report.html.", kevo_model_dir(m),
             c->text_layers, c->text_hidden, correct, asked, out);
    // The first colour run and the first description as examples of the per-run figures.
    const demo_item *flower = NULL, *describe = NULL;
    for (int i = 0; i < n; i++) {
        if (!flower && !strcmp(items[i].set, "flower"))
            flower = &items[i];
        if (!describe && !strcmp(items[i].set, "describe"))
            describe = &items[i];
    }
    snprintf(flower_map, sizeof flower_map, "%s/flower/map/tsne.png", tmp);
    snprintf(heat, sizeof heat, "%s/analysis/heatmap.png", flower->run_dir);
    char word[64];
    int step = kevo_answer_step(flower->run->question, (const char *const *)flower->run->pieces,
                                flower->run->n_steps, word, sizeof word);
    snprintf(area, sizeof area, "%s/analysis/area/step_%03d.png", flower->run_dir,
             step < 0 ? 0 : step);
    snprintf(dheat, sizeof dheat, "%s/analysis/heatmap.png", describe->run_dir);
    snprintf(dmap, sizeof dmap, "%s/analysis/tsne.png", describe->run_dir);
    kevo_report_item report[] = {
        {"The demo", intro, NULL, NULL},
        {"Answers", answers, NULL, NULL},
        {"Colour questions: the answer word across images (t-SNE)", flower_stages, flower_map,
         "Each image's hidden states at the colour word's step, layers 1..L, coloured by the "
         "stages detected over every token of every colour run."},
        {"One colour answer: divergence between consecutive layers", NULL, heat,
         "The authors' divergence per generated token (rows) and transition (columns), each "
         "column scaled by its maximum."},
        {"One colour answer: candidate tokens at the colour word", NULL, area,
         "The probability of each candidate token (the top tokens of the deepest layers) at "
         "every layer, read through the LM head (the raw logit lens)."},
        {"A description: divergence between consecutive layers", describe_stages_text, dheat,
         NULL},
        {"A description: t-SNE of every token's hidden states", NULL, dmap, NULL},
    };
    kevo_status st = kevo_path_join(path, sizeof path, tmp, "report.html", err);
    return st ? st : kevo_report_write(path, "kevo demo: how the answer forms, layer by layer",
                                       report, (int)(sizeof report / sizeof report[0]), err);
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},      {"model", required_argument, 0, 'm'},
        {"examples", required_argument, 0, 'e'}, {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = "out/demo", *model_arg = NULL, *examples_arg = NULL;
    kevo_run_params params = kevo_run_default_params();
    params.max_new_tokens = 64;   // the demo's answers are a sentence
    int quiet = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'm': model_arg = optarg; break;
        case 'e': examples_arg = optarg; break;
        case 'q': quiet = 1; break;
        case 't':
            if (!cli_parse_int("demo", "--threads", optarg, 1, 1024, &params.n_threads))
                return EXIT_USAGE;
            break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: return cli_usage_error("demo", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
    char model_dir[4096], examples[4096];
    kevo_error err;
    if (model_arg)
        snprintf(model_dir, sizeof model_dir, "%s", model_arg);
    else if (!find_bundled("models/demo", model_dir, sizeof model_dir))
        return cli_report(&(kevo_error){KEVO_ERR_IO, "no models/demo here or beside the kevo "
                                        "binary; give --model DIR"});
    if (examples_arg)
        snprintf(examples, sizeof examples, "%s", examples_arg);
    else if (!find_bundled("examples", examples, sizeof examples))
        return cli_report(&(kevo_error){KEVO_ERR_IO, "no examples/ here or beside the kevo "
                                        "binary; give --examples DIR"});
    const volatile sig_atomic_t *interrupted = cli_catch_interrupt();
    params.interrupt = interrupted;

    static demo_item items[MAX_ITEMS];
    int n = 0;
    kevo_model *m = NULL;
    kevo_outdir *od = NULL;
    char flower_stages[1024] = "", describe_text[1024] = "";
    double t0 = kevo_now();
    // A destination kevo may not replace or cannot write: refused before anything is read.
    kevo_status st = kevo_outdir_check(out, demo_owned, &err);
    if (st == KEVO_OK)
        st = read_examples(examples, items, &n, &err);
    if (st == KEVO_OK)
        st = kevo_model_load(model_dir, &m, &err);
    if (st == KEVO_OK && !quiet)
        printf("kevo demo: %s on %d images from %s\n", model_dir, n, examples);
    if (st == KEVO_OK)
        st = kevo_outdir_open(out, demo_owned, &od, &err);
    const char *tmp = od ? kevo_outdir_path(od) : NULL;
    if (st == KEVO_OK)
        st = generate_all(m, items, n, tmp, out, &params, quiet, &err);
    if (st == KEVO_OK && !quiet)
        printf("analysing %d runs...\n", n);
    // The analyses do not watch for Ctrl-C or SIGTERM: it is seen between them, and always
    // before the new demo is swapped in.
    for (size_t k = 0; st == KEVO_OK && k < sizeof demo_sets / sizeof demo_sets[0]; k++) {
        if (*interrupted)
            st = kevo_fail(&err, KEVO_ERR_INTERRUPTED, "interrupted");
        else
            st = analyse_set(m, items, n, demo_sets[k], tmp, k ? describe_text : flower_stages,
                             k ? sizeof describe_text : sizeof flower_stages, &err);
    }
    if (st == KEVO_OK)
        st = write_report(items, n, tmp, out, flower_stages, describe_text, m, &err);
    if (st == KEVO_OK && *interrupted)
        st = kevo_fail(&err, KEVO_ERR_INTERRUPTED, "interrupted");
    if (st == KEVO_OK)
        st = kevo_outdir_commit(od, &err);
    else
        kevo_outdir_abort(od, &err);
    if (st == KEVO_OK)
        printf("colour answers: %s\ndescriptions:   %s\nreport: %s/report.html (%.1f s)\n",
               flower_stages, describe_text, out, kevo_now() - t0);
    for (int i = 0; i < n; i++) {
        free(items[i].question);
        free(items[i].expected);
        free(items[i].answer);
        kevo_runfolder_free(items[i].run);
    }
    kevo_model_free(m);
    return st == KEVO_OK ? EXIT_OK : cli_report(&err);
}
