"""Reading and editing SentencePiece tokenizer.model files without the protobuf package.

A ModelProto in protobuf wire format (sentencepiece's src/sentencepiece_model.proto): field 1
repeated SentencePiece {piece = 1, score = 2, type = 3}, field 2 TrainerSpec, field 3
NormalizerSpec {add_dummy_prefix = 3, ...}. Only the few fields kevo's tools need are decoded.
"""
import struct

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def _varint(data, i):
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _encode_varint(value):
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def fields(data):
    """Yields (number, wire type, value, raw bytes of the whole field) of a message."""
    i = 0
    while i < len(data):
        start = i
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(data, i)
            value, i = data[i:i + n], i + n
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire} at byte {start}")
        yield number, wire, value, data[start:i]


def pieces(data):
    """[(piece str, score float, type int)] in id order."""
    out = []
    for number, _, value, _ in fields(data):
        if number != 1:
            continue
        piece, score, kind = "", 0.0, NORMAL
        for n, _, v, _ in fields(value):
            if n == 1:
                piece = v.decode("utf-8")
            elif n == 2:
                score = struct.unpack("<f", v)[0]
            elif n == 3:
                kind = v
        out.append((piece, score, kind))
    return out


def specs(data):
    """(trainer_spec fields, normalizer_spec fields) as {number: value} dicts."""
    trainer, normalizer = {}, {}
    for number, _, value, _ in fields(data):
        if number in (2, 3):
            target = trainer if number == 2 else normalizer
            for n, _, v, _ in fields(value):
                target[n] = v
    return trainer, normalizer


def without_dummy_prefix(data):
    """The model with normalizer_spec.add_dummy_prefix = false, as transformers' LlamaTokenizer
    loads it when legacy is False (get_spm_processor)."""
    out = bytearray()
    for number, _, value, raw in fields(data):
        if number != 3:
            out += raw
            continue
        body = bytearray()
        for n, _, _, sub_raw in fields(value):
            if n != 3:
                body += sub_raw
        body += _encode_varint(3 << 3 | 0) + _encode_varint(0)
        out += _encode_varint(3 << 3 | 2) + _encode_varint(len(body)) + body
    return bytes(out)
