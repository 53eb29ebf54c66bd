// test_qwen_image.c — Qwen2-VL's image processor (src/image/qwen2vl.c) against
// tools/pylib/qwen2vl_image.py (numpy and Pillow re-stating image_processing_qwen2_vl.py),
// written by tools/oracles/oracle_qwen_image.py: smart_resize on a table of sizes, bounds and
// factors (refusals included), and pixel_values bit-identical on 24 pictures under two configs.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/qwen2vl.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "test.h"

#define ORACLE "oracle/qwen_image"

KEVO_TEST(qwen_image_smart_resize_matches_transformers)
{
    FILE *f = fopen(kevo_test_data(ORACLE "/smart_resize.tsv"), "r");
    if (!CHECK(f != NULL, "no %s/smart_resize.tsv", ORACLE))
        return;
    char line[256], want[64];
    int n = 0, refused = 0;
    long h, w, factor, lo, hi;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%ld %ld %ld %ld %ld %63[^\n]", &h, &w, &factor, &lo, &hi, want) != 6)
            continue;
        n++;
        int rh = 0, rw = 0;
        kevo_error err;
        kevo_status st = kevo_smart_resize((int)h, (int)w, (int)factor, lo, hi, &rh, &rw, &err);
        if (!strcmp(want, "error")) {
            refused++;
            CHECK(st == KEVO_ERR_ARG && kevo_test_contains(err.msg, "aspect ratio"),
                  "%ld x %ld: accepted as %d x %d, transformers refuses", h, w, rh, rw);
            continue;
        }
        long wh, ww;
        sscanf(want, "%ld %ld", &wh, &ww);
        CHECK(st == KEVO_OK && rh == wh && rw == ww, "%ld x %ld (factor %ld, %ld..%ld): kevo %d "
              "x %d, transformers %ld x %ld", h, w, factor, lo, hi, rh, rw, wh, ww);
    }
    fclose(f);
    CHECK(n >= 40 && refused > 0, "%d sizes, %d refused", n, refused);
}

static void compare(const char *config, const char *name)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s%s/%s", kevo_test_data(""), ORACLE, config);
    kevo_error err;
    kevo_image_config ic;
    kevo_image *img = NULL;
    kevo_safetensors *f = NULL;
    float *px = NULL;
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    if (CHECK_OK(kevo_image_config_load(dir, &ic, &err), &err) &&
        CHECK_OK(kevo_image_load(path, &img, &err), &err) &&
        (snprintf(path, sizeof path, "%s/%s.safetensors", dir, name),
         CHECK_OK(kevo_safetensors_open(path, &f, &err), &err))) {
        const kevo_tensor *want = kevo_safetensors_find(f, "pixel_values");
        const kevo_tensor *grid = kevo_safetensors_find(f, "grid");
        kevo_qwen2vl_grid g;
        if (CHECK(want && grid, "%s: no pixel_values or grid", path) &&
            CHECK_OK(kevo_qwen2vl_grid_compute(&ic, img->width, img->height, &g, &err), &err)) {
            const int64_t *thw = grid->data;
            CHECK(g.t == thw[0] && g.h == thw[1] && g.w == thw[2] &&
                      (size_t)g.n_patches * g.row_floats == want->n_elems,
                  "%s/%s: grid %d x %d x %d, transformers %lld x %lld x %lld", config, name,
                  g.t, g.h, g.w, (long long)thw[0], (long long)thw[1], (long long)thw[2]);
            px = malloc(want->n_bytes);
            if (px && (size_t)g.n_patches * g.row_floats == want->n_elems &&
                CHECK_OK(kevo_qwen2vl_preprocess(img, &ic, &g, px, &err), &err))
                CHECK(!memcmp(px, want->data, want->n_bytes), "%s/%s: pixel_values differ from "
                      "the reference's", config, name);
        }
    }
    free(px);
    kevo_safetensors_free(f);
    kevo_image_free(img);
}

KEVO_TEST(qwen_image_pixel_values_match_pillow)
{
    static const char *const cases[] = {"tiny", "ten", "big", "huge", "odd", "odd-tall",
                                        "exact", "half1", "half2", "slim", "landscape",
                                        "portrait"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        compare("default", cases[i]);
        compare("small", cases[i]);
    }
}

// What kevo does not implement, and images it cannot place, are refused with the reason.
KEVO_TEST(qwen_image_refusals)
{
    kevo_error err;
    kevo_image_config ic;
    if (!CHECK_OK(kevo_image_config_load(kevo_test_data(ORACLE "/small"), &ic, &err), &err))
        return;
    kevo_qwen2vl_grid g;
    kevo_image_config bad = ic;
    bad.resample = 2;
    CHECK(kevo_qwen2vl_grid_compute(&bad, 100, 100, &g, &err) == KEVO_ERR_CONFIG &&
              kevo_test_contains(err.msg, "resample 2"), "resample: %s", err.msg);
    bad = ic;
    bad.do_resize = 0;
    CHECK(kevo_qwen2vl_grid_compute(&bad, 100, 100, &g, &err) == KEVO_ERR_CONFIG &&
              kevo_test_contains(err.msg, "do_resize"), "do_resize: %s", err.msg);
    bad = ic;
    bad.merge_size = 0;
    CHECK(kevo_qwen2vl_grid_compute(&bad, 100, 100, &g, &err) == KEVO_ERR_CONFIG,
          "no merge_size: %s", err.msg);
    CHECK(kevo_qwen2vl_grid_compute(&ic, 3000, 10, &g, &err) == KEVO_ERR_ARG &&
              kevo_test_contains(err.msg, "aspect ratio of 300.0"), "aspect: %s", err.msg);
    CHECK(kevo_qwen2vl_grid_compute(&ic, 0, 10, &g, &err) == KEVO_ERR_ARG, "empty: %s",
          err.msg);
    CHECK(kevo_qwen2vl_grid_compute(&ic, 1 << 17, 1 << 17, &g, &err) == KEVO_ERR_ARG,
          "huge: %s", err.msg);
    bad = ic;
    bad.max_pixels = 1 << 30, bad.min_pixels = 1 << 29;
    CHECK(kevo_qwen2vl_grid_compute(&bad, 60000, 60000, &g, &err) == KEVO_ERR_ARG &&
              kevo_test_contains(err.msg, "patches, more than"), "too many patches: %s",
          err.msg);
}
