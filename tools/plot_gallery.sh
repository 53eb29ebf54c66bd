#!/bin/sh
# Renders every kind of kevo figure from synthetic data, plus the HTML report that gathers them,
# so that anyone can look at them (tools/plot_gallery.c holds the data).
#   usage: tools/plot_gallery.sh OUT_DIR [png|svg|pdf] [DPI]
set -eu
out=${1:?usage: tools/plot_gallery.sh OUT_DIR [png|svg|pdf] [DPI]}
format=${2:-png}
dpi=${3:-150}
root=$(cd "$(dirname "$0")/.." && pwd)
make -C "$root" --no-print-directory build/libkevo.a >/dev/null
mkdir -p "$out" "$root/build/tools"
cc -O2 -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE -I"$root/include" -I"$root/src" \
    "$root/tools/plot_gallery.c" "$root/build/libkevo.a" $(pkg-config --cflags --libs cairo) \
    -fopenmp -lm -o "$root/build/tools/plot_gallery"
"$root/build/tools/plot_gallery" "$out" "$format" "$dpi"
