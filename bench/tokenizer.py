#!/usr/bin/python3
"""Encode throughput of kevo's tokenizer against python3-sentencepiece, same text, same ids.

Texts, at 1 MB and 4 MB: tools/oracles/oracle_tokenizer.py's mixed corpus text (English, prompts,
whitespace runs, numbers, punctuation, many scripts, emoji); random letters without spaces
(words are cut only where no piece joins two letters, and rarely repeat); and spaces only, one
unbroken sequence of symbols that the merge heap handles in one piece. Each side encodes each text
REPEATS times; the best time counts. sentencepiece runs in this process through its Python
binding (bytes in, a list of ids out); kevo runs build/bench/tokenizer (the load is not
timed on either side). The ids must be identical. Printed: MB/s of each, the ratio kevo /
sentencepiece, and how the time grows from 1 MB to 4 MB (4.0 = linear).

usage: /usr/bin/python3 bench/tokenizer.py [BUILD_DIR] [--repeats N]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

import sentencepiece as spm

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "oracles"))
import oracle_tokenizer  # noqa: E402

MODEL_DIR = os.path.join(ROOT, "tests", "data", "llama2-tokenizer")


def best_time(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir", nargs="?", default="build")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    helper = os.path.join(args.build_dir, "bench", "tokenizer")
    if not os.path.exists(helper):
        raise SystemExit(f"{helper} is missing: run make bench")
    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL_DIR, "tokenizer.model"))
    print("tokenizer encode, LLaMA-2 tokenizer.model, best of %d" % args.repeats)
    for kind in ("mixed text", "random letters", "spaces only"):
        run(kind, helper, sp, args.repeats)


def make_text(kind, size):
    if kind == "mixed text":
        return oracle_tokenizer.mixed_text(size, 2)
    if kind == "spaces only":
        return b" " * size
    rng = random.Random(3)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(size)).encode()


def run(kind, helper, sp, repeats):
    times = {}
    print(f" {kind}:")
    with tempfile.TemporaryDirectory() as tmp:
        for mb in (1, 4):
            text = make_text(kind, mb << 20)
            path = os.path.join(tmp, f"text{mb}.txt")
            with open(path, "wb") as f:
                f.write(text)
            sp_s, sp_ids = best_time(lambda: sp.encode(text), repeats)
            ids_path = os.path.join(tmp, "ids.txt")
            out = subprocess.run([helper, MODEL_DIR, path, str(repeats), ids_path],
                                 check=True, capture_output=True, text=True).stdout
            kevo_s = float(out.split()[0].split("=")[1])
            kevo_ids = [int(x) for x in open(ids_path).read().split()]
            same = "identical ids" if kevo_ids == sp_ids else "IDS DIFFER"
            mbytes = len(text) / 1e6
            times[mb] = (kevo_s, sp_s)
            print(f"  {len(text) / (1 << 20):.0f} MB ({len(text)} bytes, {len(sp_ids)} ids, "
                  f"{same}): kevo {kevo_s * 1e3:.1f} ms = {mbytes / kevo_s:.1f} MB/s, "
                  f"sentencepiece {sp_s * 1e3:.1f} ms = {mbytes / sp_s:.1f} MB/s, "
                  f"ratio kevo/sentencepiece = {sp_s / kevo_s:.2f}x")
            if kevo_ids != sp_ids:
                raise SystemExit("kevo's ids differ from sentencepiece's")
    print(f"  growth 1 MB -> 4 MB: kevo {times[4][0] / times[1][0]:.2f}x, "
          f"sentencepiece {times[4][1] / times[1][1]:.2f}x (4.00 = linear)")


if __name__ == "__main__":
    main()
