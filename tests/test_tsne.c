// test_tsne.c — t-SNE against scikit-learn 1.2 (tools/oracles/oracle_tsne.py): nearest neighbours,
// distances, the perplexity calibration, P, both gradients, the PCA initialisation, end-to-end KL
// divergence and trustworthiness, the lowered perplexity of small inputs, thread independence,
// the SIMD paths (AVX2, AVX-512) against the scalar ones, refusals, and `kevo tsne`.
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/scaling.h"
#include "kevo.h"
#include "tsne/affinity.h"
#include "tsne/gradient.h"
#include "tsne/neighbors.h"
#include "tsne/pca.h"
#include "tsne/tree.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "test.h"

// The acceptance margins of issue 6: kevo's final KL at most 5% above sklearn's, and a
// trustworthiness (k = 10) at least as good. t-SNE is chaotic: two seeds of sklearn differ by a
// few percent in KL. So both sides are averaged over the same three seeds, and "at least as good"
// allows the difference of two such means two standard errors, which is about the range of
// sklearn's own three values.
#define KL_MARGIN 1.05

// ---- reference data

// Reads oracle/tsne/<name> (a .npy of `want` dtype, 1-D or 2-D) into a new buffer.
static void *load(const char *name, kevo_dtype want, int *rows, int *cols)
{
    char rel[256];
    snprintf(rel, sizeof rel, "oracle/tsne/%s", name);
    kevo_error err;
    kevo_npy *f;
    if (!CHECK_OK(kevo_npy_open(kevo_test_data(rel), &f, &err), &err))
        return NULL;
    const kevo_tensor *t = kevo_npy_tensor(f);
    void *copy = NULL;
    if (CHECK(t->dtype == want && (t->n_dims == 1 || t->n_dims == 2), "%s: %s with %d dims", name,
              kevo_dtype_name(t->dtype), t->n_dims)) {
        *rows = (int)t->shape[0];
        *cols = t->n_dims == 2 ? (int)t->shape[1] : 1;
        copy = malloc(t->n_bytes ? t->n_bytes : 1);
        memcpy(copy, t->data, t->n_bytes);
    }
    kevo_npy_free(f);
    return copy;
}

static cJSON *results(void)
{
    kevo_error err;
    cJSON *j = NULL;
    CHECK_OK(kevo_json_load(kevo_test_data("oracle/tsne/results.json"), 1 << 20, &j, &err), &err);
    return j;
}

// results.json's section.key, or its element i when it is a list (one value per seed).
static double result_at(const cJSON *j, const char *section, const char *key, int i)
{
    const cJSON *s = section ? cJSON_GetObjectItemCaseSensitive(j, section) : j;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
    if (cJSON_IsArray(v))
        v = cJSON_GetArrayItem(v, i);
    CHECK(cJSON_IsNumber(v), "results.json lacks %s.%s[%d]", section ? section : "", key, i);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static double result(const cJSON *j, const char *section, const char *key)
{
    return result_at(j, section, key, 0);
}

// Like CHECK_CLOSE, for doubles.
static int close_f64(const char *name, const double *got, const double *want, size_t n,
                     double atol, double rtol)
{
    size_t bad = 0, worst = 0;
    double worst_excess = -1, max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs(got[i] - want[i]), lim = atol + rtol * fabs(want[i]);
        max_abs = diff > max_abs ? diff : max_abs;
        if (!(diff <= lim)) {
            bad++;
            if (!(diff - lim <= worst_excess))
                worst_excess = diff - lim, worst = i;
        }
    }
    return CHECK(!bad, "%s: %zu of %zu values outside atol %g + rtol %g (max abs diff %.3g; "
                 "worst [%zu] got %.17g want %.17g)", name, bad, n, atol, rtol, max_abs, worst,
                 got[worst], want[worst]);
}

// ---- trustworthiness (sklearn/manifold/_t_sne.py), for the embeddings kevo produces

static const double *sort_key;
static int by_key(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    return sort_key[i] < sort_key[j] ? -1 : sort_key[i] > sort_key[j] ? 1 : (i > j) - (i < j);
}

// T(k) = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in the k nearest of i in Y} max(0, r(i, j) - k),
// r(i, j) the rank of j among i's neighbours in X.
static double trustworthiness(const float *X, int n, int d, const float *Y, int dy, int k)
{
    double *dist = malloc(sizeof *dist * (size_t)n);
    int *ord = malloc(sizeof *ord * (size_t)n), *rank = malloc(sizeof *rank * (size_t)n);
    double t = 0;
    sort_key = dist;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int a = 0; a < d; a++) {
                double u = (double)X[(size_t)i * d + a] - X[(size_t)j * d + a];
                s += u * u;
            }
            dist[j] = j == i ? INFINITY : s;
            ord[j] = j;
        }
        qsort(ord, (size_t)n, sizeof *ord, by_key);
        for (int r = 0; r < n; r++)
            rank[ord[r]] = r + 1;
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int a = 0; a < dy; a++) {
                double u = (double)Y[(size_t)i * dy + a] - Y[(size_t)j * dy + a];
                s += u * u;
            }
            dist[j] = j == i ? INFINITY : s;
            ord[j] = j;
        }
        qsort(ord, (size_t)n, sizeof *ord, by_key);
        for (int r = 0; r < k; r++)
            t += rank[ord[r]] > k ? rank[ord[r]] - k : 0;
    }
    free(dist);
    free(ord);
    free(rank);
    return 1.0 - t * (2.0 / ((double)n * k * (2.0 * n - 3.0 * k - 1.0)));
}

// Random but reproducible data: `clusters` Gaussian clusters in d dimensions.
static float *clustered(int n, int d, int clusters, unsigned seed)
{
    float *X = malloc(sizeof *X * (size_t)n * d);
    srand(seed);
    float *centre = malloc(sizeof *centre * (size_t)clusters * d);
    for (int c = 0; c < clusters * d; c++)
        centre[c] = (float)(rand() % 2000) / 100.0f - 10.0f;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++) {
            double u1 = (rand() + 1.0) / (RAND_MAX + 2.0), u2 = rand() / (RAND_MAX + 1.0);
            double g = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
            X[(size_t)i * d + a] = centre[(i % clusters) * d + a] + (float)g;
        }
    free(centre);
    return X;
}

// ---- the pieces, against sklearn's own functions on the same inputs

KEVO_TEST(tsne_knn_matches_sklearn)
{
    int n, d, r, k, r2, k2;
    float *X = load("blobs.npy", KEVO_DTYPE_F32, &n, &d);
    int32_t *ref_idx = load("knn_idx.npy", KEVO_DTYPE_I32, &r, &k);
    float *ref_sqd = load("knn_sqd.npy", KEVO_DTYPE_F32, &r2, &k2);
    if (!X || !ref_idx || !ref_sqd)
        return;
    int32_t *idx = malloc(sizeof *idx * (size_t)n * k);
    float *sqd = malloc(sizeof *sqd * (size_t)n * k);
    kevo_error err;
    if (CHECK_OK(kevo_tsne_knn(X, n, d, k, idx, sqd, &err), &err)) {
        CHECK_CLOSE("squared distances", sqd, ref_sqd, (size_t)n * k, 1e-6, 1e-5);
        int differ = 0;
        for (int i = 0; i < n; i++)
            for (int a = 0; a < k; a++)
                differ += idx[(size_t)i * k + a] != ref_idx[(size_t)i * k + a];
        CHECK(differ == 0, "%d of %d neighbour indices differ from sklearn's", differ, n * k);
    }
    CHECK(kevo_tsne_knn(X, n, d, n, idx, sqd, &err) == KEVO_ERR_ARG, "k = n accepted");
    free(X), free(ref_idx), free(ref_sqd), free(idx), free(sqd);
}

KEVO_TEST(tsne_sqdist_matches_sklearn)
{
    int n, d, r, c;
    float *X = load("blobs.npy", KEVO_DTYPE_F32, &n, &d);
    float *ref = load("sqdist.npy", KEVO_DTYPE_F32, &r, &c);
    if (!X || !ref)
        return;
    float *D = malloc(sizeof *D * (size_t)n * n);
    kevo_error err;
    if (CHECK_OK(kevo_tsne_sqdist_full(X, n, d, D, &err), &err)) {
        // sklearn computes in float64 and casts; the float32 Gram leaves ~1e-6 of ||x||^2.
        for (int i = 0; i < n; i++)
            ref[(size_t)i * n + i] = 0.0f;
        CHECK_CLOSE("squared distances", D, ref, (size_t)n * n, 1e-6, 1e-5);
        int asym = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                asym += D[(size_t)i * n + j] != D[(size_t)j * n + i];
        CHECK(asym == 0, "%d asymmetric entries", asym);
    }
    free(X), free(ref), free(D);
}

// Row entropies of the conditionals must hit log(perplexity) within the search tolerance.
static void check_entropies(const char *what, const double *P, int n, int k, double perplexity)
{
    int off = 0;
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double h = 0;
        for (int j = 0; j < k; j++) {
            double p = P[(size_t)i * k + j];
            h -= p > 0 ? p * log(p) : 0;
        }
        double e = fabs(h - log(perplexity));
        worst = e > worst ? e : worst;
        off += e > 1.01e-5;
    }
    CHECK(off == 0, "%s: %d rows miss log(perplexity) by more than 1e-5 (worst %.3g)", what, off,
          worst);
}

KEVO_TEST(tsne_calibration_matches_sklearn)
{
    cJSON *res = results();
    double perp = result(res, NULL, "perplexity");
    int n, k, r, c;
    float *sqd = load("knn_sqd.npy", KEVO_DTYPE_F32, &n, &k);
    double *ref = load("cond_knn.npy", KEVO_DTYPE_F64, &r, &c);
    float *full = load("sqdist.npy", KEVO_DTYPE_F32, &r, &c);
    double *ref_full = load("cond_exact.npy", KEVO_DTYPE_F64, &r, &c);
    if (sqd && ref && full && ref_full) {
        double *P = malloc(sizeof *P * (size_t)n * n);
        kevo_tsne_conditional_p(sqd, n, k, perp, P);
        close_f64("neighbour conditionals", P, ref, (size_t)n * k, 1e-15, 1e-12);
        check_entropies("neighbours", P, n, k, perp);
        kevo_tsne_conditional_p(full, n, n, perp, P);
        close_f64("exact conditionals", P, ref_full, (size_t)n * n, 1e-15, 1e-12);
        int diag = 0;
        for (int i = 0; i < n; i++)
            diag += P[(size_t)i * n + i] != 0.0;
        CHECK(diag == 0, "%d diagonal conditionals are not 0", diag);
        free(P);
    }
    cJSON_Delete(res);
    free(sqd), free(ref), free(full), free(ref_full);
}

KEVO_TEST(tsne_joint_p_matches_sklearn)
{
    int n, k, r, c, nnz;
    int32_t *idx = load("knn_idx.npy", KEVO_DTYPE_I32, &n, &k);
    double *cond = load("cond_knn.npy", KEVO_DTYPE_F64, &r, &c);
    int64_t *indptr = load("p_indptr.npy", KEVO_DTYPE_I64, &r, &c);
    int32_t *indices = load("p_indices.npy", KEVO_DTYPE_I32, &nnz, &c);
    double *data = load("p_data.npy", KEVO_DTYPE_F64, &r, &c);
    double *cond_full = load("cond_exact.npy", KEVO_DTYPE_F64, &r, &c);
    double *p_exact = load("p_exact.npy", KEVO_DTYPE_F64, &r, &c);
    kevo_error err;
    kevo_tsne_csr P;
    if (idx && cond && indptr && indices && data &&
        CHECK_OK(kevo_tsne_joint_sparse(idx, cond, n, k, &P, &err), &err)) {
        CHECK(memcmp(P.indptr, indptr, sizeof *indptr * ((size_t)n + 1)) == 0, "indptr differs");
        if (CHECK(P.indptr[n] == nnz, "%lld nonzeros, sklearn %d", (long long)P.indptr[n], nnz)) {
            CHECK(memcmp(P.indices, indices, sizeof *indices * (size_t)nnz) == 0,
                  "column indices differ");
            close_f64("P", P.values, data, (size_t)nnz, 0, 1e-12);
        }
        kevo_tsne_csr_free(&P);
    }
    if (cond_full && p_exact) {
        kevo_tsne_joint_dense(cond_full, n);
        close_f64("exact P", cond_full, p_exact, (size_t)n * n, 0, 1e-12);
    }
    free(idx), free(cond), free(indptr), free(indices), free(data), free(cond_full),
        free(p_exact);
}

// y0 file, gradient files and KL keys of the 1-, 2- and 3-D cases.
static void case_names(int dim, const char *what, char *y, char *grad, char *kl)
{
    const char *sfx = dim == 2 ? "" : dim == 1 ? "_1d" : "_3d";
    sprintf(y, "y0%s.npy", sfx);
    sprintf(grad, "grad_%s%s.npy", what, sfx);
    sprintf(kl, "kl_%s_y0%s", what, sfx);
}

KEVO_TEST(tsne_gradient_exact_matches_sklearn)
{
    cJSON *res = results();
    int n, r, c;
    double *P = load("p_exact.npy", KEVO_DTYPE_F64, &n, &c);
    for (int dim = 1; P && dim <= 3; dim++) {
        char yname[32], gname[32], klname[32];
        case_names(dim, "exact", yname, gname, klname);
        float *y0 = load(yname, KEVO_DTYPE_F32, &r, &c);
        float *ref = load(gname, KEVO_DTYPE_F32, &r, &c);
        if (y0 && ref) {
            int dof = dim > 2 ? dim - 1 : 1;
            float *grad = malloc(sizeof *grad * (size_t)n * dim);
            double *work = malloc(sizeof *work * (size_t)n * (n + 1));
            double kl = kevo_tsne_exact_gradient(P, y0, n, dim, dof, 1, grad, work);
            double want = result(res, NULL, klname);
            CHECK(fabs(kl - want) <= 1e-12 * want, "%d-D: KL %.17g, sklearn %.17g", dim, kl,
                  want);
            CHECK_CLOSE(gname, grad, ref, (size_t)n * dim, 0, 1e-6);
            CHECK(isnan(kevo_tsne_exact_gradient(P, y0, n, dim, dof, 0, grad, work)),
                  "KL computed when not asked");
            free(grad), free(work);
        }
        free(y0), free(ref);
    }
    cJSON_Delete(res);
    free(P);
}

// The Barnes-Hut gradient of sklearn's P at y0 in 1, 2 and 3 dimensions; in 2-D both the scalar
// and the SIMD code of the kernel path in use (AVX2 or AVX-512), which must agree bit for bit.
KEVO_TEST(tsne_gradient_bh_matches_sklearn)
{
    cJSON *res = results();
    int n, r, c, nnz;
    int64_t *indptr = load("p_indptr.npy", KEVO_DTYPE_I64, &n, &c);
    int32_t *indices = load("p_indices.npy", KEVO_DTYPE_I32, &nnz, &c);
    double *data = load("p_data.npy", KEVO_DTYPE_F64, &r, &c);
    n -= 1;
    for (int dim = 1; indptr && indices && data && dim <= 3; dim++) {
        char yname[32], gname[32], klname[32];
        case_names(dim, "bh", yname, gname, klname);
        float *y0 = load(yname, KEVO_DTYPE_F32, &r, &c);
        float *ref = load(gname, KEVO_DTYPE_F32, &r, &c);
        kevo_error err;
        kevo_tsne_bh *bh = NULL;
        if (y0 && ref && CHECK_OK(kevo_tsne_bh_create(n, dim, &bh, &err), &err)) {
            int dof = dim > 2 ? dim - 1 : 1;
            // Scalar, SIMD with int32 indices, SIMD with the 16-bit copy.
            uint16_t *idx16 = malloc(sizeof *idx16 * (size_t)nnz);
            for (int t = 0; t < nnz; t++)
                idx16[t] = (uint16_t)indices[t];
            kevo_tsne_csr P = {n, indptr, indices, data, NULL};
            float *Pf = malloc(sizeof *Pf * (size_t)nnz);
            for (int t = 0; t < nnz; t++)
                Pf[t] = (float)data[t];
            float *grad[3];
            double kl[3] = {0, 0, 0}, want = result(res, NULL, klname);
            for (int v = 0; v < 3; v++) {
                char label[64];
                snprintf(label, sizeof label, "%d-D BH gradient (%s)", dim,
                         v == 0 ? "scalar" : v == 1 ? "SIMD, int32" : "SIMD, uint16");
                grad[v] = malloc(sizeof(float) * (size_t)n * dim);
                P.indices16 = v == 2 ? idx16 : NULL;
                if (!CHECK_OK(kevo_tsne_bh_gradient(bh, &P, Pf, y0, 0.5f, dof, 1, v > 0, 1,
                                                    grad[v], &kl[v], &err), &err))
                    continue;
                // The tree's barycentres are exact means here and running float32 means in
                // sklearn; that moves the summarised forces by float32 rounding.
                CHECK(fabs(kl[v] - want) <= 1e-5 * want, "%s: KL %.9g, sklearn %.9g", label,
                      kl[v], want);
                CHECK_CLOSE(label, grad[v], ref, (size_t)n * dim, 1e-8, 1e-4);
            }
            for (int v = 1; v < 3; v++)
                CHECK(memcmp(grad[0], grad[v], sizeof(float) * (size_t)n * dim) == 0 &&
                      kl[0] == kl[v], "%d-D: SIMD variant %d differs from the scalar code",
                      dim, v);
            free(Pf), free(grad[0]), free(grad[1]), free(grad[2]), free(idx16);
        }
        kevo_tsne_bh_free(bh);
        free(y0), free(ref);
    }
    cJSON_Delete(res);
    free(indptr), free(indices), free(data);
}

// The grouped SIMD walk and the attraction kernel of the kernel path in use (AVX2 or AVX-512) give
// the scalar bits, on awkward points: exact duplicates, near-duplicates within 1e-6, tight
// clusters and far outliers; rows of varied lengths, most ending in a partial group of 16 lanes.
KEVO_TEST(tsne_simd_matches_scalar)
{
    const int n = 3001, k = 20;
    float *Y = malloc(sizeof *Y * (size_t)n * 2);
    srand(42);
    for (int i = 0; i < n; i++) {
        int kind = i % 10;
        float x = (float)(rand() % 100000) / 997.0f, y = (float)(rand() % 100000) / 991.0f;
        if (kind == 0 && i > 0)
            x = Y[2 * (i - 1)], y = Y[2 * (i - 1) + 1];                 // duplicate
        else if (kind == 1 && i > 0)
            x = Y[2 * (i - 1)] + 5e-7f, y = Y[2 * (i - 1) + 1];         // within 1e-6
        else if (kind == 2)
            x = 1e-3f * x, y = 1e-3f * y;                               // a tight cluster
        else if (kind == 3)
            x = -500.0f - x, y *= 40.0f;                                // far away
        Y[2 * i] = x;
        Y[2 * i + 1] = y;
    }
    int32_t *idx = malloc(sizeof *idx * (size_t)n * k);
    double *cond = malloc(sizeof *cond * (size_t)n * k);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < k; a++) {
            idx[(size_t)i * k + a] = (i + 1 + a * 37 + rand() % 5) % n;
            cond[(size_t)i * k + a] = (rand() % 1000 + 1) / 1e4;
        }
    kevo_error err;
    kevo_tsne_csr P;
    kevo_tsne_bh *bh = NULL;
    if (CHECK_OK(kevo_tsne_joint_sparse(idx, cond, n, k, &P, &err), &err) &&
        CHECK_OK(kevo_tsne_bh_create(n, 2, &bh, &err), &err)) {
        float *Pf = malloc(sizeof *Pf * (size_t)P.indptr[n]);
        for (int64_t t = 0; t < P.indptr[n]; t++)
            Pf[t] = (float)(12.0 * P.values[t]);
        float *g0 = malloc(sizeof *g0 * (size_t)n * 2), *g1 = malloc(sizeof *g1 * (size_t)n * 2);
        double kl0, kl1;
        uint16_t *idx16 = P.indices16;
        // Two opening angles (the default and a coarse one); the 16-bit and the int32 indices.
        for (int a = 0; a < 4; a++) {
            float angle = a % 2 ? 0.8f : 0.5f;
            P.indices16 = a < 2 ? idx16 : NULL;
            CHECK_OK(kevo_tsne_bh_gradient(bh, &P, Pf, Y, angle, 1, 1, 0, 1, g0, &kl0, &err),
                     &err);
            CHECK_OK(kevo_tsne_bh_gradient(bh, &P, Pf, Y, angle, 1, 1, 1, 2, g1, &kl1, &err),
                     &err);
            CHECK(memcmp(g0, g1, sizeof *g0 * (size_t)n * 2) == 0 && kl0 == kl1,
                  "angle %g, %s indices: SIMD on 2 threads and scalar on 1 differ", angle,
                  a < 2 ? "16-bit" : "int32");
        }
        P.indices16 = idx16;
        if (!kevo_tsne_kernels_get())
            printf("    (the ref kernel path: both runs took the scalar code)\n");
        free(Pf), free(g0), free(g1);
        kevo_tsne_csr_free(&P);
    }
    kevo_tsne_bh_free(bh);
    free(Y), free(idx), free(cond);
}

KEVO_TEST(tsne_pca_matches_exact_pca)
{
    int n, d, r, c;
    float *X = load("blobs.npy", KEVO_DTYPE_F32, &n, &d);
    float *ref = load("pca_scores.npy", KEVO_DTYPE_F32, &r, &c);
    float *W = load("pca_wide_x.npy", KEVO_DTYPE_F32, &r, &c);
    float *ref_w = load("pca_wide_scores.npy", KEVO_DTYPE_F32, &r, &c);
    if (!X || !ref || !W || !ref_w)
        return;
    kevo_error err;
    float *s = malloc(sizeof *s * (size_t)n * 2);
    // n >= d: sklearn's randomized_svd works on X itself.
    if (CHECK_OK(kevo_tsne_pca_scores(X, n, d, 2, 0, s, &err), &err)) {
        float top = 0;
        for (int t = 0; t < n * 2; t++)
            top = fabsf(ref[t]) > top ? fabsf(ref[t]) : top;
        CHECK_CLOSE("PCA scores", s, ref, (size_t)n * 2, 1e-4 * top, 0);
    }
    // n < d (40 x 100): it works on X^T.
    if (CHECK_OK(kevo_tsne_pca_scores(W, 40, 100, 2, 0, s, &err), &err)) {
        float top = 0;
        for (int t = 0; t < 80; t++)
            top = fabsf(ref_w[t]) > top ? fabsf(ref_w[t]) : top;
        CHECK_CLOSE("PCA scores, n < d", s, ref_w, 80, 1e-4 * top, 0);   // float32 products
    }
    // The initialisation: first column rescaled to standard deviation 1e-4.
    if (CHECK_OK(kevo_tsne_pca_init(X, n, d, 2, 0, s, &err), &err)) {
        double m = 0, v = 0;
        for (int i = 0; i < n; i++)
            m += s[2 * i];
        m /= n;
        for (int i = 0; i < n; i++)
            v += (s[2 * i] - m) * (s[2 * i] - m);
        CHECK(fabs(sqrt(v / n) - 1e-4) <= 1e-9, "std of column 0 is %.9g", sqrt(v / n));
    }
    CHECK(kevo_tsne_pca_scores(W, 40, 1, 2, 0, s, &err) == KEVO_ERR_ARG,
          "2 components of 1 feature accepted");
    free(X), free(ref), free(W), free(ref_w), free(s);
}

// ---- end to end

// Runs kevo on oracle input `xname` and checks KL and trustworthiness against sklearn's.
static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The q-quantile of v[0..n) (sorted in place), interpolated linearly as numpy's default.
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    double at = q * (n - 1);
    int i = (int)at;
    return i + 1 < n ? v[i] + (at - i) * (v[i + 1] - v[i]) : v[n - 1];
}

// The comparison of kevo's runs with sklearn's over the oracle's seeds (every seed on both sides).
typedef enum {
    BY_MEANS,      // three seeds: means, KL within KL_MARGIN, trustworthiness within the range
    BY_QUARTILES,  // many seeds of a chaotic case: kevo's medians inside sklearn's quartiles
} comparison;

// Runs kevo on oracle input `xname` and checks KL and trustworthiness against sklearn's.
static void against_sklearn(const char *xname, const char *section, const char *emb_name,
                            int exact, double perplexity, double perplexity_used, comparison how)
{
    cJSON *res = results();
    int n, d, r, c;
    float *X = load(xname, KEVO_DTYPE_F32, &n, &d);
    float *emb = load(emb_name, KEVO_DTYPE_F32, &r, &c);
    const cJSON *kls = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(res, section), "kl");
    int seeds = cJSON_GetArraySize(kls);
    double *v = calloc((size_t)4 * (seeds > 0 ? seeds : 1), sizeof *v);
    double *sk_kl = v, *sk_trust = v + seeds, *kl = v + 2 * seeds, *trust = v + 3 * seeds;
    if (X && emb && CHECK(seeds > 0, "no seeds for %s", section)) {
        int k = (int)result(res, NULL, "trust_k");
        for (int s = 0; s < seeds; s++) {
            sk_kl[s] = result_at(res, section, "kl", s);
            sk_trust[s] = result_at(res, section, "trust", s);
        }
        // Our trustworthiness is sklearn's: same value on sklearn's own embedding (seed 0).
        double t_sk = trustworthiness(X, n, d, emb, 2, k);
        CHECK(fabs(t_sk - sk_trust[0]) <= 1e-9, "trustworthiness of sklearn's embedding: "
              "%.12f here, %.12f in sklearn", t_sk, sk_trust[0]);

        kevo_tsne_params p = kevo_tsne_default_params();
        p.perplexity = perplexity;
        p.n_iter = (int)result(res, NULL, "n_iter");
        p.exact = exact;
        float *Y = malloc(sizeof *Y * (size_t)n * 2);
        for (int s = 0; s < seeds; s++) {
            kevo_tsne_result out;
            kevo_error err;
            p.seed = (uint64_t)s;
            if (!CHECK_OK(kevo_tsne_run(X, n, d, &p, Y, &out, &err), &err))
                break;
            kl[s] = out.kl_divergence;
            trust[s] = trustworthiness(X, n, d, Y, 2, k);
            CHECK(out.perplexity_used == perplexity_used, "perplexity used %.17g, want %.17g",
                  out.perplexity_used, perplexity_used);
            CHECK(out.n_iter_run >= 250 && out.n_iter_run <= p.n_iter, "%d iterations",
                  out.n_iter_run);
        }
        free(Y);
        if (how == BY_MEANS) {
            double m_kl = 0, m_sk_kl = 0, m_t = 0, m_sk_t = 0;
            for (int s = 0; s < seeds; s++) {
                m_kl += kl[s] / seeds, m_sk_kl += sk_kl[s] / seeds;
                m_t += trust[s] / seeds, m_sk_t += sk_trust[s] / seeds;
            }
            double slack = quantile(sk_trust, seeds, 1) - quantile(sk_trust, seeds, 0);
            printf("    %s, means over %d seeds: KL %.6f (sklearn %.6f, ratio %.4f), "
                   "trustworthiness %.4f (sklearn %.4f, range %.4f)\n", section, seeds, m_kl,
                   m_sk_kl, m_kl / m_sk_kl, m_t, m_sk_t, slack);
            CHECK(m_kl <= KL_MARGIN * m_sk_kl, "KL %.6f > %.2f x sklearn's %.6f", m_kl,
                  KL_MARGIN, m_sk_kl);
            CHECK(m_t >= m_sk_t - slack, "trustworthiness %.4f below sklearn's %.4f - %.4f", m_t,
                  m_sk_t, slack);
        } else {
            double med_kl = quantile(kl, seeds, 0.5), med_t = quantile(trust, seeds, 0.5);
            double sk_kl_q75 = quantile(sk_kl, seeds, 0.75), sk_t_q25 = quantile(sk_trust, seeds,
                                                                                0.25);
            printf("    %s, medians over %d seeds: KL %.6f (sklearn's median %.6f, upper quartile "
                   "%.6f), trustworthiness %.4f (sklearn's median %.4f, lower quartile %.4f)\n",
                   section, seeds, med_kl, quantile(sk_kl, seeds, 0.5), sk_kl_q75, med_t,
                   quantile(sk_trust, seeds, 0.5), sk_t_q25);
            CHECK(med_kl <= sk_kl_q75, "median KL %.6f above sklearn's upper quartile %.6f",
                  med_kl, sk_kl_q75);
            CHECK(med_t >= sk_t_q25, "median trustworthiness %.4f below sklearn's lower "
                  "quartile %.4f", med_t, sk_t_q25);
        }
    }
    cJSON_Delete(res);
    free(X), free(emb), free(v);
}

KEVO_TEST(tsne_exact_vs_sklearn)
{
    against_sklearn("blobs.npy", "exact", "emb_exact.npy", 1, 30, 30, BY_MEANS);
}

KEVO_TEST(tsne_barnes_hut_vs_sklearn)
{
    against_sklearn("blobs.npy", "bh", "emb_bh.npy", 0, 30, 30, BY_MEANS);
}

// 33 states at perplexity 40: sklearn refuses; kevo lowers it to 32 / 3 and must then do as well
// as sklearn run at 32 / 3. So few points fall into a poor local minimum for about one seed in
// five on both sides (measured: sklearn 4 of 20, KL 0.12-0.22 against a median of 0.054), so
// which three seeds are compared decided the verdict; over 20 seeds, the typical run must lie
// within sklearn's typical spread.
KEVO_TEST(tsne_small_input_lowers_perplexity)
{
    against_sklearn("small_x.npy", "small", "emb_small.npy", 0, 40, 32.0 / 3.0, BY_QUARTILES);
}

// Identical bits for 1, 2 and 3 threads, through every parallel path (n above the sizes where
// the gradients go parallel).
KEVO_TEST(tsne_threads_identical)
{
    struct { int n, d, exact; } cases[] = {{2600, 12, 0}, {300, 12, 1}};
    for (int c = 0; c < 2; c++) {
        int n = cases[c].n, d = cases[c].d;
        float *X = clustered(n, d, 7, 5);
        kevo_maxabs_scale_columns(X, n, d);
        float *Y[3];
        kevo_tsne_result r[3];
        kevo_error err;
        for (int t = 0; t < 3; t++) {   // 3 threads oversubscribe this 2-core machine: still equal
            kevo_tsne_params p = kevo_tsne_default_params();
            p.n_iter = 300;
            p.exact = cases[c].exact;
            p.n_threads = t + 1;
            Y[t] = malloc(sizeof(float) * (size_t)n * 2);
            CHECK_OK(kevo_tsne_run(X, n, d, &p, Y[t], &r[t], &err), &err);
        }
        for (int t = 1; t < 3; t++)
            CHECK(memcmp(Y[0], Y[t], sizeof(float) * (size_t)n * 2) == 0 &&
                  r[0].kl_divergence == r[t].kl_divergence,
                  "%s: 1 and %d threads differ (KL %.17g vs %.17g)",
                  cases[c].exact ? "exact" : "BH", t + 1, r[0].kl_divergence,
                  r[t].kl_divergence);
        free(X), free(Y[0]), free(Y[1]), free(Y[2]);
    }
}

// ---- refusals

static void expect_refusal(const char *label, const float *X, int n, int d,
                           const kevo_tsne_params *p, const char *needle)
{
    float Y[64];
    kevo_error err = {0};
    kevo_status st = kevo_tsne_run(X, n, d, p, Y, NULL, &err);
    CHECK(st == KEVO_ERR_ARG, "%s: status %d (%s), want KEVO_ERR_ARG; message: %s", label, st,
          kevo_status_str(st), err.msg);
    CHECK(kevo_test_contains(err.msg, needle), "%s: message '%s' lacks '%s'", label, err.msg,
          needle);
}

KEVO_TEST(tsne_rejects_bad_input)
{
    float X[20 * 3];
    for (int i = 0; i < 60; i++)
        X[i] = (float)((i * 7) % 11);
    kevo_tsne_params p = kevo_tsne_default_params();
    X[3 * 3 + 2] = NAN;
    expect_refusal("NaN", X, 20, 3, &p, "X[3][2] is NaN");
    X[3 * 3 + 2] = -INFINITY;
    expect_refusal("Inf", X, 20, 3, &p, "X[3][2] is infinite");
    X[3 * 3 + 2] = 1;
    expect_refusal("one point", X, 1, 3, &p, "at least 2 points");
    expect_refusal("no feature", X, 20, 0, &p, "at least 1 feature");
    struct { const char *label, *needle; kevo_tsne_params p; } bad[] = {
        {"perplexity 0", "perplexity", p}, {"perplexity NaN", "perplexity", p},
        {"n_iter 100", "n_iter", p}, {"angle 1.5", "angle", p}, {"learning rate 0", "learning", p},
        {"exaggeration 0.5", "exaggeration", p}, {"4 components", "n_components", p},
        {"threads -1", "n_threads", p}, {"min_grad_norm -1", "min_grad_norm", p},
    };
    bad[0].p.perplexity = 0;
    bad[1].p.perplexity = NAN;
    bad[2].p.n_iter = 100;
    bad[3].p.angle = 1.5;
    bad[4].p.learning_rate = 0;
    bad[5].p.early_exaggeration = 0.5;
    bad[6].p.n_components = 4;
    bad[7].p.n_threads = -1;
    bad[8].p.min_grad_norm = -1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refusal(bad[i].label, X, 20, 3, &bad[i].p, bad[i].needle);
    kevo_tsne_params three = p;
    three.n_components = 3;
    expect_refusal("3 components of 2 features", X, 20, 2, &three, "features");
    float same[10 * 3];
    for (int i = 0; i < 30; i++)
        same[i] = (float)(i % 3);
    expect_refusal("identical rows", same, 10, 3, &p, "identical");
}

// ---- the command

KEVO_TEST(tsne_cli_writes_embeddings)
{
    const char *in = kevo_test_data("oracle/tsne/blobs.npy");
    char *out = NULL, *errs = NULL;
    int rc = kevo_test_cli(&out, &errs, "tsne --input '%s' --iters 300 -o '%s' -o '%s' -o '%s'",
                           in, kevo_test_tmp("e.csv"), kevo_test_tmp("e.npy"),
                           kevo_test_tmp("e.safetensors"));
    CHECK(rc == 0, "exit %d: %s", rc, errs);
    CHECK(kevo_test_contains(out, "KL divergence"), "no summary: %s", out);
    int n = 0, c = 0;
    float *Y = kevo_test_read_matrix(kevo_test_tmp("e.npy"), &n, &c);
    int n_in = 0, d_in = 0;
    free(load("blobs.npy", KEVO_DTYPE_F32, &n_in, &d_in));
    if (Y && CHECK(n == n_in && c == 2, "embedding is %d x %d", n, c)) {
        kevo_error err;
        kevo_safetensors *st;
        if (CHECK_OK(kevo_safetensors_open(kevo_test_tmp("e.safetensors"), &st, &err), &err)) {
            const kevo_tensor *t = kevo_safetensors_find(st, "embedding");
            CHECK(t && t->n_bytes == sizeof(float) * 2 * n && !memcmp(t->data, Y, t->n_bytes),
                  "safetensors embedding differs from the .npy");
            CHECK(kevo_safetensors_metadata(st, "kl_divergence") != NULL, "no KL metadata");
            kevo_safetensors_free(st);
        }
        char *csv = kevo_test_slurp(kevo_test_tmp("e.csv"), NULL);
        if (CHECK(csv && !strncmp(csv, "x,y\n", 4), "CSV header: %.20s", csv ? csv : "")) {
            char *line = csv + 4;
            int rows = 0, exact = 1;
            for (; *line && rows < n; rows++) {
                char *end;
                float x = strtof(line, &end), y = strtof(end + 1, &end);
                exact &= x == Y[2 * rows] && y == Y[2 * rows + 1];
                line = end + 1;
            }
            CHECK(rows == n && exact && !*line, "CSV rows (%d) do not round-trip the .npy", rows);
        }
        free(csv);
    }
    free(out), free(errs);
    // Without -o the CSV goes to stdout and the summary to stderr.
    rc = kevo_test_cli(&out, &errs, "tsne --input '%s' --iters 250 --no-scale", in);
    CHECK(rc == 0 && !strncmp(out, "x,y\n", 4) && kevo_test_contains(errs, "KL divergence"),
          "stdout mode: exit %d, stdout %.40s, stderr %s", rc, out, errs);
    free(out), free(errs);
    // Three output dimensions (an octree), exact and Barnes-Hut.
    for (int exact = 0; exact < 2; exact++) {
        rc = kevo_test_cli(&out, &errs, "tsne --input '%s' --iters 250 --components 3 "
                           "--method %s", in, exact ? "exact" : "barnes-hut");
        int rows = 0;
        for (const char *q = out ? out : ""; *q; q++)
            rows += *q == '\n';
        CHECK(rc == 0 && !strncmp(out, "x,y,z\n", 6) && rows == n + 1,
              "3-D %s: exit %d, %d lines, stderr %s", exact ? "exact" : "BH", rc, rows, errs);
        free(out), free(errs);
    }
    free(Y);
}

// The same matrix from .npy and from .safetensors (stored 3-D, as a run's hidden states, whose
// leading dimensions become rows), OMP_NUM_THREADS=1 vs 2, and the scalar code (KEVO_ISA=ref) vs
// the SIMD code of the kernel path in use: the same bytes.
KEVO_TEST(tsne_cli_inputs_and_threads_agree)
{
    int n, d;
    float *X = load("blobs.npy", KEVO_DTYPE_F32, &n, &d);
    if (!X || !CHECK(n % 4 == 0, "blobs.npy has %d rows, not a multiple of 4", n)) {
        free(X);
        return;
    }
    kevo_tensor_out t[] = {{"points", KEVO_DTYPE_F32, 3, {n / 4, 4, d}, X},
                           {"labels", KEVO_DTYPE_F32, 1, {n}, X}};
    kevo_error err;
    CHECK_OK(kevo_safetensors_write(kevo_test_tmp("x.safetensors"), t, 2, NULL, 0, &err), &err);
    const char *npy = kevo_test_data("oracle/tsne/blobs.npy");
    setenv("OMP_NUM_THREADS", "1", 1);
    int rc1 = kevo_test_cli(NULL, NULL, "tsne --input '%s' --iters 300 -o '%s'", npy,
                            kevo_test_tmp("a.npy"));
    setenv("OMP_NUM_THREADS", "2", 1);
    int rc2 = kevo_test_cli(NULL, NULL, "tsne --input '%s' --iters 300 -o '%s'",
                            kevo_test_tmp("x.safetensors"), kevo_test_tmp("b.npy"));
    setenv("KEVO_ISA", "ref", 1);
    int rc3 = kevo_test_cli(NULL, NULL, "tsne --input '%s' --iters 300 -o '%s'", npy,
                            kevo_test_tmp("c.npy"));
    unsetenv("KEVO_ISA");
    unsetenv("OMP_NUM_THREADS");
    CHECK(rc1 == 0 && rc2 == 0 && rc3 == 0, "exit %d / %d / %d", rc1, rc2, rc3);
    size_t la, lb, lc;
    char *a = kevo_test_slurp(kevo_test_tmp("a.npy"), &la);
    char *b = kevo_test_slurp(kevo_test_tmp("b.npy"), &lb);
    char *c = kevo_test_slurp(kevo_test_tmp("c.npy"), &lc);
    CHECK(a && b && la == lb && !memcmp(a, b, la), ".npy input with 1 thread and .safetensors "
          "input with 2 threads give different embeddings");
    CHECK(a && c && la == lc && !memcmp(a, c, la), "the scalar code (KEVO_ISA=ref) and the "
          "SIMD code give different embeddings");
    free(a), free(b), free(c), free(X);
}

KEVO_TEST(tsne_cli_refusals)
{
    int n, d;
    float *X = load("blobs.npy", KEVO_DTYPE_F32, &n, &d);
    if (!X)
        return;
    const char *npy = kevo_test_data("oracle/tsne/blobs.npy");
    kevo_error err;
    X[7 * d + 5] = NAN;
    int64_t shape[2] = {n, d}, flat[1] = {n};
    CHECK_OK(kevo_npy_write(kevo_test_tmp("nan.npy"), KEVO_DTYPE_F32, 2, shape, X, &err), &err);
    CHECK_OK(kevo_npy_write(kevo_test_tmp("flat.npy"), KEVO_DTYPE_F32, 1, flat, X, &err), &err);
    kevo_tensor_out two[] = {{"a", KEVO_DTYPE_F32, 2, {n, d}, X},
                             {"b", KEVO_DTYPE_F32, 2, {n, d}, X}};
    CHECK_OK(kevo_safetensors_write(kevo_test_tmp("two.safetensors"), two, 2, NULL, 0, &err), &err);
    struct { int rc; const char *needle; char args[1024]; } cases[] = {
        {2, "--perplexity", ""}, {2, "--iters", ""}, {2, "--method", ""}, {2, "--angle", ""},
        {2, "--input", ""}, {1, "cannot open", ""}, {1, "[7][5] is NaN", ""},
        {1, "2-D matrix", ""}, {2, "--tensor", ""}, {2, "no tensor named", ""},
        {2, "unexpected argument", ""}, {2, "must end in", ""},
    };
    snprintf(cases[0].args, 1024, "tsne --input '%s' --perplexity -3", npy);
    snprintf(cases[1].args, 1024, "tsne --input '%s' --iters 10", npy);
    snprintf(cases[2].args, 1024, "tsne --input '%s' --method pca", npy);
    snprintf(cases[3].args, 1024, "tsne --input '%s' --angle 2", npy);
    snprintf(cases[4].args, 1024, "tsne -o '%s'", kevo_test_tmp("o.csv"));
    snprintf(cases[5].args, 1024, "tsne --input '%s'", kevo_test_tmp("missing.npy"));
    snprintf(cases[6].args, 1024, "tsne --input '%s'", kevo_test_tmp("nan.npy"));
    snprintf(cases[7].args, 1024, "tsne --input '%s'", kevo_test_tmp("flat.npy"));
    snprintf(cases[8].args, 1024, "tsne --input '%s'", kevo_test_tmp("two.safetensors"));
    snprintf(cases[9].args, 1024, "tsne --input '%s' --tensor c", kevo_test_tmp("two.safetensors"));
    snprintf(cases[10].args, 1024, "tsne RUN_DIR --input '%s'", npy);
    snprintf(cases[11].args, 1024, "tsne --input '%s' -o '%s'", npy, kevo_test_tmp("e.txt"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *errs = NULL;
        int rc = kevo_test_cli(NULL, &errs, "%s", cases[i].args);
        CHECK(rc == cases[i].rc && kevo_test_contains(errs, cases[i].needle),
              "`kevo %s`: exit %d (want %d), stderr: %s", cases[i].args, rc, cases[i].rc, errs);
        free(errs);
    }
    free(X);
}
