// plan.h — the memory a run needs, computed once from the config and the run's limits.
//
// The engine carves every activation, cache and record buffer out of one allocation sized by
// this plan (nothing is allocated per token), and `kevo info` prints the same figures, so the
// estimate and the real footprint cannot drift apart.
#ifndef KEVO_MODEL_PLAN_H
#define KEVO_MODEL_PLAN_H

#include <stddef.h>

#include "kevo.h"

// Rows of a F16/BF16 weight converted to F32 at a time for a BLAS product during prefill.
#define KEVO_CONVERT_ROWS 256

typedef struct kevo_plan {
    int n_prompt;            // prompt positions, image positions included
    int max_new;             // tokens to generate
    int n_ctx;               // n_prompt + max_new
    int n_threads;
    size_t vision_bytes;     // CLIP activations for one image
    size_t text_bytes;       // language-model activations for the whole prompt at once
    size_t kv_bytes;         // key/value cache, F32
    size_t convert_bytes;    // per-thread F32 copies of weight row blocks (F16/BF16 weights)
    size_t record_bytes;     // the recorder: max_new x (L + 1) x D floats
    size_t total;
} kevo_plan;

// Fills p for a prompt of n_prompt positions, max_new new tokens and n_threads threads.
// `low_precision` says whether any weight is F16/BF16 (they need conversion space).
void kevo_plan_compute(const kevo_config *c, int low_precision, int n_prompt, int max_new,
                       int n_threads, kevo_plan *p);

#endif
