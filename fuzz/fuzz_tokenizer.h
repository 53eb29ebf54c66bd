// fuzz_tokenizer.h — what the tokenizer harnesses do with a tokenizer that loaded: encode a few
// fixed texts (plain, added tokens, malformed UTF-8, the image slot), decode what came out, and
// decode and display every id, so that tables the loader accepted are also used.
#ifndef KEVO_FUZZ_TOKENIZER_H
#define KEVO_FUZZ_TOKENIZER_H

#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tokenizer/tokenizer.h"

static inline void fuzz_use_text(const kevo_tokenizer *t, const char *text, size_t len)
{
    kevo_error err;
    int *ids = NULL, n = 0;
    char *back = NULL;
    if (kevo_tokenizer_encode(t, text, len, 1, &ids, &n, &err) == KEVO_OK &&
        kevo_tokenizer_decode(t, ids, n, &back, &err) == KEVO_OK)
        free(back);
    free(ids);
    ids = NULL;
    if (kevo_tokenizer_encode_slot(t, text, len, 0, "<image>", -200, &ids, &n, &err) == KEVO_OK)
        free(ids);
}

static inline void fuzz_use_tokenizer(const kevo_tokenizer *t)
{
    static const char *const texts[] = {
        "", " ", "Hello world", "  two  spaces\n\tand a tab", "<s>USER: <image>\nWhat?</s>",
        "caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80", "bad \xff\xfe \xc3 \xed\xa0\x80 utf8",
        "<unk><pad><image><image>", "\xe2\x96\x81\xe2\x96\x81",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        fuzz_use_text(t, texts[i], strlen(texts[i]));
    int n = kevo_tokenizer_n_tokens(t);
    char buf[64];
    for (int id = 0; id < n && id < 4096; id++) {
        kevo_error err;
        char *s = NULL;
        if (kevo_tokenizer_decode(t, &id, 1, &s, &err) == KEVO_OK)
            free(s);
        (void)kevo_tokenizer_piece(t, id);
        (void)kevo_tokenizer_piece_display(t, id, buf, sizeof buf);
        (void)kevo_tokenizer_piece_display(t, id, buf, 3);
    }
    (void)kevo_tokenizer_added_id(t, "<image>");
    (void)kevo_tokenizer_bos(t);
    (void)kevo_tokenizer_eos(t);
}

// Loads the tokenizer of the harness's folder (fuzz_dir()) and uses it when it loaded.
static inline void fuzz_load_and_use_tokenizer(void)
{
    kevo_tokenizer *t;
    kevo_error err;
    if (kevo_tokenizer_load(fuzz_dir(), &t, &err) != KEVO_OK)
        return;
    fuzz_use_tokenizer(t);
    kevo_tokenizer_free(t);
}

#endif
