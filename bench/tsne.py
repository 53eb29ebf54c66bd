#!/usr/bin/python3
"""bench/tsne.py — kevo's t-SNE against scikit-learn's on the same data, side by side.

usage: /usr/bin/python3 bench/tsne.py [BUILD_DIR] [--sizes digits,384,8192] [--dim 4096]
                                     [--threads 2] [--repeat 2]

For each size: Gaussian blobs (sklearn.datasets.make_blobs, 10 centres, seed 0) of dimension
--dim, or for `digits` scikit-learn's digits (sklearn.datasets.load_digits: 1797 x 64), either
MaxAbs-scaled (the authors' preprocessing), then
  sklearn: TSNE(n_components=2, perplexity=40, learning_rate=200, n_iter=2000, random_state=0)
           (Barnes-Hut, angle 0.5, PCA init: the authors' call), timed in this process;
  kevo:    `kevo tsne --input X.npy --no-scale` on the same scaled matrix, timed as a subprocess
           (file reading included).
Printed per size: wall and CPU times (user + system; the best of --repeat runs each, since other
work on a shared machine only ever adds time) and their ratios, the KL divergence each reports
and their ratio,
the KL of both embeddings recomputed here with one formula (the exact KL against sklearn's sparse
P, so the two are judged identically), and the 10-nearest-neighbour preservation of each
embedding. Both run with the same thread count (OMP_NUM_THREADS / --threads) and the same
OpenMP wait policy (OMP_WAIT_POLICY, passive unless set: on a machine shared with other work,
threads spinning at barriers slow both programs down). Compare the ratios, measured in one run.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

# Before the OpenMP runtime loads with sklearn: it reads the policy once.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits, make_blobs  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402
from sklearn.manifold._t_sne import _joint_probabilities_nn  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402
from sklearn.preprocessing import MaxAbsScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

PERPLEXITY = 40


def exact_kl(P, Y):
    """KL(P || Q) with Q the exact Student-t affinities of Y and P sparse (nonzeros only)."""
    Y = Y.astype(np.float64)
    n = Y.shape[0]
    z = 0.0
    for i0 in range(0, n, 1024):
        d = ((Y[i0:i0 + 1024, None, :] - Y[None, :, :]) ** 2).sum(-1)
        q = 1.0 / (1.0 + d)
        q[np.arange(q.shape[0]), np.arange(i0, i0 + q.shape[0])] = 0.0
        z += q.sum()
    P = P.tocoo()
    d = ((Y[P.row] - Y[P.col]) ** 2).sum(-1)
    q = 1.0 / (1.0 + d) / z
    return float(np.sum(P.data * np.log(np.maximum(P.data, 1e-300) / q)))


def knn_preservation(nn_x, Y, k=10):
    """Mean fraction of each point's k nearest neighbours in X that stay among its k in Y."""
    nn_y = NearestNeighbors(n_neighbors=k).fit(Y).kneighbors(return_distance=False)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(nn_x, nn_y)]))


def main():
    ap = argparse.ArgumentParser(description="kevo's t-SNE against scikit-learn's")
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--sizes", default="digits,384,8192",
                    help="comma-separated point counts of blobs, or 'digits'")
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--threads", default=os.environ.get("OMP_NUM_THREADS", str(os.cpu_count())))
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    kevo = os.path.join(a.build, "kevo")
    sizes = [s if s == "digits" else int(s) for s in a.sizes.split(",")]
    dim, threads = a.dim, a.threads
    os.environ["OMP_NUM_THREADS"] = threads
    print(f"t-SNE: kevo vs scikit-learn {__import__('sklearn').__version__}, blobs of dimension "
          f"{dim} or digits (1797 x 64), MaxAbs-scaled, perplexity {PERPLEXITY}, 2000 iterations, "
          f"{threads} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, "
          f"KEVO_ISA={os.environ.get('KEVO_ISA', '(unset)')}")
    print(f"{'points':>7} {'sklearn s':>10} {'kevo s':>8} {'speed-up':>9} {'CPU sk s':>9} "
          f"{'CPU kevo s':>11} {'CPU ratio':>10} {'KL sklearn':>11} {'KL kevo':>9} "
          f"{'KL ratio':>9} {'exact KL sk':>12} {'exact KL kevo':>14} {'ratio':>6} "
          f"{'10-NN sk':>9} {'10-NN kevo':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            if n == "digits":
                X = load_digits().data
            else:
                X, _ = make_blobs(n_samples=n, n_features=dim, centers=10, random_state=0)
            X = MaxAbsScaler().fit_transform(X.astype(np.float32))
            path = os.path.join(tmp, f"x{n}.npy")
            np.save(path, X)
            out = os.path.join(tmp, f"y{n}.npy")
            t_sk = c_sk = t_kevo = c_kevo = float("inf")
            for _ in range(a.repeat):
                tsne = TSNE(n_components=2, perplexity=PERPLEXITY, learning_rate=200,
                            n_iter=2000, random_state=0)
                with threadpool_limits(limits=int(threads)):   # OpenMP and BLAS alike
                    t0, c0 = time.perf_counter(), time.process_time()
                    Y_sk = tsne.fit_transform(X)
                    t_sk = min(t_sk, time.perf_counter() - t0)
                    c_sk = min(c_sk, time.process_time() - c0)

                ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                r = subprocess.run([kevo, "tsne", "--input", path, "--no-scale", "--threads",
                                    threads, "-o", out], capture_output=True, text=True)
                t_kevo = min(t_kevo, time.perf_counter() - t0)
                ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                c_kevo = min(c_kevo, ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime)
                if r.returncode != 0:
                    sys.exit(f"kevo failed: {r.stderr}")
            Y_kevo = np.load(out)
            kl_kevo = float(r.stdout.split("KL divergence ")[1].split()[0])

            # One yardstick for both embeddings: sklearn's own P, the exact Q.
            nn = NearestNeighbors(n_neighbors=min(len(X) - 1, 3 * PERPLEXITY + 1)).fit(X)
            D = nn.kneighbors_graph(mode="distance")
            D.data **= 2
            P = _joint_probabilities_nn(D, PERPLEXITY, 0)
            nn_x = nn.kneighbors(n_neighbors=10, return_distance=False)
            ekl_sk, ekl_kevo = exact_kl(P, Y_sk), exact_kl(P, Y_kevo)
            print(f"{n:>7} {t_sk:>10.2f} {t_kevo:>8.2f} {t_sk / t_kevo:>8.1f}x {c_sk:>9.2f} "
                  f"{c_kevo:>11.2f} {c_sk / c_kevo:>9.1f}x {tsne.kl_divergence_:>11.4f} "
                  f"{kl_kevo:>9.4f} "
                  f"{kl_kevo / tsne.kl_divergence_:>9.3f} {ekl_sk:>12.4f} {ekl_kevo:>14.4f} "
                  f"{ekl_kevo / ekl_sk:>6.3f} {knn_preservation(nn_x, Y_sk):>9.3f} "
                  f"{knn_preservation(nn_x, Y_kevo):>11.3f}", flush=True)
            print(f"        kevo: {r.stdout.strip().splitlines()[-1]}", flush=True)


if __name__ == "__main__":
    main()
