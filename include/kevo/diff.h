// kevo/diff.h — part of kevo.h (include kevo.h): two runs of the same image and question compared
// layer by layer (`kevo diff`; docs/diff.md describes every output): the same model in two
// dtypes or quantisations, two models that share a tokenizer, or one run through two lenses.
//
//     kevo_diff_params p = kevo_diff_default_params();
//     kevo_diff *d;
//     if (kevo_diff_runs(run_a, run_b, model_a, model_b, &p, "A/diff-B", &d, &err) != KEVO_OK) ...
//     kevo_diff_summary s = kevo_diff_summarize(d);
//     kevo_diff_free(d);
#ifndef KEVO_DIFF_H
#define KEVO_DIFF_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/diff.h"
#endif

typedef struct kevo_diff_params {
    kevo_lens_mode lens_a, lens_b;   // each run's lens, through its own model's head
    int force;                       // compare runs of different images or questions
    size_t budget_bytes;             // logits held at once per run; 0: 256 MiB (at least a step)
    kevo_figure_opts figure;
    // As kevo_analyze_params: set non-zero, the comparison stops before the folder is swapped.
    const volatile sig_atomic_t *interrupt;
} kevo_diff_params;

kevo_diff_params kevo_diff_default_params(void);   // raw lenses, PNG at 150 dpi

typedef struct kevo_diff kevo_diff;
void kevo_diff_free(kevo_diff *d);   // accepts NULL

// Checks that run_a (read through model_a) and run_b (model_b) can be compared, before any
// expensive work: each model reads its run (layers, width, vocabulary rows), both models have
// the same vocabulary (rows, and every piece when both have a tokenizer), and the runs asked the
// same question about the same image (run.json's image digest, or the images' bytes; refused
// unless p->force, naming what differs). Fails with KEVO_ERR_MODEL (exit status 1).
kevo_status kevo_diff_check(const kevo_runfolder *run_a, const kevo_runfolder *run_b,
                            const kevo_model *model_a, const kevo_model *model_b,
                            const kevo_diff_params *p, kevo_error *err);

// Checks, before any expensive work, that a diff may be written into dir: missing, empty, or a
// folder of `kevo diff` (diff.json with "format": "kevo-diff" and only kevo's files).
kevo_status kevo_diff_check_dest(const char *dir, kevo_error *err);

// kevo_diff_check, then the comparison of every common step and hidden-state index, and its
// tables, figures and report.html written into out_dir, replaced whole at the end. The result
// is handed back in *out when out is not NULL (free with kevo_diff_free).
kevo_status kevo_diff_runs(const kevo_runfolder *run_a, const kevo_runfolder *run_b,
                           const kevo_model *model_a, const kevo_model *model_b,
                           const kevo_diff_params *p, const char *out_dir, kevo_diff **out,
                           kevo_error *err);

typedef struct kevo_diff_summary {
    int steps_a, steps_b, steps;     // each run's generated steps, and the common ones compared
    int states_a, states_b, states;  // L + 1 of each, and the indices compared (the fewer)
    int dim_a, dim_b;
    int compared_states;             // 1: relative errors and cosines computed (same D and L)
    double max_rel_err;              // over every compared (step, index); NaN when not compared
    double min_cosine;
    double max_jsd;                  // bits
    int first_step, first_index;     // the first step whose top tokens disagree at some index,
                                     // and its shallowest such index; -1: they never disagree
    int shallowest_index, shallowest_step;   // the shallowest index disagreeing at any step
    int parting_step;                // the first step whose generated tokens differ (or the
                                     // shorter run's end when one is a prefix of the other);
                                     // -1: the same tokens and the same length
    int final_agree;                 // steps whose top tokens agree at the last compared index
    const char *note;                // what was not compared and why; "" when everything was
    const char *warning;             // "" or what the user should know (a model's config.json,
                                     // a head that does not reproduce its run's tokens)
} kevo_diff_summary;

kevo_diff_summary kevo_diff_summarize(const kevo_diff *d);

#endif
