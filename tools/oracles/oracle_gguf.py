#!/usr/bin/env python3
"""GGUF reference files for kevo's reader (src/io/gguf.c), checked by an independent reader.

Writes DATA_DIR/oracle/gguf/*.gguf, laid out as ggml's docs/gguf.md specifies (version 3 with
the default alignment of 32, version 2 with general.alignment 64, a file of metadata only): a key
of every value type, arrays of numbers and of strings (empty and UTF-8 among them), tensors of
F32, F16, BF16, Q8_0 and Q4_K with 1 to 4 dimensions. truth.json holds what was written: per
file the version, alignment and data offset, every key with its type and the little-endian
bytes of its value, every tensor's name, dimensions, type, absolute offset and bytes.

The bytes are laid out by tools/pylib/gguf_np.py (shared with tools/fixtures/make_gguf.py).
Before writing truth.json the files are read back by Hugging Face's parser (@huggingface/gguf,
from npm, installed into DATA_DIR/npm; tools/oracles/gguf_hf_dump.mjs), and every key, type, value
and tensor info it reports must equal what was written: the layout is the format as another
implementation reads it, not only as this script understands it.
usage: tools/oracles/oracle_gguf.py DATA_DIR
"""
import hashlib
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import gguf_np  # noqa: E402

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR = gguf_np.SCALAR
# ggml_type: (elements per block, bytes per block), ggml.c's type traits
GGML = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q8_0": (8, 32, 34), "Q4_K": (12, 256, 144),
        "BF16": (30, 1, 2)}


def write_gguf(path, version, kvs, tensors, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, ne, ggml type name)], each filled with random
    bytes. Writes the file with tools/pylib/gguf_np.py's serialiser; returns the truth."""
    rng = np.random.default_rng(len(path))
    truth = {"version": version, "alignment": alignment, "kv": [], "tensors": []}
    for key, t, v in kvs:
        vb = gguf_np.value_bytes(t, v)
        entry = {"key": key, "type": t, "elem_type": v[0] if t == ARRAY else t,
                 "n": len(v[1]) if t == ARRAY else 1}
        # the value's bytes as kevo's kv->value points at them: an array's first element on
        entry["value_hex"] = (vb[12:] if t == ARRAY else vb).hex()
        if t == ARRAY and v[0] == STRING:
            entry["strings"] = list(v[1])
        truth["kv"].append(entry)
    filled = []
    for name, ne, tname in tensors:
        code, block, nbytes = GGML[tname]
        n = int(np.prod(ne))
        data = rng.integers(0, 256, n // block * nbytes, dtype=np.uint8).tobytes()
        filled.append((name, ne, code, data))
    data_offset, offsets = gguf_np.write(path, version, kvs, filled, alignment)
    for (name, ne, code, data), off in zip(filled, offsets):
        truth["tensors"].append({"name": name, "ne": list(ne), "ggml_type": code,
                                 "rel_offset": off, "n_bytes": len(data),
                                 "sha256": hashlib.sha256(data).hexdigest()})
    truth["data_offset"] = data_offset
    for t in truth["tensors"]:
        t["file_offset"] = data_offset + t["rel_offset"]
    return truth


def cases():
    every = [
        ("general.architecture", STRING, "llama"),
        ("general.name", STRING, "kevo GGUF reference — ünïcode"),
        ("test.u8", U8, 200), ("test.i8", I8, -100), ("test.u16", U16, 60000),
        ("test.i16", I16, -30000), ("test.u32", U32, 4000000000), ("test.i32", I32, -2000000000),
        ("test.f32", F32, 1e-5), ("test.bool", BOOL, True), ("test.u64", U64, 2 ** 63 + 12345),
        ("test.i64", I64, -(2 ** 62)), ("test.f64", F64, 10000.0),
        ("llama.context_length", U32, 4096),
        ("test.empty_string", STRING, ""),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, ["<unk>", "<s>", "</s>", "▁the", "", "é"])),
        ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, -1.5, 2.25, -1000.0, 0.5, 3.0])),
        ("test.i64s", ARRAY, (I64, [-1, 0, 2 ** 40])),
        ("test.empty_array", ARRAY, (U8, [])),
    ]
    tensors = [("token_embd.weight", (64, 6), "F16"), ("output_norm.weight", (64,), "F32"),
               ("blk.0.attn_q.weight", (64, 64), "Q8_0"), ("blk.0.ffn_up.weight", (256, 2), "Q4_K"),
               ("v.blk.0.attn_k.weight", (4, 3, 2, 2), "BF16")]
    aligned = [("general.alignment", U32, 64), ("general.architecture", STRING, "clip")]
    return [("v3.gguf", 3, every, tensors, 32),
            ("v2-align64.gguf", 2, aligned, tensors[:3], 64),
            ("metadata-only.gguf", 3, every[:4], [], 32)]


def hf_read(data_dir, paths):
    """Hugging Face's reading of the files, installing the parser once."""
    return gguf_np.hf_dump(os.path.join(data_dir, "npm"), paths)


def decoded(t, vb):
    """A scalar's value from its bytes, as the HF dump prints it (integers as strings)."""
    v = struct.unpack(SCALAR[t], vb)[0]
    return str(v) if t in (U64, I64) else v


def check_against_hf(truth, hf, name):
    def fail(what):
        raise SystemExit(f"oracle_gguf: {name}: Hugging Face's parser reads {what}")
    if str(hf["data_offset"]) != str(truth["data_offset"]):
        fail(f"the data at {hf['data_offset']}, written at {truth['data_offset']}")
    for kv in truth["kv"]:
        got = hf["kv"].get(kv["key"])
        if got is None or got["type"] != kv["type"]:
            fail(f"key {kv['key']} as {got}")
        vb = bytes.fromhex(kv["value_hex"])
        if kv["type"] == STRING:
            want = vb[8:].decode("utf-8")
        elif kv["type"] == ARRAY:
            if got["subType"] != kv["elem_type"]:
                fail(f"{kv['key']}'s elements as type {got['subType']}")
            size = struct.calcsize(SCALAR.get(kv["elem_type"], "<B"))
            want = kv.get("strings") or [decoded(kv["elem_type"], vb[i:i + size])
                                         for i in range(0, len(vb), size)]
        else:
            want = decoded(kv["type"], vb)
        close = (lambda a, b: abs(a - b) <= 1e-6 * abs(b)) if kv["elem_type"] in (F32, F64) \
            else (lambda a, b: a == b)
        values = got["value"] if isinstance(got["value"], list) else [got["value"]]
        wants = want if isinstance(want, list) else [want]
        if len(values) != len(wants) or not all(close(a, b) for a, b in zip(values, wants)):
            fail(f"{kv['key']} = {got['value']!r}, written {want!r}")
    if len(hf["tensors"]) != len(truth["tensors"]):
        fail(f"{len(hf['tensors'])} tensors")
    for h, t in zip(hf["tensors"], truth["tensors"]):
        if (h["name"], h["n_dims"], [int(d) for d in h["shape"]], h["dtype"], int(h["offset"])) != \
                (t["name"], len(t["ne"]), t["ne"], t["ggml_type"], t["rel_offset"]):
            fail(f"tensor {h}, written {t}")


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "build/data"
    out = os.path.join(data_dir, "oracle", "gguf")
    os.makedirs(out, exist_ok=True)
    truth = {}
    for name, version, kvs, tensors, alignment in cases():
        truth[name] = write_gguf(os.path.join(out, name), version, kvs, tensors, alignment)
    hf = hf_read(data_dir, [os.path.join(out, name) for name in truth])
    for name in truth:
        check_against_hf(truth[name], hf[os.path.join(out, name)], name)
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1, ensure_ascii=False)
    print(f"oracle_gguf: {len(truth)} files, read alike by Hugging Face's parser -> {out}")


if __name__ == "__main__":
    main()
