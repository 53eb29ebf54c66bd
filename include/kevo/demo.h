// kevo/demo.h — part of kevo.h (include kevo.h): what `kevo demo` reads and writes besides run
// folders and analyses: the bundled examples and the demo's output folder.
//
// An examples folder holds one folder per set (kevo_demo_sets, in that order), each with images
// and a questions.jsonl: one {"image", "question", "answer"} object per line ("answer", the
// expected one, may be absent). The demo's folder holds report.html and one folder per set
// with a run folder per image and the set's map/ (an analysis folder).
#ifndef KEVO_DEMO_H
#define KEVO_DEMO_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/demo.h"
#endif

#define KEVO_DEMO_N_SETS 2
#define KEVO_DEMO_MAX_EXAMPLES 256

// "flower" (a colour question about each image), then "describe".
extern const char *const kevo_demo_sets[KEVO_DEMO_N_SETS];

typedef struct kevo_examples kevo_examples;

// Every line of every DIR/<set>/questions.jsonl, ordered by set and then by image path. More
// than KEVO_DEMO_MAX_EXAMPLES in all is an error. On failure *out is NULL.
kevo_status kevo_examples_load(const char *dir, kevo_examples **out, kevo_error *err);
void kevo_examples_free(kevo_examples *ex);   // accepts NULL

int kevo_examples_count(const kevo_examples *ex);
// Of example i, borrowed: its image (DIR/SET/IMAGE), question, expected answer ("" when none)
// and set (an index into kevo_demo_sets).
const char *kevo_examples_image(const kevo_examples *ex, int i);
const char *kevo_examples_question(const kevo_examples *ex, int i);
const char *kevo_examples_expected(const kevo_examples *ex, int i);
int kevo_examples_set(const kevo_examples *ex, int i);

// A folder of a previous `kevo demo` (a kevo_outdir_owned_fn): report.html, and set folders
// holding only run folders of kevo's and a map/ analysis folder, at least one run among them;
// kevo's hidden temporaries besides.
kevo_status kevo_demo_folder_owned(const char *dir, kevo_error *err);

#endif
