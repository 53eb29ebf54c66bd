// test_kernels.c — every run-time kernel path (ref, AVX2, AVX-512) against straightforward double
// precision references, on awkward sizes; matrix products and attention across thread counts.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "kernels/attention.h"
#include "base/convert.h"
#include "kernels/cpu.h"
#include "kernels/linear.h"
#include "kernels/ops.h"
#include "test.h"

static const char *const isas[] = {"ref", "avx2", "avx512"};
static const int sizes[] = {1, 7, 8, 15, 16, 17, 31, 33, 64, 100, 4097};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static float frand(void)   // uniform in [-1, 1)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2 - 1);
}

// Weights of one dtype from F32 values (rounded to that dtype) and their exact F32 values.
static void make_weights(kevo_dtype dt, size_t n, void **stored, float **exact)
{
    *exact = malloc(n * sizeof **exact);
    *stored = malloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        float v = frand();
        if (dt == KEVO_DTYPE_F32) {
            ((float *)*stored)[i] = v;
            (*exact)[i] = v;
        } else if (dt == KEVO_DTYPE_F16) {
            ((uint16_t *)*stored)[i] = kevo_f32_to_f16(v);
            (*exact)[i] = kevo_f16_to_f32(((uint16_t *)*stored)[i]);
        } else {
            ((uint16_t *)*stored)[i] = kevo_f32_to_bf16(v);
            (*exact)[i] = kevo_bf16_to_f32(((uint16_t *)*stored)[i]);
        }
    }
}

static float call_dot(const kevo_kernels *k, kevo_dtype dt, const float *x, const void *w, int n)
{
    return dt == KEVO_DTYPE_F32 ? k->dot_f32(x, w, n)
         : dt == KEVO_DTYPE_F16 ? k->dot_f16(x, w, n) : k->dot_bf16(x, w, n);
}

KEVO_TEST(kernels_dot_products_every_isa)
{
    const kevo_dtype dts[] = {KEVO_DTYPE_F32, KEVO_DTYPE_F16, KEVO_DTYPE_BF16};
    for (size_t ii = 0; ii < 3; ii++) {
        const kevo_kernels *k = kevo_kernels_for(isas[ii]);
        if (!k)
            continue;   // the CPU lacks this ISA: nothing to compare
        for (size_t di = 0; di < 3; di++)
            for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
                int n = sizes[si];
                void *w;
                float *we, *x = malloc(4 * (size_t)n * sizeof *x);
                make_weights(dts[di], 4 * (size_t)n, &w, &we);
                for (int i = 0; i < 4 * n; i++)
                    x[i] = frand();
                // |sum| can cancel; the bound is relative to sum |x w| (float rounding of n terms)
                double want[4], mag[4];
                for (int r = 0; r < 4; r++) {
                    want[r] = mag[r] = 0;
                    for (int i = 0; i < n; i++) {
                        want[r] += (double)x[i] * we[(size_t)r * n + i];
                        mag[r] += fabs((double)x[i] * we[(size_t)r * n + i]);
                    }
                }
                size_t es = kevo_dtype_size(dts[di]);
                for (int r = 0; r < 4; r++) {   // four rows: four different tails and offsets
                    float got = call_dot(k, dts[di], x, (const char *)w + (size_t)r * n * es, n);
                    double tol = 1e-6 * mag[r] + 1e-30;
                    CHECK(fabs(got - want[r]) <= tol, "%s %s n=%d row %d: dot %.9g want %.9g",
                          isas[ii], kevo_dtype_name(dts[di]), n, r, got, want[r]);
                }
                free(w);
                free(we);
                free(x);
            }
    }
}

KEVO_TEST(kernels_axpy_every_isa)
{
    for (size_t ii = 0; ii < 3; ii++) {
        const kevo_kernels *k = kevo_kernels_for(isas[ii]);
        if (!k)
            continue;
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            int n = sizes[si];
            float *y = malloc((size_t)n * sizeof *y), *x = malloc((size_t)n * sizeof *x);
            double *want = malloc((size_t)n * sizeof *want);
            for (int i = 0; i < n; i++) {
                x[i] = frand(), y[i] = frand();
                want[i] = (double)y[i] + 0.37 * (double)x[i];
            }
            k->axpy_f32(y, 0.37f, x, n);
            int bad = 0;
            for (int i = 0; i < n; i++)
                bad += !(fabs(y[i] - want[i]) <= 1e-6);
            CHECK(bad == 0, "%s axpy n=%d: %d values off", isas[ii], n, bad);
            free(x);
            free(y);
            free(want);
        }
    }
}

KEVO_TEST(kernels_widening_is_exact_on_every_isa)
{
    uint16_t all[65536];
    for (int i = 0; i < 65536; i++)
        all[i] = (uint16_t)i;
    float *want = malloc(sizeof(float) * 65536), *got = malloc(sizeof(float) * 65536);
    for (size_t ii = 0; ii < 3; ii++) {
        const kevo_kernels *k = kevo_kernels_for(isas[ii]);
        if (!k)
            continue;
        for (int i = 0; i < 65536; i++)
            want[i] = kevo_f16_to_f32(all[i]);
        k->f16_to_f32(got, all + 3, 65533);   // an odd start and length exercise the tails
        CHECK(memcmp(got, want + 3, 65533 * sizeof *got) == 0, "%s: F16 widening differs",
              isas[ii]);
        for (int i = 0; i < 65536; i++)
            want[i] = kevo_bf16_to_f32(all[i]);
        k->bf16_to_f32(got, all + 3, 65533);
        CHECK(memcmp(got, want + 3, 65533 * sizeof *got) == 0, "%s: BF16 widening differs",
              isas[ii]);
    }
    free(want);
    free(got);
}

// y = x W^T + b in double from exact weights.
static void linear_ref(double *y, const float *x, int m, const float *w, const float *b, int n,
                       int k)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = b ? b[j] : 0;
            for (int t = 0; t < k; t++)
                s += (double)x[(size_t)i * k + t] * w[(size_t)j * k + t];
            y[(size_t)i * n + j] = s;
        }
}

KEVO_TEST(kernels_linear_blocks_and_threads)
{
    const int n = 1100, k = 65;   // three row blocks, the last one short
    const int ms[] = {1, 3, 37};
    const kevo_dtype dts[] = {KEVO_DTYPE_F32, KEVO_DTYPE_F16, KEVO_DTYPE_BF16};
    float *x = malloc(37 * (size_t)k * sizeof *x), *b = malloc(n * sizeof *b);
    for (int i = 0; i < 37 * k; i++)
        x[i] = frand();
    for (int i = 0; i < n; i++)
        b[i] = frand();
    void *scratch = aligned_alloc(64, (kevo_linear_scratch(37, k, 4) + 63) / 64 * 64);
    kevo_linear_ctx ctx = {.scratch = scratch, .compute = KEVO_COMPUTE_F32};
    float *y1 = malloc(37 * (size_t)n * sizeof *y1), *y3 = malloc(37 * (size_t)n * sizeof *y3);
    double *want = malloc(37 * (size_t)n * sizeof *want);
    for (size_t di = 0; di < 3; di++) {
        void *w;
        float *we;
        make_weights(dts[di], (size_t)n * k, &w, &we);
        kevo_tensor t = {.name = "w", .dtype = dts[di], .n_dims = 2, .shape = {n, k},
                         .n_elems = (uint64_t)n * k, .data = w};
        for (size_t mi = 0; mi < 3; mi++) {
            int m = ms[mi];
            linear_ref(want, x, m, we, b, n, k);
            ctx.n_threads = 1;
            kevo_linear(y1, n, x, k, m, &t, b, &ctx);
            ctx.n_threads = 3;
            kevo_linear(y3, n, x, k, m, &t, b, &ctx);
            CHECK(memcmp(y1, y3, (size_t)m * n * sizeof *y1) == 0,
                  "%s m=%d: 1 and 3 threads differ", kevo_dtype_name(dts[di]), m);
            int bad = 0;
            for (size_t i = 0; i < (size_t)m * n; i++)
                bad += !(fabs(y1[i] - want[i]) <= 1e-5 * (1 + fabs(want[i])));
            CHECK(bad == 0, "%s m=%d: %d of %d outputs off the double reference",
                  kevo_dtype_name(dts[di]), m, bad, m * n);
        }
        free(w);
        free(we);
    }
    free(x);
    free(b);
    free(scratch);
    free(y1);
    free(y3);
    free(want);
}

KEVO_TEST(kernels_norms_and_activations)
{
    enum { R = 3, N = 77 };
    float x[R * N], w[N], b[N], y[R * N];
    for (int i = 0; i < R * N; i++)
        x[i] = frand() * 4 + 0.5f;
    for (int i = 0; i < N; i++)
        w[i] = frand(), b[i] = frand();
    kevo_layernorm(y, x, R, N, w, b, 1e-5f, 0);
    for (int r = 0; r < R; r++) {
        double mean = 0, var = 0;
        for (int i = 0; i < N; i++)
            mean += x[r * N + i];
        mean /= N;
        for (int i = 0; i < N; i++)
            var += (x[r * N + i] - mean) * (x[r * N + i] - mean);
        var /= N;
        for (int i = 0; i < N; i++) {
            double want = (x[r * N + i] - mean) / sqrt(var + 1e-5) * w[i] + b[i];
            CHECK(fabs(y[r * N + i] - want) <= 1e-5, "layernorm [%d][%d] %g vs %g", r, i,
                  y[r * N + i], want);
        }
    }
    kevo_rmsnorm(y, x, R, N, w, 1e-6f, 0);
    for (int r = 0; r < R; r++) {
        double ss = 0;
        for (int i = 0; i < N; i++)
            ss += (double)x[r * N + i] * x[r * N + i];
        for (int i = 0; i < N; i++) {
            double want = w[i] * x[r * N + i] / sqrt(ss / N + 1e-6);
            CHECK(fabs(y[r * N + i] - want) <= 1e-5 * (1 + fabs(want)), "rmsnorm [%d][%d]", r, i);
        }
    }
    float s[5] = {1, 2, 3, -1000, 3};
    kevo_softmax(s, 5);
    double z = exp(-2) + exp(-1) + 2;
    CHECK(fabs(s[0] - exp(-2) / z) < 1e-7 && s[3] == 0 && s[2] == s[4], "softmax");
    float g[4] = {-3, -0.5f, 0, 2}, q[4] = {-3, -0.5f, 0, 2}, u[4] = {1, 2, 3, 4}, sg[4];
    memcpy(sg, g, sizeof g);
    kevo_gelu_erf(g, 4, 0);
    kevo_quick_gelu(q, 4, 0);
    kevo_swiglu(sg, u, 4, 0);
    const double in[4] = {-3, -0.5, 0, 2};
    for (int i = 0; i < 4; i++) {
        double ge = 0.5 * in[i] * (1 + erf(in[i] / sqrt(2)));
        double qg = in[i] / (1 + exp(-1.702 * in[i]));
        double sw = in[i] / (1 + exp(-in[i])) * (i + 1);
        CHECK(fabs(g[i] - ge) < 1e-6 && fabs(q[i] - qg) < 1e-6 && fabs(sg[i] - sw) < 1e-6,
              "activations at %g: gelu %g/%g quick %g/%g swiglu %g/%g", in[i], g[i], ge, q[i],
              qg, sg[i], sw);
    }
}

KEVO_TEST(kernels_rope_rotate_half)
{
    enum { E = 16, P = 40 };
    float cosb[P * E / 2], sinb[P * E / 2], v[2 * E], orig[2 * E];
    kevo_rope_tables(cosb, sinb, P, E, 10000.0f);
    for (int i = 0; i < 2 * E; i++)
        orig[i] = v[i] = frand();
    kevo_rope_apply(v, 2, E, cosb, sinb, 37);
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < E / 2; i++) {
            double th = 37.0 / pow(10000.0, 2.0 * i / E);
            double a = orig[h * E + i], b = orig[h * E + i + E / 2];
            CHECK(fabs(v[h * E + i] - (a * cos(th) - b * sin(th))) < 1e-5 &&
                  fabs(v[h * E + i + E / 2] - (b * cos(th) + a * sin(th))) < 1e-5,
                  "rope head %d pair %d", h, i);
        }
}

// Attention against a direct double implementation: GQA (4 heads on 2), causal, many and few
// queries, 1 and 3 threads (bit-identical).
KEVO_TEST(kernels_attention_causal_gqa)
{
    enum { H = 4, K = 2, E = 8, C = 30 };
    const int cases[][2] = {{1, 29}, {2, 27}, {12, 0}, {12, 18}};   // (queries, first position)
    float *q = malloc(12 * H * E * sizeof *q), *kc = malloc(K * C * E * sizeof *kc);
    float *vc = malloc(K * C * E * sizeof *vc), *o1 = malloc(12 * H * E * sizeof *o1);
    float *o3 = malloc(12 * H * E * sizeof *o3);
    float *scores = malloc(kevo_attention_scratch(12, C, 4) * sizeof *scores);
    for (int i = 0; i < 12 * H * E; i++)
        q[i] = frand();
    for (int i = 0; i < K * C * E; i++)
        kc[i] = frand(), vc[i] = frand();
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int nq = cases[ci][0], p0 = cases[ci][1];
        kevo_attention_shape s = {.n_heads = H, .n_kv_heads = K, .head_dim = E, .n_queries = nq,
                                  .n_keys = p0 + nq, .first_pos = p0, .causal = 1,
                                  .scale = 0.35355339f, .q_row_stride = H * E,
                                  .out_row_stride = H * E, .kv_head_stride = C * E,
                                  .kv_row_stride = E};
        kevo_attention(o1, q, kc, vc, &s, scores, 1);
        kevo_attention(o3, q, kc, vc, &s, scores, 3);
        CHECK(memcmp(o1, o3, (size_t)nq * H * E * sizeof *o1) == 0, "case %zu: threads differ",
              ci);
        for (int i = 0; i < nq; i++)
            for (int h = 0; h < H; h++) {
                int g = h / (H / K), n = p0 + i + 1;
                double sc[C], mx = -1e300, z = 0;
                for (int j = 0; j < n; j++) {
                    sc[j] = 0;
                    for (int d = 0; d < E; d++)
                        sc[j] += (double)q[(i * H + h) * E + d] * kc[(g * C + j) * E + d];
                    sc[j] *= 0.35355339;
                    mx = sc[j] > mx ? sc[j] : mx;
                }
                for (int j = 0; j < n; j++)
                    z += sc[j] = exp(sc[j] - mx);
                for (int d = 0; d < E; d++) {
                    double want = 0;
                    for (int j = 0; j < n; j++)
                        want += sc[j] / z * vc[(g * C + j) * E + d];
                    CHECK(fabs(o1[(i * H + h) * E + d] - want) < 1e-5, "case %zu q%d h%d d%d", ci,
                          i, h, d);
                }
            }
    }
    free(q);
    free(kc);
    free(vc);
    free(o1);
    free(o3);
    free(scores);
}

#include "kernels/gemm.h"

// The GEMM of every kernel path this CPU runs (gemm.h), on shapes that straddle every block edge
// (ref 4 x 16 and AVX2 6 x 16 tiles, KC 256, NC 192; AVX-512 12 x 32 tiles, KC 512, NC 256):
// close to the double reference, and the same bits for 1 and 3 threads.
KEVO_TEST(kernels_gemm_blocked_shapes)
{
    const int shapes[][3] = {{1, 1, 1},      {12, 32, 16},  {13, 33, 17}, {37, 290, 1100},
                             {25, 257, 513}, {4, 600, 64},  {7, 193, 257}, {6, 16, 256}};
    const kevo_dtype dts[] = {KEVO_DTYPE_F32, KEVO_DTYPE_F16, KEVO_DTYPE_BF16};
    for (size_t ii = 0; ii < sizeof isas / sizeof isas[0]; ii++) {
        const kevo_kernels *kk = kevo_kernels_for(isas[ii]);
        if (!kk)
            continue;   // this CPU cannot run it
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            int m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
            float *x = malloc((size_t)m * (k + 3) * sizeof *x);   // row stride k + 3
            for (int i = 0; i < m * (k + 3); i++)
                x[i] = frand();
            float *xd = malloc((size_t)m * k * sizeof *xd);
            for (int i = 0; i < m; i++)
                memcpy(xd + (size_t)i * k, x + (size_t)i * (k + 3), (size_t)k * sizeof *xd);
            void *scratch = aligned_alloc(64, (kk->gemm_scratch(m, k, 4) + 63) / 64 * 64);
            float *y1 = malloc((size_t)m * (n + 5) * sizeof *y1);
            float *y3 = malloc((size_t)m * (n + 5) * sizeof *y3);
            double *want = malloc((size_t)m * n * sizeof *want), *mag = malloc((size_t)m * n * 8);
            for (size_t di = 0; di < 3; di++) {
                void *w;
                float *we;
                make_weights(dts[di], (size_t)n * k, &w, &we);
                kevo_tensor t = {.name = "w", .dtype = dts[di], .n_dims = 2, .shape = {n, k},
                                 .n_elems = (uint64_t)n * k, .data = w};
                linear_ref(want, xd, m, we, NULL, n, k);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int q = 0; q < k; q++)
                            s += fabs((double)xd[(size_t)i * k + q] * we[(size_t)j * k + q]);
                        mag[(size_t)i * n + j] = s;
                    }
                for (int c = 0; c < 2; c++) {
                    kevo_compute comp = c ? KEVO_COMPUTE_BF16 : KEVO_COMPUTE_F32;
                    if (c && !(kk->bf16_products && kevo_cpu_has_bf16_products()))
                        continue;
                    kk->gemm(y1, n + 5, x, k + 3, m, &t, comp, scratch, 1);
                    kk->gemm(y3, n + 5, x, k + 3, m, &t, comp, scratch, 3);
                    int same = 1, bad = 0;
                    // F32: float summation error; BF16: each product has at most 2^-8 relative
                    // rounding
                    double rel = c ? 1.0 / 128 : 1e-6;
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) {
                            size_t at = (size_t)i * (n + 5) + j;
                            same &= y1[at] == y3[at];
                            bad += !(fabs(y1[at] - want[(size_t)i * n + j]) <=
                                     rel * mag[(size_t)i * n + j] + 1e-30);
                        }
                    CHECK(same, "%s gemm %dx%dx%d %s %s: 1 and 3 threads differ", kk->isa, m, n,
                          k, kevo_dtype_name(dts[di]), c ? "bf16" : "f32");
                    CHECK(bad == 0, "%s gemm %dx%dx%d %s %s: %d of %d outputs off", kk->isa, m,
                          n, k, kevo_dtype_name(dts[di]), c ? "bf16" : "f32", bad, m * n);
                }
                free(w);
                free(we);
            }
            free(x);
            free(xd);
            free(scratch);
            free(y1);
            free(y3);
            free(want);
            free(mag);
        }
    }
}

// Each row of the GEMM is the same bits whatever rows come with it (the lens's chunking and the
// engine's prompt lengths rely on it): 41 rows at once against every split into chunks of 1, 2,
// 5, 6, 12 and 13 rows (below, at and past every tile height), on every path, F32 and BF16
// products alike.
KEVO_TEST(kernels_gemm_rows_independent_of_batch)
{
    const int m = 41, n = 300, k = 530, chunks[] = {1, 2, 5, 6, 12, 13};
    float *x = malloc((size_t)m * k * sizeof *x), *whole = malloc((size_t)m * n * sizeof *whole);
    float *part = malloc((size_t)m * n * sizeof *part);
    for (int i = 0; i < m * k; i++)
        x[i] = frand();
    void *w;
    float *we;
    make_weights(KEVO_DTYPE_F16, (size_t)n * k, &w, &we);
    kevo_tensor t = {.name = "w", .dtype = KEVO_DTYPE_F16, .n_dims = 2, .shape = {n, k},
                     .n_elems = (uint64_t)n * k, .data = w};
    for (size_t ii = 0; ii < sizeof isas / sizeof isas[0]; ii++) {
        const kevo_kernels *kk = kevo_kernels_for(isas[ii]);
        if (!kk)
            continue;
        void *scratch = aligned_alloc(64, (kk->gemm_scratch(m, k, 4) + 63) / 64 * 64);
        for (int c = 0; c < 2; c++) {
            kevo_compute comp = c ? KEVO_COMPUTE_BF16 : KEVO_COMPUTE_F32;
            if (c && !(kk->bf16_products && kevo_cpu_has_bf16_products()))
                continue;
            kk->gemm(whole, n, x, k, m, &t, comp, scratch, 2);
            for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
                for (int r0 = 0; r0 < m; r0 += chunks[ci]) {
                    int rows = m - r0 < chunks[ci] ? m - r0 : chunks[ci];
                    kk->gemm(part + (size_t)r0 * n, n, x + (size_t)r0 * k, k, rows, &t, comp,
                             scratch, 2);
                }
                CHECK(!memcmp(whole, part, (size_t)m * n * sizeof *part),
                      "%s %s: chunks of %d rows differ from all %d at once", kk->isa,
                      c ? "bf16" : "f32", chunks[ci], m);
            }
        }
        free(scratch);
    }
    free(w), free(we), free(x), free(whole), free(part);
}
