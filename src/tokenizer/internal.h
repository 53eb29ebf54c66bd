// internal.h — the tokenizer's representation, shared by its loaders and its encoder.
//
// Two sources fill one structure:
// - tokenizer.model (spm.c): sentencepiece pieces, scores and types. Encoding follows
//   transformers' slow LlamaTokenizer: sentencepiece per segment between added tokens, with
//   the `legacy` flag of tokenizer_config.json.
// - tokenizer.json (hf.c): HF tokenizers' BPE vocab, ordered merges, added tokens,
//   normaliser (Prepend / Replace) and pre-tokeniser (Metaspace).
// - tokenizer.json of the byte-level layout (bytelevel.c): the same pieces and merges, with its
//   own encoder and decoder behind t->bl.
// Both reduce to the same machinery: a piece table, a merge table over symbol pairs, a map from
// characters to initial symbols, and per-segment normalisation rules.
#ifndef KEVO_TOKENIZER_INTERNAL_H
#define KEVO_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/utf8.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/bpe.h"

// Piece kinds: sentencepiece's ModelProto.SentencePiece.Type values, plus tokens that exist only
// as added tokens (tokenizer.json "added_tokens", tokenizer_config.json, added_tokens.json).
enum {
    TOK_HOLE = 0,       // an id no file defines
    TOK_NORMAL = 1,
    TOK_UNKNOWN = 2,
    TOK_CONTROL = 3,
    TOK_USER = 4,
    TOK_UNUSED = 5,
    TOK_BYTE = 6,
    TOK_ADDED = 7,
};

typedef enum tok_mode {
    TOK_MODE_SPM,   // tokenizer.model, sentencepiece semantics per segment
    TOK_MODE_HF,    // tokenizer.json, HF tokenizers semantics
} tok_mode;

// Metaspace prepend schemes (HF tokenizers pre_tokenizers/metaspace.rs).
enum { TOK_PREPEND_ALWAYS, TOK_PREPEND_FIRST, TOK_PREPEND_NEVER };

// One step of an HF normaliser sequence.
typedef struct tok_norm_op {
    int is_prepend;          // 1: Prepend(text) to a non-empty string; 0: Replace(from -> text)
    uint32_t from;           // Replace: the one character replaced
    uint32_t *text;          // code points
    int n_text;
} tok_norm_op;

// A token matched in the raw text before any normalisation.
typedef struct tok_added {
    const char *content;     // borrowed from the piece arena
    size_t len;
    int id;
    int special;             // skipped by decode; ends the slow tokenizer's leading "▁"
} tok_added;

// Ids past the model's vocabulary that added tokens may take (and the gaps a tokenizer.json
// vocab may leave): every table is sized by the highest id, so a 60-byte added_tokens.json with
// id 500000000 would otherwise cost gigabytes. LLaVA adds two ids; no model adds thousands.
#define TOK_ID_SPAN (1 << 16)

// Virtual symbols (characters that occur inside pieces without being pieces) are numbered from
// here, far above any token id.
#define TOK_VIRTUAL_BASE (1 << 30)
#define TOK_SPACE 0x2581u   // "▁", sentencepiece's whitespace symbol

typedef struct tok_bytelevel tok_bytelevel;   // bytelevel.c

struct kevo_tokenizer {
    char *path;               // the vocabulary file (tokenizer.model or tokenizer.json)
    tok_mode mode;
    int n_tokens;             // highest id + 1
    int n_vocab;              // ids below this come from the model's own vocabulary

    // Pieces: piece i is arena[off[i] .. off[i] + len[i]), NUL-terminated.
    char *arena;
    size_t arena_len, arena_cap;
    uint32_t *off, *len;      // (n_tokens)
    unsigned char *kind;      // (n_tokens)
    float *score;             // (n_vocab) tokenizer.model only
    int cap_tokens;
    int32_t *slots;           // piece string -> id, open addressing, -1 empty
    size_t n_slots;           // a power of two

    int unk_id, bos_id, eos_id;
    int byte_id[256];         // id of "<0xXX>", or -1
    int byte_fallback;
    int fuse_unk;             // tokenizer.json: runs of unknown characters give one unk

    // BPE
    tok_map merges;           // (left, right) symbols -> (priority, merged token id)
    tok_map chars;            // code point -> initial symbol
    int32_t ascii[128];       // the same for ASCII, -1 when absent
    uint32_t *virtual_cp;     // (n_virtual) code point of virtual symbol TOK_VIRTUAL_BASE + k
    int n_virtual;
    tok_map joins;            // (cp, cp) adjacent inside some merge result: words split elsewhere
    int split_words;          // 0 when a merge could cross any boundary (byte pieces merged)

    // Normalisation
    int add_dummy_prefix;     // tokenizer.model normalizer_spec
    int legacy;               // tokenizer_config.json "legacy" (slow tokenizer), default true
    int unk_prefix_len;       // non-legacy: tokens of "<unk>" that prefix a segment, dropped
    tok_norm_op *norm_ops;    // tokenizer.json normaliser
    int n_norm_ops;
    int metaspace;            // tokenizer.json pre-tokeniser is Metaspace
    uint32_t metaspace_char;
    int metaspace_prepend;    // TOK_PREPEND_*
    int metaspace_split;
    int strip_first_space;    // decode: drop the first piece's leading "▁"

    tok_added *added;         // sorted by content
    int n_added, cap_added;
    tok_map added_at;         // id -> index in `added` while loading
    int add_bos, add_eos;
    char *unk_surface;        // decode of <unk>
    tok_bytelevel *bl;        // byte-level BPE (bytelevel.h), NULL otherwise
};

// Defines piece `id` (growing the tables); fails when the id is already defined. Strings are
// checked for duplicates by tok_index.
kevo_status tok_set_piece(kevo_tokenizer *t, int id, const char *s, size_t len, int kind,
                          kevo_error *err);
// The id of a piece string, or -1.
int tok_find(const kevo_tokenizer *t, const char *s, size_t len);
// The same with the raw hash of s already known (tok_hash_raw, or built a byte at a time: appended
// with tok_hash_push, or prepended with tok_hash_prepend, whose *pow starts at 1).
int tok_find_hashed(const kevo_tokenizer *t, const char *s, size_t len, uint64_t raw);
uint64_t tok_hash_raw(const char *s, size_t len);
uint64_t tok_hash_push(uint64_t raw, unsigned char c);                   // raw(s + c)
uint64_t tok_hash_prepend(uint64_t raw, unsigned char c, uint64_t *pow);  // raw(c + s)
// Builds the piece -> id index over every defined id (call once all pieces are set).
kevo_status tok_index(kevo_tokenizer *t, kevo_error *err);

// Adds (left, right) -> merged with the given priority to the merge table, the characters of
// the merged piece to the join table. Symbols of single characters may be virtual.
kevo_status tok_add_merge(kevo_tokenizer *t, int32_t left, int32_t right, int32_t merged,
                          uint32_t priority, kevo_error *err);
// The two halves of tok_add_merge: the merge alone, and the join table for a merged piece (which
// needs doing once per piece however many splits of it are merges).
kevo_status tok_put_merge(kevo_tokenizer *t, int32_t left, int32_t right, int32_t merged,
                          uint32_t priority, kevo_error *err);
kevo_status tok_add_joins(kevo_tokenizer *t, int32_t merged, kevo_error *err);
// Makes piece id the initial symbol of its character when the piece is one character (a later
// id wins); returns 0 when memory runs out.
int tok_char_piece(kevo_tokenizer *t, int id);
// The initial symbol of a one-character string, creating a virtual symbol when `create`.
int32_t tok_char_symbol(kevo_tokenizer *t, uint32_t cp, int create);
// The same without creating one (-1 when there is none); inline: the merge loop's hot path.
static inline int32_t tok_symbol_of(const kevo_tokenizer *t, uint32_t cp)
{
    if (cp < 128)
        return t->ascii[cp];
    uint64_t v;
    return tok_map_get(&t->chars, cp, &v) ? (int32_t)v : -1;
}

// Registers an added token matched in the raw text (tokenizer.json added_tokens,
// tokenizer_config.json added_tokens_decoder, added_tokens.json). An id already defined must
// hold the same content; a new id becomes a piece of its own. Tokens to be normalised or with
// lstrip / rstrip / single_word (`stripping`) are refused. `where` prefixes messages.
kevo_status tok_add_token(kevo_tokenizer *t, const char *content, double id, int special,
                          int normalized, int stripping, const char *where, kevo_error *err);

// The loaders (fill pieces, specials, merges and normalisation rules).
kevo_status tok_load_spm(kevo_tokenizer *t, const char *path, kevo_error *err);

// What a SentencePiece table needs beside its pieces: tokenizer.model's trainer_spec and
// normalizer_spec, or what a GGUF implies (gguf.c).
typedef struct tok_spm_spec {
    int byte_fallback;
    int add_dummy_prefix;
    const char *unk_surface;   // NULL: sentencepiece's default " ⁇ "
    size_t unk_surface_len;
} tok_spm_spec;
// Finishes a sentencepiece piece table whose pieces, kinds and scores (n_vocab of them) are set:
// one unknown piece (t->unk_id), the byte pieces <0xXX> (all 256 when byte_fallback, none
// otherwise), the piece index and the merge table. Messages start with `path`.
kevo_status tok_spm_finish(kevo_tokenizer *t, const tok_spm_spec *s, const char *path,
                           kevo_error *err);

// A tokenizer with nothing loaded: every id undefined, LlamaTokenizer's defaults (legacy,
// add_bos_token), `path` as its file; NULL when memory runs out.
kevo_tokenizer *tok_new(tok_mode mode, const char *path);
// After every piece and added token is set: the added tokens' strings, and the non-legacy
// "<unk>" prefix length.
kevo_status tok_seal(kevo_tokenizer *t, kevo_error *err);
kevo_status tok_load_hf(kevo_tokenizer *t, const char *path, kevo_error *err);
// hf.c's readers of model.vocab and added_tokens (cJSON values), shared with bytelevel.c.
struct cJSON;
kevo_status tok_hf_read_vocab(kevo_tokenizer *t, const struct cJSON *vocab, const char *path,
                              kevo_error *err);
kevo_status tok_hf_read_added(kevo_tokenizer *t, const struct cJSON *list, const char *path,
                              kevo_error *err);
// model.merges[rank] ("a b" or ["a", "b"]) as the ids of its two pieces and of their join, all
// in the vocab; KEVO_ERR_FORMAT naming the entry otherwise.
kevo_status tok_hf_merge_ids(const kevo_tokenizer *t, const struct cJSON *m, uint32_t rank,
                             const char *path, int *left, int *right, int *merged,
                             kevo_error *err);

#endif
