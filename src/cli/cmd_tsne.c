// cmd_tsne.c — `kevo tsne --input X.npy|X.safetensors`: t-SNE of any matrix (rows = points),
// MaxAbs-scaled per column first unless --no-scale, with scikit-learn's TSNE defaults as the
// authors call it. The embedding is written as CSV (with a header line), .npy or safetensors.
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/scaling.h"
#include "tsne/tsne.h"
#include "base/error.h"
#include "base/fs.h"
#include "cli/cli.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "kernels/convert.h"

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

// Copies a stored F32/F64/F16/BF16 tensor of rank >= 2 into a new float matrix (caller frees):
// the last dimension is the features, the leading ones are flattened into rows in C order, so a
// run's hidden [T, L+1, D] gives T * (L+1) points, step by step.
static kevo_status matrix_from_tensor(const kevo_tensor *t, float **X, int *n, int *d,
                                      kevo_error *err)
{
    if (t->n_dims < 2)
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "%s: tensor '%s' has %d dimension%s; t-SNE needs a 2-D matrix "
                         "(rows = points) or a tensor whose last dimension is the features",
                         t->path, t->name, t->n_dims, t->n_dims == 1 ? "" : "s");
    if (t->dtype != KEVO_DTYPE_F32 && t->dtype != KEVO_DTYPE_F64 &&
        t->dtype != KEVO_DTYPE_F16 && t->dtype != KEVO_DTYPE_BF16)
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "%s: tensor '%s' is %s; t-SNE reads F32, F64, F16 or BF16", t->path,
                         t->name, kevo_dtype_name(t->dtype));
    int64_t cols = t->shape[t->n_dims - 1], rows = cols ? (int64_t)t->n_elems / cols : 0;
    if (rows > 1 << 30 || cols > 1 << 30)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%s' of %lld x %lld is too large",
                         t->path, t->name, (long long)rows, (long long)cols);
    *n = (int)rows;
    *d = (int)cols;
    *X = malloc(sizeof **X * (t->n_elems ? t->n_elems : 1));
    if (!*X)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory for %llu values", t->path,
                         (unsigned long long)t->n_elems);
    if (t->dtype == KEVO_DTYPE_F64)
        for (uint64_t i = 0; i < t->n_elems; i++)
            (*X)[i] = (float)((const double *)t->data)[i];
    else
        kevo_convert_to_f32(*X, t->data, t->dtype, t->n_elems);
    // Refused here rather than by kevo_tsne_run so that the message names the file (and so that
    // a value too large for float32 is caught too).
    for (uint64_t i = 0; i < t->n_elems; i++)
        if (!isfinite((*X)[i])) {
            kevo_fail(err, KEVO_ERR_FORMAT,
                      "%s: tensor '%s' [%llu][%llu] is %s%s; t-SNE needs finite values", t->path,
                      t->name, (unsigned long long)(i / (uint64_t)*d),
                      (unsigned long long)(i % (uint64_t)*d), isnan((*X)[i]) ? "NaN" : "infinite",
                      t->dtype == KEVO_DTYPE_F64 ? " (in float32)" : "");
            free(*X);
            *X = NULL;
            return err->status;
        }
    return KEVO_OK;
}

static kevo_status load_matrix(const tsne_opts *o, float **X, int *n, int *d, kevo_error *err)
{
    kevo_status st;
    if (ends_with(o->input, ".npy")) {
        if (o->tensor)
            return kevo_fail(err, KEVO_ERR_ARG, "--tensor applies to .safetensors inputs only");
        kevo_npy *f;
        if ((st = kevo_npy_open(o->input, &f, err)) != KEVO_OK)
            return st;
        st = matrix_from_tensor(kevo_npy_tensor(f), X, n, d, err);
        kevo_npy_free(f);
        return st;
    }
    if (!ends_with(o->input, ".safetensors"))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: expected a .npy or .safetensors file",
                         o->input);
    kevo_safetensors *f;
    if ((st = kevo_safetensors_open(o->input, &f, err)) != KEVO_OK)
        return st;
    const kevo_tensor *t = NULL;
    if (o->tensor) {
        if (!(t = kevo_safetensors_find(f, o->tensor)))
            st = kevo_fail(err, KEVO_ERR_ARG, "%s: no tensor named '%s'", o->input, o->tensor);
    } else {
        int n2 = 0;
        for (size_t i = 0; i < kevo_safetensors_count(f); i++)
            if (kevo_safetensors_at(f, i)->n_dims >= 2)
                t = kevo_safetensors_at(f, i), n2++;
        if (n2 != 1)
            st = kevo_fail(err, KEVO_ERR_ARG,
                           "%s: holds %d tensors of 2 or more dimensions; name the one to embed "
                           "with --tensor", o->input, n2);
    }
    if (st == KEVO_OK)
        st = matrix_from_tensor(t, X, n, d, err);
    kevo_safetensors_free(f);
    return st;
}

static void write_csv_rows(FILE *s, const float *Y, int n, int k)
{
    static const char *names[] = {"x", "y", "z"};
    for (int c = 0; c < k; c++)
        fprintf(s, "%s%s", c ? "," : "", names[c]);
    fputc('\n', s);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
            fprintf(s, "%.9g%c", (double)Y[(size_t)i * k + c], c + 1 < k ? ',' : '\n');
}

static kevo_status write_output(const char *path, const float *Y, int n, int k,
                                const kevo_tsne_params *p, const kevo_tsne_result *r,
                                kevo_error *err)
{
    int64_t shape[2] = {n, k};
    if (ends_with(path, ".npy"))
        return kevo_npy_write(path, KEVO_DTYPE_F32, 2, shape, Y, err);
    if (ends_with(path, ".safetensors")) {
        char perp[32], kl[32], iters[32], seed[32];
        snprintf(perp, sizeof perp, "%.17g", r->perplexity_used);
        snprintf(kl, sizeof kl, "%.17g", r->kl_divergence);
        snprintf(iters, sizeof iters, "%d", r->n_iter_run);
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
        const char *meta[] = {"method", p->exact ? "exact" : "barnes-hut", "perplexity", perp,
                              "kl_divergence", kl, "n_iter", iters, "seed", seed};
        kevo_tensor_out t = {"embedding", KEVO_DTYPE_F32, 2, {n, k}, Y};
        return kevo_safetensors_write(path, &t, 1, meta, 5, err);
    }
    kevo_outfile *f;
    kevo_status st = kevo_outfile_open(path, &f, err);
    if (st != KEVO_OK)
        return st;
    write_csv_rows(kevo_outfile_stream(f), Y, n, k);
    return kevo_outfile_commit(f, err);
}

// The --input mode: load, scale, embed, write.
static int tsne_input(const tsne_opts *o)
{
    kevo_error err;
    float *X = NULL, *Y = NULL;
    int n, d;
    if (load_matrix(o, &X, &n, &d, &err) != KEVO_OK)
        return cli_report(&err);
    if (o->scale)
        kevo_maxabs_scale_columns(X, n, d);
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
        if (write_output(o->outputs[i], Y, n, p->n_components, p, &r, &err) != KEVO_OK)
            goto fail;
    if (!o->n_outputs)
        write_csv_rows(stdout, Y, n, p->n_components);
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

int cmd_tsne(int argc, char **argv)
{
    if (!has_input(argc, argv))
        return cmd_tsne_runs(argc, argv);
    enum { O_INPUT = 256, O_TENSOR, O_PERP, O_ITERS, O_LR, O_EE, O_METHOD, O_ANGLE, O_COMP,
           O_SEED, O_NOSCALE, O_THREADS };
    static const struct option opts[] = {
        {"input", required_argument, 0, O_INPUT},
        {"tensor", required_argument, 0, O_TENSOR},
        {"perplexity", required_argument, 0, O_PERP},
        {"iters", required_argument, 0, O_ITERS},
        {"learning-rate", required_argument, 0, O_LR},
        {"early-exaggeration", required_argument, 0, O_EE},
        {"method", required_argument, 0, O_METHOD},
        {"angle", required_argument, 0, O_ANGLE},
        {"components", required_argument, 0, O_COMP},
        {"seed", required_argument, 0, O_SEED},
        {"no-scale", no_argument, 0, O_NOSCALE},
        {"threads", required_argument, 0, O_THREADS},
        {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    tsne_opts o = {.scale = 1, .params = kevo_tsne_default_params()};
    kevo_tsne_params *p = &o.params;
    int c, seed;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        int ok = 1;
        switch (c) {
        case O_INPUT: o.input = optarg; break;
        case O_TENSOR: o.tensor = optarg; break;
        case O_PERP:
            ok = cli_parse_double("tsne", "--perplexity", optarg, 1e-3, 1e6, &p->perplexity);
            break;
        case O_ITERS:
            ok = cli_parse_int("tsne", "--iters", optarg, 250, 10000000, &p->n_iter);
            break;
        case O_LR:
            ok = cli_parse_double("tsne", "--learning-rate", optarg, 1e-6, 1e9,
                                  &p->learning_rate);
            break;
        case O_EE:
            ok = cli_parse_double("tsne", "--early-exaggeration", optarg, 1, 1e6,
                                  &p->early_exaggeration);
            break;
        case O_METHOD:
            if (!strcmp(optarg, "exact"))
                p->exact = 1;
            else if (!strcmp(optarg, "barnes-hut") || !strcmp(optarg, "barnes_hut"))
                p->exact = 0;
            else
                return cli_usage_error("tsne", "--method is exact or barnes-hut, not '%s'",
                                       optarg);
            break;
        case O_ANGLE: ok = cli_parse_double("tsne", "--angle", optarg, 0, 1, &p->angle); break;
        case O_COMP:
            ok = cli_parse_int("tsne", "--components", optarg, 1, 3, &p->n_components);
            break;
        case O_SEED:
            ok = cli_parse_int("tsne", "--seed", optarg, 0, 2147483647, &seed);
            p->seed = (uint64_t)seed;
            break;
        case O_NOSCALE: o.scale = 0; break;
        case O_THREADS:
            ok = cli_parse_int("tsne", "--threads", optarg, 1, 4096, &p->n_threads);
            break;
        case 'o':
            if (o.n_outputs == MAX_OUTPUTS)
                return cli_usage_error("tsne", "at most %d outputs", MAX_OUTPUTS);
            if (!ends_with(optarg, ".csv") && !ends_with(optarg, ".npy") &&
                !ends_with(optarg, ".safetensors"))
                return cli_usage_error("tsne", "-o %s: the name must end in .csv, .npy or "
                                       ".safetensors", optarg);
            o.outputs[o.n_outputs++] = optarg;
            break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: return cli_usage_error("tsne", "unknown option");
        }
        if (!ok)
            return EXIT_USAGE;
    }
    if (optind != argc)
        return cli_usage_error("tsne", "unexpected argument '%s' (run folders go without "
                               "--input: kevo tsne RUN_DIR...)", argv[optind]);
    if (!o.input)
        return cli_usage_error("tsne", "expects --input X.npy|X.safetensors");
    return tsne_input(&o);
}
