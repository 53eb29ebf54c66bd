// candidates.h — Level 1 of the paper: which tokens compete for a step, layer by layer.
//
// The authors (plot_token_probabilities_area.py) take, for each step, the top token of the lens
// at hidden-state indices 20..32 of LLaVA-1.5-7B (range(20, 33)), drop repeats keeping the order
// of first appearance from the shallowest state up, and plot each candidate's probability at
// every state 0..32. Because the last state is included, the generated token is always among
// them. kevo's default window keeps the same share of depth for any model: the deepest
// round(13/33 (L+1)) states, i.e. 20..32 for L = 32.
#ifndef KEVO_ANALYSIS_CANDIDATES_H
#define KEVO_ANALYSIS_CANDIDATES_H

#include "kevo.h"

// Hidden-state indices lo..hi, both included.
typedef struct kevo_window {
    int lo, hi;
} kevo_window;

// The deepest round(13 (L+1) / 33) states (at least one) of a model with L decoder layers.
kevo_window kevo_window_default(int n_layers);

// Parses "A:B" (both included), "A:" (A..L) or ":B" (0..B) for a model with L layers; anything
// but 0 <= A <= B <= L fails with KEVO_ERR_ARG.
kevo_status kevo_window_parse(const char *text, int n_layers, kevo_window *out, kevo_error *err);

// The candidates of one step: top_id[lo..hi] without repeats, in order. top_id: (L+1) top token
// per state. Writes at most hi - lo + 1 ids to out; returns how many.
int kevo_candidates_pick(const int *top_id, kevo_window w, int *out);

#endif
