#!/usr/bin/python3
"""The patch lens at a real run's size: kevo (analysis/patch_lens.h) against PyTorch on the same
data.

usage: bench/patch_lens.py [BUILD_DIR] [--full]
Shapes of LLaVA-1.5-7B: P = 576 image patches, D = 4096, V = 32064 (llava-hf's padded
vocabulary), F16 head; K = 4 kept hidden-state indices by default (0.6 TFLOP: seconds on two
AVX2 cores), K = 33 (every index: 5 TFLOP, about half a minute) with --full. Both sides compute,
for every (patch, index), the logits, the top token, its probability and the entropy: PyTorch in
float32 on its own threads, in chunks of 2048 rows (all (P K, V) float32 logits at once are
2.4 GB at K = 33); kevo with its own F32 GEMM and double reductions. Times are the best of 2.
Prints both times and their ratio; kevo's time against its own products with the head (the
floor: the rest of the lens costs the ratio minus one); the products' GFLOP/s; and how far
PyTorch's float32 results are from kevo's (kevo itself is checked against float64 in
tests/test_patch_lens.c).
"""
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lens import load  # noqa: E402  (the safetensors reader of bench/lens.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P, D, V = 576, 4096, 32064
REPEATS = 2
CHUNK = 2048


def torch_lens(states, head):
    w = torch.from_numpy(np.asarray(head, np.float32))
    x = torch.from_numpy(np.array(states))
    top_p, entropy = [], []
    for i in range(0, x.shape[0], CHUNK):
        logp = torch.log_softmax(x[i:i + CHUNK] @ w.T, dim=-1)
        p = logp.exp()
        top_p.append(p.max(-1).values)
        entropy.append(-(p * logp).sum(-1))
    return torch.cat(top_p).numpy(), torch.cat(entropy).numpy()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build = args[0] if args else os.path.join(ROOT, "build")
    K = 33 if "--full" in sys.argv else 4
    torch.set_num_threads(os.cpu_count())   # Debian's torch may start with one
    print(f"patch lens, P = {P} patches x K = {K} indices, D = {D}, V = {V}, F16 head; best of "
          f"{REPEATS}; torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "patch_lens.safetensors")
        out = subprocess.run([os.path.join(build, "bench", "patch_lens"), path, str(P), str(K),
                              str(D), str(V), str(REPEATS)], check=True, capture_output=True,
                             text=True).stdout
        k = dict(line.split("=", 1) for line in out.split())
        data = load(path)
        best = math.inf
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            top_p, entropy = torch_lens(data["states"], data["lm_head"])
            best = min(best, time.perf_counter() - t0)
        ks, kp = float(k["seconds"]), float(k["products"])
        print(f"kevo {ks:.2f} s (products {kp:.2f} s, {float(k['gflops_products']):.1f} GFLOP/s; "
              f"lens / products {ks / kp:.3f}; {k['chunks']} chunks)")
        print(f"torch {best:.2f} s; torch / kevo {best / ks:.2f}")
        print(f"torch float32 vs kevo, max abs: top_p {np.max(np.abs(top_p - data['top_p'])):.2g}, "
              f"entropy {np.max(np.abs(entropy - data['entropy'])):.2g}")


if __name__ == "__main__":
    main()
