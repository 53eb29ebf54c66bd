// cpu.c — CPU feature detection and the choice of kernel table (see cpu.h).
// __builtin_cpu_supports checks both CPUID and that the OS saves the wide registers (XGETBV).
#include "kernels/cpu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// The x86 tables and feature checks exist only when the compiler targets x86: the Makefile
// compiles *_avx2.c / *_avx512.c there only. Elsewhere (aarch64, docs/aarch64.md) every x86
// feature reads as absent, the x86 tables as missing, and the scalar reference runs.
#if defined(__x86_64__) || defined(__i386__)
#define cpu_init() __builtin_cpu_init()
#define cpu_has(feature) __builtin_cpu_supports(feature)
#define x86_table(t) (&(t))
#else
#define cpu_init() ((void)0)
#define cpu_has(feature) 0
#define x86_table(t) NULL
#endif

static int has_avx2(void)
{
    return cpu_has("avx2") && cpu_has("fma") && cpu_has("f16c");
}

static int has_avx512(void)
{
    return has_avx2() && cpu_has("avx512f") && cpu_has("avx512bw") && cpu_has("avx512vl") &&
           cpu_has("avx512dq");
}

int kevo_cpu_has_bf16_products(void)
{
    cpu_init();
    return has_avx512() && cpu_has("avx512bf16");
}

const kevo_kernels *kevo_kernels_for(const char *isa)
{
    cpu_init();
    if (strcmp(isa, "ref") == 0)
        return &kevo_kernels_ref;
    if (strcmp(isa, "avx2") == 0)
        return has_avx2() ? x86_table(kevo_kernels_avx2) : NULL;
    if (strcmp(isa, "avx512") == 0)
        return has_avx512() ? x86_table(kevo_kernels_avx512) : NULL;
    return NULL;
}

static const kevo_kernels *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *forced = getenv("KEVO_ISA");
    if (forced && (chosen = kevo_kernels_for(forced)))
        return;
    chosen = kevo_kernels_for("avx512");
    if (!chosen)
        chosen = kevo_kernels_for("avx2");
    if (!chosen)
        chosen = &kevo_kernels_ref;
}

const kevo_kernels *kevo_kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}
