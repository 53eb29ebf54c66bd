// cmd_tsne.c — `kevo tsne --input X.npy|X.safetensors`: t-SNE of any matrix (rows = points),
// MaxAbs-scaled per column first unless --no-scale, with scikit-learn's TSNE defaults as the
// authors call it. The embedding is written as CSV (with a header line), .npy or safetensors.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_OUTPUTS 8

static const char usage[] =
    "usage: kevo tsne --input X.npy|X.safetensors [options] [-o OUT]...\n"
    "       (kevo tsne RUN_DIR... maps run folders: kevo tsne --help)\n"
    "\n"
    "t-SNE of the rows of a matrix (F32, F64, F16 or BF16; a tensor of more dimensions is\n"
    "read as rows of its last one, so a run's hidden [T, L+1, D] gives T*(L+1) points, step\n"
    "by step), with scikit-learn 1.2's TSNE semantics: PCA initialisation, early\n"
    "exaggeration 12 for 250 iterations, momentum 0.5 then 0.8, gains, stopping after 300\n"
    "iterations without progress. The columns are MaxAbs-scaled first (sklearn's\n"
    "MaxAbsScaler), as the authors do. The output does not depend on --threads.\n"
    "\n"
    "  --input FILE          the matrix: .npy, or .safetensors (see --tensor)\n"
    "  --tensor NAME         the tensor to read from a .safetensors file (default: its only\n"
    "                        tensor of 2 or more dimensions)\n"
    "  --perplexity P        (default 40; lowered to max(1, (n-1)/3) when >= n points)\n"
    "  --iters N             iterations, at least 250 (default 2000)\n"
    "  --learning-rate LR    (default 200)\n"
    "  --early-exaggeration E  (default 12)\n"
    "  --method M            barnes-hut (default) or exact (O(n^2) memory)\n"
    "  --angle A             Barnes-Hut opening angle in [0, 1] (default 0.5)\n"
    "  --components K        output dimensions, 1 to 3 (default 2)\n"
    "  --seed S              seed of the PCA initialisation (default 0)\n"
    "  --no-scale            do not MaxAbs-scale the columns\n"
    "  --threads N           threads (default: all cores)\n"
    "  -o, --output OUT      write the embedding to OUT: .csv (header x,y), .npy or\n"
    "                        .safetensors (tensor \"embedding\"); may be repeated. Without -o the\n"
    "                        CSV goes to stdout and the summary to stderr.\n";

// What `kevo tsne` was asked to do. Run-folder modes will add their fields here.
typedef struct tsne_opts {
    const char *input;
    const char *tensor;
    const char *outputs[MAX_OUTPUTS];
    int n_outputs;
    int scale;
    kevo_tsne_params params;
} tsne_opts;

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

// The --input mode: load, scale, embed, write.
static int tsne_input(const tsne_opts *o)
{
    kevo_error err;
    float *X = NULL, *Y = NULL;
    int n, d;
    if (o->tensor && ends_with(o->input, ".npy"))
        return cli_report(&(kevo_error){KEVO_ERR_ARG, "--tensor applies to .safetensors inputs "
                                        "only"});
    if (kevo_matrix_load(o->input, o->tensor, o->scale, &X, &n, &d, &err) != KEVO_OK)
        return cli_report(&err);
    const kevo_tsne_params *p = &o->params;
    kevo_tsne_result r;
    int rc = EXIT_OK;
    if (!(Y = malloc(sizeof *Y * (size_t)(n > 0 ? n : 1) * (size_t)p->n_components))) {
        kevo_fail(&err, KEVO_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (kevo_tsne_run(X, n, d, p, Y, &r, &err) != KEVO_OK) {
        kevo_error_prefix(&err, "%s: ", o->input);
        goto fail;
    }
    for (int i = 0; i < o->n_outputs; i++)
        if (kevo_embedding_write(o->outputs[i], Y, n, p->n_components, p, &r, &err) != KEVO_OK)
            goto fail;
    if (!o->n_outputs)
        kevo_embedding_write_csv(stdout, Y, n, p->n_components);
    FILE *s = o->n_outputs ? stdout : stderr;
    fprintf(s, "t-SNE of %d points x %d features%s: %s", n, d,
            o->scale ? " (MaxAbs-scaled columns)" : "", p->exact ? "exact" : "Barnes-Hut");
    if (!p->exact)
        fprintf(s, " (angle %g, %d neighbours)", p->angle, r.n_neighbors);
    fprintf(s, ", perplexity %g", r.perplexity_used);
    if (r.perplexity_used != p->perplexity)
        fprintf(s, " (lowered from %g: it must be below the %d points)", p->perplexity, n);
    fprintf(s, "\nKL divergence %.6f after %d iterations; %.3f s (neighbours %.3f, P %.3f, "
            "PCA %.3f, descent %.3f)\n", r.kl_divergence, r.n_iter_run,
            r.seconds_neighbors + r.seconds_affinities + r.seconds_init + r.seconds_optimize,
            r.seconds_neighbors, r.seconds_affinities, r.seconds_init, r.seconds_optimize);
    goto done;
fail:
    rc = cli_report(&err);
done:
    free(X);
    free(Y);
    return rc;
}

// Without --input the arguments are run folders: cmd_tsne_runs.c.
static int has_input(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--input") || !strncmp(argv[i], "--input=", 8))
            return 1;
    return 0;
}

// --method exact|barnes-hut into the kevo_tsne_params at dest (a CLI_CALL).
static int parse_method(const char *cmd, const char *arg, void *dest)
{
    kevo_tsne_params *p = dest;
    if (!strcmp(arg, "exact"))
        p->exact = 1;
    else if (!strcmp(arg, "barnes-hut") || !strcmp(arg, "barnes_hut"))
        p->exact = 0;
    else {
        cli_usage_error(cmd, "--method is exact or barnes-hut, not '%s'", arg);
        return 0;
    }
    return 1;
}

// -o OUT, repeatable, into the tsne_opts at dest (a CLI_CALL).
static int add_output(const char *cmd, const char *arg, void *dest)
{
    tsne_opts *o = dest;
    if (o->n_outputs == MAX_OUTPUTS) {
        cli_usage_error(cmd, "at most %d outputs", MAX_OUTPUTS);
        return 0;
    }
    if (!ends_with(arg, ".csv") && !ends_with(arg, ".npy") && !ends_with(arg, ".safetensors")) {
        cli_usage_error(cmd, "-o %s: the name must end in .csv, .npy or .safetensors", arg);
        return 0;
    }
    o->outputs[o->n_outputs++] = arg;
    return 1;
}

int cmd_tsne(int argc, char **argv)
{
    if (!has_input(argc, argv))
        return cmd_tsne_runs(argc, argv);
    tsne_opts o = {.params = kevo_tsne_default_params()};
    kevo_tsne_params *p = &o.params;
    int no_scale = 0;
    const cli_option opts[] = {
        CLI_OPT_STRING("input", 0, &o.input),
        CLI_OPT_STRING("tensor", 0, &o.tensor),
        CLI_OPT_DOUBLE("perplexity", &p->perplexity, 1e-3, 1e6),
        CLI_OPT_INT("iters", 0, &p->n_iter, 250, 10000000),
        CLI_OPT_DOUBLE("learning-rate", &p->learning_rate, 1e-6, 1e9),
        CLI_OPT_DOUBLE("early-exaggeration", &p->early_exaggeration, 1, 1e6),
        CLI_OPT_CALL("method", 0, p, parse_method),
        CLI_OPT_DOUBLE("angle", &p->angle, 0, 1),
        CLI_OPT_INT("components", 0, &p->n_components, 1, 3),
        CLI_OPT_SEED("seed", &p->seed, 2147483647),
        CLI_OPT_FLAG("no-scale", 0, &no_scale),
        CLI_OPT_INT("threads", 0, &p->n_threads, 1, 4096),
        CLI_OPT_CALL("output", 'o', &o, add_output),
        CLI_OPT_HELP,
        CLI_OPT_END,
    };
    int rc = cli_parse("tsne", usage, 0, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    o.scale = !no_scale;
    if (optind != argc)
        return cli_usage_error("tsne", "unexpected argument '%s' (run folders go without "
                               "--input: kevo tsne RUN_DIR...)", argv[optind]);
    if (!o.input)
        return cli_usage_error("tsne", "expects --input X.npy|X.safetensors");
    return tsne_input(&o);
}
