// dequant_avx512.c — ggml's block types decoded 16 floats at a time (AVX-512), dequant_body.h.
#define W 16
#define TABLE_FN kevo_dequant_avx512
#include "kernels/dequant_body.h"
