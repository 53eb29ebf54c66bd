// explore.h — what makes report.html explorable: the numbers behind the heatmap and the patch
// lens as JSON blobs in the page (<script type="application/json">), and the page's one script
// that reads them (docs/analyses.md, "The interactive report").
//
// The heatmap's cells are found from the mouse position alone: its frame carries the figure's
// size and the cells' box in figure points (data-fig-w/h, data-x0/y0/x1/y1, as the heatmap's
// layout computed them, plot/layout.h), the script scales the mouse position by the displayed
// size over the figure size and divides the box into rows x cols equal cells, as the heatmap
// draws them. The same holds for a PNG at any dpi and an inline SVG.
#ifndef KEVO_REPORT_EXPLORE_H
#define KEVO_REPORT_EXPLORE_H

#include <stddef.h>
#include <stdio.h>

#include "analysis/analysis.h"
#include "kevo.h"
#include "plot/layout.h"

// The heatmap frame's data attributes (leading space) for layout, into buf.
void kevo_explore_heatmap_attrs(const kevo_figure_layout *layout, char *buf, size_t size);

// After the heatmap (ctx: the kevo_analysis): the hover box and the JSON of every cell: per
// row t < heat_rows, its piece, the unscaled divergence (divergence.csv) and the scaled value
// drawn (heatmap.csv) of each transition, and the top 5 (piece, p) of every state (top5.csv).
kevo_status kevo_explore_put_heatmap(FILE *f, const void *analysis, kevo_error *err);

// The image section (ctx: the kevo_analysis; nothing when it has no patches): the original
// image as a data URI, the patch map's canvas, slider, word selector and hover table, and the
// JSON of every patch.
kevo_status kevo_explore_put_patches(FILE *f, const void *analysis, kevo_error *err);

// The page's script (ctx unused). Without it the page is the same figures, still.
kevo_status kevo_explore_put_script(FILE *f, const void *unused, kevo_error *err);

#endif
