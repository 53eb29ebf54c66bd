// llama.c — the LLaMA decoder of LLaVA (and Mistral's, the same with a sliding window), with a
// key/value cache and the per-layer record.
//
// Follows transformers' modeling_llama.py (modeling_mistral.py differs only in the attention
// mask's window, masking_utils sliding_window_overlay): per layer, RMSNorm -> q/k/v projections
// -> rotary embeddings (rotate_half, pairs (i, i + E/2)) -> causal attention over the cache with
// repeat_kv for grouped-query attention -> o_proj -> residual; RMSNorm -> SwiGLU MLP ->
// residual. After the last layer the final RMSNorm and the LM head over every vocabulary row
// (padding rows included, as transformers' argmax sees them). The recorded states follow
// generate(output_hidden_states): the input of every layer, then the final-normed output
// (spec/llava.md §8).
//
// Letters: n new positions, D width, H/K heads/key-value heads, E head dim, F MLP width,
// C context capacity.
#include <math.h>
#include <string.h>

#include "kernels/attention.h"
#include "base/convert.h"
#include "base/quant.h"
#include "kernels/linear.h"
#include "kernels/ops.h"
#include "kernels/parallel.h"
#include "model/finite.h"
#include "model/run.h"

void kevo_llama_embed(const kevo_run *r, int id, float *dst)
{
    const kevo_tensor *e = r->model->weights->embed.t;
    size_t d = (size_t)r->model->config.text_hidden;
    kevo_convert_to_f32(dst, (const char *)e->data + kevo_dtype_bytes(e->dtype, (size_t)id * d),
                        e->dtype, d);
}

// The key/value cache of layer l: keys then values, each (K, C, E).
static float *cache_keys(const kevo_run *r, int l)
{
    const kevo_config *c = &r->model->config;
    size_t block = (size_t)c->text_kv_heads * (size_t)r->plan.n_ctx * (size_t)c->text_head_dim;
    return r->act.text.kv + (size_t)l * 2 * block;
}

static float *cache_values(const kevo_run *r, int l)
{
    const kevo_config *c = &r->model->config;
    size_t block = (size_t)c->text_kv_heads * (size_t)r->plan.n_ctx * (size_t)c->text_head_dim;
    return cache_keys(r, l) + block;
}

// xn (n, D) -> xn: o_proj of causal attention over the cache, the n new positions added to it.
static void attention(kevo_run *r, const kevo_llama_layer_weights *lw, int l, int n, int pos0)
{
    const kevo_config *c = &r->model->config;
    int d = c->text_hidden, e = c->text_head_dim, hq = c->text_heads, hk = c->text_kv_heads;
    int ctx = r->plan.n_ctx;
    kevo_text_acts *a = &r->act.text;
    const kevo_linear_ctx *cv = &r->lin;

    // Qwen2's biases (attention_bias); NULL for LLaMA and Mistral.
    kevo_linear(a->q, hq * e, a->xn, d, n, lw->q.t, lw->q_b.f32, cv);
    kevo_linear(a->k, hk * e, a->xn, d, n, lw->k.t, lw->k_b.f32, cv);
    kevo_linear(a->v, hk * e, a->xn, d, n, lw->v.t, lw->v_b.f32, cv);
    float *kc = cache_keys(r, l), *vc = cache_values(r, l);
#pragma omp parallel for schedule(static) num_threads(r->n_threads) \
    if ((size_t)n * (hq + hk) * e >= KEVO_PARALLEL_MIN_WORK)
    for (int i = 0; i < n; i++) {
        if (c->qk_interleaved) {   // a GGUF file's rows: each value exact, only reordered
            kevo_deinterleave_heads(a->q + (size_t)i * hq * e, hq, e);
            kevo_deinterleave_heads(a->k + (size_t)i * hk * e, hk, e);
        }
        kevo_rope_apply(a->q + (size_t)i * hq * e, hq, e, a->cos, a->sin, pos0 + i);
        kevo_rope_apply(a->k + (size_t)i * hk * e, hk, e, a->cos, a->sin, pos0 + i);
        for (int g = 0; g < hk; g++) {   // cache layout (K, C, E): one head's rows contiguous
            size_t dst = ((size_t)g * ctx + (size_t)(pos0 + i)) * e;
            memcpy(kc + dst, a->k + ((size_t)i * hk + g) * e, (size_t)e * sizeof *kc);
            memcpy(vc + dst, a->v + ((size_t)i * hk + g) * e, (size_t)e * sizeof *vc);
        }
    }
    kevo_attention_shape shape = {
        .n_heads = hq, .n_kv_heads = hk, .head_dim = e, .n_queries = n, .n_keys = pos0 + n,
        .first_pos = pos0, .causal = 1, .window = c->sliding_window,
        .scale = (float)(1.0 / sqrt((double)e)),
        .q_row_stride = (size_t)hq * e, .out_row_stride = (size_t)hq * e,
        .kv_head_stride = (size_t)ctx * e, .kv_row_stride = (size_t)e,
    };
    kevo_attention(a->att, a->q, kc, vc, &shape, a->scores, r->n_threads);
    kevo_linear(a->xn, d, a->att, hq * e, n, lw->o.t, NULL, cv);
}

// xn (n, D) -> xn: down(silu(gate(xn)) * up(xn)).
static void mlp(kevo_run *r, const kevo_llama_layer_weights *lw, int n)
{
    const kevo_config *c = &r->model->config;
    int d = c->text_hidden, f = c->text_intermediate;
    kevo_text_acts *a = &r->act.text;
    const kevo_linear_ctx *cv = &r->lin;
    kevo_linear(a->gate, f, a->xn, d, n, lw->gate.t, NULL, cv);
    kevo_linear(a->up, f, a->xn, d, n, lw->up.t, NULL, cv);
    kevo_swiglu(a->gate, a->up, (size_t)n * f, r->n_threads);
    kevo_linear(a->xn, d, a->gate, f, n, lw->down.t, NULL, cv);
}

// One LlamaDecoderLayer over x (n, D), in place.
static void decoder_layer(kevo_run *r, const kevo_llama_layer_weights *lw, int l, int n,
                          int pos0)
{
    const kevo_config *c = &r->model->config;
    int d = c->text_hidden, threads = r->n_threads;
    float *x = r->act.text.x, *xn = r->act.text.xn;
    kevo_rmsnorm(xn, x, n, d, lw->attn_norm.f32, c->rms_norm_eps, threads);
    attention(r, lw, l, n, pos0);
    kevo_add(x, xn, (size_t)n * d, threads);
    kevo_rmsnorm(xn, x, n, d, lw->ffn_norm.f32, c->rms_norm_eps, threads);
    mlp(r, lw, n);
    kevo_add(x, xn, (size_t)n * d, threads);
}

// Non-finite values stop the run at the layer and step where they appear, naming the tensor.
static kevo_status check_layer(const kevo_run *r, const kevo_llama_layer_weights *lw, int l,
                               int n, int pos0, int step, kevo_error *err)
{
    const kevo_weight *ws[] = {&lw->attn_norm, &lw->q, &lw->k, &lw->v, &lw->q_b, &lw->k_b,
                               &lw->v_b, &lw->o, &lw->ffn_norm, &lw->gate, &lw->up, &lw->down};
    return kevo_check_finite(r->act.text.x, (size_t)n, (size_t)r->model->config.text_hidden,
                             ws, 12, "; the layer's weights are all finite: its activations "
                             "overflowed", err, "the output of text layer %d at step %d "
                             "(positions %d to %d)", l, step, pos0, pos0 + n - 1);
}

// The row that predicts the next token.
static float *last_row(float *rows, int n, const kevo_run *r)
{
    return rows + (size_t)(n - 1) * (size_t)r->model->config.text_hidden;
}

kevo_status kevo_llama_layers(kevo_run *r, int n, int pos0, int step, kevo_error *err)
{
    const kevo_weights *w = r->model->weights;
    const float *last = last_row(r->act.text.x, n, r);
    for (int l = 0; l < r->model->config.text_layers; l++) {
        kevo_status st = kevo_run_check_interrupt(r, err);
        if (st != KEVO_OK)
            return st;
        kevo_run_record_state(r, step, l, last);   // the state entering layer l
        if (step == 0)   // prefill: the image positions too, at the indices kept
            kevo_run_record_image(r, l, r->act.text.x);
        decoder_layer(r, &w->text[l], l, n, pos0);
        if ((st = check_layer(r, &w->text[l], l, n, pos0, step, err)) != KEVO_OK)
            return st;
    }
    return KEVO_OK;
}

// Only the last row needs the final norm and the LM head; at prefill the image rows get it too
// when the image recorder keeps index L (HF's hidden_states[L] is norm(x) at every position).
kevo_status kevo_llama_final_norm(kevo_run *r, int n, int step, kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    const kevo_weights *w = r->model->weights;
    if (step == 0 && kevo_run_image_keeps(r, c->text_layers)) {
        size_t at = (size_t)r->image_at * (size_t)c->text_hidden;
        kevo_rmsnorm(r->act.text.xn + at, r->act.text.x + at, r->n_image_tokens,
                     c->text_hidden, w->final_norm.f32, c->rms_norm_eps, r->n_threads);
        kevo_run_record_image(r, c->text_layers, r->act.text.xn);
    }
    float *normed = last_row(r->act.text.xn, n, r);
    kevo_rmsnorm(normed, last_row(r->act.text.x, n, r), 1, c->text_hidden, w->final_norm.f32,
                 c->rms_norm_eps, r->n_threads);
    const kevo_weight *fn[] = {&w->final_norm};
    kevo_status st = kevo_check_finite(normed, 1, (size_t)c->text_hidden, fn, 1, "", err,
                                       "the final norm's output at step %d", step);
    if (st == KEVO_OK)
        kevo_run_record_state(r, step, c->text_layers, normed);
    return st;
}

kevo_status kevo_llama_head(kevo_run *r, int n, int step, kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    const kevo_weights *w = r->model->weights;
    kevo_linear(r->act.text.logits, c->text_vocab, last_row(r->act.text.xn, n, r),
                c->text_hidden, 1, w->lm_head.t, NULL, &r->lin);
    const kevo_weight *head[] = {&w->lm_head};
    return kevo_check_finite(r->act.text.logits, 1, (size_t)c->text_vocab, head, 1,
                             "; lm_head is finite: the logits overflowed", err,
                             "the logit row at step %d", step);
}
