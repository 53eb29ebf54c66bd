#!/usr/bin/python3
"""The paper's Level-1 and Level-2 analyses recomputed in float64 with numpy, as the authors'
scripts compute them (XIAO4579/Vlm-interpretability: heatmap.py, plot_token_probabilities_area.py;
../shared/spec/paper.md §2-§4), independently of kevo.

For every step t and hidden-state index l of a run folder: logits = lm_head(h) in float64 (h as
recorded for the raw lens; the final RMSNorm applied to l < L for the norm lens), log-softmax,
the top token, its probability, the generated token's probability; for every consecutive pair
the authors' divergence, literally 0.5 * (F.kl_div(logP, M).mean(-1) + F.kl_div(logQ, M).mean(-1))
with kl_div(input, target) = xlogy(target, target) - target * input, and the textbook
Jensen-Shannon divergence in bits; the candidate tokens (the top tokens of the window states
without repeats, in order); sklearn's MaxAbsScaler over the first 40 rows (per column) and the
global variant.

usage:
  /usr/bin/python3 tools/oracles/oracle_analysis.py DATA_DIR
      writes DATA_DIR/oracle/analysis/<fixture>/<case>.<lens>.safetensors for the run folders of
      tools/oracles/oracle_engine.py (DATA_DIR/oracle/engine/<fixture>/<case>.run), read by
      tests/test_analysis.c
  /usr/bin/python3 tools/oracles/oracle_analysis.py --check RUN_DIR [-m MODEL_DIR]
      compares what `kevo analyze` wrote into RUN_DIR/analysis (the CSV tables and the options
      in stages.json) with the recomputation; prints the largest differences and exits 1 when
      one exceeds the tolerance (docs/analyses.md, "Cross-check").
"""
import argparse
import csv
import json
import os
import struct
import sys

import numpy as np
import sentencepiece as spm
from scipy.special import logsumexp, xlogy
from sklearn.preprocessing import MaxAbsScaler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import llava_torch as lt  # noqa: E402
import safetensors_np as st  # noqa: E402

FIXTURES = ["tiny-f32", "tiny-f16", "tiny-bf16", "tiny-gqa"]
CASES = ["color", "describe"]
HEATMAP_ROWS = 40
# The cross-check's tolerance (docs/analyses.md, tests/test_analysis.c): SAFETY times the
# first-order effect of F32 rounding in kevo's logits.
SAFETY = 2.0


def logit_error(logit_abs, dim):
    """e = (sqrt(D) + 4) u max_v sum_i |h_i w_vi|: the rounding error of one F32 logit in the
    random-walk model of a D-term sum (Higham & Mary 2019), 4 u more for the norm lens."""
    return (np.sqrt(dim) + 4) * 2.0 ** -24 * logit_abs


# ----------------------------------------------------------------------------------------------
# Files

def safetensors_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)), 8 + n


def read_tensor(path, name):
    """One tensor of a safetensors file as float64 (F32/F16/BF16 widened exactly), mapped rather
    than read whole (safetensors_np.read would read a 7B checkpoint's shards to get its head)."""
    header, base = safetensors_header(path)
    h = header[name]
    b, e = h["data_offsets"]
    mm = np.memmap(path, np.uint8, "r", offset=base + b, shape=(e - b,))
    if h["dtype"] == "F64":
        a = mm.view("<f8")
    elif h["dtype"] == "F32":
        a = mm.view("<f4")
    elif h["dtype"] == "F16":
        a = mm.view("<f2")
    elif h["dtype"] == "BF16":
        a = (mm.view("<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        raise ValueError(f"{path}: {name}: dtype {h['dtype']}")
    return np.asarray(a, np.float64).reshape(h["shape"])


def model_head(model_dir):
    """(lm_head (V, D), final norm weight (D), eps) of a llava-hf folder, read lazily."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    files = (sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index)
             else ["model.safetensors"])
    where = {}
    for f in files:
        for name in safetensors_header(os.path.join(model_dir, f))[0]:
            where[name] = os.path.join(model_dir, f)

    def find(*names):
        for n in names:
            if n in where:
                return read_tensor(where[n], n)
        return None

    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    text = cfg.get("text_config") or {}
    head = find("language_model.lm_head.weight", "lm_head.weight")
    if head is None:   # tied embeddings
        head = find("language_model.model.embed_tokens.weight",
                    "model.language_model.embed_tokens.weight")
    norm = find("language_model.model.norm.weight", "model.language_model.norm.weight")
    return head, norm, text.get("rms_norm_eps", 1e-6)


def read_run(run_dir):
    run = json.load(open(os.path.join(run_dir, "run.json")))
    hidden = read_tensor(os.path.join(run_dir, run["hidden"]["file"]), run["hidden"]["tensor"])
    return run, hidden


# ----------------------------------------------------------------------------------------------
# The analyses, as the authors compute them (but in float64 throughout)

def lens_input(hidden, norm, eps, lens):
    """(T, S, D) states the head reads: LlamaRMSNorm (modeling_llama.py) on states below L for
    the norm lens, the recorded states for the raw lens."""
    h = hidden.copy()
    if lens == "norm":
        x = h[:, :-1, :]
        h[:, :-1, :] = norm * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))
    return h


def log_probs(logits):
    """(max, logsum, log-probabilities) of each row in float64; logsum = log1p(the sum of
    exp(z - max) over every entry but the first maximal one), exact for peaked rows."""
    mx = logits.max(-1, keepdims=True)
    e = np.exp(logits - mx)
    np.put_along_axis(e, logits.argmax(-1)[..., None], 0.0, -1)
    logsum = np.log1p(e.sum(-1, keepdims=True))
    return mx, logsum, (logits - mx) - logsum


def divergences_literal(logp):
    """heatmap.py, transcribed: 0.5 * (F.kl_div(logP, M).mean(-1) + F.kl_div(logQ, M).mean(-1))
    with kl_div(input, target) = xlogy(target, target) - target * input, and the textbook JSD;
    in float64 these lose to cancellation where the two distributions nearly agree."""
    a, b = logp[:-1], logp[1:]
    p, q = np.exp(a), np.exp(b)
    m = 0.5 * (p + q)
    paper = 0.5 * ((xlogy(m, m) - m * a).mean(-1) + (xlogy(m, m) - m * b).mean(-1))
    jsd = 0.5 * ((xlogy(p, p) - xlogy(p, m)).sum(-1) + (xlogy(q, q) - xlogy(q, m)).sum(-1))
    return paper, jsd / np.log(2)


def entry_terms(r):
    """Per entry with r = log q - log p: g = 2 log cosh(r/2), the paper's M (2 log M - log P -
    log Q) over M, and f = (1-t) log(1-t) + (1+t) log(1+t), t = tanh(r/2), the JSD's
    P log(P/M) + Q log(Q/M) over M; both without cancellation."""
    a = np.abs(r)
    small = a < 1
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.tanh(np.where(small, a, 0) / 2)
        g_small = -np.log1p(-t * t)
        f_small = np.where(t < 0.1, sum(t ** (2 * k) / (k * (2 * k - 1)) for k in range(1, 9)),
                           (1 - t) * np.log1p(-t) + (1 + t) * np.log1p(t))
        e = np.exp(-np.where(small, 1, a))
        l1 = np.log1p(e)
        g_big = a - 2 * np.log(2) + 2 * l1
        u, w = 2 * e / (1 + e), 2 / (1 + e)
        f_big = np.where(u > 0, u * (np.log(2) - a - l1), 0) + w * (np.log(2) - l1)
    return np.where(small, g_small, g_big), np.where(small, f_small, f_big)


def divergences(logits):
    """(T, L) divergences between states i and i + 1, accurate in float64: the authors' (paper)
    and the Jensen-Shannon (jsd, bits), their literal float64 transcriptions (*_literal), the
    first-order sensitivity of each to the logits of either row (sens_a_*, sens_b_*), and the
    mass of M off its largest entry (off_top), for the second-order term of the tolerance."""
    T, S, V = logits.shape
    keys = ("div_paper", "div_jsd", "div_paper_literal", "div_jsd_literal", "sens_a_paper",
            "sens_b_paper", "sens_a_jsd", "sens_b_jsd", "off_top")
    out = {k: np.zeros((T, S - 1)) for k in keys}
    for t in range(T):
        mx, logsum, logp = log_probs(logits[t])
        out["div_paper_literal"][t], out["div_jsd_literal"][t] = divergences_literal(logp)
        for i in range(S - 1):
            a, b = logp[i], logp[i + 1]
            p, q = np.exp(a), np.exp(b)
            m = 0.5 * (p + q)
            r = ((logits[t, i + 1] - mx[i + 1]) - (logits[t, i] - mx[i])) - (logsum[i + 1] -
                                                                             logsum[i])
            g, f = entry_terms(r)
            out["div_paper"][t, i] = np.sum(np.where(m > 0, m * g, 0)) / (2 * V)
            out["div_jsd"][t, i] = 0.5 * np.sum(np.where(m > 0, m * f, 0)) / np.log(2)
            # the mass of M off its largest entry: the weight of the second-order error (the
            # largest entry's log-ratio has no logit error when both rows peak there)
            out["off_top"][t, i] = 1 - m.max()
            # Sensitivities to each row's logits. With g_v = dJ/d log p_v and log p_v =
            # z_v - logsumexp(z), dJ/dz_v = g_v - p_v sum_u g_u; an error of at most e in every
            # logit of the row moves J by at most e sum_v |dJ/dz_v| (to first order).
            ok = m > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                logm = np.where(ok, np.log(np.where(ok, m, 1)), 0)
            c = np.where(ok, 2 * logm - a - b, 0)
            for kind, ga, gb in (
                    ("paper", (0.5 * p * c + p - m) / (2 * V), (0.5 * q * c + q - m) / (2 * V)),
                    ("jsd", 0.5 * np.where(ok, p * (a - logm), 0) / np.log(2),
                     0.5 * np.where(ok, q * (b - logm), 0) / np.log(2))):
                out["sens_a_" + kind][t, i] = np.abs(ga - p * ga.sum()).sum()
                out["sens_b_" + kind][t, i] = np.abs(gb - q * gb.sum()).sum()
    return out


def verify_with_mpmath(logits, out, pairs):
    """The accurate float64 values against the authors' formula evaluated at 60 digits from the
    same float64 logits, on the given (t, i) pairs. The float64 path rounds each log-ratio
    r = (z' - max') - (z - max) - (lse' - lse) once per operation, an error worth at most a few
    ulps of the largest logit moved into the logits; through the first-order sensitivities
    (sens_*) that bounds what float64 can promise, beside 1e-12 of the value itself. Raises when
    they differ beyond that."""
    import mpmath
    mpmath.mp.dps = 60
    for t, i in pairs:
        rows = []
        for z in (logits[t, i], logits[t, i + 1]):
            z = [mpmath.mpf(float(x)) for x in z]
            lse = mpmath.log(mpmath.fsum(mpmath.exp(x) for x in z))
            rows.append([x - lse for x in z])
        a, b = rows
        V = len(a)
        kl1 = kl2 = js = mpmath.mpf(0)
        for la, lb in zip(a, b):
            p, q = mpmath.exp(la), mpmath.exp(lb)
            m = (p + q) / 2
            lm = mpmath.log(m)
            kl1 += m * (lm - la)
            kl2 += m * (lm - lb)
            js += p * (la - lm) + q * (lb - lm)
        exact_values = (("div_paper", (kl1 + kl2) / (2 * V)), ("div_jsd", js / 2 / mpmath.log(2)))
        ulp = 8 * np.finfo(np.float64).eps * float(np.abs(logits[t, i:i + 2]).max() + 1)
        for key, exact in exact_values:
            got = out[key][t, i]
            kind = key.split("_")[1]
            rounding = ulp * (out["sens_a_" + kind][t, i] + out["sens_b_" + kind][t, i])
            if abs(got - exact) > 1e-12 * abs(exact) + rounding + 1e-300:
                raise SystemExit(f"oracle_analysis: {key}[{t}, {i}] = {got!r} but 60 digits give "
                                 f"{mpmath.nstr(exact, 20)}")


def default_window(n_layers):
    """The deepest round(13/33 (L+1)) states: range(20, 33) for L = 32, as the authors."""
    states = n_layers + 1
    n = max(1, (13 * states + 16) // 33)
    return states - n, n_layers


def candidates(top, window):
    """plot_token_probabilities_area.py: top tokens of the window states, repeats dropped."""
    out = []
    for l in range(window[0], window[1] + 1):
        if top[l] not in out:
            out.append(int(top[l]))
    return out


def analyse(hidden, ids, head, norm, eps, lens, window):
    h = lens_input(hidden, norm, eps, lens)
    logits = h @ head.T
    T, S, V = logits.shape
    lse = logsumexp(logits, axis=-1)
    top = np.argmax(logits, axis=-1)
    srt = np.sort(logits, axis=-1)
    gap = srt[..., -1] - srt[..., -2]
    probs = np.exp(logits - lse[..., None])
    top_p = np.take_along_axis(probs, top[..., None], -1)[..., 0]
    # the 5 most probable tokens: a stable sort of the negated logits (equal logits by ascending
    # id, kevo's rule); the 6 largest logits let the test tell near ties from wrong ids
    order = np.argsort(-logits, axis=-1, kind="stable")
    top5 = order[..., :5]
    top6_z = np.take_along_axis(logits, order[..., :6], -1)
    top5_p = np.take_along_axis(probs, top5, -1)
    gen_p = np.stack([probs[t, :, ids[t]] for t in range(T)])
    start, cid, cp = [0], [], []
    for t in range(T):
        c = candidates(top[t], window)
        cid += c
        cp += [probs[t, :, v] for v in c]
        start.append(len(cid))
    rows = min(HEATMAP_ROWS, T)
    out = {"lse": lse, "top_id": top.astype(np.int64), "top_p": top_p, "top_gap": gap,
           "top5_id": top5.astype(np.int64), "top5_p": top5_p, "top6_logit": top6_z,
           "generated_p": gen_p,
           "cand_start": np.array(start, np.int64), "cand_id": np.array(cid, np.int64),
           "cand_p": np.array(cp).reshape(len(cid), S),
           # the scale of an F32 dot product's rounding error: max_v sum_i |h_i w_vi| per (t, l)
           "logit_abs": (np.abs(h) @ np.abs(head).T).max(-1)}
    out.update(divergences(logits))
    for kind in ("paper", "jsd"):
        x = out["div_" + kind][:rows]
        out[f"heat_column_{kind}"] = MaxAbsScaler().fit_transform(x)
        g = np.abs(x).max() if x.size else 0.0
        out[f"heat_global_{kind}"] = x / (g if g >= 10 * np.finfo(np.float64).eps else 1.0)
    return out


# ----------------------------------------------------------------------------------------------
# Modes

def write_peaked_run(data_dir):
    """A run folder in the regime where the naive evaluation of the divergences cancels: the
    tiny-f32 describe run with its states from layer 2 on replaced by 40 times the last state
    plus 1e-4 noise, so that every distribution is nearly one-hot and consecutive layers nearly
    agree (divergences down to ~1e-20, as in a trained model's stable layers)."""
    src = os.path.join(data_dir, "oracle", "engine", "tiny-f32", "describe.run")
    run, hidden = read_run(src)
    model_dir = os.path.join(data_dir, "fixtures", "tiny-f32")
    head, _, _ = model_head(model_dir)
    rng = np.random.default_rng(3)
    h = hidden.copy()
    for t in range(h.shape[0]):
        for l in range(2, h.shape[1]):
            h[t, l] = 40 * hidden[t, -1] + 1e-4 * rng.standard_normal(h.shape[2])
    h = h.astype(np.float32)
    ids = np.argmax(h[:, -1].astype(np.float64) @ head.T, axis=-1)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    out = os.path.join(data_dir, "oracle", "analysis", "tiny-f32", "peaked.run")
    os.makedirs(out, exist_ok=True)
    st.write(os.path.join(out, "hidden.safetensors"), {"hidden": h},
             metadata={"format": "kevo-run", "kevo_version": "python-reference"})
    run["generated_ids"] = [int(i) for i in ids]
    run["generated_pieces"] = [sp.id_to_piece(int(i)) if i < sp.get_piece_size()
                               else f"<extra_{i}>" for i in ids]
    run["text"] = "(peaked states)"
    run.pop("image_states", None)   # the answer's states alone
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump(run, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return out


def write_oracles(data_dir):
    runs = [(fx, case, os.path.join(data_dir, "oracle", "engine", fx, case + ".run"))
            for fx in FIXTURES for case in CASES]
    runs.append(("tiny-f32", "peaked", write_peaked_run(data_dir)))
    for fx, case, run_dir in runs:
        model_dir = os.path.join(data_dir, "fixtures", fx)
        head, norm, eps = model_head(model_dir)
        out_dir = os.path.join(data_dir, "oracle", "analysis", fx)
        os.makedirs(out_dir, exist_ok=True)
        run, hidden = read_run(run_dir)
        ids = np.array(run["generated_ids"], np.int64)
        window = default_window(hidden.shape[1] - 1)
        for lens in ("raw", "norm"):
            out = analyse(hidden, ids, head, norm, eps, lens, window)
            out["window"] = np.array(window, np.int64)
            # the accurate values against 60 digits where cancellation would be worst
            logits = lens_input(hidden, norm, eps, lens) @ head.T
            pairs = {np.unravel_index(np.argmin(out[k]), out[k].shape)
                     for k in ("div_paper", "div_jsd")}
            verify_with_mpmath(logits, out, sorted(pairs))
            st.write(os.path.join(out_dir, f"{case}.{lens}.safetensors"), out)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def worst(got, want, bound):
    """(largest |got - want| / (SAFETY bound), largest relative difference): the first is at most
    1 when within tolerance."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if not got.size:
        return 0.0, 0.0
    d = np.abs(got - want)
    rel = d[want != 0] / np.abs(want[want != 0])
    return (float(np.max(d / (SAFETY * np.asarray(bound) + 1e-300))),
            float(rel.max()) if rel.size else 0.0)


def check(run_dir, model_dir):
    run, hidden = read_run(run_dir)
    adir = os.path.join(run_dir, "analysis")
    opt = json.load(open(os.path.join(adir, "stages.json")))["options"]
    head, norm, eps = model_head(model_dir or run["model"]["path"])
    ids = np.array(run["generated_ids"], np.int64)
    window = tuple(opt["window"])
    kind, scale = opt["divergence"], opt["scale"]
    ref = analyse(hidden, ids, head, norm, eps, opt["lens"], window)
    T, S = ref["lse"].shape
    e = logit_error(ref["logit_abs"], hidden.shape[-1])
    res = []

    _, rows = read_csv(os.path.join(adir, "lens.csv"))
    got = np.array([[float(x) for x in r[4:7]] for r in rows]).reshape(T, S, 3)
    res.append(("log-sum-exp", worst(got[..., 2], ref["lse"], e)))
    res.append(("top-1 probability", worst(got[..., 0], ref["top_p"], 2 * e * ref["top_p"])))
    res.append(("generated-token probability",
                worst(got[..., 1], ref["generated_p"], 2 * e * ref["generated_p"])))
    top = np.array([int(r[2]) for r in rows]).reshape(T, S)
    res.append(("top tokens differing (beyond near ties)",
                int(((top != ref["top_id"]) & (ref["top_gap"] > 2 * e)).sum())))

    _, rows = read_csv(os.path.join(adir, "divergence.csv"))
    got = np.array([[float(x) for x in r[3:]] for r in rows]).reshape(T, S - 1)
    ea, eb = e[:, :-1], e[:, 1:]
    K = 0.5 / np.log(2) if kind == "jsd" else 0.5 / head.shape[0]
    bound = (ea * ref["sens_a_" + kind] + eb * ref["sens_b_" + kind]
             + 5 * K * ref["off_top"] * (ea + eb) ** 2)
    res.append((f"{kind} divergence", worst(got, ref["div_" + kind], bound)))
    raw_kevo = got

    _, rows = read_csv(os.path.join(adir, "candidates.csv"))
    start = ref["cand_start"]
    want_ids = [list(ref["cand_id"][start[t]:start[t + 1]]) for t in range(T)]
    got_ids = [[] for _ in range(T)]
    got_p = []
    for r in rows:
        got_ids[int(r[0])].append(int(r[3]))
        got_p.append([float(x) for x in r[5:]])
    res.append(("steps with other candidates",
                sum(g != w for g, w in zip(got_ids, want_ids))))
    if got_ids == want_ids and got_p:
        ce = np.concatenate([np.repeat(e[t][None], start[t + 1] - start[t], 0)
                             for t in range(T)])
        res.append(("candidate probabilities", worst(got_p, ref["cand_p"], 2 * ce * ref["cand_p"])))

    # The heatmap: kevo's own raw divergences scaled as sklearn does must give heatmap.csv.
    _, rows = read_csv(os.path.join(adir, "heatmap.csv"))
    got = np.array([[float(x) for x in r[3:]] for r in rows])
    x = raw_kevo[:len(rows)]
    if scale == "column":
        want = MaxAbsScaler().fit_transform(x)
    elif scale == "global":
        g = np.abs(x).max()
        want = x / (g if g >= 10 * np.finfo(np.float64).eps else 1.0)
    else:
        want = x
    res.append((f"heatmap ({scale} scaling)", worst(got, want, np.full(want.shape, 1e-15))))

    print(f"{run_dir}: lens {opt['lens']}, divergence {kind}, scale {scale}, window "
          f"{window[0]}:{window[1]}, {T} steps x {S} states, V = {head.shape[0]}; tolerance "
          f"{SAFETY:g} x the F32 rounding bound (docs/analyses.md)")
    lit = ref[f"div_{kind}_literal"]
    acc = ref["div_" + kind]
    print(f"  (the literal float64 transcription of the formula is off by up to "
          f"{float(np.max(np.abs(lit - acc) / np.maximum(acc, 1e-300))):.3g} relative from the "
          f"accurate value through cancellation; kevo is compared with the accurate value)")
    failed = False
    for name, w in res:
        count = isinstance(w, int)
        ok = w == 0 if count else w[0] <= 1.0
        failed |= not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: " + (
            f"{w}" if count else f"{w[0]:.3g} of the tolerance, largest relative difference "
                                 f"{w[1]:.3g}"))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?")
    ap.add_argument("--check", metavar="RUN_DIR")
    ap.add_argument("-m", "--model", metavar="MODEL_DIR")
    args = ap.parse_args()
    if args.check:
        sys.exit(check(args.check, args.model))
    if not args.data_dir:
        ap.error("DATA_DIR or --check RUN_DIR")
    write_oracles(args.data_dir)


if __name__ == "__main__":
    main()
