// generation.h — what the generating subcommands (run, batch, demo) share: their options and
// Ctrl-C / SIGTERM (which analyze catches too).
#ifndef KEVO_CLI_GENERATION_H
#define KEVO_CLI_GENERATION_H

#include <signal.h>

#include "cli/cli.h"

// The cli_option entries of the shared options, into the request q and the run parameters p.
#define CLI_GENERATION_OPTIONS(q, p)                                                             \
    CLI_OPT_INT("max-new", 'n', &(p)->max_new_tokens, 1, 1 << 20),                               \
        CLI_OPT_CHOICE("template", &(q)->template_kind, cli_template),                           \
        CLI_OPT_CHOICE("image-mode", &(q)->image_mode, cli_image_mode),                          \
        CLI_OPT_THREADS(&(p)->n_threads), CLI_OPT_CALL("compute", 0, &(p)->compute, cli_compute)

#define CLI_GENERATION_HELP                                                                      \
    "  -n, --max-new N      new tokens at most (default 256, as the paper)\n"                    \
    "  --template NAME      auto (default: LLaVA-1.5 llava_v1, the paper's; LLaVA-NeXT and\n"   \
    "                       Qwen2-VL the checkpoint's chat template), llava_v1,\n"             \
    "                       llava-hf, mistral-instruct, chatml or qwen2-vl\n"                  \
    "  --image-mode MODE    LLaVA-1.5: pad (default: original LLaVA) or crop (llava-hf);\n"     \
    "                       LLaVA-NeXT always tiles (anyres), Qwen2-VL keeps the image's\n"    \
    "                       aspect ratio (native)\n"                                            \
    "  --threads N          threads (default: all cores)\n"                                      \
    "  --compute P          f32 (default) or bf16 (AVX512-BF16 products in the prefill)\n"

// --compute f32|bf16 into the kevo_compute at dest (a CLI_CALL).
int cli_compute(const char *cmd, const char *arg, void *dest);

// What run and batch record besides the answer's states: --image-states [SPEC], --store.
typedef struct cli_recording {
    const char *image_states;   // NULL: none; "" every index; else the SPEC
    kevo_dtype store;           // KEVO_DTYPE_F32 (default) or KEVO_DTYPE_F16
    int *indices;               // the spec read against the model (cli_recording_apply)
} cli_recording;

#define CLI_RECORDING_OPTIONS(rec)                                                               \
    CLI_OPT_SPEC("image-states", &(rec)->image_states),                                          \
        CLI_OPT_CALL("store", 0, &(rec)->store, cli_store)

#define CLI_RECORDING_HELP                                                                       \
    "  --image-states [SPEC]  also record every image position's hidden state at the\n"          \
    "                       indices of SPEC (default every index 0..L; '0,8,16:L' lists\n"       \
    "                       indices and ranges, L the last; 'every=4' 0, 4, 8, ... and L),\n"    \
    "                       for the patch lens of `kevo analyze`\n"                               \
    "  --store DTYPE        f32 (default, exact) or f16 (half the disk; relative error\n"       \
    "                       at most 2^-11) for the hidden states in hidden.safetensors\n"

// --store f32|f16 into the kevo_dtype at dest (a CLI_CALL).
int cli_store(const char *cmd, const char *arg, void *dest);

// The image states of rec read against a model of n_layers layers into p (rec->indices owns
// them; free it).
kevo_status cli_recording_apply(cli_recording *rec, int n_layers, kevo_run_params *p,
                                kevo_error *err);

// Installs a SIGINT and SIGTERM handler and returns the flag it sets (for
// kevo_run_params.interrupt and kevo_analyze_params.interrupt; demo also tests it between its
// steps).
const volatile sig_atomic_t *cli_catch_interrupt(void);

#endif
