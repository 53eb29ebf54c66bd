// lens.h — the logit lens: the vocabulary distribution every recorded hidden state implies, and
// what the analyses read from it, computed without ever holding T x (L+1) x V logits (the
// modes, kevo_lens_mode, are public: kevo.h, kevo/analysis.h).
//
// For step t and hidden-state index l (0 = embeddings, L = after the final norm, see
// docs/run-folder.md) the lens distribution is P_t^l = softmax(W_U h), W_U the LM head (V, D):
//   raw  — h = hidden[t][l] as recorded, the authors' lens (their scripts apply lm_head to HF's
//          hidden states: the raw residual stream for l < L, the normed state for l = L);
//   norm — h = RMSNorm(hidden[t][l]) for l < L (the model's final norm and weight), l = L as is.
//
// Streaming: steps are taken in chunks whose (chunk x (L+1), V) F32 logits and double
// probabilities fit a byte budget (512 MiB by default; one chunk for short runs). Each chunk costs
// one batched product with the head (kevo_linear in F32: fixed blocks, F16/BF16 rows widened block
// by block, every logit summed in the same order whatever the chunk or thread count), and
// everything is read from the chunk while it is in memory: per row the log-sum-exp and the
// probabilities in double (one exp per logit), the top token, the generated token's probability;
// per pair of consecutive states both divergences (analysis/divergence.h, one log per entry); per
// step the candidate tokens and their probability at every state (analysis/candidates.h). One
// product per chunk instead of the two a vocabulary-blocked scheme needs (one pass for the
// log-sum-exps, a second for everything that needs them).
#ifndef KEVO_ANALYSIS_LENS_H
#define KEVO_ANALYSIS_LENS_H

#include <stddef.h>

#include "analysis/candidates.h"
#include "analysis/divergence.h"
#include "io/safetensors.h"
#include "kevo.h"

// The model parts the lens reads. Borrowed.
typedef struct kevo_lens_head {
    const kevo_tensor *lm_head;      // (V, D) F32, F16, BF16 or a block type
    const float *final_norm;         // (D), used by the norm lens
    float eps;                       // the final norm's epsilon
} kevo_lens_head;

// KEVO_OK when head can read states of width dim: (V, dim), any weight type.
kevo_status kevo_lens_head_check(const kevo_lens_head *head, int dim, kevo_error *err);

typedef struct kevo_lens_params {
    kevo_lens_mode mode;
    kevo_window window;              // hidden-state indices whose top tokens are the candidates
    size_t budget_bytes;             // logits + probabilities held at once; 0 = 512 MiB (at
                                     // least one step)
    kevo_compute compute;            // the products with the head: F32 (the reference) or BF16
                                     // (AVX512-BF16; docs/analyses.md states its precision)
} kevo_lens_params;

// How many of the most probable tokens are kept per (step, state), for the report's hover.
#define KEVO_LENS_TOPK 5

// What the lens hands to the analyses. Every array is owned; index [t * S + l] for (T, S)
// arrays, S = L + 1 states, [t * L + i] for the (T, L) transition arrays.
typedef struct kevo_lens_result {
    int n_steps, n_states, vocab;    // T, S = L + 1, V
    double *lse;                     // (T, S) log-sum-exp of the logits, in double
    int *top_id;                     // (T, S) argmax (the first of equal maxima)
    double *top_p;                   // (T, S) its probability
    int *top5_id;                    // (T, S, KEVO_LENS_TOPK) the KEVO_LENS_TOPK most probable
    double *top5_p;                  // tokens and their probabilities: by logit descending,
                                     // equal logits by ascending id (so rank 0 is top_id, its
                                     // probability top_p to the bit); id -1, p NaN past V
    double *generated_p;             // (T, S) probability of the token generated at step t
    double *generated_gap;           // (T) top logit - generated token's logit at state L
    double *div_paper;               // (T, L) the authors' divergence (analysis/divergence.h)
    double *div_jsd;                 // (T, L) Jensen-Shannon divergence in bits
    int *cand_start;                 // (T + 1) candidates of step t: [cand_start[t], [t + 1])
    int *cand_id;                    // (n_cand) token ids, in order of first appearance
    double *cand_p;                  // (n_cand, S) probability of each candidate at each state
    int n_cand;
    int n_chunks;                    // how many chunks the steps were taken in
    double seconds;                  // in all
    double seconds_products;         // of which the products with the head
    double seconds_reductions;       // and the per-row and per-pair reductions
} kevo_lens_result;

// hidden: (T, S, D) F32; generated_ids: (T). Fails with KEVO_ERR_ARG when the dimensions do
// not agree with the head or the window is outside [0, L], KEVO_ERR_NOMEM on allocation.
kevo_status kevo_lens_run(const kevo_lens_head *head, const float *hidden, int n_steps,
                          int n_states, int dim, const int *generated_ids,
                          const kevo_lens_params *p, kevo_lens_result **out, kevo_error *err);
void kevo_lens_result_free(kevo_lens_result *r);

// The lens distributions of whole steps held in memory, for a caller that reads rows of two runs
// side by side (analysis/diff.c): the same products (F32 or BF16, batch-invariant) and per-row
// reductions as kevo_lens_run, so a row is the one the lens computes to the bit.
typedef struct kevo_lens_block kevo_lens_block;

// Room for up to max_steps steps of n_states states of width dim. KEVO_ERR_ARG when the head
// cannot read such states or the products are not available, KEVO_ERR_NOMEM on allocation.
kevo_status kevo_lens_block_create(const kevo_lens_head *head, kevo_lens_mode mode,
                                   kevo_compute compute, int max_steps, int n_states, int dim,
                                   kevo_lens_block **out, kevo_error *err);
// The distributions of n <= max_steps steps: states (n, n_states, dim) F32 as recorded.
void kevo_lens_block_run(kevo_lens_block *b, const float *states, int n);
// Row (step, state) of the last run: logits, maximum, logsum and probabilities (borrowed), and
// its top token (the first of equal maxima) with its probability.
kevo_lens_row kevo_lens_block_row(const kevo_lens_block *b, int step, int state, int *top,
                                  double *top_p);
void kevo_lens_block_free(kevo_lens_block *b);   // accepts NULL

#endif
