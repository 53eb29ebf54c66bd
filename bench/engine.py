#!/usr/bin/python3
"""kevo's engine against PyTorch on LLaVA-1.5-7B's real dimensions, side by side, with floors.

Models: tools/make_bench_model.py writes random-weight models with the full CLIP-L/336 tower and a
LLaMA of width 4096 / FFN 11008 / vocabulary 32064, with 2 and with 4 decoder layers, in F16 and
F32. Every phase is measured at both depths and extrapolated linearly to 32 layers (the per-layer
cost is the difference). Prompt: 576 image positions + 24 text positions = 600; 16 new tokens.

Rows: kevo with F16 weights (F32 products), kevo --compute bf16 (F16 weights, BF16 products),
kevo with F32 weights; PyTorch 1.13 (Debian) in BF16 and F32 with its best settings (same threads,
passive OpenMP waiting, inference mode, logits for the last position only). Ratios compare equal
precision of the products: kevo F16-weights/F32-products and kevo F32 against PyTorch F32 for
accuracy-equal work; kevo BF16 against PyTorch BF16.

Floors measured in the same run: decode = weight bytes read per token / the DRAM read bandwidth
build/bench/engine measures; prefill F32 = FLOPs / the best F32 GEMM throughput measured on the
prefill's shape (kevo's own GEMM or OpenBLAS, whichever is faster here).

usage: /usr/bin/python3 bench/engine.py BUILD_DIR [--models DIR] [--threads 2] [--quick]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
LAYERS = (2, 4)
TARGET = 32


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    vals = {}
    for line in out.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            try:
                vals[k] = float(v)
            except ValueError:
                vals[k] = v
    return vals


def ensure_model(models, dtype, layers):
    path = os.path.join(models, f"{dtype.lower()}-l{layers}")
    if not os.path.exists(os.path.join(path, "config.json")):
        print(f"writing bench model {path} ...", file=sys.stderr)
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "make_bench_model.py"),
                        path, "--layers", str(layers), "--dtype", dtype], check=True)
    return path


def extrapolate(v2, v4, key):
    per_layer = (v4[key] - v2[key]) / (LAYERS[1] - LAYERS[0])
    return v2[key] + (TARGET - LAYERS[0]) * per_layer


def kevo_row(build, models, dtype, threads, compute, new):
    res = {}
    for layers in LAYERS:
        cmd = [os.path.join(build, "bench", "engine"), ensure_model(models, dtype, layers),
               "--threads", str(threads), "--new", str(new)]
        if compute == "bf16":
            cmd += ["--compute", "bf16"]
        res[layers] = run(cmd)
    a, b = res[LAYERS[0]], res[LAYERS[1]]
    dec = {n: 1 / r["steady_decode_tok_s"] for n, r in res.items()}
    dec_norec = {n: 1 / r["norecord_decode_tok_s"] for n, r in res.items()}
    deepest = ensure_model(models, dtype, LAYERS[1])
    model_bytes = sum(os.path.getsize(os.path.join(deepest, f)) for f in os.listdir(deepest)
                      if f.endswith(".safetensors"))
    return {
        "plan32_mb": b["plan32_mb"], "model_gb": model_bytes / 2**30, "plan_gb": b["plan_mb"] / 1024,
        "load_s": b["load_s"], "vision_s": b["steady_vision_s"],
        "prefill_s": extrapolate(a, b, "steady_prefill_s"),
        "decode_s": dec[2] + (TARGET - 2) * (dec[4] - dec[2]) / 2,
        "decode_norec_s": dec_norec[2] + (TARGET - 2) * (dec_norec[4] - dec_norec[2]) / 2,
        "rss_gb": b["peak_rss_mb"] / 1024, "positions": b["positions"],
    }


def torch_row(models, dtype_file, compute, threads, new):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
    res = {}
    for layers in LAYERS:
        res[layers] = run(["/usr/bin/python3", os.path.join(HERE, "engine_torch.py"),
                           ensure_model(models, dtype_file, layers), compute,
                           "--threads", str(threads), "--new", str(new)], env)
    a, b = res[LAYERS[0]], res[LAYERS[1]]
    dec = {n: 1 / r["decode_tok_s"] for n, r in res.items()}
    return {"load_s": b["load_s"], "vision_s": b["vision_s"],
            "prefill_s": extrapolate(a, b, "prefill_s"),
            "decode_s": dec[2] + (TARGET - 2) * (dec[4] - dec[2]) / 2,
            "rss_gb": b["peak_rss_mb"] / 1024}


def text_weight_bytes(bytes_per_weight):
    """Weights read per decoded token for a 32-layer LLaVA-1.5-7B: every decoder matrix, the final
    norm, the LM head (all 32064 rows) and one embedding row."""
    d, f, v = 4096, 11008, 32064
    layer = 4 * d * d + 3 * d * f
    return (TARGET * layer + v * d + d) * bytes_per_weight + TARGET * 2 * d * 4


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "bench-models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new", type=int, default=16)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    floors = run([os.path.join(args.build, "bench", "engine"), "--floors",
                  "--threads", str(args.threads)])
    rows = {
        "kevo F16 weights": kevo_row(args.build, args.models, "F16", args.threads, "f32", args.new),
        "kevo --compute bf16": kevo_row(args.build, args.models, "F16", args.threads, "bf16",
                                        args.new),
        "kevo F32": kevo_row(args.build, args.models, "F32", args.threads, "f32", args.new),
    }
    if not args.no_torch:
        rows["PyTorch bf16"] = torch_row(args.models, "F16", "bf16", args.threads, args.new)
        rows["PyTorch f32"] = torch_row(args.models, "F32", "f32", args.threads, args.new)

    positions = int(rows["kevo F32"]["positions"])
    d, f = 4096, 11008
    prefill_flop = TARGET * 2 * positions * (4 * d * d + 3 * d * f)
    gemm = max(floors["gemm_gflops"], floors.get("openblas_gflops", 0))
    print(f"\nLLaVA-1.5-7B dimensions, {TARGET} decoder layers (extrapolated from {LAYERS}), "
          f"{positions}-position prompt, {args.new} new tokens, {args.threads} threads")
    print(f"machine: DRAM read {floors['bandwidth_gbs']:.1f} GB/s; F32 GEMM on the prefill "
          f"shape: kevo {floors['gemm_gflops']:.0f} GFLOP/s, OpenBLAS ({floors['openblas_core']}) "
          f"{floors.get('openblas_gflops', 0):.0f} GFLOP/s")
    head = f"{'':22}{'load s':>8}{'CLIP s':>8}{'prefill s':>11}{'tok/s':>8}{'decode s/tok':>14}" \
           f"{'peak GB':>9}"
    print(head)
    for name, r in rows.items():
        print(f"{name:22}{r['load_s']:8.2f}{r['vision_s']:8.2f}{r['prefill_s']:11.2f}"
              f"{positions / r['prefill_s']:8.1f}{r['decode_s']:14.3f}{r['rss_gb']:9.2f}")
    k16, kb, k32 = rows["kevo F16 weights"], rows["kevo --compute bf16"], rows["kevo F32"]
    print("\nrecorder overhead in decoding: "
          f"{100 * (k16['decode_s'] / k16['decode_norec_s'] - 1):+.1f}% (F16), "
          f"{100 * (k32['decode_s'] / k32['decode_norec_s'] - 1):+.1f}% (F32)")
    floor16 = text_weight_bytes(2) / (floors["bandwidth_gbs"] * 1e9)
    floor32 = text_weight_bytes(4) / (floors["bandwidth_gbs"] * 1e9)
    prefill_floor = prefill_flop / (gemm * 1e9)
    print(f"decode floors: F16 {floor16:.3f} s/token -> kevo at {k16['decode_s'] / floor16:.2f}x;"
          f" F32 {floor32:.3f} s/token -> kevo at {k32['decode_s'] / floor32:.2f}x")
    print(f"prefill F32 floor (decoder GEMMs at {gemm:.0f} GFLOP/s): {prefill_floor:.1f} s -> "
          f"kevo F32 at {k32['prefill_s'] / prefill_floor:.2f}x")
    # A real llava-1.5-7b-hf in F16: 7,063,427,072 parameters mapped, plus the run's one arena,
    # plus what the bench process holds besides weights and arena (measured on the F16 model).
    plan = k16["plan32_mb"] / 1024
    overhead = max(0.0, k16["rss_gb"] - k16["model_gb"] - k16["plan_gb"])
    print(f"peak memory of a real 7B F16 run with the recorder (600 positions, 256 new tokens): "
          f"{7063427072 * 2 / 2**30:.2f} GiB weights + {plan:.2f} GiB arena + {overhead:.2f} "
          f"GiB other = {7063427072 * 2 / 2**30 + plan + overhead:.2f} GiB (of 24)")
    if not args.no_torch:
        tb, tf = rows["PyTorch bf16"], rows["PyTorch f32"]
        print("\nkevo / PyTorch speed ratios (higher is faster for kevo):")
        print(f"  decode:  kevo F16 vs PyTorch bf16 {tb['decode_s'] / k16['decode_s']:.2f}x, "
              f"kevo F32 vs PyTorch f32 {tf['decode_s'] / k32['decode_s']:.2f}x")
        print(f"  prefill: kevo F32 vs PyTorch f32 {tf['prefill_s'] / k32['prefill_s']:.2f}x, "
              f"kevo bf16 vs PyTorch bf16 {tb['prefill_s'] / kb['prefill_s']:.2f}x, "
              f"kevo F16 weights vs PyTorch f32 {tf['prefill_s'] / k16['prefill_s']:.2f}x")
        print(f"  CLIP:    kevo F32 vs PyTorch f32 {tf['vision_s'] / k32['vision_s']:.2f}x, "
              f"kevo bf16 vs PyTorch bf16 {tb['vision_s'] / kb['vision_s']:.2f}x")


if __name__ == "__main__":
    main()
