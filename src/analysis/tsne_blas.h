// tsne_blas.h — OpenBLAS run single-threaded inside kevo's own parallel loops.
//
// OpenBLAS's sgemm gives different roundings for different numbers of its own threads, so the
// t-SNE code splits every large product into fixed blocks, one call per block, and spreads the
// blocks over OpenMP threads: the bits then depend on the blocking only, never on the thread
// count. The previous OpenBLAS thread count is restored afterwards.
#ifndef KEVO_ANALYSIS_TSNE_BLAS_H
#define KEVO_ANALYSIS_TSNE_BLAS_H

#include <cblas.h>

static inline int kevo_blas_serial_begin(void)
{
    int before = openblas_get_num_threads();
    openblas_set_num_threads(1);
    return before;
}

static inline void kevo_blas_serial_end(int before)
{
    openblas_set_num_threads(before);
}

#endif
