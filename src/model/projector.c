// projector.c — LLaVA's multimodal projector: linear_1, GELU (the exact erf form), linear_2,
// mapping each vision feature into the language model's embedding space
// (transformers modeling_llava.py LlavaMultiModalProjector; LLaVA's mlp2x_gelu).
#include "kernels/linear.h"
#include "kernels/ops.h"
#include "model/run.h"

void kevo_projector_forward(kevo_run *r)
{
    const kevo_config *c = &r->model->config;
    const kevo_weights *w = r->model->weights;
    int n = c->image_tokens, d = c->text_hidden;
    float *hidden = r->buf[KEVO_BUF_VPROJ];
    const kevo_linear_ctx *cv = &r->lin;
    kevo_linear(hidden, d, kevo_clip_features(r), c->vision_hidden, n, w->proj1_w.t,
                w->proj1_b.f32, cv);
    kevo_gelu_erf(hidden, (size_t)n * d);
    kevo_linear(r->buf[KEVO_BUF_VEMB], d, hidden, d, n, w->proj2_w.t, w->proj2_b.f32, cv);
}
