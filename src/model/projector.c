// projector.c — LLaVA's multimodal projector: linear_1, GELU (the exact erf form), linear_2,
// mapping each vision feature into the language model's embedding space
// (transformers modeling_llava.py LlavaMultiModalProjector; LLaVA's mlp2x_gelu).
#include "kernels/linear.h"
#include "kernels/ops.h"
#include "model/finite.h"
#include "model/run.h"

kevo_status kevo_projector_forward(kevo_run *r, int n, float *out, kevo_error *err)
{
    const kevo_config *c = &r->model->config;
    const kevo_weights *w = r->model->weights;
    int d = c->text_hidden;
    kevo_vision_acts *a = &r->act.vision;
    const kevo_linear_ctx *cv = &r->lin;
    kevo_linear(a->proj, d, a->features, c->vision_hidden * c->n_feature_layers, n,
                w->proj1_w.t, w->proj1_b.f32, cv);
    kevo_gelu_erf(a->proj, (size_t)n * d, r->n_threads);
    kevo_linear(out, d, a->proj, d, n, w->proj2_w.t, w->proj2_b.f32, cv);
    const kevo_weight *ws[] = {&w->proj1_w, &w->proj1_b, &w->proj2_w, &w->proj2_b};
    return kevo_check_finite(out, (size_t)n, (size_t)d, ws, 4, "; the projector's weights "
                             "are finite: its activations overflowed", err,
                             "the multimodal projector's image embeddings (before step 0)");
}
