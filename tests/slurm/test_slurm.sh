#!/usr/bin/env bash
# make test-slurm: a manifest of the demo model's example images, run as a 3-task Slurm job
# array (examples/slurm/kevo-array.sbatch, unchanged) on a one-node cluster this script brings
# up on localhost (tools/slurm/local_cluster.sh), with one task cancelled mid-way and run again;
# the merged folder must equal an unsharded batch of the same manifest, run for run, and so
# must `kevo stats` of both. Then the same with GNU parallel over the shards.
set -euo pipefail
cd "$(dirname "$0")/../.."
KEVO=$PWD/build/kevo
MODEL=$PWD/models/demo
tmp=$(mktemp -d /tmp/kevo-slurm.XXXXXX)
cluster=$tmp/cluster
cleanup() { tools/slurm/local_cluster.sh stop "$cluster" || true; }
trap cleanup EXIT
fail() { echo "test-slurm: FAIL: $*" >&2; echo "files kept in $tmp" >&2; exit 1; }

# The manifest: every example image three times over (48 items, 16 per task), the colour
# questions with their answers as references, the descriptions with theirs.
manifest=$tmp/data/items.jsonl
mkdir -p "$tmp/data"
for copy in a b c; do
    for set in flower describe; do
        python3 - "$PWD/examples/$set" "$copy" >> "$manifest" <<'PY'
import json, os, sys
folder, copy = sys.argv[1], sys.argv[2]
for line in open(os.path.join(folder, "questions.jsonl")):
    q = json.loads(line)
    stem = os.path.splitext(q["image"])[0]
    print(json.dumps({"id": f"{stem}-{copy}", "image": os.path.join(folder, q["image"]),
                      "question": q["question"], "references": [q["answer"]]}))
PY
    done
done
n_items=$(wc -l < "$manifest")
batch=(batch -m "$MODEL" --manifest "$manifest" --no-hidden -q)

echo "test-slurm: $n_items items, unsharded reference batch"
"$KEVO" "${batch[@]}" -o "$tmp/reference" > "$tmp/reference.log"

eval "$(tools/slurm/local_cluster.sh start "$cluster")"
export SLURM_CONF
out=$tmp/sharded
job=$(sbatch --parsable --array=0-2 --cpus-per-task=1 --mem=1G --output="$tmp/task-%a.log" \
      --export=ALL,KEVO="$KEVO",MODEL="$MODEL",MANIFEST="$manifest",OUT="$out" \
      examples/slurm/kevo-array.sbatch)
echo "test-slurm: job array $job submitted"

# Cancel task 1 once it has finished two of its items (at most 120 s), mid-way through its 16.
done_items() { find "$out" -mindepth 2 -maxdepth 2 -name run.json 2>/dev/null | wc -l; }
task1_items() {
    python3 - "$manifest" "$out" <<'PY'
import json, os, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
print(sum(os.path.exists(os.path.join(sys.argv[2], i, "run.json")) for i in ids[1::3]))
PY
}
for _ in $(seq 600); do
    [ "$(task1_items)" -ge 2 ] && break
    sleep 0.2
done
scancel "${job}_1"
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do sleep 0.5; done
left=$(( n_items / 3 - $(task1_items) ))
[ "$left" -gt 0 ] || fail "task 1 finished before it was cancelled (machine too fast for this test)"
echo "test-slurm: task 1 cancelled with $left of its items left; $(done_items) of $n_items done"

# Task 1 again, as an array of one: the total comes from SHARDS.
sbatch --wait --array=1 --cpus-per-task=1 --mem=1G --output="$tmp/task-1-again.log" \
    --export=ALL,KEVO="$KEVO",MODEL="$MODEL",MANIFEST="$manifest",OUT="$out",SHARDS=3 \
    examples/slurm/kevo-array.sbatch > /dev/null || fail "the rerun of task 1 failed"
grep -q reused "$tmp/task-1-again.log" "$out"/summary.shard-1-of-3.csv ||
    fail "the rerun of task 1 reused none of its finished items"
python3 tests/slurm/same_runs.py "$tmp/reference" "$out" || fail "sharded runs differ"

"$KEVO" stats "$tmp/reference" -o "$tmp/stats-reference" > /dev/null
"$KEVO" stats "$out" -o "$tmp/stats-sharded" > /dev/null
# Equal but for the run folders' paths, which name the two output folders.
for f in "$tmp/stats-reference"/*.csv "$tmp/stats-reference"/*.json; do
    name=$(basename "$f")
    cmp -s <(sed "s|$tmp/reference|OUT|g" "$f") <(sed "s|$out|OUT|g" "$tmp/stats-sharded/$name") ||
        fail "kevo stats: $name differs"
done
echo "test-slurm: Slurm job array equals the unsharded batch (runs and statistics)"

if command -v parallel > /dev/null; then
    parallel --halt now,fail=1 "$KEVO" "${batch[@]}" -o "$tmp/parallel" --shard {}/3 ::: 0 1 2
    python3 tests/slurm/same_runs.py "$tmp/reference" "$tmp/parallel" || fail "GNU parallel runs differ"
    echo "test-slurm: GNU parallel over 3 shards equals the unsharded batch"
fi
cleanup
rm -rf "$tmp"
echo "test-slurm: passed"
