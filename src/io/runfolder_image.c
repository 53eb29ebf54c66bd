// runfolder_image.c — the image side of run.json (docs/run-folder.md): where each part of the
// sequence sits ("spans"), the vision tower's patch grid with every patch's rectangle in the
// preprocessed and in the original image ("patches"), and which hidden-state indices of the
// image positions hidden.safetensors keeps as "image_hidden" ("image_states").
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "io/json.h"
#include "io/runfolder.h"
#include "io/safetensors.h"

#define IMAGE_TENSOR "image_hidden"

static void add_span(cJSON *spans, const char *name, int first, int length)
{
    cJSON *o = cJSON_AddObjectToObject(spans, name);
    cJSON_AddNumberToObject(o, "first", first);
    cJSON_AddNumberToObject(o, "length", length);
}

// One rectangle per position, pre[] or orig[].
static cJSON *rect_array(const kevo_image_position *pos, int first, int n, int original)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = first; i < first + n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateDoubleArray(original ? pos[i].orig : pos[i].pre, 4));
    return a;
}

// Whether the positions are one tile's grid, row-major, after an optional class token: the
// single-grid form of "patches" (LLaVA-1.5).
static int single_grid(const kevo_run_record *r, int *rows, int *cols, int *cls)
{
    const kevo_image_position *p = r->positions;
    *cls = r->image_tokens > 0 && p[0].kind == KEVO_POSITION_CLASS;
    int n = r->image_tokens - *cls;
    *cols = 0;
    for (int i = *cls; i < r->image_tokens && p[i].row == 0; i++)
        (*cols)++;
    *rows = *cols ? n / *cols : 0;
    if (r->n_tiles != 1 || !*cols || *rows * *cols != n)
        return 0;
    for (int i = 0; i < n; i++) {
        const kevo_image_position *q = &p[*cls + i];
        if (q->kind != KEVO_POSITION_PATCH || q->tile != 0 || q->row != i / *cols ||
            q->col != i % *cols)
            return 0;
    }
    return 1;
}

static const char *kind_name(kevo_position_kind k)
{
    return k == KEVO_POSITION_PATCH ? "patch" : k == KEVO_POSITION_CLASS ? "class" : "newline";
}

// "patches": the single-grid form (rows, cols, class_token, a rectangle per grid patch), or for
// tiled images every position's kind, tile, row, col and rectangles ("positions").
static void patches_json(cJSON *root, const kevo_run_record *r)
{
    cJSON *p = cJSON_AddObjectToObject(root, "patches");
    int rows, cols, cls;
    if (single_grid(r, &rows, &cols, &cls)) {
        cJSON_AddNumberToObject(p, "rows", rows);
        cJSON_AddNumberToObject(p, "cols", cols);
        cJSON_AddBoolToObject(p, "class_token", cls);
        cJSON_AddItemToObject(p, "preprocessed", rect_array(r->positions, cls, rows * cols, 0));
        cJSON_AddItemToObject(p, "original", rect_array(r->positions, cls, rows * cols, 1));
        return;
    }
    cJSON_AddNumberToObject(p, "tiles", r->n_tiles);
    cJSON *kinds = cJSON_AddArrayToObject(p, "kind"), *tile = cJSON_AddArrayToObject(p, "tile");
    cJSON *row = cJSON_AddArrayToObject(p, "row"), *col = cJSON_AddArrayToObject(p, "col");
    for (int i = 0; i < r->image_tokens; i++) {
        const kevo_image_position *q = &r->positions[i];
        cJSON_AddItemToArray(kinds, cJSON_CreateString(kind_name(q->kind)));
        cJSON_AddItemToArray(tile, cJSON_CreateNumber(q->tile));
        cJSON_AddItemToArray(row, cJSON_CreateNumber(q->row));
        cJSON_AddItemToArray(col, cJSON_CreateNumber(q->col));
    }
    cJSON_AddItemToObject(p, "preprocessed", rect_array(r->positions, 0, r->image_tokens, 0));
    cJSON_AddItemToObject(p, "original", rect_array(r->positions, 0, r->image_tokens, 1));
}

void kevo_runfolder_image_json(void *root_json, const kevo_run_record *r)
{
    cJSON *root = root_json;
    const kevo_config *c = r->config;
    // Positions of the sequence the model saw: the text before the image (BOS, the system
    // prompt, the role tag), the image, the question up to the assistant's tag, the answer.
    cJSON *spans = cJSON_AddObjectToObject(root, "spans");
    int after = r->image_first + r->image_tokens;
    add_span(spans, "system", 0, r->image_first);
    add_span(spans, "image", r->image_first, r->image_tokens);
    add_span(spans, "question", after, r->n_positions - after);
    add_span(spans, "answer", r->n_positions, r->n_generated);

    if (!r->positions)   // no geometry given (a run folder written by a test)
        return;
    patches_json(root, r);

    if (r->n_image_states) {
        cJSON *s = cJSON_AddObjectToObject(root, "image_states");
        cJSON_AddStringToObject(s, "tensor", IMAGE_TENSOR);
        cJSON_AddItemToObject(s, "indices", cJSON_CreateIntArray(r->image_states,
                                                                 r->n_image_states));
        int shape[3] = {r->image_tokens, r->n_image_states, c->text_hidden};
        cJSON_AddItemToObject(s, "shape", cJSON_CreateIntArray(shape, 3));
        cJSON_AddStringToObject(s, "dtype", kevo_dtype_name(r->store));
    }
}

// rects[n] of [x0, y0, x1, y1] inside the image into out (n * 4).
static kevo_status read_rects(const kevo_runfolder *rf, const cJSON *rects, int n, double *out,
                              const char *where, kevo_error *err)
{
    if (!cJSON_IsArray(rects) || cJSON_GetArraySize(rects) != n)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s patches.original must hold %d rectangles",
                         where, n);
    for (int i = 0; i < n; i++) {
        const cJSON *r = cJSON_GetArrayItem(rects, i);
        int ok = cJSON_IsArray(r) && cJSON_GetArraySize(r) == 4;
        for (int k = 0; ok && k < 4; k++) {
            const cJSON *v = cJSON_GetArrayItem(r, k);
            double limit = k % 2 ? rf->image_height : rf->image_width;
            ok = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= limit;
            out[4 * (size_t)i + k] = ok ? v->valuedouble : 0;
        }
        const double *q = out + 4 * (size_t)i;
        if (!ok || q[2] < q[0] || q[3] < q[1])
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s patches.original[%d] is not a rectangle "
                             "[x0, y0, x1, y1] inside the %d x %d image", where, i,
                             rf->image_width, rf->image_height);
    }
    return KEVO_OK;
}

// An integer array of n entries in [lo, hi] (strings for "kind": patch 0, class 1, newline 2).
static kevo_status read_ints(const cJSON *p, const char *key, int n, int lo, int hi, int *out,
                             const char *where, kevo_error *err)
{
    static const char *const kinds[] = {"patch", "class", "newline"};
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(p, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s patches.%s must list %d entries", where, key,
                         n);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        int ok = 0;
        if (strcmp(key, "kind") == 0) {
            for (int k = 0; k < 3 && cJSON_IsString(v); k++)
                if (strcmp(v->valuestring, kinds[k]) == 0)
                    out[i] = k, ok = 1;
        } else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
                   v->valuedouble >= lo && v->valuedouble <= hi) {
            out[i] = (int)v->valuedouble, ok = 1;
        }
        if (!ok)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s patches.%s[%d] is not %s", where, key, i,
                             strcmp(key, "kind") ? "an integer in range" : "patch, class or "
                             "newline");
    }
    return KEVO_OK;
}

// A tiled image (LLaVA-NeXT): every position's kind, tile, row and column; the map draws the
// tile grid's patches (tile >= 1), each grid cell exactly once.
static kevo_status read_tiled(kevo_runfolder *rf, const cJSON *p, const char *where,
                              kevo_error *err)
{
    int n = rf->image_tokens, r0 = 1 << 30, c0 = 1 << 30, r1 = -1, c1 = -1;
    long long tiles;
    int *kind = malloc((size_t)n * 4 * sizeof *kind);   // kind, tile, row, col: n each
    double *rects = malloc((size_t)n * 4 * sizeof *rects);
    kevo_status st = kind && rects ? kevo_json_int(p, "tiles", 0, 0, &tiles, where, err)
                                   : kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    int *tile = kind + n, *row = kind + 2 * n, *col = kind + 3 * n;
    if (st == KEVO_OK && (tiles < 1 || tiles > 4096))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s patches.tiles %lld is out of range", where,
                       tiles);
    if (st == KEVO_OK)
        st = read_ints(p, "kind", n, 0, 2, kind, where, err);
    if (st == KEVO_OK)
        st = read_ints(p, "tile", n, -1, (int)tiles - 1, tile, where, err);
    if (st == KEVO_OK)
        st = read_ints(p, "row", n, 0, 1 << 16, row, where, err);
    if (st == KEVO_OK)
        st = read_ints(p, "col", n, 0, 1 << 16, col, where, err);
    if (st == KEVO_OK)
        st = read_rects(rf, cJSON_GetObjectItemCaseSensitive(p, "original"), n, rects, where,
                        err);
    for (int i = 0; st == KEVO_OK && i < n; i++)
        if (kind[i] == KEVO_POSITION_PATCH && tile[i] >= 1) {
            r0 = row[i] < r0 ? row[i] : r0, r1 = row[i] > r1 ? row[i] : r1;
            c0 = col[i] < c0 ? col[i] : c0, c1 = col[i] > c1 ? col[i] : c1;
        }
    long long cells = r1 < 0 ? 0 : (long long)(r1 - r0 + 1) * (c1 - c0 + 1);
    if (st == KEVO_OK && (cells < 1 || cells > n))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s patches: no tile grid among the %d image "
                       "positions", where, n);
    if (st == KEVO_OK && (!(rf->cell_position = malloc((size_t)cells * sizeof(int))) ||
                          !(rf->patch_original = malloc((size_t)cells * 4 * sizeof(double)))))
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (long long c = 0; st == KEVO_OK && c < cells; c++)
        rf->cell_position[c] = -1;
    for (int i = 0; st == KEVO_OK && i < n; i++) {
        if (kind[i] != KEVO_POSITION_PATCH || tile[i] < 1)
            continue;
        int cell = (row[i] - r0) * (c1 - c0 + 1) + (col[i] - c0);
        if (rf->cell_position[cell] >= 0)
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s patches: image positions %d and %d share "
                           "row %d, col %d", where, rf->cell_position[cell], i, row[i], col[i]);
        rf->cell_position[cell] = i;
        memcpy(rf->patch_original + 4 * (size_t)cell, rects + 4 * (size_t)i, 4 * sizeof *rects);
    }
    for (long long c = 0; st == KEVO_OK && c < cells; c++)
        if (rf->cell_position[c] < 0)
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s patches: the tile grid has no position at "
                           "row %lld, col %lld", where, r0 + c / (c1 - c0 + 1),
                           c0 + c % (c1 - c0 + 1));
    if (st == KEVO_OK) {
        rf->grid_rows = r1 - r0 + 1;
        rf->grid_cols = c1 - c0 + 1;
        rf->n_tiles = (int)tiles;
    }
    free(kind);
    free(rects);
    return st;
}

// patches: the single grid (agreeing with the image tokens, every original rectangle inside
// the image), or a tiled image's positions.
static kevo_status read_patches(kevo_runfolder *rf, const cJSON *p, const char *where,
                                kevo_error *err)
{
    if (cJSON_GetObjectItemCaseSensitive(p, "kind"))
        return read_tiled(rf, p, where, err);
    long long rows, cols;
    int cls = 0;
    kevo_status st = kevo_json_int(p, "rows", 0, 0, &rows, where, err);
    if (st == KEVO_OK)
        st = kevo_json_int(p, "cols", 0, 0, &cols, where, err);
    if (st == KEVO_OK)
        st = kevo_json_bool(p, "class_token", 1, 0, &cls, where, err);
    if (st != KEVO_OK)
        return st;
    if (rows < 1 || cols < 1 || rows > 4096 || cols > 4096 ||
        rows * cols + cls != rf->image_tokens)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s patches: a %lld x %lld grid%s does not make "
                         "the %d image tokens", where, rows, cols, cls ? " and a class token" : "",
                         rf->image_tokens);
    int n = (int)(rows * cols);
    if (!(rf->patch_original = malloc((size_t)n * 4 * sizeof *rf->patch_original)) ||
        !(rf->cell_position = malloc((size_t)n * sizeof *rf->cell_position)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    if ((st = read_rects(rf, cJSON_GetObjectItemCaseSensitive(p, "original"), n,
                         rf->patch_original, where, err)) != KEVO_OK)
        return st;
    for (int i = 0; i < n; i++)
        rf->cell_position[i] = i + cls;
    rf->grid_rows = (int)rows;
    rf->grid_cols = (int)cols;
    rf->class_token = cls;
    rf->n_tiles = 1;
    return KEVO_OK;
}

// image_states: ascending indices in 0..L and the image_hidden tensor of their shape.
static kevo_status read_states(kevo_runfolder *rf, const cJSON *s, const char *where,
                               kevo_error *err)
{
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(s, "indices");
    int k = cJSON_IsArray(idx) ? cJSON_GetArraySize(idx) : 0;
    if (k < 1 || k > rf->text_layers + 1)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s image_states.indices must list 1 to %d "
                         "hidden-state indices", where, rf->text_layers + 1);
    if (!(rf->image_states = malloc((size_t)k * sizeof *rf->image_states)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < k; i++) {
        const cJSON *v = cJSON_GetArrayItem(idx, i);
        double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(x >= 0 && x <= rf->text_layers && x == floor(x)) ||
            (i && (int)x <= rf->image_states[i - 1]))
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s image_states.indices[%d] is not an index "
                             "above the previous one within 0..%d", where, i, rf->text_layers);
        rf->image_states[i] = (int)x;
    }
    rf->n_image_states = k;
    int64_t shape[3] = {rf->image_tokens, k, rf->text_hidden};
    char path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(path, sizeof path, rf->dir, "hidden.safetensors", err);
    const char *const axes[3] = {"image position", "kept index", "element"};
    if (st == KEVO_OK && !rf->file)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s has image_states but hidden names no file",
                         where);
    return st == KEVO_OK ? kevo_states_read(rf->file, path, IMAGE_TENSOR, shape, axes,
                                            &rf->image_hidden, &rf->image_hidden_owned, err)
                         : st;
}

kevo_status kevo_runfolder_image_read(kevo_runfolder *rf, const void *root_json,
                                      const char *where, kevo_error *err)
{
    const cJSON *root = root_json;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(root, "image");
    const cJSON *spans = cJSON_GetObjectItemCaseSensitive(root, "spans");
    const cJSON *patches = cJSON_GetObjectItemCaseSensitive(root, "patches");
    const cJSON *states = cJSON_GetObjectItemCaseSensitive(root, "image_states");
    if (!patches && !states)
        return KEVO_OK;   // a run folder from before format_version 3
    long long tokens, first = 0, w, h;
    const cJSON *img_span = spans ? cJSON_GetObjectItemCaseSensitive(spans, "image") : NULL;
    kevo_status st = kevo_json_int(model, "image_tokens", 0, 0, &tokens, where, err);
    if (st == KEVO_OK)
        st = kevo_json_int(image, "width", 0, 0, &w, where, err);
    if (st == KEVO_OK)
        st = kevo_json_int(image, "height", 0, 0, &h, where, err);
    if (st == KEVO_OK && img_span)
        st = kevo_json_int(img_span, "first", 0, 0, &first, where, err);
    if (st != KEVO_OK)
        return st;
    if (tokens < 1 || tokens > 1 << 20 || w < 1 || h < 1 || w > 1 << 20 || h > 1 << 20 ||
        first < 0 || first > 1 << 24)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s model.image_tokens %lld, image %lld x %lld "
                         "or spans.image.first %lld is out of range", where, tokens, w, h, first);
    rf->image_tokens = (int)tokens;
    rf->image_width = (int)w;
    rf->image_height = (int)h;
    rf->image_first = (int)first;
    if (patches && (st = read_patches(rf, patches, where, err)) != KEVO_OK)
        return st;
    if (states && !patches)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s has image_states but no patches", where);
    return states ? read_states(rf, states, where, err) : KEVO_OK;
}
