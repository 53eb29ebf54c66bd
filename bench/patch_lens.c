// patch_lens.c — times kevo's patch lens (analysis/patch_lens.h: for every image patch and kept
// hidden-state index the head's logits, top token, its probability, the entropy and tracked
// tokens' probabilities) on synthetic states of a real run's shape, and leaves the data and
// kevo's results in a safetensors file for bench/patch_lens.py, which runs PyTorch beside it.
//
// usage: build/bench/patch_lens OUT.safetensors P K D V [REPEATS]
// Prints key=value lines: seconds (best of REPEATS), of which products (with the head), chunks,
// the products' GFLOP/s and the whole lens's (the floor is the products alone).
#include <stdio.h>
#include <stdlib.h>

#include "analysis/patch_lens.h"
#include "io/safetensors.h"
#include "base/convert.h"
#include "bench_random.h"
#include "kevo.h"

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s OUT.safetensors P K D V [REPEATS]\n", argv[0]);
        return 2;
    }
    const char *out = argv[1];
    int P = atoi(argv[2]), K = atoi(argv[3]), D = atoi(argv[4]), V = atoi(argv[5]);
    int repeats = argc > 6 ? atoi(argv[6]) : 2, L = 32;
    size_t ns = (size_t)P * K * D, nw = (size_t)V * D;
    float *states = malloc(ns * sizeof *states), *norm = malloc((size_t)D * sizeof *norm);
    uint16_t *w = malloc(nw * sizeof *w);
    int *indices = malloc((size_t)K * sizeof *indices), words[2] = {1, V - 1};
    if (!states || !norm || !w || !indices)
        return 1;
    for (size_t i = 0; i < ns; i++)
        states[i] = uniform() * (1.0f + (float)((i / D) % K) / 4);
    for (size_t i = 0; i < nw; i++)
        w[i] = kevo_f32_to_f16(uniform() * 0.05f);
    for (int i = 0; i < D; i++)
        norm[i] = 1;
    for (int k = 0; k < K; k++)
        indices[k] = K > 1 ? k * L / (K - 1) : L;
    kevo_tensor head = {.name = "lm_head", .dtype = KEVO_DTYPE_F16, .n_dims = 2,
                        .shape = {V, D}, .n_elems = nw, .data = w};
    kevo_lens_head lh = {.lm_head = &head, .final_norm = norm, .eps = 1e-5f};
    kevo_patch_lens_params p = {.mode = KEVO_LENS_RAW, .word_ids = words, .n_words = 2};

    double best = 1e30, products = 0;
    kevo_patch_lens_result *r = NULL;
    kevo_error err;
    for (int rep = 0; rep < repeats; rep++) {
        kevo_patch_lens_result_free(r);
        double t0 = kevo_now();
        if (kevo_patch_lens_run(&lh, states, P, K, indices, L, D, &p, &r, &err) != KEVO_OK) {
            fprintf(stderr, "patch_lens: %s\n", err.msg);
            return 1;
        }
        double s = kevo_now() - t0;
        if (s < best)
            best = s, products = r->seconds_products;
    }
    kevo_tensor_out t[] = {
        {"states", KEVO_DTYPE_F32, 2, {(int64_t)P * K, D}, states},
        {"lm_head", KEVO_DTYPE_F16, 2, {V, D}, w},
        {"top_p", KEVO_DTYPE_F64, 1, {(int64_t)P * K}, r->top_p},
        {"entropy", KEVO_DTYPE_F64, 1, {(int64_t)P * K}, r->entropy},
    };
    if (kevo_safetensors_write(out, t, 4, NULL, 0, &err) != KEVO_OK) {
        fprintf(stderr, "patch_lens: %s\n", err.msg);
        return 1;
    }
    double flop = 2.0 * P * K * (double)V * D;
    printf("seconds=%.4f\nproducts=%.4f\nchunks=%d\ngflops_products=%.1f\ngflops_lens=%.1f\n",
           best, products, r->n_chunks, flop / products / 1e9, flop / best / 1e9);
    kevo_patch_lens_result_free(r);
    free(states);
    free(norm);
    free(w);
    free(indices);
    return 0;
}
