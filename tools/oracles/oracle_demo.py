#!/usr/bin/python3
"""A fresh evaluation set for the demo model, which the C tests answer with kevo itself.

Writes DATA/oracle/demo/eval/: 200 colour questions (images as PNG + questions.jsonl with the
expected answers) drawn by tools/demo/make_demo_data.py from evaluation stream 1000 + 2 — never seen
in training — with the training distribution of scenes (0, 1 or 2 distractor objects).

usage: /usr/bin/python3 tools/oracles/oracle_demo.py DATA_DIR
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo"))
import make_demo_data as data  # noqa: E402

SEED, PER_TASK = 2, 200


def main():
    out = os.path.join(sys.argv[1], "oracle", "demo", "eval")
    if os.path.isdir(out):
        shutil.rmtree(out)
    colour = [s for s in data.eval_samples(SEED, PER_TASK) if s["task"] == "color"]
    data.write_set(out, colour)


if __name__ == "__main__":
    main()
