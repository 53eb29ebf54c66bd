#!/bin/sh
# Runs every reference oracle (tools/oracles/oracle_*.py) with Debian's Python; each writes what the
# C tests compare against into DATA_DIR/oracle/<name>/. The engine oracle runs first: the analysis
# oracle reads the run folders it writes. usage: tools/oracles/make_oracles.sh DATA_DIR
set -eu
data=${1:?usage: tools/oracles/make_oracles.sh DATA_DIR}
dir=$(dirname "$0")
for script in "$dir/oracle_engine.py" $(ls "$dir"/oracle_*.py | grep -v '/oracle_engine\.py$'); do
    name=$(basename "$script" .py)
    /usr/bin/python3 "$script" "$data" || { echo "make_oracles: $name failed" >&2; exit 1; }
done
