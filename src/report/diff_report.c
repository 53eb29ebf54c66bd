// diff_report.c — `kevo diff` end to end (kevo.h, kevo/diff.h): the checks, the comparison, its
// tables, two line charts over the layers (the states' relative error, the lenses' JSD), the
// heatmap of the JSD over steps and layers, and report.html, built in a temporary folder that
// replaces the output folder whole.
#include "kevo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/diff.h"
#include "base/error.h"
#include "base/fs.h"
#include "io/outputs.h"
#include "io/runfolder.h"
#include "model/model.h"
#include "plot/plot.h"
#include "report/figures.h"

#define HEAT_ROWS 40
#define LABEL_MAX 64

typedef kevo_status (*diff_draw_fn)(const kevo_diff *d, const char *path,
                                    const kevo_figure_opts *o, kevo_error *err);

// The y range of a chart of non-negative values: 0 to a little above the largest (0 to 1 when
// every value is 0).
static double top_of(const double *y, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, y[i]);
    return m > 0 ? 1.08 * m : 1;
}

static kevo_status draw_error(const kevo_diff *d, const char *path, const kevo_figure_opts *o,
                              kevo_error *err)
{
    int S = d->S;
    double *y = malloc(2 * (size_t)S * sizeof *y);
    if (!y)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    memcpy(y, d->mean_rel, (size_t)S * sizeof *y);
    memcpy(y + S, d->max_rel, (size_t)S * sizeof *y);
    const char *labels[] = {"mean over steps", "max over steps"};
    char title[256];
    snprintf(title, sizeof title, "Relative error ||a - b|| / ||a|| of the hidden states, %d "
             "steps", d->T);
    kevo_area_chart ch = {y, 2, S, labels, title, "Hidden-state index",
                          "relative error", 0, top_of(y, 2 * (size_t)S), NULL, 0, 1};
    kevo_status st = kevo_plot_area(path, o, &ch, err);
    free(y);
    return st;
}

static kevo_status draw_jsd(const kevo_diff *d, const char *path, const kevo_figure_opts *o,
                            kevo_error *err)
{
    int S = d->S;
    double *y = malloc(2 * (size_t)S * sizeof *y);
    if (!y)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    memcpy(y, d->median_jsd, (size_t)S * sizeof *y);
    memcpy(y + S, d->max_jsd, (size_t)S * sizeof *y);
    const char *labels[] = {"median over steps", "max over steps"};
    char title[256];
    snprintf(title, sizeof title, "Jensen-Shannon divergence between the runs' lens "
             "distributions (A: %s lens, B: %s lens), %d steps", kevo_lens_mode_name(d->p.lens_a),
             kevo_lens_mode_name(d->p.lens_b), d->T);
    kevo_area_chart ch = {y, 2, S, labels, title, "Hidden-state index", "JSD (bits)", 0,
                          top_of(y, 2 * (size_t)S), NULL, 0, 1};
    kevo_status st = kevo_plot_area(path, o, &ch, err);
    free(y);
    return st;
}

// A step's row label: its token, or "A / B" where the runs generated different tokens.
static const char *row_label(const kevo_diff *d, int t, char *buf, size_t size)
{
    char la[LABEL_MAX], lb[LABEL_MAX];
    const kevo_runfolder *r[2] = {d->a, d->b};
    const kevo_model *m[2] = {d->ma, d->mb};
    char *out[2] = {la, lb};
    for (int i = 0; i < 2; i++) {
        int id = r[i]->generated_ids[t];
        const kevo_tokenizer *tok = m[i]->tokenizer;
        if (tok && kevo_tokenizer_piece(tok, id))
            kevo_tokenizer_piece_display(tok, id, out[i], LABEL_MAX);
        else
            kevo_piece_label(r[i]->pieces[t], out[i], LABEL_MAX);
    }
    if (r[0]->generated_ids[t] == r[1]->generated_ids[t])
        snprintf(buf, size, "%s", la);
    else
        snprintf(buf, size, "%s / %s", la, lb);
    return buf;
}

static kevo_status draw_heatmap(const kevo_diff *d, const char *path, const kevo_figure_opts *o,
                                kevo_error *err)
{
    int rows = d->T < HEAT_ROWS ? d->T : HEAT_ROWS, S = d->S;
    char (*labels)[2 * LABEL_MAX + 4] = malloc((size_t)rows * sizeof *labels);
    const char **rl = malloc((size_t)rows * sizeof *rl);
    if (!labels || !rl) {
        free(labels);
        free(rl);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int t = 0; t < rows; t++)
        rl[t] = row_label(d, t, labels[t], sizeof labels[t]);
    char title[256];
    snprintf(title, sizeof title, "JSD between the runs' lens distributions at the same index "
             "(bits), first %d steps", rows);
    kevo_heatmap h = {d->jsd, rows, S, rl, NULL, title, "Hidden-state index",
                      "Token (A / B)", "JSD (bits)", "Purples", 0,
                      top_of(d->jsd, (size_t)rows * S) / 1.08, S <= 48, NULL, 0};
    kevo_status st = kevo_plot_heatmap(path, o, &h, err);
    free(labels);
    free(rl);
    return st;
}

// Draws one figure in the chosen format and, for PDF, a PNG copy for the report, whose path goes
// into report_path.
static kevo_status draw_both(diff_draw_fn fn, const kevo_diff *d, const char *dir,
                             const char *name, const kevo_figure_opts *o, char *report_path,
                             kevo_error *err)
{
    char file[64], path[KEVO_PATH_MAX];
    snprintf(file, sizeof file, "%s.%s", name, kevo_figure_format_ext(o->format));
    kevo_status st = kevo_path_join(path, sizeof path, dir, file, err);
    if (st == KEVO_OK)
        st = fn(d, path, o, err);
    if (st != KEVO_OK || o->format != KEVO_FIGURE_PDF) {
        snprintf(report_path, KEVO_PATH_MAX, "%s", path);
        return st;
    }
    kevo_figure_opts png = {KEVO_FIGURE_PNG, o->dpi};
    snprintf(file, sizeof file, "%s.png", name);
    st = kevo_path_join(report_path, KEVO_PATH_MAX, dir, file, err);
    return st ? st : fn(d, report_path, &png, err);
}

// ---------------------------------------------------------------------------------------------
// The report

static size_t run_text(const kevo_diff *d, int which, char *buf, size_t size)
{
    const kevo_runfolder *r = which ? d->b : d->a;
    const kevo_model *m = which ? d->mb : d->ma;
    const kevo_config *c = &m->config;
    return (size_t)snprintf(buf, size, "Run %c: %s\n  model %s (%d layers, width %d, %d "
                            "vocabulary rows), %s lens\n  answer: %s (%d tokens)\n",
                            'A' + which, r->dir, m->dir, c->text_layers, c->text_hidden,
                            c->text_vocab, kevo_lens_mode_name(which ? d->p.lens_b : d->p.lens_a),
                            r->text, r->n_steps);
}

static void summary_text(const kevo_diff *d, char *buf, size_t size)
{
    kevo_diff_summary s = kevo_diff_summarize(d);
    char pa[LABEL_MAX], pb[LABEL_MAX];
    size_t n = (size_t)snprintf(buf, size, "Compared: %d steps x hidden-state indices 0..%d. "
                                "Images: %s.%s%s\n", s.steps, s.states - 1, d->image_check,
                                d->differs[0] ? " Inputs differ (--force): " : "", d->differs);
    if (s.compared_states && n < size)
        n += (size_t)snprintf(buf + n, size - n, "States: relative error at most %.3g, cosine "
                              "at least %.9g.\n", s.max_rel_err, s.min_cosine);
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "Lenses: JSD at most %.3g bits; the top tokens "
                              "agree at the last compared index in %d of %d steps.\n", s.max_jsd,
                              s.final_agree, s.steps);
    if (s.first_step >= 0 && n < size) {
        size_t k = (size_t)s.first_step * d->S + s.first_index;
        n += (size_t)snprintf(buf + n, size - n, "Top tokens first disagree at step %d, index "
                              "%d (A: \"%s\", B: \"%s\"); the shallowest disagreement is at index "
                              "%d (step %d).\n", s.first_step, s.first_index,
                              kevo_diff_piece(d, 0, d->top_a[k], pa, sizeof pa),
                              kevo_diff_piece(d, 1, d->top_b[k], pb, sizeof pb),
                              s.shallowest_index, s.shallowest_step);
    } else if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "The top tokens never disagree.\n");
    if (s.parting_step >= 0 && n < size)
        n += (size_t)snprintf(buf + n, size - n, "The generated texts part at step %d: "
                              "\"...%s\" then A \"%s\", B \"%s\".\n", s.parting_step,
                              d->shared_text, d->part_a, d->part_b);
    else if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "Both runs generated the same tokens.\n");
    if (d->note[0] && n < size)
        n += (size_t)snprintf(buf + n, size - n, "Note: %s\n", d->note);
    if (d->warning[0] && n < size)
        snprintf(buf + n, size - n, "Warning: %s\n", d->warning);
}

static kevo_status write_figures(const kevo_diff *d, const char *dir, const kevo_figure_opts *o,
                                 kevo_error *err)
{
    char err_png[KEVO_PATH_MAX], jsd_png[KEVO_PATH_MAX], heat_png[KEVO_PATH_MAX];
    char runs[4096], summary[4096], path[KEVO_PATH_MAX];
    kevo_status st = KEVO_OK;
    if (d->compared_states)
        st = draw_both(draw_error, d, dir, "layers_error", o, err_png, err);
    if (st == KEVO_OK)
        st = draw_both(draw_jsd, d, dir, "layers_jsd", o, jsd_png, err);
    if (st == KEVO_OK)
        st = draw_both(draw_heatmap, d, dir, "heatmap", o, heat_png, err);
    if (st != KEVO_OK)
        return st;
    size_t n = run_text(d, 0, runs, sizeof runs);
    run_text(d, 1, runs + n, sizeof runs - n);
    summary_text(d, summary, sizeof summary);
    kevo_report_item items[5] = {
        {"Runs", runs, NULL, NULL},
        {"Where they differ", summary, NULL, NULL},
    };
    int k = 2;
    if (d->compared_states)
        items[k++] = (kevo_report_item){"The hidden states", NULL, err_png,
                                        "Per hidden-state index: ||a - b|| / ||a|| of the two "
                                        "runs' recorded states, mean and max over the common "
                                        "steps (layers.csv; every step in diff.csv)."};
    items[k++] = (kevo_report_item){"The lens distributions", NULL, jsd_png,
                                    "Per hidden-state index: the Jensen-Shannon divergence in "
                                    "bits between run A's lens distribution (its model's head) "
                                    "and run B's, median and max over the common steps."};
    items[k++] = (kevo_report_item){"Step by step", NULL, heat_png,
                                    "Each row a common step, each column a hidden-state index, "
                                    "each cell the JSD between both runs' lens distributions."};
    st = kevo_path_join(path, sizeof path, dir, "report.html", err);
    return st ? st : kevo_report_write(path, "kevo diff: two runs compared layer by layer", items,
                                       k, err);
}

kevo_status kevo_diff_runs(const kevo_runfolder *run_a, const kevo_runfolder *run_b,
                           const kevo_model *model_a, const kevo_model *model_b,
                           const kevo_diff_params *p, const char *out_dir, kevo_diff **out,
                           kevo_error *err)
{
    kevo_diff *d = NULL;
    kevo_outdir *od = NULL;
    kevo_status st = kevo_diff_check(run_a, run_b, model_a, model_b, p, err);
    if (st == KEVO_OK)
        st = kevo_diff_compute(run_a, run_b, model_a, model_b, p, &d, err);
    if (st == KEVO_OK)
        st = kevo_outdir_open(out_dir, kevo_diff_folder_owned, &od, err);
    if (st == KEVO_OK)
        st = kevo_diff_write_tables(d, kevo_outdir_path(od), err);
    if (st == KEVO_OK)
        st = write_figures(d, kevo_outdir_path(od), &p->figure, err);
    if (st == KEVO_OK && p->interrupt && *p->interrupt)
        st = kevo_fail(err, KEVO_ERR_INTERRUPTED, "interrupted");
    if (st == KEVO_OK)
        st = kevo_outdir_commit(od, err);
    else
        kevo_outdir_abort(od, err);
    if (st == KEVO_OK && out)
        *out = d, d = NULL;
    kevo_diff_free(d);
    return st;
}
