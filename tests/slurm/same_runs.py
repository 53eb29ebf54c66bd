#!/usr/bin/env python3
"""Exit 0 when two batch output folders hold the same runs: the same item folders, and in each
the same run.json and analysis/stages.json (but for what names the machine's work rather than
the result: run.json's timings and thread count, stages.json's own folder path), the same hidden
states and the same analysis tables (byte for byte; figures are drawn from these tables).
Prints every difference otherwise.
    same_runs.py OUT_A OUT_B"""
import json
import os
import sys


def items(out):
    return sorted(d for d in os.listdir(out)
                  if os.path.isfile(os.path.join(out, d, "run.json")))


def run_json(path):
    with open(path) as f:
        doc = json.load(f)
    doc.pop("timings", None)   # seconds differ from run to run
    doc.get("options", {}).pop("threads", None)   # results are identical for any count
    return doc


def stages_json(path):
    with open(path) as f:
        doc = json.load(f)
    doc.pop("run", None)   # the run folder's own path
    return doc


def compared_files(run):
    names = ["hidden.safetensors", "item.json"]
    analysis = os.path.join(run, "analysis")
    if os.path.isdir(analysis):
        names += [os.path.join("analysis", n) for n in sorted(os.listdir(analysis))
                  if n.endswith((".csv", ".json"))]
    return [n for n in names if os.path.exists(os.path.join(run, n))]


def main(a, b):
    problems = []
    ia, ib = items(a), items(b)
    if ia != ib:
        problems.append(f"items differ: only in {a}: {sorted(set(ia) - set(ib))}, "
                        f"only in {b}: {sorted(set(ib) - set(ia))}")
    for item in sorted(set(ia) & set(ib)):
        ra, rb = os.path.join(a, item), os.path.join(b, item)
        if run_json(os.path.join(ra, "run.json")) != run_json(os.path.join(rb, "run.json")):
            problems.append(f"{item}: run.json differs")
        fa, fb = compared_files(ra), compared_files(rb)
        if fa != fb:
            problems.append(f"{item}: files differ: {fa} vs {fb}")
        if "analysis/stages.json" in fa and "analysis/stages.json" in fb:
            fa.remove("analysis/stages.json")
            if stages_json(os.path.join(ra, "analysis/stages.json")) != \
                    stages_json(os.path.join(rb, "analysis/stages.json")):
                problems.append(f"{item}: analysis/stages.json differs")
        for name in set(fa) & set(fb):
            with open(os.path.join(ra, name), "rb") as x, open(os.path.join(rb, name), "rb") as y:
                if x.read() != y.read():
                    problems.append(f"{item}: {name} differs")
    for p in problems:
        print(p, file=sys.stderr)
    if not ia:
        print(f"{a}: no run folders", file=sys.stderr)
    print(f"{len(ia)} runs compared, {len(problems)} differences")
    return 1 if problems or not ia else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
