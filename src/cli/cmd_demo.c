// cmd_demo.c — `kevo demo`: the bundled model on the bundled images, every analysis, one report.
//
// Each folder of examples/ holds images and a questions.jsonl ({"image", "question", "answer"}
// per line). Every image is asked its question with the demo model (one run folder each), every
// run is analysed, the runs of a folder are mapped together at their answer words (the
// multi-image t-SNE), and OUT_DIR/report.html gathers the answers (checked against the expected
// ones), the critical and mutation layers and the figures.
//
// OUT_DIR is one output folder (kevo/files.h): checked before anything is read, built in a
// hidden PARENT/.kevo-tmp-PID-NAME and swapped in whole at the end, so a failure, Ctrl-C or a
// kill leaves the previous demo complete, never new runs beside an old report.html. Only a
// folder of a previous demo is replaced (kevo_demo_folder_owned).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/generation.h"

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

typedef struct demo_item {
    const char *image, *question, *expected;   // borrowed from the examples
    int set;                                   // index into kevo_demo_sets
    char run_dir[KEVO_PATH_MAX];
    char *answer;
    kevo_runfolder *run;
} demo_item;

// A bundled folder: NAME in the current directory, else beside the binary (build/kevo ->
// ../NAME), so `kevo demo` works from the repository and from the build folder.
static int find_bundled(const char *name, char out[KEVO_PATH_MAX])
{
    kevo_error err;
    if (kevo_dir_exists(name))
        return cli_path(out, &err, "%s", name) == KEVO_OK;
    char exe[KEVO_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    return cli_path(out, &err, "%s/../%s", exe, name) == KEVO_OK && kevo_dir_exists(out);
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
    kevo_save_options save = {.known = NULL, .n_threads = run ? kevo_run_threads(run) : 0,
                              .load_s = 0, .store = KEVO_DTYPE_F32};
    for (int i = 0; st == KEVO_OK && i < n; i++) {
        demo_item *it = &items[i];
        const char *base, *set = kevo_demo_sets[it->set];
        int stem = cli_stem(it->image, &base);
        st = cli_path(it->run_dir, err, "%s/%s/%.*s", tmp, set, stem, base);
        kevo_request q = {it->image, it->question, KEVO_TEMPLATE_LLAVA_V1, KEVO_IMAGE_MODE_PAD};
        kevo_answer a = {0};
        if (st == KEVO_OK)
            st = kevo_llava_answer(m, run, &q, &a, err);
        if (st == KEVO_OK)
            st = kevo_llava_save(m, run, &q, &a, &save, it->run_dir, err);
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
        char final[KEVO_PATH_MAX];   // its files are open; the name is only what reports show
        if (st == KEVO_OK && (st = cli_path(final, err, "%s/%s/%.*s", out, set, stem, base)) ==
                                 KEVO_OK)
            st = kevo_runfolder_rename(it->run, final, err);
    }
    kevo_run_free(run);
    return st;
}

// "critical layer 7, mutation layer 9; stages: ..." for the report and the terminal.
static void describe_stages(const kevo_stages *stages, char *buf, size_t size)
{
    kevo_stage_summary s = kevo_stages_summary(stages);
    char text[512];
    int o = s.critical >= 0 ? snprintf(buf, size, "critical layer %d", s.critical)
                            : snprintf(buf, size, "no clear critical layer");
    o += s.mutation >= 0 ? snprintf(buf + o, size - (size_t)o, ", mutation layer %d (%d of %d "
                                    "tokens mutate)", s.mutation, s.n_mutated, s.n_tokens)
                         : snprintf(buf + o, size - (size_t)o, ", no mutation layer");
    snprintf(buf + o, size - (size_t)o, "; stages:%s", cli_stages_text(stages, text, sizeof text));
}

// The runs of one set: each analysed into its folder, then all mapped together.
static kevo_status analyse_set(const kevo_model *m, demo_item *items, int n, int set,
                               const char *out, char *stages_text, size_t size, kevo_error *err)
{
    kevo_analyze_params p = kevo_analyze_default_params();
    const kevo_runfolder **runs = malloc(sizeof *runs * (size_t)(n ? n : 1));
    int *steps = malloc(sizeof *steps * (size_t)(n ? n : 1)), k = 0;
    char dir[KEVO_PATH_MAX];
    kevo_status st = runs && steps ? KEVO_OK : kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int i = 0; st == KEVO_OK && i < n; i++) {
        if (items[i].set != set)
            continue;
        if ((st = cli_path(dir, err, "%s/analysis", items[i].run_dir)) == KEVO_OK)
            st = kevo_analyze_run(items[i].run, m, &p, dir, NULL, NULL, err);
        runs[k] = items[i].run;
        steps[k++] = -1;   // each run's answer word
    }
    p.tsne.perplexity = 35;   // combined_tsne.py
    kevo_stages *s = NULL;
    if (st == KEVO_OK)
        st = cli_path(dir, err, "%s/%s/map", out, kevo_demo_sets[set]);
    if (st == KEVO_OK)
        st = kevo_analyze_across(runs, k, m, steps, &p, dir, &s, NULL, err);
    if (st == KEVO_OK)
        describe_stages(s, stages_text, size);
    kevo_stages_free(s);
    free(runs);
    free(steps);
    return st;
}

// The report's figure paths, each in the temporary folder.
typedef struct report_paths {
    char patches[KEVO_PATH_MAX], flower_map[KEVO_PATH_MAX], heat[KEVO_PATH_MAX],
        area[KEVO_PATH_MAX], dheat[KEVO_PATH_MAX], dmap[KEVO_PATH_MAX], report[KEVO_PATH_MAX];
    char word[64];
} report_paths;

// The first colour run and the first description as examples of the per-run figures.
static kevo_status report_figures(const demo_item *items, int n, const char *tmp,
                                  report_paths *f, kevo_error *err)
{
    const demo_item *flower = NULL, *describe = NULL;
    for (int i = 0; i < n; i++) {
        if (!flower && items[i].set == 0)
            flower = &items[i];
        if (!describe && items[i].set == 1)
            describe = &items[i];
    }
    f->word[0] = '\0';
    int step = kevo_runfolder_answer_step(flower->run, f->word, sizeof f->word);
    char stem[256];
    kevo_patch_figure_stem(step < 0 ? "" : f->word, stem, sizeof stem);
    kevo_status st = cli_path(f->patches, err, "%s/analysis/patches/%s.png", flower->run_dir,
                              stem);
    if (st == KEVO_OK)
        st = cli_path(f->flower_map, err, "%s/%s/map/tsne.png", tmp, kevo_demo_sets[0]);
    if (st == KEVO_OK)
        st = cli_path(f->heat, err, "%s/analysis/heatmap.png", flower->run_dir);
    if (st == KEVO_OK)
        st = cli_path(f->area, err, "%s/analysis/area/step_%03d.png", flower->run_dir,
                      step < 0 ? 0 : step);
    if (st == KEVO_OK)
        st = cli_path(f->dheat, err, "%s/analysis/heatmap.png", describe->run_dir);
    if (st == KEVO_OK)
        st = cli_path(f->dmap, err, "%s/analysis/tsne.png", describe->run_dir);
    if (st == KEVO_OK)
        st = kevo_path_join(f->report, sizeof f->report, tmp, "report.html", err);
    return st;
}

static kevo_status write_report(const demo_item *items, int n, const char *tmp,
                                const char *out, const char *flower_stages,
                                const char *describe_stages_text, const kevo_model *m,
                                kevo_error *err)
{
    char answers[8192], intro[1024];
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
    report_paths *f = malloc(sizeof *f);
    kevo_status st = f ? report_figures(items, n, tmp, f, err)
                       : kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    if (st != KEVO_OK) {
        free(f);
        return st;
    }
    char patch_caption[512];
    snprintf(patch_caption, sizeof patch_caption, "The probability of \"%s\" on every patch "
             "of the first colour image, one map per layer (kevo run --image-states; the run's "
             "own report lets you explore every patch at every layer).", f->word);
    kevo_report_item report[] = {
        {"The demo", intro, NULL, NULL},
        {"Where the colour word appears on the image, layer by layer", NULL,
         kevo_file_exists(f->patches) ? f->patches : NULL, patch_caption},
        {"Answers", answers, NULL, NULL},
        {"Colour questions: the answer word across images (t-SNE)", flower_stages,
         f->flower_map,
         "Each image's hidden states at the colour word's step, layers 1..L, coloured by the "
         "stages detected over every token of every colour run."},
        {"One colour answer: divergence between consecutive layers", NULL, f->heat,
         "The authors' divergence per generated token (rows) and transition (columns), each "
         "column scaled by its maximum."},
        {"One colour answer: candidate tokens at the colour word", NULL, f->area,
         "The probability of each candidate token (the top tokens of the deepest layers) at "
         "every layer, read through the LM head (the raw logit lens)."},
        {"A description: divergence between consecutive layers", describe_stages_text, f->dheat,
         NULL},
        {"A description: t-SNE of every token's hidden states", NULL, f->dmap, NULL},
    };
    st = kevo_report_write(f->report, "kevo demo: how the answer forms, layer by layer", report,
                           (int)(sizeof report / sizeof report[0]), err);
    free(f);
    return st;
}

int cmd_demo(int argc, char **argv)
{
    const char *out = "out/demo", *model_arg = NULL, *examples_arg = NULL;
    kevo_run_params params = kevo_run_default_params();
    params.max_new_tokens = 64;   // the demo's answers are a sentence
    int quiet = 0;
    const cli_option opts[] = {
        CLI_OPT_STRING("out", 'o', &out),           CLI_OPT_STRING("model", 0, &model_arg),
        CLI_OPT_STRING("examples", 0, &examples_arg), CLI_OPT_THREADS(&params.n_threads),
        CLI_OPT_FLAG("quiet", 'q', &quiet),         CLI_OPT_HELP,
        CLI_OPT_END,
    };
    int rc = cli_parse("demo", usage, CLI_NAME_UNKNOWN, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (optind != argc)
        return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
    char model_dir[KEVO_PATH_MAX], examples_dir[KEVO_PATH_MAX];
    kevo_error err;
    if (model_arg && cli_path(model_dir, &err, "%s", model_arg) != KEVO_OK)
        return cli_report(&err);
    if (!model_arg && !find_bundled("models/demo", model_dir))
        return cli_report(&(kevo_error){KEVO_ERR_IO, "no models/demo here or beside the kevo "
                                        "binary; give --model DIR"});
    if (examples_arg && cli_path(examples_dir, &err, "%s", examples_arg) != KEVO_OK)
        return cli_report(&err);
    if (!examples_arg && !find_bundled("examples", examples_dir))
        return cli_report(&(kevo_error){KEVO_ERR_IO, "no examples/ here or beside the kevo "
                                        "binary; give --examples DIR"});
    const volatile sig_atomic_t *interrupted = cli_catch_interrupt();
    params.interrupt = interrupted;

    kevo_examples *examples = NULL;
    demo_item *items = NULL;
    int n = 0;
    kevo_model *m = NULL;
    kevo_outdir *od = NULL;
    char flower_stages[1024] = "", describe_text[1024] = "";
    double t0 = kevo_now();
    // A destination kevo may not replace or cannot write: refused before anything is read.
    kevo_status st = kevo_outdir_check(out, kevo_demo_folder_owned, &err);
    if (st == KEVO_OK)
        st = kevo_examples_load(examples_dir, &examples, &err);
    if (st == KEVO_OK) {
        n = kevo_examples_count(examples);
        if (!(items = calloc((size_t)(n ? n : 1), sizeof *items)))
            st = kevo_fail(&err, KEVO_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; st == KEVO_OK && i < n; i++)
        items[i] = (demo_item){.image = kevo_examples_image(examples, i),
                               .question = kevo_examples_question(examples, i),
                               .expected = kevo_examples_expected(examples, i),
                               .set = kevo_examples_set(examples, i)};
    if (st == KEVO_OK)
        st = kevo_model_load(model_dir, &m, &err);
    // Every image position at every index: the reports open on the patch lens's maps.
    int *image_states = NULL;
    if (st == KEVO_OK)
        st = kevo_image_states_parse("all", kevo_model_config(m)->text_layers, &image_states,
                                     &params.n_image_states, &err);
    params.image_states = image_states;
    if (st == KEVO_OK && !quiet)
        printf("kevo demo: %s on %d images from %s\n", model_dir, n, examples_dir);
    if (st == KEVO_OK)
        st = kevo_outdir_open(out, kevo_demo_folder_owned, &od, &err);
    const char *tmp = od ? kevo_outdir_path(od) : NULL;
    if (st == KEVO_OK)
        st = generate_all(m, items, n, tmp, out, &params, quiet, &err);
    if (st == KEVO_OK && !quiet)
        printf("analysing %d runs...\n", n);
    // The analyses do not watch for Ctrl-C or SIGTERM: it is seen between them, and always
    // before the new demo is swapped in.
    for (int k = 0; st == KEVO_OK && k < KEVO_DEMO_N_SETS; k++) {
        if (*interrupted)
            st = kevo_fail(&err, KEVO_ERR_INTERRUPTED, "interrupted");
        else
            st = analyse_set(m, items, n, k, tmp, k ? describe_text : flower_stages,
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
    for (int i = 0; items && i < n; i++) {
        free(items[i].answer);
        kevo_runfolder_free(items[i].run);
    }
    free(items);
    kevo_examples_free(examples);
    free(image_states);
    kevo_model_free(m);
    return st == KEVO_OK ? EXIT_OK : cli_report(&err);
}
