// test_anyres.c — LLaVA-NeXT's image processor (src/image/anyres.h) against the numpy + Pillow
// re-statement of transformers' LlavaNextImageProcessor (tools/oracles/oracle_anyres.py):
// pixel_values bit for bit, layouts, select_best_resolution, image_grid_pinpoints reading,
// refused configs and sizes, and the patch-map geometry.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/anyres.h"
#include "image/image.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "test.h"

// $KEVO_DATA/oracle/anyres/rel, in one of 4 static buffers.
static const char *oracle(const char *rel)
{
    static char buf[4][2048];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s", kevo_test_data("oracle/anyres"));
    size_t n = strlen(b);
    snprintf(b + n, sizeof buf[0] - n, "/%s", rel);
    return b;
}

static const char *layout_names[11] = {"best_h", "best_w", "resized_w", "resized_h", "pad_x",
                                       "pad_y", "tile", "grid_rows", "grid_cols", "n_tiles",
                                       "base_side"};

static void layout_values(const kevo_anyres_layout *l, int v[11])
{
    int got[11] = {l->best_h, l->best_w, l->resized_w, l->resized_h, l->pad_x, l->pad_y, l->tile,
                   l->grid_rows, l->grid_cols, l->n_tiles, l->base_side};
    memcpy(v, got, sizeof got);
}

// One manifest case: layout equal, pixel_values bit-identical. Returns 1 when both hold.
static int check_case(const char *name, const char *image, const char *config, const char *want)
{
    kevo_error err;
    kevo_image_config cfg;
    kevo_image *img = NULL;
    kevo_safetensors *f = NULL;
    kevo_anyres_layout l;
    int ok = CHECK_OK(kevo_image_config_load(oracle(config), &cfg, &err), &err) &&
             CHECK_OK(kevo_image_load(oracle(image), &img, &err), &err) &&
             CHECK_OK(kevo_safetensors_open(oracle(want), &f, &err), &err) &&
             CHECK_OK(kevo_anyres_layout_compute(&cfg, img->width, img->height, &l, &err), &err);
    const kevo_tensor *tl = ok ? kevo_safetensors_find(f, "layout") : NULL;
    const kevo_tensor *tp = ok ? kevo_safetensors_find(f, "pixel_values") : NULL;
    ok = ok && CHECK(tl && tl->dtype == KEVO_DTYPE_I32 && tl->n_elems == 11 && tp &&
                     tp->dtype == KEVO_DTYPE_F32, "%s: bad oracle file", name);
    if (ok) {
        int v[11];
        layout_values(&l, v);
        const int32_t *w = tl->data;
        for (int i = 0; i < 11; i++)
            ok &= CHECK(v[i] == w[i], "%s: %s %d, transformers %d", name, layout_names[i], v[i],
                        w[i]);
        ok = ok && CHECK(tp->n_elems == kevo_anyres_floats(&l), "%s: %llu floats, kevo %zu",
                         name, (unsigned long long)tp->n_elems, kevo_anyres_floats(&l));
    }
    if (ok) {
        size_t n = kevo_anyres_floats(&l), bad = 0, first = 0;
        float *px = malloc(n * sizeof *px);
        ok = CHECK_OK(kevo_anyres_preprocess(img, &cfg, &l, px, &err), &err);
        const float *want_px = tp->data;
        double worst = 0;
        for (size_t i = 0; ok && i < n; i++)
            if (memcmp(&px[i], &want_px[i], sizeof *px)) {
                if (bad++ == 0)
                    first = i;
                worst = fmax(worst, fabs((double)px[i] - want_px[i]));
            }
        size_t plane = (size_t)l.tile * l.tile;
        ok = ok && CHECK(bad == 0, "%s: %zu of %zu floats differ (max %.3g); first: tile %zu "
                         "channel %zu y %zu x %zu: %.9g, transformers %.9g", name, bad, n, worst,
                         first / (3 * plane), first / plane % 3, first % plane / l.tile,
                         first % l.tile, px[first], want_px[first]);
        free(px);
    }
    kevo_safetensors_free(f);
    kevo_image_free(img);
    return ok;
}

KEVO_TEST(anyres_matches_transformers)
{
    const char *path = oracle("manifest.tsv");
    char *text = kevo_test_slurp(path, NULL);
    if (!CHECK(text != NULL, "missing %s (run tools/oracles/oracle_anyres.py)", path))
        return;
    int n = 0, passed = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[256], image[512], config[512], want[512];
        if (!CHECK(sscanf(line, "%255[^\t]\t%511[^\t]\t%511[^\t]\t%511s", name, image, config,
                          want) == 4, "bad manifest line: %s", line))
            break;
        n++;
        passed += check_case(name, image, config, want);
    }
    free(text);
    CHECK(n >= 24 && passed == n, "%d of %d cases passed", passed, n);
    printf("    %d images x configs: layouts equal, pixel_values bit-identical\n", passed);
}

// ---------------------------------------------------------------------------------------------

KEVO_TEST(anyres_select_best_resolution)
{
    // By hand: ties keep the first candidate; a covering candidate with less waste wins.
    static const int ties[2][2] = {{336, 672}, {672, 336}}, rev[2][2] = {{672, 336}, {336, 672}};
    static const int cover[2][2] = {{56, 56}, {112, 112}}, big[2][2] = {{112, 112}, {56, 56}};
    static const int tall[2][2] = {{112, 56}, {56, 112}};
    static const struct {
        const int (*pins)[2];
        int h, w, bh, bw;
    } hand[] = {
        {ties, 500, 500, 336, 672}, {rev, 500, 500, 672, 336}, {cover, 3, 3, 56, 56},
        {big, 1000, 1000, 112, 112}, {tall, 100, 30, 112, 56}, {tall, 30, 100, 56, 112},
    };
    for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
        int bh, bw;
        kevo_select_best_resolution(hand[i].pins, 2, hand[i].h, hand[i].w, &bh, &bw);
        CHECK(bh == hand[i].bh && bw == hand[i].bw, "%d x %d: (%d, %d), want (%d, %d)",
              hand[i].h, hand[i].w, bh, bw, hand[i].bh, hand[i].bw);
    }
    // The oracle's table (Python's loop on random and edge cases).
    const char *path = oracle("select.tsv");
    char *text = kevo_test_slurp(path, NULL);
    if (!CHECK(text != NULL, "missing %s", path))
        return;
    int rows = 0, same = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        int pins[16][2], h, w, n, used, bh, bw, want_h, want_w;
        char *p = line;
        if (!CHECK(sscanf(p, "%d %d %d%n", &h, &w, &n, &used) == 3 && n >= 1 && n <= 16,
                   "bad line %s", line))
            break;
        p += used;
        for (int i = 0; i < n; i++, p += used)
            sscanf(p, "%d %d%n", &pins[i][0], &pins[i][1], &used);
        sscanf(p, "%d %d", &want_h, &want_w);
        kevo_select_best_resolution((const int (*)[2])pins, n, h, w, &bh, &bw);
        rows++;
        same += CHECK(bh == want_h && bw == want_w, "%d x %d: (%d, %d), Python (%d, %d)", h, w,
                      bh, bw, want_h, want_w);
    }
    free(text);
    CHECK(rows > 200 && same == rows, "%d of %d rows agree", same, rows);
}

// ---------------------------------------------------------------------------------------------

// Loads a preprocessor_config.json made of the real config with image_grid_pinpoints replaced
// by `pins` (NULL: the key left out).
static kevo_status load_with(const char *pins, kevo_image_config *ic, kevo_error *err)
{
    char text[8192];
    int n = snprintf(text, sizeof text, "{\"crop_size\": {\"height\": 336, \"width\": 336}, "
                     "\"size\": {\"shortest_edge\": 336}%s%s}",
                     pins ? ", \"image_grid_pinpoints\": " : "", pins ? pins : "");
    kevo_test_write(kevo_test_tmp("preprocessor_config.json"), text, (size_t)n);
    return kevo_image_config_load(kevo_test_tmpdir(), ic, err);
}

KEVO_TEST(anyres_config_pinpoints)
{
    kevo_error err;
    kevo_image_config ic;
    if (CHECK_OK(kevo_image_config_load(oracle("configs/real"), &ic, &err), &err))
        CHECK(ic.n_grid_pinpoints == 5 && ic.grid_pinpoints[0][0] == 336 &&
                  ic.grid_pinpoints[0][1] == 672 && ic.grid_pinpoints[4][0] == 336 &&
                  ic.grid_pinpoints[4][1] == 1008, "real pinpoints read wrong (%d)",
              ic.n_grid_pinpoints);
    CHECK(load_with(NULL, &ic, &err) == KEVO_OK && ic.n_grid_pinpoints == 0, "absent: %s",
          err.msg);
    CHECK(load_with("null", &ic, &err) == KEVO_OK && ic.n_grid_pinpoints == 0, "null: %s",
          err.msg);
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"336", "list of [height, width]"},
        {"[]", "0 entries"},
        {"[[336, 672], 5]", "image_grid_pinpoints[1] is not"},
        {"[[336, 672, 336]]", "image_grid_pinpoints[0] is not"},
        {"[[336, 672], [336.5, 672]]", "image_grid_pinpoints[1][0]"},
        {"[[336, \"672\"]]", "image_grid_pinpoints[0][1]"},
        {"[[0, 336]]", "image_grid_pinpoints[0][0]"},
        {"[[-336, 336]]", "image_grid_pinpoints[0][0]"},
        {"[[336, 1e30]]", "image_grid_pinpoints[0][1]"},
        {"[[336, 672], [672, 350]]", "image_grid_pinpoints[1][1] = 350 (a width) is not a "
                                     "multiple of crop_size 336"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kevo_status st = load_with(bad[i].json, &ic, &err);
        CHECK(st == KEVO_ERR_CONFIG && kevo_test_contains(err.msg, bad[i].needle) &&
                  kevo_test_contains(err.msg, "preprocessor_config.json"),
              "%s: status %d, '%s' (want '%s')", bad[i].json, st, err.msg, bad[i].needle);
    }
    // More than KEVO_PINPOINTS_MAX entries; exactly that many are read.
    char many[4096] = "[";
    for (int i = 0; i < KEVO_PINPOINTS_MAX + 1; i++)
        strcat(many, i ? ", [336, 336]" : "[336, 336]");
    strcat(many, "]");
    CHECK(load_with(many, &ic, &err) == KEVO_ERR_CONFIG && kevo_test_contains(err.msg, "65 "
              "entries"), "65 pinpoints: %s", err.msg);
    many[strlen(many) - strlen(", [336, 336]]")] = 0;
    strcat(many, "]");
    CHECK(load_with(many, &ic, &err) == KEVO_OK && ic.n_grid_pinpoints == KEVO_PINPOINTS_MAX,
          "64 pinpoints: %s", err.msg);
}

// ---------------------------------------------------------------------------------------------

KEVO_TEST(anyres_refusals)
{
    kevo_error err;
    kevo_image_config base, cfg;
    kevo_anyres_layout l;
    if (!CHECK_OK(kevo_image_config_load(oracle("configs/tiny"), &base, &err), &err))
        return;
    static const struct {
        const char *what, *needle;
        int crop, shortest, resample, n;
    } bad[] = {
        {"crop != shortest_edge", "crop_size", 56, 64, 3, 5},
        {"bilinear", "resample 2", 56, 56, 2, 5},
        {"no pinpoints", "image_grid_pinpoints", 56, 56, 3, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg = base;
        cfg.crop_w = cfg.crop_h = bad[i].crop;
        cfg.shortest_edge = bad[i].shortest;
        cfg.resample = bad[i].resample;
        cfg.n_grid_pinpoints = bad[i].n;
        kevo_status st = kevo_anyres_layout_compute(&cfg, 100, 50, &l, &err);
        CHECK(st == KEVO_ERR_CONFIG && kevo_test_contains(err.msg, bad[i].needle), "%s: %d '%s'",
              bad[i].what, st, err.msg);
    }
    cfg = base;
    cfg.crop_w = 60;
    CHECK(kevo_anyres_layout_compute(&cfg, 100, 50, &l, &err) == KEVO_ERR_CONFIG &&
              kevo_test_contains(err.msg, "square crop_size"), "60 x 56 crop: %s", err.msg);
    cfg = base;
    cfg.grid_pinpoints[2][1] = 100;   // filled by hand, not through the config reader
    CHECK(kevo_anyres_layout_compute(&cfg, 100, 50, &l, &err) == KEVO_ERR_CONFIG &&
              kevo_test_contains(err.msg, "image_grid_pinpoints[2][1] = 100"), "%s", err.msg);
    // Hostile sizes: refused from the numbers, before any allocation.
    CHECK(kevo_anyres_layout_compute(&base, 0, 50, &l, &err) == KEVO_ERR_FORMAT, "0 x 50");
    CHECK(kevo_anyres_layout_compute(&base, 1 << 15, 1 << 14, &l, &err) == KEVO_ERR_FORMAT &&
              kevo_test_contains(err.msg, "2^28"), "2^29 pixels: %s", err.msg);
    cfg = base;
    cfg.n_grid_pinpoints = 1;
    cfg.grid_pinpoints[0][0] = cfg.grid_pinpoints[0][1] = 56 * 17;   // 289 tiles
    CHECK(kevo_anyres_layout_compute(&cfg, 1000, 1000, &l, &err) == KEVO_ERR_FORMAT &&
              kevo_test_contains(err.msg, "17 x 17 (289 tiles") &&
              kevo_test_contains(err.msg, "256 tiles"), "289 tiles: %s", err.msg);
    cfg.grid_pinpoints[0][0] = cfg.grid_pinpoints[0][1] = 56 * 16;   // 256 tiles: allowed
    CHECK_OK(kevo_anyres_layout_compute(&cfg, 1000, 1000, &l, &err), &err);
    CHECK(l.n_tiles == 257, "257 tiles, got %d", l.n_tiles);
    cfg = base;
    cfg.crop_w = cfg.crop_h = cfg.shortest_edge = 2048;
    cfg.n_grid_pinpoints = 1;
    cfg.grid_pinpoints[0][0] = 2048 * 4, cfg.grid_pinpoints[0][1] = 2048 * 2;   // 9 x 12.6M
    CHECK(kevo_anyres_layout_compute(&cfg, 100, 100, &l, &err) == KEVO_ERR_FORMAT &&
              kevo_test_contains(err.msg, "floats"), "9 tiles of 2048: %s", err.msg);
    // A layout used for another image.
    kevo_image *img;
    CHECK_OK(kevo_image_create(30, 20, &img, &err), &err);
    memset(img->rgb, 50, 30 * 20 * 3);
    CHECK_OK(kevo_anyres_layout_compute(&base, 20, 30, &l, &err), &err);
    float *px = malloc(kevo_anyres_floats(&l) * sizeof *px);
    CHECK(kevo_anyres_preprocess(img, &base, &l, px, &err) == KEVO_ERR_ARG &&
              kevo_test_contains(err.msg, "20 x 30"), "wrong layout: %s", err.msg);
    free(px);
    kevo_image_free(img);
}

// ---------------------------------------------------------------------------------------------

static int near(double a, double b)
{
    return fabs(a - b) < 1e-9;
}

static int rect_is(kevo_rect r, double x0, double y0, double x1, double y1)
{
    return near(r.x0, x0) && near(r.y0, y0) && near(r.x1, x1) && near(r.y1, y1);
}

KEVO_TEST(anyres_geometry)
{
    kevo_error err;
    kevo_image_config cfg;
    kevo_anyres_layout l;
    if (!CHECK_OK(kevo_image_config_load(oracle("configs/real"), &cfg, &err), &err) ||
        !CHECK_OK(kevo_anyres_layout_compute(&cfg, 57, 113, &l, &err), &err))
        return;
    // 57 x 113 on a 672 x 336 canvas: resized 170 x 336, pasted at x 251 (divmod(502, 2)).
    CHECK(l.resized_w == 170 && l.resized_h == 336 && l.pad_x == 251 && l.pad_y == 0 &&
              l.n_tiles == 3, "layout %d x %d at %d, %d tiles", l.resized_w, l.resized_h,
          l.pad_x, l.n_tiles);
    double s = 57.0 / 170;
    kevo_rect r;
    r = kevo_anyres_map_canvas(&l, (kevo_rect){0, 0, 672, 336});
    CHECK(rect_is(r, 0, 0, 57, 113), "whole canvas: %g %g %g %g", r.x0, r.y0, r.x1, r.y1);
    r = kevo_anyres_map_canvas(&l, (kevo_rect){251, 0, 421, 336});
    CHECK(rect_is(r, 0, 0, 57, 113), "pasted image: %g %g %g %g", r.x0, r.y0, r.x1, r.y1);
    r = kevo_anyres_map_tile(&l, 1, (kevo_rect){0, 0, 336, 336});
    CHECK(rect_is(r, 0, 0, s * 85, 113), "tile 1: %g %g %g %g", r.x0, r.y0, r.x1, r.y1);
    r = kevo_anyres_map_tile(&l, 2, (kevo_rect){0, 168, 14, 182});
    CHECK(rect_is(r, s * 85, 113.0 / 336 * 168, s * 99, 113.0 / 336 * 182),
          "tile 2 patch: %g %g %g %g", r.x0, r.y0, r.x1, r.y1);
    r = kevo_anyres_map_tile(&l, 1, (kevo_rect){0, 0, 14, 14});      // wholly in padding
    CHECK(r.x0 == r.x1 && r.x0 == 0, "padding left: %g %g", r.x0, r.x1);
    r = kevo_anyres_map_tile(&l, 2, (kevo_rect){322, 0, 336, 14});   // the right band
    CHECK(r.x0 == r.x1 && r.x0 == 57, "padding right: %g %g", r.x0, r.x1);
    r = kevo_anyres_map_tile(&l, 0, (kevo_rect){168, 0, 336, 14});   // the base tile
    CHECK(rect_is(r, 28.5, 0, 57, 113.0 / 336 * 14), "base: %g %g %g %g", r.x0, r.y0, r.x1, r.y1);
    r = kevo_anyres_map_tile(&l, 3, (kevo_rect){0, 0, 14, 14});
    CHECK(r.x0 == r.x1 && r.y0 == r.y1, "tile 3 of 3 is empty");
    // Row-major grid: a 2 x 2 layout's tile 3 is row 1, column 0.
    if (CHECK_OK(kevo_anyres_layout_compute(&cfg, 1100, 1000, &l, &err), &err)) {
        CHECK(l.grid_rows == 2 && l.grid_cols == 2 && l.pad_y == 30 && l.resized_h == 611,
              "1100 x 1000: %d x %d, pad %d, resized %d", l.grid_rows, l.grid_cols, l.pad_y,
              l.resized_h);
        r = kevo_anyres_map_tile(&l, 3, (kevo_rect){0, 0, 336, 336});
        CHECK(rect_is(r, 0, 1000.0 / 611 * 306, 1100.0 / 672 * 336, 1000),
              "tile 3: %g %g %g %g", r.x0, r.y0, r.x1, r.y1);
    }
}
