// memory.h — large buffers (activations, caches, records): page-aligned anonymous mappings that
// ask for transparent huge pages, because first-touch page faults are expensive on this class of
// machine (11-17 µs per 4 KiB page: a gigabyte of fresh 4 KiB pages costs seconds).
#ifndef KEVO_BASE_MEMORY_H
#define KEVO_BASE_MEMORY_H

#include <stddef.h>

// Returns zeroed memory of `size` bytes, or NULL. Free with kevo_big_free(p, size).
void *kevo_big_alloc(size_t size);
void kevo_big_free(void *p, size_t size);

#endif
