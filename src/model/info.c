// info.c — what a loaded model is and what running it costs, for `kevo info` (kevo.h): the
// weights' accounting and the memory plan a run would allocate.
#include "kevo.h"

#include <string.h>

#include "model/model.h"
#include "model/plan.h"

const kevo_tokenizer *kevo_model_tokenizer(const kevo_model *m)
{
    return m->tokenizer;
}

kevo_weights_info kevo_model_weights_info(const kevo_model *m)
{
    const kevo_weights *w = m->weights;
    kevo_weights_info info = {
        .n_vision_layers = w->n_vision, .n_params = w->n_params,
        .vision_params = w->vision_params, .projector_params = w->projector_params,
        .text_params = w->text_params, .bytes_used = w->bytes_used,
        .n_files = kevo_checkpoint_n_files(m->ckpt),
        .file_bytes = kevo_checkpoint_file_bytes(m->ckpt),
        .file_format = kevo_checkpoint_format(m->ckpt),
    };
    memcpy(info.dtype_counts, w->dtype_counts, sizeof info.dtype_counts);
    return info;
}

kevo_memory_estimate kevo_model_memory(const kevo_model *m, int n_prompt, int max_new,
                                       int n_image_states, int n_threads)
{
    const kevo_config *c = &m->config;
    int tiles = 1;   // the most tiles an image can take: LLaVA-NeXT's largest pinpoint grid
    for (int i = 0; i < c->n_grid_pinpoints; i++) {
        int t = 1 + (c->grid_pinpoints[i][0] / c->image_size) *
                        (c->grid_pinpoints[i][1] / c->image_size);
        tiles = t > tiles ? t : tiles;
    }
    kevo_plan_limits lim = {.n_prompt = n_prompt, .max_new = max_new, .n_tiles = tiles,
                            .n_image_tokens = c->image_tokens,
                            .n_patches = c->image_tokens * c->spatial_merge_size *
                                         c->spatial_merge_size,
                            .n_image_states = n_image_states, .n_threads = n_threads};
    kevo_plan p;
    kevo_plan_compute(c, &lim, &p);
    return (kevo_memory_estimate){.n_prompt = p.n_prompt, .max_new = p.max_new,
                                  .n_threads = p.n_threads, .total = p.total,
                                  .vision_bytes = p.vision_bytes, .text_bytes = p.text_bytes,
                                  .kv_bytes = p.kv_bytes, .scratch_bytes = p.scratch_bytes,
                                  .record_bytes = p.record_bytes,
                                  .image_record_bytes = p.image_record_bytes};
}
