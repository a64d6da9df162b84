/* Latency samples for the benchmarks (samples.h). */
#include "samples.h"

#include <stdlib.h>

void add_sample(samples *s, double ms)
{
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->ms = realloc(s->ms, s->cap * sizeof *s->ms);
    }
    s->ms[s->n++] = ms;
    pthread_mutex_unlock(&s->mu);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double pct(samples *s, double p)
{
    if (!s->n)
        return 0;
    qsort(s->ms, s->n, sizeof *s->ms, cmp);
    size_t i = (size_t)(p * (double)(s->n - 1));
    return s->ms[i];
}
