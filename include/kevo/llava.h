// kevo/llava.h — part of kevo.h (include kevo.h): one question about one image, end to end:
// decode and preprocess the image, build the prompt from the template, generate with the
// recorder on, decode the answer, save the run folder. `kevo run`, `kevo batch` and `kevo demo`
// share it.
#ifndef KEVO_LLAVA_H
#define KEVO_LLAVA_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/llava.h"
#endif

typedef struct kevo_request {
    const char *image_path;
    const char *question;
    kevo_template template_kind;
    kevo_image_mode image_mode;
} kevo_request;

// What a request produced besides the run's own results (ids, hidden states, timings). Owned by
// the caller, emptied by kevo_answer_clear.
typedef struct kevo_answer {
    kevo_template template_kind;   // the request's, "auto" resolved (kevo_model_template)
    char *prompt;              // the full prompt text
    int *prompt_ids;           // with KEVO_IMAGE_SLOT at image_position
    int n_prompt_ids, image_position;
    int image_width, image_height;
    char *text;                // the decoded answer, EOS and special tokens dropped, trimmed
    char **pieces;             // raw piece of every generated id (n_generated of the run)
    int n_pieces;
} kevo_answer;

// Answers q with run r (of model m). On failure the answer holds nothing to free.
kevo_status kevo_llava_answer(const kevo_model *m, kevo_run *r, const kevo_request *q,
                              kevo_answer *a, kevo_error *err);
void kevo_answer_clear(kevo_answer *a);   // frees what the answer owns; accepts a zeroed one

// How a run folder is written besides what the run holds.
typedef struct kevo_save_options {
    // The model's and the image's digests when the caller has read them already (kevo batch),
    // else NULL and the writer reads them.
    const kevo_run_identity *known;
    int n_threads;             // recorded in run.json
    double load_s;             // the model's loading time, recorded in run.json
    kevo_dtype store;          // the hidden states on disk: KEVO_DTYPE_F32 (exact) or
                               // KEVO_DTYPE_F16 (half the bytes, relative error <= 2^-11)
    // The answer's states kept in hidden.safetensors: NULL every index 0..L; else these
    // n_hidden_states indices, ascending (0: none and no hidden.safetensors unless image
    // states are kept). run.json's hidden.indices says which.
    const int *hidden_states;
    int n_hidden_states;
    // Called with the temporary folder once the run folder is complete there with every
    // state, before the states not kept are dropped and it is swapped into `dir` (kevo batch
    // analyses there, so a run that keeps no states still has its analysis); NULL: none.
    kevo_status (*before_commit)(const char *tmp_dir, const char *dir, void *ctx,
                                 kevo_error *err);
    void *ctx;
} kevo_save_options;

// Writes the run folder (docs/run-folder.md) for the last answer of run r, the image states
// included when the run kept them, and where the image's patches lie in the user's image.
kevo_status kevo_llava_save(const kevo_model *m, const kevo_run *r, const kevo_request *q,
                            const kevo_answer *a, const kevo_save_options *o, const char *dir,
                            kevo_error *err);

#endif
