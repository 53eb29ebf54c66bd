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

#include "cli/batch.h"
#include "cli/generation.h"

static const char usage[] =
    "usage: kevo batch -m MODEL_DIR [--mmproj FILE] -p PROMPT -o OUT_DIR [options] IMAGE...\n"
    "       kevo batch -m MODEL_DIR --manifest FILE -o OUT_DIR [-p PROMPT] [options]\n"
    "\n"
    "Asks PROMPT about every IMAGE with the model loaded once and writes one run folder per\n"
    "image, OUT_DIR/<image file name without its extension>; inputs that would share a folder\n"
    "(a.png and a.jpg, d1/a.png and d2/a.png) are refused. With --manifest, the items of FILE\n"
    "instead, each into OUT_DIR/<id> with its item.json (docs/datasets.md): JSON Lines\n"
    "(.jsonl/.json: {\"id\": ..., \"image\": ..., \"question\": ..., \"references\": [...]} a\n"
    "line) or CSV (.csv: a header row id,image[,question][,references], the references one\n"
    "field of '|'-separated strings); an image path is relative to FILE's folder, an item\n"
    "without a question takes -p. A finished run folder is reused when everything that\n"
    "determines the run matches (the model's files, the image's bytes, the question,\n"
    "template, image mode, max new tokens, compute precision, the states kept, kevo's\n"
    "format), so an interrupted batch resumes where it stopped; otherwise the item is rerun\n"
    "and stderr says why. A run folder in the way that is not kevo's, or that holds a file\n"
    "of yours and would be rerun, is refused before the model loads (every such input\n"
    "listed). An item that fails is reported, recorded and skipped; the exit status is then\n"
    "1. A summary (image, run folder, status, tokens, seconds, answer, id) is printed and\n"
    "written to OUT_DIR/summary.csv (a shard's to OUT_DIR/summary.shard-K-of-N.csv). The\n"
    "bytes an item takes at most are printed first, and a batch that would not fit in the\n"
    "free space of OUT_DIR's file system is refused. With --analyze, every run is also\n"
    "analysed (RUN/analysis/, as kevo analyze) and the runs' answer words are mapped together\n"
    "(OUT_DIR/tsne/, as kevo tsne --answer; not by a shard, nor with --states).\n"
    "\n"
    CLI_MODEL_HELP
    "  -p, --prompt TEXT    the question (with --manifest: of the items without one)\n"
    "  -o, --out DIR        where the run folders go\n"
    "  --manifest FILE      the items of a dataset (see above)\n"
    "  --shard K/N          run only the items whose 0-based input position is K modulo N\n"
    "                       (0 <= K < N); default under a Slurm job array: K =\n"
    "                       SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, N =\n"
    "                       SLURM_ARRAY_TASK_COUNT. Shards may write into one OUT_DIR at once\n"
    CLI_GENERATION_HELP
    CLI_RECORDING_HELP
    "  --states SPEC        keep only these hidden-state indices of the answer in\n"
    "                       hidden.safetensors (as --image-states: '0,8,16:L', 'every=4');\n"
    "                       kevo analyze then refuses the run, --analyze analyses it first\n"
    "  --no-hidden          keep no hidden states, only run.json and the analysis tables\n"
    "                       (RUN/analysis/: stages.json, lens.csv, divergence.csv, ...; no\n"
    "                       figures): what kevo stats reads\n"
    "  --ignore-disk        run even when the batch may not fit in the free space\n"
    "  --analyze            analyse every run and map the runs together\n"
    "  -q, --quiet          no progress line\n";

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
    if (kevo_runfolder_load_record(it->dir, &rf, &err) != KEVO_OK) {
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
        id->question = it->question;
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

// --analyze: each finished run into RUN/analysis, then the runs together into OUT_DIR/tsne
// (unless map is 0: a shard sees only its own runs, and OUT/tsne would be every shard's file).
static kevo_status analyze_all(const item *items, int n, const kevo_model *m,
                               const batch_paths *paths, int bar, int map)
{
    batch_progress pr = {.total = n, .bar = bar};
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
            pr.done = i, batch_progress_show(&pr, "analysing");
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
        pr.done = n, batch_progress_show(&pr, NULL), fputc('\n', stderr);
    if (n_runs > 0 && !map)
        printf("analyses in each run folder's analysis/; a shard makes no map of the runs "
               "(kevo tsne OUT/* --answer, once every shard is done)\n");
    if (n_runs > 0 && map) {
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


// What goes into a run folder's temporary folder before it is swapped in
// (kevo_save_options.before_commit): a manifest item's item.json, so that it comes with its run
// in one step, and with --states / --no-hidden the analysis, made with every state before the
// states not kept are dropped.
typedef struct batch_ctx {
    const kevo_manifest *mf;
    int item;                 // the manifest item being saved
    int analyse;
    const kevo_model *m;
    kevo_analyze_params p;
} batch_ctx;

static kevo_status before_commit(const char *tmp_dir, const char *dir, void *ctx,
                                 kevo_error *err)
{
    batch_ctx *c = ctx;
    char path[KEVO_PATH_MAX];
    kevo_runfolder *rf = NULL;
    kevo_status st = KEVO_OK;
    if (c->mf && ((st = cli_path(path, err, "%s/item.json", tmp_dir)) != KEVO_OK ||
                  (st = kevo_manifest_write_item(c->mf, c->item, path, err)) != KEVO_OK))
        return st;
    if (!c->analyse)
        return KEVO_OK;
    st = cli_path(path, err, "%s/analysis", tmp_dir);
    if (st == KEVO_OK)
        st = kevo_runfolder_load(tmp_dir, &rf, err);
    if (st == KEVO_OK)
        st = kevo_runfolder_rename(rf, dir, err);   // reports name the run's real folder
    if (st == KEVO_OK)
        st = kevo_analyze_run(rf, c->m, &c->p, path, NULL, NULL, err);
    kevo_runfolder_free(rf);
    return st;
}

// item.json beside a reused run (kevo's own file, not part of the run's identity: rewritten
// when the manifest changed it, so a changed reference needs no rerun).
static int write_item_json(item *it, const kevo_manifest *mf)
{
    char path[KEVO_PATH_MAX];
    kevo_error err;
    if (!mf || !it->answer)
        return 0;
    if (cli_path(path, &err, "%s/item.json", it->dir) == KEVO_OK &&
        kevo_manifest_write_item(mf, it->manifest_item, path, &err) == KEVO_OK)
        return 0;
    snprintf(it->failure, sizeof it->failure, "failed: %s", err.msg);
    it->status = it->failure;
    fprintf(stderr, "kevo: %s\n", err.msg);
    return 1;
}

int cmd_batch(int argc, char **argv)
{
    const char *model_dir = NULL, *mmproj = NULL, *out = NULL, *manifest = NULL;
    const char *shard_arg = NULL, *states_spec = NULL;
    kevo_request q = {.template_kind = KEVO_TEMPLATE_AUTO, .image_mode = KEVO_IMAGE_MODE_PAD};
    kevo_run_params params = kevo_run_default_params();
    cli_recording rec = {.store = KEVO_DTYPE_F32};
    int quiet = 0, analyze = 0, no_hidden = 0, ignore_disk = 0;
    kevo_error err;
    const cli_option opts[] = {
        CLI_OPT_STRING("model", 'm', &model_dir), CLI_OPT_STRING("prompt", 'p', &q.question),
        CLI_OPT_STRING("out", 'o', &out),         CLI_OPT_FLAG("quiet", 'q', &quiet),
        CLI_OPT_HELP,                             CLI_OPT_FLAG("analyze", 0, &analyze),
        CLI_OPT_STRING("mmproj", 0, &mmproj),
        CLI_OPT_STRING("manifest", 0, &manifest), CLI_OPT_STRING("shard", 0, &shard_arg),
        CLI_OPT_STRING("states", 0, &states_spec), CLI_OPT_FLAG("no-hidden", 0, &no_hidden),
        CLI_OPT_FLAG("ignore-disk", 0, &ignore_disk),
        CLI_GENERATION_OPTIONS(&q, &params),      CLI_RECORDING_OPTIONS(&rec),
        CLI_OPT_END,
    };
    int rc = cli_parse("batch", usage, CLI_NAME_UNKNOWN, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!model_dir || !out || (!q.question && !manifest))
        return cli_usage_error("batch", "needs -m MODEL_DIR, -o OUT_DIR and -p PROMPT or "
                               "--manifest FILE");
    if (manifest && optind < argc)
        return cli_usage_error("batch", "takes IMAGE... or --manifest FILE, not both");
    if (!manifest && optind == argc)
        return cli_usage_error("batch", "needs at least one IMAGE (or --manifest FILE)");
    if (no_hidden && (states_spec || rec.image_states))
        return cli_usage_error("batch", "--no-hidden keeps no states: not with --states or "
                               "--image-states");
    batch_shard shard;
    if ((rc = batch_shard_choose(shard_arg, &shard)) != 0)
        return rc;

    kevo_manifest *mf = NULL;
    if (manifest && kevo_manifest_load(manifest, q.question, &mf, &err) != KEVO_OK)
        return cli_report(&err);
    item *items = NULL;
    int n_all = 0, failed = 0, bar = !quiet && isatty(STDERR_FILENO);
    int code = batch_items_make(&items, &n_all, argv + optind, argc - optind, mf, q.question,
                                out, analyze);
    int n = items ? batch_items_select(items, n_all, shard) : 0;
    batch_paths paths = {.out = out};
    if (!code && (shard.n > 1 ? cli_path(paths.summary, &err, "%s/summary.shard-%d-of-%d.csv",
                                         out, shard.k, shard.n)
                              : cli_path(paths.summary, &err, "%s/summary.csv", out)) != KEVO_OK)
        code = cli_report(&err);
    if (!code && cli_path(paths.tsne, &err, "%s/tsne", out) != KEVO_OK)
        code = cli_report(&err);
    if (!code)   // only this shard's folders: the others' may be in progress
        code = check_destinations(items, n, &paths, analyze && shard.n == 1);
    if (code) {
        if (items)
            fprintf(stderr, "kevo batch: nothing was run\n");
        free(items);
        kevo_manifest_free(mf);
        return code;
    }
    if (shard.n > 1)
        fprintf(stderr, "kevo batch: shard %d/%d: %d of the %d items\n", shard.k, shard.n, n,
                n_all);
    const volatile sig_atomic_t *interrupted = cli_catch_interrupt();
    params.interrupt = interrupted;

    kevo_model *m = NULL;
    kevo_run *run = NULL;
    int *kept = NULL, n_kept = 0, prune = no_hidden || states_spec;
    // Everything that determines a run but the image and the question (the model's files are
    // read once).
    kevo_run_identity id = {
        .max_new_tokens = params.max_new_tokens,
        .compute = params.compute == KEVO_COMPUTE_BF16 ? "bf16" : "f32",
    };
    kevo_config cfg;
    kevo_model_source src = {model_dir, mmproj};
    if (kevo_model_identity_read_source(&src, &id.model, &err) != KEVO_OK ||
        kevo_config_load_source(&src, &cfg, &err) != KEVO_OK ||
        (q.template_kind == KEVO_TEMPLATE_AUTO &&
         kevo_template_for(model_dir, &cfg, &q.template_kind, &err) != KEVO_OK) ||
        cli_recording_apply(&rec, cfg.text_layers, &params, &err) != KEVO_OK ||
        (states_spec && kevo_image_states_parse(states_spec, cfg.text_layers, &kept, &n_kept,
                                                &err) != KEVO_OK)) {
        if (states_spec && err.status == KEVO_ERR_ARG)
            kevo_error_prefix(&err, "--states: ");
        code = cli_report(&err);
        goto done;
    }
    static const int none[1] = {0};
    id.template_name = kevo_template_name(q.template_kind);
    id.image_mode = kevo_image_mode_for(&cfg, q.image_mode);
    id.image_states = params.image_states;
    id.n_image_states = params.n_image_states;
    id.store = rec.store;
    id.hidden_states = no_hidden ? none : kept;
    id.n_hidden_states = n_kept;
    size_t longest = 0;
    for (int i = 0; i < n; i++)
        longest = strlen(items[i].question) > longest ? strlen(items[i].question) : longest;
    // A prompt's text tokens are at most its bytes; the templates add under 100.
    if (batch_disk_check(&cfg, (int)longest + 128, params.max_new_tokens,
                         no_hidden ? 0 : states_spec ? n_kept : -1, params.n_image_states,
                         rec.store, no_hidden ? 1 : analyze ? 2 : 0, n, ignore_disk, out)) {
        code = EXIT_RUNTIME;
        goto done;
    }
    if ((code = check_reruns(items, n, &id, analyze && !prune, interrupted, &failed)) != 0) {
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
    batch_ctx actx = {.mf = mf, .analyse = prune && (analyze || no_hidden), .m = m,
                      .p = kevo_analyze_default_params()};
    actx.p.interrupt = interrupted;
    actx.p.tables_only = no_hidden;
    kevo_save_options save = {.known = &id, .n_threads = run ? kevo_run_threads(run) : 0,
                              .load_s = load_s, .store = rec.store,
                              .hidden_states = id.hidden_states, .n_hidden_states = n_kept,
                              .before_commit = mf || actx.analyse ? before_commit : NULL,
                              .ctx = &actx};
    batch_progress pr = {.total = n, .bar = bar};   // else one line an item (a log)
    for (int i = 0; i < n && !*interrupted; i++) {
        item *it = &items[i];
        const char *why = it->why;
        if (it->status) {   // reused, or its image could not be read (check_reruns)
            if (it->status == it->failure)
                fprintf(stderr, "%skevo: %s: skipped: %s\n", bar && i ? "\n" : "", it->image,
                        it->failure + strlen("failed: "));
            failed += write_item_json(it, mf);
            pr.done++;
            continue;
        }
        if (!quiet)
            batch_progress_show(&pr, mf ? it->dir : it->image);
        if (why[0]) {
            if (bar)
                fputc('\n', stderr);
            fprintf(stderr, "kevo: %s: rerun: %s\n", it->image, why);
        }
        memcpy(id.image_sha256, it->sha256, sizeof id.image_sha256);
        id.question = q.question = it->question;
        q.image_path = it->image;
        actx.item = it->manifest_item;
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
        } else {
            if (why[0]) {
                snprintf(it->failure, sizeof it->failure, "rerun: %s", why);
                it->status = it->failure;
            } else {
                it->status = "done";
            }
            it->answer = strdup(a.text);
            it->tokens = kevo_run_n_generated(run);
        }
        it->seconds = kevo_now() - t1;
        kevo_answer_clear(&a);
        pr.done++, pr.ran++, pr.run_s += it->seconds;
    }
    if (!quiet) {
        batch_progress_show(&pr, NULL);
        if (bar)
            fputc('\n', stderr);
    }
    for (int i = 0; i < n; i++)
        if (!items[i].status)
            items[i].status = "not run (interrupted)";
    int summary_ok = batch_summarize(items, n, &paths, mf);
    if (analyze && !prune && !*interrupted &&
        analyze_all(items, n, m, &paths, bar, shard.n == 1) != KEVO_OK)
        failed++;
    if (*interrupted) {
        fprintf(stderr, "kevo: interrupted; run the same command again to resume\n");
        code = EXIT_RUNTIME;
    } else if (failed) {
        fprintf(stderr, "kevo: %d of %d %s failed\n", failed, n, mf ? "items" : "images");
        code = EXIT_RUNTIME;
    } else if (!summary_ok) {
        code = EXIT_RUNTIME;
    }
done:
    for (int i = 0; i < n_all; i++)
        free(items[i].answer);
    free(items);
    free(rec.indices);
    free(kept);
    kevo_manifest_free(mf);
    kevo_run_free(run);
    kevo_model_free(m);
    return code;
}
