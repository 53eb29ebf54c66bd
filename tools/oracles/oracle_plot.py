#!/usr/bin/python3
"""Reference values for the figures: matplotlib's colour maps and Python's ".2g" formatting.

matplotlib is not installed here, so the colour maps are rebuilt from their published anchor
tables (lib/matplotlib/_cm.py: _Purples_data, the 9-class ColorBrewer "Purples" by Cynthia
Brewer; _tab20_data, Vega's category20) with numpy, following matplotlib's documented algorithm
(lib/matplotlib/colors.py):
  - LinearSegmentedColormap.from_list puts the anchors at linspace(0, 1, n) and builds an
    N = 256 entry lookup table by linear interpolation at linspace(0, 1, N) (np.interp here);
  - ListedColormap (tab20) uses its 20 colours as the table, N = 20;
  - Colormap.__call__(x) takes entry int(x * N), with x == 1 -> N - 1, x < 0 -> the "under"
    colour and x > 1 -> the "over" colour, which default to the first and last entries.
seaborn annotates heatmap cells with "{:.2g}".format(value), recorded here for the C printf.

Writes DATA_DIR/oracle/plot/reference.json:
  colormaps: {name: {"x": [...], "rgb": [[r, g, b], ...]}} at edge and interior points
  spread:    {name: {"n": [...], "rgb": [[[r, g, b] x n] ...]}} = cmap(linspace(0, 1, n))
  format_2g: {"values": [...], "text": [...]}

usage: /usr/bin/python3 tools/oracles/oracle_plot.py DATA_DIR
"""
import json
import math
import os
import sys

import numpy as np

PURPLES = ["#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3",
           "#54278f", "#3f007d"]
TAB20 = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
         "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7",
         "#bcbd22", "#dbdb8d", "#17becf", "#9edae5"]


def rgb(hexes):
    return np.array([[int(h[i:i + 2], 16) / 255.0 for i in (1, 3, 5)] for h in hexes])


def interpolated_lut(anchors, n=256):
    xs = np.linspace(0, 1, len(anchors))
    xi = np.linspace(0, 1, n)
    return np.stack([np.interp(xi, xs, anchors[:, c]) for c in range(3)], axis=1)


def call(lut, x):
    """Colormap.__call__ on float input (no bad values)."""
    n = len(lut)
    xa = np.array(x, dtype=np.float64) * n
    xa[xa < 0] = -1
    xa[xa == n] = n - 1
    xa = np.clip(xa, -1, n).astype(int)
    xa[xa > n - 1] = n - 1          # "over": the last entry
    xa[xa < 0] = 0                  # "under": the first entry
    return lut[xa]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: oracle_plot.py DATA_DIR")
    out_dir = os.path.join(sys.argv[1], "oracle", "plot")
    os.makedirs(out_dir, exist_ok=True)
    luts = {"Purples": interpolated_lut(rgb(PURPLES)), "tab20": rgb(TAB20)}
    rng = np.random.default_rng(0)
    x = np.concatenate([[0.0, 1.0, -0.5, -1e-12, 1e-12, 0.5, 1.5, 1e300, -1e300, 0.999999999,
                         1 / 256, 1 / 256 - 1e-15, 255 / 256, 0.05, 0.1, 1 / 3, 2 / 3],
                        (np.arange(256) + 0.5) / 256, rng.random(50)])
    ref = {"colormaps": {}, "spread": {}}
    for name, lut in luts.items():
        ref["colormaps"][name] = {"x": x.tolist(), "rgb": call(lut, x).tolist()}
        ns = list(range(1, 21)) + [33, 40]
        ref["spread"][name] = {"n": ns,
                               "rgb": [call(lut, np.linspace(0, 1, n)).tolist() for n in ns]}
    values = [0.0, -0.0, 1.0, 0.999, 0.995, 0.9949, 0.062, 0.0625, 0.12345, 5.1e-05, 1e-05,
              9.96e-05, 0.00027, 0.0001, 0.001, 0.00999, 12.5, 99.5, 100.0, 123456.0, -0.47,
              -5.1e-05, 1e-300, 3.5, 2.5, 0.25, 0.35, 1e16]
    values += [float(v) for v in rng.random(30)]
    values += [float(v) for v in 10.0 ** rng.uniform(-9, 3, 30)]
    ref["format_2g"] = {"values": values, "text": ["{:.2g}".format(v) for v in values]}
    for v in ref["format_2g"]["values"]:
        assert math.isfinite(v)
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(ref, f, indent=0)


if __name__ == "__main__":
    main()
