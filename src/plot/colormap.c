// colormap.c — matplotlib's "Purples" and "tab20", from their published definitions.
//
// The colours are data, typed in from matplotlib's lib/matplotlib/_cm.py (_Purples_data, the
// 9-class sequential ColorBrewer scheme by Cynthia Brewer, colorbrewer2.org; _tab20_data, Vega's
// category20 scale), where every component is a byte divided by 255. The algorithms follow
// matplotlib's lib/matplotlib/colors.py: LinearSegmentedColormap.from_list places the anchors at
// linspace(0, 1, n) and _create_lookup_table samples the segments at linspace(0, 1, N) with
// N = rcParams["image.lut"] = 256; Colormap.__call__ maps x to entry floor(x * N).
#include "plot/colormap.h"

#include <math.h>
#include <string.h>

#include "base/error.h"

struct kevo_colormap {
    const char *name;
    const uint8_t (*colors)[3];   // anchors (interpolated) or the entries themselves (listed)
    int n_colors;
    int n_entries;                // N, the size of the lookup table
    int interpolated;
};

static const uint8_t purples[9][3] = {
    {0xfc, 0xfb, 0xfd}, {0xef, 0xed, 0xf5}, {0xda, 0xda, 0xeb}, {0xbc, 0xbd, 0xdc},
    {0x9e, 0x9a, 0xc8}, {0x80, 0x7d, 0xba}, {0x6a, 0x51, 0xa3}, {0x54, 0x27, 0x8f},
    {0x3f, 0x00, 0x7d},
};

static const uint8_t tab20[20][3] = {
    {0x1f, 0x77, 0xb4}, {0xae, 0xc7, 0xe8}, {0xff, 0x7f, 0x0e}, {0xff, 0xbb, 0x78},
    {0x2c, 0xa0, 0x2c}, {0x98, 0xdf, 0x8a}, {0xd6, 0x27, 0x28}, {0xff, 0x98, 0x96},
    {0x94, 0x67, 0xbd}, {0xc5, 0xb0, 0xd5}, {0x8c, 0x56, 0x4b}, {0xc4, 0x9c, 0x94},
    {0xe3, 0x77, 0xc2}, {0xf7, 0xb6, 0xd2}, {0x7f, 0x7f, 0x7f}, {0xc7, 0xc7, 0xc7},
    {0xbc, 0xbd, 0x22}, {0xdb, 0xdb, 0x8d}, {0x17, 0xbe, 0xcf}, {0x9e, 0xda, 0xe5},
};

static const kevo_colormap maps[] = {
    {"Purples", purples, 9, 256, 1},
    {"tab20", tab20, 20, 20, 0},
};

kevo_status kevo_colormap_find(const char *name, const kevo_colormap **out, kevo_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        if (name && strcmp(name, maps[i].name) == 0) {
            *out = &maps[i];
            return KEVO_OK;
        }
    return kevo_fail(err, KEVO_ERR_ARG, "unknown colour map '%s' (known: Purples, tab20)",
                     name ? name : "(null)");
}

static kevo_rgb color(const kevo_colormap *m, int k)
{
    return (kevo_rgb){m->colors[k][0] / 255.0, m->colors[k][1] / 255.0, m->colors[k][2] / 255.0};
}

// Entry `i` of the lookup table. For an interpolated map the ends are the end anchors and entry
// i is _create_lookup_table's value at xi = i / (N - 1): in the segment [x[k-1], x[k]] where x[k]
// is the first anchor >= xi (numpy's searchsorted), y[k-1] + distance * (y[k] - y[k-1]).
static kevo_rgb entry(const kevo_colormap *m, int i)
{
    if (!m->interpolated || i == 0)
        return color(m, i);
    if (i == m->n_entries - 1)
        return color(m, m->n_colors - 1);
    double xi = i * (1.0 / (m->n_entries - 1)), step = 1.0 / (m->n_colors - 1);
    int k = 1;
    while (k < m->n_colors - 1 && k * step < xi)
        k++;
    double distance = (xi - (k - 1) * step) / (k * step - (k - 1) * step);
    kevo_rgb lo = color(m, k - 1), hi = color(m, k);
    return (kevo_rgb){distance * (hi.r - lo.r) + lo.r, distance * (hi.g - lo.g) + lo.g,
                      distance * (hi.b - lo.b) + lo.b};
}

kevo_rgb kevo_colormap_at(const kevo_colormap *m, double x)
{
    int n = m->n_entries, i;
    if (!(x > 0))   // negative (the "under" colour is the first entry) or NaN
        i = 0;
    else if (x >= 1)
        i = n - 1;
    else
        i = (int)(x * n);   // truncation, as astype(int); x * n < n here
    return entry(m, i < n ? i : n - 1);
}

kevo_rgb kevo_colormap_spread(const kevo_colormap *m, int i, int n)
{
    // np.linspace(0, 1, n): i * (1 / (n - 1)), with the last value exactly 1.
    double x = n <= 1 ? 0 : i == n - 1 ? 1 : i * (1.0 / (n - 1));
    return kevo_colormap_at(m, x);
}

kevo_rgb kevo_rgb_hex(uint32_t rgb)
{
    return (kevo_rgb){((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0,
                      (rgb & 0xFF) / 255.0};
}

static double linear(double c)
{
    return c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

double kevo_rgb_luminance(kevo_rgb c)
{
    return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b);
}
