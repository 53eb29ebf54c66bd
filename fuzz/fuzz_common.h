// fuzz_common.h — what every libFuzzer harness in fuzz/ shares (docs/fuzzing.md).
//
// kevo's loaders take paths, so a harness writes the fuzz input into a private directory
// (/dev/shm/kevo-fuzz-PID-XXXXXX, emptied before every input) and calls the real loader on it.
// Multi-file inputs (a model folder, a run folder) use a plain container that mutates well:
//
//     @@file NAME\n<bytes of NAME>\n@@file NAME2\n<bytes of NAME2>...
//
// The input must begin with "@@file "; a file's bytes run up to the next "\n@@file " or the end
// of the input. NAME is [A-Za-z0-9._-]{1,64}, not starting with '.'; other sections are skipped.
// fuzz/make_corpora.py packs seed folders the same way.
#ifndef KEVO_FUZZ_COMMON_H
#define KEVO_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_MAX_FILES 16

// The private directory, created on first use (removed at exit).
const char *fuzz_dir(void);
// Removes every file in fuzz_dir().
void fuzz_reset(void);
// fuzz_dir()/name in a static buffer (one of 4, reused every 4th call).
const char *fuzz_path(const char *name);
// Writes bytes to fuzz_dir()/name; returns 0 on success.
int fuzz_write(const char *name, const void *data, size_t len);
// Splits a container input into files in fuzz_dir(); returns how many were written.
int fuzz_unpack(const uint8_t *data, size_t len);
// Reads a whole file of the source tree (path relative to the repository root, found from the
// harness's build-time KEVO_FUZZ_ROOT) into a heap buffer; aborts when it is missing, since a
// harness without its fixture would fuzz nothing.
void *fuzz_read_fixture(const char *rel, size_t *len);
// Consumes a value computed from every byte a loader handed out, so that the reads stay.
void fuzz_sink(double v);

#endif
