// stages.h — the critical layer and the mutation layer, per token and per run (or pooled over
// runs), and the three stages they delimit: rapid evolution, stabilisation, mutation.
//
// The authors hand-set these layers (20 and 32 for LLaVA-1.5-7B); kevo finds them from the lens.
// The rule, why it is built this way and how it behaves on models without stages:
// docs/stages.md. In short, with J the divergence between consecutive states (either kind) and
// hidden-state indices l = 0..L:
//   critical layer C (run): the split 1 <= C <= L-2 where the typical divergence (median over
//       tokens of log10 J) falls most between the w transitions before and the w from it,
//       w = max(2, round(3L/32)) (3 for 32 layers); reported only when it falls by at least
//       `min_drop` decades;
//   token critical layer c_t: the first state l >= 1 whose top token has probability >= theta;
//   token mutation layer m_t = i + 1 for the transition i in [C+1, L-1] with the largest J, when
//       J there is at least kappa times the token's median J over [C, L-1] and the top token
//       changes across it;
//   mutation layer M (run): the most frequent m_t (the shallowest of equally frequent ones),
//       reported only when at least `min_mutated` of the tokens mutate.
// Stages over states 0..L: rapid evolution [0, C-1], stabilisation [C, M-1], mutation [M, L].
// The parameters, the stage ranges and their labels are public (kevo.h, kevo/analysis.h); the
// struct below is what the analyses, the maps and the figures read.
#ifndef KEVO_ANALYSIS_STAGES_H
#define KEVO_ANALYSIS_STAGES_H

#include "kevo.h"

// What the rule reads from one run's lens (analysis/lens.h). Borrowed.
typedef struct kevo_stage_input {
    int n_steps, n_layers;   // T, L
    const double *div;       // (T, L) divergence between states i and i + 1
    const int *top_id;       // (T, L + 1)
    const double *top_p;     // (T, L + 1)
} kevo_stage_input;

typedef struct kevo_token_stage {
    int critical;            // c_t, or -1 when no state reaches theta
    int mutation;            // m_t, or -1
    double ratio;            // J at the largest post-critical transition / the median; 0 if none
    int from_id, to_id;      // the top token before and after that transition (-1 if none)
} kevo_token_stage;

struct kevo_stages {
    int n_layers, n_tokens, n_runs;
    int window;              // w used for C
    int critical;            // first state of stabilisation, or -1: no clear critical layer
    int critical_given;      // 1 when the caller set it
    double critical_drop;    // decades the typical divergence falls at `critical` (or the best
                             // split's drop when none was clear)
    int best_split;          // the best split examined, even when not clear (-1 if none)
    int critical_level1;     // median of the tokens' c_t, or -1
    int n_critical_level1;   // tokens with a c_t
    int mutation;            // first state of the mutation stage, or -1
    int mutation_given;
    int n_mutated;
    int *mutation_hist;      // (L + 1) tokens whose mutation lands on each state
    double *profile;         // (L) median over tokens of log10 J per transition
    kevo_token_stage *tokens;   // (n_tokens), the runs' steps in order
    char note[512];          // why a layer is missing; "" when both were found or given
};

// runs: n_runs runs of models with the same L. Fails with KEVO_ERR_ARG on mismatched depths
// or overrides outside 1 <= critical <= L, critical < mutation <= L (or a mutation override
// without any critical layer).
kevo_status kevo_stages_detect(const kevo_stage_input *runs, int n_runs,
                               const kevo_stage_params *p, kevo_stages **out, kevo_error *err);

// The stage (index into kevo_stages_ranges' output) that state l belongs to.
int kevo_stages_of_state(const kevo_stages *s, int l);

#endif
