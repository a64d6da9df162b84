/* Which containers' logs are still being written. An engine's log pipeline
 * adds a container before the engine can run it and removes it once every
 * byte the container wrote is in its CRI log file (its streams drained);
 * whoever reports an exit (ContainerStatus, the lists, the event feed) waits
 * for that first, bounded. Each container carries the pipeline's own state
 * (user), which the pipeline looks at under the table's lock, so another
 * thread (ReopenContainerLog) can't race its removal. Shared by the engines:
 * Docker's log streams, containerd's FIFOs. */
#ifndef CS_LOGDRAIN_H
#define CS_LOGDRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ctx.h"

typedef struct cs_logdrain cs_logdrain;

/* Not ready: cs_logdrain_wait also waits for cs_logdrain_ready (after a
 * restart, the pass that adds the existing containers). */
cs_logdrain *cs_logdrain_new(void);
/* Gives every remaining user to free_user (may be NULL), then frees. */
void cs_logdrain_free(cs_logdrain *t, void (*free_user)(void *user));

/* Adds id (up to 79 bytes) with user; false when id is already there (or too
 * long), and nothing was added. */
bool cs_logdrain_add(cs_logdrain *t, const char *id, void *user);
/* Runs fn(user, arg) under the table's lock when id is there and returns
 * its result; else returns absent. fn must not call back into the table. */
int cs_logdrain_with(cs_logdrain *t, const char *id, int (*fn)(void *user, void *arg), void *arg, int absent);
/* Removes id unless keep(user) says otherwise (keep NULL: always), waking
 * waiters; returns the removed user (the caller frees it), else NULL. */
void *cs_logdrain_remove(cs_logdrain *t, const char *id, bool (*keep)(void *user));

/* Every container that may still write is in the table. */
void cs_logdrain_ready(cs_logdrain *t);
/* Shutting down: waits return at once from now on. */
void cs_logdrain_stop(cs_logdrain *t);
/* Waits until the table is ready (or stops), at most until deadline_ms;
 * true when ready. For whoever looks a container up in the table right
 * after a restart (attach). */
bool cs_logdrain_wait_ready(cs_logdrain *t, int64_t deadline_ms);
/* Waits until none of ids is in the table (and the table is ready), or until
 * deadline_ms (CLOCK_MONOTONIC, cs_time_mono_ms). True when drained. */
bool cs_logdrain_wait(cs_logdrain *t, const char *const *ids, size_t n, int64_t deadline_ms);

/* What an exit report waits: until ids are drained, at most max_ms and
 * never past ctx's deadline; a wait that ends undrained (but not for a
 * shutdown) is logged at debug level. n 0: returns at once. */
void cs_logdrain_wait_report(cs_logdrain *t, const char *const *ids, size_t n, const cs_ctx *ctx, int64_t max_ms);

#endif
