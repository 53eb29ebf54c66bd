#!/usr/bin/python3
"""Writes tiny random-weight LLaVA checkpoints in the exact llava-hf layout (test fixtures).

Each fixture is a folder like llava-hf/llava-1.5-7b-hf, only small: config.json with sparse
text_config / vision_config (absent keys take transformers' class defaults), generation_config.json,
preprocessor_config.json, the tokenizer files (tokenizer.model, and tokenizer.json derived from it
by tools/make_tokenizer_json.py), and safetensors weights. The structure is LLaVA-1.5's:
a CLIP ViT with class token, pre-LN and several layers; a 2-layer GELU projector; a LLaMA decoder.

Variants (same seed, so the F16/BF16 fixtures hold the F32 weights rounded):
  tiny-f32   F32, two shards + model.safetensors.index.json, hub (legacy) tensor names
  tiny-f16   F16, same layout
  tiny-bf16  BF16, same layout
  tiny-gqa   F32, grouped-query attention (2 key/value heads for 4), one model.safetensors,
             tensor names as newer transformers re-save them (model.language_model.*, lm_head.*)

Deterministic: the same command writes byte-identical files. Needs only numpy.

usage: /usr/bin/python3 tools/make_fixture.py --all OUT_DIR
       /usr/bin/python3 tools/make_fixture.py --variant tiny-f32 OUT_DIR
"""
import argparse
import json
import os
import shutil

import numpy as np

import make_tokenizer_json
import safetensors_np as st

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER_DIR = os.path.join(HERE, "..", "tests", "data", "tiny-tokenizer")
SPM_VOCAB = 512                  # pieces in tests/data/tiny-tokenizer/tokenizer.model
IMAGE_ID, PAD_ID = SPM_VOCAB, SPM_VOCAB + 1
VOCAB_ROWS = 576                 # 514 tokens padded to a multiple of 64, as llava-hf pads 32002

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

VARIANTS = {
    "tiny-f32": dict(dtype="F32", kv_heads=4, shards=2, new_names=False),
    "tiny-f16": dict(dtype="F16", kv_heads=4, shards=2, new_names=False),
    "tiny-bf16": dict(dtype="BF16", kv_heads=4, shards=2, new_names=False),
    "tiny-gqa": dict(dtype="F32", kv_heads=2, shards=1, new_names=True),
}

DIMS = dict(v_hidden=32, v_inter=64, v_layers=3, v_heads=4, image=56, patch=14,
            t_hidden=64, t_inter=176, t_layers=4, t_heads=4, max_pos=512)


def config_json(kv_heads):
    d = DIMS
    text = {
        "_name_or_path": "kevo/tiny-llama", "architectures": ["LlamaForCausalLM"],
        "model_type": "llama", "hidden_size": d["t_hidden"], "intermediate_size": d["t_inter"],
        "num_hidden_layers": d["t_layers"], "num_attention_heads": d["t_heads"],
        "max_position_embeddings": d["max_pos"], "rms_norm_eps": 1e-05,
        "torch_dtype": "float16", "vocab_size": VOCAB_ROWS,
    }
    if kv_heads != d["t_heads"]:
        text["num_key_value_heads"] = kv_heads
    vision = {
        "model_type": "clip_vision_model", "hidden_size": d["v_hidden"],
        "image_size": d["image"], "intermediate_size": d["v_inter"],
        "num_attention_heads": d["v_heads"], "num_hidden_layers": d["v_layers"],
        "patch_size": d["patch"], "projection_dim": 16, "vocab_size": SPM_VOCAB,
    }
    return {
        "architectures": ["LlavaForConditionalGeneration"], "ignore_index": -100,
        "image_token_index": IMAGE_ID, "model_type": "llava", "pad_token_id": PAD_ID,
        "projector_hidden_act": "gelu", "text_config": text, "tie_word_embeddings": False,
        "torch_dtype": "float16", "transformers_version": "4.36.0.dev0",
        "vision_config": vision, "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default", "vocab_size": VOCAB_ROWS,
    }


def preprocessor_json():
    s = DIMS["image"]
    return {
        "crop_size": {"height": s, "width": s}, "do_center_crop": True, "do_convert_rgb": True,
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": CLIP_MEAN,
        "image_processor_type": "CLIPImageProcessor", "image_std": CLIP_STD,
        "processor_class": "LlavaProcessor", "resample": 3,
        "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": s},
    }


def weights(rng, kv_heads):
    """Float32 tensors under the hub's (legacy) names, in a fixed order."""
    d = DIMS
    dv, fv, dt, ft = d["v_hidden"], d["v_inter"], d["t_hidden"], d["t_inter"]
    hd = dt // d["t_heads"]
    grid = d["image"] // d["patch"]
    t = {}

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm_weight(n):   # near one, so that a missing or misplaced multiply is visible
        return (1.0 + rng.standard_normal(n) * 0.1).astype(np.float32)

    v = "vision_tower.vision_model"
    t[f"{v}.embeddings.class_embedding"] = normal(dv, 0.5)
    t[f"{v}.embeddings.patch_embedding.weight"] = normal((dv, 3, d["patch"], d["patch"]), 0.05)
    t[f"{v}.embeddings.position_embedding.weight"] = normal((grid * grid + 1, dv), 0.5)
    t[f"{v}.pre_layrnorm.weight"] = norm_weight(dv)
    t[f"{v}.pre_layrnorm.bias"] = normal(dv, 0.1)
    for i in range(d["v_layers"]):
        p = f"{v}.encoder.layers.{i}"
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            t[f"{p}.self_attn.{name}.weight"] = normal((dv, dv), 0.2)
            t[f"{p}.self_attn.{name}.bias"] = normal(dv, 0.1)
        t[f"{p}.layer_norm1.weight"] = norm_weight(dv)
        t[f"{p}.layer_norm1.bias"] = normal(dv, 0.1)
        t[f"{p}.mlp.fc1.weight"] = normal((fv, dv), 0.2)
        t[f"{p}.mlp.fc1.bias"] = normal(fv, 0.1)
        t[f"{p}.mlp.fc2.weight"] = normal((dv, fv), 0.15)
        t[f"{p}.mlp.fc2.bias"] = normal(dv, 0.1)
        t[f"{p}.layer_norm2.weight"] = norm_weight(dv)
        t[f"{p}.layer_norm2.bias"] = normal(dv, 0.1)
    t[f"{v}.post_layernorm.weight"] = norm_weight(dv)
    t[f"{v}.post_layernorm.bias"] = normal(dv, 0.1)

    t["multi_modal_projector.linear_1.weight"] = normal((dt, dv), 0.2)
    t["multi_modal_projector.linear_1.bias"] = normal(dt, 0.1)
    t["multi_modal_projector.linear_2.weight"] = normal((dt, dt), 0.15)
    t["multi_modal_projector.linear_2.bias"] = normal(dt, 0.1)

    m = "language_model.model"
    t[f"{m}.embed_tokens.weight"] = normal((VOCAB_ROWS, dt), 1.0)
    for i in range(d["t_layers"]):
        p = f"{m}.layers.{i}"
        t[f"{p}.self_attn.q_proj.weight"] = normal((dt, dt), 0.15)
        t[f"{p}.self_attn.k_proj.weight"] = normal((kv_heads * hd, dt), 0.15)
        t[f"{p}.self_attn.v_proj.weight"] = normal((kv_heads * hd, dt), 0.15)
        t[f"{p}.self_attn.o_proj.weight"] = normal((dt, dt), 0.12)
        t[f"{p}.mlp.gate_proj.weight"] = normal((ft, dt), 0.12)
        t[f"{p}.mlp.up_proj.weight"] = normal((ft, dt), 0.12)
        t[f"{p}.mlp.down_proj.weight"] = normal((dt, ft), 0.08)
        t[f"{p}.input_layernorm.weight"] = norm_weight(dt)
        t[f"{p}.post_attention_layernorm.weight"] = norm_weight(dt)
    t[f"{m}.norm.weight"] = norm_weight(dt)
    t["language_model.lm_head.weight"] = normal((VOCAB_ROWS, dt), 0.3)
    return t


def new_name(name):
    """The name newer transformers (>= 4.52) re-save under."""
    for old, new in (("language_model.model.", "model.language_model."),
                     ("vision_tower.", "model.vision_tower."),
                     ("multi_modal_projector.", "model.multi_modal_projector."),
                     ("language_model.lm_head.", "lm_head.")):
        if name.startswith(old):
            return new + name[len(old):]
    return name


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def make(variant, out_dir):
    spec = VARIANTS[variant]
    rng = np.random.default_rng(20250401)
    tensors = weights(rng, spec["kv_heads"])
    if spec["new_names"]:
        tensors = {new_name(k): v for k, v in tensors.items()}
    if os.path.isdir(out_dir):
        if os.listdir(out_dir) and not os.path.exists(os.path.join(out_dir, "config.json")):
            raise SystemExit(f"{out_dir}: exists and does not look like a fixture; not replacing it")
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)

    write_json(os.path.join(out_dir, "config.json"), config_json(spec["kv_heads"]))
    write_json(os.path.join(out_dir, "generation_config.json"),
               {"_from_model_config": True, "bos_token_id": 1, "eos_token_id": 2,
                "pad_token_id": PAD_ID})
    write_json(os.path.join(out_dir, "preprocessor_config.json"), preprocessor_json())
    added, tok_config, special = make_tokenizer_json.side_files(IMAGE_ID, PAD_ID)
    write_json(os.path.join(out_dir, "added_tokens.json"), added)
    write_json(os.path.join(out_dir, "tokenizer_config.json"), tok_config)
    write_json(os.path.join(out_dir, "special_tokens_map.json"), special)
    shutil.copyfile(os.path.join(TOKENIZER_DIR, "tokenizer.model"),
                    os.path.join(out_dir, "tokenizer.model"))
    # tokenizer.json as transformers' LlamaConverter writes it, with the legacy normaliser
    # (Prepend "▁" to every segment): llava-hf's tokenizer.json decodes "USER: <image>\nWhat"
    # as "USER:  \nWhat" (modeling_llava.py's example), so the text after <image> gets its own
    # "▁", although its tokenizer_config.json says legacy false (which only the slow tokenizer
    # reads).
    make_tokenizer_json.write(out_dir, os.path.join(out_dir, "tokenizer.json"), legacy=True)

    items = list(tensors.items())
    if spec["shards"] == 1:
        st.write(os.path.join(out_dir, "model.safetensors"), dict(items), spec["dtype"],
                 {"format": "pt"})
        return
    # Shard like save_pretrained: vision tower + projector in the first file, the LLM in the second.
    first = [(k, v) for k, v in items if "language_model" not in k]
    second = [(k, v) for k, v in items if "language_model" in k]
    names = [f"model-0000{i + 1}-of-00002.safetensors" for i in range(2)]
    total = 0
    weight_map = {}
    for shard, part in zip(names, (first, second)):
        total += st.write(os.path.join(out_dir, shard), dict(part), spec["dtype"], {"format": "pt"})
        weight_map.update({k: shard for k, _ in part})
    write_json(os.path.join(out_dir, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="write every variant into OUT_DIR/NAME")
    ap.add_argument("--variant", choices=sorted(VARIANTS))
    ap.add_argument("out_dir")
    args = ap.parse_args()
    if args.all == bool(args.variant):
        ap.error("give either --all or --variant")
    if args.all:
        for name in VARIANTS:
            make(name, os.path.join(args.out_dir, name))
    else:
        make(args.variant, args.out_dir)


if __name__ == "__main__":
    main()
