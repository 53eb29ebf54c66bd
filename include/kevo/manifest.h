// kevo/manifest.h — part of kevo.h (include kevo.h): a dataset's manifest for `kevo batch
// --manifest` (docs/datasets.md), one item a line, and the item.json kevo writes beside each
// item's run.
#ifndef KEVO_MANIFEST_H
#define KEVO_MANIFEST_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/manifest.h"
#endif

typedef struct kevo_manifest kevo_manifest;

// One item, borrowed from its manifest.
typedef struct kevo_manifest_item {
    const char *id;                  // unique, safe as a folder name (kevo_manifest_id_check)
    const char *image;               // as written in the manifest
    const char *image_path;          // relative to the manifest's folder (unless absolute)
    const char *question;            // the item's, or the default question of the load
    const char *const *references;   // (n_references) reference answers, possibly none
    int n_references;
    int line;                        // 1-based line of the manifest where the item starts
} kevo_manifest_item;

// Reads a manifest: JSON Lines (`.jsonl` / `.json`: one object a line, keys id, image,
// question, references) or CSV (`.csv`: a header row naming the columns, RFC 4180 quoting,
// references as one field of '|'-separated strings); any other name is read as JSON Lines when
// its first non-blank byte is '{', else as CSV. An item without a question takes
// default_question (NULL: none, and such an item is an error). Every error names the file and
// the line (and for JSON the byte column or the key). On failure *out is NULL.
kevo_status kevo_manifest_load(const char *path, const char *default_question,
                               kevo_manifest **out, kevo_error *err);
void kevo_manifest_free(kevo_manifest *m);   // accepts NULL

int kevo_manifest_n_items(const kevo_manifest *m);
kevo_manifest_item kevo_manifest_item_at(const kevo_manifest *m, int i);   // 0 <= i < n
const char *kevo_manifest_path(const kevo_manifest *m);   // as given to kevo_manifest_load

// KEVO_OK when id can name a run folder: not empty, at most 200 bytes, no '/', no control
// character, not "." or ".." and not hidden (a leading '.', kevo's temporaries' form); else
// KEVO_ERR_FORMAT saying why (without naming a file: the caller adds where).
kevo_status kevo_manifest_id_check(const char *id, kevo_error *err);

// Writes item i as JSON to path, atomically: {"id", "image" (as in the manifest), "question"
// (the one asked), "references" ([] when none), "manifest" (its path), "line"}; a file that
// holds these bytes already is left as it is.
kevo_status kevo_manifest_write_item(const kevo_manifest *m, int i, const char *path,
                                     kevo_error *err);

#endif
