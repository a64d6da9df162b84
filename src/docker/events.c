/* Docker's event stream as CRI container events. One reader per backend
 * follows /events for crishim's containers and publishes to the hub;
 * it reconnects after an engine restart, resuming from the last event's time
 * (duplicates from that second are dropped by their nanosecond time). A
 * container's stop goes out once its log is drained (logs.c), so a
 * subscriber that reads the log then finds all of it. Idle, the reader
 * sleeps in its stream set until the engine sends something. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"
#include "docker/labels.h"
#include "util/log.h"
#include "util/time.h"
#include "util/url.h"

#define RECONNECT_MS 1000

typedef struct reader_state {
    docker_backend *d;
    int64_t last_ns;
    docker_line_splitter lines;
    bool ended;
    int rc;
    cs_error err;
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
        if (e.type == CS_EVENT_STOPPED && !e.is_sandbox) {
            const char *ids[] = {e.container_id};
            docker_logs_wait_drained(st->d->logs, ids, 1, NULL);
        }
        cs_event_publish(st->d->events, &e);
    }
    cs_arena_free(a);
    cs_json_free(j);
    return 0;
}

static int feed(void *user, const char *data, size_t len, cs_error *err)
{
    reader_state *st = user;
    return docker_lines_feed(&st->lines, data, len, err);
}

static void on_end(void *user, int rc, long status, const cs_error *err)
{
    reader_state *st = user;
    st->ended = true;
    st->rc = rc;
    if (rc != 0)
        st->err = *err;
}

static void *reader_main(void *arg)
{
    docker_backend *d = arg;
    reader_state st = {.d = d, .last_ns = cs_time_now_ns(), .lines = {.on_line = on_line}};
    st.lines.user = &st;
    cs_arena *a = cs_arena_new();
    const char *filters = "{\"type\":[\"container\"],\"label\":[\"" DL_KIND "\"]}";
    bool was_down = false;
    while (!atomic_load(&d->events_stop)) {
        cs_arena_reset(a);
        char *path = cs_arena_printf(a, "/events?filters=%s&since=%lld.%09lld", cs_url_query_escape(filters, a),
                                     (long long)(st.last_ns / 1000000000), (long long)(st.last_ns % 1000000000));
        st.ended = false;
        st.rc = 0;
        if (docker_streamset_add(d->events_set, path, 0, feed, on_end, &st, &st.err) != 0)
            st.rc = -1;
        else
            while (!st.ended && !atomic_load(&d->events_stop))
                docker_streamset_run(d->events_set, -1);
        if (atomic_load(&d->events_stop))
            break;
        if (st.rc == 0)
            docker_lines_finish(&st.lines, NULL);
        docker_lines_free(&st.lines);
        if (st.rc != 0 && !was_down)
            cs_warn("docker event stream lost; reconnecting", "error", st.err.msg, NULL);
        was_down = st.rc != 0;
        int64_t until = cs_time_mono_ms() + RECONNECT_MS;
        for (int64_t now; !atomic_load(&d->events_stop) && (now = cs_time_mono_ms()) < until;)
            docker_streamset_run(d->events_set, (int)(until - now));
    }
    docker_lines_free(&st.lines);
    cs_arena_free(a);
    return NULL;
}

void docker_events_start(docker_backend *d)
{
    d->events = cs_event_hub_new(1024);
    d->events_set = docker_streamset_new(d->http);
    atomic_init(&d->events_stop, false);
    d->events_started = pthread_create(&d->events_thread, NULL, reader_main, d) == 0;
}

void docker_events_stop(docker_backend *d)
{
    atomic_store(&d->events_stop, true);
    docker_streamset_wakeup(d->events_set);
    if (d->events_started)
        pthread_join(d->events_thread, NULL);
    docker_streamset_free(d->events_set); /* a stream still open ends here */
    d->events_set = NULL;
    cs_event_hub_free(d->events);
    d->events = NULL;
}

cs_event_hub *docker_events(cs_backend *b)
{
    return docker_of(b)->events;
}
