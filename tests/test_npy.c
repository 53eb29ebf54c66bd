// test_npy.c — the .npy reader and writer: numpy's own files, round trips, hostile headers.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/npy.h"
#include "test.h"

static const char *tmp_file(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", kevo_test_tmpdir(), name);
    return path;
}

// A .npy file from a header dict (padded like numpy's) and raw data.
static const char *raw_npy(const char *name, int major, const char *dict, const void *data,
                           size_t len)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hlen = (pre + dl + 1 + 63) / 64 * 64 - pre;
    unsigned char *buf = calloc(1, pre + hlen + len);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    memset(buf + pre, ' ', hlen);
    memcpy(buf + pre, dict, dl);
    buf[pre + hlen - 1] = '\n';
    if (len)
        memcpy(buf + pre + hlen, data, len);
    const char *path = tmp_file(name);
    kevo_test_write(path, buf, pre + hlen + len);
    free(buf);
    return path;
}

KEVO_TEST(npy_reads_numpy_files)
{
    kevo_error err;
    kevo_npy *f;
    // np.asfortranarray(np.arange(24, dtype=np.float32).reshape(4, 6)): stored column-major.
    if (CHECK_OK(kevo_npy_open(kevo_test_data("oracle/tsne/fortran.npy"), &f, &err), &err)) {
        const kevo_tensor *t = kevo_npy_tensor(f);
        int ok = t->dtype == KEVO_DTYPE_F32 && t->n_dims == 2 && t->shape[0] == 4 &&
                 t->shape[1] == 6;
        for (int i = 0; ok && i < 24; i++)
            ok = ((const float *)t->data)[i] == (float)i;
        CHECK(ok, "Fortran-order array not read back in C order");
        kevo_npy_free(f);
    }
    // np.linspace(-1, 1, 12).reshape(3, 4), float64.
    if (CHECK_OK(kevo_npy_open(kevo_test_data("oracle/tsne/f64.npy"), &f, &err), &err)) {
        const kevo_tensor *t = kevo_npy_tensor(f);
        int ok = t->dtype == KEVO_DTYPE_F64 && t->shape[0] == 3 && t->shape[1] == 4;
        for (int i = 0; ok && i < 12; i++)
            ok = ((const double *)t->data)[i] == -1.0 + 2.0 * i / 11.0 ||
                 ((const double *)t->data)[i] - (-1.0 + 2.0 * i / 11.0) < 1e-15;
        CHECK(ok, "float64 values differ from linspace(-1, 1, 12)");
        kevo_npy_free(f);
    }
}

KEVO_TEST(npy_roundtrip)
{
    float a[6] = {1.5f, -2, 3.25f, 0, -0.0f, 1e-30f};
    int64_t shapes[3][2] = {{2, 3}, {6, 0}, {0, 0}};
    int dims[3] = {2, 1, 0};
    const char *heads[3] = {"'shape': (2, 3), }", "'shape': (6,), }", "'shape': (), }"};
    kevo_error err;
    for (int c = 0; c < 3; c++) {
        const char *path = tmp_file("rt.npy");
        if (!CHECK_OK(kevo_npy_write(path, KEVO_DTYPE_F32, dims[c], shapes[c], a, &err), &err))
            continue;
        size_t len;
        char *raw = kevo_test_slurp(path, &len);
        size_t data = dims[c] == 0 ? 4 : 24;
        CHECK(raw && len > data && (len - data) % 64 == 0 && strstr(raw + 10, heads[c]),
              "header of a %d-D array: %.80s", dims[c], raw ? raw + 10 : "");
        free(raw);
        kevo_npy *f;
        if (CHECK_OK(kevo_npy_open(path, &f, &err), &err)) {
            const kevo_tensor *t = kevo_npy_tensor(f);
            size_t n = dims[c] == 2 ? 6 : dims[c] == 1 ? 6 : 1;
            CHECK(t->n_dims == dims[c] && t->n_elems == n && !memcmp(t->data, a, 4 * n),
                  "%d-D round trip differs", dims[c]);
            kevo_npy_free(f);
        }
    }
}

static void expect_bad(const char *label, const char *path, const char *needle)
{
    kevo_error err = {0};
    kevo_npy *f = NULL;
    kevo_status st = kevo_npy_open(path, &f, &err);
    CHECK(st == KEVO_ERR_FORMAT || st == KEVO_ERR_IO, "%s: status %d; %s", label, st, err.msg);
    CHECK(f == NULL, "%s: a failed open returned an object", label);
    CHECK(kevo_test_contains(err.msg, needle) && kevo_test_contains(err.msg, path),
          "%s: message '%s' lacks '%s' or the path", label, err.msg, needle);
}

KEVO_TEST(npy_rejects_hostile_files)
{
    float v[4] = {1, 2, 3, 4};
    kevo_test_write(tmp_file("a.npy"), "PK\x03\x04 this is a zip file", 24);
    expect_bad("no magic", tmp_file("a.npy"), "magic");
    kevo_test_write(tmp_file("b.npy"), "\x93NUMPY\x01\x00\xff\x7f{", 11);
    expect_bad("header past the end", tmp_file("b.npy"), "exceeds the file");
    expect_bad("big-endian", raw_npy("c.npy", 1,
               "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", v, 16), "'>f4'");
    expect_bad("complex", raw_npy("d.npy", 1,
               "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", v, 16), "'<c8'");
    expect_bad("structured", raw_npy("e.npy", 1,
               "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", v, 16),
               "structured");
    expect_bad("missing key", raw_npy("f.npy", 1, "{'descr': '<f4', 'shape': (4,), }", v, 16),
               "lacks");
    expect_bad("negative dim", raw_npy("g.npy", 1,
               "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", v, 16), "shape");
    expect_bad("short data", raw_npy("h.npy", 2,
               "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", v, 16), "promises");
    expect_bad("long data", raw_npy("i.npy", 1,
               "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, 16), "promises");
    expect_bad("overflow", raw_npy("j.npy", 1, "{'descr': '<f8', 'fortran_order': False, "
               "'shape': (4294967296, 4294967296), }", v, 16), "overflows");
    expect_bad("version 9", raw_npy("k.npy", 9, "{}", NULL, 0), "version");
    expect_bad("garbage", raw_npy("l.npy", 1, "{'descr': '<f4' 'shape'}", v, 16), "malformed");
    // Version 2.0 (u32 header length) is fine.
    kevo_error err;
    kevo_npy *f;
    const char *ok = raw_npy("m.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': "
                             "(2, 2), }", v, 16);
    if (CHECK_OK(kevo_npy_open(ok, &f, &err), &err))
        kevo_npy_free(f);
}
