// diff.h — two runs of one image and question compared state by state (`kevo diff`; the params,
// the checks and the summary are public: kevo.h, kevo/diff.h; docs/diff.md lists every output).
//
// Over the T = min(T_a, T_b) common steps and the S = min(S_a, S_b) common hidden-state indices:
//   rel_err[t][l] = ||a - b|| / ||a||, cosine[t][l] = a.b / (||a|| ||b||) of the recorded states
//       (in double; only when both runs have the same width D and number of states);
//   jsd[t][l]     = the Jensen-Shannon divergence in bits between run A's lens distribution
//       (through model A's head, lens_a) and run B's (model B's head, lens_b) at the same index,
//       kevo_divergence_pair of the lens's own rows (analysis/divergence.h);
//   top_a, top_b  = each distribution's top token.
#ifndef KEVO_ANALYSIS_DIFF_H
#define KEVO_ANALYSIS_DIFF_H

#include <stddef.h>

#include "io/runfolder.h"
#include "kevo.h"

#define KEVO_DIFF_CONTEXT 4   // tokens shown on either side of the parting step

struct kevo_diff {
    const kevo_runfolder *a, *b;      // borrowed
    const kevo_model *ma, *mb;        // borrowed
    kevo_diff_params p;
    int T, S, V;                      // common steps, common indices, vocabulary
    int compared_states;              // rel_err and cosine computed
    double *rel_err, *cosine;         // (T, S), NULL when not compared
    double *jsd;                      // (T, S) bits
    int *top_a, *top_b;               // (T, S)
    double *top_pa, *top_pb;          // (T, S) their probabilities
    int *first_index;                 // (T) the shallowest index where the tops differ, or -1
    // Per index l over the T steps.
    double *mean_rel, *max_rel, *mean_cos, *min_cos;   // (S), NaN when not compared
    double *median_jsd, *max_jsd, *agree;              // (S); agree: share of steps, 0..1
    int parting;                      // kevo_diff_summary.parting_step
    char shared_text[256];            // the decoded tokens before the parting step (of run A)
    char part_a[256], part_b[256];    // each run's decoded tokens from it on
    char image_check[160];            // how the images were found to be the same (or not)
    char differs[512];                // what differs between the runs' inputs (with force)
    int digest_a, digest_b;           // each model's config.json is the one its run recorded
    int mismatched_a, mismatched_b;   // steps whose generated token the head does not rank first
    char note[1024], warning[1024];
    double seconds;
};

// The comparison itself (kevo_diff_check first). KEVO_ERR_MODEL when a head does not reproduce
// its run's tokens (the run comes from another model), KEVO_ERR_NOMEM.
kevo_status kevo_diff_compute(const kevo_runfolder *a, const kevo_runfolder *b,
                              const kevo_model *ma, const kevo_model *mb,
                              const kevo_diff_params *p, kevo_diff **out, kevo_error *err);

// A token's raw piece through run A's (which 0) or B's (1) model, for labels (as
// kevo_analysis_piece).
const char *kevo_diff_piece(const kevo_diff *d, int which, int id, char *buf, size_t size);

// diff.csv, layers.csv and diff.json into dir, each atomically (diff_tables.c).
kevo_status kevo_diff_write_tables(const kevo_diff *d, const char *dir, kevo_error *err);

#endif
