// patch_figures.h — the patch lens drawn on the user's picture (analysis/patches.h): for each
// tracked word a grid of maps of its probability over the patches, one panel per recorded
// hidden-state index, framed in the colour of that index's stage; and the picture with every
// patch labelled by its top token at the labelled index (nearest the critical layer), as Neo et
// al. (2024) show LLaVA's image tokens.
#ifndef KEVO_REPORT_PATCH_FIGURES_H
#define KEVO_REPORT_PATCH_FIGURES_H

#include "analysis/analysis.h"
#include "kevo.h"

// Word w's grid of maps into path (format o->format).
kevo_status kevo_patch_draw_word(const kevo_analysis *a, int w, const char *path,
                                 const kevo_figure_opts *o, kevo_error *err);
// The labelled picture into path.
kevo_status kevo_patch_draw_top(const kevo_analysis *a, const char *path,
                                const kevo_figure_opts *o, kevo_error *err);
// kevo_patch_figure_stem (kevo/report.h) names each word's figure.

// The top of word w's colour scale: its largest probability on a patch of the picture (patches
// of padding only excluded) at any recorded index; 0 when there is none.
double kevo_patch_word_scale(const kevo_patch_analysis *p, int w);

#endif
