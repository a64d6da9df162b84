/* Engine-call observation, engine-neutral: whichever engine client crishim
 * uses (Docker's HTTP client, containerd's gRPC client) reports each engine
 * call here as an operation name, a result class and a duration, and counts
 * its streaming calls; the metrics module (or anything else) observes.
 *
 * Process-wide, lock-free on the reporting side. The observer must outlive
 * every call that may still report: unset it, and stop the engine's users,
 * before freeing its arg. */
#ifndef CS_BACKEND_OBSERVE_H
#define CS_BACKEND_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>

/* op: a bounded name ("GET /containers/{id}/json",
 * "containerd.services.tasks.v1.Tasks/Start"); result: a small set ("ok",
 * "not_found", "conflict", "client_error", "server_error", "deadline",
 * "cancelled", "unavailable", "error"). */
typedef void (*cs_engine_observer_fn)(void *arg, const char *op, const char *result, int64_t duration_ns);

/* NULL fn unsets. */
void cs_engine_set_observer(cs_engine_observer_fn fn, void *arg);
/* Whether anyone observes: engines skip naming the operation when not. */
bool cs_engine_observed(void);
/* One finished (non-streaming) engine call. */
void cs_engine_observe(const char *op, const char *result, int64_t duration_ns);

/* Streaming engine calls (events, logs, pulls) open now, over all clients. */
void cs_engine_streams_add(int delta);
uint64_t cs_engine_streams_open(void);

#endif
