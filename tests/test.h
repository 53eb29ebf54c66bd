// test.h — kevo's test harness: named tests, checks that report and continue, oracle helpers.
//
//     KEVO_TEST(safetensors_roundtrip) {
//         CHECK(n == 3, "expected 3 tensors, got %d", n);
//     }
//
// Every test runs in its own process (a crash fails that test only). `kevo-test [NAME...]` runs
// the tests whose names start with one of the NAMEs; the last line is "N passed, N failed".
// Tests find generated data (fixture models, oracle outputs) under $KEVO_DATA and the CLI binary
// at $KEVO_BIN; a test that lacks its reference data fails, it never skips.
#ifndef KEVO_TESTS_TEST_H
#define KEVO_TESTS_TEST_H

#include <stddef.h>

#include "kevo.h"

typedef struct kevo_test_case {
    const char *name;
    void (*fn)(void);
} kevo_test_case;

extern const kevo_test_case kevo_tests[];   // generated registry, ends with {0, 0}

#define KEVO_TEST(name) void kevo_test__##name(void)

// Records a failure (with file:line and the formatted message) when cond is false; returns cond.
int kevo_check(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define CHECK(cond, ...) kevo_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

// Checks that a call succeeded, printing err.msg when it did not.
#define CHECK_OK(call, err) \
    kevo_check((call) == KEVO_OK, __FILE__, __LINE__, "%s failed: %s", #call, (err)->msg)

// Compares n floats with |got - want| <= atol + rtol * |want| everywhere; prints the name, the
// worst element, the max abs and relative differences and the tolerance. Returns 1 when close.
int kevo_check_close(const char *name, const float *got, const float *want, size_t n,
                     double atol, double rtol, const char *file, int line);
#define CHECK_CLOSE(name, got, want, n, atol, rtol) \
    kevo_check_close(name, got, want, n, atol, rtol, __FILE__, __LINE__)

// The oracle tolerance of the engine: over `rows` vectors of n floats, the largest of
// max|got - want| / max|want| per vector (kevo_test_row_error, which also names the row) (a feature row, one hidden state of one step) must be
// at most rel_tol; prints the worst row otherwise (and with KEVO_TEST_VERBOSE always).
// The oracles' TSV fields: hex text ("-" empty) as a NUL-terminated heap buffer, and
// space-separated ids ("-" none) as a heap array.
char *kevo_test_unhex(const char *s, size_t n, size_t *out_len);
int *kevo_test_parse_ids(const char *s, size_t n, int *count);

double kevo_test_row_error(const float *got, const float *want, size_t rows, size_t n,
                           size_t *worst_row);
int kevo_check_rows(const char *name, const float *got, const float *want, size_t rows, size_t n,
                    double rel_tol, const char *file, int line);
#define CHECK_ROWS(name, got, want, rows, n, rel_tol) \
    kevo_check_rows(name, got, want, rows, n, rel_tol, __FILE__, __LINE__)

// A fresh empty directory for this test (removed after the run when everything passed).
const char *kevo_test_tmpdir(void);
// NAME inside this test's directory, in one of 4 static buffers (reused every 4th call).
const char *kevo_test_tmp(const char *name);
// A copy of the oracle run folder oracle/engine/FIXTURE/CASE.run at kevo_test_tmp(DST), so that
// outputs written into it never touch the oracle; returns its path (as kevo_test_tmp).
const char *kevo_test_copy_run(const char *fixture, const char *run_case, const char *dst);
// A 2-D F32 .npy file as a new row-major matrix (caller frees), or NULL after a failed check.
float *kevo_test_read_matrix(const char *path, int *rows, int *cols);
// The number of '\n' in a file (0 when it cannot be read).
int kevo_test_count_lines(const char *path);
// $KEVO_DATA/rel into a static buffer (overwritten by the next call).
const char *kevo_test_data(const char *rel);
// Runs `$KEVO_BIN <args>` through /bin/sh; captures stdout and stderr (heap strings the
// caller frees; either pointer may be NULL) and returns the exit status (-1 on a signal).
int kevo_test_cli(char **out, char **err, const char *args_fmt, ...)
    __attribute__((format(printf, 3, 4)));
// Reads a whole file (NUL-terminated heap string) or returns NULL.
char *kevo_test_slurp(const char *path, size_t *len);
// Writes bytes to a file; returns 1 on success.
int kevo_test_write(const char *path, const void *data, size_t len);
// Substring test that tolerates NULL.
int kevo_test_contains(const char *haystack, const char *needle);

#endif
