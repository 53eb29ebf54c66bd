#!/usr/bin/python3
"""Reference pixel_values for kevo's LLaVA-NeXT image processor (src/image/anyres.h).

usage: tools/oracles/oracle_anyres.py DATA_DIR

Writes DATA_DIR/oracle/anyres/:
  inputs/      generated RGB PNGs of many aspect ratios (2:1, 1:3, square, 5 x 7, 2000 x 300,
               odd sizes whose padding is odd)
  configs/     preprocessor_config.json of llava-hf/llava-v1.6 ("real": crop 336) and a tiny one
               ("tiny": crop 56)
  cases/       one safetensors per (image, config): "pixel_values" F32 [n_tiles, 3, t, t] and
               "layout" I32 [11] = best_h, best_w, resized_w, resized_h, pad_x, pad_y, tile,
               grid_rows, grid_cols, n_tiles, base_side
  manifest.tsv one line per case: name, image, config folder, case file (relative to anyres/)
  select.tsv   select_best_resolution on a table: height, width, n, n (h, w) pairs, best_h, best_w

transformers is not installed here: this re-states, in numpy + Pillow, the slow path of
transformers' models/llava_next/image_processing_llava_next.py LlavaNextImageProcessor.preprocess
(get_image_patches: select_best_resolution and get_patch_output_size from
image_processing_utils.py, _resize_for_patching, _pad_for_patching with divmod offsets,
divide_to_patches, the original resized to (shortest_edge, shortest_edge); then _preprocess on
every tile: CLIPImageProcessor's resize, center_crop, rescale, normalize). transformers' resize
is PIL.Image.resize((w, h), BICUBIC) on the uint8 array (to_pil_image does not rescale uint8);
np.pad keeps uint8. Image heights of 1 or 3 are avoided: transformers'
infer_channel_dimension_format would read such an (H, W, 3) array as channels-first.
"""
import json
import math
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import safetensors_np as st  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

CONFIGS = {
    # llava-hf/llava-v1.6-mistral-7b-hf's preprocessor_config.json
    "real": dict(crop_size={"height": 336, "width": 336}, do_center_crop=True,
                 do_convert_rgb=True, do_normalize=True, do_rescale=True, do_resize=True,
                 image_grid_pinpoints=[[336, 672], [672, 336], [672, 672], [1008, 336],
                                       [336, 1008]],
                 image_mean=CLIP_MEAN, image_std=CLIP_STD, resample=3,
                 rescale_factor=1 / 255, size={"shortest_edge": 336},
                 image_processor_type="LlavaNextImageProcessor"),
    # the same shape at crop 56
    "tiny": dict(crop_size={"height": 56, "width": 56}, do_center_crop=True,
                 do_convert_rgb=True, do_normalize=True, do_rescale=True, do_resize=True,
                 image_grid_pinpoints=[[56, 112], [112, 56], [112, 112], [168, 56], [56, 168]],
                 image_mean=[0.5, 0.25, 0.75], image_std=[0.5, 0.125, 0.3], resample=3,
                 rescale_factor=1 / 255, size={"shortest_edge": 56},
                 image_processor_type="LlavaNextImageProcessor"),
}

# (name, width, height)
IMAGES = [("land2x1", 400, 200), ("port1x3", 120, 360), ("square", 256, 256),
          ("tiny5x7", 5, 7), ("huge2000x300", 2000, 300), ("odd333x517", 333, 517),
          ("odd641x479", 641, 479), ("odd57x113", 57, 113), ("wide113x57", 113, 57),
          ("exact672x336", 672, 336), ("thin9x400", 9, 400), ("big1100x1000", 1100, 1000)]


def make_image(w, h, seed):
    """Smooth gradients, a few edges and noise: content every resampling tap can see."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1),
                     127.5 + 127.5 * np.sin((x + 2 * y) / 7.0)], axis=-1)
    base[(x.astype(int) // 13 + y.astype(int) // 11) % 2 == 0] *= 0.6
    noisy = base + rng.normal(0, 18, base.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# The reference pipeline

def select_best_resolution(original_size, possible_resolutions):
    """image_processing_utils.select_best_resolution: original_size (height, width)."""
    original_height, original_width = original_size
    best_fit, max_effective, min_wasted = None, 0, float("inf")
    for height, width in possible_resolutions:
        scale = min(width / original_width, height / original_height)
        dw, dh = int(original_width * scale), int(original_height * scale)
        effective = min(dw * dh, original_width * original_height)
        wasted = width * height - effective
        if effective > max_effective or (effective == max_effective and wasted < min_wasted):
            max_effective, min_wasted, best_fit = effective, wasted, (height, width)
    return best_fit


def get_patch_output_size(height, width, target):
    """image_processing_utils.get_patch_output_size: (new_height, new_width)."""
    th, tw = target
    scale_w, scale_h = tw / width, th / height
    if scale_w < scale_h:
        return min(math.ceil(height * scale_w), th), tw
    return th, min(math.ceil(width * scale_h), tw)


def pil_resize(arr, h, w):
    """image_transforms.resize on a uint8 HWC array: PIL Image.resize((w, h), BICUBIC)."""
    return np.array(Image.fromarray(arr).resize((w, h), resample=Image.BICUBIC))


def clip_tile(arr, cfg):
    """LlavaNextImageProcessor._preprocess (CLIPImageProcessor's steps) on one HWC uint8 tile."""
    if cfg["do_resize"]:
        s = cfg["size"]["shortest_edge"]
        h, w = arr.shape[:2]
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(s * long / short)
        nw, nh = (s, new_long) if w <= h else (new_long, s)
        arr = pil_resize(arr, nh, nw)
    if cfg["do_center_crop"]:
        ch, cw = cfg["crop_size"]["height"], cfg["crop_size"]["width"]
        h, w = arr.shape[:2]
        top, left = (h - ch) // 2, (w - cw) // 2
        assert top >= 0 and left >= 0, "tiles are never smaller than the crop here"
        arr = arr[top:top + ch, left:left + cw]
    x = arr
    if cfg["do_rescale"]:
        x = (x.astype(np.float64) * cfg["rescale_factor"]).astype(np.float32)
    if cfg["do_normalize"]:
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        x = (x - np.array(cfg["image_mean"], dtype=x.dtype)) / np.array(cfg["image_std"],
                                                                         dtype=x.dtype)
    return np.ascontiguousarray(x.astype(np.float32).transpose(2, 0, 1))


def anyres(arr, cfg):
    """LlavaNextImageProcessor.preprocess on one RGB uint8 HWC image: (pixel_values, layout)."""
    height, width = arr.shape[:2]
    best = select_best_resolution((height, width), cfg["image_grid_pinpoints"])
    new_h, new_w = get_patch_output_size(height, width, best)
    resized = pil_resize(arr, new_h, new_w)
    paste_x, r_x = divmod(best[1] - new_w, 2)
    paste_y, r_y = divmod(best[0] - new_h, 2)
    padded = np.pad(resized, ((paste_y, paste_y + r_y), (paste_x, paste_x + r_x), (0, 0)),
                    mode="constant", constant_values=0)
    assert padded.shape[:2] == tuple(best) and padded.dtype == np.uint8
    patch = cfg["crop_size"]["height"]
    patches = [padded[i:i + patch, j:j + patch] for i in range(0, best[0], patch)
               for j in range(0, best[1], patch)]
    side = cfg["size"]["shortest_edge"]
    tiles = [pil_resize(arr, side, side)] + patches
    pixels = np.stack([clip_tile(t, cfg) for t in tiles])
    rows, cols = best[0] // patch, best[1] // patch
    layout = np.array([best[0], best[1], new_w, new_h, paste_x, paste_y, patch, rows, cols,
                       1 + rows * cols, side], dtype=np.int32)
    return pixels, layout


def select_table():
    """select_best_resolution cases, ties included: (height, width, pinpoints)."""
    real = CONFIGS["real"]["image_grid_pinpoints"]
    cases = [(h, w, real) for h, w in [(200, 400), (360, 120), (256, 256), (7, 5), (300, 2000),
                                       (336, 672), (672, 336), (1000, 1100), (1, 1),
                                       (100000, 1), (1, 100000), (337, 673)]]
    ties = [[336, 672], [672, 336]]                   # a square: equal effective and waste
    cases += [(500, 500, ties), (500, 500, ties[::-1]), (10, 10, [[336, 336], [336, 336]]),
              (2000, 2000, [[336, 672], [672, 336], [672, 672]]),
              (50, 50, [[56, 112], [112, 56], [112, 112], [168, 56], [56, 168]]),
              (100, 30, [[112, 56], [56, 112], [168, 56], [56, 168]]),
              (3, 3, [[56, 56], [112, 112]]),          # both cover the image: less waste wins
              (1000, 1000, [[112, 112], [56, 56]])]
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 8))
        pins = [[int(rng.integers(1, 12)) * 56, int(rng.integers(1, 12)) * 56] for _ in range(n)]
        cases.append((int(rng.integers(1, 3000)), int(rng.integers(1, 3000)), pins))
    return cases


def main():
    data = sys.argv[1]
    out = os.path.join(data, "oracle", "anyres")
    for sub in ("inputs", "configs", "cases"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for name, cfg in CONFIGS.items():
        d = os.path.join(out, "configs", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
    lines = []
    for seed, (name, w, h) in enumerate(IMAGES):
        path = os.path.join(out, "inputs", name + ".png")
        Image.fromarray(make_image(w, h, seed)).save(path)
        arr = np.array(Image.open(path).convert("RGB"))
        for cname, cfg in CONFIGS.items():
            pixels, layout = anyres(arr, cfg)
            case = os.path.join(out, "cases", f"{name}__{cname}.safetensors")
            st.write(case, {"pixel_values": pixels, "layout": layout})
            lines.append(f"{name}/{cname}\tinputs/{name}.png\tconfigs/{cname}\t"
                         f"cases/{name}__{cname}.safetensors\n")
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.writelines(lines)
    with open(os.path.join(out, "select.tsv"), "w") as f:
        for h, w, pins in select_table():
            bh, bw = select_best_resolution((h, w), pins)
            flat = " ".join(f"{a} {b}" for a, b in pins)
            f.write(f"{h} {w} {len(pins)} {flat} {bh} {bw}\n")
    print(f"oracle_anyres: {len(lines)} cases in {out}")


if __name__ == "__main__":
    main()
