// neighbors.c — pairwise squared distances in tiles through OpenBLAS, and exact k nearest
// neighbours with one bounded max-heap per row.
//
// sklearn (sklearn/manifold/_t_sne.py) gets the neighbours from NearestNeighbors, i.e. an exact
// brute-force search for high-dimensional data, then squares the distances. Here the Gram matrix
// is computed one (TILE x TILE) tile at a time, for tile pairs (I, J >= I) only: half the
// arithmetic of a full product, and memory O(threads TILE^2 + n k) whatever n is. Tiles are spread
// over the threads, each computed by one single-threaded sgemm call (blas.h). The k smallest
// (distance, index) pairs of a row form a set that does not depend on the order the candidates
// arrive in, so the heaps may be fed tile by tile and the result is still deterministic.
#include "tsne/neighbors.h"

#include <omp.h>
#include <stdlib.h>

#include "tsne/blas.h"
#include "base/error.h"

#define TILE 512
#define PARALLEL_MIN (1u << 20)   // smaller loops run on one thread: a team costs more

// The tiles (I, J >= I) of an n x n problem, numbered in a fixed order.
typedef struct tiles {
    const float *X;
    int n, d, nt;      // nt: tiles per side
    double *norms;     // (n) squared row norms
    float *G;          // (threads, TILE, TILE) one Gram tile per thread
} tiles;

static kevo_status tiles_init(tiles *t, const float *X, int n, int d, kevo_error *err)
{
    t->X = X;
    t->n = n;
    t->d = d;
    t->nt = (n + TILE - 1) / TILE;
    t->norms = malloc(sizeof *t->norms * (size_t)n);
    t->G = malloc(sizeof *t->G * TILE * TILE * (size_t)omp_get_max_threads());
    if (!t->norms || !t->G) {
        free(t->norms);
        free(t->G);
        return kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE: out of memory for the distance tiles");
    }
#pragma omp parallel for schedule(static) if ((size_t)n * d > PARALLEL_MIN)
    for (int i = 0; i < n; i++) {
        const float *x = X + (size_t)i * (size_t)d;
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (double)x[j] * x[j];
        t->norms[i] = s;
    }
    return KEVO_OK;
}

static void tiles_free(tiles *t)
{
    free(t->norms);
    free(t->G);
}

static int n_pairs(const tiles *t)
{
    return t->nt * (t->nt + 1) / 2;
}

// Tile pair number p -> (I, J >= I) as row offsets and sizes.
static void pair_at(const tiles *t, int p, int *i0, int *bi, int *j0, int *bj)
{
    int ti = 0;
    while (p >= t->nt - ti)
        p -= t->nt - ti++;
    *i0 = ti * TILE;
    *j0 = (ti + p) * TILE;
    *bi = t->n - *i0 < TILE ? t->n - *i0 : TILE;
    *bj = t->n - *j0 < TILE ? t->n - *j0 : TILE;
}

// G = X[i0 : i0+bi] X[j0 : j0+bj]^T (leading dimension bj), one single-threaded call.
static float *tile_gram(tiles *t, int i0, int bi, int j0, int bj)
{
    float *G = t->G + (size_t)omp_get_thread_num() * TILE * TILE;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi, bj, t->d, 1.0f,
                t->X + (size_t)i0 * (size_t)t->d, t->d, t->X + (size_t)j0 * (size_t)t->d, t->d,
                0.0f, G, bj);
    return G;
}

// The squared distance of rows i0 + a and j0 + b from the tile. On a diagonal tile the element
// above the diagonal serves both orders, so that D[i][j] == D[j][i] bit for bit.
static inline float tile_sqdist(const tiles *t, const float *G, int i0, int j0, int bj, int a,
                                int b)
{
    int diag = i0 == j0 && a > b;
    float g = diag ? G[(size_t)b * bj + a] : G[(size_t)a * bj + b];
    double v = t->norms[i0 + a] + t->norms[j0 + b] - 2.0 * (double)g;
    return v > 0 ? (float)v : 0.0f;
}

kevo_status kevo_tsne_sqdist_full(const float *X, int n, int d, float *D, kevo_error *err)
{
    tiles t;
    kevo_status st = tiles_init(&t, X, n, d, err);
    if (st != KEVO_OK)
        return st;
    kevo_blas_single_thread();
    // Each tile pair writes its own two blocks of D.
#pragma omp parallel for schedule(dynamic, 1) if (n_pairs(&t) > 1)
    for (int p = 0; p < n_pairs(&t); p++) {
        int i0, bi, j0, bj;
        pair_at(&t, p, &i0, &bi, &j0, &bj);
        const float *G = tile_gram(&t, i0, bi, j0, bj);
        for (int a = 0; a < bi; a++)
            for (int b = 0; b < bj; b++) {
                float v = i0 + a == j0 + b ? 0.0f : tile_sqdist(&t, G, i0, j0, bj, a, b);
                D[(size_t)(i0 + a) * (size_t)n + (size_t)(j0 + b)] = v;
                D[(size_t)(j0 + b) * (size_t)n + (size_t)(i0 + a)] = v;
            }
    }
    tiles_free(&t);
    return KEVO_OK;
}
// ---- bounded max-heaps of (distance, index): the root is the worst of the k best so far

typedef struct heap {
    float *d;        // (n, k)
    int32_t *i;      // (n, k)
    int *count;      // (n)
    int k;
} heap;

static inline int worse(float da, int32_t ia, float db, int32_t ib)
{
    return da > db || (da == db && ia > ib);
}

static void heap_offer(heap *h, int row, float dist, int32_t j)
{
    float *hd = h->d + (size_t)row * (size_t)h->k;
    int32_t *hi = h->i + (size_t)row * (size_t)h->k;
    int c = h->count[row], pos;
    if (c < h->k) {   // sift up from the new leaf
        pos = c;
        h->count[row] = c + 1;
        while (pos > 0) {
            int parent = (pos - 1) / 2;
            if (!worse(dist, j, hd[parent], hi[parent]))
                break;
            hd[pos] = hd[parent];
            hi[pos] = hi[parent];
            pos = parent;
        }
    } else {          // replace the root when better, sift down
        if (!worse(hd[0], hi[0], dist, j))
            return;
        pos = 0;
        for (;;) {
            int l = 2 * pos + 1, r = l + 1, m = pos;
            float md = dist;
            int32_t mi = j;
            if (l < c && worse(hd[l], hi[l], md, mi))
                m = l, md = hd[l], mi = hi[l];
            if (r < c && worse(hd[r], hi[r], md, mi))
                m = r;
            if (m == pos)
                break;
            hd[pos] = hd[m];
            hi[pos] = hi[m];
            pos = m;
        }
    }
    hd[pos] = dist;
    hi[pos] = j;
}

// Sorts one row's k entries by increasing (distance, index): insertion sort, k is small.
static void heap_sort_row(float *d, int32_t *idx, int k)
{
    for (int a = 1; a < k; a++) {
        float dv = d[a];
        int32_t iv = idx[a];
        int b = a - 1;
        while (b >= 0 && worse(d[b], idx[b], dv, iv)) {
            d[b + 1] = d[b];
            idx[b + 1] = idx[b];
            b--;
        }
        d[b + 1] = dv;
        idx[b + 1] = iv;
    }
}

kevo_status kevo_tsne_knn(const float *X, int n, int d, int k, int32_t *idx, float *sqd,
                          kevo_error *err)
{
    if (k < 1 || k > n - 1)
        return kevo_fail(err, KEVO_ERR_ARG, "t-SNE: %d neighbours asked of %d points", k, n);
    heap h = {sqd, idx, calloc((size_t)n, sizeof(int)), k};
    omp_lock_t *locks = malloc(sizeof *locks * (size_t)n);
    if (!h.count || !locks) {
        free(h.count);
        free(locks);
        return kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE: out of memory for the neighbour heaps");
    }
    tiles t;
    kevo_status st = tiles_init(&t, X, n, d, err);
    if (st != KEVO_OK) {
        free(h.count);
        free(locks);
        return st;
    }
    for (int i = 0; i < n; i++)
        omp_init_lock(&locks[i]);
    kevo_blas_single_thread();
    // Tile pairs run in parallel. A row's heap is fed by one tile at a time (its lock is held
    // for the tile's whole row or column); the k best candidates do not depend on the order the
    // tiles come in.
#pragma omp parallel for schedule(dynamic, 1) if (n_pairs(&t) > 1)
    for (int p = 0; p < n_pairs(&t); p++) {
        int i0, bi, j0, bj;
        pair_at(&t, p, &i0, &bi, &j0, &bj);
        const float *G = tile_gram(&t, i0, bi, j0, bj);
        for (int a = 0; a < bi; a++) {
            omp_set_lock(&locks[i0 + a]);
            for (int b = 0; b < bj; b++)
                if (i0 + a != j0 + b)
                    heap_offer(&h, i0 + a, tile_sqdist(&t, G, i0, j0, bj, a, b), j0 + b);
            omp_unset_lock(&locks[i0 + a]);
        }
        if (j0 != i0)
            for (int b = 0; b < bj; b++) {
                omp_set_lock(&locks[j0 + b]);
                for (int a = 0; a < bi; a++)
                    heap_offer(&h, j0 + b, tile_sqdist(&t, G, i0, j0, bj, a, b), i0 + a);
                omp_unset_lock(&locks[j0 + b]);
            }
    }
#pragma omp parallel for schedule(static) if ((size_t)n * k > PARALLEL_MIN)
    for (int i = 0; i < n; i++)
        heap_sort_row(sqd + (size_t)i * (size_t)k, idx + (size_t)i * (size_t)k, k);
    for (int i = 0; i < n; i++)
        omp_destroy_lock(&locks[i]);
    tiles_free(&t);
    free(h.count);
    free(locks);
    return KEVO_OK;
}
