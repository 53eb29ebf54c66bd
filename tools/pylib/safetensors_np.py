"""safetensors files with numpy alone (Debian 12 has no python3-safetensors).

The format of huggingface/safetensors' README: a little-endian u64 header length, a JSON header
{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}} padded with spaces to a
multiple of 8 bytes (as the reference writer pads it), then the data. F16 and BF16 are rounded to
nearest even from float32, as torch's .to() rounds.
"""
import json
import os
import struct

import numpy as np

NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
         "I8": "i1", "U8": "u1", "U16": "<u2", "BOOL": "?"}
NAMES = {np.dtype(v).newbyteorder("<") if np.dtype(v).itemsize > 1 else np.dtype(v): k
         for k, v in NUMPY.items()}


def to_bytes(a, dtype=None):
    """The bytes of array a stored as `dtype` (a safetensors name; default: a's own type)."""
    a = np.ascontiguousarray(a)
    if dtype is None:
        return a.astype(a.dtype.newbyteorder("<")).tobytes()
    if dtype == "BF16":
        u = a.astype("<f4").view("<u4").astype(np.uint64)
        return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()
    return a.astype(NUMPY[dtype]).tobytes()


def dtype_name(a):
    d = np.dtype(a.dtype)
    return NAMES[d.newbyteorder("<") if d.itemsize > 1 else d]


def header_bytes(entries, metadata=None):
    """entries: [(name, dtype, shape, nbytes)] in file order -> the length-prefixed header."""
    header, off = {}, 0
    for name, dtype, shape, nbytes in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + nbytes]}
        off += nbytes
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def write(path, tensors, dtype=None, metadata=None):
    """Writes {name: array} (in order) atomically; every array stored as `dtype` when given."""
    blobs, entries = [], []
    for name, a in tensors.items():
        b = to_bytes(a, dtype)
        entries.append((name, dtype or dtype_name(a), np.shape(a), len(b)))
        blobs.append(b)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header_bytes(entries, metadata))
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return sum(len(b) for b in blobs)


def iterate(path):
    """(name, float32 array) of each tensor in file order, read one tensor at a time (F16 and
    BF16 widened exactly): a caller converting as it goes holds the file's tensors once, not the
    whole file besides them as with read() (the benchmark models are gigabytes)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        for name, h in header.items():
            b, e = h["data_offsets"]
            f.seek(8 + n + b)
            raw = NUMPY.get(h["dtype"], "<u2")   # BF16: the 16 bits
            a = np.fromfile(f, raw, (e - b) // np.dtype(raw).itemsize)
            if h["dtype"] == "BF16":
                a = (a.astype(np.uint32) << 16).view(np.float32)
            elif h["dtype"] == "F16":
                a = a.astype(np.float32)
            yield name, a.reshape(h["shape"])


def read(path):
    """({name: array}, metadata). F16 and BF16 are widened exactly to float32."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        buf = raw[8 + n + b:8 + n + e]
        if h["dtype"] == "BF16":
            a = (np.frombuffer(buf, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif h["dtype"] == "F16":
            a = np.frombuffer(buf, "<f2").astype(np.float32)
        else:
            a = np.frombuffer(buf, NUMPY[h["dtype"]])
        out[name] = a.reshape(h["shape"]).copy()
    return out, metadata
