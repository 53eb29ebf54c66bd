// patches.h — the image side of one run's analysis: the patch lens over the image positions'
// recorded states (patch_lens.h), with what is needed to show it on the user's picture: the
// patch grid, every patch's rectangle in the original image, the tracked words.
//
// Built by kevo_analysis_compute when the run folder holds image states (kevo run
// --image-states); struct kevo_analysis's `patches` is NULL otherwise. Figures and the report
// read it; nothing here draws.
#ifndef KEVO_ANALYSIS_PATCHES_H
#define KEVO_ANALYSIS_PATCHES_H

#include "analysis/patch_lens.h"
#include "io/runfolder.h"
#include "kevo.h"

typedef struct kevo_patch_analysis {
    kevo_patch_lens_result *lens;   // (P, K) per patch and recorded index; (P, K, W) word_p
    int n_patches, n_indices;       // P, K
    const int *indices;             // (K) hidden-state indices, ascending (the run folder's)
    int rows, cols;                 // the drawn patch grid: cell c at row c / cols, col c % cols
    int class_token;                // 1: image position 0 is the class token (no cell)
    const int *cell_position;       // (rows * cols) the image position shown in each cell (the
                                    // run folder's: LLaVA-NeXT's tile grid, not its base image)
    const double *original;         // (rows * cols, 4) x0, y0, x1, y1 in the original image's
                                    // pixels; empty (x0 == x1 or y0 == y1) for a patch of
                                    // padding only
    const char *image_path;         // the original image as run.json names it
    int image_width, image_height;
    int n_words;                    // W tracked words
    char **words;                   // (W) as the user gave them (or the answer's content word)
    int *word_ids;                  // (W) the token each is read through: its first piece
    int figure_index;               // the index of the labelled-patch figure: the recorded
                                    // index nearest the critical layer (its position in indices)
} kevo_patch_analysis;

// The patch lens of run's image states through model's head in mode, tracking `words` (comma-
// separated; a word is read through its tokenizer encoding's first piece), or with words NULL
// the answer word of analysis/answer.h read through the token generated for its first piece.
// critical: the run's critical layer (for figure_index). KEVO_ERR_ARG when the run has no image states or a
// word has no token.
kevo_status kevo_patch_analysis_compute(const kevo_runfolder *run, const kevo_model *model,
                                        kevo_lens_mode mode, const char *words, int critical,
                                        kevo_patch_analysis **out, kevo_error *err);
void kevo_patch_analysis_free(kevo_patch_analysis *p);   // accepts NULL

// Writes a->patches into dir as patch_lens.csv (index,patch,row,col,top_id,top_piece,top_p,
// entropy, then p:<word> per tracked word; row and col -1 for a class token) and
// patch_lens.json (the lens, the indices, the grid, the words with their token ids and pieces,
// the labelled figure's index). Nothing when a->patches is NULL.
kevo_status kevo_patch_analysis_write(const kevo_analysis *a, const char *dir, kevo_error *err);

#endif
