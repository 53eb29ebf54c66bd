// results.c — what a caller reads of an analysis, its stages and its map, and a run folder's
// answer step (kevo.h, kevo/analysis.h).
#include "kevo.h"

#include "analysis/analysis.h"
#include "analysis/answer.h"
#include "analysis/maps.h"
#include "analysis/stages.h"
#include "io/runfolder.h"

kevo_lens_summary kevo_analysis_lens_summary(const kevo_analysis *a)
{
    const kevo_lens_result *r = a->lens;
    return (kevo_lens_summary){.n_steps = r->n_steps, .n_states = r->n_states,
                               .vocab = r->vocab, .n_chunks = r->n_chunks,
                               .seconds = r->seconds};
}

const kevo_stages *kevo_analysis_stages(const kevo_analysis *a)
{
    return a->stages;
}

int kevo_analysis_chart_steps(const kevo_analysis *a)
{
    return a->chart_steps;
}

const char *kevo_analysis_warning(const kevo_analysis *a)
{
    return a->warning;
}

kevo_stage_summary kevo_stages_summary(const kevo_stages *s)
{
    return (kevo_stage_summary){.critical = s->critical, .critical_given = s->critical_given,
                                .critical_drop = s->critical_drop, .mutation = s->mutation,
                                .mutation_given = s->mutation_given, .n_mutated = s->n_mutated,
                                .n_tokens = s->n_tokens, .note = s->note};
}

kevo_map_summary kevo_map_summarize(const kevo_map *m)
{
    return (kevo_map_summary){.n_points = m->n, .skipped = !m->xy, .note = m->note,
                              .tsne = m->tsne};
}

int kevo_runfolder_answer_step(const kevo_runfolder *rf, char *word, int word_size)
{
    return kevo_answer_step(rf->question, (const char *const *)rf->pieces, rf->n_steps, word,
                            word_size);
}
