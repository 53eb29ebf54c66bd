#!/bin/sh
# Checks that src/ is the tree docs/architecture.md describes: every folder of src/ is listed in
# its table of rooms, every `#include "dir/..."` of a file in src/X/ names a room that X's row
# allows (kevo.h, the public header, is allowed everywhere), and no file of src/ is longer than
# the limit the document states. Prints every violation; exits 1 if there is one.
# usage: tools/check_layers.sh [REPO_ROOT]
set -eu
root=${1:-.}
doc="$root/docs/architecture.md"
[ -f "$doc" ] || { echo "check_layers: $doc is missing" >&2; exit 1; }
# Table rows look like: | `model/` | base, kernels, io | what it does |
rules=$(awk -F'|' '/^\| `[a-z]+\/` \|/ {
            gsub(/[` \/]/, "", $2); gsub(/ /, "", $3); print $2 ":" $3 }' "$doc")
limit=$(sed -n 's/.*No file of `src\/` is longer than \([0-9][0-9]*\) lines.*/\1/p' "$doc")
[ -n "$rules" ] || { echo "check_layers: no table of rooms in $doc" >&2; exit 1; }
[ -n "$limit" ] || { echo "check_layers: no line limit stated in $doc" >&2; exit 1; }
bad=0
for dir in "$root"/src/*/; do
    room=$(basename "$dir")
    allowed=$(printf '%s\n' "$rules" | sed -n "s/^$room://p")
    if ! printf '%s\n' "$rules" | grep -q "^$room:"; then
        echo "src/$room/: not a room of docs/architecture.md"; bad=1; continue
    fi
    for f in "$dir"*.c "$dir"*.h; do
        [ -e "$f" ] || continue
        n=$(wc -l < "$f")
        [ "$n" -le "$limit" ] || { echo "src/$room/$(basename "$f"): $n lines (limit $limit)"; bad=1; }
        for inc in $(sed -n 's/^#include "\([a-z_0-9]*\)\/.*/\1/p' "$f" | sort -u); do
            [ "$inc" = "$room" ] && continue
            case ",$allowed," in
            *",$inc,"*) ;;
            *) echo "src/$room/$(basename "$f"): includes $inc/ (src/$room/ may include: ${allowed:-nothing})"; bad=1 ;;
            esac
        done
    done
done
exit $bad
