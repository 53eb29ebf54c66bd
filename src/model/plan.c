// plan.c — sizes of every buffer a run uses (see plan.h). Dimension letters as in weights.h;
// T = prompt positions, S = vision sequence (patches + class token).
#include "model/plan.h"

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

void kevo_plan_compute(const kevo_config *c, int low_precision, int n_prompt, int max_new,
                       int n_threads, kevo_plan *p)
{
    const size_t f = sizeof(float);
    size_t grid = (size_t)(c->image_size / c->patch_size);
    size_t s = grid * grid + 1, dv = (size_t)c->vision_hidden, fv = (size_t)c->vision_intermediate;
    size_t t = (size_t)n_prompt, d = (size_t)c->text_hidden, ff = (size_t)c->text_intermediate;
    size_t q = (size_t)c->text_heads * (size_t)c->text_head_dim;
    size_t kv = (size_t)c->text_kv_heads * (size_t)c->text_head_dim;
    size_t ctx = (size_t)n_prompt + (size_t)max_new;

    p->n_prompt = n_prompt;
    p->max_new = max_new;
    p->n_ctx = (int)ctx;
    p->n_threads = n_threads;
    // x, normed x, q, k, v, attention output: S x Dv each; MLP hidden S x Fv; one S x S score
    // row block per thread; the patch matrix S x (C P P); projector input and hidden.
    size_t cpp = (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
    p->vision_bytes = f * (6 * s * dv + s * fv + (size_t)n_threads * s + s * cpp + s * d);
    // x, normed x, attention output: T x D; q: T x HE; k, v: T x KE; gate, up: T x F;
    // one score row per thread; logits V.
    p->text_bytes = f * (3 * t * d + t * q + 2 * t * kv + 2 * t * ff +
                         (size_t)n_threads * ctx + (size_t)c->text_vocab);
    p->kv_bytes = f * 2 * (size_t)c->text_layers * ctx * kv;
    size_t widest = max_sz(max_sz(d, ff), max_sz(dv, max_sz(fv, q)));
    p->convert_bytes = low_precision ? f * (size_t)n_threads * KEVO_CONVERT_ROWS * widest : 0;
    p->record_bytes = f * (size_t)max_new * ((size_t)c->text_layers + 1) * d;
    p->total = p->vision_bytes + p->text_bytes + p->kv_bytes + p->convert_bytes + p->record_bytes;
}
