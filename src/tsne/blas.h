// blas.h — OpenBLAS run single-threaded inside kevo's own parallel loops.
//
// OpenBLAS's sgemm gives different roundings for different numbers of its own threads, so the
// t-SNE code splits every large product into fixed blocks, one call per block, and spreads the
// blocks over OpenMP threads: the bits then depend on the blocking only, never on the thread
// count. kevo runs OpenBLAS single-threaded throughout (the engine's kevo_threads_blas_single
// does the same); the setting is not restored afterwards, because waking OpenBLAS's own threads
// again would leave them spinning beside kevo's.
#ifndef KEVO_TSNE_BLAS_H
#define KEVO_TSNE_BLAS_H

#include <cblas.h>

static inline void kevo_blas_single_thread(void)
{
    openblas_set_num_threads(1);
}

#endif
