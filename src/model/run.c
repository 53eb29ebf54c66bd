// run.c — a generation: the arena of every buffer, the prompt with the image in its slot,
// prefill, greedy decoding and the recorder.
//
// Greedy decoding as transformers' generate(do_sample=False): the next token is the first index
// of the largest logit over every vocabulary row; generation stops after an EOS id (which is
// kept and recorded, as the paper's scripts see it) or after max_new_tokens. The recorder holds,
// for step t, the L+1 hidden states at the position that predicts token t (spec/llava.md §8):
// it is part of the arena, sized before generation starts.
//
// Read from the bottom: kevo_run_generate is the driver (clocks, progress, stop rules) around
// encode_image, prefill and decode_step, each one pass through the model.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/memory.h"
#include "base/quant.h"
#include "base/threads.h"
#include "kernels/linear.h"
#include "kernels/ops.h"
#include "model/finite.h"
#include "model/run.h"

kevo_run_params kevo_run_default_params(void)
{
    return (kevo_run_params){.max_new_tokens = 256, .n_threads = 0, .no_record = 0,
                             .compute = KEVO_COMPUTE_F32, .progress = NULL,
                             .progress_user = NULL, .interrupt = NULL};
}

kevo_status kevo_run_check_interrupt(const kevo_run *r, kevo_error *err)
{
    if (r->params.interrupt && *r->params.interrupt)
        return kevo_fail(err, KEVO_ERR_INTERRUPTED, "interrupted");
    return KEVO_OK;
}

void kevo_run_record_state(kevo_run *r, int step, int index, const float *row)
{
    if (r->params.no_record)
        return;
    const kevo_config *c = &r->model->config;
    size_t d = (size_t)c->text_hidden;
    float *dst = r->act.record + ((size_t)step * ((size_t)c->text_layers + 1) + (size_t)index) * d;
    double t0 = kevo_now();
    memcpy(dst, row, d * sizeof *dst);
    r->timings.record_s += kevo_now() - t0;
}

int kevo_run_image_keeps(const kevo_run *r, int index)
{
    return r->image_slot && r->image_slot[index] >= 0;
}

void kevo_run_record_image(kevo_run *r, int index, const float *rows)
{
    if (!kevo_run_image_keeps(r, index))
        return;
    const kevo_config *c = &r->model->config;
    size_t d = (size_t)c->text_hidden, k = (size_t)r->params.n_image_states;
    size_t slot = (size_t)r->image_slot[index];
    const float *src = rows + (size_t)r->image_at * d;
    double t0 = kevo_now();
    // (N, K, D): patch-major, so one patch's states across layers are contiguous on disk.
#pragma omp parallel for schedule(static) num_threads(r->n_threads)
    for (int n = 0; n < r->n_image_tokens; n++)
        memcpy(r->act.image_record + ((size_t)n * k + slot) * d, src + (size_t)n * d,
               d * sizeof(float));
    r->timings.record_s += kevo_now() - t0;
}

// Copies the image recorder's indices after checking them: ascending, unique, in 0..L.
static kevo_status take_image_states(kevo_run *r, const kevo_run_params *params,
                                     kevo_error *err)
{
    int n = params->n_image_states, L = r->model->config.text_layers;
    if (n == 0)
        return KEVO_OK;
    if (n < 0 || n > L + 1 || !params->image_states)
        return kevo_fail(err, KEVO_ERR_ARG, "%d image states asked of a model with %d hidden-"
                         "state indices", n, L + 1);
    for (int i = 0; i < n; i++)
        if (params->image_states[i] < 0 || params->image_states[i] > L ||
            (i && params->image_states[i] <= params->image_states[i - 1]))
            return kevo_fail(err, KEVO_ERR_ARG, "image state indices must ascend within 0..%d "
                             "(entry %d is %d)", L, i, params->image_states[i]);
    r->image_states = malloc((size_t)n * sizeof *r->image_states);
    r->image_slot = malloc(((size_t)L + 1) * sizeof *r->image_slot);
    if (!r->image_states || !r->image_slot)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory creating a run");
    memcpy(r->image_states, params->image_states, (size_t)n * sizeof *r->image_states);
    for (int i = 0; i <= L; i++)
        r->image_slot[i] = -1;
    for (int i = 0; i < n; i++)
        r->image_slot[r->image_states[i]] = i;
    r->params.image_states = r->image_states;
    return KEVO_OK;
}

// Lays the arena out for a prompt of n_prompt positions (the image's r->n_image_tokens
// included) and max_new tokens, growing it if needed.
static kevo_status prepare(kevo_run *r, int n_prompt, int max_new, kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    kevo_plan_limits lim = {.n_prompt = n_prompt, .max_new = max_new, .n_tiles = r->n_tiles,
                            .n_image_tokens = r->n_image_tokens, .n_patches = r->n_patches,
                            .n_image_states = r->params.n_image_states,
                            .n_threads = r->n_threads};
    kevo_plan_compute(c, &lim, &r->plan);
    if (r->plan.total > r->arena_size) {
        kevo_big_free(r->arena, r->arena_size);
        r->arena_size = 0;
        if (!(r->arena = kevo_big_alloc(r->plan.total)))
            return kevo_fail(err, KEVO_ERR_NOMEM, "cannot allocate %.2f GB for a run of %d "
                             "positions and %d new tokens", (double)r->plan.total / 1e9, n_prompt,
                             max_new);
        r->arena_size = r->plan.total;
    }
    kevo_plan_carve(c, &r->plan, r->arena, &r->act);
    r->lin.scratch = r->act.scratch;
    return KEVO_OK;
}

kevo_status kevo_run_create(const kevo_model *model, const kevo_run_params *params,
                            kevo_run **out, kevo_error *err)
{
    *out = NULL;
    if (params->max_new_tokens <= 0)
        return kevo_fail(err, KEVO_ERR_ARG, "max_new_tokens must be positive (got %d)",
                         params->max_new_tokens);
    if (params->max_new_tokens > model->config.text_max_positions)
        return kevo_fail(err, KEVO_ERR_ARG, "max_new_tokens %d exceeds the model's %d positions",
                         params->max_new_tokens, model->config.text_max_positions);
    if (params->n_threads < 0 || params->n_threads > 1024)
        return kevo_fail(err, KEVO_ERR_ARG, "thread count %d is not usable", params->n_threads);
    kevo_run *r = calloc(1, sizeof *r);
    if (!r || !(r->generated = malloc((size_t)params->max_new_tokens * sizeof *r->generated))) {
        free(r);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory creating a run");
    }
    if (params->compute == KEVO_COMPUTE_BF16 && !kevo_gemm_available(KEVO_COMPUTE_BF16)) {
        free(r->generated);
        free(r);
        return kevo_fail(err, KEVO_ERR_ARG, "BF16 compute needs a CPU with AVX512-BF16 (and "
                         "KEVO_ISA not forcing another path); use F32 compute");
    }
    r->model = model;
    r->params = *params;
    r->params.image_states = NULL;
    r->n_threads = kevo_threads_resolve(params->n_threads);
    kevo_status st = take_image_states(r, params, err);
    if (st != KEVO_OK) {
        kevo_run_free(r);
        return st;
    }
    r->lin = (kevo_linear_ctx){.scratch = NULL, .compute = params->compute,
                               .batch_invariant = 0, .n_threads = r->n_threads};
    *out = r;
    return KEVO_OK;
}

void kevo_run_free(kevo_run *r)
{
    if (!r)
        return;
    kevo_big_free(r->arena, r->arena_size);
    free(r->generated);
    free(r->image_states);
    free(r->image_slot);
    free(r);
}

static void report(kevo_run *r, kevo_phase phase)
{
    if (!r->params.progress)
        return;
    kevo_progress p = {.phase = phase, .n_prompt = r->plan.n_prompt,
                       .n_generated = r->n_generated, .max_new = r->params.max_new_tokens,
                       .timings = r->timings};
    r->params.progress(&p, r->params.progress_user);
}

// Where the image sits in the prompt ids: from index `at`, `n_ids` ids (one KEVO_IMAGE_SLOT, or
// one image id per image position) that its embeddings replace.
typedef struct image_place {
    int at, n_ids;
} image_place;

// Checks the prompt and finds its image: one KEVO_IMAGE_SLOT, or one run of exactly
// n_image_tokens image ids.
static kevo_status find_image(const kevo_config *c, int n_image_tokens, const int *ids, int n,
                              image_place *img, kevo_error *err)
{
    int slots = 0, image_ids = 0, first_image_id = -1, runs = 0;
    img->at = -1;
    for (int i = 0; i < n; i++) {
        if (ids[i] == KEVO_IMAGE_SLOT) {
            slots++;
            img->at = i;
        } else if (ids[i] == c->image_token_id) {
            image_ids++;
            if (i == 0 || ids[i - 1] != c->image_token_id)
                runs++;
            if (first_image_id < 0)
                first_image_id = i;
        } else if (ids[i] < 0 || ids[i] >= c->text_vocab) {
            return kevo_fail(err, KEVO_ERR_ARG, "prompt id %d at index %d is outside the "
                             "vocabulary of %d rows", ids[i], i, c->text_vocab);
        }
    }
    if (slots + runs != 1 || (slots && image_ids))
        return kevo_fail(err, KEVO_ERR_ARG, "the prompt must hold the image exactly once (found "
                         "%d image slots and %d runs of image tokens)", slots, runs);
    if (slots) {
        img->n_ids = 1;
        return KEVO_OK;
    }
    if (image_ids != n_image_tokens)
        return kevo_fail(err, KEVO_ERR_ARG, "the prompt holds %d image tokens but the image "
                         "takes %d positions", image_ids, n_image_tokens);
    img->at = first_image_id;
    img->n_ids = image_ids;
    return KEVO_OK;
}

// Takes the image's size and shape: its tiles and positions, as the family places them.
static kevo_status take_image(kevo_run *r, const kevo_image_input *image, kevo_error *err)
{
    const kevo_model *m = r->model;
    int n_tiles, n_tokens;
    if (!image || !image->pixels)
        return kevo_fail(err, KEVO_ERR_ARG, "no pixel values for the image");
    kevo_status st = m->family->image_tokens(m, image->width, image->height, &n_tiles,
                                             &n_tokens, err);
    if (st != KEVO_OK)
        return st;
    if (image->n_tiles != n_tiles)
        return kevo_fail(err, KEVO_ERR_ARG, "the pixel values hold %d tiles but a %d x %d image "
                         "takes %d in %s", image->n_tiles, image->width, image->height, n_tiles,
                         m->family->name);
    r->n_tiles = n_tiles;
    r->n_image_tokens = n_tokens;
    int merge = m->config.spatial_merge_size;   // a still image: one frame, merge^2 patches each
    r->n_patches = n_tokens * merge * merge;
    return KEVO_OK;
}

kevo_status kevo_run_encode_image(kevo_run *r, const kevo_image_input *image, kevo_error *err)
{
    kevo_status st = take_image(r, image, err);
    if (st == KEVO_OK)   // the image alone: a plan for the shortest prompt
        st = prepare(r, r->n_image_tokens, 1, err);
    return st == KEVO_OK ? r->model->family->encode(r, image, err) : st;
}

// The first index of the largest value, as torch.argmax; NaN logits are an error.
static kevo_status greedy(const float *logits, int n, int step, int *out, kevo_error *err)
{
    int best = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(logits[i]))
            return kevo_fail(err, KEVO_ERR_MODEL, "the model produced a NaN logit (row %d) at "
                             "step %d", i, step);
        if (logits[i] > logits[best])
            best = i;
    }
    *out = best;
    return KEVO_OK;
}

// An embedding row with NaN or Inf (prompt index `at`, or -1 for a generated token).
static kevo_status check_embedding(const kevo_run *r, int id, const float *row, int at,
                                   kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    long long k = kevo_first_nonfinite(row, (size_t)c->text_hidden);
    if (k < 0)
        return KEVO_OK;
    const kevo_tensor *e = r->model->weights->embed.t;
    // the element's byte, or for a block type the first byte of its block
    size_t at_elem = (size_t)id * (size_t)c->text_hidden + (size_t)k;
    uint64_t byte = e->file_offset + kevo_dtype_bytes(e->dtype, at_elem - at_elem %
                                                      (size_t)kevo_dtype_block_elems(e->dtype));
    char where[64];
    if (at >= 0)
        snprintf(where, sizeof where, "prompt index %d", at);
    else
        snprintf(where, sizeof where, "the token generated at step %d", r->n_generated - 1);
    return kevo_fail(err, KEVO_ERR_MODEL, "row %d of %s (the input of text layer 0 for %s, "
                     "step %d) holds %s at element %lld (byte %llu of %s)", id, e->name, where,
                     r->n_generated, isnan(row[k]) ? "NaN" : "Inf", k, (unsigned long long)byte,
                     e->path);
}

// The prompt's input embeddings into act.text.x: one row per id, the image's N rows in its place.
static kevo_status embed_prompt(kevo_run *r, const int *ids, int n_ids, const image_place *img,
                                kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    size_t d = (size_t)c->text_hidden;
    float *x = r->act.text.x;
    for (int i = 0, row = 0; i < n_ids; i++) {
        if (i == img->at) {
            memcpy(x + (size_t)row * d, r->act.vision.emb,
                   (size_t)r->n_image_tokens * d * sizeof *x);
            row += r->n_image_tokens;
            i += img->n_ids - 1;
        } else {
            kevo_llama_embed(r, ids[i], x + (size_t)row * d);
            kevo_status st = check_embedding(r, ids[i], x + (size_t)row * d, i, err);
            if (st != KEVO_OK)
                return st;
            row++;
        }
    }
    return KEVO_OK;
}

// The prompt, image included, through the decoder: its embeddings, every layer over all its
// positions, the final norm and the LM head on the last one, whose logits pick token 0 and whose
// L+1 states are step 0 of the recorder.
static kevo_status prefill(kevo_run *r, const int *ids, int n_ids, const image_place *img,
                           kevo_error *err)
{
    int n = r->plan.n_prompt;
    kevo_status st = embed_prompt(r, ids, n_ids, img, err);
    if (st == KEVO_OK)
        st = kevo_llama_layers(r, n, 0, 0, err);
    if (st == KEVO_OK)
        st = kevo_llama_final_norm(r, n, 0, err);
    if (st == KEVO_OK)
        st = kevo_llama_head(r, n, 0, err);
    return st;
}

// The last generated token, at position pos, through the decoder: its embedding, every layer
// (its key and value join the cache), the final norm and the LM head; its L+1 states are the
// recorder's next step.
static kevo_status decode_step(kevo_run *r, int token, int pos, kevo_error *err)
{
    int step = r->n_generated;
    float *x = r->act.text.x;
    kevo_llama_embed(r, token, x);
    kevo_status st = check_embedding(r, token, x, -1, err);
    if (st == KEVO_OK)
        st = kevo_llama_layers(r, 1, pos, step, err);
    if (st == KEVO_OK)
        st = kevo_llama_final_norm(r, 1, step, err);
    if (st == KEVO_OK)
        st = kevo_llama_head(r, 1, step, err);
    return st;
}

static int is_eos(const kevo_config *c, int id)
{
    for (int i = 0; i < c->n_eos; i++)
        if (c->eos_ids[i] == id)
            return 1;
    return 0;
}

// Checks the prompt, finds its image and lays the arena out for it and for as many new tokens as
// fit in the model's positions (at most max_new_tokens: plan.max_new).
static kevo_status start(kevo_run *r, const kevo_image_input *image, const int *ids, int n_ids,
                         image_place *img, kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    kevo_status st = take_image(r, image, err);
    if (st == KEVO_OK)
        st = find_image(c, r->n_image_tokens, ids, n_ids, img, err);
    if (st != KEVO_OK)
        return st;
    int n_prompt = n_ids - img->n_ids + r->n_image_tokens;
    r->image_at = img->at;   // every id before the image is one position
    if (n_prompt >= c->text_max_positions)
        return kevo_fail(err, KEVO_ERR_ARG, "the prompt takes %d positions (image included), "
                         "more than the model's max_position_embeddings %d", n_prompt,
                         c->text_max_positions);
    // The context never grows past the model's positions; generation stops there if it must.
    int max_new = r->params.max_new_tokens;
    if (max_new > c->text_max_positions - n_prompt)
        max_new = c->text_max_positions - n_prompt;
    if ((st = prepare(r, n_prompt, max_new, err)) != KEVO_OK)
        return st;
    return kevo_run_rope_tables(r, image, ids, err);
}

kevo_status kevo_run_generate(kevo_run *r, const kevo_image_input *image, const int *ids,
                              int n_ids, kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    r->n_generated = 0;
    memset(&r->timings, 0, sizeof r->timings);
    image_place img = {.at = -1, .n_ids = 0};
    kevo_status st = start(r, image, ids, n_ids, &img, err);
    if (st != KEVO_OK)
        return st;

    double t0 = kevo_now();
    report(r, KEVO_PHASE_VISION);
    if ((st = r->model->family->encode(r, image, err)) != KEVO_OK)
        return st;
    double t1 = kevo_now();
    r->timings.vision_s = t1 - t0;

    report(r, KEVO_PHASE_PREFILL);
    if ((st = prefill(r, ids, n_ids, &img, err)) != KEVO_OK)
        return st;
    double t2 = kevo_now();
    r->timings.prefill_s = t2 - t1;

    report(r, KEVO_PHASE_DECODE);
    for (int pos = r->plan.n_prompt;; pos++) {
        int next = 0;
        if ((st = greedy(r->act.text.logits, c->text_vocab, r->n_generated, &next, err)))
            return st;
        r->generated[r->n_generated++] = next;
        r->timings.decode_s = kevo_now() - t2;
        if (r->n_generated > 1)
            r->timings.decode_tokens_per_s = (r->n_generated - 1) / r->timings.decode_s;
        report(r, KEVO_PHASE_DECODE);
        if (is_eos(c, next)) {
            r->stop = KEVO_STOP_EOS;
            break;
        }
        if (r->n_generated == r->params.max_new_tokens) {
            r->stop = KEVO_STOP_MAX_NEW;
            break;
        }
        if (r->n_generated == r->plan.max_new) {
            r->stop = KEVO_STOP_MAX_POSITIONS;
            break;
        }
        if (r->n_generated == 1)   // decoding speed is measured from the second token on
            t2 = kevo_now();
        if ((st = decode_step(r, next, pos, err)) != KEVO_OK)
            return st;
    }
    report(r, KEVO_PHASE_DONE);
    return KEVO_OK;
}

int kevo_run_n_generated(const kevo_run *r)
{
    return r->n_generated;
}

const int *kevo_run_generated_ids(const kevo_run *r)
{
    return r->generated;
}

const float *kevo_run_hidden(const kevo_run *r)
{
    return r->act.record;
}

const float *kevo_run_logits(const kevo_run *r)
{
    return r->act.text.logits;
}

int kevo_run_n_positions(const kevo_run *r)
{
    return r->plan.n_prompt;
}

int kevo_run_threads(const kevo_run *r)
{
    return r->n_threads;
}

kevo_stop kevo_run_stop_reason(const kevo_run *r)
{
    return r->stop;
}

kevo_timings kevo_run_timings(const kevo_run *r)
{
    return r->timings;
}

const float *kevo_run_image_hidden(const kevo_run *r)
{
    return r->params.n_image_states ? r->act.image_record : NULL;
}

int kevo_run_n_image_states(const kevo_run *r)
{
    return r->params.n_image_states;
}

const int *kevo_run_image_states(const kevo_run *r)
{
    return r->image_states;
}

int kevo_run_image_first_position(const kevo_run *r)
{
    return r->image_at;
}

const float *kevo_run_image_features(const kevo_run *r)
{
    return r->act.vision.features;
}

int kevo_run_n_image_tokens(const kevo_run *r)
{
    return r->n_image_tokens;
}

const float *kevo_run_image_embeds(const kevo_run *r)
{
    return r->act.vision.emb;
}
