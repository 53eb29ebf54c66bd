"""GGUF files with Python and numpy alone: the one serialiser and reader the dev tools share.

The layout is ggml's docs/gguf.md (ggml-org/ggml): "GGUF", u32 version, u64 tensor count, u64
key count; each key as a GGUF string (u64 length + UTF-8 bytes), its u32 value type and value
(an array: u32 element type, u64 count, the elements); each tensor info as name, u32 n_dims,
n_dims u64 dimensions (ne[0] first: the row length), u32 ggml type, u64 offset relative to the
data section; zero padding to the alignment (general.alignment, default 32); then the data,
every tensor's offset a multiple of the alignment. All little-endian.

tools/oracles/oracle_gguf.py writes the reader tests' files with it, tools/fixtures/make_gguf.py
the model fixtures; read() is what their checks and --dump use. Why here: one serialisation, so
the oracle's and the fixtures' files cannot drift apart in layout.
"""
import json
import os
import struct
import subprocess

import numpy as np

# gguf_metadata_value_type (docs/gguf.md)
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
          BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
DEFAULT_ALIGNMENT = 32
HF_GGUF = "@huggingface/gguf@0.4.6"   # the independent reader, from npm
HF_DUMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracles",
                       "gguf_hf_dump.mjs")


def gguf_string(s):
    """A GGUF string: u64 byte length, then the UTF-8 bytes (str) or the bytes as given."""
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def value_bytes(t, v):
    """The bytes of a value of type t (for an array: v = (elem_type, items))."""
    if t == STRING:
        return gguf_string(v)
    if t == ARRAY:
        et, items = v
        if et in SCALAR and et != BOOL and len(items) > 0:
            return struct.pack("<IQ", et, len(items)) + \
                np.asarray(items, dtype=SCALAR[et]).tobytes()
        return struct.pack("<IQ", et, len(items)) + b"".join(value_bytes(et, x) for x in items)
    return struct.pack(SCALAR[t], v)


def align(n, alignment):
    return (n + alignment - 1) // alignment * alignment


def serialise(version, kvs, tensors, alignment=DEFAULT_ALIGNMENT):
    """The whole file as bytes.

    kvs: [(key, value type, value)] in file order; tensors: [(name, ne, ggml type code, data
    bytes)] in file order, ne with the row length first. Returns (file bytes, data offset,
    [each tensor's offset relative to the data section]). A general.alignment key, if wanted,
    is the caller's to put among kvs; alignment here must agree with it.
    """
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    body = b"".join(gguf_string(k) + struct.pack("<I", t) + value_bytes(t, v) for k, t, v in kvs)
    infos, offsets, offset = [], [], 0
    for name, ne, code, data in tensors:
        infos.append(gguf_string(name) + struct.pack("<I", len(ne)) +
                     b"".join(struct.pack("<Q", int(d)) for d in ne) +
                     struct.pack("<IQ", code, offset))
        offsets.append(offset)
        offset = align(offset + len(data), alignment)
    meta = head + body + b"".join(infos)
    data_offset = align(len(meta), alignment)
    out = bytearray(meta + bytes(data_offset - len(meta)) + bytes(offset))
    for (_, _, _, data), off in zip(tensors, offsets):
        out[data_offset + off:data_offset + off + len(data)] = data
    return bytes(out), data_offset, offsets


def write(path, version, kvs, tensors, alignment=DEFAULT_ALIGNMENT):
    """serialise() into path (through a temporary file, so a reader never sees half a file)."""
    raw, data_offset, offsets = serialise(version, kvs, tensors, alignment)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(raw)
    os.replace(tmp, path)
    return data_offset, offsets


class _Cursor:
    def __init__(self, raw):
        self.raw, self.pos = raw, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.raw, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self, as_bytes=False):
        n = self.take("<Q")
        b = bytes(self.raw[self.pos:self.pos + n])
        self.pos += n
        return b if as_bytes else b.decode("utf-8")

    def value(self, t):
        if t == STRING:
            return self.string()
        if t == ARRAY:
            et, n = self.take("<IQ")
            if et in SCALAR and et != BOOL:
                size = struct.calcsize(SCALAR[et])
                a = np.frombuffer(self.raw, SCALAR[et], n, self.pos)
                self.pos += n * size
                return (et, a.tolist())
            return (et, [self.value(et) for _ in range(n)])
        return self.take(SCALAR[t])


def read(path_or_bytes):
    """The file as a dict: version, kv {key: (type, value)} in file order (an array's value is
    (elem_type, list)), tensors [{name, ne, type, offset (absolute), data (bytes)}] and
    data_offset. The tensor's byte count comes from the next tensor's offset or the file's end
    unless sizes are given by the caller (see gguf_quants.row_bytes for the exact count)."""
    raw = path_or_bytes if isinstance(path_or_bytes, (bytes, bytearray)) else \
        open(path_or_bytes, "rb").read()
    c = _Cursor(raw)
    if c.take("4s") != b"GGUF":
        raise ValueError("not a GGUF file")
    version, n_tensors, n_kv = c.take("<IQQ")
    kv = {}
    for _ in range(n_kv):
        key = c.string()
        t = c.take("<I")
        kv[key] = (t, c.value(t))
    tensors = []
    for _ in range(n_tensors):
        name = c.string()
        nd = c.take("<I")
        ne = [c.take("<Q") for _ in range(nd)]
        code, off = c.take("<IQ")
        tensors.append({"name": name, "ne": ne, "type": code, "rel_offset": off})
    alignment = kv.get("general.alignment", (U32, DEFAULT_ALIGNMENT))[1]
    data_offset = align(c.pos, alignment)
    for t in tensors:
        t["offset"] = data_offset + t["rel_offset"]
    return {"version": version, "kv": kv, "tensors": tensors, "data_offset": data_offset,
            "alignment": alignment, "raw": raw}


def hf_dump(npm_dir, paths):
    """What Hugging Face's parser (@huggingface/gguf, installed into npm_dir once) reads from
    each file: {path: {kv: {key: {type, subType, value}}, tensors: [...], data_offset}} as
    tools/oracles/gguf_hf_dump.mjs prints it (integers of 64 bits as decimal strings)."""
    npm = os.path.abspath(npm_dir)
    module = os.path.join(npm, "node_modules", "@huggingface", "gguf")
    if not os.path.isdir(module):
        os.makedirs(npm, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", npm,
                        HF_GGUF], check=True)
    out = subprocess.run(["node", HF_DUMP, module] + list(paths), check=True,
                         capture_output=True)
    return json.loads(out.stdout)
