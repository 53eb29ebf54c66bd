// run.h — the mutable state of a generation, shared by the modules that compute it
// (clip.c, projector.c, llama.c) and owned by run.c.
#ifndef KEVO_MODEL_RUN_H
#define KEVO_MODEL_RUN_H

#include "kernels/linear.h"
#include "kevo.h"
#include "model/model.h"
#include "model/plan.h"

struct kevo_run {
    const kevo_model *model;      // borrowed
    kevo_run_params params;
    kevo_plan plan;               // layout of `arena` for the current prompt length
    unsigned char *arena;         // one allocation: every buffer of the plan
    size_t arena_size;
    float *buf[KEVO_BUF_COUNT];   // pointers into the arena
    kevo_linear_ctx lin;          // scratch and precision of the matrix products
    int n_generated;
    int *generated;               // (max_new_tokens)
    kevo_stop stop;
    kevo_timings timings;
};

// Fails with KEVO_ERR_INTERRUPTED when the caller asked to stop.
kevo_status kevo_run_check_interrupt(const kevo_run *r, kevo_error *err);

// clip.c + projector.c: pixels -> buf[KEVO_BUF_VEMB] (and the features in buf[KEVO_BUF_VX]).
kevo_status kevo_clip_encode(kevo_run *r, const float *pixels, kevo_error *err);
kevo_status kevo_projector_forward(kevo_run *r, kevo_error *err);   // fails on NaN / Inf
// The feature-layer features inside buf[KEVO_BUF_VX] (class token skipped unless kept).
const float *kevo_clip_features(const kevo_run *r);

// llama.c: runs positions [pos0, pos0 + n) whose input embeddings are rows [0, n) of
// buf[KEVO_BUF_X]; leaves the last row's logits in buf[KEVO_BUF_LOGITS] and, when `states` is not
// NULL, the last row's L+1 hidden states in states (L+1, D).
kevo_status kevo_llama_forward(kevo_run *r, int n, int pos0, float *states, kevo_error *err);

// One embedding row, widened to F32.
void kevo_llama_embed(const kevo_run *r, int id, float *dst);

#endif
