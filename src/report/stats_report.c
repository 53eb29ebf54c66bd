// stats_report.c — `kevo stats`' output folder (kevo/stats.h): the tables of stats_tables.c,
// four figures (the critical and the mutation layers' distributions over items and over tokens,
// the items' divergence profiles with their quartiles, the share of tokens that mutate by kind)
// and report.html, built in a temporary folder that replaces the output folder whole. With
// several groups every figure holds each group's series, named by the group.
#include "kevo.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/stats.h"
#include "base/error.h"
#include "io/outputs.h"
#include "plot/plot.h"

#define TEXT_MAX 16384
#define LABEL_MAX 160

typedef struct chart_data {
    double *y;                 // (n_series, n_x)
    char (*label)[LABEL_MAX];  // (n_series)
    const char **labels;
    int n_series, n_x;
} chart_data;

static void chart_free(chart_data *c)
{
    free(c->y);
    free(c->label);
    free(c->labels);
}

static kevo_status chart_alloc(chart_data *c, int n_series, int n_x, kevo_error *err)
{
    *c = (chart_data){calloc((size_t)n_series * n_x, sizeof(double)),
                      calloc((size_t)n_series, sizeof *c->label),
                      calloc((size_t)n_series, sizeof(char *)), n_series, n_x};
    if (!c->y || !c->label || !c->labels) {
        chart_free(c);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the figures");
    }
    for (int i = 0; i < n_series; i++)
        c->labels[i] = c->label[i];
    return KEVO_OK;
}

static int max_layers(const kevo_stats *s)
{
    int L = 1;
    for (int g = 0; g < s->n_groups; g++)
        L = s->groups[g].first.layers > L ? s->groups[g].first.layers : L;
    return L;
}

static double top_of(const double *y, size_t n, double floor_value)
{
    double m = floor_value;
    for (size_t i = 0; i < n; i++)
        m = isfinite(y[i]) ? fmax(m, y[i]) : m;
    return m > 0 ? 1.08 * m : 1;
}

// A layer's distribution: per group the share of items and the share of tokens at each hidden
// state 0..L (those without the layer are left out of the curve, counted in the caption).
static kevo_status draw_layers(const kevo_stats *s, int mutation, const char *path,
                               const kevo_figure_opts *o, kevo_error *err)
{
    int L = max_layers(s), G = s->n_groups;
    chart_data c;
    kevo_status st = chart_alloc(&c, 2 * G, L + 1, err);
    if (st != KEVO_OK)
        return st;
    for (int g = 0; g < G; g++) {
        const stats_group *gr = &s->groups[g];
        const long long *h[2] = {mutation ? gr->mut_item : gr->crit_item,
                                 mutation ? gr->mut_tok : gr->crit_tok};
        long long n[2] = {gr->n_items, gr->n_tokens};
        const char *what[2] = {mutation ? "M, items" : "C, items",
                               mutation ? "m_t, tokens" : "c_t, tokens"};
        for (int k = 0; k < 2; k++) {
            int row = 2 * g + k;
            for (int l = 0; l <= gr->first.layers; l++)
                c.y[(size_t)row * (L + 1) + l] = n[k] ? (double)h[k][l] / (double)n[k] : 0;
            snprintf(c.label[row], LABEL_MAX, "%s%s%s", G > 1 ? gr->name : "", G > 1 ? " " : "",
                     what[k]);
        }
    }
    char title[256];
    snprintf(title, sizeof title, "%s layer: share of items (the run's layer) and of tokens "
             "(each token's own), %d runs", mutation ? "Mutation" : "Critical", s->n_runs);
    kevo_area_chart ch = {c.y, c.n_series, c.n_x, c.labels, title, "Hidden-state index",
                          "share", 0, top_of(c.y, (size_t)c.n_series * c.n_x, 0), NULL, 0,
                          KEVO_AREA_BARS};
    st = kevo_plot_area(path, o, &ch, err);
    chart_free(&c);
    return st;
}

static kevo_status draw_profile(const kevo_stats *s, const char *path,
                                const kevo_figure_opts *o, kevo_error *err)
{
    int L = max_layers(s), G = s->n_groups;
    chart_data c;
    kevo_status st = chart_alloc(&c, 3 * G, L, err);
    if (st != KEVO_OK)
        return st;
    double lo = 0, hi = -INFINITY;
    for (int g = 0; g < G; g++) {
        const stats_group *gr = &s->groups[g];
        const double *q[3] = {gr->q1, gr->median, gr->q3};
        const char *name[3] = {"q1", "median", "q3"};
        for (int k = 0; k < 3; k++) {
            double *y = c.y + (size_t)(3 * g + k) * L;
            for (int i = 0; i < L; i++) {
                // a group with fewer layers holds its last value (a flat end, not a fall)
                y[i] = q[k][i < gr->first.layers ? i : gr->first.layers - 1];
                lo = fmin(lo, y[i]);
                hi = fmax(hi, y[i]);
            }
            snprintf(c.label[3 * g + k], LABEL_MAX, "%s%s%s", G > 1 ? gr->name : "",
                     G > 1 ? " " : "", name[k]);
        }
    }
    char title[256];
    snprintf(title, sizeof title, "Each item's median log10 divergence per transition: "
             "quartiles across %d items", s->n_runs);
    double pad = 0.05 * (hi - lo) + 0.1;
    kevo_area_chart ch = {c.y, c.n_series, c.n_x, c.labels, title, "Transition i (state i to i+1)",
                          "log10 divergence", lo - pad, fmax(hi, lo) + pad, NULL, 0, 1};
    st = kevo_plot_area(path, o, &ch, err);
    chart_free(&c);
    return st;
}

static kevo_status draw_kinds(const kevo_stats *s, const char *path, const kevo_figure_opts *o,
                              kevo_error *err)
{
    int G = s->n_groups;
    chart_data c;
    kevo_status st = chart_alloc(&c, G, STATS_N_KINDS, err);
    if (st != KEVO_OK)
        return st;
    for (int g = 0; g < G; g++) {
        const stats_group *gr = &s->groups[g];
        long long n = 0;
        for (int k = 0; k < STATS_N_KINDS; k++) {
            c.y[(size_t)g * STATS_N_KINDS + k] =
                gr->kind_tokens[k] ? (double)gr->kind_mut[k] / (double)gr->kind_tokens[k] : 0;
            n += gr->kind_tokens[k];
        }
        snprintf(c.label[g], LABEL_MAX, "%s%s%lld tokens", G > 1 ? gr->name : "",
                 G > 1 ? " " : "", n);
    }
    kevo_area_chart ch = {c.y, c.n_series, c.n_x, c.labels,
                          "Share of tokens that mutate: 0 content words, 1 function words, "
                          "2 punctuation, 3 control pieces", "Kind of token", "share mutated", 0,
                          top_of(c.y, (size_t)c.n_series * c.n_x, 0), NULL, 0,
                          KEVO_AREA_BARS};
    st = kevo_plot_area(path, o, &ch, err);
    chart_free(&c);
    return st;
}

// ---------------------------------------------------------------------------------------------
// The report's text

static size_t put(char *buf, size_t size, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t put(char *buf, size_t size, size_t n, const char *fmt, ...)
{
    if (n >= size)
        return n;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
    return k > 0 ? n + (size_t)k : n;
}

static void summary_text(const kevo_stats *s, char *buf, size_t size)
{
    size_t n = put(buf, size, 0, "%d analysed runs, %lld tokens, from", s->n_runs, s->n_tokens);
    for (int i = 0; i < s->n_inputs; i++)
        n = put(buf, size, n, " %s", s->inputs[i]);
    n = put(buf, size, n, ".\n");
    for (int g = 0; g < s->n_groups; g++) {
        char line[1024];
        kevo_stats_group_text(s, g, line, sizeof line);
        n = put(buf, size, n, "%s.\n", line);
    }
    if (s->n_skipped)
        n = put(buf, size, n, "Skipped %d run folders without an analysis (listed in "
                "stats.json), e.g. %s.\n", s->n_skipped, s->skipped[0]);
    for (int i = 0; i < s->n_warnings; i++)
        n = put(buf, size, n, "Warning: %s\n", s->warnings[i]);
}

static void kinds_text(const kevo_stats *s, char *buf, size_t size)
{
    size_t n = 0;
    for (int g = 0; g < s->n_groups; g++) {
        const stats_group *gr = &s->groups[g];
        n = put(buf, size, n, "%s:\n", gr->name);
        for (int k = 0; k < STATS_N_KINDS; k++)
            n = put(buf, size, n, "  %s: %lld of %lld tokens mutate (%.1f %%), %d items\n",
                    kevo_stats_kind_names[k], gr->kind_mut[k], gr->kind_tokens[k],
                    gr->kind_tokens[k] ? 100.0 * (double)gr->kind_mut[k] /
                                             (double)gr->kind_tokens[k] : 0.0,
                    gr->kind_items[k]);
    }
}

static void shift_text(const kevo_stats *s, char *buf, size_t size)
{
    size_t n = 0;
    for (int g = 0; g < s->n_groups; g++) {
        const stats_group *gr = &s->groups[g];
        if (!gr->n_ref_items) {
            n = put(buf, size, n, "%s: no item has references (item.json).\n", gr->name);
            continue;
        }
        n = put(buf, size, n, "%s: %lld mutated tokens of %d items with references (%lld "
                "tokens); the top token before each mutation and after it, judged.\n",
                gr->name, gr->n_ref_mutated, gr->n_ref_items, gr->n_ref_tokens);
        for (int a = 0; a < STATS_N_JUDGED; a++) {
            n = put(buf, size, n, "  before %s:", kevo_stats_judge_names[a]);
            for (int b = 0; b < STATS_N_JUDGED; b++)
                n = put(buf, size, n, "%s -> %s %lld", b ? ", " : " ", kevo_stats_judge_names[b],
                        gr->shift[a][b]);
            n = put(buf, size, n, "\n");
        }
        for (int j = 0; j < 2; j++)
            n = put(buf, size, n, "  %s generated content-word tokens: %lld, of which %lld "
                    "mutate (%d items with references and a critical layer)\n",
                    kevo_stats_judge_names[j], gr->judge_tokens[j], gr->judge_mut[j],
                    gr->n_judged_items);
    }
}

// Draws one figure as NAME.<ext> in dir; its path for the report into path.
static kevo_status figure(kevo_status (*fn)(const kevo_stats *, const char *,
                                            const kevo_figure_opts *, kevo_error *),
                          const kevo_stats *s, const char *dir, const char *name,
                          const kevo_figure_opts *o, char path[KEVO_PATH_MAX], kevo_error *err)
{
    char file[64];
    snprintf(file, sizeof file, "%s.%s", name, kevo_figure_format_ext(o->format));
    kevo_status st = kevo_path_join(path, KEVO_PATH_MAX, dir, file, err);
    return st ? st : fn(s, path, o, err);
}

static kevo_status draw_critical(const kevo_stats *s, const char *path,
                                 const kevo_figure_opts *o, kevo_error *err)
{
    return draw_layers(s, 0, path, o, err);
}

static kevo_status draw_mutation(const kevo_stats *s, const char *path,
                                 const kevo_figure_opts *o, kevo_error *err)
{
    return draw_layers(s, 1, path, o, err);
}

static kevo_status write_report(const kevo_stats *s, const char *dir, const kevo_figure_opts *o,
                                kevo_error *err)
{
    if (o->format == KEVO_FIGURE_PDF)
        return kevo_fail(err, KEVO_ERR_ARG, "kevo stats draws PNG or SVG figures");
    char crit[KEVO_PATH_MAX], mut[KEVO_PATH_MAX], prof[KEVO_PATH_MAX], kinds[KEVO_PATH_MAX];
    char path[KEVO_PATH_MAX];
    kevo_status st = figure(draw_critical, s, dir, "critical", o, crit, err);
    if (st == KEVO_OK)
        st = figure(draw_mutation, s, dir, "mutation", o, mut, err);
    if (st == KEVO_OK)
        st = figure(draw_profile, s, dir, "profile", o, prof, err);
    if (st == KEVO_OK)
        st = figure(draw_kinds, s, dir, "token_kinds", o, kinds, err);
    char *text = malloc(3 * (size_t)TEXT_MAX);
    if (st == KEVO_OK && !text)
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the report");
    if (st != KEVO_OK) {
        free(text);
        return st;
    }
    summary_text(s, text, TEXT_MAX);
    kinds_text(s, text + TEXT_MAX, TEXT_MAX);
    shift_text(s, text + 2 * TEXT_MAX, TEXT_MAX);
    kevo_report_item items[] = {
        {"Runs", text, NULL, NULL},
        {"Critical layers", NULL, crit, "Share of items whose run-level critical layer C is at "
         "each hidden state, and share of tokens whose own critical layer c_t (top-1 >= theta) "
         "is (layers.csv; items without one are counted as \"none\")."},
        {"Mutation layers", NULL, mut, "Share of items whose run-level mutation layer M is at "
         "each state, and share of tokens that mutate there (m_t; layers.csv)."},
        {"Divergence profiles", NULL, prof, "Each item's median over its tokens of log10 of the "
         "divergence between consecutive layers (stages.json's divergence_profile_log10), and "
         "the quartiles of those medians across items per transition (profile.csv). A group "
         "with fewer layers than another is drawn flat after its last transition."},
        {"Which tokens mutate", text + TEXT_MAX, kinds, "Share of tokens that mutate by kind, "
         "over the tokens of items with a critical layer (token_kinds.csv; docs/stats.md gives "
         "the rule)."},
        {"Mutations against the references", text + 2 * TEXT_MAX, NULL,
         "Each mutated token's top token before and after its mutation judged against the "
         "item's references (shift.csv, hallucination.csv; docs/stats.md)."},
    };
    st = kevo_path_join(path, sizeof path, dir, "report.html", err);
    if (st == KEVO_OK)
        st = kevo_report_write(path, "kevo stats: stages over a dataset", items,
                               (int)(sizeof items / sizeof items[0]), err);
    free(text);
    return st;
}

kevo_status kevo_stats_write(const kevo_stats *s, const char *out_dir,
                             const kevo_stats_params *p, kevo_error *err)
{
    kevo_outdir *od = NULL;
    kevo_status st = kevo_outdir_open(out_dir, kevo_stats_folder_owned, &od, err);
    if (st == KEVO_OK)
        st = kevo_stats_write_tables(s, kevo_outdir_path(od), err);
    if (st == KEVO_OK)
        st = write_report(s, kevo_outdir_path(od), &p->figure, err);
    if (st == KEVO_OK && p->interrupt && *p->interrupt)
        st = kevo_fail(err, KEVO_ERR_INTERRUPTED, "interrupted");
    if (st == KEVO_OK)
        return kevo_outdir_commit(od, err);
    kevo_outdir_abort(od, err);
    return st;
}
