// dtype.c — names and sizes of the element types safetensors files may hold.
#include <string.h>

#include "kevo.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[KEVO_DTYPE_COUNT] = {
    [KEVO_DTYPE_BOOL] = {"BOOL", 1}, [KEVO_DTYPE_U8] = {"U8", 1},     [KEVO_DTYPE_I8] = {"I8", 1},
    [KEVO_DTYPE_I16] = {"I16", 2},   [KEVO_DTYPE_U16] = {"U16", 2},   [KEVO_DTYPE_F16] = {"F16", 2},
    [KEVO_DTYPE_BF16] = {"BF16", 2}, [KEVO_DTYPE_I32] = {"I32", 4},   [KEVO_DTYPE_U32] = {"U32", 4},
    [KEVO_DTYPE_F32] = {"F32", 4},   [KEVO_DTYPE_F64] = {"F64", 8},   [KEVO_DTYPE_I64] = {"I64", 8},
    [KEVO_DTYPE_U64] = {"U64", 8},   [KEVO_DTYPE_F8_E4M3] = {"F8_E4M3", 1},
    [KEVO_DTYPE_F8_E5M2] = {"F8_E5M2", 1},
};

const char *kevo_dtype_name(kevo_dtype dtype)
{
    return (unsigned)dtype < KEVO_DTYPE_COUNT ? dtypes[dtype].name : "?";
}

size_t kevo_dtype_size(kevo_dtype dtype)
{
    return (unsigned)dtype < KEVO_DTYPE_COUNT ? dtypes[dtype].size : 0;
}

// Returns the dtype named `name`, or -1 when the name is unknown.
int kevo_dtype_parse(const char *name)
{
    for (int i = 0; i < KEVO_DTYPE_COUNT; i++)
        if (strcmp(dtypes[i].name, name) == 0)
            return i;
    return -1;
}
