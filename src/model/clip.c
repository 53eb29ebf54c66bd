// clip.c — the CLIP ViT vision tower up to LLaVA's feature layer.
//
// Follows transformers' modeling_clip.py: CLIPVisionEmbeddings (patch convolution without bias,
// class embedding prepended, position embeddings added), pre_layrnorm, then pre-LN
// CLIPEncoderLayers (LayerNorm, biased multi-head attention, residual; LayerNorm, fc1,
// quick_gelu, fc2, residual). LLaVA reads hidden_states[vision_feature_layer] (-2: the output of
// the second-to-last layer), so only the layers below it are computed; the last layer and
// post_layernorm never influence the result (spec/llava.md §4). With a list of feature layers
// the listed hidden states are concatenated on the feature axis, class token dropped unless
// the strategy is "full" (modeling_llava_next.py get_image_features).
//
// Letters: S = patches + 1, Dv width, Fv MLP width, P patch size, G patches per side.
#include <math.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/linear.h"
#include "kernels/ops.h"
#include "kernels/parallel.h"
#include "model/finite.h"
#include "model/run.h"

// (C, G*P, G*P) pixels -> (G*G, C*P*P) patch rows in (c, ky, kx) order, row-major over the grid:
// the layout that turns the stride-P convolution into one matrix product.
static void cut_patches(float *patches, const float *pixels, int channels, int grid, int p,
                        int n_threads)
{
    int side = grid * p, cpp = channels * p * p;
#pragma omp parallel for schedule(static) num_threads(n_threads) \
    if ((size_t)grid * grid * cpp >= KEVO_PARALLEL_MIN_WORK)
    for (int g = 0; g < grid * grid; g++) {
        int py = g / grid, px = g % grid;
        float *row = patches + (size_t)g * cpp;
        for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < p; ky++) {
                const float *src = pixels + ((size_t)c * side + (size_t)(py * p + ky)) * side +
                                   (size_t)px * p;
                for (int kx = 0; kx < p; kx++)
                    row[(c * p + ky) * p + kx] = src[kx];
            }
    }
}

// CLIPVisionEmbeddings and pre_layrnorm: pixels -> x (S, Dv).
static void embed(kevo_run *r, const float *pixels)
{
    const kevo_config *c = &r->model->config;
    const kevo_weights *w = r->model->weights;
    int grid = c->image_size / c->patch_size, s = grid * grid + 1, dv = c->vision_hidden;
    kevo_vision_acts *a = &r->act.vision;
    cut_patches(a->patches, pixels, c->num_channels, grid, c->patch_size, r->n_threads);
    kevo_linear(a->x + dv, dv, a->patches, c->num_channels * c->patch_size * c->patch_size,
                s - 1, w->patch_w.t, NULL, &r->lin);
    for (int i = 0; i < dv; i++)
        a->x[i] = w->class_emb.f32[i];
    kevo_add(a->x, w->pos_emb.f32, (size_t)s * dv, r->n_threads);
    kevo_layernorm(a->x, a->x, s, dv, w->pre_ln_w.f32, w->pre_ln_b.f32, c->vision_ln_eps,
                   r->n_threads);
}

// One CLIPEncoderLayer over x (S, Dv), in place.
static void encoder_layer(kevo_run *r, const kevo_clip_layer_weights *lw, int s)
{
    const kevo_config *c = &r->model->config;
    int dv = c->vision_hidden, fv = c->vision_intermediate, threads = r->n_threads;
    kevo_vision_acts *a = &r->act.vision;
    const kevo_linear_ctx *cv = &r->lin;

    kevo_layernorm(a->xn, a->x, s, dv, lw->ln1_w.f32, lw->ln1_b.f32, c->vision_ln_eps, threads);
    kevo_linear(a->q, dv, a->xn, dv, s, lw->q_w.t, lw->q_b.f32, cv);
    kevo_linear(a->k, dv, a->xn, dv, s, lw->k_w.t, lw->k_b.f32, cv);
    kevo_linear(a->v, dv, a->xn, dv, s, lw->v_w.t, lw->v_b.f32, cv);
    kevo_attention_shape shape = {
        .n_heads = c->vision_heads, .n_kv_heads = c->vision_heads,
        .head_dim = c->vision_head_dim, .n_queries = s, .n_keys = s, .first_pos = 0,
        .causal = 0, .scale = (float)(1.0 / sqrt((double)c->vision_head_dim)),
        .q_row_stride = (size_t)dv, .out_row_stride = (size_t)dv,
        .kv_head_stride = (size_t)c->vision_head_dim, .kv_row_stride = (size_t)dv,
    };
    kevo_attention(a->att, a->q, a->k, a->v, &shape, a->scores, threads);
    kevo_linear(a->xn, dv, a->att, dv, s, lw->o_w.t, lw->o_b.f32, cv);
    kevo_add(a->x, a->xn, (size_t)s * dv, threads);

    kevo_layernorm(a->xn, a->x, s, dv, lw->ln2_w.f32, lw->ln2_b.f32, c->vision_ln_eps, threads);
    kevo_linear(a->mlp, fv, a->xn, dv, s, lw->fc1_w.t, lw->fc1_b.f32, cv);
    if (c->vision_gelu_exact)
        kevo_gelu_erf(a->mlp, (size_t)s * fv, threads);
    else
        kevo_quick_gelu(a->mlp, (size_t)s * fv, threads);
    kevo_linear(a->xn, dv, a->mlp, fv, s, lw->fc2_w.t, lw->fc2_b.f32, cv);
    kevo_add(a->x, a->xn, (size_t)s * dv, threads);
}

// Copies hidden_states[index] (x after `index` layers) into its places among the features.
static void select_features(const kevo_run *r, int index, float *features)
{
    const kevo_config *c = &r->model->config;
    int grid = c->image_size / c->patch_size, dv = c->vision_hidden;
    int skip = !c->feature_keep_cls, rows = grid * grid + 1 - skip;
    size_t df = (size_t)dv * (size_t)c->n_feature_layers;
    for (int k = 0; k < c->n_feature_layers; k++) {
        if (c->feature_layers[k] != index)
            continue;
        for (int i = 0; i < rows; i++)
            memcpy(features + (size_t)i * df + (size_t)k * dv,
                   r->act.vision.x + (size_t)(i + skip) * dv, (size_t)dv * sizeof *features);
    }
}

kevo_status kevo_clip_encode(kevo_run *r, const float *pixels, float *features, kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    const kevo_weights *w = r->model->weights;
    int grid = c->image_size / c->patch_size, s = grid * grid + 1, dv = c->vision_hidden;
    float *x = r->act.vision.x;

    embed(r, pixels);
    // Non-finite values stop the run where they appear, naming the tensor (see finite.h).
    const kevo_weight *emb[] = {&w->patch_w, &w->class_emb, &w->pos_emb, &w->pre_ln_w,
                                &w->pre_ln_b};
    kevo_status st = kevo_check_finite(x, (size_t)s, (size_t)dv, emb, 5, "; the embedding "
                                       "weights are finite: the pixels are not", err,
                                       "the vision tower's embeddings");
    if (st == KEVO_OK)
        select_features(r, 0, features);
    for (int l = 0; l < w->n_vision && st == KEVO_OK; l++) {
        if ((st = kevo_run_check_interrupt(r, err)) != KEVO_OK)
            return st;
        const kevo_clip_layer_weights *lw = &w->vision[l];
        encoder_layer(r, lw, s);
        const kevo_weight *ws[] = {&lw->ln1_w, &lw->ln1_b, &lw->q_w, &lw->q_b, &lw->k_w,
                                   &lw->k_b, &lw->v_w, &lw->v_b, &lw->o_w, &lw->o_b,
                                   &lw->ln2_w, &lw->ln2_b, &lw->fc1_w, &lw->fc1_b, &lw->fc2_w,
                                   &lw->fc2_b};
        st = kevo_check_finite(x, (size_t)s, (size_t)dv, ws, 16, "; the layer's weights are all "
                               "finite: its activations overflowed", err, "the output of vision "
                               "tower layer %d (the image, before step 0)", l);
        if (st == KEVO_OK)
            select_features(r, l + 1, features);
    }
    return st;
}
