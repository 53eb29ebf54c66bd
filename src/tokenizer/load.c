// load.c — a tokenizer folder: which file to read, the added and special tokens of
// tokenizer_config.json, special_tokens_map.json and added_tokens.json, and the accessors.
//
// The choice between the two vocabulary files is the llava-hf processor's: AutoTokenizer loads
// the fast tokenizer, and a fast tokenizer is built from tokenizer.json when the folder has one
// (transformers tokenization_utils_fast.py), so tokenizer.json wins. With only tokenizer.model,
// kevo follows the slow LlamaTokenizer (models/llama/tokenization_llama.py), the tokenizer of
// the original LLaVA: special tokens <unk>, <s>, </s> by default, `legacy` true unless
// tokenizer_config.json says otherwise, add_bos_token true, add_eos_token false.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/fs.h"
#include "io/json.h"
#include "tokenizer/bytelevel.h"
#include "tokenizer/internal.h"

#define CONFIG_MAX_BYTES (64u << 20)

enum { NAME_BOS, NAME_EOS, NAME_UNK, NAME_PAD, N_NAMES };
static const char *const name_keys[N_NAMES] = {"bos_token", "eos_token", "unk_token",
                                               "pad_token"};

// Special tokens named by the configuration files (resolved to ids once all pieces exist).
typedef struct names {
    char *token[N_NAMES];
    char **extra;            // additional_special_tokens
    int n_extra;
    char where[N_NAMES][KEVO_ERROR_MAX];   // "path: key" of each, the head of its messages
} names;

static void names_free(names *n)
{
    for (int i = 0; i < N_NAMES; i++)
        free(n->token[i]);
    for (int i = 0; i < n->n_extra; i++)
        free(n->extra[i]);
    free(n->extra);
}

// Present at all: a FIFO or directory under a tokenizer file's name is then refused by its
// loader (kevo_read_file), not skipped.
static int present(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

kevo_status tok_add_token(kevo_tokenizer *t, const char *content, double id_value, int special,
                          int normalized, int stripping, const char *where, kevo_error *err)
{
    if (!(id_value >= 0 && id_value < (1 << 29)) || id_value != (int)id_value)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %g is not a token id", where, id_value);
    int id = (int)id_value;
    if (id >= t->n_vocab + TOK_ID_SPAN)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: id %d is far past the vocabulary of %d "
                         "pieces (added tokens may take the next %d ids)", where, id, t->n_vocab,
                         TOK_ID_SPAN);
    size_t n = strlen(content);
    if (n == 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: added token %d is empty", where, id);
    if (normalized)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: added token '%s' (id %d) is normalized; kevo "
                         "matches added tokens in the raw text only", where, content, id);
    if (stripping)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: added token '%s' (id %d) uses lstrip, rstrip "
                         "or single_word, which kevo does not support", where, content, id);
    if (id < t->n_tokens && t->kind[id] != TOK_HOLE) {
        const char *piece = t->arena + t->off[id];
        if (t->len[id] != n || memcmp(piece, content, n) != 0)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: added token '%s' has id %d, which is "
                             "the piece '%s': the tokenizer files disagree", where, content, id,
                             piece);
        if (special && (t->kind[id] == TOK_NORMAL || t->kind[id] == TOK_ADDED))
            t->kind[id] = TOK_CONTROL;
    } else {
        kevo_status st = tok_set_piece(t, id, content, n, special ? TOK_CONTROL : TOK_ADDED, err);
        if (st)
            return kevo_error_prefix(err, "%s: ", where);
    }
    // Found by a map and grown geometrically: 65000 added tokens took 4 s scanning the list.
    uint64_t k;
    if (tok_map_get(&t->added_at, (uint64_t)id, &k)) {
        t->added[k].special |= special;
        return KEVO_OK;
    }
    if (t->n_added == t->cap_added) {
        int cap = t->cap_added ? 2 * t->cap_added : 16;
        tok_added *a = realloc(t->added, (size_t)cap * sizeof *a);
        if (!a)
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", where);
        t->added = a;
        t->cap_added = cap;
    }
    if (!tok_map_put(&t->added_at, (uint64_t)id, (uint64_t)t->n_added))
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", where);
    t->added[t->n_added++] = (tok_added){NULL, 0, id, special};
    return KEVO_OK;
}

// A token named by a string or by {"content": string}; NULL when absent or null.
static const char *token_content(const cJSON *v)
{
    if (cJSON_IsObject(v))
        v = cJSON_GetObjectItemCaseSensitive(v, "content");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static kevo_status read_names(const cJSON *root, const char *path, names *nm, kevo_error *err)
{
    for (int i = 0; i < N_NAMES; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name_keys[i]);
        const char *s = token_content(v);
        if (v && !cJSON_IsNull(v) && !s)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s must be a string or an object with "
                             "\"content\"", path, name_keys[i]);
        if (!s)
            continue;
        free(nm->token[i]);
        if (!(nm->token[i] = strdup(s)))
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
        kevo_error_head(nm->where[i], sizeof nm->where[i], "%s: %s", path, name_keys[i]);
    }
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(root, "additional_special_tokens"), *v;
    if (!cJSON_IsArray(extra))
        extra = NULL;
    cJSON_ArrayForEach(v, extra) {
        const char *s = token_content(v);
        char **list = realloc(nm->extra, (size_t)(nm->n_extra + 1) * sizeof *list);
        if (!s)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: additional_special_tokens holds a "
                             "value that is not a token", path);
        if (!list)
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
        nm->extra = list;
        if (!(nm->extra[nm->n_extra] = strdup(s)))
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
        nm->n_extra++;
    }
    return KEVO_OK;
}

static kevo_status read_tokenizer_config(kevo_tokenizer *t, const char *path, names *nm,
                                         kevo_error *err)
{
    cJSON *root;
    kevo_status st = kevo_json_load(path, CONFIG_MAX_BYTES, &root, err);
    if (st)
        return st;
    char where[KEVO_ERROR_MAX];
    kevo_error_head(where, sizeof where, "%s:", path);
    if (!cJSON_IsObject(root))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: not a JSON object", path);
    if (!st)
        st = kevo_json_bool(root, "legacy", 1, 1, &t->legacy, where, err);
    if (!st)
        st = kevo_json_bool(root, "add_bos_token", 1, t->add_bos, &t->add_bos, where, err);
    if (!st)
        st = kevo_json_bool(root, "add_eos_token", 1, 0, &t->add_eos, where, err);
    if (!st)
        st = read_names(root, path, nm, err);
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(root, "added_tokens_decoder"), *a;
    if (st || !cJSON_IsObject(dec))
        dec = NULL;
    cJSON_ArrayForEach(a, dec) {
        char at[KEVO_ERROR_MAX], *end;
        kevo_error_head(at, sizeof at, "%s: added_tokens_decoder[\"%s\"]", path, a->string);
        long id = strtol(a->string, &end, 10);
        const char *content = token_content(a);
        if (*end || end == a->string || !content) {
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: needs a numeric key and a \"content\"", at);
            break;
        }
        const cJSON *normalized = cJSON_GetObjectItemCaseSensitive(a, "normalized");
        int special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "special"));
        // A slow tokenizer matches every added token in the raw text; a fast one normalises
        // those marked normalized (which default to the opposite of special).
        int norm = t->mode == TOK_MODE_HF &&
                   (normalized ? cJSON_IsTrue(normalized) : !special);
        int strip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "lstrip")) ||
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "rstrip")) ||
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "single_word"));
        if ((st = tok_add_token(t, content, (double)id, special, norm, strip, at, err)))
            break;
    }
    cJSON_Delete(root);
    return st;
}

static kevo_status read_special_map(const char *path, names *nm, kevo_error *err)
{
    cJSON *root;
    kevo_status st = kevo_json_load(path, CONFIG_MAX_BYTES, &root, err);
    if (st)
        return st;
    st = cJSON_IsObject(root) ? read_names(root, path, nm, err)
                              : kevo_fail(err, KEVO_ERR_FORMAT, "%s: not a JSON object", path);
    cJSON_Delete(root);
    return st;
}

static kevo_status read_added_tokens(kevo_tokenizer *t, const char *path, kevo_error *err)
{
    cJSON *root;
    kevo_status st = kevo_json_load(path, CONFIG_MAX_BYTES, &root, err);
    if (st)
        return st;
    if (!cJSON_IsObject(root))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: not a JSON object", path);
    const cJSON *a, *list = st ? NULL : root;
    cJSON_ArrayForEach(a, list) {
        char at[KEVO_ERROR_MAX];
        kevo_error_head(at, sizeof at, "%s: \"%s\"", path, a->string);
        if (!cJSON_IsNumber(a)) {
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: the id must be a number", at);
            break;
        }
        if ((st = tok_add_token(t, a->string, a->valuedouble, 0, 0, 0, at, err)))
            break;
    }
    cJSON_Delete(root);
    return st;
}

// Gives the named special tokens their ids; a token a file names must exist.
static kevo_status resolve_names(kevo_tokenizer *t, const names *nm, kevo_error *err)
{
    static const char *const defaults[N_NAMES] = {"<s>", "</s>", "<unk>", NULL};
    int ids[N_NAMES];
    for (int i = 0; i < N_NAMES; i++) {
        // The defaults are LlamaTokenizer's; a byte-level vocabulary may hold "<s>" as a plain
        // piece (Qwen's 128245), which must stay one.
        const char *s = nm->token[i] ? nm->token[i] : t->bl ? NULL : defaults[i];
        ids[i] = s ? tok_find(t, s, strlen(s)) : -1;
        if (ids[i] < 0 && nm->token[i])
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: '%s' is neither a piece nor an added "
                             "token", nm->where[i], s);
        if (ids[i] >= 0) {
            kevo_status st = tok_add_token(t, s, ids[i], 1, 0, 0, "special tokens", err);
            if (st)
                return st;
        }
    }
    for (int i = 0; i < nm->n_extra; i++) {
        int id = tok_find(t, nm->extra[i], strlen(nm->extra[i]));
        if (id < 0)
            return kevo_fail(err, KEVO_ERR_FORMAT, "additional special token '%s' is neither a "
                             "piece nor an added token", nm->extra[i]);
        kevo_status st = tok_add_token(t, nm->extra[i], id, 1, 0, 0, "special tokens", err);
        if (st)
            return st;
    }
    t->bos_id = ids[NAME_BOS];
    t->eos_id = ids[NAME_EOS];
    if (t->mode == TOK_MODE_HF && ids[NAME_UNK] >= 0 && t->kind[ids[NAME_UNK]] == TOK_CONTROL)
        t->kind[ids[NAME_UNK]] = TOK_UNKNOWN;
    return KEVO_OK;
}

// The configuration files of the folder, each optional.
static kevo_status read_configs(kevo_tokenizer *t, const char *dir, kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    names nm = {0};
    kevo_status st = KEVO_OK;
    static const char *const files[] = {"special_tokens_map.json", "tokenizer_config.json",
                                        "added_tokens.json"};
    for (int i = 0; i < 3 && !st; i++) {
        if ((st = kevo_path_join(path, sizeof path, dir, files[i], err)) || !present(path))
            continue;
        st = i == 0 ? read_special_map(path, &nm, err)
             : i == 1 ? read_tokenizer_config(t, path, &nm, err)
                      : read_added_tokens(t, path, err);
    }
    if (!st)
        st = tok_index(t, err);
    if (!st)
        st = resolve_names(t, &nm, err);
    names_free(&nm);
    return st;
}

// The number of tokens "<unk>" gives without a dummy prefix: LlamaTokenizer (legacy=False)
// drops that many from a segment it encodes behind "<unk>" (its unk_token_length).
static kevo_status unk_prefix_length(kevo_tokenizer *t, kevo_error *err)
{
    int legacy = t->legacy, dummy = t->add_dummy_prefix, n_added = t->n_added, *ids, n;
    t->legacy = 1;
    t->add_dummy_prefix = 0;
    t->n_added = 0;
    kevo_status st = kevo_tokenizer_encode(t, t->arena + t->off[t->unk_id], t->len[t->unk_id], 0,
                                           &ids, &n, err);
    t->legacy = legacy;
    t->add_dummy_prefix = dummy;
    t->n_added = n_added;
    if (st)
        return st;
    free(ids);
    t->unk_prefix_len = n;
    return KEVO_OK;
}

kevo_tokenizer *tok_new(tok_mode mode, const char *path)
{
    kevo_tokenizer *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return NULL;
    }
    t->unk_id = t->bos_id = t->eos_id = -1;
    memset(t->byte_id, 0xff, sizeof t->byte_id);
    memset(t->ascii, 0xff, sizeof t->ascii);
    t->legacy = t->add_bos = 1;
    t->mode = mode;
    return t;
}

kevo_status tok_seal(kevo_tokenizer *t, kevo_error *err)
{
    for (int k = 0; k < t->n_added; k++) {   // the arena no longer moves
        t->added[k].content = t->arena + t->off[t->added[k].id];
        t->added[k].len = t->len[t->added[k].id];
    }
    return t->mode == TOK_MODE_SPM && !t->legacy ? unk_prefix_length(t, err) : KEVO_OK;
}

kevo_status kevo_tokenizer_load(const char *dir, kevo_tokenizer **out, kevo_error *err)
{
    *out = NULL;
    if (!kevo_dir_exists(dir))
        return kevo_fail(err, KEVO_ERR_IO, "%s: not a directory", dir);
    char json[KEVO_PATH_MAX], model[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(json, sizeof json, dir, "tokenizer.json", err);
    if (st || (st = kevo_path_join(model, sizeof model, dir, "tokenizer.model", err)))
        return st;
    int has_json = present(json), has_model = present(model);
    if (!has_json && !has_model)
        return kevo_fail(err, KEVO_ERR_IO, "%s: no tokenizer.json or tokenizer.model", dir);

    kevo_tokenizer *t = tok_new(has_json ? TOK_MODE_HF : TOK_MODE_SPM, has_json ? json : model);
    if (!t)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", dir);
    st = has_json ? tok_load_hf(t, json, err) : tok_load_spm(t, model, err);
    if (!st)
        st = read_configs(t, dir, err);
    if (!st)
        st = tok_seal(t, err);
    if (st) {
        kevo_tokenizer_free(t);
        return st;
    }
    *out = t;
    return KEVO_OK;
}

void kevo_tokenizer_free(kevo_tokenizer *t)
{
    if (!t)
        return;
    free(t->path);
    free(t->arena);
    free(t->off);
    free(t->len);
    free(t->kind);
    free(t->score);
    free(t->slots);
    tok_map_free(&t->merges);
    tok_map_free(&t->chars);
    tok_map_free(&t->joins);
    free(t->virtual_cp);
    for (int k = 0; k < t->n_norm_ops; k++)
        free(t->norm_ops[k].text);
    free(t->norm_ops);
    free(t->added);
    tok_map_free(&t->added_at);
    free(t->unk_surface);
    tok_bytelevel_free(t->bl);
    free(t);
}

int kevo_tokenizer_n_tokens(const kevo_tokenizer *t)
{
    return t->n_tokens;
}

int kevo_tokenizer_bos(const kevo_tokenizer *t)
{
    return t->bos_id;
}

int kevo_tokenizer_eos(const kevo_tokenizer *t)
{
    return t->eos_id;
}

int kevo_tokenizer_adds_bos(const kevo_tokenizer *t)
{
    return t->add_bos;
}

int kevo_tokenizer_adds_eos(const kevo_tokenizer *t)
{
    return t->add_eos;
}

const char *kevo_tokenizer_path(const kevo_tokenizer *t)
{
    return t->path;
}

int kevo_tokenizer_added_id(const kevo_tokenizer *t, const char *content)
{
    size_t n = strlen(content);
    for (int k = 0; k < t->n_added; k++)
        if (t->added[k].len == n && memcmp(t->added[k].content, content, n) == 0)
            return t->added[k].id;
    return -1;
}
