#!/usr/bin/python3
"""ggml's tensor types in numpy: quantize() to a type's bytes, dequantize() back to float32.

What: F32, F16, BF16, the 32-element blocks Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and IQ4_NL, and the
256-element super-blocks (QK_K = 256) Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
Why: kevo's C loader must decode GGUF tensors exactly as ggml does; the fixtures' quantised
files are made here, and a test compares kevo's decoding with dequantize() bit for bit.

Layouts are restated from ggml-org/ggml src/ggml-common.h (block_q4_0 ... block_q6_K,
block_iq4_nl; K_SCALE_SIZE 12) and the decoding from src/ggml-quants.c, dequantize_row_q4_0 ...
dequantize_row_q6_K, dequantize_row_iq4_nl and get_scale_min_k4 (no code copied). dequantize()
follows those functions' float32 arithmetic step for step: the f16 scales widened exactly, the
products formed in the same order and each rounded to float32 (e.g. Q4_0 y = (q - 8) * d; Q4_1
y = q*d + m; Q4_K/Q5_K d1 = d*sc and m1 = dmin*m first, then y = d1*q - m1; Q6_K y = (d*sc)*q).
ggml's C may be compiled with FMA contraction (-ffp-contract=fast, -march=native), which fuses
q*d + m; this module, like C11 built with -std=c11 (contraction off), rounds each step.

quantize() is a plain round-to-nearest quantiser, not llama.cpp's search: for the 32-element
types it restates ggml-quants.c's quantize_row_*_ref (so those bytes should equal ggml's own);
for the K types it picks each sub-block's scale/min from its range, quantises the scales to
the 6/4/8 bits the format has, and requantises the values with the stored scales. Its bytes are
valid blocks of the format, not llama-quantize's bytes; the tests need exact decoding only.

usage: /usr/bin/python3 tools/pylib/gguf_quants.py --selftest
"""
import sys

import numpy as np

QK_K = 256
# name: (ggml_type code, elements per block, bytes per block)  -- ggml.c type_traits
TYPES = {
    "F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20),
    "Q5_0": (6, 32, 22), "Q5_1": (7, 32, 24), "Q8_0": (8, 32, 34),
    "Q2_K": (10, QK_K, 84), "Q3_K": (11, QK_K, 110), "Q4_K": (12, QK_K, 144),
    "Q5_K": (13, QK_K, 176), "Q6_K": (14, QK_K, 210), "IQ4_NL": (20, 32, 18),
    "BF16": (30, 1, 2),
}
NAME = {code: name for name, (code, _, _) in TYPES.items()}
# ggml-common.h kvalues_iq4nl: the 16 non-linear levels of IQ4_NL
KVALUES_IQ4NL = np.array([-127, -104, -83, -65, -49, -35, -22, -10,
                          1, 13, 25, 38, 53, 69, 89, 113], dtype=np.int8)
F32 = np.float32


def block_size(t):
    return TYPES[t][1]


def row_bytes(t, n):
    """Bytes of n elements of type t (n a multiple of the block size): ggml_row_size."""
    _, blk, size = TYPES[t]
    if n % blk:
        raise ValueError(f"{t}: {n} elements are not a whole number of {blk}-element blocks")
    return n // blk * size


# ---- helpers ------------------------------------------------------------------------------

def _half(a):
    """f16 bytes (..., 2) as float32, widened exactly (GGML_FP16_TO_FP32)."""
    return np.ascontiguousarray(a).view("<f2").astype(F32)


def _f16(x):
    """float32 -> f16, round to nearest even (GGML_FP32_TO_FP16 on F16C or its software
    fallback); returns (f16 bytes as uint8 (..., 2), the value widened back to float32)."""
    h = np.asarray(x, dtype=F32).astype("<f2")
    return h[..., None].view(np.uint8), h.astype(F32)


def _rint(x):
    """ggml-quants.c nearest_int: round half to even (the 1.5 * 2^23 trick)."""
    return np.rint(np.asarray(x, dtype=F32)).astype(np.int32)


def _roundf(x):
    """C roundf: half away from zero (quantize_row_q8_0_ref), exact in float64."""
    v = np.asarray(x, dtype=F32).astype(np.float64)
    return np.trunc(v + np.copysign(0.5, v)).astype(np.int32)


def _blocks(data, t, n):
    _, blk, size = TYPES[t]
    nb = row_bytes(t, n) // size
    raw = np.frombuffer(bytes(data), dtype=np.uint8, count=nb * size)
    return raw.reshape(nb, size)


def _signed_absmax(x):
    """Per row of x (..., k): the element of largest magnitude, the first if tied, as the
    _ref quantisers find it (amax < fabsf(v) moves on only for a strictly larger one)."""
    i = np.argmax(np.abs(x), axis=-1)
    return np.take_along_axis(x, i[..., None], axis=-1)[..., 0]


def _safe_inv(d):
    d = np.asarray(d, dtype=F32)
    with np.errstate(divide="ignore"):
        return np.where(d != 0, F32(1) / np.where(d != 0, d, F32(1)), F32(0)).astype(F32)


def _div(a, b):
    """a / b in float32 where b != 0, else 0."""
    b = np.asarray(b, dtype=F32)
    return np.where(b != 0, np.asarray(a, F32) / np.where(b != 0, b, F32(1)), F32(0))


# Element e (0..255) of a Q2_K / Q3_K super-block: 2-bit field at qs[e//128*32 + e%32], shift
# 2*(e%128//32); its 16-element sub-block e//16 (dequantize_row_q2_K's n / j / l loops).
_E = np.arange(QK_K)
_Q2_BYTE = _E // 128 * 32 + _E % 32
_Q2_SHIFT = 2 * (_E % 128 // 32)
# Q4_K / Q5_K: nibble of qs[e//64*32 + e%32], low half for e%64 < 32; sub-block e//32
_Q4_BYTE = _E // 64 * 32 + _E % 32
_Q4_HIGH = (_E % 64) >= 32
# Q6_K: quarter k = e%128//32, l = e%32: low 4 bits in ql[e//128*64 + l + 32*(k odd)], the low
# nibble for k < 2; high 2 bits in qh[e//128*32 + l] >> 2k; scale index e//16
_Q6_K4 = _E % 128 // 32
_Q6_QL = _E // 128 * 64 + _E % 32 + 32 * (_Q6_K4 % 2)
_Q6_QH = _E // 128 * 32 + _E % 32


# ---- dequantize -----------------------------------------------------------------------------

def dequantize(data, n, t):
    """n float32 values from type t's bytes (n a multiple of the block size)."""
    if t == "F32":
        return np.frombuffer(bytes(data), "<f4", n).astype(F32)
    if t == "F16":
        return np.frombuffer(bytes(data), "<f2", n).astype(F32)
    if t == "BF16":   # ggml_bf16_to_fp32: the 16 bits are the float's high half
        return (np.frombuffer(bytes(data), "<u2", n).astype(np.uint32) << 16).view(F32)
    b = _blocks(data, t, n)
    y = globals()["_deq_" + t.lower()](b)
    return y.astype(F32).reshape(-1)


def _deq_q4_0(b):      # dequantize_row_q4_0: y = (q - 8) * d
    d = _half(b[:, 0:2])
    qs = b[:, 2:18].astype(np.int32)
    q = np.concatenate([(qs & 0xF) - 8, (qs >> 4) - 8], axis=1)
    return q.astype(F32) * d


def _deq_q4_1(b):      # dequantize_row_q4_1: y = q*d + m
    d, m = _half(b[:, 0:2]), _half(b[:, 2:4])
    qs = b[:, 4:20].astype(np.int32)
    q = np.concatenate([qs & 0xF, qs >> 4], axis=1)
    return q.astype(F32) * d + m


def _q5_values(qh_bytes, qs):
    """The 32 5-bit values of a Q5_0/Q5_1 block: bit j of the u32 qh is element j's fifth."""
    qh = np.ascontiguousarray(qh_bytes).view("<u4").astype(np.int64)   # (nb, 1)
    j = np.arange(16)
    xh0 = ((qh >> j) << 4) & 0x10
    xh1 = (qh >> (j + 12)) & 0x10
    qs = qs.astype(np.int64)
    return np.concatenate([(qs & 0xF) | xh0, (qs >> 4) | xh1], axis=1)


def _deq_q5_0(b):      # dequantize_row_q5_0: y = (q - 16) * d
    d = _half(b[:, 0:2])
    return (_q5_values(b[:, 2:6], b[:, 6:22]) - 16).astype(F32) * d


def _deq_q5_1(b):      # dequantize_row_q5_1: y = q*d + m
    d, m = _half(b[:, 0:2]), _half(b[:, 2:4])
    return _q5_values(b[:, 4:8], b[:, 8:24]).astype(F32) * d + m


def _deq_q8_0(b):      # dequantize_row_q8_0: y = q * d
    d = _half(b[:, 0:2])
    return b[:, 2:34].view(np.int8).astype(F32) * d


def _deq_iq4_nl(b):    # dequantize_row_iq4_nl: y = d * kvalues_iq4nl[q]
    d = _half(b[:, 0:2])
    qs = b[:, 2:18]
    q = np.concatenate([qs & 0xF, qs >> 4], axis=1)
    return d * KVALUES_IQ4NL[q].astype(F32)


def _deq_q2_k(b):      # dequantize_row_q2_K: dl = d*(sc&15), ml = dmin*(sc>>4), y = dl*q - ml
    scales, qs = b[:, 0:16].astype(np.int32), b[:, 16:80].astype(np.int32)
    d, dmin = _half(b[:, 80:82]), _half(b[:, 82:84])
    q = (qs[:, _Q2_BYTE] >> _Q2_SHIFT) & 3
    sc = scales[:, _E // 16]
    dl = d * (sc & 0xF).astype(F32)
    ml = dmin * (sc >> 4).astype(F32)
    return dl * q.astype(F32) - ml


def q3_k_scales(s12):
    """The 16 6-bit scales (0..63) of Q3_K's 12 packed bytes, as dequantize_row_q3_K unpacks
    them through uint32 aux[4] with kmask1 0x03030303 and kmask2 0x0f0f0f0f."""
    a = np.ascontiguousarray(s12).view("<u4").astype(np.uint64)   # (nb, 3)
    k1, k2 = np.uint64(0x03030303), np.uint64(0x0F0F0F0F)
    a0, a1, tmp = a[:, 0], a[:, 1], a[:, 2]
    aux = np.stack([(a0 & k2) | (((tmp >> np.uint64(0)) & k1) << np.uint64(4)),
                    (a1 & k2) | (((tmp >> np.uint64(2)) & k1) << np.uint64(4)),
                    ((a0 >> np.uint64(4)) & k2) | (((tmp >> np.uint64(4)) & k1) << np.uint64(4)),
                    ((a1 >> np.uint64(4)) & k2) | (((tmp >> np.uint64(6)) & k1) << np.uint64(4))],
                   axis=1).astype("<u4")
    return np.ascontiguousarray(aux).view(np.int8).astype(np.int32)   # (nb, 16)


def _deq_q3_k(b):      # dequantize_row_q3_K: dl = d*(sc-32), y = dl*(q2 - (hbit ? 0 : 4))
    hmask, qs = b[:, 0:32].astype(np.int32), b[:, 32:96].astype(np.int32)
    d = _half(b[:, 108:110])
    sc = q3_k_scales(b[:, 96:108])
    low = (qs[:, _Q2_BYTE] >> _Q2_SHIFT) & 3
    high = (hmask[:, _E % 32] >> (_E // 32)) & 1
    q = low - np.where(high == 1, 0, 4)
    dl = d * (sc[:, _E // 16] - 32).astype(F32)
    return dl * q.astype(F32)


def scale_min_k4(s12):
    """get_scale_min_k4 for j = 0..7 over the 12 packed bytes: (scales, mins), each (nb, 8)."""
    q = s12.astype(np.int32)
    sc = np.empty((q.shape[0], 8), np.int32)
    mn = np.empty_like(sc)
    for j in range(8):
        if j < 4:
            sc[:, j], mn[:, j] = q[:, j] & 63, q[:, j + 4] & 63
        else:
            sc[:, j] = (q[:, j + 4] & 0xF) | ((q[:, j - 4] >> 6) << 4)
            mn[:, j] = (q[:, j + 4] >> 4) | ((q[:, j] >> 6) << 4)
    return sc, mn


def _deq_q4_k(b):      # dequantize_row_q4_K: d1 = d*sc, m1 = dmin*m, y = d1*q - m1
    d, dmin = _half(b[:, 0:2]), _half(b[:, 2:4])
    sc, mn = scale_min_k4(b[:, 4:16])
    qs = b[:, 16:144].astype(np.int32)[:, _Q4_BYTE]
    q = np.where(_Q4_HIGH, qs >> 4, qs & 0xF)
    d1 = d * sc.astype(F32)
    m1 = dmin * mn.astype(F32)
    return d1[:, _E // 32] * q.astype(F32) - m1[:, _E // 32]


def _deq_q5_k(b):      # dequantize_row_q5_K: as Q4_K with qh's bit (u1/u2) adding 16
    d, dmin = _half(b[:, 0:2]), _half(b[:, 2:4])
    sc, mn = scale_min_k4(b[:, 4:16])
    qh = b[:, 16:48].astype(np.int32)[:, _E % 32]
    qs = b[:, 48:176].astype(np.int32)[:, _Q4_BYTE]
    q = np.where(_Q4_HIGH, qs >> 4, qs & 0xF) + 16 * ((qh >> (_E // 32)) & 1)
    d1 = d * sc.astype(F32)
    m1 = dmin * mn.astype(F32)
    return d1[:, _E // 32] * q.astype(F32) - m1[:, _E // 32]


def _deq_q6_k(b):      # dequantize_row_q6_K: y = d * sc * q, left to right
    ql, qh = b[:, 0:128].astype(np.int32), b[:, 128:192].astype(np.int32)
    sc = b[:, 192:208].view(np.int8).astype(F32)
    d = _half(b[:, 208:210])
    low = np.where(_Q6_K4 < 2, ql[:, _Q6_QL] & 0xF, ql[:, _Q6_QL] >> 4)
    q = (low | (((qh[:, _Q6_QH] >> (2 * _Q6_K4)) & 3) << 4)) - 32
    return (d * sc[:, _E // 16]) * q.astype(F32)


# ---- quantize -------------------------------------------------------------------------------

def quantize(x, t):
    """The bytes of float32 values x (any shape; the last axis is the row) as type t. The row
    length must be a multiple of t's block size (else ValueError: the caller chooses a
    fallback, as llama.cpp does)."""
    x = np.ascontiguousarray(x, dtype=F32)
    if t == "F32":
        return x.astype("<f4").tobytes()
    if t == "F16":
        return x.astype("<f2").tobytes()
    if t == "BF16":   # ggml_compute_fp32_to_bf16: round to nearest even; NaN kept quiet
        u = x.view(np.uint32).astype(np.uint64)
        r = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        nan = (u & 0x7FFFFFFF) > 0x7F800000
        r = np.where(nan, (u >> 16) | 64, r)
        return r.astype("<u2").tobytes()
    blk = block_size(t)
    if x.ndim == 0 or x.shape[-1] % blk:
        raise ValueError(f"{t}: rows of {x.shape[-1] if x.ndim else 1} are not a multiple "
                         f"of {blk}")
    xb = x.reshape(-1, blk)
    out = globals()["_q_" + t.lower()](xb)
    assert out.shape == (xb.shape[0], TYPES[t][2]), (t, out.shape)
    return np.ascontiguousarray(out, dtype=np.uint8).tobytes()


def _pack_nibbles(q):      # qs[j] = q[j] | q[j + 16] << 4  (32-element blocks)
    return (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)


def _q_q8_0(x):            # quantize_row_q8_0_ref
    d = np.abs(x).max(axis=1) / F32(127)
    q = _roundf(x * _safe_inv(d)[:, None])
    return np.concatenate([_f16(d)[0], q.astype(np.int8).view(np.uint8)], axis=1)


def _q_q4_0(x):            # quantize_row_q4_0_ref: d = max / -8, q = min(15, (int)(x/d + 8.5))
    d = (_signed_absmax(x) / F32(-8)).astype(F32)
    v = (x * _safe_inv(d)[:, None]).astype(F32) + F32(8.5)
    q = np.minimum(15, np.trunc(v).astype(np.int32))
    return np.concatenate([_f16(d)[0], _pack_nibbles(q)], axis=1)


def _q_q4_1(x):            # quantize_row_q4_1_ref: d = (max - min) / 15
    mn, mx = x.min(axis=1), x.max(axis=1)
    d = ((mx - mn) / F32(15)).astype(F32)
    v = ((x - mn[:, None]) * _safe_inv(d)[:, None]).astype(F32) + F32(0.5)
    q = np.minimum(15, np.trunc(v).astype(np.int32))
    return np.concatenate([_f16(d)[0], _f16(mn)[0], _pack_nibbles(q)], axis=1)


def _q5_pack(q):
    """(qh as 4 bytes, qs 16 bytes) of 32 5-bit values: bit j of qh is element j's fifth."""
    hi = ((q >> 4) & 1).astype(np.uint64)
    qh = (hi << np.arange(32, dtype=np.uint64)).sum(axis=1).astype("<u4")
    return qh[:, None].view(np.uint8), _pack_nibbles(q & 0xF)


def _q_q5_0(x):            # quantize_row_q5_0_ref: d = max / -16
    d = (_signed_absmax(x) / F32(-16)).astype(F32)
    v = (x * _safe_inv(d)[:, None]).astype(F32) + F32(16.5)
    q = np.minimum(31, np.trunc(v).astype(np.int32))
    qh, qs = _q5_pack(q)
    return np.concatenate([_f16(d)[0], qh, qs], axis=1)


def _q_q5_1(x):            # quantize_row_q5_1_ref: d = (max - min) / 31
    mn, mx = x.min(axis=1), x.max(axis=1)
    d = ((mx - mn) / F32(31)).astype(F32)
    v = ((x - mn[:, None]) * _safe_inv(d)[:, None]).astype(F32) + F32(0.5)
    q = np.minimum(31, np.trunc(v).astype(np.int32))
    qh, qs = _q5_pack(q)
    return np.concatenate([_f16(d)[0], _f16(mn)[0], qh, qs], axis=1)


def _q_iq4_nl(x):          # RTN to the nearest of kvalues_iq4nl, the largest |x| on -127
    d = (_signed_absmax(x) / F32(-127)).astype(F32)
    dh, d16 = _f16(d)
    v = x * _safe_inv(d16)[:, None]
    q = np.abs(v[..., None] - KVALUES_IQ4NL.astype(F32)).argmin(axis=-1).astype(np.int32)
    return np.concatenate([dh, _pack_nibbles(q)], axis=1)


def _q2_pack(L):
    """Q2_K/Q3_K qs: qs[h*32 + l] = L[h*128 + l] | L[+32] << 2 | L[+64] << 4 | L[+96] << 6."""
    L = L.reshape(-1, 2, 4, 32)
    return (L[:, :, 0] | (L[:, :, 1] << 2) | (L[:, :, 2] << 4) | (L[:, :, 3] << 6)) \
        .reshape(-1, 64).astype(np.uint8)


def _asym_k(x, n_sub, levels, scale_max):
    """Sub-block scales and mins of an asymmetric K type (Q2_K, Q4_K, Q5_K), round to
    nearest: (ls, lm) integer codes, d and dmin as (f16 bytes, float32), and the levels L."""
    xs = x.reshape(x.shape[0], n_sub, -1)
    mn = np.minimum(xs.min(axis=2), F32(0))
    scale = ((xs.max(axis=2) - mn) / F32(levels)).astype(F32)
    mins = (-mn).astype(F32)
    codes = []
    for v in (scale, mins):
        vmax = v.max(axis=1)
        inv = _div(F32(scale_max), vmax)
        codes.append(np.clip(_rint(inv[:, None] * v), 0, scale_max))
    ls, lm = codes
    dh, d16 = _f16(scale.max(axis=1) / F32(scale_max))
    mh, m16 = _f16(mins.max(axis=1) / F32(scale_max))
    dq = d16[:, None] * ls.astype(F32)        # as the decoder forms them
    dm = m16[:, None] * lm.astype(F32)
    L = np.clip(_rint(_div(xs + dm[:, :, None], dq[:, :, None])), 0, levels)
    return ls, lm, dh, mh, L.reshape(x.shape[0], -1)


def _q_q2_k(x):
    ls, lm, dh, mh, L = _asym_k(x, 16, 3, 15)
    scales = (ls | (lm << 4)).astype(np.uint8)
    return np.concatenate([scales, _q2_pack(L), dh, mh], axis=1)


def _k4_scales(ls, lm):
    """The 12 bytes get_scale_min_k4 reads: 6-bit scale and min j at bytes j and j+4 for
    j < 4; for j >= 4 their low nibbles at byte j+4 and their top 2 bits in bytes j-4 and j."""
    s = np.zeros((ls.shape[0], 12), np.int32)
    for j in range(8):
        if j < 4:
            s[:, j] |= ls[:, j]
            s[:, j + 4] |= lm[:, j]
        else:
            s[:, j + 4] = (ls[:, j] & 0xF) | ((lm[:, j] & 0xF) << 4)
            s[:, j - 4] |= (ls[:, j] >> 4) << 6
            s[:, j] |= (lm[:, j] >> 4) << 6
    return s.astype(np.uint8)


def _q4_pack(L):           # qs[c*32 + l] = L[c*64 + l] | L[c*64 + l + 32] << 4
    L = (L & 0xF).reshape(-1, 4, 2, 32)
    return (L[:, :, 0] | (L[:, :, 1] << 4)).reshape(-1, 128).astype(np.uint8)


def _q_q4_k(x):
    ls, lm, dh, mh, L = _asym_k(x, 8, 15, 63)
    return np.concatenate([dh, mh, _k4_scales(ls, lm), _q4_pack(L)], axis=1)


def _q_q5_k(x):
    ls, lm, dh, mh, L = _asym_k(x, 8, 31, 63)
    hi = (L >> 4) & 1                                    # element e's bit e//32 of qh[e%32]
    qh = (hi.reshape(-1, 8, 32) << np.arange(8)[None, :, None]).sum(axis=1).astype(np.uint8)
    return np.concatenate([dh, mh, _k4_scales(ls, lm), qh, _q4_pack(L)], axis=1)


def _sym_k(x, qmin, qmax, code_min, code_max):
    """Sub-block scales of a symmetric K type (Q3_K, Q6_K): each 16-element sub-block's
    largest |x| on qmin; the scales coded against the largest as code_min; values requantised
    with the stored scales. Returns (codes, d as (f16 bytes, float32), L = q - qmin)."""
    xs = x.reshape(x.shape[0], 16, 16)
    s = (_signed_absmax(xs) / F32(qmin)).astype(F32)
    smax = _signed_absmax(s)
    iscale = _div(F32(code_min), smax)
    codes = np.clip(_rint(iscale[:, None] * s), code_min, code_max)
    dh, d16 = _f16(_div(F32(1), iscale))
    dl = d16[:, None] * codes.astype(F32)
    L = np.clip(_rint(_div(xs, dl[:, :, None])), qmin, qmax) - qmin
    return codes, dh, L.reshape(x.shape[0], -1)


def _q_q3_k(x):
    codes, dh, L = _sym_k(x, -4, 3, -32, 31)
    high = (L > 3).astype(np.int32)
    low = L - 4 * high
    hmask = (high.reshape(-1, 8, 32) << np.arange(8)[None, :, None]).sum(axis=1)
    l6 = codes + 32
    s = np.zeros((x.shape[0], 12), np.int32)       # quantize_row_q3_K_ref's scale packing
    for j in range(16):
        if j < 8:
            s[:, j] |= l6[:, j] & 0xF
        else:
            s[:, j - 8] |= (l6[:, j] & 0xF) << 4
        s[:, 8 + j % 4] |= (l6[:, j] >> 4) << (2 * (j // 4))
    return np.concatenate([hmask.astype(np.uint8), _q2_pack(low), s.astype(np.uint8), dh], axis=1)


def _q_q6_k(x):
    codes, dh, L = _sym_k(x, -32, 31, -128, 127)
    L = L.reshape(-1, 2, 4, 32)                      # [half, quarter k, l]
    ql = np.concatenate([(L[:, :, 0] & 0xF) | ((L[:, :, 2] & 0xF) << 4),
                         (L[:, :, 1] & 0xF) | ((L[:, :, 3] & 0xF) << 4)], axis=2)
    qh = sum(((L[:, :, k] >> 4) & 3) << (2 * k) for k in range(4))
    return np.concatenate([ql.reshape(-1, 128).astype(np.uint8),
                           qh.reshape(-1, 64).astype(np.uint8),
                           codes.astype(np.int8).view(np.uint8), dh], axis=1)


# ---- self-test ------------------------------------------------------------------------------

def _scalar_dequant(t, blk):
    """One block decoded by a literal, element-by-element restatement of ggml-quants.c's
    dequantize_row_* loops in float32 scalars: an independent check of the vectorised code."""
    h = lambda o: F32(np.frombuffer(bytes(blk[o:o + 2]), "<f2")[0])   # noqa: E731
    y = []
    if t in ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL"):
        out = [F32(0)] * 32
        if t == "Q8_0":
            d = h(0)
            return [F32(int(np.int8(np.uint8(blk[2 + j])))) * d for j in range(32)]
        if t == "IQ4_NL":
            d = h(0)
            for j in range(16):
                out[j] = d * F32(int(KVALUES_IQ4NL[blk[2 + j] & 0xF]))
                out[j + 16] = d * F32(int(KVALUES_IQ4NL[blk[2 + j] >> 4]))
            return out
        has_m = t in ("Q4_1", "Q5_1")
        d = h(0)
        m = h(2) if has_m else None
        o = 4 if has_m else 2
        qh = int.from_bytes(bytes(blk[o:o + 4]), "little") if t[1] == "5" else 0
        qs = blk[o + 4:] if t[1] == "5" else blk[o:]
        for j in range(16):
            x0, x1 = qs[j] & 0x0F, qs[j] >> 4
            if t[1] == "5":
                x0 |= ((qh >> j) << 4) & 0x10
                x1 |= (qh >> (j + 12)) & 0x10
            if has_m:
                out[j], out[j + 16] = F32(x0) * d + m, F32(x1) * d + m
            else:
                off = 8 if t == "Q4_0" else 16
                out[j], out[j + 16] = F32(x0 - off) * d, F32(x1 - off) * d
        return out
    if t == "Q2_K":
        d, mn = h(80), h(82)
        q, si = 16, 0
        for _ in range(2):
            for shift in (0, 2, 4, 6):
                for half in (0, 16):
                    sc = blk[si]
                    si += 1
                    dl, ml = d * F32(sc & 0xF), mn * F32(sc >> 4)
                    y += [dl * F32((blk[q + half + l] >> shift) & 3) - ml for l in range(16)]
            q += 32
        return y
    if t == "Q3_K":
        d = h(108)
        sc = q3_k_scales(np.array(blk[96:108], np.uint8)[None])[0]
        q, si, m = 32, 0, 1
        for _ in range(2):
            for shift in (0, 2, 4, 6):
                for half in (0, 16):
                    dl = d * F32(int(sc[si]) - 32)
                    si += 1
                    for l in range(16):
                        v = ((blk[q + half + l] >> shift) & 3) - (0 if blk[half + l] & m else 4)
                        y.append(dl * F32(v))
                m <<= 1
            q += 32
        return y
    if t in ("Q4_K", "Q5_K"):
        d, mn = h(0), h(2)
        sc, mm = scale_min_k4(np.array(blk[4:16], np.uint8)[None])
        ql = 16 if t == "Q4_K" else 48
        u1, u2 = 1, 2
        for c in range(4):
            d1, m1 = d * F32(sc[0, 2 * c]), mn * F32(mm[0, 2 * c])
            d2, m2 = d * F32(sc[0, 2 * c + 1]), mn * F32(mm[0, 2 * c + 1])
            for l in range(32):
                v = blk[ql + l] & 0xF
                if t == "Q5_K":
                    v += 16 if blk[16 + l] & u1 else 0
                y.append(d1 * F32(v) - m1)
            for l in range(32):
                v = blk[ql + l] >> 4
                if t == "Q5_K":
                    v += 16 if blk[16 + l] & u2 else 0
                y.append(d2 * F32(v) - m2)
            ql += 32
            u1 <<= 2
            u2 <<= 2
        return y
    if t == "Q6_K":
        d = h(208)
        out = [F32(0)] * 256
        for n in range(2):
            ql, qh, sc = n * 64, 128 + n * 32, 192 + n * 8
            for l in range(32):
                is_ = l // 16
                s = [F32(int(np.int8(np.uint8(blk[sc + is_ + 2 * k])))) for k in range(4)]
                q1 = ((blk[ql + l] & 0xF) | (((blk[qh + l] >> 0) & 3) << 4)) - 32
                q2 = ((blk[ql + l + 32] & 0xF) | (((blk[qh + l] >> 2) & 3) << 4)) - 32
                q3 = ((blk[ql + l] >> 4) | (((blk[qh + l] >> 4) & 3) << 4)) - 32
                q4 = ((blk[ql + l + 32] >> 4) | (((blk[qh + l] >> 6) & 3) << 4)) - 32
                for k, qv in enumerate((q1, q2, q3, q4)):
                    out[n * 128 + l + 32 * k] = d * s[k] * F32(qv)
        return out
    raise KeyError(t)


def error_bound(x, t):
    """Per element, the largest |dequantize(quantize(x)) - x| this module's round-to-nearest
    can make, from each block's range: half a step, one step where a value clamps at the far
    end, the error of the 4/6/8-bit sub-block scales and mins, and the f16 rounding (2^-11
    relative) of the block scales."""
    blk = block_size(t)
    xb = x.reshape(-1, blk).astype(np.float64)
    amax = np.abs(xb).max(axis=1)
    rng = xb.max(axis=1) - np.minimum(xb.min(axis=1), 0)
    f16 = amax * 2.0 ** -8
    if t == "Q8_0":
        b = amax / 254 + amax * 2.0 ** -11 * 1.01
    elif t in ("Q4_0", "Q5_0"):
        b = amax / (8 if t == "Q4_0" else 16) * (1 + 2.0 ** -6)
    elif t in ("Q4_1", "Q5_1"):
        steps = 15 if t == "Q4_1" else 31
        b = (xb.max(axis=1) - xb.min(axis=1)) / steps * 0.51 + f16
    elif t == "IQ4_NL":
        b = amax * (14 / 127) + f16     # +127 on the far side falls to 113
    elif t in ("Q2_K", "Q4_K", "Q5_K"):
        levels, smax = {"Q2_K": (3, 15), "Q4_K": (15, 63), "Q5_K": (31, 63)}[t]
        sub = xb.reshape(xb.shape[0], -1, 16 if t == "Q2_K" else 32)
        srange = (sub.max(axis=2) - np.minimum(sub.min(axis=2), 0)).max(axis=1) / levels
        b = srange * (0.5 + (1 + levels) / (2 * smax)) + amax / smax + f16
    elif t == "Q3_K":
        b = amax / 4 * (1 + 4 / 64 + 1 / 128) + f16
    elif t == "Q6_K":
        b = amax / 32 * (1 + 32 / 256 + 1 / 256) + f16
    else:
        raise KeyError(t)
    del rng
    return np.repeat(b, blk)


def selftest():
    rng = np.random.default_rng(7)
    rows = [rng.standard_normal(512) * s for s in (1.0, 0.02, 300.0)]
    rows.append(np.abs(rng.standard_normal(512)))                # one sign only
    rows.append(np.concatenate([np.zeros(256), np.full(256, -0.75)]))   # zero, constant
    rows.append(rng.standard_normal(512) ** 3)                   # heavy tails
    x = np.stack(rows).astype(F32)
    for t in TYPES:
        q = quantize(x, t)
        assert len(q) == x.shape[0] * row_bytes(t, x.shape[1]), t
        assert quantize(x, t) == q, f"{t}: quantize is not deterministic"
        y = dequantize(q, x.size, t)
        assert np.array_equal(y.view(np.uint32), dequantize(q, x.size, t).view(np.uint32))
        err = np.abs(y.astype(np.float64) - x.reshape(-1))
        if t == "F32":
            assert err.max() == 0
            bound = np.zeros_like(err)
        elif t in ("F16", "BF16"):
            bound = np.abs(x.reshape(-1)) * 2.0 ** (-11 if t == "F16" else -8)
            bound += 2.0 ** -25 if t == "F16" else 0      # f16's subnormal spacing, halved
            assert np.array_equal(quantize(y, t), q), t     # exact round trip of the values
        else:
            bound = error_bound(x, t)
        bad = err > bound * (1 + 1e-6) + 1e-30
        assert not bad.any(), f"{t}: error {err[bad][:4]} above bound {bound[bad][:4]}"
        rel = np.sqrt(np.mean(err[:2048] ** 2) / np.mean(x.reshape(-1)[:2048] ** 2))
        if t not in ("F32", "F16", "BF16"):
            # random bytes decode alike vectorised and in the scalar restatement, bit for bit
            _, blk, size = TYPES[t]
            raw = rng.integers(0, 256, (6, size), dtype=np.uint8)
            for off in {"Q2_K": (80, 82), "Q3_K": (108,), "Q6_K": (208,)}.get(
                    t, (0, 2) if t in ("Q4_1", "Q5_1", "Q4_K", "Q5_K") else (0,)):
                raw[:, off:off + 2] = rng.standard_normal(6).astype("<f2")[:, None].view(np.uint8)
            vec = dequantize(raw.tobytes(), 6 * blk, t).reshape(6, blk)
            for i in range(6):
                ref = np.array(_scalar_dequant(t, list(raw[i])), dtype=F32)
                assert np.array_equal(vec[i].view(np.uint32), ref.view(np.uint32)), \
                    f"{t}: block {i} decodes unlike the scalar restatement"
        print(f"{t:7s} ok: {row_bytes(t, 512):4d} bytes per 512, rms relative error {rel:.4f}")
    print("gguf_quants selftest: every type round-trips within its bound")


if __name__ == "__main__":
    if sys.argv[1:] != ["--selftest"]:
        raise SystemExit(__doc__)
    selftest()
