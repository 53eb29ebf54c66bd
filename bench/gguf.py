#!/usr/bin/python3
"""kevo on llama.cpp's GGUF files of a LLaVA-1.5-7B-shaped model: F16, Q8_0, Q4_0 and Q4_K_M.

Model: tools/fixtures/make_bench_model.py's random-weight LLaVA (the full CLIP-L/336 tower, a
LLaMA of width 4096 / FFN 11008 / vocabulary 32064) with DEPTH decoder layers, converted by
tools/fixtures/make_gguf.py's rules (llama.cpp's converter and llama-quantize's type choice: the
Q4_K_M mix puts Q6_K in output.weight and in attn_v / ffn_down of every other layer) into a text
GGUF per type beside one F16 mmproj. The files are written tensor by tensor (the F16 one is
gigabytes); the quantisers are make_gguf.py's own round-to-nearest ones.

Timing: build/bench/engine on each pair (the same engine pass bench/engine.py times: a
600-position prompt, 32 new tokens, the best of --repeat passes after a warm-up, the answer's
recorder on). Decoding is scaled to 32 layers by the bytes a token reads, prefill by its FLOPs,
as bench/engine.py does.

Also printed: decoding's product alone (build/bench/engine --floors --gemv) on a 4096 x 4096
matrix of each type, per kernel path.

Floors: decode = bytes one token reads (every text weight but the token embedding, which is read
one row at a time, plus the F32 key/value cache at the middle of the answer) / the DRAM read
bandwidth build/bench/engine --floors measures, before and after the rows (the better kept:
the host's bandwidth drifts). The ratio to the floor is taken at the measured depth, where it
needs no scaling.

usage: /usr/bin/python3 bench/gguf.py BUILD_DIR [--models DIR] [--threads 2] [--new 32]
           [--isa best|avx512|avx2|ref ...] [--types f16,q8_0,q4_0,q4_k_m] [--repeat 3]
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))
import engine as eb  # noqa: E402  (run(), prefill_flops(), the model's dimensions)
import gguf_np as G  # noqa: E402
import gguf_quants as Q  # noqa: E402
import make_gguf as mg  # noqa: E402

DEPTH = 4          # decoder layers measured: Q4_K_M's Q6_K layers are half of them, as at 32
TYPES = ["f16", "q8_0", "q4_0", "q4_k_m"]
ROWS_PER_CHUNK = 2048   # rows quantised at a time: the quantisers' temporaries stay small


class LazyWeights(dict):
    """{hub name: float32 array} of a safetensors file, each tensor read when first asked for
    (make_gguf.text_tensors / mmproj_file take only their half of the model)."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            self.header = json.loads(f.read(n))
        self.header.pop("__metadata__", None)
        self.base = 8 + n

    def __missing__(self, name):
        h = self.header[name]
        assert h["dtype"] in ("F16", "F32"), h["dtype"]
        b, e = h["data_offsets"]
        a = np.fromfile(self.path, "<f2" if h["dtype"] == "F16" else "<f4",
                        (e - b) // (2 if h["dtype"] == "F16" else 4), offset=self.base + b)
        return a.astype(np.float32).reshape(h["shape"])


def quantize(a, t):
    """Q.quantize row chunk by row chunk (every type's blocks lie within a row)."""
    rows = a.reshape(-1, a.shape[-1])
    return b"".join(Q.quantize(rows[i:i + ROWS_PER_CHUNK], t)
                    for i in range(0, rows.shape[0], ROWS_PER_CHUNK))


def write_streaming(path, kv, typed):
    """gguf_np's layout (the header, then every tensor at an aligned offset) written one tensor
    at a time; returns [(name, type, bytes)]."""
    align = G.DEFAULT_ALIGNMENT
    infos, offset, sizes = [], 0, []
    for name, _, a, _, t in typed:
        ne = list(reversed(a.shape))
        size = Q.row_bytes(t, a.size)
        infos.append(G.gguf_string(name) + struct.pack("<I", len(ne)) +
                     b"".join(struct.pack("<Q", int(d)) for d in ne) +
                     struct.pack("<IQ", Q.TYPES[t][0], offset))
        sizes.append((name, t, size, offset))
        offset = G.align(offset + size, align)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(typed), len(kv))
    meta = head + b"".join(G.gguf_string(k) + struct.pack("<I", t) + G.value_bytes(t, v)
                           for k, t, v in kv) + b"".join(infos)
    data_offset = G.align(len(meta), align)
    with open(path + ".tmp", "wb") as f:
        f.write(meta + bytes(data_offset - len(meta)))
        for (name, _, a, _, t), (_, _, size, off) in zip(typed, sizes):
            f.seek(data_offset + off)
            data = quantize(a, t)
            assert len(data) == size, name
            f.write(data)
        f.truncate(data_offset + offset)
    os.replace(path + ".tmp", path)
    return [(name, t, size) for name, t, size, _ in sizes]


def ensure_models(models, types):
    """The F16 safetensors bench model, its mmproj and one text GGUF per type; returns
    {type: (folder, [(tensor, ggml type, bytes)])}."""
    src = eb.ensure_model(models, "F16", eb.Family("", DEPTH, 32, 0, None, None, [], []))
    mg.load_weights = lambda fixture: LazyWeights(os.path.join(fixture, "model.safetensors"))
    mmproj = os.path.join(models, f"gguf-l{DEPTH}-mmproj", "mmproj.gguf")
    if not os.path.exists(mmproj):
        print(f"writing {mmproj} ...", file=sys.stderr)
        os.makedirs(os.path.dirname(mmproj), exist_ok=True)
        write_streaming(mmproj, *mg.mmproj_file(src, "f16"))
    out = {}
    for t in types:
        folder = os.path.join(models, f"gguf-l{DEPTH}-{t}")
        listing = os.path.join(folder, "tensors.json")
        if not os.path.exists(listing):
            print(f"writing {folder} ...", file=sys.stderr)
            os.makedirs(folder, exist_ok=True)
            sizes = write_streaming(os.path.join(folder, "model.gguf"), *mg.text_file(src, t))
            link = os.path.join(folder, "mmproj.gguf")
            if not os.path.lexists(link):
                os.symlink(os.path.relpath(mmproj, folder), link)
            with open(listing, "w") as f:   # last: a folder with it is finished
                json.dump(sizes, f)
        with open(listing) as f:
            out[t] = (folder, json.load(f))
    return out


def decode_bytes(sizes, layers, new):
    """Bytes one token reads with `layers` decoder layers, from the file's own tensor sizes
    (the mean layer's when scaling past the file's depth): every text weight but the token
    embedding, and the F32 key/value cache at the middle of the answer."""
    layer = sum(s for n, _, s in sizes if n.startswith("blk.")) / DEPTH
    rest = sum(s for n, _, s in sizes if not n.startswith("blk.") and n != "token_embd.weight")
    ctx = eb.IMAGE + eb.TEXT + new // 2
    return layers * (layer + 2 * ctx * eb.D * 4) + rest


def isa_env(isa):
    env = dict(os.environ)
    if isa != "best":   # else the kernels' own choice for this CPU
        env["KEVO_ISA"] = isa
    return env


def kevo(build, folder, threads, new, isa, repeat):
    return eb.run([os.path.join(build, "bench", "engine"), folder, "--threads", str(threads),
                   "--new", str(new), "--answer-only", "--repeat", str(repeat)], isa_env(isa))


def floors(build, threads, isa):
    """The read bandwidth and decoding's product on a 4096 x 4096 matrix of every type."""
    return eb.run([os.path.join(build, "bench", "engine"), "--floors", "--gemv", "--threads",
                   str(threads)], isa_env(isa))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "bench-models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new", type=int, default=32)
    ap.add_argument("--isa", nargs="+", default=["best"],
                    help="kernel paths (KEVO_ISA) to time; best: the CPU's own")
    ap.add_argument("--types", default=",".join(TYPES))
    ap.add_argument("--repeat", type=int, default=3, help="timed passes after the warm-up")
    args = ap.parse_args()
    types = args.types.split(",")
    models = ensure_models(args.models, types)
    fl = {isa: floors(args.build, args.threads, isa) for isa in args.isa}
    rows = {(isa, t): kevo(args.build, models[t][0], args.threads, args.new, isa, args.repeat)
            for isa in args.isa for t in types}
    fl = {isa: eb.best_floors(f, floors(args.build, args.threads, isa)) for isa, f in fl.items()}
    bw = max(f["bandwidth_gbs"] for f in fl.values()) * 1e9
    scale_flops = eb.prefill_flops(eb.TARGET) / eb.prefill_flops(DEPTH)
    n = eb.IMAGE + eb.TEXT
    print(f"\nLLaVA-1.5-7B dimensions as GGUF, {eb.TARGET} decoder layers (measured with {DEPTH},"
          f" decode scaled by bytes, prefill by FLOPs), {n}-position prompt, {args.new} new "
          f"tokens, {args.threads} threads; DRAM read {bw / 1e9:.1f} GB/s (best of before and "
          f"after the rows)")
    print(f"{'':16}{'GB/token':>9}{'decode tok/s':>13}{'floor tok/s':>12}{'x floor':>8}"
          f"{'x F16':>7}{'prefill tok/s':>14}{'x F16':>7}")
    for isa in args.isa:
        figures = {}
        for t in types:
            m, sizes = rows[(isa, t)], models[t][1]
            measured = decode_bytes(sizes, DEPTH, args.new)
            full = decode_bytes(sizes, eb.TARGET, args.new)
            figures[t] = {"gb": full / 1e9,
                          "tok_s": m["steady_decode_tok_s"] * measured / full,
                          "floor_tok_s": bw / full,
                          # at the measured depth, where the floor needs no scaling
                          "x_floor": (bw / measured) / m["steady_decode_tok_s"],
                          "prefill_tok_s": n / (m["steady_prefill_s"] * scale_flops)}
        base = figures.get("f16")
        for t, r in figures.items():
            dec16 = f"{r['tok_s'] / base['tok_s']:7.2f}" if base else " " * 7
            pre16 = f"{r['prefill_tok_s'] / base['prefill_tok_s']:7.2f}" if base else " " * 7
            print(f"{isa + ' ' + t.upper():16}{r['gb']:9.2f}{r['tok_s']:13.2f}"
                  f"{r['floor_tok_s']:12.2f}{r['x_floor']:8.2f}{dec16}{r['prefill_tok_s']:14.1f}"
                  f"{pre16}")
    print("\ndecoding's product on a 4096 x 4096 matrix, G weights/s (best of before and after):")
    for isa, f in fl.items():
        print(f"  {isa:8}" + "  ".join(f"{t} {f[f'gemv_{t}_gws']:.1f}"
                                      for t in ("F16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K")))
    print("(x floor: decode time / the floor's, at the measured depth; x F16: token rates "
          "against the same ISA's F16 file, higher is faster)")


if __name__ == "__main__":
    main()
