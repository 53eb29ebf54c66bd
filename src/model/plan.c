// plan.c — the sizes and places of every buffer of a run (see plan.h), in one list: the same
// function sizes the arena (for `kevo info` and the allocation) and carves the activations out
// of it, so the two cannot disagree.
#include "model/plan.h"

#include "base/threads.h"
#include "kernels/attention.h"
#include "kernels/linear.h"

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

// The arena as the list fills it: each buffer at the next 64-byte boundary. Without a base
// (sizing only) every pointer is NULL.
typedef struct cursor {
    unsigned char *base;
    size_t used;
} cursor;

// The next `bytes` of the arena, counted in the summary `group` too.
static void *take(cursor *cur, size_t bytes, size_t *group)
{
    void *at = cur->base ? cur->base + cur->used : NULL;
    cur->used += (bytes + 63) & ~(size_t)63;
    *group += bytes;
    return at;
}

// The CLIP tower's buffers (one tile of S = patches + 1 at a time) and the projector's.
static void clip_vision(const kevo_config *c, const kevo_plan *p, cursor *cur,
                        kevo_vision_acts *va, size_t *vis)
{
    size_t grid = (size_t)(c->image_size / c->patch_size);
    size_t s = grid * grid + 1, dv = (size_t)c->vision_hidden, fv = (size_t)c->vision_intermediate;
    size_t cpp = (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
    size_t n = (size_t)p->n_image_tokens, d = (size_t)c->text_hidden;
    size_t tiles = (size_t)p->n_tiles, per_tile = grid * grid + (size_t)c->feature_keep_cls;
    size_t df = dv * (size_t)c->n_feature_layers;
    const size_t f = sizeof(float);
    va->patches = take(cur, (s - 1) * cpp * f, vis);
    va->x = take(cur, s * dv * f, vis);
    va->xn = take(cur, s * dv * f, vis);
    va->q = take(cur, s * dv * f, vis);
    va->k = take(cur, s * dv * f, vis);
    va->v = take(cur, s * dv * f, vis);
    va->att = take(cur, s * dv * f, vis);
    va->mlp = take(cur, s * fv * f, vis);
    va->scores = take(cur, kevo_attention_scratch((int)s, (int)s, p->n_threads) * f, vis);
    va->features = take(cur, tiles * per_tile * df * f, vis);
    va->proj = take(cur, tiles * per_tile * d * f, vis);
    va->tile_emb = take(cur, (tiles > 1 ? tiles * per_tile : 0) * d * f, vis);
    va->emb = take(cur, n * d * f, vis);
}

// Qwen2-VL's tower over the image's S patches at once, and its PatchMerger.
static void qwen_vision(const kevo_config *c, const kevo_plan *p, cursor *cur,
                        kevo_vision_acts *va, size_t *vis)
{
    size_t s = (size_t)p->n_patches, n = (size_t)p->n_image_tokens, d = (size_t)c->text_hidden;
    size_t dv = (size_t)c->vision_hidden, fv = (size_t)c->vision_intermediate;
    size_t m2 = (size_t)c->spatial_merge_size * (size_t)c->spatial_merge_size;
    size_t mlp = max_sz(3 * dv, (c->vision_swiglu ? 2 : 1) * fv);
    size_t half = (size_t)c->vision_head_dim / 2;
    const size_t f = sizeof(float);
    va->patches = va->q = va->k = va->v = va->tile_emb = NULL;
    va->x = take(cur, s * dv * f, vis);
    va->xn = take(cur, s * dv * f, vis);
    va->att = take(cur, s * dv * f, vis);
    va->mlp = take(cur, s * mlp * f, vis);
    va->scores = take(cur, kevo_attention_scratch((int)s, (int)s, p->n_threads) * f, vis);
    va->features = take(cur, s * dv * f, vis);
    va->proj = take(cur, n * dv * m2 * f, vis);
    va->emb = take(cur, n * d * f, vis);
    va->rot_cos = take(cur, s * half * f, vis);
    va->rot_sin = take(cur, s * half * f, vis);
    va->window_order = take(cur, n * sizeof(int), vis);
    va->window_bounds = take(cur, (n + 1) * sizeof(int), vis);
}

// p's limits in; its sizes out, and a's pointers into base.
static void layout(const kevo_config *c, kevo_plan *p, unsigned char *base, kevo_activations *a)
{
    int qwen = c->spatial_merge_size > 0;
    size_t dv = (size_t)c->vision_hidden, fv = (size_t)c->vision_intermediate;
    size_t t = (size_t)p->n_prompt, d = (size_t)c->text_hidden;
    size_t ff = (size_t)c->text_intermediate, e = (size_t)c->text_head_dim;
    size_t q = (size_t)c->text_heads * e, kv = (size_t)c->text_kv_heads * e;
    size_t ctx = (size_t)p->n_prompt + (size_t)p->max_new, l = (size_t)c->text_layers;
    size_t n = (size_t)p->n_image_tokens;
    // The widest input and the most rows of any matrix product: the scratch's size.
    size_t widest = max_sz(max_sz(d, ff), max_sz(max_sz(dv, fv), q)), rows;
    if (qwen) {
        size_t m2 = (size_t)c->spatial_merge_size * (size_t)c->spatial_merge_size;
        size_t row = (size_t)c->num_channels * (size_t)c->temporal_patch_size *
                     (size_t)c->patch_size * (size_t)c->patch_size;
        widest = max_sz(widest, max_sz(row, dv * m2));
        rows = max_sz(t, (size_t)p->n_patches);
    } else {
        size_t grid = (size_t)(c->image_size / c->patch_size);
        size_t cpp = (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
        widest = max_sz(widest, max_sz(cpp, dv * (size_t)c->n_feature_layers));
        rows = max_sz(t, (size_t)p->n_tiles * (grid * grid + (size_t)c->feature_keep_cls));
    }
    int threads = p->n_threads;
    const size_t f = sizeof(float);

    p->n_ctx = (int)ctx;
    p->vision_bytes = p->text_bytes = p->kv_bytes = p->scratch_bytes = p->record_bytes = 0;
    p->image_record_bytes = 0;
    cursor cur = {.base = base};
    size_t *txt = &p->text_bytes;
    if (qwen)
        qwen_vision(c, p, &cur, &a->vision, &p->vision_bytes);
    else
        clip_vision(c, p, &cur, &a->vision, &p->vision_bytes);

    kevo_text_acts *ta = &a->text;
    ta->x = take(&cur, t * d * f, txt);
    ta->xn = take(&cur, t * d * f, txt);
    ta->q = take(&cur, t * q * f, txt);
    ta->att = take(&cur, t * q * f, txt);
    ta->k = take(&cur, t * kv * f, txt);
    ta->v = take(&cur, t * kv * f, txt);
    ta->gate = take(&cur, t * ff * f, txt);
    ta->up = take(&cur, t * ff * f, txt);
    ta->scores = take(&cur, max_sz(kevo_attention_scratch((int)t, (int)ctx, threads),
                                   kevo_attention_scratch(1, (int)ctx, threads)) * f, txt);
    ta->logits = take(&cur, (size_t)c->text_vocab * f, txt);
    ta->cos = take(&cur, ctx * (e / 2) * f, txt);
    ta->sin = take(&cur, ctx * (e / 2) * f, txt);
    ta->kv = take(&cur, l * 2 * kv * ctx * f, &p->kv_bytes);

    a->scratch = take(&cur, kevo_linear_scratch((int)rows, (int)widest, threads),
                      &p->scratch_bytes);
    a->record = take(&cur, (size_t)p->max_new * (l + 1) * d * f, &p->record_bytes);
    a->image_record = take(&cur, n * (size_t)p->n_image_states * d * f, &p->image_record_bytes);
    p->total = cur.used;
}

void kevo_plan_compute(const kevo_config *c, const kevo_plan_limits *lim, kevo_plan *p)
{
    *p = (kevo_plan){.n_prompt = lim->n_prompt, .max_new = lim->max_new,
                     .n_tiles = lim->n_tiles, .n_image_tokens = lim->n_image_tokens,
                     .n_patches = lim->n_patches, .n_image_states = lim->n_image_states,
                     .n_threads = kevo_threads_resolve(lim->n_threads)};
    kevo_activations sizes_only;
    layout(c, p, NULL, &sizes_only);
}

void kevo_plan_carve(const kevo_config *c, const kevo_plan *p, void *arena, kevo_activations *a)
{
    kevo_plan again = *p;
    layout(c, &again, arena, a);
}
