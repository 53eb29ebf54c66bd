#!/usr/bin/python3
"""A synthetic run folder with planted stages, for looking at `kevo analyze`'s figures and checking
the stage rule end to end (docs/stages.md) before a trained model exists.

It writes a tiny random-weight LLaVA with L layers (tools/make_fixture.py's tiny-gqa with a deeper
language model) into OUT/model<L>, and a 40-step run folder OUT/run<L> whose hidden states are
built, not generated. For each token of a caption: small random vectors up to c - r, with
c = round(20 L / 32) + {-1, 0, 1} and r = round(4 L / 32) (the lens sees no token); over r states
a growing multiple of the unit LM-head row of a "plateau" token (the rise); from c on that row
scaled about 5 (the plateau); the generated token at the last two states. About 30 % of the tokens
have a plateau token other than the generated one (they mutate at layer L - 1, half of them at
L - 2). Expected with the raw lens: critical layer round(20 L / 32) (20 for 32 layers), mutations
at L - 2 and L - 1, the mutation layer the more frequent of the two.

usage: /usr/bin/python3 tools/make_planted_run.py OUT_DIR [--layers L] [--runs N]
  --layers L  decoder layers (default 32)
  --runs N    N runs of the same model with other random states (OUT/run<L>-<i>), for the
              multi-run map of `kevo tsne` (default 1: OUT/run<L>)
"""
import argparse
import json
import os
import sys

import numpy as np
import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llava_torch as lt  # noqa: E402
import make_fixture as mf  # noqa: E402
import safetensors_np as st  # noqa: E402

CAPTION = ("The image features a small child standing in a grassy field wearing a striped shirt "
           "and a tie.")


def config_digest(path):
    h = 0xcbf29ce484222325   # FNV-1a 64, as kevo records it
    for b in open(path, "rb").read():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def planted_states(unit, ids, n_layers, rng):
    T, L, D = len(ids), n_layers, unit.shape[1]
    rise = max(1, round(4 * L / 32))
    hidden = np.zeros((T, L + 1, D))
    for t, y in enumerate(ids):
        c = round(20 * L / 32) + int(rng.integers(-1, 2))
        plateau = (y + 7) % 500 if rng.random() < 0.3 else y
        for l in range(L + 1):
            noise = rng.standard_normal(D)
            if l < c - rise:
                h = 0.25 * noise
            elif l < c:
                h = 5 * (l - (c - rise) + 1) / (rise + 1) * unit[plateau] + 0.2 * noise
            elif l < L - 1:
                h = (5 + 0.05 * l) * unit[plateau] + 0.02 * noise
            else:
                h = 6 * unit[y] + 0.02 * noise
            hidden[t, l] = h
        if plateau != y and rng.random() < 0.5:
            hidden[t, L - 2] = 5.5 * unit[y] + 0.02 * rng.standard_normal(D)
    return hidden.astype(np.float32)


def write_run(run_dir, model_dir, head, sp, L, seed):
    unit = head.astype(np.float64) / np.linalg.norm(head, axis=1, keepdims=True)
    ids = sp.encode(CAPTION)[:40]
    hidden = planted_states(unit, ids, L, np.random.default_rng(seed))
    os.makedirs(run_dir, exist_ok=True)
    st.write(os.path.join(run_dir, "hidden.safetensors"), {"hidden": hidden},
             metadata={"format": "kevo-run", "kevo_version": "planted"})
    run = {
        "format": "kevo-run", "kevo_version": "planted",
        "model": {"path": model_dir,
                  "config_fnv1a64": config_digest(os.path.join(model_dir, "config.json")),
                  "text_layers": L, "text_hidden": int(head.shape[1]),
                  "vocab_rows": int(head.shape[0]), "image_tokens": 16, "weights_dtype": "F32"},
        "image": {"path": "(planted states, no image)", "width": 0, "height": 0, "mode": "pad"},
        "question": "Please describe this image in detail.", "template": "llava_v1",
        "prompt": "(planted)", "prompt_ids": [1, lt.IMAGE_SLOT], "image_position": 1,
        "n_positions": 17, "generated_ids": ids,
        "generated_pieces": [sp.id_to_piece(i) for i in ids], "text": sp.decode(ids),
        "stop": "max_new_tokens", "options": {}, "timings": {},
        "hidden": {"file": "hidden.safetensors", "tensor": "hidden", "shape": list(hidden.shape)},
    }
    with open(os.path.join(run_dir, "run.json"), "w") as f:
        json.dump(run, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(run_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    L = args.layers
    model_dir = os.path.join(args.out_dir, f"model{L}")
    mf.DIMS["t_layers"] = L
    mf.make("tiny-gqa", model_dir)
    head = st.read(os.path.join(model_dir, "model.safetensors"))[0]["lm_head.weight"]
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    for i in range(args.runs):
        name = f"run{L}" if args.runs == 1 else f"run{L}-{i}"
        write_run(os.path.join(args.out_dir, name), model_dir, head, sp, L, 1 + i)


if __name__ == "__main__":
    main()
