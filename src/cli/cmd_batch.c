// cmd_batch.c — `kevo batch`: one question over many images with the model loaded once; one run
// folder per image, resumable, a failing image reported and skipped, a summary at the end.
//
// Bookkeeping that cannot lie: inputs that would share a run folder are refused before the model
// loads, and a finished run folder stands for an image only when everything that determines the
// run matches (kevo_runfolder_differs: model files, image bytes, question, template, image mode,
// max new tokens, compute precision, kevo's format); otherwise the image is rerun and stderr
// says why.
//
// Destinations are checked before the model loads (docs/run-folder.md, "Writing and replacing"):
// OUT_DIR must be a folder kevo can write, and each OUT_DIR/<stem> missing, empty or a run folder
// of kevo's; one with a user's file in it is refused only when its image is to be rerun (a reused
// run is not touched). Every input with an unusable destination is listed, nothing is run.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/generation.h"

static const char usage[] =
    "usage: kevo batch -m MODEL_DIR [--mmproj FILE] -p PROMPT -o OUT_DIR [options] IMAGE...\n"
    "\n"
    "Asks PROMPT about every IMAGE with the model loaded once and writes one run folder per\n"
    "image, OUT_DIR/<image file name without its extension>; inputs that would share a folder\n"
    "(a.png and a.jpg, d1/a.png and d2/a.png) are refused. A finished run folder is reused when\n"
    "everything that determines the run matches (the model's files, the image's bytes, the\n"
    "question, template, image mode, max new tokens, compute precision, kevo's format), so an\n"
    "interrupted batch resumes where it stopped; otherwise the image is rerun and stderr says\n"
    "why. A run folder in the way that is not kevo's, or that holds a file of yours and would\n"
    "be rerun, is refused before the model loads (every such input listed). An image that\n"
    "fails is reported and skipped. A summary (image, answer, tokens,\n"
    "seconds, done / reused / rerun) is printed and written to OUT_DIR/summary.csv. With\n"
    "--analyze, every run is also analysed (RUN/analysis/, as kevo\n"
    "analyze) and the runs' answer words are mapped together (OUT_DIR/tsne/, as kevo tsne\n"
    "--answer).\n"
    "\n"
    CLI_MODEL_HELP
    "  -p, --prompt TEXT    the question\n"
    "  -o, --out DIR        where the run folders go\n"
    CLI_GENERATION_HELP
    CLI_RECORDING_HELP
    "  --analyze            analyse every run and map the runs together\n"
    "  -q, --quiet          no progress bar\n";

typedef struct item {
    const char *image;
    char dir[KEVO_PATH_MAX];
    char *answer;        // NULL until answered (or when failed)
    int tokens;
    double seconds;
    const char *status;  // "done", "reused", "rerun: <why>", "failed: ...", "not run (...)"
    char failure[KEVO_ERROR_MAX + 16];
    char why[KEVO_ERROR_MAX];   // why an earlier run folder does not stand for the image
    char sha256[65];            // the image file's
    int deferred;               // a kevo run folder that is kevo's to replace only if rerun
} item;

// The batch's own paths besides the run folders.
typedef struct batch_paths {
    const char *out;                // OUT_DIR
    char summary[KEVO_PATH_MAX];    // OUT_DIR/summary.csv
    char tsne[KEVO_PATH_MAX];       // OUT_DIR/tsne, the runs' map with --analyze
} batch_paths;

// OUT_DIR/<image file name without its extension>: the name `kevo tsne OUT/...` and a reader
// know an image's run by. Inputs that would share a folder get no made-up names (a "-2" would
// depend on the other inputs and their order, so a later batch could pair a folder with another
// image); they are refused, every collision listed, before anything is loaded or written.
static int name_runs(item *items, int n, const char *out, int analyze)
{
    int bad = 0;
    kevo_error err;
    for (int i = 0; i < n; i++) {
        const char *base;
        int len = cli_stem(items[i].image, &base);
        if (cli_path(items[i].dir, &err, "%s/%.*s", out, len, base) != KEVO_OK) {
            fprintf(stderr, "kevo batch: %s (the run folder of %s)\n", err.msg, items[i].image);
            items[i].dir[0] = '\0';   // shares no folder with another input
            bad = 1;
            continue;
        }
        const char *stem = items[i].dir + strlen(out) + 1;
        const char *reserved = !*stem || !strcmp(stem, ".") || !strcmp(stem, "..")
                                   ? "is not a folder name"
                               : !strcmp(stem, "summary.csv") ? "is the batch's summary file"
                               : analyze && !strcmp(stem, "tsne") ? "is where --analyze puts "
                                                                    "the runs' map"
                                                                  : NULL;
        if (reserved) {
            fprintf(stderr, "kevo batch: %s cannot be the run folder of %s: '%s' %s\n",
                    items[i].dir, items[i].image, stem, reserved);
            bad = 1;
        }
    }
    for (int i = 0; i < n; i++) {
        int first = items[i].dir[0] != '\0', shared = 0;
        for (int j = 0; j < i && first; j++)
            first = strcmp(items[j].dir, items[i].dir) != 0;
        for (int j = i + 1; j < n && first && !shared; j++)
            shared = strcmp(items[j].dir, items[i].dir) == 0;
        if (!first || !shared)
            continue;
        fprintf(stderr, "kevo batch: these inputs would share the run folder %s:", items[i].dir);
        for (int j = i; j < n; j++)
            if (strcmp(items[j].dir, items[i].dir) == 0)
                fprintf(stderr, " %s", items[j].image);
        fputc('\n', stderr);
        bad = 1;
    }
    if (bad)
        fprintf(stderr, "kevo batch: nothing was run; rename the images or batch them into "
                "separate -o folders\n");
    return bad;
}

// The destinations, before anything is read: OUT_DIR a folder kevo can write (created here),
// OUT_DIR/summary.csv a file if it exists, OUT_DIR/tsne kevo's with --analyze, and each run
// folder missing, empty or kevo's to replace. A run folder of kevo's with a user's file in it is
// left to check_reruns (it may stand for its image and be reused). Lists every problem; returns
// the exit code, or 0 to go on.
static int check_destinations(item *items, int n, const batch_paths *paths, int analyze)
{
    kevo_error err;
    struct stat st;
    int code = 0;
    if (stat(paths->out, &st) == 0 && !S_ISDIR(st.st_mode)) {   // a link to a folder is fine
        fprintf(stderr, "kevo: %s: exists and is not a folder; the run folders go there\n",
                paths->out);
        return EXIT_USAGE;
    }
    if (kevo_mkdirs(paths->out, &err) != KEVO_OK)
        return cli_report(&err);
    if (lstat(paths->summary, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
        fprintf(stderr, "kevo: %s: exists and is not a file; the batch's summary goes there\n",
                paths->summary);
        code = EXIT_USAGE;
    }
    if (analyze && kevo_analysis_check_dest(paths->tsne, &err) != KEVO_OK) {
        if (err.status != KEVO_ERR_ARG)
            return cli_report(&err);
        code = cli_report(&err);
    }
    for (int i = 0; i < n; i++) {
        if (kevo_runfolder_check_dest(items[i].dir, &err) == KEVO_OK)
            continue;
        if (err.status != KEVO_ERR_ARG)   // OUT_DIR cannot be written: the same for every image
            return cli_report(&err);
        if (kevo_runfolder_marked(items[i].dir)) {
            items[i].deferred = 1;
            continue;
        }
        fprintf(stderr, "kevo: %s (the run folder of %s)\n", err.msg, items[i].image);
        code = EXIT_USAGE;
    }
    return code;
}

// Whether the finished run folder of `it` stands for the run `want` describes: 1 it does (its
// answer is reused), 0 the image must run (why says why when there was an earlier run).
static int reusable(item *it, const kevo_run_identity *want, char *why, size_t size)
{
    char path[KEVO_PATH_MAX];
    kevo_runfolder *rf = NULL;
    kevo_error err;
    why[0] = '\0';
    if (cli_path(path, &err, "%s/run.json", it->dir) != KEVO_OK || !kevo_file_exists(path))
        return 0;
    if (kevo_runfolder_load(it->dir, &rf, &err) != KEVO_OK) {
        snprintf(why, size, "the earlier run folder does not load (%.900s)", err.msg);
        return 0;
    }
    int same = !kevo_runfolder_differs(rf, want, why, size);
    if (same) {
        it->answer = strdup(kevo_runfolder_text(rf));
        it->tokens = kevo_runfolder_n_steps(rf);
    }
    kevo_runfolder_free(rf);
    return same && it->answer;
}

// With the model's identity, before the model loads: each image's digest (an image that cannot
// be read fails here and is skipped), whether its finished run folder stands for it (reused, and
// never touched but for its analysis/ with --analyze), and for every image to be rerun that its
// folder is kevo's to replace. Lists every problem; returns the exit code, or 0 to go on.
static int check_reruns(item *items, int n, kevo_run_identity *id, int analyze,
                        const volatile sig_atomic_t *interrupted, int *failed)
{
    kevo_error err;
    char path[KEVO_PATH_MAX];
    int code = 0;
    for (int i = 0; i < n && !*interrupted; i++) {
        item *it = &items[i];
        if (kevo_image_digest(it->image, it->sha256, &err) != KEVO_OK) {
            snprintf(it->failure, sizeof it->failure, "failed: %s", err.msg);
            it->status = it->failure;
            (*failed)++;
            continue;
        }
        memcpy(id->image_sha256, it->sha256, sizeof id->image_sha256);
        kevo_status st = KEVO_OK;
        if (reusable(it, id, it->why, sizeof it->why)) {
            it->status = "reused";
            if (analyze && ((st = cli_path(path, &err, "%s/analysis", it->dir)) != KEVO_OK ||
                            (st = kevo_analysis_check_dest(path, &err)) != KEVO_OK))
                fprintf(stderr, "kevo: %s (the analysis of %s's reused run)\n", err.msg,
                        it->image);
        } else if (it->deferred && (st = kevo_runfolder_check_dest(it->dir, &err)) != KEVO_OK) {
            fprintf(stderr, "kevo: %s (%s is to be rerun%s%s)\n", err.msg, it->image,
                    it->why[0] ? ": " : "", it->why);
        }
        if (st != KEVO_OK && code != EXIT_RUNTIME)
            code = st == KEVO_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
    }
    return code;
}

static void progress_bar(int done, int total, const char *current)
{
    int width = 30, filled = total ? done * width / total : width;
    fprintf(stderr, "\r[");
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '=' : i == filled ? '>' : ' ', stderr);
    fprintf(stderr, "] %d/%d %-40.40s", done, total, current ? kevo_path_base(current) : "");
    fflush(stderr);
}

// The summary table on stdout and as CSV beside the runs. The status says whether an answer was
// computed now ("done", "rerun: why") or read from a finished run that matches ("reused").
// summary.csv is replaced atomically (kevo_outfile); 0 when it could not be written.
static int summarize(const item *items, int n, const batch_paths *paths)
{
    printf("%-28s %-8s %7s  %s\n", "image", "tokens", "seconds", "answer / status");
    for (int i = 0; i < n; i++) {
        const item *it = &items[i];
        const char *mark = !it->answer                          ? ""
                           : strcmp(it->status, "reused") == 0    ? "  [reused]"
                           : strncmp(it->status, "rerun", 5) == 0 ? "  [rerun]"
                                                                  : "";
        printf("%-28.28s %-8d %7.1f  %s%s\n", kevo_path_base(it->image), it->tokens, it->seconds,
               it->answer ? it->answer : it->status, mark);
    }
    kevo_outfile *f;
    kevo_error err;
    if (kevo_outfile_open(paths->summary, &f, &err) != KEVO_OK) {
        fprintf(stderr, "kevo: %s\n", err.msg);
        return 0;
    }
    FILE *s = kevo_outfile_stream(f);
    fprintf(s, "image,run_folder,status,tokens,seconds,answer\n");
    for (int i = 0; i < n; i++) {
        const item *it = &items[i];
        const char *text[] = {it->image, it->dir, it->status};
        for (int k = 0; k < 3; k++)
            kevo_csv_text(s, text[k]), fputc(',', s);
        fprintf(s, "%d,%.3f,", it->tokens, it->seconds);
        kevo_csv_text(s, it->answer ? it->answer : "");
        fputc('\n', s);
    }
    if (kevo_outfile_commit(f, &err) == KEVO_OK)
        return 1;
    fprintf(stderr, "kevo: %s\n", err.msg);
    return 0;
}

// --analyze: each finished run into RUN/analysis, then the runs together into OUT_DIR/tsne.
static kevo_status analyze_all(const item *items, int n, const kevo_model *m,
                               const batch_paths *paths, int bar)
{
    kevo_analyze_params p = kevo_analyze_default_params();
    kevo_runfolder **runs = calloc((size_t)n + 1, sizeof *runs);
    int *steps = calloc((size_t)n + 1, sizeof *steps), n_runs = 0;
    kevo_status worst = runs && steps ? KEVO_OK : KEVO_ERR_NOMEM;
    kevo_error err;
    char dir[KEVO_PATH_MAX];
    for (int i = 0; runs && steps && i < n; i++) {
        if (!items[i].answer)   // failed or not run
            continue;
        if (bar)
            progress_bar(i, n, "analysing");
        kevo_runfolder *rf = NULL;
        kevo_status st = cli_path(dir, &err, "%s/analysis", items[i].dir);
        if (st == KEVO_OK)
            st = kevo_runfolder_load(items[i].dir, &rf, &err);
        if (st == KEVO_OK)
            st = kevo_analyze_run(rf, m, &p, dir, NULL, NULL, &err);
        if (st != KEVO_OK) {
            fprintf(stderr, "%skevo: %s: analysis skipped: %s\n", bar ? "\n" : "", items[i].dir,
                    err.msg);
            kevo_runfolder_free(rf);
            worst = st;
            continue;
        }
        steps[n_runs] = -1;   // each run's answer word
        runs[n_runs++] = rf;
    }
    if (bar)
        progress_bar(n, n, NULL), fputc('\n', stderr);
    if (n_runs > 0) {
        p.tsne.perplexity = 35;   // combined_tsne.py
        kevo_stages *s = NULL;
        char text[512];
        if (kevo_analyze_across((const kevo_runfolder *const *)runs, n_runs, m, steps, &p,
                                paths->tsne, &s, NULL, &err) != KEVO_OK) {
            fprintf(stderr, "kevo: the runs' map was not made: %s\n", err.msg);
            worst = err.status;
        } else {
            printf("stages over %d tokens of %d runs:%s\n", kevo_stages_summary(s).n_tokens,
                   n_runs, cli_stages_text(s, text, sizeof text));
            printf("analyses in each run folder's analysis/, the runs' map in %s/\n",
                   paths->tsne);
        }
        kevo_stages_free(s);
    }
    for (int i = 0; i < n_runs; i++)
        kevo_runfolder_free(runs[i]);
    free(runs);
    free(steps);
    return worst;
}

int cmd_batch(int argc, char **argv)
{
    const char *model_dir = NULL, *mmproj = NULL, *out = NULL;
    kevo_request q = {.template_kind = KEVO_TEMPLATE_AUTO, .image_mode = KEVO_IMAGE_MODE_PAD};
    kevo_run_params params = kevo_run_default_params();
    cli_recording rec = {.store = KEVO_DTYPE_F32};
    int quiet = 0, analyze = 0;
    kevo_error err;
    const cli_option opts[] = {
        CLI_OPT_STRING("model", 'm', &model_dir), CLI_OPT_STRING("prompt", 'p', &q.question),
        CLI_OPT_STRING("out", 'o', &out),         CLI_OPT_FLAG("quiet", 'q', &quiet),
        CLI_OPT_HELP,                             CLI_OPT_FLAG("analyze", 0, &analyze),
        CLI_OPT_STRING("mmproj", 0, &mmproj),
        CLI_GENERATION_OPTIONS(&q, &params),      CLI_RECORDING_OPTIONS(&rec),
        CLI_OPT_END,
    };
    int rc = cli_parse("batch", usage, CLI_NAME_UNKNOWN, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!model_dir || !q.question || !out)
        return cli_usage_error("batch", "needs -m MODEL_DIR, -p PROMPT and -o OUT_DIR");
    if (optind == argc)
        return cli_usage_error("batch", "needs at least one IMAGE");

    int n = argc - optind, failed = 0, bar = !quiet && isatty(STDERR_FILENO);
    item *items = calloc((size_t)n, sizeof *items);
    if (!items)
        return cli_report(&(kevo_error){KEVO_ERR_NOMEM, "out of memory"});
    for (int i = 0; i < n; i++)
        items[i].image = argv[optind + i];
    if (name_runs(items, n, out, analyze)) {
        free(items);
        return EXIT_USAGE;
    }
    batch_paths paths = {.out = out};
    int code = cli_path(paths.summary, &err, "%s/summary.csv", out) != KEVO_OK ||
                       cli_path(paths.tsne, &err, "%s/tsne", out) != KEVO_OK
                   ? cli_report(&err)
                   : check_destinations(items, n, &paths, analyze);
    if (code) {
        fprintf(stderr, "kevo batch: nothing was run\n");
        free(items);
        return code;
    }
    const volatile sig_atomic_t *interrupted = cli_catch_interrupt();
    params.interrupt = interrupted;

    kevo_model *m = NULL;
    kevo_run *run = NULL;
    // Everything that determines a run but the image (the model's files are read once).
    kevo_run_identity id = {
        .question = q.question, .template_name = kevo_template_name(q.template_kind),
        .max_new_tokens = params.max_new_tokens,
        .compute = params.compute == KEVO_COMPUTE_BF16 ? "bf16" : "f32",
    };
    kevo_config cfg;
    kevo_model_source src = {model_dir, mmproj};
    if (kevo_model_identity_read_source(&src, &id.model, &err) != KEVO_OK ||
        kevo_config_load_source(&src, &cfg, &err) != KEVO_OK ||
        (q.template_kind == KEVO_TEMPLATE_AUTO &&
         kevo_template_for(model_dir, &cfg, &q.template_kind, &err) != KEVO_OK) ||
        cli_recording_apply(&rec, cfg.text_layers, &params, &err) != KEVO_OK) {
        code = cli_report(&err);
        goto done;
    }
    id.template_name = kevo_template_name(q.template_kind);
    id.image_mode = kevo_image_mode_for(&cfg, q.image_mode);
    id.image_states = params.image_states;
    id.n_image_states = params.n_image_states;
    id.store = rec.store;
    if ((code = check_reruns(items, n, &id, analyze, interrupted, &failed)) != 0) {
        fprintf(stderr, "kevo batch: nothing was run\n");
        goto done;
    }
    double t0 = kevo_now();
    if (!*interrupted && (kevo_model_load_source(&src, &m, &err) != KEVO_OK ||
                          kevo_run_create(m, &params, &run, &err) != KEVO_OK)) {
        code = cli_report(&err);
        goto done;
    }
    double load_s = kevo_now() - t0;
    kevo_set_threads(params.n_threads);   // --threads for preprocessing and analyses too
    kevo_save_options save = {.known = &id, .n_threads = run ? kevo_run_threads(run) : 0,
                              .load_s = load_s, .store = rec.store};
    for (int i = 0; i < n && !*interrupted; i++) {
        item *it = &items[i];
        const char *why = it->why;
        if (it->status) {   // reused, or its image could not be read (check_reruns)
            if (it->status == it->failure)
                fprintf(stderr, "%skevo: %s: skipped: %s\n", bar && i ? "\n" : "", it->image,
                        it->failure + strlen("failed: "));
            continue;
        }
        if (bar)
            progress_bar(i, n, it->image);
        if (why[0]) {
            if (bar)
                fputc('\n', stderr);
            fprintf(stderr, "kevo: %s: rerun: %s\n", it->image, why);
        }
        memcpy(id.image_sha256, it->sha256, sizeof id.image_sha256);
        q.image_path = it->image;
        kevo_answer a = {0};
        double t1 = kevo_now();
        if (kevo_llava_answer(m, run, &q, &a, &err) != KEVO_OK ||
            kevo_llava_save(m, run, &q, &a, &save, it->dir, &err) != KEVO_OK) {
            if (err.status == KEVO_ERR_INTERRUPTED)
                break;
            snprintf(it->failure, sizeof it->failure, "failed: %s", err.msg);
            it->status = it->failure;
            failed++;
            if (bar)
                fputc('\n', stderr);
            fprintf(stderr, "kevo: %s: skipped: %s\n", it->image, err.msg);
        } else if (why[0]) {
            snprintf(it->failure, sizeof it->failure, "rerun: %s", why);
            it->status = it->failure;
            it->answer = strdup(a.text);
            it->tokens = kevo_run_n_generated(run);
        } else {
            it->status = "done";
            it->answer = strdup(a.text);
            it->tokens = kevo_run_n_generated(run);
        }
        it->seconds = kevo_now() - t1;
        kevo_answer_clear(&a);
    }
    if (bar) {
        progress_bar(n, n, NULL);
        fputc('\n', stderr);
    }
    for (int i = 0; i < n; i++)
        if (!items[i].status)
            items[i].status = "not run (interrupted)";
    int summary_ok = summarize(items, n, &paths);
    if (analyze && !*interrupted && analyze_all(items, n, m, &paths, bar) != KEVO_OK)
        failed++;
    if (*interrupted) {
        fprintf(stderr, "kevo: interrupted; run the same command again to resume\n");
        code = EXIT_RUNTIME;
    } else if (failed) {
        fprintf(stderr, "kevo: %d of %d images failed\n", failed, n);
        code = EXIT_RUNTIME;
    } else if (!summary_ok) {
        code = EXIT_RUNTIME;
    }
done:
    for (int i = 0; i < n; i++)
        free(items[i].answer);
    free(items);
    free(rec.indices);
    kevo_run_free(run);
    kevo_model_free(m);
    return code;
}
