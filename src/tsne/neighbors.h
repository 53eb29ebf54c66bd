// neighbors.h — squared Euclidean distances between the rows of X: the full matrix (exact
// t-SNE) or the k nearest neighbours of every row (Barnes-Hut t-SNE).
//
// Distances are ||x_i||^2 + ||x_j||^2 - 2 x_i.x_j with the dot products from OpenBLAS sgemm
// (float32 accumulation) and the norms and the sum in double, clamped at 0 and rounded to float32
// (sklearn casts its distances to float32 before the perplexity search as well). Each pair is
// computed once and used for both rows, so the matrix is exactly symmetric. The result does not
// depend on the thread count.
#ifndef KEVO_TSNE_NEIGHBORS_H
#define KEVO_TSNE_NEIGHBORS_H

#include <stdint.h>

#include "kevo.h"

// D: (n, n) squared distances, 0 on the diagonal. X: (n, d) row-major.
kevo_status kevo_tsne_sqdist_full(const float *X, int n, int d, float *D, kevo_error *err);

// The k nearest neighbours of every row (itself excluded), like sklearn's
// NearestNeighbors(n_neighbors=k).kneighbors_graph(mode="distance") squared. Row i of idx (n, k)
// and sqd (n, k) lists them by increasing distance, ties broken by the smaller index.
kevo_status kevo_tsne_knn(const float *X, int n, int d, int k, int32_t *idx, float *sqd,
                          kevo_error *err);

#endif
