// test_patch_lens.c — the patch lens (src/analysis/patch_lens.c) against numpy's float64
// re-computation (tools/oracles/oracle_patch_lens.py) for F32, F16 and BF16 heads and both
// lenses; against the answer lens on the same states, to the bit; in chunks of any size, to the
// bit; and its refusals.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lens.h"
#include "analysis/patch_lens.h"
#include "io/safetensors.h"
#include "test.h"

static const char *const head_types[] = {"F32", "F16", "BF16"};

typedef struct oracle_case {
    kevo_safetensors *f, *h;
    kevo_lens_head head;
    const float *states;
    const int *indices, *words;
    int P, K, D, W, L;
} oracle_case;

static const void *need(const kevo_safetensors *f, const char *name, kevo_dtype dtype, size_t n)
{
    const kevo_tensor *t = kevo_safetensors_find(f, name);
    int ok = t && t->dtype == dtype && t->n_elems == n;
    CHECK(ok, "oracle lacks %s '%s' of %zu elements", kevo_dtype_name(dtype), name, n);
    return ok ? t->data : NULL;
}

static int case_open(const char *type, oracle_case *c)
{
    memset(c, 0, sizeof *c);
    char rel[128];
    kevo_error err;
    snprintf(rel, sizeof rel, "oracle/patch_lens/%s.safetensors", type);
    if (!CHECK_OK(kevo_safetensors_open(kevo_test_data(rel), &c->f, &err), &err))
        return 0;
    snprintf(rel, sizeof rel, "oracle/patch_lens/%s.head.safetensors", type);
    if (!CHECK_OK(kevo_safetensors_open(kevo_test_data(rel), &c->h, &err), &err))
        return 0;
    const kevo_tensor *head = kevo_safetensors_find(c->h, "head");
    const kevo_tensor *states = kevo_safetensors_find(c->f, "states");
    if (!CHECK(head && states && states->n_dims == 3, "%s: head or states missing", type))
        return 0;
    c->P = (int)states->shape[0];
    c->K = (int)states->shape[1];
    c->D = (int)states->shape[2];
    c->W = (int)kevo_safetensors_find(c->f, "words")->n_elems;
    c->L = atoi(kevo_safetensors_metadata(c->f, "layers"));
    c->states = states->data;
    c->indices = need(c->f, "indices", KEVO_DTYPE_I32, (size_t)c->K);
    c->words = need(c->f, "words", KEVO_DTYPE_I32, (size_t)c->W);
    c->head = (kevo_lens_head){.lm_head = head,
                               .final_norm = need(c->f, "norm", KEVO_DTYPE_F32, (size_t)c->D),
                               .eps = (float)atof(kevo_safetensors_metadata(c->f, "eps"))};
    return c->indices && c->words && c->head.final_norm;
}

static void case_close(oracle_case *c)
{
    kevo_safetensors_free(c->f);
    kevo_safetensors_free(c->h);
}

static kevo_patch_lens_result *run(const oracle_case *c, kevo_lens_mode mode, size_t budget)
{
    kevo_patch_lens_params p = {.mode = mode, .word_ids = c->words, .n_words = c->W,
                                .budget_bytes = budget};
    kevo_patch_lens_result *r = NULL;
    kevo_error err;
    CHECK_OK(kevo_patch_lens_run(&c->head, c->states, c->P, c->K, c->indices, c->L, c->D, &p,
                                 &r, &err), &err);
    return r;
}

static void compare(const char *type, const char *lens, const oracle_case *c,
                    const kevo_patch_lens_result *r)
{
    size_t n = (size_t)c->P * c->K;
    char name[64];
#define FIELD(field, dtype, count) \
    (snprintf(name, sizeof name, "%s.%s", lens, field), need(c->f, name, dtype, count))
    const int *top = FIELD("top_id", KEVO_DTYPE_I32, n);
    const double *top_p = FIELD("top_p", KEVO_DTYPE_F64, n);
    const double *entropy = FIELD("entropy", KEVO_DTYPE_F64, n);
    const double *word_p = FIELD("word_p", KEVO_DTYPE_F64, n * c->W);
    const double *gap = FIELD("gap", KEVO_DTYPE_F64, n);
    const double *tol_logit = FIELD("tol_logit", KEVO_DTYPE_F64, n);
    const double *tol_p = FIELD("tol_p", KEVO_DTYPE_F64, n);
    const double *tol_h = FIELD("tol_entropy", KEVO_DTYPE_F64, n);
#undef FIELD
    if (!top || !top_p || !entropy || !word_p || !gap || !tol_logit || !tol_p || !tol_h)
        return;
    int ties = 0;
    for (size_t i = 0; i < n; i++) {
        int p = (int)(i / c->K), k = (int)(i % c->K);
        // Where the two largest logits are closer than rounding can tell apart, either may win;
        // an exact tie (patch 0) must go to the first.
        if (gap[i] == 0)
            ties++, CHECK(r->top_id[i] == top[i], "%s %s: patch %d index %d: a tie goes to "
                          "token %d, kevo took %d", type, lens, p, c->indices[k], top[i],
                          r->top_id[i]);
        else if (gap[i] > 2 * tol_logit[i])
            CHECK(r->top_id[i] == top[i], "%s %s: patch %d index %d: top token %d, numpy %d",
                  type, lens, p, c->indices[k], r->top_id[i], top[i]);
        CHECK(fabs(r->top_p[i] - top_p[i]) <= tol_p[i] || r->top_id[i] != top[i],
              "%s %s: patch %d index %d: top p %.17g, numpy %.17g (tolerance %.3g)", type, lens,
              p, c->indices[k], r->top_p[i], top_p[i], tol_p[i]);
        CHECK(fabs(r->entropy[i] - entropy[i]) <= tol_h[i], "%s %s: patch %d index %d: entropy "
              "%.17g, numpy %.17g (tolerance %.3g)", type, lens, p, c->indices[k], r->entropy[i],
              entropy[i], tol_h[i]);
        for (int w = 0; w < c->W; w++)
            CHECK(fabs(r->word_p[i * c->W + w] - word_p[i * c->W + w]) <= tol_p[i],
                  "%s %s: patch %d index %d: p(token %d) %.17g, numpy %.17g (tolerance %.3g)",
                  type, lens, p, c->indices[k], c->words[w], r->word_p[i * c->W + w],
                  word_p[i * c->W + w], tol_p[i]);
    }
    CHECK(ties >= c->K, "%s %s: the oracle's planted tie is missing (%d ties)", type, lens, ties);
}

KEVO_TEST(patch_lens_matches_numpy_reference)
{
    for (size_t t = 0; t < sizeof head_types / sizeof head_types[0]; t++) {
        oracle_case c;
        if (case_open(head_types[t], &c))
            for (int mode = KEVO_LENS_RAW; mode <= KEVO_LENS_NORM; mode++) {
                kevo_patch_lens_result *r = run(&c, (kevo_lens_mode)mode, 0);
                if (r)
                    compare(head_types[t], kevo_lens_mode_name((kevo_lens_mode)mode), &c, r);
                kevo_patch_lens_result_free(r);
            }
        case_close(&c);
    }
}

static int same_result(const kevo_patch_lens_result *a, const kevo_patch_lens_result *b)
{
    size_t n = (size_t)a->n_patches * a->n_indices;
    return !memcmp(a->top_id, b->top_id, n * sizeof *a->top_id) &&
           !memcmp(a->top_p, b->top_p, n * sizeof *a->top_p) &&
           !memcmp(a->entropy, b->entropy, n * sizeof *a->entropy) &&
           !memcmp(a->word_p, b->word_p, n * a->n_words * sizeof *a->word_p);
}

// Chunks of 1, 5 and all rows give the same bits (the budget only bounds memory).
KEVO_TEST(patch_lens_chunks_are_bit_identical)
{
    oracle_case c;
    if (case_open("BF16", &c)) {
        int V = (int)c.head.lm_head->shape[0];
        kevo_patch_lens_result *all = run(&c, KEVO_LENS_NORM, 0);
        size_t budgets[] = {1, (size_t)5 * V * sizeof(float)};
        for (size_t b = 0; all && b < 2; b++) {
            kevo_patch_lens_result *r = run(&c, KEVO_LENS_NORM, budgets[b]);
            CHECK(r && r->n_chunks > 1 && same_result(r, all), "budget %zu: %d chunks differ "
                  "from one", budgets[b], r ? r->n_chunks : 0);
            kevo_patch_lens_result_free(r);
        }
        kevo_patch_lens_result_free(all);
    }
    case_close(&c);
}

// With every index 0..L kept, each patch is a "step" of the answer lens: both read the same
// distributions, so top token, top probability and a tracked token's probability agree to the
// bit with kevo_lens_run's top_id, top_p and generated_p.
KEVO_TEST(patch_lens_agrees_with_answer_lens_to_the_bit)
{
    oracle_case c;
    if (case_open("F16", &c)) {
        int S = c.L + 1, P = c.P, D = c.D, word = c.words[0];
        float *states = malloc((size_t)P * S * D * sizeof *states);
        int *indices = malloc((size_t)S * sizeof *indices), *ids = malloc((size_t)P * sizeof *ids);
        for (int l = 0; l < S; l++)
            indices[l] = l;
        // Every index of patch p is one of the oracle's states, spread over its rows.
        for (int p = 0; p < P; p++) {
            ids[p] = word;
            for (int l = 0; l < S; l++)
                memcpy(states + ((size_t)p * S + l) * D,
                       c.states + ((size_t)p * c.K + (size_t)(p + l) % c.K) * D,
                       (size_t)D * sizeof *states);
        }
        for (int mode = KEVO_LENS_RAW; mode <= KEVO_LENS_NORM; mode++) {
            kevo_patch_lens_params pp = {.mode = (kevo_lens_mode)mode, .word_ids = &word,
                                         .n_words = 1};
            kevo_lens_params lp = {.mode = (kevo_lens_mode)mode, .window = {0, c.L}};
            kevo_patch_lens_result *pr = NULL;
            kevo_lens_result *lr = NULL;
            kevo_error err;
            if (CHECK_OK(kevo_patch_lens_run(&c.head, states, P, S, indices, c.L, D, &pp, &pr,
                                             &err), &err) &&
                CHECK_OK(kevo_lens_run(&c.head, states, P, S, D, ids, &lp, &lr, &err), &err)) {
                size_t n = (size_t)P * S;
                CHECK(!memcmp(pr->top_id, lr->top_id, n * sizeof *pr->top_id) &&
                      !memcmp(pr->top_p, lr->top_p, n * sizeof *pr->top_p) &&
                      !memcmp(pr->word_p, lr->generated_p, n * sizeof *pr->word_p),
                      "%s lens: the patch lens and the answer lens disagree",
                      kevo_lens_mode_name((kevo_lens_mode)mode));
            }
            kevo_patch_lens_result_free(pr);
            kevo_lens_result_free(lr);
        }
        free(states);
        free(indices);
        free(ids);
    }
    case_close(&c);
}

KEVO_TEST(patch_lens_refuses_bad_arguments)
{
    oracle_case c;
    if (case_open("F32", &c)) {
        int V = (int)c.head.lm_head->shape[0], bad_word = V, bad_index[] = {0, c.L + 1};
        kevo_patch_lens_params p = {.mode = KEVO_LENS_RAW, .word_ids = &bad_word, .n_words = 1};
        kevo_patch_lens_result *r = NULL;
        kevo_error err;
        CHECK(kevo_patch_lens_run(&c.head, c.states, c.P, c.K, c.indices, c.L, c.D, &p, &r,
                                  &err) == KEVO_ERR_ARG && !r && strstr(err.msg, "not a row"),
              "a tracked id past the vocabulary: %s", err.msg);
        p.n_words = 0;
        CHECK(kevo_patch_lens_run(&c.head, c.states, c.P, 2, bad_index, c.L, c.D, &p, &r,
                                  &err) == KEVO_ERR_ARG && !r && strstr(err.msg, "outside"),
              "an index past L: %s", err.msg);
        CHECK(kevo_patch_lens_run(&c.head, c.states, c.P, c.K, c.indices, c.L, c.D + 1, &p, &r,
                                  &err) == KEVO_ERR_ARG && !r && strstr(err.msg, "shape"),
              "states wider than the head: %s", err.msg);
    }
    case_close(&c);
}
