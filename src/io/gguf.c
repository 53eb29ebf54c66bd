// gguf.c — the GGUF reader of gguf.h. Follows ggml's docs/gguf.md and the checks of
// ggml/src/gguf.cpp (gguf_init_from_file_impl): known value and tensor types, no duplicate keys
// or tensor names, at most 4 dimensions, rows of whole quantisation blocks, a power-of-two
// alignment, tensor data aligned and inside the file. Written from the format description.
#include "io/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"

struct kevo_gguf {
    char *path;
    kevo_mapping map;
    uint32_t version;
    uint64_t alignment, data_offset;
    size_t n_kv, n_tensors;
    kevo_gguf_kv *kv;
    kevo_gguf_tensor *tensors;
    kevo_gguf_str *strings;   // the elements of every string array, in file order
};

// ggml_type_traits: elements per block and bytes per block (ggml.c), for the types that exist.
static const struct { const char *name; uint32_t block, bytes; } ggml_types[] = {
    [0] = {"F32", 1, 4},        [1] = {"F16", 1, 2},        [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},     [6] = {"Q5_0", 32, 22},     [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},     [9] = {"Q8_1", 32, 36},     [10] = {"Q2_K", 256, 84},
    [11] = {"Q3_K", 256, 110},  [12] = {"Q4_K", 256, 144},  [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},  [15] = {"Q8_K", 256, 292},  [16] = {"IQ2_XXS", 256, 66},
    [17] = {"IQ2_XS", 256, 74}, [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},
    [20] = {"IQ4_NL", 32, 18},  [21] = {"IQ3_S", 256, 110}, [22] = {"IQ2_S", 256, 82},
    [23] = {"IQ4_XS", 256, 136}, [24] = {"I8", 1, 1},       [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},       [27] = {"I64", 1, 8},       [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", 256, 56},  [30] = {"BF16", 1, 2},      [34] = {"TQ1_0", 256, 54},
    [35] = {"TQ2_0", 256, 66},  [39] = {"MXFP4", 32, 17},
};
#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

const char *kevo_gguf_type_name(uint32_t t)
{
    return t < N_GGML_TYPES ? ggml_types[t].name : NULL;
}

int kevo_gguf_dtype(uint32_t t)
{
    static const int dtypes[] = {
        [0] = KEVO_DTYPE_F32 + 1,   [1] = KEVO_DTYPE_F16 + 1,   [2] = KEVO_DTYPE_Q4_0 + 1,
        [3] = KEVO_DTYPE_Q4_1 + 1,  [6] = KEVO_DTYPE_Q5_0 + 1,  [7] = KEVO_DTYPE_Q5_1 + 1,
        [8] = KEVO_DTYPE_Q8_0 + 1,  [10] = KEVO_DTYPE_Q2_K + 1, [11] = KEVO_DTYPE_Q3_K + 1,
        [12] = KEVO_DTYPE_Q4_K + 1, [13] = KEVO_DTYPE_Q5_K + 1, [14] = KEVO_DTYPE_Q6_K + 1,
        [20] = KEVO_DTYPE_IQ4_NL + 1, [30] = KEVO_DTYPE_BF16 + 1,
    };   // + 1: 0 marks a type kevo does not decode
    return t < sizeof dtypes / sizeof dtypes[0] ? dtypes[t] - 1 : -1;
}

// Bytes of one scalar of a value type; 0 for strings, arrays and unknown types.
static size_t scalar_bytes(uint32_t t)
{
    static const size_t size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof size / sizeof size[0] ? size[t] : 0;
}

// ---------------------------------------------------------------------------------------------
// A cursor over the mapping; every read checks what remains.

typedef struct cursor {
    const unsigned char *p;
    uint64_t size, at;
    const char *path;
    kevo_error *err;
} cursor;

static kevo_status truncated(cursor *c, const char *what)
{
    return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: %s at byte %llu runs past the end of the file "
                     "(%llu bytes)", c->path, what, (unsigned long long)c->at,
                     (unsigned long long)c->size);
}

static kevo_status take(cursor *c, uint64_t n, const unsigned char **out, const char *what)
{
    *out = NULL;
    if (n > c->size - c->at)
        return truncated(c, what);
    *out = c->p + c->at;
    c->at += n;
    return KEVO_OK;
}

static uint64_t le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static kevo_status read_u32(cursor *c, uint32_t *v, const char *what)
{
    const unsigned char *b;
    kevo_status st = take(c, 4, &b, what);
    if (st == KEVO_OK)
        *v = (uint32_t)le(b, 4);
    return st;
}

static kevo_status read_u64(cursor *c, uint64_t *v, const char *what)
{
    const unsigned char *b;
    kevo_status st = take(c, 8, &b, what);
    if (st == KEVO_OK)
        *v = le(b, 8);
    return st;
}

static kevo_status read_str(cursor *c, kevo_gguf_str *s, const char *what)
{
    uint64_t len;
    const unsigned char *b;
    kevo_status st = read_u64(c, &len, what);
    if (st == KEVO_OK && (st = take(c, len, &b, what)) == KEVO_OK)
        *s = (kevo_gguf_str){(const char *)b, len};
    return st;
}

static int str_is(kevo_gguf_str s, const char *z)
{
    return strlen(z) == s.len && memcmp(s.s, z, s.len) == 0;
}

// Printable (and bounded) for messages.
#define STR_ARG(x) (int)((x).len < 200 ? (x).len : 200), (x).s

// ---------------------------------------------------------------------------------------------

// Steps over one value of type t (not an array) at the cursor; a string is also put in *str.
static kevo_status skip_value(cursor *c, uint32_t t, kevo_gguf_str *str, kevo_gguf_str key)
{
    const unsigned char *b;
    kevo_gguf_str unused;
    if (t == KEVO_GGUF_STRING)
        return read_str(c, str ? str : &unused, "a string value");
    size_t n = scalar_bytes(t);
    if (!n)
        return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: key '%.*s': unknown value type %u at "
                         "byte %llu", c->path, STR_ARG(key), t, (unsigned long long)c->at);
    return take(c, n, &b, "a value");
}

// Counts the strings of every string array in a first pass, so one allocation holds them all.
static kevo_status read_kv(cursor *c, kevo_gguf_kv *kv, kevo_gguf_str *strings,
                           uint64_t *n_strings)
{
    kv->offset = c->at;
    kevo_status st;
    uint32_t t;
    if ((st = read_str(c, &kv->key, "a key")) || (st = read_u32(c, &t, "a value type")))
        return st;
    kv->type = (kevo_gguf_type)t;
    kv->n = 1;
    kv->elem_type = kv->type;
    if (t == KEVO_GGUF_ARRAY) {
        uint32_t et;
        if ((st = read_u32(c, &et, "an array's element type")) ||
            (st = read_u64(c, &kv->n, "an array's length")))
            return st;
        if (et == KEVO_GGUF_ARRAY)
            return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: key '%.*s' (byte %llu): arrays of "
                             "arrays are not supported", c->path, STR_ARG(kv->key),
                             (unsigned long long)kv->offset);
        kv->elem_type = (kevo_gguf_type)et;
        // Each element takes at least one byte (a string eight): the count is bounded by what
        // remains, before anything is allocated for it.
        uint64_t least = et == KEVO_GGUF_STRING ? 8 : scalar_bytes(et) ? scalar_bytes(et) : 1;
        if (kv->n > (c->size - c->at) / least)
            return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: key '%.*s' (byte %llu): an array of "
                             "%llu elements cannot fit in the %llu bytes that remain", c->path,
                             STR_ARG(kv->key), (unsigned long long)kv->offset,
                             (unsigned long long)kv->n, (unsigned long long)(c->size - c->at));
    }
    kv->value = c->p + c->at;
    if (t != KEVO_GGUF_ARRAY)
        return skip_value(c, t, NULL, kv->key);
    if (kv->elem_type != KEVO_GGUF_STRING) {
        if (!scalar_bytes(kv->elem_type))
            return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: key '%.*s' (byte %llu): unknown "
                             "element type %u", c->path, STR_ARG(kv->key),
                             (unsigned long long)kv->offset, kv->elem_type);
        const unsigned char *b;
        return take(c, kv->n * scalar_bytes(kv->elem_type), &b, "an array");
    }
    kv->strings = strings ? strings + *n_strings : NULL;
    for (uint64_t i = 0; i < kv->n; i++) {
        kevo_gguf_str s;
        if ((st = skip_value(c, KEVO_GGUF_STRING, &s, kv->key)) != KEVO_OK) {
            kevo_error_prefix(c->err, "element %llu of '%.*s': ", (unsigned long long)i,
                              STR_ARG(kv->key));
            return st;
        }
        if (strings)
            strings[*n_strings + i] = s;
    }
    *n_strings += kv->n;
    return KEVO_OK;
}

static kevo_status read_tensor(cursor *c, kevo_gguf_tensor *t, uint64_t *rel_offset)
{
    kevo_status st;
    uint32_t n_dims;
    t->info_offset = c->at;
    if ((st = read_str(c, &t->name, "a tensor name")) ||
        (st = read_u32(c, &n_dims, "a tensor's dimension count")))
        return st;
    if (n_dims < 1 || n_dims > 4)
        return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: tensor '%.*s' (byte %llu) has %u "
                         "dimensions (1 to 4 allowed)", c->path, STR_ARG(t->name),
                         (unsigned long long)t->info_offset, n_dims);
    t->n_dims = (int)n_dims;
    uint64_t n = 1;
    for (int d = 0; d < 4; d++) {
        t->ne[d] = 1;
        if (d < t->n_dims && (st = read_u64(c, &t->ne[d], "a tensor's dimension")))
            return st;
        // Elements beyond 2^62 could not be addressed, and no file holds that many.
        if (t->ne[d] > (1ull << 62) || (t->ne[d] && n > (1ull << 62) / t->ne[d]))
            return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: tensor '%.*s' (byte %llu): its "
                             "dimensions overflow", c->path, STR_ARG(t->name),
                             (unsigned long long)t->info_offset);
        n *= t->ne[d];
    }
    if ((st = read_u32(c, &t->ggml_type, "a tensor's type")) ||
        (st = read_u64(c, rel_offset, "a tensor's offset")))
        return st;
    if (!kevo_gguf_type_name(t->ggml_type))
        return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: tensor '%.*s' (byte %llu): unknown ggml "
                         "type %u", c->path, STR_ARG(t->name), (unsigned long long)t->info_offset,
                         t->ggml_type);
    uint32_t block = ggml_types[t->ggml_type].block;
    if (t->ne[0] % block)
        return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: tensor '%.*s' (byte %llu): rows of %llu "
                         "elements are not whole %s blocks of %u", c->path, STR_ARG(t->name),
                         (unsigned long long)t->info_offset, (unsigned long long)t->ne[0],
                         ggml_types[t->ggml_type].name, block);
    if (n / block > (1ull << 62) / ggml_types[t->ggml_type].bytes)
        return kevo_fail(c->err, KEVO_ERR_FORMAT, "%s: tensor '%.*s' (byte %llu): its size "
                         "overflows", c->path, STR_ARG(t->name),
                         (unsigned long long)t->info_offset);
    t->n_bytes = n / block * ggml_types[t->ggml_type].bytes;
    return KEVO_OK;
}

static int str_eq(kevo_gguf_str a, kevo_gguf_str b)
{
    return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

static int by_name(const void *a, const void *b)
{
    const kevo_gguf_str *x = *(kevo_gguf_str *const *)a, *y = *(kevo_gguf_str *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

// The first repeated name among n (sorted copies of pointers), or NULL.
static const kevo_gguf_str *first_duplicate(const kevo_gguf_str **names, size_t n)
{
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 1; i < n; i++)
        if (str_eq(*names[i - 1], *names[i]))
            return names[i];
    return NULL;
}

static kevo_status check_unique(kevo_gguf *g, kevo_error *err)
{
    size_t n = g->n_kv > g->n_tensors ? g->n_kv : g->n_tensors;
    const kevo_gguf_str **names = malloc((n ? n : 1) * sizeof *names);
    if (!names)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", g->path);
    kevo_status st = KEVO_OK;
    const kevo_gguf_str *dup;
    for (size_t i = 0; i < g->n_kv; i++)
        names[i] = &g->kv[i].key;
    if ((dup = first_duplicate(names, g->n_kv)))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%.*s' appears twice", g->path,
                       STR_ARG(*dup));
    for (size_t i = 0; st == KEVO_OK && i < g->n_tensors; i++)
        names[i] = &g->tensors[i].name;
    if (st == KEVO_OK && (dup = first_duplicate(names, g->n_tensors)))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%.*s' appears twice", g->path,
                       STR_ARG(*dup));
    free(names);
    return st;
}

// general.alignment: a u32 power of two when present (gguf.cpp), else 32.
static kevo_status read_alignment(kevo_gguf *g, kevo_error *err)
{
    g->alignment = 32;
    const kevo_gguf_kv *kv = kevo_gguf_find(g, "general.alignment");
    if (!kv)
        return KEVO_OK;
    uint64_t a = kv->type == KEVO_GGUF_U32 ? le(kv->value, 4) : 0;
    if (kv->type != KEVO_GGUF_U32 || a == 0 || (a & (a - 1)))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: general.alignment (byte %llu) must be a "
                         "power of two of type u32", g->path, (unsigned long long)kv->offset);
    g->alignment = a;
    return KEVO_OK;
}

kevo_status kevo_gguf_open(const char *path, kevo_gguf **out, kevo_error *err)
{
    *out = NULL;
    kevo_gguf *g = calloc(1, sizeof *g);
    if (!g || !(g->path = strdup(path))) {
        free(g);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    kevo_status st = kevo_map_file(path, &g->map, err);
    if (st != KEVO_OK)
        goto fail;
    cursor c = {g->map.data, g->map.size, 0, path, err};
    const unsigned char *magic;
    uint64_t n_tensors, n_kv;
    if ((st = take(&c, 4, &magic, "the magic")))
        goto fail;
    if (memcmp(magic, "GGUF", 4) != 0) {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: not a GGUF file (it does not begin with "
                       "'GGUF')", path);
        goto fail;
    }
    if ((st = read_u32(&c, &g->version, "the version")))
        goto fail;
    if (g->version != 2 && g->version != 3) {
        // A big-endian file reads as a version with its bytes swapped.
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: GGUF version %u is not supported (2 and 3 "
                       "are%s)", path, g->version,
                       g->version >= 1u << 16 ? "; this looks like a big-endian file" : "");
        goto fail;
    }
    if ((st = read_u64(&c, &n_tensors, "the tensor count")) ||
        (st = read_u64(&c, &n_kv, "the key/value count")))
        goto fail;
    // A key/value takes at least 13 bytes, a tensor info at least 28: bound the counts by what
    // remains before allocating for them.
    if (n_kv > (c.size - c.at) / 13 || n_tensors > (c.size - c.at) / 28) {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: %llu key/values and %llu tensors cannot fit in "
                       "a file of %llu bytes", path, (unsigned long long)n_kv,
                       (unsigned long long)n_tensors, (unsigned long long)c.size);
        goto fail;
    }
    g->n_kv = (size_t)n_kv;
    g->n_tensors = (size_t)n_tensors;
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    // Two passes over the key/values: the first counts string-array elements (bounded by the
    // file's size / 8), the second indexes them.
    uint64_t kv_start = c.at, n_strings = 0;
    for (size_t i = 0; i < g->n_kv; i++)
        if ((st = read_kv(&c, &g->kv[i], NULL, &n_strings)))
            goto fail;
    if (n_strings && !(g->strings = malloc(n_strings * sizeof *g->strings))) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    c.at = kv_start;
    n_strings = 0;
    for (size_t i = 0; i < g->n_kv; i++)
        if ((st = read_kv(&c, &g->kv[i], g->strings, &n_strings)))
            goto fail;
    uint64_t *rel = malloc((g->n_tensors ? g->n_tensors : 1) * sizeof *rel);
    if (!rel) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (size_t i = 0; i < g->n_tensors && st == KEVO_OK; i++)
        st = read_tensor(&c, &g->tensors[i], &rel[i]);
    if (st == KEVO_OK && (st = read_alignment(g, err)) == KEVO_OK) {
        g->data_offset = (c.at + g->alignment - 1) / g->alignment * g->alignment;
        for (size_t i = 0; i < g->n_tensors && st == KEVO_OK; i++) {
            kevo_gguf_tensor *t = &g->tensors[i];
            uint64_t room = c.size > g->data_offset ? c.size - g->data_offset : 0;
            if (rel[i] % g->alignment)
                st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%.*s' (byte %llu): offset "
                               "%llu is not a multiple of the alignment %llu", path,
                               STR_ARG(t->name), (unsigned long long)t->info_offset,
                               (unsigned long long)rel[i], (unsigned long long)g->alignment);
            else if (rel[i] > room || t->n_bytes > room - rel[i])
                st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%.*s' (byte %llu): %llu bytes "
                               "at data offset %llu run past the end of the file (%llu bytes of "
                               "data)", path, STR_ARG(t->name), (unsigned long long)t->info_offset,
                               (unsigned long long)t->n_bytes, (unsigned long long)rel[i],
                               (unsigned long long)room);
            if (st != KEVO_OK)
                break;   // before forming a pointer outside the mapping
            t->file_offset = g->data_offset + rel[i];
            t->data = g->map.data + t->file_offset;
        }
    }
    free(rel);
    if (st == KEVO_OK && (st = check_unique(g, err)) == KEVO_OK) {
        *out = g;
        return KEVO_OK;
    }
fail:
    kevo_gguf_free(g);
    return st;
}

void kevo_gguf_free(kevo_gguf *g)
{
    if (!g)
        return;
    kevo_unmap(&g->map);
    free(g->kv);
    free(g->tensors);
    free(g->strings);
    free(g->path);
    free(g);
}

uint32_t kevo_gguf_version(const kevo_gguf *g) { return g->version; }
uint64_t kevo_gguf_alignment(const kevo_gguf *g) { return g->alignment; }
uint64_t kevo_gguf_data_offset(const kevo_gguf *g) { return g->data_offset; }
uint64_t kevo_gguf_file_size(const kevo_gguf *g) { return g->map.size; }
const unsigned char *kevo_gguf_header(const kevo_gguf *g) { return g->map.data; }
const char *kevo_gguf_path(const kevo_gguf *g) { return g->path; }
size_t kevo_gguf_n_kv(const kevo_gguf *g) { return g->n_kv; }
size_t kevo_gguf_n_tensors(const kevo_gguf *g) { return g->n_tensors; }

const kevo_gguf_kv *kevo_gguf_kv_at(const kevo_gguf *g, size_t i)
{
    return i < g->n_kv ? &g->kv[i] : NULL;
}

const kevo_gguf_tensor *kevo_gguf_tensor_at(const kevo_gguf *g, size_t i)
{
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

// Linear: a model file has a few dozen keys and is looked up once per key at load.
const kevo_gguf_kv *kevo_gguf_find(const kevo_gguf *g, const char *key)
{
    for (size_t i = 0; i < g->n_kv; i++)
        if (str_is(g->kv[i].key, key))
            return &g->kv[i];
    return NULL;
}

const kevo_gguf_tensor *kevo_gguf_find_tensor(const kevo_gguf *g, const char *name)
{
    for (size_t i = 0; i < g->n_tensors; i++)
        if (str_is(g->tensors[i].name, name))
            return &g->tensors[i];
    return NULL;
}

// ---------------------------------------------------------------------------------------------

static double scalar_f64(kevo_gguf_type t, const unsigned char *b)
{
    uint64_t u = le(b, (int)scalar_bytes(t));
    switch (t) {
    case KEVO_GGUF_I8: return (int8_t)u;
    case KEVO_GGUF_I16: return (int16_t)u;
    case KEVO_GGUF_I32: return (int32_t)u;
    case KEVO_GGUF_I64: return (double)(int64_t)u;
    case KEVO_GGUF_F32: {
        uint32_t w = (uint32_t)u;
        float f;
        memcpy(&f, &w, sizeof f);
        return f;
    }
    case KEVO_GGUF_F64: {
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    default: return (double)u;
    }
}

double kevo_gguf_array_f64(const kevo_gguf_kv *kv, uint64_t i)
{
    return scalar_f64(kv->elem_type, kv->value + i * scalar_bytes(kv->elem_type));
}

static kevo_status find_kv(const kevo_gguf *g, const char *key, const kevo_gguf_kv **kv,
                           kevo_error *err)
{
    if (!(*kv = kevo_gguf_find(g, key)))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' is missing", g->path, key);
    if ((*kv)->type == KEVO_GGUF_ARRAY)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' (byte %llu) is an array, not a "
                         "single value", g->path, key, (unsigned long long)(*kv)->offset);
    return KEVO_OK;
}

kevo_status kevo_gguf_get_u64(const kevo_gguf *g, const char *key, uint64_t *out, kevo_error *err)
{
    const kevo_gguf_kv *kv;
    kevo_status st = find_kv(g, key, &kv, err);
    if (st != KEVO_OK)
        return st;
    kevo_gguf_type t = kv->type;
    int is_int = t <= KEVO_GGUF_I32 || t == KEVO_GGUF_U64 || t == KEVO_GGUF_I64;
    int is_signed = t == KEVO_GGUF_I8 || t == KEVO_GGUF_I16 || t == KEVO_GGUF_I32 ||
                    t == KEVO_GGUF_I64;
    if (!is_int)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' (byte %llu) is not an integer",
                         g->path, key, (unsigned long long)kv->offset);
    uint64_t u = le(kv->value, (int)scalar_bytes(t));
    int bits = 8 * (int)scalar_bytes(t);
    if (is_signed && (u >> (bits - 1)) & 1)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' (byte %llu) is negative", g->path,
                         key, (unsigned long long)kv->offset);
    *out = u;
    return KEVO_OK;
}

kevo_status kevo_gguf_get_f64(const kevo_gguf *g, const char *key, double *out, kevo_error *err)
{
    const kevo_gguf_kv *kv;
    kevo_status st = find_kv(g, key, &kv, err);
    if (st != KEVO_OK)
        return st;
    if (kv->type != KEVO_GGUF_F32 && kv->type != KEVO_GGUF_F64)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' (byte %llu) is not a float",
                         g->path, key, (unsigned long long)kv->offset);
    *out = scalar_f64(kv->type, kv->value);
    return KEVO_OK;
}

kevo_status kevo_gguf_get_str(const kevo_gguf *g, const char *key, kevo_gguf_str *out,
                              kevo_error *err)
{
    const kevo_gguf_kv *kv;
    kevo_status st = find_kv(g, key, &kv, err);
    if (st != KEVO_OK)
        return st;
    if (kv->type != KEVO_GGUF_STRING)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' (byte %llu) is not a string",
                         g->path, key, (unsigned long long)kv->offset);
    *out = (kevo_gguf_str){(const char *)kv->value + 8, le(kv->value, 8)};
    return KEVO_OK;
}
