#!/usr/bin/python3
"""PyTorch's side of bench/engine.py: the same model, the same work, timed the same way.

Runs tools/pylib/llava_torch.py (transformers' computation, eager attention, KV cache, every
hidden state kept as generate(output_hidden_states=True) keeps them) on a model folder in F32 or
BF16 and prints key=value lines: load_s, vision_s, prefill_s, decode_tok_s, peak_rss_mb.

usage: /usr/bin/python3 bench/engine_torch.py MODEL_DIR f32|bf16 [--text 24] [--new 16]
"""
import argparse
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "pylib"))
import llava_torch as lt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("dtype", choices=["f32", "bf16"])
    ap.add_argument("--text", type=int, default=24)
    ap.add_argument("--new", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "f32" else torch.bfloat16
    t0 = time.perf_counter()
    model = lt.Llava(args.model_dir, dtype)
    print(f"load_s={time.perf_counter() - t0:.3f}")
    w, cfg = model.w, model.cfg
    px = (torch.arange(3 * cfg.image_size ** 2, dtype=torch.float32) * 7919 % 255 / 127 - 1)
    px = px.reshape(1, 3, cfg.image_size, cfg.image_size).to(dtype)
    ids = [1] + [100 + (i * 389) % 20000 for i in range(1, args.text + 1)]
    embed = w["language_model.model.embed_tokens.weight"]
    best = {}
    with torch.inference_mode():
        for rep in range(4):   # the first repetition warms allocator and caches; best of three
            t0 = time.perf_counter()
            proj = lt.project(w, lt.image_features(w, cfg, px))
            t1 = time.perf_counter()
            text = embed[torch.tensor(ids)][None]
            half = len(ids) // 2
            embeds = torch.cat([text[:, :half], proj, text[:, half:]], dim=1)
            cache, hidden = {}, []
            n = embeds.shape[1]
            states, logits = lt.llama_forward(w, cfg, embeds, torch.arange(n), cache)
            hidden.append(torch.stack([s[0, -1].float() for s in states]))
            t2 = time.perf_counter()
            pos = n
            for _ in range(args.new - 1):
                nxt = int(torch.argmax(logits[0, -1]))
                states, logits = lt.llama_forward(w, cfg, embed[torch.tensor([[nxt]])],
                                                  torch.arange(pos, pos + 1), cache)
                hidden.append(torch.stack([s[0, -1].float() for s in states]))
                pos += 1
            t3 = time.perf_counter()
            if rep == 0:
                continue
            for key, val in (("vision_s", t1 - t0), ("prefill_s", t2 - t1), ("decode_s", t3 - t2)):
                best[key] = min(best.get(key, val), val)
    print(f"vision_s={best['vision_s']:.3f}\nprefill_s={best['prefill_s']:.3f}")
    print(f"decode_tok_s={(args.new - 1) / best['decode_s']:.3f}\npositions={n}")
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


if __name__ == "__main__":
    main()
