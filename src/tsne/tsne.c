// tsne.c — t-SNE end to end: checks, P, PCA initialisation and the two-phase gradient descent of
// sklearn/manifold/_t_sne.py (TSNE._fit, TSNE._tsne, _gradient_descent) in scikit-learn 1.2
// (kevo.h, kevo/tsne.h).
#include "kevo.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tsne/affinity.h"
#include "tsne/gradient.h"
#include "tsne/neighbors.h"
#include "tsne/pca.h"
#include "base/error.h"

#define EXPLORATION_N_ITER 250   // TSNE._EXPLORATION_N_ITER
#define N_ITER_CHECK 50          // TSNE._N_ITER_CHECK
#define MIN_GAIN 0.01f
// Below this size the Barnes-Hut gradient runs on one thread: its three barriers per iteration
// would cost more than the second thread saves.
#define PARALLEL_MIN_POINTS 2048

kevo_tsne_params kevo_tsne_default_params(void)
{
    return (kevo_tsne_params){
        .n_components = 2,
        .perplexity = 40.0,
        .early_exaggeration = 12.0,
        .learning_rate = 200.0,
        .n_iter = 2000,
        .n_iter_without_progress = 300,
        .min_grad_norm = 1e-7,
        .angle = 0.5,
        .exact = 0,
        .seed = 0,
        .n_threads = 0,
    };
}

static kevo_status check_params(const kevo_tsne_params *p, kevo_error *err)
{
#define BAD(...) kevo_fail(err, KEVO_ERR_ARG, "t-SNE: " __VA_ARGS__)
    if (p->n_components < 1 || p->n_components > 3)
        return BAD("n_components must be 1, 2 or 3, not %d", p->n_components);
    if (!(p->perplexity > 0) || !isfinite(p->perplexity))
        return BAD("perplexity must be a positive number, not %g", p->perplexity);
    if (!(p->early_exaggeration >= 1) || !isfinite(p->early_exaggeration))
        return BAD("early exaggeration must be at least 1, not %g", p->early_exaggeration);
    if (!(p->learning_rate > 0) || !isfinite(p->learning_rate))
        return BAD("learning rate must be a positive number, not %g", p->learning_rate);
    if (p->n_iter < EXPLORATION_N_ITER)
        return BAD("n_iter must be at least %d (the early exaggeration phase), not %d",
                   EXPLORATION_N_ITER, p->n_iter);
    if (p->n_iter_without_progress < -1)
        return BAD("n_iter_without_progress must be at least -1, not %d",
                   p->n_iter_without_progress);
    if (!(p->min_grad_norm >= 0) || !isfinite(p->min_grad_norm))
        return BAD("min_grad_norm must be a non-negative number, not %g", p->min_grad_norm);
    if (!(p->angle >= 0 && p->angle <= 1))
        return BAD("angle must be in [0, 1], not %g", p->angle);
    if (p->exact != 0 && p->exact != 1)
        return BAD("exact must be 0 or 1, not %d", p->exact);
    if (p->n_threads < 0)
        return BAD("n_threads must be 0 (automatic) or positive, not %d", p->n_threads);
    return KEVO_OK;
#undef BAD
}

static kevo_status check_input(const float *X, int n, int d, kevo_error *err)
{
    if (n < 2)
        return kevo_fail(err, KEVO_ERR_ARG, "t-SNE needs at least 2 points, got %d", n);
    if (d < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "t-SNE needs at least 1 feature, got %d", d);
    for (size_t t = 0; t < (size_t)n * (size_t)d; t++)
        if (!isfinite(X[t]))
            return kevo_fail(err, KEVO_ERR_ARG,
                             "t-SNE: X[%zu][%zu] is %s; the input must be finite", t / (size_t)d,
                             t % (size_t)d, isnan(X[t]) ? "NaN" : "infinite");
    // All rows equal: no distance, no principal component, nothing to embed (sklearn divides
    // by a zero standard deviation and returns NaN).
    size_t row = (size_t)d;
    for (size_t t = row; t < (size_t)n * (size_t)d; t++)
        if (X[t] != X[t % row])
            return KEVO_OK;
    return kevo_fail(err, KEVO_ERR_ARG, "t-SNE: all %d rows of X are identical; there is nothing "
                     "to embed", n);
}

// The state of one run: P in either form and the objective's workspaces.
typedef struct run {
    int n, dim, dof, exact;
    float angle;
    double *P;           // exact: (n, n) joint probabilities
    double *work;        // exact: n (n + 1)
    kevo_tsne_csr csr;   // Barnes-Hut: sparse joint probabilities
    float *Pf;           // Barnes-Hut: csr values as float32, times the current exaggeration
    kevo_tsne_bh *bh;
    float *grad, *update, *gains;   // (n, dim)
    int threads;         // of the Barnes-Hut gradient
} run;

// P *= factor (or /= when dividing), in place and in double as sklearn does between the phases;
// Barnes-Hut's float32 copy follows.
static void scale_p(run *r, double factor, int divide)
{
    double *v = r->exact ? r->P : r->csr.values;
    size_t len = r->exact ? (size_t)r->n * (size_t)r->n : (size_t)r->csr.indptr[r->n];
    for (size_t t = 0; t < len; t++)
        v[t] = divide ? v[t] / factor : v[t] * factor;
    if (!r->exact)
        for (size_t t = 0; t < len; t++)
            r->Pf[t] = (float)v[t];
}

static kevo_status objective(run *r, const float *Y, int compute_error, double *error,
                             kevo_error *err)
{
    if (r->exact) {
        *error = kevo_tsne_exact_gradient(r->P, Y, r->n, r->dim, r->dof, compute_error, r->grad,
                                          r->work);
        return KEVO_OK;
    }
    return kevo_tsne_bh_gradient(r->bh, &r->csr, r->Pf, Y, r->angle, r->dof, compute_error,
                                 1, r->threads, r->grad, error, err);
}

// _gradient_descent: iterations it .. n_iter - 1 of batch gradient descent with momentum and
// per-parameter gains, all in float32 like sklearn's params. Returns the last error computed and
// the index of the last iteration run (it - 1 when there was none).
static kevo_status descend(run *r, float *Y, int it, int n_iter, float momentum,
                           int n_iter_without_progress, float learning_rate,
                           double min_grad_norm, double *error_out, int *last_out,
                           kevo_error *err)
{
    const size_t m = (size_t)r->n * (size_t)r->dim;
    for (size_t t = 0; t < m; t++) {
        r->update[t] = 0.0f;
        r->gains[t] = 1.0f;
    }
    double error = DBL_MAX, best_error = DBL_MAX;
    int best_iter = it, last = it - 1;
    for (int i = it; i < n_iter; i++) {
        last = i;
        int check = (i + 1) % N_ITER_CHECK == 0;
        kevo_status st = objective(r, Y, check || i == n_iter - 1, &error, err);
        if (st != KEVO_OK)
            return st;
        double norm2 = 0.0;
        int finite = 1;
        for (size_t t = 0; t < m; t++) {
            float g = r->grad[t], u = r->update[t];
            // inc = update * grad < 0: the step keeps its direction, so the gain grows.
            float gain = u * g < 0.0f ? r->gains[t] + 0.2f : r->gains[t] * 0.8f;
            gain = gain < MIN_GAIN ? MIN_GAIN : gain;
            r->gains[t] = gain;
            g *= gain;
            norm2 += (double)g * g;
            u = momentum * u - learning_rate * g;
            r->update[t] = u;
            Y[t] += u;
            finite &= isfinite(Y[t]);
        }
        if (!finite)
            return kevo_fail(err, KEVO_ERR_ARG,
                             "t-SNE diverged at iteration %d (the embedding overflowed); try a "
                             "smaller learning rate", i + 1);
        if (check) {
            if (error < best_error) {
                best_error = error;
                best_iter = i;
            } else if (i - best_iter > n_iter_without_progress) {
                break;
            }
            if (sqrt(norm2) <= min_grad_norm)
                break;
        }
    }
    *error_out = error;
    *last_out = last;
    return KEVO_OK;
}

static void run_free(run *r)
{
    free(r->P);
    free(r->work);
    kevo_tsne_csr_free(&r->csr);
    free(r->Pf);
    kevo_tsne_bh_free(r->bh);
    free(r->grad);
    free(r->update);
    free(r->gains);
}

// Distances, calibration and P into r; fills the neighbour count and timings of res.
static kevo_status affinities(run *r, const float *X, int d, double perplexity,
                              kevo_tsne_result *res, kevo_error *err)
{
    const int n = r->n;
    double t0 = kevo_now();
    kevo_status st;
    if (r->exact) {
        float *D = malloc(sizeof *D * (size_t)n * (size_t)n);
        r->P = malloc(sizeof *r->P * (size_t)n * (size_t)n);
        if (!D || !r->P) {
            free(D);
            return kevo_fail(err, KEVO_ERR_NOMEM,
                             "t-SNE: out of memory for the exact method's %d x %d matrices "
                             "(try Barnes-Hut)", n, n);
        }
        if ((st = kevo_tsne_sqdist_full(X, n, d, D, err)) != KEVO_OK) {
            free(D);
            return st;
        }
        double t1 = kevo_now();
        kevo_tsne_conditional_p(D, n, n, perplexity, r->P);
        kevo_tsne_joint_dense(r->P, n);
        free(D);
        res->n_neighbors = n - 1;
        res->seconds_neighbors = t1 - t0;
        res->seconds_affinities = kevo_now() - t1;
        return KEVO_OK;
    }
    // LvdM's 3 perplexity neighbours, as int(3.0 * perplexity + 1) in TSNE._fit.
    double want = 3.0 * perplexity + 1.0;
    int k = want >= n - 1 ? n - 1 : (int)want;
    int32_t *idx = malloc(sizeof *idx * (size_t)n * (size_t)k);
    float *sqd = malloc(sizeof *sqd * (size_t)n * (size_t)k);
    double *cond = malloc(sizeof *cond * (size_t)n * (size_t)k);
    if (!idx || !sqd || !cond) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE: out of memory for %d x %d neighbours", n, k);
        goto done;
    }
    if ((st = kevo_tsne_knn(X, n, d, k, idx, sqd, err)) != KEVO_OK)
        goto done;
    double t1 = kevo_now();
    kevo_tsne_conditional_p(sqd, n, k, perplexity, cond);
    if ((st = kevo_tsne_joint_sparse(idx, cond, n, k, &r->csr, err)) != KEVO_OK)
        goto done;
    r->Pf = malloc(sizeof *r->Pf * (size_t)r->csr.indptr[n]);
    if (!r->Pf) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE: out of memory for P");
        goto done;
    }
    res->n_neighbors = k;
    res->seconds_neighbors = t1 - t0;
    res->seconds_affinities = kevo_now() - t1;
done:
    free(idx);
    free(sqd);
    free(cond);
    return st;
}

static kevo_status fit(const float *X, int n, int d, const kevo_tsne_params *p, float *Y,
                       kevo_tsne_result *res, kevo_error *err)
{
    run r = {.n = n, .dim = p->n_components, .exact = p->exact, .angle = (float)p->angle};
    r.threads = n >= PARALLEL_MIN_POINTS ? omp_get_max_threads() : 1;
    r.dof = r.dim - 1 > 1 ? r.dim - 1 : 1;
    const size_t m = (size_t)n * (size_t)r.dim;
    kevo_status st;
    if ((st = affinities(&r, X, d, res->perplexity_used, res, err)) != KEVO_OK)
        goto done;
    double t0 = kevo_now();
    if ((st = kevo_tsne_pca_init(X, n, d, r.dim, p->seed, Y, err)) != KEVO_OK)
        goto done;
    double t1 = kevo_now();
    res->seconds_init = t1 - t0;

    r.grad = malloc(sizeof *r.grad * m);
    r.update = malloc(sizeof *r.update * m);
    r.gains = malloc(sizeof *r.gains * m);
    if (r.exact)
        r.work = malloc(sizeof *r.work * (size_t)n * ((size_t)n + 1));
    else if ((st = kevo_tsne_bh_create(n, r.dim, &r.bh, err)) != KEVO_OK)
        goto done;
    if (!r.grad || !r.update || !r.gains || (r.exact && !r.work)) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE: out of memory for the optimiser");
        goto done;
    }
    // Phase 1: exaggerated P, momentum 0.5, 250 iterations. Phase 2: P restored, momentum 0.8.
    // numpy multiplies the float32 arrays by the Python floats rounded to float32.
    const float lr = (float)p->learning_rate;
    double error;
    int last;
    scale_p(&r, p->early_exaggeration, 0);
    if ((st = descend(&r, Y, 0, EXPLORATION_N_ITER, 0.5f, EXPLORATION_N_ITER, lr,
                      p->min_grad_norm, &error, &last, err)) != KEVO_OK)
        goto done;
    scale_p(&r, p->early_exaggeration, 1);
    double error2;
    int last2;
    if ((st = descend(&r, Y, last + 1, p->n_iter, 0.8f, p->n_iter_without_progress, lr,
                      p->min_grad_norm, &error2, &last2, err)) != KEVO_OK)
        goto done;
    // With no iteration left (n_iter = 250) sklearn reports its DBL_MAX sentinel; keep phase 1's.
    if (last2 > last) {
        error = error2;
        last = last2;
    }
    res->kl_divergence = error;
    res->n_iter_run = last + 1;
    res->seconds_optimize = kevo_now() - t1;
done:
    run_free(&r);
    return st;
}

kevo_status kevo_tsne_run(const float *X, int n, int d, const kevo_tsne_params *p, float *Y,
                          kevo_tsne_result *res, kevo_error *err)
{
    kevo_tsne_result local;
    res = res ? res : &local;
    memset(res, 0, sizeof *res);
    kevo_status st;
    if ((st = check_params(p, err)) != KEVO_OK || (st = check_input(X, n, d, err)) != KEVO_OK)
        return st;
    if (p->n_components > (n < d ? n : d))
        return kevo_fail(err, KEVO_ERR_ARG,
                         "t-SNE: %d output dimensions need at least %d points and %d features "
                         "for the PCA initialisation (have %d x %d)", p->n_components,
                         p->n_components, p->n_components, n, d);
    // sklearn raises "perplexity must be less than n_samples"; lower it instead.
    res->perplexity_used = p->perplexity < n ? p->perplexity : fmax(1.0, (n - 1) / 3.0);

    // Every product runs OpenBLAS single-threaded inside kevo's own OpenMP loops (blas.h),
    // so the OpenMP thread count is the only one to set.
    int before = omp_get_max_threads();
    if (p->n_threads > 0)
        omp_set_num_threads(p->n_threads);
    st = fit(X, n, d, p, Y, res, err);
    omp_set_num_threads(before);
    return st;
}
