// rope.c — the rotary tables of a run: one row per sequence index, for the prompt and every
// position generation may reach.
//
// 1-D RoPE (LLaMA, Mistral): the row of index i turns by position i. M-RoPE (Qwen2-VL,
// modeling_qwen2_vl.py get_rope_index for one image): three position streams (temporal, row,
// column); text gets the same id in all three, counting on from the previous segment's largest
// id + 1; the image's positions get the family's (t, h, w) ids offset by the image's first id;
// every token after the prompt gets index + rope_deltas in all three (rope_deltas = the largest
// prompt id + 1 - the prompt's length), as generate() feeds cache_position + rope_deltas. As in
// get_rope_index, an image counts only after a vision-start token; otherwise the prompt has
// text positions.
#include <stdlib.h>

#include "base/error.h"
#include "kernels/ops.h"
#include "model/run.h"

kevo_status kevo_run_rope_tables(kevo_run *r, const kevo_image_input *image, const int *ids,
                                 kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    int e = c->text_head_dim, half = e / 2, n_ctx = r->plan.n_ctx;
    float *cos = r->act.text.cos, *sin = r->act.text.sin;
    r->rope_delta = 0;
    if (!c->n_mrope) {
        kevo_rope_tables(cos, sin, n_ctx, e, c->rope_theta);
        return KEVO_OK;
    }
    int at = r->image_at, n_img = r->n_image_tokens, n_prompt = r->plan.n_prompt;
    int (*img_ids)[3] = NULL;
    int placed = at > 0 && ids[at - 1] == c->vision_start_id && r->model->family->rope_ids;
    if (placed) {
        if (!(img_ids = malloc((size_t)n_img * sizeof *img_ids)))
            return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the image's positions");
        kevo_status st = r->model->family->rope_ids(r->model, image->width, image->height,
                                                    img_ids, n_img, err);
        if (st != KEVO_OK) {
            free(img_ids);
            return st;
        }
    }
    int next = 0;   // the id text continues from: the largest so far + 1
    for (int i = 0; i < n_ctx; i++) {
        int pos[3];
        if (placed && i >= at && i < at + n_img) {
            for (int s = 0; s < 3; s++) {
                pos[s] = at + img_ids[i - at][s];
                next = pos[s] + 1 > next ? pos[s] + 1 : next;
            }
        } else {
            pos[0] = pos[1] = pos[2] = i < n_prompt ? next++ : i + r->rope_delta;
        }
        if (i == n_prompt - 1)
            r->rope_delta = next - n_prompt;
        kevo_mrope_row(cos + (size_t)i * half, sin + (size_t)i * half, e, c->rope_theta, pos,
                       c->mrope_section);
    }
    free(img_ids);
    return KEVO_OK;
}
