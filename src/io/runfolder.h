// runfolder.h — the run folder: run.json + hidden.safetensors (docs/run-folder.md).
//
// The seam between generation (expensive) and analysis (cheap, repeatable). A folder is written
// into a temporary sibling and renamed into place, so a reader sees a complete run or none.
#ifndef KEVO_IO_RUNFOLDER_H
#define KEVO_IO_RUNFOLDER_H

#include <stdint.h>

#include "kevo.h"

#define KEVO_RUN_FORMAT "kevo-run"

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
} kevo_run_record;

// Writes DIR/hidden.safetensors and DIR/run.json. DIR may exist only as an empty folder or an
// earlier run folder (which is replaced); anything else is refused.
kevo_status kevo_runfolder_write(const char *dir, const kevo_run_record *rec, kevo_error *err);

// A loaded run folder. Every field is checked against the others before it is returned.
typedef struct kevo_runfolder {
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
    void *json;                       // the parsed run.json (cJSON), for fields not listed here
} kevo_runfolder;

kevo_status kevo_runfolder_load(const char *dir, kevo_runfolder **out, kevo_error *err);
void kevo_runfolder_free(kevo_runfolder *rf);

// FNV-1a 64 of MODEL_DIR/config.json's bytes, as 16 lower-case hex digits + NUL.
kevo_status kevo_config_digest(const char *model_dir, char out[17], kevo_error *err);

#endif
