/* GetContainerEvents: a server stream of container lifecycle events with the
 * pod's status and the container's, fed by the backend's event hub. Each
 * event is built in a scratch arena reset per event, so a stream that runs
 * for days stays small. */
#include <string.h>

#include "cri/internal.h"
#include "util/time.h"

/* How often a waiting stream looks at cancellation and shutdown. */
#define POLL_MS 500

static Runtime__V1__ContainerEventResponse *event_msg(cri_runtime *rt, const cs_ctx *ctx, const cs_event *e,
                                                      cs_arena *a)
{
    Runtime__V1__ContainerEventResponse *r =
        CRI_ALLOC(a, Runtime__V1__ContainerEventResponse, RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT);
    r->container_id = cs_arena_strdup(a, e->container_id);
    r->container_event_type = (Runtime__V1__ContainerEventType)e->type;
    r->created_at = e->time_ns;
    cs_error ignored; /* an event without its status still goes out */
    cs_sandbox *s;
    if (e->sandbox_id[0] && cs_backend_sandbox_status(rt->backend, ctx, e->sandbox_id, false, a, &s, &ignored) == 0)
        r->pod_sandbox_status = cri_sandbox_status_msg(s, a);
    cs_container *c;
    if (!e->is_sandbox && e->type != CS_EVENT_DELETED &&
        cs_backend_container_status(rt->backend, ctx, e->container_id, false, a, &c, &ignored) == 0) {
        r->n_containers_statuses = 1;
        r->containers_statuses = cs_arena_array(a, 1, sizeof *r->containers_statuses);
        r->containers_statuses[0] = cri_container_status_msg(c, a);
    }
    return r;
}

int cri_get_container_events(cs_call *call, const ProtobufCMessage *req, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    CRI_NEED_OP(call, events, err);
    cs_event_hub *hub = cs_backend_events(rt->backend);
    if (!hub)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "container events are not available");
    cs_event_sub *sub = cs_event_subscribe(hub);
    cs_arena *scratch = cs_arena_new();
    int rc = 0;
    while (!cs_call_cancelled(call)) {
        cs_event e;
        int got = cs_event_next(sub, POLL_MS, &e, err);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 1)
            continue;
        cs_arena_reset(scratch);
        /* status look-ups get a short deadline of their own: the stream has none */
        cs_ctx ctx = *cs_call_ctx(call);
        if (ctx.deadline_ms == 0)
            ctx.deadline_ms = cs_time_mono_ms() + 10000;
        Runtime__V1__ContainerEventResponse *r = event_msg(rt, &ctx, &e, scratch);
        if (cs_call_send(call, &r->base, err) != 0) {
            rc = -1;
            break;
        }
    }
    cs_arena_free(scratch);
    cs_event_unsubscribe(sub);
    if (rc == 0 && cs_call_cancelled(call))
        rc = cs_error_set(err, CS_ERR_CANCELLED, "client went away");
    return rc;
}
