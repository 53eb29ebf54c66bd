// bench_random.h — the benchmarks' synthetic data: one fixed linear congruential generator, so
// that every run of a benchmark times the same numbers.
#ifndef KEVO_BENCH_RANDOM_H
#define KEVO_BENCH_RANDOM_H

#include <stdint.h>

static uint64_t bench_rng = 0x9e3779b97f4a7c15ull;

static inline float uniform(void)   // in [-1, 1)
{
    bench_rng = bench_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(bench_rng >> 40) / (double)(1 << 23)) - 1.0f;
}

#endif
