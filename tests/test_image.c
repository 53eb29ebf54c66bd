// test_image.c — decoding and preprocessing against Pillow + numpy (tools/oracles/oracle_image.py),
// hostile files, the peak memory of a 6720 x 4480 JPEG, and `kevo preprocess`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "image/image.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "image/preprocess.h"
#include "test.h"

// One line of oracle/image/manifest.tsv.
typedef struct oracle_case {
    char name[256], image[1024], config[1024], expected[1024];
    int has_rgb;
} oracle_case;

// Reads the manifest the oracle wrote; returns the number of cases (0 after a failed check).
static int read_manifest(oracle_case **out)
{
    const char *path = kevo_test_data("oracle/image/manifest.tsv");
    char *text = kevo_test_slurp(path, NULL);
    *out = NULL;
    if (!CHECK(text != NULL, "missing %s (run tools/oracles/oracle_image.py)", path))
        return 0;
    int n = 0, cap = 0;
    oracle_case *cases = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            cases = realloc(cases, (size_t)cap * sizeof *cases);
        }
        oracle_case *c = &cases[n];
        if (!CHECK(sscanf(line, "%255[^\t]\t%1023[^\t]\t%1023[^\t]\t%1023[^\t]\t%d", c->name,
                          c->image, c->config, c->expected, &c->has_rgb) == 5,
                   "bad manifest line: %s", line))
            break;
        n++;
    }
    free(text);
    *out = cases;
    return n;
}

// The U8 tensor `name` of an expected-values file, checked to be (h, w, 3).
static const unsigned char *expected_u8(const kevo_safetensors *f, const char *name, int *w,
                                        int *h)
{
    const kevo_tensor *t = kevo_safetensors_find(f, name);
    if (!CHECK(t && t->dtype == KEVO_DTYPE_U8 && t->n_dims == 3 && t->shape[2] == 3,
               "expected U8 (h, w, 3) tensor %s", name))
        return NULL;
    *h = (int)t->shape[0], *w = (int)t->shape[1];
    return t->data;
}

// Compares RGB bytes exactly; reports the first difference. Returns 1 when equal.
static int same_rgb(const char *what, const kevo_image *got, const unsigned char *want, int w,
                    int h)
{
    if (!CHECK(got->width == w && got->height == h, "%s: %d x %d, Pillow %d x %d", what,
               got->width, got->height, w, h))
        return 0;
    size_t n = (size_t)3 * w * h, bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (got->rgb[i] != want[i] && bad++ == 0)
            first = i;
    return CHECK(bad == 0, "%s: %zu of %zu bytes differ; first at x %zu y %zu channel %zu: %d, "
                 "Pillow %d", what, bad, n, first / 3 % (size_t)w, first / 3 / (size_t)w,
                 first % 3, got->rgb[first], want[first]);
}

KEVO_TEST(image_decode_matches_pillow)
{
    oracle_case *cases;
    int n = read_manifest(&cases), compared = 0;
    for (int i = 0; i < n; i++) {
        if (!cases[i].has_rgb || strstr(cases[i].name, "/clip336") == NULL)
            continue;   // one decode check per image
        kevo_error err;
        kevo_image *img = NULL;
        kevo_safetensors *f = NULL;
        int w = 0, h = 0;
        const unsigned char *want;
        if (CHECK_OK(kevo_image_load(cases[i].image, &img, &err), &err) &&
            CHECK_OK(kevo_safetensors_open(cases[i].expected, &f, &err), &err) &&
            (want = expected_u8(f, "rgb", &w, &h)) != NULL)
            compared += same_rgb(cases[i].name, img, want, w, h);
        kevo_image_free(img);
        kevo_safetensors_free(f);
    }
    CHECK(compared > 50, "only %d images compared", compared);
    printf("    %d decoded images byte-identical to Pillow's convert(\"RGB\")\n", compared);
    free(cases);
}

// Preprocesses one image in both modes and compares with the oracle's shown image and pixels.
static int check_case(const oracle_case *c, const kevo_image *img)
{
    kevo_error err;
    kevo_image_config cfg;
    kevo_safetensors *f = NULL;
    int ok = CHECK_OK(kevo_image_config_load(c->config, &cfg, &err), &err) &&
             CHECK_OK(kevo_safetensors_open(c->expected, &f, &err), &err);
    for (int m = 0; ok && m < 2; m++) {
        kevo_image_mode mode = m ? KEVO_IMAGE_MODE_CROP : KEVO_IMAGE_MODE_PAD;
        char key[64], what[400];
        snprintf(what, sizeof what, "%s %s", c->name, kevo_image_mode_name(mode));
        snprintf(key, sizeof key, "%s.shown", kevo_image_mode_name(mode));
        int w = 0, h = 0;
        const unsigned char *want_shown = expected_u8(f, key, &w, &h);
        snprintf(key, sizeof key, "%s.pixel_values", kevo_image_mode_name(mode));
        const kevo_tensor *want_px = kevo_safetensors_find(f, key);
        ok = want_shown && CHECK(want_px && want_px->dtype == KEVO_DTYPE_F32 &&
                                 want_px->n_elems == (uint64_t)3 * w * h, "%s: bad %s", what, key);
        ok = ok && CHECK(w == cfg.crop_w && h == cfg.crop_h, "%s: oracle crop %d x %d, config "
                         "%d x %d", what, w, h, cfg.crop_w, cfg.crop_h);
        if (!ok)
            break;
        float *px = malloc((size_t)3 * w * h * sizeof *px);
        kevo_image *shown = NULL;
        ok = CHECK_OK(kevo_preprocess(img, &cfg, mode, px, &shown, &err), &err) &&
             same_rgb(what, shown, want_shown, w, h) &&
             CHECK_CLOSE(what, px, want_px->data, (size_t)3 * w * h, 1e-6, 0);
        free(px);
        kevo_image_free(shown);
    }
    kevo_safetensors_free(f);
    return ok;
}

KEVO_TEST(image_preprocess_matches_pillow)
{
    oracle_case *cases;
    int n = read_manifest(&cases), passed = 0;
    for (int i = 0; i < n; i++) {
        kevo_error err;
        kevo_image *img = NULL;
        if (CHECK_OK(kevo_image_load(cases[i].image, &img, &err), &err))
            passed += check_case(&cases[i], img);
        kevo_image_free(img);
    }
    CHECK(n > 100 && passed == n, "%d of %d cases match", passed, n);
    printf("    %d cases x 2 modes (pad, crop): uint8 image byte-identical, pixel_values within "
           "1e-6\n", passed);
    free(cases);
}

KEVO_TEST(image_mode_and_config)
{
    kevo_error err;
    kevo_image_mode mode;
    CHECK(kevo_image_mode_parse("pad", &mode, &err) == KEVO_OK && mode == KEVO_IMAGE_MODE_PAD,
          "pad");
    CHECK(kevo_image_mode_parse("crop", &mode, &err) == KEVO_OK && mode == KEVO_IMAGE_MODE_CROP,
          "crop");
    CHECK(kevo_image_mode_parse("square", &mode, &err) == KEVO_ERR_ARG &&
              kevo_test_contains(err.msg, "pad or crop"), "square: %s", err.msg);

    kevo_image_config base;
    CHECK_OK(kevo_image_config_load(kevo_test_data("oracle/image/configs/clip336"), &base, &err),
             &err);
    static const struct {
        const char *key;
        size_t offset;
        int value;
    } refused[] = {
        {"resample", offsetof(kevo_image_config, resample), 2},
        {"do_center_crop", offsetof(kevo_image_config, do_center_crop), 0},
        {"do_convert_rgb", offsetof(kevo_image_config, do_convert_rgb), 0},
    };
    kevo_image *img;
    CHECK_OK(kevo_image_create(5, 4, &img, &err), &err);
    memset(img->rgb, 7, 60);
    float *px = malloc(3 * 336 * 336 * sizeof *px);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        kevo_image_config cfg = base;
        memcpy((char *)&cfg + refused[i].offset, &refused[i].value, sizeof(int));
        kevo_status st = kevo_preprocess(img, &cfg, KEVO_IMAGE_MODE_CROP, px, NULL, &err);
        CHECK(st == KEVO_ERR_CONFIG && kevo_test_contains(err.msg, refused[i].key),
              "%s refused with KEVO_ERR_CONFIG naming it: got %d, '%s'", refused[i].key, st,
              err.msg);
    }
    kevo_image_free(img);

    // Extreme aspect ratios: refused when the work or the resized size would be absurd.
    CHECK_OK(kevo_image_create(40000, 1, &img, &err), &err);
    memset(img->rgb, 99, (size_t)3 * 40000);
    CHECK(kevo_preprocess(img, &base, KEVO_IMAGE_MODE_PAD, px, NULL, &err) == KEVO_ERR_FORMAT &&
              kevo_test_contains(err.msg, "pad mode allows"), "40000 x 1 pad: %s", err.msg);
    kevo_image *shown = NULL;
    if (CHECK_OK(kevo_preprocess(img, &base, KEVO_IMAGE_MODE_CROP, px, &shown, &err), &err))
        CHECK(shown->rgb[0] == 99 && shown->rgb[3 * 336 * 336 - 1] == 99, "flat image changed");
    kevo_image_free(shown);
    kevo_image_free(img);
    CHECK_OK(kevo_image_create(1000000, 1, &img, &err), &err);
    memset(img->rgb, 1, (size_t)3 * 1000000);
    CHECK(kevo_preprocess(img, &base, KEVO_IMAGE_MODE_CROP, px, NULL, &err) == KEVO_ERR_FORMAT &&
              kevo_test_contains(err.msg, "long side"), "1000000 x 1 crop: %s", err.msg);
    kevo_image_free(img);
    free(px);

    CHECK(kevo_image_create(0, 5, &img, &err) == KEVO_ERR_FORMAT && img == NULL, "0 x 5");
    CHECK(kevo_image_create(1 << 15, 1 << 14, &img, &err) == KEVO_ERR_FORMAT && img == NULL &&
              kevo_test_contains(err.msg, "2^28"), "2^29 pixels: %s", err.msg);
}

// ---------------------------------------------------------------------------------------------
// Hostile files

// A copy of `src` keeping `keep` bytes (all when keep < 0) with bytes [at, at + n) set to `fill`.
static const char *mangled(const char *name, const char *src, long keep, long at, long n,
                           int fill)
{
    size_t len = 0;
    char *data = kevo_test_slurp(src, &len);
    CHECK(data != NULL, "cannot read %s", src);
    if (!data)
        return "/nonexistent";
    if (keep >= 0 && (size_t)keep < len)
        len = (size_t)keep;
    for (long i = at; i < at + n && (size_t)i < len; i++)
        data[i] = (char)fill;
    const char *path = kevo_test_tmp(name);
    kevo_test_write(path, data, len);
    free(data);
    return path;
}

static void expect_refused(const char *path, kevo_status status, const char *needle)
{
    kevo_error err = {0};
    kevo_image *img = (kevo_image *)&err;   // must come back NULL
    kevo_status st = kevo_image_load(path, &img, &err);
    CHECK(st == status, "%s: status %d (%s), want %d; message: %s", path, st,
          kevo_status_str(st), status, err.msg);
    CHECK(img == NULL, "%s: a failed load returned an image", path);
    CHECK(kevo_test_contains(err.msg, path), "message '%s' does not name %s", err.msg, path);
    CHECK(kevo_test_contains(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
}

KEVO_TEST(image_hostile_files)
{
    char jpg[1024], prog[1024], png[1024];
    snprintf(jpg, sizeof jpg, "%s", "tests/data/images/flower3.jpg");
    snprintf(prog, sizeof prog, "%s", "tests/data/images/fruit7-small-progressive.jpg");
    snprintf(png, sizeof png, "%s", "tests/data/images/animal11-small.png");
    // Absurd dimensions, refused from the header before allocation.
    expect_refused(kevo_test_data("oracle/image/hostile/huge.png"), KEVO_ERR_FORMAT, "2^28");
    expect_refused(kevo_test_data("oracle/image/hostile/huge.jpg"), KEVO_ERR_FORMAT, "2^28");
    expect_refused(kevo_test_data("oracle/image/hostile/over-limit.jpg"), KEVO_ERR_FORMAT,
                   "2^28");
    // Truncated files.
    expect_refused(mangled("cut.jpg", jpg, 15000, 0, 0, 0), KEVO_ERR_FORMAT, "truncated");
    expect_refused(mangled("cut-header.jpg", jpg, 300, 0, 0, 0), KEVO_ERR_FORMAT, "JPEG");
    expect_refused(mangled("cut-progressive.jpg", prog, 6000, 0, 0, 0), KEVO_ERR_FORMAT,
                   "truncated");
    expect_refused(mangled("cut.png", png, 40000, 0, 0, 0), KEVO_ERR_FORMAT, "truncated");
    expect_refused(mangled("cut-header.png", png, 20, 0, 0, 0), KEVO_ERR_FORMAT, "PNG");
    expect_refused(mangled("sig-only.png", png, 8, 0, 0, 0), KEVO_ERR_FORMAT, "PNG");
    expect_refused(mangled("soi-only.jpg", jpg, 3, 0, 0, 0), KEVO_ERR_FORMAT, "JPEG");
    // Corrupt files.
    expect_refused(mangled("bad-tables.jpg", jpg, -1, 4, 400, 0xa5), KEVO_ERR_FORMAT, "JPEG");
    expect_refused(mangled("bad-ihdr.png", png, -1, 17, 2, 0x7f), KEVO_ERR_FORMAT, "PNG");
    expect_refused(mangled("bad-idat.png", png, -1, 200, 64, 0x00), KEVO_ERR_FORMAT, "PNG");
    expect_refused(mangled("text.jpg", "tests/data/images/README.md", -1, 0, 0, 0),
                   KEVO_ERR_FORMAT, "not a JPEG or PNG");
    expect_refused(mangled("empty.png", png, 0, 0, 0, 0), KEVO_ERR_FORMAT, "not a JPEG or PNG");
    expect_refused(kevo_test_tmp("missing.jpg"), KEVO_ERR_IO, "cannot open");
    expect_refused(kevo_test_tmpdir(), KEVO_ERR_IO, "not a regular file (a directory)");
}

// Every truncation and a sweep of byte corruptions of small JPEG and PNG files: each load either
// succeeds (libjpeg, like Pillow, decodes through corrupt entropy data) or fails with a message,
// never crashes or leaks (run under ASan by `make asan`).
KEVO_TEST(image_corruptions_fail_cleanly)
{
    static const char *files[] = {"tests/data/images/fruit7-small-progressive.jpg",
                                  "tests/data/images/animal5-small.jpg",
                                  "tests/data/images/animal11-small.png"};
    unsigned seed = 12345;
    int loads = 0, failures = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len = 0;
        char *orig = kevo_test_slurp(files[f], &len);
        if (!CHECK(orig != NULL && len > 1000, "cannot read %s", files[f]))
            continue;
        char *buf = malloc(len);
        const char *path = kevo_test_tmp(strstr(files[f], ".png") ? "x.png" : "x.jpg");
        for (int trial = 0; trial < 300; trial++) {
            memcpy(buf, orig, len);
            size_t keep = len;
            if (trial < 100) {
                keep = len * (size_t)trial / 100;   // truncations
            } else {
                int n = 1 + trial % 8;               // n random bytes changed
                for (int k = 0; k < n; k++) {
                    seed = seed * 1103515245u + 12345u;
                    size_t at = (seed >> 8) % (trial < 200 ? 700 : len);   // headers, then all
                    buf[at] = (char)(seed >> 3);
                }
            }
            kevo_test_write(path, buf, keep);
            kevo_error err = {0};
            kevo_image *img = NULL;
            kevo_status st = kevo_image_load(path, &img, &err);
            loads++;
            if (st != KEVO_OK) {
                failures++;
                CHECK(img == NULL && err.msg[0] != 0, "%s trial %d: failed without a message",
                      files[f], trial);
            }
            kevo_image_free(img);
        }
        free(buf);
        free(orig);
    }
    CHECK(failures >= 300, "only %d of %d damaged files were refused", failures, loads);
}

// ---------------------------------------------------------------------------------------------
// The command line

// The oracle case for a file name and config, or NULL.
static const oracle_case *find_case(const oracle_case *cases, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(cases[i].name, name))
            return &cases[i];
    CHECK(0, "no oracle case %s", name);
    return NULL;
}

KEVO_TEST(image_cli_preprocess)
{
    oracle_case *cases;
    int n = read_manifest(&cases);
    const oracle_case *c = find_case(cases, n, "flower3/clip336");
    if (!c) {
        free(cases);
        return;
    }
    const char *out = kevo_test_tmp("px.safetensors"), *png = kevo_test_tmp("shown.png");
    char *sout = NULL, *serr = NULL;
    int rc = kevo_test_cli(&sout, &serr, "preprocess '%s' '%s' -o '%s' --png '%s' "
                           "--image-mode crop", c->config, c->image, out, png);
    CHECK(rc == 0, "exit %d: %s", rc, serr);
    CHECK(kevo_test_contains(sout, "[1, 3, 336, 336] (crop)"), "stdout: %s", sout);
    free(sout), free(serr);

    kevo_error err;
    kevo_safetensors *got = NULL, *want = NULL;
    kevo_image *shown = NULL;
    if (CHECK_OK(kevo_safetensors_open(out, &got, &err), &err) &&
        CHECK_OK(kevo_safetensors_open(c->expected, &want, &err), &err)) {
        const kevo_tensor *g = kevo_safetensors_find(got, "pixel_values");
        const kevo_tensor *w = kevo_safetensors_find(want, "crop.pixel_values");
        if (CHECK(g && g->dtype == KEVO_DTYPE_F32 && g->n_dims == 4 && g->shape[0] == 1 &&
                      g->shape[1] == 3 && g->shape[2] == 336 && g->shape[3] == 336,
                  "pixel_values is not F32 [1, 3, 336, 336]"))
            CHECK_CLOSE("cli pixel_values", g->data, w->data, (size_t)3 * 336 * 336, 1e-6, 0);
        CHECK(kevo_test_contains(kevo_safetensors_metadata(got, "mode"), "crop"), "metadata");
        int sw, sh;
        const unsigned char *s = expected_u8(want, "crop.shown", &sw, &sh);
        if (s && CHECK_OK(kevo_image_load(png, &shown, &err), &err))
            same_rgb("--png", shown, s, sw, sh);
    }
    kevo_safetensors_free(got);
    kevo_safetensors_free(want);
    kevo_image_free(shown);

    // Failures: a clear message, the right exit code, and no output file.
    const char *bad = mangled("cut.jpg", c->image, 9000, 0, 0, 0);
    const char *out2 = kevo_test_tmp("none.safetensors");
    rc = kevo_test_cli(NULL, &serr, "preprocess '%s' '%s' -o '%s'", c->config, bad, out2);
    CHECK(rc == 1 && kevo_test_contains(serr, bad) && kevo_test_contains(serr, "truncated"),
          "truncated: exit %d, %s", rc, serr);
    CHECK(access(out2, F_OK) != 0, "a failed run left %s", out2);
    free(serr);
    rc = kevo_test_cli(NULL, &serr, "preprocess '%s' '%s' -o '%s' --image-mode square",
                       c->config, c->image, out2);
    CHECK(rc == 2 && kevo_test_contains(serr, "pad or crop"), "bad mode: exit %d, %s", rc, serr);
    free(serr);
    rc = kevo_test_cli(NULL, &serr, "preprocess '%s' '%s'", c->config, c->image);
    CHECK(rc == 2 && kevo_test_contains(serr, "-o"), "no -o: exit %d, %s", rc, serr);
    free(serr);
    const char *cfg_path = kevo_test_tmp("preprocessor_config.json");
    const char *cfg_text = "{\"resample\": 2, \"size\": {\"shortest_edge\": 336}}";
    kevo_test_write(cfg_path, cfg_text, strlen(cfg_text));
    rc = kevo_test_cli(NULL, &serr, "preprocess '%s' '%s' -o '%s'", kevo_test_tmpdir(),
                       c->image, out2);
    CHECK(rc == 1 && kevo_test_contains(serr, "resample"), "resample 2: exit %d, %s", rc, serr);
    CHECK(access(out2, F_OK) != 0, "a refused config left %s", out2);
    free(serr);
    free(cases);
}

// A 6720 x 4480 progressive JPEG (the largest seed image's size) needs at most about twice its
// decoded RGB size: the RGB buffer plus libjpeg's coefficient buffers, nothing full-size besides.
KEVO_TEST(image_memory_large_jpeg)
{
    oracle_case *cases;
    int n = read_manifest(&cases);
    const oracle_case *c = find_case(cases, n, "big-6720x4480/clip336");
    if (!c) {
        free(cases);
        return;
    }
    const char *out = kevo_test_tmp("big.safetensors");
    char *serr = NULL;
    int rc = kevo_test_cli(NULL, &serr, "preprocess '%s' '%s' -o '%s' --image-mode pad",
                           c->config, c->image, out);
    CHECK(rc == 0, "exit %d: %s", rc, serr);
    free(serr);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double peak_mb = ru.ru_maxrss / 1024.0, rgb_mb = 6720.0 * 4480 * 3 / (1 << 20);
    printf("    6720 x 4480 JPEG: peak RSS %.1f MiB, decoded RGB %.1f MiB (%.2fx)\n", peak_mb,
           rgb_mb, peak_mb / rgb_mb);
#if !defined(__SANITIZE_ADDRESS__)
    // The binary itself (OpenBLAS, cairo, libc) accounts for a few MiB more.
    CHECK(peak_mb <= 2.0 * rgb_mb + 24, "peak RSS %.1f MiB for %.1f MiB of RGB", peak_mb,
          rgb_mb);
#endif
    kevo_safetensors *got = NULL, *want = NULL;
    kevo_error err;
    if (CHECK_OK(kevo_safetensors_open(out, &got, &err), &err) &&
        CHECK_OK(kevo_safetensors_open(c->expected, &want, &err), &err)) {
        const kevo_tensor *g = kevo_safetensors_find(got, "pixel_values");
        const kevo_tensor *w = kevo_safetensors_find(want, "pad.pixel_values");
        if (CHECK(g && w && g->n_elems == w->n_elems, "pixel_values shape"))
            CHECK_CLOSE("large pad pixel_values", g->data, w->data, g->n_elems, 1e-6, 0);
    }
    kevo_safetensors_free(got);
    kevo_safetensors_free(want);
    free(cases);
}
