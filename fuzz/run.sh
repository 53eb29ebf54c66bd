#!/usr/bin/env bash
# Runs libFuzzer targets one after another (make fuzz; docs/fuzzing.md).
#   fuzz/run.sh BUILD_DIR SECONDS "LIBFUZZER ARGS" TARGET...
# Each target TARGET starts from BUILD_DIR/seeds/TARGET (fuzz/make_corpora.py), with the dictionary
# BUILD_DIR/seeds/TARGET.dict when there is one, and keeps what it finds in BUILD_DIR/corpus/TARGET
# (kept between runs); inputs that fail go to BUILD_DIR/crashes/.
# Prints executions and coverage per target; exits 1 when any target crashed, leaked, timed out,
# ran out of memory or allocated over the limit (every such input is listed).
set -uo pipefail
build=$1 seconds=$2 args=$3
shift 3
mkdir -p "$build/crashes" "$build/logs"
# One OpenMP thread: the loaders do not need more, and libFuzzer measures one thread best.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
printf '%-22s %10s %8s %8s %8s  %s\n' target execs cov ft corpus result
for t in "$@"; do
    bin=$build/$t seeds=$build/seeds/$t corpus=$build/corpus/$t log=$build/logs/$t.log
    mkdir -p "$corpus" "$seeds"
    dict=()
    [ -f "$seeds.dict" ] && dict=(-dict="$seeds.dict")
    # shellcheck disable=SC2086
    "$bin" $args "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$build/crashes/$t-" "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
    done_line=$(grep -aE '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse)' "$log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
    result=ok
    if [ $rc -ne 0 ]; then
        result="FAILED (exit $rc, see $log)"
        failed+=("$t")
    fi
    printf '%-22s %10s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "$result"
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: failed: ${failed[*]}" >&2
    for t in "${failed[@]}"; do
        grep -aE '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' \
            "$build/logs/$t.log" | head -5 >&2
    done
    exit 1
fi
