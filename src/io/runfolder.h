// runfolder.h — writing run folders and the fields of a loaded one (loading, the accessors
// and the run's identity are public: kevo.h, kevo/runfolder.h).
#ifndef KEVO_IO_RUNFOLDER_H
#define KEVO_IO_RUNFOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "kevo.h"

#define KEVO_RUN_FORMAT "kevo-run"
// run.json's format_version: 2 added the run's identity (model.weights_sha256,
// model.files_sha256, image.sha256, options.compute); 3 the sequence's spans, the patch grid,
// the image states and the storage dtype. Older folders still load.
#define KEVO_RUN_FORMAT_VERSION 3

// Where one image position comes from: a patch of a tile (its rectangle in that tile's
// pixel_values and in the original image), the class token, or LLaVA-NeXT's row-ending
// newline (no rectangle: all zeros).
typedef enum kevo_position_kind {
    KEVO_POSITION_PATCH, KEVO_POSITION_CLASS, KEVO_POSITION_NEWLINE
} kevo_position_kind;

typedef struct kevo_image_position {
    kevo_position_kind kind;
    int tile;                 // 0 the base image (the only one for LLaVA-1.5), then the grid;
                              // -1 for a newline
    int row, col;             // in tile 0's patch grid, or in the whole grid of the other
                              // tiles (unpadded; a newline: col = one past the row's last)
    double pre[4];            // x0, y0, x1, y1 in the tile's pixel_values
    double orig[4];           // the same in the original image (empty when wholly padding)
} kevo_image_position;

// What `kevo run` records. All pointers are borrowed for the duration of the write.
typedef struct kevo_run_record {
    const char *model_dir;
    const char *mmproj;               // the model's vision file named apart, or NULL
    const kevo_config *config;
    const char *weights_dtype;        // "F16", or the kinds joined by '+' ("F32+Q4_K+Q6_K")
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
    // The answer's states kept (kevo_save_options): NULL all, else n_hidden_states indices.
    const int *hidden_states;
    int n_hidden_states;
    // kevo_save_options.before_commit and its ctx, or NULL.
    kevo_status (*before_commit)(const char *tmp_dir, const char *dir, void *ctx,
                                 kevo_error *err);
    void *ctx;
    kevo_dtype store;                 // how the states are stored: KEVO_DTYPE_F32 or _F16
    // Where the image sits and what it looks like (always recorded).
    int image_first;                  // the image's first position in the sequence
    int image_tokens;                 // the image's positions
    int n_tiles;                      // its tiles (1 for LLaVA-1.5)
    const kevo_image_position *positions;   // (image_tokens) where each comes from, or NULL
    // The image recorder (n_image_states 0: none): (image_tokens, K, D).
    const float *image_hidden;
    const int *image_states;          // (K) hidden-state indices, ascending
    int n_image_states;
    // The run's identity. NULL: the writer reads it (model_identity from model_dir and mmproj,
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
    char *mmproj;                     // model.mmproj: its vision file named apart, or NULL
    char config_fnv1a64[17];
    int text_layers, text_hidden, vocab_rows;
    // what was asked and answered
    char *question, *template_name, *prompt, *text, *image_path, *stop;
    int *generated_ids;
    char **pieces;
    int n_steps;                      // T
    // hidden states: (T, L+1, D) F32, mapped; a run keeping only some (kevo_runfolder_load_
    // record): (T, K, D), n_states = K, NULL when none
    const float *hidden;
    int n_states;                     // L+1 (or K)
    int kept_all;                     // 1: every index 0..L; 0: kept (K = n_kept) only
    int n_kept, *kept;
    char hidden_dtype[8];             // run.json's hidden.dtype, "" when absent
    int dim;                          // D
    struct kevo_safetensors *file;    // owns the mapping
    // The run's identity ("" / 0 when run.json predates it: format_version 1)
    int format_version;
    char kevo_version[32];
    kevo_model_identity model;        // config_fnv1a64 as above
    char image_sha256[65], image_mode[16], compute[16];
    int max_new_tokens;
    void *json;                       // the parsed run.json (cJSON), for fields not listed here
    float *hidden_owned;              // hidden widened from F16, or NULL when it is mapped
    // The image side (format_version 3; zeros when absent)
    int image_tokens, image_first;    // image positions and the first one
    int image_width, image_height;    // the original image
    int grid_rows, grid_cols, class_token;   // the grid the patch maps draw
    int n_tiles;                      // 1, or LLaVA-NeXT's base image + tiles
    double *patch_original;           // (rows * cols, 4), or NULL
    int *cell_position;               // (rows * cols) the image position in each grid cell: the
                                      // single grid's patches after the class token, or a tiled
                                      // image's unpadded tile grid (base tile and newlines are
                                      // not drawn)
    int n_image_states;               // K, 0 when the run kept no image states
    int *image_states;                // (K)
    const float *image_hidden;        // (image_tokens, K, D), mapped or owned
    float *image_hidden_owned;
};

// runfolder_states.c: a state tensor of n values as stored in dtype (F32: *data = src, nothing
// owned; F16: a converted copy in *owned, KEVO_ERR_ARG naming `name` and the element when a value
// is past F16's range).
kevo_status kevo_states_store(const char *name, const float *src, size_t n, kevo_dtype dtype,
                              void **owned, const void **data, kevo_error *err);
// The F32 or F16 3-D tensor `name` of file (at path, for messages) with the given shape, as F32:
// mapped, or widened into *owned; every value finite (axes name the dimensions in messages).
struct kevo_safetensors;
kevo_status kevo_states_read(const struct kevo_safetensors *file, const char *path,
                             const char *name, const int64_t shape[3], const char *const axes[3],
                             const float **data, float **owned, kevo_error *err);

// runfolder_image.c: run.json's "spans", "patches" and "image_states" for rec; and reading them
// (with the image_hidden tensor from rf->file) into rf.
void kevo_runfolder_image_json(void *root, const kevo_run_record *rec);
kevo_status kevo_runfolder_image_read(kevo_runfolder *rf, const void *root, const char *where,
                                      kevo_error *err);

// FNV-1a 64 of the model's config.json's bytes (a GGUF model's: both files' metadata and
// tensor infos), as 16 lower-case hex digits + NUL.
kevo_status kevo_config_digest(const kevo_model_source *src, char out[17], kevo_error *err);

#endif
