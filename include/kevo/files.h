// kevo/files.h — part of kevo.h (include kevo.h): time, paths, atomic files, and output folders
// that are replaced whole or not at all.
#ifndef KEVO_FILES_H
#define KEVO_FILES_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/files.h"
#endif

#include <stdio.h>

// Seconds on a monotonic clock, for timings.
double kevo_now(void);

// ---------------------------------------------------------------------------------------------
// Paths

int kevo_file_exists(const char *path);   // a regular file
int kevo_dir_exists(const char *path);

// The bytes an unprivileged writer may still use on the file system holding path (statvfs:
// f_bavail * f_frsize).
kevo_status kevo_free_bytes(const char *path, uint64_t *out, kevo_error *err);

// Creates a directory and its missing parents (like mkdir -p).
kevo_status kevo_mkdirs(const char *path, kevo_error *err);

// Writes "a/b" into buf (size: KEVO_PATH_MAX for a path kevo uses), with one slash between
// however many a ends with; "" and b give b. Fails naming the path when it does not fit: the one
// way kevo builds a path, so that a long one is an error, never a truncation. err may be NULL.
kevo_status kevo_path_join(char *buf, size_t size, const char *a, const char *b, kevo_error *err);

// The file name part of a path ("x/y.jpg" -> "y.jpg"); borrowed from `path`.
const char *kevo_path_base(const char *path);

// ---------------------------------------------------------------------------------------------
// Output files
//
// Every file kevo writes goes through kevo_outfile: it is written to a hidden temporary file
// beside its destination, flushed, fsync'ed and renamed into place, so an interrupted run never
// leaves a half-written file under the final name.

typedef struct kevo_outfile kevo_outfile;

// Opens a temporary file beside `path` (".NAME.tmp.PID"; those of killed kevo processes are
// deleted first); write through kevo_outfile_stream().
kevo_status kevo_outfile_open(const char *path, kevo_outfile **out, kevo_error *err);
FILE *kevo_outfile_stream(kevo_outfile *f);
// Flushes, syncs and renames the temporary file to its destination, then frees f.
kevo_status kevo_outfile_commit(kevo_outfile *f, kevo_error *err);
// Deletes the temporary file and frees f; accepts NULL.
void kevo_outfile_abort(kevo_outfile *f);

// Writes s as one CSV text field: always quoted, inner quotes doubled (RFC 4180).
void kevo_csv_text(FILE *f, const char *s);

// ---------------------------------------------------------------------------------------------
// Output folders
//
// Every folder kevo writes (a run folder, an analysis/ folder, a map folder, the demo) is built
// in a hidden temporary folder beside its destination, PARENT/.kevo-tmp-PID-NAME, and swapped
// into place at the end: with renameat2(RENAME_EXCHANGE) where the file system has it (one
// atomic step), else by moving the old folder aside to PARENT/.kevo-old-PID-NAME, the new one
// in, and deleting the old one. A kill at any point leaves the old complete folder or the new
// complete one under NAME; the hidden names never match a glob like OUT/NAME* or OUT/*.
// Leftovers of a killed process (its PID is gone) are cleaned, or an old folder left aside is
// moved back, by the next kevo_outdir_check / kevo_outdir_open in the same parent.
//
// An existing destination is replaced only when it is an empty folder or when `owned` says it is
// a folder of the expected kind that holds only what kevo wrote; a symbolic link, a file or any
// other folder is refused, before the caller does any expensive work. A file of the user's in
// such a folder makes kevo refuse too: it belongs to the old results (notes on them, a plot made
// from them), so carrying it into a folder of new results would misattribute it and deleting it
// would lose it.

// KEVO_OK when the existing non-empty folder `dir` is kevo's to replace, else a failure that
// says why not (KEVO_ERR_ARG).
typedef kevo_status (*kevo_outdir_owned_fn)(const char *dir, kevo_error *err);

// Everything kevo_outdir_open checks, without leaving anything behind: the destination (see
// above), its parent (created when missing), and that a folder can be created beside it. Cleans
// stale temporaries of dead kevo processes in the parent.
kevo_status kevo_outdir_check(const char *dest, kevo_outdir_owned_fn owned, kevo_error *err);

typedef struct kevo_outdir kevo_outdir;

// Checks as kevo_outdir_check and creates the empty temporary folder to write into.
kevo_status kevo_outdir_open(const char *dest, kevo_outdir_owned_fn owned, kevo_outdir **out,
                             kevo_error *err);
// The temporary folder (borrowed; valid until commit or abort).
const char *kevo_outdir_path(const kevo_outdir *d);
// Checks the destination again, swaps the temporary folder in and deletes the old one; frees d.
// On failure the temporary folder is removed and the destination is left as it was.
kevo_status kevo_outdir_commit(kevo_outdir *d, kevo_error *err);
// Removes the temporary folder and frees d; accepts NULL. When err is not NULL and its message
// names the temporary folder, that name is replaced by the destination's, so that an error from
// a write inside names the file the user asked for.
void kevo_outdir_abort(kevo_outdir *d, kevo_error *err);

#endif
