/* grpc.health.v1.Health on every listener: SERVING while the engine answers,
 * NOT_SERVING while it doesn't. "" and the two runtime.v1 services are known;
 * any other name is NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch), as the
 * health protocol says. Check asks the engine then and there; Watch asks it
 * every HEALTH_POLL_MS and sends a status only when it changes. */
#include <string.h>
#include <time.h>

#include "cri/internal.h"
#include "grpc/health/v1/health.pb-c.h"
#include "util/time.h"

#define HEALTH_PROBE_MS 2000 /* an engine slower than this to say its version is not serving */
#define HEALTH_POLL_MS 2000
#define HEALTH_TICK_MS 200   /* how soon a Watch notices its client went away */

typedef Grpc__Health__V1__HealthCheckResponse__ServingStatus health_status;

static bool known_service(const char *name)
{
    return !name || !*name || !strcmp(name, "runtime.v1.RuntimeService") || !strcmp(name, "runtime.v1.ImageService");
}

/* One engine round trip, bounded by the call's own deadline too. */
static health_status probe(cs_call *call)
{
    cri_runtime *rt = CRI_RT(call);
    if (!rt->backend->ops->version)
        return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    const cs_ctx *cctx = cs_call_ctx(call);
    cs_ctx ctx = *cctx;
    int64_t until = cs_time_mono_ms() + HEALTH_PROBE_MS;
    if (!ctx.deadline_ms || ctx.deadline_ms > until)
        ctx.deadline_ms = until;
    cs_arena *a = cs_arena_new();
    cs_engine_version ev;
    cs_error err;
    cs_error_clear(&err);
    int rc = rt->backend->ops->version(rt->backend, &ctx, a, &ev, &err);
    cs_arena_free(a);
    return rc == 0 ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                   : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

int cri_health_check(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const Grpc__Health__V1__HealthCheckRequest *)reqm;
    if (!known_service(req->service))
        return cs_error_set(err, CS_ERR_NOT_FOUND, "health: unknown service %s", req->service);
    Grpc__Health__V1__HealthCheckResponse *r =
        CRI_NEW(call, Grpc__Health__V1__HealthCheckResponse, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT);
    r->status = probe(call);
    *resp = &r->base;
    return 0;
}

/* Sleeps ms in short ticks; false once the call is over. */
static bool wait_or_done(cs_call *call, int64_t ms)
{
    for (int64_t left = ms; left > 0; left -= HEALTH_TICK_MS) {
        if (cs_call_cancelled(call) || cs_ctx_done(cs_call_ctx(call)) || cs_call_server_stopping(call))
            return false;
        struct timespec ts = {0, (left < HEALTH_TICK_MS ? left : HEALTH_TICK_MS) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return !cs_call_cancelled(call) && !cs_ctx_done(cs_call_ctx(call)) && !cs_call_server_stopping(call);
}

int cri_health_watch(cs_call *call, const ProtobufCMessage *reqm, cs_error *err)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const Grpc__Health__V1__HealthCheckRequest *)reqm;
    bool known = known_service(req->service);
    int last = -1;
    for (;;) {
        health_status st = known ? probe(call) : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
        if ((int)st != last) {
            Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
            r.status = st;
            if (cs_call_send(call, &r.base, err) != 0)
                return -1;
            last = (int)st;
        }
        if (!wait_or_done(call, HEALTH_POLL_MS))
            break;
    }
    if (cs_call_server_stopping(call))
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "health watch: crishim is shutting down");
    if (cs_ctx_remaining_ms(cs_call_ctx(call)) == 0)
        return cs_error_set(err, CS_ERR_DEADLINE, "health watch: deadline reached");
    return cs_error_set(err, CS_ERR_CANCELLED, "health watch: client went away");
}
