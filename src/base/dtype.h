// dtype.h — internal helpers for kevo_dtype (names and sizes are public in kevo.h).
#ifndef KEVO_BASE_DTYPE_H
#define KEVO_BASE_DTYPE_H

#include "kevo.h"

// Returns the dtype named `name` ("F16", ...), or -1 when the name is unknown.
int kevo_dtype_parse(const char *name);

// Weights may be stored in F32, F16, BF16 or (from GGUF files) ggml's block types; everything
// else is parsed but refused for weights.
static inline int kevo_dtype_is_weight(kevo_dtype d)
{
    return d == KEVO_DTYPE_F32 || d == KEVO_DTYPE_F16 || d == KEVO_DTYPE_BF16 ||
           (d >= KEVO_DTYPE_Q4_0 && d <= KEVO_DTYPE_IQ4_NL);
}

#endif
