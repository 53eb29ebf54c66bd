#!/usr/bin/env python3
"""Reference generations of the GGUF fixtures: PyTorch on their dequantised weights.

For every folder DATA/fixtures/gguf/<name>/ (model.gguf + mmproj.gguf written by
tools/fixtures/make_gguf.py from the safetensors fixture tensors.json names) the weights are read
back from the two files, decoded by tools/pylib/gguf_quants.py (numpy, from ggml-quants.c), put
back in transformers' layout (ggml's dimension order reversed; attn_q / attn_k rows restored from
the interleaved order of convert_hf_to_gguf.py's LlamaModel.permute) and run by
tools/pylib/llava_torch.py in F32 on the engine oracle's cases (the same images and prompts as
tools/oracles/oracle_engine.py). kevo on the GGUF files must give these hidden states within the
F32 tolerance and the same tokens: what decoding quantised weights exactly means.

Writes DATA/oracle/gguf_engine/<name>/<case>.safetensors: pixel_values, prompt_ids, hidden,
logits, generated_ids (as oracle_engine.py).
usage: tools/oracles/oracle_gguf_engine.py DATA_DIR
"""
import json
import os
import sys

import numpy as np
import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
sys.path.insert(0, HERE)
import gguf_np  # noqa: E402
import gguf_quants as gq  # noqa: E402
import llava_torch as lt  # noqa: E402
import oracle_engine as oe  # noqa: E402


def unpermute(w, heads):
    """Inverse of LlamaModel.permute: row h*E + 2i + j of the file is row h*E + j*E/2 + i."""
    rows, k = w.shape
    e = rows // heads
    return w.reshape(heads, e // 2, 2, k).swapaxes(1, 2).reshape(rows, k)


def gguf_weights(folder, cfg):
    """{hub name: torch F32 tensor} of both files, decoded and back in transformers' layout."""
    info = json.load(open(os.path.join(folder, "tensors.json")))
    weights = {}
    for fname in ("model.gguf", "mmproj.gguf"):
        g = gguf_np.read(os.path.join(folder, fname))
        listed = {t["name"]: t for t in info["files"][fname]["tensors"]}
        for t in g["tensors"]:
            meta = listed[t["name"]]
            name = gq.NAME[t["type"]]
            n = int(np.prod(t["ne"]))
            raw = g["raw"][t["offset"]:t["offset"] + meta["n_bytes"]]
            a = gq.dequantize(raw, n, name).reshape(list(reversed(t["ne"])))
            if meta["permuted"]:
                heads = cfg.heads if ".attn_q." in t["name"] else cfg.kv_heads
                a = unpermute(a, heads)
            weights[meta["source"]] = torch.from_numpy(np.ascontiguousarray(a, np.float32))
    return info["fixture"], weights


def main():
    data = sys.argv[1]
    root = os.path.join(data, "fixtures", "gguf")
    torch.set_num_threads(2)
    for folder in sorted(os.listdir(root)):
        src = json.load(open(os.path.join(root, folder, "tensors.json")))["fixture"]
        model = lt.Llava(os.path.join(data, "fixtures", src))
        _, model.w = gguf_weights(os.path.join(root, folder), model.cfg)
        sp = spm.SentencePieceProcessor(
            model_file=os.path.join(data, "fixtures", src, "tokenizer.model"))
        out = os.path.join(data, "oracle", "gguf_engine", folder)
        os.makedirs(out, exist_ok=True)
        for case, (text, size, seed, max_new) in oe.CASES.items():
            px = oe.pixel_values(oe.make_image(size, seed), model.cfg.image_size)
            ids = oe.prompt_ids(sp, text)
            r = model.generate(px, ids, max_new)
            tensors = {"pixel_values": px.numpy(), "prompt_ids": np.array(ids, np.int64)}
            tensors.update({k: v.numpy() for k, v in r.items()})
            lt.write_safetensors(os.path.join(out, case + ".safetensors"), tensors,
                                 {"fixture": src, "gguf": folder, "max_new_tokens": str(max_new)})
    print(f"oracle_gguf_engine: {len(os.listdir(root))} GGUF fixtures -> "
          f"{os.path.join(data, 'oracle', 'gguf_engine')}")


if __name__ == "__main__":
    main()
