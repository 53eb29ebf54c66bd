// dtype.c — names and sizes of the element types safetensors files may hold and of the block
// types of GGUF files.
#include <string.h>

#include "kevo.h"

// Block types: elements and bytes per block from ggml's type traits (ggml.c type_traits:
// blck_size, type_size) and the structs of ggml-common.h.
static const struct {
    const char *name;
    size_t size;    // bytes per element, or per block
    int block;      // elements per block (1 for the element types)
} dtypes[KEVO_DTYPE_COUNT] = {
    [KEVO_DTYPE_BOOL] = {"BOOL", 1, 1}, [KEVO_DTYPE_U8] = {"U8", 1, 1},
    [KEVO_DTYPE_I8] = {"I8", 1, 1}, [KEVO_DTYPE_I16] = {"I16", 2, 1},
    [KEVO_DTYPE_U16] = {"U16", 2, 1}, [KEVO_DTYPE_F16] = {"F16", 2, 1},
    [KEVO_DTYPE_BF16] = {"BF16", 2, 1}, [KEVO_DTYPE_I32] = {"I32", 4, 1},
    [KEVO_DTYPE_U32] = {"U32", 4, 1}, [KEVO_DTYPE_F32] = {"F32", 4, 1},
    [KEVO_DTYPE_F64] = {"F64", 8, 1}, [KEVO_DTYPE_I64] = {"I64", 8, 1},
    [KEVO_DTYPE_U64] = {"U64", 8, 1}, [KEVO_DTYPE_F8_E4M3] = {"F8_E4M3", 1, 1},
    [KEVO_DTYPE_F8_E5M2] = {"F8_E5M2", 1, 1},
    [KEVO_DTYPE_Q4_0] = {"Q4_0", 18, 32},   [KEVO_DTYPE_Q4_1] = {"Q4_1", 20, 32},
    [KEVO_DTYPE_Q5_0] = {"Q5_0", 22, 32},   [KEVO_DTYPE_Q5_1] = {"Q5_1", 24, 32},
    [KEVO_DTYPE_Q8_0] = {"Q8_0", 34, 32},   [KEVO_DTYPE_Q2_K] = {"Q2_K", 84, 256},
    [KEVO_DTYPE_Q3_K] = {"Q3_K", 110, 256}, [KEVO_DTYPE_Q4_K] = {"Q4_K", 144, 256},
    [KEVO_DTYPE_Q5_K] = {"Q5_K", 176, 256}, [KEVO_DTYPE_Q6_K] = {"Q6_K", 210, 256},
    [KEVO_DTYPE_IQ4_NL] = {"IQ4_NL", 18, 32},
};

const char *kevo_dtype_name(kevo_dtype dtype)
{
    return (unsigned)dtype < KEVO_DTYPE_COUNT ? dtypes[dtype].name : "?";
}

size_t kevo_dtype_size(kevo_dtype dtype)
{
    return (unsigned)dtype < KEVO_DTYPE_COUNT && dtypes[dtype].block <= 1 ? dtypes[dtype].size : 0;
}

int kevo_dtype_block_elems(kevo_dtype dtype)
{
    return (unsigned)dtype < KEVO_DTYPE_COUNT && dtypes[dtype].block > 1 ? dtypes[dtype].block : 1;
}

size_t kevo_dtype_block_bytes(kevo_dtype dtype)
{
    return (unsigned)dtype < KEVO_DTYPE_COUNT ? dtypes[dtype].size : 0;
}

// Returns the element type named `name` (a safetensors dtype), or -1 when the name is unknown.
// Block types are not safetensors dtypes: a file naming one is refused as for any unknown name.
int kevo_dtype_parse(const char *name)
{
    for (int i = 0; i < KEVO_DTYPE_COUNT; i++)
        if (dtypes[i].block <= 1 && strcmp(dtypes[i].name, name) == 0)
            return i;
    return -1;
}
