// analysis.h — everything `kevo analyze` computes for one run folder: the lens (Levels 1 and 2),
// the heatmap's matrix, the stages, and the tables written beside the figures (the options and
// the accessors of the results are public: kevo.h, kevo/analysis.h).
//
//     kevo_analysis_options o = kevo_analysis_default_options();
//     kevo_analysis *a;
//     if (kevo_analysis_compute(run, model, &o, &a, &err) != KEVO_OK) ...
//     kevo_analysis_write_tables(a, "RUN/analysis", &err);   // CSV tables + stages.json
//
// docs/analyses.md describes every output and option.
#ifndef KEVO_ANALYSIS_ANALYSIS_H
#define KEVO_ANALYSIS_ANALYSIS_H

#include <stddef.h>
#include <stdio.h>

#include "analysis/divergence.h"
#include "analysis/lens.h"
#include "analysis/patches.h"
#include "analysis/stages.h"
#include "io/runfolder.h"
#include "kevo.h"

struct kevo_analysis {
    const kevo_runfolder *run;           // borrowed
    const kevo_model *model;             // borrowed
    kevo_analysis_options opt;
    kevo_window window;
    kevo_lens_result *lens;
    const double *div;                   // (T, L) the chosen divergence, inside lens
    kevo_stages *stages;
    kevo_patch_analysis *patches;        // the image positions' lens; NULL without image states
    double *heat;                        // (heat_rows, L) the heatmap's matrix, scaled
    int heat_rows;                       // min(rows, T)
    int chart_steps;                     // min(steps, T)
    int digest_matches;                  // the model's config.json is the run's
    int n_mismatched;                    // steps whose generated token the head does not rank first
    char warning[512];                   // "" or what the user should know (digest, mismatches)
};

// Checks that `model` can read `run`'s states: same layers, width and vocabulary rows
// (KEVO_ERR_MODEL otherwise, naming both). *digest_matches tells whether config.json is the
// same file.
kevo_status kevo_analysis_check_model(const kevo_runfolder *run, const kevo_model *model,
                                      int *digest_matches, kevo_error *err);

// Runs the lens, scales the heatmap, detects the stages. Fails with KEVO_ERR_ARG on options the
// run cannot take (a window beyond L, bad overrides), KEVO_ERR_MODEL when the model's head does
// not reproduce the run's tokens (a run folder from another model).
kevo_status kevo_analysis_compute(const kevo_runfolder *run, const kevo_model *model,
                                  const kevo_analysis_options *o, kevo_analysis **out,
                                  kevo_error *err);

// The raw piece of a token id, for labels: the model's tokenizer's, else the run's own piece
// when the id was generated, else "<id N>" written into buf.
const char *kevo_analysis_piece(const kevo_analysis *a, int id, char *buf, size_t size);

// Writes into dir (created when missing), each file atomically: lens.csv, divergence.csv,
// heatmap.csv, candidates.csv, top5.csv, stages.json.
kevo_status kevo_analysis_write_tables(const kevo_analysis *a, const char *dir, kevo_error *err);

// stages.json for stages pooled over runs (`kevo tsne RUN...`): the runs and their map steps
// (steps may be NULL), the options the stages came from, and the stage fields of an analysis's
// stages.json.
kevo_status kevo_stages_write_json(const kevo_stages *s, const kevo_runfolder *const *runs,
                                   int n_runs, const int *steps, const kevo_analysis_options *o,
                                   const char *path, kevo_error *err);

#endif
