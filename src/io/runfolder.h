// runfolder.h — writing run folders and the fields of a loaded one (loading, the accessors
// and the run's identity are public: kevo.h, kevo/runfolder.h).
#ifndef KEVO_IO_RUNFOLDER_H
#define KEVO_IO_RUNFOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "kevo.h"

#define KEVO_RUN_FORMAT "kevo-run"
// run.json's format_version: 2 added the run's identity (model.weights_sha256,
// model.files_sha256, image.sha256, options.compute); folders without it are version 1.
#define KEVO_RUN_FORMAT_VERSION 2

// What `kevo run` records. All pointers are borrowed for the duration of the write.
typedef struct kevo_run_record {
    const char *model_dir;
    const kevo_config *config;
    const char *weights_dtype;        // "F16", "F32", "BF16" or "mixed"
    const char *image_path;
    int image_width, image_height;
    const char *image_mode;           // "pad" | "crop"
    const char *question;
    const char *template_name;
    const char *prompt;               // the full prompt text
    const int *prompt_ids;            // with KEVO_IMAGE_SLOT at image_position
    int n_prompt_ids, image_position, n_positions;
    const int *generated_ids;         // (n_generated)
    const char *const *pieces;        // raw pieces of generated_ids
    int n_generated;
    const char *text;                 // decoded answer
    kevo_stop stop;
    int max_new_tokens, n_threads;
    double load_s;
    kevo_timings timings;
    const float *hidden;              // (n_generated, L+1, D)
    // The run's identity. NULL: the writer reads it (model_identity from model_dir,
    // image_sha256 from image_path); compute NULL is left out of run.json (unknown).
    const char *compute;              // "f32" | "bf16"
    const kevo_model_identity *model_identity;
    const char *image_sha256;         // 64 hex digits of the image file's SHA-256
} kevo_run_record;

// Writes DIR/hidden.safetensors and DIR/run.json. DIR may exist only as an empty folder or an
// earlier run folder holding nothing but kevo's files (kevo_runfolder_owned in io/outputs.h),
// which is replaced whole; anything else is refused (KEVO_ERR_ARG).
kevo_status kevo_runfolder_write(const char *dir, const kevo_run_record *rec, kevo_error *err);

// A loaded run folder (kevo_runfolder_load). Every field is checked against the others before
// it is returned.
struct kevo_runfolder {
    char *dir;
    // model
    char *model_dir;
    char config_fnv1a64[17];
    int text_layers, text_hidden, vocab_rows;
    // what was asked and answered
    char *question, *template_name, *prompt, *text, *image_path, *stop;
    int *generated_ids;
    char **pieces;
    int n_steps;                      // T
    // hidden states: (T, L+1, D) F32, mapped
    const float *hidden;
    int n_states;                     // L+1
    int dim;                          // D
    struct kevo_safetensors *file;    // owns the mapping
    // The run's identity ("" / 0 when run.json predates it: format_version 1)
    int format_version;
    char kevo_version[32];
    kevo_model_identity model;        // config_fnv1a64 as above
    char image_sha256[65], image_mode[16], compute[16];
    int max_new_tokens;
    void *json;                       // the parsed run.json (cJSON), for fields not listed here
};

// FNV-1a 64 of MODEL_DIR/config.json's bytes, as 16 lower-case hex digits + NUL.
kevo_status kevo_config_digest(const char *model_dir, char out[17], kevo_error *err);

#endif
