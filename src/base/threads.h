// threads.h — how many threads a parallel loop of kevo runs with, decided in one place.
//
// The engine's loops name their team size (`num_threads(n)`) from the count their caller holds
// (a run's, kevo_run_params.n_threads), so no OpenMP or OpenBLAS setting of the process decides
// it and creating a run changes none. A count of 0 means OpenMP's default for the calling
// thread: OMP_NUM_THREADS, or the cores, or what the application chose with kevo_set_threads
// (kevo.h). Which thread computes an element never changes its value (docs/engine.md).
#ifndef KEVO_BASE_THREADS_H
#define KEVO_BASE_THREADS_H

// `requested` when positive, else OpenMP's default team size for the calling thread.
int kevo_threads_resolve(int requested);

// Makes OpenBLAS single-threaded, once per process; call it before calling into OpenBLAS.
void kevo_threads_blas_single(void);

#endif
