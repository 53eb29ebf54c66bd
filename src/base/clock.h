// clock.h — seconds on a monotonic clock, for timings.
#ifndef KEVO_BASE_CLOCK_H
#define KEVO_BASE_CLOCK_H

double kevo_now(void);

#endif
