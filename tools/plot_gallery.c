// plot_gallery.c — renders every kind of figure from synthetic data, for looking at them.
//
// Built and run by tools/plot_gallery.sh OUT_DIR [png|svg|pdf] [DPI]. The data imitate the
// authors' figures (the child caption, four candidate tokens, radial t-SNE arms) and add the
// awkward cases: one row, 80 columns, long and non-Latin labels, missing values, many series.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/plot.h"

static unsigned long long rng_state = 42;

static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double normal(void)
{
    double u = uniform() + 1e-12, v = uniform();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static const char *out_dir, *ext;
static kevo_figure_opts opts;
static int failures;

static const char *out_path(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s.%s", out_dir, name, ext);
    return buf;
}

static void done(const char *name, kevo_status st, const kevo_error *err)
{
    if (st == KEVO_OK)
        printf("%s\n", out_path(name));
    else {
        fprintf(stderr, "plot_gallery: %s: %s\n", name, err->msg);
        failures++;
    }
}

static const char *caption[40] = {
    "The", "image", "features", "a", "small", "child", "standing", "in", "a", "grass",
    "y", "field", ".", "We", "aring", "a", "strip", "ed", "sh", "irt",
    "and", "a", "tie", ".", "The", "child", "appears", "to", "be", "cry",
    "ing", ",", "possibly", "due", "to", "the", "grass", "being", "too", "long"};

// Per-column MaxAbs scaling, as sklearn's MaxAbsScaler on the authors' matrix.
static void maxabs_columns(double *v, int rows, int cols)
{
    for (int c = 0; c < cols; c++) {
        double m = 0;
        for (int r = 0; r < rows; r++)
            m = fmax(m, fabs(v[r * cols + c]));
        for (int r = 0; r < rows && m > 0; r++)
            v[r * cols + c] /= m;
    }
}

static void divergence_like(double *v, int rows, int cols, int critical, int mutation)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double x;
            if (c < critical)
                x = 0.25 + 0.75 * uniform() * (c < 4 ? 0.5 : 1);
            else if (c >= mutation && uniform() < 0.25)
                x = 0.4 + 0.6 * uniform();
            else
                x = pow(10, -1 - 5 * uniform()) * (uniform() < 0.05 ? 300 : 1);
            v[r * cols + c] = x;
        }
    maxabs_columns(v, rows, cols);
}

static void heatmaps(void)
{
    kevo_error err;
    kevo_band bands[] = {{0, 18, "rapid evolution (0-18)", 0xF4A582},
                         {19, 29, "stabilisation (19-29)", 0x92C5DE},
                         {30, 31, "mutation (30-31)", 0xB2182B}};
    double *v = malloc(sizeof(double) * 40 * 80);
    divergence_like(v, 40, 32, 19, 30);
    kevo_heatmap h = {v, 40, 32, caption, NULL,
                      "Change of the next-token distribution between consecutive layers",
                      "Transition (hidden state i → i+1)", "Generated token",
                      "JS divergence (scaled per column)", "Purples", 0, 1, 1, bands, 3};
    done("heatmap", kevo_plot_heatmap(out_path("heatmap"), &opts, &h, &err), &err);

    // One row, two columns, a missing value, a label in Chinese and an emoji, a long title.
    double one[2] = {0.25, NAN};
    const char *one_label[] = {"小孩 😀 café"};
    kevo_heatmap small = {one, 1, 2, one_label, NULL, "A single token over two transitions",
                          "Transition (hidden state i → i+1)", "Token", "value", "Purples", 0, 1,
                          1, NULL, 0};
    done("heatmap-1x2", kevo_plot_heatmap(out_path("heatmap-1x2"), &opts, &small, &err), &err);

    // Eighty columns, long row labels, no annotations, bands whose labels do not fit.
    const char *longrows[5] = {"▁supercalifragilisticexpialidocious-and-more",
                               "<s>", "▁▁▁indented",
                               "a", "“quoted”"};
    divergence_like(v, 5, 80, 60, 76);
    kevo_band many[] = {{0, 59, "rapid evolution", 0xF4A582},
                        {60, 77, "stabilisation", 0x92C5DE},
                        {78, 79, "mutation (78-79)", 0xB2182B}};
    kevo_heatmap wide = {v, 5, 80, longrows, NULL, "Eighty transitions, five tokens",
                         "Transition", "Token", "scaled JS", "Purples", 0, 1, 0, many, 3};
    done("heatmap-5x80", kevo_plot_heatmap(out_path("heatmap-5x80"), &opts, &wide, &err),
           &err);

    // Raw values: tiny magnitudes, with the annotations in scientific notation.
    for (int i = 0; i < 6 * 12; i++)
        v[i] = 3e-6 * uniform() * (i % 12 < 6 ? 1 : 0.01);
    const char *cols[12] = {"L0→L1", "L1→L2", "L2→L3",
                            "L3→L4", "L4→L5", "L5→L6",
                            "L6→L7", "L7→L8", "L8→L9",
                            "L9→L10", "L10→L11", "L11→L12"};
    kevo_heatmap raw = {v, 6, 12, caption, cols, "Raw divergences (unscaled)", NULL, NULL,
                        "JS / V", "Purples", 0, 3e-6, 1, NULL, 0};
    done("heatmap-raw", kevo_plot_heatmap(out_path("heatmap-raw"), &opts, &raw, &err), &err);
    free(v);
}

static double bump(double x, double centre, double width)
{
    return exp(-(x - centre) * (x - centre) / (2 * width * width));
}

static void area_charts(void)
{
    kevo_error err;
    enum { N_X = 33 };
    const char *labels[4] = {"▁young", "▁little", "▁to",
                             "▁small"};
    double y[4 * N_X] = {0};
    for (int x = 0; x < N_X; x++) {
        y[0 * N_X + x] = x >= 19 && x <= 24 ? 0.5 * bump(x, 21.5, 1.2) : 0;
        y[1 * N_X + x] = x >= 20 && x <= 30 ? fmin(1, 0.12 * (x - 20) + 0.05 * (x > 24)) : 0;
        y[2 * N_X + x] = x == 31 ? 1.0 : 0;
        y[3 * N_X + x] = x >= 29 ? 0.04 * (x - 28) + (x == 32) * 0.3 : 0;
    }
    y[1 * N_X + 32] = 0.08;
    kevo_band bands[] = {{0, 19, "rapid evolution (0-19)", 0xF4A582},
                         {20, 30, "stabilisation (20-30)", 0x92C5DE},
                         {31, 32, "mutation (31-32)", 0xB2182B}};
    kevo_area_chart a = {y, 4, N_X, labels, "Step 5: candidates for “little” "
                         "(logit lens, raw residual stream)", "Layer (hidden state index)",
                         "Probability", 0, 1, bands, 3};
    done("area", kevo_plot_area(out_path("area"), &opts, &a, &err), &err);

    // Thirteen candidates, some present from the first layers: the legend must move outside.
    enum { N_S = 13 };
    static double many[N_S * N_X];
    const char *names[N_S] = {"▁a", "▁the", "▁child",
                              "▁kid", "▁boy", "▁girl",
                              "▁toddler", "▁baby", "▁person",
                              "▁小孩",
                              "▁an-extremely-long-candidate-token-label-that-goes-on",
                              ",", "<0x0A>"};
    for (int s = 0; s < N_S; s++)
        for (int x = 0; x < N_X; x++)
            many[s * N_X + x] = 0.9 * bump(x, 2.5 * s + 1, 1.6 + 0.1 * s) * (0.6 + 0.4 * uniform());
    kevo_area_chart m = {many, N_S, N_X, names, "Thirteen candidates (legend outside)",
                         "Layer", "Probability", 0, 1, bands, 3};
    done("area-13", kevo_plot_area(out_path("area-13"), &opts, &m, &err), &err);
}

static void scatters(void)
{
    kevo_error err;
    const uint32_t rgb[4] = {0xFF6347, 0x3CB371, 0x4682B4, 0x9370DB};
    const char *stage[4] = {"layers 1-2", "layers 3-18 (rapid evolution)",
                            "layers 19-31 (stabilisation)", "layer 32 (after the final norm)"};
    enum { TOKENS = 40, LAYERS = 32 };
    float *xy = malloc(sizeof(float) * 2 * TOKENS * LAYERS);
    int *group = malloc(sizeof(int) * TOKENS * LAYERS);
    int *traj = malloc(sizeof(int) * TOKENS * LAYERS);
    for (int t = 0; t < TOKENS; t++) {
        double angle = 2 * M_PI * t / TOKENS + 0.3 * normal(), bend = 0.03 * normal();
        for (int k = 1; k <= LAYERS; k++) {
            int i = t * LAYERS + k - 1;
            double r = k <= 2 ? 0.6 * fabs(normal()) : 1.2 + 0.55 * (k - 2) + 0.05 * normal();
            double a = angle + bend * (k - 2) * (k > 2);
            if (k == LAYERS)
                r = 1.2 + 0.55 * 29 + 1.0 + 0.4 * normal();
            xy[2 * i] = (float)(r * cos(a) + (k <= 2 ? 0.4 * normal() : 0));
            xy[2 * i + 1] = (float)(r * sin(a) + (k <= 2 ? 0.4 * normal() : 0));
            group[i] = k <= 2 ? 0 : k <= 18 ? 1 : k <= 31 ? 2 : 3;
            traj[i] = t;
        }
    }
    kevo_scatter s = {xy, TOKENS * LAYERS, group, 4, stage, rgb, NULL,
                      "t-SNE of every generated token's hidden states, layers 1-32"};
    done("tsne", kevo_plot_scatter(out_path("tsne"), &opts, &s, &err), &err);
    s.trajectory = traj;
    s.title = "The same map with each token's layers joined in order";
    done("tsne-trajectories", kevo_plot_scatter(out_path("tsne-trajectories"), &opts, &s, &err),
           &err);

    // Twelve images, one token: a shared "neck" (layers 1-19) and a fanned-out "body".
    enum { IMAGES = 12 };
    for (int m = 0; m < IMAGES; m++)
        for (int k = 1; k <= LAYERS; k++) {
            int i = m * LAYERS + k - 1;
            double x, y;
            if (k <= 19) {
                x = 10 - 0.5 * k + 0.08 * normal();
                y = -8 + 0.8 * k + 0.08 * normal();
            } else if (k < LAYERS) {
                double a = 2.0 + 0.12 * (m - 5.5);
                x = 0.5 + (k - 19) * 0.45 * cos(a);
                y = 7.2 + (k - 19) * 0.45 * sin(a);
            } else {
                x = 7 + 0.15 * normal();
                y = -8.5 + 0.15 * normal();
            }
            xy[2 * i] = (float)x;
            xy[2 * i + 1] = (float)y;
            group[i] = k <= 2 ? 0 : k <= 19 ? 1 : k <= 31 ? 2 : 3;
            traj[i] = m;
        }
    const char *stage2[4] = {"layers 1-2", "layers 3-19", "layers 20-31", "layer 32"};
    kevo_scatter c = {xy, IMAGES * LAYERS, group, 4, stage2, rgb, traj,
                      "Twelve flower images, the colour word's step: one map"};
    done("tsne-combined", kevo_plot_scatter(out_path("tsne-combined"), &opts, &c, &err), &err);

    // A single point in a single group, with no labels at all.
    int g0 = 0;
    kevo_scatter one = {xy, 1, &g0, 1, NULL, NULL, NULL, NULL};
    done("tsne-1", kevo_plot_scatter(out_path("tsne-1"), &opts, &one, &err), &err);
    free(xy);
    free(group);
    free(traj);
}

// The report gathering the figures above (PNG or SVG; a PDF gallery has no report).
static void write_report(void)
{
    if (opts.format == KEVO_FIGURE_PDF)
        return;
    static const char *names[] = {"heatmap", "area", "area-13", "tsne", "tsne-combined",
                                  "heatmap-1x2", "heatmap-5x80", "heatmap-raw"};
    enum { N = sizeof names / sizeof names[0] };
    char paths[N][4096];
    kevo_report_item items[N + 1];
    items[0] = (kevo_report_item){"About this gallery",
                                  "Synthetic data in the shape of the authors' figures, plus the "
                                  "awkward cases: one row, eighty columns, long labels, labels in "
                                  "Chinese, missing values.\n"
                                  "Text is escaped: <script>alert('x')</script> & co.",
                                  NULL, NULL};
    for (int i = 0; i < N; i++) {
        snprintf(paths[i], sizeof paths[i], "%s", out_path(names[i]));
        items[i + 1] = (kevo_report_item){names[i], NULL, paths[i], names[i]};
    }
    kevo_error err;
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", out_dir);
    kevo_status st = kevo_report_write(path, "kevo figure gallery", items, N + 1, &err);
    if (st == KEVO_OK)
        printf("%s\n", path);
    else {
        fprintf(stderr, "plot_gallery: report: %s\n", err.msg);
        failures++;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: plot_gallery OUT_DIR [png|svg|pdf] [DPI]\n");
        return 2;
    }
    out_dir = argv[1];
    ext = argc > 2 ? argv[2] : "png";
    kevo_error err;
    if (kevo_figure_format_parse(ext, &opts.format, &err) != KEVO_OK) {
        fprintf(stderr, "plot_gallery: %s\n", err.msg);
        return 2;
    }
    opts.dpi = argc > 3 ? atof(argv[3]) : 150;
    heatmaps();
    area_charts();
    scatters();
    write_report();
    return failures ? 1 : 0;
}
