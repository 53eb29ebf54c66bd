// cmd_tsne_runs.c — `kevo tsne RUN_DIR...`: the multi-image t-SNE map of the authors'
// combined_tsne.py (one step per run, layers 1..L, perplexity 35), coloured by the stages
// detected over all the runs (docs/analyses.md, "Several runs").
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: kevo tsne RUN_DIR... [--step N | --answer] [-m MODEL_DIR [--mmproj FILE]]\n"
    "                 [-o OUT_DIR] [options]\n"
    "\n"
    "The authors' multi-image map: for each run one step's hidden states at layers 1..L,\n"
    "MaxAbs-scaled, t-SNE (perplexity 35, learning rate 200, 2000 iterations, seed 0), points\n"
    "coloured by the stages detected over all the runs' tokens. Writes OUT_DIR/tsne.<ext>,\n"
    "tsne.csv, stages.json and report.html.\n"
    "\n"
    "  --step N               the step of every run (0 = the first generated token)\n"
    "  --answer               the step of each run's answer word (default): the first word of\n"
    "                         the answer that is neither a word of the question nor a function\n"
    "                         word (\"The color of the flower is yellow.\" -> \"yellow\")\n"
    "  -m, --model DIR        the runs' model (default: the model the first run records)\n"
    "  --mmproj FILE          with -m, the text .gguf's vision file, named apart\n"
    "  -o, --output DIR       where to write (default: tsne)\n"
    "  --lens raw|norm, --divergence paper|jsd\n"
    "                         what the stages are detected from (default raw, paper)\n"
    "  --critical N, --mutation N   take these layers instead of detecting them\n"
    "  --perplexity P         (default 35; lowered when there are too few points)\n"
    "  --iters N              (default 2000)    --seed S   (default 0)\n"
    "  --format png|svg|pdf   (default png)     --dpi N    (default 150)\n"
    "  --threads N\n"
    "\n"
    "kevo tsne --input X.npy|X.safetensors embeds any matrix instead (its options:\n"
    "kevo tsne --input X --help).\n";

typedef struct runs_args {
    const char *model_dir, *mmproj, *out_dir;
    int step;                     // -1: the answer step of each run
    int threads;
    kevo_analyze_params p;
    char **dirs;
    int n_runs;
} runs_args;

static int parse_args(int argc, char **argv, runs_args *a)
{
    kevo_analysis_options *o = &a->p.analysis;
    int answer = 0;
    const cli_option opts[] = {
        CLI_OPT_INT("step", 0, &a->step, 0, 1 << 24),
        CLI_OPT_FLAG("answer", 0, &answer),
        CLI_OPT_STRING("model", 'm', &a->model_dir),
        CLI_OPT_STRING("mmproj", 0, &a->mmproj),
        CLI_OPT_STRING("output", 'o', &a->out_dir),
        CLI_OPT_LENS(&o->lens),
        CLI_OPT_DIVERGENCE(&o->divergence),
        CLI_OPT_INT("critical", 0, &o->stage.critical, 2, 1 << 20),
        CLI_OPT_MUTATION(&o->stage.mutation),
        CLI_OPT_PERPLEXITY(&a->p.tsne.perplexity),
        CLI_OPT_INT("iters", 0, &a->p.tsne.n_iter, 250, 1 << 24),
        CLI_OPT_SEED("seed", &a->p.tsne.seed, 2147483647),
        CLI_OPT_FORMAT(&a->p.figure.format),
        CLI_OPT_DPI(&a->p.figure.dpi),
        CLI_OPT_THREADS(&a->threads),
        CLI_OPT_HELP,
        CLI_OPT_END,
    };
    int rc = cli_parse("tsne", usage, 0, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (a->step >= 0 && answer)   // --step gives 0 or more
        return cli_usage_error("tsne", "--step and --answer exclude each other");
    if (optind == argc)
        return cli_usage_error("tsne", "expects RUN_DIR... (or --input X for any matrix)");
    if (a->mmproj && !a->model_dir)
        return cli_usage_error("tsne", "--mmproj goes with -m, the text model it belongs to");
    a->dirs = argv + optind;
    a->n_runs = argc - optind;
    return CLI_CONTINUE;
}

// Every run's step: the one given, or its answer word's.
int cmd_tsne_runs(int argc, char **argv)
{
    runs_args a = {.out_dir = "tsne", .step = -1, .p = kevo_analyze_default_params()};
    a.p.tsne.perplexity = 35;   // combined_tsne.py
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    kevo_set_threads(a.threads);
    a.p.tsne.n_threads = a.threads;

    kevo_error err;
    kevo_runfolder **runs = calloc((size_t)a.n_runs, sizeof *runs);
    int *steps = calloc((size_t)a.n_runs, sizeof *steps);
    kevo_model *model = NULL;
    kevo_stages *stages = NULL;
    kevo_map *map = NULL;
    kevo_status st = runs && steps ? KEVO_OK : kevo_fail(&err, KEVO_ERR_NOMEM, "out of memory");
    if (st == KEVO_OK)   // a destination kevo may not replace or cannot write: before anything
        st = kevo_analysis_check_dest(a.out_dir, &err);
    for (int r = 0; st == KEVO_OK && r < a.n_runs; r++) {
        steps[r] = a.step;
        st = kevo_runfolder_load(a.dirs[r], &runs[r], &err);
    }
    if (st == KEVO_OK)
        st = cli_run_model(runs[0], a.model_dir, a.mmproj, "-m", &model, &err);
    if (st == KEVO_OK)
        st = kevo_analyze_across((const kevo_runfolder *const *)runs, a.n_runs, model, steps,
                                 &a.p, a.out_dir, &stages, &map, &err);
    if (st == KEVO_OK) {
        for (int r = 0; r < a.n_runs; r++) {
            char word[64] = "";
            if (a.step < 0)   // say which word the rule found
                kevo_runfolder_answer_step(runs[r], word, sizeof word);
            printf("run %d: %s, step %d \"%s\"%s%s\n", r, kevo_runfolder_dir(runs[r]), steps[r],
                   kevo_runfolder_piece(runs[r], steps[r]), word[0] ? ", answer word " : "",
                   word);
        }
        kevo_stage_summary s = kevo_stages_summary(stages);
        kevo_map_summary m = kevo_map_summarize(map);
        char text[512];
        printf("stages over %d tokens of %d runs:%s\n", s.n_tokens, a.n_runs,
               cli_stages_text(stages, text, sizeof text));
        if (s.note[0])
            printf("note: %s\n", s.note);
        if (m.skipped)
            printf("note: %s\n", m.note);
        printf("wrote %s/: tsne.csv, stages.json%s\n", a.out_dir,
               m.skipped ? "" : ", the figure, report.html");
    }
    kevo_map_free(map);
    kevo_stages_free(stages);
    kevo_model_free(model);
    for (int r = 0; runs && r < a.n_runs; r++)
        kevo_runfolder_free(runs[r]);
    free(runs);
    free(steps);
    return st == KEVO_OK ? EXIT_OK : cli_report(&err);
}
