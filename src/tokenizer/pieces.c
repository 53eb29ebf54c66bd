// pieces.c — the piece table, its index by string hash, the initial symbols of characters, and
// the merge and join tables the loaders fill (spm.c, hf.c) and the encoder reads (encode.c).
//
// The tables are those of sentencepiece's bpe_model.cc and HF tokenizers' models/bpe, keyed for
// kevo's encoder: pieces by a polynomial string hash, merges by their pair of symbols.
#include "tokenizer/internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

// Piece strings hash as a polynomial modulo the Mersenne prime 2^61 - 1, so that the merge
// table's builder can hash every prefix and every suffix of a piece in one pass each (see
// tok_hash_push / tok_hash_prepend): hashing each half of each split afresh was quadratic in the
// length of a piece, and a tokenizer.model with one piece of 128 KB took 17 s to load.
#define HASH_P ((1ull << 61) - 1)
#define HASH_BASE (0x1f3d5b79a2c4e68bull % HASH_P)

__extension__ typedef unsigned __int128 u128;

static uint64_t mul61(uint64_t a, uint64_t b)
{
    u128 x = (u128)a * b;
    uint64_t r = (uint64_t)(x & HASH_P) + (uint64_t)(x >> 61);
    return r >= HASH_P ? r - HASH_P : r;
}

uint64_t tok_hash_push(uint64_t h, unsigned char c)
{
    uint64_t r = mul61(h, HASH_BASE) + c + 1u;
    return r >= HASH_P ? r - HASH_P : r;
}

uint64_t tok_hash_prepend(uint64_t h, unsigned char c, uint64_t *pow)
{
    uint64_t r = h + mul61(c + 1u, *pow);
    *pow = mul61(*pow, HASH_BASE);
    return r >= HASH_P ? r - HASH_P : r;
}

static uint64_t hash_finish(uint64_t h, size_t n)
{
    return tok_hash64(h ^ (uint64_t)n << 61);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    return hash_finish(tok_hash_raw(s, n), n);
}

kevo_status tok_set_piece(kevo_tokenizer *t, int id, const char *s, size_t len, int kind,
                          kevo_error *err)
{
    if (id < 0 || id >= (1 << 29))
        return kevo_fail(err, KEVO_ERR_FORMAT, "token id %d is out of range", id);
    if (id >= t->cap_tokens) {
        int cap = t->cap_tokens ? t->cap_tokens : 1024;
        while (cap <= id)
            cap *= 2;
        uint32_t *off = realloc(t->off, (size_t)cap * sizeof *off);
        if (off)
            t->off = off;
        uint32_t *len_ = realloc(t->len, (size_t)cap * sizeof *len_);
        if (len_)
            t->len = len_;
        unsigned char *k = realloc(t->kind, (size_t)cap);
        if (k)
            t->kind = k;
        if (!off || !len_ || !k)
            return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for %d tokens", cap);
        memset(t->kind + t->cap_tokens, TOK_HOLE, (size_t)(cap - t->cap_tokens));
        t->cap_tokens = cap;
    }
    if (t->kind[id] != TOK_HOLE)
        return kevo_fail(err, KEVO_ERR_FORMAT, "token id %d is defined twice ('%s' and '%.*s')",
                         id, t->arena + t->off[id], (int)len, s);
    if (t->arena_len + len + 1 > t->arena_cap) {
        size_t cap = t->arena_cap ? t->arena_cap : 1 << 16;
        while (cap < t->arena_len + len + 1)
            cap *= 2;
        if (cap > UINT32_MAX)
            return kevo_fail(err, KEVO_ERR_NOMEM, "pieces exceed 4 GB");
        char *a = realloc(t->arena, cap);
        if (!a)
            return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for pieces");
        t->arena = a;
        t->arena_cap = cap;
    }
    memcpy(t->arena + t->arena_len, s, len);
    t->arena[t->arena_len + len] = '\0';
    t->off[id] = (uint32_t)t->arena_len;
    t->len[id] = (uint32_t)len;
    t->kind[id] = (unsigned char)kind;
    t->arena_len += len + 1;
    if (id >= t->n_tokens)
        t->n_tokens = id + 1;
    return KEVO_OK;
}

int tok_find(const kevo_tokenizer *t, const char *s, size_t len)
{
    return t->n_slots ? tok_find_hashed(t, s, len, tok_hash_raw(s, len)) : -1;
}

uint64_t tok_hash_raw(const char *s, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = tok_hash_push(h, (unsigned char)s[i]);
    return h;
}

int tok_find_hashed(const kevo_tokenizer *t, const char *s, size_t len, uint64_t raw)
{
    if (!t->n_slots)
        return -1;
    size_t mask = t->n_slots - 1, j = hash_finish(raw, len) & mask;
    for (;;) {
        int32_t id = t->slots[j];
        if (id < 0)
            return -1;
        if (t->len[id] == len && memcmp(t->arena + t->off[id], s, len) == 0)
            return id;
        j = (j + 1) & mask;
    }
}

kevo_status tok_index(kevo_tokenizer *t, kevo_error *err)
{
    size_t n = 64;
    while (n < 2 * (size_t)t->n_tokens)
        n *= 2;
    free(t->slots);
    t->slots = malloc(n * sizeof *t->slots);
    if (!t->slots)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the piece index");
    memset(t->slots, 0xff, n * sizeof *t->slots);
    t->n_slots = n;
    for (int id = 0; id < t->n_tokens; id++) {
        if (t->kind[id] == TOK_HOLE)
            continue;
        const char *s = t->arena + t->off[id];
        size_t j = hash_bytes(s, t->len[id]) & (n - 1);
        while (t->slots[j] >= 0) {
            int32_t o = t->slots[j];
            if (t->len[o] == t->len[id] && memcmp(t->arena + t->off[o], s, t->len[id]) == 0)
                return kevo_fail(err, KEVO_ERR_FORMAT, "piece '%s' is defined twice (ids %d and "
                                 "%d)", s, o, id);
            j = (j + 1) & (n - 1);
        }
        t->slots[j] = id;
    }
    return KEVO_OK;
}

int tok_char_piece(kevo_tokenizer *t, int id)
{
    size_t used;
    uint32_t cp = kevo_utf8_next((const unsigned char *)t->arena + t->off[id], t->len[id], &used);
    if (used != t->len[id])
        return 1;
    if (cp < 128)
        t->ascii[cp] = id;
    else if (!tok_map_put(&t->chars, cp, (uint64_t)id))
        return 0;
    return 1;
}

int32_t tok_char_symbol(kevo_tokenizer *t, uint32_t cp, int create)
{
    int32_t s = tok_symbol_of(t, cp);
    if (s >= 0 || !create)
        return s;
    uint32_t *vc = realloc(t->virtual_cp, (size_t)(t->n_virtual + 1) * sizeof *vc);
    if (!vc)
        return -1;
    t->virtual_cp = vc;
    int32_t sym = TOK_VIRTUAL_BASE + t->n_virtual;
    if (!tok_map_put(&t->chars, cp, (uint64_t)sym))
        return -1;
    vc[t->n_virtual++] = cp;
    if (cp < 128)
        t->ascii[cp] = sym;
    return sym;
}

kevo_status tok_add_merge(kevo_tokenizer *t, int32_t left, int32_t right, int32_t merged,
                          uint32_t priority, kevo_error *err)
{
    kevo_status st = tok_put_merge(t, left, right, merged, priority, err);
    return st ? st : tok_add_joins(t, merged, err);
}

kevo_status tok_put_merge(kevo_tokenizer *t, int32_t left, int32_t right, int32_t merged,
                          uint32_t priority, kevo_error *err)
{
    if (!tok_map_put(&t->merges, tok_pair_key(left, right), tok_merge_val(priority, merged)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for merges");
    return KEVO_OK;
}

kevo_status tok_add_joins(kevo_tokenizer *t, int32_t merged, kevo_error *err)
{
    // No word boundary may fall between two characters that sit side by side in a merge result.
    const unsigned char *s = (const unsigned char *)t->arena + t->off[merged];
    size_t n = t->len[merged], i = 0, used;
    uint32_t prev = kevo_utf8_next(s, n, &used);
    for (i = used; i < n; i += used) {
        uint32_t cp = kevo_utf8_next(s + i, n - i, &used);
        if (!tok_map_put(&t->joins, (uint64_t)prev << 21 | cp, 1))
            return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for merges");
        prev = cp;
    }
    return KEVO_OK;
}
