"""Qwen2-VL and Qwen2.5-VL in plain PyTorch, mirroring Hugging Face transformers line by line.

transformers is not installed here, so this module re-states
  transformers/models/qwen2_vl/configuration_qwen2_vl.py
        Qwen2VLVisionConfig, Qwen2VLTextConfig, Qwen2VLConfig (the class defaults; the legacy
        layout whose top-level keys are the text config, "For BC use all kwargs")
  transformers/models/qwen2_5_vl/configuration_qwen2_5_vl.py
        Qwen2_5_VLVisionConfig (window_size, fullatt_block_indexes, tokens_per_second, ...)
  transformers/models/qwen2_vl/modeling_qwen2_vl.py
        PatchEmbed, VisionRotaryEmbedding, apply_rotary_pos_emb_vision, VisionAttention (the
        eager path: one attention per cu_seqlens segment), VisionMlp, Qwen2VLVisionBlock,
        PatchMerger, Qwen2VisionTransformerPretrainedModel.rot_pos_emb / forward,
        Qwen2VLRotaryEmbedding, apply_multimodal_rotary_pos_emb, Qwen2VLAttention, Qwen2MLP,
        Qwen2RMSNorm, Qwen2VLDecoderLayer, Qwen2VLTextModel, Qwen2VLModel.get_rope_index /
        get_image_features / forward (masked_scatter of the image embeddings, rope_deltas for
        the decoding steps), Qwen2VLForConditionalGeneration (_checkpoint_conversion_mapping,
        the tied lm_head)
  transformers/models/qwen2_5_vl/modeling_qwen2_5_vl.py
        Qwen2_5_VLMLP (biased SwiGLU of the vision blocks), Qwen2_5_VLPatchMerger (RMSNorm
        ln_q), Qwen2_5_VLVisionBlock, Qwen2_5_VisionTransformerPretrainedModel.get_window_index
        / forward (window order, cu_window_seqlens, fullatt_block_indexes, the reverse order
        after the merger), Qwen2_5_VLModel.get_rope_index (second_per_grid_t = 0 for images)
  transformers/activations.py  QuickGELUActivation, SiLU, GELUActivation
and generate(output_hidden_states=True) with greedy decoding and a key/value cache
(transformers/generation/utils.py; sampling settings and repetition_penalty of
generation_config.json are not applied: kevo decodes greedily). It reads a hub folder's
config.json and safetensors with numpy only; F16/BF16 weights are widened exactly to F32 and
everything is computed in F32 (the oracles), or in BF16 when asked (bench/engine_torch.py times
it: the casts back to the activations' dtype after the rotary embeddings and the mask in the
scores' dtype are transformers' own, no-ops in F32).

The rotary helpers and the key/value head repetition are imported from llava_torch.py (the same
code transformers copies into these files: "Copied from ...llama.modeling_llama.rotate_half").
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

import safetensors_np as st
from llava_torch import repeat_kv, rms_norm, rotate_half

FAMILIES = ("qwen2_vl", "qwen2_5_vl")


# ----------------------------------------------------------------------------------------------
# Checkpoint and config

def canonical(name):
    """Hub (legacy) name of a tensor newer transformers saved: Qwen2VLForConditionalGeneration's
    _checkpoint_conversion_mapping ("^visual" -> "model.visual", "^model" -> "model.language_model")
    read backwards. lm_head.weight is the same in both layouts."""
    for new, old in (("model.language_model.", "model."), ("model.visual.", "visual.")):
        if name.startswith(new):
            return old + name[len(new):]
    return name


def load_weights(model_dir, dtype=torch.float32):
    """{hub name: tensor of dtype} of model.safetensors or of the shards an index names, each
    tensor widened exactly to F32 and then rounded to dtype (a no-op for F32)."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    files = (sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index)
             else ["model.safetensors"])
    weights = {}
    for f in files:
        for k, v in st.iterate(os.path.join(model_dir, f)):
            weights[canonical(k)] = torch.from_numpy(v).to(dtype)
    return weights


class Config:
    """The Qwen2VLConfig / Qwen2_5_VLConfig values the computation needs, with the class
    defaults of configuration_qwen2_vl.py / configuration_qwen2_5_vl.py."""

    def __init__(self, model_dir):
        c = json.load(open(os.path.join(model_dir, "config.json")))
        self.family = c.get("model_type")
        if self.family not in FAMILIES:
            raise ValueError(f"model_type {self.family!r} is not Qwen2-VL or Qwen2.5-VL")
        self.v25 = self.family == "qwen2_5_vl"
        # Qwen2VLConfig.__init__: text_config absent -> Qwen2VLTextConfig(**kwargs), i.e. the
        # top-level keys (the published layout); newer saves nest them under text_config.
        t = c.get("text_config") or c
        self.vocab = t.get("vocab_size", 152064)
        self.hidden = t.get("hidden_size", 8192)
        self.intermediate = t.get("intermediate_size", 29568)
        self.layers = t.get("num_hidden_layers", 80)
        self.heads = t.get("num_attention_heads", 64)
        kv = t.get("num_key_value_heads", 8)
        self.kv_heads = self.heads if kv is None else kv
        self.head_dim = self.hidden // self.heads   # Qwen2VLAttention: hidden_size // num_heads
        self.act = t.get("hidden_act", "silu")
        self.rms_eps = t.get("rms_norm_eps", 1e-5)
        rope = t.get("rope_scaling") or t.get("rope_parameters") or c.get("rope_scaling") or {}
        self.rope_theta = t.get("rope_theta", rope.get("rope_theta", 1000000.0))
        self.mrope_section = list(rope["mrope_section"])
        assert sum(self.mrope_section) * 2 == self.head_dim, (self.mrope_section, self.head_dim)
        # Qwen2VLTextConfig: sliding_window only when use_sliding_window; layer_types: layers
        # from max_window_layers on slide
        window = t.get("sliding_window", 4096) if t.get("use_sliding_window", False) else None
        mwl = t.get("max_window_layers", 80)
        types = t.get("layer_types") or [
            "sliding_attention" if window is not None and i >= mwl else "full_attention"
            for i in range(self.layers)]
        self.layer_window = [window if ty == "sliding_attention" else None for ty in types]
        tie = c.get("tie_word_embeddings")
        self.tie = bool(t.get("tie_word_embeddings", False) if tie is None else tie)
        self.image_token_id = c.get("image_token_id", 151655)
        self.video_token_id = c.get("video_token_id", 151656)
        self.vision_start_token_id = c.get("vision_start_token_id", 151652)

        v = c.get("vision_config") or {}
        self.v_depth = v.get("depth", 32)
        self.v_heads = v.get("num_heads", 16)
        # the config classes take in_channels; the hub's "in_chans" is an ignored extra kwarg
        self.in_channels = v.get("in_channels", 3)
        self.patch = v.get("patch_size", 14)
        self.merge = v.get("spatial_merge_size", 2)
        self.temporal_patch = v.get("temporal_patch_size", 2)
        if self.v25:
            self.v_dim = v.get("hidden_size", 3584)
            self.v_out = v.get("out_hidden_size", 3584)
            self.v_mlp = v.get("intermediate_size", 3420)
            self.v_act = v.get("hidden_act", "silu")
            self.window_size = v.get("window_size", 112)
            self.fullatt = list(v.get("fullatt_block_indexes", [7, 15, 23, 31]))
            self.tokens_per_second = v.get("tokens_per_second", 4)
        else:
            self.v_dim = v.get("embed_dim", 1280)
            self.v_out = v.get("hidden_size", 3584)
            self.v_mlp = int(self.v_dim * v.get("mlp_ratio", 4))
            self.v_act = v.get("hidden_act", "quick_gelu")
            self.window_size = None
            self.fullatt = list(range(self.v_depth))   # every block attends to the whole image
            self.tokens_per_second = None
        self.v_head_dim = self.v_dim // self.v_heads

        g = {}
        gpath = os.path.join(model_dir, "generation_config.json")
        if os.path.exists(gpath):
            g = json.load(open(gpath))
        eos = g.get("eos_token_id", t.get("eos_token_id", 151645))
        self.eos = set(eos if isinstance(eos, list) else [eos])


def act(name, x):
    """ACT2FN (activations.py)."""
    if name == "quick_gelu":
        return x * torch.sigmoid(1.702 * x)
    if name == "silu":
        return F.silu(x)
    if name == "gelu":
        return F.gelu(x)
    if name == "gelu_pytorch_tanh":
        return F.gelu(x, approximate="tanh")
    raise ValueError(f"activation {name!r} not re-stated")


# ----------------------------------------------------------------------------------------------
# Vision tower

def patch_embed(w, cfg, pixel_values):
    """PatchEmbed.forward: each row (C, T, P, P) through Conv3d(kernel = stride = (T, P, P),
    bias=False) -> (S, Dv)."""
    x = pixel_values.view(-1, cfg.in_channels, cfg.temporal_patch, cfg.patch, cfg.patch)
    return F.conv3d(x, w["visual.patch_embed.proj.weight"],
                    stride=(cfg.temporal_patch, cfg.patch, cfg.patch)).view(-1, cfg.v_dim)


def patch_embed_matmul(w, cfg, pixel_values):
    """The same as a matrix product over the flattened row (the second formulation)."""
    return pixel_values @ w["visual.patch_embed.proj.weight"].reshape(cfg.v_dim, -1).T


def rot_pos_emb(cfg, grid_thw):
    """rot_pos_emb: each patch's (h, w) ids in the processor's merge-window order, looked up in
    VisionRotaryEmbedding(head_dim // 2, theta 10000) -> (S, head_dim / 2)."""
    m = cfg.merge
    pos_ids = []
    for t, h, wd in grid_thw.tolist():
        hpos = torch.arange(h).unsqueeze(1).expand(-1, wd)
        hpos = hpos.reshape(h // m, m, wd // m, m).permute(0, 2, 1, 3).flatten()
        wpos = torch.arange(wd).unsqueeze(0).expand(h, -1)
        wpos = wpos.reshape(h // m, m, wd // m, m).permute(0, 2, 1, 3).flatten()
        pos_ids.append(torch.stack([hpos, wpos], dim=-1).repeat(t, 1))
    pos_ids = torch.cat(pos_ids, dim=0)
    max_grid = int(grid_thw[:, 1:].max())
    dim = cfg.v_head_dim // 2
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
    seq = torch.arange(max_grid, dtype=inv_freq.dtype)
    full = torch.outer(seq, inv_freq)
    return full[pos_ids].flatten(1)


def get_window_index(cfg, grid_thw):
    """Qwen2_5_VisionTransformerPretrainedModel.get_window_index: the merge units in window
    order (windows of window_size // merge // patch units a side, row by row; the last row and
    column of windows cut short) and cu_window_seqlens in patches."""
    window_index, cu_window_seqlens, window_index_id = [], [0], 0
    unit = cfg.merge * cfg.merge
    vws = cfg.window_size // cfg.merge // cfg.patch
    for grid_t, grid_h, grid_w in grid_thw.tolist():
        lh, lw = grid_h // cfg.merge, grid_w // cfg.merge
        index = torch.arange(grid_t * lh * lw).reshape(grid_t, lh, lw)
        pad_h = vws - lh % vws
        pad_w = vws - lw % vws
        nwh, nww = (lh + pad_h) // vws, (lw + pad_w) // vws
        padded = F.pad(index, (0, pad_w, 0, pad_h), "constant", -100)
        padded = padded.reshape(grid_t, nwh, vws, nww, vws)
        padded = padded.permute(0, 1, 3, 2, 4).reshape(grid_t, nwh * nww, vws, vws)
        seqlens = (padded != -100).sum([2, 3]).reshape(-1)
        padded = padded.reshape(-1)
        window_index.append(padded[padded != -100] + window_index_id)
        cu_window_seqlens.extend((seqlens.cumsum(0) * unit + cu_window_seqlens[-1]).tolist())
        window_index_id += grid_t * lh * lw
    return torch.cat(window_index, dim=0), cu_window_seqlens


def eager_attention(q, k, v, scaling):
    """eager_attention_forward without a mask (num_key_value_groups 1): q, k, v (1, H, s, e)
    -> (1, s, H, e)."""
    attn = torch.matmul(q, k.transpose(2, 3)) * scaling
    attn = F.softmax(attn, dim=-1, dtype=torch.float32).to(q.dtype)
    return torch.matmul(attn, v).transpose(1, 2).contiguous()


def segment_ids(cu_seqlens, s):
    """Each position's cu_seqlens segment (the block-diagonal mask's blocks)."""
    seg = torch.zeros(s, dtype=torch.int64)
    for b in cu_seqlens[1:-1].tolist():
        seg[b:] += 1
    return seg


def vision_attention(w, p, cfg, x, cu_seqlens, cos, sin, seg=None):
    """VisionAttention / Qwen2_5_VLVisionAttention.forward, the eager path: each cu_seqlens
    segment attends within itself. With seg (a segment id per position) it computes instead one
    attention over the whole sequence with an explicit mask letting a position see only its own
    segment (the second formulation; cu_seqlens is then ignored)."""
    s = x.shape[0]
    q, k, v = F.linear(x, w[p + "qkv.weight"], w[p + "qkv.bias"]).reshape(
        s, 3, cfg.v_heads, -1).permute(1, 0, 2, 3).unbind(0)
    # apply_rotary_pos_emb_vision: in F32 (BF16 activations promote; F64 ones stay), the
    # results back in the activations' dtype
    c, sn = cos.unsqueeze(-2).float(), sin.unsqueeze(-2).float()
    q = ((q * c) + (rotate_half(q) * sn)).to(x.dtype)
    k = ((k * c) + (rotate_half(k) * sn)).to(x.dtype)
    q, k, v = (t.transpose(0, 1).unsqueeze(0) for t in (q, k, v))
    scaling = cfg.v_head_dim ** -0.5
    if seg is not None:
        mask = torch.zeros((s, s)).masked_fill(seg[:, None] != seg[None, :],
                                              torch.finfo(torch.float32).min)
        attn = torch.matmul(q, k.transpose(2, 3)) * scaling + mask
        out = torch.matmul(F.softmax(attn, dim=-1), v).transpose(1, 2)
    else:
        lengths = (cu_seqlens[1:] - cu_seqlens[:-1]).tolist()
        splits = [torch.split(t, lengths, dim=2) for t in (q, k, v)]
        out = torch.cat([eager_attention(a, b, cc, scaling) for a, b, cc in zip(*splits)], dim=1)
    out = out.reshape(s, -1).contiguous()
    return F.linear(out, w[p + "proj.weight"], w[p + "proj.bias"])


def vision_norm(w, p, cfg, x):
    """Qwen2VLVisionBlock's LayerNorm(eps 1e-6) / Qwen2_5_VLVisionBlock's Qwen2RMSNorm(1e-6)."""
    if cfg.v25:
        return rms_norm(x, w[p + "weight"], 1e-6)
    return F.layer_norm(x, (x.shape[-1],), w[p + "weight"], w[p + "bias"], 1e-6)


def vision_block(w, i, cfg, x, cu_seqlens, cos, sin, seg=None):
    p = f"visual.blocks.{i}."
    x = x + vision_attention(w, p + "attn.", cfg, vision_norm(w, p + "norm1.", cfg, x),
                             cu_seqlens, cos, sin, seg)
    h = vision_norm(w, p + "norm2.", cfg, x)
    m = p + "mlp."
    if cfg.v25:   # Qwen2_5_VLMLP(bias=True)
        h = F.linear(act(cfg.v_act, F.linear(h, w[m + "gate_proj.weight"], w[m + "gate_proj.bias"]))
                     * F.linear(h, w[m + "up_proj.weight"], w[m + "up_proj.bias"]),
                     w[m + "down_proj.weight"], w[m + "down_proj.bias"])
    else:         # VisionMlp
        h = F.linear(act(cfg.v_act, F.linear(h, w[m + "fc1.weight"], w[m + "fc1.bias"])),
                     w[m + "fc2.weight"], w[m + "fc2.bias"])
    return x + h


def merger(w, cfg, x):
    """PatchMerger / Qwen2_5_VLPatchMerger: ln_q, view(-1, Dv * merge^2), Linear, GELU (erf),
    Linear."""
    m = "visual.merger."
    x = vision_norm(w, m + "ln_q.", cfg, x).view(-1, cfg.v_dim * cfg.merge * cfg.merge)
    x = F.gelu(F.linear(x, w[m + "mlp.0.weight"], w[m + "mlp.0.bias"]))
    return F.linear(x, w[m + "mlp.2.weight"], w[m + "mlp.2.bias"])


def vision_forward(w, cfg, pixel_values, grid_thw, full_attention=False, matmul=False,
                   block_mask=False):
    """The vision tower's forward. Returns (features, embeds): the last block's output (S, Dv)
    and the merger's output (S / merge^2, D), both in the processor's patch order (for Qwen2.5-VL
    the window order undone). full_attention=True makes every block attend to the whole image
    (for the check that the windows matter); matmul / block_mask select the second
    formulations of the patch embedding (patch_embed_matmul) and of the attention (one masked
    attention over the whole sequence)."""
    h = (patch_embed_matmul if matmul else patch_embed)(w, cfg, pixel_values)
    rotary = rot_pos_emb(cfg, grid_thw)
    s = h.shape[0]
    unit = cfg.merge * cfg.merge
    # cu_seqlens: one segment per frame (repeat_interleave(h * w, t).cumsum, padded with 0)
    cu_seqlens = F.pad(torch.repeat_interleave(grid_thw[:, 1] * grid_thw[:, 2], grid_thw[:, 0])
                       .cumsum(dim=0, dtype=torch.int32), (1, 0), value=0)
    if cfg.v25:
        window_index, cu_window = get_window_index(cfg, grid_thw)
        cu_window = torch.unique_consecutive(torch.tensor(cu_window, dtype=torch.int32))
        h = h.reshape(s // unit, unit, -1)[window_index].reshape(s, -1)
        rotary = rotary.reshape(s // unit, unit, -1)[window_index].reshape(s, -1)
    emb = torch.cat((rotary, rotary), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    for i in range(cfg.v_depth):
        full = full_attention or i in cfg.fullatt
        cu = cu_seqlens if full else cu_window
        h = vision_block(w, i, cfg, h, cu, cos, sin, segment_ids(cu, s) if block_mask else None)
    embeds = merger(w, cfg, h)
    if cfg.v25:
        reverse = torch.argsort(window_index)
        embeds = embeds[reverse]
        h = h.reshape(s // unit, unit, -1)[reverse].reshape(s, -1)
    return h, embeds


# ----------------------------------------------------------------------------------------------
# Rope index

def get_rope_index(cfg, input_ids, image_grid_thw):
    """Qwen2VLModel.get_rope_index / Qwen2_5_VLModel.get_rope_index for one sequence without
    padding and with images only (video grids are not re-stated). Returns (position_ids (3, P),
    rope_delta): text runs continue at the previous maximum + 1; an image's tokens get
    t = t_index * second_per_grid_t * tokens_per_second (second_per_grid_t = 0 for images in
    Qwen2.5-VL, so 0; Qwen2-VL takes t_index itself, 0 for the one frame of an image),
    h = row, w = column (in merged units), all offset by the text before it."""
    tokens = list(input_ids)
    ids = torch.tensor(tokens)
    starts = torch.argwhere(ids == cfg.vision_start_token_id).squeeze(1)
    image_nums = int((ids[starts + 1] == cfg.image_token_id).sum())
    llm_pos, st, image_index = [], 0, 0
    for _ in range(image_nums):
        ed = tokens.index(cfg.image_token_id, st)
        t, h, w = image_grid_thw[image_index].tolist()
        image_index += 1
        gt, gh, gw = t, h // cfg.merge, w // cfg.merge
        text_len = ed - st
        st_idx = int(llm_pos[-1].max()) + 1 if llm_pos else 0
        llm_pos.append(torch.arange(text_len).view(1, -1).expand(3, -1) + st_idx)
        t_range = torch.arange(gt).view(-1, 1).expand(-1, gh * gw)
        if cfg.v25:
            second_per_grid_t = torch.as_tensor(0, dtype=t_range.dtype)
            t_index = (t_range * second_per_grid_t * cfg.tokens_per_second).long().flatten()
        else:
            t_index = t_range.flatten()
        h_index = torch.arange(gh).view(1, -1, 1).expand(gt, -1, gw).flatten()
        w_index = torch.arange(gw).view(1, 1, -1).expand(gt, gh, -1).flatten()
        llm_pos.append(torch.stack([t_index, h_index, w_index]) + text_len + st_idx)
        st = ed + gt * gh * gw
    if st < len(tokens):
        st_idx = int(llm_pos[-1].max()) + 1 if llm_pos else 0
        llm_pos.append(torch.arange(len(tokens) - st).view(1, -1).expand(3, -1) + st_idx)
    positions = torch.cat(llm_pos, dim=1).reshape(3, -1)
    return positions, int(positions.max()) + 1 - len(tokens)


# ----------------------------------------------------------------------------------------------
# Qwen2 decoder with multimodal rotary

def mrope_cos_sin(cfg, position_ids):
    """Qwen2VLRotaryEmbedding.forward for position_ids (3, n): (3, n, head_dim) each."""
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.int64)
                                         .float() / cfg.head_dim))
    freqs = (inv_freq[None, :, None] @ position_ids[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_multimodal_rotary(x, cos, sin, mrope_section):
    """apply_multimodal_rotary_pos_emb for one tensor (1, H, n, e): the head dimension split by
    mrope_section * 2, chunk i taking stream i % 3 (t, h, w)."""
    sec = mrope_section * 2
    cos = torch.cat([m[i % 3] for i, m in enumerate(cos.split(sec, dim=-1))], dim=-1)[None, None]
    sin = torch.cat([m[i % 3] for i, m in enumerate(sin.split(sec, dim=-1))], dim=-1)[None, None]
    return (x * cos) + (rotate_half(x) * sin)


def text_attention(w, p, cfg, layer, h, cos, sin, cache):
    b, s, _ = h.shape
    e = cfg.head_dim
    q = F.linear(h, w[p + "q_proj.weight"], w[p + "q_proj.bias"]).view(b, s, -1, e).transpose(1, 2)
    k = F.linear(h, w[p + "k_proj.weight"], w[p + "k_proj.bias"]).view(b, s, -1, e).transpose(1, 2)
    v = F.linear(h, w[p + "v_proj.weight"], w[p + "v_proj.bias"]).view(b, s, -1, e).transpose(1, 2)
    q = apply_multimodal_rotary(q, cos, sin, cfg.mrope_section)
    k = apply_multimodal_rotary(k, cos, sin, cfg.mrope_section)
    if layer in cache:
        k = torch.cat([cache[layer][0], k], dim=-2)
        v = torch.cat([cache[layer][1], v], dim=-2)
    cache[layer] = (k, v)
    k = repeat_kv(k, cfg.heads // cfg.kv_heads)
    v = repeat_kv(v, cfg.heads // cfg.kv_heads)
    attn = torch.matmul(q, k.transpose(2, 3)) * e ** -0.5
    total = k.shape[-2]
    i = torch.arange(total - s, total)[:, None]
    j = torch.arange(total)[None, :]
    visible = j <= i                       # masking_utils.causal_mask_function
    window = cfg.layer_window[layer]
    if window is not None:                 # sliding_window_overlay
        visible &= (i - j) < window
    attn = attn + torch.zeros((s, total), dtype=attn.dtype).masked_fill(
        ~visible, torch.finfo(attn.dtype).min)
    attn = F.softmax(attn, dim=-1, dtype=torch.float32).to(q.dtype)
    out = torch.matmul(attn, v).transpose(1, 2).reshape(b, s, cfg.heads * e)
    return F.linear(out, w[p + "o_proj.weight"])


def text_forward(w, cfg, embeds, position_ids, cache):
    """Qwen2VLTextModel.forward + lm_head on the last position: (hidden_states (L + 1 tensors of
    (1, n, D): the input embeddings, each layer's output, the last one normed), logits (V,))."""
    cos, sin = mrope_cos_sin(cfg, position_ids)
    # Qwen2VLRotaryEmbedding.forward returns them in the activations' dtype
    cos, sin = cos.to(embeds.dtype), sin.to(embeds.dtype)
    h = embeds
    states = []
    for i in range(cfg.layers):
        states.append(h)
        p = f"model.layers.{i}."
        r = h
        x = rms_norm(h, w[p + "input_layernorm.weight"], cfg.rms_eps)
        h = r + text_attention(w, p + "self_attn.", cfg, i, x, cos, sin, cache)
        r = h
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], cfg.rms_eps)
        x = F.linear(act(cfg.act, F.linear(x, w[p + "mlp.gate_proj.weight"])) *
                     F.linear(x, w[p + "mlp.up_proj.weight"]), w[p + "mlp.down_proj.weight"])
        h = r + x
    h = rms_norm(h, w["model.norm.weight"], cfg.rms_eps)
    states.append(h)
    return states, F.linear(h[0, -1], w["lm_head.weight"])


class Qwen2VL:
    def __init__(self, model_dir, dtype=torch.float32):
        self.model_dir = model_dir
        self.cfg = Config(model_dir)
        self.w = load_weights(model_dir, dtype)
        self.file_head = self.w.get("lm_head.weight")   # as stored, before any tying
        if self.cfg.tie:   # tie_weights(): lm_head.weight is embed_tokens.weight
            self.w["lm_head.weight"] = self.w["model.embed_tokens.weight"]
        elif "lm_head.weight" not in self.w:
            raise ValueError(f"{model_dir}: tie_word_embeddings is false but lm_head.weight is "
                             "missing")

    def expand(self, ids_slot, n_image):
        """Qwen2VLProcessor: the one <|image_pad|> becomes grid_t * h * w / merge^2 of them."""
        out = []
        for i in ids_slot:
            out += [i] * n_image if i == self.cfg.image_token_id else [i]
        return out

    @torch.no_grad()
    def generate(self, pixel_values, grid_thw, prompt_ids, max_new_tokens):
        """Greedy decoding with output_hidden_states=True; prompt_ids holds the expanded
        <|image_pad|> run. Returns every intermediate the tests compare."""
        w, cfg = self.w, self.cfg
        feats, image_embeds = vision_forward(w, cfg, pixel_values, grid_thw)
        ids = torch.tensor(prompt_ids)
        embeds = w["model.embed_tokens.weight"][ids][None]
        image_mask = ids == cfg.image_token_id
        n_image = int(image_mask.sum())
        if n_image != image_embeds.shape[0]:
            raise ValueError(f"Image features and image tokens do not match: tokens: {n_image}, "
                             f"features {image_embeds.shape[0]}")
        # masked_scatter: the image rows in order into the <|image_pad|> positions
        embeds = embeds.masked_scatter(image_mask[None, :, None].expand_as(embeds), image_embeds)
        position_ids, rope_delta = get_rope_index(cfg, prompt_ids, grid_thw)
        cache, hidden, logits, out_ids = {}, [], [], []
        n_prompt = len(prompt_ids)
        pos = position_ids
        for step in range(max_new_tokens):
            states, lg = text_forward(w, cfg, embeds, pos, cache)
            if step == 0:   # every image position's hidden states at prefill: (N, L+1, D)
                image_hidden = torch.stack([s[0, image_mask] for s in states], dim=1)
            hidden.append(torch.stack([s[0, -1] for s in states]))
            logits.append(lg)
            nxt = int(torch.argmax(lg))
            out_ids.append(nxt)
            if nxt in cfg.eos:
                break
            # Qwen2VLModel.forward after prefill: arange(1) + cache_position[0] + rope_deltas,
            # the same in all three streams
            cache_position = n_prompt + step
            pos = torch.full((3, 1), cache_position + rope_delta, dtype=torch.int64)
            embeds = w["model.embed_tokens.weight"][torch.tensor([[nxt]])]
        return {
            "vision_features": feats,
            "image_embeds": image_embeds,
            "position_ids": position_ids,
            "rope_deltas": torch.tensor([rope_delta], dtype=torch.int64),
            "generated_ids": torch.tensor(out_ids, dtype=torch.int64),
            "hidden": torch.stack(hidden),
            "logits": torch.stack(logits),
            "image_hidden": image_hidden,
        }
