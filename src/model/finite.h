// finite.h — finding NaN and Inf: in activations (cheap, every layer of every step) and, once
// one has appeared, in the weight tensors that could have produced it.
//
// Checking every weight at load would read the whole checkpoint (14 GB for LLaVA-7B); instead
// the engine checks each layer's output, which costs n * D comparisons next to the layer's
// n * D * D multiply-adds, and scans only that layer's tensors when the output is not finite.
#ifndef KEVO_MODEL_FINITE_H
#define KEVO_MODEL_FINITE_H

#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"
#include "kevo.h"
#include "model/weights.h"

// The index of the first NaN or ±Inf in x[0, n), or -1.
long long kevo_first_nonfinite(const float *x, size_t n);

// The index of the first NaN or ±Inf element of a stored F32 / F16 / BF16 / F64 tensor or of a
// block type's decoded values, or -1 (also for integer tensors).
long long kevo_tensor_first_nonfinite(const kevo_tensor *t);

// Scans weights[0, n) (entries with no tensor are skipped) and appends to `msg` (size bytes)
// "; <tensor> holds <NaN|Inf> at element i (byte b of <file>)" (for a block type: "(its <type>
// block k, byte b of <file>)", b the block's first byte) for the first that is not
// finite, or `none` when every one is. Returns 1 when a culprit was found.
int kevo_name_nonfinite_weight(const kevo_weight *const *weights, int n, char *msg, size_t size,
                               const char *none);

// When x[0, rows * width) is finite, KEVO_OK. Otherwise a KEVO_ERR_MODEL error: "<where> holds
// <NaN|Inf> (row r, element e)" and the culprit among `weights` (or `none`). `where` is
// printf-formatted, e.g. "text layer 3 at step 2".
kevo_status kevo_check_finite(const float *x, size_t rows, size_t width,
                              const kevo_weight *const *weights, int n_weights, const char *none,
                              kevo_error *err, const char *where_fmt, ...)
    __attribute__((format(printf, 8, 9)));

#endif
