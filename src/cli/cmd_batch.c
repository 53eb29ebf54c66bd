// cmd_batch.c — `kevo batch`: one question over many images with the model loaded once; one run
// folder per image, resumable, a failing image reported and skipped, a summary at the end.
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/fs.h"
#include "cli/cli.h"
#include "cli/generation.h"
#include "analysis/figures.h"
#include "analysis/pipeline.h"
#include "io/runfolder.h"
#include "model/llava.h"
#include "model/model.h"

static const char usage[] =
    "usage: kevo batch -m MODEL_DIR -p PROMPT -o OUT_DIR [options] IMAGE...\n"
    "\n"
    "Asks PROMPT about every IMAGE with the model loaded once and writes one run folder per\n"
    "image, OUT_DIR/<image name>. Images whose run folder is already complete (same question)\n"
    "are skipped, so an interrupted batch resumes where it stopped. An image that fails is\n"
    "reported and skipped. A summary (image, answer, tokens, seconds) is printed and written to\n"
    "OUT_DIR/summary.csv. With --analyze, every run is also analysed (RUN/analysis/, as kevo\n"
    "analyze) and the runs' answer words are mapped together (OUT_DIR/tsne/, as kevo tsne\n"
    "--answer).\n"
    "\n"
    "  -m, --model DIR      a llava-hf model folder\n"
    "  -p, --prompt TEXT    the question\n"
    "  -o, --out DIR        where the run folders go\n"
    CLI_GENERATION_HELP
    "  --analyze            analyse every run and map the runs together\n"
    "  -q, --quiet          no progress bar\n";

typedef struct item {
    const char *image;
    char dir[4096];
    char *answer;        // NULL until answered (or when skipped without one)
    int tokens;
    double seconds;
    const char *status;  // "done", "skipped (already done)", "failed: ..."
    char failure[KEVO_ERROR_MAX + 16];
} item;

// OUT_DIR/<image file name without extension>, "-2", "-3"... when two images share a name.
static void name_runs(item *items, int n, const char *out)
{
    for (int i = 0; i < n; i++) {
        const char *base = kevo_path_base(items[i].image), *dot = strrchr(base, '.');
        int len = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
        snprintf(items[i].dir, sizeof items[i].dir, "%s/%.*s", out, len, base);
        int copies = 1;
        for (int j = 0; j < i; j++)
            if (strncmp(items[j].dir, items[i].dir, strlen(items[i].dir)) == 0)
                copies++;
        if (copies > 1)
            snprintf(items[i].dir + strlen(items[i].dir), sizeof items[i].dir -
                     strlen(items[i].dir), "-%d", copies);
    }
}

// A complete run folder for the same question is kept; its answer is reused in the summary.
static int already_done(item *it, const char *question)
{
    kevo_runfolder *rf = NULL;
    if (kevo_runfolder_load(it->dir, &rf, NULL) != KEVO_OK)
        return 0;
    int same = strcmp(rf->question, question) == 0;
    if (same) {
        it->answer = strdup(rf->text);
        it->tokens = rf->n_steps;
    }
    kevo_runfolder_free(rf);
    return same;
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

// The summary table on stdout and as CSV beside the runs.
static void summarize(const item *items, int n, const char *out)
{
    printf("%-28s %-8s %7s  %s\n", "image", "tokens", "seconds", "answer / status");
    for (int i = 0; i < n; i++) {
        const item *it = &items[i];
        int done_before = strcmp(it->status, "done") != 0 && it->answer;
        printf("%-28.28s %-8d %7.1f  %s%s\n", kevo_path_base(it->image), it->tokens, it->seconds,
               it->answer ? it->answer : it->status, done_before ? "  [already done]" : "");
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.csv", out);
    kevo_outfile *f;
    kevo_error err;
    if (kevo_outfile_open(path, &f, &err) != KEVO_OK) {
        fprintf(stderr, "kevo: %s\n", err.msg);
        return;
    }
    FILE *s = kevo_outfile_stream(f);
    fprintf(s, "image,run_folder,status,tokens,seconds,answer\n");
    for (int i = 0; i < n; i++) {
        const item *it = &items[i];
        fprintf(s, "\"%s\",\"%s\",\"%s\",%d,%.3f,\"", it->image, it->dir, it->status, it->tokens,
                it->seconds);
        for (const char *c = it->answer ? it->answer : ""; *c; c++)   // CSV quoting
            fputs(*c == '"' ? "\"\"" : (char[]){*c, 0}, s);
        fputs("\"\n", s);
    }
    if (kevo_outfile_commit(f, &err) != KEVO_OK)
        fprintf(stderr, "kevo: %s\n", err.msg);
}

// --analyze: each finished run into RUN/analysis, then the runs together into OUT_DIR/tsne.
static kevo_status analyze_all(const item *items, int n, const kevo_model *m, const char *out,
                               int bar)
{
    kevo_analyze_params p = kevo_analyze_default_params();
    kevo_runfolder **runs = calloc((size_t)n + 1, sizeof *runs);
    int *steps = calloc((size_t)n + 1, sizeof *steps), n_runs = 0;
    kevo_status worst = runs && steps ? KEVO_OK : KEVO_ERR_NOMEM;
    kevo_error err;
    char dir[4200];
    for (int i = 0; runs && steps && i < n; i++) {
        if (!items[i].answer)   // failed or not run
            continue;
        if (bar)
            progress_bar(i, n, "analysing");
        kevo_runfolder *rf = NULL;
        snprintf(dir, sizeof dir, "%s/analysis", items[i].dir);
        kevo_status st = kevo_runfolder_load(items[i].dir, &rf, &err);
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
        snprintf(dir, sizeof dir, "%s/tsne", out);
        kevo_stages *s = NULL;
        if (kevo_analyze_across((const kevo_runfolder *const *)runs, n_runs, m, steps, &p, dir,
                                &s, NULL, &err) != KEVO_OK) {
            fprintf(stderr, "kevo: the runs' map was not made: %s\n", err.msg);
            worst = err.status;
        } else {
            kevo_stage_range rg[3];
            char label[96];
            int k = kevo_stages_ranges(s, rg);
            printf("stages over %d tokens of %d runs:", s->n_tokens, n_runs);
            for (int i = 0; i < k; i++)
                printf("%s %s", i ? "," : "", kevo_stage_label(&rg[i], label, sizeof label));
            printf("\nanalyses in each run folder's analysis/, the runs' map in %s/\n", dir);
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
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"prompt", required_argument, 0, 'p'},
        {"out", required_argument, 0, 'o'},   {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},        {"analyze", no_argument, 0, 'A'},
        CLI_GENERATION_OPTIONS,
        {0, 0, 0, 0},
    };
    const char *model_dir = NULL, *out = NULL;
    kevo_request q = {.template_kind = KEVO_TEMPLATE_LLAVA_V1, .image_mode = KEVO_IMAGE_MODE_PAD};
    kevo_run_params params = kevo_run_default_params();
    int quiet = 0, analyze = 0, c;
    kevo_error err;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:p:o:n:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'p': q.question = optarg; break;
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case 'A': analyze = 1; break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        default: {
            int done = cli_generation_option("batch", c, optarg, &q, &params);
            if (done < 0)
                return cli_usage_error("batch", "unknown option '%s'", argv[optind - 1]);
            if (done == 0)
                return EXIT_USAGE;
        }
        }
    }
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
    name_runs(items, n, out);
    const volatile sig_atomic_t *interrupted = cli_catch_interrupt();
    params.interrupt = interrupted;

    double t0 = kevo_now();
    kevo_model *m = NULL;
    kevo_run *run = NULL;
    int code = EXIT_OK;
    if (kevo_mkdirs(out, &err) != KEVO_OK || kevo_model_load(model_dir, &m, &err) != KEVO_OK ||
        kevo_run_create(m, &params, &run, &err) != KEVO_OK) {
        code = cli_report(&err);
        goto done;
    }
    double load_s = kevo_now() - t0;
    int threads = params.n_threads ? params.n_threads : omp_get_max_threads();
    for (int i = 0; i < n && !*interrupted; i++) {
        item *it = &items[i];
        if (bar)
            progress_bar(i, n, it->image);
        if (already_done(it, q.question)) {
            it->status = "skipped (already done)";
            continue;
        }
        q.image_path = it->image;
        kevo_answer a = {0};
        double t1 = kevo_now();
        if (kevo_llava_answer(m, run, &q, &a, &err) != KEVO_OK ||
            kevo_llava_save(m, run, &q, &a, it->dir, threads, load_s, &err) != KEVO_OK) {
            if (err.status == KEVO_ERR_INTERRUPTED)
                break;
            snprintf(it->failure, sizeof it->failure, "failed: %s", err.msg);
            it->status = it->failure;
            failed++;
            if (bar)
                fputc('\n', stderr);
            fprintf(stderr, "kevo: %s: skipped: %s\n", it->image, err.msg);
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
    summarize(items, n, out);
    if (analyze && !*interrupted && analyze_all(items, n, m, out, bar) != KEVO_OK)
        failed++;
    if (*interrupted) {
        fprintf(stderr, "kevo: interrupted; run the same command again to resume\n");
        code = EXIT_RUNTIME;
    } else if (failed) {
        fprintf(stderr, "kevo: %d of %d images failed\n", failed, n);
        code = EXIT_RUNTIME;
    }
done:
    for (int i = 0; i < n; i++)
        free(items[i].answer);
    free(items);
    kevo_run_free(run);
    kevo_model_free(m);
    return code;
}
