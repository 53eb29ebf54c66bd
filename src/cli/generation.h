// generation.h — what the generating subcommands (run, batch, demo) share: their options and
// Ctrl-C / SIGTERM (which analyze catches too).
#ifndef KEVO_CLI_GENERATION_H
#define KEVO_CLI_GENERATION_H

#include <signal.h>

#include "model/llava.h"

// getopt_long entries of the shared options (short codes n, T, M, t, c).
#define CLI_GENERATION_OPTIONS                                                                   \
    {"max-new", required_argument, 0, 'n'}, {"template", required_argument, 0, 'T'},            \
        {"image-mode", required_argument, 0, 'M'}, {"threads", required_argument, 0, 't'},      \
        {"compute", required_argument, 0, 'c'}

#define CLI_GENERATION_HELP                                                                      \
    "  -n, --max-new N      new tokens at most (default 256, as the paper)\n"                    \
    "  --template NAME      llava_v1 (default: original LLaVA, system prompt) or llava-hf\n"     \
    "  --image-mode MODE    pad (default: original LLaVA) or crop (llava-hf)\n"                  \
    "  --threads N          threads (default: all cores)\n"                                      \
    "  --compute P          f32 (default) or bf16 (AVX512-BF16 products in the prefill)\n"

// Applies one shared option to q and p: 1 done, 0 a bad value (a usage error was printed),
// -1 not a shared option.
int cli_generation_option(const char *cmd, int opt, const char *arg, kevo_request *q,
                          kevo_run_params *p);

// Installs a SIGINT and SIGTERM handler and returns the flag it sets (for
// kevo_run_params.interrupt; analyze and demo also test it between their analysis steps).
const volatile sig_atomic_t *cli_catch_interrupt(void);

#endif
