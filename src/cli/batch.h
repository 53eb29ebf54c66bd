// batch.h — what the files of `kevo batch` share: its items (images or a manifest's lines),
// shards, sizes and summary (batch_items.c) and the command itself (cmd_batch.c).
#ifndef KEVO_CLI_BATCH_H
#define KEVO_CLI_BATCH_H

#include "cli/cli.h"

typedef struct item {
    const char *image;          // the image file to read
    const char *question;       // the item's question (the manifest's, or -p)
    int index;                  // 0-based position in the batch's input order (the shard key)
    int manifest_item;          // its manifest item, -1 for a positional IMAGE
    char dir[KEVO_PATH_MAX];
    char *answer;        // NULL until answered (or when failed)
    int tokens;
    double seconds;
    const char *status;  // "done", "reused", "rerun: <why>", "failed: ...", "not run (...)"
    char failure[KEVO_ERROR_MAX + 16];
    char why[KEVO_ERROR_MAX];   // why an earlier run folder does not stand for the image
    char sha256[65];            // the image file's
    int deferred;               // a kevo run folder that is kevo's to replace only if rerun
} item;

// The batch's own paths besides the run folders.
typedef struct batch_paths {
    const char *out;                // OUT_DIR
    char summary[KEVO_PATH_MAX];    // OUT_DIR/summary.csv, or summary.shard-K-of-N.csv
    char tsne[KEVO_PATH_MAX];       // OUT_DIR/tsne, the runs' map with --analyze
} batch_paths;

// Which part of the batch this process runs: items whose index is k modulo n (n = 1: all).
typedef struct batch_shard {
    int k, n;
} batch_shard;

// --shard K/N, or from a Slurm job array's environment when absent (saying so on stderr).
// Returns 0, or the exit code after a usage error.
int batch_shard_choose(const char *arg, batch_shard *s);

// The items of the whole batch, in input order: from the manifest (each folder OUT/<id>) or the
// positional images (OUT/<file name without extension>), every collision or reserved name
// listed. *out and *n_out are the whole batch; returns 0 or an exit code.
int batch_items_make(item **out, int *n_out, char **images, int n_images,
                     const kevo_manifest *mf, const char *question, const char *out_dir,
                     int analyze);

// The items of shard s, moved to the front of items (in input order); returns their count.
int batch_items_select(item *items, int n, batch_shard s);

// Prints the bytes one item and the shard's n items take at most and refuses (returns 1, or 0
// to go on) when they exceed the free space of out_dir's file system, unless force.
int batch_disk_check(const kevo_config *c, int n_prompt, int max_new, int n_states,
                     int n_image_states, kevo_dtype store, int analysis, int n, int force,
                     const char *out_dir);

// The progress line (a terminal) or one line an item (a log): items done of total, rate and
// time left over the items run so far.
typedef struct batch_progress {
    int total, done, ran, bar;
    double t0;                  // when the first item started
    double run_s;               // seconds spent in items that ran
} batch_progress;
void batch_progress_show(const batch_progress *p, const char *current);

// The summary table on stdout and as CSV at paths->summary; 0 when it could not be written.
int batch_summarize(const item *items, int n, const batch_paths *paths,
                    const kevo_manifest *mf);

#endif
