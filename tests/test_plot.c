// test_plot.c — the figures and the report: colour maps against matplotlib's (through
// tools/oracles/oracle_plot.py), pixels of rendered PNGs, well-formed SVG/PDF, escaping, atomic
// writes and the refusals of bad input.
#include <cairo.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "io/json.h"
#include "plot/axes.h"
#include "plot/colormap.h"
#include "plot/layout.h"
#include "plot/plot.h"
#include "plot/text.h"
#include "base/utf8.h"
#include "plot_pixels.h"
#include "test.h"

// ---------------------------------------------------------------------------------------------
// Helpers

static cJSON *load_reference(void)
{
    cJSON *ref = NULL;
    kevo_error err;
    CHECK_OK(kevo_json_load(kevo_test_data("oracle/plot/reference.json"), 16u << 20, &ref, &err),
             &err);
    return ref;
}

static kevo_rgb json_rgb(const cJSON *a)
{
    return (kevo_rgb){cJSON_GetArrayItem(a, 0)->valuedouble, cJSON_GetArrayItem(a, 1)->valuedouble,
                      cJSON_GetArrayItem(a, 2)->valuedouble};
}

static double rgb_diff(kevo_rgb a, kevo_rgb b)
{
    return fmax(fabs(a.r - b.r), fmax(fabs(a.g - b.g), fabs(a.b - b.b)));
}

// Entry i of the oracle's 256-entry Purples table: its sample at x = (i + 0.5) / 256.
static kevo_rgb oracle_purples(const cJSON *ref, int i)
{
    const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(ref, "colormaps"), "Purples");
    const cJSON *xs = cJSON_GetObjectItem(m, "x"), *rgbs = cJSON_GetObjectItem(m, "rgb");
    for (int k = 0; k < cJSON_GetArraySize(xs); k++)
        if (cJSON_GetArrayItem(xs, k)->valuedouble == (i + 0.5) / 256)
            return json_rgb(cJSON_GetArrayItem(rgbs, k));
    CHECK(0, "the oracle has no Purples sample at (%d + 0.5) / 256", i);
    return (kevo_rgb){-1, -1, -1};
}

static kevo_rgb oracle_spread(const cJSON *ref, const char *map, int n, int i)
{
    const cJSON *s = cJSON_GetObjectItem(cJSON_GetObjectItem(ref, "spread"), map);
    const cJSON *ns = cJSON_GetObjectItem(s, "n"), *rgbs = cJSON_GetObjectItem(s, "rgb");
    for (int k = 0; k < cJSON_GetArraySize(ns); k++)
        if (cJSON_GetArrayItem(ns, k)->valueint == n)
            return json_rgb(cJSON_GetArrayItem(cJSON_GetArrayItem(rgbs, k), i));
    CHECK(0, "the oracle has no %s spread over %d", map, n);
    return (kevo_rgb){-1, -1, -1};
}

static kevo_rgb over_white(kevo_rgb c, double alpha)
{
    return (kevo_rgb){c.r * alpha + 1 - alpha, c.g * alpha + 1 - alpha, c.b * alpha + 1 - alpha};
}

static int file_count(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    if (d)
        closedir(d);
    return n;
}

// Checks the nesting of an XML document's elements: every start tag closed in order, one root
// <svg>, comments, processing instructions and CDATA skipped.
static int xml_well_formed(const char *s, const char **why)
{
    char stack[64][64];
    int depth = 0, roots = 0;
    for (const char *p = s; (p = strchr(p, '<'));) {
        if (!strncmp(p, "<?", 2) || !strncmp(p, "<!--", 4) || !strncmp(p, "<![CDATA[", 9)) {
            const char *end = strstr(p, p[1] == '?' ? "?>" : p[2] == '-' ? "-->" : "]]>");
            if (!end)
                return *why = "unterminated comment or instruction", 0;
            p = end + 1;
            continue;
        }
        const char *end = strchr(p, '>');
        if (!end)
            return *why = "unterminated tag", 0;
        int closing = p[1] == '/', empty = end[-1] == '/';
        const char *name = p + 1 + closing;
        size_t n = strcspn(name, " \t\r\n/>");
        if (n == 0 || n >= 64)
            return *why = "bad tag name", 0;
        if (closing) {
            if (depth == 0 || strncmp(stack[depth - 1], name, n) || stack[depth - 1][n])
                return *why = "mismatched closing tag", 0;
            depth--;
        } else if (!empty) {
            if (depth == 0)
                roots++;
            if (depth == 64)
                return *why = "nesting too deep", 0;
            memcpy(stack[depth], name, n);
            stack[depth++][n] = '\0';
            if (depth == 1 && strcmp(stack[0], "svg"))
                return *why = "the root element is not <svg>", 0;
        }
        p = end + 1;
    }
    if (depth != 0)
        return *why = "unclosed elements", 0;
    if (roots != 1)
        return *why = "not exactly one root element", 0;
    return 1;
}

// Checks the file at path looks like a complete file of format f.
static void check_file_format(const char *path, kevo_figure_format f, double width_pt,
                              double height_pt, double dpi)
{
    size_t n = 0;
    char *s = kevo_test_slurp(path, &n);
    if (!CHECK(s && n > 0, "%s: missing or empty", path)) {
        free(s);
        return;
    }
    if (f == KEVO_FIGURE_PNG) {
        image im;
        if (image_load(&im, path)) {
            CHECK(im.w == (int)lround(width_pt / 72 * dpi) &&
                      im.h == (int)lround(height_pt / 72 * dpi),
                  "%s: %d x %d pixels, want %.2f x %.2f in at %g dpi", path, im.w, im.h,
                  width_pt / 72, height_pt / 72, dpi);
            image_free(&im);
        }
    } else if (f == KEVO_FIGURE_SVG) {
        const char *why = "";
        CHECK(!strncmp(s, "<?xml", 5), "%s: no XML declaration", path);
        CHECK(xml_well_formed(s, &why), "%s: not well-formed XML: %s", path, why);
        const char *w = strstr(s, "width=\"");
        double got = w ? strtod(w + 7, NULL) : -1;
        CHECK(fabs(got - width_pt) < 0.01, "%s: width %g, want %g pt", path, got, width_pt);
    } else {
        size_t end = n;
        while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r'))
            end--;
        CHECK(!strncmp(s, "%PDF-", 5), "%s: does not start with %%PDF-", path);
        CHECK(end >= 5 && !strncmp(s + end - 5, "%%EOF", 5), "%s: does not end with %%%%EOF", path);
    }
    free(s);
}

// ---------------------------------------------------------------------------------------------
// Synthetic figures

static const char *tokens[40] = {
    "The", "image", "features", "a", "small", "child", "standing", "in", "a", "grass",
    "y", "field", ".", "We", "aring", "a", "strip", "ed", "sh", "irt",
    "and", "a", "tie", ".", "The", "child", "appears", "to", "be", "cry",
    "ing", ",", "possibly", "due", "to", "the", "grass", "being", "too", "long"};

static const kevo_band stage_bands[3] = {{0, 18, "rapid evolution (0-18)", 0xF4A582},
                                         {19, 29, "stabilisation (19-29)", 0x92C5DE},
                                         {30, 31, "mutation (30-31)", 0xB2182B}};

// A rows x cols matrix in [0, 1] with a few very small values (long ".2g" strings).
static double *matrix(int rows, int cols)
{
    double *v = malloc(sizeof(double) * rows * cols);
    for (int i = 0; i < rows * cols; i++)
        v[i] = i % 7 == 3 ? 5.1e-05 * (i % 5 + 1) : fmod(i * 0.6180339887, 1.0);
    return v;
}

static kevo_heatmap heatmap_of(const double *v, int rows, int cols)
{
    return (kevo_heatmap){v, rows, cols, tokens, NULL, "Divergence between consecutive layers",
                          "Transition", "Token", "JS divergence", "Purples", 0, 1, 1,
                          stage_bands, 3};
}

static const char *series_labels[4] = {"▁young", "▁little", "▁to", "▁small"};

// ---------------------------------------------------------------------------------------------
// Colour maps, formats, text

KEVO_TEST(plot_colormap_matches_matplotlib)
{
    cJSON *ref = load_reference();
    if (!ref)
        return;
    const char *names[2] = {"Purples", "tab20"};
    kevo_error err;
    for (int m = 0; m < 2; m++) {
        const kevo_colormap *map;
        if (!CHECK_OK(kevo_colormap_find(names[m], &map, &err), &err))
            continue;
        const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(ref, "colormaps"), names[m]);
        const cJSON *xs = cJSON_GetObjectItem(c, "x"), *rgbs = cJSON_GetObjectItem(c, "rgb");
        int n = cJSON_GetArraySize(xs), bad = 0;
        double worst = 0;
        CHECK(n > 300, "%s: only %d reference points", names[m], n);
        for (int i = 0; i < n; i++) {
            double x = cJSON_GetArrayItem(xs, i)->valuedouble;
            double d = rgb_diff(kevo_colormap_at(map, x), json_rgb(cJSON_GetArrayItem(rgbs, i)));
            worst = fmax(worst, d);
            if (d > 1e-12 && bad++ < 5)
                CHECK(0, "%s(%.17g) differs from matplotlib's by %.3g", names[m], x, d);
        }
        const cJSON *s = cJSON_GetObjectItem(cJSON_GetObjectItem(ref, "spread"), names[m]);
        const cJSON *ns = cJSON_GetObjectItem(s, "n");
        for (int k = 0; k < cJSON_GetArraySize(ns); k++) {
            int count = cJSON_GetArrayItem(ns, k)->valueint;
            for (int i = 0; i < count; i++) {
                double d = rgb_diff(kevo_colormap_spread(map, i, count),
                                    oracle_spread(ref, names[m], count, i));
                if (d > 1e-12 && bad++ < 5)
                    CHECK(0, "%s linspace(0, 1, %d)[%d] differs by %.3g", names[m], count, i, d);
            }
        }
        if (getenv("KEVO_TEST_VERBOSE"))
            printf("    %s: %d points, max abs diff %.3g (atol 1e-12)\n", names[m], n, worst);
    }
    cJSON_Delete(ref);
}

KEVO_TEST(plot_colormap_unknown_name)
{
    kevo_error err;
    const kevo_colormap *map = (const kevo_colormap *)&err;
    CHECK(kevo_colormap_find("viridis", &map, &err) == KEVO_ERR_ARG, "viridis was accepted");
    CHECK(map == NULL, "a failed lookup returned a map");
    CHECK(kevo_test_contains(err.msg, "'viridis'") && kevo_test_contains(err.msg, "Purples"),
          "message: %s", err.msg);
}

// The heatmap writes annotations with printf's "%.2g"; seaborn with Python's "{:.2g}".
KEVO_TEST(plot_annotation_format_matches_python)
{
    cJSON *ref = load_reference();
    if (!ref)
        return;
    const cJSON *f = cJSON_GetObjectItem(ref, "format_2g");
    const cJSON *vs = cJSON_GetObjectItem(f, "values"), *ts = cJSON_GetObjectItem(f, "text");
    CHECK(cJSON_GetArraySize(vs) > 50, "too few reference values");
    for (int i = 0; i < cJSON_GetArraySize(vs); i++) {
        char got[32];
        double v = cJSON_GetArrayItem(vs, i)->valuedouble;
        snprintf(got, sizeof got, "%.2g", v);
        const char *want = cJSON_GetArrayItem(ts, i)->valuestring;
        CHECK(strcmp(got, want) == 0, "%.17g: C gives '%s', Python '%s'", v, got, want);
    }
    cJSON_Delete(ref);
}

KEVO_TEST(plot_figure_format_names)
{
    kevo_error err;
    kevo_figure_format f;
    const char *names[3] = {"png", "svg", "pdf"};
    for (int i = 0; i < 3; i++) {
        CHECK_OK(kevo_figure_format_parse(names[i], &f, &err), &err);
        CHECK(strcmp(kevo_figure_format_ext(f), names[i]) == 0, "%s round trip", names[i]);
    }
    CHECK(kevo_figure_format_parse("jpeg", &f, &err) == KEVO_ERR_ARG &&
              kevo_test_contains(err.msg, "'jpeg'"),
          "jpeg: %s", err.msg);
    CHECK(kevo_figure_format_parse(NULL, &f, &err) == KEVO_ERR_ARG, "NULL accepted");
}

KEVO_TEST(plot_utf8_clean)
{
    char buf[64];
    struct {
        const char *in, *out;
    } cases[] = {
        {"▁young", "▁young"},
        {"小孩 😀 café", "小孩 😀 café"},
        {"a\xff" "b", "a\xEF\xBF\xBD" "b"},                  // invalid byte
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},            // overlong '/'
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},   // a surrogate
        {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // > U+10FFFF
        {"end\xE2\x96", "end\xEF\xBF\xBD\xEF\xBF\xBD"},      // cut sequence
        {"tab\there\nnew\x7f", "tab here new "},
        {NULL, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(kevo_utf8_clean(cases[i].in, buf, sizeof buf) == 1, "case %zu cut", i);
        CHECK(strcmp(buf, cases[i].out) == 0, "case %zu: got '%s', want '%s'", i, buf,
              cases[i].out);
    }
    // A full buffer cuts between characters, never inside one.
    CHECK(kevo_utf8_clean("ab小孩", buf, 5) == 0 && strcmp(buf, "ab") == 0, "cut: '%s'", buf);
    CHECK(kevo_utf8_clean("ab小孩", buf, 6) == 0 && strcmp(buf, "ab小") == 0, "cut: '%s'", buf);
    CHECK(kevo_utf8_shorter("a小", 4) == 1 && kevo_utf8_shorter("a", 1) == 0, "shorter");
}

KEVO_TEST(plot_text_fit_ellipsis)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 4, 4);
    cairo_t *cr = cairo_create(s);
    kevo_font f = {12, 0};
    char buf[KEVO_TEXT_MAX];
    const char *lng = "▁supercalifragilisticexpialidocious-and-then-some-more";
    CHECK(kevo_text_fit(cr, f, lng, 80, buf) == 0, "a long label fits in 80 pt");
    size_t n = strlen(buf);
    CHECK(n > 3 && !strcmp(buf + n - 3, "…"), "cut label '%s' lacks the ellipsis", buf);
    CHECK(kevo_text_width(cr, f, buf) <= 80, "cut label is %.1f pt wide",
          kevo_text_width(cr, f, buf));
    CHECK(!strncmp(buf, lng, n - 3), "cut label '%s' is not a prefix", buf);
    CHECK(kevo_text_fit(cr, f, "short", 80, buf) == 1 && !strcmp(buf, "short"), "short: %s", buf);
    kevo_text_fit(cr, f, "小孩小孩小孩小孩小孩小孩小孩小孩", 40, buf);
    n = strlen(buf);
    CHECK(n >= 3 && (n - 3) % 3 == 0, "Chinese label cut inside a character: '%s'", buf);
    kevo_text_fit(cr, f, "wide", 1, buf);
    CHECK(buf[0] == '\0', "nothing fits in 1 pt, got '%s'", buf);
    kevo_text_draw(cr, f, "bad \xff\xfe utf-8 😀 小孩", 1, 1, KEVO_LEFT, KEVO_TOP, 0);
    CHECK(cairo_status(cr) == CAIRO_STATUS_SUCCESS, "cairo: %s",
          cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}

KEVO_TEST(plot_nice_ticks)
{
    kevo_ticks t;
    char label[32];
    kevo_ticks_nice(0, 1, 8, 0, &t);
    CHECK(t.n == 6 && t.at[1] == 0.2 && t.at[5] == 1, "[0, 1]: %d ticks, step %g", t.n,
          t.n > 1 ? t.at[1] : 0);
    kevo_tick_label(&t, 0, label);
    CHECK(!strcmp(label, "0.0"), "first label '%s'", label);
    kevo_tick_label(&t, 3, label);
    CHECK(!strcmp(label, "0.6"), "0.6 labelled '%s'", label);
    kevo_ticks_nice(0, 32, 10, 1, &t);
    CHECK(t.n == 7 && t.at[1] == 5 && t.at[6] == 30, "[0, 32] integers: %d ticks", t.n);
    kevo_ticks_nice(0, 3e-6, 4, 0, &t);
    kevo_tick_label(&t, t.n - 1, label);
    CHECK(t.n == 4 && !strcmp(label, "3e-06"), "[0, 3e-6]: %d ticks, last '%s'", t.n, label);
    kevo_ticks_nice(0, 1, 5, 0, &t);
    kevo_tick_label(&t, 1, label);
    CHECK(t.n == 5 && !strcmp(label, "0.25"), "[0, 1] by 5: %d ticks, second '%s'", t.n, label);
    kevo_ticks_nice(-0.75, 0.75, 4, 0, &t);
    kevo_tick_label(&t, 0, label);
    CHECK(t.n == 3 && !strcmp(label, "-0.5"), "[-0.75, 0.75]: %d ticks, first '%s'", t.n, label);
    for (int i = 0; i < t.n; i++)
        CHECK(t.at[i] >= -0.75 && t.at[i] <= 0.75, "tick %g outside the range", t.at[i]);
    kevo_ticks_nice(1, 1, 5, 0, &t);
    CHECK(t.n == 0, "an empty range has %d ticks", t.n);
}

// ---------------------------------------------------------------------------------------------
// Every figure in every format

KEVO_TEST(plot_every_figure_every_format)
{
    double *v = matrix(40, 32);
    kevo_heatmap h = heatmap_of(v, 40, 32);
    double y[4 * 33] = {0};
    for (int x = 20; x < 33; x++)
        y[x] = 0.5, y[33 + x] = 0.3, y[66 + x] = 0.1;
    kevo_area_chart a = {y, 4, 33, series_labels, "Candidates", "Layer", "Probability", 0, 1,
                         stage_bands, 3, 0};
    float xy[2 * 64];
    int group[64];
    for (int i = 0; i < 64; i++)
        xy[2 * i] = (float)cos(i), xy[2 * i + 1] = (float)sin(i * 1.3), group[i] = i % 4;
    const char *glabels[4] = {"layers 1-2", "layers 3-18", "layers 19-31", "layer 32"};
    uint32_t rgb[4] = {0xFF6347, 0x3CB371, 0x4682B4, 0x9370DB};
    kevo_scatter s = {xy, 64, group, 4, glabels, rgb, NULL, "t-SNE"};

    kevo_figure_layout lh, la, ls;
    kevo_error err;
    if (!CHECK_OK(kevo_heatmap_layout(&h, &lh, &err), &err) ||
        !CHECK_OK(kevo_area_layout(&a, &la, &err), &err) ||
        !CHECK_OK(kevo_scatter_layout(&s, &ls, &err), &err)) {
        free(v);
        return;
    }
    CHECK(la.width == 14 * 72 && la.height == 9 * 72, "area chart %g x %g pt", la.width, la.height);
    CHECK(ls.width == 12 * 72 && ls.height == 10 * 72, "scatter %g x %g pt", ls.width, ls.height);
    const kevo_figure_format formats[3] = {KEVO_FIGURE_PNG, KEVO_FIGURE_SVG, KEVO_FIGURE_PDF};
    for (int f = 0; f < 3; f++) {
        kevo_figure_opts o = {formats[f], 40};
        char name[64];
        const char *ext = kevo_figure_format_ext(formats[f]);
        snprintf(name, sizeof name, "heatmap.%s", ext);
        if (CHECK_OK(kevo_plot_heatmap(kevo_test_tmp(name), &o, &h, &err), &err))
            check_file_format(kevo_test_tmp(name), formats[f], lh.width, lh.height, o.dpi);
        snprintf(name, sizeof name, "area.%s", ext);
        if (CHECK_OK(kevo_plot_area(kevo_test_tmp(name), &o, &a, &err), &err))
            check_file_format(kevo_test_tmp(name), formats[f], la.width, la.height, o.dpi);
        snprintf(name, sizeof name, "scatter.%s", ext);
        if (CHECK_OK(kevo_plot_scatter(kevo_test_tmp(name), &o, &s, &err), &err))
            check_file_format(kevo_test_tmp(name), formats[f], ls.width, ls.height, o.dpi);
    }
    CHECK(file_count(kevo_test_tmpdir()) == 9, "%d files in the output folder, want 9 (no "
          "temporary files)", file_count(kevo_test_tmpdir()));
    free(v);
}

// ---------------------------------------------------------------------------------------------
// Heatmap

// Cells whose colours are entries of the oracle's Purples table, sampled away from the text.
KEVO_TEST(plot_heatmap_cell_colours)
{
    cJSON *ref = load_reference();
    if (!ref)
        return;
    // Values chosen so that (v - vmin) / (vmax - vmin) = (entry + 0.5) / 256 on a [-2, 6] scale.
    enum { R = 3, C = 4 };
    int entries[R * C] = {0, 17, 64, 100, 128, 150, 200, 230, 255, 5, 90, 250};
    double v[R * C];
    for (int i = 0; i < R * C; i++)
        v[i] = -2 + 8 * (entries[i] + 0.5) / 256;
    v[R * C - 1] = NAN;
    kevo_heatmap h = heatmap_of(v, R, C);
    h.vmin = -2, h.vmax = 6, h.n_bands = 0;
    kevo_figure_layout lay;
    kevo_error err;
    const double dpi = 100;
    kevo_figure_opts o = {KEVO_FIGURE_PNG, dpi};
    image im = {0};
    if (!CHECK_OK(kevo_heatmap_layout(&h, &lay, &err), &err) ||
        !CHECK_OK(kevo_plot_heatmap(kevo_test_tmp("cells.png"), &o, &h, &err), &err) ||
        !image_load(&im, kevo_test_tmp("cells.png"))) {
        cJSON_Delete(ref);
        return;
    }
    double cw = lay.data.w / C, ch = lay.data.h / R;
    for (int i = 0; i < R * C - 1; i++) {
        double x = lay.data.x + (i % C) * cw, y = lay.data.y + (i / C) * ch;
        char what[64];
        snprintf(what, sizeof what, "cell %d (table entry %d)", i, entries[i]);
        pixel_is(&im, dpi, x + 0.12 * cw, y + 0.2 * ch, oracle_purples(ref, entries[i]), 1, what);
        pixel_is(&im, dpi, x + 0.88 * cw, y + 0.8 * ch, oracle_purples(ref, entries[i]), 1, what);
        // The annotation: white on dark cells, dark on light ones (seaborn's luminance rule).
        kevo_box text = {x + 0.25 * cw, y + 0.3 * ch, 0.5 * cw, 0.4 * ch};
        int dark = kevo_rgb_luminance(oracle_purples(ref, entries[i])) <= 0.408;
        kevo_rgb ink = dark ? (kevo_rgb){1, 1, 1} : kevo_rgb_hex(KEVO_INK);
        CHECK(count_pixels(&im, dpi, text, ink, 40) >= 3, "%s: no %s annotation pixels", what,
              dark ? "white" : "dark");
    }
    // The missing value: neutral greys (hatching), none of the colour map's purples.
    double x = lay.data.x + (C - 1) * cw, y = lay.data.y + (R - 1) * ch;
    kevo_box corner = {x + 0.05 * cw, y + 0.05 * ch, 0.2 * cw, 0.9 * ch};
    int grey = 0, total = 0, got[3];
    int y0 = (int)ceil(corner.y * dpi / 72), y1 = (int)((corner.y + corner.h) * dpi / 72);
    int x0 = (int)ceil(corner.x * dpi / 72), x1 = (int)((corner.x + corner.w) * dpi / 72);
    for (int py = y0; py < y1; py++)
        for (int px = x0; px < x1; px++, total++) {
            pixel(&im, px, py, got);
            grey += abs(got[0] - got[1]) <= 2 && abs(got[1] - got[2]) <= 2 && got[0] < 250;
        }
    CHECK(total > 20 && grey == total, "missing cell: %d of %d pixels neutral grey", grey, total);
    image_free(&im);
    cJSON_Delete(ref);
}

// 1..40 rows by 2..80 columns: everything inside the figure, cells big enough to read.
KEVO_TEST(plot_heatmap_layout_sizes)
{
    const int rows[] = {1, 2, 5, 12, 40}, cols[] = {2, 3, 10, 32, 33, 80};
    kevo_error err;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            double *v = matrix(rows[r], cols[c]);
            kevo_heatmap h = heatmap_of(v, rows[r], cols[c]);
            kevo_figure_layout l;
            if (CHECK_OK(kevo_heatmap_layout(&h, &l, &err), &err)) {
                kevo_box b = l.data;
                CHECK(b.x > 0 && b.y > 0 && b.x + b.w < l.width && b.y + b.h < l.height,
                      "%dx%d: cells [%g, %g, %g, %g] leave the %g x %g figure", rows[r], cols[c],
                      b.x, b.y, b.w, b.h, l.width, l.height);
                CHECK(b.h / rows[r] >= 14 && b.w / cols[c] >= 22,
                      "%dx%d: cells of %.1f x %.1f pt", rows[r], cols[c], b.w / cols[c],
                      b.h / rows[r]);
                // At the default 150 dpi every case stays a PNG cairo can hold.
                CHECK(l.width / 72 * 150 < 32767 && l.height / 72 * 150 < 32767,
                      "%dx%d: %.0f x %.0f pt is too large", rows[r], cols[c], l.width, l.height);
            }
            free(v);
        }
    // A 40 x 32 figure of the authors' shape renders (small dpi for speed).
    double *v = matrix(40, 32);
    kevo_heatmap h = heatmap_of(v, 40, 32);
    kevo_figure_opts o = {KEVO_FIGURE_PNG, 30};
    CHECK_OK(kevo_plot_heatmap(kevo_test_tmp("authors.png"), &o, &h, &err), &err);
    free(v);
}

// Labels that are long, non-Latin, empty, NULL or not UTF-8 at all still draw.
KEVO_TEST(plot_heatmap_awkward_labels)
{
    const char *labels[6] = {"▁an-extremely-long-token-label-that-would-never-fit-anywhere",
                             "小孩 😀", "", NULL, "bad \xff\xfe\xfd", "<script>"};
    const char *cols[3] = {"L0→L1", "a very long column label indeed", NULL};
    double v[18];
    for (int i = 0; i < 18; i++)
        v[i] = i / 17.0;
    v[4] = INFINITY, v[5] = -INFINITY;
    kevo_heatmap h = {v, 6, 3, labels, cols, "Title \xff", "x \xfe", NULL, NULL, NULL, 0, 1, 1,
                      NULL, 0};
    kevo_error err;
    const kevo_figure_format formats[3] = {KEVO_FIGURE_PNG, KEVO_FIGURE_SVG, KEVO_FIGURE_PDF};
    for (int f = 0; f < 3; f++) {
        kevo_figure_opts o = {formats[f], 50};
        char name[32];
        snprintf(name, sizeof name, "awkward.%s", kevo_figure_format_ext(formats[f]));
        CHECK_OK(kevo_plot_heatmap(kevo_test_tmp(name), &o, &h, &err), &err);
    }
    // No row labels at all: rows are numbered. A constant scale (vmin == vmax) still draws.
    h.row_labels = NULL;
    h.vmin = h.vmax = 0.5;
    kevo_figure_opts o = {KEVO_FIGURE_PNG, 50};
    CHECK_OK(kevo_plot_heatmap(kevo_test_tmp("numbered.png"), &o, &h, &err), &err);
}

// Wrong input is refused with a message naming the problem, and leaves no file behind.
KEVO_TEST(plot_heatmap_bad_input)
{
    double v[4] = {0, 0.5, 1, 0.25};
    kevo_figure_opts o = {KEVO_FIGURE_PNG, 100};
    struct {
        const char *what, *needle;
        kevo_heatmap h;
        kevo_figure_opts o;
        kevo_status status;
    } cases[] = {
        {"no rows", "rows and columns", heatmap_of(v, 0, 2), o, KEVO_ERR_ARG},
        {"negative columns", "rows and columns", heatmap_of(v, 2, -1), o, KEVO_ERR_ARG},
        {"no values", "no values", heatmap_of(NULL, 2, 2), o, KEVO_ERR_ARG},
        {"unknown map", "'viridis'", heatmap_of(v, 2, 2), o, KEVO_ERR_ARG},
        {"reversed scale", "vmin <= vmax", heatmap_of(v, 2, 2), o, KEVO_ERR_ARG},
        {"NaN scale", "vmin <= vmax", heatmap_of(v, 2, 2), o, KEVO_ERR_ARG},
        {"reversed band", "band 0", heatmap_of(v, 2, 2), o, KEVO_ERR_ARG},
        {"dpi 0", "dpi 0", heatmap_of(v, 2, 2), {KEVO_FIGURE_PNG, 0}, KEVO_ERR_ARG},
        {"dpi NaN", "dpi nan", heatmap_of(v, 2, 2), {KEVO_FIGURE_PNG, NAN}, KEVO_ERR_ARG},
        {"huge PNG", "lower the dpi", heatmap_of(v, 2, 2), {KEVO_FIGURE_PNG, 2400}, KEVO_ERR_ARG},
        {"bad format", "format 7", heatmap_of(v, 2, 2), {(kevo_figure_format)7, 100},
         KEVO_ERR_ARG},
    };
    cases[3].h.colormap = "viridis";
    cases[4].h.vmin = 2, cases[4].h.vmax = 1;
    cases[5].h.vmax = NAN;
    kevo_band reversed = {5, 3, "backwards", 0xff0000};
    cases[6].h.bands = &reversed, cases[6].h.n_bands = 1;
    // The huge case needs a large figure: 80 columns at 2400 dpi exceed 32767 pixels.
    double *wide = matrix(4, 80);
    cases[9].h = heatmap_of(wide, 4, 80);
    const char *path = kevo_test_tmp("bad.png");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kevo_error err = {0};
        kevo_status st = kevo_plot_heatmap(path, &cases[i].o, &cases[i].h, &err);
        CHECK(st == cases[i].status, "%s: status %d (%s)", cases[i].what, st, err.msg);
        CHECK(kevo_test_contains(err.msg, cases[i].needle), "%s: message '%s' lacks '%s'",
              cases[i].what, err.msg, cases[i].needle);
        CHECK(kevo_test_contains(err.msg, path), "%s: message '%s' does not name the file",
              cases[i].what, err.msg);
    }
    kevo_error err;
    CHECK(kevo_plot_heatmap(path, &o, NULL, &err) == KEVO_ERR_ARG, "a NULL heatmap was accepted");
    CHECK(kevo_plot_heatmap(NULL, &o, &cases[0].h, &err) == KEVO_ERR_ARG, "no path accepted");
    kevo_heatmap ok = heatmap_of(v, 2, 2);
    CHECK(kevo_plot_heatmap(path, NULL, &ok, &err) == KEVO_ERR_ARG, "no options accepted");
    // An unwritable place: a folder that does not exist, and a folder in the way of the file.
    CHECK(kevo_plot_heatmap(kevo_test_tmp("no/such/dir/x.png"), &o, &ok, &err) == KEVO_ERR_IO &&
              kevo_test_contains(err.msg, "no/such/dir/x.png"),
          "missing folder: %s", err.msg);
    CHECK(mkdir(kevo_test_tmp("in-the-way.png"), 0755) == 0, "mkdir");
    CHECK(kevo_plot_heatmap(kevo_test_tmp("in-the-way.png"), &o, &ok, &err) == KEVO_ERR_IO,
          "a folder in the way: %s", err.msg);
    CHECK(file_count(kevo_test_tmpdir()) == 1, "%d entries left (want only the folder)",
          file_count(kevo_test_tmpdir()));
    free(wide);
}

// ---------------------------------------------------------------------------------------------
// Area chart

// Two series that never overlap: inside each, the colour is its tab20 colour at alpha 0.6.
KEVO_TEST(plot_area_fill_colours)
{
    cJSON *ref = load_reference();
    if (!ref)
        return;
    enum { N = 11 };
    double y[2 * N] = {0};
    for (int x = 0; x <= 4; x++)
        y[x] = 0.8;
    for (int x = 6; x < N; x++)
        y[N + x] = 0.5;
    kevo_band band = {8, 10, "late", 0x92C5DE};
    kevo_area_chart a = {y, 2, N, series_labels, "Two candidates", "Layer", "Probability", 0, 1,
                         &band, 1, 0};
    const double dpi = 100;
    kevo_figure_opts o = {KEVO_FIGURE_PNG, dpi};
    kevo_figure_layout lay;
    kevo_error err;
    image im = {0};
    if (!CHECK_OK(kevo_area_layout(&a, &lay, &err), &err) ||
        !CHECK_OK(kevo_plot_area(kevo_test_tmp("area.png"), &o, &a, &err), &err) ||
        !image_load(&im, kevo_test_tmp("area.png"))) {
        cJSON_Delete(ref);
        return;
    }
    kevo_box p = lay.data;
    double x[5] = {2.5, 6.5, 9.3, 9.3, 3.3}, y_at[5] = {0.3, 0.1, 0.3, 0.7, 0.9};
    double px[5], py[5];
    for (int i = 0; i < 5; i++)
        px[i] = p.x + x[i] / (N - 1.0) * p.w, py[i] = p.y + (1 - y_at[i]) * p.h;
    kevo_rgb first = oracle_spread(ref, "tab20", 2, 0), second = oracle_spread(ref, "tab20", 2, 1);
    pixel_is(&im, dpi, px[0], py[0], over_white(first, 0.6), 2, "inside series 0");
    pixel_is(&im, dpi, px[1], py[1], over_white(second, 0.6), 2, "inside series 1");
    // Series 1 over the band's tint (alpha 0.14), and the bare tint above the data.
    kevo_rgb tint = over_white(kevo_rgb_hex(band.rgb), 0.14);
    kevo_rgb both = {second.r * 0.6 + tint.r * 0.4, second.g * 0.6 + tint.g * 0.4,
                     second.b * 0.6 + tint.b * 0.4};
    pixel_is(&im, dpi, px[2], py[2], both, 2, "series 1 over the band");
    pixel_is(&im, dpi, px[3], py[3], tint, 2, "the band above the data");
    pixel_is(&im, dpi, px[4], py[4], (kevo_rgb){1, 1, 1}, 0, "above series 0");
    image_free(&im);
    cJSON_Delete(ref);
}

// The legend sits in the upper left unless data is there; then it moves out and the plot narrows.
KEVO_TEST(plot_area_legend_never_covers_data)
{
    enum { N = 33 };
    double late[N] = {0}, early[N] = {0};
    for (int x = 20; x < N; x++)
        late[x] = 0.9;
    for (int x = 0; x < 5; x++)
        early[x] = 0.95;
    kevo_area_chart a = {late, 1, N, series_labels, NULL, NULL, NULL, 0, 1, NULL, 0, 0};
    kevo_figure_layout inside, outside;
    kevo_error err;
    if (!CHECK_OK(kevo_area_layout(&a, &inside, &err), &err))
        return;
    a.y = early;
    if (!CHECK_OK(kevo_area_layout(&a, &outside, &err), &err))
        return;
    CHECK(outside.data.w < inside.data.w - 50, "plot width %g with the legend outside, %g inside",
          outside.data.w, inside.data.w);
}

KEVO_TEST(plot_area_bad_input)
{
    double y[6] = {0, 0.5, 1, 0.2, NAN, 0};
    kevo_figure_opts o = {KEVO_FIGURE_SVG, 0};
    const char *path = kevo_test_tmp("bad.svg");
    struct {
        const char *what, *needle;
        kevo_area_chart a;
    } cases[] = {
        {"NaN value", "series 1 ('▁little') is nan at x = 1",
         {.y = y, .n_series = 2, .n_x = 3, .labels = series_labels}},
        {"no series", "0 series", {.y = y, .n_series = 0, .n_x = 3, .labels = series_labels}},
        {"one position", "1 x positions",
         {.y = y, .n_series = 1, .n_x = 1, .labels = series_labels}},
        {"no values", "no values", {.n_series = 1, .n_x = 3, .labels = series_labels}},
        {"empty range", "ymin < ymax", {.y = y, .n_series = 1, .n_x = 3, .labels = series_labels}},
        {"bad band", "band 0", {.y = y, .n_series = 1, .n_x = 3, .labels = series_labels}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cases[i].a.ymax = 1;
    cases[4].a.ymin = 1;
    kevo_band nan_band = {NAN, 3, "nan", 0};
    cases[5].a.bands = &nan_band, cases[5].a.n_bands = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kevo_error err = {0};
        kevo_status st = kevo_plot_area(path, &o, &cases[i].a, &err);
        CHECK(st == KEVO_ERR_ARG, "%s: status %d (%s)", cases[i].what, st, err.msg);
        CHECK(kevo_test_contains(err.msg, cases[i].needle) && kevo_test_contains(err.msg, path),
              "%s: message '%s' lacks '%s' or the path", cases[i].what, err.msg, cases[i].needle);
    }
    CHECK(file_count(kevo_test_tmpdir()) == 0, "a refused chart left %d files",
          file_count(kevo_test_tmpdir()));
}

// ---------------------------------------------------------------------------------------------
// Scatter

KEVO_TEST(plot_scatter_group_colours)
{
    // Three groups in three separate clumps, one group joined as a trajectory.
    enum { N = 90 };
    float xy[2 * N];
    int group[N], traj[N];
    for (int i = 0; i < N; i++) {
        int g = i / 30;
        xy[2 * i] = (float)(g * 10 + (i % 6) * 0.6);
        xy[2 * i + 1] = (float)((g == 1) * 8 + (i % 5) * 0.6);
        group[i] = g;
        traj[i] = i % 3;
    }
    uint32_t rgb[3] = {0xFF6347, 0x3CB371, 0x4682B4};
    const char *labels[4] = {"first", "second", "third", "nobody"};
    kevo_scatter s = {xy, N, group, 3, labels, rgb, traj, "Three groups"};
    const double dpi = 100;
    kevo_figure_opts o = {KEVO_FIGURE_PNG, dpi};
    kevo_figure_layout lay;
    kevo_error err;
    image im = {0};
    if (!CHECK_OK(kevo_scatter_layout(&s, &lay, &err), &err) ||
        !CHECK_OK(kevo_plot_scatter(kevo_test_tmp("scatter.png"), &o, &s, &err), &err) ||
        !image_load(&im, kevo_test_tmp("scatter.png")))
        return;
    CHECK(fabs(lay.data.w / lay.data.h - (20 + 3) / (8 + 2.4)) < 0.05,
          "frame %g x %g: the axes do not share one scale", lay.data.w, lay.data.h);
    for (int g = 0; g < 3; g++) {
        int n = count_pixels(&im, dpi, lay.data, over_white(kevo_rgb_hex(rgb[g]), 0.7), 3);
        CHECK(n >= 30, "group %d: %d pixels of its colour inside the frame", g, n);
    }
    // A group nobody belongs to is in the legend only.
    uint32_t four[4] = {0xFF6347, 0x3CB371, 0x4682B4, 0x9370DB};
    s.group_rgb = four, s.n_groups = 4;
    image_free(&im);
    if (CHECK_OK(kevo_scatter_layout(&s, &lay, &err), &err) &&
        CHECK_OK(kevo_plot_scatter(kevo_test_tmp("scatter4.png"), &o, &s, &err), &err) &&
        image_load(&im, kevo_test_tmp("scatter4.png"))) {
        int n = count_pixels(&im, dpi, lay.data, over_white(kevo_rgb_hex(four[3]), 0.7), 3);
        CHECK(n == 0, "an empty group has %d pixels inside the frame", n);
        image_free(&im);
    }
}

KEVO_TEST(plot_scatter_bad_input)
{
    float xy[6] = {0, 0, 1, NAN, 2, 2};
    int group[3] = {0, 1, 0}, bad_group[3] = {0, 2, 0};
    kevo_figure_opts o = {KEVO_FIGURE_PDF, 0};
    const char *path = kevo_test_tmp("bad.pdf");
    struct {
        const char *what, *needle;
        kevo_scatter s;
    } cases[] = {
        {"NaN point", "point 1 is (1, nan)", {.xy = xy, .n = 3, .group = group, .n_groups = 2}},
        {"group out of range", "point 1 is in group 2",
         {.xy = xy, .n = 1, .group = bad_group, .n_groups = 2}},
        {"no points", "0 points", {.xy = xy, .n = 0, .group = group, .n_groups = 2}},
        {"no groups", "0 groups", {.xy = xy, .n = 3, .group = group, .n_groups = 0}},
        {"no group array", "no groups given", {.xy = xy, .n = 3, .group = NULL, .n_groups = 2}},
    };
    cases[1].s.n = 3;
    float fine[6] = {0, 0, 1, 1, 2, 2};
    cases[1].s.xy = fine;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kevo_error err = {0};
        kevo_status st = kevo_plot_scatter(path, &o, &cases[i].s, &err);
        CHECK(st == KEVO_ERR_ARG, "%s: status %d (%s)", cases[i].what, st, err.msg);
        CHECK(kevo_test_contains(err.msg, cases[i].needle), "%s: message '%s' lacks '%s'",
              cases[i].what, err.msg, cases[i].needle);
    }
    CHECK(file_count(kevo_test_tmpdir()) == 0, "a refused scatter left %d files",
          file_count(kevo_test_tmpdir()));
    // One point, no labels, no colours: drawn with tab20.
    kevo_scatter one = {fine, 1, group, 1, NULL, NULL, NULL, NULL};
    kevo_error err;
    CHECK_OK(kevo_plot_scatter(path, &o, &one, &err), &err);
}

// ---------------------------------------------------------------------------------------------
// Report

static unsigned char *base64_decode(const char *s, size_t n, size_t *out_n)
{
    unsigned char *out = malloc(n / 4 * 3 + 3);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *d = strchr(digits, s[i]);
        if (!d || !s[i]) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (unsigned)(d - digits);
        if ((bits += 6) >= 8)
            out[o++] = (unsigned char)(acc >> (bits -= 8));
    }
    *out_n = o;
    return out;
}

KEVO_TEST(plot_report_embeds_and_escapes)
{
    double v[4] = {0, 0.5, 1, 0.25};
    kevo_heatmap h = heatmap_of(v, 2, 2);
    h.n_bands = 0;
    kevo_error err;
    kevo_figure_opts png = {KEVO_FIGURE_PNG, 40}, svg = {KEVO_FIGURE_SVG, 0};
    if (!CHECK_OK(kevo_plot_heatmap(kevo_test_tmp("a.png"), &png, &h, &err), &err) ||
        !CHECK_OK(kevo_plot_heatmap(kevo_test_tmp("b.svg"), &svg, &h, &err), &err) ||
        !CHECK_OK(kevo_plot_heatmap(kevo_test_tmp("c.svg"), &svg, &h, &err), &err))
        return;
    char pa[2048], pb[2048], pc[2048];
    snprintf(pa, sizeof pa, "%s", kevo_test_tmp("a.png"));
    snprintf(pb, sizeof pb, "%s", kevo_test_tmp("b.svg"));
    snprintf(pc, sizeof pc, "%s", kevo_test_tmp("c.svg"));
    kevo_report_item items[] = {
        {"Intro <script>alert(1)</script>", "Tom & \"Jerry\" <b>bold</b>\nbad \xff byte", NULL,
         NULL},
        {"PNG", NULL, pa, "caption <i>one</i>"},
        {NULL, "no heading", pb, NULL},
        {"second SVG", NULL, pc, "two"},
    };
    const char *out = kevo_test_tmp("report.html");
    if (!CHECK_OK(kevo_report_write(out, "Report <title>", items, 4, &err), &err))
        return;
    size_t n;
    char *html = kevo_test_slurp(out, &n);
    if (!CHECK(html != NULL, "no report"))
        return;
    CHECK(!strncmp(html, "<!DOCTYPE html>", 15), "no doctype");
    CHECK(!kevo_test_contains(html, "<script") && !kevo_test_contains(html, "<b>") &&
              !kevo_test_contains(html, "<i>one") && !kevo_test_contains(html, "<title>Report <"),
          "caller text reached the page unescaped");
    CHECK(kevo_test_contains(html, "Intro &lt;script&gt;alert(1)&lt;/script&gt;") &&
              kevo_test_contains(html, "Tom &amp; &quot;Jerry&quot; &lt;b&gt;") &&
              kevo_test_contains(html, "Report &lt;title&gt;") &&
              kevo_test_contains(html, "bad \xEF\xBF\xBD byte"),
          "escaped text missing");
    // The PNG, byte for byte.
    const char *uri = strstr(html, "data:image/png;base64,");
    size_t png_n = 0, dec_n = 0;
    char *png_bytes = kevo_test_slurp(pa, &png_n);
    if (CHECK(uri && png_bytes, "no PNG data URI")) {
        uri += strlen("data:image/png;base64,");
        unsigned char *dec = base64_decode(uri, strcspn(uri, "\""), &dec_n);
        CHECK(dec && dec_n == png_n && !memcmp(dec, png_bytes, png_n),
              "the embedded PNG (%zu bytes) differs from the file (%zu bytes)", dec_n, png_n);
        free(dec);
    }
    free(png_bytes);
    // Both SVGs inline, without their XML prologs, with ids that do not collide.
    int svgs = 0;
    for (const char *p = html; (p = strstr(p, "<svg")); p++)
        svgs++;
    CHECK(svgs == 2, "%d inline SVGs, want 2", svgs);
    CHECK(!kevo_test_contains(html, "<?xml"), "an XML prolog inside the page");
    CHECK(kevo_test_contains(html, "id=\"fig-3-glyph") &&
              kevo_test_contains(html, "href=\"#fig-4-glyph") &&
              !kevo_test_contains(html, "id=\"glyph"),
          "SVG ids are not prefixed per figure");
    const char *why = "";
    const char *body = strstr(html, "<svg");
    if (body) {
        char *one = strndup(body, (size_t)(strstr(body, "</svg>") + 6 - body));
        CHECK(xml_well_formed(one, &why), "inline SVG not well-formed: %s", why);
        free(one);
    }
    free(html);
}

KEVO_TEST(plot_report_bad_figures)
{
    kevo_error err;
    CHECK(kevo_test_write(kevo_test_tmp("fake.png"), "not a png at all, just some text", 33),
          "write fake.png");
    CHECK(kevo_test_write(kevo_test_tmp("fake.svg"), "<html></html>", 13), "write fake.svg");
    CHECK(kevo_test_write(kevo_test_tmp("x.pdf"), "%PDF-1.5\n%%EOF\n", 15), "write x.pdf");
    struct {
        const char *file, *needle;
        kevo_status status;
    } cases[] = {
        {"missing.png", "missing.png", KEVO_ERR_IO},
        {"fake.png", "not a PNG", KEVO_ERR_FORMAT},
        {"fake.svg", "not an SVG", KEVO_ERR_FORMAT},
        {"x.pdf", ".png and .svg", KEVO_ERR_ARG},
    };
    char out[2048];
    snprintf(out, sizeof out, "%s", kevo_test_tmp("report.html"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char fig[2048];
        snprintf(fig, sizeof fig, "%s", kevo_test_tmp(cases[i].file));
        kevo_report_item items[2] = {{"text first", "written before the figure fails", NULL, NULL},
                                     {"figure", NULL, fig, NULL}};
        kevo_status st = kevo_report_write(out, "t", items, 2, &err);
        CHECK(st == cases[i].status, "%s: status %d (%s)", cases[i].file, st, err.msg);
        CHECK(kevo_test_contains(err.msg, cases[i].needle) &&
                  kevo_test_contains(err.msg, "report.html"),
              "%s: message '%s' lacks '%s' or the report's name", cases[i].file, err.msg,
              cases[i].needle);
        CHECK(!kevo_file_exists(out), "%s: a failed report left a file", cases[i].file);
    }
    CHECK(file_count(kevo_test_tmpdir()) == 3, "%d files (temporary files left?)",
          file_count(kevo_test_tmpdir()));
    CHECK(kevo_report_write(out, "t", NULL, 2, &err) == KEVO_ERR_ARG, "NULL items accepted");
    CHECK_OK(kevo_report_write(out, NULL, NULL, 0, &err), &err);
}
