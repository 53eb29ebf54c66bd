// colormap.h — the colour maps of the figures, reproducing matplotlib's exactly.
//
// A map turns x in [0, 1] into a colour the way matplotlib's Colormap.__call__ does: it picks
// entry floor(x * N) of an N-entry lookup table (x = 1 takes the last entry, values outside
// [0, 1] take the end colours). "Purples" is a 256-entry table interpolated linearly between
// ColorBrewer's nine anchors; "tab20" is Vega's 20 categorical colours.
#ifndef KEVO_PLOT_COLORMAP_H
#define KEVO_PLOT_COLORMAP_H

#include <stdint.h>

#include "kevo.h"

typedef struct kevo_rgb {
    double r, g, b;   // 0..1
} kevo_rgb;

typedef struct kevo_colormap kevo_colormap;

// The map called `name` ("Purples", "tab20"); an unknown name is a KEVO_ERR_ARG that lists the
// known ones. The map is static: never freed.
kevo_status kevo_colormap_find(const char *name, const kevo_colormap **out, kevo_error *err);

// matplotlib's cmap(x). NaN is not a colour: callers draw missing values themselves (NaN gives
// the colour of 0 here).
kevo_rgb kevo_colormap_at(const kevo_colormap *m, double x);

// The i-th of n colours sampled evenly across the map: matplotlib's cmap(np.linspace(0, 1, n))[i].
kevo_rgb kevo_colormap_spread(const kevo_colormap *m, int i, int n);

kevo_rgb kevo_rgb_hex(uint32_t rgb);   // 0xRRGGBB

// WCAG relative luminance (0 black .. 1 white), which seaborn uses to pick a text colour that
// stays readable on a cell (seaborn/utils.py, relative_luminance).
double kevo_rgb_luminance(kevo_rgb c);

#endif
