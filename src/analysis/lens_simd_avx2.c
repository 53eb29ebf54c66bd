// lens_simd_avx2.c — the lens's reductions on 4 doubles (AVX2 + FMA), lens_simd_body.h.
#define LANES 4
#define VEXP _ZGVdN4v_exp
#define VEXPM1 _ZGVdN4v_expm1
#define VLOG1P _ZGVdN4v_log1p
#define TABLE kevo_lens_simd_avx2
#include "analysis/lens_simd_body.h"
