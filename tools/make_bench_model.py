#!/usr/bin/python3
"""Writes a random-weight LLaVA with LLaVA-1.5-7B's real dimensions, for benchmarks only.

The full CLIP ViT-L/14-336 tower (24 layers, width 1024), the 1024 -> 4096 -> 4096 projector, and a
LLaMA decoder with width 4096, 32 heads, FFN 11008, vocabulary 32064 (llava-hf's padded rows) and
max 4096 positions — but only --layers decoder layers (benchmarks measure two depths and
extrapolate to 32). Weights are N(0, 0.02) like transformers' initialiser, stored in F16, BF16 or
F32, in the llava-hf layout with the real LLaMA-2 tokenizer. Never committed (gigabytes).

usage: /usr/bin/python3 tools/make_bench_model.py OUT_DIR --layers 2 --dtype F16
"""
import argparse
import json
import os
import shutil

import numpy as np

import safetensors_np as st

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA_TOKENIZER = os.path.join(HERE, "..", "tests", "data", "llama2-tokenizer", "tokenizer.model")


def tensors(layers):
    """(name, shape) of every tensor, hub names, in a fixed order."""
    v, m = "vision_tower.vision_model", "language_model.model"
    out = [(f"{v}.embeddings.class_embedding", (1024,)),
           (f"{v}.embeddings.patch_embedding.weight", (1024, 3, 14, 14)),
           (f"{v}.embeddings.position_embedding.weight", (577, 1024)),
           (f"{v}.pre_layrnorm.weight", (1024,)), (f"{v}.pre_layrnorm.bias", (1024,))]
    for i in range(24):
        p = f"{v}.encoder.layers.{i}"
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            out += [(f"{p}.self_attn.{n}.weight", (1024, 1024)), (f"{p}.self_attn.{n}.bias", (1024,))]
        out += [(f"{p}.layer_norm1.weight", (1024,)), (f"{p}.layer_norm1.bias", (1024,)),
                (f"{p}.mlp.fc1.weight", (4096, 1024)), (f"{p}.mlp.fc1.bias", (4096,)),
                (f"{p}.mlp.fc2.weight", (1024, 4096)), (f"{p}.mlp.fc2.bias", (1024,)),
                (f"{p}.layer_norm2.weight", (1024,)), (f"{p}.layer_norm2.bias", (1024,))]
    out += [(f"{v}.post_layernorm.weight", (1024,)), (f"{v}.post_layernorm.bias", (1024,)),
            ("multi_modal_projector.linear_1.weight", (4096, 1024)),
            ("multi_modal_projector.linear_1.bias", (4096,)),
            ("multi_modal_projector.linear_2.weight", (4096, 4096)),
            ("multi_modal_projector.linear_2.bias", (4096,)),
            (f"{m}.embed_tokens.weight", (32064, 4096))]
    for i in range(layers):
        p = f"{m}.layers.{i}"
        out += [(f"{p}.self_attn.{n}.weight", (4096, 4096)) for n in ("q_proj", "k_proj", "v_proj",
                                                                       "o_proj")]
        out += [(f"{p}.mlp.gate_proj.weight", (11008, 4096)), (f"{p}.mlp.up_proj.weight", (11008, 4096)),
                (f"{p}.mlp.down_proj.weight", (4096, 11008)),
                (f"{p}.input_layernorm.weight", (4096,)),
                (f"{p}.post_attention_layernorm.weight", (4096,))]
    out += [(f"{m}.norm.weight", (4096,)), ("language_model.lm_head.weight", (32064, 4096))]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dtype", choices=["F16", "BF16", "F32"], default="F16")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    rng = np.random.default_rng(7)
    names = tensors(args.layers)
    size = {"F32": 4, "F16": 2, "BF16": 2}[args.dtype]
    path = os.path.join(args.out_dir, "model.safetensors")
    with open(path + ".tmp", "wb") as f:   # tensor by tensor: the file is gigabytes
        f.write(st.header_bytes([(name, args.dtype, shape, int(np.prod(shape)) * size)
                                 for name, shape in names]))
        for name, shape in names:
            if name.endswith(("layernorm.weight", "layer_norm1.weight", "layer_norm2.weight",
                              "layrnorm.weight", "norm.weight")):
                a = np.ones(shape, np.float32)
            else:
                a = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
            f.write(st.to_bytes(a, args.dtype))
    os.replace(path + ".tmp", path)
    config = {
        "architectures": ["LlavaForConditionalGeneration"], "image_token_index": 32000,
        "model_type": "llava", "pad_token_id": 32001, "projector_hidden_act": "gelu",
        "text_config": {"model_type": "llama", "max_position_embeddings": 4096,
                        "rms_norm_eps": 1e-05, "vocab_size": 32064,
                        "num_hidden_layers": args.layers},
        "vision_config": {"hidden_size": 1024, "image_size": 336, "intermediate_size": 4096,
                          "model_type": "clip_vision_model", "num_attention_heads": 16,
                          "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 768},
        "vision_feature_layer": -2, "vision_feature_select_strategy": "default",
        "vocab_size": 32064,
    }
    json.dump(config, open(os.path.join(args.out_dir, "config.json"), "w"), indent=2)
    json.dump({"crop_size": {"height": 336, "width": 336}, "size": {"shortest_edge": 336},
               "resample": 3, "image_processor_type": "CLIPImageProcessor"},
              open(os.path.join(args.out_dir, "preprocessor_config.json"), "w"), indent=2)
    json.dump({"<image>": 32000, "<pad>": 32001},
              open(os.path.join(args.out_dir, "added_tokens.json"), "w"))
    shutil.copyfile(LLAMA_TOKENIZER if os.path.exists(LLAMA_TOKENIZER)
                    else "/work/shared/data/llama2-tokenizer/tokenizer.model",
                    os.path.join(args.out_dir, "tokenizer.model"))


if __name__ == "__main__":
    main()
