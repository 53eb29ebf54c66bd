// fuzz_common.c — the harnesses' private directory, file writing and the multi-file container
// (fuzz_common.h). Harness code, not library code: it may abort on its own setup failures.
#include "fuzz_common.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef KEVO_FUZZ_ROOT
#define KEVO_FUZZ_ROOT "."
#endif

static char dir_path[256];

static void remove_dir(void)
{
    if (dir_path[0]) {
        fuzz_reset();
        rmdir(dir_path);
    }
}

const char *fuzz_dir(void)
{
    if (!dir_path[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir_path, sizeof dir_path, "%s/kevo-fuzz-%d-XXXXXX", base, (int)getpid());
        if (!mkdtemp(dir_path)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(remove_dir);
    }
    return dir_path;
}

void fuzz_reset(void)
{
    DIR *d = opendir(fuzz_dir());
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            unlink(fuzz_path(e->d_name));
    closedir(d);
}

const char *fuzz_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", fuzz_dir(), name);
    return p;
}

int fuzz_write(const char *name, const void *data, size_t len)
{
    int fd = open(fuzz_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return close(fd);
}

static int good_name(const uint8_t *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
            !(s[i] >= '0' && s[i] <= '9') && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

// The first occurrence of needle in [p, end), or end.
static const uint8_t *find(const uint8_t *p, const uint8_t *end, const char *needle)
{
    size_t k = strlen(needle);
    for (; (size_t)(end - p) >= k; p++)
        if (memcmp(p, needle, k) == 0)
            return p;
    return end;
}

int fuzz_unpack(const uint8_t *data, size_t len)
{
    static const char magic[] = "@@file ";
    const uint8_t *p = data, *end = data + len;
    int n = 0;
    if (len < sizeof magic - 1 || memcmp(data, magic, sizeof magic - 1) != 0)
        return 0;
    while (p < end && n < FUZZ_MAX_FILES) {
        p += sizeof magic - 1;   // p is at a marker (the first, or one found after "\n")
        const uint8_t *nl = find(p, end, "\n");
        if (nl == end)
            break;
        const uint8_t *body = nl + 1, *next = find(body, end, "\n@@file ");
        if (good_name(p, (size_t)(nl - p))) {
            char name[65];
            memcpy(name, p, (size_t)(nl - p));
            name[nl - p] = 0;
            if (fuzz_write(name, body, (size_t)(next - body)) == 0)
                n++;
        }
        p = next == end ? end : next + 1;
    }
    return n;
}

void *fuzz_read_fixture(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", KEVO_FUZZ_ROOT, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz: missing fixture %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "fuzz: cannot read %s\n", path);
        abort();
    }
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

volatile double fuzz_sunk;

void fuzz_sink(double v)
{
    fuzz_sunk += v;
}
