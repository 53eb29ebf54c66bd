// stats.h — `kevo stats` inside (the public side is kevo.h, kevo/stats.h; the rules are
// docs/stats.md): one run folder read as the statistics need it (stats_read.c), the kinds and
// judgements of its tokens (stats_words.c), the groups' running counts (stats.c) and their
// tables (stats_tables.c). The report (report/stats_report.c) reads the groups below.
#ifndef KEVO_ANALYSIS_STATS_H
#define KEVO_ANALYSIS_STATS_H

#include "kevo.h"
#include "analysis/answer.h"

// Kinds of generated token (the share that mutates is counted per kind).
enum { STATS_CONTENT, STATS_FUNCTION, STATS_PUNCT, STATS_SPECIAL, STATS_N_KINDS };
// Judgements of a piece against an item's references (the SHIFT table's rows and columns).
enum { STATS_CORRECT, STATS_HALLUCINATED, STATS_J_FUNCTION, STATS_J_OTHER, STATS_N_JUDGED };

extern const char *const kevo_stats_kind_names[STATS_N_KINDS];     // "content", ...
extern const char *const kevo_stats_judge_names[STATS_N_JUDGED];   // "correct", ...

// One token of stages.json's "tokens".
typedef struct stats_token {
    char *piece;                     // the generated piece (owned by the run)
    int critical, mutation;          // c_t, m_t; -1 for null
    char *from, *to;                 // peak_from_piece, peak_to_piece; NULL when absent
} stats_token;

// One analysed run folder, as the statistics read it (stats_read.c).
typedef struct stats_run {
    char *dir;
    // run.json
    char *model_path;
    char config[17], weights[65], files[65];
    int layers, vocab;
    // analysis/stages.json
    char lens[16], divergence[16], compute[16];
    double theta, min_drop, kappa, min_mutated;
    int stage_window, critical_given, mutation_given;   // given: the layer, else -1
    int critical, mutation;          // C, M; -1 for null
    double *profile;                 // (layers) divergence_profile_log10
    stats_token *tokens;
    int n_tokens;
    // item.json (optional)
    char *id;                        // item.json's id, else the folder's name
    char **refs;                     // the references' compared words, deduplicated
    int n_refs;                      // words; 0: no references to judge against
    int has_item, has_refs;          // item.json present; a non-empty "references"
} stats_run;

void stats_run_free(stats_run *r);   // the fields; accepts a zeroed run

// Reads DIR/run.json, DIR/analysis/stages.json and DIR/item.json (if present) into *r.
kevo_status stats_run_read(const char *dir, stats_run *r, kevo_error *err);

// The readers of one file each, on text already in memory (`name` names it in messages); the
// fuzz harness calls them directly. stages needs r->layers from run.json.
kevo_status stats_parse_run_json(const char *text, size_t len, const char *name, stats_run *r,
                                 kevo_error *err);
kevo_status stats_parse_stages(const char *text, size_t len, const char *name, stats_run *r,
                               kevo_error *err);
kevo_status stats_parse_item(const char *text, size_t len, const char *name, stats_run *r,
                             kevo_error *err);

// stats_words.c. kind[t] for every token of r (the word-grouping rule of docs/stats.md), and
// for items with references judge[t]: the judgement of the generated token's whole word
// (STATS_CORRECT / STATS_HALLUCINATED for content words, else the kind's class).
void stats_token_kinds(const stats_run *r, int *kind, int *judge);
// The judgement of a single piece on its own (a mutation's top token before or after).
int stats_judge_piece(const stats_run *r, const char *piece);
// Adds the compared words of text to r->refs (split at anything but letters, digits,
// non-ASCII bytes and apostrophes).
kevo_status stats_add_reference(stats_run *r, const char *text, kevo_error *err);

// One item's line of items.csv.
typedef struct stats_item {
    char *id, *run;
    int n_tokens, critical, mutation, n_mutated, has_refs, n_hallucinated;
} stats_item;

// The histograms' slot for "none" (null): index layers + 1.
typedef struct stats_group {
    char *name;                      // "all", or the grouped-by fields' label
    stats_run first;                 // the group's first run, without its tokens and profile:
                                     // what every later run is compared with
    int n_items;
    long long n_tokens;
    long long *crit_item, *crit_tok, *mut_item, *mut_tok;   // (layers + 2)
    int n_eligible_items;            // items with a critical layer (their tokens can mutate)
    long long kind_tokens[STATS_N_KINDS], kind_mut[STATS_N_KINDS];
    int kind_items[STATS_N_KINDS];
    double *profiles;                // (n_items, layers)
    size_t cap_profiles;
    double *q1, *median, *q3;        // (layers), after kevo_stats_collect
    int n_ref_items;                 // items with references
    long long n_ref_tokens, n_ref_mutated;
    long long shift[STATS_N_JUDGED][STATS_N_JUDGED];   // [before][after] over mutated tokens
    int n_judged_items;              // items with references and a critical layer
    long long judge_tokens[2], judge_mut[2];           // correct, hallucinated
    stats_item *items;
    int cap_items;
} stats_group;

struct kevo_stats {
    int group_by;
    char **inputs;
    int n_inputs;
    stats_group *groups;
    int n_groups;
    int n_runs;
    long long n_tokens;
    char **skipped, **skip_reason;
    int n_skipped;
    char **warnings;
    int n_warnings;
};

// stats_tables.c: every table and stats.json into dir.
kevo_status kevo_stats_write_tables(const kevo_stats *s, const char *dir, kevo_error *err);

// The p-th percentile (0..100) of n sorted values, linear between neighbours (numpy's default).
double kevo_stats_percentile(const double *sorted, int n, double p);
// The same of a histogram of layers 0..n_bins-1 (count[l] items at layer l); NaN when empty.
double kevo_stats_hist_percentile(const long long *count, int n_bins, double p);

#endif
