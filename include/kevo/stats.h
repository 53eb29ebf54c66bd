// kevo/stats.h — part of kevo.h (include kevo.h): dataset-level statistics over many analysed
// run folders (`kevo stats`; docs/stats.md describes every rule and output): the distribution
// of critical and mutation layers over items and tokens, the share of tokens that mutate by
// kind of word, the items' divergence profiles with their spread, and with reference answers
// SHIFT-style tables of what a mutation replaces.
//
//     kevo_stats_params p = kevo_stats_default_params();
//     kevo_stats *s;
//     if (kevo_stats_collect(paths, n, &p, &s, &err) != KEVO_OK) ...
//     if (kevo_stats_write(s, "OUT/stats", &p, &err) != KEVO_OK) ...
//     kevo_stats_summary sum = kevo_stats_summarize(s);
//     kevo_stats_free(s);
#ifndef KEVO_STATS_H
#define KEVO_STATS_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/stats.h"
#endif

// What separates runs into groups. Runs that differ in something not grouped by are refused.
enum {
    KEVO_STATS_BY_MODEL = 1,      // model identity: run.json's digests, layers, vocabulary rows
    KEVO_STATS_BY_SETTINGS = 2,   // the analysis options the stages depend on (stages.json)
};

typedef struct kevo_stats_params {
    int group_by;                 // 0, or KEVO_STATS_BY_* or'ed
    kevo_figure_opts figure;
    // As kevo_analyze_params: set non-zero, kevo_stats_write stops before the folder is swapped.
    const volatile sig_atomic_t *interrupt;
} kevo_stats_params;

kevo_stats_params kevo_stats_default_params(void);   // no grouping, PNG at 150 dpi

// "model" | "settings" | "model,settings" (either order) into a KEVO_STATS_BY_* mask.
kevo_status kevo_stats_group_parse(const char *arg, int *out, kevo_error *err);

typedef struct kevo_stats kevo_stats;
void kevo_stats_free(kevo_stats *s);   // accepts NULL

// Reads every run of paths[0..n): a path holding run.json is one run folder; any other folder
// is a batch output whose direct subfolders holding run.json are its runs (others, such as
// tsne/ or stats/, are not runs and are passed over). A run without analysis/stages.json is
// skipped and listed (kevo_stats_skipped). Each run is read and added to its group's counts in
// turn, so memory grows with the number of items (a few numbers and one profile each), not with
// their tokens. Fails with KEVO_ERR_FORMAT naming the file and key of a malformed run.json,
// stages.json or item.json, KEVO_ERR_ARG when runs of different models or settings meet in one
// group (the message names two such runs and the key), or when no analysed run is found.
kevo_status kevo_stats_collect(const char *const *paths, int n, const kevo_stats_params *p,
                               kevo_stats **out, kevo_error *err);

// Checks, before any work, that statistics may be written into dir: missing, empty, or a
// folder of `kevo stats` (stats.json with "format": "kevo-stats" and only kevo's files).
kevo_status kevo_stats_check_dest(const char *dir, kevo_error *err);

// The tables (stats.json, items.csv, layers.csv, token_kinds.csv, profile.csv, shift.csv,
// hallucination.csv), the figures and report.html, built in a temporary folder that replaces
// out_dir whole.
kevo_status kevo_stats_write(const kevo_stats *s, const char *out_dir,
                             const kevo_stats_params *p, kevo_error *err);

typedef struct kevo_stats_summary {
    int n_runs;                   // analysed runs read
    int n_skipped;                // run folders without an analysis
    int n_groups;
    long long n_tokens;           // over every run read
    int n_warnings;
} kevo_stats_summary;

kevo_stats_summary kevo_stats_summarize(const kevo_stats *s);

// The i-th skipped run folder and why (borrowed), i < n_skipped.
const char *kevo_stats_skipped(const kevo_stats *s, int i, const char **reason);
// The i-th warning (borrowed), i < n_warnings.
const char *kevo_stats_warning(const kevo_stats *s, int i);

// One line per group for the terminal: its name, items, tokens, the critical and mutation
// layers' medians over items. Returns the number of bytes written (snprintf's).
int kevo_stats_group_text(const kevo_stats *s, int g, char *buf, size_t size);

#endif
