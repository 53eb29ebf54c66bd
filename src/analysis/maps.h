// maps.h — Level 3 of the paper: t-SNE maps of the hidden states, coloured by stage.
//
// Single run (the authors' tsne.py): every step's states 1..L (index 0, the embeddings, is
// dropped), rows step-major. Several runs (combined_tsne.py): one step per run, states 1..L, rows
// run-major. As the authors: MaxAbs per feature (sklearn's MaxAbsScaler), then t-SNE with
// perplexity 40 (single run) or 35 (several runs), learning rate 200, 2000 iterations, seed 0
// (kevo/tsne.h; a perplexity too large for the points is lowered there and reported). Points
// are coloured by the stage their layer belongs to (analysis/stages.h), never by fixed counts.
#ifndef KEVO_ANALYSIS_MAPS_H
#define KEVO_ANALYSIS_MAPS_H

#include "analysis/stages.h"
#include "io/runfolder.h"
#include "kevo.h"

// Fewer points than this make no map: the map is skipped with a note.
#define KEVO_MAP_MIN_POINTS 5

struct kevo_map {
    int n;                      // points
    int n_runs;
    int *run, *step, *layer;    // (n) where each point comes from
    float *xy;                  // (n, 2); NULL when skipped
    kevo_tsne_result tsne;
    char note[256];             // why the map was skipped, or ""
};

// runs: n_runs run folders with the same L and D; steps: the step of each run, or NULL for every
// step of every run. Fails with KEVO_ERR_ARG on a step outside a run or runs of other shapes.
kevo_status kevo_map_compute(const kevo_runfolder *const *runs, int n_runs, const int *steps,
                             const kevo_tsne_params *p, kevo_map **out, kevo_error *err);

// path: run,step,token_id,piece,layer,stage,x,y (stage names from s).
kevo_status kevo_map_write_csv(const kevo_map *m, const kevo_runfolder *const *runs,
                               const kevo_stages *s, const char *path, kevo_error *err);


#endif
