// tree.c — the Barnes-Hut tree of t-SNE and its scalar force traversal.
//
// Follows sklearn/neighbors/_quad_tree.pyx (bounds, split rule, duplicates, summarize) and
// compute_gradient_negative in sklearn/manifold/_barnes_hut_tsne.pyx (scikit-learn 1.2), with
// the same float32/float64 choices in every expression. The tree is rebuilt at every gradient
// step, so it is built top-down by partitioning the points (a stable counting sort per cell)
// rather than by inserting them one at a time; cell geometry and membership are the same.
#include "tsne/tree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define STACK (KEVO_TSNE_MAX_DEPTH * 7 + 1)

kevo_status kevo_tsne_tree_create(int n, int dim, kevo_tsne_tree **out, kevo_error *err)
{
    *out = NULL;
    if (n < 1 || dim < 1 || dim > 3)
        return kevo_fail(err, KEVO_ERR_ARG, "t-SNE tree: %d points of dimension %d (1 to 3)", n,
                         dim);
    kevo_tsne_tree *t = calloc(1, sizeof *t);
    if (!t)
        goto nomem;
    t->n = n;
    t->dim = dim;
    t->cap_nodes = 2 * n + 16;
    t->nodes = malloc(sizeof *t->nodes * (size_t)t->cap_nodes);
    t->order = malloc(sizeof *t->order * (size_t)n);
    for (int b = 0; b < 2; b++) {
        t->pos[b] = malloc(sizeof *t->pos[b] * (size_t)n * (size_t)dim);
        t->idx[b] = malloc(sizeof *t->idx[b] * (size_t)n);
    }
    if (!t->nodes || !t->order || !t->pos[0] || !t->pos[1] || !t->idx[0] || !t->idx[1])
        goto nomem;
    *out = t;
    return KEVO_OK;
nomem:
    kevo_tsne_tree_free(t);
    return kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE tree: out of memory for %d points", n);
}

void kevo_tsne_tree_free(kevo_tsne_tree *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->order);
    for (int b = 0; b < 2; b++) {
        free(t->pos[b]);
        free(t->idx[b]);
    }
    free(t);
}

// Reserves `count` contiguous nodes; returns the first index or -1 when memory runs out.
static int32_t alloc_nodes(kevo_tsne_tree *t, int count)
{
    if (t->n_nodes + count > t->cap_nodes) {
        int cap = t->cap_nodes * 2 + count;
        kevo_tsne_node *p = realloc(t->nodes, sizeof *p * (size_t)cap);
        if (!p)
            return -1;
        t->nodes = p;
        t->cap_nodes = cap;
    }
    int32_t first = t->n_nodes;
    t->n_nodes += count;
    return first;
}

// The child of a cell with this centre that holds p: bit a (axis 0 first) is p[a] >= centre[a].
static inline int child_code(const float *p, const float *center, int dim)
{
    int code = 0;
    for (int a = 0; a < dim; a++)
        code = code * 2 + (p[a] >= center[a]);
    return code;
}

// The largest squared side of the cell [lo, hi) (squared_max_width).
static inline float max_width2(const float *lo, const float *hi, int dim)
{
    float w2 = 0.0f;
    for (int a = 0; a < dim; a++) {
        float w = hi[a] - lo[a];
        w2 = w * w > w2 ? w * w : w2;
    }
    return w2;
}

// Builds cell `id` over the points at [begin, end) of buffer `buf` (in index order), with bounds
// [lo, hi); adds the coordinate sums of its points to sum. A cell's points are partitioned into
// the other buffer for its children, so each level reads and writes contiguous memory. Returns 0
// when memory runs out.
static int build_cell(kevo_tsne_tree *t, int32_t id, int buf, int begin, int end,
                      const float *lo, const float *hi, int depth, double *sum)
{
    const int dim = t->dim, n_kids = 1 << dim;
    const float *pos = t->pos[buf];
    kevo_tsne_node *node = &t->nodes[id];
    node->w2 = max_width2(lo, hi, dim);
    node->size = (float)(end - begin);
    t->depth = depth > t->depth ? depth : t->depth;

    // One point, or all within 1e-6 of the first in every coordinate: a leaf.
    const float *f = pos + (size_t)begin * dim;
    int dup = 1;
    for (int i = begin + 1; i < end && dup; i++)
        for (int a = 0; a < dim; a++)
            dup &= fabsf(pos[(size_t)i * dim + a] - f[a]) <= KEVO_TSNE_DUP_EPS;

    // Split at the centre. A split that changes nothing (float centres no longer between the
    // points) would recurse forever; such points stay together in one leaf.
    float center[3];
    int count[8] = {0}, start[9], n_nonempty = 0, stuck = 0;
    if (!dup && depth < KEVO_TSNE_MAX_DEPTH) {
        for (int a = 0; a < dim; a++)
            center[a] = (lo[a] + hi[a]) / 2.0f;
        for (int i = begin; i < end; i++)
            count[child_code(pos + (size_t)i * dim, center, dim)]++;
        start[0] = begin;
        for (int c = 0; c < n_kids; c++) {
            start[c + 1] = start[c] + count[c];
            n_nonempty += count[c] > 0;
        }
        if (n_nonempty == 1) {
            stuck = 1;
            for (int a = 0; a < dim; a++)
                stuck &= center[a] == lo[a] || center[a] == hi[a];
        }
    }
    if (dup || depth >= KEVO_TSNE_MAX_DEPTH || stuck) {
        // The barycentre of a leaf is the first point inserted there (_quad_tree.pyx: a
        // duplicate only raises the count).
        for (int a = 0; a < dim; a++)
            node->bary[a] = f[a];
        node->n_children = 0;
        node->first = -1;
        for (int i = begin; i < end; i++) {
            t->order[i] = t->idx[buf][i];
            for (int a = 0; a < dim; a++)
                sum[a] += pos[(size_t)i * dim + a];
        }
        return 1;
    }

    // Stable scatter by child number: every child keeps its points in index order.
    int fill[8];
    memcpy(fill, start, sizeof fill);
    float *opos = t->pos[!buf];
    int32_t *oidx = t->idx[!buf];
    const int32_t *idx = t->idx[buf];
    for (int i = begin; i < end; i++) {
        const float *p = pos + (size_t)i * dim;
        int to = fill[child_code(p, center, dim)]++;
        for (int a = 0; a < dim; a++)
            opos[(size_t)to * dim + a] = p[a];
        oidx[to] = idx[i];
    }

    int32_t first = alloc_nodes(t, n_nonempty);   // may move t->nodes
    if (first < 0)
        return 0;
    t->nodes[id].first = first;
    t->nodes[id].n_children = n_nonempty;
    double own[3] = {0, 0, 0};
    int32_t child = first;
    for (int c = 0; c < n_kids; c++) {
        if (!count[c])
            continue;
        float clo[3], chi[3];
        for (int a = 0; a < dim; a++) {
            int upper = (c >> (dim - 1 - a)) & 1;
            clo[a] = upper ? center[a] : lo[a];
            chi[a] = upper ? hi[a] : center[a];
        }
        if (count[c] == 1) {   // the most common child: a leaf, made here without recursing
            const float *p = opos + (size_t)start[c] * dim;
            kevo_tsne_node *leaf = &t->nodes[child++];
            leaf->w2 = max_width2(clo, chi, dim);
            leaf->size = 1.0f;
            leaf->n_children = 0;
            leaf->first = -1;
            for (int a = 0; a < dim; a++) {
                leaf->bary[a] = p[a];
                own[a] += p[a];
            }
            t->order[start[c]] = oidx[start[c]];
            t->depth = depth + 1 > t->depth ? depth + 1 : t->depth;
            continue;
        }
        if (!build_cell(t, child++, !buf, start[c], start[c + 1], clo, chi, depth + 1, own))
            return 0;
    }
    // Barycentre: the exact mean of the points below, rounded once.
    for (int a = 0; a < dim; a++) {
        t->nodes[id].bary[a] = (float)(own[a] / (double)(end - begin));
        sum[a] += own[a];
    }
    return 1;
}

kevo_status kevo_tsne_tree_build(kevo_tsne_tree *t, const float *Y, kevo_error *err)
{
    const int n = t->n, dim = t->dim;
    float lo[3], hi[3];
    for (int a = 0; a < dim; a++) {
        float m = Y[a], M = Y[a];
        for (int i = 1; i < n; i++) {
            float v = Y[(size_t)i * dim + a];
            m = v < m ? v : m;
            M = v > M ? v : M;
        }
        // build_tree: M = np.maximum(M * (1. + 1e-3 * np.sign(M)), M + 1e-3), in float32.
        float sign = (float)((M > 0) - (M < 0));
        lo[a] = m;
        hi[a] = fmaxf(M * (1.0f + 1e-3f * sign), M + 1e-3f);
    }
    memcpy(t->pos[0], Y, sizeof *Y * (size_t)n * dim);
    for (int i = 0; i < n; i++)
        t->idx[0][i] = i;
    t->n_nodes = 0;
    t->depth = 0;
    double sum[3] = {0, 0, 0};
    if (alloc_nodes(t, 1) != 0 || !build_cell(t, 0, 0, 0, n, lo, hi, 0, sum))
        return kevo_fail(err, KEVO_ERR_NOMEM, "t-SNE tree: out of memory (%d cells)",
                         t->n_nodes);
    return KEVO_OK;
}

// summarize + compute_gradient_negative for one point, in the order sklearn visits the cells
// (the cell, then its children in order): the same contributions added in the same order.
static void negative_point(const kevo_tsne_tree *t, const float *p, float theta2, int dof,
                           float *neg, double *zsum)
{
    const int dim = t->dim;
    const float fdof = (float)dof, exponent = (fdof + 1.0f) / 2.0f;
    float force[3] = {0, 0, 0};
    double z = 0.0;
    int32_t stack[STACK];
    int sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
        const kevo_tsne_node *c = &t->nodes[stack[--sp]];
        float delta[3], d2 = 0.0f;
        int dup = 1;
        for (int a = 0; a < dim; a++) {
            delta[a] = p[a] - c->bary[a];
            d2 += delta[a] * delta[a];
            dup &= fabsf(delta[a]) <= KEVO_TSNE_DUP_EPS;
        }
        if (c->n_children == 0) {
            if (dup)
                continue;   // no self-interaction
        } else if (!(c->w2 / d2 < theta2)) {
            for (int k = c->n_children - 1; k >= 0; k--)
                stack[sp++] = c->first + k;
            continue;
        }
        double q = fdof / (fdof + d2);   // a float quotient, held in double as sklearn's qijZ
        if (dof != 1)
            q = pow(q, exponent);
        z += c->size * q;
        float mult = (float)(c->size * q * q);
        for (int a = 0; a < dim; a++)
            force[a] += mult * delta[a];
    }
    for (int a = 0; a < dim; a++)
        neg[a] = force[a];
    *zsum = z;
}

int kevo_tsne_tree_n_blocks(const kevo_tsne_tree *t)
{
    return (t->n + KEVO_TSNE_BLOCK - 1) / KEVO_TSNE_BLOCK;
}

void kevo_tsne_tree_negative_block(const kevo_tsne_tree *t, const float *Y, float angle, int dof,
                                   kevo_tsne_negative_fn simd_walk, int block, float *neg,
                                   double *zsum)
{
    const float theta2 = angle * angle;   // sklearn passes theta * theta as a C float
    int begin = block * KEVO_TSNE_BLOCK;
    int count = t->n - begin < KEVO_TSNE_BLOCK ? t->n - begin : KEVO_TSNE_BLOCK;
    const int32_t *points = t->order + begin;
    if (simd_walk) {
        simd_walk(t, Y, theta2, points, count, neg, zsum);
        return;
    }
    for (int l = 0; l < count; l++) {
        size_t i = (size_t)points[l];
        negative_point(t, Y + i * t->dim, theta2, dof, neg + i * t->dim, zsum + i);
    }
}
