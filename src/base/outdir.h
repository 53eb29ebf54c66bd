// outdir.h — the test hooks of output folders (the folders themselves are public: kevo.h,
// kevo/files.h, "Output folders", which says how they are built and swapped in).
#ifndef KEVO_BASE_OUTDIR_H
#define KEVO_BASE_OUTDIR_H

#include "kevo.h"

// Tests only: 1 forces the move-aside swap even where RENAME_EXCHANGE works.
extern int kevo_outdir_no_exchange;

// Tests only (docs/run-folder.md): with KEVO_TEST_KILL_AT=N in the environment, the process
// sends itself SIGKILL just before its N-th step that changes an output folder (each mkdir,
// rename and removal in this file), to prove every intermediate state is safe.
void kevo_outdir_crash_point(void);

#endif
