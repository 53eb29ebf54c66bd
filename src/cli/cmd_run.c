// cmd_run.c — `kevo run`: one image, one question; prints the answer and writes the run folder.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/generation.h"

static const char usage[] =
    "usage: kevo run -m MODEL_DIR [--mmproj FILE] -i IMAGE -p PROMPT [options]\n"
    "\n"
    "Answers PROMPT about IMAGE with greedy decoding, prints the answer, and records every\n"
    "layer's hidden state for every generated token in a run folder (run.json +\n"
    "hidden.safetensors) for `kevo analyze`.\n"
    "\n"
    CLI_MODEL_HELP
    "  -i, --image FILE     a JPEG or PNG image\n"
    "  -p, --prompt TEXT    the question\n"
    "  -o, --out DIR        the run folder (default runs/<image name>); an existing run\n"
    "                       folder holding only kevo's files is replaced, anything else\n"
    "                       is refused\n"
    CLI_GENERATION_HELP
    CLI_RECORDING_HELP
    "  -q, --quiet          no progress line on stderr\n";

// One live line on a terminal: the phase, its time, and the speed.
static void show_progress(const kevo_progress *p, void *user)
{
    (void)user;
    const kevo_timings *t = &p->timings;
    switch (p->phase) {
    case KEVO_PHASE_VISION:
        fprintf(stderr, "\rkevo: vision encoder...");
        break;
    case KEVO_PHASE_PREFILL:
        fprintf(stderr, "\rkevo: vision %.1f s | prefill %d positions...", t->vision_s,
                p->n_prompt);
        break;
    case KEVO_PHASE_DECODE:
    case KEVO_PHASE_DONE:
        fprintf(stderr, "\rkevo: vision %.1f s | prefill %d positions %.1f s (%.0f/s) | token "
                "%d/%d, %.2f tokens/s   ", t->vision_s, p->n_prompt, t->prefill_s,
                t->prefill_s > 0 ? p->n_prompt / t->prefill_s : 0.0, p->n_generated, p->max_new,
                t->decode_tokens_per_s);
        if (p->phase == KEVO_PHASE_DONE)
            fputc('\n', stderr);
        break;
    }
    fflush(stderr);
}

int cmd_run(int argc, char **argv)
{
    const char *model_dir = NULL, *mmproj = NULL, *out = NULL;
    kevo_request q = {.template_kind = KEVO_TEMPLATE_AUTO, .image_mode = KEVO_IMAGE_MODE_PAD};
    kevo_run_params params = kevo_run_default_params();
    cli_recording rec = {.store = KEVO_DTYPE_F32};
    int quiet = 0;
    kevo_error err;
    const cli_option opts[] = {
        CLI_OPT_STRING("model", 'm', &model_dir),   CLI_OPT_STRING("image", 'i', &q.image_path),
        CLI_OPT_STRING("prompt", 'p', &q.question), CLI_OPT_STRING("out", 'o', &out),
        CLI_OPT_FLAG("quiet", 'q', &quiet),         CLI_OPT_HELP,
        CLI_OPT_STRING("mmproj", 0, &mmproj),
        CLI_GENERATION_OPTIONS(&q, &params),        CLI_RECORDING_OPTIONS(&rec),
        CLI_OPT_END,
    };
    int rc = cli_parse("run", usage, CLI_NAME_UNKNOWN, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (optind != argc)
        return cli_usage_error("run", "unexpected argument '%s'", argv[optind]);
    if (!model_dir || !q.image_path || !q.question)
        return cli_usage_error("run", "needs -m MODEL_DIR, -i IMAGE and -p PROMPT");
    char out_buf[KEVO_PATH_MAX];
    if (!out) {   // runs/<image file name without its extension>
        const char *base;
        int len = cli_stem(q.image_path, &base);
        if (cli_path(out_buf, &err, "runs/%.*s", len, base) != KEVO_OK)
            return cli_report(&err);
        out = out_buf;
    }
    if (!quiet && isatty(STDERR_FILENO))
        params.progress = show_progress;
    params.interrupt = cli_catch_interrupt();
    // A destination kevo may not replace, or cannot write, is refused before the model loads.
    if (kevo_runfolder_check_dest(out, &err) != KEVO_OK)
        return cli_report(&err);

    double t0 = kevo_now();
    kevo_model *m = NULL;
    kevo_run *run = NULL;
    kevo_answer a = {0};
    int code = EXIT_OK;
    if (kevo_model_load_source(&(kevo_model_source){model_dir, mmproj}, &m, &err) != KEVO_OK ||
        cli_recording_apply(&rec, kevo_model_config(m)->text_layers, &params, &err) != KEVO_OK ||
        kevo_run_create(m, &params, &run, &err) != KEVO_OK) {
        code = cli_report(&err);
        goto done;
    }
    double load_s = kevo_now() - t0;
    kevo_set_threads(params.n_threads);   // --threads for the image's preprocessing too
    kevo_save_options save = {.known = NULL, .n_threads = kevo_run_threads(run),
                              .load_s = load_s, .store = rec.store};
    if (kevo_llava_answer(m, run, &q, &a, &err) != KEVO_OK ||
        kevo_llava_save(m, run, &q, &a, &save, out, &err) != KEVO_OK) {
        if (params.progress)
            fputc('\n', stderr);
        code = cli_report(&err);
        goto done;
    }
    printf("%s\n", a.text);
    if (!quiet)
        fprintf(stderr, "kevo: %d tokens (%s); run folder %s\n", kevo_run_n_generated(run),
                kevo_run_stop_reason(run) == KEVO_STOP_EOS ? "stopped at EOS" : "limit reached",
                out);
done:
    kevo_answer_clear(&a);
    free(rec.indices);
    kevo_run_free(run);
    kevo_model_free(m);
    return code;
}
