"""LLaVA-1.5 in plain PyTorch, mirroring Hugging Face transformers line by line (the reference).

transformers itself is not installed here, so this module re-states the computation of
  transformers/models/clip/modeling_clip.py   CLIPVisionEmbeddings, CLIPAttention (eager), CLIPMLP,
                                               CLIPEncoderLayer, CLIPVisionTransformer
  transformers/models/llava/modeling_llava.py  LlavaMultiModalProjector, get_image_features,
                                               the masked_scatter merge of image features
  transformers/models/llama/modeling_llama.py  LlamaRMSNorm, LlamaRotaryEmbedding, rotate_half,
                                               apply_rotary_pos_emb, repeat_kv, LlamaAttention
                                               (eager), LlamaMLP, LlamaDecoderLayer, LlamaModel
  transformers/activations.py                  QuickGELUActivation, GELUActivation
and generate(output_hidden_states=True) with greedy decoding and a key/value cache
(transformers/generation/utils.py). It reads a llava-hf folder's config.json and safetensors with
numpy only. Weights stored as F16/BF16 are widened exactly to F32 and everything runs in F32 (or in
BF16 when asked, for the fidelity of kevo's --compute bf16 path).
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

import safetensors_np as st

IMAGE_SLOT = -200   # original LLaVA's IMAGE_TOKEN_INDEX: where the image features go


# ----------------------------------------------------------------------------------------------
# Checkpoint and config

def read_safetensors(path):
    """{name: float32 numpy array} of a safetensors file (F32, F16 and BF16 widened exactly)."""
    return {k: v.astype(np.float32) for k, v in st.read(path)[0].items()}


def canonical(name):
    """Hub (legacy) tensor name for a name newer transformers re-saved (modeling_llava.py)."""
    for new, old in (("model.language_model.", "language_model.model."),
                     ("model.vision_tower.", "vision_tower."),
                     ("model.multi_modal_projector.", "multi_modal_projector."),
                     ("lm_head.", "language_model.lm_head."),
                     ("model.image_newline", "image_newline")):   # LLaVA-NeXT (modeling_llava_next.py)
        if name.startswith(new):
            return old + name[len(new):]
    return name


def load_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    files = (sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index)
             else ["model.safetensors"])
    weights = {}
    for f in files:
        for k, v in read_safetensors(os.path.join(model_dir, f)).items():
            weights[canonical(k)] = torch.from_numpy(v)
    return weights


class Config:
    """The LlavaConfig values the computation needs, with transformers' class defaults."""

    def __init__(self, model_dir):
        c = json.load(open(os.path.join(model_dir, "config.json")))
        t = c.get("text_config") or {}
        v = c.get("vision_config")
        vd = ({} if v is None else v)
        big = v is None   # LlavaConfig's own CLIP-L/336 default when vision_config is absent
        self.hidden = t.get("hidden_size", 4096)
        self.heads = t.get("num_attention_heads", 32)
        self.kv_heads = t.get("num_key_value_heads") or self.heads
        self.head_dim = t.get("head_dim") or self.hidden // self.heads
        self.layers = t.get("num_hidden_layers", 32)
        self.rms_eps = t.get("rms_norm_eps", 1e-6)
        self.rope_theta = t.get("rope_theta", 10000.0)
        # MistralConfig: sliding_window defaults to 4096 when the key is absent, null means none;
        # LlamaConfig has no sliding window. Mistral's class default is 8 key/value heads.
        mistral = t.get("model_type") == "mistral"
        self.sliding_window = t.get("sliding_window", 4096) if mistral else None
        if mistral and "num_key_value_heads" not in t:
            self.kv_heads = 8
        self.tie = c.get("tie_word_embeddings", False) or t.get("tie_word_embeddings", False)
        self.v_hidden = vd.get("hidden_size", 1024 if big else 768)
        self.v_heads = vd.get("num_attention_heads", 16 if big else 12)
        self.v_layers = vd.get("num_hidden_layers", 24 if big else 12)
        self.patch = vd.get("patch_size", 14 if big else 32)
        self.image_size = vd.get("image_size", 336 if big else 224)
        self.v_eps = vd.get("layer_norm_eps", 1e-5)
        self.v_act = vd.get("hidden_act", "quick_gelu")
        self.feature_layer = c.get("vision_feature_layer", -2)
        self.keep_cls = c.get("vision_feature_select_strategy", "default") == "full"
        g = {}
        gpath = os.path.join(model_dir, "generation_config.json")
        if os.path.exists(gpath):
            g = json.load(open(gpath))
        eos = g.get("eos_token_id", t.get("eos_token_id", 2))
        self.eos = set(eos if isinstance(eos, list) else [eos])


# ----------------------------------------------------------------------------------------------
# CLIP vision tower (modeling_clip.py)

def clip_attention(w, p, h, heads):
    b, s, d = h.shape
    e = d // heads
    scale = e ** -0.5
    q = F.linear(h, w[p + "q_proj.weight"], w[p + "q_proj.bias"])
    k = F.linear(h, w[p + "k_proj.weight"], w[p + "k_proj.bias"])
    v = F.linear(h, w[p + "v_proj.weight"], w[p + "v_proj.bias"])
    q, k, v = (x.view(b, s, heads, e).transpose(1, 2) for x in (q, k, v))
    attn = torch.matmul(q, k.transpose(2, 3)) * scale
    attn = F.softmax(attn, dim=-1, dtype=torch.float32).to(q.dtype)
    out = torch.matmul(attn, v).transpose(1, 2).reshape(b, s, d)
    return F.linear(out, w[p + "out_proj.weight"], w[p + "out_proj.bias"])


def clip_hidden_states(w, cfg, pixel_values):
    """The tower's hidden_states tuple: pre_layrnorm output, then each encoder layer's output,
    up to the feature layer (later layers never influence LLaVA's features)."""
    v = "vision_tower.vision_model."
    dtype = w[v + "embeddings.patch_embedding.weight"].dtype
    patches = F.conv2d(pixel_values.to(dtype), w[v + "embeddings.patch_embedding.weight"],
                       stride=cfg.patch)
    patches = patches.flatten(2).transpose(1, 2)
    cls = w[v + "embeddings.class_embedding"].expand(patches.shape[0], 1, -1)
    h = torch.cat([cls, patches], dim=1) + w[v + "embeddings.position_embedding.weight"][None]
    h = F.layer_norm(h, (cfg.v_hidden,), w[v + "pre_layrnorm.weight"], w[v + "pre_layrnorm.bias"],
                     cfg.v_eps)
    states = [h]
    n_states = cfg.v_layers + 1
    layers = cfg.feature_layer if isinstance(cfg.feature_layer, list) else [cfg.feature_layer]
    feature = max(i % n_states for i in layers)   # a list of layers (LLaVA-NeXT): the deepest
    for i in range(feature):
        p = f"{v}encoder.layers.{i}."
        r = h
        h = F.layer_norm(h, (cfg.v_hidden,), w[p + "layer_norm1.weight"], w[p + "layer_norm1.bias"],
                         cfg.v_eps)
        h = r + clip_attention(w, p + "self_attn.", h, cfg.v_heads)
        r = h
        h = F.layer_norm(h, (cfg.v_hidden,), w[p + "layer_norm2.weight"], w[p + "layer_norm2.bias"],
                         cfg.v_eps)
        h = F.linear(h, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"])
        h = h * torch.sigmoid(1.702 * h) if cfg.v_act == "quick_gelu" else F.gelu(h)
        h = r + F.linear(h, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
        states.append(h)
    return states


def image_features(w, cfg, pixel_values):
    """get_image_features: the feature layer, CLS dropped for strategy "default"."""
    feats = clip_hidden_states(w, cfg, pixel_values)[cfg.feature_layer % (cfg.v_layers + 1)]
    return feats if cfg.keep_cls else feats[:, 1:]


def project(w, feats):
    """LlavaMultiModalProjector: linear_1, GELU (erf), linear_2."""
    m = "multi_modal_projector."
    h = F.linear(feats, w[m + "linear_1.weight"], w.get(m + "linear_1.bias"))
    return F.linear(F.gelu(h), w[m + "linear_2.weight"], w.get(m + "linear_2.bias"))


# ----------------------------------------------------------------------------------------------
# LLaMA (modeling_llama.py)

def rms_norm(x, weight, eps):
    dtype = x.dtype
    x = x.to(torch.float32)
    variance = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(variance + eps)
    return weight * x.to(dtype)


def rope_cos_sin(cfg, positions, dtype):
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.int64)
                                         .float() / cfg.head_dim))
    freqs = (inv_freq[None, :, None] @ positions[None, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    b, kvh, s, e = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None].expand(b, kvh, n_rep, s, e).reshape(b, kvh * n_rep, s, e)


def llama_attention(w, p, cfg, h, cos, sin, cache, layer):
    b, s, _ = h.shape
    e = cfg.head_dim
    q = F.linear(h, w[p + "q_proj.weight"]).view(b, s, cfg.heads, e).transpose(1, 2)
    k = F.linear(h, w[p + "k_proj.weight"]).view(b, s, cfg.kv_heads, e).transpose(1, 2)
    v = F.linear(h, w[p + "v_proj.weight"]).view(b, s, cfg.kv_heads, e).transpose(1, 2)
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    q = (q * cos) + (rotate_half(q) * sin)
    k = (k * cos) + (rotate_half(k) * sin)
    if layer in cache:
        k = torch.cat([cache[layer][0], k], dim=-2)
        v = torch.cat([cache[layer][1], v], dim=-2)
    cache[layer] = (k, v)
    k = repeat_kv(k, cfg.heads // cfg.kv_heads)
    v = repeat_kv(v, cfg.heads // cfg.kv_heads)
    attn = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(e)
    total = k.shape[-2]
    window = getattr(cfg, "sliding_window", None)
    if window is not None:
        # Mistral (masking_utils.py sliding_window_causal_mask_function): key j is visible to
        # query i iff j <= i (causal_mask_function) and j > i - window (sliding_window_overlay)
        i = torch.arange(total - s, total)[:, None]
        j = torch.arange(total)[None, :]
        visible = (j <= i) & (i - j < window)
        mask = torch.zeros((s, total), dtype=attn.dtype).masked_fill(
            ~visible, torch.finfo(attn.dtype).min)
        attn = attn + mask
    elif s > 1:   # causal mask over the new positions (past positions are all visible)
        mask = torch.full((s, total), torch.finfo(attn.dtype).min, dtype=attn.dtype)
        mask = torch.triu(mask, diagonal=total - s + 1)
        attn = attn + mask
    attn = F.softmax(attn, dim=-1, dtype=torch.float32).to(q.dtype)
    out = torch.matmul(attn, v).transpose(1, 2).reshape(b, s, cfg.heads * e)
    return F.linear(out, w[p + "o_proj.weight"])


def llama_forward(w, cfg, embeds, positions, cache):
    """LlamaModel for the new positions + lm_head for the last; returns (hidden_states, logits)."""
    m = "language_model.model."
    cos, sin = rope_cos_sin(cfg, positions, embeds.dtype)
    h = embeds
    states = []
    for i in range(cfg.layers):
        states.append(h)
        p = f"{m}layers.{i}."
        r = h
        x = rms_norm(h, w[p + "input_layernorm.weight"], cfg.rms_eps)
        h = r + llama_attention(w, p + "self_attn.", cfg, x, cos, sin, cache, i)
        r = h
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], cfg.rms_eps)
        x = F.linear(F.silu(F.linear(x, w[p + "mlp.gate_proj.weight"])) *
                     F.linear(x, w[p + "mlp.up_proj.weight"]), w[p + "mlp.down_proj.weight"])
        h = r + x
    h = rms_norm(h, w[m + "norm.weight"], cfg.rms_eps)
    states.append(h)
    head = w[m + "embed_tokens.weight"] if cfg.tie else w["language_model.lm_head.weight"]
    # generate() needs the last position's logits only (transformers' logits_to_keep=1)
    return states, F.linear(h[:, -1:], head).float()


class Llava:
    def __init__(self, model_dir, dtype=torch.float32):
        self.model_dir = model_dir
        self.cfg = Config(model_dir)
        self.w = {k: v.to(dtype) for k, v in load_weights(model_dir).items()}
        self.dtype = dtype

    @torch.no_grad()
    def generate(self, pixel_values, prompt_ids, max_new_tokens):
        """Greedy decoding with output_hidden_states=True. prompt_ids holds one IMAGE_SLOT.
        Returns a dict of every intermediate the tests compare."""
        w, cfg = self.w, self.cfg
        feats = image_features(w, cfg, pixel_values.to(self.dtype))
        proj = project(w, feats)
        slot = prompt_ids.index(IMAGE_SLOT)
        text = torch.tensor([i for i in prompt_ids if i != IMAGE_SLOT])
        emb = w["language_model.model.embed_tokens.weight"][text][None]
        embeds = torch.cat([emb[:, :slot], proj, emb[:, slot:]], dim=1)
        cache, hidden, logits, ids = {}, [], [], []
        pos = 0
        n_image = proj.shape[1]
        for step in range(max_new_tokens):
            n = embeds.shape[1]
            states, lg = llama_forward(w, cfg, embeds, torch.arange(pos, pos + n), cache)
            if step == 0:   # every image position's hidden_states at prefill: (N, L+1, D)
                image_hidden = torch.stack([s[0, slot:slot + n_image].float() for s in states],
                                           dim=1)
            pos += n
            hidden.append(torch.stack([s[0, -1].float() for s in states]))
            logits.append(lg[0, -1])
            nxt = int(torch.argmax(lg[0, -1]))
            ids.append(nxt)
            if nxt in cfg.eos:
                break
            embeds = w["language_model.model.embed_tokens.weight"][torch.tensor([[nxt]])]
        return {
            "vision_features": feats[0].float(),
            "projector": proj[0].float(),
            "hidden": torch.stack(hidden),
            "image_hidden": image_hidden,
            "logits": torch.stack(logits),
            "generated_ids": torch.tensor(ids, dtype=torch.int64),
            "n_positions": torch.tensor([pos - (len(ids) - 1)], dtype=torch.int64),
        }


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: numpy array (float32 or int64)}, written atomically."""
    st.write(path, tensors, metadata=metadata)


def pad_patch_rects(image_size, side_px, patch):
    """Each patch's rectangle [x0, y0, x1, y1] in pixel_values and in the original image for
    original LLaVA's pad path: expand2square pastes the w x h image at ((s - w) // 2, (s - h) // 2)
    of an s x s square (s = max(w, h)), which is resized to side_px x side_px (no crop is left to
    do), so x_original = x * s / side_px - offset, clipped to the image."""
    w, h = image_size
    s = max(w, h)
    ox, oy, k = (s - w) // 2, (s - h) // 2, s / side_px
    grid = side_px // patch
    pre, orig = [], []
    for i in range(grid * grid):
        x0, y0 = (i % grid) * patch, (i // grid) * patch
        r = [x0, y0, x0 + patch, y0 + patch]
        pre.append(r)
        orig.append([min(max(r[0] * k - ox, 0), w), min(max(r[1] * k - oy, 0), h),
                     min(max(r[2] * k - ox, 0), w), min(max(r[3] * k - oy, 0), h)])
    return grid, pre, orig


def write_run_folder(run_dir, model_dir, sp, image_path, image_size, question, template, prompt,
                     prompt_ids, result, max_new_tokens):
    """A run folder in kevo's format (docs/run-folder.md) from a generate() result, so that the
    analyses can be developed and cross-checked on states that PyTorch computed; every image
    position's states at every index as image_hidden."""
    cfg = json.load(open(os.path.join(model_dir, "config.json"), "rb"))
    h = 0xcbf29ce484222325   # FNV-1a 64 of config.json, as kevo records it
    for b in open(os.path.join(model_dir, "config.json"), "rb").read():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    hidden = result["hidden"].numpy().astype(np.float32)
    ids = result["generated_ids"].tolist()
    t = cfg.get("text_config", {})
    os.makedirs(run_dir, exist_ok=True)
    image_hidden = result["image_hidden"].numpy().astype(np.float32)
    write_safetensors(os.path.join(run_dir, "hidden.safetensors"),
                      {"hidden": hidden, "image_hidden": image_hidden},
                      {"format": "kevo-run", "kevo_version": "python-reference"})
    conf = Config(model_dir)
    grid, pre, orig = pad_patch_rects(image_size, conf.image_size, conf.patch)
    n_image, first = image_hidden.shape[0], prompt_ids.index(IMAGE_SLOT)
    n_pos = int(result["n_positions"][0])
    pieces = [sp.id_to_piece(i) if i < sp.get_piece_size() else f"<extra_{i}>" for i in ids]
    text = sp.decode([i for i in ids if i < sp.get_piece_size() and i != 2])
    run = {
        "format": "kevo-run", "kevo_version": "python-reference",
        "model": {"path": model_dir, "config_fnv1a64": f"{h:016x}",
                  "text_layers": t.get("num_hidden_layers", 32),
                  "text_hidden": t.get("hidden_size", 4096),
                  "vocab_rows": t.get("vocab_size", cfg.get("vocab_size", 32000)),
                  "image_tokens": int(result["projector"].shape[0]), "weights_dtype": "F32"},
        "image": {"path": image_path, "width": image_size[0], "height": image_size[1],
                  "mode": "pad"},
        "question": question, "template": template, "prompt": prompt,
        "prompt_ids": prompt_ids, "image_position": prompt_ids.index(IMAGE_SLOT),
        "n_positions": int(result["n_positions"][0]),
        "generated_ids": ids, "generated_pieces": pieces, "text": text,
        "stop": "eos" if ids and ids[-1] == 2 else "max_new_tokens",
        "options": {"max_new_tokens": max_new_tokens, "threads": torch.get_num_threads()},
        "timings": {},
        "hidden": {"file": "hidden.safetensors", "tensor": "hidden", "shape": list(hidden.shape)},
        "spans": {"system": {"first": 0, "length": first},
                  "image": {"first": first, "length": n_image},
                  "question": {"first": first + n_image, "length": n_pos - first - n_image},
                  "answer": {"first": n_pos, "length": len(ids)}},
        "patches": {"rows": grid, "cols": grid, "class_token": bool(conf.keep_cls),
                    "preprocessed": pre, "original": orig},
        "image_states": {"tensor": "image_hidden", "indices": list(range(hidden.shape[1])),
                         "shape": list(image_hidden.shape), "dtype": "F32"},
    }
    with open(os.path.join(run_dir, "run.json"), "w") as f:
        json.dump(run, f, indent=2, ensure_ascii=False)
        f.write("\n")
