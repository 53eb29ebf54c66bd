// tokenizer.c — the piece table and its index, and encoding: added tokens, per-segment
// normalisation, words, the BPE merge loop, byte fallback.
//
// Encoding follows, for tokenizer.model, sentencepiece's SentencePieceProcessor::Encode
// (src/normalizer.cc Normalize: dummy prefix, spaces as "▁", malformed UTF-8 as U+FFFD;
// src/bpe_model.cc; byte fallback in PopulateSentencePieceText) applied to each segment between
// added tokens as transformers' LlamaTokenizer.tokenize does (models/llama/tokenization_llama.py,
// legacy and non-legacy); for tokenizer.json, HF tokenizers' pipeline (AddedVocabulary split,
// normalizers Prepend / Replace, pre_tokenizers Metaspace, models/bpe with byte_fallback).
//
// Speed: a segment is cut into words at every boundary between two characters that are never
// adjacent inside a merge result (for LLaMA: before each "▁" that follows a non-space). No merge
// can cross such a boundary, so the words are merged independently with identical results, and
// repeated words are looked up in a per-call cache instead of merged again.
#include "tokenizer/internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

// ---------------------------------------------------------------------------------------------
// Piece table

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

static inline int32_t char_symbol(const kevo_tokenizer *t, uint32_t cp)
{
    if (cp < 128)
        return t->ascii[cp];
    uint64_t v;
    return tok_map_get(&t->chars, cp, &v) ? (int32_t)v : -1;
}

int32_t tok_char_symbol(kevo_tokenizer *t, uint32_t cp, int create)
{
    int32_t s = char_symbol(t, cp);
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

// ---------------------------------------------------------------------------------------------
// Encoding state (one per call: the tokenizer itself stays read-only)

#define CACHE_WORD_MAX 32          // longer words are merged every time
#define CACHE_ENTRIES_MAX (1 << 17)

typedef struct cache_entry {
    uint32_t cp_off, n_cp, id_off, n_id;
} cache_entry;

typedef struct enc {
    const kevo_tokenizer *t;
    int *ids;                  // output
    size_t n_ids, cap_ids;
    uint32_t *cps, *tmp;       // the normalised segment and normaliser scratch
    size_t n_cps, cap_cps, cap_tmp;
    int32_t *syms;             // one word's symbols
    size_t cap_syms;
    int *word_ids;             // one word's ids
    size_t n_word_ids, cap_word_ids;
    tok_bpe_work work;
    tok_map cache;             // word hash -> entry index
    cache_entry *entries;
    size_t n_entries, cap_entries;
    uint32_t *cache_cps;
    size_t n_cache_cps, cap_cache_cps;
    int *cache_ids;
    size_t n_cache_ids, cap_cache_ids;
    int skip;                  // ids still to drop (non-legacy "<unk>" prefix)
    int prev_unk;              // last id emitted was an unknown to fuse with
    int fuse;                  // runs of unknowns fuse in this segment
} enc;

// Grows *p (elements of `size` bytes) to hold at least `need`; returns 0 when memory runs out.
static int grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*(void **)p, c * size);
    if (!q)
        return 0;
    *(void **)p = q;
    *cap = c;
    return 1;
}

static void enc_free(enc *e)
{
    free(e->ids);
    free(e->cps);
    free(e->tmp);
    free(e->syms);
    free(e->word_ids);
    tok_bpe_work_free(&e->work);
    tok_map_free(&e->cache);
    free(e->entries);
    free(e->cache_cps);
    free(e->cache_ids);
}

static int emit(enc *e, int id)
{
    if (e->skip > 0) {
        e->skip--;
        return 1;
    }
    int is_unk = id == e->t->unk_id;
    if (is_unk && e->fuse && e->prev_unk)
        return 1;
    e->prev_unk = is_unk;
    if (!grow(&e->ids, &e->cap_ids, e->n_ids + 1, sizeof *e->ids))
        return 0;
    e->ids[e->n_ids++] = id;
    return 1;
}

static int push_cp(enc *e, uint32_t cp)
{
    if (!grow(&e->cps, &e->cap_cps, e->n_cps + 1, sizeof *e->cps))
        return 0;
    e->cps[e->n_cps++] = cp;
    return 1;
}

static int word_push(enc *e, int id)
{
    if (!grow(&e->word_ids, &e->cap_word_ids, e->n_word_ids + 1, sizeof *e->word_ids))
        return 0;
    e->word_ids[e->n_word_ids++] = id;
    return 1;
}

// The ids of a character no piece covers: its UTF-8 bytes as byte pieces, or <unk>.
static int fallback(enc *e, uint32_t cp)
{
    const kevo_tokenizer *t = e->t;
    char b[4];
    size_t n = kevo_utf8_encode(cp, b);
    if (t->byte_fallback) {
        int all = 1;
        for (size_t i = 0; i < n; i++)
            all &= t->byte_id[(unsigned char)b[i]] >= 0;
        if (all) {
            for (size_t i = 0; i < n; i++)
                if (!word_push(e, t->byte_id[(unsigned char)b[i]]))
                    return 0;
            return 1;
        }
    }
    return word_push(e, t->unk_id);
}

// Merges one word and leaves its ids in e->word_ids.
static int merge_word(enc *e, const uint32_t *cps, size_t n)
{
    const kevo_tokenizer *t = e->t;
    e->n_word_ids = 0;
    if (!grow(&e->syms, &e->cap_syms, 4 * n, sizeof *e->syms))
        return 0;
    int32_t *syms = e->syms;
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = cps[i];
        int32_t s = char_symbol(t, cp);
        if (s >= 0 || t->mode == TOK_MODE_SPM) {
            syms[m++] = s >= 0 ? s : -(int32_t)cp - 1;   // negative: a character outside the vocab
            continue;
        }
        // HF BPE falls back before merging: the byte pieces are symbols of their own.
        e->n_word_ids = 0;
        if (!fallback(e, cp))
            return 0;
        for (size_t k = 0; k < e->n_word_ids; k++)
            syms[m++] = e->word_ids[k];
    }
    e->n_word_ids = 0;
    m = tok_bpe_merge(&t->merges, &e->work, syms, m);
    if (m < 0)
        return 0;
    for (int i = 0; i < m; i++) {
        int32_t s = syms[i];
        if (s >= 0 && s < TOK_VIRTUAL_BASE) {
            if (!word_push(e, s))
                return 0;
            continue;
        }
        // sentencepiece: PieceToId of the character (reserved pieces first), else unknown.
        uint32_t cp = s < 0 ? (uint32_t)(-(s + 1)) : t->virtual_cp[s - TOK_VIRTUAL_BASE];
        char b[4];
        size_t nb = kevo_utf8_encode(cp, b);
        int id = tok_find(t, b, nb);
        int reserved = id >= 0 && id < t->n_vocab && t->kind[id] != TOK_UNKNOWN;
        if (reserved ? !word_push(e, id) : !fallback(e, cp))
            return 0;
    }
    return 1;
}

static uint64_t hash_cps(const uint32_t *cps, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ cps[i]) * 0x100000001b3ull;
    return tok_hash64(h);
}

static int encode_word(enc *e, const uint32_t *cps, size_t n)
{
    uint64_t h = 0, v;
    int cacheable = n <= CACHE_WORD_MAX;
    if (cacheable) {
        h = hash_cps(cps, n);
        if (h == UINT64_MAX)
            h--;
        if (tok_map_get(&e->cache, h, &v)) {
            const cache_entry *c = &e->entries[v];
            if (c->n_cp == n && memcmp(e->cache_cps + c->cp_off, cps, n * sizeof *cps) == 0) {
                for (uint32_t i = 0; i < c->n_id; i++)
                    if (!emit(e, e->cache_ids[c->id_off + i]))
                        return 0;
                return 1;
            }
            cacheable = 0;   // a hash collision: keep the first word cached
        }
    }
    if (!merge_word(e, cps, n))
        return 0;
    if (cacheable && e->n_entries < CACHE_ENTRIES_MAX) {
        if (!grow(&e->entries, &e->cap_entries, e->n_entries + 1, sizeof *e->entries) ||
            !grow(&e->cache_cps, &e->cap_cache_cps, e->n_cache_cps + n, sizeof *e->cache_cps) ||
            !grow(&e->cache_ids, &e->cap_cache_ids, e->n_cache_ids + e->n_word_ids,
                  sizeof *e->cache_ids) ||
            !tok_map_put(&e->cache, h, e->n_entries))
            return 0;
        e->entries[e->n_entries++] = (cache_entry){(uint32_t)e->n_cache_cps, (uint32_t)n,
                                                   (uint32_t)e->n_cache_ids,
                                                   (uint32_t)e->n_word_ids};
        memcpy(e->cache_cps + e->n_cache_cps, cps, n * sizeof *cps);
        memcpy(e->cache_ids + e->n_cache_ids, e->word_ids, e->n_word_ids * sizeof *e->word_ids);
        e->n_cache_cps += n;
        e->n_cache_ids += e->n_word_ids;
    }
    for (size_t i = 0; i < e->n_word_ids; i++)
        if (!emit(e, e->word_ids[i]))
            return 0;
    return 1;
}

// Cuts the normalised segment e->cps into words and encodes each.
static int encode_words(enc *e)
{
    const kevo_tokenizer *t = e->t;
    const uint32_t *c = e->cps;
    size_t n = e->n_cps, start = 0;
    uint64_t v;
    for (size_t i = 1; i <= n; i++) {
        if (i < n) {
            if (t->metaspace && t->metaspace_split && c[i] == t->metaspace_char) {
                // A pre-tokeniser word ends here: unknowns do not fuse across it.
                if (!encode_word(e, c + start, i - start))
                    return 0;
                e->prev_unk = 0;
                start = i;
                continue;
            }
            if (!t->split_words || tok_map_get(&t->joins, (uint64_t)c[i - 1] << 21 | c[i], &v))
                continue;
        }
        if (!encode_word(e, c + start, i - start))
            return 0;
        start = i;
    }
    return 1;
}

static int push_string(enc *e, const char *s, size_t n)
{
    size_t used;
    for (size_t i = 0; i < n; i += used)
        if (!push_cp(e, kevo_utf8_next((const unsigned char *)s + i, n - i, &used)))
            return 0;
    return 1;
}

// Appends the segment's characters, spaces as `space` (0: kept), malformed bytes as U+FFFD.
static int push_text(enc *e, const unsigned char *s, size_t n, uint32_t space)
{
    size_t used;
    for (size_t i = 0; i < n; i += used) {
        uint32_t cp = kevo_utf8_next(s + i, n - i, &used);
        if (!push_cp(e, cp == ' ' && space ? space : cp))
            return 0;
    }
    return 1;
}

// A segment of a tokenizer.model tokenizer. `first`: the segment starts the text.
static int segment_spm(enc *e, const unsigned char *s, size_t n, int first)
{
    const kevo_tokenizer *t = e->t;
    e->n_cps = 0;
    e->fuse = 1;   // PopulateSentencePieceText merges runs of unknown pieces
    e->prev_unk = 0;
    if (t->legacy) {
        // sp.encode(segment): the model's own dummy prefix on every segment.
        if (t->add_dummy_prefix && !push_cp(e, TOK_SPACE))
            return 0;
    } else {
        // LlamaTokenizer (legacy=False) encodes "▁" + text without the dummy prefix; a segment
        // that starts with "▁" or a space is encoded after "<unk>", whose pieces are dropped.
        int starts_space = first || (n > 0 && s[0] == ' ') ||
                           (n >= 3 && s[0] == 0xE2 && s[1] == 0x96 && s[2] == 0x81);
        if (starts_space) {
            if (!push_string(e, t->arena + t->off[t->unk_id], t->len[t->unk_id]))
                return 0;
            e->skip = t->unk_prefix_len;
        }
        if (first && !push_cp(e, TOK_SPACE))
            return 0;
    }
    if (!push_text(e, s, n, TOK_SPACE))
        return 0;
    int ok = encode_words(e);
    e->skip = 0;
    return ok;
}

static int starts_with(const uint32_t *c, size_t n, uint32_t cp)
{
    return n > 0 && c[0] == cp;
}

// A segment of a tokenizer.json tokenizer. `first`: the segment starts the text (offset 0).
static int segment_hf(enc *e, const unsigned char *s, size_t n, int first)
{
    const kevo_tokenizer *t = e->t;
    e->n_cps = 0;
    e->fuse = t->fuse_unk;
    e->prev_unk = 0;
    if (!push_text(e, s, n, 0))
        return 0;
    for (int k = 0; k < t->n_norm_ops; k++) {
        const tok_norm_op *op = &t->norm_ops[k];
        if (!grow(&e->tmp, &e->cap_tmp, e->n_cps * (size_t)(op->n_text + 1) + op->n_text,
                  sizeof *e->tmp))
            return 0;
        size_t m = 0;
        if (op->is_prepend && e->n_cps > 0) {
            memcpy(e->tmp, op->text, (size_t)op->n_text * sizeof *op->text);
            m = (size_t)op->n_text;
        }
        for (size_t i = 0; i < e->n_cps; i++) {
            if (!op->is_prepend && e->cps[i] == op->from) {
                memcpy(e->tmp + m, op->text, (size_t)op->n_text * sizeof *op->text);
                m += (size_t)op->n_text;
            } else {
                e->tmp[m++] = e->cps[i];
            }
        }
        uint32_t *swap = e->cps;
        size_t cap = e->cap_cps;
        e->cps = e->tmp;
        e->cap_cps = e->cap_tmp;
        e->tmp = swap;
        e->cap_tmp = cap;
        e->n_cps = m;
    }
    if (t->metaspace) {
        // pre_tokenizers/metaspace.rs: spaces become the replacement, which is prepended
        // (always, or for the split at offset 0 only) unless the text already starts with it.
        for (size_t i = 0; i < e->n_cps; i++)
            if (e->cps[i] == ' ')
                e->cps[i] = t->metaspace_char;
        int prepend = t->metaspace_prepend == TOK_PREPEND_ALWAYS ||
                      (t->metaspace_prepend == TOK_PREPEND_FIRST && first);
        if (prepend && !starts_with(e->cps, e->n_cps, t->metaspace_char)) {
            if (!push_cp(e, 0))
                return 0;
            memmove(e->cps + 1, e->cps, (e->n_cps - 1) * sizeof *e->cps);
            e->cps[0] = t->metaspace_char;
        }
    }
    return encode_words(e);
}

static int segment(enc *e, const char *s, size_t n, int first)
{
    if (n == 0 && !(first && e->t->mode == TOK_MODE_SPM && !e->t->legacy))
        return 1;
    return e->t->mode == TOK_MODE_SPM ? segment_spm(e, (const unsigned char *)s, n, first)
                                      : segment_hf(e, (const unsigned char *)s, n, first);
}

// The longest added token (or the template slot, which wins a tie: it replaces the added token
// of the same text) starting at text + p: its length, 0 if none.
static size_t match_at(const kevo_tokenizer *t, const char *text, size_t len, size_t p,
                       const char *slot, size_t slot_len, int *id)
{
    size_t best = 0;
    for (int k = 0; k < t->n_added; k++) {
        const tok_added *a = &t->added[k];
        if (a->len > best && a->len <= len - p && memcmp(text + p, a->content, a->len) == 0) {
            best = a->len;
            *id = a->id;
        }
    }
    if (slot && slot_len >= best && slot_len <= len - p && memcmp(text + p, slot, slot_len) == 0) {
        best = slot_len;
        *id = INT32_MIN;   // replaced by the caller's slot id
    }
    return best;
}

static int is_special(const kevo_tokenizer *t, int id)
{
    for (int k = 0; k < t->n_added; k++)
        if (t->added[k].id == id)
            return t->added[k].special;
    return 0;
}

static kevo_status encode_text(const kevo_tokenizer *t, const char *text, size_t len,
                               int add_bos, const char *slot, int slot_id, int **ids, int *n_ids,
                               kevo_error *err)
{
    *ids = NULL;
    *n_ids = 0;
    if (len > (size_t)1 << 30)
        return kevo_fail(err, KEVO_ERR_ARG, "text of %zu bytes is too long to encode (at most "
                         "1 GiB)", len);
    if (add_bos && t->bos_id < 0)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: no BOS token (<s>) to prepend", t->path);
    enc e = {.t = t};
    unsigned char starts[256] = {0};   // bytes that begin an added token
    for (int k = 0; k < t->n_added; k++)
        starts[(unsigned char)t->added[k].content[0]] = 1;
    size_t slot_len = slot ? strlen(slot) : 0;
    if (slot_len)
        starts[(unsigned char)slot[0]] = 1;

    int ok = !add_bos || emit(&e, t->bos_id);
    size_t body = e.n_ids, seg = 0, p = 0;
    while (ok && p < len) {
        int id = 0;
        size_t m = starts[(unsigned char)text[p]]
                       ? match_at(t, text, len, p, slot_len ? slot : NULL, slot_len, &id)
                       : 0;
        if (!m) {
            p++;
            continue;
        }
        ok = segment(&e, text + seg, p - seg, seg == 0);
        ok = ok && emit(&e, id == INT32_MIN ? slot_id : id);
        p += m;
        seg = p;
    }
    if (ok && (seg < len || len == 0))
        ok = seg < len ? segment(&e, text + seg, len - seg, seg == 0) : 1;

    // LlamaTokenizer (legacy=False) drops the "▁" in front of a special token that starts the
    // text ("▁" + "<s>..." gave ["▁", "<s>", ...]).
    if (ok && t->mode == TOK_MODE_SPM && !t->legacy && e.n_ids >= body + 2 &&
        e.ids[body] >= 0 && t->len[e.ids[body]] == 3 &&
        memcmp(t->arena + t->off[e.ids[body]], "\xE2\x96\x81", 3) == 0 &&
        ((slot_len && e.ids[body + 1] == slot_id) || is_special(t, e.ids[body + 1]))) {
        memmove(e.ids + body, e.ids + body + 1, (e.n_ids - body - 1) * sizeof *e.ids);
        e.n_ids--;
    }
    if (!ok) {
        enc_free(&e);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory encoding %zu bytes", len);
    }
    if (e.n_ids > (size_t)INT32_MAX) {
        enc_free(&e);
        return kevo_fail(err, KEVO_ERR_ARG, "text gives more than 2^31 tokens");
    }
    *ids = e.ids;
    *n_ids = (int)e.n_ids;
    e.ids = NULL;
    if (*n_ids == 0) {
        free(*ids);
        *ids = NULL;
    }
    enc_free(&e);
    return KEVO_OK;
}

kevo_status kevo_tokenizer_encode(const kevo_tokenizer *t, const char *text, size_t len,
                                  int add_bos, int **ids, int *n_ids, kevo_error *err)
{
    return encode_text(t, text, len, add_bos, NULL, 0, ids, n_ids, err);
}

kevo_status kevo_tokenizer_encode_slot(const kevo_tokenizer *t, const char *text, size_t len,
                                       int add_bos, const char *slot, int slot_id, int **ids,
                                       int *n_ids, kevo_error *err)
{
    if (!slot || !*slot)
        return kevo_fail(err, KEVO_ERR_ARG, "empty slot marker");
    return encode_text(t, text, len, add_bos, slot, slot_id, ids, n_ids, err);
}
