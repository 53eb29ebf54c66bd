// weights.c — binding a checkpoint's tensors to the slots a config implies.
//
// Names follow the family's hub layout (its kevo_weight_layout: the vision side's slots, the
// decoder's prefix); names re-saved by newer transformers are mapped back first. Binding is strict in both directions: a tensor the config needs but the
// checkpoint lacks, and a tensor the checkpoint holds but the config does not explain (say,
// attention biases under attention_bias = false), are both errors, because ignoring either would
// give a silently wrong model.
#include "model/weights.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "base/error.h"
#include "base/convert.h"
#include "model/family.h"

#define NAME_MAX_LEN 256

typedef enum { PART_VISION, PART_PROJECTOR, PART_TEXT } part;

typedef struct slot {
    char name[NAME_MAX_LEN];
    int n_dims;
    int64_t shape[KEVO_SHAPE_MAX];
    kevo_weight *dst;          // NULL: validated if present, never read (e.g. post_layernorm)
    int required;
    int want_f32;              // vectors (and the position table) get an F32 view
} slot;

typedef struct stored {
    char name[NAME_MAX_LEN];   // canonical
    const kevo_tensor *t;
    int used;
} stored;

struct kevo_binder {
    slot *slots;
    int n, cap;
    char problems[KEVO_ERROR_MAX];
    int n_problems;
    int oom;
    kevo_weights *w;   // owns what kevo_bind_alloc hands out
};
typedef kevo_binder binder;

// The stored name under the family's hub layout: newer transformers re-save some prefixes
// under new names, which the family's renames map back first.
static const char *canonical_name(const kevo_weight_layout *lay, const char *name, char *buf,
                                  size_t size)
{
    for (int i = 0; i < lay->n_renames; i++) {
        size_t n = strlen(lay->renames[i].from);
        if (strncmp(name, lay->renames[i].from, n) == 0) {
            snprintf(buf, size, "%s%s", lay->renames[i].to, name + n);
            return buf;
        }
    }
    snprintf(buf, size, "%s", name);
    return buf;
}

void kevo_bind_add(kevo_binder *b, kevo_weight *dst, int required, int n_dims,
                   const int64_t *shape, const char *fmt, ...)
{
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 256;
        slot *grown = realloc(b->slots, (size_t)cap * sizeof *grown);
        if (!grown) {
            b->oom = 1;
            return;
        }
        b->slots = grown;
        b->cap = cap;
    }
    slot *s = &b->slots[b->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->n_dims = n_dims;
    memcpy(s->shape, shape, (size_t)n_dims * sizeof *shape);
    s->dst = dst;
    s->required = required;
    s->want_f32 = n_dims == 1;
}

void kevo_bind_want_f32(kevo_binder *b)
{
    if (!b->oom && b->n > 0)
        b->slots[b->n - 1].want_f32 = 1;
}

// Owned allocations hang off the weights' copies list, freed with them.
void *kevo_bind_alloc(kevo_binder *b, size_t n, size_t size)
{
    kevo_weights *w = b->w;
    void **grown = realloc(w->owned, (size_t)(w->n_owned + 1) * sizeof *grown);
    void *p = grown ? calloc(n ? n : 1, size) : NULL;
    if (grown)
        w->owned = grown;
    if (!p) {
        b->oom = 1;
        return NULL;
    }
    w->owned[w->n_owned++] = p;
    return p;
}

static void problem(binder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(binder *b, const char *fmt, ...)
{
    b->n_problems++;
    size_t len = strlen(b->problems);
    if (len + 40 >= sizeof b->problems)
        return;   // the count still grows; the message says how many were left out
    if (len)
        len += (size_t)snprintf(b->problems + len, sizeof b->problems - len, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->problems + len, sizeof b->problems - len, fmt, ap);
    va_end(ap);
}

static void shape_str(char *buf, size_t size, int n_dims, const int64_t *shape)
{
    int o = snprintf(buf, size, "[");
    for (int i = 0; i < n_dims && o < (int)size; i++)
        o += snprintf(buf + o, size - (size_t)o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < (int)size)
        snprintf(buf + o, size - (size_t)o, "]");
}

static void add_text_layer(binder *b, const kevo_config *c, const char *prefix,
                           kevo_llama_layer_weights *w, int i)
{
    int64_t d = c->text_hidden, f = c->text_intermediate;
    int64_t q = (int64_t)c->text_heads * c->text_head_dim;
    int64_t kv = (int64_t)c->text_kv_heads * c->text_head_dim;
    const char *p = prefix;
    kevo_bind_add(b, &w->attn_norm, 1, KEVO_SHAPE(d), "%slayers.%d.input_layernorm.weight", p, i);
    kevo_bind_add(b, &w->q, 1, KEVO_SHAPE(q, d), "%slayers.%d.self_attn.q_proj.weight", p, i);
    kevo_bind_add(b, &w->k, 1, KEVO_SHAPE(kv, d), "%slayers.%d.self_attn.k_proj.weight", p, i);
    kevo_bind_add(b, &w->v, 1, KEVO_SHAPE(kv, d), "%slayers.%d.self_attn.v_proj.weight", p, i);
    if (c->attention_bias) {
        kevo_bind_add(b, &w->q_b, 1, KEVO_SHAPE(q), "%slayers.%d.self_attn.q_proj.bias", p, i);
        kevo_bind_add(b, &w->k_b, 1, KEVO_SHAPE(kv), "%slayers.%d.self_attn.k_proj.bias", p, i);
        kevo_bind_add(b, &w->v_b, 1, KEVO_SHAPE(kv), "%slayers.%d.self_attn.v_proj.bias", p, i);
    }
    kevo_bind_add(b, &w->o, 1, KEVO_SHAPE(d, q), "%slayers.%d.self_attn.o_proj.weight", p, i);
    kevo_bind_add(b, &w->ffn_norm, 1, KEVO_SHAPE(d),
                  "%slayers.%d.post_attention_layernorm.weight", p, i);
    kevo_bind_add(b, &w->gate, 1, KEVO_SHAPE(f, d), "%slayers.%d.mlp.gate_proj.weight", p, i);
    kevo_bind_add(b, &w->up, 1, KEVO_SHAPE(f, d), "%slayers.%d.mlp.up_proj.weight", p, i);
    kevo_bind_add(b, &w->down, 1, KEVO_SHAPE(d, f), "%slayers.%d.mlp.down_proj.weight", p, i);
}

// The decoder's tensors under the family's prefix; the vision side is the family's.
static void add_all(binder *b, const kevo_weight_layout *lay, const kevo_config *c,
                    kevo_weights *w)
{
    lay->add_vision(b, c, w);
    int64_t d = c->text_hidden;
    const char *p = lay->text_prefix;
    kevo_bind_add(b, &w->embed, 1, KEVO_SHAPE(c->text_vocab, d), "%sembed_tokens.weight", p);
    for (int i = 0; i < c->text_layers; i++)
        add_text_layer(b, c, p, &w->text[i], i);
    kevo_bind_add(b, &w->final_norm, 1, KEVO_SHAPE(d), "%snorm.weight", p);
    if (!c->tie_word_embeddings)
        kevo_bind_add(b, &w->lm_head, 1, KEVO_SHAPE(c->text_vocab, d), "%s", lay->lm_head);
}

// Points dst->f32 at the data (F32) or at an owned converted copy (F16/BF16).
static int f32_view(kevo_weights *w, kevo_weight *dst)
{
    const kevo_tensor *t = dst->t;
    if (t->dtype == KEVO_DTYPE_F32) {
        dst->f32 = t->data;
        return 1;
    }
    float **grown = realloc(w->copies, (size_t)(w->n_copies + 1) * sizeof *grown);
    if (!grown)
        return 0;
    w->copies = grown;
    float *copy = malloc((size_t)t->n_elems * sizeof *copy + 1);
    if (!copy)
        return 0;
    kevo_convert_to_f32(copy, t->data, t->dtype, (size_t)t->n_elems);
    w->copies[w->n_copies++] = copy;
    dst->f32 = copy;
    return 1;
}

static int by_stored_name(const void *a, const void *b)
{
    return strcmp(((const stored *)a)->name, ((const stored *)b)->name);
}

// Buffers RoPE caches that old LLaMA checkpoints carry; they are recomputed, never read.
static int ignorable(const char *canonical)
{
    const char *suffix = ".rotary_emb.inv_freq";
    size_t n = strlen(canonical), m = strlen(suffix);
    return n > m && strcmp(canonical + n - m, suffix) == 0;
}

static int has_prefix(const char *s, const char *prefix)
{
    return prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

static part part_of(const kevo_weight_layout *lay, const char *canonical)
{
    if (has_prefix(canonical, lay->projector_prefixes[0]) ||
        has_prefix(canonical, lay->projector_prefixes[1]))
        return PART_PROJECTOR;
    return has_prefix(canonical, lay->vision_prefix) ? PART_VISION : PART_TEXT;
}

kevo_status kevo_weights_bind(const kevo_config *c, const kevo_checkpoint *ckpt,
                              kevo_weights **out, kevo_error *err)
{
    *out = NULL;
    binder b = {0};
    size_t n_stored = kevo_checkpoint_count(ckpt);
    stored *st_list = calloc(n_stored + 1, sizeof *st_list);
    kevo_weights *w = calloc(1, sizeof *w);
    kevo_status st = KEVO_OK;
    if (!st_list || !w)
        goto nomem;
    const kevo_family *family = kevo_family_find(c->model_type);
    const kevo_weight_layout *lay = family->weights;   // the config was read by this family
    b.w = w;
    w->text = calloc((size_t)c->text_layers, sizeof *w->text);
    if (!w->text)
        goto nomem;
    add_all(&b, lay, c, w);
    if (b.oom)
        goto nomem;

    for (size_t i = 0; i < n_stored; i++) {
        st_list[i].t = kevo_checkpoint_at(ckpt, i);
        canonical_name(lay, st_list[i].t->name, st_list[i].name, NAME_MAX_LEN);
    }
    qsort(st_list, n_stored, sizeof *st_list, by_stored_name);
    for (size_t i = 1; i < n_stored; i++)
        if (strcmp(st_list[i - 1].name, st_list[i].name) == 0)
            problem(&b, "'%s' and '%s' are the same tensor under old and new names",
                    st_list[i - 1].t->name, st_list[i].t->name);

    char want[96], got[96];
    for (int i = 0; i < b.n; i++) {
        slot *s = &b.slots[i];
        stored key, *hit;
        memcpy(key.name, s->name, sizeof key.name);
        hit = bsearch(&key, st_list, n_stored, sizeof *st_list, by_stored_name);
        shape_str(want, sizeof want, s->n_dims, s->shape);
        if (!hit) {
            if (s->required)
                problem(&b, "missing '%s' %s", s->name, want);
            continue;
        }
        hit->used = 1;
        const kevo_tensor *t = hit->t;
        int same = t->n_dims == s->n_dims;
        for (int d = 0; same && d < s->n_dims; d++)
            same = t->shape[d] == s->shape[d];
        if (!same) {
            shape_str(got, sizeof got, t->n_dims, t->shape);
            problem(&b, "'%s' has shape %s, expected %s", t->name, got, want);
        } else if (!kevo_dtype_is_weight(t->dtype)) {
            problem(&b, "'%s' is %s; weights must be F32, F16, BF16 or (in GGUF files) one "
                    "of ggml's block types", t->name, kevo_dtype_name(t->dtype));
        } else if (s->dst) {
            s->dst->t = t;
            w->bytes_used += t->n_bytes;
            if (s->want_f32 && !f32_view(w, s->dst))
                goto nomem;
        }
    }
    for (size_t i = 0; i < n_stored; i++) {
        const kevo_tensor *t = st_list[i].t;
        if (!st_list[i].used && !ignorable(st_list[i].name)) {
            shape_str(got, sizeof got, t->n_dims, t->shape);
            problem(&b, "unexpected '%s' %s", t->name, got);
        }
        w->n_params += t->n_elems;
        w->dtype_counts[t->dtype]++;
        switch (part_of(lay, st_list[i].name)) {
        case PART_VISION: w->vision_params += t->n_elems; break;
        case PART_PROJECTOR: w->projector_params += t->n_elems; break;
        case PART_TEXT: w->text_params += t->n_elems; break;
        }
    }
    if (c->tie_word_embeddings)
        w->lm_head = w->embed;

    if (b.n_problems) {
        int listed = 0;   // how many problems made it into the message
        for (const char *q = b.problems; *q; q++)
            listed += q[0] == ';' && q[1] == ' ';
        listed += 1;
        st = kevo_fail(err, KEVO_ERR_MODEL, "%d tensor%s do%s not match the config: %s%s",
                       b.n_problems, b.n_problems == 1 ? "" : "s", b.n_problems == 1 ? "es" : "",
                       b.problems, b.n_problems > listed ? "; ..." : "");
        goto fail;
    }
    free(st_list);
    free(b.slots);
    *out = w;
    return KEVO_OK;
nomem:
    st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory binding weights");
fail:
    free(st_list);
    free(b.slots);
    kevo_weights_free(w);
    return st;
}

void kevo_weights_free(kevo_weights *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_copies; i++)
        free(w->copies[i]);
    free(w->copies);
    for (int i = 0; i < w->n_owned; i++)
        free(w->owned[i]);
    free(w->owned);
    free(w->text);
    free(w);
}
