// plan.h — every buffer a run uses, sized and placed once from the config and the run's limits.
//
// The engine carves all activations, the key/value cache and the recorder out of one allocation
// laid out by this plan (nothing is allocated per token), and `kevo info` prints the same
// figures, so the estimate and the real footprint cannot drift apart.
//
// Letters: S vision sequence (patches + class token), Dv/Fv vision width/MLP, N image tokens,
// T prompt positions, C context (T + new tokens), D/F text width/MLP, H/K heads/key-value heads,
// E head dim, V vocabulary rows, L decoder layers.
#ifndef KEVO_MODEL_PLAN_H
#define KEVO_MODEL_PLAN_H

#include <stddef.h>

#include "kevo.h"


typedef enum kevo_buffer {
    // vision tower and projector
    KEVO_BUF_PATCHES,     // (S-1, C*P*P) the image cut into patches
    KEVO_BUF_VX,          // (S, Dv) residual stream
    KEVO_BUF_VXN,         // (S, Dv) normed stream / sublayer output
    KEVO_BUF_VQ, KEVO_BUF_VK, KEVO_BUF_VV, KEVO_BUF_VATT,   // (S, Dv)
    KEVO_BUF_VMLP,        // (S, Fv)
    KEVO_BUF_VSCORES,     // attention scratch
    KEVO_BUF_VPROJ,       // (N, D) projector hidden layer
    KEVO_BUF_VEMB,        // (N, D) image embeddings handed to the language model
    // language model
    KEVO_BUF_X, KEVO_BUF_XN,       // (T, D)
    KEVO_BUF_Q, KEVO_BUF_ATT,      // (T, H*E)
    KEVO_BUF_K, KEVO_BUF_V,        // (T, K*E)
    KEVO_BUF_GATE, KEVO_BUF_UP,    // (T, F)
    KEVO_BUF_SCORES,               // attention scratch
    KEVO_BUF_LOGITS,               // (V)
    KEVO_BUF_COS, KEVO_BUF_SIN,    // (C, E/2) rotary tables
    KEVO_BUF_KV,                   // (L, 2, K, C, E) key/value cache
    KEVO_BUF_SCRATCH,              // packed operands of the matrix products (kevo_linear_scratch)
    KEVO_BUF_RECORD,               // (new tokens, L+1, D) the recorder
    KEVO_BUF_COUNT
} kevo_buffer;

typedef struct kevo_plan {
    int n_prompt;                  // T
    int max_new;
    int n_ctx;                     // C
    int n_threads;
    size_t offset[KEVO_BUF_COUNT]; // bytes from the start of the arena, 64-byte aligned
    size_t size[KEVO_BUF_COUNT];   // bytes
    size_t total;
    // Summaries for `kevo info`
    size_t vision_bytes, text_bytes, kv_bytes, scratch_bytes, record_bytes;
} kevo_plan;

// Fills p for a prompt of n_prompt positions (image included), max_new new tokens and
// n_threads threads.
void kevo_plan_compute(const kevo_config *c, int n_prompt, int max_new, int n_threads,
                       kevo_plan *p);

#endif
