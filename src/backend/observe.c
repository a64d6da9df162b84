/* The process-wide engine-call observer and streams gauge; see observe.h. */
#include "backend/observe.h"

#include <stdatomic.h>
#include <stddef.h>

typedef struct observer {
    cs_engine_observer_fn fn;
    void *arg;
} observer;

static observer the_observer;
static _Atomic(observer *) current;
static atomic_uint_fast64_t streams_open;

void cs_engine_set_observer(cs_engine_observer_fn fn, void *arg)
{
    if (!fn) {
        atomic_store(&current, NULL);
        return;
    }
    the_observer.fn = fn;
    the_observer.arg = arg;
    atomic_store(&current, &the_observer);
}

bool cs_engine_observed(void)
{
    return atomic_load(&current) != NULL;
}

void cs_engine_observe(const char *op, const char *result, int64_t duration_ns)
{
    observer *o = atomic_load(&current);
    if (o)
        o->fn(o->arg, op, result, duration_ns);
}

void cs_engine_streams_add(int delta)
{
    if (delta > 0)
        atomic_fetch_add(&streams_open, (uint_fast64_t)delta);
    else
        atomic_fetch_sub(&streams_open, (uint_fast64_t)-delta);
}

uint64_t cs_engine_streams_open(void)
{
    return atomic_load(&streams_open);
}
