// npy.c — a validating .npy reader (mapped) and an atomic writer.
//
// Follows numpy/lib/format.py: magic "\x93NUMPY", version 1.0 (u16 header length) or 2.0/3.0
// (u32), a dict literal with exactly the keys 'descr', 'fortran_order' and 'shape'. Only simple
// little-endian (or byte-sized) numeric descr strings are accepted; structured and object arrays
// are refused. The data size implied by the header must equal the bytes left in the file.
#include "io/npy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6

struct kevo_npy {
    char *path;
    kevo_mapping map;
    kevo_tensor t;
    void *copy;   // C-order or aligned copy of the data, or NULL when t.data points into map
};

static const struct {
    const char *descr;
    kevo_dtype dtype;
} descrs[] = {
    {"<f4", KEVO_DTYPE_F32}, {"<f8", KEVO_DTYPE_F64}, {"<f2", KEVO_DTYPE_F16},
    {"<i4", KEVO_DTYPE_I32}, {"<i8", KEVO_DTYPE_I64}, {"<i2", KEVO_DTYPE_I16},
    {"<u4", KEVO_DTYPE_U32}, {"<u8", KEVO_DTYPE_U64}, {"<u2", KEVO_DTYPE_U16},
    {"|u1", KEVO_DTYPE_U8},  {"|i1", KEVO_DTYPE_I8},  {"|b1", KEVO_DTYPE_BOOL},
};
#define N_DESCRS (int)(sizeof descrs / sizeof descrs[0])

// ---- the header dict: a tiny strict parser for the literal numpy writes

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && isspace((unsigned char)*c->p))
        c->p++;
}

static int accept(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

// A quoted string ('...' or "...") without escapes, copied into buf.
static int parse_string(cursor *c, char *buf, size_t size)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= size)
            return 0;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    buf[n] = '\0';
    return 1;
}

static int parse_word(cursor *c, const char *word)
{
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

// A tuple of non-negative integers: "()", "(3,)", "(3, 4)".
static int parse_shape(cursor *c, int64_t *shape, int *n_dims)
{
    *n_dims = 0;
    if (!accept(c, '('))
        return 0;
    for (;;) {
        if (accept(c, ')'))
            return 1;
        skip_space(c);
        if (c->p >= c->end || !isdigit((unsigned char)*c->p) || *n_dims >= KEVO_MAX_DIMS)
            return 0;
        int64_t v = 0;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            if (v > (INT64_MAX - 9) / 10)
                return 0;
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L')   // Python 2 writers
            c->p++;
        shape[(*n_dims)++] = v;
        if (!accept(c, ',')) {
            if (!accept(c, ')'))
                return 0;
            return 1;
        }
    }
}

static kevo_status parse_header(kevo_npy *f, const char *h, size_t len, int *fortran,
                                kevo_error *err)
{
    cursor c = {h, h + len};
    char key[32], descr[32] = "";
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!accept(&c, '{'))
        goto bad;
    while (!accept(&c, '}')) {
        if (!parse_string(&c, key, sizeof key) || !accept(&c, ':'))
            goto bad;
        if (!strcmp(key, "descr")) {
            if (!parse_string(&c, descr, sizeof descr))
                return kevo_fail(err, KEVO_ERR_FORMAT,
                                 "%s: 'descr' is not a simple type string (structured arrays "
                                 "are not supported)", f->path);
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (parse_word(&c, "True"))
                *fortran = 1;
            else if (parse_word(&c, "False"))
                *fortran = 0;
            else
                goto bad;
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (!parse_shape(&c, f->t.shape, &f->t.n_dims))
                return kevo_fail(err, KEVO_ERR_FORMAT,
                                 "%s: 'shape' is not a tuple of at most %d non-negative integers",
                                 f->path, KEVO_MAX_DIMS);
            have_shape = 1;
        } else {
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: unexpected header key '%s'", f->path,
                             key);
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}'))
                goto bad;
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "%s: the header lacks one of 'descr', 'fortran_order', 'shape'", f->path);
    for (int i = 0; i < N_DESCRS; i++)
        if (!strcmp(descr, descrs[i].descr)) {
            f->t.dtype = descrs[i].dtype;
            return KEVO_OK;
        }
    // '=' and '<' are the same on the little-endian hosts kevo supports; '|' only for bytes.
    if (descr[0] == '=' || descr[0] == '|') {
        char alt[32];
        snprintf(alt, sizeof alt, "<%s", descr + 1);
        for (int i = 0; i < N_DESCRS; i++)
            if (!strcmp(alt, descrs[i].descr)) {
                f->t.dtype = descrs[i].dtype;
                return KEVO_OK;
            }
    }
    return kevo_fail(err, KEVO_ERR_FORMAT,
                     "%s: unsupported dtype '%s' (little-endian float, int, uint or bool only)",
                     f->path, descr);
bad:
    return kevo_fail(err, KEVO_ERR_FORMAT, "%s: malformed header dict near byte %zu", f->path,
                     (size_t)(c.p - h) + 10);
}

// Copies a Fortran-order array (first index fastest) into C order (last index fastest).
static void fortran_to_c(void *dst, const void *src, const kevo_tensor *t)
{
    size_t es = kevo_dtype_size(t->dtype);
    int64_t idx[KEVO_MAX_DIMS] = {0};
    for (uint64_t c = 0; c < t->n_elems; c++) {
        // idx walks C order; the Fortran offset of idx is sum idx[k] * prod(shape[<k]).
        uint64_t off = 0, stride = 1;
        for (int k = 0; k < t->n_dims; k++) {
            off += (uint64_t)idx[k] * stride;
            stride *= (uint64_t)t->shape[k];
        }
        memcpy((char *)dst + c * es, (const char *)src + off * es, es);
        for (int k = t->n_dims - 1; k >= 0; k--) {
            if (++idx[k] < t->shape[k])
                break;
            idx[k] = 0;
        }
    }
}

kevo_status kevo_npy_open(const char *path, kevo_npy **out, kevo_error *err)
{
    *out = NULL;
    kevo_npy *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    kevo_status st = kevo_map_file(path, &f->map, err);
    if (st != KEVO_OK)
        goto fail;
    const unsigned char *m = f->map.data;
    size_t size = f->map.size;
    if (size < 10 || memcmp(m, MAGIC, MAGIC_LEN) != 0) {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", path);
        goto fail;
    }
    int major = m[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)m[8] | (size_t)m[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) {
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: truncated header", path);
            goto fail;
        }
        hlen = (size_t)m[8] | (size_t)m[9] << 8 | (size_t)m[10] << 16 | (size_t)m[11] << 24;
        hstart = 12;
    } else {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: unsupported .npy format version %d.%d", path,
                       major, m[7]);
        goto fail;
    }
    if (hlen > size - hstart) {
        st = kevo_fail(err, KEVO_ERR_FORMAT,
                       "%s: header length %zu exceeds the file (%zu bytes after byte %zu)", path,
                       hlen, size - hstart, hstart);
        goto fail;
    }
    int fortran = 0;
    if ((st = parse_header(f, (const char *)m + hstart, hlen, &fortran, err)) != KEVO_OK)
        goto fail;

    uint64_t n_elems = 1;
    for (int i = 0; i < f->t.n_dims; i++) {
        uint64_t d = (uint64_t)f->t.shape[i];
        if (d != 0 && n_elems > UINT64_MAX / d) {
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: element count overflows 64 bits", path);
            goto fail;
        }
        n_elems *= d;
    }
    uint64_t es = kevo_dtype_size(f->t.dtype);
    if (n_elems > UINT64_MAX / es) {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: byte size overflows 64 bits", path);
        goto fail;
    }
    size_t data_start = hstart + hlen;
    f->t.n_elems = n_elems;
    f->t.n_bytes = n_elems * es;
    f->t.file_offset = data_start;
    f->t.path = f->path;
    f->t.name = kevo_path_base(f->path);
    if (f->t.n_bytes != size - data_start) {
        st = kevo_fail(err, KEVO_ERR_FORMAT,
                       "%s: the header promises %llu data bytes but %zu follow it (from byte "
                       "%zu)", path, (unsigned long long)f->t.n_bytes, size - data_start,
                       data_start);
        goto fail;
    }
    const void *data = m + data_start;
    if (f->t.n_bytes && (fortran || (uintptr_t)data % es != 0)) {
        if (!(f->copy = malloc(f->t.n_bytes))) {
            st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: cannot copy %llu bytes", path,
                           (unsigned long long)f->t.n_bytes);
            goto fail;
        }
        if (fortran)
            fortran_to_c(f->copy, data, &f->t);
        else
            memcpy(f->copy, data, f->t.n_bytes);
        data = f->copy;
    }
    f->t.data = f->t.n_bytes ? data : NULL;
    *out = f;
    return KEVO_OK;
fail:
    kevo_npy_free(f);
    return st;
}

void kevo_npy_free(kevo_npy *f)
{
    if (!f)
        return;
    kevo_unmap(&f->map);
    free(f->copy);
    free(f->path);
    free(f);
}

const kevo_tensor *kevo_npy_tensor(const kevo_npy *f)
{
    return &f->t;
}

kevo_status kevo_npy_write(const char *path, kevo_dtype dtype, int n_dims, const int64_t *shape,
                           const void *data, kevo_error *err)
{
    const char *descr = NULL;
    for (int i = 0; i < N_DESCRS; i++)
        if (descrs[i].dtype == dtype)
            descr = descrs[i].descr;
    if (!descr)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: dtype %s cannot be written to .npy", path,
                         kevo_dtype_name(dtype));
    if (n_dims < 0 || n_dims > KEVO_MAX_DIMS)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: %d dimensions", path, n_dims);
    char header[512];
    int o = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     descr);
    uint64_t n_elems = 1;
    for (int i = 0; i < n_dims; i++) {
        if (shape[i] < 0)
            return kevo_fail(err, KEVO_ERR_ARG, "%s: negative shape[%d]", path, i);
        n_elems *= (uint64_t)shape[i];
        o += snprintf(header + o, sizeof header - (size_t)o, "%lld%s", (long long)shape[i],
                      n_dims == 1 ? "," : i + 1 < n_dims ? ", " : "");
    }
    o += snprintf(header + o, sizeof header - (size_t)o, "), }");
    // Pad with spaces and end with '\n' so that the data starts at a multiple of 64 bytes.
    size_t total = ((size_t)10 + (size_t)o + 1 + 63) / 64 * 64;
    size_t hlen = total - 10;
    memset(header + o, ' ', hlen - (size_t)o - 1);
    header[hlen - 1] = '\n';

    kevo_outfile *out = NULL;
    kevo_status st = kevo_outfile_open(path, &out, err);
    if (st != KEVO_OK)
        return st;
    FILE *s = kevo_outfile_stream(out);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    size_t nbytes = (size_t)n_elems * kevo_dtype_size(dtype);
    if (fwrite(pre, 1, sizeof pre, s) != sizeof pre || fwrite(header, 1, hlen, s) != hlen ||
        (nbytes && fwrite(data, 1, nbytes, s) != nbytes)) {
        kevo_outfile_abort(out);
        return kevo_fail(err, KEVO_ERR_IO, "%s: write failed", path);
    }
    return kevo_outfile_commit(out, err);
}
