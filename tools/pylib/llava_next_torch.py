"""LLaVA-NeXT (LLaVA-1.6) in plain PyTorch, re-stating Hugging Face transformers (the reference).

Built on llava_torch.py (CLIP tower, projector, LLaMA/Mistral decoder); this module adds what
LLaVA-NeXT changes, following
  transformers/image_processing_utils.py          select_best_resolution, get_patch_output_size
  transformers/models/llava_next/image_processing_llava_next.py
                                                  LlavaNextImageProcessor: get_image_patches
                                                  (_resize_for_patching, _pad_for_patching,
                                                  divide_to_patches, the base image), _preprocess
  transformers/models/llava_next/processing_llava_next.py
                                                  LlavaNextProcessor: _get_number_of_features,
                                                  _get_unpadded_features, the <image> expansion
  transformers/models/llava_next/modeling_llava_next.py
                                                  get_anyres_image_grid_shape,
                                                  image_size_to_num_patches, unpad_image,
                                                  get_image_features, pack_image_features, the
                                                  masked_scatter of the features
  transformers/models/mistral/                    MistralConfig (sliding_window), the sliding
                                                  window mask (masking_utils.py)
Weights stored as F16/BF16 are widened exactly to F32; everything runs in F32.
"""
import json
import math
import os

import numpy as np
import torch
from PIL import Image

import llava_torch as lt


# ----------------------------------------------------------------------------------------------
# Config

class NextConfig(lt.Config):
    """LlavaNextConfig's values on top of llava_torch.Config, and the processor's."""

    def __init__(self, model_dir):
        super().__init__(model_dir)
        c = json.load(open(os.path.join(model_dir, "config.json")))
        # LlavaNextConfig's class default pinpoints
        self.pinpoints = c.get("image_grid_pinpoints",
                               [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]])
        self.image_token = c.get("image_token_index", c.get("image_token_id", 32000))
        self.strategy = c.get("vision_feature_select_strategy", "default")
        p = {}
        ppath = os.path.join(model_dir, "preprocessor_config.json")
        if os.path.exists(ppath):
            p = json.load(open(ppath))
        self.pp_pinpoints = p.get("image_grid_pinpoints", self.pinpoints)
        size = p.get("size", {"shortest_edge": 224})
        self.pp_size = (size["shortest_edge"] if "shortest_edge" in size
                        else min(size["height"], size["width"]))
        self.pp_crop = p.get("crop_size", {"height": 224, "width": 224})["height"]
        self.pp_mean = p.get("image_mean", [0.48145466, 0.4578275, 0.40821073])
        self.pp_std = p.get("image_std", [0.26862954, 0.26130258, 0.27577711])
        self.pp_factor = p.get("rescale_factor", 1 / 255)
        q = {}
        qpath = os.path.join(model_dir, "processor_config.json")
        if os.path.exists(qpath):
            q = json.load(open(qpath))
        self.proc_patch = q.get("patch_size", self.patch)
        self.proc_additional = q.get("num_additional_image_tokens", 1)
        self.proc_strategy = q.get("vision_feature_select_strategy", self.strategy)


# ----------------------------------------------------------------------------------------------
# Image processor (image_processing_utils.py, image_processing_llava_next.py)

def select_best_resolution(original_size, possible_resolutions):
    """image_processing_utils.select_best_resolution: original_size and the result are (h, w)."""
    oh, ow = original_size
    best, best_eff, best_waste = None, 0, float("inf")
    for h, w in possible_resolutions:
        scale = min(w / ow, h / oh)
        eff = min(int(ow * scale) * int(oh * scale), ow * oh)
        waste = w * h - eff
        if eff > best_eff or (eff == best_eff and waste < best_waste):
            best, best_eff, best_waste = (h, w), eff, waste
    return best


def get_patch_output_size(size_hw, target):
    """image_processing_utils.get_patch_output_size: the size (h, w) the image is resized to
    inside the target resolution, keeping its aspect ratio (ceil, clipped to the target)."""
    oh, ow = size_hw
    th, tw = target
    sw, sh = tw / ow, th / oh
    if sw < sh:
        return min(math.ceil(oh * sw), th), tw
    return th, min(math.ceil(ow * sh), tw)


def pil_resize(arr, hw):
    """image_transforms.resize on a uint8 HWC array: PIL bicubic, back to uint8 (PIL returns
    a copy when the size is unchanged)."""
    img = Image.fromarray(arr, "RGB")
    return np.asarray(img.resize((hw[1], hw[0]), resample=Image.BICUBIC))


def preprocess_tile(arr, cfg):
    """LlavaNextImageProcessor._preprocess on one tile: resize to shortest_edge and centre crop
    (both identities here, the tile already being crop x crop), rescale in float64 then float32
    (image_transforms.rescale), normalise in float32 (image_transforms.normalize), CHW."""
    assert arr.shape[:2] == (cfg.pp_crop, cfg.pp_crop) == (cfg.pp_size, cfg.pp_size)
    x = (arr.astype(np.float64) * cfg.pp_factor).astype(np.float32)
    x = (x - np.array(cfg.pp_mean, np.float32)) / np.array(cfg.pp_std, np.float32)
    return x.transpose(2, 0, 1)


def anyres_pixel_values(img, cfg):
    """LlavaNextImageProcessor.preprocess for one image. Returns (pixel_values (n_tiles, 3, s, s)
    float32 tensor, image_size [H, W], best resolution (h, w), padded uint8 array)."""
    arr = np.asarray(img.convert("RGB"))
    h, w = arr.shape[:2]
    # get_image_patches
    best = select_best_resolution((h, w), cfg.pp_pinpoints)
    nh, nw = get_patch_output_size((h, w), best)            # _resize_for_patching
    resized = pil_resize(arr, (nh, nw))
    px, rx = divmod(best[1] - nw, 2)                         # _pad_for_patching: zeros,
    py, ry = divmod(best[0] - nh, 2)                         # the odd pixel after
    padded = np.pad(resized, ((py, py + ry), (px, px + rx), (0, 0)), mode="constant",
                    constant_values=0)
    s = cfg.pp_crop
    tiles = [padded[i:i + s, j:j + s] for i in range(0, best[0], s)   # divide_to_patches
             for j in range(0, best[1], s)]
    base = pil_resize(arr, (cfg.pp_size, cfg.pp_size))      # the whole image, squashed
    pv = np.stack([preprocess_tile(t, cfg) for t in [base] + tiles])
    return torch.from_numpy(pv), [h, w], best, padded, (py, py + ry, px, px + rx)


# ----------------------------------------------------------------------------------------------
# Processor: the number of image tokens (processing_llava_next.py)

def unpadded_features(height, width, patches_h, patches_w, scale_h, scale_w):
    """LlavaNextProcessor._get_unpadded_features: (rows * cols, rows) after unpadding."""
    ch, cw = patches_h * scale_h, patches_w * scale_w
    if width / height > cw / ch:
        new_h = int(round(height * (cw / width), 7))
        ch -= ((ch - new_h) // 2) * 2
    else:
        new_w = int(round(width * (ch / height), 7))
        cw -= ((cw - new_w) // 2) * 2
    return ch * cw, ch, cw


def number_of_features(cfg, orig_h, orig_w):
    """LlavaNextProcessor._get_number_of_features for a crop x crop tile, minus one for the
    "default" strategy (the count <image> is expanded to). Returns (count, rows, cols)."""
    s = cfg.pp_size
    bh, bw = select_best_resolution([orig_h, orig_w], cfg.pp_pinpoints)
    scale_h, scale_w = bh // s, bw // s
    ph = pw = s // cfg.proc_patch
    unpadded, rows, cols = unpadded_features(orig_h, orig_w, ph, pw, scale_h, scale_w)
    n = unpadded + rows + ph * pw + cfg.proc_additional
    if cfg.proc_strategy == "default":
        n -= 1
    return n, rows, cols


# ----------------------------------------------------------------------------------------------
# Model (modeling_llava_next.py)

def unpad_image(t, original_size):
    """unpad_image: t (C, h, w) of the padded grid; original_size (H, W)."""
    oh, ow = original_size
    ch, cw = t.shape[1:]
    if ow / oh > cw / ch:
        new_h = int(round(oh * (cw / ow), 7))
        pad = (ch - new_h) // 2
        return t[:, pad:ch - pad, :]
    new_w = int(round(ow * (ch / oh), 7))
    pad = (cw - new_w) // 2
    return t[:, :, pad:cw - pad]


def select_features(w, cfg, pixel_values):
    """get_image_features up to the projector: hidden_states[vision_feature_layer], or the listed
    layers concatenated on the last dim; the CLS position dropped for "default"."""
    states = lt.clip_hidden_states(w, cfg, pixel_values)
    n = cfg.v_layers + 1
    if isinstance(cfg.feature_layer, list):
        feats = torch.cat([states[i % n] for i in cfg.feature_layer], dim=-1)
    else:
        feats = states[cfg.feature_layer % n]
    return feats[:, 1:] if cfg.strategy == "default" else feats


def pack_image_features(w, cfg, proj, image_size):
    """pack_image_features for one image: proj (n_tiles, G*G, D) projected tiles. Returns the
    packed (N, D) and (rows, cols) of the unpadded grid in features."""
    g = cfg.image_size // cfg.patch
    newline = w["image_newline"]
    if proj.shape[0] == 1:
        return torch.cat([proj[0], newline[None]], dim=0), (0, 0)
    base, grid = proj[0], proj[1:]
    # get_anyres_image_grid_shape with the tile size as the patch size
    bh, bw = select_best_resolution(image_size, cfg.pinpoints)
    rows, cols = bh // cfg.image_size, bw // cfg.image_size
    f = grid.view(rows, cols, g, g, -1).permute(4, 0, 2, 1, 3).contiguous()
    f = f.flatten(1, 2).flatten(2, 3)                  # (D, rows*G, cols*G)
    f = unpad_image(f, image_size)
    f = torch.cat([f, newline[:, None, None].expand(*f.shape[:-1], 1).to(f.dtype)], dim=-1)
    shape = (f.shape[1], f.shape[2] - 1)
    f = f.flatten(1, 2).transpose(0, 1)
    return torch.cat([base, f], dim=0), shape


class LlavaNext:
    def __init__(self, model_dir, sliding_window="config"):
        self.model_dir = model_dir
        self.cfg = NextConfig(model_dir)
        if sliding_window != "config":   # for the oracle's check that the window matters
            self.cfg.sliding_window = sliding_window
        self.w = lt.load_weights(model_dir)

    def expand(self, slot_ids, n_image):
        """The processor's expansion of the one <image> (IMAGE_SLOT here) to n_image tokens."""
        i = slot_ids.index(lt.IMAGE_SLOT)
        return slot_ids[:i] + [self.cfg.image_token] * n_image + slot_ids[i + 1:]

    @torch.no_grad()
    def generate(self, pixel_values, image_size, prompt_ids, max_new_tokens):
        """Greedy decoding with output_hidden_states=True; prompt_ids already expanded."""
        w, cfg = self.w, self.cfg
        feats = select_features(w, cfg, pixel_values)
        proj = lt.project(w, feats)
        packed, shape = pack_image_features(w, cfg, proj, image_size)
        ids = torch.tensor(prompt_ids)
        mask = ids == cfg.image_token
        assert int(mask.sum()) == packed.shape[0], (int(mask.sum()), packed.shape)
        embed = w["language_model.model.embed_tokens.weight"]
        # masked_scatter: the image features in order at the image token positions
        embeds = embed[ids.clamp(min=0)].clone()
        embeds[mask] = packed
        embeds = embeds[None]
        positions = torch.nonzero(mask)[:, 0]
        cache, hidden, logits, out = {}, [], [], []
        pos = 0
        for step in range(max_new_tokens):
            n = embeds.shape[1]
            states, lg = lt.llama_forward(w, cfg, embeds, torch.arange(pos, pos + n), cache)
            if step == 0:
                image_hidden = torch.stack([s[0, positions].float() for s in states], dim=1)
            pos += n
            hidden.append(torch.stack([s[0, -1].float() for s in states]))
            logits.append(lg[0, -1])
            nxt = int(torch.argmax(lg[0, -1]))
            out.append(nxt)
            if nxt in cfg.eos:
                break
            embeds = embed[torch.tensor([[nxt]])]
        return {
            "vision_features": feats.float(),
            "image_embeds": packed.float(),
            "unpadded_shape": shape,
            "hidden": torch.stack(hidden),
            "image_hidden": image_hidden,
            "logits": torch.stack(logits),
            "generated_ids": torch.tensor(out, dtype=torch.int64),
        }
