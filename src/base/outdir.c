// outdir.c — an output folder that is replaced whole or not at all (see outdir.h).
//
// The swap follows the usual atomic-replace recipe (build beside, fsync, rename; the parent is
// synced after); for a folder that already exists, Linux's renameat2(2) RENAME_EXCHANGE swaps
// both names in one step, and the fallback keeps the old folder under a name that the next run
// recognises and moves back if the process died before the new one was in place.
#define _GNU_SOURCE   // renameat2
#include "base/outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"

#define TMP_PREFIX ".kevo-tmp-"
#define OLD_PREFIX ".kevo-old-"

int kevo_outdir_no_exchange;

void kevo_outdir_crash_point(void)
{
    static int steps;
    const char *at = getenv("KEVO_TEST_KILL_AT");
    if (at && ++steps == atoi(at))
        raise(SIGKILL);
}

struct kevo_outdir {
    char dest[KEVO_PATH_MAX];     // without trailing slashes
    char parent[KEVO_PATH_MAX];   // "" or the part of dest up to and including its last '/'
    const char *base;             // points into dest
    char tmp[KEVO_PATH_MAX];      // parent + ".kevo-tmp-PID@HOST-" + base
    char old[KEVO_PATH_MAX];      // parent + ".kevo-old-PID@HOST-" + base
    kevo_outdir_owned_fn owned;
};

// This machine in temporaries' names: 8 hex digits of FNV-1a 32 over its host name. Processes
// of other machines writing into one shared folder (shards of a cluster job on NFS) have other
// PIDs in another PID space: only a temporary named with this host's tag is probed and cleaned.
static const char *host_tag(void)
{
    static char tag[9];
    if (!tag[0]) {
        char name[256] = "";
        gethostname(name, sizeof name - 1);
        uint32_t h = 2166136261u;
        for (const char *p = name; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
        snprintf(tag, sizeof tag, "%08x", (unsigned)h);
    }
    return tag;
}

static kevo_status split(kevo_outdir *d, const char *dest, kevo_error *err)
{
    size_t n = strlen(dest);
    while (n > 1 && dest[n - 1] == '/')
        n--;
    if (n == 0)
        return kevo_fail(err, KEVO_ERR_ARG, "an empty output folder path is not usable");
    if (n >= sizeof d->dest)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: path too long for an output folder (%zu bytes)",
                         dest, n);
    memcpy(d->dest, dest, n);
    d->dest[n] = '\0';
    const char *slash = strrchr(d->dest, '/');
    d->base = slash ? slash + 1 : d->dest;
    if (!*d->base || !strcmp(d->base, ".") || !strcmp(d->base, "..") ||
        !strncmp(d->base, TMP_PREFIX, strlen(TMP_PREFIX)) ||
        !strncmp(d->base, OLD_PREFIX, strlen(OLD_PREFIX)))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: not usable as an output folder name", dest);
    memcpy(d->parent, d->dest, (size_t)(d->base - d->dest));
    d->parent[d->base - d->dest] = '\0';
    long pid = (long)getpid();
    const char *host = host_tag();
    int a = snprintf(d->tmp, sizeof d->tmp, "%s" TMP_PREFIX "%ld@%s-%s", d->parent, pid, host,
                     d->base);
    int b = snprintf(d->old, sizeof d->old, "%s" OLD_PREFIX "%ld@%s-%s", d->parent, pid, host,
                     d->base);
    if (a < 0 || b < 0 || (size_t)a >= sizeof d->tmp || (size_t)b >= sizeof d->old)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: path too long", dest);
    return KEVO_OK;
}

// ".kevo-tmp-PID@HOST-NAME" or ".kevo-old-PID@HOST-NAME" (or, as older kevos wrote them,
// without "@HOST") of a process of this machine that no longer exists: its PID, and NAME in
// *name; else 0. Another machine's are never touched: its PID means nothing here.
static long stale_pid(const char *entry, const char *prefix, const char **name)
{
    size_t k = strlen(prefix);
    if (strncmp(entry, prefix, k) != 0)
        return 0;
    char *end;
    long pid = strtol(entry + k, &end, 10);
    if (end == entry + k || pid <= 0 || pid == (long)getpid())
        return 0;
    if (*end == '@') {
        if (strncmp(end + 1, host_tag(), 8) != 0)
            return 0;
        end += 9;
    }
    if (*end != '-' || !end[1])
        return 0;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
        return 0;   // alive (or not ours to probe): leave it alone
    *name = end + 1;
    return pid;
}

// Leftovers of killed kevo processes in d's parent: temporaries are deleted; a folder moved aside
// comes back when nothing took its place, else it is deleted. Best effort: what cannot be removed
// stays hidden.
static void clean_stale(const kevo_outdir *d)
{
    DIR *dir = opendir(*d->parent ? d->parent : ".");
    if (!dir)
        return;
    char path[KEVO_PATH_MAX], back[KEVO_PATH_MAX];
    for (struct dirent *e; (e = readdir(dir));) {
        const char *name;
        if (kevo_path_join(path, sizeof path, d->parent, e->d_name, NULL) != KEVO_OK)
            continue;   // a name too long to be one of ours beside dest
        if (stale_pid(e->d_name, TMP_PREFIX, &name)) {
            kevo_outdir_crash_point();
            kevo_remove_tree(path, NULL);
        } else if (stale_pid(e->d_name, OLD_PREFIX, &name)) {
            struct stat st;
            if (kevo_path_join(back, sizeof back, d->parent, name, NULL) != KEVO_OK)
                continue;
            kevo_outdir_crash_point();
            if (lstat(back, &st) != 0 && errno == ENOENT && rename(path, back) == 0)
                continue;
            kevo_remove_tree(path, NULL);
        }
    }
    closedir(dir);
}

static int dir_is_empty(const char *path)
{
    DIR *dir = opendir(path);
    int empty = dir != NULL;
    for (struct dirent *e; dir && empty && (e = readdir(dir));)
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    if (dir)
        closedir(dir);
    return empty;
}

// The destination itself: missing, an empty folder, or a folder `owned` accepts.
static kevo_status check_dest(const kevo_outdir *d, kevo_error *err)
{
    struct stat st;
    if (lstat(d->dest, &st) != 0) {
        if (errno == ENOENT)
            return KEVO_OK;
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot use this output folder: %s", d->dest,
                         strerror(errno));
    }
    if (S_ISLNK(st.st_mode))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: is a symbolic link; kevo replaces only a real "
                         "folder (give the folder it points to)", d->dest);
    if (!S_ISDIR(st.st_mode))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not a folder; refusing to "
                         "replace it", d->dest);
    if (dir_is_empty(d->dest))
        return KEVO_OK;
    return d->owned ? d->owned(d->dest, err)
                    : kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not empty; refusing to "
                                "replace it", d->dest);
}

static kevo_status prepare(kevo_outdir *d, const char *dest, kevo_outdir_owned_fn owned,
                           kevo_error *err)
{
    memset(d, 0, sizeof *d);
    d->owned = owned;
    kevo_status st = split(d, dest, err);
    if (st != KEVO_OK)
        return st;
    clean_stale(d);
    if ((st = check_dest(d, err)) != KEVO_OK)
        return st;
    if (*d->parent && (st = kevo_mkdirs(d->parent, err)) != KEVO_OK) {
        kevo_error_prefix(err, "%s: ", d->dest);
        return st;
    }
    kevo_outdir_crash_point();
    if (mkdir(d->tmp, 0777) != 0)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot create the output folder in %s: %s",
                         d->dest, *d->parent ? d->parent : ".", strerror(errno));
    return KEVO_OK;
}

kevo_status kevo_outdir_check(const char *dest, kevo_outdir_owned_fn owned, kevo_error *err)
{
    kevo_outdir d;
    kevo_status st = prepare(&d, dest, owned, err);
    if (st == KEVO_OK) {
        kevo_outdir_crash_point();
        rmdir(d.tmp);
    }
    return st;
}

kevo_status kevo_outdir_open(const char *dest, kevo_outdir_owned_fn owned, kevo_outdir **out,
                             kevo_error *err)
{
    *out = NULL;
    kevo_outdir *d = malloc(sizeof *d);
    if (!d)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", dest);
    kevo_status st = prepare(d, dest, owned, err);
    if (st != KEVO_OK) {
        free(d);
        return st;
    }
    *out = d;
    return KEVO_OK;
}

const char *kevo_outdir_path(const kevo_outdir *d)
{
    return d->tmp;
}

static void sync_parent(const kevo_outdir *d)
{
    int fd = open(*d->parent ? d->parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int exchange(const char *a, const char *b)
{
#ifdef SYS_renameat2
    if (!kevo_outdir_no_exchange)
        return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
#endif
    (void)a, (void)b;
    errno = EINVAL;
    return -1;
}

// Swaps d->tmp in; afterwards d->tmp holds the old folder (if any), to be deleted.
static kevo_status swap_in(kevo_outdir *d, kevo_error *err)
{
    struct stat st;
    kevo_outdir_crash_point();
    if (lstat(d->dest, &st) != 0) {
        if (rename(d->tmp, d->dest) == 0)
            return KEVO_OK;
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot move the new folder into place: %s",
                         d->dest, strerror(errno));
    }
    if (exchange(d->tmp, d->dest) == 0)
        return KEVO_OK;
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot swap the new folder into place: %s",
                         d->dest, strerror(errno));
    // No RENAME_EXCHANGE here: old aside, new in, old to the temporary name (now free).
    if (rename(d->dest, d->old) != 0)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot move the previous folder aside: %s",
                         d->dest, strerror(errno));
    kevo_outdir_crash_point();
    if (rename(d->tmp, d->dest) != 0) {
        int e = errno;
        rename(d->old, d->dest);
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot move the new folder into place: %s",
                         d->dest, strerror(e));
    }
    kevo_outdir_crash_point();
    rename(d->old, d->tmp);   // if this fails, the next run deletes d->old as stale
    return KEVO_OK;
}

kevo_status kevo_outdir_commit(kevo_outdir *d, kevo_error *err)
{
    int fd = open(d->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);   // its entries, before the swap
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    kevo_status st = check_dest(d, err);   // it may have changed while the folder was written
    if (st == KEVO_OK)
        st = swap_in(d, err);
    if (st != KEVO_OK) {
        kevo_outdir_abort(d, NULL);
        return st;
    }
    sync_parent(d);
    kevo_outdir_crash_point();
    kevo_remove_tree(d->tmp, NULL);   // the old folder; a leftover is hidden and cleaned later
    free(d);
    return KEVO_OK;
}

void kevo_outdir_abort(kevo_outdir *d, kevo_error *err)
{
    if (!d)
        return;
    kevo_remove_tree(d->tmp, NULL);
    size_t k = strlen(d->tmp);
    char *at = err ? strstr(err->msg, d->tmp) : NULL;
    if (at && (at[k] == '/' || at[k] == ':' || at[k] == '\0' || at[k] == ' ')) {
        char msg[sizeof err->msg + sizeof d->dest];
        snprintf(msg, sizeof msg, "%.*s%s%s", (int)(at - err->msg), err->msg, d->dest, at + k);
        memcpy(err->msg, msg, sizeof err->msg - 1);
        err->msg[sizeof err->msg - 1] = '\0';
    }
    free(d);
}
