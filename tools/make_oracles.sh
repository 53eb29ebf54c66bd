#!/bin/sh
# Runs every reference oracle (tools/oracle_*.py) with Debian's Python; each writes what the C
# tests compare against into DATA_DIR/oracle/<name>/. usage: tools/make_oracles.sh DATA_DIR
set -eu
data=${1:?usage: tools/make_oracles.sh DATA_DIR}
for script in "$(dirname "$0")"/oracle_*.py; do
    [ -e "$script" ] || continue
    name=$(basename "$script" .py)
    /usr/bin/python3 "$script" "$data" || { echo "make_oracles: $name failed" >&2; exit 1; }
done
