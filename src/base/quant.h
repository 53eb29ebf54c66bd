// quant.h — ggml's block types (kevo_dtype Q4_0 .. IQ4_NL, from GGUF files) decoded to F32.
//
// A row of a block type is a sequence of blocks of 32 or 256 elements, each holding F16 scales
// and packed integers (the structs of ggml-common.h: block_q4_0 ... block_q6_K, block_iq4_nl).
// The decoders are written from ggml-quants.c's dequantize_row_* and give the same F32 values to
// the bit: every product and sum is rounded to F32 in ggml's order (this file is compiled as ISO
// C, so the compiler never fuses a multiply and an add). tools/pylib/gguf_quants.py is the
// independent numpy statement the tests compare with.
#ifndef KEVO_BASE_QUANT_H
#define KEVO_BASE_QUANT_H

#include <stddef.h>

#include "kevo.h"

static inline int kevo_dtype_is_block(kevo_dtype dt)
{
    return kevo_dtype_block_elems(dt) > 1;
}

// Bytes of n elements of dtype stored contiguously (n a multiple of the block for block types).
static inline size_t kevo_dtype_bytes(kevo_dtype dt, size_t n)
{
    return n / (size_t)kevo_dtype_block_elems(dt) * kevo_dtype_block_bytes(dt);
}

// Decodes n elements (a multiple of the block) of a block type from blocks into y.
void kevo_dequant(kevo_dtype dt, const void *blocks, float *y, size_t n);

#endif
