// runfolder_access.c — what a caller reads of a loaded run folder, the image's part of a run's
// identity, and whether a run folder stands for a new run (kevo.h, kevo/runfolder.h).
#include "kevo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "io/runfolder.h"
#include "io/safetensors.h"

const char *kevo_runfolder_dir(const kevo_runfolder *rf)
{
    return rf->dir;
}

const char *kevo_runfolder_model_dir(const kevo_runfolder *rf)
{
    return rf->model_dir;
}

const char *kevo_runfolder_mmproj(const kevo_runfolder *rf)
{
    return rf->mmproj;
}

const char *kevo_runfolder_question(const kevo_runfolder *rf)
{
    return rf->question;
}

const char *kevo_runfolder_text(const kevo_runfolder *rf)
{
    return rf->text;
}

int kevo_runfolder_n_steps(const kevo_runfolder *rf)
{
    return rf->n_steps;
}

const char *kevo_runfolder_piece(const kevo_runfolder *rf, int step)
{
    return rf->pieces[step];
}

kevo_status kevo_runfolder_rename(kevo_runfolder *rf, const char *dir, kevo_error *err)
{
    char *name = strdup(dir);
    if (!name)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    free(rf->dir);
    rf->dir = name;
    return KEVO_OK;
}

kevo_status kevo_image_digest(const char *image_path, char out[65], kevo_error *err)
{
    return kevo_file_sha256(image_path, out, err);
}

static int same_states(const kevo_runfolder *rf, const kevo_run_identity *w)
{
    if (rf->n_image_states != w->n_image_states)
        return 0;
    for (int i = 0; i < w->n_image_states; i++)
        if (rf->image_states[i] != w->image_states[i])
            return 0;
    return 1;
}

// The answer's states kept: every index, or the same list.
static int same_hidden(const kevo_runfolder *rf, const kevo_run_identity *w)
{
    if (!w->hidden_states || !rf->kept_all)
        return (w->hidden_states == NULL) == (rf->kept_all != 0);
    if (rf->n_kept != w->n_hidden_states)
        return 0;
    for (int i = 0; i < rf->n_kept; i++)
        if (rf->kept[i] != w->hidden_states[i])
            return 0;
    return 1;
}

static kevo_dtype stored_dtype(const kevo_runfolder *rf)
{
    if (rf->hidden_dtype[0])
        return strcmp(rf->hidden_dtype, "F16") == 0 ? KEVO_DTYPE_F16 : KEVO_DTYPE_F32;
    const kevo_tensor *t = rf->file ? kevo_safetensors_find(rf->file, "hidden") : NULL;
    return t ? t->dtype : KEVO_DTYPE_F32;
}

int kevo_runfolder_states_kept(const kevo_runfolder *rf, const int **indices)
{
    if (indices)
        *indices = rf->kept_all ? NULL : rf->kept;
    return rf->kept_all ? -1 : rf->n_kept;
}

int kevo_runfolder_differs(const kevo_runfolder *rf, const kevo_run_identity *w, char *why,
                           size_t size)
{
    const kevo_model_identity *m = &rf->model;
    if (rf->format_version < KEVO_RUN_FORMAT_VERSION)
        snprintf(why, size, "the run folder was written by an older kevo that did not record "
                 "what determines a run (run.json format_version %d, this kevo writes %d)",
                 rf->format_version, KEVO_RUN_FORMAT_VERSION);
    else if (!rf->image_sha256[0] || !m->weights_sha256[0] || !m->files_sha256[0])
        snprintf(why, size, "run.json does not record the SHA-256 of its %s",
                 !rf->image_sha256[0] ? "image (image.sha256)" : "model's files (model.*_sha256)");
    else if (rf->format_version != KEVO_RUN_FORMAT_VERSION || strcmp(rf->kevo_version,
                                                                     KEVO_VERSION) != 0)
        snprintf(why, size, "the run was written by kevo %s (run.json format_version %d), this "
                 "is kevo %s (format_version %d)", rf->kevo_version, rf->format_version,
                 KEVO_VERSION, KEVO_RUN_FORMAT_VERSION);
    else if (strcmp(m->config_fnv1a64, w->model.config_fnv1a64) != 0)
        snprintf(why, size, "the model's config.json changed since the run");
    else if (strcmp(m->weights_sha256, w->model.weights_sha256) != 0)
        snprintf(why, size, "the model's weights changed since the run");
    else if (strcmp(m->files_sha256, w->model.files_sha256) != 0)
        snprintf(why, size, "the model's tokenizer, preprocessing or generation files changed "
                 "since the run");
    else if (strcmp(rf->image_sha256, w->image_sha256) != 0)
        snprintf(why, size, "the image changed since the run");
    else if (strcmp(rf->question, w->question) != 0)
        snprintf(why, size, "the question differs from the run's (\"%.60s\")", rf->question);
    else if (strcmp(rf->template_name, w->template_name) != 0)
        snprintf(why, size, "the template differs (the run's: %s, now: %s)", rf->template_name,
                 w->template_name);
    else if (strcmp(rf->image_mode, w->image_mode) != 0)
        snprintf(why, size, "the image mode differs (the run's: %s, now: %s)", rf->image_mode,
                 w->image_mode);
    else if (rf->max_new_tokens != w->max_new_tokens)
        snprintf(why, size, "max new tokens differ (the run's: %d, now: %d)", rf->max_new_tokens,
                 w->max_new_tokens);
    else if (!rf->compute[0])
        snprintf(why, size, "the run does not record its compute precision (f32 or bf16)");
    else if (strcmp(rf->compute, w->compute) != 0)
        snprintf(why, size, "the compute precision differs (the run's: %s, now: %s)",
                 rf->compute, w->compute);
    else if (!same_states(rf, w))
        snprintf(why, size, "the image states kept differ (the run kept %d indices, now %d)",
                 rf->n_image_states, w->n_image_states);
    else if (!same_hidden(rf, w))
        snprintf(why, size, "the hidden states kept differ (the run kept %s, now %s; --states, "
                 "--no-hidden)", rf->kept_all ? "every index" : rf->n_kept ? "some" : "none",
                 !w->hidden_states ? "every index" : w->n_hidden_states ? "some" : "none");
    else if (stored_dtype(rf) != w->store)
        snprintf(why, size, "the hidden states are stored as %s, now as %s",
                 kevo_dtype_name(stored_dtype(rf)), kevo_dtype_name(w->store));
    else
        return 0;
    return 1;
}

// Upper bounds from what the writers print (docs/run-folder.md, "Sizes"): run.json spends at
// most 8 bytes a prompt id, 72 a generated id with its piece and text, 200 an image position
// (two rectangles of doubles, LLaVA-NeXT's kind, tile, row and column) and 2 KiB on the rest,
// item.json 1 KiB; safetensors' header at most 1 KiB. The analysis tables take 450 bytes a step
// and state (a lens row, a top-5 row, a divergence and a heatmap cell, candidates) and 100 an
// image position and kept index (patch_lens.csv); the figures and report.html are the demo
// model's measured sizes (80 kB an area chart, 160 kB the heatmap and map, 800 kB the patch
// maps), counted twice and a third more: report.html embeds them as base64.
kevo_run_bytes kevo_runfolder_bytes(const kevo_config *c, int image_tokens, int n_prompt,
                                    int max_new, int n_states, int n_image_states,
                                    kevo_dtype store, int analysis)
{
    uint64_t e = store == KEVO_DTYPE_F16 ? 2 : 4, D = (uint64_t)c->text_hidden;
    uint64_t T = (uint64_t)max_new, S = (uint64_t)c->text_layers + 1;
    uint64_t K = n_states < 0 ? S : (uint64_t)n_states, N = (uint64_t)image_tokens;
    uint64_t KI = (uint64_t)n_image_states;
    kevo_run_bytes b = {0};
    uint64_t data = T * K * D * e + N * KI * D * e;
    b.hidden = data ? data + 1024 : 0;
    b.run_json = 2048 + 1024 + 8 * (uint64_t)n_prompt + 72 * T + 200 * N;
    if (analysis)
        b.analysis = 4096 + 450 * T * S + 100 * N * KI;
    if (analysis > 1) {
        uint64_t charts = T < 20 ? T : 20;
        b.analysis += 250 * S + (charts * 80000 + 160000 + (KI ? 800000 : 0)) * 7 / 3;
    }
    b.total = b.hidden + b.run_json + b.analysis;
    return b;
}
