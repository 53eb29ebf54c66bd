// kevo/analysis.h — part of kevo.h (include kevo.h): the layer-by-layer views of Wang et al.
// (CVPR 2025) computed from run folders, one run (`kevo analyze`) or several runs one step each
// (`kevo tsne RUN...`), written as tables, figures and report.html (docs/analyses.md describes
// every output and option).
//
//     kevo_analyze_params p = kevo_analyze_default_params();
//     p.analysis.lens = KEVO_LENS_NORM;
//     kevo_analysis *a;
//     if (kevo_analyze_run(run, model, &p, "RUN/analysis", &a, NULL, &err) != KEVO_OK) ...
//     kevo_stage_summary s = kevo_stages_summary(kevo_analysis_stages(a));
//     kevo_analysis_free(a);
#ifndef KEVO_ANALYSIS_H
#define KEVO_ANALYSIS_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/analysis.h"
#endif

// ---------------------------------------------------------------------------------------------
// Options

// The logit lens, for step t and hidden-state index l (0 = embeddings, L = after the final norm)
// the distribution softmax(W_U h) of the LM head W_U:
//   raw  — h = hidden[t][l] as recorded, the authors' lens (their scripts apply lm_head to HF's
//          hidden states: the raw residual stream for l < L, the normed state for l = L);
//   norm — h = RMSNorm(hidden[t][l]) for l < L (the model's final norm and weight), l = L as is.
typedef enum kevo_lens_mode { KEVO_LENS_RAW, KEVO_LENS_NORM } kevo_lens_mode;

// "raw" | "norm"; anything else fails with KEVO_ERR_ARG.
kevo_status kevo_lens_mode_parse(const char *name, kevo_lens_mode *out, kevo_error *err);
const char *kevo_lens_mode_name(kevo_lens_mode mode);

// The divergence between consecutive states' lens distributions P and Q, M = (P + Q) / 2:
//   paper — the authors' heatmap.py, copied from DoLa: (KL(M || P) + KL(M || Q)) / (2 V),
//           reversed arguments (not the textbook JSD), unbounded, divided by V;
//   jsd   — the Jensen-Shannon divergence (KL(P || M) + KL(Q || M)) / 2 in bits, in [0, 1].
typedef enum kevo_divergence_kind {
    KEVO_DIVERGENCE_PAPER,
    KEVO_DIVERGENCE_JSD,
} kevo_divergence_kind;

// "paper" | "jsd"; anything else fails with KEVO_ERR_ARG.
kevo_status kevo_divergence_parse(const char *name, kevo_divergence_kind *out, kevo_error *err);
const char *kevo_divergence_name(kevo_divergence_kind kind);

// How the heatmap's matrix is scaled before it is drawn:
//   column — the authors' sklearn MaxAbsScaler: each column divided by its largest |value| over
//            the rows shown (a zero column is left as it is); every column then holds a 1 and
//            magnitudes can no longer be compared across layers;
//   global — the whole matrix divided by its largest |value| (comparable across layers);
//   none   — the raw values.
typedef enum kevo_scale_mode {
    KEVO_SCALE_COLUMN,
    KEVO_SCALE_GLOBAL,
    KEVO_SCALE_NONE,
} kevo_scale_mode;

// "column" | "global" | "none"; anything else fails with KEVO_ERR_ARG.
kevo_status kevo_scale_parse(const char *name, kevo_scale_mode *out, kevo_error *err);
const char *kevo_scale_name(kevo_scale_mode mode);

// How the critical and mutation layers are found (docs/stages.md states the rule).
typedef struct kevo_stage_params {
    double theta;          // 0.5: top-1 probability that makes a token stand out
    double min_drop;       // 1.0: decades the typical divergence must fall at C
    double kappa;          // 10: a mutation's divergence over the token's post-critical median
    double min_mutated;    // 0.1: share of tokens that must mutate for a run mutation layer
    int window;            // 0: round(3L/32), at least 2
    int critical;          // > 0: take this critical layer instead of detecting it
    int mutation;          // > 0: take this mutation layer instead of detecting it
} kevo_stage_params;

kevo_stage_params kevo_stage_default_params(void);

// What one run's analysis computes.
typedef struct kevo_analysis_options {
    kevo_lens_mode lens;                 // raw (the authors') | norm
    kevo_divergence_kind divergence;     // paper (the authors') | jsd
    kevo_scale_mode scale;               // column (the authors') | global | none
    int rows;                            // heatmap rows: the first 40 steps
    int steps;                           // area charts: the first 20 steps
    const char *window;                  // "A:B" candidate states, NULL: the deepest 13/33
    kevo_stage_params stage;
    size_t budget_bytes;                 // logits held at once, 0: 512 MiB (at least one step)
    kevo_compute compute;                // the lens's products: F32 (default) | BF16 (AVX512-BF16,
                                         // about twice as fast; docs/analyses.md, "Accuracy")
    // The patch lens (runs with image states): the words whose probability it maps, comma-
    // separated; NULL: the answer word (the colour of "The color of the flower is red.").
    const char *patch_words;
} kevo_analysis_options;

kevo_analysis_options kevo_analysis_default_options(void);

typedef struct kevo_analyze_params {
    kevo_analysis_options analysis;   // lens, divergence, scaling, window, stage overrides
    kevo_tsne_params tsne;            // the maps' t-SNE
    kevo_figure_opts figure;
    int no_tsne;                      // one run: skip the map
    int tables_only;                  // one run: the tables and stages.json alone (no map, no
                                      // figures, no report.html: kevo batch --no-hidden)
    // When not NULL and set non-zero (e.g. by a SIGINT handler), the analysis stops between its
    // steps with KEVO_ERR_INTERRUPTED, always before the new folder is swapped in: the old one
    // stays whole and the temporary folder is removed.
    const volatile sig_atomic_t *interrupt;
} kevo_analyze_params;

// The authors' settings; tsne.perplexity is 40 (one run); callers analysing several runs set
// 35, as combined_tsne.py.
kevo_analyze_params kevo_analyze_default_params(void);

// ---------------------------------------------------------------------------------------------
// Results

// One run's analysis: the lens, the divergences, the heatmap, the candidates and the stages.
typedef struct kevo_analysis kevo_analysis;
void kevo_analysis_free(kevo_analysis *a);   // accepts NULL

// The critical layer, the mutation layer and the three stages they delimit: rapid evolution
// [0, C-1], stabilisation [C, M-1], mutation [M, L] over hidden-state indices 0..L.
typedef struct kevo_stages kevo_stages;
void kevo_stages_free(kevo_stages *s);   // accepts NULL

// A t-SNE map of hidden states (Level 3), or the note saying why it was skipped.
typedef struct kevo_map kevo_map;
void kevo_map_free(kevo_map *m);   // accepts NULL

typedef struct kevo_lens_summary {
    int n_steps, n_states, vocab;   // T, L + 1, V
    int n_chunks;                   // how many chunks the steps were taken in
    double seconds;                 // the lens in all
} kevo_lens_summary;

kevo_lens_summary kevo_analysis_lens_summary(const kevo_analysis *a);
const kevo_stages *kevo_analysis_stages(const kevo_analysis *a);   // borrowed
int kevo_analysis_chart_steps(const kevo_analysis *a);   // area charts drawn: min(steps, T)
// "" or what the user should know: another config.json than the run's, tokens the model's head
// does not rank first. Borrowed.
const char *kevo_analysis_warning(const kevo_analysis *a);

typedef struct kevo_stage_summary {
    int critical;            // first state of stabilisation, or -1: no clear critical layer
    int critical_given;      // 1 when the caller set it
    double critical_drop;    // decades the typical divergence falls at `critical`
    int mutation;            // first state of the mutation stage, or -1
    int mutation_given;
    int n_mutated, n_tokens; // tokens whose mutation was found, of all the tokens
    const char *note;        // why a layer is missing, or ""; borrowed
} kevo_stage_summary;

kevo_stage_summary kevo_stages_summary(const kevo_stages *s);

// A stage over hidden-state indices from..to (both included).
typedef struct kevo_stage_range {
    const char *name;        // "rapid evolution", "stabilisation", "mutation", or "undivided"
    int from, to;
} kevo_stage_range;

// The stages over states 0..L (0 = the embeddings, where rapid evolution starts); without a
// mutation layer stabilisation runs to L, without a critical layer there is one "undivided"
// range. Returns how many (1 to 3).
int kevo_stages_ranges(const kevo_stages *s, kevo_stage_range out[3]);

// "stabilisation (layers 20-31)", "mutation (layer 32)", "no clear stages (layers 1-4)".
const char *kevo_stage_label(const kevo_stage_range *r, char *buf, size_t size);

typedef struct kevo_map_summary {
    int n_points;
    int skipped;             // 1: no map (too few points); note says why
    const char *note;        // borrowed
    kevo_tsne_result tsne;   // when not skipped
} kevo_map_summary;

kevo_map_summary kevo_map_summarize(const kevo_map *m);

// The step of the run's answer word: the first word of the answer that is neither a word of
// the question nor a function word ("The color of the flower is yellow." -> "yellow"; the rule:
// docs/analyses.md), or -1 when there is none. word (may be NULL) receives the word as
// compared, truncated to word_size bytes.
int kevo_runfolder_answer_step(const kevo_runfolder *rf, char *word, int word_size);

// ---------------------------------------------------------------------------------------------
// Pipelines

// Checks, before any expensive work, that an analysis may be written into dir: missing, empty,
// or a folder of `kevo analyze` or `kevo tsne RUN...` (stages.json with "format": "kevo-stages"
// and only kevo's tables, figures and report.html).
kevo_status kevo_analysis_check_dest(const char *dir, kevo_error *err);

// One run: the lens, divergences, candidates and stages, the single-run map unless p->no_tsne,
// every table and figure and report.html into out_dir, which is replaced whole at the end. The
// results are handed back in *analysis and *map when those are not NULL (free with
// kevo_analysis_free / kevo_map_free), else freed. The model's dimensions must match the run's.
kevo_status kevo_analyze_run(const kevo_runfolder *run, const kevo_model *model,
                             const kevo_analyze_params *p, const char *out_dir,
                             kevo_analysis **analysis, kevo_map **map, kevo_error *err);

// Several runs of one model: steps[r] is the step of run r, or -1 for its answer word's step
// (filled in). The stages are pooled over every token of every run (overrides in p apply to the
// pooled stages); the map holds one step per run. Writes tsne.csv, stages.json, the figure and
// report.html into out_dir; results as for kevo_analyze_run.
kevo_status kevo_analyze_across(const kevo_runfolder *const *runs, int n_runs,
                                const kevo_model *model, int *steps,
                                const kevo_analyze_params *p, const char *out_dir,
                                kevo_stages **stages, kevo_map **map, kevo_error *err);

#endif
