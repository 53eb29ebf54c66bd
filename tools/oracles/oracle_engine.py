#!/usr/bin/python3
"""Reference outputs of the LLaVA engine for every fixture model, from tools/pylib/llava_torch.py.

For each fixture (DATA/fixtures/tiny-*) and each case below it writes
DATA/oracle/engine/<fixture>/<case>.safetensors holding the inputs (pixel_values, prompt_ids with
-200 at the image slot) and what the C engine must reproduce: vision_features (the feature layer,
class token dropped), projector (image embeddings), hidden [T, L+1, D] (every hidden state at the
position that predicts each generated token), logits [T, V] and generated_ids [T]. The case's
image is also written as PNG beside it, so end-to-end tests can start from the file, and the
generation as a kevo run folder (<case>.run/, docs/run-folder.md) for the analyses.

Weights stored as F16/BF16 are widened exactly to F32 and the computation runs in F32 — exactly
what kevo computes by default. The same generation computed by PyTorch in BF16 is written as
<case>.bf16.safetensors: the yardstick for the fidelity of kevo's --compute bf16 path.

usage: /usr/bin/python3 tools/oracles/oracle_engine.py DATA_DIR [--commit]
  --commit  also refresh the copies committed under tests/data/oracle-engine (tiny-f32 only:
            the reference for machines without python3-torch; a test keeps it current)
"""
import argparse
import os
import shutil
import sys

import numpy as np
import sentencepiece as spm
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import llava_torch as lt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COMMITTED = os.path.join(HERE, "..", "..", "tests", "data", "oracle-engine")
FIXTURES = ["tiny-f32", "tiny-f16", "tiny-bf16", "tiny-gqa"]
SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the human's questions.")
CASES = {
    # name: (prompt text with <image>, image size, seed, max_new_tokens)
    "color": (SYSTEM + " USER: <image>\nWhat is the color of the flower? ASSISTANT:",
              (73, 51), 1, 12),
    "describe": ("USER: <image>\nPlease describe this image in detail. ASSISTANT:",
                 (40, 90), 2, 20),
}
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def make_image(size, seed):
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = Image.fromarray(base, "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse([w // 5, h // 5, w * 4 // 5, h * 4 // 5], fill=(230, 40, 60))
    return img


def pixel_values(img, image_size):
    """Original LLaVA's pad path: expand2square (mm_utils.py) then CLIPImageProcessor's slow path
    (image_processing_clip.py): bicubic resize of the short side, centre crop, rescale, normalise."""
    w, h = img.size
    bg = tuple(int(x * 255) for x in CLIP_MEAN)
    if w != h:
        side = max(w, h)
        sq = Image.new("RGB", (side, side), bg)
        sq.paste(img, ((side - w) // 2, (side - h) // 2))
        img = sq
    img = img.resize((image_size, image_size), resample=Image.BICUBIC)
    x = (np.asarray(img).astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(CLIP_MEAN, np.float32)) / np.array(CLIP_STD, np.float32)
    return torch.from_numpy(x.transpose(2, 0, 1).copy())[None]


def prompt_ids(sp, text):
    """tokenizer_image_token (llava/mm_utils.py): each chunk tokenised on its own, BOS once."""
    chunks = text.split("<image>")
    ids = [1] + sp.encode(chunks[0])
    for c in chunks[1:]:
        ids += [lt.IMAGE_SLOT] + sp.encode(c)
    return ids


def run_case(model, sp, name, out_dir, dtype_tag=""):
    text, size, seed, max_new = CASES[name]
    img = make_image(size, seed)
    px = pixel_values(img, model.cfg.image_size)
    ids = prompt_ids(sp, text)
    r = model.generate(px, ids, max_new)
    tensors = {"pixel_values": px.numpy(), "prompt_ids": np.array(ids, np.int64)}
    tensors.update({k: v.numpy() for k, v in r.items()})
    img.save(os.path.join(out_dir, f"{name}.png"))
    if not dtype_tag:   # the same generation as a run folder, for the analyses
        question = text.split("<image>\n")[1].rsplit(" ASSISTANT:", 1)[0]
        template = "llava_v1" if text.startswith("A chat") else "llava-hf"
        lt.write_run_folder(os.path.join(out_dir, f"{name}.run"), model.model_dir, sp,
                            os.path.join(out_dir, f"{name}.png"), size, question, template,
                            text, ids, r, max_new)
    lt.write_safetensors(os.path.join(out_dir, f"{name}{dtype_tag}.safetensors"), tensors,
                         {"prompt": text, "max_new_tokens": str(max_new), "image_mode": "pad",
                          "compute": "bf16" if dtype_tag else "f32",
                          "torch": torch.__version__})
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--commit", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    for fx in FIXTURES:
        model_dir = os.path.join(args.data_dir, "fixtures", fx)
        out_dir = os.path.join(args.data_dir, "oracle", "engine", fx)
        os.makedirs(out_dir, exist_ok=True)
        sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
        model = lt.Llava(model_dir)
        for name in CASES:
            run_case(model, sp, name, out_dir)
        model16 = lt.Llava(model_dir, torch.bfloat16)
        for name in CASES:
            run_case(model16, sp, name, out_dir, ".bf16")
        if args.commit and fx == "tiny-f32":
            os.makedirs(os.path.join(COMMITTED, fx), exist_ok=True)
            for name in CASES:
                for ext in (".safetensors", ".png"):
                    shutil.copyfile(os.path.join(out_dir, name + ext),
                                    os.path.join(COMMITTED, fx, name + ext))


if __name__ == "__main__":
    main()
