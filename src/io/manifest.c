// manifest.c — a dataset's manifest for `kevo batch --manifest` (kevo/manifest.h,
// docs/datasets.md): JSON Lines through cJSON, one object a line, or CSV as RFC 4180 writes it
// (quoted fields may hold commas, doubled quotes and line breaks).
//
// Every item is checked before anything runs: a bad line found after an hour of generation
// would waste the hour, so the whole file is read and every error names the file and the line.
#include "kevo.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "io/json.h"

#define MANIFEST_MAX ((size_t)1 << 30)
#define ID_MAX 200   // NAME_MAX (255) less the longest temporary prefix kevo puts before it

typedef struct entry {
    char *id, *image, *image_path, *question;
    char **references;
    int n_references, line;
} entry;

struct kevo_manifest {
    char *path;
    char *dir;        // the manifest's folder, "" for the working one
    entry *items;
    int n, cap;
};

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void entry_clear(entry *e)
{
    free(e->id);
    free(e->image);
    free(e->image_path);
    free(e->question);
    for (int i = 0; i < e->n_references; i++)
        free(e->references[i]);
    free(e->references);
}

void kevo_manifest_free(kevo_manifest *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++)
        entry_clear(&m->items[i]);
    free(m->items);
    free(m->path);
    free(m->dir);
    free(m);
}

int kevo_manifest_n_items(const kevo_manifest *m)
{
    return m->n;
}

const char *kevo_manifest_path(const kevo_manifest *m)
{
    return m->path;
}

kevo_manifest_item kevo_manifest_item_at(const kevo_manifest *m, int i)
{
    const entry *e = &m->items[i];
    return (kevo_manifest_item){e->id, e->image, e->image_path, e->question,
                                (const char *const *)e->references, e->n_references, e->line};
}

kevo_status kevo_manifest_id_check(const char *id, kevo_error *err)
{
    size_t n = strlen(id);
    if (n == 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "the id is empty");
    if (n > ID_MAX)
        return kevo_fail(err, KEVO_ERR_FORMAT, "the id is %zu bytes long, more than %d", n,
                         ID_MAX);
    if (!strcmp(id, ".") || !strcmp(id, ".."))
        return kevo_fail(err, KEVO_ERR_FORMAT, "the id \"%s\" is not a folder name", id);
    if (id[0] == '.')
        return kevo_fail(err, KEVO_ERR_FORMAT, "the id \"%.60s\" starts with '.' (a hidden "
                         "folder, the form of kevo's temporaries)", id);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c == '/')
            return kevo_fail(err, KEVO_ERR_FORMAT, "the id \"%.60s\" holds a '/' (each id "
                             "names one folder)", id);
        if (c < 0x20 || c == 0x7f)
            return kevo_fail(err, KEVO_ERR_FORMAT, "the id holds the control character 0x%02x "
                             "at byte %zu", c, i);
    }
    return KEVO_OK;
}

// A new item of m, zeroed, starting at `line`.
static entry *add_entry(kevo_manifest *m, int line, kevo_error *err)
{
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 64;
        entry *grown = realloc(m->items, (size_t)cap * sizeof *grown);
        if (!grown) {
            kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
            return NULL;
        }
        m->items = grown;
        m->cap = cap;
    }
    entry *e = &m->items[m->n++];
    memset(e, 0, sizeof *e);
    e->line = line;
    return e;
}

static kevo_status add_reference(entry *e, const char *s, size_t n, kevo_error *err)
{
    char **grown = realloc(e->references, (size_t)(e->n_references + 1) * sizeof *grown);
    if (!grown)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    e->references = grown;
    if (!(e->references[e->n_references] = dup_n(s, n)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    e->n_references++;
    return KEVO_OK;
}

// The fields every item must have, whatever the format: where is "FILE:LINE:".
static kevo_status finish_entry(const kevo_manifest *m, entry *e, const char *default_question,
                                const char *where, kevo_error *err)
{
    if (!e->id)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s no \"id\"", where);
    kevo_status st = kevo_manifest_id_check(e->id, err);
    if (st != KEVO_OK) {
        kevo_error_prefix(err, "%s \"id\": ", where);
        return st;
    }
    if (!e->image || !e->image[0])
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s no \"image\" (item \"%s\")", where, e->id);
    if (!e->question || !e->question[0]) {
        free(e->question);
        e->question = default_question ? strdup(default_question) : NULL;
        if (!default_question)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s item \"%s\" has no \"question\" and the "
                             "batch has no -p PROMPT", where, e->id);
        if (!e->question)
            return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    }
    size_t need = strlen(m->dir) + strlen(e->image) + 2;
    if (need > KEVO_PATH_MAX)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s the image path is too long", where);
    if (!(e->image_path = malloc(need)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    snprintf(e->image_path, need, "%s%s", e->image[0] == '/' ? "" : m->dir, e->image);
    return KEVO_OK;
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

static kevo_status json_string(const cJSON *v, char **out, const char *where, kevo_error *err)
{
    if (!cJSON_IsString(v))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s \"%s\" must be a string", where, v->string);
    if (!(*out = strdup(v->valuestring)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    return KEVO_OK;
}

static kevo_status json_object(const cJSON *obj, entry *e, const char *where,
                               kevo_error *err)
{
    if (!cJSON_IsObject(obj))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s a line must be one JSON object", where);
    kevo_status st = KEVO_OK;
    for (const cJSON *v = obj->child; v && st == KEVO_OK; v = v->next) {
        for (const cJSON *u = obj->child; u != v; u = u->next)
            if (!strcmp(u->string, v->string))
                return kevo_fail(err, KEVO_ERR_FORMAT, "%s the key \"%.60s\" appears twice",
                                 where, v->string);
        const char *k = v->string;
        if (!strcmp(k, "id") && cJSON_IsNumber(v) && v->valuedouble == (double)(long long)
                                                         v->valuedouble &&
            v->valuedouble >= 0 && v->valuedouble < 9007199254740992.0) {
            char num[24];   // COCO's and VQA's image ids are numbers: 139 names OUT/139
            snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
            if (!(e->id = strdup(num)))
                st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
        } else if (!strcmp(k, "id"))
            st = json_string(v, &e->id, where, err);
        else if (!strcmp(k, "image"))
            st = json_string(v, &e->image, where, err);
        else if (!strcmp(k, "question"))
            st = cJSON_IsNull(v) ? KEVO_OK : json_string(v, &e->question, where, err);
        else if (!strcmp(k, "references")) {
            if (!cJSON_IsArray(v))
                return kevo_fail(err, KEVO_ERR_FORMAT, "%s \"references\" must be a list of "
                                 "strings", where);
            int i = 0;
            for (const cJSON *r = v->child; r && st == KEVO_OK; r = r->next, i++) {
                if (!cJSON_IsString(r) || !r->valuestring[0])
                    return kevo_fail(err, KEVO_ERR_FORMAT, "%s \"references\"[%d] must be a "
                                     "non-empty string", where, i);
                st = add_reference(e, r->valuestring, strlen(r->valuestring), err);
            }
        } else
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s unknown key \"%.60s\" (the keys are id, "
                             "image, question, references)", where, k);
    }
    return st;
}

static kevo_status parse_jsonl(kevo_manifest *m, const char *text, size_t len, const char *dq,
                               kevo_error *err)
{
    char where[KEVO_ERROR_MAX];
    int line = 0;
    for (size_t at = 0; at < len;) {
        const char *s = text + at, *nl = memchr(s, '\n', len - at);
        size_t n = nl ? (size_t)(nl - s) : len - at;
        at += n + (nl != NULL);
        line++;
        size_t k = n;
        while (k && (s[k - 1] == '\r' || s[k - 1] == ' ' || s[k - 1] == '\t'))
            k--;
        size_t b = 0;
        while (b < k && (s[b] == ' ' || s[b] == '\t'))
            b++;
        if (b == k)
            continue;   // a blank line
        kevo_error_head(where, sizeof where, "%s:%d:", m->path, line);
        const char *end = NULL;
        cJSON *obj = cJSON_ParseWithLengthOpts(s, k, &end, 0);
        if (!obj || end != s + k) {
            const char *bad = obj ? end : cJSON_GetErrorPtr();
            long col = bad && bad >= s && bad <= s + k ? (long)(bad - s) + 1 : (long)k + 1;
            cJSON_Delete(obj);
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s invalid JSON at byte column %ld", where,
                             col);
        }
        entry *e = add_entry(m, line, err);
        kevo_status st = e ? json_object(obj, e, where, err) : KEVO_ERR_NOMEM;
        cJSON_Delete(obj);
        if (st == KEVO_OK)
            st = finish_entry(m, e, dq, where, err);
        if (st != KEVO_OK)
            return st;
    }
    return KEVO_OK;
}

// ---------------------------------------------------------------------------------------------
// CSV

enum { COL_ID, COL_IMAGE, COL_QUESTION, COL_REFERENCES, N_COLS };
static const char *const col_names[N_COLS] = {"id", "image", "question", "references"};

// A growing field buffer.
typedef struct field {
    char *s;
    size_t used, cap;
} field;

static int field_add(field *f, char c)
{
    if (f->used + 1 >= f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 256;
        char *g = realloc(f->s, cap);
        if (!g)
            return 0;
        f->s = g;
        f->cap = cap;
    }
    f->s[f->used++] = c;
    return 1;
}

// One record from text at *at into fields (each a heap string), *n_fields of them; the lines
// it spans advance *line. A quote opens a quoted field only at a field's start; inside one, ""
// is a quote and a line break is text.
static kevo_status csv_record(const char *text, size_t len, size_t *at, int *line,
                              char ***fields, int *n_fields, const char *path, kevo_error *err)
{
    *fields = NULL;
    *n_fields = 0;
    size_t i = *at;
    int start = *line, quoted = 0, was_quoted = 0, end = 0, ok = 1;
    field f = {0};
    kevo_status st = KEVO_OK;
    while (!end && ok && st == KEVO_OK) {
        int c = i < len ? (unsigned char)text[i] : -1;
        if (quoted) {
            if (c < 0) {
                st = kevo_fail(err, KEVO_ERR_FORMAT, "%s:%d: a quoted field is not closed",
                               path, start);
                break;
            }
            i++;
            if (c == '"' && i < len && text[i] == '"')
                i++;
            else if (c == '"') {
                quoted = 0;
                continue;
            }
            *line += c == '\n';
            ok = field_add(&f, (char)c);
            continue;
        }
        if (c == '"' && f.used == 0 && !was_quoted) {
            i++;
            quoted = was_quoted = 1;
            continue;
        }
        if (c >= 0 && c != ',' && c != '\n' && c != '\r') {
            if (was_quoted)
                st = kevo_fail(err, KEVO_ERR_FORMAT, "%s:%d: text after a quoted field's "
                               "closing quote", path, *line);
            ok = field_add(&f, (char)c);
            i++;
            continue;
        }
        // a field ends: at a comma, a line break (\n, \r\n or \r) or the end of the text
        if (c == ',')
            i++;
        else {
            end = 1;
            if (c >= 0) {
                i += c == '\r' && i + 1 < len && text[i + 1] == '\n' ? 2 : 1;
                (*line)++;
            }
        }
        char **g = realloc(*fields, (size_t)(*n_fields + 1) * sizeof *g);
        if (g)
            *fields = g;
        if (!g || !(g[*n_fields] = dup_n(f.s ? f.s : "", f.used)))
            ok = 0;
        else
            (*n_fields)++;
        f.used = 0;
        was_quoted = 0;
    }
    if (!ok && st == KEVO_OK)
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    free(f.s);
    *at = i;
    return st;
}

static void free_fields(char **f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i]);
    free(f);
}


static kevo_status parse_csv(kevo_manifest *m, const char *text, size_t len, const char *dq,
                             kevo_error *err)
{
    if (memchr(text, '\0', len))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: a NUL byte at byte %ld (not a CSV file)",
                         m->path, (long)((const char *)memchr(text, 0, len) - text));
    size_t at = 0;
    int line = 1, col_of[N_COLS] = {-1, -1, -1, -1}, n_header = 0;
    char **f = NULL, where[KEVO_ERROR_MAX];
    int nf = 0;
    kevo_status st = csv_record(text, len, &at, &line, &f, &nf, m->path, err);
    if (st == KEVO_OK && (nf == 0 || (nf == 1 && !f[0][0])))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s:1: no header row (id,image[,question]"
                       "[,references])", m->path);
    for (int i = 0; st == KEVO_OK && i < nf; i++) {
        int k = 0;
        while (k < N_COLS && strcmp(f[i], col_names[k]))
            k++;
        if (k == N_COLS)
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s:1: unknown column \"%.60s\" (the columns "
                           "are id, image, question, references)", m->path, f[i]);
        else if (col_of[k] >= 0)
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s:1: the column \"%s\" appears twice",
                           m->path, f[i]);
        else
            col_of[k] = i;
    }
    if (st == KEVO_OK && (col_of[COL_ID] < 0 || col_of[COL_IMAGE] < 0))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s:1: the header needs the columns id and image",
                       m->path);
    n_header = nf;
    free_fields(f, nf);
    while (st == KEVO_OK && at < len) {
        int first = line;
        st = csv_record(text, len, &at, &line, &f, &nf, m->path, err);
        if (st != KEVO_OK) {
            free_fields(f, nf);
            break;
        }
        if (nf == 1 && !f[0][0]) {   // a blank line
            free_fields(f, nf);
            continue;
        }
        kevo_error_head(where, sizeof where, "%s:%d:", m->path, first);
        entry *e = nf == n_header ? add_entry(m, first, err) : NULL;
        if (nf != n_header)
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s %d fields where the header has %d", where,
                           nf, n_header);
        else if (!e)
            st = KEVO_ERR_NOMEM;
        if (st == KEVO_OK) {
            e->id = f[col_of[COL_ID]], f[col_of[COL_ID]] = NULL;
            e->image = f[col_of[COL_IMAGE]], f[col_of[COL_IMAGE]] = NULL;
            if (col_of[COL_QUESTION] >= 0)
                e->question = f[col_of[COL_QUESTION]], f[col_of[COL_QUESTION]] = NULL;
        }
        const char *refs = st == KEVO_OK && col_of[COL_REFERENCES] >= 0
                               ? f[col_of[COL_REFERENCES]] : "";
        for (const char *r = refs; st == KEVO_OK && *refs;) {
            const char *bar = strchr(r, '|');
            size_t n = bar ? (size_t)(bar - r) : strlen(r);
            st = n ? add_reference(e, r, n, err)
                   : kevo_fail(err, KEVO_ERR_FORMAT, "%s an empty reference in \"references\" "
                               "(they are separated by '|')", where);
            if (!bar)
                break;
            r = bar + 1;
        }
        free_fields(f, nf);
        if (st == KEVO_OK)
            st = finish_entry(m, e, dq, where, err);
    }
    return st;
}

// ---------------------------------------------------------------------------------------------

static const char *const *sort_ids;

static int by_id(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    int c = strcmp(sort_ids[i], sort_ids[j]);
    return c ? c : (i > j) - (i < j);
}

// Ids are unique: sorted, equal ids are neighbours (n log n for a dataset of any size).
static kevo_status check_unique(const kevo_manifest *m, kevo_error *err)
{
    const char **ids = malloc((size_t)m->n * sizeof *ids + 1);
    int *order = malloc((size_t)m->n * sizeof *order + 1);
    kevo_status st = ids && order ? KEVO_OK : kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int i = 0; st == KEVO_OK && i < m->n; i++)
        ids[i] = m->items[i].id, order[i] = i;
    if (st == KEVO_OK) {
        sort_ids = ids;
        qsort(order, (size_t)m->n, sizeof *order, by_id);
    }
    for (int k = 1; st == KEVO_OK && k < m->n; k++) {
        const entry *a = &m->items[order[k - 1]], *b = &m->items[order[k]];
        if (!strcmp(a->id, b->id))
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s:%d: the id \"%.60s\" is also the id of "
                           "line %d (ids must be unique: each names a run folder)", m->path,
                           b->line, b->id, a->line);
    }
    free(ids);
    free(order);
    return st;
}

static int is_jsonl(const char *path, const char *text, size_t len)
{
    const char *dot = strrchr(kevo_path_base(path), '.');
    if (dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".json")))
        return 1;
    if (dot && !strcmp(dot, ".csv"))
        return 0;
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", text[i]))
        i++;
    return i < len && text[i] == '{';
}

kevo_status kevo_manifest_load(const char *path, const char *default_question,
                               kevo_manifest **out, kevo_error *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    kevo_manifest *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    }
    const char *base = kevo_path_base(path);
    m->dir = dup_n(path, (size_t)(base - path));
    kevo_status st = m->dir ? kevo_read_file(path, MANIFEST_MAX, &text, &len, err)
                            : kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    // A UTF-8 byte order mark (spreadsheets write one) is not part of the first line.
    size_t bom = len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) ? 3 : 0;
    if (st == KEVO_OK)
        st = is_jsonl(path, text + bom, len - bom)
                 ? parse_jsonl(m, text + bom, len - bom, default_question, err)
                 : parse_csv(m, text + bom, len - bom, default_question, err);
    if (st == KEVO_OK && m->n == 0)
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: no items", path);
    if (st == KEVO_OK)
        st = check_unique(m, err);
    free(text);
    if (st != KEVO_OK) {
        kevo_manifest_free(m);
        return st;
    }
    *out = m;
    return KEVO_OK;
}

kevo_status kevo_manifest_write_item(const kevo_manifest *m, int i, const char *path,
                                     kevo_error *err)
{
    const entry *e = &m->items[i];
    cJSON *root = cJSON_CreateObject(), *refs = cJSON_CreateArray();
    if (root && refs) {
        cJSON_AddStringToObject(root, "id", e->id);
        cJSON_AddStringToObject(root, "image", e->image);
        cJSON_AddStringToObject(root, "question", e->question);
        for (int k = 0; k < e->n_references; k++)
            cJSON_AddItemToArray(refs, cJSON_CreateString(e->references[k]));
        cJSON_AddItemToObject(root, "references", refs);
        refs = NULL;
        cJSON_AddStringToObject(root, "manifest", m->path);
        cJSON_AddNumberToObject(root, "line", e->line);
    }
    cJSON_Delete(refs);
    char *text = root ? cJSON_Print(root) : NULL, *old = NULL;
    cJSON_Delete(root);
    if (!text)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    size_t len = strlen(text), old_len = 0;
    text[len++] = '\n';   // cJSON_Print leaves room for its NUL; end the file with a newline
    // A resumed batch rewrites nothing that is already there (no fsync an unchanged item).
    kevo_status st = KEVO_OK;
    if (!kevo_file_exists(path) || kevo_read_file(path, 1 << 20, &old, &old_len, NULL) ||
        old_len != len || memcmp(old, text, len) != 0)
        st = kevo_write_file(path, text, len, err);
    free(old);
    free(text);
    return st;
}
