#!/bin/sh
# Runs every benchmark: bench/*.py and bench/*.sh (which drive their own binaries from
# BUILD_DIR/bench/), then each C benchmark binary that has no such driver.
# usage: tools/run_benches.sh BUILD_DIR
set -eu
build=${1:?usage: tools/run_benches.sh BUILD_DIR}
for script in bench/*.py bench/*.sh; do
    [ -e "$script" ] || continue
    case "$script" in
        *.py) /usr/bin/python3 "$script" "$build" ;;
        *.sh) sh "$script" "$build" ;;
    esac
done
for bin in "$build"/bench/*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    name=$(basename "$bin")
    [ -e "bench/$name.py" ] || [ -e "bench/$name.sh" ] || "$bin"
done
