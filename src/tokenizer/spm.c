// spm.c — reading a SentencePiece tokenizer.model (a ModelProto in protobuf wire
// format) and deriving its BPE merge table.
//
// Field numbers are those of sentencepiece's src/sentencepiece_model.proto: ModelProto.pieces = 1
// (SentencePiece: piece = 1, score = 2, type = 3), trainer_spec = 2 (model_type = 3,
// treat_whitespace_as_suffix = 24, byte_fallback = 35, unk_surface = 44), normalizer_spec = 3
// (name = 1, precompiled_charsmap = 2, add_dummy_prefix = 3, remove_extra_whitespaces = 4,
// escape_whitespaces = 5). The checks are those of ModelInterface::InitializePieces
// (src/model_interface.cc): non-empty pieces without NUL, one <unk>, byte pieces only with
// byte_fallback and then all 256 of them.
//
// The merge table: sentencepiece merges two adjacent symbols when their concatenation is a
// piece (NORMAL type), best score first, leftmost first on ties (src/bpe_model.cc). So every
// split of every piece into two symbols (a piece or a single character) is a merge whose
// priority is the piece's rank among the scores (equal scores, equal rank).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "tokenizer/internal.h"

#define MODEL_MAX_BYTES (256u << 20)

typedef struct pb {
    const unsigned char *base, *p, *end;
} pb;

// One field: number, wire type, and either a varint / fixed value or a length-delimited span.
typedef struct pb_field {
    uint32_t number;
    int wire;
    uint64_t value;
    pb sub;
} pb_field;

static int read_varint(pb *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            return 0;
        unsigned char c = *r->p++;
        if (shift == 63 && c > 1)
            return 0;
        x |= (uint64_t)(c & 0x7F) << shift;
        if (c < 0x80) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

// Reads the next field of r; fails with a message naming the byte offset.
static kevo_status next_field(pb *r, pb_field *f, const char *path, const char *where,
                              kevo_error *err)
{
    size_t at = (size_t)(r->p - r->base);
    uint64_t key;
    if (!read_varint(r, &key) || key >> 3 == 0 || key >> 3 > 0x1FFFFFFF)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte %zu: malformed field key in %s "
                         "(truncated or corrupt file)", path, at, where);
    f->number = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    size_t left = (size_t)(r->end - r->p);
    switch (f->wire) {
    case 0:
        if (read_varint(r, &f->value))
            return KEVO_OK;
        break;
    case 1:
    case 5: {
        size_t n = f->wire == 1 ? 8 : 4;
        if (left < n)
            break;
        f->value = 0;
        for (size_t i = 0; i < n; i++)
            f->value |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return KEVO_OK;
    }
    case 2: {
        uint64_t n;
        if (!read_varint(r, &n) || n > (uint64_t)(r->end - r->p))
            break;
        f->sub = (pb){r->base, r->p, r->p + n};
        r->p += n;
        return KEVO_OK;
    }
    default:
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte %zu: unsupported protobuf wire type "
                         "%d (field %u) in %s", path, at, f->wire, f->number, where);
    }
    return kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte %zu: field %u of %s runs past its end "
                     "(truncated or corrupt file)", path, at, f->number, where);
}

static kevo_status expect_wire(const pb_field *f, int wire, const char *path, const pb *r,
                               const char *what, kevo_error *err)
{
    if (f->wire == wire)
        return KEVO_OK;
    return kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte %zu: %s has wire type %d, expected %d",
                     path, (size_t)(r->p - r->base), what, f->wire, wire);
}

typedef struct spm_specs {
    int model_type, byte_fallback, ws_suffix;
    const unsigned char *unk_surface;
    size_t unk_surface_len;
    int has_charsmap, add_dummy_prefix, remove_extra_ws, escape_ws;
    int n_pieces;
} spm_specs;

static kevo_status read_trainer(pb r, spm_specs *s, const char *path, kevo_error *err)
{
    while (r.p < r.end) {
        pb_field f;
        kevo_status st = next_field(&r, &f, path, "trainer_spec", err);
        if (st)
            return st;
        int number = (int)f.number;
        if (number == 3 || number == 24 || number == 35) {
            if ((st = expect_wire(&f, 0, path, &r, "a trainer_spec flag", err)))
                return st;
            *(number == 3 ? &s->model_type : number == 24 ? &s->ws_suffix : &s->byte_fallback) =
                (int)f.value;
        } else if (number == 44) {
            if ((st = expect_wire(&f, 2, path, &r, "trainer_spec.unk_surface", err)))
                return st;
            s->unk_surface = f.sub.p;
            s->unk_surface_len = (size_t)(f.sub.end - f.sub.p);
        }
    }
    return KEVO_OK;
}

static kevo_status read_normalizer(pb r, spm_specs *s, const char *path, kevo_error *err)
{
    while (r.p < r.end) {
        pb_field f;
        kevo_status st = next_field(&r, &f, path, "normalizer_spec", err);
        if (st)
            return st;
        if (f.number == 2) {
            if ((st = expect_wire(&f, 2, path, &r, "normalizer_spec.precompiled_charsmap", err)))
                return st;
            s->has_charsmap = f.sub.end > f.sub.p;
        } else if (f.number >= 3 && f.number <= 5) {
            if ((st = expect_wire(&f, 0, path, &r, "a normalizer_spec flag", err)))
                return st;
            *(f.number == 3 ? &s->add_dummy_prefix : f.number == 4 ? &s->remove_extra_ws
                                                                   : &s->escape_ws) =
                f.value != 0;
        }
    }
    return KEVO_OK;
}

static kevo_status read_piece(kevo_tokenizer *t, pb r, int id, size_t at, const char *path,
                              kevo_error *err)
{
    const unsigned char *s = NULL;
    size_t len = 0;
    float score = 0;
    uint64_t type = TOK_NORMAL;
    while (r.p < r.end) {
        pb_field f;
        kevo_status st = next_field(&r, &f, path, "a piece", err);
        if (st)
            return st;
        if (f.number == 1) {
            if ((st = expect_wire(&f, 2, path, &r, "piece", err)))
                return st;
            s = f.sub.p;
            len = (size_t)(f.sub.end - f.sub.p);
        } else if (f.number == 2) {
            if ((st = expect_wire(&f, 5, path, &r, "score", err)))
                return st;
            uint32_t bits = (uint32_t)f.value;
            memcpy(&score, &bits, sizeof score);
        } else if (f.number == 3) {
            if ((st = expect_wire(&f, 0, path, &r, "type", err)))
                return st;
            type = f.value;
        }
    }
    if (!s || len == 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte %zu: piece %d is empty", path, at, id);
    if (memchr(s, '\0', len))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte %zu: piece %d contains a NUL byte",
                         path, at, id);
    if (type < TOK_NORMAL || type > TOK_BYTE)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte %zu: piece %d has unknown type %llu",
                         path, at, id, (unsigned long long)type);
    if (type == TOK_USER || type == TOK_UNUSED)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: piece %d '%.*s' is %s; kevo supports "
                         "models without user-defined and unused pieces (LLaMA has none)", path,
                         id, (int)len, (const char *)s,
                         type == TOK_USER ? "user-defined" : "unused");
    if (type == TOK_NORMAL && !isfinite(score))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte %zu: piece %d '%.*s' has a score that "
                         "is not a finite number", path, at, id, (int)len, (const char *)s);
    kevo_status st = tok_set_piece(t, id, (const char *)s, len, (int)type, err);
    if (st)
        return kevo_error_prefix(err, "%s: ", path);
    if (id >= t->n_vocab) {
        float *sc = realloc(t->score, (size_t)t->cap_tokens * sizeof *sc);
        if (!sc)
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
        t->score = sc;
        t->n_vocab = id + 1;
    }
    t->score[id] = score;
    return KEVO_OK;
}

typedef struct scored {
    float score;
    int id;
} scored;

static int by_score_desc(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    return x->score > y->score ? -1 : x->score < y->score ? 1 : (x->id > y->id) - (x->id < y->id);
}

// The symbol a merge half can be during encoding: a NORMAL piece, or a single character. `raw`
// is the half's hash (tok_hash_raw).
static int32_t half_symbol(kevo_tokenizer *t, const char *s, size_t n, uint64_t raw)
{
    int id = tok_find_hashed(t, s, n, raw);
    if (id >= 0 && t->kind[id] == TOK_NORMAL)
        return id;
    size_t used;
    uint32_t cp = kevo_utf8_next((const unsigned char *)s, n, &used);
    return used == n ? tok_char_symbol(t, cp, 1) : -1;
}

static kevo_status build_merges(kevo_tokenizer *t, const char *path, kevo_error *err)
{
    // Initial symbols: every NORMAL piece of one character.
    for (int id = 0; id < t->n_vocab; id++)
        if (t->kind[id] == TOK_NORMAL && !tok_char_piece(t, id))
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    scored *order = malloc((size_t)t->n_vocab * sizeof *order);
    int n = 0;
    uint32_t *rank = malloc((size_t)t->n_vocab * sizeof *rank);
    if (!order || !rank) {
        free(order);
        free(rank);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int id = 0; id < t->n_vocab; id++)
        if (t->kind[id] == TOK_NORMAL)
            order[n++] = (scored){t->score[id], id};
    qsort(order, (size_t)n, sizeof *order, by_score_desc);
    for (int i = 0, r = 0; i < n; i++) {
        if (i > 0 && order[i].score != order[i - 1].score)
            r++;
        rank[order[i].id] = (uint32_t)r;
    }
    // Every split of every piece: the halves' hashes are carried along (prefixes extended
    // forwards, suffixes precomputed backwards), so a piece costs time linear in its length.
    kevo_status st = KEVO_OK;
    uint64_t *suffix = NULL;   // (len + 1) raw hashes of s[b..len)
    size_t cap_suffix = 0;
    for (int k = 0; k < n && st == KEVO_OK; k++) {
        int id = order[k].id;
        const char *s = t->arena + t->off[id];
        size_t len = t->len[id], used;
        if (len + 1 > cap_suffix) {
            free(suffix);
            cap_suffix = 2 * (len + 1);
            if (!(suffix = malloc(cap_suffix * sizeof *suffix))) {
                st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
        }
        uint64_t pow = 1;
        suffix[len] = 0;
        for (size_t b = len; b-- > 0;)
            suffix[b] = tok_hash_prepend(suffix[b + 1], (unsigned char)s[b], &pow);
        uint64_t prefix = 0;
        int merged = 0;
        for (size_t b = 0; b < len && st == KEVO_OK; b += used) {
            kevo_utf8_next((const unsigned char *)s + b, len - b, &used);
            if (b > 0) {
                int32_t left = half_symbol(t, s, b, prefix);
                int32_t right = half_symbol(t, s + b, len - b, suffix[b]);
                if (left >= 0 && right >= 0) {
                    st = tok_put_merge(t, left, right, id, rank[id], err);
                    merged = 1;
                }
            }
            for (size_t i = b; i < b + used; i++)
                prefix = tok_hash_push(prefix, (unsigned char)s[i]);
        }
        if (st == KEVO_OK && merged)
            st = tok_add_joins(t, id, err);
    }
    free(suffix);
    free(order);
    free(rank);
    return st;
}

// The checks of ModelInterface::InitializePieces over the whole table, then the index and the
// merges: what a piece table needs whichever file it came from (tokenizer.model here, a GGUF's
// tokenizer.ggml.* arrays in gguf.c).
kevo_status tok_spm_finish(kevo_tokenizer *t, const tok_spm_spec *s, const char *path,
                           kevo_error *err)
{
    kevo_status st = KEVO_OK;
    for (int id = 0; st == KEVO_OK && id < t->n_tokens; id++) {
        const char *p = t->arena + t->off[id];
        if (t->kind[id] == TOK_UNKNOWN) {
            if (t->unk_id >= 0)
                st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: pieces %d and %d are both the unknown "
                               "piece", path, t->unk_id, id);
            t->unk_id = id;
        } else if (t->kind[id] == TOK_BYTE) {
            int hi = -1, lo = -1;
            if (t->len[id] == 6 && memcmp(p, "<0x", 3) == 0 && p[5] == '>') {
                hi = p[3] >= '0' && p[3] <= '9' ? p[3] - '0' : p[3] >= 'A' && p[3] <= 'F'
                                                                   ? p[3] - 'A' + 10 : -1;
                lo = p[4] >= '0' && p[4] <= '9' ? p[4] - '0' : p[4] >= 'A' && p[4] <= 'F'
                                                                   ? p[4] - 'A' + 10 : -1;
            }
            if (!s->byte_fallback || hi < 0 || lo < 0)
                st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte piece %d '%s' %s", path, id, p,
                               s->byte_fallback ? "is not of the form <0xXX>"
                                               : "found although byte_fallback is false");
            else
                t->byte_id[hi << 4 | lo] = id;
        }
    }
    for (int b = 0; st == KEVO_OK && s->byte_fallback && b < 256; b++)
        if (t->byte_id[b] < 0)
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte fallback needs all 256 byte pieces: "
                           "the byte piece <0x%02X> is missing", path, b);
    if (st == KEVO_OK && t->unk_id < 0)
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: no unknown piece (<unk>)", path);
    if (st == KEVO_OK) {
        t->byte_fallback = s->byte_fallback;
        t->add_dummy_prefix = s->add_dummy_prefix;
        t->strip_first_space = s->add_dummy_prefix;
        t->split_words = 1;
        t->unk_surface = s->unk_surface
                             ? strndup(s->unk_surface, s->unk_surface_len)
                             : strdup(" \xE2\x81\x87 ");
        if (!t->unk_surface)
            st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == KEVO_OK && (st = tok_index(t, err)) != KEVO_OK)
        kevo_error_prefix(err, "%s: ", path);
    if (st == KEVO_OK)
        st = build_merges(t, path, err);
    return st;
}

kevo_status tok_load_spm(kevo_tokenizer *t, const char *path, kevo_error *err)
{
    char *data;
    size_t size;
    kevo_status st = kevo_read_file(path, MODEL_MAX_BYTES, &data, &size, err);
    if (st)
        return st;
    spm_specs s = {.model_type = 1, .add_dummy_prefix = 1, .remove_extra_ws = 1, .escape_ws = 1};
    pb r = {(const unsigned char *)data, (const unsigned char *)data,
            (const unsigned char *)data + size};
    while (st == KEVO_OK && r.p < r.end) {
        size_t at = (size_t)(r.p - r.base);
        pb_field f;
        if ((st = next_field(&r, &f, path, "ModelProto", err)))
            break;
        if (f.number >= 1 && f.number <= 3 &&
            (st = expect_wire(&f, 2, path, &r, "a ModelProto message", err)))
            break;
        if (f.number == 1)
            st = read_piece(t, f.sub, s.n_pieces++, at, path, err);
        else if (f.number == 2)
            st = read_trainer(f.sub, &s, path, err);
        else if (f.number == 3)
            st = read_normalizer(f.sub, &s, path, err);
    }
    if (st == KEVO_OK && s.n_pieces == 0)
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: no pieces (not a SentencePiece model?)", path);
    if (st == KEVO_OK && s.model_type != 2)
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: model type %s; kevo reads BPE models only",
                       path, s.model_type == 1 ? "unigram" : s.model_type == 3 ? "word"
                                                 : s.model_type == 4 ? "char" : "unknown");
    if (st == KEVO_OK && (s.has_charsmap || s.remove_extra_ws || !s.escape_ws || s.ws_suffix))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: unsupported normalisation (%s); kevo reads "
                       "models with the identity normaliser, whitespace kept and escaped as the "
                       "LLaMA tokenizer has", path,
                       s.has_charsmap ? "a precompiled normalisation map"
                       : s.remove_extra_ws ? "remove_extra_whitespaces"
                       : !s.escape_ws ? "escape_whitespaces off" : "treat_whitespace_as_suffix");
    if (st == KEVO_OK) {
        tok_spm_spec spec = {s.byte_fallback, s.add_dummy_prefix, (const char *)s.unk_surface,
                             s.unk_surface_len};
        st = tok_spm_finish(t, &spec, path, err);
    }
    free(data);
    return st;
}
