#!/usr/bin/env python3
"""Reference for kevo's patch lens (src/analysis/patch_lens.c), recomputed with numpy in float64.

For each head type (F32, F16, BF16) writes DATA_DIR/oracle/patch_lens/<dtype>.safetensors:
the inputs (an LM head (V, D) stored in that type, the final norm's weight, image states
(P, K, D) F32 as a run folder's image_hidden holds them, the kept hidden-state indices, the
tracked token ids; eps and L as metadata) and, per lens ("raw", "norm": the final RMSNorm on the
states whose index is below L, as transformers' LlamaRMSNorm), the expected top token, its
probability, the entropy in nats and the tracked tokens' probabilities, with the tolerances the
test allows: the probabilities move by at most 2e and the entropy by at most 2e (H + 1) when
every logit moves by at most e, e = (sqrt(D) + 4) u max_v sum_i |h_i w_vi| (the random-walk
model of a D-term F32 sum, as tools/oracles/oracle_analysis.py), times SAFETY. The gap between
the two largest logits says where the top token is decided (gap > 2 e SAFETY).

Head rows 3 and 7 are equal, and patch 0 points along row 3 at every index, so its two largest
logits tie exactly: the top token must be the first of them, 3.

End to end, for the run folders PyTorch wrote (tools/oracles/oracle_engine.py: DATA_DIR/oracle/
engine/tiny-f32/<case>.run, every image position at every index), per lens the log-probability
of every token at every (patch, index), DATA_DIR/oracle/patch_lens/run.<case>.<lens>.safetensors,
with the same tolerances: tests/test_image_states.c compares `kevo analyze`'s patch_lens.csv.
usage: tools/oracles/oracle_patch_lens.py DATA_DIR
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import safetensors_np as st  # noqa: E402

V, D, L, P = 211, 48, 5, 12
INDICES = [0, 1, 3, 5]
WORDS = [3, 7, 0, V - 1]
EPS = 1e-5
SAFETY = 2.0


def stored(a, dtype):
    """a as the C side reads it: rounded to the head's type, widened exactly to float64."""
    if dtype == "F32":
        return a.astype(np.float32).astype(np.float64)
    if dtype == "F16":
        return a.astype(np.float16).astype(np.float64)
    u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return u.astype(np.uint32).view(np.float32).astype(np.float64)


def lens_rows(states, norm, lens):
    """(P * K, D) float64 inputs of the head, patch-major."""
    x = states.astype(np.float64).copy()
    if lens == "norm":
        for k, index in enumerate(INDICES):
            if index < L:
                h = x[:, k, :]
                x[:, k, :] = norm * (h / np.sqrt(np.mean(h * h, axis=-1, keepdims=True) + EPS))
    return x.reshape(-1, D)


def expected(head, rows):
    z = rows @ head.T
    top = np.argmax(z, axis=1)          # the first of equal maxima, as kevo
    zs = np.sort(z, axis=1)
    gap = zs[:, -1] - zs[:, -2]
    lse = zs[:, -1] + np.log(np.sum(np.exp(z - zs[:, -1:]), axis=1))
    logp = z - lse[:, None]
    p = np.exp(logp)
    entropy = -np.sum(p * logp, axis=1)
    e = SAFETY * (np.sqrt(D) + 4) * 2.0 ** -24 * np.max(np.abs(rows) @ np.abs(head).T, axis=1)
    shape = (P, len(INDICES))
    return {"top_id": top.astype(np.int32).reshape(shape),
            "top_p": p[np.arange(len(top)), top].reshape(shape),
            "entropy": entropy.reshape(shape),
            "word_p": p[:, WORDS].reshape(shape + (len(WORDS),)),
            "gap": gap.reshape(shape),
            "tol_logit": e.reshape(shape),
            "tol_p": (2 * e).reshape(shape),
            "tol_entropy": (2 * e * (entropy + 1)).reshape(shape)}


def run_oracles(data, out):
    """The patch lens of the PyTorch run folders, every token's log-probability."""
    import oracle_analysis as oa   # the head reader and lens inputs shared with the answer lens
    cases = 0
    for case in ("color", "describe"):
        run_dir = os.path.join(data, "oracle", "engine", "tiny-f32", f"{case}.run")
        run = json.load(open(os.path.join(run_dir, "run.json")))
        states = oa.read_tensor(os.path.join(run_dir, "hidden.safetensors"), "image_hidden")
        head, norm, eps = oa.model_head(run["model"]["path"])
        head, norm = head.astype(np.float64), norm.astype(np.float64)
        n_layers = run["model"]["text_layers"]
        indices = run["image_states"]["indices"]
        for lens in ("raw", "norm"):
            x = states.astype(np.float64).copy()   # (P, K, D)
            if lens == "norm":
                for k, index in enumerate(indices):
                    if index < n_layers:
                        h = x[:, k, :]
                        x[:, k, :] = norm * (h / np.sqrt(np.mean(h * h, -1, keepdims=True) + eps))
            rows = x.reshape(-1, x.shape[-1])
            z = rows @ head.T
            zs = np.sort(z, axis=1)
            lse = zs[:, -1] + np.log(np.sum(np.exp(z - zs[:, -1:]), axis=1))
            logp = z - lse[:, None]
            p = np.exp(logp)
            e = SAFETY * (np.sqrt(x.shape[-1]) + 4) * 2.0 ** -24 * np.max(
                np.abs(rows) @ np.abs(head).T, axis=1)
            shape = states.shape[:2]
            entropy = -np.sum(p * logp, axis=1)
            st.write(os.path.join(out, f"run.{case}.{lens}.safetensors"), {
                "logp": logp.reshape(shape + (head.shape[0],)),
                "top_id": np.argmax(z, axis=1).astype(np.int32).reshape(shape),
                "entropy": entropy.reshape(shape),
                "gap": (zs[:, -1] - zs[:, -2]).reshape(shape),
                "tol_p": (2 * e).reshape(shape),
                "tol_entropy": (2 * e * (entropy + 1)).reshape(shape)})
            cases += 1
    return cases


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__)
    out = os.path.join(data, "oracle", "patch_lens")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(16)
    head32 = (rng.standard_normal((V, D)) / np.sqrt(D)).astype(np.float32)
    head32[7] = head32[3]
    norm = (1 + 0.3 * rng.standard_normal(D)).astype(np.float32)
    # Some patches diffuse, some peaked (the scale of a state sets how sharp its distribution is).
    scale = np.geomspace(0.5, 40, P)[:, None, None] * rng.uniform(0.5, 1.5, (1, len(INDICES), 1))
    states = (scale * rng.standard_normal((P, len(INDICES), D))).astype(np.float32)
    for dtype in ("F32", "F16", "BF16"):
        head = stored(head32, dtype)
        s = states.copy()
        s[0, :, :] = (30 * head[3] / np.linalg.norm(head[3])).astype(np.float32)
        tensors = {"states": s, "norm": norm,
                   "indices": np.array(INDICES, np.int32), "words": np.array(WORDS, np.int32)}
        for lens in ("raw", "norm"):
            for name, a in expected(head, lens_rows(s, norm.astype(np.float64), lens)).items():
                tensors[f"{lens}.{name}"] = a
        path = os.path.join(out, f"{dtype}.safetensors")
        st.write(path, tensors, metadata={"eps": repr(EPS), "layers": str(L)})
        # The head in its own file, stored in its type.
        st.write(os.path.join(out, f"{dtype}.head.safetensors"), {"head": head32}, dtype=dtype)
    n_runs = run_oracles(data, out)
    print(f"oracle_patch_lens: 3 head types x 2 lenses, {P} patches x {len(INDICES)} indices, "
          f"vocabulary {V}; {n_runs} run-folder cases -> {out}")


if __name__ == "__main__":
    main()
