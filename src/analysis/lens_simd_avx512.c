// lens_simd_avx512.c — the lens's reductions on 8 doubles (AVX-512F), lens_simd_body.h.
#define LANES 8
#define VEXP _ZGVeN8v_exp
#define VEXPM1 _ZGVeN8v_expm1
#define VLOG1P _ZGVeN8v_log1p
#define TABLE kevo_lens_simd_avx512
#include "analysis/lens_simd_body.h"
