// kevo.h — the one public header of libkevo.
//
// kevo runs LLaVA-family vision-language models on the CPU, records every layer's hidden state
// while it generates, and turns those states into the layer-by-layer analyses of Wang et al.,
// "Towards Understanding How Knowledge Evolves in Large Vision-Language Models" (CVPR 2025).
//
//     kevo_error err;
//     kevo_model *model = NULL;
//     if (kevo_model_load("models/demo", &model, &err) != KEVO_OK) {
//         fprintf(stderr, "kevo: %s\n", err.msg);
//         return 1;
//     }
//     const kevo_config *cfg = kevo_model_config(model);   // borrowed, lives as long as model
//     ...
//     kevo_model_free(model);
//
// Conventions, everywhere in the library:
// - Every fallible call returns a kevo_status (KEVO_OK = 0, negative = kind of failure) and, when
//   the caller passes a kevo_error, fills it with one sentence naming the file, the tensor and the
//   byte offset involved. The library never exits and never prints.
// - Objects are opaque; each `_create`/`_load` has a `_free` that accepts NULL.
// - Returned pointers are borrowed from the object they came from unless a comment says otherwise.
// - Structs a caller fills (params, requests) are public, with a `_default_params()` where there
//   are defaults; structs a caller reads back whole (timings, summaries) are public values.
//
// This file holds the conventions' types (status, errors, element types), the model and the run;
// the rest of the library is in one part per topic, include/kevo/<topic>.h, which this file
// includes at its end (include kevo.h, never a part). The parts keep each topic's declarations
// and documentation together, where one file of them all would pass 700 lines.
#ifndef KEVO_H
#define KEVO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define KEVO_VERSION "0.1.0"

// The longest path kevo builds or accepts, terminating NUL included; a longer one is an error
// that names it, never a truncation.
#define KEVO_PATH_MAX 4096

// ---------------------------------------------------------------------------------------------
// Status and errors

typedef enum kevo_status {
    KEVO_OK = 0,
    KEVO_ERR_IO = -1,           // a file cannot be opened, read, mapped or written
    KEVO_ERR_FORMAT = -2,       // a file's content is malformed (safetensors, JSON, image, ...)
    KEVO_ERR_MODEL = -3,        // tensors missing, unexpected, of the wrong shape or dtype
    KEVO_ERR_CONFIG = -4,       // a configuration value is invalid or unsupported
    KEVO_ERR_ARG = -5,          // a caller-supplied argument or option is invalid
    KEVO_ERR_NOMEM = -6,        // an allocation failed or a size would overflow
    KEVO_ERR_INTERRUPTED = -7,  // the caller asked to stop (e.g. Ctrl-C)
} kevo_status;

#define KEVO_ERROR_MAX 1024

typedef struct kevo_error {
    kevo_status status;
    char msg[KEVO_ERROR_MAX];   // one sentence, no trailing newline
} kevo_error;

// A short fixed name for a status ("I/O error", "malformed file", ...). Never NULL.
const char *kevo_status_str(kevo_status status);

// Sets err (when not NULL) to `status` and the printf-formatted message; returns `status`:
//     if (n > size) return kevo_fail(err, KEVO_ERR_FORMAT, "%s: header length %llu ...", path, n);
kevo_status kevo_fail(kevo_error *err, kevo_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Prepends the printf-formatted text to err->msg (when err is not NULL) and returns err->status:
// a caller adds the context it knows (the file being loaded) and passes the status on unchanged.
kevo_status kevo_error_prefix(kevo_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// ---------------------------------------------------------------------------------------------
// Element types of stored tensors: safetensors' names, then ggml's block types (GGUF files;
// ggml-common.h), which store a row as blocks of 32 or 256 elements. Weights may be F32, F16,
// BF16 or (from GGUF) a block type.

typedef enum kevo_dtype {
    KEVO_DTYPE_BOOL, KEVO_DTYPE_U8, KEVO_DTYPE_I8, KEVO_DTYPE_I16, KEVO_DTYPE_U16,
    KEVO_DTYPE_F16, KEVO_DTYPE_BF16, KEVO_DTYPE_I32, KEVO_DTYPE_U32, KEVO_DTYPE_F32,
    KEVO_DTYPE_F64, KEVO_DTYPE_I64, KEVO_DTYPE_U64, KEVO_DTYPE_F8_E4M3, KEVO_DTYPE_F8_E5M2,
    KEVO_DTYPE_Q4_0, KEVO_DTYPE_Q4_1, KEVO_DTYPE_Q5_0, KEVO_DTYPE_Q5_1, KEVO_DTYPE_Q8_0,
    KEVO_DTYPE_Q2_K, KEVO_DTYPE_Q3_K, KEVO_DTYPE_Q4_K, KEVO_DTYPE_Q5_K, KEVO_DTYPE_Q6_K,
    KEVO_DTYPE_IQ4_NL,
    KEVO_DTYPE_COUNT
} kevo_dtype;

const char *kevo_dtype_name(kevo_dtype dtype);  // "F16", "Q4_K", ...
size_t kevo_dtype_size(kevo_dtype dtype);       // bytes per element; 0 for a block type
// Elements per block (1 for the element types) and bytes per block (the element size).
int kevo_dtype_block_elems(kevo_dtype dtype);
size_t kevo_dtype_block_bytes(kevo_dtype dtype);

// ---------------------------------------------------------------------------------------------
// Models
//
// A model is immutable once loaded: the config, the tokenizer and the weights, which stay
// memory-mapped from their safetensors files (F16/BF16 weights are never copied into F32 whole).

typedef struct kevo_model kevo_model;

#define KEVO_PINPOINTS_MAX 64   // image_grid_pinpoints entries kevo reads

// The dimensions of a LLaVA model, read from config.json with the transformers class defaults
// filled in for every key a sparse config leaves out.
typedef struct kevo_config {
    char model_type[32];        // config.json's: the family ("llava", "llava_next")
    char text_model_type[16];   // text_config's: the decoder ("llama", "mistral")
    // Language model (LLaMA, Mistral)
    int text_hidden;            // D
    int text_intermediate;      // FFN width
    int text_layers;            // L
    int text_heads;
    int text_kv_heads;          // < text_heads: grouped-query attention
    int text_head_dim;
    int text_vocab;             // V, rows of embed_tokens and lm_head (incl. padding rows)
    int text_max_positions;
    float rms_norm_eps;
    float rope_theta;
    int tie_word_embeddings;
    int bos_id;
    int eos_ids[8];             // generation stops at any of these (generation_config.json)
    int n_eos;
    int pad_id;                 // < 0 when absent
    int sliding_window;         // Mistral: a key more than this many positions back is not
                                // attended to; 0 = every earlier position (LLaMA, null)
    // Vision tower (CLIP ViT)
    int vision_hidden;
    int vision_intermediate;
    int vision_layers;          // layers stored in the checkpoint
    int vision_heads;
    int vision_head_dim;
    int image_size;
    int patch_size;
    int num_channels;
    float vision_ln_eps;
    int vision_gelu_exact;      // 0 = quick_gelu (CLIP), 1 = erf GELU
    // LLaVA glue
    int feature_layer;          // the deepest of feature_layers: the tower runs this many layers
    int feature_layers[8];      // indices into the tower's hidden states (0 = pre-LN output),
    int n_feature_layers;       // concatenated in this order (vision_feature_layer, int or list)
    int feature_keep_cls;       // vision_feature_select_strategy "full"
    int image_token_id;
    int image_tokens;           // image positions of one image: LLaVA-1.5's fixed count; for
                                // LLaVA-NeXT the most any image size can take (the memory plan)
    int projector_bias;
    // LLaVA-NeXT (anyres): the tile grids an image may be cut into, (height, width) in pixels,
    // from config.json's image_grid_pinpoints; n 0 for LLaVA-1.5
    int grid_pinpoints[KEVO_PINPOINTS_MAX][2];
    int n_grid_pinpoints;
    int image_newline;          // a learned image_newline vector ends every row of tile features
    // Qwen2-VL / Qwen2.5-VL (model_type "qwen2_vl", "qwen2_5_vl"): a native-resolution tower
    // whose merged 2 x 2 patches are the image positions, and a Qwen2 decoder with M-RoPE
    int attention_bias;         // the decoder's q/k/v projections carry biases (Qwen2)
    int mrope_section[3];       // M-RoPE: the rotary pairs of the temporal, row and column
    int n_mrope;                //   position streams, in that order (sum E/2); 0 = 1-D RoPE
    int vision_start_id;        // the token before the image (<|vision_start|>); -1 none
    int vision_end_id;          // the token after it (<|vision_end|>); -1 none
    int temporal_patch_size;    // frames in one patch (2: a still image is duplicated)
    int spatial_merge_size;     // patches per side merged into one image position; 0 = LLaVA
    int vision_out_hidden;      // the merger's output width (the decoder's D)
    int vision_window;          // Qwen2.5-VL window_size in pixels; 0 = full attention always
    int fullatt_blocks[64];     // Qwen2.5-VL: the blocks that attend over the whole image
    int n_fullatt_blocks;
    int vision_swiglu;          // Qwen2.5-VL blocks: RMSNorm and a biased SwiGLU MLP; 0 =
                                //   Qwen2-VL's LayerNorm and fc1 / QuickGELU / fc2
    // GGUF files (llama.cpp's converter): each head's q_proj / k_proj rows are interleaved
    // (LlamaModel.permute) and the decoder puts the products back in transformers' order
    int qk_interleaved;
} kevo_config;

// How images become pixel_values: preprocessor_config.json (transformers' CLIPImageProcessor,
// with its class defaults for absent keys).
typedef struct kevo_image_config {
    int do_convert_rgb;
    int do_resize;
    int shortest_edge;          // > 0: resize the short side to this; else resize_w x resize_h
    int resize_w, resize_h;
    int resample;               // PIL filter id (3 = bicubic)
    int do_center_crop;
    int crop_w, crop_h;
    int do_rescale;
    double rescale_factor;
    int do_normalize;
    double mean[3], std[3];
    // LLaVA-NeXT's anyres tiling (image_grid_pinpoints): candidate (height, width) resolutions,
    // each a positive multiple of crop_size; n_grid_pinpoints is 0 when the key is absent.
    int grid_pinpoints[KEVO_PINPOINTS_MAX][2];
    int n_grid_pinpoints;
    // Qwen2VLImageProcessor (merge_size > 0; 0 for the CLIP processors): smart_resize keeps
    // the pixel count within [min_pixels, max_pixels] with both sides multiples of
    // patch_size * merge_size; temporal_patch_size frames make one patch.
    int min_pixels, max_pixels;
    int patch_size, merge_size, temporal_patch_size;
} kevo_image_config;

// Which files make a model (docs/gguf.md). A GGUF model's vision file may be named apart, as
// llama.cpp's tools take it (llama-mtmd-cli -m TEXT.gguf --mmproj MMPROJ.gguf). Borrowed paths.
typedef struct kevo_model_source {
    const char *path;     // a hub folder; or a GGUF model: a folder holding the text model and
                          // one mmproj*.gguf, or the text model's file, its mmproj*.gguf beside it
    const char *mmproj;   // NULL; or the vision file of the text model `path`, wherever it is
                          // (a folder as path is then KEVO_ERR_ARG)
} kevo_model_source;

// Loads config.json, preprocessor_config.json, generation_config.json (when present) and the
// safetensors weights (one file or shards through model.safetensors.index.json) of `dir`, and
// binds every tensor the config implies; a GGUF model from its two files. On failure *out is
// NULL and err says what is wrong.
kevo_status kevo_model_load(const char *dir, kevo_model **out, kevo_error *err);
// The same from src: kevo_model_load(src->path) when src->mmproj is NULL.
kevo_status kevo_model_load_source(const kevo_model_source *src, kevo_model **out,
                                   kevo_error *err);
// The dimensions alone: config.json (+ generation_config.json when present) of `dir`, without
// the weights (kevo batch reads the layer count before it decides what to run).
kevo_status kevo_config_load(const char *dir, kevo_config *cfg, kevo_error *err);
// The same for any model: a GGUF model's from its two files' metadata.
kevo_status kevo_config_load_source(const kevo_model_source *src, kevo_config *cfg,
                                    kevo_error *err);
void kevo_model_free(kevo_model *model);
const kevo_config *kevo_model_config(const kevo_model *model);
const kevo_image_config *kevo_model_image_config(const kevo_model *model);
const char *kevo_model_dir(const kevo_model *model);      // the source's path
const char *kevo_model_mmproj(const kevo_model *model);   // its vision file named apart, or NULL

// The model's family (chosen from config.json's model_type) and what it supplies, for people.
typedef struct kevo_family_info {
    const char *model_type;       // "llava", "llava_next"
    const char *name;             // "LLaVA-1.5", "LLaVA-NeXT"
    const char *image_processor;  // the transformers class its image path follows
    const char *vision_path;      // how pixels become the image's positions
    const char *decoder;          // "LLaMA", "Mistral", "Qwen2"
    // `kevo info`'s lines for the vision tower, the image and the projector (or merger)
    char vision[512], image[512], projector[256];
} kevo_family_info;
kevo_family_info kevo_model_family(const kevo_model *model);

// What the bound weights are and cost (`kevo info`).
typedef struct kevo_weights_info {
    int n_vision_layers;         // tower layers run: those below the feature layer
    uint64_t n_params;           // every tensor of the checkpoint
    uint64_t vision_params, projector_params, text_params;
    uint64_t bytes_used;         // bytes of the tensors kevo reads (mapped, never copied)
    int dtype_counts[KEVO_DTYPE_COUNT];   // tensors stored in each element type
    int n_files;                 // the weights' files
    uint64_t file_bytes;         // their sizes, summed
    const char *file_format;     // "safetensors" or "GGUF"
} kevo_weights_info;

kevo_weights_info kevo_model_weights_info(const kevo_model *model);

// The memory a run of `model` takes besides the mapped weights, for a prompt of n_prompt
// positions (image included), max_new new tokens and n_threads threads: the same plan
// kevo_run_create allocates, so the estimate is the footprint. A tiling family (LLaVA-NeXT) is
// planned for its largest image: the most tiles and config.image_tokens positions.
typedef struct kevo_memory_estimate {
    int n_prompt, max_new, n_threads;
    size_t total;                // everything below, in one allocation
    size_t vision_bytes, text_bytes;   // activations of the tower and projector, of the decoder
    size_t kv_bytes;             // the key/value cache
    size_t scratch_bytes;        // packed operands of the matrix products
    size_t record_bytes;         // the recorder: every layer's state for every new token
    size_t image_record_bytes;   // the image recorder: every image position at the chosen indices
} kevo_memory_estimate;

// n_image_states: how many hidden-state indices the image recorder keeps (0: none).
kevo_memory_estimate kevo_model_memory(const kevo_model *model, int n_prompt, int max_new,
                                       int n_image_states, int n_threads);

// ---------------------------------------------------------------------------------------------
// Runs: greedy generation with every layer's hidden state recorded
//
// A run holds everything mutable (activations, key/value cache, the recorder) in one allocation
// planned from the config; it can generate many times (one image each) and reuses its memory.
// Nothing is allocated per token.

// In prompt ids, the one position where the image's features go (original LLaVA's sentinel).
#define KEVO_IMAGE_SLOT (-200)

typedef enum kevo_phase {
    KEVO_PHASE_VISION,      // CLIP tower and projector
    KEVO_PHASE_PREFILL,     // the prompt, image included
    KEVO_PHASE_DECODE,      // one call per generated token
    KEVO_PHASE_DONE,
} kevo_phase;

typedef enum kevo_stop {
    KEVO_STOP_EOS,          // the model emitted an end-of-sequence id (it is recorded)
    KEVO_STOP_MAX_NEW,      // max_new_tokens were generated
    KEVO_STOP_MAX_POSITIONS,// the context reached max_position_embeddings
} kevo_stop;

typedef struct kevo_timings {
    double vision_s, prefill_s, decode_s;
    double decode_tokens_per_s;   // tokens after the first, per second of decoding
    double record_s;              // of all the above, the time spent recording hidden states
} kevo_timings;

typedef struct kevo_progress {
    kevo_phase phase;
    int n_prompt;           // prompt positions, image included
    int n_generated, max_new;
    kevo_timings timings;   // so far
} kevo_progress;

// Precision of the products in the many-row matrix products (prefill, the vision tower).
// Decoding always reads the stored weights exactly and multiplies in F32.
typedef enum kevo_compute {
    KEVO_COMPUTE_F32,     // weights widened exactly, F32 products: the reference's math
    KEVO_COMPUTE_BF16,    // activations and weights rounded to BF16, products summed in F32
                          // (AVX512-BF16); about 2x faster prefill, ~1e-2 relative deviation
} kevo_compute;

typedef struct kevo_run_params {
    int max_new_tokens;     // > 0; the recorder is sized for this many tokens
    int n_threads;          // threads of the run's parallel loops, fixed when it is created;
                            // 0: OpenMP's default for the creating thread (OMP_NUM_THREADS, the
                            // cores, or kevo_set_threads). Results do not depend on it.
    int no_record;          // 1: skip the recorder (kevo_run_hidden is then empty); benchmarks
    // Hidden-state indices, ascending and unique, each in 0..L, at which the state of every image
    // position is recorded during prefill (kevo_run_image_hidden), in the indexing of the
    // answer's states; copied by kevo_run_create. NULL / 0: none (kevo_image_states_parse reads
    // the command line's SPEC).
    const int *image_states;
    int n_image_states;
    kevo_compute compute;   // KEVO_COMPUTE_F32 by default
    // Called when a phase starts and after every token (NULL: silent).
    void (*progress)(const kevo_progress *p, void *user);
    void *progress_user;
    // When not NULL and set non-zero (e.g. by a SIGINT handler), generation stops between layers
    // or tokens with KEVO_ERR_INTERRUPTED.
    const volatile sig_atomic_t *interrupt;
} kevo_run_params;

kevo_run_params kevo_run_default_params(void);   // 256 new tokens, default threads, silent

// Threads. A run computes with its own count and never changes OpenMP's settings. (OpenBLAS,
// which kevo calls from inside its own threads, is made single-threaded once, on first use.)
// The library's work that takes no count (image preprocessing, the analyses, t-SNE with
// n_threads 0, runs with n_threads 0) runs on OpenMP's default team of the calling thread;
// kevo_set_threads(n) sets that default (omp_set_num_threads) for the calling thread, n <= 0
// leaves it. The library never calls it itself; an application that wants one count for all of
// it calls it once (the command line does, from --threads).
void kevo_set_threads(int n);

typedef struct kevo_run kevo_run;

// The run borrows `model`, which must outlive it.
kevo_status kevo_run_create(const kevo_model *model, const kevo_run_params *params,
                            kevo_run **out, kevo_error *err);
void kevo_run_free(kevo_run *run);
int kevo_run_threads(const kevo_run *run);   // the run's thread count: params.n_threads, 0 resolved

// One image as the vision path takes it: the pixel_values of the family's image processor
// (kevo_llava_answer makes them from the request's file).
typedef struct kevo_image_input {
    const float *pixels;    // (n_tiles, channels, image_size, image_size)
    int n_tiles;            // 1 (LLaVA-1.5); LLaVA-NeXT: the base image, then the tile grid
    int width, height;      // the original image (LLaVA-NeXT's image_sizes: grid and unpadding)
} kevo_image_input;

// How many tiles and image positions an image of width x height takes in this model
// (KEVO_ERR_ARG for a size the family cannot place).
kevo_status kevo_model_image_tokens(const kevo_model *model, int width, int height,
                                    int *n_tiles, int *n_tokens, kevo_error *err);

// Generates greedily from one image and prompt ids holding it once: as KEVO_IMAGE_SLOT, or as a
// run of exactly as many image_token_id ids as the image takes (the llava-hf processor's form).
// BOS must already be in prompt_ids.
kevo_status kevo_run_generate(kevo_run *run, const kevo_image_input *image,
                              const int *prompt_ids, int n_ids, kevo_error *err);

// Results of the last generate, borrowed until the next one.
int kevo_run_n_generated(const kevo_run *run);            // T, EOS included when it stopped there
const int *kevo_run_generated_ids(const kevo_run *run);  // (T)
// (T, L+1, D): hidden[t][l] = the state at the position that predicts generated token t, as
// transformers' generate(output_hidden_states=True): 0 = embeddings, 1..L-1 = raw layer outputs,
// L = after the final RMSNorm.
const float *kevo_run_hidden(const kevo_run *run);
const float *kevo_run_logits(const kevo_run *run);       // (V) of the last step
int kevo_run_n_image_tokens(const kevo_run *run);        // N: the image's positions
// (N, K, D): the state of image position n (in the image's order, row-major over the patch grid)
// at hidden-state index image_states[k], NULL when the run keeps none; K = n_image_states.
const float *kevo_run_image_hidden(const kevo_run *run);
int kevo_run_n_image_states(const kevo_run *run);
const int *kevo_run_image_states(const kevo_run *run);  // (K) the indices, ascending
int kevo_run_image_first_position(const kevo_run *run); // the image's first prompt position

// The image recorder's indices from a SPEC over hidden-state indices 0..n_layers: "" or "all"
// every index; "every=N" 0, N, 2N, ... and always n_layers; or a comma-separated list of
// indices and ranges "A:B" (inclusive), "L" standing for n_layers ("0,8,16:L"). The result is
// sorted and unique, malloc'ed into *out. KEVO_ERR_ARG quoting the spec on anything else.
kevo_status kevo_image_states_parse(const char *spec, int n_layers, int **out, int *n,
                                    kevo_error *err);
int kevo_run_n_positions(const kevo_run *run);           // prompt positions, image expanded
kevo_stop kevo_run_stop_reason(const kevo_run *run);
kevo_timings kevo_run_timings(const kevo_run *run);

// The image alone (what generate does first), for inspection and tests: afterwards
// kevo_run_image_features() holds the vision tower's selected features of every tile
// (n_tiles * per-tile tokens, vision_hidden * n_feature_layers) and kevo_run_image_embeds() the
// image positions' embeddings (N, text_hidden), packed as the family places them; borrowed until
// the next call.
kevo_status kevo_run_encode_image(kevo_run *run, const kevo_image_input *image,
                                  kevo_error *err);
const float *kevo_run_image_features(const kevo_run *run);
const float *kevo_run_image_embeds(const kevo_run *run);

// ---------------------------------------------------------------------------------------------
// The rest of the library, one part per topic (each is included here, never on its own).

#include "kevo/files.h"       // time, paths, atomic files, output folders replaced whole
#include "kevo/tokenizer.h"   // tokenizers and prompt templates
#include "kevo/image.h"       // image files to pixel_values
#include "kevo/runfolder.h"   // run folders and what determines a run
#include "kevo/llava.h"       // one question about one image, end to end
#include "kevo/tsne.h"        // t-SNE of any matrix
#include "kevo/report.h"      // figure formats and HTML reports
#include "kevo/analysis.h"    // the layer-by-layer analyses of one run and of several
#include "kevo/diff.h"        // two runs of one image and question compared layer by layer
#include "kevo/stats.h"       // statistics over many analysed runs (a dataset)
#include "kevo/demo.h"        // the bundled examples and the demo's folder
#include "kevo/manifest.h"    // dataset manifests (kevo batch --manifest) and item.json

#endif
