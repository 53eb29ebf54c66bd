// finite.c — NaN and Inf in activations and in stored tensors (see finite.h).
#include "model/finite.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/quant.h"

long long kevo_first_nonfinite(const float *x, size_t n)
{
    // Blocks of integer tests (all exponent bits set) that the compiler vectorises; the element
    // itself is looked for only in a block that holds one.
    enum { BLOCK = 1024 };
    for (size_t b = 0; b < n; b += BLOCK) {
        size_t e = n - b < BLOCK ? n - b : BLOCK;
        uint32_t bad = 0;
        for (size_t i = 0; i < e; i++) {
            uint32_t u;
            memcpy(&u, x + b + i, 4);
            bad |= (u & 0x7f800000u) == 0x7f800000u;
        }
        if (bad)
            for (size_t i = 0; i < e; i++)
                if (!isfinite(x[b + i]))
                    return (long long)(b + i);
    }
    return -1;
}

// A block type's values are finite unless a block's F16 scale is not (the packed integers are
// bounded), so each block is decoded and its values tested: the culprit is named by element.
static long long first_nonfinite_in_blocks(const kevo_tensor *t)
{
    size_t per = (size_t)kevo_dtype_block_elems(t->dtype), bytes = kevo_dtype_block_bytes(t->dtype);
    float v[256];
    for (uint64_t b = 0; b < t->n_elems / per; b++) {
        kevo_dequant(t->dtype, (const unsigned char *)t->data + b * bytes, v, per);
        long long i = kevo_first_nonfinite(v, per);
        if (i >= 0)
            return (long long)(b * per) + i;
    }
    return -1;
}

long long kevo_tensor_first_nonfinite(const kevo_tensor *t)
{
    if (kevo_dtype_is_block(t->dtype))
        return first_nonfinite_in_blocks(t);
    const unsigned char *p = t->data;
    for (uint64_t i = 0; i < t->n_elems; i++) {
        uint32_t u32;
        uint16_t u16;
        uint64_t u64;
        switch (t->dtype) {
        case KEVO_DTYPE_F32:
            memcpy(&u32, p + 4 * i, 4);
            if ((u32 & 0x7f800000u) == 0x7f800000u)
                return (long long)i;
            break;
        case KEVO_DTYPE_F16:
            memcpy(&u16, p + 2 * i, 2);
            if ((u16 & 0x7c00u) == 0x7c00u)
                return (long long)i;
            break;
        case KEVO_DTYPE_BF16:
            memcpy(&u16, p + 2 * i, 2);
            if ((u16 & 0x7f80u) == 0x7f80u)
                return (long long)i;
            break;
        case KEVO_DTYPE_F64:
            memcpy(&u64, p + 8 * i, 8);
            if ((u64 & 0x7ff0000000000000ull) == 0x7ff0000000000000ull)
                return (long long)i;
            break;
        default:
            return -1;
        }
    }
    return -1;
}

static const char *kind_of(float v)
{
    return isnan(v) ? "NaN" : v < 0 ? "-Inf" : "+Inf";
}

// NaN or Inf, from the stored bits of element i (of its decoded block for a block type).
static const char *kind_at(const kevo_tensor *t, uint64_t i)
{
    const unsigned char *p = t->data;
    uint32_t u32 = 0;
    uint16_t u16 = 0;
    uint64_t u64 = 0;
    if (kevo_dtype_is_block(t->dtype)) {
        size_t per = (size_t)kevo_dtype_block_elems(t->dtype);
        float v[256];
        kevo_dequant(t->dtype, p + i / per * kevo_dtype_block_bytes(t->dtype), v, per);
        return kind_of(v[i % per]);
    }
    switch (t->dtype) {
    case KEVO_DTYPE_F32:
        memcpy(&u32, p + 4 * i, 4);
        return u32 & 0x007fffffu ? "NaN" : u32 >> 31 ? "-Inf" : "+Inf";
    case KEVO_DTYPE_F16:
        memcpy(&u16, p + 2 * i, 2);
        return u16 & 0x03ffu ? "NaN" : u16 >> 15 ? "-Inf" : "+Inf";
    case KEVO_DTYPE_BF16:
        memcpy(&u16, p + 2 * i, 2);
        return u16 & 0x007fu ? "NaN" : u16 >> 15 ? "-Inf" : "+Inf";
    default:
        memcpy(&u64, p + 8 * i, 8);
        return u64 & 0x000fffffffffffffull ? "NaN" : u64 >> 63 ? "-Inf" : "+Inf";
    }
}

int kevo_name_nonfinite_weight(const kevo_weight *const *weights, int n, char *msg, size_t size,
                               const char *none)
{
    size_t used = strlen(msg);
    for (int k = 0; k < n; k++) {
        const kevo_tensor *t = weights[k] ? weights[k]->t : NULL;
        long long i = t ? kevo_tensor_first_nonfinite(t) : -1;
        if (i < 0)
            continue;
        if (used >= size)
            return 1;
        if (kevo_dtype_is_block(t->dtype)) {   // the block's bytes: its scales are the culprit
            uint64_t block = (uint64_t)i / (uint64_t)kevo_dtype_block_elems(t->dtype);
            snprintf(msg + used, size - used,
                     "; %s holds %s at element %lld (its %s block %llu, byte %llu of %s)", t->name,
                     kind_at(t, (uint64_t)i), i, kevo_dtype_name(t->dtype),
                     (unsigned long long)block,
                     (unsigned long long)(t->file_offset +
                                          block * kevo_dtype_block_bytes(t->dtype)), t->path);
        } else {
            snprintf(msg + used, size - used, "; %s holds %s at element %lld (byte %llu of %s)",
                     t->name, kind_at(t, (uint64_t)i), i,
                     (unsigned long long)(t->file_offset +
                                          (uint64_t)i * kevo_dtype_size(t->dtype)), t->path);
        }
        return 1;
    }
    if (used < size && none)
        snprintf(msg + used, size - used, "%s", none);
    return 0;
}

kevo_status kevo_check_finite(const float *x, size_t rows, size_t width,
                              const kevo_weight *const *weights, int n_weights, const char *none,
                              kevo_error *err, const char *where_fmt, ...)
{
    long long at = kevo_first_nonfinite(x, rows * width);
    if (at < 0)
        return KEVO_OK;
    char msg[1024], where[256];
    va_list ap;
    va_start(ap, where_fmt);
    vsnprintf(where, sizeof where, where_fmt, ap);
    va_end(ap);
    float v = x[at];
    snprintf(msg, sizeof msg, "%s holds %s (row %lld, element %lld)", where, kind_of(v),
             at / (long long)width,
             at % (long long)width);
    kevo_name_nonfinite_weight(weights, n_weights, msg, sizeof msg, none);
    return kevo_fail(err, KEVO_ERR_MODEL, "%s", msg);
}
