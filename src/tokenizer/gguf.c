// gguf.c — the SentencePiece tokenizer of a GGUF file, from its tokenizer.ggml.* keys.
//
// What the file holds is what llama.cpp's convert_hf_to_gguf.py writes for the "llama" model
// (TextModel._set_vocab_sentencepiece / _create_vocab_sentencepiece, gguf-py SpecialVocab):
// - tokens / scores / token_type: one row per embedding row. Rows 0.. are tokenizer.model's
//   pieces with their scores and sentencepiece types (1 normal, 2 unknown, 3 control, 6 byte;
//   5 unused for sentencepiece's own unused pieces); then added_tokens.json's tokens (type 4,
//   score -1000); then tokenizer_config.json's added_tokens_decoder overwrites its ids as type 3
//   when special (or when TextModel.does_token_look_special says so), else type 4. So <unk>,
//   <s>, </s>, <image>, <pad> of LLaVA arrive as type 3; the rows past the tokenizer up to the
//   model's vocab_size are "[PADn]", type 5, score -10000.
// - bos / eos / unknown / padding_token_id, add_bos_token / add_eos_token (SpecialVocab, from
//   tokenizer_config.json and config.json) and, from some converters, add_space_prefix.
//
// kevo rebuilds from this the tokenizer kevo_tokenizer_load makes of tokenizer.model +
// tokenizer_config.json (load.c, spm.c), i.e. transformers' slow LlamaTokenizer:
// - types 3 and 4 are added tokens matched in the raw text before sentencepiece runs on the
//   segments between them, as LlamaTokenizer does with added_tokens_decoder (special: 3);
// - the unknown piece is the row tokenizer.ggml.unknown_token_id names, whatever its type (the
//   converter's type 3 for <unk> only says it is also an added token);
// - type 5 rows are undefined ids: kevo's tokenizer.model loader knows no id past the
//   tokenizer's vocabulary either (kevo_tokenizer_piece gives NULL, decoding refuses them, and
//   model/answer.c drops them), and n_tokens stops at the last defined row as it does there;
// - type 6 rows are the byte pieces; byte fallback is on when the file has any (the GGUF does not
//   carry trainer_spec.byte_fallback; llama.cpp's llm_tokenizer_spm falls back to the byte
//   tokens when they exist), and then tok_spm_finish wants all 256;
// - add_space_prefix is normalizer_spec.add_dummy_prefix, true when absent (llama-vocab.cpp's
//   default for the SPM vocabulary);
// - `legacy` is the caller's: the file has no place for it.
// tok_spm_finish (spm.c) then checks and indexes the table and derives the merges exactly as for
// tokenizer.model.
#include "tokenizer/gguf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/internal.h"

#define K_MODEL "tokenizer.ggml.model"
#define K_TOKENS "tokenizer.ggml.tokens"
#define K_SCORES "tokenizer.ggml.scores"
#define K_TYPES "tokenizer.ggml.token_type"
#define K_UNK "tokenizer.ggml.unknown_token_id"

// The element types an array may have: strings, floats, integers.
enum { WANT_STRING, WANT_FLOAT, WANT_INT };

static const char *type_name(kevo_gguf_type t)
{
    static const char *const names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                        "string", "array", "u64", "i64", "f64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static kevo_status array_of(const kevo_gguf *g, const char *path, const char *key, int want,
                            const kevo_gguf_kv **out, kevo_error *err)
{
    const kevo_gguf_kv *kv = *out = kevo_gguf_find(g, key);
    if (!kv)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' is missing (a llama tokenizer needs "
                         "%s, %s and %s)", path, key, K_TOKENS, K_SCORES, K_TYPES);
    if (kv->type != KEVO_GGUF_ARRAY)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' (byte %llu) is a single %s, not an "
                         "array", path, key, (unsigned long long)kv->offset, type_name(kv->type));
    kevo_gguf_type e = kv->elem_type;
    int ok = want == WANT_STRING ? e == KEVO_GGUF_STRING
             : want == WANT_FLOAT ? e == KEVO_GGUF_F32 || e == KEVO_GGUF_F64
                                  : e <= KEVO_GGUF_I32 || e == KEVO_GGUF_U64 ||
                                        e == KEVO_GGUF_I64;
    if (!ok)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' (byte %llu) is an array of %s, "
                         "not of %s", path, key, (unsigned long long)kv->offset, type_name(e),
                         want == WANT_STRING ? "strings" : want == WANT_FLOAT ? "floats"
                                                                           : "integers");
    return KEVO_OK;
}

// An optional token id key: -1 when absent; a defined row otherwise.
static kevo_status read_id(const kevo_gguf *g, const kevo_tokenizer *t, const char *path,
                           const char *key, int *id, kevo_error *err)
{
    *id = -1;
    if (!kevo_gguf_find(g, key))
        return KEVO_OK;
    uint64_t v;
    kevo_status st = kevo_gguf_get_u64(g, key, &v, err);
    if (st)
        return st;
    uint64_t rows = kevo_gguf_find(g, K_TOKENS)->n;   // read_rows has checked the arrays
    if (v >= (uint64_t)t->n_tokens || t->kind[v] == TOK_HOLE)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' is %llu, %s", path, key,
                         (unsigned long long)v, v < rows
                             ? "an unused row of " K_TYPES " (type 5)"
                             : "past the rows of " K_TOKENS);
    *id = (int)v;
    return KEVO_OK;
}

static kevo_status read_bool(const kevo_gguf *g, const char *path, const char *key, int def,
                             int *out, kevo_error *err)
{
    const kevo_gguf_kv *kv = kevo_gguf_find(g, key);
    *out = def;
    if (!kv)
        return KEVO_OK;
    if (kv->type != KEVO_GGUF_BOOL || kv->value[0] > 1)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' (byte %llu) must be a bool (true "
                         "or false), not %s", path, key, (unsigned long long)kv->offset,
                         kv->type == KEVO_GGUF_BOOL ? "a byte of another value"
                                                    : type_name(kv->type));
    *out = kv->value[0];
    return KEVO_OK;
}

// tokenizer.ggml.model must be "llama": "gpt2" (byte-level BPE), "bert", "t5" and the others
// tokenize otherwise.
static kevo_status check_model(const kevo_gguf *g, const char *path, kevo_error *err)
{
    kevo_gguf_str s;
    kevo_status st = kevo_gguf_get_str(g, K_MODEL, &s, err);
    if (st || (s.len == 5 && memcmp(s.s, "llama", 5) == 0))
        return st;
    int n = s.len > 64 ? 64 : (int)s.len;
    if (memchr(s.s, '\0', (size_t)n))
        n = (int)strlen(s.s);
    return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s is '%.*s'%s; kevo reads the 'llama' "
                     "tokenizer model (SentencePiece BPE) only", path, K_MODEL, n, s.s,
                     (uint64_t)n < s.len ? "..." : "");
}

// The rows: each a piece of its type, but type 5 (unused), which stays undefined.
static kevo_status read_rows(kevo_tokenizer *t, const kevo_gguf *g, const char *path,
                             int *byte_fallback, kevo_error *err)
{
    const kevo_gguf_kv *tokens, *scores, *types;
    kevo_status st = array_of(g, path, K_TOKENS, WANT_STRING, &tokens, err);
    if (!st)
        st = array_of(g, path, K_SCORES, WANT_FLOAT, &scores, err);
    if (!st)
        st = array_of(g, path, K_TYPES, WANT_INT, &types, err);
    if (st)
        return st;
    uint64_t n = tokens->n;
    if (scores->n != n || types->n != n)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: arrays of different lengths: %s has %llu "
                         "entries, %s %llu, %s %llu", path, K_TOKENS, (unsigned long long)n,
                         K_SCORES, (unsigned long long)scores->n, K_TYPES,
                         (unsigned long long)types->n);
    if (n == 0 || n > (1u << 29))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s has %llu entries (kevo reads 1 to 2^29)",
                         path, K_TOKENS, (unsigned long long)n);
    if (!(t->score = malloc(n * sizeof *t->score)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory for %llu scores", path,
                         (unsigned long long)n);
    *byte_fallback = 0;
    for (uint64_t i = 0; i < n; i++) {
        const kevo_gguf_str *s = &tokens->strings[i];
        double type = kevo_gguf_array_f64(types, i);
        float score = (float)kevo_gguf_array_f64(scores, i);
        if (!(type >= TOK_NORMAL && type <= TOK_BYTE))
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s[%llu] is %.0f; token types are 1 "
                             "(normal) to 6 (byte)", path, K_TYPES, (unsigned long long)i, type);
        if (type == TOK_UNUSED)
            continue;
        if (s->len == 0 || memchr(s->s, '\0', s->len))
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s[%llu] %s", path, K_TOKENS,
                             (unsigned long long)i, s->len ? "contains a NUL byte" : "is empty");
        if (type == TOK_NORMAL && !isfinite(score))
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s[%llu] ('%.*s') is not a finite "
                             "number", path, K_SCORES, (unsigned long long)i,
                             s->len > 64 ? 64 : (int)s->len, s->s);
        // A user-defined row is an added token that decodes as its text (TOK_ADDED), not a
        // piece whose "▁" become spaces.
        int kind = type == TOK_USER ? TOK_ADDED : (int)type;
        if ((st = tok_set_piece(t, (int)i, s->s, (size_t)s->len, kind, err)))
            return kevo_error_prefix(err, "%s: %s[%llu]: ", path, K_TOKENS,
                                     (unsigned long long)i);
        t->score[i] = score;
        *byte_fallback |= kind == TOK_BYTE;
    }
    t->n_vocab = t->n_tokens;   // the last defined row + 1: what build_merges scans
    return KEVO_OK;
}

// The unknown piece: the row unknown_token_id names becomes sentencepiece's unknown piece;
// without the key, the row of type 2 is.
static kevo_status set_unknown(kevo_tokenizer *t, const kevo_gguf *g, const char *path,
                               kevo_error *err)
{
    int unk;
    kevo_status st = read_id(g, t, path, K_UNK, &unk, err);
    if (st)
        return st;
    int typed = -1;
    for (int id = 0; id < t->n_tokens && typed < 0; id++)
        if (t->kind[id] == TOK_UNKNOWN)
            typed = id;
    if (unk < 0 && typed < 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' is missing and no row of %s has "
                         "type 2 (unknown)", path, K_UNK, K_TYPES);
    if (unk >= 0 && typed >= 0 && typed != unk)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' is %d but row %d of %s has type 2 "
                         "(unknown)", path, K_UNK, unk, typed, K_TYPES);
    if (unk >= 0 && t->kind[unk] != TOK_CONTROL && t->kind[unk] != TOK_UNKNOWN)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: key '%s' is %d, the piece '%s' of type %d; "
                         "the unknown token must be a row of type 2 or 3", path, K_UNK, unk,
                         t->arena + t->off[unk], t->kind[unk] == TOK_ADDED ? 4 : t->kind[unk]);
    if (unk >= 0)
        t->kind[unk] = TOK_UNKNOWN;
    return KEVO_OK;
}

// Added tokens as LlamaTokenizer has them: every control and user-defined row, and the special
// tokens the keys name (load.c's resolve_names does the same with the names of the config
// files; without the keys, LlamaTokenizer's default names <s> and </s>).
static kevo_status add_tokens(kevo_tokenizer *t, const kevo_gguf *g, const char *path,
                              kevo_error *err)
{
    static const char *const keys[] = {"tokenizer.ggml.bos_token_id",
                                       "tokenizer.ggml.eos_token_id",
                                       "tokenizer.ggml.padding_token_id", K_UNK};
    static const char *const defaults[] = {"<s>", "</s>", NULL, NULL};
    char where[KEVO_ERROR_MAX];
    kevo_error_head(where, sizeof where, "%s: %s", path, K_TOKENS);
    kevo_status st = KEVO_OK;
    for (int id = 0; id < t->n_tokens && !st; id++)
        if (t->kind[id] == TOK_CONTROL || t->kind[id] == TOK_ADDED)
            st = tok_add_token(t, t->arena + t->off[id], id, t->kind[id] == TOK_CONTROL, 0, 0,
                               where, err);
    int ids[4];
    for (int k = 0; k < 4 && !st; k++) {
        if ((st = read_id(g, t, path, keys[k], &ids[k], err)))
            break;
        if (ids[k] < 0 && defaults[k])
            ids[k] = tok_find(t, defaults[k], strlen(defaults[k]));
        kevo_error_head(where, sizeof where, "%s: %s", path, keys[k]);
        if (ids[k] >= 0)
            st = tok_add_token(t, t->arena + t->off[ids[k]], ids[k], 1, 0, 0, where, err);
    }
    if (!st) {
        t->bos_id = ids[0];
        t->eos_id = ids[1];
    }
    return st;
}

kevo_status kevo_tokenizer_from_gguf(const kevo_gguf *g, const char *path, int legacy,
                                     kevo_tokenizer **out, kevo_error *err)
{
    *out = NULL;
    kevo_status st = check_model(g, path, err);
    if (st)
        return st;
    kevo_tokenizer *t = tok_new(TOK_MODE_SPM, path);
    if (!t)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    tok_spm_spec spec = {0};
    char where[KEVO_ERROR_MAX];
    kevo_error_head(where, sizeof where, "%s: %s", path, K_TOKENS);
    st = read_rows(t, g, path, &spec.byte_fallback, err);
    if (!st)
        st = read_bool(g, path, "tokenizer.ggml.add_space_prefix", 1, &spec.add_dummy_prefix,
                       err);
    if (!st)
        st = set_unknown(t, g, path, err);
    if (!st)
        st = tok_spm_finish(t, &spec, where, err);
    if (!st)
        st = add_tokens(t, g, path, err);
    if (!st)
        st = read_bool(g, path, "tokenizer.ggml.add_bos_token", 1, &t->add_bos, err);
    if (!st)
        st = read_bool(g, path, "tokenizer.ggml.add_eos_token", 0, &t->add_eos, err);
    if (!st) {
        t->legacy = legacy != 0;
        st = tok_seal(t, err);
    }
    if (st) {
        kevo_tokenizer_free(t);
        return st;
    }
    *out = t;
    return KEVO_OK;
}
