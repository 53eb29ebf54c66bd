// main.c — the kevo-test runner: one forked process per test, a closing "N passed, N failed".
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/npy.h"
#include "kernels/cpu.h"
#include "test.h"

#define TEST_TIMEOUT_S 900

static int n_failed_checks;        // in the child: failed checks of the running test
static char tmp_root[512];         // one directory per run
static char test_dir[1024];        // one directory per test, inside tmp_root

int kevo_check(int cond, const char *file, int line, const char *fmt, ...)
{
    if (cond)
        return 1;
    n_failed_checks++;
    va_list ap;
    va_start(ap, fmt);
    printf("    %s:%d: ", file, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    return 0;
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

char *kevo_test_unhex(const char *s, size_t n, size_t *out_len)
{
    if (n == 1 && s[0] == '-')
        n = 0;
    char *b = malloc(n / 2 + 1);
    for (size_t i = 0; i + 1 < n; i += 2)
        b[i / 2] = (char)(hexval(s[i]) << 4 | hexval(s[i + 1]));
    b[n / 2] = '\0';
    *out_len = n / 2;
    return b;
}

int *kevo_test_parse_ids(const char *s, size_t n, int *count)
{
    int *ids = malloc((n / 2 + 1) * sizeof *ids), k = 0;
    if (!(n == 1 && s[0] == '-')) {
        const char *end = s + n;
        while (s < end) {
            char *next;
            ids[k++] = (int)strtol(s, &next, 10);
            if (next == s) {   // not a number: the field ends here
                k--;
                break;
            }
            s = next;
            while (s < end && *s == ' ')
                s++;
        }
    }
    *count = k;
    return ids;
}

double kevo_test_row_error(const float *got, const float *want, size_t rows, size_t n,
                           size_t *worst_row)
{
    double worst = 0;
    for (size_t r = 0; r < rows; r++) {
        double diff = 0, scale = 0;
        for (size_t i = 0; i < n; i++) {
            double a = fabs((double)got[r * n + i] - want[r * n + i]);
            diff = a > diff || isnan(a) ? a : diff;
            scale = fabs(want[r * n + i]) > scale ? fabs(want[r * n + i]) : scale;
        }
        double e = diff / (scale > 0 ? scale : 1);
        if (e > worst || isnan(e))
            worst = e, *worst_row = r;
    }
    return worst;
}

int kevo_check_rows(const char *name, const float *got, const float *want, size_t rows, size_t n,
                    double rel_tol, const char *file, int line)
{
    size_t worst_row = 0;
    double worst = kevo_test_row_error(got, want, rows, n, &worst_row);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    %s: %zu rows, worst relative error %.3g\n", name, rows, worst);
    return kevo_check(worst <= rel_tol, file, line, "%s: relative error %.3g at row %zu exceeds "
                      "%g", name, worst, worst_row, rel_tol);
}

int kevo_check_close(const char *name, const float *got, const float *want, size_t n,
                     double atol, double rtol, const char *file, int line)
{
    double max_abs = 0, max_rel = 0, worst_excess = -1;
    size_t worst = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i], diff = fabs(g - w);
        if (isnan(g) != isnan(w) || (!isnan(w) && !(diff <= atol + rtol * fabs(w)))) {
            bad++;
            double excess = isnan(diff) ? INFINITY : diff - (atol + rtol * fabs(w));
            if (excess > worst_excess)
                worst_excess = excess, worst = i;
        }
        if (!isnan(diff)) {
            max_abs = diff > max_abs ? diff : max_abs;
            double rel = diff / (fabs(w) > 1e-30 ? fabs(w) : 1e-30);
            max_rel = w != 0 && rel > max_rel ? rel : max_rel;
        }
    }
    if (bad)
        return kevo_check(0, file, line,
                          "%s: %zu of %zu values outside atol %g + rtol %g (max abs diff %.3g, "
                          "max rel %.3g; worst [%zu] got %.9g want %.9g)",
                          name, bad, n, atol, rtol, max_abs, max_rel, worst, (double)got[worst],
                          (double)want[worst]);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    %s: %zu values, max abs diff %.3g, max rel %.3g (atol %g, rtol %g)\n", name, n,
               max_abs, max_rel, atol, rtol);
    return 1;
}

const char *kevo_test_tmpdir(void)
{
    return test_dir;
}

const char *kevo_test_tmp(const char *name)
{
    static char path[4][2100];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", test_dir, name);
    return p;
}

const char *kevo_test_copy_run(const char *fixture, const char *run_case, const char *dst)
{
    char cmd[4400], src[2100];
    const char *to = kevo_test_tmp(dst);
    snprintf(src, sizeof src, "%s%s/%s.run", kevo_test_data("oracle/engine/"), fixture, run_case);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, src, to);
    CHECK(system(cmd) == 0, "cannot copy %s", src);
    return to;
}

float *kevo_test_read_matrix(const char *path, int *rows, int *cols)
{
    kevo_error err;
    kevo_npy *f;
    if (!CHECK_OK(kevo_npy_open(path, &f, &err), &err))
        return NULL;
    const kevo_tensor *t = kevo_npy_tensor(f);
    float *v = NULL;
    if (CHECK(t->dtype == KEVO_DTYPE_F32 && t->n_dims == 2, "%s: not a 2-D F32 array", path) &&
        CHECK((v = malloc(t->n_bytes ? t->n_bytes : 1)) != NULL, "%s: out of memory", path)) {
        *rows = (int)t->shape[0];
        *cols = (int)t->shape[1];
        memcpy(v, t->data, t->n_bytes);
    }
    kevo_npy_free(f);
    return v;
}

int kevo_test_count_lines(const char *path)
{
    char *text = kevo_test_slurp(path, NULL);
    int n = 0;
    for (char *s = text; s && *s; s++)
        n += *s == '\n';
    free(text);
    return n;
}

const char *kevo_test_data(const char *rel)
{
    static char buf[2048];
    const char *root = getenv("KEVO_DATA");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "build/data", rel);
    return buf;
}

char *kevo_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, 2 * cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

int kevo_test_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

int kevo_test_contains(const char *haystack, const char *needle)
{
    return haystack && needle && strstr(haystack, needle) != NULL;
}

int kevo_test_cli(char **out, char **err, const char *args_fmt, ...)
{
    char args[8192], cmd[12288], out_path[1100], err_path[1100];
    const char *bin = getenv("KEVO_BIN") ? getenv("KEVO_BIN") : "build/kevo";
    va_list ap;
    va_start(ap, args_fmt);
    vsnprintf(args, sizeof args, args_fmt, ap);
    va_end(ap);
    snprintf(out_path, sizeof out_path, "%s/.cli.out", test_dir);
    snprintf(err_path, sizeof err_path, "%s/.cli.err", test_dir);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", bin, args, out_path, err_path);
    int status = system(cmd);
    if (out)
        *out = kevo_test_slurp(out_path, NULL);
    if (err)
        *err = kevo_test_slurp(err_path, NULL);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    $ kevo %s -> %d\n", args, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strncmp(name, argv[i], strlen(argv[i])) == 0)
            return 1;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    static const char *const paths[] = {"ref", "avx2", "avx512"};
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (const kevo_test_case *t = kevo_tests; t->name; t++)
            printf("%s\n", t->name);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--paths") == 0) {   // the kernel paths this CPU runs
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            if (kevo_kernels_for(paths[i]))
                printf("%s\n", paths[i]);
        return 0;
    }
    // The library falls back to the best path when KEVO_ISA names one the CPU lacks; a test run
    // must not, or it would pass while testing another path than the one asked for.
    const char *forced = getenv("KEVO_ISA");
    if (forced && !kevo_kernels_for(forced)) {
        fprintf(stderr, "kevo-test: KEVO_ISA=%s is not a kernel path this CPU runs (see "
                "kevo-test --paths)\n", forced);
        return 2;
    }
    // Named without kevo_kernels_get(), whose choice the forked tests would inherit (some set
    // KEVO_ISA themselves before their first kernel).
    const char *path = forced;
    for (size_t i = 0; !forced && i < sizeof paths / sizeof paths[0]; i++)
        path = kevo_kernels_for(paths[i]) ? paths[i] : path;
    printf("kernel path: %s%s\n", path, forced ? " (KEVO_ISA)" : "");
    snprintf(tmp_root, sizeof tmp_root, "%s/kevo-test.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("kevo-test: mkdtemp");
        return 1;
    }
    int passed = 0, failed = 0;
    for (const kevo_test_case *t = kevo_tests; t->name; t++) {
        if (!selected(t->name, argc, argv))
            continue;
        snprintf(test_dir, sizeof test_dir, "%s/%s", tmp_root, t->name);
        mkdir(test_dir, 0777);
        fflush(stdout);
        double t0 = now();
        pid_t pid = fork();
        if (pid == 0) {
            alarm(TEST_TIMEOUT_S);
            t->fn();
            fflush(stdout);
            _exit(n_failed_checks ? 1 : 0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        double secs = now() - t0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            passed++;
            printf("ok   %-44s %6.2f s\n", t->name, secs);
        } else {
            failed++;
            if (WIFSIGNALED(status))
                printf("FAIL %-44s killed by signal %d%s\n", t->name, WTERMSIG(status),
                       WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
            else
                printf("FAIL %-44s %6.2f s\n", t->name, secs);
        }
        fflush(stdout);
    }
    if (failed == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
        if (system(cmd) != 0)
            fprintf(stderr, "kevo-test: could not remove %s\n", tmp_root);
    } else {
        printf("test files kept in %s\n", tmp_root);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
