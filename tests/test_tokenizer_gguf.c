// test_tokenizer_gguf.c — the tokenizer of a GGUF's tokenizer.ggml.* keys (src/tokenizer/gguf.c)
// against kevo_tokenizer_load of the fixture folder the GGUF was converted from
// (tools/fixtures/make_gguf.py): the same ids on the tokenizer oracles' corpus and on texts with
// added tokens, the same decoding, the same counts; and hostile metadata refused naming the key
// (variants of the fixture's own key/values, written by a small GGUF writer below).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "kevo.h"
#include "tokenizer/gguf.h"
#include "tokenizer/tokenizer.h"
#include "test.h"

// Each GGUF fixture and the safetensors fixture it was made from.
static const char *const pairs[][2] = {{"tiny-f32-f16", "tiny-f32"},
                                       {"tiny-k256-q8_0", "tiny-k256"}};
#define N_PAIRS (int)(sizeof pairs / sizeof pairs[0])

static const char *const extra_texts[] = {
    "", " ", "  ", "\n", "\t\t x", "   leading and trailing   ", "a  b   c    d",
    "USER: <image>\nWhat is this? ASSISTANT:", "<s>", "</s>", "<unk>", "<pad>", "<image>",
    "<s><s></s>", " <s> x", "x<image>y", "<image> <image>", "<im age>", "<s", "USER:<image>",
    "\n<image>\n", "caf\xc3\xa9 na\xc3\xafve \xe2\x96\x81 \xe2\x96\x81\xe2\x96\x81x",
    "\xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87 \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
    "bad \xff\xfe \xc3 \xed\xa0\x80 utf8", "\x01\x02\x7f", "[PAD514]", "<0x41>",
};
#define N_EXTRA (int)(sizeof extra_texts / sizeof extra_texts[0])

static char *gguf_path(const char *name)
{
    char rel[200];
    snprintf(rel, sizeof rel, "fixtures/gguf/%s/model.gguf", name);
    return strdup(kevo_test_data(rel));
}

// The tokenizer of a GGUF file that must be accepted.
static kevo_tokenizer *accepted(const char *path, int legacy)
{
    kevo_gguf *g = NULL;
    kevo_tokenizer *t = NULL;
    kevo_error err;
    if (CHECK_OK(kevo_gguf_open(path, &g, &err), &err))
        CHECK_OK(kevo_tokenizer_from_gguf(g, path, legacy, &t, &err), &err);
    kevo_gguf_free(g);
    return t;
}

static kevo_tokenizer *from_gguf(const char *name, int legacy)
{
    char *path = gguf_path(name);
    kevo_tokenizer *t = accepted(path, legacy);
    free(path);
    return t;
}

// The fixture folder as kevo_tokenizer_load reads it: as it is (tokenizer.json wins), or copied
// without tokenizer.json (tokenizer.model + tokenizer_config.json: the slow LlamaTokenizer),
// with "legacy": true when asked.
static kevo_tokenizer *from_folder(const char *name, int spm, int legacy)
{
    char dir[1200], cmd[8192];
    snprintf(dir, sizeof dir, "%s", kevo_test_data("fixtures"));
    snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s", name);
    if (spm) {
        char src[1200];
        snprintf(src, sizeof src, "%s", dir);
        snprintf(dir, sizeof dir, "%s/%s-spm%d", kevo_test_tmpdir(), name, legacy);
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s' && rm '%s/tokenizer.json'%s%s%s",
                 dir, src, dir, dir, legacy ? " && sed -i 's/\"legacy\": false/\"legacy\": true/' '"
                                            : "", legacy ? dir : "",
                 legacy ? "/tokenizer_config.json'" : "");
        if (!CHECK(system(cmd) == 0, "%s failed", cmd))
            return NULL;
    }
    kevo_tokenizer *t = NULL;
    kevo_error err;
    CHECK_OK(kevo_tokenizer_load(dir, &t, &err), &err);
    return t;
}

// The texts: the oracle corpus (hex, first field of each line), then extra_texts.
typedef struct texts {
    char **s;
    size_t *len;
    int n;
} texts;

static texts load_texts(void)
{
    texts x = {0};
    char *all = kevo_test_slurp(kevo_test_data("oracle/tokenizer/corpus.tsv"), NULL);
    if (!CHECK(all, "missing oracle/tokenizer/corpus.tsv (run make oracles)"))
        return x;
    int lines = N_EXTRA + 1;
    for (const char *p = all; *p; p++)
        lines += *p == '\n';
    x.s = calloc((size_t)lines, sizeof *x.s);
    x.len = calloc((size_t)lines, sizeof *x.len);
    for (char *line = all; *line;) {
        char *nl = strchr(line, '\n'), *tab = strchr(line, '\t');
        size_t n = tab && (!nl || tab < nl) ? (size_t)(tab - line)
                                             : nl ? (size_t)(nl - line) : strlen(line);
        x.s[x.n] = kevo_test_unhex(line, n, &x.len[x.n]);
        x.n++;
        if (!nl)
            break;
        line = nl + 1;
    }
    free(all);
    for (int i = 0; i < N_EXTRA; i++) {
        x.len[x.n] = strlen(extra_texts[i]);
        x.s[x.n++] = strdup(extra_texts[i]);
    }
    return x;
}

static void free_texts(texts *x)
{
    for (int i = 0; i < x->n; i++)
        free(x->s[i]);
    free(x->s);
    free(x->len);
}

// Encodes (with and without BOS) and decodes every text with both; returns the differences.
static int compare_on(const kevo_tokenizer *a, const kevo_tokenizer *b, const texts *x,
                      const char *what)
{
    int bad = 0;
    for (int i = 0; i < x->n; i++)
        for (int bos = 0; bos < 2; bos++) {
            int *ia = NULL, *ib = NULL, na = 0, nb = 0;
            char *da = NULL, *db = NULL;
            kevo_error err;
            int ok = CHECK_OK(kevo_tokenizer_encode(a, x->s[i], x->len[i], bos, &ia, &na, &err),
                              &err) &
                     CHECK_OK(kevo_tokenizer_encode(b, x->s[i], x->len[i], bos, &ib, &nb, &err),
                              &err);
            int same = ok && na == nb && (na == 0 || memcmp(ia, ib, na * sizeof *ia) == 0);
            if (same && (!CHECK_OK(kevo_tokenizer_decode(a, ia, na, &da, &err), &err) ||
                         !CHECK_OK(kevo_tokenizer_decode(b, ib, nb, &db, &err), &err) ||
                         strcmp(da, db) != 0))
                same = 0;
            if (!same && bad++ < 3)
                printf("  %s: text %d (%zu bytes, bos %d): %d ids vs %d, decoded '%.60s' vs "
                       "'%.60s'\n", what, i, x->len[i], bos, na, nb, da ? da : "", db ? db : "");
            free(ia);
            free(ib);
            free(da);
            free(db);
        }
    return bad;
}

// Counts, pieces, and decoding each id alone and the padding rows past the tokenizer.
static void compare_tables(const kevo_tokenizer *a, const kevo_tokenizer *b, const char *what)
{
    int n = kevo_tokenizer_n_tokens(a);
    CHECK(n == kevo_tokenizer_n_tokens(b) && kevo_tokenizer_bos(a) == kevo_tokenizer_bos(b) &&
              kevo_tokenizer_eos(a) == kevo_tokenizer_eos(b) &&
              kevo_tokenizer_adds_bos(a) == kevo_tokenizer_adds_bos(b) &&
              kevo_tokenizer_adds_eos(a) == kevo_tokenizer_adds_eos(b) &&
              kevo_tokenizer_added_id(a, "<image>") == kevo_tokenizer_added_id(b, "<image>") &&
              kevo_tokenizer_added_id(a, "<pad>") == kevo_tokenizer_added_id(b, "<pad>"),
          "%s: %d tokens vs %d, bos %d vs %d, eos %d vs %d, adds_bos %d vs %d", what, n,
          kevo_tokenizer_n_tokens(b), kevo_tokenizer_bos(a), kevo_tokenizer_bos(b),
          kevo_tokenizer_eos(a), kevo_tokenizer_eos(b), kevo_tokenizer_adds_bos(a),
          kevo_tokenizer_adds_bos(b));
    int bad = 0;
    for (int id = 0; id < n; id++) {
        const char *pa = kevo_tokenizer_piece(a, id), *pb = kevo_tokenizer_piece(b, id);
        char *da = NULL, *db = NULL;
        kevo_error err;
        int ok = pa && pb && strcmp(pa, pb) == 0 &&
                 kevo_tokenizer_decode(a, &id, 1, &da, &err) == KEVO_OK &&
                 kevo_tokenizer_decode(b, &id, 1, &db, &err) == KEVO_OK && strcmp(da, db) == 0;
        if (!ok && bad++ < 3)
            printf("  %s: id %d: piece '%s' vs '%s', decoded '%s' vs '%s'\n", what, id,
                   pa ? pa : "?", pb ? pb : "?", da ? da : "?", db ? db : "?");
        free(da);
        free(db);
    }
    CHECK(bad == 0, "%s: %d of %d ids differ", what, bad, n);
    for (int id = n; id < 576; id++) {   // the converter's "[PADn]" rows: as past tokenizer.json
        char *s = NULL;
        kevo_error err;
        kevo_status st = kevo_tokenizer_decode(a, &id, 1, &s, &err);
        CHECK(!kevo_tokenizer_piece(a, id) && st == KEVO_ERR_ARG && !s &&
                  kevo_tokenizer_decode(b, &id, 1, &s, &err) == KEVO_ERR_ARG,
              "%s: padding row %d: status %d", what, id, st);
    }
}

KEVO_TEST(tokenizer_gguf_equals_the_folder)
{
    texts x = load_texts();
    if (!x.n)
        return;
    for (int p = 0; p < N_PAIRS; p++) {
        kevo_tokenizer *g = from_gguf(pairs[p][0], 0), *g1 = from_gguf(pairs[p][0], 1);
        kevo_tokenizer *fast = from_folder(pairs[p][1], 0, 0);
        kevo_tokenizer *slow = from_folder(pairs[p][1], 1, 0);
        kevo_tokenizer *slow1 = from_folder(pairs[p][1], 1, 1);
        if (g && fast && slow && g1 && slow1) {
            char what[200];
            // tokenizer.json encodes as the slow tokenizer with legacy=true, whatever
            // tokenizer_config.json says (HF tokenizers' Metaspace has no legacy flag).
            const kevo_tokenizer *ref[3] = {slow, slow1, fast}, *got[3] = {g, g1, g1};
            static const char *const names[3] = {"legacy 0: tokenizer.model",
                                                 "legacy 1: tokenizer.model, legacy true",
                                                 "legacy 1: tokenizer.json"};
            for (int r = 0; r < 3; r++) {
                snprintf(what, sizeof what, "%s vs %s (%s)", pairs[p][0], pairs[p][1], names[r]);
                compare_tables(got[r], ref[r], what);
                int bad = compare_on(got[r], ref[r], &x, what);
                CHECK(bad == 0, "%s: %d of %d encodings differ", what, bad, 2 * x.n);
                printf("  %s: %d texts, %d differences\n", what, x.n, bad);
            }
            CHECK(kevo_test_contains(kevo_tokenizer_path(g), "model.gguf"), "path %s",
                  kevo_tokenizer_path(g));
        }
        kevo_tokenizer_free(g);
        kevo_tokenizer_free(g1);
        kevo_tokenizer_free(fast);
        kevo_tokenizer_free(slow);
        kevo_tokenizer_free(slow1);
    }
    free_texts(&x);
}

// ---------------------------------------------------------------------------------------------
// A GGUF writer: the fixture's key/values (no tensors), one key replaced, dropped or added.

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
} wbuf;

static void put(wbuf *b, const void *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_u32(wbuf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(wbuf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(wbuf *b, const char *s, size_t n) { put_u64(b, n); put(b, s, n); }

static size_t scalar_size(kevo_gguf_type t)
{
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return sizes[t];
}

// A kv's type and value as the file has them.
static void put_value(wbuf *b, const kevo_gguf_kv *kv)
{
    put_u32(b, kv->type);
    if (kv->type == KEVO_GGUF_STRING) {
        uint64_t n;
        memcpy(&n, kv->value, 8);
        put(b, kv->value, 8 + n);
    } else if (kv->type != KEVO_GGUF_ARRAY) {
        put(b, kv->value, scalar_size(kv->type));
    } else {
        put_u32(b, kv->elem_type);
        put_u64(b, kv->n);
        for (uint64_t i = 0; kv->strings && i < kv->n; i++)
            put_str(b, kv->strings[i].s, kv->strings[i].len);
        if (!kv->strings)
            put(b, kv->value, kv->n * scalar_size(kv->elem_type));
    }
}

// The fixture with `key` set to `value` (type and value bytes; NULL drops the key).
static const char *variant(const kevo_gguf *g, const char *key, const wbuf *value)
{
    wbuf b = {0}, kvs = {0};
    uint64_t n_kv = 0;
    int found = 0;
    for (size_t i = 0; i < kevo_gguf_n_kv(g); i++) {
        const kevo_gguf_kv *kv = kevo_gguf_kv_at(g, i);
        int hit = kv->key.len == strlen(key) && memcmp(kv->key.s, key, kv->key.len) == 0;
        found |= hit;
        if (hit && !value)
            continue;
        put_str(&kvs, kv->key.s, kv->key.len);
        if (hit)
            put(&kvs, value->p, value->n);
        else
            put_value(&kvs, kv);
        n_kv++;
    }
    if (!found && value) {
        put_str(&kvs, key, strlen(key));
        put(&kvs, value->p, value->n);
        n_kv++;
    }
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, 0);
    put_u64(&b, n_kv);
    put(&b, kvs.p, kvs.n);
    const char *path = kevo_test_tmp("variant.gguf");
    kevo_test_write(path, b.p, b.n);
    free(b.p);
    free(kvs.p);
    return path;
}

// A copy of array `key` of g with element i replaced by `elem` (elem_n bytes; a string's bytes
// for a string array), or with the last element dropped when i < 0; as the value of `variant`.
static wbuf array_edit(const kevo_gguf *g, const char *key, long i, const void *elem,
                       size_t elem_n)
{
    const kevo_gguf_kv *kv = kevo_gguf_find(g, key);
    wbuf b = {0};
    uint64_t n = i < 0 ? kv->n - 1 : kv->n;
    put_u32(&b, KEVO_GGUF_ARRAY);
    put_u32(&b, kv->elem_type);
    put_u64(&b, n);
    size_t size = kv->strings ? 0 : scalar_size(kv->elem_type);
    for (uint64_t k = 0; k < n; k++) {
        const void *s = (long)k == i ? elem : kv->strings ? (const void *)kv->strings[k].s
                                                          : kv->value + k * size;
        size_t len = (long)k == i ? elem_n : kv->strings ? kv->strings[k].len : size;
        if (kv->strings)
            put_str(&b, s, len);
        else
            put(&b, s, len);
    }
    return b;
}

static wbuf scalar(kevo_gguf_type type, const void *v, size_t n)
{
    wbuf b = {0};
    put_u32(&b, type);
    if (type == KEVO_GGUF_STRING)
        put_str(&b, v, n);
    else
        put(&b, v, n);
    return b;
}

// The variant must be a GGUF that opens, and a tokenizer refused with both strings in the message.
static int refused(const char *path, const char *says, const char *also, const char *what)
{
    kevo_gguf *g = NULL;
    kevo_tokenizer *t = NULL;
    kevo_error err = {0};
    kevo_status st = kevo_gguf_open(path, &g, &err);
    if (!CHECK_OK(st, &err))
        return 0;
    st = kevo_tokenizer_from_gguf(g, path, 0, &t, &err);
    int ok = CHECK(st == KEVO_ERR_FORMAT && !t && kevo_test_contains(err.msg, says) &&
                       kevo_test_contains(err.msg, also) &&
                       kevo_test_contains(err.msg, "variant.gguf"),
                   "%s: status %d, '%s' (want '%s' and '%s')", what, st, err.msg, says, also);
    kevo_tokenizer_free(t);
    kevo_gguf_free(g);
    return ok;
}

#define TOKENS "tokenizer.ggml.tokens"
#define SCORES "tokenizer.ggml.scores"
#define TYPES "tokenizer.ggml.token_type"

KEVO_TEST(tokenizer_gguf_hostile_metadata_refused)
{
    char *path = gguf_path("tiny-f32-f16");
    kevo_gguf *g = NULL;
    kevo_error err;
    if (!CHECK_OK(kevo_gguf_open(path, &g, &err), &err)) {
        free(path);
        return;
    }
    int n_cases = 0, n_ok = 0;
#define CASE(key, value, says, also)                                                          \
    do {                                                                                      \
        wbuf v_ = value;                                                                      \
        n_ok += refused(variant(g, key, v_.p ? &v_ : NULL), says, also, says);                \
        n_cases++;                                                                            \
        free(v_.p);                                                                           \
    } while (0)
    static const wbuf none = {0};
    int32_t i7 = 7, i0 = 0, neg = -1, two = 2, one = 1;
    uint32_t u1 = 1;
    float nan_ = NAN;
    unsigned char yes = 1;
    CASE("tokenizer.ggml.model", scalar(KEVO_GGUF_STRING, "gpt2", 4), "tokenizer.ggml.model",
         "'gpt2'");
    CASE("tokenizer.ggml.model", none, "'tokenizer.ggml.model' is missing", "");
    CASE("tokenizer.ggml.model", scalar(KEVO_GGUF_U32, &u1, 4), "tokenizer.ggml.model",
         "not a string");
    CASE(TOKENS, none, "'" TOKENS "' is missing", "");
    CASE(SCORES, none, "'" SCORES "' is missing", "");
    CASE(TYPES, none, "'" TYPES "' is missing", "");
    CASE(SCORES, array_edit(g, SCORES, -1, NULL, 0), "arrays of different lengths", SCORES);
    CASE(TYPES, array_edit(g, TYPES, -1, NULL, 0), "arrays of different lengths", TYPES);
    CASE(TOKENS, array_edit(g, TOKENS, -1, NULL, 0), "arrays of different lengths", TOKENS);
    CASE(TOKENS, array_edit(g, TYPES, 5, &i0, 4), TOKENS, "array of i32, not of strings");
    CASE(TOKENS, scalar(KEVO_GGUF_STRING, "x", 1), TOKENS, "not an array");
    CASE(SCORES, array_edit(g, TYPES, 5, &i0, 4), SCORES, "not of floats");
    CASE(TYPES, array_edit(g, SCORES, 5, &nan_, 4), TYPES, "not of integers");
    CASE(TOKENS, array_edit(g, TOKENS, 100, "a\0b", 3), TOKENS "[100]", "NUL byte");
    CASE(TOKENS, array_edit(g, TOKENS, 100, "", 0), TOKENS "[100]", "is empty");
    CASE(TYPES, array_edit(g, TYPES, 5, &i7, 4), TYPES "[5] is 7", "1 (normal) to 6 (byte)");
    CASE(TYPES, array_edit(g, TYPES, 5, &i0, 4), TYPES "[5] is 0", "");
    CASE(TYPES, array_edit(g, TYPES, 5, &neg, 4), TYPES "[5] is -1", "");
    CASE(SCORES, array_edit(g, SCORES, 300, &nan_, 4), SCORES "[300]", "not a finite number");
    CASE(TOKENS, array_edit(g, TOKENS, 301, kevo_gguf_find(g, TOKENS)->strings[300].s,
                            kevo_gguf_find(g, TOKENS)->strings[300].len),
         TOKENS, "defined twice");
    CASE(TOKENS, array_edit(g, TOKENS, 3, "<0xZZ>", 6), TOKENS, "is not of the form <0xXX>");
    CASE(TYPES, array_edit(g, TYPES, 3, &one, 4), TOKENS, "<0x00> is missing");
    CASE(TYPES, array_edit(g, TYPES, 5, &two, 4), "tokenizer.ggml.unknown_token_id", "row 5");
    CASE("tokenizer.ggml.unknown_token_id", none, "tokenizer.ggml.unknown_token_id",
         "is missing and no row");
    // Scalar keys (tokenizer.ggml.*) of another value: key, type, value, what the message says.
    static const struct {
        const char *key;
        kevo_gguf_type type;
        const char *value;   // little-endian bytes (or a string's)
        size_t n;
        const char *also;
    } scalars[] = {
        {"unknown_token_id", KEVO_GGUF_U32, "\x2c\x01\0\0", 4, "must be a row of type 2 or 3"},
        {"bos_token_id", KEVO_GGUF_U32, "\xa0\x86\x01\0", 4, "is 100000, past the rows"},
        {"eos_token_id", KEVO_GGUF_U32, "\x08\x02\0\0", 4, "is 520, an unused row"},
        {"padding_token_id", KEVO_GGUF_U32, "\xa0\x86\x01\0", 4, "100000"},
        {"unknown_token_id", KEVO_GGUF_I32, "\xff\xff\xff\xff", 4, "negative"},
        {"bos_token_id", KEVO_GGUF_STRING, "<s>", 3, "not an integer"},
        {"add_bos_token", KEVO_GGUF_U32, "\x01\0\0\0", 4, "must be a bool"},
        {"add_eos_token", KEVO_GGUF_BOOL, "\x02", 1, "must be a bool"},
        {"add_space_prefix", KEVO_GGUF_U32, "\x01\0\0\0", 4, "must be a bool"},
    };
    for (size_t k = 0; k < sizeof scalars / sizeof scalars[0]; k++) {
        char key[64];
        snprintf(key, sizeof key, "tokenizer.ggml.%s", scalars[k].key);
        CASE(key, scalar(scalars[k].type, scalars[k].value, scalars[k].n), key, scalars[k].also);
    }
#undef CASE
    CHECK(n_ok == n_cases, "%d of %d hostile variants refused as expected", n_ok, n_cases);
    printf("  %d of %d hostile variants refused naming the key\n", n_ok, n_cases);

    // Accepted variants: add_space_prefix true is the default, false drops the dummy prefix
    // (legacy encoding); <image> as a user-defined row (type 4) still encodes as one token and
    // decodes as its text, not vanishing as a special token.
    int *ids = NULL, n = 0;
    char *s = NULL;
    wbuf v = scalar(KEVO_GGUF_BOOL, &yes, 1);
    kevo_tokenizer *t = accepted(variant(g, "tokenizer.ggml.add_space_prefix", &v), 1);
    kevo_tokenizer *ref = from_gguf("tiny-f32-f16", 1);
    if (t && ref)
        CHECK(compare_on(t, ref, &(texts){(char *[]){"Hello world"}, (size_t[]){11}, 1},
                         "add_space_prefix true") == 0, "add_space_prefix true differs");
    kevo_tokenizer_free(t);
    kevo_tokenizer_free(ref);
    unsigned char no = 0;
    memcpy(v.p + 4, &no, 1);
    t = accepted(variant(g, "tokenizer.ggml.add_space_prefix", &v), 1);
    free(v.p);
    if (t && CHECK_OK(kevo_tokenizer_encode(t, "hi", 2, 0, &ids, &n, &err), &err))
        CHECK(n > 0 && strncmp(kevo_tokenizer_piece(t, ids[0]), "\xE2\x96\x81", 3) != 0,
              "without add_space_prefix 'hi' starts with '%s'", kevo_tokenizer_piece(t, ids[0]));
    free(ids);
    kevo_tokenizer_free(t);
    int32_t user = 4;
    v = array_edit(g, TYPES, 512, &user, 4);
    t = accepted(variant(g, TYPES, &v), 0);
    free(v.p);
    ids = NULL;
    if (t && CHECK_OK(kevo_tokenizer_encode(t, "a<image>b", 9, 0, &ids, &n, &err), &err)) {
        int found = 0;
        for (int k = 0; k < n; k++)
            found += ids[k] == 512;
        CHECK(found == 1, "user-defined <image>: %d times in %d ids", found, n);
        if (CHECK_OK(kevo_tokenizer_decode(t, ids, n, &s, &err), &err))
            CHECK(strcmp(s, "a<image>b") == 0, "user-defined <image> decodes as '%s'", s);
    }
    free(ids);
    free(s);
    kevo_tokenizer_free(t);
    kevo_gguf_free(g);
    free(path);
}
