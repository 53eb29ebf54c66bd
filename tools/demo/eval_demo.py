#!/usr/bin/python3
"""Measures the demo model's accuracy per task on a fresh, seeded evaluation set (PyTorch).

The model is loaded from its llava-hf folder with its F16 weights upcast to float32 (what kevo
computes with). Each question is asked with the llava_v1 template, the image goes through LLaVA's
pad path, and the reply is decoded greedily until EOS (at most 48 tokens). An answer counts as
correct only when it equals the expected sentence exactly.

The evaluation set is either generated in memory (--seed, --per-task; the same samples that
`tools/demo/make_demo_data.py eval DIR --seed S --per-task N` writes as PNG files) or read from such
a folder (--data DIR). Answers produced by another engine (kevo) can be scored against the same
folder with --score ANSWERS.jsonl, whose lines are {"image", "question", "answer"}.

usage: /usr/bin/python3 tools/demo/eval_demo.py MODEL_DIR [--seed 1] [--per-task 200]
                                                     [--data DIR] [--out ANSWERS.jsonl]
       /usr/bin/python3 tools/demo/eval_demo.py --score ANSWERS.jsonl --data DIR
"""
import argparse
import collections
import json
import os

import numpy as np
import torch
from PIL import Image

import make_demo_data as data
import train_demo as model_lib

MAX_NEW = 48


def read_set(folder):
    samples = []
    with open(os.path.join(folder, "questions.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            row["image_path"] = row["image"]
            row["image"] = Image.open(os.path.join(folder, row["image"])).convert("RGB")
            samples.append(row)
    return samples


def decode(sp, ids):
    """The reply text: pieces up to EOS, special and added ids skipped, stripped like LLaVA."""
    out = []
    for i in ids:
        if i == 2:
            break
        if 3 <= i < model_lib.SPM_VOCAB:
            out.append(i)
    return sp.decode(out).strip()


@torch.no_grad()
def generate(model, sp, d, samples, batch=32):
    """Greedy replies with a key/value cache, batched over prompts of the same length."""
    n_img = (d["image"] // d["patch"]) ** 2
    groups = collections.defaultdict(list)
    prompts = []
    for i, s in enumerate(samples):
        before, after = data.encode_prompt(sp, s["question"])
        prompts.append(before + [model_lib.IMAGE_ID] * n_img + after)
        groups[len(prompts[-1])].append(i)
    replies = [None] * len(samples)
    for members in groups.values():
        for k in range(0, len(members), batch):
            part = members[k:k + batch]
            ids = torch.tensor([prompts[i] for i in part])
            pixels = torch.from_numpy(np.stack([data.preprocess(samples[i]["image"], d["image"])
                                                for i in part]))
            logits, past = model(ids, model.image_embeds(pixels))
            new = []
            for _ in range(MAX_NEW):
                new.append(logits[:, -1].argmax(-1, keepdim=True))
                if all((torch.cat(new, 1) == 2).any(1)):
                    break
                logits, past = model(new[-1], None, past)
            new = torch.cat(new, 1)
            for i, row in zip(part, new.tolist()):
                replies[i] = decode(sp, row)
    return replies


def score(samples, replies):
    """{task: (correct, total)} plus the overall entry "all"."""
    table = collections.defaultdict(lambda: [0, 0])
    for s, r in zip(samples, replies):
        for key in (s["task"], "all"):
            table[key][0] += r == s["answer"]
            table[key][1] += 1
    return {k: tuple(v) for k, v in table.items()}


def print_table(table):
    for task in [t for t in data.TASKS if t in table] + ["all"]:
        ok, n = table[task]
        print(f"{task:9s} {ok:5d} / {n:5d}  {100.0 * ok / n:6.2f}%")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", nargs="?")
    ap.add_argument("--data", help="an evaluation folder written by make_demo_data.py eval")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-task", type=int, default=200)
    ap.add_argument("--out", help="write the generated answers here (JSON lines)")
    ap.add_argument("--score", help="score these answers (JSON lines) instead of generating")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--show", type=int, default=2, help="sample generations shown per task")
    args = ap.parse_args()
    if bool(args.score) == bool(args.model_dir):
        ap.error("give either MODEL_DIR or --score ANSWERS.jsonl")
    if args.score and not args.data:
        ap.error("--score needs --data, the folder the answers belong to")

    samples = read_set(args.data) if args.data else data.eval_samples(args.seed, args.per_task)
    if args.score:
        given = {}
        with open(args.score) as f:
            for line in f:
                row = json.loads(line)
                given[(row["image"], row["question"])] = row["answer"]
        missing = [s for s in samples if (s["image_path"], s["question"]) not in given]
        if missing:
            raise SystemExit(f"{args.score}: no answer for {missing[0]['image_path']} "
                             f"{missing[0]['question']!r} ({len(missing)} missing)")
        print_table(score(samples, [given[(s["image_path"], s["question"])] for s in samples]))
        return

    torch.set_num_threads(args.threads)
    model, sp, d = model_lib.load_model(args.model_dir)
    replies = generate(model, sp, d, samples)
    shown = collections.Counter()
    for s, r in zip(samples, replies):
        if shown[s["task"]] < args.show:
            shown[s["task"]] += 1
            mark = "ok " if r == s["answer"] else "BAD"
            print(f"{mark} [{s['task']}] {s['question']} -> {r!r}"
                  + ("" if r == s["answer"] else f" (expected {s['answer']!r})"))
    print_table(score(samples, replies))
    if args.out:
        with open(args.out, "w") as f:
            for i, (s, r) in enumerate(zip(samples, replies)):
                name = s.get("image_path", f"images/{i:04d}.png")
                f.write(json.dumps(dict(image=name, question=s["question"], answer=r)) + "\n")


if __name__ == "__main__":
    main()
