// generation.c — options, clock and Ctrl-C shared by run, batch and demo, and Ctrl-C by analyze
// (see generation.h).
#include "cli/generation.h"

#include <string.h>

#include "base/clock.h"
#include "cli/cli.h"

int cli_generation_option(const char *cmd, int opt, const char *arg, kevo_request *q,
                          kevo_run_params *p)
{
    kevo_error err;
    switch (opt) {
    case 'n':
        return cli_parse_int(cmd, "--max-new", arg, 1, 1 << 20, &p->max_new_tokens);
    case 't':
        return cli_parse_int(cmd, "--threads", arg, 1, 1024, &p->n_threads);
    case 'T':
        if (kevo_template_parse(arg, &q->template_kind, &err) == KEVO_OK)
            return 1;
        cli_usage_error(cmd, "%s", err.msg);
        return 0;
    case 'M':
        if (kevo_image_mode_parse(arg, &q->image_mode, &err) == KEVO_OK)
            return 1;
        cli_usage_error(cmd, "%s", err.msg);
        return 0;
    case 'c':
        if (strcmp(arg, "f32") && strcmp(arg, "bf16")) {
            cli_usage_error(cmd, "--compute expects f32 or bf16, not '%s'", arg);
            return 0;
        }
        p->compute = strcmp(arg, "bf16") == 0 ? KEVO_COMPUTE_BF16 : KEVO_COMPUTE_F32;
        return 1;
    default:
        return -1;
    }
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
