#!/usr/bin/python3
"""Reference outputs of Qwen2-VL's image processor (tools/pylib/qwen2vl_image.py: numpy and
Pillow re-stating transformers' image_processing_qwen2_vl.py) for tests/test_qwen_image.c.

Writes under DATA/oracle/qwen_image/:
  <config>/preprocessor_config.json     two processor configs: "default" (the class defaults:
                                        56*56 .. 28*28*1280 pixels) and "small" (3136 .. 50176)
  <config>/<case>.png                   the test picture (oracle_engine.make_image)
  <config>/<case>.safetensors           pixel_values (S, 1176) F32, grid [t, h, w] I64,
                                        resized [h, w] I64
  smart_resize.tsv                      height width factor min max -> h w, or "error"
Self-checks: each case's rows equal a direct per-patch cut of the normalised image (an
independent statement of the reshape and permute), and the cases reach both bounds of
smart_resize, ties of its rounding, and the aspect-ratio limit.

usage: /usr/bin/python3 tools/oracles/oracle_qwen_image.py DATA_DIR
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
sys.path.insert(0, HERE)
import qwen2vl_image as qi  # noqa: E402
import safetensors_np as st  # noqa: E402
from oracle_engine import make_image  # noqa: E402

CONFIGS = {
    "default": {},
    "small": {"min_pixels": 3136, "max_pixels": 50176},
}
# (width, height): the min_pixels branch (tiny), the max_pixels branch (big), odd sizes, exact
# multiples, sides of k + 1/2 patches-and-merges (42 = 1.5 * 28, 70 = 2.5 * 28, 98 = 3.5 * 28:
# round half to even), an aspect ratio just under 200
CASES = {"tiny": (9, 5), "ten": (10, 10), "big": (1500, 400), "huge": (2000, 2000),
         "odd": (97, 41), "odd-tall": (33, 71), "exact": (56, 28), "half1": (42, 70),
         "half2": (98, 42), "slim": (1990, 10), "landscape": (150, 60), "portrait": (40, 130)}
RESIZE_CASES = [(h, w, f, lo, hi) for (h, w) in [(5, 9), (10, 10), (42, 42), (70, 70), (98, 14),
                                                 (400, 1500), (2000, 2000), (10, 2001),
                                                 (10, 1990), (1, 200), (1, 201), (3584, 3584),
                                                 (28, 28), (27, 29), (14, 2800)]
                for (f, lo, hi) in [(28, 3136, 1003520), (28, 3136, 50176), (32, 4096, 65536)]]


def direct_rows(x, grid, cfg):
    """The rows cut patch by patch from the normalised (H, W, 3) image, without reshapes."""
    _, gh, gw = grid
    p, m, tp = cfg.patch_size, cfg.merge_size, cfg.temporal_patch_size
    rows = []
    for by in range(gh // m):
        for bx in range(gw // m):
            for i in range(m):
                for j in range(m):
                    y, xx = by * m + i, bx * m + j
                    patch = x[y * p:(y + 1) * p, xx * p:(xx + 1) * p].transpose(2, 0, 1)
                    rows.append(np.stack([patch] * tp, 1).reshape(-1))
    return np.stack(rows)


def main(data_dir):
    out = os.path.join(data_dir, "oracle", "qwen_image")
    hit = set()
    for cname, pp in CONFIGS.items():
        d = os.path.join(out, cname)
        os.makedirs(d, exist_ok=True)
        config = dict(pp, image_processor_type="Qwen2VLImageProcessor", patch_size=14,
                      temporal_patch_size=2, merge_size=2, image_mean=qi.CLIP_MEAN,
                      image_std=qi.CLIP_STD, processor_class="Qwen2VLProcessor")
        with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
        cfg = qi.ProcessorConfig(config)
        for name, size in CASES.items():
            img = make_image(size, 100 + len(hit))
            img.save(os.path.join(d, name + ".png"))
            px, grid, resized = qi.preprocess(img, cfg)
            x = (resized.astype(np.float64) * cfg.rescale_factor).astype(np.float32)
            x = (x - np.array(cfg.mean, np.float32)) / np.array(cfg.std, np.float32)
            assert np.array_equal(px, direct_rows(x, grid, cfg)), (cname, name)
            h, w = size[1], size[0]
            area = round(h / 28) * 28 * round(w / 28) * 28
            hit.add("min" if area < cfg.min_pixels else "max" if area > cfg.max_pixels else "mid")
            st.write(os.path.join(d, name + ".safetensors"),
                     {"pixel_values": px, "grid": np.array(grid, np.int64),
                      "resized": np.array(resized.shape[:2], np.int64)})
    assert hit == {"min", "max", "mid"}, hit
    errors = 0
    with open(os.path.join(out, "smart_resize.tsv"), "w") as f:
        for (h, w, fac, lo, hi) in RESIZE_CASES:
            try:
                rh, rw = qi.smart_resize(h, w, fac, lo, hi)
                f.write(f"{h}\t{w}\t{fac}\t{lo}\t{hi}\t{rh}\t{rw}\n")
            except ValueError:
                errors += 1
                f.write(f"{h}\t{w}\t{fac}\t{lo}\t{hi}\terror\n")
    assert errors > 0
    print(f"oracle_qwen_image: {len(CONFIGS) * len(CASES)} images, {len(RESIZE_CASES)} resizes "
          f"({errors} refused)")


if __name__ == "__main__":
    main(sys.argv[1])
