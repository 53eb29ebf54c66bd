// hf.c — reading a Hugging Face tokenizer.json with a BPE model (the LLaMA layout
// transformers' LlamaConverter writes, convert_slow_tokenizer.py).
//
// Supported, with the semantics of HF tokenizers (tokenizer/added_vocabulary.rs,
// models/bpe/model.rs, normalizers/prepend.rs and replace.rs, pre_tokenizers/metaspace.rs):
// - model BPE: vocab (piece -> id), merges in rank order ("a b" strings or [a, b] pairs; a pair
//   listed twice keeps its last rank, as the HashMap that reads them does), unk_token,
//   fuse_unk, byte_fallback; no dropout, no subword prefix or suffix, no ignore_merges;
// - added_tokens matched on the raw text (normalized false, no lstrip / rstrip / single_word);
// - normalizer: null, Prepend, Replace of one literal character, or a Sequence of those;
// - pre_tokenizer: null or Metaspace (replacement, prepend_scheme always / first / never,
//   split; the older add_prefix_space form too);
// - decoder: only whether it strips the first leading space (Strip, or Metaspace).
// Anything else is refused with the key that holds it, never silently ignored. A file of the
// byte-level layout (Qwen's: a Sequence pre-tokenizer or a ByteLevel decoder) goes to bytelevel.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "io/json.h"
#include "tokenizer/bytelevel.h"
#include "tokenizer/internal.h"

#define JSON_MAX_BYTES (512u << 20)

static const cJSON *get(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

static int is_true(const cJSON *obj, const char *key)
{
    return cJSON_IsTrue(get(obj, key));
}

// One character of a JSON string, or 0 when the string is not exactly one character.
static uint32_t one_char(const cJSON *v)
{
    if (!cJSON_IsString(v))
        return 0;
    size_t n = strlen(v->valuestring), used;
    if (n == 0)
        return 0;
    uint32_t cp = kevo_utf8_next((const unsigned char *)v->valuestring, n, &used);
    return used == n ? cp : 0;
}

static kevo_status add_norm_op(kevo_tokenizer *t, const cJSON *n, const char *path,
                               const char *where, kevo_error *err)
{
    const cJSON *type = get(n, "type");
    const char *name = cJSON_IsString(type) ? type->valuestring : "?";
    tok_norm_op op = {0};
    const cJSON *text;
    if (strcmp(name, "Prepend") == 0) {
        op.is_prepend = 1;
        text = get(n, "prepend");
    } else if (strcmp(name, "Replace") == 0) {
        const cJSON *pattern = get(n, "pattern");
        op.from = one_char(get(pattern, "String"));
        text = get(n, "content");
        if (!op.from)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s: Replace supports a one-character "
                             "String pattern only", path, where);
    } else {
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s: normalizer type \"%s\" is not supported "
                         "(Prepend, Replace or a Sequence of them)", path, where, name);
    }
    if (!cJSON_IsString(text))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s: %s needs a string", path, where, name);
    size_t len = strlen(text->valuestring), used;
    op.text = malloc((len + 1) * sizeof *op.text);
    tok_norm_op *ops = realloc(t->norm_ops, (size_t)(t->n_norm_ops + 1) * sizeof *ops);
    if (ops)
        t->norm_ops = ops;
    if (!op.text || !ops) {
        free(op.text);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < len; i += used)
        op.text[op.n_text++] =
            kevo_utf8_next((const unsigned char *)text->valuestring + i, len - i, &used);
    t->norm_ops[t->n_norm_ops++] = op;
    return KEVO_OK;
}

static kevo_status read_normalizer(kevo_tokenizer *t, const cJSON *n, const char *path,
                                   kevo_error *err)
{
    if (!n)
        return KEVO_OK;
    const cJSON *type = get(n, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "Sequence") == 0) {
        const cJSON *list = get(n, "normalizers"), *item;
        if (!cJSON_IsArray(list))
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: normalizer.normalizers must be an array",
                             path);
        int i = 0;
        cJSON_ArrayForEach(item, list) {
            char where[64];
            snprintf(where, sizeof where, "normalizer.normalizers[%d]", i++);
            kevo_status st = add_norm_op(t, item, path, where, err);
            if (st)
                return st;
        }
        return KEVO_OK;
    }
    return add_norm_op(t, n, path, "normalizer", err);
}

static kevo_status read_pre_tokenizer(kevo_tokenizer *t, const cJSON *p, const char *path,
                                      kevo_error *err)
{
    if (!p)
        return KEVO_OK;
    const cJSON *type = get(p, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "Metaspace") != 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: pre_tokenizer type \"%s\" is not supported "
                         "(null or Metaspace)", path,
                         cJSON_IsString(type) ? type->valuestring : "?");
    t->metaspace = 1;
    t->metaspace_char = one_char(get(p, "replacement"));
    if (!t->metaspace_char)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: pre_tokenizer.replacement must be one "
                         "character", path);
    const cJSON *scheme = get(p, "prepend_scheme"), *split = get(p, "split");
    if (cJSON_IsString(scheme)) {
        const char *s = scheme->valuestring;
        t->metaspace_prepend = strcmp(s, "always") == 0  ? TOK_PREPEND_ALWAYS
                               : strcmp(s, "first") == 0 ? TOK_PREPEND_FIRST
                               : strcmp(s, "never") == 0 ? TOK_PREPEND_NEVER : -1;
        if (t->metaspace_prepend < 0)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: pre_tokenizer.prepend_scheme \"%s\" is "
                             "not always, first or never", path, s);
    } else {   // the older form: add_prefix_space, true by default
        const cJSON *aps = get(p, "add_prefix_space");
        t->metaspace_prepend = aps && !cJSON_IsTrue(aps) ? TOK_PREPEND_NEVER : TOK_PREPEND_ALWAYS;
    }
    t->metaspace_split = split ? cJSON_IsTrue(split) : 1;
    return KEVO_OK;
}

// Whether the decoder drops one leading space: Strip (start >= 1) or Metaspace with a prepend.
static int decoder_strips(const cJSON *d)
{
    if (!d)
        return 0;
    const cJSON *type = get(d, "type"), *item;
    const char *name = cJSON_IsString(type) ? type->valuestring : "";
    if (strcmp(name, "Sequence") == 0) {
        int strips = 0;
        cJSON_ArrayForEach(item, get(d, "decoders")) strips |= decoder_strips(item);
        return strips;
    }
    if (strcmp(name, "Strip") == 0) {
        const cJSON *start = get(d, "start");
        return cJSON_IsNumber(start) && start->valuedouble >= 1;
    }
    if (strcmp(name, "Metaspace") == 0) {
        const cJSON *scheme = get(d, "prepend_scheme");
        return cJSON_IsString(scheme) ? strcmp(scheme->valuestring, "never") != 0
                                      : !get(d, "add_prefix_space") ||
                                            is_true(d, "add_prefix_space");
    }
    return 0;
}

static int is_byte_piece(const char *s, size_t n)
{
    const char *hex = "0123456789ABCDEF";
    return n == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' && s[3] && s[4] &&
           strchr(hex, s[3]) && strchr(hex, s[4]);
}

kevo_status tok_hf_read_vocab(kevo_tokenizer *t, const cJSON *vocab, const char *path,
                              kevo_error *err)
{
    if (!cJSON_IsObject(vocab))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model.vocab must be an object", path);
    const cJSON *v;
    int n_entries = cJSON_GetArraySize(vocab);
    cJSON_ArrayForEach(v, vocab) {
        const char *s = v->string;
        size_t n = strlen(s);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= (1 << 29) ||
            v->valuedouble != (int)v->valuedouble)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model.vocab[\"%s\"] is not a token id",
                             path, s);
        // The tables are sized by the highest id: ids far past the number of pieces are refused.
        if (v->valuedouble >= (double)n_entries + TOK_ID_SPAN)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model.vocab[\"%s\"] = %d is far past "
                             "the %d pieces of the vocabulary", path, s, v->valueint, n_entries);
        if (n == 0)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model.vocab has an empty piece", path);
        int id = v->valueint, byte = is_byte_piece(s, n);
        kevo_status st = tok_set_piece(t, id, s, n, byte ? TOK_BYTE : TOK_NORMAL, err);
        if (st)
            return kevo_error_prefix(err, "%s: model.vocab: ", path);
        if (byte)
            t->byte_id[strtol(s + 3, NULL, 16)] = id;
    }
    t->n_vocab = t->n_tokens;
    return KEVO_OK;
}

kevo_status tok_hf_read_added(kevo_tokenizer *t, const cJSON *list, const char *path,
                              kevo_error *err)
{
    if (!list)
        return KEVO_OK;
    if (!cJSON_IsArray(list))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: added_tokens must be an array", path);
    const cJSON *a;
    int i = 0;
    cJSON_ArrayForEach(a, list) {
        char where[KEVO_ERROR_MAX];
        kevo_error_head(where, sizeof where, "%s: added_tokens[%d]", path, i++);
        const cJSON *id = get(a, "id"), *content = get(a, "content");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(content))
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s needs a numeric \"id\" and a string "
                             "\"content\"", where);
        int special = is_true(a, "special");
        // HF: `normalized` defaults to the opposite of `special`.
        const cJSON *normalized = get(a, "normalized");
        int norm = normalized ? cJSON_IsTrue(normalized) : !special;
        kevo_status st = tok_add_token(t, content->valuestring, id->valuedouble, special, norm,
                                       is_true(a, "lstrip") || is_true(a, "rstrip") ||
                                           is_true(a, "single_word"),
                                       where, err);
        if (st)
            return st;
    }
    return KEVO_OK;
}

kevo_status tok_hf_merge_ids(const kevo_tokenizer *t, const cJSON *m, uint32_t rank,
                             const char *path, int *left, int *right, int *merged,
                             kevo_error *err)
{
    const char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (sp && !strchr(sp + 1, ' ')) {
            a = s;
            na = (size_t)(sp - s);
            b = sp + 1;
            nb = strlen(b);
        }
    } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 &&
               cJSON_IsString(cJSON_GetArrayItem(m, 0)) &&
               cJSON_IsString(cJSON_GetArrayItem(m, 1))) {
        a = cJSON_GetArrayItem(m, 0)->valuestring;
        b = cJSON_GetArrayItem(m, 1)->valuestring;
        na = strlen(a);
        nb = strlen(b);
    }
    if (!a || !na || !nb)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model.merges[%u] is not a pair of pieces",
                         path, rank);
    char *ab = malloc(na + nb + 1);
    if (!ab)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    memcpy(ab, a, na);
    memcpy(ab + na, b, nb);
    *left = tok_find(t, a, na), *right = tok_find(t, b, nb), *merged = tok_find(t, ab, na + nb);
    kevo_status st = KEVO_OK;
    if (*left < 0 || *right < 0 || *merged < 0)
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: model.merges[%u]: '%.*s' is not in the vocab",
                       path, rank, *left < 0 ? (int)na : *right < 0 ? (int)nb : (int)(na + nb),
                       *left < 0 ? a : *right < 0 ? b : ab);
    free(ab);
    return st;
}

// One merge of the LLaMA layout.
static kevo_status read_merge(kevo_tokenizer *t, const cJSON *m, uint32_t rank,
                              const char *path, kevo_error *err)
{
    int left, right, merged;
    kevo_status st = tok_hf_merge_ids(t, m, rank, path, &left, &right, &merged, err);
    if (st)
        return st;
    if (t->kind[left] == TOK_BYTE || t->kind[right] == TOK_BYTE)
        t->split_words = 0;   // byte symbols merge: text characters no longer bound the words
    return tok_add_merge(t, left, right, merged, rank, err);
}

static kevo_status read_model(kevo_tokenizer *t, const cJSON *model, const char *path,
                              kevo_error *err)
{
    const cJSON *type = get(model, "type"), *merges = get(model, "merges"), *m;
    if (!cJSON_IsObject(model) || (type && (!cJSON_IsString(type) ||
                                            strcmp(type->valuestring, "BPE") != 0)) ||
        !cJSON_IsArray(merges))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model must be a BPE model with \"vocab\" and "
                         "\"merges\" (found type \"%s\")", path,
                         cJSON_IsString(type) ? type->valuestring : "?");
    const cJSON *dropout = get(model, "dropout"), *prefix = get(model, "continuing_subword_prefix"),
                *suffix = get(model, "end_of_word_suffix");
    if ((dropout && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0)) ||
        (cJSON_IsString(prefix) && *prefix->valuestring) ||
        (cJSON_IsString(suffix) && *suffix->valuestring) || is_true(model, "ignore_merges"))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model uses dropout, a subword prefix or "
                         "suffix, or ignore_merges, which kevo does not support", path);
    kevo_status st = tok_hf_read_vocab(t, get(model, "vocab"), path, err);
    if (st || (st = tok_index(t, err)))
        return st;
    t->byte_fallback = is_true(model, "byte_fallback");
    t->fuse_unk = is_true(model, "fuse_unk");
    const cJSON *unk = get(model, "unk_token");
    t->unk_id = cJSON_IsString(unk) ? tok_find(t, unk->valuestring, strlen(unk->valuestring)) : -1;
    if (t->unk_id < 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model.unk_token is missing or not in the "
                         "vocab", path);
    t->kind[t->unk_id] = TOK_UNKNOWN;
    // Initial symbols: every piece of one character.
    for (int id = 0; id < t->n_tokens; id++)
        if (t->kind[id] != TOK_HOLE && !tok_char_piece(t, id))
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    t->split_words = 1;
    uint32_t rank = 0;
    cJSON_ArrayForEach(m, merges) {
        if ((st = read_merge(t, m, rank++, path, err)))
            return st;
    }
    return KEVO_OK;
}

kevo_status tok_load_hf(kevo_tokenizer *t, const char *path, kevo_error *err)
{
    cJSON *root;
    kevo_status st = kevo_json_load(path, JSON_MAX_BYTES, &root, err);
    if (st)
        return st;
    if (!cJSON_IsObject(root))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: not a JSON object", path);
    else if (tok_is_bytelevel(root)) {   // the Qwen layout: bytelevel.c reads all of it
        st = tok_load_bytelevel(t, root, path, err);
        cJSON_Delete(root);
        return st;
    }
    if (!st)
        st = read_model(t, get(root, "model"), path, err);
    if (!st)
        st = tok_hf_read_added(t, get(root, "added_tokens"), path, err);
    if (!st)
        st = read_normalizer(t, get(root, "normalizer"), path, err);
    if (!st)
        st = read_pre_tokenizer(t, get(root, "pre_tokenizer"), path, err);
    if (!st) {
        t->strip_first_space = decoder_strips(get(root, "decoder"));
        t->unk_surface = strdup(" \xE2\x81\x87 ");
        if (!t->unk_surface)
            st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    cJSON_Delete(root);
    return st;
}
