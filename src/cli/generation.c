// generation.c — the --compute, --image-states and --store options shared by run and batch, and Ctrl-C shared by run, batch,
// demo and analyze (see generation.h).
#include "cli/generation.h"

#include <string.h>

int cli_compute(const char *cmd, const char *arg, void *dest)
{
    if (strcmp(arg, "f32") && strcmp(arg, "bf16")) {
        cli_usage_error(cmd, "--compute expects f32 or bf16, not '%s'", arg);
        return 0;
    }
    *(kevo_compute *)dest = strcmp(arg, "bf16") == 0 ? KEVO_COMPUTE_BF16 : KEVO_COMPUTE_F32;
    return 1;
}

int cli_store(const char *cmd, const char *arg, void *dest)
{
    if (strcmp(arg, "f32") && strcmp(arg, "f16")) {
        cli_usage_error(cmd, "--store expects f32 or f16, not '%s'", arg);
        return 0;
    }
    *(kevo_dtype *)dest = strcmp(arg, "f16") == 0 ? KEVO_DTYPE_F16 : KEVO_DTYPE_F32;
    return 1;
}

kevo_status cli_recording_apply(cli_recording *rec, int n_layers, kevo_run_params *p,
                                kevo_error *err)
{
    p->image_states = NULL;
    p->n_image_states = 0;
    if (!rec->image_states)
        return KEVO_OK;
    kevo_status st = kevo_image_states_parse(rec->image_states, n_layers, &rec->indices,
                                             &p->n_image_states, err);
    p->image_states = rec->indices;
    return st;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

// SIGTERM (kill, a job scheduler's time limit) stops a run as Ctrl-C does: at the next layer (an
// analysis: at its next step), with nothing written.
const volatile sig_atomic_t *cli_catch_interrupt(void)
{
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    return &interrupted;
}
