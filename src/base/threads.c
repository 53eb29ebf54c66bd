// threads.c — thread counts (see threads.h) and the library's one OpenBLAS setting.
#include "base/threads.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>

#include "kevo.h"

int kevo_threads_resolve(int requested)
{
    return requested > 0 ? requested : omp_get_max_threads();
}

void kevo_set_threads(int n)
{
    if (n > 0)
        omp_set_num_threads(n);
}

// kevo calls cblas_sgemm from inside its own parallel loops, one call per attention head (or
// per t-SNE block), each owned by one of kevo's threads. OpenBLAS's own threads would multiply
// kevo's and spin beside them, and its sums would depend on how many it used; single-threaded,
// the bits depend only on kevo's fixed blocking. Set once and never restored: waking OpenBLAS's
// threads again would leave them spinning beside kevo's.
static void blas_single(void)
{
    openblas_set_num_threads(1);
}

void kevo_threads_blas_single(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_single);
}
