#!/usr/bin/python3
"""Reference outputs of LLaVA-NeXT for the next-* fixtures, from tools/pylib/llava_next_torch.py.

For each fixture (DATA/fixtures/next-*) and each case below it writes
DATA/oracle/next/<fixture>/<case>.safetensors and the case's image as <case>.png:
  pixel_values    (n_tiles, 3, 56, 56) F32  base image first, then the grid's tiles row by row
  image_size      [H, W] I64
  layout          [best_h, best_w, grid_rows, grid_cols, unpadded_rows, unpadded_cols] I64
                  (the unpadded grid in features, before the newline column)
  vision_features (n_tiles, 16, F) F32      feature layer(s) concatenated, CLS dropped
  image_embeds    (N, D) F32                pack_image_features: base tile, then the unpadded
                                            grid row by row with image_newline after every row
  prompt_ids      [P] I64                   <image> expanded to N image tokens (id 512)
  prompt_ids_slot [P - N + 1] I64           the same with one -200 at the image
  generated_ids   [T] I64, hidden [T, L+1, D] F32, logits [T, V] F32,
  image_hidden    [N, L+1, D] F32           every image position's states at prefill
metadata: prompt, question, template, max_new_tokens, fixture, sliding_window, torch.
F32 computation throughout (BF16 weights widened exactly).

Self-checks (assertions): the packed length equals the processor's count
(_get_number_of_features); the unpadded grid equals _get_unpadded_features; an image that is
exactly a pinpoint gets no padding; the cases select several grid shapes; on next-mistral-f32 the
sliding window changes the result against no window.

usage: /usr/bin/python3 tools/oracles/oracle_next.py DATA_DIR
"""
import argparse
import os
import sys

import numpy as np
import sentencepiece as spm
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import llava_next_torch as ln  # noqa: E402
import llava_torch as lt  # noqa: E402
from oracle_engine import make_image  # noqa: E402  (the same test pictures)

FIXTURES = ["next-vicuna-f32", "next-vicuna-bf16", "next-mistral-f32"]
CASES = {
    # name: (image (width, height), seed, question, max_new_tokens)
    "landscape": ((150, 60), 11, "What is in the picture?", 12),
    "portrait": ((40, 130), 12, "Describe the image.", 10),
    "square": ((90, 90), 13, "What color is the circle?", 16),
    "tiny": ((9, 5), 14, "Is it dark?", 8),
    "huge": ((1500, 400), 15, "What is shown here?", 8),
    "pinpoint": ((112, 56), 16, "Where is the flower?", 12),   # exactly [56, 112]: no padding
    "odd": ((97, 41), 17, "What do you see?", 10),
    "odd-tall": ((33, 71), 18, "Please describe this image in detail.", 14),  # pads 1 + 2 px
    "odd-pad": ((52, 40), 19, "What is it?", 10),      # pads 19 + 20 px; 8 feature cols -> 6
    "slim": ((30, 100), 20, "What is on the left?", 10),   # 4 feature cols -> 2
    "flat": ((100, 30), 21, "What is on the top?", 10),    # 4 feature rows -> 2
}
TEMPLATES = {
    "vicuna": "USER: <image>\n{q} ASSISTANT:",           # llava-hf chat template, one user turn
    "mistral": "[INST] <image>\n{q} [/INST]",
}


def slot_ids(sp, prompt):
    """The processor's single tokeniser call (LlamaTokenizerFast with the legacy normaliser: each
    segment around the added <image> token gets its own "▁"), BOS first; the image as one -200."""
    before, after = prompt.split("<image>")
    return [1] + sp.encode(before) + [lt.IMAGE_SLOT] + sp.encode(after)


def run_case(model, sp, fixture, name, out_dir, family):
    cfg = model.cfg
    size, seed, question, max_new = CASES[name]
    img = make_image(size, seed)
    px, image_size, best, padded, pads = ln.anyres_pixel_values(img, cfg)
    h, w = image_size
    count, rows, cols = ln.number_of_features(cfg, h, w)
    prompt = TEMPLATES[family].format(q=question)
    ids_slot = slot_ids(sp, prompt)
    ids = model.expand(ids_slot, count)
    r = model.generate(px, image_size, ids, max_new)
    n = r["image_embeds"].shape[0]
    assert n == count, (fixture, name, n, count)                       # packed length
    assert r["unpadded_shape"] == (rows, cols), (r["unpadded_shape"], rows, cols)
    g = cfg.image_size // cfg.patch
    assert count == rows * (cols + 1) + g * g
    grid_rows, grid_cols = best[0] // cfg.image_size, best[1] // cfg.image_size
    assert px.shape[0] == 1 + grid_rows * grid_cols
    if name == "pinpoint":   # the image is exactly a pinpoint: no padding, nothing unpadded
        assert list(best) == [h, w] and pads == (0, 0, 0, 0), (best, pads)
        assert (rows, cols) == (grid_rows * g, grid_cols * g)
    # the packing again, by explicit indices: feature (y, x) of the padded grid is position
    # (y % G) * G + x % G of tile 1 + (y // G) * grid_cols + x // G
    proj = lt.project(model.w, r["vision_features"])
    y0, x0 = (grid_rows * g - rows) // 2, (grid_cols * g - cols) // 2
    expect = [proj[0, k] for k in range(g * g)]
    for y in range(y0, y0 + rows):
        for x in range(x0, x0 + cols):
            expect.append(proj[1 + (y // g) * grid_cols + x // g, (y % g) * g + x % g])
        expect.append(model.w["image_newline"])
    assert torch.equal(torch.stack(expect), r["image_embeds"]), name
    layout = [best[0], best[1], grid_rows, grid_cols, rows, cols]
    tensors = {
        "pixel_values": px.numpy(),
        "image_size": np.array(image_size, np.int64),
        "layout": np.array(layout, np.int64),
        "vision_features": r["vision_features"].numpy(),
        "image_embeds": r["image_embeds"].numpy(),
        "prompt_ids": np.array(ids, np.int64),
        "prompt_ids_slot": np.array(ids_slot, np.int64),
        "generated_ids": r["generated_ids"].numpy(),
        "hidden": r["hidden"].numpy(),
        "logits": r["logits"].numpy(),
        "image_hidden": r["image_hidden"].numpy(),
    }
    img.save(os.path.join(out_dir, f"{name}.png"))
    lt.write_safetensors(os.path.join(out_dir, f"{name}.safetensors"), tensors, {
        "prompt": prompt, "question": question, "template": family,
        "max_new_tokens": str(max_new), "fixture": fixture, "image_mode": "anyres",
        "sliding_window": str(cfg.sliding_window), "compute": "f32",
        "torch": torch.__version__})
    return r, layout, ids, pads


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    for fx in FIXTURES:
        model_dir = os.path.join(args.data_dir, "fixtures", fx)
        out_dir = os.path.join(args.data_dir, "oracle", "next", fx)
        os.makedirs(out_dir, exist_ok=True)
        sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
        family = "mistral" if "mistral" in fx else "vicuna"
        model = ln.LlavaNext(model_dir)
        grids, odd_pad, cut_rows, cut_cols = set(), False, False, False
        for name in CASES:
            r, layout, ids, pads = run_case(model, sp, fx, name, out_dir, family)
            grids.add((layout[2], layout[3]))
            odd_pad |= pads[0] != pads[1] or pads[2] != pads[3]
            cut_rows |= layout[4] < layout[2] * 4
            cut_cols |= layout[5] < layout[3] * 4
            print(f"{fx}/{name}: {CASES[name][0]} -> layout {layout}, {len(ids)} prompt ids, "
                  f"{r['image_embeds'].shape[0]} image tokens, "
                  f"generated {r['generated_ids'].tolist()}")
        # the cases exercise several grid shapes, odd pixel padding, unpadding on both axes
        assert len(grids) >= 3 and odd_pad and cut_rows and cut_cols, (grids, odd_pad, cut_rows,
                                                                        cut_cols)
        if family == "mistral":
            # the window must matter for these prompts: the same case without it differs
            assert model.cfg.sliding_window is not None
            unlimited = ln.LlavaNext(model_dir, sliding_window=None)
            for name in ("landscape", "square"):
                size, seed, question, max_new = CASES[name]
                img = make_image(size, seed)
                px, image_size, _, _, _ = ln.anyres_pixel_values(img, model.cfg)
                count = ln.number_of_features(model.cfg, *image_size)[0]
                ids = model.expand(slot_ids(sp, TEMPLATES[family].format(q=question)), count)
                assert len(ids) > model.cfg.sliding_window
                a = model.generate(px, image_size, ids, max_new)
                b = unlimited.generate(px, image_size, ids, max_new)
                d = float((a["logits"][0] - b["logits"][0]).abs().max())
                assert d > 1e-2, (name, d)
                print(f"{fx}/{name}: sliding window {model.cfg.sliding_window} vs none: "
                      f"first logits differ by {d:.4f}")


if __name__ == "__main__":
    main()
