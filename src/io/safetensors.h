// safetensors.h — reading and writing safetensors files, one file or a sharded checkpoint.
//
// Format (huggingface/safetensors README): u64 little-endian header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end)}, "__metadata__": {...}}, then the
// data section; offsets are relative to its start (byte 8 + N). Files are mapped read-only and
// every header field is validated before a single tensor byte is trusted.
#ifndef KEVO_IO_SAFETENSORS_H
#define KEVO_IO_SAFETENSORS_H

#include <stdint.h>

#include "base/tensor.h"
#include "kevo.h"


// ---- one file

typedef struct kevo_safetensors kevo_safetensors;

kevo_status kevo_safetensors_open(const char *path, kevo_safetensors **out, kevo_error *err);
void kevo_safetensors_free(kevo_safetensors *f);
uint64_t kevo_safetensors_file_size(const kevo_safetensors *f);
size_t kevo_safetensors_count(const kevo_safetensors *f);
const kevo_tensor *kevo_safetensors_at(const kevo_safetensors *f, size_t i);   // sorted by name
const kevo_tensor *kevo_safetensors_find(const kevo_safetensors *f, const char *name);
// The value of a "__metadata__" key, or NULL.
const char *kevo_safetensors_metadata(const kevo_safetensors *f, const char *key);

// ---- a checkpoint folder: model.safetensors, or shards listed by model.safetensors.index.json

typedef struct kevo_checkpoint kevo_checkpoint;

kevo_status kevo_checkpoint_open(const char *dir, kevo_checkpoint **out, kevo_error *err);
void kevo_checkpoint_free(kevo_checkpoint *c);
size_t kevo_checkpoint_count(const kevo_checkpoint *c);
const kevo_tensor *kevo_checkpoint_at(const kevo_checkpoint *c, size_t i);     // sorted by name
const kevo_tensor *kevo_checkpoint_find(const kevo_checkpoint *c, const char *name);
int kevo_checkpoint_n_files(const kevo_checkpoint *c);
uint64_t kevo_checkpoint_file_bytes(const kevo_checkpoint *c);   // sum of the files' sizes

// ---- tensors of another format under the names a family binds (a GGUF model, model/gguf_*.c)

// A checkpoint over n views made by the caller (names unique), which it takes over whether it
// succeeds or not: views is freed with it, and release(owner) frees what the views point into
// (the mapped files, the names).
kevo_status kevo_checkpoint_from_views(kevo_tensor *views, size_t n, const char *format,
                                       int n_files, uint64_t file_bytes,
                                       void (*release)(void *), void *owner,
                                       kevo_checkpoint **out, kevo_error *err);
// The files' format: "safetensors", or the one the views were made from ("GGUF").
const char *kevo_checkpoint_format(const kevo_checkpoint *c);

// ---- writing

typedef struct kevo_tensor_out {
    const char *name;
    kevo_dtype dtype;
    int n_dims;
    int64_t shape[KEVO_MAX_DIMS];
    const void *data;       // n_elems * dtype size bytes, little-endian
} kevo_tensor_out;

// Writes the tensors, in the given order, and optional "__metadata__" pairs
// (meta[2i] = key, meta[2i+1] = value) atomically to `path`.
kevo_status kevo_safetensors_write(const char *path, const kevo_tensor_out *tensors, int n,
                                   const char *const *meta, int n_meta, kevo_error *err);

#endif
