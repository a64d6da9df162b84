/* Latency samples for the benchmarks: appended from any thread, read as
 * percentiles once the run is over. */
#ifndef CS_BENCH_SAMPLES_H
#define CS_BENCH_SAMPLES_H

#include <pthread.h>
#include <stddef.h>

typedef struct samples {
    double *ms;
    size_t n, cap;
    pthread_mutex_t mu; /* PTHREAD_MUTEX_INITIALIZER or zero-initialised */
} samples;

void add_sample(samples *s, double ms);
/* The p-th quantile (0..1) in ms; sorts the samples in place. 0 when none. */
double pct(samples *s, double p);

#endif
