// engine.c — times kevo's engine on one model: load, vision encode, prefill, decode, the
// recorder's cost, peak memory; plus this machine's floors (DRAM read bandwidth, F32 GEMM
// throughput). Prints key=value lines for bench/engine.py, which runs PyTorch on the same weights
// beside it.
//
// The image input is the family's: LLaVA's one 336 x 336 crop; for Qwen2-VL / Qwen2.5-VL
// (spatial_merge_size > 0) the processor's pixel_values of an image of --image W x H pixels
// (S patches of 3 * 2 * 14 * 14 values), as many patches as kevo_model_image_tokens places.
// The values are deterministic stand-ins: the weights are random, so only the shapes matter.
//
// usage: build/bench/engine MODEL_DIR [--threads N] [--text N] [--new N] [--compute bf16]
//                                    [--repeat N] [--image WxH] [--answer-only]
//        build/bench/engine --floors [--threads N] [--gemm T,N,K ...]
// --floors without --gemm times LLaVA's prefill product (T = 600, N = 11008, K = 4096) under the
// keys gemm_gflops / openblas_gflops; each --gemm T,N,K adds gemm_T_N_K_gflops and
// openblas_T_N_K_gflops for that (T, K) x (N, K)^T product. --answer-only times the answer's
// recorder alone (the steady_* keys; bench/gguf.py needs no other). --floors --gemv adds
// gemv_TYPE_gws: decoding's product (one row of activations) with a 4096 x 4096 matrix of each
// weight type, in G weights/s (the best of 30).
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/quant.h"
#include "kernels/linear.h"
#include "kevo.h"
#include "model/plan.h"

// Reading a buffer much larger than the caches, threads splitting it: a GEMV's access pattern.
static double read_bandwidth(int threads)
{
    size_t n = (size_t)1 << 28;   // 1 GiB of floats
    float *a = malloc(n * sizeof *a);
    if (!a)
        return 0;
#pragma omp parallel for num_threads(threads)
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i & 7);
    double best = 0, sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = kevo_now(), s = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : s)
        for (size_t i = 0; i < n; i += 16) {   // one touch per cache line, summed
            s += a[i];
        }
        double gbs = (double)n * sizeof *a / (kevo_now() - t0) / 1e9;
        best = gbs > best ? gbs : best;
        sink += s;
    }
    free(a);
    return sink > 0 ? best : best;
}

// The F32 GEMM throughput kevo's prefill gets: kevo_linear on a (T, K) x (N, K)^T (LLaVA's
// widest: (600, 4096) x (11008, 4096)^T).
static double gemm_gflops(int t, int n, int k)
{
    float *x = malloc((size_t)t * k * sizeof *x), *w = malloc((size_t)n * k * sizeof *w);
    float *y = malloc((size_t)t * n * sizeof *y);
    for (size_t i = 0; i < (size_t)t * k; i++)
        x[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < (size_t)n * k; i++)
        w[i] = (float)(i % 7) * 0.01f;
    kevo_tensor wt = {.name = "w", .dtype = KEVO_DTYPE_F32, .n_dims = 2, .shape = {n, k},
                      .n_elems = (uint64_t)n * k, .data = w};
    size_t scratch = (kevo_linear_scratch(t, k, 64) + 63) / 64 * 64;
    kevo_linear_ctx ctx = {.scratch = aligned_alloc(64, scratch)};
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = kevo_now();
        kevo_linear(y, n, x, k, t, &wt, NULL, &ctx);
        double g = 2.0 * t * n * k / (kevo_now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    free(ctx.scratch);
    free(x);
    free(w);
    free(y);
    return best;
}

// The same product through OpenBLAS with all threads (its own threading), for the floor.
static double openblas_gflops(int t, int n, int k, int threads)
{
    float *x = calloc((size_t)t * k, sizeof *x), *w = calloc((size_t)n * k, sizeof *w);
    float *y = malloc((size_t)t * n * sizeof *y);
    openblas_set_num_threads(threads);
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = kevo_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, n, k, 1.0f, x, k, w, k, 0.0f, y,
                    n);
        double g = 2.0 * t * n * k / (kevo_now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    openblas_set_num_threads(1);
    free(x);
    free(w);
    free(y);
    return best;
}

// Decoding's product: x (1, 4096) times a 4096 x 4096 matrix of type dt, weights of random bytes
// whose F16 scales are set to 2^-7 (finite products; the values do not change the speed).
static double gemv_gws(kevo_dtype dt, int threads)
{
    enum { N = 4096, K = 4096 };
    size_t bytes = dt == KEVO_DTYPE_F16 ? (size_t)N * K * 2 : kevo_dtype_bytes(dt, (size_t)N * K);
    unsigned char *w = malloc(bytes);
    float *x = malloc(K * sizeof *x), *y = malloc(N * sizeof *y);
    for (size_t i = 0; i < bytes; i++)
        w[i] = (unsigned char)(i * 2654435761u >> 13);
    size_t step = dt == KEVO_DTYPE_F16 ? 2 : kevo_dtype_block_bytes(dt);
    // F16 scale fields (ggml-common.h): d first, dmin after it; Q6_K's d at byte 208
    int at = dt == KEVO_DTYPE_Q6_K ? 208 : 0, two = dt == KEVO_DTYPE_Q4_K || dt == KEVO_DTYPE_Q5_K;
    for (size_t b = 0; b < bytes; b += step)
        for (int f = 0; f <= two; f++)
            w[b + at + 2 * f] = 0x00, w[b + at + 2 * f + 1] = 0x20;   // 0x2000 = 2^-7
    for (int i = 0; i < K; i++)
        x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    kevo_tensor wt = {.name = "w", .dtype = dt, .n_dims = 2, .shape = {N, K},
                      .n_elems = (uint64_t)N * K, .n_bytes = bytes, .data = w};
    kevo_linear_ctx ctx = {.n_threads = threads};
    double best = 0;
    for (int rep = 0; rep < 30; rep++) {
        double t0 = kevo_now();
        kevo_linear(y, N, x, K, 1, &wt, NULL, &ctx);
        double g = (double)N * K / (kevo_now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    free(w);
    free(x);
    free(y);
    return best;
}

// The pixel input of the model's family and how many positions it takes: LLaVA's crop (the
// config's fixed count), or Qwen's S x (3 * T * P * P) patch rows of a width x height image.
// NULL on failure (err says why).
static float *bench_pixels(const kevo_model *m, int width, int height, kevo_image_input *in,
                           int *n_tokens, int *n_patches, kevo_error *err)
{
    const kevo_config *c = kevo_model_config(m);
    size_t npx = (size_t)c->num_channels * c->image_size * c->image_size;
    *in = (kevo_image_input){NULL, 1, 1, 1};
    *n_tokens = c->image_tokens;
    *n_patches = 0;
    if (c->spatial_merge_size > 0) {
        int tiles;
        if (kevo_model_image_tokens(m, width, height, &tiles, n_tokens, err) != KEVO_OK)
            return NULL;
        *n_patches = *n_tokens * c->spatial_merge_size * c->spatial_merge_size;
        npx = (size_t)*n_patches * c->num_channels * c->temporal_patch_size * c->patch_size *
              c->patch_size;
        *in = (kevo_image_input){NULL, tiles, width, height};
    }
    float *px = malloc(npx * sizeof *px);
    if (!px) {
        snprintf(err->msg, sizeof err->msg, "out of memory for %zu pixel values", npx);
        return NULL;
    }
    for (size_t i = 0; i < npx; i++)
        px[i] = (float)((i * 7919) % 255) / 127.0f - 1.0f;
    in->pixels = px;
    return px;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int threads = 2, n_text = 24, n_new = 16, floors = 0, repeat = 3, answer_only = 0, gemv = 0;
    int width = 644, height = 476, shapes[8][3], n_shapes = 0;
    kevo_compute compute = KEVO_COMPUTE_F32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--text") && i + 1 < argc)
            n_text = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--new") && i + 1 < argc)
            n_new = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--floors"))
            floors = 1;
        else if (!strcmp(argv[i], "--answer-only"))
            answer_only = 1;
        else if (!strcmp(argv[i], "--gemv"))
            gemv = 1;
        else if (!strcmp(argv[i], "--image") && i + 1 < argc &&
                 sscanf(argv[i + 1], "%dx%d", &width, &height) == 2)
            i++;
        else if (!strcmp(argv[i], "--gemm") && i + 1 < argc && n_shapes < 8 &&
                 sscanf(argv[i + 1], "%d,%d,%d", &shapes[n_shapes][0], &shapes[n_shapes][1],
                        &shapes[n_shapes][2]) == 3)
            i++, n_shapes++;
        else if (!strcmp(argv[i], "--compute") && i + 1 < argc)
            compute = strcmp(argv[++i], "bf16") == 0 ? KEVO_COMPUTE_BF16 : KEVO_COMPUTE_F32;
        else
            dir = argv[i];
    }
    kevo_set_threads(threads);
    if (floors) {
        printf("bandwidth_gbs=%.2f\n", read_bandwidth(threads));
        if (n_shapes == 0) {
            printf("gemm_gflops=%.1f\n", gemm_gflops(n_text + 576, 11008, 4096));
            printf("openblas_gflops=%.1f\n", openblas_gflops(n_text + 576, 11008, 4096, threads));
        }
        for (int s = 0; s < n_shapes; s++) {
            int t = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            printf("gemm_%d_%d_%d_gflops=%.1f\n", t, n, k, gemm_gflops(t, n, k));
            printf("openblas_%d_%d_%d_gflops=%.1f\n", t, n, k, openblas_gflops(t, n, k, threads));
        }
        printf("openblas_core=%s\n", openblas_get_corename());
        const kevo_dtype gemv_types[] = {KEVO_DTYPE_F16, KEVO_DTYPE_Q8_0, KEVO_DTYPE_Q4_0,
                                         KEVO_DTYPE_Q4_K, KEVO_DTYPE_Q5_K, KEVO_DTYPE_Q6_K};
        for (int t = 0; gemv && t < 6; t++)
            printf("gemv_%s_gws=%.2f\n", kevo_dtype_name(gemv_types[t]),
                   gemv_gws(gemv_types[t], threads));
    }
    if (!dir)
        return 0;

    kevo_error err;
    kevo_model *m;
    double t0 = kevo_now();
    if (kevo_model_load(dir, &m, &err) != KEVO_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("load_s=%.3f\n", kevo_now() - t0);
    const kevo_config *c = kevo_model_config(m);
    kevo_image_input image;
    int n_image, n_patches;
    float *px = bench_pixels(m, width, height, &image, &n_image, &n_patches, &err);
    if (!px) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("image_tokens=%d\nimage_patches=%d\n", n_image, n_patches);
    // What a model with these dimensions needs besides its weights (256 new tokens) at its full
    // depth: LLaVA-1.5-7B's 32 layers, Qwen2.5-VL-7B's 28.
    kevo_config full = *c;
    full.text_layers = c->spatial_merge_size > 0 ? 28 : 32;
    kevo_plan plan;
    kevo_plan_limits lim = {.n_prompt = n_text + n_image, .max_new = 256, .n_tiles = 1,
                            .n_image_tokens = n_image, .n_patches = n_patches,
                            .n_threads = threads};
    kevo_plan_compute(&full, &lim, &plan);
    printf("plan32_mb=%.1f\n", plan.total / 1048576.0);
    lim.max_new = n_new;
    kevo_plan_compute(c, &lim, &plan);
    printf("plan_mb=%.1f\n", plan.total / 1048576.0);
    // n_text text positions and the image's slot; Qwen's image between <|vision_start|> and
    // <|vision_end|> as its chat template places it, LLaVA's after BOS.
    int n_ids = n_text + 1, *ids = malloc((size_t)n_ids * sizeof *ids);
    for (int i = 0; i < n_ids; i++)
        ids[i] = 100 + (i * 389) % 20000;
    ids[0] = c->spatial_merge_size > 0 ? 151644 : 1;   // <|im_start|>, <s>
    ids[n_ids / 2] = KEVO_IMAGE_SLOT;
    if (c->spatial_merge_size > 0)
        ids[n_ids / 2 - 1] = c->vision_start_id, ids[n_ids / 2 + 1] = c->vision_end_id;

    // Each run object generates 1 + repeat times: the first pass touches every weight page and
    // the run's own memory (first-touch page faults); the best of the others is reported (the
    // host's memory bandwidth drifts between runs). The answer's recorder, then with the image
    // recorder at every index too (kevo run --image-states), then without any, to measure what
    // recording costs (the image run second: the first run object of a process was measured
    // slower, whatever it recorded).
    int *every = NULL, n_every = 0;
    if (kevo_image_states_parse("all", c->text_layers, &every, &n_every, &err) != KEVO_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    for (int mi = 0; mi < (answer_only ? 1 : 3); mi++) {
        int mode = (const int[]){1, 2, 0}[mi];   // 2: image states too, 1: answer, 0: none
        int record = mode >= 1;
        kevo_run_params p = kevo_run_default_params();
        p.max_new_tokens = n_new;
        p.n_threads = threads;
        p.no_record = !record;
        p.compute = compute;
        p.image_states = mode == 2 ? every : NULL;
        p.n_image_states = mode == 2 ? n_every : 0;
        kevo_run *run;
        if (kevo_run_create(m, &p, &run, &err) != KEVO_OK) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        kevo_timings best = {0};
        for (int pass = 0; pass <= repeat; pass++) {
            double t1 = kevo_now();
            if (kevo_run_generate(run, &image, ids, n_ids, &err) != KEVO_OK) {
                fprintf(stderr, "bench: %s\n", err.msg);
                return 1;
            }
            kevo_timings t = kevo_run_timings(run);
            if (pass == 0) {
                if (mode == 1)
                    printf("first_total_s=%.3f\n", kevo_now() - t1);
                continue;
            }
            if (pass == 1 || t.vision_s < best.vision_s)
                best.vision_s = t.vision_s;
            if (pass == 1 || t.prefill_s < best.prefill_s)
                best.prefill_s = t.prefill_s;
            if (pass == 1 || t.record_s < best.record_s)
                best.record_s = t.record_s, best.decode_s = t.decode_s;
            if (t.decode_tokens_per_s > best.decode_tokens_per_s)
                best.decode_tokens_per_s = t.decode_tokens_per_s;
        }
        const char *tag = mode == 2 ? "image" : record ? "steady" : "norecord";
        printf("%s_vision_s=%.3f\n%s_prefill_s=%.3f\n%s_decode_tok_s=%.3f\n", tag,
               best.vision_s, tag, best.prefill_s, tag, best.decode_tokens_per_s);
        printf("positions=%d\ngenerated=%d\n", kevo_run_n_positions(run),
               kevo_run_n_generated(run));
        if (mode == 1)   // the recorder's share, measured directly (copies timed in the engine)
            printf("record_s=%.6f\nrecord_decode_s=%.6f\n", best.record_s, best.decode_s);
        if (mode == 2)   // the same with every image position at every index
            printf("image_record_s=%.6f\n", best.record_s);
        kevo_run_free(run);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mb=%.1f\n", ru.ru_maxrss / 1024.0);
    free(every);
    free(px);
    free(ids);
    kevo_model_free(m);
    return 0;
}
