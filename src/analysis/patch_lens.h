// patch_lens.h — the logit lens on the image positions: what every image patch's hidden state
// decodes to at every recorded hidden-state index (Neo et al. 2024 read LLaVA's image tokens
// this way and found object words on the object's patches in middle-to-late layers).
//
// The states are those the run folder stores as image_hidden: (P, K, D), patch-major, K of the
// L+1 hidden-state indices kept (indices[k] says which; L is after the final norm, as for the
// answer's states). For each (patch, kept index) the lens distribution is softmax(W_U h) with
// h raw or normed exactly as in analysis/lens.h, and the reductions are read from it while its
// logits are in memory: the top token (the first of equal maxima), its probability, the entropy
// in nats, and the probability of each tracked token. Rows are taken in chunks whose F32 logits
// fit a byte budget, one batched product with the head per chunk (kevo_linear, F32, batch-
// invariant: a row's logits do not depend on the chunk it is in).
#ifndef KEVO_ANALYSIS_PATCH_LENS_H
#define KEVO_ANALYSIS_PATCH_LENS_H

#include <stddef.h>

#include "analysis/lens.h"
#include "kevo.h"

typedef struct kevo_patch_lens_params {
    kevo_lens_mode mode;
    const int *word_ids;          // tracked token ids (rows of the head), may be NULL
    int n_words;
    size_t budget_bytes;          // F32 logits held at once; 0 = 256 MiB (at least one row)
} kevo_patch_lens_params;

// Every array is owned; (P, K) arrays are indexed [p * K + k], word_p [(p * K + k) * W + w].
typedef struct kevo_patch_lens_result {
    int n_patches, n_indices, vocab, n_words;   // P, K, V, W
    int *top_id;                  // (P, K)
    double *top_p;                // (P, K)
    double *entropy;              // (P, K) -sum p log p, natural log
    double *word_p;               // (P, K, W)
    int n_chunks;
    double seconds, seconds_products;
} kevo_patch_lens_result;

// states: (P, K, D) F32; indices: (K) hidden-state indices in [0, n_layers], n_layers = L.
// Fails with KEVO_ERR_ARG when the head does not fit the states, an index is outside 0..L or a
// tracked id is not a row of the head; KEVO_ERR_NOMEM on allocation.
kevo_status kevo_patch_lens_run(const kevo_lens_head *head, const float *states, int n_patches,
                                int n_indices, const int *indices, int n_layers, int dim,
                                const kevo_patch_lens_params *p, kevo_patch_lens_result **out,
                                kevo_error *err);
void kevo_patch_lens_result_free(kevo_patch_lens_result *r);

#endif
