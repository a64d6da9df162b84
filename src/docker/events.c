/* Docker's event stream as CRI container events. One reader per backend
 * follows /events for crishim's containers and publishes to the hub;
 * it reconnects after an engine restart, resuming from the last event's time
 * (duplicates from that second are dropped by their nanosecond time). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker/internal.h"
#include "docker/labels.h"
#include "util/log.h"
#include "util/time.h"
#include "util/url.h"

#define RECONNECT_MS 1000

typedef struct reader_state {
    docker_backend *d;
    int64_t last_ns;
} reader_state;

static bool action_type(const char *a, cs_event_type *t)
{
    if (!strcmp(a, "create"))
        *t = CS_EVENT_CREATED;
    else if (!strcmp(a, "start"))
        *t = CS_EVENT_STARTED;
    else if (!strcmp(a, "die"))
        *t = CS_EVENT_STOPPED;
    else if (!strcmp(a, "destroy"))
        *t = CS_EVENT_DELETED;
    else
        return false;
    return true;
}

static int on_line(void *user, const char *line, size_t len, cs_error *err)
{
    reader_state *st = user;
    cs_json *j;
    if (len == 0 || cs_json_parse(line, len, &j, NULL) != 0)
        return 0;
    cs_arena *a = cs_arena_new();
    char *action = cs_json_get_str(j, 0, "Action", a);
    int64_t ns = cs_json_get_int64(j, 0, "timeNano", 0);
    int attrs = cs_json_get(j, 0, "Actor.Attributes");
    char *kind = docker_label(j, attrs, DL_KIND, a);
    char *id = cs_json_get_str(j, 0, "Actor.ID", a);
    cs_event e = {0};
    if (action && kind && id && ns > st->last_ns && action_type(action, &e.type)) {
        st->last_ns = ns;
        e.time_ns = ns;
        e.is_sandbox = !strcmp(kind, DL_KIND_SANDBOX);
        snprintf(e.container_id, sizeof e.container_id, "%s", id);
        char *sid = e.is_sandbox ? id : docker_label(j, attrs, DL_SANDBOX_ID, a);
        snprintf(e.sandbox_id, sizeof e.sandbox_id, "%s", sid ? sid : "");
        cs_event_publish(st->d->events, &e);
    }
    cs_arena_free(a);
    cs_json_free(j);
    return 0;
}

static void *reader_main(void *arg)
{
    docker_backend *d = arg;
    reader_state st = {.d = d, .last_ns = cs_time_now_ns()};
    cs_ctx ctx = {.deadline_ms = 0, .cancelled = &d->events_stop};
    cs_arena *a = cs_arena_new();
    const char *filters = "{\"type\":[\"container\"],\"label\":[\"" DL_KIND "\"]}";
    bool was_down = false;
    while (!atomic_load(&d->events_stop)) {
        cs_arena_reset(a);
        char *path = cs_arena_printf(a, "/events?filters=%s&since=%lld.%09lld", cs_url_query_escape(filters, a),
                                     (long long)(st.last_ns / 1000000000), (long long)(st.last_ns % 1000000000));
        cs_error err;
        long status;
        int rc = docker_stream_lines(d->http, &ctx, "GET", path, NULL, 0, NULL, 0, on_line, &st, &status, &err);
        if (atomic_load(&d->events_stop))
            break;
        if (rc != 0 && !was_down)
            cs_warn("docker event stream lost; reconnecting", "error", err.msg, NULL);
        was_down = rc != 0;
        for (int waited = 0; waited < RECONNECT_MS && !atomic_load(&d->events_stop); waited += 50)
            usleep(50000);
    }
    cs_arena_free(a);
    return NULL;
}

void docker_events_start(docker_backend *d)
{
    d->events = cs_event_hub_new(1024);
    atomic_init(&d->events_stop, false);
    d->events_started = pthread_create(&d->events_thread, NULL, reader_main, d) == 0;
}

void docker_events_stop(docker_backend *d)
{
    atomic_store(&d->events_stop, true);
    if (d->events_started)
        pthread_join(d->events_thread, NULL);
    cs_event_hub_free(d->events);
    d->events = NULL;
}

cs_event_hub *docker_events(cs_backend *b)
{
    return docker_of(b)->events;
}
