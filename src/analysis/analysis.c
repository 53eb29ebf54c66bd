// analysis.c — one run folder through the lens, the heatmap's scaling and the stage rule (see
// analysis.h); the tables are written by tables.c.
#include "analysis/analysis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"

// A generated token the head ranks below the top by more than this many nats is no near tie of
// different arithmetic (F32 here, maybe BF16 in the engine): the states came from another model.
#define MISMATCH_NATS 0.5

kevo_analysis_options kevo_analysis_default_options(void)
{
    return (kevo_analysis_options){.lens = KEVO_LENS_RAW, .divergence = KEVO_DIVERGENCE_PAPER,
                                   .scale = KEVO_SCALE_COLUMN, .rows = 40, .steps = 20,
                                   .stage = kevo_stage_default_params()};
}

void kevo_analysis_free(kevo_analysis *a)
{
    if (!a)
        return;
    kevo_lens_result_free(a->lens);
    kevo_stages_free(a->stages);
    kevo_patch_analysis_free(a->patches);
    free(a->heat);
    free(a);
}

kevo_status kevo_analysis_check_model(const kevo_runfolder *run, const kevo_model *model,
                                      int *digest_matches, kevo_error *err)
{
    const kevo_config *c = &model->config;
    if (c->text_layers != run->text_layers || c->text_hidden != run->text_hidden ||
        c->text_vocab != run->vocab_rows)
        return kevo_fail(err, KEVO_ERR_MODEL, "%s was recorded with a model of %d layers, width "
                         "%d and %d vocabulary rows (%s), but %s has %d layers, width %d and %d "
                         "rows: give the run's model with -m", run->dir, run->text_layers,
                         run->text_hidden, run->vocab_rows, run->model_dir, model->dir,
                         c->text_layers, c->text_hidden, c->text_vocab);
    char digest[17];
    kevo_model_source src = {.path = model->dir, .mmproj = model->mmproj};
    kevo_status st = kevo_config_digest(&src, digest, err);
    if (st != KEVO_OK)
        return st;
    *digest_matches = strcmp(digest, run->config_fnv1a64) == 0;
    return KEVO_OK;
}

const char *kevo_analysis_piece(const kevo_analysis *a, int id, char *buf, size_t size)
{
    const char *piece = a->model->tokenizer ? kevo_tokenizer_piece(a->model->tokenizer, id) : NULL;
    if (piece)
        return piece;
    for (int t = 0; t < a->run->n_steps; t++)
        if (a->run->generated_ids[t] == id)
            return a->run->pieces[t];
    snprintf(buf, size, "<id %d>", id);
    return buf;
}

// The generated tokens must be what the head ranks first at the last state.
static kevo_status check_tokens(kevo_analysis *a, kevo_error *err)
{
    const kevo_runfolder *rf = a->run;
    int first = -1;
    for (int t = 0; t < rf->n_steps; t++)
        if (a->lens->generated_gap[t] > MISMATCH_NATS) {
            a->n_mismatched++;
            first = first < 0 ? t : first;
        }
    if (a->n_mismatched * 2 > rf->n_steps)
        return kevo_fail(err, KEVO_ERR_MODEL, "%s: the LM head of %s does not reproduce the "
                         "run's tokens (%d of %d steps differ; step %d generated %d but the head "
                         "ranks it %.3g nats below its top token): the run folder comes from "
                         "another model", rf->dir, a->model->dir, a->n_mismatched, rf->n_steps,
                         first, rf->generated_ids[first], a->lens->generated_gap[first]);
    int n = 0;
    if (!a->digest_matches)
        n += snprintf(a->warning, sizeof a->warning, "%s/config.json is not the file the run "
                      "was recorded with (%s); the dimensions agree. ", a->model->dir,
                      rf->model_dir);
    if (a->n_mismatched)
        snprintf(a->warning + n, sizeof a->warning - (size_t)n, "%d of %d generated tokens are "
                 "not the head's top token at the last layer (first at step %d).",
                 a->n_mismatched, rf->n_steps, first);
    return KEVO_OK;
}

static kevo_status check_options(const kevo_analysis_options *o, kevo_error *err)
{
    if (o->rows < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "--rows must be at least 1, not %d", o->rows);
    if (o->steps < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "--steps must be at least 1, not %d", o->steps);
    return KEVO_OK;
}

kevo_status kevo_analysis_compute(const kevo_runfolder *run, const kevo_model *model,
                                  const kevo_analysis_options *o, kevo_analysis **out,
                                  kevo_error *err)
{
    *out = NULL;
    kevo_status st = check_options(o, err);
    if (st != KEVO_OK)
        return st;
    kevo_analysis *a = calloc(1, sizeof *a);
    if (!a)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    a->run = run;
    a->model = model;
    a->opt = *o;
    int L = run->n_states - 1, T = run->n_steps;
    a->window = kevo_window_default(L);
    if ((o->window && (st = kevo_window_parse(o->window, L, &a->window, err))) ||
        (st = kevo_analysis_check_model(run, model, &a->digest_matches, err)))
        goto fail;

    const kevo_weights *w = model->weights;
    kevo_lens_head head = {w->lm_head.t, w->final_norm.f32, model->config.rms_norm_eps};
    kevo_lens_params lp = {.mode = o->lens, .window = a->window, .budget_bytes = o->budget_bytes,
                           .compute = o->compute};
    if ((st = kevo_lens_run(&head, run->hidden, T, run->n_states, run->dim, run->generated_ids,
                            &lp, &a->lens, err)) ||
        (st = check_tokens(a, err)))
        goto fail;
    a->div = o->divergence == KEVO_DIVERGENCE_PAPER ? a->lens->div_paper : a->lens->div_jsd;

    a->heat_rows = o->rows < T ? o->rows : T;
    a->chart_steps = o->steps < T ? o->steps : T;
    size_t n = (size_t)a->heat_rows * L;
    if (!(a->heat = malloc(n * sizeof *a->heat))) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(a->heat, a->div, n * sizeof *a->heat);
    kevo_scale_matrix(a->heat, a->heat_rows, L, o->scale);

    kevo_stage_input in = {T, L, a->div, a->lens->top_id, a->lens->top_p};
    if ((st = kevo_stages_detect(&in, 1, &o->stage, &a->stages, err)))
        goto fail;
    if (run->n_image_states &&
        (st = kevo_patch_analysis_compute(run, model, o->lens, o->patch_words,
                                          kevo_stages_summary(a->stages).critical, &a->patches,
                                          err)))
        goto fail;
    *out = a;
    return KEVO_OK;
fail:
    kevo_analysis_free(a);
    return st;
}
