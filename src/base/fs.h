// fs.h — files: whole reads, read-only maps, atomic writes, paths.
//
// Every output kevo produces goes through kevo_outfile: it is written to a hidden temporary file
// beside its destination, flushed, fsync'ed and renamed into place, so an interrupted run never
// leaves a half-written file under the final name.
#ifndef KEVO_BASE_FS_H
#define KEVO_BASE_FS_H

#include <stdio.h>

#include "kevo.h"

// A read-only private mapping of a whole file. An empty file maps to data == NULL, size == 0.
typedef struct kevo_mapping {
    const unsigned char *data;
    size_t size;
} kevo_mapping;

kevo_status kevo_map_file(const char *path, kevo_mapping *out, kevo_error *err);

// Opens a file for reading (read-only, close-on-exec) and fills *st; anything but a regular file
// (a FIFO, a device, a directory) is refused without blocking. The caller closes *fd.
struct stat;
kevo_status kevo_open_regular(const char *path, int *fd, struct stat *st, kevo_error *err);
void kevo_unmap(kevo_mapping *m);   // accepts a zeroed mapping

// Reads a whole file into a NUL-terminated heap buffer (caller frees with free()). Files longer
// than max_bytes are refused before any allocation.
kevo_status kevo_read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                           kevo_error *err);

int kevo_file_exists(const char *path);   // a regular file
int kevo_dir_exists(const char *path);
// What dir/name is, not following a symbolic link: 'f' a regular file, 'd' a folder, '?' anything
// else or nothing.
char kevo_entry_kind(const char *dir, const char *name);

// Creates a directory and its missing parents (like mkdir -p).
kevo_status kevo_mkdirs(const char *path, kevo_error *err);

// Removes a file or a directory tree (like rm -rf); a missing path is not an error.
kevo_status kevo_remove_tree(const char *path, kevo_error *err);

// Writes "a/b" into buf (size: KEVO_PATH_MAX for a path kevo uses), with one slash between
// however many a ends with; "" and b give b. Fails naming the path when it does not fit: the one
// way kevo builds a path, so that a long one is an error, never a truncation. err may be NULL.
kevo_status kevo_path_join(char *buf, size_t size, const char *a, const char *b, kevo_error *err);

// The file name part of a path ("x/y.jpg" -> "y.jpg"); borrowed from `path`.
const char *kevo_path_base(const char *path);

typedef struct kevo_outfile kevo_outfile;

// Opens a temporary file beside `path` (".NAME.tmp.PID"; those of killed kevo processes are
// deleted first); write through kevo_outfile_stream().
kevo_status kevo_outfile_open(const char *path, kevo_outfile **out, kevo_error *err);
FILE *kevo_outfile_stream(kevo_outfile *f);
// Flushes, syncs and renames the temporary file to its destination, then frees f.
kevo_status kevo_outfile_commit(kevo_outfile *f, kevo_error *err);
// Deletes the temporary file and frees f; accepts NULL.
void kevo_outfile_abort(kevo_outfile *f);

// Writes `len` bytes to `path` through a kevo_outfile.
kevo_status kevo_write_file(const char *path, const void *data, size_t len, kevo_error *err);

#endif
