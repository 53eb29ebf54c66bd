// tensor.h — a view of one stored tensor (name, element type, shape, bytes, where it lives), the
// type every format reader (io/safetensors, io/npy) hands out and every kernel reads.
#ifndef KEVO_BASE_TENSOR_H
#define KEVO_BASE_TENSOR_H

#include <stdint.h>

#include "kevo.h"

#define KEVO_MAX_DIMS 8

// A view of one stored tensor. Borrowed from the file (or checkpoint) it came from.
typedef struct kevo_tensor {
    const char *name;
    kevo_dtype dtype;
    int n_dims;
    int64_t shape[KEVO_MAX_DIMS];
    uint64_t n_elems;
    uint64_t n_bytes;
    const void *data;       // into the mapping; aligned to the element size
    const char *path;       // the file holding it
    uint64_t file_offset;   // absolute byte offset of the first data byte in that file
} kevo_tensor;

#endif
