// encode.c — encoding: added tokens, per-segment normalisation, words, the BPE merge loop, byte
// fallback (the tables it reads are built in pieces.c).
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
#include "tokenizer/bytelevel.h"
#include "tokenizer/internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

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
        int32_t s = tok_symbol_of(t, cp);
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

static int emit_cb(void *e, int id)
{
    return emit(e, id);
}

static int segment(enc *e, const char *s, size_t n, int first)
{
    if (n == 0 && !(first && e->t->mode == TOK_MODE_SPM && !e->t->legacy))
        return 1;
    if (e->t->bl)
        return tok_bytelevel_segment(e->t, s, n, emit_cb, e);
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
