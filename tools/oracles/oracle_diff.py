#!/usr/bin/python3
"""`kevo diff` recomputed in float64 with numpy, independently of kevo: two run folders of the
same image and question compared state by state.

For every common step t and hidden-state index l (both runs' states as recorded, widened to
float64): rel_err = ||a - b|| / ||a||, cosine = a.b / (||a|| ||b||); each run's lens logits
through its own model's head in float64 (the final RMSNorm first below L for the norm lens), and
the Jensen-Shannon divergence in bits between the two distributions at the same index (evaluated
without cancellation, oracle_analysis.entry_terms), both top tokens, the first index per step
where they differ, and the first step whose generated ids differ. For the test's tolerance: the
first-order sensitivity of each JSD to either row's logits (sens_a, sens_b), the F32 error scale
of each row's logits (logit_abs_a, _b: max_v sum_i |h_i w_vi|) and each row's top-2 logit gap.

usage: /usr/bin/python3 tools/oracles/oracle_diff.py DATA_DIR
    writes DATA_DIR/oracle/diff/<pair>.safetensors for the pairs below (run folders of
    tools/oracles/oracle_engine.py, DATA_DIR/oracle/engine/<fixture>/<case>.run), read by
    tests/test_diff.c
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import oracle_analysis as oa  # noqa: E402
import safetensors_np as st  # noqa: E402

# name: (fixture A, case A, lens A, fixture B, case B, lens B)
PAIRS = {
    "f32-bf16-color": ("tiny-f32", "color", "raw", "tiny-bf16", "color", "raw"),
    "f32-f16-describe-norm": ("tiny-f32", "describe", "norm", "tiny-f16", "describe", "norm"),
    "f32-raw-norm-color": ("tiny-f32", "color", "raw", "tiny-f32", "color", "norm"),
}


def lens_logits(data_dir, fixture, case, lens):
    run, hidden = oa.read_run(os.path.join(data_dir, "oracle", "engine", fixture, case + ".run"))
    head, norm, eps = oa.model_head(os.path.join(data_dir, "fixtures", fixture))
    h = oa.lens_input(hidden, norm, eps, lens)
    return run, hidden, h @ head.T, (np.abs(h) @ np.abs(head).T).max(-1)


def jsd_rows(za, zb):
    """JSD in bits between softmax(za) and softmax(zb), and its sensitivities to either row."""
    ma, la, lpa = oa.log_probs(za[None])
    mb, lb, lpb = oa.log_probs(zb[None])
    lpa, lpb = lpa[0], lpb[0]
    p, q = np.exp(lpa), np.exp(lpb)
    m = 0.5 * (p + q)
    r = ((zb - mb[0]) - (za - ma[0])) - (lb[0] - la[0])
    _, f = oa.entry_terms(r)
    jsd = 0.5 * np.sum(np.where(m > 0, m * f, 0)) / np.log(2)
    ok = m > 0
    logm = np.where(ok, np.log(np.where(ok, m, 1)), 0)
    ga = 0.5 * np.where(ok, p * (lpa - logm), 0) / np.log(2)
    gb = 0.5 * np.where(ok, q * (lpb - logm), 0) / np.log(2)
    return jsd, np.abs(ga - p * ga.sum()).sum(), np.abs(gb - q * gb.sum()).sum()


def compare(data_dir, fa, ca, lensa, fb, cb, lensb):
    run_a, ha, za, abs_a = lens_logits(data_dir, fa, ca, lensa)
    run_b, hb, zb, abs_b = lens_logits(data_dir, fb, cb, lensb)
    T, S = min(ha.shape[0], hb.shape[0]), min(ha.shape[1], hb.shape[1])
    out = {k: np.zeros((T, S)) for k in ("rel_err", "cosine", "jsd", "sens_a", "sens_b")}
    for t in range(T):
        for l in range(S):
            a, b = ha[t, l], hb[t, l]
            out["rel_err"][t, l] = np.linalg.norm(a - b) / np.linalg.norm(a)
            out["cosine"][t, l] = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
            out["jsd"][t, l], out["sens_a"][t, l], out["sens_b"][t, l] = jsd_rows(za[t, l],
                                                                                  zb[t, l])
    top_a, top_b = za[:T, :S].argmax(-1), zb[:T, :S].argmax(-1)
    gap = lambda z: np.diff(np.sort(z, axis=-1)[..., -2:], axis=-1)[..., 0]  # noqa: E731
    first = np.array([next((l for l in range(S) if top_a[t, l] != top_b[t, l]), -1)
                      for t in range(T)])
    ia, ib = run_a["generated_ids"], run_b["generated_ids"]
    parting = next((t for t in range(T) if ia[t] != ib[t]), T if len(ia) != len(ib) else -1)
    out.update({"top_a": top_a.astype(np.int64), "top_b": top_b.astype(np.int64),
                "gap_a": gap(za[:T, :S]), "gap_b": gap(zb[:T, :S]),
                "logit_abs_a": abs_a[:T, :S], "logit_abs_b": abs_b[:T, :S],
                "first_index": first.astype(np.int64),
                "parting": np.array([parting], np.int64)})
    return out


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    data_dir = sys.argv[1]
    out_dir = os.path.join(data_dir, "oracle", "diff")
    os.makedirs(out_dir, exist_ok=True)
    for name, pair in PAIRS.items():
        st.write(os.path.join(out_dir, name + ".safetensors"), compare(data_dir, *pair))


if __name__ == "__main__":
    main()
