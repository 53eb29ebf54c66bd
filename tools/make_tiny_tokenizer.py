#!/usr/bin/python3
"""Trains the small SentencePiece BPE tokenizer of kevo's fixture models.

It is trained with the options of the LLaMA-2 tokenizer (BPE, byte fallback, split digits, identity
normaliser, dummy prefix, whitespace kept) on a fixed corpus of LLaVA-style prompts and answers,
with one thread, so the output is the same file on every run. Ids 0, 1, 2 are <unk>, <s>, </s> and
3..258 are the byte pieces <0x00>..<0xFF>, as in LLaMA.

usage: /usr/bin/python3 tools/make_tiny_tokenizer.py OUT_DIR [--vocab 512]
"""
import argparse
import io
import itertools
import os

import sentencepiece as spm

SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the human's questions.")
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "pink", "white", "black", "brown"]
OBJECTS = ["flower", "fruit", "ball", "animal", "apple", "cat", "dog", "bird", "car", "house"]
SHAPES = ["circle", "square", "triangle", "star", "heart"]
PLACES = ["left", "right", "top", "bottom", "center"]


def corpus():
    lines = [SYSTEM, "Please describe this image in detail.", "USER: <image>\n", "ASSISTANT:"]
    for c, o in itertools.product(COLOURS, OBJECTS):
        lines.append(f"USER: What is the color of the {o}? ASSISTANT: The color of the {o} is {c}.")
        lines.append(f"The image shows a {c} {o} on a plain background.")
    for s, p, n in itertools.product(SHAPES, PLACES, range(1, 6)):
        lines.append(f"There are {n} {s}s in the {p} part of the image, numbers 0123456789.")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--vocab", type=int, default=512)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=model, vocab_size=args.vocab,
        model_type="bpe", character_coverage=1.0, byte_fallback=True, split_digits=True,
        normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1,
        shuffle_input_sentence=False, minloglevel=2)
    with open(os.path.join(args.out_dir, "tokenizer.model"), "wb") as f:
        f.write(model.getvalue())


if __name__ == "__main__":
    main()
