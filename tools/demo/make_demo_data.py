#!/usr/bin/python3
"""Synthetic images and LLaVA-style questions for kevo's demo model (seeded, deterministic).

A scene is a canvas of 112..160 x 112..160 pixels with a named background (plain colour, a soft
gradient, Gaussian noise) and a few objects drawn with Pillow. Object kinds are things (flower,
fruit, ball, car, house, cup) and shapes (star, heart, square, triangle); each gets one of ten
named colours (jittered per object), a size (small or large) and a position. Six tasks, each a
question in LLaVA's style with a one-sentence answer:

  color     "What is the color of the flower?"        "The color of the flower is red."
  object    "What is the blue object?"                 "The blue object is a car."
  shape     "What shape is the pink object?"           "The pink object is a star."
  count     "How many balls are in the image?"         "There are three balls in the image."
  position  "Where is the cup in the image?"           "The cup is on the left of the image."
  describe  "Please describe this image in detail."    "The image shows a small red flower on
                                                         the left of a gray background."

Colour answers are unambiguous: a colour question's kind appears exactly once in its image; an
object or shape question's colour belongs to exactly one object. Sample `index` of stream
`stream` always yields the same image and text (numpy's generator seeded with [stream, index]),
so training (stream 0), evaluation sets (stream 1, any seed) and the bundled examples never
overlap and can be regenerated bit for bit.

This module also holds what the model sees of a sample, exactly as kevo presents it at inference:
  * pixels: original LLaVA's `pad` path (llava/mm_utils.py expand2square + process_images):
    pad to a square with the CLIP mean colour, then transformers' CLIPImageProcessor (slow, PIL):
    shortest edge -> image_size with PIL bicubic, centre crop, rescale in float64, normalise in
    float32;
  * text: the llava_v1 template (llava/conversation.py) tokenised like tokenizer_image_token
    (llava/mm_utils.py): split at <image>, each chunk encoded with its own dummy prefix, BOS once.

usage: /usr/bin/python3 tools/demo/make_demo_data.py eval OUT_DIR [--seed 1] [--per-task 200]
       /usr/bin/python3 tools/demo/make_demo_data.py examples OUT_DIR
The eval folder holds images/NNNN.png and questions.jsonl (one {"image", "task", "question",
"answer"} per line); any engine's answers can be scored against it with tools/demo/eval_demo.py.
"""
import argparse
import json
import math
import os

import numpy as np
from PIL import Image, ImageDraw

# ---------------------------------------------------------------------------------------------
# Vocabulary of the scenes

COLOURS = {   # name -> base RGB; far apart so that every answer is unambiguous
    "red": (215, 35, 35), "orange": (245, 135, 25), "yellow": (240, 215, 40),
    "green": (45, 160, 60), "blue": (35, 75, 210), "purple": (125, 50, 170),
    "pink": (245, 125, 185), "brown": (125, 75, 35), "black": (25, 25, 28),
    "white": (245, 245, 245),
}
BACKGROUNDS = {   # name -> base RGB; pale or dark, never one of the object colours
    "gray": (128, 128, 128), "beige": (226, 212, 182), "light blue": (172, 204, 236),
    "light green": (178, 216, 160), "dark": (38, 40, 56),
}
CLASHES = {("black", "dark"), ("white", "beige")}   # (colour, background) pairs never drawn
THINGS = ["flower", "fruit", "ball", "car", "house", "cup"]
SHAPES = ["star", "heart", "square", "triangle"]
KINDS = THINGS + SHAPES
SIZES = {"small": (0.14, 0.17), "large": (0.2, 0.25)}   # radius as a fraction of min(W, H)
PLACES = {   # name -> (phrase, centre x range, centre y range) as fractions of the canvas
    "left": ("on the left", (0.18, 0.3), (0.4, 0.6)),
    "right": ("on the right", (0.7, 0.82), (0.4, 0.6)),
    "top": ("at the top", (0.4, 0.6), (0.18, 0.3)),
    "bottom": ("at the bottom", (0.4, 0.6), (0.7, 0.82)),
    "middle": ("in the middle", (0.44, 0.56), (0.44, 0.56)),
}
NUMBERS = ["zero", "one", "two", "three", "four"]
TASKS = {"color": 0.4, "object": 0.1, "shape": 0.08, "count": 0.12, "position": 0.12,
         "describe": 0.18}   # training mix
DESCRIBE_PROMPT = "Please describe this image in detail."

SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the human's questions.")
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def article(word):
    return "an" if word[0] in "aeiou" else "a"


# ---------------------------------------------------------------------------------------------
# Drawing

def shade(rgb, f):
    """f < 1 darkens towards black, f > 1 lightens towards white."""
    if f <= 1:
        return tuple(int(c * f) for c in rgb)
    return tuple(int(c + (255 - c) * (f - 1)) for c in rgb)


def rotated(points, cx, cy, angle):
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in points]


def draw_object(d, kind, rgb, cx, cy, r, rng):
    """Draws one object of radius ~r centred at (cx, cy). Every part that carries colour is the
    object's colour or a shade of it; small parts (wheels, windows, stems) are neutral."""
    box = lambda x, y, rx, ry: (cx + x - rx, cy + y - ry, cx + x + rx, cy + y + ry)   # noqa: E731
    flip = 1 if rng.random() < 0.5 else -1
    if kind == "ball":
        d.ellipse(box(0, 0, r, r), fill=rgb)
        d.ellipse(box(-0.35 * r, -0.35 * r, 0.22 * r, 0.22 * r), fill=shade(rgb, 1.45))
    elif kind == "fruit":
        d.line([(cx, cy - 0.75 * r), (cx + 0.2 * flip * r, cy - 1.15 * r)], fill=(80, 55, 30),
               width=max(2, int(r / 6)))
        d.ellipse(box(0, 0.05 * r, r, 0.92 * r), fill=rgb)
        d.ellipse(box(0.4 * flip * r, -0.3 * r, 0.16 * r, 0.2 * r), fill=shade(rgb, 1.4))
    elif kind == "flower":
        petals = int(rng.choice([5, 6, 8]))
        phase = rng.random() * 2 * math.pi
        for i in range(petals):
            a = phase + 2 * math.pi * i / petals
            d.ellipse(box(0.58 * r * math.cos(a), 0.58 * r * math.sin(a), 0.42 * r, 0.42 * r),
                      fill=rgb)
        d.ellipse(box(0, 0, 0.3 * r, 0.3 * r), fill=shade(rgb, 0.55))
    elif kind == "car":
        d.rectangle(box(0, 0.18 * r, r, 0.3 * r), fill=rgb)
        cabin = [(-0.6, -0.12), (-0.35, -0.6), (0.35, -0.6), (0.65, -0.12)]
        d.polygon([(cx + flip * x * r, cy + y * r) for x, y in cabin], fill=rgb)
        window = [(-0.45, -0.18), (-0.3, -0.5), (0.3, -0.5), (0.48, -0.18)]
        d.polygon([(cx + flip * x * r, cy + y * r) for x, y in window], fill=(190, 215, 235))
        for x in (-0.55, 0.55):
            d.ellipse(box(x * r, 0.5 * r, 0.24 * r, 0.24 * r), fill=(35, 35, 35))
    elif kind == "house":
        d.rectangle(box(0, 0.4 * r, 0.72 * r, 0.52 * r), fill=rgb)
        d.polygon([(cx - 0.92 * r, cy - 0.1 * r), (cx, cy - 0.95 * r), (cx + 0.92 * r, cy - 0.1 * r)],
                  fill=shade(rgb, 0.6))
        d.rectangle(box(0.3 * flip * r, 0.62 * r, 0.14 * r, 0.3 * r), fill=(70, 45, 25))
        d.rectangle(box(-0.3 * flip * r, 0.3 * r, 0.15 * r, 0.13 * r), fill=(190, 215, 235))
    elif kind == "cup":
        d.ellipse(box(0.62 * flip * r, -0.05 * r, 0.36 * r, 0.38 * r), outline=rgb,
                  width=max(2, int(r / 5)))
        d.polygon([(cx - 0.62 * r, cy - 0.7 * r), (cx + 0.62 * r, cy - 0.7 * r),
                   (cx + 0.45 * r, cy + 0.8 * r), (cx - 0.45 * r, cy + 0.8 * r)], fill=rgb)
        d.ellipse(box(0, -0.7 * r, 0.62 * r, 0.12 * r), fill=shade(rgb, 0.7))
    elif kind == "star":
        pts = [((r if i % 2 == 0 else 0.45 * r) * math.sin(math.pi * i / 5),
                -(r if i % 2 == 0 else 0.45 * r) * math.cos(math.pi * i / 5)) for i in range(10)]
        d.polygon(rotated(pts, cx, cy, rng.uniform(-0.3, 0.3)), fill=rgb)
    elif kind == "heart":
        pts = []
        for i in range(40):
            t = 2 * math.pi * i / 40
            x = 16 * math.sin(t) ** 3
            y = -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t))
            pts.append((x * r / 16.5, (y + 2) * r / 16.5))
        d.polygon(rotated(pts, cx, cy, rng.uniform(-0.25, 0.25)), fill=rgb)
    elif kind == "square":
        s = 0.78 * r
        d.polygon(rotated([(-s, -s), (s, -s), (s, s), (-s, s)], cx, cy, rng.uniform(-0.35, 0.35)),
                  fill=rgb)
    elif kind == "triangle":
        pts = [(r * math.sin(2 * math.pi * i / 3), -r * math.cos(2 * math.pi * i / 3) + 0.15 * r)
               for i in range(3)]
        d.polygon(rotated(pts, cx, cy, rng.uniform(-0.25, 0.25)), fill=rgb)
    else:
        raise ValueError(f"unknown kind {kind!r}")


def object_rgb(name, rng):
    """The named colour with a per-object brightness and per-channel jitter."""
    base = np.array(COLOURS[name], dtype=np.float64)
    if name not in ("black", "white"):
        base *= rng.uniform(0.85, 1.1)
    return tuple(int(v) for v in np.clip(base + rng.integers(-16, 17, 3), 0, 255))


def render(scene, rng):
    """scene: dict(width, height, background, objects=[dict(kind, colour, x, y, r)]) -> RGB image."""
    w, h = scene["width"], scene["height"]
    base = np.array(BACKGROUNDS[scene["background"]], dtype=np.float64) + rng.integers(-10, 11, 3)
    a = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = ((xx / w - 0.5) * math.cos(a) + (yy / h - 0.5) * math.sin(a)) * rng.uniform(0, 40)
    bg = np.clip(base[None, None, :] + ramp[:, :, None], 0, 255).astype(np.uint8)
    img = Image.fromarray(bg, "RGB")
    d = ImageDraw.Draw(img)
    for o in scene["objects"]:
        draw_object(d, o["kind"], object_rgb(o["colour"], rng), o["x"], o["y"], o["r"], rng)
    sigma = rng.uniform(0, 12)
    noisy = np.asarray(img, dtype=np.float64) + rng.normal(0, sigma, (h, w, 3))
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), "RGB")


# ---------------------------------------------------------------------------------------------
# Scenes and questions

def pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def colour_for(rng, background, exclude=()):
    choices = [c for c in COLOURS if (c, background) not in CLASHES and c not in exclude]
    return pick(rng, choices)


def place(rng, objects, w, h, r, region=None):
    """A centre for a new object of radius r that keeps clear of `objects`, or None."""
    for _ in range(200):
        if region:
            _, (x0, x1), (y0, y1) = PLACES[region]
            x, y = rng.uniform(x0, x1) * w, rng.uniform(y0, y1) * h
        else:
            x, y = rng.uniform(0, w), rng.uniform(0, h)
        x, y = min(max(x, r + 2), w - r - 2), min(max(y, r + 2), h - r - 2)
        if all(math.hypot(x - o["x"], y - o["y"]) > r + o["r"] + 3 for o in objects):
            return x, y
    return None


def new_scene(rng):
    return dict(width=int(rng.integers(112, 161)), height=int(rng.integers(112, 161)),
                background=pick(rng, list(BACKGROUNDS)), objects=[])


def add(rng, scene, kind, colour, size, region=None):
    """Adds an object; returns False when there is no room left."""
    m = min(scene["width"], scene["height"])
    r = rng.uniform(*SIZES[size]) * m
    at = place(rng, scene["objects"], scene["width"], scene["height"], r, region)
    if at is None:
        return False
    scene["objects"].append(dict(kind=kind, colour=colour, size=size, x=at[0], y=at[1], r=r,
                                 region=region))
    return True


def add_distractors(rng, scene, count, avoid_kinds, avoid_colours=()):
    kinds = [k for k in KINDS if k not in avoid_kinds]
    for _ in range(count):
        add(rng, scene, pick(rng, kinds), colour_for(rng, scene["background"], avoid_colours),
            "small" if rng.random() < 0.6 else "large")


# How many other objects a colour question's picture has (0, 1, 2): the scenes kevo is
# evaluated on. Training may ask for more distractors (make_sample's color_distractors).
COLOR_DISTRACTORS = (0.6, 0.25, 0.15)


def task_color(rng, scene, distractors=COLOR_DISTRACTORS):
    kind = pick(rng, KINDS)
    colour = colour_for(rng, scene["background"])
    add(rng, scene, kind, colour, pick(rng, list(SIZES)))
    add_distractors(rng, scene, int(rng.choice(3, p=list(distractors))), avoid_kinds={kind})
    q = (f"What is the color of the {kind}?" if rng.random() < 0.75
         else f"What color is the {kind}?")
    return q, f"The color of the {kind} is {colour}."


def task_object(rng, scene, shapes):
    kind = pick(rng, SHAPES if shapes else THINGS)
    colour = colour_for(rng, scene["background"])
    add(rng, scene, kind, colour, pick(rng, list(SIZES)))
    add_distractors(rng, scene, int(rng.integers(0, 3)), avoid_kinds={kind}, avoid_colours={colour})
    q = f"What shape is the {colour} object?" if shapes else f"What is the {colour} object?"
    return q, f"The {colour} object is {article(kind)} {kind}."


def task_count(rng, scene):
    kind = pick(rng, KINDS)
    n = int(rng.integers(1, 5))
    while True:   # start over in the rare case that the canvas gets crowded
        scene["objects"].clear()
        if all(add(rng, scene, kind, colour_for(rng, scene["background"]), "small")
               for _ in range(n)):
            break
    add_distractors(rng, scene, int(rng.random() < 0.4), avoid_kinds={kind})
    q = f"How many {kind}s are in the image?"
    if n == 1:
        return q, f"There is one {kind} in the image."
    return q, f"There are {NUMBERS[n]} {kind}s in the image."


def task_position(rng, scene):
    kind = pick(rng, KINDS)
    region = pick(rng, list(PLACES))
    add(rng, scene, kind, colour_for(rng, scene["background"]), pick(rng, list(SIZES)), region)
    if rng.random() < 0.4:   # a distractor of another kind: the question names the kind
        add_distractors(rng, scene, 1, avoid_kinds={kind})
    return f"Where is the {kind} in the image?", f"The {kind} is {PLACES[region][0]} of the image."


def task_describe(rng, scene):
    bg = scene["background"]
    if rng.random() < 0.7:
        kind, size, region = pick(rng, KINDS), pick(rng, list(SIZES)), pick(rng, list(PLACES))
        colour = colour_for(rng, bg)
        add(rng, scene, kind, colour, size, region)
        return DESCRIBE_PROMPT, (f"The image shows {article(size)} {size} {colour} {kind} "
                                 f"{PLACES[region][0]} of {article(bg)} {bg} background.")
    k1, k2 = rng.choice(KINDS, 2, replace=False)
    c1 = colour_for(rng, bg)
    c2 = colour_for(rng, bg, exclude={c1})
    first = "left" if rng.random() < 0.5 else "right"   # the answer reads left to right
    while True:
        scene["objects"].clear()
        if (add(rng, scene, str(k1), c1, "small" if rng.random() < 0.5 else "large", first) and
                add(rng, scene, str(k2), c2, "small", "right" if first == "left" else "left")):
            break
    left, right = sorted(scene["objects"], key=lambda o: o["x"])
    return DESCRIBE_PROMPT, (f"The image shows {article(left['colour'])} {left['colour']} "
                             f"{left['kind']} and {article(right['colour'])} {right['colour']} "
                             f"{right['kind']} on {article(bg)} {bg} background.")


def make_sample(stream, index, task=None, color_distractors=COLOR_DISTRACTORS):
    """The sample `index` of `stream`: dict(image=PIL RGB, task, question, answer, scene).
    color_distractors: the probabilities of 0, 1, 2 other objects in a colour question."""
    rng = np.random.default_rng([stream, index])
    if task is None:
        task = str(rng.choice(list(TASKS), p=list(TASKS.values())))
    scene = new_scene(rng)
    if task == "color":
        q, a = task_color(rng, scene, color_distractors)
    elif task in ("object", "shape"):
        q, a = task_object(rng, scene, shapes=task == "shape")
    elif task == "count":
        q, a = task_count(rng, scene)
    elif task == "position":
        q, a = task_position(rng, scene)
    elif task == "describe":
        q, a = task_describe(rng, scene)
    else:
        raise ValueError(f"unknown task {task!r}")
    return dict(image=render(scene, rng), task=task, question=q, answer=a, scene=scene)


# ---------------------------------------------------------------------------------------------
# What the model sees

def expand2square(img, background):
    """llava/mm_utils.py expand2square: paste centred on a square canvas, no resampling."""
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    out = Image.new(img.mode, (side, side), background)
    out.paste(img, ((side - w) // 2, (side - h) // 2))
    return out


def preprocess(img, image_size):
    """PIL image -> float32 (3, image_size, image_size), LLaVA's pad path + CLIPImageProcessor."""
    img = expand2square(img.convert("RGB"), tuple(int(m * 255) for m in CLIP_MEAN))
    w, h = img.size   # square now; shortest-edge resize (no-op when equal) then centre crop
    if (w, h) != (image_size, image_size):
        img = img.resize((image_size, image_size), resample=Image.BICUBIC, reducing_gap=None)
    x = (np.asarray(img, dtype=np.uint8).astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(CLIP_MEAN, dtype=np.float32)) / np.array(CLIP_STD, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def object_patches(sample, image_size, patch):
    """For each object of the scene, in drawing order: the indices of the patches of the model's
    input grid (row-major) that it covers. A patch belongs to an object when its centre lies
    within the object's radius (or half a patch of its centre, for objects smaller than a
    patch)."""
    scene = sample["scene"]
    w, h = scene["width"], scene["height"]
    side = max(w, h)
    scale = image_size / side
    grid = image_size // patch
    covered = []
    for o in scene["objects"]:
        cx, cy = (o["x"] + (side - w) // 2) * scale, (o["y"] + (side - h) // 2) * scale
        reach = max(o["r"] * scale, patch / 2)
        covered.append([i * grid + j for i in range(grid) for j in range(grid)
                        if math.hypot((j + 0.5) * patch - cx, (i + 0.5) * patch - cy) < reach])
    return covered


def patch_labels(sample, image_size, patch):
    """Per patch of the model's input grid (row-major): the index of the colour and of the kind
    of the object drawn there, 0 for background (colours and kinds count from 1 in COLOURS and
    KINDS order); where objects' patches overlap, later objects win, as they are drawn on top."""
    grid = image_size // patch
    colours, kinds = [0] * grid * grid, [0] * grid * grid
    for o, covered in zip(sample["scene"]["objects"], object_patches(sample, image_size, patch)):
        for k in covered:
            colours[k] = 1 + list(COLOURS).index(o["colour"])
            kinds[k] = 1 + KINDS.index(o["kind"])
    return colours, kinds


def prompt_chunks(question):
    """The llava_v1 prompt split at <image> (llava/conversation.py, SeparatorStyle.TWO)."""
    return SYSTEM + " USER: ", "\n" + question + " ASSISTANT:"


def encode_prompt(sp, question):
    """tokenizer_image_token: ids before and after the image slot; BOS only at the start."""
    before, after = prompt_chunks(question)
    return [1] + sp.encode(before), sp.encode(after)


def encode_answer(sp, answer):
    """The reply as LLaVA's preprocess_v1 tokenises the whole turn "ASSISTANT: {answer}</s>":
    sentencepiece splits words at spaces, so the reply's ids are encode(answer) (its leading
    space becomes the dummy prefix) followed by EOS, and greedy decoding after "ASSISTANT:"
    reproduces them."""
    return sp.encode(answer) + [2]


def corpus(n):
    """Text chunks for training the tokenizer: no "<image>" and no newline, so that "\\n" falls
    back to the byte piece <0x0A> as it does in LLaMA's tokenizer."""
    lines = [SYSTEM + " USER:"]
    for i in range(n):
        s = make_sample(2, i)
        lines += [s["question"] + " ASSISTANT:", s["answer"]]
    return lines


# ---------------------------------------------------------------------------------------------
# Files

def write_set(out_dir, samples, pattern="images/{:04d}.png", first=0):
    """The images as PNG (lossless: any decoder sees the same pixels) plus questions.jsonl."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "questions.jsonl"), "w") as f:
        for i, s in enumerate(samples):
            name = pattern.format(first + i)
            os.makedirs(os.path.dirname(os.path.join(out_dir, name)), exist_ok=True)
            s["image"].save(os.path.join(out_dir, name), optimize=True)
            row = dict(image=name, task=s["task"], question=s["question"], answer=s["answer"])
            f.write(json.dumps(row) + "\n")


def eval_samples(seed, per_task):
    """A fresh evaluation set: stream 1000 + seed, `per_task` samples of every task."""
    return [make_sample(1000 + seed, t * per_task + i, task)
            for t, task in enumerate(TASKS) for i in range(per_task)]


def example_samples():
    """The bundled demo images: twelve single flowers (every colour, two sizes and several
    backgrounds) for "What is the color of the flower?", and scenes to describe."""
    rng = np.random.default_rng([3, 0])
    flowers = []
    colours = list(COLOURS) + ["red", "blue"]
    for i, colour in enumerate(colours):
        backgrounds = [b for b in list(BACKGROUNDS)[:4] if (colour, b) not in CLASHES]
        scene = dict(width=144, height=144, background=backgrounds[i % len(backgrounds)],
                     objects=[])
        add(rng, scene, "flower", colour, "large" if i % 3 else "small", "middle")
        flowers.append(dict(image=render(scene, rng), task="color",
                            question="What is the color of the flower?",
                            answer=f"The color of the flower is {colour}."))
    described = [make_sample(3, 100 + i, "describe") for i in range(4)]
    return flowers, described


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    ev = sub.add_parser("eval", help="a fresh evaluation set: images + questions.jsonl")
    ev.add_argument("out_dir")
    ev.add_argument("--seed", type=int, default=1)
    ev.add_argument("--per-task", type=int, default=200)
    ex = sub.add_parser("examples", help="the demo's bundled example images")
    ex.add_argument("out_dir")
    args = ap.parse_args()
    if args.what == "eval":
        write_set(args.out_dir, eval_samples(args.seed, args.per_task))
    else:
        flowers, described = example_samples()
        write_set(os.path.join(args.out_dir, "flower"), flowers, "flower{:02d}.png", 1)
        write_set(os.path.join(args.out_dir, "describe"), described, "scene{:02d}.png", 1)


if __name__ == "__main__":
    main()
