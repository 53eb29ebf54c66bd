"""Qwen2-VL's image processor (Qwen2-VL and Qwen2.5-VL share it) in numpy and Pillow, re-stating
transformers' models/qwen2_vl/image_processing_qwen2_vl.py (the slow, Pillow path):

  smart_resize          both sides to multiples of factor = patch_size * merge_size (28),
                        Python's round (half to even); outside [min_pixels, max_pixels] the
                        area is scaled by beta and the sides floored (too big) or ceiled (too
                        small); an aspect ratio above 200 is refused
  Qwen2VLImageProcessor._preprocess
                        convert to RGB, resize (image_transforms.resize: PIL bicubic on the
                        uint8 image), rescale in float64 then float32, normalise in float32,
                        channels first; a still image is repeated temporal_patch_size times;
                        reshape (t, T, C, h/m, m, P, w/m, m, P), permute (0, 3, 6, 4, 7, 2, 1,
                        5, 8), flatten to (t * h * w, C * T * P * P): each merge window's m x m
                        patches are consecutive rows
"""
import math

import numpy as np
from PIL import Image

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]   # image_utils.py OPENAI_CLIP_MEAN
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


class ProcessorConfig:
    """Qwen2VLImageProcessor.__init__'s defaults, overridden by preprocessor_config.json (its
    min_pixels / max_pixels, or size's shortest_edge / longest_edge when those are absent)."""

    def __init__(self, pp=None):
        pp = pp or {}
        size = pp.get("size") or {}
        self.min_pixels = pp.get("min_pixels", size.get("shortest_edge", 56 * 56))
        self.max_pixels = pp.get("max_pixels", size.get("longest_edge", 28 * 28 * 1280))
        self.patch_size = pp.get("patch_size", 14)
        self.temporal_patch_size = pp.get("temporal_patch_size", 2)
        self.merge_size = pp.get("merge_size", 2)
        self.mean = pp.get("image_mean", CLIP_MEAN)
        self.std = pp.get("image_std", CLIP_STD)
        self.rescale_factor = pp.get("rescale_factor", 1 / 255)


def smart_resize(height, width, factor=28, min_pixels=56 * 56, max_pixels=28 * 28 * 1280):
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"absolute aspect ratio must be smaller than 200, got "
                         f"{max(height, width) / min(height, width)}")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def preprocess(img, cfg):
    """One image -> (pixel_values float32 (S, C * T * P * P), grid [t, h, w] in patches,
    the resized uint8 image (H, W, 3))."""
    arr = np.asarray(img.convert("RGB"))
    height, width = arr.shape[:2]
    p, m, tp = cfg.patch_size, cfg.merge_size, cfg.temporal_patch_size
    rh, rw = smart_resize(height, width, p * m, cfg.min_pixels, cfg.max_pixels)
    resized = np.asarray(Image.fromarray(arr, "RGB").resize((rw, rh), resample=Image.BICUBIC))
    x = (resized.astype(np.float64) * cfg.rescale_factor).astype(np.float32)
    x = (x - np.array(cfg.mean, np.float32)) / np.array(cfg.std, np.float32)
    patches = np.broadcast_to(x.transpose(2, 0, 1)[None], (tp, 3, rh, rw))
    gt, gh, gw = 1, rh // p, rw // p
    flat = (patches.reshape(gt, tp, 3, gh // m, m, p, gw // m, m, p)
            .transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
            .reshape(gt * gh * gw, 3 * tp * p * p))
    return np.ascontiguousarray(flat), [gt, gh, gw], resized
