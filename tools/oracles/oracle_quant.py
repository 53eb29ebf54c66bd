#!/usr/bin/env python3
"""Reference decodings of ggml's block types for kevo's decoders (src/base/quant.c).

For every block type kevo reads (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL) writes
DATA_DIR/oracle/quant/blocks.safetensors with
  <TYPE>.blocks  U8   64 rows of 512 elements: random block bytes whose F16 scales are
                      random finite values (signs, tiny and large magnitudes, zero among them),
                      every other byte uniform, so every bit of every field is exercised
  <TYPE>.values  F32  the same rows decoded by tools/pylib/gguf_quants.py (numpy, written from
                      ggml-quants.c's dequantize_row_*), which kevo must reproduce to the bit
  <TYPE>.x       F32  64 x 512 activations for the products' checks
  <TYPE>.terms   F32  per element the magnitude of what the fused decode-time products add
                      (src/kernels/dotq_body.h): |d*sc*q| + |dmin*m| for Q4_K and Q5_K, whose
                      minima are subtracted as a separate sum, |value| for the other types
usage: tools/oracles/oracle_quant.py DATA_DIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import gguf_quants as gq  # noqa: E402
import safetensors_np as st  # noqa: E402

ROWS, COLS = 64, 512
# Byte offsets of each block's F16 scale fields (ggml-common.h's structs).
SCALES = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
          "IQ4_NL": [0], "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2],
          "Q6_K": [208]}


def random_blocks(rng, t):
    _, elems, size = gq.TYPES[t]
    n_blocks = ROWS * COLS // elems
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    for off in SCALES[t]:
        # finite F16 scales over many magnitudes; one block in 16 has a zero scale
        mag = np.exp2(rng.uniform(-20, 4, n_blocks)) * rng.choice([-1, 1], n_blocks)
        mag[::16] = 0
        raw[:, off:off + 2] = mag.astype("<f2").view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1)


def terms(raw, values, t):
    """|d*sc*q| + |dmin*m| per element for Q4_K / Q5_K (the minimum m1 = dmin*m of each
    sub-block of 32 from get_scale_min_k4; d*sc*q = value + m1), else |value|."""
    v = values.reshape(-1).astype(np.float64)
    if t not in ("Q4_K", "Q5_K"):
        return np.abs(v).astype(np.float32)
    size = gq.TYPES[t][2]
    b = raw.reshape(-1, size)
    _, mn = gq.scale_min_k4(b[:, 4:16])
    m1 = (b[:, 2:4].copy().view("<f2").astype(np.float32) * mn.astype(np.float32))
    m1 = np.repeat(m1.astype(np.float64), 32, axis=1).reshape(-1)
    return (np.abs(v + m1) + np.abs(m1)).astype(np.float32)


def main():
    out = os.path.join(sys.argv[1], "oracle", "quant")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261203)
    tensors = {}
    for t in SCALES:
        raw = random_blocks(rng, t)
        values = gq.dequantize(raw.tobytes(), ROWS * COLS, t).reshape(ROWS, COLS)
        tensors[t + ".blocks"] = raw
        tensors[t + ".values"] = values.astype(np.float32)
        tensors[t + ".x"] = rng.standard_normal((ROWS, COLS)).astype(np.float32)
        tensors[t + ".terms"] = terms(raw, values, t).reshape(ROWS, COLS)
    st.write(os.path.join(out, "blocks.safetensors"), tensors)
    print(f"oracle_quant: {len(SCALES)} block types x {ROWS} rows of {COLS} -> {out}")


if __name__ == "__main__":
    main()
