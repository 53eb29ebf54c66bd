// tokenizer.c — times kevo_tokenizer_encode on a file (helper of bench/tokenizer.py).
//
// usage: build/bench/tokenizer MODEL_DIR TEXT_FILE REPEATS IDS_OUT
// Prints "seconds=<best of REPEATS> bytes=<n> ids=<n>" and writes the ids (one line, spaces)
// to IDS_OUT so that the driver can check they are sentencepiece's.
#include <stdio.h>
#include <stdlib.h>

#include "kevo.h"
#include "base/fs.h"
#include "tokenizer/tokenizer.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXT_FILE REPEATS IDS_OUT\n", argv[0]);
        return 2;
    }
    kevo_error err;
    kevo_tokenizer *t;
    char *text;
    size_t len;
    if (kevo_tokenizer_load(argv[1], &t, &err) != KEVO_OK ||
        kevo_read_file(argv[2], (size_t)1 << 30, &text, &len, &err) != KEVO_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int repeats = atoi(argv[3]), *ids = NULL, n = 0;
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        free(ids);
        double t0 = kevo_now();
        if (kevo_tokenizer_encode(t, text, len, 0, &ids, &n, &err) != KEVO_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double dt = kevo_now() - t0;
        if (dt < best)
            best = dt;
    }
    FILE *f = fopen(argv[4], "w");
    for (int i = 0; f && i < n; i++)
        fprintf(f, i ? " %d" : "%d", ids[i]);
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", argv[4]);
        return 1;
    }
    printf("seconds=%.6f bytes=%zu ids=%d\n", best, len, n);
    free(ids);
    free(text);
    kevo_tokenizer_free(t);
    return 0;
}
