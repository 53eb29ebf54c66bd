// kevo/runfolder.h — part of kevo.h (include kevo.h): run folders, run.json + hidden.safetensors
// (docs/run-folder.md), and what determines a run.
//
// The seam between generation (expensive) and analysis (cheap, repeatable). A folder is written
// into a hidden temporary folder beside it and swapped into place (kevo/files.h, "Output
// folders"), so a reader sees a complete run or none.
#ifndef KEVO_RUNFOLDER_H
#define KEVO_RUNFOLDER_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/runfolder.h"
#endif

// ---------------------------------------------------------------------------------------------
// What determines a run

// What determines a run's model besides the code: its files' contents, not its path.
typedef struct kevo_model_identity {
    char config_fnv1a64[17];   // FNV-1a 64 of config.json's bytes, 16 hex digits
    char weights_sha256[65];   // every *.safetensors: name, size, header, sampled tensor bytes
    char files_sha256[65];     // the tokenizer, preprocessing, generation and index files
} kevo_model_identity;

// Reads the model folder's identity: config.json and the small files whole, of each
// *.safetensors file its size, its header and 64 blocks of 4 KiB spread over its tensor bytes
// (under 300 KB per file however large it is; docs/run-folder.md).
kevo_status kevo_model_identity_read(const char *model_dir, kevo_model_identity *id,
                                     kevo_error *err);
// The same for any model: a GGUF model's over its two files (docs/run-folder.md).
kevo_status kevo_model_identity_read_source(const kevo_model_source *src,
                                            kevo_model_identity *id, kevo_error *err);

// Everything that determines a run's result: what a finished run folder must match to stand
// for a new run (kevo batch's resume). The thread count does not count: results are identical
// for any.
typedef struct kevo_run_identity {
    kevo_model_identity model;
    char image_sha256[65];     // kevo_image_digest
    const char *question, *template_name, *image_mode, *compute;
    int max_new_tokens;
    const int *image_states;   // the image recorder's indices (kevo_run_params), and their count
    int n_image_states;
    kevo_dtype store;          // how the states are stored (kevo_save_options)
    // The answer's states kept in hidden.safetensors (kevo_save_options.hidden_states): NULL
    // every index 0..L; else these n_hidden_states indices, ascending (0: none, --no-hidden).
    const int *hidden_states;
    int n_hidden_states;
} kevo_run_identity;

// The image's part of a run's identity: the SHA-256 of the file's bytes, as 64 lower-case hex
// digits + NUL (any size; a FIFO or a device is refused).
kevo_status kevo_image_digest(const char *image_path, char out[65], kevo_error *err);

// ---------------------------------------------------------------------------------------------
// Loaded run folders

typedef struct kevo_runfolder kevo_runfolder;

// Loads and checks every field of run.json against the others and against hidden.safetensors,
// whose states stay mapped. On failure *out is NULL.
kevo_status kevo_runfolder_load(const char *dir, kevo_runfolder **out, kevo_error *err);
void kevo_runfolder_free(kevo_runfolder *rf);   // accepts NULL
// The analyses need every hidden-state index 0..L: kevo_runfolder_load refuses, naming what
// was kept, a run folder written with only some (kevo batch --states) or none (--no-hidden).
// This one loads it (its kept states, if any, mapped) for what needs only run.json and the
// states' bookkeeping: kevo batch's resume and answers.
kevo_status kevo_runfolder_load_record(const char *dir, kevo_runfolder **out, kevo_error *err);

// Borrowed from the run folder.
const char *kevo_runfolder_dir(const kevo_runfolder *rf);         // the name reports give it
const char *kevo_runfolder_model_dir(const kevo_runfolder *rf);   // the model it records
const char *kevo_runfolder_mmproj(const kevo_runfolder *rf);      // its vision file, when it
                                                                  // was named apart; else NULL
const char *kevo_runfolder_question(const kevo_runfolder *rf);
const char *kevo_runfolder_text(const kevo_runfolder *rf);        // the decoded answer
int kevo_runfolder_n_steps(const kevo_runfolder *rf);             // T, generated tokens
const char *kevo_runfolder_piece(const kevo_runfolder *rf, int step);   // raw piece, 0 <= step < T

// The hidden-state indices kept in hidden.safetensors: -1 for every index 0..L, else their
// count K (0: none) with the indices in *indices (borrowed; may be NULL).
int kevo_runfolder_states_kept(const kevo_runfolder *rf, const int **indices);

// Names the run `dir` in reports from now on (its files stay open): for a run folder written
// in a temporary place that will be moved to `dir`.
kevo_status kevo_runfolder_rename(kevo_runfolder *rf, const char *dir, kevo_error *err);

// 0 when the run folder rf matches want; otherwise 1 with the first difference written to why
// as one phrase ("the image changed since the run").
int kevo_runfolder_differs(const kevo_runfolder *rf, const kevo_run_identity *want, char *why,
                           size_t size);

// ---------------------------------------------------------------------------------------------
// Run folders on disk

// Checks, before any expensive work, that `kevo run` may write dir: missing, empty, or a run
// folder of kevo's holding only run.json, hidden.safetensors, item.json, an analysis/ folder of
// kevo's, diff-NAME folders of `kevo diff` and kevo's hidden temporaries (then replaced whole);
// anything else is KEVO_ERR_ARG naming what is not kevo's.
kevo_status kevo_runfolder_check_dest(const char *dir, kevo_error *err);

// 1 when dir/run.json is a regular file (not a link) whose "format" is "kevo-run": a run folder
// of kevo's, whatever else is in it.
int kevo_runfolder_marked(const char *dir);

// What a run folder takes on disk at most (docs/run-folder.md, "Sizes"): for max_new steps,
// the answer's states kept (n_states: -1 all, else K), n_image_states image states of
// image_tokens positions, stored as store, and its analysis: 0 none, 1 the tables alone
// (--no-hidden), 2 the tables, figures and report.html (estimated from the demo model's).
typedef struct kevo_run_bytes {
    uint64_t hidden;         // hidden.safetensors: data and header (0 when no state is kept)
    uint64_t run_json;       // run.json and item.json
    uint64_t analysis;       // analysis/: stages.json, lens.csv, divergence.csv, ..., figures
    uint64_t total;
} kevo_run_bytes;
kevo_run_bytes kevo_runfolder_bytes(const kevo_config *c, int image_tokens, int n_prompt,
                                    int max_new, int n_states, int n_image_states,
                                    kevo_dtype store, int analysis);

#endif
