// cmd_diff.c — `kevo diff RUN_A RUN_B`: two runs of the same image and question compared layer by
// layer, written into RUN_A/diff-<RUN_B's name>/ (docs/diff.md).
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/generation.h"

static const char usage[] =
    "usage: kevo diff RUN_A RUN_B [-m MODEL_A] [--model-b MODEL_B] [-o OUT] [options]\n"
    "\n"
    "Compares two run folders of the same image and question step by step and layer by layer:\n"
    "the same model in two dtypes or quantisations, two models that share a tokenizer, or one\n"
    "run through two lenses (kevo diff RUN RUN --lens raw --lens-b norm). Over the common\n"
    "generated steps (those beyond the shorter run are not compared) and every hidden-state\n"
    "index both runs have: the relative error ||a - b|| / ||a|| and the cosine of the recorded\n"
    "states (when both have the same width and number of states), the Jensen-Shannon\n"
    "divergence in bits between the two lens distributions (each run through its own model's\n"
    "LM head), both top tokens, the first step and index where they disagree, and the step\n"
    "where the generated texts part. Writes diff.csv, layers.csv, diff.json, layers_error.png,\n"
    "layers_jsd.png, heatmap.png and report.html (docs/diff.md describes each).\n"
    "\n"
    "Refused (exit status 1): a missing or malformed run folder, states that are not finite,\n"
    "models whose vocabularies or tokenizers differ, a model that does not read its run; and,\n"
    "unless --force, runs of different images or questions (the message says what differs).\n"
    "\n"
    "  -m, --model DIR        run A's model (default: the model run A records)\n"
    "  --model-b DIR          run B's model (default: the model run B records)\n"
    "  --mmproj FILE, --mmproj-b FILE\n"
    "                         with -m / --model-b, the text .gguf's vision file, named apart\n"
    "  -o, --output DIR       write there instead of RUN_A/diff-<name of RUN_B>\n"
    "  --lens raw|norm        run A's lens: raw, the LM head on the recorded states (default);\n"
    "                         norm: the final RMSNorm applied first below the last layer\n"
    "  --lens-b raw|norm      run B's lens (default: the same as run A's)\n"
    "  --force                compare runs of different images or questions anyway\n"
    "  --format png|svg|pdf   figure format (default png; the report embeds PNG copies of PDFs)\n"
    "  --dpi N                PNG resolution in pixels per inch (default 150)\n"
    "  --threads N            threads for the products (default: all cores)\n";

typedef struct diff_args {
    const char *run_a, *run_b, *model_a, *model_b, *mmproj_a, *mmproj_b, *out_dir;
    int threads, force;
    kevo_lens_mode lens_b;
    kevo_diff_params p;
} diff_args;

static int parse_args(int argc, char **argv, diff_args *a)
{
    const cli_option opts[] = {
        CLI_OPT_STRING("model", 'm', &a->model_a),
        CLI_OPT_STRING("model-b", 0, &a->model_b),
        CLI_OPT_STRING("mmproj", 0, &a->mmproj_a),
        CLI_OPT_STRING("mmproj-b", 0, &a->mmproj_b),
        CLI_OPT_STRING("output", 'o', &a->out_dir),
        CLI_OPT_LENS(&a->p.lens_a),
        CLI_OPT_CHOICE("lens-b", &a->lens_b, cli_lens),
        CLI_OPT_FLAG("force", 0, &a->force),
        CLI_OPT_FORMAT(&a->p.figure.format),
        CLI_OPT_DPI(&a->p.figure.dpi),
        CLI_OPT_THREADS(&a->threads),
        CLI_OPT_HELP,
        CLI_OPT_END,
    };
    int rc = cli_parse("diff", usage, 0, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (optind != argc - 2)
        return cli_usage_error("diff", "expects two run folders, RUN_A and RUN_B");
    if ((a->mmproj_a && !a->model_a) || (a->mmproj_b && !a->model_b))
        return cli_usage_error("diff", "--mmproj goes with -m and --mmproj-b with --model-b, "
                               "the text model each belongs to");
    a->run_a = argv[optind];
    a->run_b = argv[optind + 1];
    a->p.lens_b = (int)a->lens_b >= 0 ? a->lens_b : a->p.lens_a;   // default: A's
    a->p.force = a->force;
    return CLI_CONTINUE;
}

// RUN_A/diff-<the last component of RUN_B, trailing slashes ignored>.
static kevo_status default_out(char out[KEVO_PATH_MAX], const char *run_a, const char *run_b,
                               kevo_error *err)
{
    char name[KEVO_PATH_MAX];
    size_t n = strlen(run_b);
    while (n > 1 && run_b[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && run_b[start - 1] != '/')
        start--;
    if (n - start + 6 > sizeof name)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: the name is too long", run_b);
    snprintf(name, sizeof name, "diff-%.*s", (int)(n - start), run_b + start);
    return kevo_path_join(out, KEVO_PATH_MAX, run_a, name, err);
}

// Whether two optional paths are the same string (both NULL included).
static int same_path(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static void print_summary(const kevo_diff *d, const diff_args *a, const char *out_dir)
{
    kevo_diff_summary s = kevo_diff_summarize(d);
    printf("%s vs %s: %d common steps x %d hidden states; lenses %s / %s\n", a->run_a, a->run_b,
           s.steps, s.states, kevo_lens_mode_name(a->p.lens_a), kevo_lens_mode_name(a->p.lens_b));
    if (s.compared_states)
        printf("states: relative error at most %.3g, cosine at least %.9g\n", s.max_rel_err,
               s.min_cosine);
    printf("lenses: JSD at most %.3g bits; top tokens agree at the last index in %d of %d "
           "steps\n", s.max_jsd, s.final_agree, s.steps);
    if (s.first_step >= 0)
        printf("top tokens first disagree at step %d, index %d (shallowest: index %d, step %d)\n",
               s.first_step, s.first_index, s.shallowest_index, s.shallowest_step);
    else
        printf("top tokens never disagree\n");
    if (s.parting_step >= 0)
        printf("the generated texts part at step %d\n", s.parting_step);
    else
        printf("both runs generated the same tokens\n");
    if (s.note[0])
        printf("note: %s\n", s.note);
    const char *ext = kevo_figure_format_ext(a->p.figure.format);
    printf("wrote %s/: report.html, diff.csv, layers.csv, diff.json, %s%s%slayers_jsd.%s, "
           "heatmap.%s\n", out_dir, s.compared_states ? "layers_error." : "",
           s.compared_states ? ext : "", s.compared_states ? ", " : "", ext, ext);
}

int cmd_diff(int argc, char **argv)
{
    diff_args a = {.p = kevo_diff_default_params(), .lens_b = (kevo_lens_mode)-1};
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    kevo_set_threads(a.threads);
    a.p.interrupt = cli_catch_interrupt();

    kevo_error err;
    kevo_runfolder *ra = NULL, *rb = NULL;
    kevo_model *ma = NULL, *mb = NULL;
    kevo_diff *d = NULL;
    char out_dir[KEVO_PATH_MAX];
    kevo_status st = KEVO_OK;
    const char *runs[2] = {a.run_a, a.run_b};
    for (int i = 0; i < 2 && st == KEVO_OK; i++)
        if (!kevo_dir_exists(runs[i]))
            st = kevo_fail(&err, KEVO_ERR_IO, "%s: no such folder (run %c)", runs[i], 'A' + i);
    if (st == KEVO_OK)
        st = kevo_runfolder_load(a.run_a, &ra, &err);
    if (st == KEVO_OK)
        st = kevo_runfolder_load(a.run_b, &rb, &err);
    if (st == KEVO_OK)
        st = a.out_dir ? cli_path(out_dir, &err, "%s", a.out_dir)
                       : default_out(out_dir, a.run_a, a.run_b, &err);
    if (st == KEVO_OK)   // a destination kevo may not replace: before the models load
        st = kevo_diff_check_dest(out_dir, &err);
    if (st == KEVO_OK)
        st = cli_run_model(ra, a.model_a, a.mmproj_a, "-m", &ma, &err);
    const char *dir_b = st == KEVO_OK && !a.model_b ? kevo_runfolder_model_dir(rb) : a.model_b;
    const char *mm_b = st == KEVO_OK && !a.model_b ? kevo_runfolder_mmproj(rb) : a.mmproj_b;
    int same = st == KEVO_OK && !strcmp(dir_b, kevo_model_dir(ma)) &&
               same_path(mm_b, kevo_model_mmproj(ma));   // one model read once
    if (st == KEVO_OK && !same)
        st = cli_run_model(rb, a.model_b, a.mmproj_b, "--model-b", &mb, &err);
    if (st == KEVO_OK)
        st = kevo_diff_runs(ra, rb, ma, same ? ma : mb, &a.p, out_dir, &d, &err);
    if (st == KEVO_OK && kevo_diff_summarize(d).warning[0])
        fprintf(stderr, "kevo diff: warning: %s\n", kevo_diff_summarize(d).warning);
    if (st == KEVO_OK)
        print_summary(d, &a, out_dir);
    kevo_diff_free(d);
    kevo_model_free(mb);
    kevo_model_free(ma);
    kevo_runfolder_free(rb);
    kevo_runfolder_free(ra);
    return st == KEVO_OK ? EXIT_OK : cli_report(&err);
}
