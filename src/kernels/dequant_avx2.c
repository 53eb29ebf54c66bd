// dequant_avx2.c — ggml's block types decoded 8 floats at a time (AVX2), dequant_body.h.
#define W 8
#define TABLE_FN kevo_dequant_avx2
#include "kernels/dequant_body.h"
