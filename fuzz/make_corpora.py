#!/usr/bin/env python3
"""Seed corpora for the fuzz/ harnesses, made from the repository's own files (docs/fuzzing.md).

    fuzz/make_corpora.py OUT_DIR [DATA_DIR]

Writes OUT_DIR/<target>/<seed> for every harness: the fixture model folders, tokenizers, images,
examples and (when DATA_DIR = build/data exists) the oracle run folders and .npy files, plus
small synthetic files that reach branches the real ones do not (every dtype, PNG colour type,
npy version). Large tensors are shrunk: a seed keeps a file's header (names, dtypes, metadata)
with every dimension cut to at most 2, so the fuzzer mutates headers instead of megabytes of
weights. Multi-file seeds use the container of fuzz/fuzz_common.h. Standard library only (Pillow
is used for extra JPEG seeds when it is installed). Generated, never committed.
"""
import glob
import hashlib
import json
import os
import shutil
import struct
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
              "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8}


def rel(*parts):
    return os.path.join(ROOT, *parts)


class Corpus:
    def __init__(self, out):
        self.out = out

    def add(self, target, data, hint=""):
        if isinstance(data, str):
            data = data.encode()
        d = os.path.join(self.out, target)
        os.makedirs(d, exist_ok=True)
        name = (hint + "-" if hint else "") + hashlib.sha1(data).hexdigest()[:12]
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def pack(files):
    """The harnesses' multi-file container: '@@file NAME\\n' + bytes, joined by '\\n'."""
    return b"\n".join(b"@@file " + n.encode() + b"\n" + d for n, d in files)


# ---- safetensors

def st_header(data):
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n])


def st_write(tensors, metadata=None, align=8):
    """tensors: [(name, dtype, shape, bytes)] -> a safetensors file."""
    head, blobs, off = {}, [], 0
    if metadata is not None:
        head["__metadata__"] = metadata
    for name, dtype, shape, blob in tensors:
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(head, separators=(",", ":")).encode()
    h += b" " * (-len(h) % align)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def fill(dtype, n):
    size = DTYPE_SIZE.get(dtype, 1)
    if dtype == "F32":
        return b"".join(struct.pack("<f", 0.25 * (i % 7) - 0.5) for i in range(n))
    if dtype in ("F16", "BF16"):
        return bytes([0x00, 0x3c] if dtype == "F16" else [0x80, 0x3f]) * n
    if dtype == "BOOL":
        return bytes(i % 2 for i in range(n))
    return bytes((i * 37 + 11) % 251 for i in range(n * size))


def st_shrink(data, keep=None):
    """The file's tensors (optionally only the names in keep) with every dim cut to <= 2."""
    head = st_header(data)
    out = []
    for name, info in head.items():
        if name == "__metadata__" or (keep is not None and name not in keep):
            continue
        shape = [min(d, 2) for d in info["shape"]]
        n = 1
        for d in shape:
            n *= d
        out.append((name, info["dtype"], shape, fill(info["dtype"], n)))
    return out, head.get("__metadata__")


def safetensors_seeds(c, data_dir):
    files = glob.glob(rel("tests/fixtures/*/*.safetensors")) + \
        glob.glob(rel("models/demo/*.safetensors")) + \
        glob.glob(rel("tests/data/oracle-engine/*/*.safetensors"))
    for p in sorted(files):
        tensors, meta = st_shrink(read(p))
        c.add("fuzz_safetensors", st_write(tensors, meta), os.path.basename(p))
        c.add("fuzz_safetensors", st_write(tensors[:3], meta), "first3")
    if data_dir:
        for p in sorted(glob.glob(os.path.join(data_dir, "oracle/engine/*/*.run/*.safetensors"))):
            if os.path.getsize(p) <= 65536:
                c.add("fuzz_safetensors", read(p), "run-hidden")
    for dt in DTYPE_SIZE:
        c.add("fuzz_safetensors", st_write([("t", dt, [2, 3], fill(dt, 6))]), dt)
    c.add("fuzz_safetensors", st_write([]), "empty")
    c.add("fuzz_safetensors", st_write([], {"format": "pt"}), "meta-only")
    c.add("fuzz_safetensors", st_write([("z", "F32", [0, 4], b""), ("s", "F32", [], fill("F32", 1))],
                                       {"format": "pt", "k": "v"}), "zero-and-scalar")


def checkpoint_seeds(c):
    for d in sorted(glob.glob(rel("tests/fixtures/*/"))) + [rel("models/demo/")]:
        index = os.path.join(d, "model.safetensors.index.json")
        if os.path.exists(index):
            idx = json.loads(read(index))
            files = [("model.safetensors.index.json", read(index))]
            for shard in sorted(set(idx["weight_map"].values())):
                names = {k for k, v in idx["weight_map"].items() if v == shard}
                tensors, meta = st_shrink(read(os.path.join(d, shard)), names)
                files.append((shard, st_write(tensors, meta)))
            c.add("fuzz_checkpoint", pack(files), "sharded")
            c.add("fuzz_checkpoint", pack(files[:2]), "missing-shard")
        single = os.path.join(d, "model.safetensors")
        if os.path.exists(single):
            tensors, meta = st_shrink(read(single))
            c.add("fuzz_checkpoint", pack([("model.safetensors", st_write(tensors, meta))]), "single")
    small = [("model.safetensors.index.json", json.dumps(
        {"metadata": {"total_size": 16}, "weight_map": {"a": "s1.safetensors",
                                                       "b": "s2.safetensors"}}).encode()),
             ("s1.safetensors", st_write([("a", "F32", [2], fill("F32", 2))])),
             ("s2.safetensors", st_write([("b", "F16", [2, 2], fill("F16", 4))]))]
    c.add("fuzz_checkpoint", pack(small), "small")


def micro_model(base_config, dtype="F32", shards=False, bias=False):
    """tiny-f32's config with every size cut to the least that loads (text width 4, one layer,
    vision width 4 on a 2x2 patch grid, two layers), and a checkpoint with the tensors it
    implies: [("config.json", ...), ("model.safetensors", ...)] (or an index and two shards)."""
    cfg = json.loads(base_config)
    tc, vc = cfg["text_config"], cfg["vision_config"]
    tc.update(hidden_size=4, intermediate_size=4, num_attention_heads=1, num_hidden_layers=1)
    vc.update(hidden_size=4, intermediate_size=4, num_attention_heads=1, num_hidden_layers=2,
              image_size=28, patch_size=14)
    V, D, F, E, G = cfg["vocab_size"], 4, 4, 4, 4
    P = (28 // 14) ** 2 + 1
    shapes = {"vision_tower.vision_model.embeddings.class_embedding": [E],
              "vision_tower.vision_model.embeddings.patch_embedding.weight": [E, 3, 14, 14],
              "vision_tower.vision_model.embeddings.position_embedding.weight": [P, E],
              "vision_tower.vision_model.pre_layrnorm.weight": [E],
              "vision_tower.vision_model.pre_layrnorm.bias": [E],
              "vision_tower.vision_model.post_layernorm.weight": [E],
              "vision_tower.vision_model.post_layernorm.bias": [E],
              "multi_modal_projector.linear_1.weight": [D, E],
              "multi_modal_projector.linear_1.bias": [D],
              "multi_modal_projector.linear_2.weight": [D, D],
              "multi_modal_projector.linear_2.bias": [D],
              "language_model.model.embed_tokens.weight": [V, D],
              "language_model.model.norm.weight": [D],
              "language_model.lm_head.weight": [V, D]}
    for i in range(2):
        v = "vision_tower.vision_model.encoder.layers.%d." % i
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes[v + "self_attn." + n + ".weight"] = [E, E]
            shapes[v + "self_attn." + n + ".bias"] = [E]
        for n in ("layer_norm1", "layer_norm2"):
            shapes[v + n + ".weight"] = [E]
            shapes[v + n + ".bias"] = [E]
        shapes[v + "mlp.fc1.weight"], shapes[v + "mlp.fc1.bias"] = [G, E], [G]
        shapes[v + "mlp.fc2.weight"], shapes[v + "mlp.fc2.bias"] = [E, G], [E]
    t = "language_model.model.layers.0."
    for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
        shapes[t + "self_attn." + n + ".weight"] = [D, D]
        if bias and n != "o_proj":
            shapes[t + "self_attn." + n + ".bias"] = [D]
    if bias:
        tc["attention_bias"] = True
    shapes[t + "mlp.gate_proj.weight"] = shapes[t + "mlp.up_proj.weight"] = [F, D]
    shapes[t + "mlp.down_proj.weight"] = [D, F]
    shapes[t + "input_layernorm.weight"] = shapes[t + "post_attention_layernorm.weight"] = [D]
    tensors = []
    for name in sorted(shapes):
        n = 1
        for d in shapes[name]:
            n *= d
        tensors.append((name, dtype, shapes[name], fill(dtype, n)))
    files = [("config.json", json.dumps(cfg, indent=2).encode())]
    if not shards:
        return files + [("model.safetensors", st_write(tensors, {"format": "pt"}))]
    half = len(tensors) // 2
    parts = [("model-00001-of-00002.safetensors", tensors[:half]),
             ("model-00002-of-00002.safetensors", tensors[half:])]
    index = {"metadata": {"total_size": sum(len(x[3]) for x in tensors)},
             "weight_map": {x[0]: f for f, ts in parts for x in ts}}
    files.append(("model.safetensors.index.json", json.dumps(index, indent=2).encode()))
    return files + [(f, st_write(ts, {"format": "pt"})) for f, ts in parts]


def model_seeds(c):
    d = rel("tests/fixtures/tiny-f32")
    base = read(os.path.join(d, "config.json"))
    extra = present(d, ["preprocessor_config.json", "generation_config.json"])
    for dtype in ("F32", "F16", "BF16"):
        c.add("fuzz_model", pack(micro_model(base, dtype) + extra), "micro-" + dtype)
    c.add("fuzz_model", pack(micro_model(base, shards=True) + extra), "micro-sharded")
    c.add("fuzz_model", pack(micro_model(base, bias=True)), "micro-bias")


# ---- JSON configs, tokenizers

CONFIG_FILES = ["config.json", "generation_config.json", "preprocessor_config.json"]
TOK_SIDE = ["tokenizer_config.json", "added_tokens.json", "special_tokens_map.json"]


def model_dirs(data_dir):
    dirs = sorted(glob.glob(rel("tests/fixtures/*/"))) + [rel("models/demo/")]
    if data_dir:   # fixtures/*/config.json: fixtures/gguf/ holds the GGUF conversions
        dirs += sorted(os.path.dirname(p) + "/" for p in
                       glob.glob(os.path.join(data_dir, "fixtures/*/config.json")))
    return dirs


def present(d, names):
    return [(n, read(os.path.join(d, n))) for n in names if os.path.exists(os.path.join(d, n))]


def config_seeds(c, data_dir):
    for d in model_dirs(data_dir):
        files = present(d, CONFIG_FILES)
        c.add("fuzz_config", pack(files), "all")
        for f in files:
            c.add("fuzz_config", pack([f]), f[0])
        # A flat (non-LLaVA) text config, and the text section alone.
        cfg = json.loads(read(os.path.join(d, "config.json")))
        if "text_config" in cfg:
            c.add("fuzz_config", pack([("config.json", json.dumps(cfg["text_config"]).encode())]),
                  "text-only")


def tokenizer_seeds(c, data_dir):
    models = sorted(glob.glob(rel("tests/data/*/tokenizer.model")))
    for d in model_dirs(data_dir):
        if os.path.exists(os.path.join(d, "tokenizer.model")):
            models.append(os.path.join(d, "tokenizer.model"))
        if os.path.exists(os.path.join(d, "tokenizer.json")):
            tj = present(d, ["tokenizer.json"])
            side = present(d, TOK_SIDE)
            c.add("fuzz_tokenizer_json", pack(tj + side), "with-side-files")
            c.add("fuzz_tokenizer_json", pack(tj), "alone")
            for f in side:
                c.add("fuzz_tokenizer_json", pack(tj + [f]), f[0])
            # The side files read through a tokenizer.model instead (no tokenizer.json).
            c.add("fuzz_tokenizer_json", pack(present(d, ["tokenizer.model"]) + side), "spm-side")
    for p in models:
        data = read(p)
        if len(data) <= 65536:
            c.add("fuzz_spm", data, "model")
    c.add("fuzz_spm", b"", "empty")
    texts = ["Please describe this image in detail.", "USER: <image>\nWhat is this? ASSISTANT:",
             "<s>[INST] caf\u00e9 \u2581x \U0001F600 [/INST]</s>", "bad \udcff utf8", "\t\n  \n",
             "<unk><pad><image> <0x0A>"]
    for p in sorted(glob.glob(rel("examples/*/questions.jsonl"))):
        for line in read(p).decode().splitlines()[:8]:
            texts.append(line)
    for t in texts:
        c.add("fuzz_encode", t.encode("utf-8", "surrogateescape"), "text")
    c.add("fuzz_encode", b"\xff\xfe\xc3(\xed\xa0\x80\xf4\x90\x80\x80", "bad-utf8")
    # the byte-level encoder: the same texts, and what Qwen's regex and NFC treat specially
    for t in texts + ["I'M you'LL 12345  \n\n  x", "e\u0301 \u212b \uac00 \u1100\u1161 \u00a0\u3000",
                      "<|x|>ab<|x|> abc", "\U0001F468\u200d\U0001F469 \u4f60\u597d"]:
        c.add("fuzz_tokenizer_bytelevel", t.encode("utf-8", "surrogateescape"), "text")
    c.add("fuzz_tokenizer_bytelevel", b"\xff\xfe\xc3(\xed\xa0\x80\xf4\x90\x80\x80", "bad-utf8")
    for layers, spec in ((32, ""), (32, "all"), (32, "every=4"), (32, "0,8,16:L"), (4, "L:0"),
                         (12, "3:3,L,0"), (255, "every=255"), (1, "0,1,2")):
        c.add("fuzz_states", bytes([layers - 1]) + spec.encode(), "spec")
    # manifests (kevo batch --manifest): the first byte picks .jsonl / .csv / by content and -p
    jl = b'{"id": "f01", "image": "flower01.png", "references": ["red", "dark red"]}\n' \
         b'\n{"id": "b", "image": "/abs/b.png", "question": "Why?"}\r\n'
    csv = b'id,image,question,references\na,a.png,,red|dark red\n"b,1",b.png,"Say ""hi""\nok",\n'
    for flags, text in ((4, jl), (0, jl), (5, csv), (1, csv), (6, jl), (7, csv),
                        (4, b'{"id": "a", "image": "a.png"}\n{"id": "a", "image": "b"}\n'),
                        (5, b'id,image\n../x,a.png\n')):
        c.add("fuzz_manifest", bytes([flags]) + text, "manifest")


# ---- images

def png(width, height, color_type, bit_depth, rows, extra=(), interlace=0):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    raw = b"".join(b"\x00" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(chunk(k, v) for k, v in extra) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def png_seeds(c):
    paths = glob.glob(rel("tests/data/images/*.png")) + glob.glob(rel("examples/*/*.png")) + \
        glob.glob(rel("tests/data/oracle-engine/*/*.png"))
    for p in sorted(paths, key=os.path.getsize)[:8]:
        c.add("fuzz_png", read(p), "file")
    w, h = 3, 2
    c.add("fuzz_png", png(w, h, 0, 8, [bytes(range(r, r + w)) for r in range(h)]), "grey8")
    c.add("fuzz_png", png(w, h, 0, 16, [bytes(range(2 * w)) for _ in range(h)]), "grey16")
    c.add("fuzz_png", png(w, h, 0, 1, [b"\xa0" for _ in range(h)]), "grey1")
    c.add("fuzz_png", png(w, h, 2, 8, [bytes(range(3 * w)) for _ in range(h)]), "rgb8")
    c.add("fuzz_png", png(w, h, 2, 16, [bytes(range(6 * w)) for _ in range(h)]), "rgb16")
    c.add("fuzz_png", png(w, h, 4, 8, [bytes(range(2 * w)) for _ in range(h)]), "greya")
    c.add("fuzz_png", png(w, h, 6, 8, [bytes(range(4 * w)) for _ in range(h)]), "rgba")
    c.add("fuzz_png", png(w, h, 6, 8, [bytes(range(4 * w)) for _ in range(h)], interlace=1), "adam7")
    plte = [(b"PLTE", bytes([255, 0, 0, 0, 255, 0])), (b"tRNS", b"\x80")]
    c.add("fuzz_png", png(w, h, 3, 8, [bytes([0, 1, 5]) for _ in range(h)], plte), "palette")
    c.add("fuzz_png", png(w, h, 3, 2, [b"\x1b" for _ in range(h)], plte[:1]), "palette2")
    c.add("fuzz_png", png(w, h, 2, 8, [bytes(3 * w) for _ in range(h)],
                          [(b"tRNS", b"\x00\x00\x00\x00\x00\x00")]), "rgb-trns")


def jpeg_seeds(c):
    for p in sorted(glob.glob(rel("tests/data/images/*.jpg"))):
        c.add("fuzz_jpeg", read(p), "file")
    try:
        from PIL import Image
    except ImportError:
        return
    import io
    img = Image.new("RGB", (9, 7))
    img.putdata([(x * 28, y * 36, (x * y) % 256) for y in range(7) for x in range(9)])
    for mode, kw in (("RGB", {"subsampling": 0}), ("RGB", {"subsampling": 2}),
                     ("RGB", {"progressive": True}), ("L", {}), ("CMYK", {})):
        b = io.BytesIO()
        img.convert(mode).save(b, "JPEG", quality=75, **kw)
        c.add("fuzz_jpeg", b.getvalue(), "pil-" + mode.lower())


# ---- npy

def npy(descr, shape, data, fortran=False, major=1):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False",
        "(" + "".join("%d, " % s for s in shape).rstrip(" ") + ")" if len(shape) != 1
        else "(%d,)" % shape[0])
    pre = 10 if major == 1 else 12
    hlen = (pre + len(d) + 1 + 63) // 64 * 64 - pre
    head = d.encode() + b" " * (hlen - len(d) - 1) + b"\n"
    size = struct.pack("<H", hlen) if major == 1 else struct.pack("<I", hlen)
    return b"\x93NUMPY" + bytes([major, 0]) + size + head + data


def npy_seeds(c, data_dir):
    c.add("fuzz_npy", npy("<f4", [2, 3], fill("F32", 6)), "f4")
    c.add("fuzz_npy", npy("<f4", [2, 3], fill("F32", 6), fortran=True), "fortran")
    c.add("fuzz_npy", npy("<f8", [4], fill("F64", 4), major=2), "v2")
    c.add("fuzz_npy", npy("<i8", [2, 1, 2], fill("I64", 4), major=3), "v3")
    for descr, dt in (("<f2", "F16"), ("<i4", "I32"), ("|u1", "U8"), ("|b1", "BOOL"),
                      ("<u2", "U16"), ("|i1", "I8")):
        c.add("fuzz_npy", npy(descr, [3], fill(dt, 3)), descr.strip("<|"))
    c.add("fuzz_npy", npy("<f4", [], fill("F32", 1)), "scalar")
    c.add("fuzz_npy", npy("<f4", [0, 5], b""), "empty")
    if data_dir:
        for p in sorted(glob.glob(os.path.join(data_dir, "oracle/**/*.npy"), recursive=True)):
            if os.path.getsize(p) <= 16384:
                c.add("fuzz_npy", read(p), "oracle")


def gguf_seeds(c, data_dir):
    """tools/oracles/oracle_gguf.py's files (read alike by Hugging Face's parser), and the
    tiny-f32 fixture's model.gguf without its tensors: its tokenizer.ggml.* keys, for
    kevo_tokenizer_from_gguf."""
    if data_dir:
        for p in sorted(glob.glob(os.path.join(data_dir, "oracle/gguf/*.gguf"))):
            c.add("fuzz_gguf", read(p), os.path.basename(p)[:-5])
        model = os.path.join(data_dir, "fixtures/gguf/tiny-f32-f16/model.gguf")
        if os.path.exists(model):
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                            "tools", "pylib"))
            import gguf_np
            f = gguf_np.read(model)
            kvs = [(k, t, v) for k, (t, v) in f["kv"].items()]
            c.add("fuzz_gguf", gguf_np.serialise(f["version"], kvs, [])[0], "tokenizer")


# ---- run folders

def synthetic_run(steps=1, layers=1, hidden=2, vocab=8):
    run = {
        "format": "kevo-run", "kevo_version": "fuzz-seed",
        "model": {"path": "models/demo", "config_fnv1a64": "0123456789abcdef",
                  "text_layers": layers, "text_hidden": hidden, "vocab_rows": vocab,
                  "image_tokens": 4, "weights_dtype": "F32"},
        "image": {"path": "x.png", "width": 4, "height": 3, "mode": "pad"},
        "question": "What?", "template": "llava_v1", "prompt": "USER: <image>\nWhat? ASSISTANT:",
        "prompt_ids": [1, -200, 5], "image_position": 1, "n_positions": 7,
        "generated_ids": list(range(1, steps + 1)), "generated_pieces": ["\u2581a"] * steps,
        "text": "a", "stop": "eos",
        "hidden": {"file": "hidden.safetensors", "dtype": "F32",
                   "shape": [steps, layers + 1, hidden]},
    }
    n = steps * (layers + 1) * hidden
    st = st_write([("hidden", "F32", [steps, layers + 1, hidden], fill("F32", n))])
    return json.dumps(run, indent=2).encode(), st


def tiled_run():
    """synthetic_run's run.json with a LLaVA-NeXT image: a 2 x 2 base tile, then a 1 x 2 tile
    grid and its row's newline (run-folder.md's tiled "patches")."""
    rj, st = synthetic_run()
    run = json.loads(rj)
    run["model"]["image_tokens"] = 7
    run["image"]["mode"] = "anyres"
    run["spans"] = {"system": {"first": 0, "length": 1}, "image": {"first": 1, "length": 7},
                    "question": {"first": 8, "length": 1}, "answer": {"first": 9, "length": 1}}
    base = [[0, 0, 2, 1.5], [2, 0, 4, 1.5], [0, 1.5, 2, 3], [2, 1.5, 4, 3]]
    run["patches"] = {"tiles": 3, "kind": ["patch"] * 6 + ["newline"],
                      "tile": [0, 0, 0, 0, 1, 2, -1], "row": [0, 0, 1, 1, 0, 0, 0],
                      "col": [0, 1, 0, 1, 0, 1, 2],
                      "preprocessed": [[0, 0, 14, 14]] * 6 + [[0, 0, 0, 0]],
                      "original": base + [[0, 0, 2, 3], [2, 0, 4, 3], [0, 0, 0, 0]]}
    return json.dumps(run, indent=2).encode(), st


def run_seeds(c, data_dir):
    rj, st = synthetic_run()
    c.add("fuzz_runjson", rj, "synthetic")   # agrees with fuzz_runjson's fixed [1, 2, 2]
    c.add("fuzz_runfolder", pack([("run.json", rj), ("hidden.safetensors", st)]), "synthetic")
    rj, st = tiled_run()
    c.add("fuzz_runjson", rj, "tiled")
    c.add("fuzz_runfolder", pack([("run.json", rj), ("hidden.safetensors", st)]), "tiled")
    run = json.loads(synthetic_run()[0])   # a GGUF pair named apart: model.mmproj
    run["model"].update(path="text/llava-q4_k.gguf", mmproj="vision/mmproj-f16.gguf")
    c.add("fuzz_runjson", json.dumps(run, indent=2).encode(), "mmproj")
    rj, st = synthetic_run(steps=3, layers=2, hidden=3)
    c.add("fuzz_runfolder", pack([("run.json", rj), ("hidden.safetensors", st)]), "synthetic3")
    if data_dir:
        for d in sorted(glob.glob(os.path.join(data_dir, "oracle/engine/*/*.run/"))):
            files = present(d, ["run.json", "hidden.safetensors"])
            if sum(len(b) for _, b in files) <= 65536:
                c.add("fuzz_runfolder", pack(files), "oracle")
            c.add("fuzz_runjson", files[0][1], "oracle")


def stats_seeds(c, data_dir):
    """fuzz_stats: the planted run folders of tools/oracles/oracle_stats.py (their run.json,
    analysis/stages.json and item.json), and a byte-level answer's tokens."""
    dirs = sorted(glob.glob(os.path.join(data_dir, "oracle/stats/runs/*/item-0000[0-3]/"))) \
        if data_dir else []
    for d in dirs:
        files = [("run.json", read(os.path.join(d, "run.json"))),
                 ("stages.json", read(os.path.join(d, "analysis", "stages.json")))]
        if os.path.exists(os.path.join(d, "item.json")):
            files.append(("item.json", read(os.path.join(d, "item.json"))))
        c.add("fuzz_stats", pack(files), "planted")
    toks = [{"piece": p, "critical": 1, "mutation": 2, "peak_from_piece": p,
             "peak_to_piece": "\u0120red"} for p in ["\u0120The", "\u010a", "fl", ",", "<|x|>"]]
    stages = {"format": "kevo-stages", "layers": 2, "steps": len(toks),
              "options": {"lens": "raw", "divergence": "paper", "compute": "f32", "theta": 0.5,
                          "min_drop_decades": 1, "kappa": 10, "min_mutated": 0.1,
                          "stage_window": 2},
              "critical_layer": 1, "critical_source": "given", "mutation_layer": None,
              "divergence_profile_log10": [-1, -30], "tokens": toks}
    run = {"format": "kevo-run", "model": {"path": "m", "text_layers": 2, "vocab_rows": 9}}
    item = {"id": "x", "references": ["The cat's red boxes", ""]}
    c.add("fuzz_stats", pack([("run.json", json.dumps(run).encode()),
                              ("stages.json", json.dumps(stages).encode()),
                              ("item.json", json.dumps(item).encode())]), "bytelevel")


def json_words(value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            json_words(v, out)
    elif isinstance(value, list):
        for v in value[:64]:
            json_words(v, out)
    elif isinstance(value, str) and len(value) <= 32:
        out.add(value)


def write_dicts(out):
    """OUT/<target>.dict for the JSON-reading targets: every key and short string of the seeds'
    JSON (libFuzzer -dict), so that mutations speak the loaders' vocabulary."""
    for t in ("fuzz_checkpoint", "fuzz_config", "fuzz_model", "fuzz_tokenizer_json", "fuzz_runjson",
              "fuzz_runfolder", "fuzz_safetensors", "fuzz_stats"):
        words = {"@@file ", "null", "true", "false", "-1", "1e308", "2147483648", "[]", "{}"}
        d = os.path.join(out, t)
        for name in os.listdir(d):
            data = read(os.path.join(d, name))
            parts = data.split(b"\n@@file ") if data.startswith(b"@@file ") else [data]
            for part in parts:
                if data.startswith(b"@@file "):
                    part = part.split(b"\n", 1)[-1]
                for text in (part, part[8:8 + struct.unpack("<Q", part[:8])[0]]
                             if len(part) >= 8 else b""):   # JSON, or a safetensors header
                    try:
                        json_words(json.loads(text), words)
                        break
                    except (ValueError, UnicodeDecodeError):
                        pass
        with open(os.path.join(out, t + ".dict"), "w") as f:
            for w in sorted(words):
                if w and all(32 <= ord(ch) < 127 for ch in w):
                    f.write(json.dumps(w) + "\n")   # printable ASCII: only \" and \\ escaped


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[1]
    data_dir = sys.argv[2] if len(sys.argv) == 3 and os.path.isdir(sys.argv[2]) else None
    shutil.rmtree(out, ignore_errors=True)
    c = Corpus(out)
    safetensors_seeds(c, data_dir)
    checkpoint_seeds(c)
    model_seeds(c)
    config_seeds(c, data_dir)
    tokenizer_seeds(c, data_dir)
    png_seeds(c)
    jpeg_seeds(c)
    npy_seeds(c, data_dir)
    gguf_seeds(c, data_dir)
    run_seeds(c, data_dir)
    stats_seeds(c, data_dir)
    write_dicts(out)
    for t in sorted(x for x in os.listdir(out) if not x.endswith(".dict")):
        n = len(os.listdir(os.path.join(out, t)))
        print("fuzz seeds: %-20s %3d files" % (t, n))


if __name__ == "__main__":
    main()
