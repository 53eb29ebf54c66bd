#!/bin/sh
# Runs every benchmark script (bench/*.py, bench/*.sh) with Debian's Python; each prints its
# ratios against a peer. usage: tools/run_benches.sh BUILD_DIR
set -eu
build=${1:-build}
for script in "$(dirname "$0")"/../bench/*.py "$(dirname "$0")"/../bench/*.sh; do
    [ -e "$script" ] || continue
    case "$script" in
        *.py) /usr/bin/python3 "$script" "$build" ;;
        *.sh) sh "$script" "$build" ;;
    esac
done
