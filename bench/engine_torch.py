#!/usr/bin/python3
"""PyTorch's side of bench/engine.py: the same model, the same work, timed the same way.

Runs tools/pylib/llava_torch.py (transformers' computation, eager attention, KV cache, every
hidden state kept as generate(output_hidden_states=True) keeps them) on a model folder in F32 or
BF16 and prints key=value lines: load_s, vision_s, prefill_s, decode_tok_s, peak_rss_mb.

A Qwen2-VL / Qwen2.5-VL folder (config.json's model_type) runs tools/pylib/qwen2vl_torch.py
instead, the same way: the tower and merger on the pixel_values of a --image W x H image (the
same deterministic stand-in values bench/engine.c makes), prefill with M-RoPE positions
(get_rope_index), then decoding one token at a time on its key/value cache (torch.cat per layer
and step, as transformers' DynamicCache grows). Its weights are read one tensor at a time and
rounded to the compute dtype (F16 on disk widens exactly to F32).

usage: /usr/bin/python3 bench/engine_torch.py MODEL_DIR f32|bf16 [--text 24] [--new 16]
                                              [--image 644x476]
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "pylib"))
import llava_torch as lt  # noqa: E402
import qwen2vl_image as qi  # noqa: E402
import qwen2vl_torch as qt  # noqa: E402


def stand_in_pixels(n):
    """bench/engine.c's pixel values: element i is (i * 7919 mod 255) / 127 - 1."""
    return (torch.arange(n, dtype=torch.int64) * 7919 % 255).float() / 127 - 1


def qwen(args, dtype):
    """The Qwen path: prints the same keys as the LLaVA one. Returns {key: best seconds}."""
    t0 = time.perf_counter()
    model = qt.Qwen2VL(args.model_dir, dtype)
    print(f"load_s={time.perf_counter() - t0:.3f}")
    w, cfg = model.w, model.cfg
    with open(os.path.join(args.model_dir, "preprocessor_config.json")) as f:
        pp = qi.ProcessorConfig(json.load(f))
    width, height = (int(v) for v in args.image.split("x"))
    rh, rw = qi.smart_resize(height, width, cfg.patch * cfg.merge, pp.min_pixels, pp.max_pixels)
    grid = torch.tensor([[1, rh // cfg.patch, rw // cfg.patch]])
    n_patches = int(grid.prod())
    row = cfg.in_channels * cfg.temporal_patch * cfg.patch ** 2
    px = stand_in_pixels(n_patches * row).reshape(n_patches, row).to(dtype)
    n_image = n_patches // cfg.merge ** 2
    # bench/engine.c's prompt: <|im_start|>, text, <|vision_start|> image <|vision_end|>, text
    ids = [100 + (i * 389) % 20000 for i in range(args.text + 1)]
    half = len(ids) // 2
    ids[0], ids[half - 1], ids[half + 1] = 151644, cfg.vision_start_token_id, 151653
    ids[half] = cfg.image_token_id
    ids = model.expand(ids, n_image)
    embed = w["model.embed_tokens.weight"]
    image_mask = torch.tensor(ids) == cfg.image_token_id
    best = {}
    for rep in range(4):   # the first repetition warms allocator and caches; best of three
        t0 = time.perf_counter()
        _, image_embeds = qt.vision_forward(w, cfg, px, grid)
        t1 = time.perf_counter()
        embeds = embed[torch.tensor(ids)][None]
        embeds = embeds.masked_scatter(image_mask[None, :, None].expand_as(embeds), image_embeds)
        position_ids, delta = qt.get_rope_index(cfg, ids, grid)
        cache, hidden = {}, []
        states, logits = qt.text_forward(w, cfg, embeds, position_ids, cache)
        hidden.append(torch.stack([s[0, -1].float() for s in states]))
        t2 = time.perf_counter()
        n = len(ids)
        for step in range(args.new - 1):
            nxt = int(torch.argmax(logits))
            pos = torch.full((3, 1), n + step + delta, dtype=torch.int64)
            states, logits = qt.text_forward(w, cfg, embed[torch.tensor([[nxt]])], pos, cache)
            hidden.append(torch.stack([s[0, -1].float() for s in states]))
        t3 = time.perf_counter()
        if rep == 0:
            continue
        for key, val in (("vision_s", t1 - t0), ("prefill_s", t2 - t1), ("decode_s", t3 - t2)):
            best[key] = min(best.get(key, val), val)
    print(f"image_tokens={n_image}\nimage_patches={n_patches}")
    return best, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("dtype", choices=["f32", "bf16"])
    ap.add_argument("--text", type=int, default=24)
    ap.add_argument("--new", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--image", default="644x476", help="Qwen: the image's width x height")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "f32" else torch.bfloat16
    family = json.load(open(os.path.join(args.model_dir, "config.json"))).get("model_type")
    if family in qt.FAMILIES:
        with torch.inference_mode():
            best, n = qwen(args, dtype)
    else:
        best, n = llava(args, dtype)
    print(f"vision_s={best['vision_s']:.3f}\nprefill_s={best['prefill_s']:.3f}")
    print(f"decode_tok_s={(args.new - 1) / best['decode_s']:.3f}\npositions={n}")
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


def llava(args, dtype):
    """The LLaVA path. Returns ({key: best seconds}, prompt positions)."""
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
    return best, n


if __name__ == "__main__":
    main()
