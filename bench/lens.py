#!/usr/bin/python3
"""The logit lens at a real run's size: kevo (analysis/lens.h) against numpy on the same data.

usage: bench/lens.py [BUILD_DIR] [--big] [--qwen]
Shapes of LLaVA-1.5-7B: L = 32 layers (33 states), D = 4096, V = 32064 (llava-hf's padded
vocabulary), F16 head; with --qwen those of Qwen2.5-VL-7B: L = 28, D = 3584, V = 152064 (its
head, 4.7 times LLaVA's rows; BF16 on the hub, timed as F16: the same bytes and products). Both sides compute, for every step and state, the logits, log-sum-exp,
top token and, for every consecutive pair, the authors' divergence and the Jensen-Shannon
divergence; numpy in float32 holding every logit at once (what a script would do), kevo streamed
with double accumulators. T = 40 side by side (numpy needs ~1.5 GB there); T = 256 for kevo
alone, plus numpy with --big (~10 GB). Times are the best of 2, on whatever threads each side
uses by default (numpy: OpenBLAS with the environment's OPENBLAS_CORETYPE; kevo: its own F32
GEMM). Prints the times (kevo's split into the products with the head and the reductions), their
ratio, the products' GFLOP/s, and how far numpy's float32
results are from kevo's (kevo itself is checked against float64 in tests/test_analysis.c); where
the CPU has AVX512-BF16 also kevo with BF16 products (kevo analyze --compute bf16) and how far
its results are from the F32 ones.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
L, D, V = (28, 3584, 152064) if "--qwen" in sys.argv else (32, 4096, 32064)
REPEATS = 2


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}[h["dtype"]]
        b, e = h["data_offsets"]
        out[name] = np.memmap(path, np.uint8, "r", offset=8 + n + b,
                              shape=(e - b,)).view(dt).reshape(h["shape"])
    return out


def numpy_lens(hidden, head):
    """The lens and both divergences in float32, vectorised over every step and pair."""
    T, S, _ = hidden.shape
    w = np.asarray(head, np.float32)
    logits = (np.asarray(hidden).reshape(-1, D) @ w.T).reshape(T, S, -1)
    mx = logits.max(-1, keepdims=True)
    lse = mx + np.log(np.exp(logits - mx).sum(-1, keepdims=True))
    top = logits.argmax(-1)
    logp = logits - lse
    p = np.exp(logp)
    a, b, pa, pb = logp[:, :-1], logp[:, 1:], p[:, :-1], p[:, 1:]
    m = 0.5 * (pa + pb)
    logm = np.log(np.maximum(m, np.finfo(np.float32).tiny))
    paper = 0.5 * ((m * (logm - a)).mean(-1) + (m * (logm - b)).mean(-1))
    jsd = 0.5 * ((pa * (a - logm)).sum(-1) + (pb * (b - logm)).sum(-1)) / np.log(2)
    return lse[..., 0], top, paper, jsd


def run_kevo(binary, path, T):
    out = subprocess.run([binary, path, str(T), str(L), str(D), str(V), "f16", str(REPEATS)],
                         check=True, capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.split())


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build = args[0] if args else os.path.join(ROOT, "build")
    binary = os.path.join(build, "bench", "lens")
    steps = [40, 256]
    print(f"logit lens, L = {L} layers, D = {D}, V = {V}, F16 head; best of {REPEATS}")
    print(f"{'T':>4} {'kevo s':>8} {'(prod':>6} {'+ red)':>6} {'numpy s':>8} {'ratio':>6} "
          f"{'GFLOP/s':>8} {'chunks':>6}  numpy float32 vs kevo (max relative): lse, paper, jsd")
    with tempfile.TemporaryDirectory() as tmp:
        for T in steps:
            path = os.path.join(tmp, f"lens{T}.safetensors")
            k = run_kevo(binary, path, T)
            ks = float(k["seconds"])
            line = (f"{T:4d} {ks:8.3f} {float(k['products']):6.2f} {float(k['reductions']):6.2f} ")
            if T <= 40 or "--big" in sys.argv:
                data = load(path)
                best = math.inf
                for _ in range(REPEATS):
                    t0 = time.perf_counter()
                    lse, top, paper, jsd = numpy_lens(data["hidden"], data["lm_head"])
                    best = min(best, time.perf_counter() - t0)
                line += (f"{best:8.3f} {best / ks:6.2f} {float(k['gflops']):8.1f} "
                         f"{k['chunks']:>6}  {rel(lse, data['lse']):.2g}, "
                         f"{rel(paper, data['div_paper']):.2g}, {rel(jsd, data['div_jsd']):.2g}")
                del data
            else:
                line += (f"{'-':>8} {'-':>6} {float(k['gflops']):8.1f} {k['chunks']:>6}  "
                         "(numpy skipped: --big)")
            print(line, flush=True)
            if "bf16_seconds" in k:   # the CPU has AVX512-BF16: the same with BF16 products
                print(f"     BF16 products: {float(k['bf16_seconds']):.3f} s "
                      f"({float(k['bf16_products']):.2f} + {float(k['bf16_reductions']):.2f}), "
                      f"{float(k['bf16_gflops']):.1f} GFLOP/s; vs F32: top-1 equal in "
                      f"{100 * float(k['bf16_top1_agree']):.2f} % of rows, top-1 p within "
                      f"{k['bf16_top1_p_abs']}, log-sum-exp within {k['bf16_lse_abs']}, "
                      f"divergences within {k['bf16_paper_rel']} (paper) / "
                      f"{k['bf16_jsd_rel']} (JSD) relative", flush=True)


if __name__ == "__main__":
    main()
