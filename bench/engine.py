#!/usr/bin/python3
"""kevo's engine against PyTorch on LLaVA-1.5-7B's real dimensions, side by side, with floors.

Model: tools/fixtures/make_bench_model.py writes a random-weight LLaVA with the full CLIP-L/336
tower and a LLaMA of width 4096 / FFN 11008 / vocabulary 32064 with DEPTH decoder layers, in F16
and in F32.
Prompt: 576 image positions + 24 text positions = 600; 32 new tokens. Each figure is the best of
three timed passes after a warm-up pass, for kevo and PyTorch alike (the host's memory bandwidth
drifts by up to 2x between runs minutes apart, so only side-by-side ratios mean much).

Scaling to 32 layers: decoding is memory-bound, so a token at 32 layers takes the measured time
times the ratio of bytes read per token (every decoder weight, the LM head, the key/value cache);
prefill is compute-bound and scales by the ratio of FLOPs. CLIP is measured as it is.

Rows: kevo with F16 weights (F32 products), kevo --compute bf16 (F16 weights, BF16 products),
kevo with F32 weights; PyTorch 1.13 (Debian) in BF16 and F32 with its best settings (same threads,
passive OpenMP waiting, inference mode, logits for the last position only). Equal precision of
the products: kevo F16-weights and F32 against PyTorch F32; kevo BF16 against PyTorch BF16.

Floors measured in the same run: decode = bytes read per token / the DRAM read bandwidth
build/bench/engine measures; prefill F32 = FLOPs / the best F32 GEMM throughput measured on the
prefill's shape (kevo's own GEMM or OpenBLAS, whichever is faster here).

usage: /usr/bin/python3 bench/engine.py BUILD_DIR [--models DIR] [--threads 2] [--no-torch]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
DEPTH = 6          # decoder layers of the bench model
TARGET = 32        # LLaVA-1.5-7B
D, F, V, HEADS = 4096, 11008, 32064, 32
IMAGE, TEXT = 576, 24


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


def ensure_model(models, dtype):
    path = os.path.join(models, f"{dtype.lower()}-l{DEPTH}")
    if not os.path.exists(os.path.join(path, "config.json")):
        print(f"writing bench model {path} ...", file=sys.stderr)
        maker = os.path.join(ROOT, "tools", "fixtures", "make_bench_model.py")
        subprocess.run(["/usr/bin/python3", maker, path, "--layers", str(DEPTH), "--dtype", dtype],
                       check=True)
    return path


def decode_bytes(layers, weight_bytes, new):
    """Bytes one decoded token reads: decoder matrices and norms, the LM head, the F32 key/value
    cache at the middle of the answer."""
    ctx = IMAGE + TEXT + new // 2
    per_layer = (4 * D * D + 3 * D * F) * weight_bytes + 2 * D * 4 + 2 * ctx * D * 4
    return layers * per_layer + V * D * weight_bytes


def prefill_flops(layers):
    """FLOPs of the prompt: every decoder product and the attention, the LM head at the last
    position."""
    t = IMAGE + TEXT
    per_layer = 2 * t * (4 * D * D + 3 * D * F) + 4 * t * t * D // 2   # causal: half the scores
    return layers * per_layer + 2 * V * D


def scaled(measured, weight_bytes, new):
    """32-layer figures from the DEPTH-layer measurement."""
    r = dict(measured)
    r["decode_s"] = measured["decode_s"] * decode_bytes(TARGET, weight_bytes, new) / \
        decode_bytes(DEPTH, weight_bytes, new)
    r["prefill_s"] = measured["prefill_s"] * prefill_flops(TARGET) / prefill_flops(DEPTH)
    if "decode_norec_s" in measured:
        r["decode_norec_s"] = measured["decode_norec_s"] * r["decode_s"] / measured["decode_s"]
    return r


def kevo_row(build, models, dtype, threads, compute, new):
    cmd = [os.path.join(build, "bench", "engine"), ensure_model(models, dtype),
           "--threads", str(threads), "--new", str(new)]
    if compute == "bf16":
        cmd += ["--compute", "bf16"]
    m = run(cmd)
    generated = m["generated"]
    return scaled({"record_per_token_s": m["record_s"] / generated,
                   "record_share": m["record_s"] / (m["record_decode_s"] + m["steady_prefill_s"]),
                   "load_s": m["load_s"], "vision_s": m["steady_vision_s"],
                   "prefill_s": m["steady_prefill_s"], "decode_s": 1 / m["steady_decode_tok_s"],
                   "image_prefill_ratio": m["image_prefill_s"] / m["steady_prefill_s"],
                   "image_record_share": (m["image_record_s"] - m["record_s"]) /
                                         m["steady_prefill_s"],
                   "decode_norec_s": 1 / m["norecord_decode_tok_s"],
                   "rss_gb": m["peak_rss_mb"] / 1024, "plan32_gb": m["plan32_mb"] / 1024},
                  2 if dtype == "F16" else 4, new)


def torch_row(models, dtype_file, compute, threads, new):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
    m = run(["/usr/bin/python3", os.path.join(HERE, "engine_torch.py"),
             ensure_model(models, dtype_file), compute, "--threads", str(threads),
             "--new", str(new)], env)
    return scaled({"load_s": m["load_s"], "vision_s": m["vision_s"],
                   "prefill_s": m["prefill_s"], "decode_s": 1 / m["decode_tok_s"],
                   "rss_gb": m["peak_rss_mb"] / 1024}, 2 if compute == "bf16" else 4, new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "bench-models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new", type=int, default=32)
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

    gemm = max(floors["gemm_gflops"], floors["openblas_gflops"])
    print(f"\nLLaVA-1.5-7B dimensions, {TARGET} decoder layers (measured with {DEPTH}, scaled by "
          f"bytes and FLOPs), {IMAGE + TEXT}-position prompt, {args.new} new tokens, "
          f"{args.threads} threads")
    print(f"machine: DRAM read {floors['bandwidth_gbs']:.1f} GB/s; F32 GEMM on the prefill "
          f"shape: kevo {floors['gemm_gflops']:.0f} GFLOP/s, OpenBLAS ({floors['openblas_core']}) "
          f"{floors['openblas_gflops']:.0f} GFLOP/s")
    print(f"{'':22}{'load s':>8}{'CLIP s':>8}{'prefill s':>11}{'tok/s':>8}{'decode s/tok':>14}"
          f"{'peak GB':>9}")
    for name, r in rows.items():
        print(f"{name:22}{r['load_s']:8.2f}{r['vision_s']:8.2f}{r['prefill_s']:11.2f}"
              f"{(IMAGE + TEXT) / r['prefill_s']:8.1f}{r['decode_s']:14.3f}{r['rss_gb']:9.2f}")
    k16, kb, k32 = rows["kevo F16 weights"], rows["kevo --compute bf16"], rows["kevo F32"]
    print(f"(peak GB: the {DEPTH}-layer bench process)")
    print(f"\nrecorder: {1e6 * k16['record_per_token_s']:.1f} us per token, "
          f"{100 * k16['record_share']:.3f}% of prefill + decoding (copies timed in the engine); "
          f"decoding with vs without it: {k16['decode_s'] / k16['decode_norec_s']:.3f}x (F16), "
          f"{k32['decode_s'] / k32['decode_norec_s']:.3f}x (F32), within the run-to-run drift")
    print(f"image recorder (every image position at every index, kevo run --image-states): "
          f"copies {100 * k16['image_record_share']:.2f}% of prefill (timed in the engine); "
          f"prefill with vs without it {k16['image_prefill_ratio']:.3f}x (F16), "
          f"{k32['image_prefill_ratio']:.3f}x (F32)")
    bw = floors["bandwidth_gbs"] * 1e9
    floor16 = decode_bytes(TARGET, 2, args.new) / bw
    floor32 = decode_bytes(TARGET, 4, args.new) / bw
    prefill_floor = prefill_flops(TARGET) / (gemm * 1e9)
    print(f"decode floors: F16 {floor16:.3f} s/token -> kevo at {k16['decode_s'] / floor16:.2f}x;"
          f" F32 {floor32:.3f} s/token -> kevo at {k32['decode_s'] / floor32:.2f}x "
          f"(kevo reads {decode_bytes(TARGET, 2, args.new) / k16['decode_s'] / 1e9:.1f} GB/s)")
    print(f"prefill F32 floor ({gemm:.0f} GFLOP/s): {prefill_floor:.1f} s -> kevo F32 at "
          f"{k32['prefill_s'] / prefill_floor:.2f}x")
    # A real llava-1.5-7b-hf in F16: 7,063,427,072 parameters mapped plus the run's one arena
    # (600 positions, 256 new tokens, 32 layers) plus the bench process's other memory.
    weights = 7063427072 * 2 / 2**30
    print(f"peak memory of a real 7B F16 run with the recorder (600 positions, 256 new tokens): "
          f"{weights:.2f} GiB weights + {k16['plan32_gb']:.2f} GiB arena = "
          f"{weights + k16['plan32_gb']:.2f} GiB, of 24")
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
        print(f"  load:    kevo F16 {k16['load_s']:.2f} s (mapped) vs PyTorch bf16 "
              f"{tb['load_s']:.2f} s")


if __name__ == "__main__":
    main()
