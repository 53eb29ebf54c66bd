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
prefill's shape (kevo's own GEMM or OpenBLAS, whichever is faster here). (For Qwen the floors are
measured before and after the rows and the better kept.)

With --family qwen25vl, Qwen2.5-VL-7B(-Instruct)'s real dimensions instead
(make_bench_model.py --family qwen25vl): the decoder of width 3584, 28 heads with 4 key/value
heads, FFN 18944, vocabulary 152064, M-RoPE, an untied LM head, with QWEN_DEPTH = 4 of its 28
layers; the full vision tower (32 blocks of width 1280, windows of 112 px, full attention at
blocks 7, 15, 23, 31) and the merger, MEASURED AS THEY ARE (nothing of the tower is scaled). The
image: a 644 x 476 original, which smart_resize keeps (multiples of 28) -> a 34 x 46 patch grid
= 1,564 patches -> 391 merged positions; 24 text positions (<|im_start|>, text,
<|vision_start|>, the image, <|vision_end|>, text) -> a 415-position prompt; 32 new tokens.
Decode and prefill are scaled from 4 to 28 layers as for LLaVA (bytes, FLOPs). PyTorch runs
tools/pylib/qwen2vl_torch.py (transformers' modeling_qwen2_5_vl.py re-stated, eager attention,
KV cache) on the F16 file, rounded to BF16 or widened to F32; kevo F32 reads an F32 file. The
vision floor: the tower's FLOPs (patch embedding, every block's products, the attention within
each window or over the whole image, the merger) / the best F32 GEMM throughput measured on the
tower's MLP shape (1564 x 1280 x 3420).

usage: /usr/bin/python3 bench/engine.py BUILD_DIR [--models DIR] [--threads 2] [--no-torch]
                                        [--family llava|qwen25vl] [--npm DIR]
"""
import argparse
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                "fixtures"))
import make_bench_model as mbm  # noqa: E402  (the Qwen bench model's tensors and config)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
DEPTH = 6          # decoder layers of the bench model
TARGET = 32        # LLaVA-1.5-7B
D, F, V, HEADS = 4096, 11008, 32064, 32
IMAGE, TEXT = 576, 24


# Qwen2.5-VL-7B (make_bench_model.QWEN_TEXT / QWEN_VISION)
QWEN_DEPTH, QWEN_TARGET = 4, 28
QD, QF, QV, QKV = 3584, 18944, 152064, 4 * 128   # width, FFN, vocabulary, key/value width
QIMAGE_WH, QGRID = (644, 476), (34, 46)          # original size; smart_resize's patch grid
QPATCHES = QGRID[0] * QGRID[1]                   # 1,564
QIMAGE = QPATCHES // 4                           # 391 merged positions
QDV, QFV, QBLOCKS, QFULL = 1280, 3420, 32, (7, 15, 23, 31)
QWINDOW = 112 // 14 // 2                         # merged units per window side (4)


def qwen_decode_bytes(layers, weight_bytes, new):
    """Bytes one decoded token reads (Qwen2DecoderLayer: q/o of D x D, k/v of D x 512, their
    biases, the SwiGLU's three D x F; the F32 key/value cache of 4 heads at the middle of the
    answer) and the untied LM head."""
    ctx = QIMAGE + TEXT + new // 2
    weights = 2 * QD * QD + 2 * QD * QKV + 3 * QD * QF + QD + 2 * QKV
    per_layer = weights * weight_bytes + 2 * QD * 4 + 2 * ctx * QKV * 4
    return layers * per_layer + QV * QD * weight_bytes


def qwen_prefill_flops(layers):
    """FLOPs of the prompt: the products of every layer, the causal attention (scores and values
    over all 28 heads of 128), the LM head at the last position."""
    t = QIMAGE + TEXT
    per_layer = 2 * t * (2 * QD * QD + 2 * QD * QKV + 3 * QD * QF) + 4 * t * t * QD // 2
    return layers * per_layer + 2 * QV * QD


def qwen_window_lengths():
    """Patches per window of the windowed blocks: get_window_index
    (modeling_qwen2_5_vl.py) tiles the (h / 2) x (w / 2) merged grid with QWINDOW x QWINDOW
    windows, the last row and column of windows cut short; 4 patches per merged unit."""
    lh, lw = QGRID[0] // 2, QGRID[1] // 2
    rows = [min(QWINDOW, lh - r) for r in range(0, lh, QWINDOW)]
    cols = [min(QWINDOW, lw - c) for c in range(0, lw, QWINDOW)]
    return [4 * r * c for r in rows for c in cols]


def qwen_vision_flops():
    """FLOPs of the tower and merger (Qwen2_5_VisionTransformerPretrainedModel.forward):
    PatchEmbed's Conv3d (kernel = stride, so one 1176 -> 1280 product per patch); per block
    (Qwen2_5_VLVisionBlock) qkv 1280 -> 3840, proj, the biased SwiGLU 1280 -> 3420 -> 1280, and
    the attention's scores and values (2 x 2 s^2 x 1280 per segment of s patches: each window of
    the windowed blocks, the whole image at fullatt_block_indexes); Qwen2_5_VLPatchMerger's
    5120 -> 5120 -> 3584 per merged position. Norms, rotary and softmax are left out."""
    s = QPATCHES
    products = 2 * s * (4 * QDV * QDV + 3 * QDV * QFV)
    windowed = 4 * QDV * sum(n * n for n in qwen_window_lengths())
    full = 4 * QDV * s * s
    blocks = QBLOCKS * products + len(QFULL) * full + (QBLOCKS - len(QFULL)) * windowed
    merger = 2 * QIMAGE * (16 * QDV * QDV + 4 * QDV * QD)
    return 2 * s * 1176 * QDV + blocks + merger


def print_ratios(rows, k16, k32, kb, tower):
    """kevo's rows against PyTorch's of the same precision, for both families' tables."""
    tb, tf = rows["PyTorch bf16"], rows["PyTorch f32"]
    print("\nkevo / PyTorch speed ratios (higher is faster for kevo):")
    print(f"  decode:  kevo F16 vs PyTorch bf16 {tb['decode_s'] / k16['decode_s']:.2f}x, "
          f"kevo F32 vs PyTorch f32 {tf['decode_s'] / k32['decode_s']:.2f}x")
    print(f"  prefill: kevo F32 vs PyTorch f32 {tf['prefill_s'] / k32['prefill_s']:.2f}x, "
          f"kevo bf16 vs PyTorch bf16 {tb['prefill_s'] / kb['prefill_s']:.2f}x, "
          f"kevo F16 weights vs PyTorch f32 {tf['prefill_s'] / k16['prefill_s']:.2f}x")
    print(f"  {tower + ':':8} kevo F32 vs PyTorch f32 {tf['vision_s'] / k32['vision_s']:.2f}x, "
          f"kevo bf16 vs PyTorch bf16 {tb['vision_s'] / kb['vision_s']:.2f}x")
    print(f"  load:    kevo F16 {k16['load_s']:.2f} s (mapped) vs PyTorch bf16 "
          f"{tb['load_s']:.2f} s")


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


class Family:
    """What the driver does differently per family: the bench model, the engine's image, the
    depth measured and the depth scaled to, the byte and FLOP counts that scale."""

    def __init__(self, prefix, depth, target, positions, decode_bytes_, prefill_flops_,
                 maker_args, engine_args):
        self.prefix, self.depth, self.target, self.positions = prefix, depth, target, positions
        self.decode_bytes, self.prefill_flops = decode_bytes_, prefill_flops_
        self.maker_args, self.engine_args = maker_args, engine_args


def ensure_model(models, dtype, fam):
    path = os.path.join(models, f"{fam.prefix}{dtype.lower()}-l{fam.depth}")
    if not os.path.exists(os.path.join(path, "config.json")):
        print(f"writing bench model {path} ...", file=sys.stderr)
        maker = os.path.join(ROOT, "tools", "fixtures", "make_bench_model.py")
        subprocess.run(["/usr/bin/python3", maker, path, "--layers", str(fam.depth), "--dtype",
                        dtype] + fam.maker_args, check=True)
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


def scaled(measured, weight_bytes, new, fam):
    """Full-depth figures (32 layers, Qwen's 28) from the fam.depth-layer measurement."""
    r = dict(measured)
    r["decode_s"] = measured["decode_s"] * fam.decode_bytes(fam.target, weight_bytes, new) / \
        fam.decode_bytes(fam.depth, weight_bytes, new)
    r["prefill_s"] = measured["prefill_s"] * fam.prefill_flops(fam.target) / \
        fam.prefill_flops(fam.depth)
    if "decode_norec_s" in measured:
        r["decode_norec_s"] = measured["decode_norec_s"] * r["decode_s"] / measured["decode_s"]
    return r


def best_floors(a, b):
    """Two measurements of the floors, the better of each kept: a floor is the most this host
    delivered, and one measured at a slow moment would put kevo "below" it."""
    return {k: max(v, b[k]) if isinstance(v, float) else v for k, v in a.items()}


def kevo_row(build, models, dtype, threads, compute, new, fam):
    cmd = [os.path.join(build, "bench", "engine"), ensure_model(models, dtype, fam),
           "--threads", str(threads), "--new", str(new)] + fam.engine_args
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
                  2 if dtype == "F16" else 4, new, fam)


def torch_row(models, dtype_file, compute, threads, new, fam):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
    m = run(["/usr/bin/python3", os.path.join(HERE, "engine_torch.py"),
             ensure_model(models, dtype_file, fam), compute, "--threads", str(threads),
             "--new", str(new)] + fam.engine_args, env)
    return scaled({"load_s": m["load_s"], "vision_s": m["vision_s"],
                   "prefill_s": m["prefill_s"], "decode_s": 1 / m["decode_tok_s"],
                   "rss_gb": m["peak_rss_mb"] / 1024}, 2 if compute == "bf16" else 4, new, fam)


LLAVA = Family("", DEPTH, TARGET, IMAGE + TEXT, decode_bytes, prefill_flops, [], [])
QWEN = Family("qwen25vl-", QWEN_DEPTH, QWEN_TARGET, QIMAGE + TEXT, qwen_decode_bytes,
              qwen_prefill_flops, ["--family", "qwen25vl"],
              ["--image", f"{QIMAGE_WH[0]}x{QIMAGE_WH[1]}"])
QGEMM_PREFILL = (QIMAGE + TEXT, QF, QD)   # the decoder's widest product on the prompt
QGEMM_VISION = (QPATCHES, QFV, QDV)       # the tower's SwiGLU on every patch


def qwen_main(args):
    fam = QWEN
    if args.npm:
        fam.maker_args = fam.maker_args + ["--npm", args.npm]
    shapes = []
    for shape in (QGEMM_PREFILL, QGEMM_VISION):
        shapes += ["--gemm", ",".join(map(str, shape))]
    floor_cmd = [os.path.join(args.build, "bench", "engine"), "--floors",
                 "--threads", str(args.threads)] + shapes
    floors = run(floor_cmd)

    def gemm(shape):
        key = "_".join(map(str, shape))
        return floors[f"gemm_{key}_gflops"], floors[f"openblas_{key}_gflops"]

    row = lambda d, c: kevo_row(args.build, args.models, d, args.threads, c, args.new, fam)
    rows = {"kevo F16 weights": row("F16", "f32"), "kevo --compute bf16": row("F16", "bf16"),
            "kevo F32": row("F32", "f32")}
    if not args.no_torch:   # both from the F16 file: the weights' values do not matter here
        rows["PyTorch bf16"] = torch_row(args.models, "F16", "bf16", args.threads, args.new, fam)
        rows["PyTorch f32"] = torch_row(args.models, "F16", "f32", args.threads, args.new, fam)
    # The floors again after the rows, the better of the two kept: a floor is the most this host
    # delivered, and one measurement at a slow moment (a first run measured 142 GFLOP/s and
    # 30 GB/s; 330 GFLOP/s and 64 GB/s right after that run) would put kevo "below" it.
    again = run(floor_cmd)
    floors = best_floors(floors, again)
    (pk, pb), (vk, vb) = gemm(QGEMM_PREFILL), gemm(QGEMM_VISION)
    n = fam.positions
    print(f"\nQwen2.5-VL-7B dimensions, {QWEN_TARGET} decoder layers (measured with {QWEN_DEPTH},"
          f" scaled by bytes and FLOPs), the whole {QBLOCKS}-block vision tower measured; "
          f"{QIMAGE_WH[0]}x{QIMAGE_WH[1]} image -> {QPATCHES} patches -> {QIMAGE} positions, "
          f"{n}-position prompt, {args.new} new tokens, {args.threads} threads")
    print(f"machine (best of before and after the rows): DRAM read "
          f"{floors['bandwidth_gbs']:.1f} GB/s; F32 GEMM on the prefill shape "
          f"{'x'.join(map(str, QGEMM_PREFILL))}: kevo {pk:.0f}, OpenBLAS "
          f"({floors['openblas_core']}) {pb:.0f} GFLOP/s; on the tower's "
          f"{'x'.join(map(str, QGEMM_VISION))}: kevo {vk:.0f}, OpenBLAS {vb:.0f} GFLOP/s")
    print(f"{'':22}{'load s':>8}{'vision s':>10}{'prefill s':>11}{'tok/s':>8}"
          f"{'decode s/tok':>14}{'peak GB':>9}")
    for name, r in rows.items():
        print(f"{name:22}{r['load_s']:8.2f}{r['vision_s']:10.2f}{r['prefill_s']:11.2f}"
              f"{n / r['prefill_s']:8.1f}{r['decode_s']:14.3f}{r['rss_gb']:9.2f}")
    k16, kb, k32 = rows["kevo F16 weights"], rows["kevo --compute bf16"], rows["kevo F32"]
    print(f"(peak GB: the {QWEN_DEPTH}-layer bench process)")
    print(f"\nrecorder: {1e6 * k16['record_per_token_s']:.1f} us per token, "
          f"{100 * k16['record_share']:.3f}% of prefill + decoding; decoding with vs without it: "
          f"{k16['decode_s'] / k16['decode_norec_s']:.3f}x (F16), "
          f"{k32['decode_s'] / k32['decode_norec_s']:.3f}x (F32)")
    print(f"image recorder (every image position at every index): copies "
          f"{100 * k16['image_record_share']:.2f}% of prefill; prefill with vs without it "
          f"{k16['image_prefill_ratio']:.3f}x (F16), {k32['image_prefill_ratio']:.3f}x (F32)")
    bw = floors["bandwidth_gbs"] * 1e9
    floor16 = fam.decode_bytes(QWEN_TARGET, 2, args.new) / bw
    floor32 = fam.decode_bytes(QWEN_TARGET, 4, args.new) / bw
    prefill_floor = fam.prefill_flops(QWEN_TARGET) / (max(pk, pb) * 1e9)
    vision_floor = qwen_vision_flops() / (max(vk, vb) * 1e9)
    print(f"decode floors: F16 {floor16:.3f} s/token -> kevo at {k16['decode_s'] / floor16:.2f}x;"
          f" F32 {floor32:.3f} s/token -> kevo at {k32['decode_s'] / floor32:.2f}x "
          f"(kevo reads {fam.decode_bytes(QWEN_TARGET, 2, args.new) / k16['decode_s'] / 1e9:.1f}"
          f" GB/s)")
    print(f"prefill F32 floor ({fam.prefill_flops(QWEN_TARGET) / 1e12:.2f} TFLOP at "
          f"{max(pk, pb):.0f} GFLOP/s): {prefill_floor:.1f} s -> kevo F32 at "
          f"{k32['prefill_s'] / prefill_floor:.2f}x, F16 weights at "
          f"{k16['prefill_s'] / prefill_floor:.2f}x")
    print(f"vision F32 floor ({qwen_vision_flops() / 1e12:.2f} TFLOP at {max(vk, vb):.0f} "
          f"GFLOP/s): {vision_floor:.1f} s -> kevo F32 at {k32['vision_s'] / vision_floor:.2f}x, "
          f"F16 weights at {k16['vision_s'] / vision_floor:.2f}x")
    params = sum(math.prod(shape) for _, shape in mbm.qwen_tensors(QWEN_TARGET, QBLOCKS))
    weights = params * 2 / 2**30
    print(f"peak memory of a real 7B F16 run with the recorder ({n} positions, 256 new tokens): "
          f"{params:,} parameters = {weights:.2f} GiB weights + {k16['plan32_gb']:.2f} GiB arena "
          f"= {weights + k16['plan32_gb']:.2f} GiB, of 24")
    if not args.no_torch:
        print_ratios(rows, k16, k32, kb, "vision")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "bench-models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new", type=int, default=32)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--family", choices=["llava", "qwen25vl"], default="llava")
    ap.add_argument("--npm", help="Qwen: npm prefix of the tokenizer package "
                    "(make_bench_model.py's default when absent)")
    args = ap.parse_args()
    if args.family == "qwen25vl":
        qwen_main(args)
        return
    floors = run([os.path.join(args.build, "bench", "engine"), "--floors",
                  "--threads", str(args.threads)])
    rows = {
        "kevo F16 weights": kevo_row(args.build, args.models, "F16", args.threads, "f32", args.new,
                                     LLAVA),
        "kevo --compute bf16": kevo_row(args.build, args.models, "F16", args.threads, "bf16",
                                        args.new, LLAVA),
        "kevo F32": kevo_row(args.build, args.models, "F32", args.threads, "f32", args.new, LLAVA),
    }
    if not args.no_torch:
        rows["PyTorch bf16"] = torch_row(args.models, "F16", "bf16", args.threads, args.new, LLAVA)
        rows["PyTorch f32"] = torch_row(args.models, "F32", "f32", args.threads, args.new, LLAVA)

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
        print_ratios(rows, k16, k32, kb, "CLIP")


if __name__ == "__main__":
    main()
