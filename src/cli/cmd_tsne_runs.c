// cmd_tsne_runs.c — `kevo tsne RUN_DIR...`: the multi-image t-SNE map of the authors'
// combined_tsne.py (one step per run, layers 1..L, perplexity 35), coloured by the stages
// detected over all the runs (docs/analyses.md, "Several runs").
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/answer.h"
#include "report/figures.h"
#include "report/pipeline.h"
#include "base/error.h"
#include "base/fs.h"
#include "cli/cli.h"
#include "io/outputs.h"
#include "kernels/linear.h"
#include "model/model.h"

static const char usage[] =
    "usage: kevo tsne RUN_DIR... [--step N | --answer] [-m MODEL_DIR] [-o OUT_DIR] [options]\n"
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

enum { OPT_STEP = 256, OPT_ANSWER, OPT_LENS, OPT_DIVERGENCE, OPT_CRITICAL, OPT_MUTATION,
       OPT_PERPLEXITY, OPT_ITERS, OPT_SEED, OPT_FORMAT, OPT_DPI, OPT_THREADS };

typedef struct runs_args {
    const char *model_dir, *out_dir;
    int step;                     // -1: the answer step of each run
    int threads;
    kevo_analyze_params p;
    char **dirs;
    int n_runs;
} runs_args;

static int parse_args(int argc, char **argv, runs_args *a)
{
    static const struct option opts[] = {
        {"step", required_argument, 0, OPT_STEP}, {"answer", no_argument, 0, OPT_ANSWER},
        {"model", required_argument, 0, 'm'}, {"output", required_argument, 0, 'o'},
        {"lens", required_argument, 0, OPT_LENS},
        {"divergence", required_argument, 0, OPT_DIVERGENCE},
        {"critical", required_argument, 0, OPT_CRITICAL},
        {"mutation", required_argument, 0, OPT_MUTATION},
        {"perplexity", required_argument, 0, OPT_PERPLEXITY},
        {"iters", required_argument, 0, OPT_ITERS}, {"seed", required_argument, 0, OPT_SEED},
        {"format", required_argument, 0, OPT_FORMAT}, {"dpi", required_argument, 0, OPT_DPI},
        {"threads", required_argument, 0, OPT_THREADS}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    kevo_error err;
    int c, seed, step_given = 0, answer_given = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:o:h", opts, NULL)) != -1) {
        kevo_status st = KEVO_OK;
        int ok = 1;
        switch (c) {
        case OPT_STEP:
            ok = cli_parse_int("tsne", "--step", optarg, 0, 1 << 24, &a->step);
            step_given = 1;
            break;
        case OPT_ANSWER: answer_given = 1; break;
        case 'm': a->model_dir = optarg; break;
        case 'o': a->out_dir = optarg; break;
        case OPT_LENS: st = kevo_lens_mode_parse(optarg, &a->p.analysis.lens, &err); break;
        case OPT_DIVERGENCE: st = kevo_divergence_parse(optarg, &a->p.analysis.divergence, &err); break;
        case OPT_CRITICAL:
            ok = cli_parse_int("tsne", "--critical", optarg, 2, 1 << 20, &a->p.analysis.stage.critical);
            break;
        case OPT_MUTATION:
            ok = cli_parse_int("tsne", "--mutation", optarg, 2, 1 << 20, &a->p.analysis.stage.mutation);
            break;
        case OPT_PERPLEXITY:
            ok = cli_parse_double("tsne", "--perplexity", optarg, 1, 1e4, &a->p.tsne.perplexity);
            break;
        case OPT_ITERS:
            ok = cli_parse_int("tsne", "--iters", optarg, 250, 1 << 24, &a->p.tsne.n_iter);
            break;
        case OPT_SEED:
            ok = cli_parse_int("tsne", "--seed", optarg, 0, 2147483647, &seed);
            a->p.tsne.seed = (uint64_t)seed;
            break;
        case OPT_FORMAT: st = kevo_figure_format_parse(optarg, &a->p.figure.format, &err); break;
        case OPT_DPI: ok = cli_parse_double("tsne", "--dpi", optarg, 10, 2400, &a->p.figure.dpi); break;
        case OPT_THREADS:
            ok = cli_parse_int("tsne", "--threads", optarg, 1, 1024, &a->threads);
            break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: return cli_usage_error("tsne", "unknown option");
        }
        if (st != KEVO_OK)
            return cli_usage_error("tsne", "%s", err.msg);
        if (!ok)
            return EXIT_USAGE;
    }
    if (step_given && answer_given)
        return cli_usage_error("tsne", "--step and --answer exclude each other");
    if (optind == argc)
        return cli_usage_error("tsne", "expects RUN_DIR... (or --input X for any matrix)");
    a->dirs = argv + optind;
    a->n_runs = argc - optind;
    return -1;
}

// Every run's step: the one given, or its answer word's.
int cmd_tsne_runs(int argc, char **argv)
{
    runs_args a = {.out_dir = "tsne", .step = -1, .p = kevo_analyze_default_params()};
    a.p.tsne.perplexity = 35;   // combined_tsne.py
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
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
        st = kevo_model_load(a.model_dir ? a.model_dir : runs[0]->model_dir, &model, &err);
    if (st == KEVO_OK)
        st = kevo_analyze_across((const kevo_runfolder *const *)runs, a.n_runs, model, steps,
                                 &a.p, a.out_dir, &stages, &map, &err);
    if (st == KEVO_OK) {
        for (int r = 0; r < a.n_runs; r++) {
            char word[64] = "";
            if (a.step < 0)   // say which word the rule found
                kevo_answer_step(runs[r]->question, (const char *const *)runs[r]->pieces,
                                 runs[r]->n_steps, word, sizeof word);
            printf("run %d: %s, step %d \"%s\"%s%s\n", r, runs[r]->dir, steps[r],
                   runs[r]->pieces[steps[r]], word[0] ? ", answer word " : "", word);
        }
        kevo_stage_range rg[3];
        char label[96];
        int n = kevo_stages_ranges(stages, rg);
        printf("stages over %d tokens of %d runs:", stages->n_tokens, a.n_runs);
        for (int i = 0; i < n; i++)
            printf("%s %s", i ? "," : "", kevo_stage_label(&rg[i], label, sizeof label));
        printf("\n");
        if (stages->note[0])
            printf("note: %s\n", stages->note);
        if (!map->xy)
            printf("note: %s\n", map->note);
        printf("wrote %s/: tsne.csv, stages.json%s\n", a.out_dir,
               map->xy ? ", the figure, report.html" : "");
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
