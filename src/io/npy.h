// npy.h — reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0).
//
// Format (numpy/lib/format.py): the magic "\x93NUMPY", a major and minor version byte, a
// little-endian header length (u16 in 1.0, u32 in 2.0/3.0), then an ASCII Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with spaces and a newline,
// then the raw array bytes. Little-endian numeric types only; arrays stored in Fortran order are
// transposed into C order on reading.
#ifndef KEVO_IO_NPY_H
#define KEVO_IO_NPY_H

#include <stdint.h>

#include "io/safetensors.h"
#include "kevo.h"

typedef struct kevo_npy kevo_npy;

// Opens and validates `path`. The array is exposed as a kevo_tensor (name = the file's base
// name) whose data is borrowed from the returned object (mapped, or copied when the file stores
// it in Fortran order or misaligned).
kevo_status kevo_npy_open(const char *path, kevo_npy **out, kevo_error *err);
void kevo_npy_free(kevo_npy *f);   // accepts NULL
const kevo_tensor *kevo_npy_tensor(const kevo_npy *f);

// Writes a C-order array of `dtype` with the given shape to `path`, atomically (format 1.0,
// header padded to 64 bytes like numpy's writer). Multi-byte types are stored little-endian.
kevo_status kevo_npy_write(const char *path, kevo_dtype dtype, int n_dims, const int64_t *shape,
                           const void *data, kevo_error *err);

#endif
