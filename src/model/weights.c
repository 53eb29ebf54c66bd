// weights.c — binding a checkpoint's tensors to the slots a LLaVA config implies.
//
// Names follow the llava-hf hub layout (spec: transformers convert_llava_weights_to_hf.py and
// modeling_llava.py `_checkpoint_conversion_mapping`); names re-saved by newer transformers are
// mapped back first. Binding is strict in both directions: a tensor the config needs but the
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

#define NAME_MAX_LEN 256

typedef enum { PART_VISION, PART_PROJECTOR, PART_TEXT } part;

typedef struct slot {
    char name[NAME_MAX_LEN];
    int n_dims;
    int64_t shape[4];
    kevo_weight *dst;          // NULL: validated if present, never read (e.g. post_layernorm)
    int required;
    int want_f32;              // vectors (and the position table) get an F32 view
} slot;

typedef struct stored {
    char name[NAME_MAX_LEN];   // canonical
    const kevo_tensor *t;
    int used;
} stored;

typedef struct binder {
    slot *slots;
    int n, cap;
    char problems[KEVO_ERROR_MAX];
    int n_problems;
    int oom;
} binder;

static const struct {
    const char *from, *to;
} renames[] = {
    {"model.language_model.", "language_model.model."},
    {"model.vision_tower.", "vision_tower."},
    {"model.multi_modal_projector.", "multi_modal_projector."},
    {"lm_head.", "language_model.lm_head."},
    {"model.image_newline", "image_newline"},
};

const char *kevo_weights_canonical_name(const char *name, char *buf, size_t size)
{
    for (size_t i = 0; i < sizeof renames / sizeof renames[0]; i++) {
        size_t n = strlen(renames[i].from);
        if (strncmp(name, renames[i].from, n) == 0) {
            snprintf(buf, size, "%s%s", renames[i].to, name + n);
            return buf;
        }
    }
    snprintf(buf, size, "%s", name);
    return buf;
}

static void add(binder *b, kevo_weight *dst, int required, int n_dims, const int64_t *shape,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add(binder *b, kevo_weight *dst, int required, int n_dims, const int64_t *shape,
                const char *fmt, ...)
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

#define SHAPE(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

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

// Layers at or above the feature layer are validated when present but never bound or read.
static void add_clip_layer(binder *b, const kevo_config *c, kevo_clip_layer_weights *l, int i)
{
    const char *p = "vision_tower.vision_model.encoder.layers";
    int64_t d = c->vision_hidden, f = c->vision_intermediate;
    int r = l != NULL;
#define SLOT(field) (l ? &l->field : NULL)
    add(b, SLOT(ln1_w), r, SHAPE(d), "%s.%d.layer_norm1.weight", p, i);
    add(b, SLOT(ln1_b), r, SHAPE(d), "%s.%d.layer_norm1.bias", p, i);
    add(b, SLOT(q_w), r, SHAPE(d, d), "%s.%d.self_attn.q_proj.weight", p, i);
    add(b, SLOT(q_b), r, SHAPE(d), "%s.%d.self_attn.q_proj.bias", p, i);
    add(b, SLOT(k_w), r, SHAPE(d, d), "%s.%d.self_attn.k_proj.weight", p, i);
    add(b, SLOT(k_b), r, SHAPE(d), "%s.%d.self_attn.k_proj.bias", p, i);
    add(b, SLOT(v_w), r, SHAPE(d, d), "%s.%d.self_attn.v_proj.weight", p, i);
    add(b, SLOT(v_b), r, SHAPE(d), "%s.%d.self_attn.v_proj.bias", p, i);
    add(b, SLOT(o_w), r, SHAPE(d, d), "%s.%d.self_attn.out_proj.weight", p, i);
    add(b, SLOT(o_b), r, SHAPE(d), "%s.%d.self_attn.out_proj.bias", p, i);
    add(b, SLOT(ln2_w), r, SHAPE(d), "%s.%d.layer_norm2.weight", p, i);
    add(b, SLOT(ln2_b), r, SHAPE(d), "%s.%d.layer_norm2.bias", p, i);
    add(b, SLOT(fc1_w), r, SHAPE(f, d), "%s.%d.mlp.fc1.weight", p, i);
    add(b, SLOT(fc1_b), r, SHAPE(f), "%s.%d.mlp.fc1.bias", p, i);
    add(b, SLOT(fc2_w), r, SHAPE(d, f), "%s.%d.mlp.fc2.weight", p, i);
    add(b, SLOT(fc2_b), r, SHAPE(d), "%s.%d.mlp.fc2.bias", p, i);
#undef SLOT
}

static void add_llama_layer(binder *b, const kevo_config *c, kevo_llama_layer_weights *w, int i)
{
    const char *p = "language_model.model.layers";
    int64_t d = c->text_hidden, f = c->text_intermediate;
    int64_t q = (int64_t)c->text_heads * c->text_head_dim;
    int64_t kv = (int64_t)c->text_kv_heads * c->text_head_dim;
    add(b, &w->attn_norm, 1, SHAPE(d), "%s.%d.input_layernorm.weight", p, i);
    add(b, &w->q, 1, SHAPE(q, d), "%s.%d.self_attn.q_proj.weight", p, i);
    add(b, &w->k, 1, SHAPE(kv, d), "%s.%d.self_attn.k_proj.weight", p, i);
    add(b, &w->v, 1, SHAPE(kv, d), "%s.%d.self_attn.v_proj.weight", p, i);
    add(b, &w->o, 1, SHAPE(d, q), "%s.%d.self_attn.o_proj.weight", p, i);
    add(b, &w->ffn_norm, 1, SHAPE(d), "%s.%d.post_attention_layernorm.weight", p, i);
    add(b, &w->gate, 1, SHAPE(f, d), "%s.%d.mlp.gate_proj.weight", p, i);
    add(b, &w->up, 1, SHAPE(f, d), "%s.%d.mlp.up_proj.weight", p, i);
    add(b, &w->down, 1, SHAPE(d, f), "%s.%d.mlp.down_proj.weight", p, i);
}

static void add_all(binder *b, const kevo_config *c, kevo_weights *w)
{
    const char *v = "vision_tower.vision_model";
    int64_t dv = c->vision_hidden, p = c->patch_size, grid = c->image_size / c->patch_size;
    add(b, &w->class_emb, 1, SHAPE(dv), "%s.embeddings.class_embedding", v);
    add(b, &w->patch_w, 1, SHAPE(dv, c->num_channels, p, p),
        "%s.embeddings.patch_embedding.weight", v);
    add(b, &w->pos_emb, 1, SHAPE(grid * grid + 1, dv), "%s.embeddings.position_embedding.weight",
        v);
    b->slots[b->n - 1].want_f32 = !b->oom;   // added to every patch: worth one F32 copy
    add(b, &w->pre_ln_w, 1, SHAPE(dv), "%s.pre_layrnorm.weight", v);
    add(b, &w->pre_ln_b, 1, SHAPE(dv), "%s.pre_layrnorm.bias", v);
    for (int i = 0; i < c->vision_layers; i++)
        add_clip_layer(b, c, i < w->n_vision ? &w->vision[i] : NULL, i);
    add(b, NULL, 0, SHAPE(dv), "%s.post_layernorm.weight", v);
    add(b, NULL, 0, SHAPE(dv), "%s.post_layernorm.bias", v);

    int64_t d = c->text_hidden, features = dv * c->n_feature_layers;
    add(b, &w->proj1_w, 1, SHAPE(d, features), "multi_modal_projector.linear_1.weight");
    add(b, &w->proj2_w, 1, SHAPE(d, d), "multi_modal_projector.linear_2.weight");
    if (c->projector_bias) {
        add(b, &w->proj1_b, 1, SHAPE(d), "multi_modal_projector.linear_1.bias");
        add(b, &w->proj2_b, 1, SHAPE(d), "multi_modal_projector.linear_2.bias");
    }

    if (c->image_newline)   // LLaVA-NeXT's learned end of every row of tile features
        add(b, &w->image_newline, 1, SHAPE(d), "image_newline");

    add(b, &w->embed, 1, SHAPE(c->text_vocab, d), "language_model.model.embed_tokens.weight");
    for (int i = 0; i < c->text_layers; i++)
        add_llama_layer(b, c, &w->text[i], i);
    add(b, &w->final_norm, 1, SHAPE(d), "language_model.model.norm.weight");
    if (!c->tie_word_embeddings)
        add(b, &w->lm_head, 1, SHAPE(c->text_vocab, d), "language_model.lm_head.weight");
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

static part part_of(const char *canonical)
{
    if (strncmp(canonical, "vision_tower.", 13) == 0)
        return PART_VISION;
    if (strncmp(canonical, "multi_modal_projector.", 22) == 0 ||
        strcmp(canonical, "image_newline") == 0)
        return PART_PROJECTOR;
    return PART_TEXT;
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
    // The deepest feature layer is hidden_states[feature_layer]: layers 0 .. feature_layer-1 run.
    w->n_vision = c->feature_layer;
    w->vision = calloc((size_t)w->n_vision + 1, sizeof *w->vision);
    w->text = calloc((size_t)c->text_layers, sizeof *w->text);
    if (!w->vision || !w->text)
        goto nomem;
    add_all(&b, c, w);
    if (b.oom)
        goto nomem;

    for (size_t i = 0; i < n_stored; i++) {
        st_list[i].t = kevo_checkpoint_at(ckpt, i);
        kevo_weights_canonical_name(st_list[i].t->name, st_list[i].name, NAME_MAX_LEN);
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
            problem(&b, "'%s' is %s; weights must be F32, F16 or BF16", t->name,
                    kevo_dtype_name(t->dtype));
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
        switch (part_of(st_list[i].name)) {
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
    free(w->vision);
    free(w->text);
    free(w);
}
