// json.c — JSON files through cJSON, with typed key reads that explain what is wrong.
#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"

kevo_status kevo_json_parse(const char *text, size_t len, const char *name, cJSON **out,
                            kevo_error *err)
{
    *out = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    const char *bad = root ? NULL : cJSON_GetErrorPtr();
    if (root)   // only whitespace may follow the value
        for (const char *q = end; q < text + len; q++)
            if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
                bad = q;
                break;
            }
    if (!root || bad) {
        cJSON_Delete(root);
        if (!bad || bad < text || bad > text + len)
            bad = text + len;
        int line = 1, col = 1;
        for (const char *q = text; q < bad; q++, col++)
            if (*q == '\n')
                line++, col = 0;
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: invalid JSON at line %d, column %d (byte %ld)",
                         name, line, col, (long)(bad - text));
    }
    *out = root;
    return KEVO_OK;
}

kevo_status kevo_json_load(const char *path, size_t max_bytes, cJSON **out, kevo_error *err)
{
    char *text;
    size_t len;
    *out = NULL;
    kevo_status st = kevo_read_file(path, max_bytes, &text, &len, err);
    if (st != KEVO_OK)
        return st;
    st = kevo_json_parse(text, len, path, out, err);
    free(text);
    return st;
}

// The item for `key`, NULL when absent or JSON null.
static const cJSON *item(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

const char *kevo_json_key(char *buf, size_t size, const char *where, const char *key)
{
    size_t n = strlen(where);
    kevo_error_head(buf, size, "%s%s%s", where, n && where[n - 1] == ':' ? " " : ".", key);
    return buf;
}

static kevo_status bad(kevo_error *err, const char *where, const char *key, const char *what)
{
    char k[KEVO_ERROR_MAX];
    return kevo_fail(err, KEVO_ERR_CONFIG, "%s %s", kevo_json_key(k, sizeof k, where, key), what);
}

static kevo_status missing(const char *where, const char *key, kevo_error *err)
{
    return bad(err, where, key, "is missing and has no default");
}

kevo_status kevo_json_int(const cJSON *obj, const char *key, int has_default, long long def,
                          long long *out, const char *where, kevo_error *err)
{
    const cJSON *v = item(obj, key);
    if (!v) {
        *out = def;
        return has_default ? KEVO_OK : missing(where, key, err);
    }
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || floor(d) != d || fabs(d) > 9007199254740992.0)
        return bad(err, where, key, "must be an integer");
    *out = (long long)d;
    return KEVO_OK;
}

kevo_status kevo_json_num(const cJSON *obj, const char *key, int has_default, double def,
                          double *out, const char *where, kevo_error *err)
{
    const cJSON *v = item(obj, key);
    if (!v) {
        *out = def;
        return has_default ? KEVO_OK : missing(where, key, err);
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return bad(err, where, key, "must be a finite number");
    *out = v->valuedouble;
    return KEVO_OK;
}

kevo_status kevo_json_bool(const cJSON *obj, const char *key, int has_default, int def, int *out,
                           const char *where, kevo_error *err)
{
    const cJSON *v = item(obj, key);
    if (!v) {
        *out = def;
        return has_default ? KEVO_OK : missing(where, key, err);
    }
    if (!cJSON_IsBool(v))
        return bad(err, where, key, "must be true or false");
    *out = cJSON_IsTrue(v);
    return KEVO_OK;
}

kevo_status kevo_json_str(const cJSON *obj, const char *key, int has_default, const char *def,
                          const char **out, const char *where, kevo_error *err)
{
    const cJSON *v = item(obj, key);
    if (!v) {
        *out = def;
        return has_default ? KEVO_OK : missing(where, key, err);
    }
    if (!cJSON_IsString(v))
        return bad(err, where, key, "must be a string");
    *out = v->valuestring;
    return KEVO_OK;
}

kevo_status kevo_json_save(cJSON *root, const char *path, kevo_error *err)
{
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n';   // cJSON_Print leaves room for its NUL; end the file with a newline
    kevo_status st = kevo_write_file(path, text, len + 1, err);
    free(text);
    return st;
}
