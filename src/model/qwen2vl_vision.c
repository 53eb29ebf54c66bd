// qwen2vl_vision.c — the native-resolution vision tower of Qwen2-VL and Qwen2.5-VL and its
// PatchMerger: one image's S patch rows (pixel_values, already cut by the image processor in
// merge-window order) to N = S / merge^2 embeddings of the decoder's width.
//
// Follows modeling_qwen2_vl.py (Qwen2VisionTransformerPretrainedModel.forward) and
// modeling_qwen2_5_vl.py (Qwen2_5_VisionTransformerPretrainedModel.forward):
//   PatchEmbed          Conv3d with kernel = stride = (T, P, P) and no bias: one product over
//                       the flattened (C, T, P, P) row;
//   rot_pos_emb         each patch's (row, column) in the patch grid, VisionRotaryEmbedding of
//                       head_dim / 2 (theta 10000): the first half of the pairs turn with the
//                       row, the second with the column (apply_rotary_pos_emb_vision);
//   blocks              pre-norm attention (qkv stacked, bidirectional, within cu_seqlens) and
//                       MLP, each with a residual. Qwen2-VL: LayerNorm, fc1 / QuickGELU / fc2.
//                       Qwen2.5-VL: RMSNorm, the biased SwiGLU, and attention within windows of
//                       window_size pixels except at fullatt_block_indexes; the merged
//                       positions are reordered window by window first (get_window_index);
//   PatchMerger         norm, each merge^2 consecutive rows as one, Linear, GELU, Linear; then
//                       Qwen2.5-VL's reverse of the window order.
//
// Letters: S patches, N = S / m^2 merged positions, m merge size, Dv width, Ev head dim,
// Fv MLP width, Dm = Dv m^2, D text width.
#include <math.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/linear.h"
#include "kernels/ops.h"
#include "model/finite.h"
#include "model/run.h"

// The rotary tables of every patch (act.vision.rot_cos / rot_sin, S rows of Ev / 2): row and
// column of patch s in the grid of h x w patches, s enumerating the merge windows row-major and
// the m x m patches inside each row-major (rot_pos_emb's reshape and permute).
static void rotary_tables(kevo_run *r, int h, int w)
{
    const kevo_config *c = &r->model->config;
    kevo_vision_acts *a = &r->act.vision;
    int m = c->spatial_merge_size, half = c->vision_head_dim / 2, quarter = half / 2;
    int longest = h > w ? h : w;
    // VisionRotaryEmbedding(Ev / 2)(max_grid_size): (longest, Ev / 4) angles, here in the
    // attention output buffer, which the first block overwrites.
    float *cos_all = a->att, *sin_all = a->att + (size_t)longest * quarter;
    kevo_rope_tables(cos_all, sin_all, longest, half, 10000.0f);
    for (int s = 0; s < h * w; s++) {
        int window = s / (m * m), inner = s % (m * m), windows_per_row = w / m;
        int row = (window / windows_per_row) * m + inner / m;
        int col = (window % windows_per_row) * m + inner % m;
        float *cs = a->rot_cos + (size_t)s * half, *sn = a->rot_sin + (size_t)s * half;
        memcpy(cs, cos_all + (size_t)row * quarter, (size_t)quarter * sizeof *cs);
        memcpy(sn, sin_all + (size_t)row * quarter, (size_t)quarter * sizeof *sn);
        memcpy(cs + quarter, cos_all + (size_t)col * quarter, (size_t)quarter * sizeof *cs);
        memcpy(sn + quarter, sin_all + (size_t)col * quarter, (size_t)quarter * sizeof *sn);
    }
}

// get_window_index for one still image: the merged positions of the (h / m) x (w / m) grid
// window by window (windows of `side` x `side` positions, row-major, the grid padded at its
// bottom and right), row-major inside each; window_bounds the patch rows where the windows
// begin, then S (cu_window_seqlens after unique_consecutive, which drops empty windows).
// Returns the number of windows.
static int window_index(kevo_run *r, int h, int w)
{
    const kevo_config *c = &r->model->config;
    kevo_vision_acts *a = &r->act.vision;
    int m = c->spatial_merge_size, side = c->vision_window / m / c->patch_size;
    int gh = h / m, gw = w / m, m2 = m * m;
    // F.pad by side - n % side: a whole empty window when n is already a multiple; empty
    // windows add no bound.
    int rows = (gh + side - gh % side) / side, cols = (gw + side - gw % side) / side;
    int k = 0, n_windows = 0;
    for (int wy = 0; wy < rows; wy++)
        for (int wx = 0; wx < cols; wx++) {
            int start = k;
            for (int y = wy * side; y < (wy + 1) * side && y < gh; y++)
                for (int x = wx * side; x < (wx + 1) * side && x < gw; x++)
                    a->window_order[k++] = y * gw + x;
            if (k > start)
                a->window_bounds[n_windows++] = start * m2;
        }
    a->window_bounds[n_windows] = k * m2;
    return n_windows;
}

// Moves the merged positions of x (units of `unit` floats: m^2 rows) into window order through
// `tmp` (x[k] = x_old[window_order[k]]), or back when `reverse`.
static void permute_units(kevo_run *r, float *x, float *tmp, size_t unit, int reverse)
{
    const int *order = r->act.vision.window_order;
    for (int k = 0; k < r->n_image_tokens; k++) {
        size_t from = (size_t)(reverse ? k : order[k]), to = (size_t)(reverse ? order[k] : k);
        memcpy(tmp + to * unit, x + from * unit, unit * sizeof *x);
    }
    memcpy(x, tmp, (size_t)r->n_image_tokens * unit * sizeof *x);
}

// The block's norm: LayerNorm (Qwen2-VL) or RMSNorm (Qwen2.5-VL), eps 1e-6.
static void norm(const kevo_run *r, float *y, const float *x, int rows, int n,
                 const kevo_weight *w, const kevo_weight *b)
{
    const kevo_config *c = &r->model->config;
    if (c->vision_swiglu)
        kevo_rmsnorm(y, x, rows, n, w->f32, c->vision_ln_eps, r->n_threads);
    else
        kevo_layernorm(y, x, rows, n, w->f32, b->f32, c->vision_ln_eps, r->n_threads);
}

// VisionAttention over xn (S, Dv) into att: q, k and v from one stacked product, the 2-D
// rotation of q and k, bidirectional attention inside each of the n_spans row ranges of
// `bounds` (cu_seqlens), heads concatenated.
static void attention(kevo_run *r, const kevo_qwen_vision_layer_weights *lw, int s,
                      const int *bounds, int n_spans)
{
    const kevo_config *c = &r->model->config;
    kevo_vision_acts *a = &r->act.vision;
    int dv = c->vision_hidden, e = c->vision_head_dim, heads = c->vision_heads;
    float *qkv = a->mlp;
    kevo_linear(qkv, 3 * dv, a->xn, dv, s, lw->qkv_w.t, lw->qkv_b.f32, &r->lin);
    for (int i = 0; i < s; i++) {   // q and k of row i turn by the row's own angles
        float *row = qkv + (size_t)i * 3 * dv;
        kevo_rope_apply(row, heads, e, a->rot_cos, a->rot_sin, i);
        kevo_rope_apply(row + dv, heads, e, a->rot_cos, a->rot_sin, i);
    }
    for (int span = 0; span < n_spans; span++) {
        int first = bounds[span], n = bounds[span + 1] - first;
        const float *q = qkv + (size_t)first * 3 * dv;
        kevo_attention_shape shape = {
            .n_heads = heads, .n_kv_heads = heads, .head_dim = e, .n_queries = n,
            .n_keys = n, .causal = 0, .scale = (float)(1.0 / sqrt((double)e)),
            .q_row_stride = (size_t)3 * dv, .out_row_stride = (size_t)dv,
            .kv_head_stride = (size_t)e, .kv_row_stride = (size_t)3 * dv,
        };
        kevo_attention(a->att + (size_t)first * dv, q, q + dv, q + 2 * dv, &shape, a->scores,
                       r->n_threads);
    }
    kevo_linear(a->xn, dv, a->att, dv, s, lw->proj_w.t, lw->proj_b.f32, &r->lin);
}

// One block over x (S, Dv), in place.
static void block(kevo_run *r, const kevo_qwen_vision_layer_weights *lw, int s,
                  const int *bounds, int n_spans)
{
    const kevo_config *c = &r->model->config;
    kevo_vision_acts *a = &r->act.vision;
    int dv = c->vision_hidden, fv = c->vision_intermediate, threads = r->n_threads;
    const kevo_linear_ctx *lin = &r->lin;
    norm(r, a->xn, a->x, s, dv, &lw->norm1_w, &lw->norm1_b);
    attention(r, lw, s, bounds, n_spans);
    kevo_add(a->x, a->xn, (size_t)s * dv, threads);

    norm(r, a->xn, a->x, s, dv, &lw->norm2_w, &lw->norm2_b);
    if (c->vision_swiglu) {   // Qwen2_5_VLMLP: down(silu(gate(x)) * up(x)), every one biased
        float *gate = a->mlp, *up = a->mlp + (size_t)s * fv;
        kevo_linear(gate, fv, a->xn, dv, s, lw->gate_w.t, lw->gate_b.f32, lin);
        kevo_linear(up, fv, a->xn, dv, s, lw->up_w.t, lw->up_b.f32, lin);
        kevo_swiglu(gate, up, (size_t)s * fv, threads);
        kevo_linear(a->xn, dv, gate, fv, s, lw->down_w.t, lw->down_b.f32, lin);
    } else {                  // VisionMlp: fc2(act(fc1(x)))
        kevo_linear(a->mlp, fv, a->xn, dv, s, lw->fc1_w.t, lw->fc1_b.f32, lin);
        if (c->vision_gelu_exact)
            kevo_gelu_erf(a->mlp, (size_t)s * fv, threads);
        else
            kevo_quick_gelu(a->mlp, (size_t)s * fv, threads);
        kevo_linear(a->xn, dv, a->mlp, fv, s, lw->fc2_w.t, lw->fc2_b.f32, lin);
    }
    kevo_add(a->x, a->xn, (size_t)s * dv, threads);
}

// Block l's tensors, for naming the culprit of a non-finite output.
static int block_weights(const kevo_qwen_vision_layer_weights *lw, const kevo_weight **ws)
{
    const kevo_weight *all[] = {&lw->norm1_w, &lw->norm1_b, &lw->qkv_w, &lw->qkv_b, &lw->proj_w,
                                &lw->proj_b, &lw->norm2_w, &lw->norm2_b, &lw->fc1_w, &lw->fc1_b,
                                &lw->fc2_w, &lw->fc2_b, &lw->gate_w, &lw->gate_b, &lw->up_w,
                                &lw->up_b, &lw->down_w, &lw->down_b};
    int n = (int)(sizeof all / sizeof all[0]);
    memcpy(ws, all, sizeof all);
    return n;
}

// PatchMerger: norm of x (S, Dv) viewed as (N, Dm), Linear, GELU, Linear -> emb (N, D).
static void merge(kevo_run *r)
{
    const kevo_config *c = &r->model->config;
    const kevo_weights *w = r->model->weights;
    kevo_vision_acts *a = &r->act.vision;
    int s = r->n_patches, n = r->n_image_tokens, dv = c->vision_hidden;
    int dm = dv * c->spatial_merge_size * c->spatial_merge_size;
    norm(r, a->xn, a->x, s, dv, &w->merger_ln_w, &w->merger_ln_b);
    kevo_linear(a->proj, dm, a->xn, dm, n, w->merger1_w.t, w->merger1_b.f32, &r->lin);
    kevo_gelu_erf(a->proj, (size_t)n * dm, r->n_threads);
    kevo_linear(a->emb, c->text_hidden, a->proj, dm, n, w->merger2_w.t, w->merger2_b.f32,
                &r->lin);
}

kevo_status kevo_qwen_vision_encode(kevo_run *r, const float *pixels, int h, int w,
                                    kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    const kevo_weights *wt = r->model->weights;
    kevo_vision_acts *a = &r->act.vision;
    int s = r->n_patches, dv = c->vision_hidden;
    int row = c->num_channels * c->temporal_patch_size * c->patch_size * c->patch_size;
    if (h * w != s)
        return kevo_fail(err, KEVO_ERR_ARG, "a grid of %d x %d patches for a run planned for "
                         "%d", h, w, s);
    kevo_linear(a->x, dv, pixels, row, s, wt->qwen_patch_w.t, NULL, &r->lin);
    const kevo_weight *emb[] = {&wt->qwen_patch_w};
    kevo_status st = kevo_check_finite(a->x, (size_t)s, (size_t)dv, emb, 1, "; the patch "
                                       "embedding is finite: the pixels are not", err,
                                       "the vision tower's patch embeddings");
    rotary_tables(r, h, w);
    int full[2] = {0, s}, n_windows = 0;
    size_t m2 = (size_t)c->spatial_merge_size * (size_t)c->spatial_merge_size;
    if (c->vision_window > 0) {   // Qwen2.5-VL: rows and angles in window order
        n_windows = window_index(r, h, w);
        permute_units(r, a->x, a->features, m2 * dv, 0);
        permute_units(r, a->rot_cos, a->features, m2 * (size_t)c->vision_head_dim / 2, 0);
        permute_units(r, a->rot_sin, a->features, m2 * (size_t)c->vision_head_dim / 2, 0);
    }
    for (int l = 0; l < wt->n_qwen_vision && st == KEVO_OK; l++) {
        if ((st = kevo_run_check_interrupt(r, err)) != KEVO_OK)
            return st;
        int windowed = n_windows > 0;
        for (int i = 0; i < c->n_fullatt_blocks; i++)
            windowed &= c->fullatt_blocks[i] != l;
        const kevo_qwen_vision_layer_weights *lw = &wt->qwen_vision[l];
        block(r, lw, s, windowed ? a->window_bounds : full, windowed ? n_windows : 1);
        const kevo_weight *ws[18];
        int n_ws = block_weights(lw, ws);
        st = kevo_check_finite(a->x, (size_t)s, (size_t)dv, ws, n_ws, "; the block's weights "
                               "are all finite: its activations overflowed", err, "the output "
                               "of vision block %d (the image, before step 0)", l);
    }
    if (st != KEVO_OK)
        return st;
    // The merger works on each merged position alone, so reversing the window order before it
    // (here) gives the rows transformers reverses after it.
    if (n_windows > 0)
        permute_units(r, a->x, a->features, m2 * dv, 1);
    memcpy(a->features, a->x, (size_t)s * dv * sizeof *a->x);
    merge(r);
    const kevo_weight *mw[] = {&wt->merger_ln_w, &wt->merger_ln_b, &wt->merger1_w,
                               &wt->merger1_b, &wt->merger2_w, &wt->merger2_b};
    return kevo_check_finite(a->emb, (size_t)r->n_image_tokens, (size_t)c->text_hidden, mw, 6,
                             "; the merger's weights are finite: its activations overflowed",
                             err, "the image embeddings (the PatchMerger's output)");
}
