// outdir.h — an output folder that is replaced whole or not at all.
//
// Every folder kevo writes (a run folder, an analysis/ folder, a map folder) is built in a hidden
// temporary folder beside its destination, PARENT/.kevo-tmp-PID-NAME, and swapped into place at
// the end: with renameat2(RENAME_EXCHANGE) where the file system has it (one atomic step), else
// by moving the old folder aside to PARENT/.kevo-old-PID-NAME, the new one in, and deleting the
// old one. A kill at any point leaves the old complete folder or the new complete one under NAME;
// the hidden names never match a glob like OUT/NAME* or OUT/*. Leftovers of a killed process
// (its PID is gone) are cleaned, or an old folder left aside is moved back, by the next
// kevo_outdir_check / kevo_outdir_open in the same parent.
//
// An existing destination is replaced only when it is an empty folder or when `owned` says it is
// a folder of the expected kind that holds only what kevo wrote; a symbolic link, a file or any
// other folder is refused, before the caller does any expensive work.
#ifndef KEVO_BASE_OUTDIR_H
#define KEVO_BASE_OUTDIR_H

#include "kevo.h"

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

// Tests only: 1 forces the move-aside swap even where RENAME_EXCHANGE works.
extern int kevo_outdir_no_exchange;

// Tests only (docs/run-folder.md): with KEVO_TEST_KILL_AT=N in the environment, the process
// sends itself SIGKILL just before its N-th step that changes an output folder (each mkdir,
// rename and removal in this file), to prove every intermediate state is safe.
void kevo_outdir_crash_point(void);

#endif
