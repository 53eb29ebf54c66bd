// bpe.c — the merge loop of byte-pair encoding over one word, and its hash map.
//
// Follows sentencepiece's src/bpe_model.cc (Model::SampleEncode without dropout): a priority
// queue of adjacent candidate pairs, a doubly linked list of symbols, stale candidates skipped
// when popped. The queue is a binary heap of small structs ordered by (priority, left position),
// which is sentencepiece's comparator (score, then left index) and HF tokenizers' `Merge` order
// (rank, then pos). Every merge adds at most two candidates, so the work is O(n log n) in the
// word length and the memory O(n).
#include "tokenizer/bpe.h"

#include <stdlib.h>
#include <string.h>

#define DEAD INT32_MIN   // a symbol absorbed by its left neighbour

// ---------------------------------------------------------------------------------------------
// Hash map

static int map_grow(tok_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = malloc(cap * sizeof *keys), *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return 0;
    }
    memset(keys, 0xff, cap * sizeof *keys);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == UINT64_MAX)
            continue;
        size_t j = tok_hash64(m->keys[i]) & (cap - 1);
        while (keys[j] != UINT64_MAX)
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 1;
}

int tok_map_put(tok_map *m, uint64_t key, uint64_t val)
{
    if ((m->n + 1) * 4 > m->cap * 3 && !map_grow(m))   // load factor at most 3/4
        return 0;
    size_t j = tok_hash64(key) & (m->cap - 1);
    while (m->keys[j] != UINT64_MAX && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    if (m->keys[j] == UINT64_MAX)
        m->n++;
    m->keys[j] = key;
    m->vals[j] = val;
    return 1;
}

int tok_map_get(const tok_map *m, uint64_t key, uint64_t *val)
{
    if (!m->cap)
        return 0;
    size_t j = tok_hash64(key) & (m->cap - 1);
    for (;;) {
        uint64_t k = m->keys[j];
        if (k == key) {
            *val = m->vals[j];
            return 1;
        }
        if (k == UINT64_MAX)
            return 0;
        j = (j + 1) & (m->cap - 1);
    }
}

void tok_map_free(tok_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

// ---------------------------------------------------------------------------------------------
// Merge loop

typedef struct tok_bpe_cand {
    uint32_t priority;
    int32_t left, right;
    int32_t right_sym;   // the right symbol when queued: the pair is stale once it changed
} tok_bpe_cand;

static inline int before(const tok_bpe_cand *a, const tok_bpe_cand *b)
{
    return a->priority < b->priority || (a->priority == b->priority && a->left < b->left);
}

static void heap_push(tok_bpe_cand *heap, size_t *n, tok_bpe_cand c)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&c, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = c;
}

static tok_bpe_cand heap_pop(tok_bpe_cand *heap, size_t *n)
{
    tok_bpe_cand top = heap[0], last = heap[--*n];
    size_t i = 0, size = *n;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= size)
            break;
        if (child + 1 < size && before(&heap[child + 1], &heap[child]))
            child++;
        if (!before(&heap[child], &last))
            break;
        heap[i] = heap[child];
        i = child;
    }
    if (size)
        heap[i] = last;
    return top;
}

static int reserve(tok_bpe_work *w, size_t n)
{
    // A word of n symbols queues at most n - 1 pairs up front and two per merge (n - 1 merges).
    size_t need_heap = 3 * n + 1;
    if (n > w->cap) {
        int32_t *prev = realloc(w->prev, n * sizeof *prev);
        if (!prev)
            return 0;
        w->prev = prev;
        int32_t *next = realloc(w->next, n * sizeof *next);
        if (!next)
            return 0;
        w->next = next;
        w->cap = n;
    }
    if (need_heap > w->heap_cap) {
        tok_bpe_cand *heap = realloc(w->heap, need_heap * sizeof *heap);
        if (!heap)
            return 0;
        w->heap = heap;
        w->heap_cap = need_heap;
    }
    return 1;
}

// Queues the pair (left, right) when the merge table has it.
static inline void consider(const tok_map *merges, const int32_t *syms, tok_bpe_cand *heap,
                            size_t *n_heap, int32_t left, int32_t right)
{
    uint64_t v;
    if (left < 0 || right < 0 || syms[left] < 0 || syms[right] < 0 ||
        !tok_map_get(merges, tok_pair_key(syms[left], syms[right]), &v))
        return;
    heap_push(heap, n_heap, (tok_bpe_cand){(uint32_t)(v >> 32), left, right, syms[right]});
}

int tok_bpe_merge(const tok_map *merges, tok_bpe_work *w, int32_t *syms, int n)
{
    if (n < 2)
        return n;
    if (!reserve(w, (size_t)n))
        return -1;
    int32_t *prev = w->prev, *next = w->next;
    tok_bpe_cand *heap = w->heap;
    size_t n_heap = 0;
    for (int i = 0; i < n; i++) {
        prev[i] = i - 1;
        next[i] = i + 1 < n ? i + 1 : -1;
    }
    for (int i = 0; i + 1 < n; i++)
        consider(merges, syms, heap, &n_heap, i, i + 1);

    while (n_heap) {
        tok_bpe_cand c = heap_pop(heap, &n_heap);
        if (syms[c.left] == DEAD || next[c.left] != c.right || syms[c.right] != c.right_sym)
            continue;   // one side was merged since the pair was queued
        uint64_t v;
        tok_map_get(merges, tok_pair_key(syms[c.left], syms[c.right]), &v);
        syms[c.left] = (int32_t)(uint32_t)v;
        syms[c.right] = DEAD;
        next[c.left] = next[c.right];
        if (next[c.left] >= 0)
            prev[next[c.left]] = c.left;
        consider(merges, syms, heap, &n_heap, prev[c.left], c.left);
        consider(merges, syms, heap, &n_heap, c.left, next[c.left]);
    }

    int out = 0;   // symbol 0 is never a right neighbour, so the list starts there
    for (int i = 0; i >= 0; i = next[i])
        syms[out++] = syms[i];
    return out;
}

void tok_bpe_work_free(tok_bpe_work *w)
{
    free(w->prev);
    free(w->next);
    free(w->heap);
    memset(w, 0, sizeof *w);
}
