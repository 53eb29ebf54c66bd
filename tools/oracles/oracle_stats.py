#!/usr/bin/python3
"""Reference for `kevo stats` (docs/stats.md), written independently of the C code from the rules
as documented: planted run folders (tools/fixtures/make_synthetic_runs.py) and, for each case the
tests run, every table and stats.json's numbers as kevo must write them.

Writes DATA_DIR/oracle/stats/:
  runs/all      60 items (ids 0..59) of model synthetic-7b, 12 layers, raw lens; 2 unanalysed
  runs/a1, a2   the same 60 items split 0..29 / 30..59 (each with one unanalysed folder)
  runs/other    20 items of model other-13b, 16 layers
  runs/norm     20 items of synthetic-7b under the norm lens
  expected/<case>/  the tables and stats.json of: single (all), model (all + other,
                --group-by model), settings (all + norm, --group-by settings), both (all + other
                + norm, --group-by model,settings)

usage: /usr/bin/python3 tools/oracles/oracle_stats.py DATA_DIR
"""
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MAKER = os.path.join(HERE, "..", "fixtures", "make_synthetic_runs.py")

# analysis/answer.c's list, restated (docs/stats.md: the function words).
FUNCTION_WORDS = set("""a an the this that these those there here it its they them their he she
his her we our you your i me my is are was were be been being am do does did has have had can
could will would may might should must of in on at to for with by from as into onto about over
under near behind above below between and or but so nor also too very quite rather mostly
mainly primarily predominantly likely probably possibly appears appear seems seem looks look
shows show shown depicts depicted features image picture photo photograph not""".split())
KINDS = ["content", "function", "punctuation", "special"]
JUDGED = ["correct", "hallucinated", "function", "other"]
MARKS = [b"\xe2\x96\x81", b"\xc4\xa0", b"\xc4\x8a"]


def compared(piece):
    """The compared form of a piece or word: marks dropped, ASCII lower case, letters, digits
    and non-ASCII bytes kept, at most 63 bytes."""
    s, out, i = piece.encode(), bytearray(), 0
    while i < len(s):
        mark = next((m for m in MARKS if s.startswith(m, i)), None)
        if mark:
            i += len(mark)
            continue
        c = s[i]
        if 65 <= c <= 90:
            c += 32
        if (97 <= c <= 122 or 48 <= c <= 57 or c >= 128) and len(out) < 63:
            out.append(c)
        i += 1
    return bytes(out)


def has_mark(piece):
    s = piece.encode()
    return any(s.startswith(m) for m in MARKS)


def special(piece):
    s = piece.encode()
    n = len(s)
    newlines = n > 0 and n % 2 == 0 and all(s[i:i + 2] == b"\xc4\x8a" for i in range(0, n, 2))
    return newlines or (n >= 3 and s[:1] == b"<" and s[-1:] == b">")


def piece_class(piece):
    if special(piece):
        return "special"
    return "word" if compared(piece) else "punct"


def reference_words(refs):
    words = []
    for text in refs:
        s = text.encode()
        seg = bytearray()
        for c in list(s) + [0]:
            if 97 <= c <= 122 or 65 <= c <= 90 or 48 <= c <= 57 or c >= 128 or c == 39:
                seg.append(c)
                continue
            w = compared(bytes(seg[:255]).decode("utf-8", "surrogateescape")) if seg else b""
            if w and w not in words:
                words.append(w)
            seg = bytearray()
    return words


def plural_equal(a, b):
    if len(a) < len(b):
        a, b = b, a
    return a == b or (a.startswith(b) and a[len(b):] in (b"s", b"es"))


def judge_word(w, refs):
    if w.decode("utf-8", "surrogateescape") in FUNCTION_WORDS:
        return "function"
    return "correct" if any(plural_equal(w, r) for r in refs) else "hallucinated"


def judge_piece(piece, refs):
    return "other" if piece_class(piece) != "word" else judge_word(compared(piece), refs)


def token_kinds(pieces, refs):
    kinds, judges, t, n = [None] * len(pieces), [None] * len(pieces), 0, len(pieces)
    while t < n:
        c = piece_class(pieces[t])
        if c != "word":
            kinds[t] = "special" if c == "special" else "punctuation"
            judges[t] = "other"
            t += 1
            continue
        e = t + 1
        while e < n and not has_mark(pieces[e]) and piece_class(pieces[e]) == "word":
            e += 1
        w = compared("".join(pieces[t:e]))[:63]
        j = judge_word(w, refs)
        for k in range(t, e):
            kinds[k] = "function" if j == "function" else "content"
            judges[k] = j
        t = e
    return kinds, judges


def read_run(d):
    run = json.load(open(os.path.join(d, "run.json")))
    st = json.load(open(os.path.join(d, "analysis", "stages.json")))
    item_path = os.path.join(d, "item.json")
    item = json.load(open(item_path)) if os.path.exists(item_path) else None
    m, o = run["model"], st["options"]
    refs = (item or {}).get("references") or []
    return {
        "dir": d, "id": (item or {}).get("id") or os.path.basename(d),
        "model": (m["text_layers"], m["vocab_rows"], m.get("config_fnv1a64", ""),
                  m.get("weights_sha256", ""), m.get("files_sha256", "")),
        "model_path": m.get("path", ""),
        "settings": (o["lens"], o["divergence"], o.get("compute", ""), o["theta"],
                     o["min_drop_decades"], o["kappa"], o["min_mutated"], o["stage_window"],
                     st["critical_layer"] if st["critical_source"] == "given" else -1,
                     st["mutation_layer"] if st["mutation_source"] == "given" else -1),
        "L": st["layers"], "C": st["critical_layer"], "M": st["mutation_layer"],
        "profile": st["divergence_profile_log10"], "tokens": st["tokens"],
        "has_refs": len(refs) > 0, "refs": reference_words(refs)}


def group_name(r, by):
    L, V, config, weights, files = r["model"]
    model = "%s-%s" % (os.path.basename(r["model_path"])[:100], (weights or config)[:8])
    lens, div, comp, theta, drop, kappa, minm, w, cg, mg = r["settings"]
    settings = "%s-%s-%s-t%g-d%g-k%g-m%g-w%d" % (lens, div, comp, theta, drop, kappa, minm, w)
    settings += ("-C%d" % cg if cg >= 0 else "") + ("-M%d" % mg if mg >= 0 else "")
    return {(): "all", ("model",): model, ("settings",): settings}.get(
        tuple(by), model + "_" + settings)


def find_runs(paths):
    runs = []
    for p in paths:
        if os.path.isfile(os.path.join(p, "run.json")):
            runs.append(p)
            continue
        for name in sorted(os.listdir(p)):
            sub = os.path.join(p, name)
            if not name.startswith(".") and os.path.isfile(os.path.join(sub, "run.json")):
                runs.append(sub)
    return runs


def pct(values, q):
    return float(np.percentile(np.asarray(values, float), q)) if len(values) else None


def share(k, n):
    return k / n if n else None


def layer_stat(values, L, n_items, n_tokens, per_token):
    hist = [sum(1 for v in values if v == l) for l in range(L + 1)]
    have = [v for v in values if v is not None]
    j = {"histogram": hist, "none": len(values) - len(have), "n_items": n_items,
         "n_tokens": n_tokens, "q1": pct(have, 25), "median": pct(have, 50), "q3": pct(have, 75)}
    j["n_tokens_with_layer" if per_token else "n_items_with_layer"] = len(have)
    return j


def group_stats(name, runs):
    r0 = runs[0]
    L = r0["L"]
    items, all_tokens = [], []
    kind_tok, kind_mut, kind_items = {k: 0 for k in KINDS}, {k: 0 for k in KINDS}, \
        {k: 0 for k in KINDS}
    shift = {(a, b): 0 for a in JUDGED for b in JUDGED}
    judge_tok, judge_mut = {"correct": 0, "hallucinated": 0}, {"correct": 0, "hallucinated": 0}
    n_elig = n_ref = n_judged = n_ref_tokens = n_ref_mut = 0
    for r in runs:
        pieces = [t["piece"] for t in r["tokens"]]
        kinds, judges = token_kinds(pieces, r["refs"])
        elig = r["C"] is not None
        n_elig += elig
        n_ref += r["has_refs"]
        n_judged += elig and r["has_refs"]
        n_ref_tokens += len(pieces) if r["has_refs"] else 0
        seen = set()
        for t, tok in enumerate(r["tokens"]):
            mutated = tok["mutation"] is not None
            all_tokens.append(tok)
            if elig:
                kind_tok[kinds[t]] += 1
                kind_mut[kinds[t]] += mutated
                seen.add(kinds[t])
            if elig and r["has_refs"] and judges[t] in judge_tok:
                judge_tok[judges[t]] += 1
                judge_mut[judges[t]] += mutated
            if r["has_refs"] and mutated:
                n_ref_mut += 1
                shift[(judge_piece(tok["peak_from_piece"], r["refs"]),
                       judge_piece(tok["peak_to_piece"], r["refs"]))] += 1
        for k in seen:
            kind_items[k] += 1
        items.append({"id": r["id"], "run": r["dir"], "n_tokens": len(pieces), "critical": r["C"],
                      "mutation": r["M"],
                      "n_mutated": sum(t["mutation"] is not None for t in r["tokens"]),
                      "has_references": int(r["has_refs"]),
                      "n_hallucinated": sum(j == "hallucinated" for j in judges)
                      if r["has_refs"] else None})
    items.sort(key=lambda i: (i["id"].encode(), i["run"].encode()))
    n_items, n_tokens = len(runs), len(all_tokens)
    prof = np.array([r["profile"] for r in runs], float)
    kinds_json = {k: {"n_tokens": kind_tok[k], "n_mutated": kind_mut[k],
                      "share": share(kind_mut[k], kind_tok[k]), "n_items": kind_items[k]}
                  for k in KINDS}
    at, am = sum(kind_tok.values()), sum(kind_mut.values())
    kinds_json["all"] = {"n_tokens": at, "n_mutated": am, "share": share(am, at),
                         "n_items": n_elig}
    m, o = r0["model"], r0["settings"]
    g = {
        "name": name,
        "model": {"path": r0["model_path"], "config_fnv1a64": m[2], "weights_sha256": m[3],
                  "files_sha256": m[4], "layers": m[0], "vocab_rows": m[1]},
        "settings": dict(zip(["lens", "divergence", "compute", "theta", "min_drop_decades",
                              "kappa", "min_mutated", "stage_window", "critical_given",
                              "mutation_given"], o)),
        "n_items": n_items, "n_tokens": n_tokens,
        "critical_item": layer_stat([r["C"] for r in runs], L, n_items, n_tokens, False),
        "critical_token": layer_stat([t["critical"] for t in all_tokens], L, n_items, n_tokens,
                                     True),
        "mutation_item": layer_stat([r["M"] for r in runs], L, n_items, n_tokens, False),
        "mutation_token": layer_stat([t["mutation"] for t in all_tokens], L, n_items, n_tokens,
                                     True),
        "token_kinds": kinds_json,
        "profile_log10": {"n_items": n_items, "n_tokens": n_tokens,
                          "q1": list(np.percentile(prof, 25, axis=0)),
                          "median": list(np.percentile(prof, 50, axis=0)),
                          "q3": list(np.percentile(prof, 75, axis=0))},
        "shift": {"n_items": n_ref, "n_tokens": n_ref_tokens, "n_mutated": n_ref_mut,
                  "counts": {f"{a}->{b}": shift[(a, b)] for a in JUDGED for b in JUDGED}},
        "hallucination": {"n_items": n_judged, **{
            j: {"n_tokens": judge_tok[j], "n_mutated": judge_mut[j],
                "share": share(judge_mut[j], judge_tok[j])} for j in judge_tok}},
    }
    return g, items


def num(v):
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else \
        ("%.17g" % v if isinstance(v, float) else str(v))


def write_expected(out, paths, by):
    runs, skipped = [], []
    for d in find_runs(paths):
        if os.path.isfile(os.path.join(d, "analysis", "stages.json")):
            runs.append(read_run(d))
        else:
            skipped.append(d)
    groups = {}
    for r in runs:
        groups.setdefault(group_name(r, by), []).append(r)
    os.makedirs(out, exist_ok=True)
    stats = {"format": "kevo-stats", "group_by": ",".join(by) or "none", "n_runs": len(runs),
             "n_tokens": sum(len(r["tokens"]) for r in runs), "n_skipped": len(skipped),
             "groups": []}
    rows = {k: [] for k in ["items", "layers", "token_kinds", "profile", "shift",
                            "hallucination"]}
    for name in sorted(groups, key=lambda s: s.encode()):
        g, items = group_stats(name, groups[name])
        stats["groups"].append(g)
        q = f'"{name}"'
        for i in items:
            run = os.path.basename(i["run"])
            rows["items"].append([q, f'"{i["id"]}"', f'"{run}"', i["n_tokens"],
                                  num(i["critical"]), num(i["mutation"]), i["n_mutated"],
                                  i["has_references"], num(i["n_hallucinated"])])
        for h in ["critical_item", "critical_token", "mutation_item", "mutation_token"]:
            hist, den = g[h], g["n_tokens"] if h.endswith("token") else g["n_items"]
            for l, c in enumerate(hist["histogram"] + [hist["none"]]):
                rows["layers"].append([q, h, l if l < len(hist["histogram"]) else "none", c,
                                       num(share(c, den)), g["n_items"], g["n_tokens"]])
        for k in KINDS + ["all"]:
            e = g["token_kinds"][k]
            rows["token_kinds"].append([q, k, e["n_tokens"], e["n_mutated"], num(e["share"]),
                                        e["n_items"]])
        p = g["profile_log10"]
        for i in range(len(p["median"])):
            rows["profile"].append([q, i, g["n_items"], g["n_tokens"], num(p["q1"][i]),
                                    num(p["median"][i]), num(p["q3"][i])])
        s = g["shift"]
        for a in JUDGED:
            for b in JUDGED:
                c = s["counts"][f"{a}->{b}"]
                rows["shift"].append([q, a, b, c, num(share(c, s["n_mutated"])), s["n_items"],
                                      s["n_tokens"], s["n_mutated"]])
        h = g["hallucination"]
        for j in ["correct", "hallucinated"]:
            rows["hallucination"].append([q, j, h[j]["n_tokens"], h[j]["n_mutated"],
                                          num(h[j]["share"]), h["n_items"]])
    for name, r in rows.items():
        with open(os.path.join(out, name + ".csv"), "w") as f:
            for row in r:
                f.write(",".join(str(x) for x in row) + "\n")
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1, allow_nan=False)


def make(out, n, *args):
    subprocess.run([sys.executable, MAKER, out, str(n), *args], check=True)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = os.path.join(sys.argv[1], "oracle", "stats")
    shutil.rmtree(root, ignore_errors=True)
    runs = os.path.join(root, "runs")
    make(os.path.join(runs, "all"), 60, "--layers", "12", "--seed", "1", "--skip", "2")
    make(os.path.join(runs, "a1"), 30, "--layers", "12", "--seed", "1", "--skip", "1")
    make(os.path.join(runs, "a2"), 30, "--layers", "12", "--seed", "1", "--start", "30",
         "--skip", "1")
    make(os.path.join(runs, "other"), 20, "--layers", "16", "--seed", "2", "--model",
         "other-13b")
    make(os.path.join(runs, "norm"), 20, "--layers", "12", "--seed", "3", "--start", "100",
         "--lens", "norm")
    exp = os.path.join(root, "expected")
    r = {k: os.path.join(runs, k) for k in ["all", "other", "norm"]}
    write_expected(os.path.join(exp, "single"), [r["all"]], [])
    write_expected(os.path.join(exp, "model"), [r["all"], r["other"]], ["model"])
    write_expected(os.path.join(exp, "settings"), [r["all"], r["norm"]], ["settings"])
    write_expected(os.path.join(exp, "both"), [r["all"], r["other"], r["norm"]],
                   ["model", "settings"])
    print(f"oracle_stats: {root}")


if __name__ == "__main__":
    main()
