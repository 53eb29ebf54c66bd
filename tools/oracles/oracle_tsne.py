#!/usr/bin/python3
"""Reference results for kevo's t-SNE and MaxAbs scaling, from scikit-learn 1.2 (Debian's
python3-sklearn) and numpy.

usage: /usr/bin/python3 tools/oracles/oracle_tsne.py DATA_DIR

Writes DATA_DIR/oracle/tsne/ (read by tests/test_tsne.c and tests/test_npy.c):
  scale_x.npy, maxabs.npy, maxabs_global.npy
      a float32 matrix with a zero column, a near-zero column (left unscaled by
      _handle_zeros_in_scale), negative maxima and one NaN; MaxAbsScaler().fit_transform of it;
      the same divided by its largest |value| (numpy)
  blobs.npy                 200 x 24 overlapping Gaussian blobs, MaxAbs-scaled, float32: the
                            t-SNE input
  knn_idx.npy, knn_sqd.npy  its 91 nearest neighbours (NearestNeighbors, as TSNE finds them
                            for perplexity 30) and their squared distances, float32, by distance
  cond_knn.npy              _binary_search_perplexity(knn_sqd, 30): the calibrated conditionals
  sqdist.npy                pairwise_distances(squared=True) as TSNE's exact method computes it
  cond_exact.npy            _binary_search_perplexity(sqdist, 30)
  p_indptr.npy, p_indices.npy, p_data.npy
                            _joint_probabilities_nn: the sparse symmetric P (CSR)
  p_exact.npy               _joint_probabilities, as a square matrix
  y0.npy                    a fixed float32 embedding (200, 2)
  grad_bh.npy, grad_exact.npy
                            _kl_divergence_bh (angle 0.5) and _kl_divergence at y0
  y0_1d.npy, y0_3d.npy, grad_{bh,exact}_{1d,3d}.npy
                            the same in 1 and 3 output dimensions (a binary tree and an octree;
                            3-D has 2 degrees of freedom)
  pca_scores.npy, pca_wide_x.npy, pca_wide_scores.npy
                            exact PCA scores (numpy SVD of the centred data in float64, signs by
                            svd_flip) of blobs.npy and of a 40 x 100 matrix (n < d)
  emb_exact.npy, emb_bh.npy, emb_small.npy
                            sklearn TSNE embeddings (random_state 0): exact and Barnes-Hut on
                            blobs.npy (perplexity 30, the authors' 2000 iterations and learning
                            rate 200), and Barnes-Hut on small_x.npy
  small_x.npy               33 x 64 float32, MaxAbs-scaled: one token's 33 hidden states, for
                            which sklearn refuses perplexity 40; emb_small is sklearn at the
                            perplexity kevo lowers it to, (33 - 1) / 3
  fortran.npy, f64.npy      arrays numpy stores in Fortran order and as float64 (reader tests)
  results.json              per case and for random_state 0, 1, 2 (0..19 for small_x; t-SNE
                            is chaotic: a single run says little about another implementation,
                            so the tests compare with sklearn's spread): KL divergences, n_iter_, trustworthiness
                            (k = 10); and the scalars above
Regenerated only when this script changes (a stamp file holds its hash).
"""
import hashlib
import json
import os
import sys
import warnings

import numpy as np
import sklearn
from scipy.spatial.distance import squareform
from sklearn.datasets import make_blobs
from sklearn.manifold import TSNE, trustworthiness
from sklearn.manifold import _t_sne, _utils
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import MaxAbsScaler

PERPLEXITY = 30.0
N_ITER = 2000
SEEDS = (0, 1, 2)
# 33 points fall into a poor local minimum for about one seed in five, in sklearn as in kevo: the
# small case compares distributions over many seeds instead of three.
SMALL_SEEDS = tuple(range(20))
TRUST_K = 10


def save(out, name, a):
    np.save(os.path.join(out, name), a)


def scaling(out):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((50, 37)) * rng.uniform(0.1, 100, 37)).astype(np.float32)
    x[:, 3] = 0
    x[:, 4] = rng.uniform(-1e-7, 1e-7, 50).astype(np.float32)   # max < 10 eps: left as is
    x[:, 5] = -np.abs(x[:, 5])                                    # the maximum is negative
    x[17, 9] = np.nan                                             # ignored by nanmax
    save(out, "scale_x.npy", x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save(out, "maxabs.npy", MaxAbsScaler().fit_transform(x).astype(np.float32))
    save(out, "maxabs_global.npy", (x / np.nanmax(np.abs(x))).astype(np.float32))


def exact_pca(X):
    """Centred X's scores on the top two right singular vectors, signs as svd_flip (u-based)."""
    Xc = X.astype(np.float64) - X.astype(np.float64).mean(0)
    U, S, _ = np.linalg.svd(Xc, full_matrices=False)
    U = U[:, :2] * np.sign(U[np.argmax(np.abs(U[:, :2]), axis=0), range(2)])
    return (U * S[:2]).astype(np.float32)


def tsne_case(X, method, perplexity, seeds=SEEDS):
    """sklearn's embedding for random_state 0, and KL, n_iter_, trustworthiness for each seed."""
    out, first = {"kl": [], "n_iter": [], "trust": []}, None
    for seed in seeds:
        t = TSNE(n_components=2, perplexity=perplexity, learning_rate=200, n_iter=N_ITER,
                 random_state=seed, method=method)
        Y = t.fit_transform(X)
        first = Y if first is None else first
        out["kl"].append(float(t.kl_divergence_))
        out["n_iter"].append(int(t.n_iter_))
        out["trust"].append(float(trustworthiness(X, Y, n_neighbors=TRUST_K)))
    return first, out


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "build/data"
    out = os.path.join(data, "oracle", "tsne")
    os.makedirs(out, exist_ok=True)
    me = open(os.path.abspath(__file__), "rb").read()
    stamp = os.path.join(out, "stamp")
    digest = hashlib.sha256(me + sklearn.__version__.encode()).hexdigest()
    if os.path.exists(stamp) and open(stamp).read() == digest:
        return

    scaling(out)
    res = {"perplexity": PERPLEXITY, "n_iter": N_ITER, "trust_k": TRUST_K}

    X, _ = make_blobs(n_samples=200, n_features=24, centers=5, cluster_std=6.0, random_state=1)
    X = MaxAbsScaler().fit_transform(X.astype(np.float32))
    save(out, "blobs.npy", X)
    n = X.shape[0]

    # Barnes-Hut affinities exactly as TSNE._fit computes them.
    k = min(n - 1, int(3.0 * PERPLEXITY + 1))
    nn = NearestNeighbors(n_neighbors=k).fit(X)
    dist, idx = nn.kneighbors()
    save(out, "knn_idx.npy", idx.astype(np.int32))
    save(out, "knn_sqd.npy", (dist ** 2).astype(np.float32))
    save(out, "cond_knn.npy", np.asarray(_utils._binary_search_perplexity(
        (dist ** 2).astype(np.float32), PERPLEXITY, 0)))
    D = nn.kneighbors_graph(mode="distance")
    D.data **= 2
    P = _t_sne._joint_probabilities_nn(D, PERPLEXITY, 0)
    save(out, "p_indptr.npy", P.indptr.astype(np.int64))
    save(out, "p_indices.npy", P.indices.astype(np.int32))
    save(out, "p_data.npy", P.data.astype(np.float64))

    # Exact affinities.
    sq = pairwise_distances(X, metric="euclidean", squared=True).astype(np.float32)
    save(out, "sqdist.npy", sq)
    save(out, "cond_exact.npy", np.asarray(_utils._binary_search_perplexity(sq, PERPLEXITY, 0)))
    Pe = _t_sne._joint_probabilities(sq, PERPLEXITY, 0)
    save(out, "p_exact.npy", squareform(Pe))

    # Gradients at a fixed embedding.
    y0 = (np.random.default_rng(3).standard_normal((n, 2)) * 5).astype(np.float32)
    save(out, "y0.npy", y0)
    kl_bh, g_bh = _t_sne._kl_divergence_bh(y0.ravel().copy(), P, 1, n, 2, angle=0.5,
                                           compute_error=True, num_threads=1)
    save(out, "grad_bh.npy", g_bh.reshape(n, 2).astype(np.float32))
    kl_ex, g_ex = _t_sne._kl_divergence(y0.ravel().copy(), Pe, 1, n, 2)
    save(out, "grad_exact.npy", g_ex.reshape(n, 2).astype(np.float32))
    res["kl_bh_y0"], res["kl_exact_y0"] = float(kl_bh), float(kl_ex)
    for dim in (1, 3):
        y = (np.random.default_rng(dim).standard_normal((n, dim)) * 5).astype(np.float32)
        dof = max(dim - 1, 1)
        save(out, f"y0_{dim}d.npy", y)
        kl_bh, g_bh = _t_sne._kl_divergence_bh(y.ravel().copy(), P, dof, n, dim, angle=0.5,
                                               compute_error=True, num_threads=1)
        kl_ex, g_ex = _t_sne._kl_divergence(y.ravel().copy(), Pe, dof, n, dim)
        save(out, f"grad_bh_{dim}d.npy", g_bh.reshape(n, dim).astype(np.float32))
        save(out, f"grad_exact_{dim}d.npy", g_ex.reshape(n, dim).astype(np.float32))
        res[f"kl_bh_y0_{dim}d"], res[f"kl_exact_y0_{dim}d"] = float(kl_bh), float(kl_ex)

    # PCA initialisation references (exact), both orientations of randomized_svd.
    save(out, "pca_scores.npy", exact_pca(X))
    W = np.random.default_rng(5).standard_normal((40, 100)).astype(np.float32)
    W[:, :2] *= [6.0, 3.0]   # a clear spectral gap, so that the top two are well defined
    save(out, "pca_wide_x.npy", W)
    save(out, "pca_wide_scores.npy", exact_pca(W))

    # End to end.
    emb, res["exact"] = tsne_case(X, "exact", PERPLEXITY)
    save(out, "emb_exact.npy", emb)
    emb, res["bh"] = tsne_case(X, "barnes_hut", PERPLEXITY)
    save(out, "emb_bh.npy", emb)
    S = np.random.default_rng(11).standard_normal((33, 64)).astype(np.float32)
    S = np.cumsum(S, axis=0)   # a trajectory, like one token's states through the layers
    S = MaxAbsScaler().fit_transform(S)
    save(out, "small_x.npy", S)
    emb, res["small"] = tsne_case(S, "barnes_hut", (33 - 1) / 3, SMALL_SEEDS)
    save(out, "emb_small.npy", emb)

    # Reader tests.
    np.save(os.path.join(out, "fortran.npy"), np.asfortranarray(
        np.arange(24, dtype=np.float32).reshape(4, 6)))
    save(out, "f64.npy", np.linspace(-1, 1, 12).reshape(3, 4))

    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(stamp, "w") as f:
        f.write(digest)


if __name__ == "__main__":
    main()
