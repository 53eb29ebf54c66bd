#!/usr/bin/python3
"""Image preprocessing speed: kevo against Pillow + numpy, file -> pixel_values.

usage: bench/preprocess.py [BUILD_DIR] [IMAGE...]
Default images: every seed image in ../shared/data/seed-images. For each image and mode (pad,
crop) both sides run the whole pipeline (decode, RGB, pad, resize, crop, rescale, normalise)
with llava-hf's 336-pixel CLIP config, best of 3; the Pillow side is tools/oracles/oracle_image.py's
reference pipeline (the one kevo is checked against), kevo's is build/bench/preprocess, run with
1 thread and with the default OpenMP thread count. Prints per-image times and the ratios of the
summed times (and the geometric mean of the per-image ratios).
"""
import glob
import json
import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "oracles"))
import oracle_image  # noqa: E402

REPEATS = 3


def time_pillow(path, cfg, mode):
    best = math.inf
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        oracle_image.preprocess(path, cfg, mode)
        best = min(best, time.perf_counter() - t0)
    return best


def time_kevo(binary, config_dir, images, threads):
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.run([binary, config_dir, str(REPEATS)] + images, env=env, check=True,
                         capture_output=True, text=True).stdout
    times = {}
    for line in out.splitlines():
        secs, mode, path = line.split(" ", 2)
        times[(path, mode)] = float(secs)
    return times


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    images = sys.argv[2:] or sorted(glob.glob(os.path.join(ROOT, "..", "shared", "data",
                                                           "seed-images", "*", "*.jpg")))
    binary = os.path.join(build, "bench", "preprocess")
    cfg = oracle_image.full_config("clip336")
    with tempfile.TemporaryDirectory() as config_dir:
        with open(os.path.join(config_dir, "preprocessor_config.json"), "w") as f:
            json.dump(oracle_image.CONFIGS["clip336"], f)
        kevo1 = time_kevo(binary, config_dir, images, 1)
        kevon = time_kevo(binary, config_dir, images, 0)
    threads = os.cpu_count()
    print(f"image preprocessing, file -> pixel_values [1, 3, 336, 336], best of {REPEATS}")
    print(f"{'image':28} {'size':>11} {'mode':4} {'pillow ms':>9} {'kevo-1 ms':>9} "
          f"{'kevo-N ms':>9} {'ratio-1':>7} {'ratio-N':>7}")
    total = {"pillow": 0.0, "k1": 0.0, "kn": 0.0}
    logs1, logsn = [], []
    from PIL import Image
    for path in images:
        with Image.open(path) as im:
            size = f"{im.size[0]}x{im.size[1]}"
        for mode in ("pad", "crop"):
            p = time_pillow(path, cfg, mode)
            k1, kn = kevo1[(path, mode)], kevon[(path, mode)]
            total["pillow"] += p
            total["k1"] += k1
            total["kn"] += kn
            logs1.append(math.log(p / k1))
            logsn.append(math.log(p / kn))
            print(f"{os.path.basename(path):28} {size:>11} {mode:4} {p * 1e3:9.2f} "
                  f"{k1 * 1e3:9.2f} {kn * 1e3:9.2f} {p / k1:7.2f} {p / kn:7.2f}")
    print(f"total: Pillow+numpy {total['pillow']:.3f} s, kevo 1 thread {total['k1']:.3f} s, "
          f"kevo {threads} threads {total['kn']:.3f} s")
    print(f"ratio (Pillow time / kevo time), summed: {total['pillow'] / total['k1']:.2f}x with 1 "
          f"thread, {total['pillow'] / total['kn']:.2f}x with {threads} threads; geometric mean "
          f"per image: {math.exp(sum(logs1) / len(logs1)):.2f}x / "
          f"{math.exp(sum(logsn) / len(logsn)):.2f}x")


if __name__ == "__main__":
    main()
