// pipeline.c — the two analyses end to end, from run folders to a folder of tables, figures and
// report.html: one run (`kevo analyze`) and several runs, one step each (`kevo tsne RUN...`);
// `kevo batch --analyze` and `kevo demo` call them too (kevo.h, kevo/analysis.h).
#include "kevo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/answer.h"
#include "analysis/maps.h"
#include "report/figures.h"
#include "base/error.h"
#include "base/fs.h"
#include "io/outputs.h"
#include "io/runfolder.h"

kevo_analyze_params kevo_analyze_default_params(void)
{
    return (kevo_analyze_params){.analysis = kevo_analysis_default_options(),
                                 .tsne = kevo_tsne_default_params(),
                                 .figure = {.format = KEVO_FIGURE_PNG, .dpi = 150}};
}

// KEVO_ERR_INTERRUPTED once the caller's flag is set. The steps themselves do not watch it, so
// a signal is seen between them.
static kevo_status stopped(const kevo_analyze_params *p, kevo_error *err)
{
    return p->interrupt && *p->interrupt ? kevo_fail(err, KEVO_ERR_INTERRUPTED, "interrupted")
                                         : KEVO_OK;
}

kevo_status kevo_analyze_run(const kevo_runfolder *run, const kevo_model *model,
                             const kevo_analyze_params *p, const char *out_dir,
                             kevo_analysis **analysis, kevo_map **map, kevo_error *err)
{
    kevo_analysis *an = NULL;
    kevo_map *m = NULL;
    kevo_outdir *od = NULL;
    kevo_status st = stopped(p, err);
    if (st == KEVO_OK)
        st = kevo_analysis_compute(run, model, &p->analysis, &an, err);
    // Everything goes into a temporary folder that replaces out_dir whole at the end, so a
    // failure never leaves new tables beside an old report.
    if (st == KEVO_OK && (st = stopped(p, err)) == KEVO_OK)
        st = kevo_outdir_open(out_dir, kevo_analysis_folder_owned, &od, err);
    if (st == KEVO_OK)
        st = kevo_analysis_write_tables(an, kevo_outdir_path(od), err);
    if (st == KEVO_OK && !p->no_tsne && !p->tables_only && (st = stopped(p, err)) == KEVO_OK)
        st = kevo_map_compute(&run, 1, NULL, &p->tsne, &m, err);
    if (st == KEVO_OK && !p->tables_only && (st = stopped(p, err)) == KEVO_OK)
        st = kevo_analysis_figures(an, m, kevo_outdir_path(od), &p->figure, err);
    if (st == KEVO_OK && (st = stopped(p, err)) == KEVO_OK)
        st = kevo_outdir_commit(od, err);
    else
        kevo_outdir_abort(od, err);
    if (st == KEVO_OK && analysis)
        *analysis = an, an = NULL;
    if (st == KEVO_OK && map)
        *map = m, m = NULL;
    kevo_analysis_free(an);
    kevo_map_free(m);
    return st;
}

// Each run's step: given, or its answer word's.
static kevo_status choose_steps(const kevo_runfolder *const *runs, int n_runs, int *steps,
                                kevo_error *err)
{
    for (int r = 0; r < n_runs; r++) {
        char word[64];
        if (steps[r] < 0)
            steps[r] = kevo_answer_step(runs[r]->question, (const char *const *)runs[r]->pieces,
                                        runs[r]->n_steps, word, sizeof word);
        if (steps[r] < 0)
            return kevo_fail(err, KEVO_ERR_ARG, "%s: no answer word in \"%s\" (every word is "
                             "in the question or a function word); give the step", runs[r]->dir,
                             runs[r]->text);
        if (steps[r] >= runs[r]->n_steps)
            return kevo_fail(err, KEVO_ERR_ARG, "step %d: %s has only %d steps", steps[r],
                             runs[r]->dir, runs[r]->n_steps);
    }
    return KEVO_OK;
}

// The stages over every token of every run, from each run's lens. Warnings about a run (another
// config file, tokens the head does not reproduce) go into the stages' note.
static kevo_status pooled_stages(const kevo_runfolder *const *runs, int n_runs,
                                 const kevo_model *model, const kevo_analyze_params *p,
                                 kevo_stages **out, kevo_error *err)
{
    kevo_analysis **an = calloc((size_t)n_runs, sizeof *an);
    kevo_stage_input *in = calloc((size_t)n_runs, sizeof *in);
    kevo_analysis_options o = p->analysis;
    o.stage.critical = o.stage.mutation = 0;   // overrides apply to the pooled stages only
    char warnings[512] = "";
    kevo_status st = an && in ? KEVO_OK : kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int r = 0; st == KEVO_OK && r < n_runs; r++) {
        st = kevo_analysis_compute(runs[r], model, &o, &an[r], err);
        if (st == KEVO_OK && an[r]->warning[0] && !warnings[0])
            snprintf(warnings, sizeof warnings, "%.100s: %.300s", runs[r]->dir, an[r]->warning);
        if (st == KEVO_OK)
            in[r] = (kevo_stage_input){runs[r]->n_steps, runs[r]->n_states - 1, an[r]->div,
                                       an[r]->lens->top_id, an[r]->lens->top_p};
    }
    if (st == KEVO_OK)
        st = kevo_stages_detect(in, n_runs, &p->analysis.stage, out, err);
    if (st == KEVO_OK && warnings[0]) {
        size_t len = strlen((*out)->note);
        snprintf((*out)->note + len, sizeof (*out)->note - len, "%swarning: %.400s",
                 len ? "; " : "", warnings);
    }
    for (int r = 0; an && r < n_runs; r++)
        kevo_analysis_free(an[r]);
    free(an);
    free(in);
    return st;
}

static kevo_status write_across(const kevo_map *map, const kevo_runfolder *const *runs,
                                int n_runs, const int *steps, const kevo_stages *s,
                                const kevo_analyze_params *p, const char *out_dir,
                                kevo_error *err)
{
    char path[KEVO_PATH_MAX], png[KEVO_PATH_MAX], title[512];
    kevo_status st = kevo_mkdirs(out_dir, err);
    if (st == KEVO_OK)
        st = kevo_path_join(path, sizeof path, out_dir, "tsne.csv", err);
    if (st == KEVO_OK)
        st = kevo_map_write_csv(map, runs, s, path, err);
    if (st == KEVO_OK)
        st = kevo_path_join(path, sizeof path, out_dir, "stages.json", err);
    if (st == KEVO_OK)
        st = kevo_stages_write_json(s, runs, n_runs, steps, &p->analysis, path, err);
    if (st != KEVO_OK || !map->xy)
        return st;
    snprintf(title, sizeof title, "t-SNE across %d runs: one step each, layers 1-%d "
             "(perplexity %g)", n_runs, s->n_layers, map->tsne.perplexity_used);
    char name[16];
    snprintf(name, sizeof name, "tsne.%s", kevo_figure_format_ext(p->figure.format));
    if ((st = kevo_path_join(path, sizeof path, out_dir, name, err)) ||
        (st = kevo_map_draw(map, s, title, path, &p->figure, err)))
        return st;
    memcpy(png, path, sizeof png);
    if (p->figure.format == KEVO_FIGURE_PDF) {   // the report embeds a PNG copy
        kevo_figure_opts o = {KEVO_FIGURE_PNG, p->figure.dpi};
        if ((st = kevo_path_join(png, sizeof png, out_dir, "tsne.png", err)) ||
            (st = kevo_map_draw(map, s, title, png, &o, err)))
            return st;
    }
    char text[4096];
    size_t n = 0;
    for (int r = 0; r < n_runs && n < sizeof text; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s: \"%s\" (step %d, \"%s\")\n",
                              runs[r]->dir, runs[r]->text, steps[r], runs[r]->pieces[steps[r]]);
    kevo_report_item items[] = {
        {"Runs", text, NULL, NULL},
        {"t-SNE of one step per run", s->note[0] ? s->note : NULL, png,
         "Each run's hidden states at layers 1..L for its chosen step, joined in layer order and "
         "coloured by the stages detected over every token of every run (stages.json)."},
    };
    st = kevo_path_join(path, sizeof path, out_dir, "report.html", err);
    return st ? st : kevo_report_write(path, "kevo: t-SNE across runs", items, 2, err);
}

kevo_status kevo_analyze_across(const kevo_runfolder *const *runs, int n_runs,
                                const kevo_model *model, int *steps,
                                const kevo_analyze_params *p, const char *out_dir,
                                kevo_stages **stages, kevo_map **map, kevo_error *err)
{
    kevo_stages *s = NULL;
    kevo_map *m = NULL;
    kevo_outdir *od = NULL;
    kevo_status st = stopped(p, err);
    if (st == KEVO_OK)
        st = choose_steps(runs, n_runs, steps, err);
    if (st == KEVO_OK)
        st = pooled_stages(runs, n_runs, model, p, &s, err);
    if (st == KEVO_OK && (st = stopped(p, err)) == KEVO_OK)
        st = kevo_map_compute(runs, n_runs, steps, &p->tsne, &m, err);
    if (st == KEVO_OK && (st = stopped(p, err)) == KEVO_OK)   // built aside, as kevo_analyze_run
        st = kevo_outdir_open(out_dir, kevo_analysis_folder_owned, &od, err);
    if (st == KEVO_OK)
        st = write_across(m, runs, n_runs, steps, s, p, kevo_outdir_path(od), err);
    if (st == KEVO_OK && (st = stopped(p, err)) == KEVO_OK)
        st = kevo_outdir_commit(od, err);
    else
        kevo_outdir_abort(od, err);
    if (st == KEVO_OK && stages)
        *stages = s, s = NULL;
    if (st == KEVO_OK && map)
        *map = m, m = NULL;
    kevo_stages_free(s);
    kevo_map_free(m);
    return st;
}
