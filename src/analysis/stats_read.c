// stats_read.c — one run folder as `kevo stats` reads it (stats.h): run.json for the model's
// identity, analysis/stages.json for the layers, the tokens and the profile, item.json for the
// references. Nothing else is opened (hidden.safetensors may be absent: a `--no-hidden` batch).
// These files may come from anywhere (a cluster's shared folder, a colleague's archive), so
// every key is checked for its type and range, and a message names the file and the key.
#include "analysis/stats.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "io/json.h"

// run.json and stages.json of a 256-token run are a few hundred KB; this bounds a hostile one.
#define STATS_JSON_MAX (64u << 20)
#define LAYERS_MAX 4096

void stats_run_free(stats_run *r)
{
    if (!r)
        return;
    free(r->dir);
    free(r->model_path);
    free(r->profile);
    for (int t = 0; r->tokens && t < r->n_tokens; t++) {
        free(r->tokens[t].piece);
        free(r->tokens[t].from);
        free(r->tokens[t].to);
    }
    free(r->tokens);
    free(r->id);
    for (int i = 0; i < r->n_refs; i++)
        free(r->refs[i]);
    free(r->refs);
    memset(r, 0, sizeof *r);
}

static kevo_status nomem(kevo_error *err, const char *name)
{
    return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", name);
}

static kevo_status bad_key(kevo_error *err, const char *where, const char *key, const char *what)
{
    char k[KEVO_ERROR_MAX];
    return kevo_fail(err, KEVO_ERR_FORMAT, "%s %s", kevo_json_key(k, sizeof k, where, key), what);
}

static kevo_status parse_object(const char *text, size_t len, const char *name, cJSON **root,
                                kevo_error *err)
{
    kevo_status st = kevo_json_parse(text, len, name, root, err);
    if (st == KEVO_OK && !cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: must hold a JSON object", name);
    }
    return st;
}

// A string copied into buf (size bytes, a hex digest or a short name); "" when absent.
static kevo_status str_into(const cJSON *obj, const char *key, char *buf, size_t size,
                            const char *where, kevo_error *err)
{
    const char *s;
    kevo_status st = kevo_json_str(obj, key, 1, "", &s, where, err);
    if (st == KEVO_OK && strlen(s) >= size)
        return bad_key(err, where, key, "is too long");
    if (st == KEVO_OK)
        snprintf(buf, size, "%s", s);
    return st;
}

static kevo_status dup_str(const char *s, char **out, const char *name, kevo_error *err)
{
    *out = strdup(s);
    return *out ? KEVO_OK : nomem(err, name);
}

// obj[key]: an integer in lo..hi, or null / absent (-1) when nullable.
static kevo_status layer(const cJSON *obj, const char *key, int lo, int hi, int nullable,
                         int *out, const char *where, kevo_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = -1;
    if ((!v || cJSON_IsNull(v)) && nullable)
        return KEVO_OK;
    long long x;
    kevo_status st = kevo_json_int(obj, key, 0, 0, &x, where, err);
    if (st != KEVO_OK)
        return err ? (err->status = KEVO_ERR_FORMAT) : KEVO_ERR_FORMAT;
    if (x < lo || x > hi) {
        char what[96];
        snprintf(what, sizeof what, "must be an integer in %d..%d%s (it is %lld)", lo, hi,
                 nullable ? " or null" : "", x);
        return bad_key(err, where, key, what);
    }
    *out = (int)x;
    return KEVO_OK;
}

// The JSON readers' messages are KEVO_ERR_CONFIG; here every malformed file is a format error.
static kevo_status as_format(kevo_status st, kevo_error *err)
{
    if (st != KEVO_OK && st != KEVO_ERR_NOMEM && err)
        err->status = KEVO_ERR_FORMAT;
    return st == KEVO_OK || st == KEVO_ERR_NOMEM ? st : KEVO_ERR_FORMAT;
}

static kevo_status check_format(const cJSON *root, const char *want, const char *name,
                                kevo_error *err)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, want))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: format must be \"%s\"", name, want);
    return KEVO_OK;
}

kevo_status stats_parse_run_json(const char *text, size_t len, const char *name, stats_run *r,
                                 kevo_error *err)
{
    cJSON *root = NULL;
    kevo_status st = parse_object(text, len, name, &root, err);
    if (st == KEVO_OK)
        st = check_format(root, "kevo-run", name, err);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    char where[KEVO_PATH_MAX + 16];
    snprintf(where, sizeof where, "%s: model", name);
    if (st == KEVO_OK && !cJSON_IsObject(m))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: model must be an object", name);
    const char *path = "";
    if (st == KEVO_OK)
        st = kevo_json_str(m, "path", 1, "", &path, where, err);
    if (st == KEVO_OK)
        st = dup_str(path, &r->model_path, name, err);
    if (st == KEVO_OK)
        st = str_into(m, "config_fnv1a64", r->config, sizeof r->config, where, err);
    if (st == KEVO_OK)
        st = str_into(m, "weights_sha256", r->weights, sizeof r->weights, where, err);
    if (st == KEVO_OK)
        st = str_into(m, "files_sha256", r->files, sizeof r->files, where, err);
    if (st == KEVO_OK)
        st = layer(m, "text_layers", 1, LAYERS_MAX, 0, &r->layers, where, err);
    if (st == KEVO_OK)
        st = layer(m, "vocab_rows", 1, 1 << 30, 0, &r->vocab, where, err);
    cJSON_Delete(root);
    return as_format(st, err);
}

static kevo_status read_options(const cJSON *root, const char *name, stats_run *r,
                                kevo_error *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "options");
    char where[KEVO_PATH_MAX + 16];
    snprintf(where, sizeof where, "%s: options", name);
    if (!cJSON_IsObject(o))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: options must be an object", name);
    kevo_status st = str_into(o, "lens", r->lens, sizeof r->lens, where, err);
    if (st == KEVO_OK)
        st = str_into(o, "divergence", r->divergence, sizeof r->divergence, where, err);
    if (st == KEVO_OK)
        st = str_into(o, "compute", r->compute, sizeof r->compute, where, err);
    if (st == KEVO_OK)
        st = kevo_json_num(o, "theta", 0, 0, &r->theta, where, err);
    if (st == KEVO_OK)
        st = kevo_json_num(o, "min_drop_decades", 0, 0, &r->min_drop, where, err);
    if (st == KEVO_OK)
        st = kevo_json_num(o, "kappa", 0, 0, &r->kappa, where, err);
    if (st == KEVO_OK)
        st = kevo_json_num(o, "min_mutated", 0, 0, &r->min_mutated, where, err);
    if (st == KEVO_OK)
        st = layer(o, "stage_window", 1, LAYERS_MAX, 0, &r->stage_window, where, err);
    return st;
}

// A stage layer and whether it was given (critical_source / mutation_source "given").
static kevo_status read_layer(const cJSON *root, const char *key, const char *source, int lo,
                              const char *name, const stats_run *r, int *out, int *given,
                              kevo_error *err)
{
    char where[KEVO_PATH_MAX + 4];
    snprintf(where, sizeof where, "%s:", name);
    kevo_status st = layer(root, key, lo, r->layers, 1, out, where, err);
    const char *src = "";
    if (st == KEVO_OK)
        st = kevo_json_str(root, source, 1, "", &src, where, err);
    *given = st == KEVO_OK && !strcmp(src, "given") ? *out : -1;
    return st;
}

static kevo_status read_profile(const cJSON *root, const char *name, stats_run *r,
                                kevo_error *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "divergence_profile_log10");
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != r->layers)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: divergence_profile_log10 must be an array "
                         "of %d numbers (one per transition of the run's %d layers)", name,
                         r->layers, r->layers);
    if (!(r->profile = malloc((size_t)r->layers * sizeof *r->profile)))
        return nomem(err, name);
    int i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: divergence_profile_log10[%d] must be a "
                             "finite number", name, i);
        r->profile[i] = v->valuedouble;
    }
    return KEVO_OK;
}

static kevo_status read_token(const cJSON *j, int t, const char *name, stats_run *r,
                              kevo_error *err)
{
    char where[KEVO_PATH_MAX + 32];
    snprintf(where, sizeof where, "%s: tokens[%d]", name, t);
    stats_token *k = &r->tokens[t];
    k->critical = k->mutation = -1;
    if (!cJSON_IsObject(j))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s must be an object", where);
    const char *piece, *from, *to;
    kevo_status st = kevo_json_str(j, "piece", 0, NULL, &piece, where, err);
    if (st == KEVO_OK)
        st = dup_str(piece, &k->piece, name, err);
    if (st == KEVO_OK)
        st = layer(j, "critical", 0, r->layers, 1, &k->critical, where, err);
    if (st == KEVO_OK)
        st = layer(j, "mutation", 1, r->layers, 1, &k->mutation, where, err);
    // a mutation names what it replaced; other tokens may name their peak too
    int need = k->mutation >= 0 ? 0 : 1;
    if (st == KEVO_OK)
        st = kevo_json_str(j, "peak_from_piece", need, NULL, &from, where, err);
    if (st == KEVO_OK)
        st = kevo_json_str(j, "peak_to_piece", need, NULL, &to, where, err);
    if (st == KEVO_OK && from)
        st = dup_str(from, &k->from, name, err);
    if (st == KEVO_OK && to)
        st = dup_str(to, &k->to, name, err);
    return st;
}

kevo_status stats_parse_stages(const char *text, size_t len, const char *name, stats_run *r,
                               kevo_error *err)
{
    cJSON *root = NULL;
    kevo_status st = parse_object(text, len, name, &root, err);
    char where[KEVO_PATH_MAX + 4];
    snprintf(where, sizeof where, "%s:", name);
    if (st == KEVO_OK)
        st = check_format(root, "kevo-stages", name, err);
    int L = -1;
    if (st == KEVO_OK)
        st = layer(root, "layers", 1, LAYERS_MAX, 0, &L, where, err);
    if (st == KEVO_OK && L != r->layers)
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: layers is %d but run.json's model.text_layers "
                       "is %d: the analysis is not of this run", name, L, r->layers);
    if (st == KEVO_OK)
        st = read_options(root, name, r, err);
    if (st == KEVO_OK)
        st = read_layer(root, "critical_layer", "critical_source", 1, name, r, &r->critical,
                        &r->critical_given, err);
    if (st == KEVO_OK)
        st = read_layer(root, "mutation_layer", "mutation_source", 1, name, r, &r->mutation,
                        &r->mutation_given, err);
    if (st == KEVO_OK)
        st = read_profile(root, name, r, err);
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(root, "tokens");
    if (st == KEVO_OK && (!cJSON_IsArray(toks) || cJSON_GetArraySize(toks) < 1))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: tokens must be a non-empty array", name);
    long long steps = 0;
    if (st == KEVO_OK)
        st = kevo_json_int(root, "steps", 0, 0, &steps, where, err);
    if (st == KEVO_OK && steps != cJSON_GetArraySize(toks))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: steps is %lld but tokens holds %d", name, steps,
                       cJSON_GetArraySize(toks));
    if (st == KEVO_OK) {
        r->n_tokens = cJSON_GetArraySize(toks);
        if (!(r->tokens = calloc((size_t)r->n_tokens, sizeof *r->tokens)))
            st = nomem(err, name);
    }
    int t = 0;
    for (const cJSON *j = st == KEVO_OK ? toks->child : NULL; j && st == KEVO_OK; j = j->next)
        st = read_token(j, t++, name, r, err);
    cJSON_Delete(root);
    return as_format(st, err);
}

kevo_status stats_parse_item(const char *text, size_t len, const char *name, stats_run *r,
                             kevo_error *err)
{
    cJSON *root = NULL;
    kevo_status st = parse_object(text, len, name, &root, err);
    char where[KEVO_PATH_MAX + 4];
    snprintf(where, sizeof where, "%s:", name);
    const char *id = NULL;
    if (st == KEVO_OK)
        st = kevo_json_str(root, "id", 1, NULL, &id, where, err);
    if (st == KEVO_OK && id && !id[0])
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: id must not be empty", name);
    if (st == KEVO_OK && id) {
        free(r->id);
        st = dup_str(id, &r->id, name, err);
    }
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(root, "references");
    if (st == KEVO_OK && refs && !cJSON_IsNull(refs) && !cJSON_IsArray(refs))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: references must be an array of strings", name);
    int i = 0;
    for (const cJSON *v = st == KEVO_OK && refs ? refs->child : NULL; v && st == KEVO_OK;
         v = v->next, i++) {
        if (!cJSON_IsString(v))
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: references[%d] must be a string", name, i);
        else
            st = stats_add_reference(r, v->valuestring, err);
        r->has_refs = 1;
    }
    r->has_item = st == KEVO_OK;
    cJSON_Delete(root);
    return as_format(st, err);
}

// Reads DIR/rel into a buffer and hands it to parse.
static kevo_status read_one(const char *dir, const char *rel, stats_run *r,
                            kevo_status (*parse)(const char *, size_t, const char *, stats_run *,
                                                 kevo_error *),
                            kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    kevo_status st = kevo_path_join(path, sizeof path, dir, rel, err);
    if (st == KEVO_OK)
        st = kevo_read_file(path, STATS_JSON_MAX, &text, &len, err);
    if (st == KEVO_OK)
        st = parse(text, len, path, r, err);
    free(text);
    return st;
}

kevo_status stats_run_read(const char *dir, stats_run *r, kevo_error *err)
{
    memset(r, 0, sizeof *r);
    r->critical = r->mutation = r->critical_given = r->mutation_given = -1;
    kevo_status st = dup_str(dir, &r->dir, dir, err);
    if (st == KEVO_OK)
        st = dup_str(kevo_path_base(dir), &r->id, dir, err);
    if (st == KEVO_OK)
        st = read_one(dir, "run.json", r, stats_parse_run_json, err);
    if (st == KEVO_OK)
        st = read_one(dir, "analysis/stages.json", r, stats_parse_stages, err);
    char path[KEVO_PATH_MAX];
    if (st == KEVO_OK)
        st = kevo_path_join(path, sizeof path, dir, "item.json", err);
    if (st == KEVO_OK && kevo_file_exists(path))
        st = read_one(dir, "item.json", r, stats_parse_item, err);
    if (st != KEVO_OK)
        stats_run_free(r);
    return st;
}
