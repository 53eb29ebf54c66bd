// gguf.h — reading GGUF files (versions 2 and 3), llama.cpp's single-file model format.
//
// Layout (ggml docs/gguf.md; ggml/src/gguf.cpp gguf_init_from_file_impl), all little-endian:
//   "GGUF", u32 version, u64 tensor count, u64 key/value count,
//   key/values: string key, u32 value type, value (an array: u32 element type, u64 count, the
//   elements; a string: u64 length, bytes),
//   tensor infos: string name, u32 n_dims, u64 ne[n_dims] (ne[0] varies fastest), u32 ggml type,
//   u64 offset into the data section,
//   the data section, starting at the next multiple of general.alignment (default 32).
// The file is mapped read-only. Every count is checked against the bytes that remain before
// anything is allocated for it, so a small file costs small memory, and every failure names
// the key or tensor and the byte offset.
#ifndef KEVO_IO_GGUF_H
#define KEVO_IO_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/fs.h"
#include "kevo.h"

// Value types of the key/value section (gguf_type in gguf.h).
typedef enum kevo_gguf_type {
    KEVO_GGUF_U8 = 0, KEVO_GGUF_I8 = 1, KEVO_GGUF_U16 = 2, KEVO_GGUF_I16 = 3,
    KEVO_GGUF_U32 = 4, KEVO_GGUF_I32 = 5, KEVO_GGUF_F32 = 6, KEVO_GGUF_BOOL = 7,
    KEVO_GGUF_STRING = 8, KEVO_GGUF_ARRAY = 9, KEVO_GGUF_U64 = 10, KEVO_GGUF_I64 = 11,
    KEVO_GGUF_F64 = 12,
} kevo_gguf_type;

// A string inside the mapping: not NUL-terminated.
typedef struct kevo_gguf_str {
    const char *s;
    uint64_t len;
} kevo_gguf_str;

// One key/value pair. Borrowed from the file.
typedef struct kevo_gguf_kv {
    kevo_gguf_str key;
    kevo_gguf_type type;       // KEVO_GGUF_ARRAY for arrays
    kevo_gguf_type elem_type;  // an array's element type (never ARRAY: nesting is refused)
    uint64_t n;                // an array's element count (1 for a scalar)
    const unsigned char *value;   // a scalar's bytes, or an array's first element
    const kevo_gguf_str *strings; // a string array's elements, indexed (else NULL)
    uint64_t offset;           // byte offset of the key in the file
} kevo_gguf_kv;

// One tensor info. Borrowed from the file.
typedef struct kevo_gguf_tensor {
    kevo_gguf_str name;
    int n_dims;                // 1..4
    uint64_t ne[4];            // elements per dimension, ne[0] fastest (1 past n_dims)
    uint32_t ggml_type;        // ggml_type: 0 F32, 1 F16, 8 Q8_0, 30 BF16, ...
    uint64_t n_bytes;          // of its data
    const void *data;          // into the mapping
    uint64_t file_offset;      // absolute offset of the data
    uint64_t info_offset;      // byte offset of its info (for messages)
} kevo_gguf_tensor;

typedef struct kevo_gguf kevo_gguf;

kevo_status kevo_gguf_open(const char *path, kevo_gguf **out, kevo_error *err);
void kevo_gguf_free(kevo_gguf *g);   // accepts NULL

uint32_t kevo_gguf_version(const kevo_gguf *g);
uint64_t kevo_gguf_alignment(const kevo_gguf *g);
uint64_t kevo_gguf_data_offset(const kevo_gguf *g);   // the data section's first byte
uint64_t kevo_gguf_file_size(const kevo_gguf *g);
const unsigned char *kevo_gguf_header(const kevo_gguf *g);   // the file's first byte
const char *kevo_gguf_path(const kevo_gguf *g);
size_t kevo_gguf_n_kv(const kevo_gguf *g);
const kevo_gguf_kv *kevo_gguf_kv_at(const kevo_gguf *g, size_t i);   // in file order
const kevo_gguf_kv *kevo_gguf_find(const kevo_gguf *g, const char *key);   // or NULL
size_t kevo_gguf_n_tensors(const kevo_gguf *g);
const kevo_gguf_tensor *kevo_gguf_tensor_at(const kevo_gguf *g, size_t i);   // in file order
const kevo_gguf_tensor *kevo_gguf_find_tensor(const kevo_gguf *g, const char *name);

// Typed reads of a scalar value, with the key, type and range named on failure: any integer
// type that fits; F32 or F64 for doubles; a string.
kevo_status kevo_gguf_get_u64(const kevo_gguf *g, const char *key, uint64_t *out,
                              kevo_error *err);
kevo_status kevo_gguf_get_f64(const kevo_gguf *g, const char *key, double *out, kevo_error *err);
kevo_status kevo_gguf_get_str(const kevo_gguf *g, const char *key, kevo_gguf_str *out,
                              kevo_error *err);

// Element i of an array of numbers, widened (integers exactly, floats to double).
double kevo_gguf_array_f64(const kevo_gguf_kv *kv, uint64_t i);

// The name of a ggml tensor type ("Q4_K"), or NULL when kevo does not know it.
const char *kevo_gguf_type_name(uint32_t ggml_type);

// The kevo_dtype kevo computes with for a ggml tensor type, or -1 for a type it reads but
// does not decode (the IQ*_S/XS, TQ, MXFP4 and Q8_K families, integer tensors).
int kevo_gguf_dtype(uint32_t ggml_type);

// ---- a model as llama.cpp ships one: a text model and an mmproj file (gguf_model.c)

// Whether src names a GGUF model: a vision file named apart, a .gguf file, or a folder holding
// .gguf files and no config.json.
int kevo_gguf_model_is(const kevo_model_source *src);

// The text model's and the mmproj file's paths of a GGUF model: with src->mmproj, src->path and
// it (src->path a file: a folder is KEVO_ERR_ARG); else for a file, the file and the one
// mmproj*.gguf beside it; for a folder, its one mmproj*.gguf and its one other .gguf.
kevo_status kevo_gguf_model_files(const kevo_model_source *src, char text[KEVO_PATH_MAX],
                                  char mmproj[KEVO_PATH_MAX], kevo_error *err);

#endif
