// bpe.h — the BPE merge loop shared by both tokenizer sources, and its hash table.
//
// A word is a sequence of symbols (token ids, or "virtual" ids for characters that occur inside
// pieces without being pieces themselves). A merge table maps an adjacent pair (left, right) to
// the merged symbol and a priority; the loop repeatedly merges the pair of best (lowest)
// priority, the leftmost one on ties, until no pair of the word is in the table. This is the
// loop of sentencepiece's bpe_model.cc (priority = the merged piece's score rank) and of HF
// tokenizers' models/bpe/word.rs (priority = merge rank): both break ties by position.
#ifndef KEVO_TOKENIZER_BPE_H
#define KEVO_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

// An open-addressing map from 64-bit keys to 64-bit values; UINT64_MAX is not a valid key.
typedef struct tok_map {
    uint64_t *keys;
    uint64_t *vals;
    size_t cap;       // a power of two, or 0
    size_t n;
} tok_map;

// Inserts or replaces; returns 0 when memory runs out. Freed with tok_map_free.
int tok_map_put(tok_map *m, uint64_t key, uint64_t val);
// Returns 1 and sets *val when key is present.
int tok_map_get(const tok_map *m, uint64_t key, uint64_t *val);
void tok_map_free(tok_map *m);

static inline uint64_t tok_hash64(uint64_t x)   // splitmix64's finaliser
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline uint64_t tok_pair_key(int32_t left, int32_t right)
{
    return (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
}

// A merge table value: priority in the high half, merged symbol in the low half.
static inline uint64_t tok_merge_val(uint32_t priority, int32_t merged)
{
    return (uint64_t)priority << 32 | (uint32_t)merged;
}

// Scratch space of the merge loop, reused across words; zero-initialise, free with
// tok_bpe_work_free. Grows with the longest word seen.
typedef struct tok_bpe_work {
    int32_t *prev, *next;   // (n) linked list over the word's symbols; -1 ends
    struct tok_bpe_cand *heap;
    size_t cap, heap_cap;
} tok_bpe_work;

// Merges syms[0..n) in place by `merges`; returns the new length, or -1 when memory runs out.
int tok_bpe_merge(const tok_map *merges, tok_bpe_work *w, int32_t *syms, int n);
void tok_bpe_work_free(tok_bpe_work *w);

#endif
