// pipeline.h — the two analyses end to end, from run folders to a folder of tables, figures and
// report.html: one run (`kevo analyze`) and several runs, one step each (`kevo tsne RUN...`).
// `kevo batch --analyze` and `kevo demo` call them too.
#ifndef KEVO_REPORT_PIPELINE_H
#define KEVO_REPORT_PIPELINE_H

#include "analysis/analysis.h"
#include "analysis/maps.h"
#include "tsne/tsne.h"
#include "io/runfolder.h"
#include "kevo.h"
#include "plot/plot.h"

typedef struct kevo_analyze_params {
    kevo_analysis_options analysis;   // lens, divergence, scaling, window, stage overrides
    kevo_tsne_params tsne;            // the maps' t-SNE
    kevo_figure_opts figure;
    int no_tsne;                      // one run: skip the map
} kevo_analyze_params;

// The authors' settings; tsne.perplexity is 40 (one run); callers analysing several runs set
// 35, as combined_tsne.py.
kevo_analyze_params kevo_analyze_default_params(void);

// One run: the lens, divergences, candidates and stages (kevo_analysis_compute), the single-run
// map unless p->no_tsne, every table and figure and report.html into out_dir. The results are
// handed back in *analysis and *map when those are not NULL (free with kevo_analysis_free /
// kevo_map_free), else freed.
kevo_status kevo_analyze_run(const kevo_runfolder *run, const kevo_model *model,
                             const kevo_analyze_params *p, const char *out_dir,
                             kevo_analysis **analysis, kevo_map **map, kevo_error *err);

// Several runs of one model: steps[r] is the step of run r, or -1 for its answer word's step
// (analysis/answer.h; filled in). The stages are pooled over every token of every run (overrides
// in p apply to the pooled stages); the map holds one step per run. Writes tsne.csv, stages.json,
// the figure and report.html into out_dir; results as for kevo_analyze_run.
kevo_status kevo_analyze_across(const kevo_runfolder *const *runs, int n_runs,
                                const kevo_model *model, int *steps,
                                const kevo_analyze_params *p, const char *out_dir,
                                kevo_stages **stages, kevo_map **map, kevo_error *err);

#endif
