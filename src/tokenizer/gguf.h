// gguf.h — a tokenizer from a GGUF file's tokenizer.ggml.* keys (the "llama" tokenizer model:
// SentencePiece BPE as llama.cpp's convert_hf_to_gguf.py writes it from tokenizer.model).
#ifndef KEVO_TOKENIZER_GGUF_H
#define KEVO_TOKENIZER_GGUF_H

#include "io/gguf.h"
#include "kevo.h"

// The tokenizer of the GGUF `g` (opened from `path`, which messages name and
// kevo_tokenizer_path returns), encoding and decoding as kevo_tokenizer_load of the model's
// tokenizer.model + tokenizer_config.json would: CONTROL (type 3) and USER_DEFINED (type 4)
// rows are added tokens matched in the raw text (special and not), UNUSED rows (type 5, the
// converter's "[PADn]" rows past the tokenizer) are undefined ids, BYTE rows (type 6) the byte
// fallback. The GGUF does not record transformers' `legacy` flag: `legacy` 0 is the llava-hf
// tokenizer_config.json's, 1 LlamaTokenizer's default (and llama.cpp's way of tokenizing).
// KEVO_ERR_FORMAT naming the file and the key on anything malformed.
kevo_status kevo_tokenizer_from_gguf(const kevo_gguf *g, const char *path, int legacy,
                                     kevo_tokenizer **out, kevo_error *err);

#endif
