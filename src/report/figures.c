// figures.c — the heatmap, the area charts and the report of one analysis (see figures.h), drawn
// the way the authors draw them (heatmap.py: Purples, two-significant-digit annotations, token
// rows with "▁" stripped, transitions on x; plot_token_probabilities_area.py: one filled area per
// candidate, tab20, x = 0..L, y = 0..1, legend with the raw pieces), plus what their figures
// lack: the options used and the stages in every figure.
#include "report/figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "model/model.h"
#include "plot/layout.h"
#include "report/explore.h"
#include "report/html.h"
#include "report/patch_figures.h"

#define WORD_MARK "\xe2\x96\x81"   // U+2581
#define LABEL_MAX 64
#define TEXT_MAX 8192

uint32_t kevo_stage_rgb(const kevo_stage_range *r)
{
    if (!strcmp(r->name, "rapid evolution"))
        return 0xEF8A62;
    if (!strcmp(r->name, "stabilisation"))
        return 0x67A9CF;
    if (!strcmp(r->name, "mutation"))
        return 0xB2182B;
    return 0x999999;   // "undivided": no clear stages
}

int kevo_stage_bands(const kevo_stages *s, int transitions, kevo_band out[3], char labels[3][96])
{
    kevo_stage_range r[3];
    int n = kevo_stages_ranges(s, r), k = 0;
    for (int i = 0; i < n; i++) {
        // On the transition axis (transition i: state i to i+1): rapid evolution keeps the change
        // into the critical layer, stabilisation the changes among its own states, and the
        // mutation stage the jump into the mutation layer.
        int from = r[i].from, to = r[i].to;
        if (transitions) {
            int mutation = !strcmp(r[i].name, "mutation");
            from -= mutation;
            to -= strcmp(r[i].name, "rapid evolution") != 0;
            to = to > s->n_layers - 1 ? s->n_layers - 1 : to;
        }
        if (from > to)
            continue;
        out[k] = (kevo_band){from, to, kevo_stage_label(&r[i], labels[k], 96),
                             kevo_stage_rgb(&r[i])};
        k++;
    }
    return k;
}

const char *kevo_piece_label(const char *piece, char *buf, size_t size)
{
    size_t n = 0;
    for (const char *s = piece; *s && n + 1 < size; s++) {
        if (!strncmp(s, WORD_MARK, 3)) {
            s += 2;
            continue;
        }
        buf[n++] = *s;
    }
    buf[n] = '\0';
    if (n == 0 && *piece)
        snprintf(buf, size, "%s", WORD_MARK);
    return buf;
}

static const char *lens_phrase(kevo_lens_mode m)
{
    return m == KEVO_LENS_RAW ? "raw lens (LM head on the recorded states, the authors')"
                              : "norm lens (final RMSNorm, then the LM head)";
}

static const char *divergence_phrase(kevo_divergence_kind k)
{
    return k == KEVO_DIVERGENCE_PAPER ? "the authors' divergence (KL(M||P) + KL(M||Q)) / 2V"
                                      : "Jensen-Shannon divergence (bits)";
}

static const char *scale_phrase(kevo_scale_mode s)
{
    return s == KEVO_SCALE_COLUMN ? "each layer scaled by its maximum (MaxAbs, the authors')"
           : s == KEVO_SCALE_GLOBAL ? "scaled by the global maximum" : "unscaled";
}

// path = dir/name.ext
static kevo_status figure_path(char *path, size_t size, const char *dir, const char *name,
                               const char *ext, kevo_error *err)
{
    int n = snprintf(path, size, "%s/%s.%s", dir, name, ext);
    return n > 0 && (size_t)n < size ? KEVO_OK
                                     : kevo_fail(err, KEVO_ERR_ARG, "%s/%s: path too long", dir,
                                                 name);
}

// One figure to draw: the analysis, and the step (area charts; the tracked word for the patch
// maps) or the map (t-SNE) it shows.
// layout, when not NULL, gets the heatmap's layout (for the report's hover).
typedef struct figure_job {
    const kevo_analysis *a;
    int step;
    const kevo_map *map;
    kevo_figure_layout *layout;
} figure_job;

static kevo_status draw_heatmap(const figure_job *j, const char *path, const kevo_figure_opts *o,
                                kevo_error *err)
{
    const kevo_analysis *a = j->a;
    int L = a->run->n_states - 1, rows = a->heat_rows;
    char(*labels)[LABEL_MAX] = malloc((size_t)rows * sizeof *labels);
    const char **rl = malloc((size_t)rows * sizeof *rl);
    if (!labels || !rl) {
        free(labels);
        free(rl);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    const kevo_tokenizer *tok = a->model->tokenizer;
    for (int t = 0; t < rows; t++) {
        int id = a->run->generated_ids[t];
        rl[t] = tok && kevo_tokenizer_piece(tok, id)
                    ? kevo_tokenizer_piece_display(tok, id, labels[t], LABEL_MAX)
                    : kevo_piece_label(a->run->pieces[t], labels[t], LABEL_MAX);
    }
    double vmax = 1;
    if (a->opt.scale == KEVO_SCALE_NONE) {
        vmax = 0;
        for (size_t i = 0; i < (size_t)rows * L; i++)
            vmax = fmax(vmax, a->heat[i]);
        vmax = vmax > 0 ? vmax : 1;
    }
    kevo_band bands[3];
    char band_labels[3][96], title[512], cbar[256];
    int nb = kevo_stage_bands(a->stages, 1, bands, band_labels);
    snprintf(title, sizeof title, "Divergence between consecutive layers: %s, %s lens, first %d "
             "steps", a->opt.divergence == KEVO_DIVERGENCE_PAPER ? "the authors' formula"
                                                                 : "Jensen-Shannon (bits)",
             kevo_lens_mode_name(a->opt.lens), rows);
    snprintf(cbar, sizeof cbar, "%s%s", a->opt.divergence == KEVO_DIVERGENCE_PAPER
                                            ? "divergence" : "JSD (bits)",
             a->opt.scale == KEVO_SCALE_COLUMN ? " / column max"
             : a->opt.scale == KEVO_SCALE_GLOBAL ? " / global max" : "");
    kevo_heatmap h = {a->heat, rows, L, rl, NULL, title, "Transition i (hidden state i -> i+1)",
                      "Generated token", cbar, "Purples", 0, vmax, L <= 48, bands, nb};
    kevo_status st = kevo_plot_heatmap(path, o, &h, err);
    if (st == KEVO_OK && j->layout)
        st = kevo_heatmap_layout(&h, j->layout, err);
    free(labels);
    free(rl);
    return st;
}

// The title of step t's chart: its token, the candidate window, and its mutation if any.
static void area_title(const kevo_analysis *a, int t, char *buf, size_t size)
{
    char p1[LABEL_MAX], p2[LABEL_MAX];
    const kevo_token_stage *k = &a->stages->tokens[t];
    int n = snprintf(buf, size, "Step %d, \"%s\": the top tokens of layers %d-%d", t,
                     a->run->pieces[t], a->window.lo, a->window.hi);
    if (k->mutation > 0 && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "; mutation at layer %d (%s -> %s)", k->mutation,
                 kevo_analysis_piece(a, k->from_id, p1, sizeof p1),
                 kevo_analysis_piece(a, k->to_id, p2, sizeof p2));
}

static kevo_status draw_area(const figure_job *j, const char *path, const kevo_figure_opts *o,
                             kevo_error *err)
{
    const kevo_analysis *a = j->a;
    const kevo_lens_result *r = a->lens;
    int t = j->step;
    int S = r->n_states, c0 = r->cand_start[t], n = r->cand_start[t + 1] - c0;
    char(*buf)[LABEL_MAX] = malloc((size_t)n * sizeof *buf);
    const char **labels = malloc((size_t)n * sizeof *labels);
    if (!buf || !labels) {
        free(buf);
        free(labels);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int c = 0; c < n; c++)
        labels[c] = kevo_analysis_piece(a, r->cand_id[c0 + c], buf[c], LABEL_MAX);
    kevo_band bands[3];
    char band_labels[3][96], title[512], ylabel[128];
    int nb = kevo_stage_bands(a->stages, 0, bands, band_labels);
    area_title(a, t, title, sizeof title);
    snprintf(ylabel, sizeof ylabel, "Probability (%s lens)", kevo_lens_mode_name(a->opt.lens));
    kevo_area_chart ch = {r->cand_p + (size_t)c0 * S, n, S, labels, title,
                          "Layer (hidden-state index)", ylabel, 0, 1, bands, nb, 0};
    kevo_status st = kevo_plot_area(path, o, &ch, err);
    free(buf);
    free(labels);
    return st;
}

static kevo_status draw_map(const figure_job *j, const char *path, const kevo_figure_opts *o,
                            kevo_error *err)
{
    char title[512];
    snprintf(title, sizeof title, "t-SNE of the hidden states, %d steps x layers 1-%d "
             "(perplexity %g)", j->a->run->n_steps, j->a->run->n_states - 1,
             j->map->tsne.perplexity_used);
    return kevo_map_draw(j->map, j->a->stages, title, path, o, err);
}

// Draws one figure in the chosen format and, for PDF, a PNG copy; report_path gets the file the
// report embeds.
static kevo_status draw_patch_word(const figure_job *j, const char *path,
                                   const kevo_figure_opts *o, kevo_error *err)
{
    return kevo_patch_draw_word(j->a, j->step, path, o, err);
}

static kevo_status draw_patch_top(const figure_job *j, const char *path,
                                  const kevo_figure_opts *o, kevo_error *err)
{
    return kevo_patch_draw_top(j->a, path, o, err);
}

typedef kevo_status (*draw_fn)(const figure_job *j, const char *path, const kevo_figure_opts *o,
                               kevo_error *err);

static kevo_status draw_both(draw_fn fn, const figure_job *j, const char *dir, const char *name,
                             const kevo_figure_opts *o, char *report_path, size_t size,
                             kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    kevo_status st = figure_path(path, sizeof path, dir, name, kevo_figure_format_ext(o->format),
                                 err);
    if (st == KEVO_OK)
        st = fn(j, path, o, err);
    if (st != KEVO_OK || o->format != KEVO_FIGURE_PDF) {
        snprintf(report_path, size, "%s", path);
        return st;
    }
    kevo_figure_opts png = {KEVO_FIGURE_PNG, o->dpi};
    st = figure_path(report_path, size, dir, name, "png", err);
    return st ? st : fn(j, report_path, &png, err);
}

// ---------------------------------------------------------------------------------------------
// The report's text

static void run_text(const kevo_analysis *a, char *buf, size_t size)
{
    const kevo_runfolder *rf = a->run;
    const kevo_config *c = &a->model->config;
    snprintf(buf, size,
             "Question: %s\nAnswer: %s\nImage: %s\n"
             "Run: %s, %d generated tokens (stop: %s)\n"
             "Model: %s, %d layers (%d hidden states per step), width %d, %d vocabulary rows%s\n"
             "Options: %s; %s; heatmap of the first %d steps, %s; area charts for the first %d "
             "steps; candidates: the top tokens of hidden states %d-%d\n%s%s",
             rf->question, rf->text, rf->image_path, rf->dir, rf->n_steps, rf->stop,
             a->model->dir, c->text_layers, rf->n_states, c->text_hidden, c->text_vocab,
             a->digest_matches ? "" : " (not the config.json the run was recorded with)",
             lens_phrase(a->opt.lens), divergence_phrase(a->opt.divergence), a->heat_rows,
             scale_phrase(a->opt.scale), a->chart_steps, a->window.lo, a->window.hi,
             a->warning[0] ? "Warning: " : "", a->warning);
}

static void stages_text(const kevo_analysis *a, char *buf, size_t size)
{
    const kevo_stages *s = a->stages;
    size_t n = 0;
#define ADD(...) (n += (size_t)snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__))
    if (s->critical >= 0)
        ADD("Critical layer %d (%s): the median over tokens of log10 divergence falls %.2f "
            "decades from the %d transitions before it to the %d from it on.\n", s->critical,
            s->critical_given ? "given" : "detected", s->critical_drop, s->window, s->window);
    else
        ADD("No critical layer.\n");
    if (s->critical_level1 >= 0)
        ADD("Tokens' own critical layers (the first layer whose top token has probability >= "
            "%g): median %d, over %d of %d tokens.\n", a->opt.stage.theta, s->critical_level1,
            s->n_critical_level1, s->n_tokens);
    if (s->mutation >= 0)
        ADD("Mutation layer %d (%s): %d of %d tokens mutate after the critical layer.\n",
            s->mutation, s->mutation_given ? "given" : "detected", s->n_mutated, s->n_tokens);
    if (s->note[0])
        ADD("Note: %s.\n", s->note);
    kevo_stage_range r[3];
    int k = kevo_stages_ranges(s, r);
    ADD("Median log10 divergence per transition (what the rule reads):");
    for (int i = 0; i < s->n_layers; i++)
        ADD(" %.1f", s->profile[i]);
    ADD("\n");
    char label[96];
    ADD("Stages:");
    for (int i = 0; i < k; i++)
        ADD("%s %s", i ? "," : "", kevo_stage_label(&r[i], label, sizeof label));
    ADD(".\n");
    if (s->n_mutated) {
        ADD("Mutated tokens (step, token: layer, top token before -> after):");
        char p0[LABEL_MAX], p1[LABEL_MAX];
        for (int t = 0; t < s->n_tokens && n < size; t++)
            if (s->tokens[t].mutation > 0)
                ADD("\n  %d \"%s\": layer %d, %s -> %s", t, a->run->pieces[t],
                    s->tokens[t].mutation, kevo_analysis_piece(a, s->tokens[t].from_id, p0,
                                                               sizeof p0),
                    kevo_analysis_piece(a, s->tokens[t].to_id, p1, sizeof p1));
        ADD("\n");
    }
    ADD("Rule: docs/stages.md. Numbers: stages.json, divergence.csv, candidates.csv, lens.csv, "
        "top5.csv.");
#undef ADD
}

kevo_status kevo_analysis_figures(const kevo_analysis *a, const kevo_map *map, const char *dir,
                                  const kevo_figure_opts *o, kevo_error *err)
{
    int n_words = a->patches ? a->patches->n_words : 0, n_patch = a->patches ? n_words + 1 : 0;
    int n_items = 5 + a->chart_steps + n_patch;
    kevo_report_item *items = calloc((size_t)n_items, sizeof *items);
    kevo_report_extra *extras = calloc((size_t)n_items, sizeof *extras);
    kevo_figure_layout heat_layout;
    char heat_attrs[512];
    // paths: the heatmap, the area charts, the map, then each word's patch maps and the
    // labelled picture
    char(*paths)[4400] = calloc((size_t)a->chart_steps + 2 + n_patch, sizeof *paths);
    char(*patch_paths)[4400] = paths ? paths + a->chart_steps + 2 : NULL;
    char map_text[512] = "";
    char *run = malloc(TEXT_MAX), *stages = malloc(TEXT_MAX), area_dir[4400], name[256];
    kevo_status st = KEVO_OK;
    if (!items || !extras || !paths || !run || !stages) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory for the figures", dir);
        goto done;
    }
    // dir is a fresh folder (kevo_analyze_run builds it aside and swaps it in whole), so no chart
    // of an earlier analysis with more steps can linger in area/.
    snprintf(area_dir, sizeof area_dir, "%s/area", dir);
    if ((st = kevo_mkdirs(area_dir, err)) ||
        (st = draw_both(draw_heatmap, &(figure_job){a, 0, map, &heat_layout}, dir, "heatmap", o,
                        paths[0], sizeof paths[0], err)))
        goto done;
    for (int t = 0; t < a->chart_steps; t++) {
        snprintf(name, sizeof name, "step_%03d", t);
        if ((st = draw_both(draw_area, &(figure_job){a, t, map, NULL}, area_dir, name, o,
                            paths[t + 1], sizeof paths[t + 1], err)))
            goto done;
    }
    if (map && map->xy) {
        char csv[KEVO_PATH_MAX];
        const kevo_runfolder *runs[1] = {a->run};
        if ((st = draw_both(draw_map, &(figure_job){a, 0, map, NULL}, dir, "tsne", o,
                            paths[a->chart_steps + 1], sizeof paths[0], err)) ||
            (st = kevo_path_join(csv, sizeof csv, dir, "tsne.csv", err)) ||
            (st = kevo_map_write_csv(map, runs, a->stages, csv, err)))
            goto done;
    } else if (map) {
        snprintf(map_text, sizeof map_text, "%s.", map->note);
    }
    if (a->patches) {
        char patch_dir[4400];
        snprintf(patch_dir, sizeof patch_dir, "%s/patches", dir);
        if ((st = kevo_mkdirs(patch_dir, err)))
            goto done;
        for (int w = 0; w < n_words; w++) {
            kevo_patch_figure_stem(a->patches->words[w], name, sizeof name);
            if ((st = draw_both(draw_patch_word, &(figure_job){a, w, map, NULL}, patch_dir, name,
                                o, patch_paths[w], sizeof paths[0], err)))
                goto done;
        }
        if ((st = draw_both(draw_patch_top, &(figure_job){a, 0, map, NULL}, patch_dir,
                            "top_tokens", o, patch_paths[n_words], sizeof paths[0], err)))
            goto done;
    }
    run_text(a, run, TEXT_MAX);
    stages_text(a, stages, TEXT_MAX);
    int k = 0;
    items[k++] = (kevo_report_item){"Run", run, NULL, NULL};
    items[k++] = (kevo_report_item){"Stages", stages, NULL, NULL};
    kevo_explore_heatmap_attrs(&heat_layout, heat_attrs, sizeof heat_attrs);
    extras[k] = (kevo_report_extra){heat_attrs, kevo_explore_put_heatmap, a};
    items[k++] = (kevo_report_item){
        "Level 2: divergence between consecutive layers", NULL, paths[0],
        "One row per generated token, one column per transition i (hidden state i to i+1). "
        "Dark cells: the next-token distribution changes a lot at that layer. With the "
        "authors' per-column scaling every column holds a 1, so compare rows within a column, "
        "not columns (--scale global compares them). The bands mark the detected stages. "
        "Hover a cell for its divergence and the top 5 tokens of both states (top5.csv)."};
    if (a->patches) {
        extras[k] = (kevo_report_extra){NULL, kevo_explore_put_patches, a};
        items[k++] = (kevo_report_item){"The image: what each patch's state decodes to", NULL,
                                        NULL, NULL};
        for (int w = 0; w < n_words; w++)
            items[k++] = (kevo_report_item){
                NULL, NULL, patch_paths[w],
                w == 0 ? "The tracked word's probability on every patch of the picture, one map "
                         "per recorded layer, one colour scale for all of them (0 to the "
                         "word's largest probability on any patch at any layer); each map is "
                         "framed in the colour of its layer's stage. Numbers: patch_lens.csv."
                       : NULL};
        items[k++] = (kevo_report_item){
            NULL, NULL, patch_paths[n_words],
            "Every patch labelled with its top token at the recorded layer nearest the critical "
            "layer, coloured by that token's probability (as Neo et al. 2024 read LLaVA's image "
            "tokens)."};
    }
    for (int t = 0; t < a->chart_steps; t++)
        items[k++] = (kevo_report_item){
            t == 0 ? "Level 1: candidate tokens across layers" : NULL, NULL, paths[t + 1],
            t == 0 ? "For each step, every token that is the top token of one of the window's "
                     "layers, with its probability at every layer. A token rising out of the "
                     "vocabulary marks the critical layer; a late swap of the top token is a "
                     "mutation." : NULL};
    if (map)
        items[k++] = (kevo_report_item){
            "Level 3: t-SNE of the hidden states", map_text[0] ? map_text : NULL,
            map->xy ? paths[a->chart_steps + 1] : NULL,
            "Every step's hidden states at layers 1..L (MaxAbs-scaled per feature, as the "
            "authors), one point each, coloured by the stage of its layer. In the authors' 7B "
            "map the first layers of all tokens form one central blob and each token's deeper "
            "layers leave it as an arm. Distances between far-apart clusters mean little in "
            "t-SNE; neighbourhoods do. Coordinates: tsne.csv."};
    char path[KEVO_PATH_MAX], title[512];
    snprintf(title, sizeof title, "kevo analysis: %s", a->run->question);
    if (!(st = kevo_path_join(path, sizeof path, dir, "report.html", err)))
        st = kevo_report_write_extra(path, title, items, extras, k, kevo_explore_put_script, NULL,
                                     err);
done:
    free(items);
    free(extras);
    free(paths);
    free(run);
    free(stages);
    return st;
}

kevo_status kevo_map_draw(const kevo_map *m, const kevo_stages *s, const char *title,
                          const char *path, const kevo_figure_opts *o, kevo_error *err)
{
    if (!m->xy)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: %s", path, m->note);
    char labels[3][96];
    kevo_stage_range r[3];
    int n_ranges = kevo_stages_ranges(s, r), slot[3] = {-1, -1, -1}, n_groups = 0;
    int *group = malloc((size_t)m->n * sizeof *group), *traj = malloc((size_t)m->n * sizeof *traj);
    if (!group || !traj) {
        free(group);
        free(traj);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    // Only the stages that have points get a legend entry (layer 0, rapid evolution's start, is
    // never on a map), in stage order.
    for (int i = 0; i < m->n; i++)
        slot[kevo_stages_of_state(s, m->layer[i])] = 0;
    const char *group_labels[3];
    uint32_t rgb[3];
    for (int g = 0; g < n_ranges; g++)
        if (slot[g] == 0) {
            slot[g] = n_groups;
            group_labels[n_groups] = kevo_stage_label(&r[g], labels[g], sizeof labels[g]);
            rgb[n_groups++] = kevo_stage_rgb(&r[g]);
        }
    for (int i = 0; i < m->n; i++) {
        group[i] = slot[kevo_stages_of_state(s, m->layer[i])];
        traj[i] = m->run[i];
    }
    // Several runs: each run's layers joined in order (the "guitar" neck and body). One run: no
    // lines, as the authors; its many steps' jumps to the normed last layer would cross the map.
    kevo_scatter sc = {m->xy, m->n, group, n_groups, group_labels, rgb,
                       m->n_runs > 1 ? traj : NULL, title};
    kevo_status st = kevo_plot_scatter(path, o, &sc, err);
    free(group);
    free(traj);
    return st;
}
