#!/usr/bin/python3
"""Tokenizer oracle: token ids, decodes and prompt ids from Debian's python3-sentencepiece.

Writes DATA_DIR/oracle/tokenizer/:
  corpus.tsv          one test text per line: hex(UTF-8 bytes, possibly malformed) TAB 1 when
                      sentencepiece round-trips it (decode(encode(x)) == x), else 0
  <folder>/           a tokenizer folder kevo loads, plus what it must produce:
    encode.tsv        the ids of each corpus line (no BOS), same line order
    special.tsv       hex(text) TAB ids: texts with added tokens in them
    decode.tsv        ids TAB hex(decoded text)
    templates.tsv     template TAB hex(question) TAB hex(prompt text) TAB ids (-200 = image)

Folders (the real LLaMA-2 tokenizer of tests/data/llama2-tokenizer, the fixtures' tiny one):
  llama2-model            tokenizer.model alone: transformers' slow LlamaTokenizer, legacy
  llama2-model-nonlegacy  + llava-hf's configs (legacy false, <image> 32000, <pad> 32001)
  llama2-json             tokenizer.json (tools/pylib/make_tokenizer_json.py, legacy normaliser)
                          + llava-hf's configs: the fast tokenizer
  llama2-json-metaspace   the same with the non-legacy Metaspace pre-tokenizer
  tiny-model, tiny-json   the fixtures' tokenizer, both ways

Expected ids come from sentencepiece itself, applied the way the reference applies it:
- plain text: sp.encode(bytes) (invalid UTF-8 goes in as bytes);
- added tokens: the text is split at them (leftmost longest) and the pieces between are encoded
  as transformers 4.37's LlamaTokenizer.tokenize does (legacy: sp.encode per segment;
  non-legacy: "▁" + text, segments starting with a space encoded behind "<unk>" with the dummy
  prefix off, a lone leading "▁" before a special token dropped), or as the fast tokenizer's
  normaliser / Metaspace pre-tokenizer do (legacy: each segment gets "▁"; Metaspace "first":
  only the segment at offset 0, unless it already starts with "▁");
- templates: llava_v1 by LLaVA's tokenizer_image_token, llava-hf and mistral-instruct by one
  tokenizer call over "USER: <image>\\n{q} ASSISTANT:" ("[INST] <image>\\n{q} [/INST]") with
  <image> an added token.
The fast tokenizer merges by rank where sentencepiece merges by score, so the json folders'
expectations are sentencepiece's ids: the test shows that the derived tokenizer.json agrees.

usage: /usr/bin/python3 tools/oracles/oracle_tokenizer.py DATA_DIR
"""
import json
import os
import random
import shutil
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import make_tokenizer_json  # noqa: E402
import spm_proto  # noqa: E402

ROOT = os.path.join(HERE, "..", "..")
LLAMA2 = os.path.join(ROOT, "tests", "data", "llama2-tokenizer", "tokenizer.model")
TINY = os.path.join(ROOT, "tests", "data", "tiny-tokenizer", "tokenizer.model")
SPACE = "\u2581"
SLOT = -200

SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the human's questions.")

PROSE = [
    "The image features a small child standing in a grassy field, wearing a striped shirt and a "
    "pair of jeans. The child appears to be enjoying the outdoors, possibly playing or exploring "
    "the area.",
    "Large vision-language models answer questions about images; their hidden states change "
    "from one layer to the next, first quickly, then slowly, and sometimes suddenly again.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the "
    "age of foolishness...",
    "She said: \"Don't touch that!\" -- but he'd already pressed the (red) button; nobody's sure "
    "what happened next.",
    "Tokenizers split text into pieces: 'tokenization', \"sub-word units\", and byte fallback "
    "for characters outside the vocabulary.",
]

PROMPTS = [
    "Please describe this image in detail.",
    "What is the color of the flower?",
    "What animal is in the picture?",
    "What fruit is shown?",
    SYSTEM,
    SYSTEM + " USER: <image>\nPlease describe this image in detail. ASSISTANT:",
    "USER: <image>\nWhat is the color of the flower? ASSISTANT:",
    "USER: xxx\nASSISTANT:",
    "The color of the flower is yellow.",
]

SPECIAL_TEXTS = [
    "<s>", "</s>", "<unk>", "a<s>b", " <s> b", "<s> hello", "hello </s>", "<s><s>", "<s>  x",
    "x</s>y", "  <s>  ", "\u2581<s>", "<unk>abc", "USER: <image>\nWhat is this? ASSISTANT:",
    "<image><image>", "x <image> y", "<image>", "<pad>x", "<ima", "<image", "<<image>>",
    "A chat. USER: <image>\n ASSISTANT:",
]

QUESTIONS = [
    "Please describe this image in detail.",
    "What is the color of the flower?",
    "  spaced  question ",
    "Was ist das? 日本 😀",
    "",
    "Line one\nline two\ttab",
]

LLAVA_HF_ADDED = {"<image>": 32000, "<pad>": 32001}


def whitespace_cases():
    out = [" ", "  ", "   x", "x ", "x  ", "\u2581", " \u2581 ", "\u2581\u2581x", "a\u2581b"]
    out += ["a" + " " * k + "b" for k in range(1, 41)]
    out += [" " * k for k in range(1, 41)]
    out += [" " * k + "word" for k in (1, 2, 3, 5, 8, 17, 33)]
    out += ["word" + " " * k for k in (1, 2, 3, 5, 8, 17, 33)]
    out += ["\t", "a\tb", "\t\t", "\tx", " \t ", "\n", "\n\n", "a\nb", "\r\n", "x\r\ny",
            "\n \t \n", "para one.\n\npara two.\n", "\u00a0", "a\u00a0b", "\u3000", "a\u2003b",
            "\u200b", "\ufeff", "\x0b\x0c"]
    return out


def number_cases():
    return ["0123456789", "3.14159", "1,000,000", "2025-11-24", "x=42", "9" * 50,
            "1st 2nd 3rd 4th", "$12.50 (USD)", "10^6 = 1e6", "007", "-17 +3", "0x1F 0b1010",
            "v1.5-7b", "336x336", "576 tokens"]


def punct_cases():
    return ["!!!", "...", "?!?!", "---", "***", "(((", "<<>>", "«»", "“quotes”", "’s", ":-)",
            "#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "....!!!!????", "a--b", "...and...", "''", '""',
            "</", "<x>", "<0x0A>", "<s", "s>", "</s", "<unk", "unk>"]


def script_cases():
    return ["café naïve résumé façade Ångström Øresund Straße Łódź", "ÀÉÎÕÜ àéîõü ñç",
            "Привет, как дела? Москва", "Съешь же ещё этих мягких французских булок.",
            "Καλημέρα κόσμε, αβγδεζηθ ΑΒΓΔ", "日本語のテキスト。", "中文文本，包括标点。",
            "한국어 텍스트", "ภาษาไทย", "עברית", "العربية", "हिन्दी", "ქართული",
            "😀🎉👍🏽 👨‍👩‍👧", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠜎𠜱𠝹", "🇫🇷🇯🇵", "a😀b", "😀" * 20,
            "e\u0301 (combining)", "ﬁ ligature", "Ⅻ ½ ² ℃"]


def invalid_cases():
    return [b"\xff", b"abc\x80def", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
            b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xfe\xff", b"ok \xe2\x96 x", b"\xe2\x96\x81",
            b"caf\xe9", b"\x80\x80\x80", b"mixed \xf0\x9f\x98 tail", b"\xf0\x9f\x98\x80\xff",
            b"\x00", b"a\x00b", b"\x01\x02\x7f"]


def mixed_text(size, seed):
    """About `size` bytes mixing every kind of case above, deterministic."""
    rng = random.Random(seed)
    pool = PROSE + PROMPTS + whitespace_cases() + number_cases() + punct_cases() + script_cases()
    words = " ".join(PROSE).split()
    parts, n = [], 0
    while n < size:
        r = rng.random()
        if r < 0.5:
            s = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        elif r < 0.9:
            s = rng.choice(pool)
        else:
            s = "".join(chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0x2fff),
                                        rng.randint(0x3000, 0x9fff), rng.randint(0x1f300, 0x1faff)]))
                        for _ in range(rng.randint(1, 8)))
        s += rng.choice([" ", " ", "\n", "  ", "", "\t", ". "])
        b = s.encode("utf-8")
        parts.append(b)
        n += len(b)
    return b"".join(parts)


def corpus():
    texts = PROSE + PROMPTS + whitespace_cases() + number_cases() + punct_cases() + \
        script_cases() + [""]
    cases = [t.encode("utf-8") for t in texts] + invalid_cases()
    cases.append(mixed_text(4096, 1))
    cases.append(mixed_text(1 << 20, 2))   # the 1 MB text
    return cases


def sp_text(b):
    """The text sentencepiece's normaliser makes of bytes: each byte that does not start a
    well-formed UTF-8 character (shortest form, no surrogates, at most U+10FFFF) becomes U+FFFD
    (src/normalizer.cc NormalizePrefix, src/util.cc DecodeUTF8)."""
    out, i = [], 0
    while i < len(b):
        for n in (1, 2, 3, 4):
            try:
                c = b[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            out.append(c)
            i += n
            break
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)


class Reference:
    """One tokenizer folder's reference behaviour, built on sentencepiece."""

    def __init__(self, model_path, mode, added):
        data = open(model_path, "rb").read()
        self.sp = spm.SentencePieceProcessor(model_proto=data)
        self.sp_nodummy = spm.SentencePieceProcessor(
            model_proto=spm_proto.without_dummy_prefix(data))
        self.mode = mode   # slow-legacy, slow-nonlegacy, fast-legacy, fast-metaspace
        self.added = dict(added)   # content -> id (all special here)
        self.unk_len = len(self.sp_nodummy.encode("<unk>"))

    def split(self, text):
        """[(segment str, offset)] and [(token content,)] in order, leftmost longest."""
        out, start = [], 0
        while True:
            found = [(text.find(c, start), -len(c), c) for c in self.added]
            found = [f for f in found if f[0] >= 0]
            if not found:
                break
            i, _, best = min(found)
            out.append((text[start:i], start))
            out.append((best,))
            start = i + len(best)
        out.append((text[start:], start))
        return out

    def encode(self, text):
        """ids without BOS; text is str (may hold added tokens) or bytes (no added tokens)."""
        if isinstance(text, bytes):
            s = sp_text(text)
            if self.mode == "slow-legacy" and "<" not in s:
                return self.sp.encode(text)   # bytes straight into sentencepiece
            assert self.sp.encode(text) == self.sp.encode(s), text   # sp_text is sp's rule
            text = s
        if self.mode == "slow-nonlegacy":
            return self._slow_nonlegacy(text)
        ids = []
        for part in self.split(text):
            if len(part) == 1:
                ids.append(self.added[part[0]])
            elif part[0] and self.mode == "fast-metaspace":
                s = part[0].replace(" ", SPACE)
                if part[1] == 0 and not s.startswith(SPACE):
                    s = SPACE + s
                ids += self.sp_nodummy.encode(s)
            elif part[0]:
                ids += self.sp.encode(part[0])
        return ids

    def _slow_nonlegacy(self, text):
        if not text:
            return []
        tokens = []
        for part in self.split(SPACE + text.replace(SPACE, " ")):
            if len(part) == 1:
                tokens.append(part[0])
            elif part[0].startswith((SPACE, " ")):
                pieces = self.sp_nodummy.encode("<unk>" + part[0], out_type=str)
                tokens += pieces[self.unk_len:] if len(pieces) >= self.unk_len else pieces
            elif part[0]:
                tokens += self.sp_nodummy.encode(part[0], out_type=str)
        if len(tokens) > 1 and tokens[0] == SPACE and tokens[1] in self.added:
            tokens = tokens[1:]
        return [self.added[t] if t in self.added else self.sp.piece_to_id(t) for t in tokens]

    def decode(self, ids):
        keep = [i for i in ids if i < self.sp.get_piece_size()]   # added tokens are special
        return self.sp.decode(keep).encode("utf-8")

    def template(self, name, question):
        if name == "llava_v1":
            prompt = SYSTEM + " USER: <image>\n" + question + " ASSISTANT:"
            before, after = prompt.split("<image>")
            chunks = [[1] + self.encode(before), [1] + self.encode(after)]
            return prompt, chunks[0] + [SLOT] + chunks[1][1:]
        # The llava-hf chat templates' renderings (llava-1.5 / v1.6-vicuna; v1.6-mistral).
        before, after = {"llava-hf": ("USER: ", " ASSISTANT:"),
                         "mistral-instruct": ("[INST] ", " [/INST]")}[name]
        prompt = before + "<image>\n" + question + after
        saved = dict(self.added)
        self.added["<image>"] = SLOT
        ids = [1] + self.encode(prompt)
        self.added = saved
        return prompt, ids


def hexs(b):
    return b.hex() if b else "-"


def ids_str(ids):
    return " ".join(map(str, ids)) if ids else "-"


def llava_hf_configs(folder, legacy):
    def tok(content):
        return {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
                "single_word": False, "special": True}
    config = {
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
        "clean_up_tokenization_spaces": False, "eos_token": "</s>", "legacy": legacy,
        "pad_token": "<pad>", "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer",
        "added_tokens_decoder": {str(i): tok(c) for i, c in
                                 [(0, "<unk>"), (1, "<s>"), (2, "</s>"), (32000, "<image>"),
                                  (32001, "<pad>")]},
    }
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(folder, "added_tokens.json"), "w") as f:
        json.dump(LLAVA_HF_ADDED, f, indent=2)
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
                   "unk_token": "<unk>", "additional_special_tokens": ["<image>"]}, f, indent=2)


def decode_cases(ref, rng, n_pieces, llava):
    cases = [[], [29871 % n_pieces], [29871 % n_pieces] * 3, [1, 2], [0], [0, 0, 5], [13, 13],
             [3, 4, 5], [230, 150, 132], [243, 162, 155, 131], [227, 132], [1, 259 % n_pieces]]
    for _ in range(300):
        cases.append([rng.randrange(n_pieces) for _ in range(rng.randint(1, 24))])
    for _ in range(100):   # byte pieces mixed in: valid and broken UTF-8 runs
        cases.append([rng.choice([rng.randrange(3, 259), rng.randrange(n_pieces)])
                      for _ in range(rng.randint(1, 16))])
    if llava:
        cases += [[1, 32000, 450 % n_pieces], [32001, 32001], [13, 32000, 29871 % n_pieces]]
    return cases


def write_folder(out, name, model_path, mode, legacy_config, json_legacy, texts, seed):
    folder = os.path.join(out, name)
    os.makedirs(folder)
    shutil.copyfile(model_path, os.path.join(folder, "tokenizer.model"))
    llava = legacy_config is not None
    added = {"<unk>": 0, "<s>": 1, "</s>": 2}
    if llava:
        llava_hf_configs(folder, legacy_config)
        added.update(LLAVA_HF_ADDED)
    if json_legacy is not None:
        make_tokenizer_json.write(folder, os.path.join(folder, "tokenizer.json"), json_legacy)
    ref = Reference(model_path, mode, added)

    corpus_ids = []
    with open(os.path.join(folder, "encode.tsv"), "w") as f:
        for t in texts:
            ids = ref.encode(t)
            corpus_ids.append(ids)
            f.write(ids_str(ids) + "\n")
    with open(os.path.join(folder, "special.tsv"), "w") as f:
        for t in SPECIAL_TEXTS:
            f.write(f"{hexs(t.encode())}\t{ids_str(ref.encode(t))}\n")
    rng = random.Random(seed)
    n_pieces = ref.sp.get_piece_size()
    with open(os.path.join(folder, "decode.tsv"), "w") as f:
        for ids in corpus_ids + decode_cases(ref, rng, n_pieces, llava):
            f.write(f"{ids_str(ids)}\t{hexs(ref.decode(ids))}\n")
    with open(os.path.join(folder, "templates.tsv"), "w") as f:
        for tpl in ("llava_v1", "llava-hf", "mistral-instruct"):
            for q in QUESTIONS:
                prompt, ids = ref.template(tpl, q)
                f.write(f"{tpl}\t{hexs(q.encode())}\t{hexs(prompt.encode())}\t{ids_str(ids)}\n")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    out = os.path.join(sys.argv[1], "oracle", "tokenizer")
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    texts = corpus()
    sp = spm.SentencePieceProcessor(model_file=LLAMA2)
    with open(os.path.join(out, "corpus.tsv"), "w") as f:
        for t in texts:
            f.write(f"{hexs(t)}\t{int(sp.decode(sp.encode(t)).encode('utf-8') == t)}\n")
    folders = [
        ("llama2-model", LLAMA2, "slow-legacy", None, None),
        ("llama2-model-nonlegacy", LLAMA2, "slow-nonlegacy", False, None),
        ("llama2-json", LLAMA2, "fast-legacy", False, True),
        ("llama2-json-metaspace", LLAMA2, "fast-metaspace", False, False),
        ("tiny-model", TINY, "slow-legacy", None, None),
        ("tiny-json", TINY, "fast-legacy", None, True),
    ]
    for i, (name, model, mode, legacy_config, json_legacy) in enumerate(folders):
        write_folder(out, name, model, mode, legacy_config, json_legacy, texts, 100 + i)


if __name__ == "__main__":
    main()
