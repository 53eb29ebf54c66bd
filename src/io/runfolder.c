// runfolder.c — writing and reading run folders (docs/run-folder.md).
#include "io/runfolder.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/outdir.h"
#include "io/outputs.h"
#include "io/gguf.h"
#include "io/json.h"
#include "io/safetensors.h"

#define RUN_JSON "run.json"
#define HIDDEN_FILE "hidden.safetensors"
#define RUN_JSON_MAX (64u << 20)

static const char *stop_name(kevo_stop s)
{
    return s == KEVO_STOP_EOS ? "eos" : s == KEVO_STOP_MAX_NEW ? "max_new_tokens"
                                                               : "max_position_embeddings";
}

// The record's identity, read from the model folder and the image file where it does not carry
// it. Only config.json must be readable (as before format_version 2); a digest that cannot be
// read is left out of run.json, and kevo_runfolder_differs then never trusts the folder.
static kevo_status record_identity(const kevo_run_record *r, kevo_model_identity *id,
                                   char image_sha256[65], kevo_error *err)
{
    memset(id, 0, sizeof *id);
    image_sha256[0] = '\0';
    kevo_model_source src = {.path = r->model_dir, .mmproj = r->mmproj};
    if (r->model_identity)
        *id = *r->model_identity;
    else if (kevo_model_identity_read_source(&src, id, NULL) != KEVO_OK) {
        id->weights_sha256[0] = id->files_sha256[0] = '\0';
        kevo_status st = kevo_config_digest(&src, id->config_fnv1a64, err);
        if (st != KEVO_OK)
            return st;
    }
    if (r->image_sha256)
        snprintf(image_sha256, 65, "%s", r->image_sha256);
    else if (kevo_file_sha256(r->image_path, image_sha256, NULL) != KEVO_OK)
        image_sha256[0] = '\0';
    return KEVO_OK;
}

static void add_digest(cJSON *obj, const char *key, const char *hex)
{
    if (hex[0])
        cJSON_AddStringToObject(obj, key, hex);
}

// The states hidden.safetensors holds: every index (K = L+1, indices NULL) before pruning or
// when all are kept, else the record's list.
typedef struct kept_states {
    const int *indices;   // NULL: 0..L
    int k;
    int file;             // hidden.safetensors exists
} kept_states;

static cJSON *record_json(const kevo_run_record *r, const kevo_model_identity *id,
                          const char *image_sha256, const kept_states *ks)
{
    const kevo_config *c = r->config;
    cJSON *root = cJSON_CreateObject(), *o;
    cJSON_AddStringToObject(root, "format", KEVO_RUN_FORMAT);
    cJSON_AddStringToObject(root, "kevo_version", KEVO_VERSION);
    cJSON_AddNumberToObject(root, "format_version", KEVO_RUN_FORMAT_VERSION);
    o = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(o, "path", r->model_dir);
    if (r->mmproj)
        cJSON_AddStringToObject(o, "mmproj", r->mmproj);
    cJSON_AddStringToObject(o, "config_fnv1a64", id->config_fnv1a64);
    add_digest(o, "weights_sha256", id->weights_sha256);
    add_digest(o, "files_sha256", id->files_sha256);
    cJSON_AddNumberToObject(o, "text_layers", c->text_layers);
    cJSON_AddNumberToObject(o, "text_hidden", c->text_hidden);
    cJSON_AddNumberToObject(o, "vocab_rows", c->text_vocab);
    cJSON_AddNumberToObject(o, "image_tokens", r->image_tokens);
    cJSON_AddStringToObject(o, "weights_dtype", r->weights_dtype);
    o = cJSON_AddObjectToObject(root, "image");
    cJSON_AddStringToObject(o, "path", r->image_path);
    cJSON_AddNumberToObject(o, "width", r->image_width);
    cJSON_AddNumberToObject(o, "height", r->image_height);
    cJSON_AddStringToObject(o, "mode", r->image_mode);
    add_digest(o, "sha256", image_sha256);
    cJSON_AddStringToObject(root, "question", r->question);
    cJSON_AddStringToObject(root, "template", r->template_name);
    cJSON_AddStringToObject(root, "prompt", r->prompt);
    cJSON_AddItemToObject(root, "prompt_ids", cJSON_CreateIntArray(r->prompt_ids,
                                                                   r->n_prompt_ids));
    cJSON_AddNumberToObject(root, "image_position", r->image_position);
    cJSON_AddNumberToObject(root, "n_positions", r->n_positions);
    cJSON_AddItemToObject(root, "generated_ids", cJSON_CreateIntArray(r->generated_ids,
                                                                      r->n_generated));
    cJSON_AddItemToObject(root, "generated_pieces",
                          cJSON_CreateStringArray(r->pieces, r->n_generated));
    cJSON_AddStringToObject(root, "text", r->text);
    cJSON_AddStringToObject(root, "stop", stop_name(r->stop));
    o = cJSON_AddObjectToObject(root, "options");
    cJSON_AddNumberToObject(o, "max_new_tokens", r->max_new_tokens);
    cJSON_AddNumberToObject(o, "threads", r->n_threads);
    if (r->compute)
        cJSON_AddStringToObject(o, "compute", r->compute);
    o = cJSON_AddObjectToObject(root, "timings");
    cJSON_AddNumberToObject(o, "load_s", r->load_s);
    cJSON_AddNumberToObject(o, "vision_s", r->timings.vision_s);
    cJSON_AddNumberToObject(o, "prefill_s", r->timings.prefill_s);
    cJSON_AddNumberToObject(o, "decode_s", r->timings.decode_s);
    cJSON_AddNumberToObject(o, "tokens_per_s", r->timings.decode_tokens_per_s);
    cJSON_AddNumberToObject(o, "record_s", r->timings.record_s);
    o = cJSON_AddObjectToObject(root, "hidden");
    if (ks->file)
        cJSON_AddStringToObject(o, "file", HIDDEN_FILE);
    if (ks->k)
        cJSON_AddStringToObject(o, "tensor", "hidden");
    int shape[3] = {r->n_generated, ks->k, c->text_hidden};
    cJSON_AddItemToObject(o, "shape", cJSON_CreateIntArray(shape, 3));
    cJSON_AddStringToObject(o, "dtype", kevo_dtype_name(r->store));
    if (ks->indices)   // only some kept (kevo batch --states, --no-hidden)
        cJSON_AddItemToObject(o, "indices", ks->k ? cJSON_CreateIntArray(ks->indices, ks->k)
                                                  : cJSON_CreateArray());
    kevo_runfolder_image_json(root, r);
    return root;
}

// hidden.safetensors and run.json in tmp for the states ks keeps: the answer's (gathered from
// the record's (T, L+1, D) when only some are kept) and the image's.
static kevo_status write_files(const char *tmp, const kevo_run_record *r,
                               const kevo_model_identity *id, const char *image_sha256,
                               const kept_states *ks, kevo_error *err)
{
    const kevo_config *c = r->config;
    char path[KEVO_PATH_MAX];
    size_t d = (size_t)c->text_hidden, l1 = (size_t)c->text_layers + 1, T = (size_t)r->n_generated;
    kevo_tensor_out t[2];
    int n_t = 0;
    void *owned[2] = {NULL, NULL};
    float *gathered = NULL;
    const float *hidden = r->hidden;
    kevo_status st = KEVO_OK;
    if (ks->indices && ks->k) {
        gathered = malloc(T * (size_t)ks->k * d * sizeof *gathered + 1);
        if (!gathered)
            return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
        for (size_t s = 0; s < T; s++)
            for (int k = 0; k < ks->k; k++)
                memcpy(gathered + (s * (size_t)ks->k + (size_t)k) * d,
                       r->hidden + (s * l1 + (size_t)ks->indices[k]) * d, d * sizeof *gathered);
        hidden = gathered;
    }
    if (ks->k) {
        t[n_t] = (kevo_tensor_out){"hidden", r->store, 3, {r->n_generated, ks->k, c->text_hidden},
                                   NULL};
        st = kevo_states_store("hidden", hidden, T * (size_t)ks->k * d, r->store, &owned[0],
                               &t[n_t++].data, err);
    }
    if (st == KEVO_OK && r->n_image_states) {
        t[n_t] = (kevo_tensor_out){"image_hidden", r->store, 3,
                                   {r->image_tokens, r->n_image_states, c->text_hidden}, NULL};
        st = kevo_states_store("image_hidden", r->image_hidden,
                               (size_t)r->image_tokens * (size_t)r->n_image_states * d, r->store,
                               &owned[1], &t[n_t++].data, err);
    }
    const char *meta[] = {"format", KEVO_RUN_FORMAT, "kevo_version", KEVO_VERSION};
    if (st == KEVO_OK)
        st = kevo_path_join(path, sizeof path, tmp, HIDDEN_FILE, err);
    if (st == KEVO_OK)
        st = n_t ? kevo_safetensors_write(path, t, n_t, meta, 2, err)
                 : kevo_remove_tree(path, err);
    free(owned[0]);
    free(owned[1]);
    free(gathered);
    if (st == KEVO_OK)
        st = kevo_path_join(path, sizeof path, tmp, RUN_JSON, err);
    if (st == KEVO_OK)
        st = kevo_json_save(record_json(r, id, image_sha256, ks), path, err);
    return st;
}

// The folder is built in a hidden temporary folder and swapped in whole (kevo/files.h); an
// existing DIR is replaced only when it is empty or a run folder holding nothing but kevo's files
// (kevo_runfolder_owned). With before_commit, the folder is first complete with every state
// (what the analyses read), then pruned to the states kept: peak disk is one item's full states.
kevo_status kevo_runfolder_write(const char *dir, const kevo_run_record *r, kevo_error *err)
{
    char image_sha256[65];
    kevo_model_identity id;
    kevo_outdir *od = NULL;
    kevo_status st = record_identity(r, &id, image_sha256, err);
    if (st == KEVO_OK)
        st = kevo_outdir_open(dir, kevo_runfolder_owned, &od, err);
    if (st != KEVO_OK)
        return st;
    const char *tmp = kevo_outdir_path(od);
    int l1 = r->config->text_layers + 1;
    kept_states all = {NULL, l1, 1};
    kept_states kept = {r->hidden_states, r->hidden_states ? r->n_hidden_states : l1,
                        !r->hidden_states || r->n_hidden_states || r->n_image_states};
    if (r->before_commit) {
        st = write_files(tmp, r, &id, image_sha256, &all, err);
        if (st == KEVO_OK)
            st = r->before_commit(tmp, dir, r->ctx, err);
    }
    if (st == KEVO_OK && (!r->before_commit || r->hidden_states))
        st = write_files(tmp, r, &id, image_sha256, &kept, err);
    if (st != KEVO_OK) {
        kevo_outdir_abort(od, err);   // names DIR/..., not the temporary folder, in err
        return st;
    }
    return kevo_outdir_commit(od, err);
}

// ---------------------------------------------------------------------------------------------
// Reading

static kevo_status get_string(const cJSON *obj, const char *key, char **out, const char *where,
                              kevo_error *err)
{
    const char *s;
    kevo_status st = kevo_json_str(obj, key, 0, NULL, &s, where, err);
    if (st == KEVO_OK && !(*out = strdup(s)))
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    return st;
}

static kevo_status get_int(const cJSON *obj, const char *key, int lo, int hi, int *out,
                           const char *where, kevo_error *err)
{
    long long v;
    kevo_status st = kevo_json_int(obj, key, 0, 0, &v, where, err);
    if (st == KEVO_OK && (v < lo || v > hi))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s %s = %lld is outside [%d, %d]", where, key, v,
                       lo, hi);
    if (st == KEVO_OK)
        *out = (int)v;
    return st;
}

// generated_ids and generated_pieces: two arrays of the same length.
static kevo_status read_tokens(kevo_runfolder *rf, const cJSON *root, const char *where,
                               kevo_error *err)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, "generated_ids");
    const cJSON *pieces = cJSON_GetObjectItemCaseSensitive(root, "generated_pieces");
    if (!cJSON_IsArray(ids) || !cJSON_IsArray(pieces) ||
        cJSON_GetArraySize(ids) != cJSON_GetArraySize(pieces))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s generated_ids and generated_pieces must be "
                         "arrays of the same length", where);
    int n = cJSON_GetArraySize(ids);
    rf->generated_ids = calloc((size_t)n + 1, sizeof *rf->generated_ids);
    rf->pieces = calloc((size_t)n + 1, sizeof *rf->pieces);
    if (!rf->generated_ids || !rf->pieces)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const cJSON *id = cJSON_GetArrayItem(ids, i), *p = cJSON_GetArrayItem(pieces, i);
        if (!cJSON_IsNumber(id) || !(id->valuedouble >= 0) || id->valuedouble >= rf->vocab_rows ||
            !cJSON_IsString(p))
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s generated token %d is not an id below %d "
                             "with a piece string", where, i, rf->vocab_rows);
        rf->generated_ids[i] = (int)id->valuedouble;
        if (!(rf->pieces[i] = strdup(p->valuestring)))
            return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    }
    rf->n_steps = n;
    return KEVO_OK;
}

// hidden.indices (absent: every index 0..L): ascending indices within 0..L, possibly none.
static kevo_status read_kept(kevo_runfolder *rf, const cJSON *h, const char *where,
                             kevo_error *err)
{
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(h, "indices");
    rf->kept_all = ix == NULL;
    if (!ix)
        return KEVO_OK;
    int k = cJSON_IsArray(ix) ? cJSON_GetArraySize(ix) : -1;
    if (k < 0 || k > rf->text_layers + 1)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s hidden.indices must list 0 to %d indices",
                         where, rf->text_layers + 1);
    if (!(rf->kept = malloc((size_t)k * sizeof *rf->kept + 1)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < k; i++) {
        const cJSON *v = cJSON_GetArrayItem(ix, i);
        double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(x >= 0 && x <= rf->text_layers && x == (int)x) || (i && (int)x <= rf->kept[i - 1]))
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s hidden.indices[%d] is not an index above "
                             "the one before it within 0..%d", where, i, rf->text_layers);
        rf->kept[i] = (int)x;
    }
    rf->n_kept = k;
    return KEVO_OK;
}

// hidden.safetensors: "hidden" F32 or F16 (T, L+1, D), or (T, K, D) for the K indices a run
// kept, agreeing with run.json, every value finite; no file when nothing is kept in it.
static kevo_status read_hidden(kevo_runfolder *rf, const cJSON *root, const char *where,
                               kevo_error *err)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "hidden");
    if (!cJSON_IsObject(h))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s has no \"hidden\" object", where);
    kevo_status st = read_kept(rf, h, where, err);
    if (st != KEVO_OK)
        return st;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(h, "dtype");
    snprintf(rf->hidden_dtype, sizeof rf->hidden_dtype, "%s",
             cJSON_IsString(dt) && strlen(dt->valuestring) < 8 ? dt->valuestring : "");
    rf->n_states = rf->kept_all ? rf->text_layers + 1 : rf->n_kept;
    rf->dim = rf->text_hidden;
    if (!rf->kept_all && !cJSON_GetObjectItemCaseSensitive(h, "file"))
        return KEVO_OK;   // none kept, no image states: no hidden.safetensors
    char *file = NULL, path[KEVO_PATH_MAX];
    if ((st = get_string(h, "file", &file, where, err)) != KEVO_OK)
        return st;
    if (strchr(file, '/')) {
        free(file);
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s hidden.file must name a file in the run "
                         "folder", where);
    }
    st = kevo_path_join(path, sizeof path, rf->dir, file, err);
    free(file);
    if (st != KEVO_OK || (st = kevo_safetensors_open(path, &rf->file, err)) != KEVO_OK)
        return st;
    if (rf->n_states == 0)
        return KEVO_OK;
    int64_t shape[3] = {rf->n_steps, rf->n_states, rf->dim};
    const char *const axes[3] = {"step", "layer", "element"};
    return kevo_states_read(rf->file, path, "hidden", shape, axes, &rf->hidden,
                            &rf->hidden_owned, err);
}

// A string member copied into buf, "" when absent or not a string.
static void optional_str(const cJSON *obj, const char *key, char *buf, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    snprintf(buf, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

// The run's identity (format_version 2). An older run.json lacks it and still loads: the fields
// stay empty, and kevo_runfolder_differs then says the run cannot be trusted to match.
static void read_identity(kevo_runfolder *rf, const cJSON *root)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(root, "image");
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(root, "options");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "format_version");
    rf->format_version = cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e6
                             ? (int)v->valuedouble : 1;
    optional_str(root, "kevo_version", rf->kevo_version, sizeof rf->kevo_version);
    snprintf(rf->model.config_fnv1a64, sizeof rf->model.config_fnv1a64, "%s",
             rf->config_fnv1a64);
    optional_str(model, "weights_sha256", rf->model.weights_sha256,
                 sizeof rf->model.weights_sha256);
    optional_str(model, "files_sha256", rf->model.files_sha256, sizeof rf->model.files_sha256);
    optional_str(image, "sha256", rf->image_sha256, sizeof rf->image_sha256);
    optional_str(image, "mode", rf->image_mode, sizeof rf->image_mode);
    optional_str(options, "compute", rf->compute, sizeof rf->compute);
    v = cJSON_GetObjectItemCaseSensitive(options, "max_new_tokens");
    rf->max_new_tokens = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1 << 30
                             ? (int)v->valuedouble : 0;
}

// model.mmproj, written only when the vision file was named apart: absent it means what it
// meant before the key existed (path names the whole model), so format_version stays.
static kevo_status read_mmproj(kevo_runfolder *rf, const cJSON *model, const char *where,
                               kevo_error *err)
{
    return cJSON_GetObjectItemCaseSensitive(model, "mmproj")
               ? get_string(model, "mmproj", &rf->mmproj, where, err)
               : KEVO_OK;
}

kevo_status kevo_runfolder_load_record(const char *dir, kevo_runfolder **out, kevo_error *err)
{
    *out = NULL;
    char path[KEVO_PATH_MAX];
    char where[KEVO_ERROR_MAX];
    kevo_runfolder *rf = calloc(1, sizeof *rf);
    if (!rf || !(rf->dir = strdup(dir))) {
        free(rf);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    }
    cJSON *root = NULL;
    const cJSON *model;
    const char *format = NULL, *digest = NULL;
    kevo_status st = kevo_path_join(path, sizeof path, dir, RUN_JSON, err);
    if (st != KEVO_OK)
        goto fail;
    kevo_error_head(where, sizeof where, "%s:", path);
    if (!kevo_file_exists(path)) {
        st = kevo_fail(err, KEVO_ERR_IO, "%s: no run.json (not a run folder, or the run did not "
                       "finish)", dir);
        goto fail;
    }
    if ((st = kevo_json_load(path, RUN_JSON_MAX, &root, err)))
        goto fail;
    rf->json = root;
    if ((st = kevo_json_str(root, "format", 0, NULL, &format, where, err)))
        goto fail;
    if (strcmp(format, KEVO_RUN_FORMAT) != 0) {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s format \"%s\" is not \"%s\"", where, format,
                       KEVO_RUN_FORMAT);
        goto fail;
    }
    model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsObject(model)) {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s has no \"model\" object", where);
        goto fail;
    }
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(root, "image");
    if ((st = get_string(model, "path", &rf->model_dir, where, err)) ||
        (st = read_mmproj(rf, model, where, err)) ||
        (st = kevo_json_str(model, "config_fnv1a64", 0, NULL, &digest, where, err)) ||
        (st = get_int(model, "text_layers", 1, 1024, &rf->text_layers, where, err)) ||
        (st = get_int(model, "text_hidden", 1, 1 << 20, &rf->text_hidden, where, err)) ||
        (st = get_int(model, "vocab_rows", 1, 1 << 24, &rf->vocab_rows, where, err)) ||
        (st = get_string(root, "question", &rf->question, where, err)) ||
        (st = get_string(root, "template", &rf->template_name, where, err)) ||
        (st = get_string(root, "prompt", &rf->prompt, where, err)) ||
        (st = get_string(root, "text", &rf->text, where, err)) ||
        (st = get_string(root, "stop", &rf->stop, where, err)) ||
        (st = get_string(image ? image : root, "path", &rf->image_path, where, err)) ||
        (st = read_tokens(rf, root, where, err)) || (st = read_hidden(rf, root, where, err)) ||
        (st = kevo_runfolder_image_read(rf, root, where, err)))
        goto fail;
    snprintf(rf->config_fnv1a64, sizeof rf->config_fnv1a64, "%s", digest);
    read_identity(rf, root);
    *out = rf;
    return KEVO_OK;
fail:
    kevo_runfolder_free(rf);
    return st;
}

kevo_status kevo_runfolder_load(const char *dir, kevo_runfolder **out, kevo_error *err)
{
    kevo_status st = kevo_runfolder_load_record(dir, out, err);
    if (st != KEVO_OK || (*out)->kept_all)
        return st;
    char list[160] = "";
    size_t used = 0;
    for (int i = 0; i < (*out)->n_kept && used < sizeof list - 16; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%d", i ? "," : "",
                                 (*out)->kept[i]);
    st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: the run kept %s%s of its hidden states (kevo batch "
                   "%s); the analyses need every index 0..%d: run it again without it", dir,
                   (*out)->n_kept ? "only the indices " : "none", list,
                   (*out)->n_kept ? "--states" : "--no-hidden", (*out)->text_layers);
    kevo_runfolder_free(*out);
    *out = NULL;
    return st;
}

void kevo_runfolder_free(kevo_runfolder *rf)
{
    if (!rf)
        return;
    for (int i = 0; rf->pieces && rf->pieces[i]; i++)
        free(rf->pieces[i]);
    free(rf->pieces);
    free(rf->generated_ids);
    free(rf->dir);
    free(rf->model_dir);
    free(rf->mmproj);
    free(rf->question);
    free(rf->template_name);
    free(rf->prompt);
    free(rf->text);
    free(rf->image_path);
    free(rf->stop);
    free(rf->hidden_owned);
    free(rf->kept);
    free(rf->patch_original);
    free(rf->cell_position);
    free(rf->image_states);
    free(rf->image_hidden_owned);
    kevo_safetensors_free(rf->file);
    cJSON_Delete(rf->json);
    free(rf);
}
