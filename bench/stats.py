#!/usr/bin/python3
"""bench/stats.py — `kevo stats` over 1,000 to 10,000 run folders, against its numpy reference
(tools/oracles/oracle_stats.py, which reads the same folders and computes the same numbers).

usage: /usr/bin/python3 bench/stats.py [BUILD_DIR] [--work DIR] [--sizes 1,5,10] [--words 20]
                                      [--layers 32] [--no-oracle]

Writes ten batch folders of 1,000 synthetic analysed run folders each into --work (default
BUILD_DIR/bench-stats; tools/fixtures/make_synthetic_runs.py: run.json, analysis/stages.json,
analysis/divergence.csv, item.json; --layers 32 as LLaVA-1.5-7B, answers of 4..4+--words words;
made once and reused), then for each size (thousands of runs) times
  kevo:   `kevo stats s0 .. s(k-1) -o OUT` as a subprocess (reading, counting, tables, figures,
          report), its peak resident memory (GNU time's %M);
  numpy:  the oracle's write_expected on the same folders, in this process.
Printed: runs, tokens, both wall times, kevo's time per run and its peak memory, the ratio.
The first run of a size reads the folders from disk, later ones from the page cache; the best of
two runs is printed, so both programs are timed on cached files.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "oracles"))
import oracle_stats  # noqa: E402

MAKER = os.path.join(HERE, "..", "tools", "fixtures", "make_synthetic_runs.py")
SHARD = 1000


def make_shards(work, n, words, layers):
    for k in range(n):
        d = os.path.join(work, f"s{k}")
        if os.path.isdir(d) and len(os.listdir(d)) == SHARD:
            continue
        t = time.time()
        subprocess.run([sys.executable, MAKER, d, str(SHARD), "--start", str(k * SHARD),
                        "--layers", str(layers), "--words", str(words)], check=True)
        print(f"  made {d} in {time.time() - t:.1f} s", flush=True)


def time_kevo(kevo, dirs, out):
    """Best wall time of two runs, kevo's own peak resident memory (GNU time's %M), stdout."""
    best, rss, text = None, 0.0, ""
    for _ in range(2):
        t = time.time()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", kevo, "stats", *dirs, "-o", out],
                           check=True, capture_output=True, text=True)
        dt = time.time() - t
        best = dt if best is None else min(best, dt)
        text = p.stdout
        rss = max(rss, int(p.stderr.strip().splitlines()[-1]) / 1024)
    return best, rss, text


def time_oracle(dirs, out):
    best = None
    for _ in range(2):
        t = time.time()
        oracle_stats.write_expected(out, dirs, [])
        dt = time.time() - t
        best = dt if best is None else min(best, dt)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--work")
    ap.add_argument("--sizes", default="1,5,10")
    ap.add_argument("--words", type=int, default=20)
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--no-oracle", action="store_true")
    a = ap.parse_args()
    kevo = os.path.join(a.build, "kevo")
    work = a.work or os.path.join(a.build, "bench-stats")
    sizes = [int(s) for s in a.sizes.split(",")]
    make_shards(work, max(sizes), a.words, a.layers)
    print(f"{'runs':>7} {'tokens':>9} {'kevo s':>8} {'ms/run':>7} {'peak MiB':>9} "
          f"{'numpy s':>8} {'numpy/kevo':>10}")
    for k in sizes:
        dirs = [os.path.join(work, f"s{i}") for i in range(k)]
        t, rss, text = time_kevo(kevo, dirs, os.path.join(work, f"out-{k}"))
        tokens = text.split("(")[1].split(" ")[0] if "(" in text else "?"
        o = None if a.no_oracle else time_oracle(dirs, os.path.join(work, f"oracle-{k}"))
        print(f"{k * SHARD:>7} {tokens:>9} {t:>8.2f} {1000 * t / (k * SHARD):>7.3f} "
              f"{rss:>9.1f} {o if o is not None else float('nan'):>8.2f} "
              f"{(o / t) if o else float('nan'):>10.1f}", flush=True)


if __name__ == "__main__":
    main()
