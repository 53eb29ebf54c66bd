// fuzz_tokenizer_bytelevel.c — the byte-level BPE encoder and decoder (src/tokenizer/bytelevel.c)
// on arbitrary text: a small tokenizer.json of the Qwen layout (every byte's piece, a few merges,
// an added token, NFC and Qwen's Split regex) is written once and loaded; each input is encoded
// (NFC, PCRE2, merges), the ids decoded, and the input's bytes decoded as ids too.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

static kevo_tokenizer *load_once(void)
{
    static kevo_tokenizer *t;
    static int tried;
    if (tried)
        return t;
    tried = 1;
    char dir[] = "/tmp/kevo-fuzz-bytelevel-XXXXXX", path[64];
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs("{\"added_tokens\": [{\"id\": 259, \"content\": \"<|x|>\", \"special\": true, "
          "\"normalized\": false}], \"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": "
          "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
          "{\"Regex\": \"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|"
          "\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|"
          "\\\\s+\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", "
          "\"use_regex\": false}]}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": "
          "{\"type\": \"BPE\", \"vocab\": {", f);
    int n_extra = 0;
    for (int c = 0; c < 256; c++) {   // GPT-2's bytes_to_unicode
        int self = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
        unsigned cp = self ? (unsigned)c : 256u + (unsigned)n_extra++;
        if (cp == '"' || cp == '\\')
            fprintf(f, "\"\\%c\": %d, ", (char)cp, c);
        else if (cp < 0x80)
            fprintf(f, "\"%c\": %d, ", (char)cp, c);
        else
            fprintf(f, "\"%c%c\": %d, ", (char)(0xC0 | cp >> 6), (char)(0x80 | (cp & 63)), c);
    }
    fputs("\"ab\": 256, \"abc\": 257, \"\xC4\xA0" "a\": 258}, \"merges\": [\"a b\", \"ab c\", "
          "\"\xC4\xA0 a\"]}}", f);
    fclose(f);
    kevo_error err;
    if (kevo_tokenizer_load(dir, &t, &err) != KEVO_OK) {
        fprintf(stderr, "fuzz_tokenizer_bytelevel: %s\n", err.msg);
        abort();
    }
    remove(path);
    remove(dir);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kevo_tokenizer *t = load_once();
    kevo_error err;
    int *ids = NULL, n = 0;
    char *back = NULL;
    if (kevo_tokenizer_encode(t, (const char *)data, size, 0, &ids, &n, &err) == KEVO_OK &&
        kevo_tokenizer_decode(t, ids, n, &back, &err) == KEVO_OK)
        free(back);
    free(ids);
    // The input's bytes as ids (bytes 0..3 as the ids 256..259 above the byte pieces): byte
    // pieces in any order, merged pieces and the special token among them.
    int *raw = malloc((size + 1) * sizeof *raw);
    if (!raw)
        return 0;
    for (size_t i = 0; i < size; i++)
        raw[i] = data[i] < 4 ? 256 + data[i] : data[i];
    back = NULL;
    if (kevo_tokenizer_decode(t, raw, (int)size, &back, &err) == KEVO_OK)
        free(back);
    free(raw);
    return 0;
}
