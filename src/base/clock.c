// clock.c — seconds on a monotonic clock (kevo.h, kevo/files.h).
#include "kevo.h"

#include <time.h>

double kevo_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
