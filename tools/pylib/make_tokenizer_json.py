#!/usr/bin/python3
"""Writes the tokenizer.json that transformers' LlamaConverter derives from a tokenizer.model.

How it is made (transformers src/transformers/convert_slow_tokenizer.py, LlamaConverter with
SpmConverter.tokenizer and generate_merges, as of transformers 4.4x / 5):
- model: BPE over every piece ("<unk>", "<s>", "</s>" for ids 0-2, then the pieces in id order),
  unk_token "<unk>", fuse_unk true, byte_fallback true, no dropout;
- merges: for every piece, each split into two halves that are both pieces, ordered within the
  piece by the halves' ids; all merges then sorted by (piece score, length of the left half,
  length of the right half), highest first, the sort being stable;
- added_tokens: the control pieces and <unk> (special, not normalised), then the added tokens of
  added_tokens.json / tokenizer_config.json beside the model;
- legacy (tokenizer_config.json "legacy", true when absent, or --legacy): normalizer
  Sequence[Prepend("▁"), Replace(" " -> "▁")] and no pre-tokenizer; non-legacy: no normalizer
  and pre_tokenizer Metaspace("▁", prepend_scheme "first", split false);
- decoder Sequence[Replace("▁" -> " "), ByteFallback, Fuse, Strip(" ", 1, 0)];
- post_processor TemplateProcessing "<s> $A" (LlamaTokenizerFast with add_bos_token).
The protobuf is read by tools/pylib/spm_proto.py (no protobuf package needed). Deterministic output.

usage: /usr/bin/python3 tools/pylib/make_tokenizer_json.py SRC_DIR OUT_FILE [--legacy true|false]
       (SRC_DIR holds tokenizer.model and optionally tokenizer_config.json, added_tokens.json)
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spm_proto  # noqa: E402

SPACE = "\u2581"


def generate_merges(vocab, scores):
    merges = []
    for piece, score in scores:
        local = []
        for i in range(1, len(piece)):
            left, right = piece[:i], piece[i:]
            if left in vocab and right in vocab:
                local.append((left, right, score))
        local.sort(key=lambda m: (vocab[m[0]], vocab[m[1]]))
        merges.extend(local)
    merges.sort(key=lambda m: (m[2], len(m[0]), len(m[1])), reverse=True)
    return [f"{left} {right}" for left, right, _ in merges]


def added_token(token_id, content, special):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": special}


def extra_added_tokens(src):
    """{id: (content, special)} from added_tokens.json and tokenizer_config.json."""
    out = {}
    path = os.path.join(src, "added_tokens.json")
    if os.path.exists(path):
        for content, token_id in json.load(open(path, encoding="utf-8")).items():
            out[token_id] = (content, False)
    path = os.path.join(src, "tokenizer_config.json")
    if os.path.exists(path):
        for key, tok in json.load(open(path, encoding="utf-8")).get(
                "added_tokens_decoder", {}).items():
            out[int(key)] = (tok["content"], bool(tok.get("special", False)))
    return out


def convert(src, legacy=None):
    data = open(os.path.join(src, "tokenizer.model"), "rb").read()
    pieces = spm_proto.pieces(data)
    trainer, _ = spm_proto.specs(data)
    if trainer.get(3, 1) != 2:
        raise SystemExit(f"{src}/tokenizer.model: not a BPE model")
    config_path = os.path.join(src, "tokenizer_config.json")
    if legacy is None:
        config = json.load(open(config_path, encoding="utf-8")) if os.path.exists(config_path) \
            else {}
        legacy = config.get("legacy")
        legacy = True if legacy is None else bool(legacy)

    scores = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)] + \
             [(p, s) for p, s, _ in pieces[3:]]
    vocab = {p: i for i, (p, _) in enumerate(scores)}
    merges = generate_merges(vocab, scores)

    added = {}
    for i, (p, _, kind) in enumerate(pieces):
        if kind in (spm_proto.UNKNOWN, spm_proto.CONTROL):
            added[i] = (scores[i][0], True)
    for token_id, (content, special) in extra_added_tokens(src).items():
        prev = added.get(token_id, (content, False))
        added[token_id] = (content, special or prev[1])

    if legacy:
        normalizer = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]}
        pre_tokenizer = None
    else:
        normalizer = None
        pre_tokenizer = {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "first",
                         "split": False}
    bos = {"SpecialToken": {"id": "<s>", "type_id": 0}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(i, c, s) for i, (c, s) in sorted(added.items())],
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": "<unk>",
            "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": True,
            "byte_fallback": True, "ignore_merges": False, "vocab": vocab, "merges": merges,
        },
    }


def side_files(image_id, pad_id):
    """(added_tokens.json, tokenizer_config.json, special_tokens_map.json) as llava-hf ships
    them, with <image> and <pad> at the given ids."""
    def tok(content):
        return {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
                "single_word": False, "special": True}
    added = {"<image>": image_id, "<pad>": pad_id}
    config = {
        "add_bos_token": True, "add_eos_token": False,
        "added_tokens_decoder": {"0": tok("<unk>"), "1": tok("<s>"), "2": tok("</s>"),
                                 str(image_id): tok("<image>"), str(pad_id): tok("<pad>")},
        "bos_token": "<s>", "clean_up_tokenization_spaces": False, "eos_token": "</s>",
        "legacy": False, "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<pad>", "padding_side": "left", "processor_class": "LlavaProcessor",
        "sp_model_kwargs": {}, "tokenizer_class": "LlamaTokenizer", "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }
    special = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
               "additional_special_tokens": ["<image>"]}
    return added, config, special


def write(src, out_file, legacy=None):
    tok = convert(src, legacy)
    tmp = out_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, out_file)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src_dir")
    ap.add_argument("out_file")
    ap.add_argument("--legacy", choices=["true", "false"],
                    help="override tokenizer_config.json's legacy flag")
    args = ap.parse_args()
    write(args.src_dir, args.out_file, None if args.legacy is None else args.legacy == "true")


if __name__ == "__main__":
    main()
