// fs.h — files: whole reads, read-only maps, removal (paths and atomic output files are public:
// kevo.h, kevo/files.h).
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

// What dir/name is, not following a symbolic link: 'f' a regular file, 'd' a folder, '?' anything
// else or nothing.
char kevo_entry_kind(const char *dir, const char *name);

// Removes a file or a directory tree (like rm -rf); a missing path is not an error.
kevo_status kevo_remove_tree(const char *path, kevo_error *err);

// Writes `len` bytes to `path` through a kevo_outfile.
kevo_status kevo_write_file(const char *path, const void *data, size_t len, kevo_error *err);

#endif
