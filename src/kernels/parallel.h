// parallel.h — when a loop is worth OpenMP threads.
//
// A parallel region costs a few microseconds on an idle machine, and far more when another
// program shares the cores (a waiting thread spins, then sleeps, while the thread it waits for is
// descheduled). Loops with less work than this (counted in multiply-adds or elements) run on the
// calling thread. Which thread computes an element never changes its value, so results do not
// depend on this choice.
#ifndef KEVO_KERNELS_PARALLEL_H
#define KEVO_KERNELS_PARALLEL_H

#define KEVO_PARALLEL_MIN_WORK (1 << 17)

#endif
