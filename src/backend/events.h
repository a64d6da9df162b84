/* Container events fanned out to subscribers. One engine reader publishes;
 * each GetContainerEvents stream subscribes. Queues are bounded: a subscriber
 * that falls that far behind is ended (RESOURCE_EXHAUSTED) instead of growing
 * memory. */
#ifndef CS_EVENTS_H
#define CS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ctx.h"
#include "util/error.h"

/* CRI's ContainerEventType numbering. */
typedef enum cs_event_type {
    CS_EVENT_CREATED = 0,
    CS_EVENT_STARTED = 1,
    CS_EVENT_STOPPED = 2,
    CS_EVENT_DELETED = 3,
} cs_event_type;

typedef struct cs_event {
    char container_id[72];
    char sandbox_id[72];
    bool is_sandbox; /* the event is about a pod's infra container */
    cs_event_type type;
    int64_t time_ns;
} cs_event;

typedef struct cs_event_hub cs_event_hub;
typedef struct cs_event_sub cs_event_sub;

cs_event_hub *cs_event_hub_new(size_t queue_len);
/* Ends every subscription (their next call fails) and frees the hub once the
 * last subscriber has unsubscribed. */
void cs_event_hub_free(cs_event_hub *h);

cs_event_sub *cs_event_subscribe(cs_event_hub *h);
void cs_event_unsubscribe(cs_event_sub *s);
size_t cs_event_subscribers(cs_event_hub *h);

void cs_event_publish(cs_event_hub *h, const cs_event *e);

/* Waits up to timeout_ms for the next event: 0 with *out filled, 1 on
 * timeout, -1 when the subscription was dropped (overflow or shutdown). */
int cs_event_next(cs_event_sub *s, int timeout_ms, cs_event *out, cs_error *err);

#endif
