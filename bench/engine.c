// engine.c — times kevo's engine on one model: load, CLIP encode, prefill, decode, the recorder's
// cost, peak memory; plus this machine's floors (DRAM read bandwidth, F32 GEMM throughput).
// Prints key=value lines for bench/engine.py, which runs PyTorch on the same weights beside it.
//
// usage: build/bench/engine MODEL_DIR [--threads N] [--text N] [--new N] [--compute bf16]
//                                    [--repeat N]
//        build/bench/engine --floors [--threads N]
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

// The F32 GEMM throughput kevo's prefill gets: kevo_linear on a (T, 4096) x (11008, 4096)^T.
static double gemm_gflops(int t)
{
    int n = 11008, k = 4096;
    float *x = malloc((size_t)t * k * sizeof *x), *w = malloc((size_t)n * k * sizeof *w);
    float *y = malloc((size_t)t * n * sizeof *y);
    for (size_t i = 0; i < (size_t)t * k; i++)
        x[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < (size_t)n * k; i++)
        w[i] = (float)(i % 7) * 0.01f;
    kevo_tensor wt = {.name = "w", .dtype = KEVO_DTYPE_F32, .n_dims = 2, .shape = {n, k},
                      .n_elems = (uint64_t)n * k, .data = w};
    kevo_linear_ctx ctx = {.scratch = aligned_alloc(64, (kevo_linear_scratch(t, k, 64) + 63) / 64 * 64)};
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
static double openblas_gflops(int t, int threads)
{
    int n = 11008, k = 4096;
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

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int threads = 2, n_text = 24, n_new = 16, floors = 0, repeat = 3;
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
        else if (!strcmp(argv[i], "--compute") && i + 1 < argc)
            compute = strcmp(argv[++i], "bf16") == 0 ? KEVO_COMPUTE_BF16 : KEVO_COMPUTE_F32;
        else
            dir = argv[i];
    }
    kevo_set_threads(threads);
    if (floors) {
        printf("bandwidth_gbs=%.2f\n", read_bandwidth(threads));
        printf("gemm_gflops=%.1f\n", gemm_gflops(n_text + 576));
        printf("openblas_gflops=%.1f\n", openblas_gflops(n_text + 576, threads));
        printf("openblas_core=%s\n", openblas_get_corename());
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
    // What a 32-layer model with these dimensions needs besides its weights (256 new tokens).
    kevo_config c32 = *c;
    c32.text_layers = 32;
    kevo_plan plan;
    kevo_plan_limits lim = {.n_prompt = n_text + c->image_tokens, .max_new = 256, .n_tiles = 1,
                            .n_image_tokens = c->image_tokens, .n_threads = threads};
    kevo_plan_compute(&c32, &lim, &plan);
    printf("plan32_mb=%.1f\n", plan.total / 1048576.0);
    lim.max_new = n_new;
    kevo_plan_compute(c, &lim, &plan);
    printf("plan_mb=%.1f\n", plan.total / 1048576.0);
    size_t npx = (size_t)c->num_channels * c->image_size * c->image_size;
    float *px = malloc(npx * sizeof *px);
    for (size_t i = 0; i < npx; i++)
        px[i] = (float)((i * 7919) % 255) / 127.0f - 1.0f;
    int n_ids = n_text + 1, *ids = malloc((size_t)n_ids * sizeof *ids);
    for (int i = 0; i < n_ids; i++)
        ids[i] = 100 + (i * 389) % 20000;
    ids[0] = 1;
    ids[n_ids / 2] = KEVO_IMAGE_SLOT;

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
    for (int mi = 0; mi < 3; mi++) {
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
            if (kevo_run_generate(run, &(kevo_image_input){px, 1, 1, 1}, ids, n_ids, &err) != KEVO_OK) {
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
