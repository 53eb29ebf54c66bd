// tree.h — the space-partitioning tree of Barnes-Hut t-SNE (a binary tree, quadtree or
// octree for 1, 2 or 3 output dimensions) and the repulsive forces summarised through it.
//
// Semantics of scikit-learn 1.2's sklearn/neighbors/_quad_tree.pyx and the negative half of
// sklearn/manifold/_barnes_hut_tsne.pyx:
// - the root box spans the points, its upper bounds pushed out by max(M * (1 + 1e-3 sign M),
//   M + 1e-3); a cell splits at its centre, a point p goes to the upper half of axis a when
//   p[a] >= centre[a]; points within 1e-6 of a leaf's first point in every coordinate share
//   that leaf (duplicates);
// - a cell summarises its points by their barycentre and count; seen from a point, a cell is
//   used whole when it is a leaf or when its squared largest side over the squared distance to
//   the barycentre is below angle^2, else its children are visited in order; a leaf within 1e-6
//   of the point (the point itself and its duplicates) is skipped.
// Where this differs: the tree is built top-down from the points in index order instead of by
// insertion, and internal barycentres are exact means (in double, rounded to float) instead of
// running float32 means; a duplicate group that straddles a cell boundary is split; points that
// float32 centres can no longer separate (sklearn would recurse until the stack overflows) stay
// together in one leaf, as do points below KEVO_TSNE_MAX_DEPTH.
#ifndef KEVO_TSNE_TREE_H
#define KEVO_TSNE_TREE_H

#include <stdint.h>

#include "kevo.h"

typedef struct kevo_tsne_tree kevo_tsne_tree;

// A tree for up to n points of dimension dim (1..3); rebuilt by kevo_tsne_tree_build.
kevo_status kevo_tsne_tree_create(int n, int dim, kevo_tsne_tree **out, kevo_error *err);
void kevo_tsne_tree_free(kevo_tsne_tree *t);   // accepts NULL

// Builds the tree over Y: (n, dim) float32 positions (finite). Single-threaded.
kevo_status kevo_tsne_tree_build(kevo_tsne_tree *t, const float *Y, kevo_error *err);

// The repulsion is computed per block of KEVO_TSNE_BLOCK points that are neighbours in the
// tree's order (their walks share most cells). For every point i of block b:
//   neg[i] = sum over summarised cells c of size_c q_c^2 (y_i - bary_c)   (float accumulation)
//   zsum[i] = sum over c of size_c q_c                                  (double accumulation)
// with q_c = (dof / (dof + |y_i - bary_c|^2))^((dof + 1) / 2), as compute_gradient_negative.
// neg: (n, dim), zsum: (n). Y must be the positions the tree was built from. Blocks write
// disjoint points, so any thread may take any block. simd_walk, when not NULL, walks the block
// instead of the scalar code (dim 2, dof 1 only: kevo_tsne_kernels_get()->negative_2d), with the
// same bits.
#define KEVO_TSNE_BLOCK 16
// The points order[first, first + count) walk the tree together; theta2 = angle^2.
typedef void (*kevo_tsne_negative_fn)(const kevo_tsne_tree *t, const float *Y, float theta2,
                                      const int32_t *points, int count, float *neg, double *zsum);
int kevo_tsne_tree_n_blocks(const kevo_tsne_tree *t);
void kevo_tsne_tree_negative_block(const kevo_tsne_tree *t, const float *Y, float angle, int dof,
                                   kevo_tsne_negative_fn simd_walk, int block, float *neg,
                                   double *zsum);

// ---- internals shared with tree_avx2.c and tree_avx512.c

typedef struct kevo_tsne_node {
    float bary[3];        // barycentre of the points below
    float w2;             // the cell's largest squared side length
    float size;           // number of points below (duplicates included)
    int32_t first;        // index of the first child; the children are contiguous
    int32_t n_children;   // 0 for a leaf
    int32_t pad;
} kevo_tsne_node;

struct kevo_tsne_tree {
    int n, dim;
    kevo_tsne_node *nodes;
    int n_nodes, cap_nodes;
    int32_t *order;       // (n) the points in tree order: every cell's points are contiguous
    float *pos[2];        // (n, dim) coordinates being partitioned, and the other buffer
    int32_t *idx[2];      // (n) their point indices, likewise
    int depth;            // deepest level built
};

#define KEVO_TSNE_DUP_EPS 1e-6f   // _quad_tree.pyx EPSILON
#define KEVO_TSNE_MAX_DEPTH 512   // a guard; float cells stop splitting long before

// kevo_tsne_negative_fns for dim 2, dof 1.
void kevo_tsne_tree_negative_avx512(const kevo_tsne_tree *t, const float *Y, float theta2,
                                    const int32_t *points, int count, float *neg,
                                    double *zsum);
void kevo_tsne_tree_negative_avx2(const kevo_tsne_tree *t, const float *Y, float theta2,
                                  const int32_t *points, int count, float *neg, double *zsum);

#endif
