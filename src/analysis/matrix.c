// matrix.c — the matrix files of `kevo tsne --input`: rows of a stored tensor in, an embedding
// out (kevo.h, kevo/tsne.h).
#include "kevo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/scaling.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "base/convert.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

// Copies a stored F32/F64/F16/BF16 tensor of rank >= 2 into a new float matrix (caller frees).
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

static kevo_status load_npy(const char *path, float **X, int *n, int *d, kevo_error *err)
{
    kevo_npy *f;
    kevo_status st = kevo_npy_open(path, &f, err);
    if (st != KEVO_OK)
        return st;
    st = matrix_from_tensor(kevo_npy_tensor(f), X, n, d, err);
    kevo_npy_free(f);
    return st;
}

static kevo_status load_safetensors(const char *path, const char *tensor, float **X, int *n,
                                    int *d, kevo_error *err)
{
    kevo_safetensors *f;
    kevo_status st = kevo_safetensors_open(path, &f, err);
    if (st != KEVO_OK)
        return st;
    const kevo_tensor *t = NULL;
    if (tensor) {
        if (!(t = kevo_safetensors_find(f, tensor)))
            st = kevo_fail(err, KEVO_ERR_ARG, "%s: no tensor named '%s'", path, tensor);
    } else {
        int n2 = 0;
        for (size_t i = 0; i < kevo_safetensors_count(f); i++)
            if (kevo_safetensors_at(f, i)->n_dims >= 2)
                t = kevo_safetensors_at(f, i), n2++;
        if (n2 != 1)
            st = kevo_fail(err, KEVO_ERR_ARG,
                           "%s: holds %d tensors of 2 or more dimensions; name the one to embed "
                           "with --tensor", path, n2);
    }
    if (st == KEVO_OK)
        st = matrix_from_tensor(t, X, n, d, err);
    kevo_safetensors_free(f);
    return st;
}

kevo_status kevo_matrix_load(const char *path, const char *tensor, int maxabs, float **X,
                             int *n, int *d, kevo_error *err)
{
    kevo_status st;
    *X = NULL;
    if (ends_with(path, ".npy"))
        st = tensor ? kevo_fail(err, KEVO_ERR_ARG, "%s: a .npy file holds one array; only a "
                                ".safetensors file has tensors to choose from", path)
                    : load_npy(path, X, n, d, err);
    else if (ends_with(path, ".safetensors"))
        st = load_safetensors(path, tensor, X, n, d, err);
    else
        st = kevo_fail(err, KEVO_ERR_ARG, "%s: expected a .npy or .safetensors file", path);
    if (st == KEVO_OK && maxabs)
        kevo_maxabs_scale_columns(*X, *n, *d);
    return st;
}

void kevo_embedding_write_csv(FILE *f, const float *Y, int n, int k)
{
    static const char *names[] = {"x", "y", "z"};
    for (int c = 0; c < k; c++)
        fprintf(f, "%s%s", c ? "," : "", names[c]);
    fputc('\n', f);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
            fprintf(f, "%.9g%c", (double)Y[(size_t)i * k + c], c + 1 < k ? ',' : '\n');
}

kevo_status kevo_embedding_write(const char *path, const float *Y, int n, int k,
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
    kevo_embedding_write_csv(kevo_outfile_stream(f), Y, n, k);
    return kevo_outfile_commit(f, err);
}
