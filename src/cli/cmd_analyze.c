// cmd_analyze.c — `kevo analyze RUN_DIR`: the paper's views of one run folder, its critical and
// mutation layers, written into RUN_DIR/analysis/ (docs/analyses.md).
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/figures.h"
#include "report/pipeline.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/outdir.h"
#include "cli/cli.h"
#include "cli/generation.h"
#include "io/outputs.h"
#include "kernels/linear.h"
#include "model/model.h"

static const char usage[] =
    "usage: kevo analyze RUN_DIR [-m MODEL_DIR] [options]\n"
    "\n"
    "The layer-by-layer views of Wang et al. (CVPR 2025) for one run folder: the logit lens at\n"
    "every step and layer, the divergence between consecutive layers (heatmap), the candidate\n"
    "tokens across layers (area charts), the critical and mutation layers and the stages they\n"
    "delimit. Defaults reproduce the authors' scripts; the correct variants are one option away.\n"
    "Everything goes to RUN_DIR/analysis/ (docs/analyses.md describes each file).\n"
    "\n"
    "  -m, --model DIR        the model whose LM head reads the states (default: the model the\n"
    "                         run records; its dimensions must match the run's)\n"
    "  -o, --output DIR       write there instead of RUN_DIR/analysis\n"
    "  --lens raw|norm        raw: the LM head on the recorded states, as the authors (default);\n"
    "                         norm: the final RMSNorm applied first below the last layer\n"
    "  --divergence paper|jsd paper: the authors' formula, (KL(M||P) + KL(M||Q)) / 2V (default);\n"
    "                         jsd: the Jensen-Shannon divergence in bits\n"
    "  --scale column|global|none\n"
    "                         heatmap scaling: column = each layer by its own maximum, as the\n"
    "                         authors (default); global = one maximum; none = raw values\n"
    "  --rows N               heatmap rows: the first N steps (default 40)\n"
    "  --steps N              area charts for the first N steps (default 20)\n"
    "  --window A:B           hidden states whose top tokens are the candidates, both included\n"
    "                         (A: runs to the last; default: the deepest 13/33 of the states,\n"
    "                         20:32 for a 32-layer model)\n"
    "  --format png|svg|pdf   figure format (default png; the report embeds PNG copies of PDFs)\n"
    "  --dpi N                PNG resolution in pixels per inch (default 150)\n"
    "  --perplexity P         t-SNE perplexity (default 40, the authors'; lowered when the run\n"
    "                         has too few points)\n"
    "  --iters N              t-SNE iterations (default 2000)\n"
    "  --seed S               t-SNE seed (default 0)\n"
    "  --no-tsne              skip the t-SNE map (the slowest part for long runs)\n"
    "  --critical N           take N as the critical layer instead of detecting it\n"
    "  --mutation N           take N as the mutation layer instead of detecting it\n"
    "  --threads N            threads for the products (default: all cores)\n";

enum { OPT_LENS = 256, OPT_DIVERGENCE, OPT_SCALE, OPT_ROWS, OPT_STEPS, OPT_WINDOW, OPT_CRITICAL,
       OPT_MUTATION, OPT_THREADS, OPT_FORMAT, OPT_DPI, OPT_PERPLEXITY, OPT_ITERS, OPT_SEED,
       OPT_NO_TSNE };

typedef struct analyze_args {
    const char *run_dir, *model_dir, *out_dir;
    int threads;
    kevo_analyze_params p;
} analyze_args;

// Parses argv into a; returns -1 to go on, else the exit code.
static int parse_args(int argc, char **argv, analyze_args *a)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},     {"output", required_argument, 0, 'o'},
        {"lens", required_argument, 0, OPT_LENS},
        {"divergence", required_argument, 0, OPT_DIVERGENCE},
        {"scale", required_argument, 0, OPT_SCALE}, {"rows", required_argument, 0, OPT_ROWS},
        {"steps", required_argument, 0, OPT_STEPS}, {"window", required_argument, 0, OPT_WINDOW},
        {"critical", required_argument, 0, OPT_CRITICAL},
        {"mutation", required_argument, 0, OPT_MUTATION},
        {"threads", required_argument, 0, OPT_THREADS},
        {"format", required_argument, 0, OPT_FORMAT},
        {"dpi", required_argument, 0, OPT_DPI},
        {"perplexity", required_argument, 0, OPT_PERPLEXITY},
        {"iters", required_argument, 0, OPT_ITERS}, {"seed", required_argument, 0, OPT_SEED},
        {"no-tsne", no_argument, 0, OPT_NO_TSNE}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    kevo_error err;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:o:h", opts, NULL)) != -1) {
        kevo_status st = KEVO_OK;
        switch (c) {
        case 'm': a->model_dir = optarg; break;
        case 'o': a->out_dir = optarg; break;
        case OPT_LENS: st = kevo_lens_mode_parse(optarg, &a->p.analysis.lens, &err); break;
        case OPT_DIVERGENCE: st = kevo_divergence_parse(optarg, &a->p.analysis.divergence, &err); break;
        case OPT_SCALE: st = kevo_scale_parse(optarg, &a->p.analysis.scale, &err); break;
        case OPT_WINDOW: a->p.analysis.window = optarg; break;
        case OPT_FORMAT: st = kevo_figure_format_parse(optarg, &a->p.figure.format, &err); break;
        case OPT_PERPLEXITY:
            if (!cli_parse_double("analyze", "--perplexity", optarg, 1, 1e4, &a->p.tsne.perplexity))
                return EXIT_USAGE;
            break;
        case OPT_ITERS:
            if (!cli_parse_int("analyze", "--iters", optarg, 250, 1 << 20, &a->p.tsne.n_iter))
                return EXIT_USAGE;
            break;
        case OPT_SEED: {
            int seed;
            if (!cli_parse_int("analyze", "--seed", optarg, 0, 1 << 30, &seed))
                return EXIT_USAGE;
            a->p.tsne.seed = (uint64_t)seed;
            break;
        }
        case OPT_NO_TSNE: a->p.no_tsne = 1; break;
        case OPT_DPI:
            if (!cli_parse_double("analyze", "--dpi", optarg, 10, 2400, &a->p.figure.dpi))
                return EXIT_USAGE;
            break;
        case OPT_ROWS:
            if (!cli_parse_int("analyze", "--rows", optarg, 1, 1 << 20, &a->p.analysis.rows))
                return EXIT_USAGE;
            break;
        case OPT_STEPS:
            if (!cli_parse_int("analyze", "--steps", optarg, 1, 1 << 20, &a->p.analysis.steps))
                return EXIT_USAGE;
            break;
        case OPT_CRITICAL:
            if (!cli_parse_int("analyze", "--critical", optarg, 1, 1 << 20, &a->p.analysis.stage.critical))
                return EXIT_USAGE;
            break;
        case OPT_MUTATION:
            if (!cli_parse_int("analyze", "--mutation", optarg, 2, 1 << 20, &a->p.analysis.stage.mutation))
                return EXIT_USAGE;
            break;
        case OPT_THREADS:
            if (!cli_parse_int("analyze", "--threads", optarg, 1, 1024, &a->threads))
                return EXIT_USAGE;
            break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: return cli_usage_error("analyze", "unknown option");
        }
        if (st != KEVO_OK)
            return cli_usage_error("analyze", "%s", err.msg);
    }
    if (optind != argc - 1)
        return cli_usage_error("analyze", "expects one RUN_DIR");
    a->run_dir = argv[optind];
    return -1;
}

static void print_summary(const kevo_analysis *a, const kevo_map *map, const char *out_dir,
                          const kevo_figure_opts *fig)
{
    const kevo_stages *s = a->stages;
    const kevo_lens_result *r = a->lens;
    printf("%s: %d steps x %d hidden states, vocabulary %d; lens %s, divergence %s, %d chunk%s "
           "in %.2f s\n", a->run->dir, r->n_steps, r->n_states, r->vocab,
           kevo_lens_mode_name(a->opt.lens), kevo_divergence_name(a->opt.divergence),
           r->n_chunks, r->n_chunks == 1 ? "" : "s", r->seconds);
    if (s->critical >= 0)
        printf("critical layer %d (%s; the typical divergence falls %.2f decades there)",
               s->critical, s->critical_given ? "given" : "detected", s->critical_drop);
    else
        printf("no critical layer");
    if (s->mutation >= 0)
        printf(", mutation layer %d (%s; %d of %d tokens mutate)", s->mutation,
               s->mutation_given ? "given" : "detected", s->n_mutated, s->n_tokens);
    printf("\n");
    if (s->note[0])
        printf("note: %s\n", s->note);
    kevo_stage_range rg[3];
    int n = kevo_stages_ranges(s, rg);
    char label[96];
    printf("stages:");
    for (int i = 0; i < n; i++)
        printf("%s %s", i ? "," : "", kevo_stage_label(&rg[i], label, sizeof label));
    const char *ext = kevo_figure_format_ext(fig->format);
    char tsne[64] = "";
    if (map && map->xy)
        snprintf(tsne, sizeof tsne, "tsne.%s, tsne.csv, ", ext);
    printf("\nwrote %s/: report.html, heatmap.%s, area/step_000..%03d.%s, %slens.csv, "
           "divergence.csv, heatmap.csv, candidates.csv, stages.json\n", out_dir, ext,
           a->chart_steps - 1, ext, tsne);
    if (map && !map->xy)
        printf("note: %s\n", map->note);
    else if (map)
        printf("t-SNE: %d points, perplexity %g, KL %.4f after %d iterations\n", map->n,
               map->tsne.perplexity_used, map->tsne.kl_divergence, map->tsne.n_iter_run);
}

// KEVO_ERR_INTERRUPTED once Ctrl-C or SIGTERM came.
static kevo_status stopped(const volatile sig_atomic_t *stop, kevo_error *err)
{
    return *stop ? kevo_fail(err, KEVO_ERR_INTERRUPTED, "interrupted") : KEVO_OK;
}

// kevo_analyze_run (analysis/pipeline.c) step by step, because the analysis does not watch for
// Ctrl-C or SIGTERM: a signal stops it between steps, and always before the new folder is
// swapped in, so the old analysis stays whole and the temporary folder is removed. *an and *map
// are the caller's to free, also on failure.
static kevo_status analyze_into(const kevo_runfolder *run, const kevo_model *model,
                                const kevo_analyze_params *p, const char *out_dir,
                                const volatile sig_atomic_t *stop, kevo_analysis **an,
                                kevo_map **map, kevo_error *err)
{
    kevo_outdir *od = NULL;
    kevo_status st = kevo_analysis_compute(run, model, &p->analysis, an, err);
    if (st == KEVO_OK && (st = stopped(stop, err)) == KEVO_OK)
        st = kevo_outdir_open(out_dir, kevo_analysis_folder_owned, &od, err);
    if (st == KEVO_OK)
        st = kevo_analysis_write_tables(*an, kevo_outdir_path(od), err);
    if (st == KEVO_OK && !p->no_tsne && (st = stopped(stop, err)) == KEVO_OK)
        st = kevo_map_compute(&run, 1, NULL, &p->tsne, map, err);
    if (st == KEVO_OK && (st = stopped(stop, err)) == KEVO_OK)
        st = kevo_analysis_figures(*an, *map, kevo_outdir_path(od), &p->figure, err);
    if (st == KEVO_OK && (st = stopped(stop, err)) == KEVO_OK)
        return kevo_outdir_commit(od, err);
    kevo_outdir_abort(od, err);
    return st;
}

int cmd_analyze(int argc, char **argv)
{
    analyze_args a = {.p = kevo_analyze_default_params()};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    kevo_set_threads(a.threads);
    a.p.tsne.n_threads = a.threads;
    const volatile sig_atomic_t *interrupted = cli_catch_interrupt();

    kevo_error err;
    kevo_runfolder *run = NULL;
    kevo_model *model = NULL;
    kevo_analysis *an = NULL;
    kevo_map *map = NULL;
    char out_dir[4300];
    kevo_status st = kevo_runfolder_load(a.run_dir, &run, &err);
    if (st == KEVO_OK && !a.model_dir && !kevo_dir_exists(run->model_dir))
        st = kevo_fail(&err, KEVO_ERR_IO, "%s: the run's model %s is not there; give it with -m "
                       "MODEL_DIR", a.run_dir, run->model_dir);
    if (st == KEVO_OK)
        st = a.out_dir ? (snprintf(out_dir, sizeof out_dir, "%s", a.out_dir), KEVO_OK)
                       : kevo_path_join(out_dir, sizeof out_dir, a.run_dir, "analysis", &err);
    if (st == KEVO_OK)   // a destination kevo may not replace or cannot write: before the model
        st = kevo_analysis_check_dest(out_dir, &err);
    if (st == KEVO_OK)
        st = kevo_model_load(a.model_dir ? a.model_dir : run->model_dir, &model, &err);
    if (st == KEVO_OK && (st = stopped(interrupted, &err)) == KEVO_OK)
        st = analyze_into(run, model, &a.p, out_dir, interrupted, &an, &map, &err);
    if (st == KEVO_OK && an->warning[0])
        fprintf(stderr, "kevo analyze: warning: %s\n", an->warning);
    if (st == KEVO_OK)
        print_summary(an, map, out_dir, &a.p.figure);
    kevo_map_free(map);
    kevo_analysis_free(an);
    kevo_model_free(model);
    kevo_runfolder_free(run);
    return st == KEVO_OK ? EXIT_OK : cli_report(&err);
}
