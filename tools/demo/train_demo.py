#!/usr/bin/python3
"""Trains kevo's demo model: a tiny LLaVA-1.5 that learned to answer questions about synthetic
scenes, written in the llava-hf layout (the files kevo and transformers' LlavaForConditionalGeneration
load).

Recipe (every number is a default below; models/demo/README.md records the run):
  1. Tokenizer: SentencePiece BPE with LLaMA's options (byte fallback, split digits, identity
     normaliser, dummy prefix, ids 0/1/2 = <unk>/<s>/</s>, 3..258 = bytes), 512 pieces, trained
     on the template's system chunk and the questions and answers of 4000 scenes (stream 2 of
     tools/demo/make_demo_data.py). As in llava-hf, <image> = 512 and <pad> = 513 follow the pieces
     and the embedding rows are padded to a multiple of 64 (576).
  2. Model: LLaVA-1.5's architecture at small size (DIMS): a CLIP ViT (class token, pre-LN,
     quick_gelu) whose penultimate layer's patch tokens (vision_feature_layer -2, CLS dropped) go
     through the 2-layer erf-GELU projector into a LLaMA decoder (RMSNorm, rotate_half RoPE,
     SwiGLU, untied head). The classes below mirror transformers' modeling files line by line.
  3. Data: tools/demo/make_demo_data.py, presented exactly as kevo does at inference: the llava_v1
     prompt tokenised like tokenizer_image_token with the image features in the <image> slot,
     pixels from LLaVA's pad path; the reply " {answer}</s>" is the only text with a loss
     (cross-entropy, mean over the batch's reply tokens).
  4. Stage 1, the vision tower alone (LLaVA starts from a pretrained CLIP; ours starts here):
     3000 steps of 32 images (stream 5) on a dense loss, a linear probe that reads the colour
     and the kind of the object under every patch (PatchProbe, training only, not saved).
     Without it the decoder learned the answers' wording but no more than chance on what the
     image shows.
  5. Stage 2, everything: 3000 steps of 16 samples (stream 0) on the reply loss plus 0.5 x the
     probe loss. Both stages: AdamW (betas 0.9/0.98, weight decay 0.01 on matrices), lr 1.5e-3,
     100 warm-up steps, cosine decay to 10%, gradient clipping at 1.0, float32, seeded. One
     thread by default: on a machine whose two cores are shared, two OpenMP threads waiting on
     each other ran 2-5x slower than one.
  6. Output: weights rounded to float16 (like the published llava-hf checkpoint) under the hub's
     legacy tensor names in one model.safetensors, the JSON configs, tokenizer.model and the
     tokenizer's JSON side files, and training.json (command, wall time, loss curve).

Options for experiments (models/demo/README.md, "Variants tried", gives what they measured):
--image/--patch (input side and patch), --text-hidden/--vision-hidden (widths), --rope-theta,
--freeze-vision (stage 2 without the tower, as LLaVA), --color-distractors (more two-object
colour questions in stage 2), longer stages, --seed.

usage: /usr/bin/python3 tools/demo/train_demo.py OUT_DIR [--vision-steps 3000] [--steps 3000]
           [--threads 1] [--image 96] [--patch 16] [--text-hidden 128] [--vision-hidden 128]
           [--rope-theta 10000] [--freeze-vision] [--color-distractors 0.6,0.25,0.15] [--seed 0]
"""
import argparse
import io
import json
import math
import os
import random
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F

import make_demo_data as data

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import make_tokenizer_json  # noqa: E402
import safetensors_np as st  # noqa: E402

SPM_VOCAB = 512
IMAGE_ID, PAD_ID = SPM_VOCAB, SPM_VOCAB + 1
VOCAB_ROWS = 576          # 514 tokens padded to a multiple of 64, as llava-hf pads 32002 to 32064

DIMS = dict(v_hidden=128, v_inter=512, v_layers=6, v_heads=4, image=96, patch=16,
            t_hidden=128, t_inter=352, t_layers=12, t_heads=4, max_pos=512,
            rms_eps=1e-5, ln_eps=1e-5, rope_theta=10000.0)


# ---------------------------------------------------------------------------------------------
# Model. Each class mirrors the transformers class of the same name (eager attention, float32).

class CLIPVisionEmbeddings(nn.Module):
    """transformers/models/clip/modeling_clip.py CLIPVisionEmbeddings (no interpolation)."""

    def __init__(self, d):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.zeros(d["v_hidden"]))
        self.patch_embedding = nn.Conv2d(3, d["v_hidden"], kernel_size=d["patch"],
                                         stride=d["patch"], bias=False)
        self.position_embedding = nn.Embedding((d["image"] // d["patch"]) ** 2 + 1, d["v_hidden"])

    def forward(self, pixel_values):                       # (B, 3, S, S)
        patches = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)   # (B, P, D)
        cls = self.class_embedding.expand(pixel_values.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight


class CLIPAttention(nn.Module):
    """modeling_clip.py CLIPAttention: biased q/k/v/out, scale head_dim^-0.5, no mask."""

    def __init__(self, d):
        super().__init__()
        self.heads, self.head_dim = d["v_heads"], d["v_hidden"] // d["v_heads"]
        self.scale = self.head_dim ** -0.5
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (
            nn.Linear(d["v_hidden"], d["v_hidden"]) for _ in range(4))

    def forward(self, x):                                  # (B, T, D)
        b, t, _ = x.shape
        q, k, v = (p(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))
        w = torch.softmax((q @ k.transpose(2, 3)) * self.scale, dim=-1, dtype=torch.float32)
        return self.out_proj((w @ v).transpose(1, 2).reshape(b, t, -1))


class CLIPMLP(nn.Module):
    """modeling_clip.py CLIPMLP with hidden_act quick_gelu (activations.py QuickGELUActivation)."""

    def __init__(self, d):
        super().__init__()
        self.fc1 = nn.Linear(d["v_hidden"], d["v_inter"])
        self.fc2 = nn.Linear(d["v_inter"], d["v_hidden"])

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))


class CLIPEncoderLayer(nn.Module):
    """modeling_clip.py CLIPEncoderLayer: pre-LN attention and MLP blocks with residuals."""

    def __init__(self, d):
        super().__init__()
        self.self_attn = CLIPAttention(d)
        self.layer_norm1 = nn.LayerNorm(d["v_hidden"], eps=d["ln_eps"])
        self.mlp = CLIPMLP(d)
        self.layer_norm2 = nn.LayerNorm(d["v_hidden"], eps=d["ln_eps"])

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.layers = nn.ModuleList(CLIPEncoderLayer(d) for _ in range(d["v_layers"]))


class CLIPVisionTransformer(nn.Module):
    """modeling_clip.py CLIPVisionTransformer. LLaVA reads hidden_states[-2], the output of the
    penultimate encoder layer (entry 0 is pre_layrnorm's output), so the last layer and
    post_layernorm exist in the checkpoint but are never run (nor trained)."""

    def __init__(self, d):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(d)
        self.pre_layrnorm = nn.LayerNorm(d["v_hidden"], eps=d["ln_eps"])
        self.encoder = CLIPEncoder(d)
        self.post_layernorm = nn.LayerNorm(d["v_hidden"], eps=d["ln_eps"])

    def penultimate(self, pixel_values):
        x = self.pre_layrnorm(self.embeddings(pixel_values))
        for layer in self.encoder.layers[:-1]:
            x = layer(x)
        return x


class CLIPVisionModel(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.vision_model = CLIPVisionTransformer(d)


class LlavaMultiModalProjector(nn.Module):
    """transformers/models/llava/modeling_llava.py: linear_1 -> GELU (exact erf) -> linear_2."""

    def __init__(self, d):
        super().__init__()
        self.linear_1 = nn.Linear(d["v_hidden"], d["t_hidden"])
        self.linear_2 = nn.Linear(d["t_hidden"], d["t_hidden"])

    def forward(self, x):
        return self.linear_2(F.gelu(self.linear_1(x)))


class LlamaRMSNorm(nn.Module):
    """transformers/models/llama/modeling_llama.py LlamaRMSNorm: weight * normalised input."""

    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype)


def rope_cos_sin(n_pos, head_dim, theta):
    """modeling_llama.py LlamaRotaryEmbedding (default rope): cos, sin of shape (n_pos, head_dim)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = torch.outer(torch.arange(n_pos, dtype=torch.float32), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class LlamaAttention(nn.Module):
    """modeling_llama.py LlamaAttention (eager): no biases, rotate_half RoPE on q and k, scores
    divided by sqrt(head_dim), causal mask of finfo.min, softmax in float32. `past` holds the
    keys and values of earlier positions (transformers' past_key_values)."""

    def __init__(self, d):
        super().__init__()
        self.heads, self.head_dim = d["t_heads"], d["t_hidden"] // d["t_heads"]
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (
            nn.Linear(d["t_hidden"], d["t_hidden"], bias=False) for _ in range(4))

    def forward(self, x, cos, sin, mask, past):            # x (B, T, D); cos, sin (T, E)
        b, t, _ = x.shape
        q, k, v = (p(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:                               # (1 or B, H, P, E): a shared prefix
            k = torch.cat([past[0].expand(b, -1, -1, -1), k], dim=2)
            v = torch.cat([past[1].expand(b, -1, -1, -1), v], dim=2)
        scores = (q @ k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        w = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        return self.o_proj((w @ v).transpose(1, 2).reshape(b, t, -1)), (k, v)


class LlamaMLP(nn.Module):
    """modeling_llama.py LlamaMLP: down(silu(gate(x)) * up(x))."""

    def __init__(self, d):
        super().__init__()
        self.gate_proj = nn.Linear(d["t_hidden"], d["t_inter"], bias=False)
        self.up_proj = nn.Linear(d["t_hidden"], d["t_inter"], bias=False)
        self.down_proj = nn.Linear(d["t_inter"], d["t_hidden"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.self_attn = LlamaAttention(d)
        self.mlp = LlamaMLP(d)
        self.input_layernorm = LlamaRMSNorm(d["t_hidden"], d["rms_eps"])
        self.post_attention_layernorm = LlamaRMSNorm(d["t_hidden"], d["rms_eps"])

    def forward(self, x, cos, sin, mask, past):
        h, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x)), present


class LlamaModel(nn.Module):
    """modeling_llama.py LlamaModel on inputs_embeds. The new positions follow those in `past`
    (a list of per-layer (keys, values), or None); returns the final-normed states and the
    keys and values of all positions so far."""

    def __init__(self, d):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB_ROWS, d["t_hidden"])
        self.layers = nn.ModuleList(LlamaDecoderLayer(d) for _ in range(d["t_layers"]))
        self.norm = LlamaRMSNorm(d["t_hidden"], d["rms_eps"])
        self.head_dim, self.theta = d["t_hidden"] // d["t_heads"], d["rope_theta"]

    def forward(self, inputs_embeds, past=None):           # (B, T, D) -> (B, T, D), cache
        t = inputs_embeds.shape[1]
        p = 0 if past is None else past[0][0].shape[2]
        cos, sin = rope_cos_sin(p + t, self.head_dim, self.theta)
        mask = torch.full((t, p + t), torch.finfo(torch.float32).min).triu(p + 1)
        x, present = inputs_embeds, []
        for i, layer in enumerate(self.layers):
            x, kv = layer(x, cos[p:], sin[p:], mask, None if past is None else past[i])
            present.append(kv)
        return self.norm(x), present


class LlamaForCausalLM(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.model = LlamaModel(d)
        self.lm_head = nn.Linear(d["t_hidden"], VOCAB_ROWS, bias=False)


class LlavaForConditionalGeneration(nn.Module):
    """modeling_llava.py: image features (vision_feature_layer -2, strategy "default" drops CLS)
    -> projector -> masked_scatter into the <image> positions of the token embeddings -> LLaMA.
    Parameter names are the hub's legacy ones (vision_tower.*, multi_modal_projector.*,
    language_model.model.*, language_model.lm_head.*)."""

    def __init__(self, d):
        super().__init__()
        self.vision_tower = CLIPVisionModel(d)
        self.multi_modal_projector = LlavaMultiModalProjector(d)
        self.language_model = LlamaForCausalLM(d)

    def vision_features(self, pixel_values):              # (B, 3, S, S) -> (B, P, D_vision)
        return self.vision_tower.vision_model.penultimate(pixel_values)[:, 1:]

    def forward(self, input_ids, image_embeds=None, past=None):
        """logits (B, T, VOCAB_ROWS) of the new ids and the cache. image_embeds (B, P, D_text)
        = multi_modal_projector(vision_features(pixels)) fill the <image> positions among
        input_ids (all of them, or none when image_embeds is None)."""
        embeds = self.language_model.model.embed_tokens(input_ids)
        if image_embeds is not None:
            slots = (input_ids == IMAGE_ID).unsqueeze(-1).expand_as(embeds)
            embeds = embeds.masked_scatter(slots, image_embeds)
        hidden, present = self.language_model.model(embeds, past)
        return self.language_model.lm_head(hidden), present

    def image_embeds(self, pixel_values):
        return self.multi_modal_projector(self.vision_features(pixel_values))


class PatchProbe(nn.Module):
    """Training only, never saved: a linear read-out of every patch's vision features that
    predicts the colour and the kind of the object under it (make_demo_data.patch_labels).
    LLaVA starts from a pretrained CLIP tower; this dense loss gives ours the same head start,
    so that the decoder finds objects in the image tokens instead of only learning the
    answers' wording."""

    def __init__(self, d):
        super().__init__()
        self.n_colours, self.n_kinds = 1 + len(data.COLOURS), 1 + len(data.KINDS)
        self.proj = nn.Linear(d["v_hidden"], self.n_colours + self.n_kinds)

    def loss(self, features, colours, kinds):              # (B, P, Dv), (B, P), (B, P)
        out = self.proj(features)
        return (F.cross_entropy(out[..., :self.n_colours].reshape(-1, self.n_colours),
                                colours.reshape(-1)) +
                F.cross_entropy(out[..., self.n_colours:].reshape(-1, self.n_kinds),
                                kinds.reshape(-1)))


def init_weights(model, d):
    """transformers' _init_weights (normal 0.02, zero biases, unit norms), with the residual
    output projections scaled by 1/sqrt(2 * layers) so that the deep stack starts stable."""
    for name, p in model.named_parameters():
        if p.dim() == 1:
            nn.init.ones_(p) if "norm" in name else nn.init.zeros_(p)
        else:
            std = 0.02
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                std /= math.sqrt(2 * d["t_layers"])
            elif name.endswith(("out_proj.weight", "fc2.weight")):
                std /= math.sqrt(2 * d["v_layers"])
            nn.init.normal_(p, 0.0, std)
    nn.init.normal_(model.vision_tower.vision_model.embeddings.class_embedding, 0.0, 0.02)


# ---------------------------------------------------------------------------------------------
# Batches

def encode_sample(sp, sample, n_image_tokens):
    """Ids after the shared prefix [BOS] + system chunk (the <image> slot expanded, as
    llava-hf's processor does) and their labels."""
    _, after = data.encode_prompt(sp, sample["question"])
    reply = data.encode_answer(sp, sample["answer"])
    ids = [IMAGE_ID] * n_image_tokens + after + reply
    labels = [-100] * (len(ids) - len(reply)) + reply
    return ids, labels


def make_batch(sp, samples, d):
    """The prefix ids (1, P), identical for every sample; the rest of each sequence (B, T),
    right-padded with <pad> (padding only follows a sequence, so the causal mask keeps it out
    of every real position, and its labels are ignored); pixels; per-patch probe labels."""
    n_img = (d["image"] // d["patch"]) ** 2
    prefix = torch.tensor([data.encode_prompt(sp, "")[0]])
    rows = [encode_sample(sp, s, n_img) for s in samples]
    t = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), t), PAD_ID, dtype=torch.long)
    labels = torch.full((len(rows), t), -100, dtype=torch.long)
    for i, (x, y) in enumerate(rows):
        ids[i, :len(x)] = torch.tensor(x)
        labels[i, :len(y)] = torch.tensor(y)
    pixels = torch.from_numpy(np.stack([data.preprocess(s["image"], d["image"]) for s in samples]))
    patches = [data.patch_labels(s, d["image"], d["patch"]) for s in samples]
    colours = torch.tensor([c for c, _ in patches])
    kinds = torch.tensor([k for _, k in patches])
    return prefix, ids, labels, pixels, colours, kinds


def batch_loss(model, probe, tune_vision, prefix, ids, labels, pixels, colours, kinds):
    """(reply loss, probe loss). The reply loss is the mean cross-entropy over the reply
    tokens. The prefix runs once (batch 1) and the batch attends to its cached keys and
    values: the same numbers as running every full sequence, since causal attention makes the
    prefix's states independent of what follows. A frozen tower (LLaVA's recipe) runs without
    gradients and has no probe loss."""
    with torch.set_grad_enabled(tune_vision):
        features = model.vision_features(pixels)
    _, past = model(prefix)
    logits, _ = model(ids, model.multi_modal_projector(features), past)
    # position P-1 (the prefix's last) predicts ids[:, 0], an image slot without a label
    reply = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB_ROWS), labels[:, 1:].reshape(-1),
                            ignore_index=-100)
    return reply, probe.loss(features, colours, kinds) if tune_vision else torch.zeros(())


@torch.no_grad()
def colour_accuracy(model, sp, d, samples):
    """Share of held-out colour questions whose whole reply is the argmax at every position
    (teacher-forced: a cheap progress signal; tools/demo/eval_demo.py decodes for real)."""
    model.eval()
    prefix, ids, labels, pixels, _, _ = make_batch(sp, samples, d)
    _, past = model(prefix)
    logits, _ = model(ids, model.image_embeds(pixels), past)
    model.train()
    wrong = (logits[:, :-1].argmax(-1) != labels[:, 1:]) & (labels[:, 1:] != -100)
    return 1.0 - wrong.any(1).float().mean().item()


def check_reply_tokenization(sp, n=500):
    """encode_answer's claim: the reply's ids equal the tail of the whole turn's ids."""
    for i in range(n):
        s = data.make_sample(2, i)
        _, after = data.encode_prompt(sp, s["question"])
        whole = sp.encode(data.prompt_chunks(s["question"])[1] + " " + s["answer"])
        if whole != after + data.encode_answer(sp, s["answer"])[:-1]:
            raise SystemExit(f"reply tokenisation differs for {s['question']!r} {s['answer']!r}")


# ---------------------------------------------------------------------------------------------
# Tokenizer and output files

def train_tokenizer():
    """The SentencePiece model proto (bytes). The system chunk is repeated once per scene so
    that its words weigh as they do in training."""
    lines = data.corpus(4000)
    lines = lines[:1] * 4000 + lines[1:]
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=proto, vocab_size=SPM_VOCAB,
        model_type="bpe", character_coverage=1.0, byte_fallback=True, split_digits=True,
        normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1,
        shuffle_input_sentence=False, minloglevel=2)
    return proto.getvalue()


def config_json(d):
    text = {
        "_name_or_path": "kevo/demo-llama", "architectures": ["LlamaForCausalLM"],
        "model_type": "llama", "hidden_size": d["t_hidden"], "intermediate_size": d["t_inter"],
        "num_hidden_layers": d["t_layers"], "num_attention_heads": d["t_heads"],
        "max_position_embeddings": d["max_pos"], "rms_norm_eps": d["rms_eps"],
        "rope_theta": d["rope_theta"], "torch_dtype": "float16", "vocab_size": VOCAB_ROWS,
    }
    vision = {
        "model_type": "clip_vision_model", "hidden_size": d["v_hidden"],
        "image_size": d["image"], "intermediate_size": d["v_inter"],
        "num_attention_heads": d["v_heads"], "num_hidden_layers": d["v_layers"],
        "patch_size": d["patch"], "projection_dim": d["v_hidden"], "vocab_size": SPM_VOCAB,
    }
    return {
        "architectures": ["LlavaForConditionalGeneration"], "ignore_index": -100,
        "image_token_index": IMAGE_ID, "model_type": "llava", "pad_token_id": PAD_ID,
        "projector_hidden_act": "gelu", "text_config": text, "tie_word_embeddings": False,
        "torch_dtype": "float16", "transformers_version": "4.36.0.dev0",
        "vision_config": vision, "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default", "vocab_size": VOCAB_ROWS,
    }


def preprocessor_json(d):
    s = d["image"]
    return {
        "crop_size": {"height": s, "width": s}, "do_center_crop": True, "do_convert_rgb": True,
        "do_normalize": True, "do_rescale": True, "do_resize": True,
        "image_mean": data.CLIP_MEAN, "image_processor_type": "CLIPImageProcessor",
        "image_std": data.CLIP_STD, "processor_class": "LlavaProcessor", "resample": 3,
        "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": s},
    }


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def load_model(model_dir):
    """The saved model with its F16 weights upcast to float32, plus its SentencePiece processor."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    t, v = cfg["text_config"], cfg["vision_config"]
    d = dict(DIMS, v_hidden=v["hidden_size"], v_inter=v["intermediate_size"],
             v_layers=v["num_hidden_layers"], v_heads=v["num_attention_heads"],
             image=v["image_size"], patch=v["patch_size"], t_hidden=t["hidden_size"],
             t_inter=t["intermediate_size"], t_layers=t["num_hidden_layers"],
             t_heads=t["num_attention_heads"], max_pos=t["max_position_embeddings"],
             rms_eps=t["rms_norm_eps"], rope_theta=t.get("rope_theta", 10000.0))
    model = LlavaForConditionalGeneration(d)
    # F16/BF16 weights upcast exactly to float32, as kevo computes with them
    weights, _ = st.read(os.path.join(model_dir, "model.safetensors"))
    model.load_state_dict({name: torch.tensor(a) for name, a in weights.items()})
    model.eval()
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    return model, sp, d


def save(out_dir, model, d, sp_proto):
    os.makedirs(out_dir, exist_ok=True)
    write_json(os.path.join(out_dir, "config.json"), config_json(d))
    write_json(os.path.join(out_dir, "generation_config.json"),
               {"_from_model_config": True, "bos_token_id": 1, "eos_token_id": 2,
                "pad_token_id": PAD_ID})
    write_json(os.path.join(out_dir, "preprocessor_config.json"), preprocessor_json(d))
    added, tok_config, special = make_tokenizer_json.side_files(IMAGE_ID, PAD_ID)
    write_json(os.path.join(out_dir, "added_tokens.json"), added)
    write_json(os.path.join(out_dir, "tokenizer_config.json"), tok_config)
    write_json(os.path.join(out_dir, "special_tokens_map.json"), special)
    with open(os.path.join(out_dir, "tokenizer.model"), "wb") as f:
        f.write(sp_proto)
    # tokenizer.json as transformers' LlamaConverter derives it (the legacy normaliser, as in
    # tools/fixtures/make_fixture.py), so the folder is complete in the llava-hf layout.
    make_tokenizer_json.write(out_dir, os.path.join(out_dir, "tokenizer.json"), legacy=True)
    state = model.state_dict()   # every tensor as F16 (round to nearest even), in name order
    st.write(os.path.join(out_dir, "model.safetensors"),
             {name: state[name].detach().numpy() for name in sorted(state)}, dtype="F16",
             metadata={"format": "pt"})


# ---------------------------------------------------------------------------------------------
# Training

def learning_rate(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def adamw(params, lr):
    params = list(params)
    return torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.01},
                              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.98), eps=1e-8)


def optimise(opt, params, step, steps, peak, warmup, loss):
    for g in opt.param_groups:
        g["lr"] = learning_rate(step, steps, peak, warmup)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--vision-steps", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--probe-weight", type=float, default=0.5)
    ap.add_argument("--image", type=int, default=DIMS["image"], help="input side in pixels")
    ap.add_argument("--patch", type=int, default=DIMS["patch"], help="ViT patch side in pixels")
    ap.add_argument("--text-hidden", type=int, default=DIMS["t_hidden"],
                    help="the decoder's width (SwiGLU width 2.75 times it, as 128 -> 352)")
    ap.add_argument("--vision-hidden", type=int, default=DIMS["v_hidden"],
                    help="the tower's width (MLP width 4 times it)")
    ap.add_argument("--rope-theta", type=float, default=DIMS["rope_theta"],
                    help="the decoder's RoPE base (LLaMA 2 and Vicuna: 10000)")
    ap.add_argument("--color-distractors", default="0.6,0.25,0.15",
                    help="probabilities of 0, 1, 2 other objects in stage 2's colour questions "
                         "(default: the evaluation scenes')")
    ap.add_argument("--freeze-vision", action="store_true",
                    help="keep the vision tower frozen in stage 2, as LLaVA does (worse here)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args()

    start = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    for name in ("vision_steps", "steps", "batch", "threads", "image", "patch"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} {getattr(args, name)}: at least 1")
    if args.image % args.patch:
        raise SystemExit(f"--image {args.image} is not a multiple of --patch {args.patch}")
    # The heads must split the width evenly, and RoPE rotates pairs: an even decoder head size.
    for name, width, step in (("--text-hidden", args.text_hidden, 2 * DIMS["t_heads"]),
                              ("--vision-hidden", args.vision_hidden, DIMS["v_heads"])):
        if width <= 0 or width % step:
            raise SystemExit(f"{name} {width} is not a positive multiple of {step}")
    if not 1 < args.rope_theta < math.inf:
        raise SystemExit(f"--rope-theta {args.rope_theta}: the RoPE base must be finite and > 1")
    d = dict(DIMS, image=args.image, patch=args.patch, rope_theta=args.rope_theta,
             t_hidden=args.text_hidden, t_inter=args.text_hidden * 11 // 4,
             v_hidden=args.vision_hidden, v_inter=4 * args.vision_hidden)
    torch.set_num_threads(args.threads)

    sp_proto = train_tokenizer()
    sp = spm.SentencePieceProcessor(model_proto=sp_proto)
    check_reply_tokenization(sp)
    model = LlavaForConditionalGeneration(d)
    init_weights(model, d)
    probe = PatchProbe(d)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params} parameters; tokenizer and checks {time.time() - start:.0f} s", flush=True)

    # Stage 1: the vision tower and the probe alone (stream 5), twice the batch: it is cheap.
    vision = list(model.vision_tower.parameters()) + list(probe.parameters())
    opt = adamw(vision, args.lr)
    for step in range(args.vision_steps):
        samples = [data.make_sample(5, step * 2 * args.batch + j) for j in range(2 * args.batch)]
        *_, pixels, colours, kinds = make_batch(sp, samples, d)
        probe_loss = probe.loss(model.vision_features(pixels), colours, kinds)
        optimise(opt, vision, step, args.vision_steps, args.lr, args.warmup, probe_loss)
        if (step + 1) % args.log_every == 0:
            print(f"vision {step + 1:5d}  probe loss {probe_loss.item():.4f}  "
                  f"{(time.time() - start) / 60:.1f} min", flush=True)
    vision_loss = probe_loss.item()

    # Stage 2: everything on the reply loss, the probe loss kept as a regulariser (or, with
    # --freeze-vision, the projector and the decoder alone, as LLaVA trains them: 83.0 % on
    # colour questions against 87.0 % here, models/demo/README.md "Variants tried").
    tune_vision = not args.freeze_vision
    # More pictures with a second object than the evaluation has was tried (0.2,0.45,0.35): it
    # did not help (models/demo/README.md, "Variants tried").
    distractors = tuple(float(x) for x in args.color_distractors.split(","))
    if len(distractors) != 3 or abs(sum(distractors) - 1) > 1e-9 or min(distractors) < 0:
        raise SystemExit(f"--color-distractors {args.color_distractors}: three probabilities "
                         "summing to 1")
    if tune_vision:
        params = list(model.parameters()) + list(probe.parameters())
    else:
        model.vision_tower.requires_grad_(False)
        params = [p for p in model.parameters() if p.requires_grad]
    opt = adamw(params, args.lr)
    held_out = [data.make_sample(4, i, "color") for i in range(64)]
    curve, window, t_log = [], [], time.time()
    for step in range(args.steps):
        samples = [data.make_sample(0, step * args.batch + j, color_distractors=distractors)
                   for j in range(args.batch)]
        reply_loss, probe_loss = batch_loss(model, probe, tune_vision,
                                           *make_batch(sp, samples, d))
        optimise(opt, params, step, args.steps, args.lr, args.warmup,
                 reply_loss + args.probe_weight * probe_loss)
        window.append((reply_loss.item(), probe_loss.item()))
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            reply, probe_mean = (sum(w[i] for w in window) / len(window) for i in range(2))
            acc = colour_accuracy(model, sp, d, held_out)
            curve.append(dict(step=step + 1, loss=round(reply, 5), probe_loss=round(probe_mean, 5),
                              colour=round(acc, 4)))
            print(f"step {step + 1:5d}  loss {reply:.4f}  probe {probe_mean:.4f}  "
                  f"colour {acc:.3f}  {(time.time() - t_log) / len(window):.2f} s/step  "
                  f"{(time.time() - start) / 60:.1f} min", flush=True)
            window, t_log = [], time.time()

    save(args.out_dir, model, d, sp_proto)
    wall = time.time() - start
    write_json(os.path.join(args.out_dir, "training.json"), {
        "command": "/usr/bin/python3 tools/demo/train_demo.py " + " ".join(sys.argv[1:]),
        "args": vars(args), "dims": d, "parameters": n_params, "torch": torch.__version__,
        "wall_seconds": round(wall, 1), "vision_probe_loss": round(vision_loss, 5),
        "final_loss": curve[-1]["loss"], "loss_curve": curve})
    print(f"wrote {args.out_dir} in {wall / 60:.1f} min; final loss {curve[-1]['loss']:.4f}")


if __name__ == "__main__":
    main()
