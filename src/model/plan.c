// plan.c — sizes and offsets of every buffer of a run (see plan.h).
#include "model/plan.h"

#include "kernels/attention.h"
#include "kernels/linear.h"

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

void kevo_plan_compute(const kevo_config *c, int n_prompt, int max_new, int n_threads,
                       kevo_plan *p)
{
    size_t grid = (size_t)(c->image_size / c->patch_size);
    size_t s = grid * grid + 1, dv = (size_t)c->vision_hidden, fv = (size_t)c->vision_intermediate;
    size_t cpp = (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
    size_t n = (size_t)c->image_tokens, t = (size_t)n_prompt, d = (size_t)c->text_hidden;
    size_t ff = (size_t)c->text_intermediate, e = (size_t)c->text_head_dim;
    size_t q = (size_t)c->text_heads * e, kv = (size_t)c->text_kv_heads * e;
    size_t ctx = (size_t)n_prompt + (size_t)max_new, l = (size_t)c->text_layers;
    size_t widest = max_sz(max_sz(max_sz(d, ff), max_sz(dv, fv)), max_sz(q, cpp));

    size_t floats[KEVO_BUF_COUNT] = {
        [KEVO_BUF_PATCHES] = (s - 1) * cpp,
        [KEVO_BUF_VX] = s * dv, [KEVO_BUF_VXN] = s * dv,
        [KEVO_BUF_VQ] = s * dv, [KEVO_BUF_VK] = s * dv, [KEVO_BUF_VV] = s * dv,
        [KEVO_BUF_VATT] = s * dv,
        [KEVO_BUF_VMLP] = s * fv,
        [KEVO_BUF_VSCORES] = kevo_attention_scratch((int)s, (int)s, n_threads),
        [KEVO_BUF_VPROJ] = n * d, [KEVO_BUF_VEMB] = n * d,
        [KEVO_BUF_X] = t * d, [KEVO_BUF_XN] = t * d,
        [KEVO_BUF_Q] = t * q, [KEVO_BUF_ATT] = t * q,
        [KEVO_BUF_K] = t * kv, [KEVO_BUF_V] = t * kv,
        [KEVO_BUF_GATE] = t * ff, [KEVO_BUF_UP] = t * ff,
        [KEVO_BUF_SCORES] = max_sz(kevo_attention_scratch((int)t, (int)ctx, n_threads),
                                   kevo_attention_scratch(1, (int)ctx, n_threads)),
        [KEVO_BUF_LOGITS] = (size_t)c->text_vocab,
        [KEVO_BUF_COS] = ctx * (e / 2), [KEVO_BUF_SIN] = ctx * (e / 2),
        [KEVO_BUF_KV] = l * 2 * kv * ctx,
        [KEVO_BUF_SCRATCH] = 0,   // bytes, set below
        [KEVO_BUF_RECORD] = (size_t)max_new * (l + 1) * d,
    };
    p->n_prompt = n_prompt;
    p->max_new = max_new;
    p->n_ctx = (int)ctx;
    p->n_threads = n_threads;
    p->total = 0;
    p->vision_bytes = p->text_bytes = 0;
    for (int i = 0; i < KEVO_BUF_COUNT; i++) {
        p->offset[i] = p->total;
        p->size[i] = i == KEVO_BUF_SCRATCH
                         ? kevo_linear_scratch((int)max_sz(t, s), (int)widest, n_threads)
                         : floats[i] * sizeof(float);
        p->total += (p->size[i] + 63) & ~(size_t)63;
        if (i <= KEVO_BUF_VEMB)
            p->vision_bytes += p->size[i];
        else if (i <= KEVO_BUF_SIN)
            p->text_bytes += p->size[i];
    }
    p->kv_bytes = p->size[KEVO_BUF_KV];
    p->scratch_bytes = p->size[KEVO_BUF_SCRATCH];
    p->record_bytes = p->size[KEVO_BUF_RECORD];
}
