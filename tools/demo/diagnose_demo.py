#!/usr/bin/python3
"""Where the demo model fails on colour questions about one of several objects: in the tower or
in the decoder (PyTorch, F16 weights upcast to float32, greedy decoding as tools/demo/eval_demo.py).

1. Tower: a fresh logistic-regression probe on the vision features averaged over each object's
   patches, trained on 1500 scenes with one or two distractors (stream 7) and tested on 400
   others (stream 8). High accuracy means the image tokens carry the objects' kinds.
2. Decoder: 300 colour questions whose pictures have one or two distractors (stream 9), by the
   asked object's size and the number of objects, and how many misses name a distractor's
   colour.
3. Lone objects: 200 object and 200 shape questions (stream 9), by the number of objects, and
   which kinds a lone object is most often mistaken for.
4. The query side: how well a fresh linear probe reads the asked kind from each decoder layer's
   hidden state at the position that predicts the colour (the reply's " is"), on colour
   questions with one or two distractors (train 500 of stream 7, test 150 of stream 8). To
   pick the asked object's patches, that position must know which kind was asked.

models/demo/README.md ("Variants tried") reports what this printed for the bundled model.

usage: /usr/bin/python3 tools/demo/diagnose_demo.py MODEL_DIR
"""
import collections
import sys

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

import eval_demo
import make_demo_data as data
import train_demo

WITH_DISTRACTORS = (0.0, 0.5, 0.5)


def pooled_object_features(model, d, stream, n):
    """Per object of n colour scenes: the mean of its patches' vision features, and its kind.
    An object small enough to sit between patch centres covers none (about 1 in 2000 at 96 px,
    patch 16) and is left out: no image token shows it to the decoder either."""
    samples = [data.make_sample(stream, i, "color", color_distractors=WITH_DISTRACTORS)
               for i in range(n)]
    features, kinds = [], []
    for first in range(0, n, 64):
        chunk = samples[first:first + 64]
        pixels = torch.from_numpy(np.stack([data.preprocess(s["image"], d["image"]) for s in chunk]))
        with torch.no_grad():
            vision = model.vision_features(pixels)
        for s, f in zip(chunk, vision):
            for o, covered in zip(s["scene"]["objects"],
                                  data.object_patches(s, d["image"], d["patch"])):
                if not covered:
                    continue
                features.append(f[covered].mean(0).numpy())
                kinds.append(data.KINDS.index(o["kind"]))
    return np.array(features), np.array(kinds)


def tower_kinds(model, d):
    x_train, y_train = pooled_object_features(model, d, 7, 1500)
    x_test, y_test = pooled_object_features(model, d, 8, 400)
    probe = LogisticRegression(max_iter=3000).fit(x_train, y_train)
    print(f"tower: a linear probe names the kind of {probe.score(x_test, y_test):.1%} of "
          f"{len(y_test)} held-out objects (train {probe.score(x_train, y_train):.1%})")


def decoder_binding(model, sp, d):
    samples = [data.make_sample(9, i, "color", color_distractors=WITH_DISTRACTORS)
               for i in range(300)]
    replies = eval_demo.generate(model, sp, d, samples)
    right, asked, misses, to_distractor = collections.Counter(), collections.Counter(), 0, 0
    for s, reply in zip(samples, replies):
        objects = s["scene"]["objects"]
        key = (objects[0]["size"], len(objects))
        asked[key] += 1
        if reply == s["answer"]:
            right[key] += 1
            continue
        misses += 1
        kind = objects[0]["kind"]
        to_distractor += any(reply == f"The color of the {kind} is {o['colour']}."
                             for o in objects[1:])
    print("decoder: colour questions with distractors, right / asked by (size, objects):")
    for key in sorted(asked):
        print(f"  {key[0]:5s} {key[1]} objects  {right[key]:3d} / {asked[key]}")
    print(f"  {sum(right.values())} / 300 right; {to_distractor} of {misses} misses name a "
          "distractor's colour")


def lone_kinds(model, sp, d):
    for task in ("object", "shape"):
        samples = [data.make_sample(9, i, task) for i in range(200)]
        replies = eval_demo.generate(model, sp, d, samples)
        right, asked, confused = collections.Counter(), collections.Counter(), collections.Counter()
        for s, reply in zip(samples, replies):
            objects = s["scene"]["objects"]
            asked[len(objects)] += 1
            right[len(objects)] += reply == s["answer"]
            named = [k for k in data.KINDS if f" {k}" in reply]
            if reply != s["answer"] and len(objects) == 1 and len(named) == 1:
                confused[f"{objects[0]['kind']} -> {named[0]}"] += 1
        print(f"{task} questions, right / asked by objects in the picture: " +
              ", ".join(f"{n}: {right[n]} / {asked[n]}" for n in sorted(asked)) +
              "; lone objects' commonest misnamings: " +
              ", ".join(f"{pair} {n}" for pair, n in confused.most_common(3)))


def asked_kind_at_colour_step(model, sp, d):
    layers = model.language_model.model.layers
    states = {}
    hooks = [layer.register_forward_hook(lambda _m, _in, out, i=i: states.__setitem__(i, out[0]))
             for i, layer in enumerate(layers)]
    n_img = (d["image"] // d["patch"]) ** 2
    prefix = data.encode_prompt(sp, "")[0]

    def states_at_is(stream, n):
        x, kinds = [[] for _ in layers], []
        for i in range(n):
            s = data.make_sample(stream, i, "color", color_distractors=WITH_DISTRACTORS)
            ids, _ = train_demo.encode_sample(sp, s, n_img)
            reply = data.encode_answer(sp, s["answer"])
            pieces = [sp.id_to_piece(t) if t < train_demo.SPM_VOCAB else "" for t in reply]
            at = len(prefix) + len(ids) - len(reply) + pieces.index("\u2581is")
            pixels = torch.from_numpy(data.preprocess(s["image"], d["image"])[None])
            with torch.no_grad():
                model(torch.tensor([prefix + ids]), model.image_embeds(pixels))
            kinds.append(data.KINDS.index(s["scene"]["objects"][0]["kind"]))
            for layer in range(len(layers)):
                x[layer].append(states[layer][0, at].numpy())
        return [np.array(a) for a in x], np.array(kinds)

    x_train, y_train = states_at_is(7, 500)
    x_test, y_test = states_at_is(8, 150)
    for h in hooks:
        h.remove()
    scores = [LogisticRegression(max_iter=5000).fit(a, y_train).score(b, y_test)
              for a, b in zip(x_train, x_test)]
    print("query side: the asked kind read by a linear probe from the colour step's state, "
          "by layer (chance 10 %): " + " ".join(f"{s:.0%}" for s in scores))


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.rsplit("usage: ", 1)[1])
    torch.set_num_threads(1)
    model, sp, d = train_demo.load_model(sys.argv[1])
    tower_kinds(model, d)
    decoder_binding(model, sp, d)
    lone_kinds(model, sp, d)
    asked_kind_at_colour_step(model, sp, d)


if __name__ == "__main__":
    main()
