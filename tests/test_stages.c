// test_stages.c — the critical / mutation layer rule (analysis/stages.h, docs/stages.md) on
// synthetic runs whose answer is known by construction: a 32-layer profile that falls at a chosen
// transition, mutations planted at chosen layers, profiles with no structure, too few layers.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/answer.h"
#include "analysis/stages.h"
#include "test.h"

// A synthetic run: T tokens, L layers; divergences 10^(level + noise) with level `high` before
// transition `drop_at` and `low` from it on; top tokens constant per token from state `emerge`
// on (probability 0.9 there, 0.01 before).
typedef struct synth {
    int T, L;
    double *div, *top_p;
    int *top_id;
    kevo_stage_input in;
} synth;

static uint64_t rng_state;
static double uniform(void)   // in [0, 1), a fixed LCG so that every run is identical
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void synth_init(synth *s, int T, int L, int drop_at, double high, double low,
                       double noise, int emerge)
{
    s->T = T;
    s->L = L;
    s->div = malloc((size_t)T * L * sizeof *s->div);
    s->top_p = malloc((size_t)T * (L + 1) * sizeof *s->top_p);
    s->top_id = malloc((size_t)T * (L + 1) * sizeof *s->top_id);
    rng_state = 12345;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < L; i++) {
            double level = i < drop_at ? high : low;
            s->div[(size_t)t * L + i] = pow(10, level + noise * (2 * uniform() - 1));
        }
        for (int l = 0; l <= L; l++) {
            s->top_id[(size_t)t * (L + 1) + l] = l >= emerge ? 100 + t : 7 + l;
            s->top_p[(size_t)t * (L + 1) + l] = l >= emerge ? 0.9 : 0.01;
        }
    }
    s->in = (kevo_stage_input){T, L, s->div, s->top_id, s->top_p};
}

// Token t mutates into state `layer`: a divergence spike on the transition before it, with a
// new top token from there on.
static void synth_mutate(synth *s, int t, int layer, double spike)
{
    s->div[(size_t)t * s->L + layer - 1] = spike;
    for (int l = layer; l <= s->L; l++)
        s->top_id[(size_t)t * (s->L + 1) + l] = 9000 + t;
}

static void synth_free(synth *s)
{
    free(s->div);
    free(s->top_p);
    free(s->top_id);
}

static kevo_stages *detect(const synth *s, int n, const kevo_stage_params *p)
{
    kevo_error err;
    kevo_stages *st = NULL;
    kevo_stage_input in[2] = {s[0].in, n > 1 ? s[1].in : s[0].in};
    CHECK_OK(kevo_stages_detect(in, n, p, &st, &err), &err);
    return st;
}

KEVO_TEST(stages_find_planted_critical_and_mutation_layers)
{
    synth s;
    // The LLaVA-1.5-7B picture: divergence ~1e-2 up to transition 18, ~1e-6 from 19 on, tokens
    // emerging at state 20; 8 of 40 tokens mutate at 32, 3 at 31, 2 at 28.
    synth_init(&s, 40, 32, 19, -2, -6, 0.4, 20);
    for (int t = 0; t < 8; t++)
        synth_mutate(&s, t * 5, 32, 1e-2);
    for (int t = 0; t < 3; t++)
        synth_mutate(&s, 1 + t * 5, 31, 1e-2);
    synth_mutate(&s, 2, 28, 1e-3);
    synth_mutate(&s, 7, 28, 1e-3);
    kevo_stage_params p = kevo_stage_default_params();
    kevo_stages *st = detect(&s, 1, &p);
    if (st) {
        CHECK(st->window == 3, "window %d for 32 layers", st->window);
        CHECK(st->critical == 19, "critical layer %d, planted 19 (%s)", st->critical, st->note);
        CHECK(fabs(st->critical_drop - 4) < 0.5, "drop %.2f decades, planted 4",
              st->critical_drop);
        CHECK(st->critical_level1 == 20, "token critical layer %d, planted 20",
              st->critical_level1);
        CHECK(st->n_mutated == 13, "%d mutated tokens, planted 13", st->n_mutated);
        CHECK(st->mutation_hist[32] == 8 && st->mutation_hist[31] == 3 &&
              st->mutation_hist[28] == 2, "histogram 28:%d 31:%d 32:%d", st->mutation_hist[28],
              st->mutation_hist[31], st->mutation_hist[32]);
        CHECK(st->mutation == 32, "mutation layer %d, planted 32", st->mutation);
        CHECK(st->tokens[0].mutation == 32 && st->tokens[0].from_id == 100 &&
              st->tokens[0].to_id == 9000, "token 0: m %d, %d -> %d", st->tokens[0].mutation,
              st->tokens[0].from_id, st->tokens[0].to_id);
        CHECK(st->tokens[3].mutation == -1, "token 3 did not mutate but m = %d",
              st->tokens[3].mutation);
        CHECK(st->note[0] == '\0', "note '%s'", st->note);
        kevo_stage_range r[3];
        int n = kevo_stages_ranges(st, r);
        CHECK(n == 3 && r[0].from == 0 && r[0].to == 18 && r[1].from == 19 && r[1].to == 31 &&
              r[2].from == 32 && r[2].to == 32, "ranges %d: %d-%d %d-%d %d-%d", n, r[0].from,
              r[0].to, r[1].from, r[1].to, r[2].from, r[2].to);
        CHECK(kevo_stages_of_state(st, 0) == 0 && kevo_stages_of_state(st, 18) == 0 &&
              kevo_stages_of_state(st, 19) == 1 && kevo_stages_of_state(st, 31) == 1 &&
              kevo_stages_of_state(st, 32) == 2, "state to stage mapping");
    }
    kevo_stages_free(st);
    synth_free(&s);
}

KEVO_TEST(stages_follow_the_drop_wherever_it_is)
{
    // The rule has no layer number built in: a 12-layer model falling at 5, a 40-layer at 27.
    int layers[] = {12, 40, 5}, drops[] = {5, 27, 2};
    for (int k = 0; k < 3; k++) {
        synth s;
        synth_init(&s, 25, layers[k], drops[k], -1, -4, 0.3, drops[k] + 1);
        kevo_stage_params p = kevo_stage_default_params();
        kevo_stages *st = detect(&s, 1, &p);
        if (st)
            CHECK(st->critical == drops[k] && st->critical_level1 == drops[k] + 1,
                  "L = %d: critical %d (planted %d), token critical %d", layers[k], st->critical,
                  drops[k], st->critical_level1);
        kevo_stages_free(st);
        synth_free(&s);
    }
}

KEVO_TEST(stages_report_no_critical_layer_without_structure)
{
    // Divergences scattered over two decades with no sustained fall: nothing is invented.
    synth s;
    synth_init(&s, 30, 32, 32, -2, -2, 1.0, 40);
    kevo_stage_params p = kevo_stage_default_params();
    kevo_stages *st = detect(&s, 1, &p);
    if (st) {
        CHECK(st->critical == -1 && st->mutation == -1, "critical %d, mutation %d invented",
              st->critical, st->mutation);
        CHECK(st->critical_drop < 1.0 && st->best_split >= 2, "best split %d drops %.2f",
              st->best_split, st->critical_drop);
        CHECK(kevo_test_contains(st->note, "no clear critical layer"), "note '%s'", st->note);
        CHECK(st->critical_level1 == -1, "no token reaches 0.5, yet c = %d",
              st->critical_level1);
        kevo_stage_range r[3];
        CHECK(kevo_stages_ranges(st, r) == 1 && !strcmp(r[0].name, "undivided") &&
              r[0].from == 0 && r[0].to == 32, "one undivided range expected");
    }
    kevo_stages_free(st);
    synth_free(&s);

    // A fall just under the threshold is not enough; just over it is.
    for (int k = 0; k < 2; k++) {
        synth_init(&s, 10, 16, 8, -3, k ? -4.2 : -3.8, 0.0, 9);
        st = detect(&s, 1, &p);
        if (st)
            CHECK(k ? st->critical == 8 : st->critical == -1, "drop %.2f: critical %d",
                  st->critical_drop, st->critical);
        kevo_stages_free(st);
        synth_free(&s);
    }
}

KEVO_TEST(stages_degrade_on_shallow_models)
{
    // One layer: nothing to split. Two or three: the fall after the first transition is found
    // (a window of two transitions, clipped), no mutation can stand out.
    for (int L = 1; L <= 3; L++) {
        synth s;
        synth_init(&s, 1, L, 1, -1, -5, 0.0, 1);
        kevo_stage_params p = kevo_stage_default_params();
        kevo_stages *st = detect(&s, 1, &p);
        if (st) {
            if (L == 1)
                CHECK(st->critical == -1 && kevo_test_contains(st->note, "at least 2 layers"),
                      "L = 1: critical %d, note '%s'", st->critical, st->note);
            else
                CHECK(st->critical == 1 && fabs(st->critical_drop - 4) < 1e-9,
                      "L = %d: critical %d, drop %.3f", L, st->critical, st->critical_drop);
            CHECK(st->mutation == -1 && st->window == 2, "L = %d: mutation %d window %d", L,
                  st->mutation, st->window);
        }
        kevo_stages_free(st);
        synth_free(&s);
    }
}

KEVO_TEST(stages_need_a_new_top_token_and_enough_mutations)
{
    synth s;
    synth_init(&s, 40, 32, 19, -2, -6, 0.2, 20);
    // Spikes without a change of the top token are no mutations.
    for (int t = 0; t < 10; t++)
        s.div[(size_t)t * 32 + 30] = 1e-2;
    // Two real mutations: 5% of the tokens, under the 10% a run mutation layer needs.
    synth_mutate(&s, 20, 30, 1e-2);
    synth_mutate(&s, 21, 30, 1e-2);
    kevo_stage_params p = kevo_stage_default_params();
    kevo_stages *st = detect(&s, 1, &p);
    if (st) {
        CHECK(st->critical == 19, "critical %d", st->critical);
        CHECK(st->n_mutated == 2 && st->tokens[20].mutation == 30 && st->tokens[0].mutation == -1,
              "%d mutated; token 20 m = %d, token 0 m = %d", st->n_mutated,
              st->tokens[20].mutation, st->tokens[0].mutation);
        CHECK(st->tokens[0].ratio > 1000, "token 0's spike ratio %.3g", st->tokens[0].ratio);
        CHECK(st->mutation == -1 && kevo_test_contains(st->note, "no mutation layer"),
              "mutation %d, note '%s'", st->mutation, st->note);
        kevo_stage_range r[3];
        CHECK(kevo_stages_ranges(st, r) == 2 && r[1].from == 19 && r[1].to == 32,
              "stabilisation should run to the last layer");
    }
    kevo_stages_free(st);
    // A spike under kappa = 10 times the token's median is no mutation either.
    p.kappa = 1e9;
    st = detect(&s, 1, &p);
    if (st)
        CHECK(st->n_mutated == 0, "%d mutated with kappa 1e9", st->n_mutated);
    kevo_stages_free(st);
    synth_free(&s);
}

KEVO_TEST(stages_pool_runs_and_take_overrides)
{
    synth a, b, whole;
    synth_init(&a, 20, 32, 19, -2, -6, 0.4, 20);
    synth_init(&b, 20, 32, 19, -2, -6, 0.4, 20);
    synth_init(&whole, 40, 32, 19, -2, -6, 0.4, 20);
    // The same tokens pooled from two runs or in one run give the same answer.
    memcpy(b.div, whole.div + 20 * 32, 20 * 32 * sizeof *b.div);
    memcpy(a.div, whole.div, 20 * 32 * sizeof *a.div);
    for (int t = 0; t < 6; t++) {
        synth_mutate(t < 3 ? &a : &b, t % 3, 31, 1e-2);
        synth_mutate(&whole, t < 3 ? t : 20 + t % 3, 31, 1e-2);
    }
    synth two[2] = {a, b};
    kevo_stage_params p = kevo_stage_default_params();
    kevo_stages *s2 = detect(two, 2, &p), *s1 = detect(&whole, 1, &p);
    if (s1 && s2) {
        CHECK(s2->n_runs == 2 && s2->n_tokens == 40, "pooled %d runs %d tokens", s2->n_runs,
              s2->n_tokens);
        CHECK(s1->critical == s2->critical && s1->mutation == s2->mutation &&
              s1->n_mutated == s2->n_mutated && s1->critical_drop == s2->critical_drop,
              "pooled C %d M %d n %d vs whole C %d M %d n %d", s2->critical, s2->mutation,
              s2->n_mutated, s1->critical, s1->mutation, s1->n_mutated);
        CHECK(s2->mutation == 31, "mutation %d", s2->mutation);
    }
    kevo_stages_free(s1);
    kevo_stages_free(s2);

    // Overrides replace the detection; bad ones are refused.
    p.critical = 10;
    p.mutation = 25;
    kevo_stages *st = detect(&a, 1, &p);
    kevo_stage_range r[3];
    if (st)
        CHECK(st->critical_given && st->mutation_given && kevo_stages_ranges(st, r) == 3 &&
              r[0].to == 9 && r[1].from == 10 && r[1].to == 24 && r[2].from == 25,
              "override ranges");
    kevo_stages_free(st);
    int bad[][2] = {{40, 0}, {33, 0}, {10, 10}, {10, 33}, {0, 20}};
    for (int k = 0; k < 5; k++) {
        kevo_error err;
        p.critical = bad[k][0];
        p.mutation = bad[k][1];
        kevo_stage_input in = a.in;
        if (k == 4)   // a mutation override on a profile without a critical layer
            memset(a.div, 0, 20 * 32 * sizeof *a.div);
        st = NULL;
        kevo_status stt = kevo_stages_detect(&in, 1, &p, &st, &err);
        CHECK(stt == KEVO_ERR_ARG && st == NULL, "override C %d M %d accepted", bad[k][0],
              bad[k][1]);
        kevo_stages_free(st);
    }
    // Runs of different depth cannot be pooled.
    synth c;
    synth_init(&c, 5, 12, 5, -1, -4, 0.1, 6);
    kevo_stage_input mixed[2] = {a.in, c.in};
    kevo_error err;
    st = NULL;
    p = kevo_stage_default_params();
    CHECK(kevo_stages_detect(mixed, 2, &p, &st, &err) == KEVO_ERR_ARG &&
          kevo_test_contains(err.msg, "layers"), "mixed depths: %s", err.msg);
    kevo_stages_free(st);
    synth_free(&c);
    synth_free(&a);
    synth_free(&b);
    synth_free(&whole);
}

KEVO_TEST(answer_step_rule)
{
    const char *q = "What is the color of the flower?";
    char word[64];
    const char *yellow[] = {"▁The", "▁color", "▁of", "▁the", "▁flower", "▁is", "▁yellow", ".",
                            "</s>"};
    CHECK(kevo_answer_step(q, yellow, 9, word, sizeof word) == 6 && !strcmp(word, "yellow"),
          "yellow: step %d '%s'", kevo_answer_step(q, yellow, 9, NULL, 0), word);
    const char *pink[] = {"▁The", "▁color", "▁of", "▁the", "▁flower", "▁is", "▁p", "ink", "."};
    CHECK(kevo_answer_step(q, pink, 9, word, sizeof word) == 6 && !strcmp(word, "pink"),
          "pink: '%s'", word);
    const char *short_[] = {"▁It", "▁is", "▁p", "ink", "."};
    CHECK(kevo_answer_step(q, short_, 5, word, sizeof word) == 2, "It is pink: '%s'", word);
    const char *shows[] = {"▁The", "▁image", "▁shows", "▁a", "▁Red", "▁flower", "."};
    CHECK(kevo_answer_step(q, shows, 7, word, sizeof word) == 4 && !strcmp(word, "red"),
          "shows a red flower: '%s'", word);
    const char *bytes[] = {"<0x0A>", "▁It", "<0x0A>", "▁is", "▁", "white"};
    CHECK(kevo_answer_step(q, bytes, 6, word, sizeof word) == 4 && !strcmp(word, "white"),
          "byte pieces: step %d '%s'", kevo_answer_step(q, bytes, 6, NULL, 0), word);
    // Byte-level BPE (Qwen): 'Ġ' starts a word, 'Ċ' (a newline) ends one.
    const char *qwen[] = {"The", "Ġcolor", "Ġof", "Ġthe", "Ġflower", "Ġis", "Ġp", "ink", ".",
                          "<|im_end|>"};
    CHECK(kevo_answer_step(q, qwen, 10, word, sizeof word) == 6 && !strcmp(word, "pink"),
          "byte-level pieces: step %d '%s'", kevo_answer_step(q, qwen, 10, NULL, 0), word);
    const char *lines[] = {"It", "Ġis", "Ċ", "Yellow", "Ċ"};
    CHECK(kevo_answer_step(q, lines, 5, word, sizeof word) == 3 && !strcmp(word, "yellow"),
          "byte-level newline: step %d '%s'", kevo_answer_step(q, lines, 5, NULL, 0), word);
    const char *none[] = {"▁It", "▁is", "▁the", "▁flower", "."};
    CHECK(kevo_answer_step(q, none, 5, word, sizeof word) == -1, "nothing to pick");
    CHECK(kevo_answer_step(q, none, 0, NULL, 0) == -1, "empty answer");
}
