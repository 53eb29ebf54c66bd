#!/usr/bin/python3
"""What `kevo batch` spends per item beyond the model's own work (docs/datasets.md, "Overhead").

Runs a manifest of N items (the demo's twelve flowers, repeated under distinct ids) through
`kevo batch` with the demo model and splits the wall time:

  model    the runs' own work as each run.json times it (vision tower, prefill, decode),
  item     the rest of each item's time in the batch loop (summary.csv's seconds minus model):
           image decoding and preprocessing, the prompt, writing and fsync'ing the run folder,
  batch    everything else: process start, the model's identity and loading, every item's
           image digest and resume check, item.json, the summary and the progress line.

The peer is the model's own work: the ratios are item / model and batch / model.
usage: bench/batch_overhead.py [N] [extra kevo batch options...]   (from the repository root)
"""
import csv, json, os, shutil, subprocess, sys, tempfile, time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 96
extra = sys.argv[2:]
tmp = tempfile.mkdtemp(prefix="kevo-batch-bench-")
root = os.getcwd()
with open(os.path.join(tmp, "m.jsonl"), "w") as f:
    for i in range(n):
        img = f"{root}/examples/flower/flower{i % 12 + 1:02d}.png"
        f.write(json.dumps({"id": f"item{i:05d}", "image": img,
                            "question": "What is the color of the flower?"}) + "\n")
out = os.path.join(tmp, "out")
cmd = ["build/kevo", "batch", "-q", "-m", "models/demo", "--threads", "1",
       "--manifest", os.path.join(tmp, "m.jsonl"), "-o", out] + extra
t0 = time.monotonic()
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
wall = time.monotonic() - t0
model = item = load = 0.0
rows = list(csv.DictReader(open(os.path.join(out, "summary.csv"))))
for r in rows:
    t = json.load(open(os.path.join(r["run_folder"], "run.json")))["timings"]
    own = t["vision_s"] + t["prefill_s"] + t["decode_s"]
    model += own
    item += float(r["seconds"]) - own
    load = t["load_s"]
batch = wall - model - item
print(f"{n} items, {' '.join(extra) or 'default options'}: wall {wall:.2f} s, model load "
      f"{load:.3f} s")
print(f"  model's own work   {model:8.3f} s   {1e3 * model / n:7.2f} ms an item")
print(f"  item besides it    {item:8.3f} s   {1e3 * item / n:7.2f} ms an item   "
      f"{100 * item / model:6.2f} % of the model's work")
print(f"  batch bookkeeping  {batch:8.3f} s   {1e3 * batch / n:7.2f} ms an item   "
      f"{100 * batch / model:6.2f} % of the model's work")
shutil.rmtree(tmp)
