// cmd_analyze.c — `kevo analyze RUN_DIR`: the paper's views of one run folder, its critical and
// mutation layers, written into RUN_DIR/analysis/ (docs/analyses.md).
#include <stdio.h>

#include "cli/cli.h"
#include "cli/generation.h"

static const char usage[] =
    "usage: kevo analyze RUN_DIR [-m MODEL_DIR [--mmproj FILE]] [options]\n"
    "\n"
    "The layer-by-layer views of Wang et al. (CVPR 2025) for one run folder: the logit lens at\n"
    "every step and layer, the divergence between consecutive layers (heatmap), the candidate\n"
    "tokens across layers (area charts), the critical and mutation layers and the stages they\n"
    "delimit. Defaults reproduce the authors' scripts; the correct variants are one option away.\n"
    "Everything goes to RUN_DIR/analysis/ (docs/analyses.md describes each file).\n"
    "\n"
    "  -m, --model DIR        the model whose LM head reads the states (default: the model the\n"
    "                         run records; its dimensions must match the run's)\n"
    "  --mmproj FILE          with -m, the text .gguf's vision file, named apart\n"
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
    "  --compute f32|bf16     the lens's products with the LM head: f32, exact as the reference\n"
    "                         (default); bf16: AVX512-BF16 pairs summed in F32, about twice as\n"
    "                         fast, probabilities within about 1 % (docs/analyses.md, Accuracy)\n"
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
    "  --patch-words W1,W2    runs with image states (kevo run --image-states): the words\n"
    "                         whose probability the patch lens maps over the image (default:\n"
    "                         the answer word, e.g. the colour of \"The color ... is red.\")\n"
    "  --critical N           take N as the critical layer instead of detecting it\n"
    "  --mutation N           take N as the mutation layer instead of detecting it\n"
    "  --threads N            threads for the products (default: all cores)\n";

typedef struct analyze_args {
    const char *run_dir, *model_dir, *mmproj, *out_dir;
    int threads;
    kevo_analyze_params p;
} analyze_args;

// Parses argv into a; returns CLI_CONTINUE to go on, else the exit code.
static int parse_args(int argc, char **argv, analyze_args *a)
{
    kevo_analysis_options *o = &a->p.analysis;
    const cli_option opts[] = {
        CLI_OPT_STRING("model", 'm', &a->model_dir),
        CLI_OPT_STRING("mmproj", 0, &a->mmproj),
        CLI_OPT_STRING("output", 'o', &a->out_dir),
        CLI_OPT_LENS(&o->lens),
        CLI_OPT_DIVERGENCE(&o->divergence),
        CLI_OPT_CHOICE("scale", &o->scale, cli_scale),
        CLI_OPT_INT("rows", 0, &o->rows, 1, 1 << 20),
        CLI_OPT_INT("steps", 0, &o->steps, 1, 1 << 20),
        CLI_OPT_STRING("patch-words", 0, &o->patch_words),
        CLI_OPT_STRING("window", 0, &o->window),
        CLI_OPT_CALL("compute", 0, &o->compute, cli_compute),
        CLI_OPT_INT("critical", 0, &o->stage.critical, 1, 1 << 20),
        CLI_OPT_MUTATION(&o->stage.mutation),
        CLI_OPT_THREADS(&a->threads),
        CLI_OPT_FORMAT(&a->p.figure.format),
        CLI_OPT_DPI(&a->p.figure.dpi),
        CLI_OPT_PERPLEXITY(&a->p.tsne.perplexity),
        CLI_OPT_INT("iters", 0, &a->p.tsne.n_iter, 250, 1 << 20),
        CLI_OPT_SEED("seed", &a->p.tsne.seed, 1 << 30),
        CLI_OPT_FLAG("no-tsne", 0, &a->p.no_tsne),
        CLI_OPT_HELP,
        CLI_OPT_END,
    };
    int rc = cli_parse("analyze", usage, 0, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (optind != argc - 1)
        return cli_usage_error("analyze", "expects one RUN_DIR");
    if (a->mmproj && !a->model_dir)
        return cli_usage_error("analyze", "--mmproj goes with -m, the text model it belongs to");
    a->run_dir = argv[optind];
    return CLI_CONTINUE;
}

static void print_summary(const kevo_runfolder *run, const kevo_analysis *a,
                          const kevo_map *map, const char *out_dir, const kevo_analyze_params *p)
{
    kevo_stage_summary s = kevo_stages_summary(kevo_analysis_stages(a));
    kevo_lens_summary r = kevo_analysis_lens_summary(a);
    printf("%s: %d steps x %d hidden states, vocabulary %d; lens %s (%s products), divergence "
           "%s, %d chunk%s in %.2f s\n", kevo_runfolder_dir(run), r.n_steps, r.n_states,
           r.vocab, kevo_lens_mode_name(p->analysis.lens),
           p->analysis.compute == KEVO_COMPUTE_BF16 ? "BF16" : "F32",
           kevo_divergence_name(p->analysis.divergence), r.n_chunks, r.n_chunks == 1 ? "" : "s",
           r.seconds);
    if (s.critical >= 0)
        printf("critical layer %d (%s; the typical divergence falls %.2f decades there)",
               s.critical, s.critical_given ? "given" : "detected", s.critical_drop);
    else
        printf("no critical layer");
    if (s.mutation >= 0)
        printf(", mutation layer %d (%s; %d of %d tokens mutate)", s.mutation,
               s.mutation_given ? "given" : "detected", s.n_mutated, s.n_tokens);
    printf("\n");
    if (s.note[0])
        printf("note: %s\n", s.note);
    char stages[512];
    printf("stages:%s", cli_stages_text(kevo_analysis_stages(a), stages, sizeof stages));
    const char *ext = kevo_figure_format_ext(p->figure.format);
    kevo_map_summary m = map ? kevo_map_summarize(map) : (kevo_map_summary){.skipped = 1};
    char tsne[64] = "";
    if (map && !m.skipped)
        snprintf(tsne, sizeof tsne, "tsne.%s, tsne.csv, ", ext);
    printf("\nwrote %s/: report.html, heatmap.%s, area/step_000..%03d.%s, %slens.csv, "
           "divergence.csv, heatmap.csv, candidates.csv, top5.csv, stages.json\n", out_dir, ext,
           kevo_analysis_chart_steps(a) - 1, ext, tsne);
    if (map && m.skipped)
        printf("note: %s\n", m.note);
    else if (map)
        printf("t-SNE: %d points, perplexity %g, KL %.4f after %d iterations\n", m.n_points,
               m.tsne.perplexity_used, m.tsne.kl_divergence, m.tsne.n_iter_run);
}

int cmd_analyze(int argc, char **argv)
{
    analyze_args a = {.p = kevo_analyze_default_params()};
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    kevo_set_threads(a.threads);
    a.p.tsne.n_threads = a.threads;
    // The analysis stops at its next step on Ctrl-C or SIGTERM, always before the new folder is
    // swapped in, so the old analysis stays whole and the temporary folder is removed.
    a.p.interrupt = cli_catch_interrupt();

    kevo_error err;
    kevo_runfolder *run = NULL;
    kevo_model *model = NULL;
    kevo_analysis *an = NULL;
    kevo_map *map = NULL;
    char out_dir[KEVO_PATH_MAX];
    kevo_status st = kevo_runfolder_load(a.run_dir, &run, &err);
    if (st == KEVO_OK)
        st = a.out_dir ? cli_path(out_dir, &err, "%s", a.out_dir)
                       : kevo_path_join(out_dir, sizeof out_dir, a.run_dir, "analysis", &err);
    if (st == KEVO_OK)   // a destination kevo may not replace or cannot write: before the model
        st = kevo_analysis_check_dest(out_dir, &err);
    if (st == KEVO_OK)
        st = cli_run_model(run, a.model_dir, a.mmproj, "-m", &model, &err);
    if (st == KEVO_OK)
        st = kevo_analyze_run(run, model, &a.p, out_dir, &an, &map, &err);
    const char *warning = st == KEVO_OK ? kevo_analysis_warning(an) : "";
    if (warning[0])
        fprintf(stderr, "kevo analyze: warning: %s\n", warning);
    if (st == KEVO_OK)
        print_summary(run, an, map, out_dir, &a.p);
    kevo_map_free(map);
    kevo_analysis_free(an);
    kevo_model_free(model);
    kevo_runfolder_free(run);
    return st == KEVO_OK ? EXIT_OK : cli_report(&err);
}
