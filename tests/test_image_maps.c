// test_image_maps.c — plot/image_maps, read back as pixels: every cell painted over its own
// rectangle of the picture in the shared colour scale at the asked opacity, unpainted where the
// value is missing or the cell is empty, the picture itself everywhere else, band-coloured panel
// frames, legible labels on the labelled panel, and the refusals.
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plot/colormap.h"
#include "plot/layout.h"
#include "plot/plot.h"
#include "plot_pixels.h"
#include "test.h"

enum { W = 120, H = 80, GRID_R = 4, GRID_C = 6, CELLS = GRID_R * GRID_C, PANELS = 3 };

typedef struct fixture {
    unsigned char rgb[W * H * 3];
    double cells[CELLS * 4];
    double values[PANELS * CELLS];
    const char *titles[PANELS];
    int band[PANELS];
    kevo_band bands[2];
} fixture;

// A picture of two flat halves (grey left, teal right), a 4 x 6 grid of 20 x 20 cells, one
// empty cell, values rising over the cells of each panel, one missing value.
static kevo_image_maps make(fixture *f)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned char *p = f->rgb + 3 * (y * W + x);
            p[0] = x < W / 2 ? 128 : 0, p[1] = 128, p[2] = 128;
        }
    for (int c = 0; c < CELLS; c++) {
        double x = (c % GRID_C) * 20.0, y = (c / GRID_C) * 20.0;
        double r[4] = {x, y, x + 20, y + 20};
        memcpy(f->cells + 4 * c, r, sizeof r);
        for (int p = 0; p < PANELS; p++)
            f->values[p * CELLS + c] = (double)c / (CELLS - 1);
    }
    double empty[4] = {40, 80, 60, 80};   // cell 1: wholly outside (below) the picture
    memcpy(f->cells + 4 * 1, empty, sizeof empty);
    f->values[0 * CELLS + 7] = NAN;
    f->titles[0] = "layer 0", f->titles[1] = "layer 6", f->titles[2] = "layer 12";
    f->bands[0] = (kevo_band){0, 5, "rapid evolution", 0xe41a1c};
    f->bands[1] = (kevo_band){6, 12, "stabilisation", 0x377eb8};
    f->band[0] = 0, f->band[1] = 1, f->band[2] = -1;
    return (kevo_image_maps){.rgb = f->rgb, .width = W, .height = H, .cells = f->cells,
                             .n_cells = CELLS, .values = f->values, .n_panels = PANELS,
                             .panel_titles = f->titles, .panel_band = f->band,
                             .bands = f->bands, .n_bands = 2, .title = "p(red) on the patches",
                             .colorbar_label = "probability", .vmin = 0, .vmax = 1,
                             .alpha = 0.5};
}

static kevo_rgb blend(kevo_rgb over, double alpha, kevo_rgb under)
{
    return (kevo_rgb){alpha * over.r + (1 - alpha) * under.r,
                      alpha * over.g + (1 - alpha) * under.g,
                      alpha * over.b + (1 - alpha) * under.b};
}

KEVO_TEST(image_maps_cells_over_the_picture)
{
    fixture f;
    kevo_image_maps m = make(&f);
    kevo_figure_layout lay;
    kevo_error err;
    const double dpi = 144;
    kevo_figure_opts o = {KEVO_FIGURE_PNG, dpi};
    const kevo_colormap *purples;
    image im = {0};
    if (!CHECK_OK(kevo_colormap_find("Purples", &purples, &err), &err) ||
        !CHECK_OK(kevo_image_maps_layout(&m, &lay, &err), &err) ||
        !CHECK_OK(kevo_plot_image_maps(kevo_test_tmp("maps.png"), &o, &m, &err), &err) ||
        !image_load(&im, kevo_test_tmp("maps.png")))
        return;
    double s = lay.data.w / W;
    CHECK(fabs(lay.data.h / H - s) < 1e-9 && fabs(lay.data.w - 150) < 1e-9,
          "the panel is %g x %g points, not the picture at 150 points wide", lay.data.w,
          lay.data.h);
    kevo_rgb grey = {128 / 255.0, 128 / 255.0, 128 / 255.0}, teal = {0, 128 / 255.0, 128 / 255.0};
    for (int c = 0; c < CELLS; c++) {
        if (c == 1)
            continue;
        double cx = lay.data.x + (f.cells[4 * c] + 10) * s;
        double cy = lay.data.y + (f.cells[4 * c + 1] + 10) * s;
        kevo_rgb under = f.cells[4 * c] < W / 2 ? grey : teal;
        char what[64];
        snprintf(what, sizeof what, "panel 0, cell %d", c);
        kevo_rgb want = c == 7 ? under
                               : blend(kevo_colormap_at(purples, (double)c / (CELLS - 1)), 0.5,
                                       under);
        pixel_is(&im, dpi, cx, cy, want, 2, what);
    }
    // Cell 1 is empty: its place in the grid (the top row) shows the picture.
    pixel_is(&im, dpi, lay.data.x + 30 * s, lay.data.y + 10 * s, grey, 2, "under the empty cell");
    // Frames: panel 0 in band 0's colour, panel 1 in band 1's, panel 2 in the neutral frame.
    double panel_step = lay.data.w + 12;
    pixel_is(&im, dpi, lay.data.x + 40 * s, lay.data.y - 0.4, kevo_rgb_hex(0xe41a1c), 40,
             "panel 0's frame");
    pixel_is(&im, dpi, lay.data.x + panel_step + 40 * s, lay.data.y - 0.4,
             kevo_rgb_hex(0x377eb8), 40, "panel 1's frame");
    // Every panel shares the scale: the last cell is the map's top colour in each.
    for (int p = 0; p < PANELS; p++) {
        char what[32];
        snprintf(what, sizeof what, "panel %d's last cell", p);
        pixel_is(&im, dpi, lay.data.x + p * panel_step + 110 * s, lay.data.y + 70 * s,
                 blend(kevo_colormap_at(purples, 1), 0.5, teal), 2, what);
    }
    image_free(&im);
}

KEVO_TEST(image_maps_labelled_panel)
{
    fixture f;
    kevo_image_maps m = make(&f);
    const char *labels[CELLS];
    for (int c = 0; c < CELLS; c++)
        labels[c] = c == CELLS - 1 ? "red" : "";
    m.n_panels = 1, m.panel_titles = NULL, m.panel_band = NULL, m.n_bands = 0;
    m.cell_labels = labels, m.alpha = 1;
    kevo_figure_layout lay;
    kevo_error err;
    const double dpi = 144;
    kevo_figure_opts o = {KEVO_FIGURE_PNG, dpi};
    image im = {0};
    if (!CHECK_OK(kevo_image_maps_layout(&m, &lay, &err), &err) ||
        !CHECK_OK(kevo_plot_image_maps(kevo_test_tmp("labels.png"), &o, &m, &err), &err) ||
        !image_load(&im, kevo_test_tmp("labels.png")))
        return;
    double s = lay.data.w / W;
    CHECK(fabs(lay.data.w - 560) < 1e-9, "a single panel is %g points wide", lay.data.w);
    // The last cell is the darkest purple: its label is white; an unlabelled dark-ish cell
    // next to it has no white at all.
    kevo_box last = {lay.data.x + 100 * s, lay.data.y + 60 * s, 20 * s, 20 * s};
    kevo_box before = {lay.data.x + 80 * s, lay.data.y + 60 * s, 20 * s, 20 * s};
    CHECK(count_pixels(&im, dpi, last, (kevo_rgb){1, 1, 1}, 60) >= 10,
          "the last cell's label is not drawn in white");
    CHECK(count_pixels(&im, dpi, before, (kevo_rgb){1, 1, 1}, 60) == 0,
          "an unlabelled cell has white pixels");
    image_free(&im);
}

KEVO_TEST(image_maps_every_format)
{
    fixture f;
    kevo_image_maps m = make(&f);
    kevo_error err;
    const char *names[] = {"maps.svg", "maps.pdf"};
    for (int i = 0; i < 2; i++) {
        kevo_figure_opts o = {i ? KEVO_FIGURE_PDF : KEVO_FIGURE_SVG, 150};
        size_t n = 0;
        char *bytes = NULL;
        if (CHECK_OK(kevo_plot_image_maps(kevo_test_tmp(names[i]), &o, &m, &err), &err))
            bytes = kevo_test_slurp(kevo_test_tmp(names[i]), &n);
        CHECK(bytes && n > 1000 && !memcmp(bytes, i ? "%PDF" : "<?xml", i ? 4 : 5),
              "%s is not a %s file", names[i], i ? "PDF" : "SVG");
        free(bytes);
    }
}

// Each spoilt description is refused by name, and no file is left behind.
KEVO_TEST(image_maps_bad_input)
{
    const char *path = kevo_test_tmp("bad.png");
    for (int i = 0; i < 8; i++) {
        fixture f;
        kevo_image_maps m = make(&f);
        const char *want = NULL;
        switch (i) {
        case 0: m.rgb = NULL, want = "picture"; break;
        case 1: m.width = 0, want = "picture"; break;
        case 2: m.n_cells = 0, want = "cells"; break;
        case 3: f.cells[4 * 5 + 2] = f.cells[4 * 5] - 1, want = "cell 5 is not a rectangle"; break;
        case 4: f.cells[4 * 3 + 1] = NAN, want = "cell 3 is not a rectangle"; break;
        case 5: m.cell_labels = (const char *const[CELLS]){0}, want = "single panel"; break;
        case 6: m.alpha = 1.5, want = "opacity"; break;
        case 7: f.band[2] = 2, want = "panel 2 is in band 2"; break;
        }
        kevo_figure_opts o = {KEVO_FIGURE_PNG, 72};
        kevo_error err = {0};
        remove(path);
        CHECK(kevo_plot_image_maps(path, &o, &m, &err) == KEVO_ERR_ARG && strstr(err.msg, want) &&
                  strstr(err.msg, path) && access(path, F_OK) != 0,
              "case %d: %s (want \"%s\", no file)", i, err.msg, want);
    }
}
