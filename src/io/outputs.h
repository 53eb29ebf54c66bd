// outputs.h — which existing folders are kevo's own outputs, and so may be replaced.
//
// kevo replaces a folder only when it can tell the folder is one it wrote and that nothing else
// is in it (kevo/files.h, "Output folders", says why and how). A run folder is recognised by
// run.json's "format": "kevo-run", an analysis or map folder by stages.json's "format":
// "kevo-stages"; every other entry must be one of the files kevo writes there. The checks built
// on these (kevo_runfolder_check_dest, kevo_analysis_check_dest, kevo_demo_folder_owned) are
// public: kevo.h.
#ifndef KEVO_IO_OUTPUTS_H
#define KEVO_IO_OUTPUTS_H

#include "kevo.h"

// KEVO_OK when dir is a run folder of kevo's holding only run.json, hidden.safetensors, an
// analysis/ folder kevo_analysis_folder_owned accepts, diff-NAME folders kevo_diff_folder_owned
// accepts, and kevo's hidden temporaries; else
// KEVO_ERR_ARG naming what is not kevo's. (A kevo_outdir_owned_fn.)
kevo_status kevo_runfolder_owned(const char *dir, kevo_error *err);

// The same for a folder of `kevo analyze` or `kevo tsne RUN...`: stages.json, report.html, the
// CSV tables, the figures and area/step_NNN figures.
kevo_status kevo_analysis_folder_owned(const char *dir, kevo_error *err);

// The same for a folder of `kevo diff`: diff.json ("format": "kevo-diff"), diff.csv, layers.csv,
// report.html and its figures. A run folder may hold such folders as diff-NAME (the default
// output of `kevo diff RUN NAME`); they go with the run when it is replaced.
kevo_status kevo_diff_folder_owned(const char *dir, kevo_error *err);

// The same for a folder of `kevo stats`: stats.json ("format": "kevo-stats"), its CSV tables,
// report.html and its figures.
kevo_status kevo_stats_folder_owned(const char *dir, kevo_error *err);

#endif
