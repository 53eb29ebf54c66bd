// fs.c — files: whole reads, read-only maps, atomic writes, paths.
#define _XOPEN_SOURCE 700   // nftw
#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/error.h"

static const char *file_kind(mode_t m)
{
    return S_ISFIFO(m) ? "a FIFO" : S_ISDIR(m) ? "a directory" : S_ISCHR(m) ? "a character device"
           : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a plain file";
}

kevo_status kevo_open_regular(const char *path, int *fd_out, struct stat *st, kevo_error *err)
{
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. It is
    // cleared again once fstat has shown a regular file, where it changes nothing anyway.
    *fd_out = -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return kevo_fail(err, KEVO_ERR_IO, "%s: not a regular file (%s)", path,
                         file_kind(st->st_mode));
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    *fd_out = fd;
    return KEVO_OK;
}

kevo_status kevo_map_file(const char *path, kevo_mapping *out, kevo_error *err)
{
    out->data = NULL;
    out->size = 0;
    struct stat st;
    int fd;
    kevo_status opened = kevo_open_regular(path, &fd, &st, err);
    if (opened != KEVO_OK)
        return opened;
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return kevo_fail(err, KEVO_ERR_IO, "%s: cannot map %lld bytes: %s", path,
                             (long long)st.st_size, strerror(e));
        }
        out->data = p;
        out->size = (size_t)st.st_size;
    }
    close(fd);
    return KEVO_OK;
}

void kevo_unmap(kevo_mapping *m)
{
    if (m && m->data)
        munmap((void *)m->data, m->size);
    if (m) {
        m->data = NULL;
        m->size = 0;
    }
}

kevo_status kevo_read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                           kevo_error *err)
{
    *out = NULL;
    struct stat st;
    int fd;
    kevo_status opened = kevo_open_regular(path, &fd, &st, err);
    if (opened != KEVO_OK)
        return opened;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: cannot open a stream: %s", path,
                         strerror(errno));
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        fclose(f);
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %lld bytes is more than the %zu allowed",
                         path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, n + 1);
    }
    size_t got = fread(buf, 1, n, f);
    int failed = ferror(f);
    fclose(f);
    if (got != n || failed) {
        free(buf);
        return kevo_fail(err, KEVO_ERR_IO, "%s: read %zu of %zu bytes", path, got, n);
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return KEVO_OK;
}

int kevo_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int kevo_dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char kevo_entry_kind(const char *dir, const char *name)
{
    char path[KEVO_PATH_MAX];
    struct stat st;
    if (kevo_path_join(path, sizeof path, dir, name, NULL) != KEVO_OK || lstat(path, &st) != 0)
        return '?';
    return S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : '?';
}

kevo_status kevo_free_bytes(const char *path, uint64_t *out, kevo_error *err)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot read the file system's free space: %s",
                         path, strerror(errno));
    *out = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    return KEVO_OK;
}

kevo_status kevo_mkdirs(const char *path, kevo_error *err)
{
    char buf[KEVO_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0)
        return kevo_fail(err, KEVO_ERR_ARG, "an empty directory path is not usable");
    if (n >= sizeof buf)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: directory path of %zu bytes is too long", path,
                         n);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return kevo_fail(err, KEVO_ERR_IO, "%s: cannot create directory: %s", buf,
                             strerror(errno));
        buf[i] = saved;
    }
    if (!kevo_dir_exists(path))
        return kevo_fail(err, KEVO_ERR_IO, "%s: exists and is not a directory", path);
    return KEVO_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

kevo_status kevo_remove_tree(const char *path, kevo_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return KEVO_OK;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    return KEVO_OK;
}

kevo_status kevo_path_join(char *buf, size_t size, const char *a, const char *b, kevo_error *err)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    const char *slash = la == 0 || a[la - 1] == '/' ? "" : "/";   // "" + b, or "/" + b
    int n = snprintf(buf, size, "%.*s%s%s", (int)la, a, slash, b);
    if (n < 0 || (size_t)n >= size)
        return kevo_fail(err, KEVO_ERR_ARG, "path %.*s%s%s is too long", (int)la, a, slash, b);
    return KEVO_OK;
}

const char *kevo_path_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

struct kevo_outfile {
    FILE *stream;
    char *path;       // destination
    char *tmp_path;   // hidden temporary beside it
};

// Deletes ".NAME.tmp.PID" files beside path that a killed kevo process left (PID gone).
static void remove_stale_temporaries(const char *path)
{
    const char *base = kevo_path_base(path);
    char dir[KEVO_PATH_MAX], stale[KEVO_PATH_MAX];
    if ((size_t)(base - path) >= sizeof dir)
        return;   // no file can be created there either: kevo_outfile_open reports it
    memcpy(dir, path, (size_t)(base - path));
    dir[base - path] = '\0';
    size_t k = strlen(base);
    DIR *d = opendir(*dir ? dir : ".");
    for (struct dirent *e; d && (e = readdir(d));) {
        const char *s = e->d_name;
        if (s[0] != '.' || strncmp(s + 1, base, k) != 0 || strncmp(s + 1 + k, ".tmp.", 5) != 0)
            continue;
        char *end;
        long pid = strtol(s + k + 6, &end, 10);
        if (end == s + k + 6 || *end || pid <= 0 || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (kevo_path_join(stale, sizeof stale, dir, s, NULL) == KEVO_OK)
            unlink(stale);
    }
    if (d)
        closedir(d);
}

kevo_status kevo_outfile_open(const char *path, kevo_outfile **out, kevo_error *err)
{
    *out = NULL;
    kevo_outfile *f = calloc(1, sizeof *f);
    size_t n = strlen(path) + 64;
    if (!f || !(f->path = strdup(path)) || !(f->tmp_path = malloc(n))) {
        kevo_outfile_abort(f);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    }
    // ".name.tmp.PID" in the same directory, so that rename() stays atomic.
    const char *base = kevo_path_base(path);
    snprintf(f->tmp_path, n, "%.*s.%s.tmp.%ld", (int)(base - path), path, base, (long)getpid());
    remove_stale_temporaries(path);
    int fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !(f->stream = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        free(f->tmp_path);
        f->tmp_path = NULL;   // nothing was created that abort should remove
        kevo_outfile_abort(f);
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    *out = f;
    return KEVO_OK;
}

FILE *kevo_outfile_stream(kevo_outfile *f)
{
    return f->stream;
}

kevo_status kevo_outfile_commit(kevo_outfile *f, kevo_error *err)
{
    // The first system error wins; a stream whose error flag an earlier write set but that has
    // nothing left to flush lost its errno, and reports EIO.
    int e = 0;
    if (fflush(f->stream) != 0)
        e = errno ? errno : EIO;
    else if (ferror(f->stream))
        e = EIO;
    if (!e && fsync(fileno(f->stream)) != 0)
        e = errno ? errno : EIO;
    if (fclose(f->stream) != 0 && !e)
        e = errno ? errno : EIO;
    f->stream = NULL;
    if (e) {
        kevo_fail(err, KEVO_ERR_IO, "%s: write failed: %s", f->path, strerror(e));
        kevo_outfile_abort(f);
        return KEVO_ERR_IO;
    }
    if (rename(f->tmp_path, f->path) != 0) {
        kevo_fail(err, KEVO_ERR_IO, "%s: cannot rename into place: %s", f->path,
                  strerror(errno));
        kevo_outfile_abort(f);
        return KEVO_ERR_IO;
    }
    free(f->tmp_path);
    free(f->path);
    free(f);
    return KEVO_OK;
}

void kevo_outfile_abort(kevo_outfile *f)
{
    if (!f)
        return;
    if (f->stream)
        fclose(f->stream);
    if (f->tmp_path)
        unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
    free(f);
}

kevo_status kevo_write_file(const char *path, const void *data, size_t len, kevo_error *err)
{
    kevo_outfile *f;
    kevo_status st = kevo_outfile_open(path, &f, err);
    if (st != KEVO_OK)
        return st;
    if (len && fwrite(data, 1, len, f->stream) != len) {
        int e = errno ? errno : EIO;
        kevo_outfile_abort(f);
        return kevo_fail(err, KEVO_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return kevo_outfile_commit(f, err);
}
