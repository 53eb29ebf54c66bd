// llama.c — the LLaMA decoder of LLaVA, with a key/value cache and the per-layer record.
//
// Follows transformers' modeling_llama.py: per layer, RMSNorm -> q/k/v projections -> rotary
// embeddings (rotate_half, pairs (i, i + E/2)) -> causal attention over the cache with repeat_kv
// for grouped-query attention -> o_proj -> residual; RMSNorm -> SwiGLU MLP -> residual. After the
// last layer the final RMSNorm and the LM head over every vocabulary row (padding rows included,
// as transformers' argmax sees them). The recorded states follow generate(output_hidden_states):
// the input of every layer, then the final-normed output (spec/llava.md §8).
//
// Letters: n new positions, D width, H/K heads/key-value heads, E head dim, F MLP width,
// C context capacity.
#include <math.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/convert.h"
#include "kernels/linear.h"
#include "kernels/ops.h"
#include "kernels/parallel.h"
#include "model/finite.h"
#include "model/run.h"

void kevo_llama_embed(const kevo_run *r, int id, float *dst)
{
    const kevo_tensor *e = r->model->weights->embed.t;
    size_t d = (size_t)r->model->config.text_hidden;
    kevo_convert_to_f32(dst, (const char *)e->data + (size_t)id * d * kevo_dtype_size(e->dtype),
                        e->dtype, d);
}

// The key/value cache of layer l: keys then values, each (K, C, E).
static float *cache_keys(const kevo_run *r, int l)
{
    const kevo_config *c = &r->model->config;
    size_t block = (size_t)c->text_kv_heads * (size_t)r->plan.n_ctx * (size_t)c->text_head_dim;
    return r->buf[KEVO_BUF_KV] + (size_t)l * 2 * block;
}

static float *cache_values(const kevo_run *r, int l)
{
    const kevo_config *c = &r->model->config;
    size_t block = (size_t)c->text_kv_heads * (size_t)r->plan.n_ctx * (size_t)c->text_head_dim;
    return cache_keys(r, l) + block;
}

static void attention_block(kevo_run *r, const kevo_llama_layer_weights *lw, int l, int n,
                            int pos0)
{
    const kevo_config *c = &r->model->config;
    int d = c->text_hidden, e = c->text_head_dim, hq = c->text_heads, hk = c->text_kv_heads;
    int ctx = r->plan.n_ctx;
    float *xn = r->buf[KEVO_BUF_XN], *q = r->buf[KEVO_BUF_Q], *k = r->buf[KEVO_BUF_K];
    float *v = r->buf[KEVO_BUF_V];
    const kevo_linear_ctx *cv = &r->lin;

    kevo_linear(q, hq * e, xn, d, n, lw->q.t, NULL, cv);
    kevo_linear(k, hk * e, xn, d, n, lw->k.t, NULL, cv);
    kevo_linear(v, hk * e, xn, d, n, lw->v.t, NULL, cv);
    float *kc = cache_keys(r, l), *vc = cache_values(r, l);
#pragma omp parallel for schedule(static) if ((size_t)n * (hq + hk) * e >= KEVO_PARALLEL_MIN_WORK)
    for (int i = 0; i < n; i++) {
        kevo_rope_apply(q + (size_t)i * hq * e, hq, e, r->buf[KEVO_BUF_COS], r->buf[KEVO_BUF_SIN],
                        pos0 + i);
        kevo_rope_apply(k + (size_t)i * hk * e, hk, e, r->buf[KEVO_BUF_COS], r->buf[KEVO_BUF_SIN],
                        pos0 + i);
        for (int g = 0; g < hk; g++) {   // cache layout (K, C, E): one head's rows contiguous
            size_t dst = ((size_t)g * ctx + (size_t)(pos0 + i)) * e;
            memcpy(kc + dst, k + ((size_t)i * hk + g) * e, (size_t)e * sizeof *kc);
            memcpy(vc + dst, v + ((size_t)i * hk + g) * e, (size_t)e * sizeof *vc);
        }
    }
    kevo_attention_shape shape = {
        .n_heads = hq, .n_kv_heads = hk, .head_dim = e, .n_queries = n, .n_keys = pos0 + n,
        .first_pos = pos0, .causal = 1, .scale = (float)(1.0 / sqrt((double)e)),
        .q_row_stride = (size_t)hq * e, .out_row_stride = (size_t)hq * e,
        .kv_head_stride = (size_t)ctx * e, .kv_row_stride = (size_t)e,
    };
    kevo_attention(r->buf[KEVO_BUF_ATT], q, kc, vc, &shape, r->buf[KEVO_BUF_SCORES]);
    kevo_linear(xn, d, r->buf[KEVO_BUF_ATT], hq * e, n, lw->o.t, NULL, cv);
}

static void mlp_block(kevo_run *r, const kevo_llama_layer_weights *lw, int n)
{
    const kevo_config *c = &r->model->config;
    int d = c->text_hidden, f = c->text_intermediate;
    float *xn = r->buf[KEVO_BUF_XN], *gate = r->buf[KEVO_BUF_GATE], *up = r->buf[KEVO_BUF_UP];
    const kevo_linear_ctx *cv = &r->lin;
    kevo_linear(gate, f, xn, d, n, lw->gate.t, NULL, cv);
    kevo_linear(up, f, xn, d, n, lw->up.t, NULL, cv);
    kevo_swiglu(gate, up, (size_t)n * f);
    kevo_linear(xn, d, gate, f, n, lw->down.t, NULL, cv);
}

// Non-finite values stop the run at the layer and step where they appear, naming the tensor.
static kevo_status check_layer(const kevo_run *r, const kevo_llama_layer_weights *lw, int l,
                               int n, int pos0, kevo_error *err)
{
    const kevo_weight *ws[] = {&lw->attn_norm, &lw->q, &lw->k, &lw->v, &lw->o,
                               &lw->ffn_norm, &lw->gate, &lw->up, &lw->down};
    return kevo_check_finite(r->buf[KEVO_BUF_X], (size_t)n, (size_t)r->model->config.text_hidden,
                             ws, 9, "; the layer's weights are all finite: its activations "
                             "overflowed", err, "the output of text layer %d at step %d "
                             "(positions %d to %d)", l, r->n_generated, pos0, pos0 + n - 1);
}

kevo_status kevo_llama_forward(kevo_run *r, int n, int pos0, float *states, kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    const kevo_weights *w = r->model->weights;
    size_t d = (size_t)c->text_hidden;
    float *x = r->buf[KEVO_BUF_X], *xn = r->buf[KEVO_BUF_XN];
    const float *last = x + (size_t)(n - 1) * d;   // the row that predicts the next token

    for (int l = 0; l < c->text_layers; l++) {
        kevo_status st = kevo_run_check_interrupt(r, err);
        if (st != KEVO_OK)
            return st;
        if (states) {   // the recorder: the state entering layer l
            double t0 = kevo_now();
            memcpy(states + (size_t)l * d, last, d * sizeof *states);
            r->timings.record_s += kevo_now() - t0;
        }
        const kevo_llama_layer_weights *lw = &w->text[l];
        kevo_rmsnorm(xn, x, n, (int)d, lw->attn_norm.f32, c->rms_norm_eps);
        attention_block(r, lw, l, n, pos0);
        kevo_add(x, xn, (size_t)n * d);
        kevo_rmsnorm(xn, x, n, (int)d, lw->ffn_norm.f32, c->rms_norm_eps);
        mlp_block(r, lw, n);
        kevo_add(x, xn, (size_t)n * d);
        if ((st = check_layer(r, lw, l, n, pos0, err)) != KEVO_OK)
            return st;
    }
    // Only the last row needs the final norm and the LM head.
    float *normed = xn + (size_t)(n - 1) * d;
    kevo_rmsnorm(normed, last, 1, (int)d, w->final_norm.f32, c->rms_norm_eps);
    const kevo_weight *fn[] = {&w->final_norm};
    kevo_status st = kevo_check_finite(normed, 1, d, fn, 1, "", err, "the final norm's output at "
                                       "step %d", r->n_generated);
    if (st != KEVO_OK)
        return st;
    if (states) {
        double t0 = kevo_now();
        memcpy(states + (size_t)c->text_layers * d, normed, d * sizeof *states);
        r->timings.record_s += kevo_now() - t0;
    }
    kevo_linear(r->buf[KEVO_BUF_LOGITS], c->text_vocab, normed, (int)d, 1, w->lm_head.t, NULL,
                NULL);
    const kevo_weight *head[] = {&w->lm_head};
    return kevo_check_finite(r->buf[KEVO_BUF_LOGITS], 1, (size_t)c->text_vocab, head, 1,
                             "; lm_head is finite: the logits overflowed", err,
                             "the logit row at step %d", r->n_generated);
}
