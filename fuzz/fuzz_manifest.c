// fuzz_manifest.c — hostile manifests of `kevo batch --manifest` (src/io/manifest.c) through
// kevo_manifest_load: the input's first byte picks the file name (bit 0: m.jsonl or m.csv, bit
// 1: a name without extension, read by content) and whether the batch has a default question
// (bit 2); the rest is the file. Whatever loads must have unique, safe ids, an image and a
// question per item, and its first item.json must write.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kevo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *name = data[0] & 2 ? "manifest" : data[0] & 1 ? "m.csv" : "m.jsonl";
    fuzz_reset();
    if (fuzz_write(name, data + 1, size - 1) != 0)
        return 0;
    kevo_manifest *m = NULL;
    kevo_error err;
    if (kevo_manifest_load(fuzz_path(name), data[0] & 4 ? "Q?" : NULL, &m, &err) != KEVO_OK)
        return 0;
    int n = kevo_manifest_n_items(m);
    if (n < 1)
        abort();
    double sum = 0;
    for (int i = 0; i < n; i++) {
        kevo_manifest_item it = kevo_manifest_item_at(m, i);
        if (kevo_manifest_id_check(it.id, &err) != KEVO_OK || !it.image[0] || !it.question ||
            it.line < 1 || it.n_references < 0)
            abort();
        for (int k = 0; k < it.n_references; k++)
            sum += (double)strlen(it.references[k]);
        for (int j = 0; j < i && n < 64; j++)   // the loader's own check is n log n
            if (!strcmp(kevo_manifest_item_at(m, j).id, it.id))
                abort();
    }
    fuzz_sink(sum);
    if (kevo_manifest_write_item(m, 0, fuzz_path("item.json"), &err) != KEVO_OK)
        abort();
    kevo_manifest_free(m);
    return 0;
}
