// figures.h — the figures of one analysis and the HTML report that gathers them.
//
// Written into the analysis folder: heatmap.<ext> (Level 2), area/step_NNN.<ext> (Level 1, one
// per step of the first `steps`), tsne.<ext> and tsne.csv (Level 3), and report.html (every
// figure with the run's question, answer, stages and the options used). Stage bands, their
// colours and legend text come from the detected (or given) critical and mutation layers;
// nothing here knows a layer number.
#ifndef KEVO_REPORT_FIGURES_H
#define KEVO_REPORT_FIGURES_H

#include <stdint.h>

#include "analysis/analysis.h"
#include "analysis/maps.h"
#include "analysis/stages.h"
#include "kevo.h"
#include "plot/plot.h"

// The colour of each stage range of kevo_stages_ranges (bands and t-SNE points).
uint32_t kevo_stage_rgb(const kevo_stage_range *r);


// Bands for the stages over hidden states (x = 0..L, the area charts) or over transitions
// (x = 0..L-1, transition i between states i and i+1, the heatmap: the change into the critical
// layer is still rapid evolution, the jump into the mutation layer is the mutation). labels: 3
// buffers of 96 bytes. Returns the count.
int kevo_stage_bands(const kevo_stages *s, int transitions, kevo_band out[3], char labels[3][96]);

// A token's piece for a row label when the model has no tokenizer to display it: SentencePiece's
// word mark "▁" removed, as the authors' heatmap does (a piece that is only marks keeps one).
// Written into buf.
const char *kevo_piece_label(const char *piece, char *buf, size_t size);

// Draws the heatmap, the area charts and (map not NULL and not skipped) the t-SNE map into dir in
// format o->format (PNG copies are made for the report when the format is PDF), writes tsne.csv
// for the map, then dir/report.html with every figure.
kevo_status kevo_analysis_figures(const kevo_analysis *a, const kevo_map *map, const char *dir,
                                  const kevo_figure_opts *o, kevo_error *err);

// The scatter: one colour per stage (legend "stabilisation (layers 20-31)"); with several runs
// each run's points are joined in layer order.
kevo_status kevo_map_draw(const kevo_map *m, const kevo_stages *s, const char *title,
                          const char *path, const kevo_figure_opts *o, kevo_error *err);

#endif
