// pca.c — PCA initialisation of t-SNE by randomized SVD, after scikit-learn 1.2's
// sklearn/decomposition/_pca.py (_fit_truncated), sklearn/utils/extmath.py (randomized_svd,
// randomized_range_finder, svd_flip) and the rescaling in sklearn/manifold/_t_sne.py.
//
// M is the centred X (n x d), or its transpose when n < d. The range finder multiplies a
// Gaussian block of k + 10 columns by M and M^T, orthonormalising after every product, then
// B = Q^T M is decomposed through the small symmetric matrix B B^T (Jacobi). Products with X go
// through OpenBLAS sgemm; the centring is applied as a rank-one correction in double, so X is
// read but never copied.
#include "tsne/pca.h"

#include <math.h>
#include <stdlib.h>

#include "tsne/blas.h"
#include "base/error.h"

#define OVERSAMPLES 10
#define BLOCK 256      // rows or columns of X per sgemm call (fixed: the bits depend on it)
#define PARALLEL_MIN (1u << 20)   // smaller products run on one thread: a team costs more
#define MAX_BLOCK 64   // k + OVERSAMPLES; t-SNE asks for k <= 3

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t splitmix64(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// A standard normal by Box-Muller (one of the pair; simplicity over speed, the block is small).
static double normal(rng *r)
{
    double u = ((double)(splitmix64(r) >> 11) + 1.0) / 9007199254740993.0;   // (0, 1]
    double v = (double)(splitmix64(r) >> 11) / 9007199254740992.0;           // [0, 1)
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

typedef struct pca {
    const float *X;
    int n, d, b;
    double *mu;      // (d) column means
    float *in;       // (max(n, d), b) the right-hand block handed to sgemm
    float *prod;     // (max(n, d), b) the sgemm result
    rng r;
} pca;

// out (n, b) = Xc V with V (d, b) in p->in: X V minus the rank-one 1 (mu^T V).
static void mul_xc(pca *p, double *out)
{
    const int n = p->n, d = p->d, b = p->b;
#pragma omp parallel for schedule(dynamic, 1) if ((size_t)n * d > PARALLEL_MIN)
    for (int i0 = 0; i0 < n; i0 += BLOCK)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n - i0 < BLOCK ? n - i0 : BLOCK, b,
                    d, 1.0f, p->X + (size_t)i0 * d, d, p->in, b, 0.0f, p->prod + (size_t)i0 * b,
                    b);
    double mv[MAX_BLOCK];
    for (int c = 0; c < b; c++) {
        double s = 0.0;
        for (int j = 0; j < d; j++)
            s += p->mu[j] * p->in[(size_t)j * b + c];
        mv[c] = s;
    }
    for (size_t i = 0; i < (size_t)n; i++)
        for (int c = 0; c < b; c++)
            out[i * b + c] = (double)p->prod[i * b + c] - mv[c];
}

// out (d, b) = Xc^T U with U (n, b) in p->in: X^T U minus the rank-one mu (1^T U).
static void mul_xct(pca *p, double *out)
{
    const int n = p->n, d = p->d, b = p->b;
#pragma omp parallel for schedule(dynamic, 1) if ((size_t)n * d > PARALLEL_MIN)
    for (int j0 = 0; j0 < d; j0 += BLOCK)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d - j0 < BLOCK ? d - j0 : BLOCK, b, n,
                    1.0f, p->X + j0, d, p->in, b, 0.0f, p->prod + (size_t)j0 * b, b);
    double cs[MAX_BLOCK] = {0};
    for (size_t i = 0; i < (size_t)n; i++)
        for (int c = 0; c < b; c++)
            cs[c] += p->in[i * b + c];
    for (size_t j = 0; j < (size_t)d; j++)
        for (int c = 0; c < b; c++)
            out[j * b + c] = (double)p->prod[j * b + c] - p->mu[j] * cs[c];
}

// Orthonormalises the b columns of A (m, b) in place: Gram-Schmidt, twice. A column that is
// (numerically) in the span of the previous ones is replaced by a fresh Gaussian vector, as a
// Householder QR would complete the basis. Needs b <= m.
static void orthonormalise(pca *p, double *A, int m)
{
    const int b = p->b;
    for (int c = 0; c < b; c++) {
        for (int attempt = 0;; attempt++) {
            double before = 0.0;
            for (int i = 0; i < m; i++)
                before += A[(size_t)i * b + c] * A[(size_t)i * b + c];
            for (int pass = 0; pass < 2; pass++)
                for (int e = 0; e < c; e++) {
                    double dot = 0.0;
                    for (int i = 0; i < m; i++)
                        dot += A[(size_t)i * b + e] * A[(size_t)i * b + c];
                    for (int i = 0; i < m; i++)
                        A[(size_t)i * b + c] -= dot * A[(size_t)i * b + e];
                }
            double norm = 0.0;
            for (int i = 0; i < m; i++)
                norm += A[(size_t)i * b + c] * A[(size_t)i * b + c];
            if (norm > 1e-24 * before && norm > 0.0 && attempt < 8) {
                double inv = 1.0 / sqrt(norm);
                for (int i = 0; i < m; i++)
                    A[(size_t)i * b + c] *= inv;
                break;
            }
            for (int i = 0; i < m; i++)
                A[(size_t)i * b + c] = normal(&p->r);
        }
    }
}

// dst = Xc^T src (src: (n, b)) when use_xt, else dst = Xc src (src: (d, b)); m = src's rows.
static void apply(pca *p, int use_xt, const double *src, int m, double *dst)
{
    for (size_t t = 0; t < (size_t)m * (size_t)p->b; t++)
        p->in[t] = (float)src[t];
    if (use_xt)
        mul_xct(p, dst);
    else
        mul_xc(p, dst);
}

// Eigen-decomposition of the symmetric (m, m) matrix A (destroyed) by cyclic Jacobi rotations:
// w the eigenvalues in decreasing order, V (m, m) the eigenvectors as columns.
static void jacobi_eigen(double *A, int m, double *V, double *w)
{
    for (int i = 0; i < m * m; i++)
        V[i] = i % (m + 1) == 0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, all = 0.0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                all += A[i * m + j] * A[i * m + j];
                if (i != j)
                    off += A[i * m + j] * A[i * m + j];
            }
        if (off <= 1e-30 * all)
            break;
        for (int p = 0; p < m; p++)
            for (int q = p + 1; q < m; q++) {
                double apq = A[p * m + q];
                if (apq == 0.0)
                    continue;
                double tau = (A[q * m + q] - A[p * m + p]) / (2.0 * apq);
                double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1.0 + tau * tau));
                double c = 1.0 / sqrt(1.0 + t * t), s = t * c;
                for (int k = 0; k < m; k++) {   // A J
                    double akp = A[k * m + p], akq = A[k * m + q];
                    A[k * m + p] = c * akp - s * akq;
                    A[k * m + q] = s * akp + c * akq;
                }
                for (int k = 0; k < m; k++) {   // J^T (A J)
                    double apk = A[p * m + k], aqk = A[q * m + k];
                    A[p * m + k] = c * apk - s * aqk;
                    A[q * m + k] = s * apk + c * aqk;
                }
                A[p * m + q] = A[q * m + p] = 0.0;
                for (int k = 0; k < m; k++) {
                    double vkp = V[k * m + p], vkq = V[k * m + q];
                    V[k * m + p] = c * vkp - s * vkq;
                    V[k * m + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < m; i++)
        w[i] = A[i * m + i];
    for (int i = 0; i < m; i++) {   // selection sort, decreasing
        int best = i;
        for (int j = i + 1; j < m; j++)
            if (w[j] > w[best])
                best = j;
        if (best == i)
            continue;
        double tw = w[i];
        w[i] = w[best];
        w[best] = tw;
        for (int k = 0; k < m; k++) {
            double tv = V[k * m + i];
            V[k * m + i] = V[k * m + best];
            V[k * m + best] = tv;
        }
    }
}

kevo_status kevo_tsne_pca_scores(const float *X, int n, int d, int k, uint64_t seed,
                                 float *scores, kevo_error *err)
{
    int lim = n < d ? n : d;
    if (k < 1 || k > lim || k + OVERSAMPLES > MAX_BLOCK)
        return kevo_fail(err, KEVO_ERR_ARG,
                         "t-SNE: a PCA initialisation with %d components needs at least %d "
                         "points and %d features (have %d x %d)", k, k, k, n, d);
    pca p = {.X = X, .n = n, .d = d, .b = k + OVERSAMPLES < lim ? k + OVERSAMPLES : lim,
             .r = {seed}};
    const int b = p.b, big = n > d ? n : d, transpose = n < d;
    const int iters = k < 0.1 * lim ? 7 : 4;
    const int rows = transpose ? d : n, cols = transpose ? n : d;   // of M
    p.mu = calloc((size_t)d, sizeof *p.mu);
    p.in = malloc(sizeof *p.in * (size_t)big * b);
    p.prod = malloc(sizeof *p.prod * (size_t)big * b);
    double *U = malloc(sizeof *U * (size_t)rows * b), *V = malloc(sizeof *V * (size_t)cols * b);
    double *col = malloc(sizeof *col * (size_t)n);
    double C[MAX_BLOCK * MAX_BLOCK], E[MAX_BLOCK * MAX_BLOCK], w[MAX_BLOCK];
    kevo_status st = KEVO_OK;
    if (!p.mu || !p.in || !p.prod || !U || !V || !col) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE: out of memory for the PCA of %d x %d", n, d);
        goto done;
    }
    for (size_t i = 0; i < (size_t)n; i++)
        for (int j = 0; j < d; j++)
            p.mu[j] += X[i * (size_t)d + j];
    for (int j = 0; j < d; j++)
        p.mu[j] /= n;
    kevo_blas_single_thread();

    // randomized_range_finder: M V then M^T U, n_iter times, then Q = orth(M V). With
    // M = Xc^T, M V is Xc^T V and M^T U is Xc U.
    for (size_t t = 0; t < (size_t)cols * b; t++)
        V[t] = normal(&p.r);
    for (int it = 0; it < iters; it++) {
        apply(&p, transpose, V, cols, U);
        orthonormalise(&p, U, rows);
        apply(&p, !transpose, U, rows, V);
        orthonormalise(&p, V, cols);
    }
    apply(&p, transpose, V, cols, U);
    orthonormalise(&p, U, rows);          // Q
    apply(&p, !transpose, U, rows, V);    // B^T = M^T Q, (cols, b)
    // B B^T = Uhat S^2 Uhat^T.
    for (int a = 0; a < b; a++)
        for (int c = a; c < b; c++) {
            double s = 0.0;
            for (int j = 0; j < cols; j++)
                s += V[(size_t)j * b + a] * V[(size_t)j * b + c];
            C[a * b + c] = C[c * b + a] = s;
        }
    jacobi_eigen(C, b, E, w);
    if (!(w[0] > 0.0)) {
        st = kevo_fail(err, KEVO_ERR_ARG,
                       "t-SNE: all %d rows of X are identical; there is nothing to embed", n);
        goto done;
    }
    // Scores = U_X S: Q Uhat S when M = Xc; B^T Uhat when M = Xc^T (whose V is X's U).
    for (int c = 0; c < k; c++) {
        double sigma = sqrt(fmax(w[c], 0.0));
        const double *src = transpose ? V : U;
        int arg = 0;
        for (int i = 0; i < n; i++) {
            double s = 0.0;
            for (int e = 0; e < b; e++)
                s += src[(size_t)i * b + e] * E[e * b + c];
            col[i] = transpose ? s : s * sigma;
            if (fabs(col[i]) > fabs(col[arg]))
                arg = i;
        }
        // svd_flip: the (first) entry of largest magnitude becomes positive.
        double sign = col[arg] < 0 ? -1.0 : 1.0;
        for (int i = 0; i < n; i++)
            scores[(size_t)i * k + c] = (float)(sign * col[i]);
    }
done:
    free(p.mu);
    free(p.in);
    free(p.prod);
    free(U);
    free(V);
    free(col);
    return st;
}

kevo_status kevo_tsne_pca_init(const float *X, int n, int d, int k, uint64_t seed, float *Y,
                               kevo_error *err)
{
    kevo_status st = kevo_tsne_pca_scores(X, n, d, k, seed, Y, err);
    if (st != KEVO_OK)
        return st;
    // X_embedded / np.std(X_embedded[:, 0]) * 1e-4, in float32 as numpy does it.
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < n; i++)
        mean += Y[(size_t)i * k];
    mean /= n;
    for (int i = 0; i < n; i++)
        var += (Y[(size_t)i * k] - mean) * (Y[(size_t)i * k] - mean);
    float sd = (float)sqrt(var / n);
    if (!(sd > 0.0f))
        return kevo_fail(err, KEVO_ERR_ARG,
                         "t-SNE: the first principal component of X has no spread; there is "
                         "nothing to embed");
    for (size_t t = 0; t < (size_t)n * k; t++)
        Y[t] = Y[t] / sd * 1e-4f;
    return KEVO_OK;
}
