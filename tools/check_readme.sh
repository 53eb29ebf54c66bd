#!/bin/sh
# Runs README.md's example block (the first ```sh block after the line "Examples, runnable") in a
# scratch folder that sees the repository's models and examples and the kevo binary under test as
# build/kevo, so that the README's commands are tested exactly as written.
# usage: tools/check_readme.sh README.md KEVO_BIN SCRATCH_DIR
set -eu
readme=${1:?usage: tools/check_readme.sh README.md KEVO_BIN SCRATCH_DIR}
bin=${2:?kevo binary}
dir=${3:?scratch folder}
root=$(cd "$(dirname "$readme")" && pwd)
rm -rf "$dir"
mkdir -p "$dir"
ln -s "$(cd "$(dirname "$bin")" && pwd)" "$dir/build"
ln -s "$root/models" "$dir/models"
ln -s "$root/examples" "$dir/examples"
awk '/^Examples, runnable/ { found = 1 }
     found && /^```sh/ { inside = 1; next }
     inside && /^```/ { exit }
     inside' "$readme" > "$dir/examples.sh"
[ -s "$dir/examples.sh" ] || { echo "check_readme: no example block in $readme" >&2; exit 1; }
cd "$dir" && sh -eux examples.sh
