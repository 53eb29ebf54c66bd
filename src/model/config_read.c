// config_read.c — typed reads of a configuration section (see config_read.h).
#include "model/config_read.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "base/error.h"

// "path: section.key" for messages about `key` in r's section.
const char *kevo_cfg_key(kevo_cfg_reader *r, const char *key)
{
    return kevo_json_key(r->key, sizeof r->key, r->where, key);
}

// An integer key in [lo, hi]; `def` applies when has_default and the key is absent.
kevo_status kevo_cfg_int(kevo_cfg_reader *r, const char *key, int has_default, long long def,
                         long long lo, long long hi, int *out)
{
    long long v;
    kevo_status st = kevo_json_int(r->obj, key, has_default, def, &v, r->where, r->err);
    if (st != KEVO_OK)
        return st;
    if (v < lo || v > hi)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = %lld is outside [%lld, %lld]",
                         kevo_cfg_key(r, key), v, lo, hi);
    *out = (int)v;
    return KEVO_OK;
}

// Whether v stays finite as a 32-bit float. Tested on the double: converting a double beyond
// FLT_MAX to float is undefined (C11 6.3.1.5), and GCC folds isfinite((float)v) to isfinite(v).
int kevo_cfg_fits_float(double v)
{
    return fabs(v) <= FLT_MAX;
}

kevo_status kevo_cfg_pos_float(kevo_cfg_reader *r, const char *key, double def, float *out)
{
    double v;
    kevo_status st = kevo_json_num(r->obj, key, 1, def, &v, r->where, r->err);
    if (st != KEVO_OK)
        return st;
    if (!(v > 0))
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = %g must be positive", kevo_cfg_key(r, key),
                         v);
    if (!kevo_cfg_fits_float(v) || (float)v == 0) // kevo computes in float
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = %g is %s as a 32-bit float",
                         kevo_cfg_key(r, key), v, kevo_cfg_fits_float(v) ? "zero" : "infinite");
    *out = (float)v;
    return KEVO_OK;
}

// A boolean feature kevo does not implement must be false.
kevo_status kevo_cfg_false(kevo_cfg_reader *r, const char *key, const char *what)
{
    int v;
    kevo_status st = kevo_json_bool(r->obj, key, 1, 0, &v, r->where, r->err);
    if (st == KEVO_OK && v)
        st = kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = true (%s) is not supported",
                       kevo_cfg_key(r, key), what);
    return st;
}

kevo_status kevo_cfg_str_is(kevo_cfg_reader *r, const char *key, const char *def, const char *want1,
                            const char *want2)
{
    const char *v;
    kevo_status st = kevo_json_str(r->obj, key, 1, def, &v, r->where, r->err);
    if (st == KEVO_OK && strcmp(v, want1) != 0 && (!want2 || strcmp(v, want2) != 0))
        st = kevo_fail(r->err, KEVO_ERR_CONFIG,
                       "%s = \"%s\" is not supported (expected "
                       "\"%s\"%s%s%s)",
                       kevo_cfg_key(r, key), v, want1, want2 ? " or \"" : "", want2 ? want2 : "",
                       want2 ? "\"" : "");
    return st;
}

kevo_status kevo_cfg_vision_act(kevo_cfg_reader *r, int *gelu_exact)
{
    const char *act;
    kevo_status st = kevo_json_str(r->obj, "hidden_act", 1, "quick_gelu", &act, r->where, r->err);
    if (st == KEVO_OK && strcmp(act, "quick_gelu") && strcmp(act, "gelu"))
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s = \"%s\" is not supported (expected "
                         "\"quick_gelu\" or \"gelu\")", kevo_cfg_key(r, "hidden_act"), act);
    if (st == KEVO_OK)
        *gelu_exact = strcmp(act, "gelu") == 0;
    return st;
}

void kevo_cfg_sub(kevo_cfg_reader *sub, const kevo_cfg_reader *parent, const cJSON *obj,
                  const char *key)
{
    sub->obj = obj;
    sub->err = parent->err;
    kevo_json_key(sub->where, sizeof sub->where, parent->where, key);
}

kevo_status kevo_cfg_pinpoints(kevo_cfg_reader *r, const char *key, int tile,
                               const char *tile_name, int (*out)[2], int *n_out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    *n_out = 0;
    if (!v || cJSON_IsNull(v))
        return KEVO_OK;
    if (!cJSON_IsArray(v))
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s must be a list of [height, width] lists",
                         kevo_cfg_key(r, key));
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > KEVO_PINPOINTS_MAX)
        return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s has %d entries (kevo reads 1 to %d)",
                         kevo_cfg_key(r, key), n, KEVO_PINPOINTS_MAX);
    for (int i = 0; i < n; i++) {
        const cJSON *p = cJSON_GetArrayItem(v, i);
        if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2)
            return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s[%d] is not a [height, width] list",
                             kevo_cfg_key(r, key), i);
        for (int j = 0; j < 2; j++) {
            const cJSON *x = cJSON_GetArrayItem(p, j);
            double d = cJSON_IsNumber(x) ? x->valuedouble : 0;
            if (!cJSON_IsNumber(x) || d != floor(d) || d < 1 || d > 1 << 16)
                return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s[%d][%d] must be an integer in "
                                 "[1, 65536]", kevo_cfg_key(r, key), i, j);
            if ((int)d % tile)
                return kevo_fail(r->err, KEVO_ERR_CONFIG, "%s[%d][%d] = %d (a %s) is not a "
                                 "multiple of %s %d (kevo tiles whole tiles)",
                                 kevo_cfg_key(r, key), i, j, (int)d, j ? "width" : "height",
                                 tile_name, tile);
            out[i][j] = (int)d;
        }
    }
    *n_out = n;
    return KEVO_OK;
}
