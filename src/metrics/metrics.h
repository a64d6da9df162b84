/* crishim's own metrics in the Prometheus text format: per-RPC counts by
 * status code, latency histograms, calls in flight, engine-call latency by
 * operation and result, engine streams open, the process's memory and open
 * files. Served on --metrics-addr (off by default). */
#ifndef CS_METRICS_H
#define CS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct cs_metrics cs_metrics;

cs_metrics *cs_metrics_new(void);
void cs_metrics_free(cs_metrics *m);

/* The RPC server's per-call observer (see cs_server_set_observer). */
void cs_metrics_observe(void *m, const char *method, cs_code code, int64_t duration_ns);
/* Where the current number of calls in flight comes from. */
void cs_metrics_set_inflight_source(cs_metrics *m, size_t (*fn)(void *), void *arg);

/* Where the number of streaming server sessions (exec, attach,
 * port-forward) comes from. */
void cs_metrics_set_sessions_source(cs_metrics *m, size_t (*fn)(void *), void *arg);
/* The engine-call observer (a cs_engine_observer_fn, backend/observe.h): a
 * latency histogram per operation and result. */
void cs_metrics_observe_engine(void *m, const char *op, const char *result, int64_t duration_ns);
/* Where the number of open engine streams comes from (cs_engine_streams_open). */
void cs_metrics_set_engine_streams_source(cs_metrics *m, uint64_t (*fn)(void));

/* The exposition text (malloc'd). */
char *cs_metrics_render(cs_metrics *m);

/* Serves GET /metrics on "host:port" until cs_metrics_stop. */
int cs_metrics_serve(cs_metrics *m, const char *addr, cs_error *err);
void cs_metrics_stop(cs_metrics *m);

#endif
