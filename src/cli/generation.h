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
    "  --template NAME      llava_v1 (default: original LLaVA, system prompt) or llava-hf\n"     \
    "  --image-mode MODE    pad (default: original LLaVA) or crop (llava-hf)\n"                  \
    "  --threads N          threads (default: all cores)\n"                                      \
    "  --compute P          f32 (default) or bf16 (AVX512-BF16 products in the prefill)\n"

// --compute f32|bf16 into the kevo_compute at dest (a CLI_CALL).
int cli_compute(const char *cmd, const char *arg, void *dest);

// Installs a SIGINT and SIGTERM handler and returns the flag it sets (for
// kevo_run_params.interrupt and kevo_analyze_params.interrupt; demo also tests it between its
// steps).
const volatile sig_atomic_t *cli_catch_interrupt(void);

#endif
