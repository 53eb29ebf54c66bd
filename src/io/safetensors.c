// safetensors.c — a validating reader (mmap, no copies) and an atomic writer for safetensors.
//
// The reader follows the checks of the reference implementation (huggingface/safetensors,
// `Metadata::validate`): header length within the file, a JSON object of known dtypes, shapes
// whose element count times the dtype size equals the byte span, spans inside the data section
// that do not overlap. Every size product is overflow-checked in 64 bits. A tensor whose data is
// not aligned to its element size (possible when a writer did not pad the header to 8 bytes) is
// copied once into aligned memory, because the kernels read it through typed pointers.
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "base/error.h"
#include "base/fs.h"

#define HEADER_MAX (100u << 20)   // the reference reader's limit

struct kevo_safetensors {
    char *path;
    kevo_mapping map;
    kevo_tensor *tensors;     // sorted by name
    size_t n;
    char **names;             // owned copies of the names
    void **copies;            // aligned copies of misaligned tensors (n entries, mostly NULL)
    char **meta;              // key, value, key, value, ...
    size_t n_meta;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const kevo_tensor *)a)->name, ((const kevo_tensor *)b)->name);
}

static int by_offset(const void *a, const void *b)
{
    const kevo_tensor *x = *(const kevo_tensor *const *)a, *y = *(const kevo_tensor *const *)b;
    return x->file_offset < y->file_offset ? -1 : x->file_offset > y->file_offset;
}

// A JSON number that is an integer in [0, 2^53]: the range a double represents exactly.
static int json_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d)
        return 0;
    *out = (uint64_t)d;
    return 1;
}

// Parses one header entry into t (name and data pointer are filled by the caller).
static kevo_status parse_entry(const char *path, const cJSON *e, uint64_t data_size,
                               uint64_t data_start, kevo_tensor *t, uint64_t *begin,
                               kevo_error *err)
{
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%s': header entry is not an object",
                         path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "%s: tensor '%s': header entry needs \"dtype\" (string), \"shape\" and "
                         "\"data_offsets\" (arrays)", path, name);
    int dtype = kevo_dtype_parse(dt->valuestring);
    if (dtype < 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%s': unknown dtype \"%s\"", path,
                         name, dt->valuestring);
    t->dtype = (kevo_dtype)dtype;

    int n_dims = cJSON_GetArraySize(shape);
    if (n_dims > KEVO_MAX_DIMS)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%s': %d dimensions (at most %d)",
                         path, name, n_dims, KEVO_MAX_DIMS);
    t->n_dims = n_dims;
    uint64_t n_elems = 1;
    for (int i = 0; i < n_dims; i++) {
        uint64_t d;
        if (!json_u64(cJSON_GetArrayItem(shape, i), &d))
            return kevo_fail(err, KEVO_ERR_FORMAT,
                             "%s: tensor '%s': shape[%d] is not a non-negative integer", path,
                             name, i);
        if (d != 0 && n_elems > UINT64_MAX / d)
            return kevo_fail(err, KEVO_ERR_FORMAT,
                             "%s: tensor '%s': element count overflows 64 bits", path, name);
        n_elems *= d;
        t->shape[i] = (int64_t)d;
    }
    uint64_t esize = kevo_dtype_size(t->dtype);
    if (n_elems > UINT64_MAX / esize)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%s': byte size overflows 64 bits",
                         path, name);
    t->n_elems = n_elems;
    t->n_bytes = n_elems * esize;

    uint64_t b, end;
    if (cJSON_GetArraySize(offs) != 2 || !json_u64(cJSON_GetArrayItem(offs, 0), &b) ||
        !json_u64(cJSON_GetArrayItem(offs, 1), &end) || end < b)
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets must be [begin, end] with "
                         "0 <= begin <= end", path, name);
    if (end > data_size)
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets [%llu, %llu] exceed the data section of "
                         "%llu bytes (it starts at byte %llu; the file may be truncated)",
                         path, name, (unsigned long long)b, (unsigned long long)end,
                         (unsigned long long)data_size, (unsigned long long)data_start);
    if (end - b != t->n_bytes) {
        char dims[160] = "";
        for (int i = 0, o = 0; i < n_dims && o < (int)sizeof dims - 24; i++)
            o += snprintf(dims + o, sizeof dims - (size_t)o, "%s%lld", i ? ", " : "",
                          (long long)t->shape[i]);
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "%s: tensor '%s': %s [%s] needs %llu bytes but data_offsets [%llu, %llu] "
                         "span %llu (at byte %llu)", path, name, dt->valuestring, dims,
                         (unsigned long long)t->n_bytes, (unsigned long long)b,
                         (unsigned long long)end, (unsigned long long)(end - b),
                         (unsigned long long)(data_start + b));
    }
    *begin = b;
    t->file_offset = data_start + b;
    return KEVO_OK;
}

// Parses "__metadata__": a map of strings.
static kevo_status parse_metadata(kevo_safetensors *f, const cJSON *m, kevo_error *err)
{
    if (!cJSON_IsObject(m))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: \"__metadata__\" is not an object", f->path);
    if (f->meta)   // a second one would be counted into the first one's table
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: \"__metadata__\" appears twice", f->path);
    size_t n = (size_t)cJSON_GetArraySize(m);
    f->meta = calloc(2 * n + 1, sizeof *f->meta);
    if (!f->meta)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", f->path);
    const cJSON *kv;
    cJSON_ArrayForEach(kv, m) {
        if (!cJSON_IsString(kv))
            return kevo_fail(err, KEVO_ERR_FORMAT,
                             "%s: \"__metadata__\" value of \"%s\" is not a string", f->path,
                             kv->string);
        if (!(f->meta[2 * f->n_meta] = strdup(kv->string)) ||
            !(f->meta[2 * f->n_meta + 1] = strdup(kv->valuestring)))
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", f->path);
        f->n_meta++;
    }
    return KEVO_OK;
}

static kevo_status parse_header(kevo_safetensors *f, kevo_error *err)
{
    const char *path = f->path;
    const unsigned char *p = f->map.data;
    uint64_t size = f->map.size;
    if (size < 8)
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "%s: file is %llu bytes, too short for the 8-byte header length", path,
                         (unsigned long long)size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | p[i];
    if (hlen > size - 8)
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "%s: header length %llu (bytes 0-7) runs past the end of the file "
                         "(%llu bytes)", path, (unsigned long long)hlen, (unsigned long long)size);
    if (hlen > HEADER_MAX)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: header length %llu exceeds the %u-byte limit",
                         path, (unsigned long long)hlen, HEADER_MAX);
    const char *json = (const char *)p + 8;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)hlen, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json && at <= json + hlen ? (long)(at - (const char *)p) : 8;
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: header is not valid JSON (near byte %ld)",
                         path, off);
    }
    kevo_status st = KEVO_OK;
    for (const char *q = end; q && q < json + hlen; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r' && *q != '\0') {
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: unexpected bytes after the header JSON at "
                           "byte %ld", path, (long)(q - (const char *)p));
            goto done;
        }
    if (!cJSON_IsObject(root)) {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: header JSON is not an object", path);
        goto done;
    }

    uint64_t data_start = 8 + hlen, data_size = size - data_start;
    size_t n_entries = (size_t)cJSON_GetArraySize(root);
    f->tensors = calloc(n_entries + 1, sizeof *f->tensors);
    f->names = calloc(n_entries + 1, sizeof *f->names);
    f->copies = calloc(n_entries + 1, sizeof *f->copies);
    if (!f->tensors || !f->names || !f->copies) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory for %zu header entries", path,
                       n_entries);
        goto done;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if ((st = parse_metadata(f, e, err)) != KEVO_OK)
                goto done;
            continue;
        }
        kevo_tensor *t = &f->tensors[f->n];
        uint64_t begin = 0;
        if ((st = parse_entry(path, e, data_size, data_start, t, &begin, err)) != KEVO_OK)
            goto done;
        if (!(f->names[f->n] = strdup(e->string))) {
            st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        t->name = f->names[f->n];
        t->path = f->path;
        t->data = p + data_start + begin;
        f->n++;
    }

    // Spans must not overlap: sort views by offset and compare neighbours.
    const kevo_tensor **order = malloc((f->n + 1) * sizeof *order);
    if (!order) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < f->n; i++)
        order[i] = &f->tensors[i];
    qsort(order, f->n, sizeof *order, by_offset);
    for (size_t i = 1; i < f->n; i++) {
        const kevo_tensor *a = order[i - 1], *b = order[i];
        if (b->n_bytes && a->file_offset + a->n_bytes > b->file_offset) {
            st = kevo_fail(err, KEVO_ERR_FORMAT,
                           "%s: tensors '%s' (bytes %llu-%llu) and '%s' (from byte %llu) overlap",
                           path, a->name, (unsigned long long)a->file_offset,
                           (unsigned long long)(a->file_offset + a->n_bytes), b->name,
                           (unsigned long long)b->file_offset);
            break;
        }
    }
    free(order);
    if (st != KEVO_OK)
        goto done;

    qsort(f->tensors, f->n, sizeof *f->tensors, by_name);
    for (size_t i = 1; i < f->n; i++)
        if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0) {
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%s' appears twice in the header",
                           path, f->tensors[i].name);
            goto done;
        }

    // Copy the (rare) tensors whose data is not aligned to their element size.
    for (size_t i = 0; i < f->n; i++) {
        kevo_tensor *t = &f->tensors[i];
        size_t a = kevo_dtype_size(t->dtype);
        if (t->n_bytes == 0 || (uintptr_t)t->data % a == 0)
            continue;
        if (!(f->copies[i] = aligned_alloc(64, (t->n_bytes + 63) & ~(uint64_t)63))) {
            st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: tensor '%s': cannot copy %llu misaligned "
                           "bytes", path, t->name, (unsigned long long)t->n_bytes);
            goto done;
        }
        memcpy(f->copies[i], t->data, t->n_bytes);
        t->data = f->copies[i];
    }
done:
    cJSON_Delete(root);
    return st;
}

kevo_status kevo_safetensors_open(const char *path, kevo_safetensors **out, kevo_error *err)
{
    *out = NULL;
    kevo_safetensors *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    kevo_status st = kevo_map_file(path, &f->map, err);
    if (st == KEVO_OK)
        st = parse_header(f, err);
    if (st != KEVO_OK) {
        kevo_safetensors_free(f);
        return st;
    }
    *out = f;
    return KEVO_OK;
}

void kevo_safetensors_free(kevo_safetensors *f)
{
    if (!f)
        return;
    for (size_t i = 0; f->names && i < f->n; i++)
        free(f->names[i]);
    for (size_t i = 0; f->copies && i < f->n; i++)
        free(f->copies[i]);
    for (size_t i = 0; f->meta && i < 2 * f->n_meta; i++)
        free(f->meta[i]);
    free(f->names);
    free(f->copies);
    free(f->meta);
    free(f->tensors);
    kevo_unmap(&f->map);
    free(f->path);
    free(f);
}

uint64_t kevo_safetensors_file_size(const kevo_safetensors *f)
{
    return f->map.size;
}

size_t kevo_safetensors_count(const kevo_safetensors *f)
{
    return f->n;
}

const kevo_tensor *kevo_safetensors_at(const kevo_safetensors *f, size_t i)
{
    return i < f->n ? &f->tensors[i] : NULL;
}

const kevo_tensor *kevo_safetensors_find(const kevo_safetensors *f, const char *name)
{
    kevo_tensor key = {.name = name};
    return bsearch(&key, f->tensors, f->n, sizeof *f->tensors, by_name);
}

const char *kevo_safetensors_metadata(const kevo_safetensors *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[2 * i], key) == 0)
            return f->meta[2 * i + 1];
    return NULL;
}

// ---------------------------------------------------------------------------------------------
// Writing

static int add_number(cJSON *array, double v)
{
    cJSON *num = cJSON_CreateNumber(v);
    return num && cJSON_AddItemToArray(array, num);
}

kevo_status kevo_safetensors_write(const char *path, const kevo_tensor_out *tensors, int n,
                                   const char *const *meta, int n_meta, kevo_error *err)
{
    kevo_status st = KEVO_OK;
    cJSON *root = cJSON_CreateObject();
    char *json = NULL;
    kevo_outfile *out = NULL;
    if (!root)
        goto nomem;
    if (n_meta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        if (!m)
            goto nomem;
        for (int i = 0; i < n_meta; i++)
            if (!cJSON_AddStringToObject(m, meta[2 * i], meta[2 * i + 1]))
                goto nomem;
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        const kevo_tensor_out *t = &tensors[i];
        uint64_t bytes = kevo_dtype_size(t->dtype);
        for (int d = 0; d < t->n_dims; d++)
            bytes *= (uint64_t)t->shape[d];
        cJSON *e = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
        cJSON *offs = shape ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
        if (!offs || !cJSON_AddStringToObject(e, "dtype", kevo_dtype_name(t->dtype)))
            goto nomem;
        for (int d = 0; d < t->n_dims; d++)
            if (!add_number(shape, (double)t->shape[d]))
                goto nomem;
        if (!add_number(offs, (double)offset) || !add_number(offs, (double)(offset + bytes)))
            goto nomem;
        offset += bytes;
    }
    if (!(json = cJSON_PrintUnformatted(root)))
        goto nomem;
    // Pad the header with spaces so the data section starts 8-byte aligned, as the reference does.
    size_t hlen = strlen(json), padded = (hlen + 7) & ~(size_t)7;
    if ((st = kevo_outfile_open(path, &out, err)) != KEVO_OK)
        goto done;
    FILE *s = kevo_outfile_stream(out);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    errno = 0;
    int ok = fwrite(len8, 1, 8, s) == 8 && fwrite(json, 1, hlen, s) == hlen;
    for (size_t i = hlen; ok && i < padded; i++)
        ok = fputc(' ', s) != EOF;
    for (int i = 0; ok && i < n; i++) {
        size_t bytes = kevo_dtype_size(tensors[i].dtype);
        for (int d = 0; d < tensors[i].n_dims; d++)
            bytes *= (size_t)tensors[i].shape[d];
        ok = bytes == 0 || fwrite(tensors[i].data, 1, bytes, s) == bytes;
    }
    if (!ok) {
        int why = errno ? errno : EIO;   // the stream's error, before the abort's calls
        kevo_outfile_abort(out);
        st = kevo_fail(err, KEVO_ERR_IO, "%s: write failed: %s", path, strerror(why));
        goto done;
    }
    st = kevo_outfile_commit(out, err);
    goto done;
nomem:
    st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory building the header", path);
done:
    free(json);
    cJSON_Delete(root);
    return st;
}
