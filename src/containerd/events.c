/* containerd's event stream for crishim's namespace, on one thread: a single
 * Events.Subscribe whose envelopes
 *   - invalidate the image cache (/images/...: imagecache.c's consumer),
 *   - run the exit hooks on an init process's /tasks/exit and then publish
 *     CRI's STOPPED (after the log is drained, as Docker's feed does),
 *   - publish CREATED (/containers/create), STARTED (/tasks/start) and
 *     DELETED (/containers/delete) to the hub for GetContainerEvents,
 *   - note an OOM kill (/tasks/oom) for the exit hook to record.
 * containerd has no replay, so on every (re)connect the feed subscribes
 * first, then relists (Containers.List, Tasks.List): a task found STOPPED
 * gets its exit hook then, so no exit is missed, and every object's kind,
 * sandbox and running pid are known from one call each instead of a
 * Containers.Get per event. A broken stream is reopened with backoff; while
 * it is healthy the thread sleeps in the stream. */
#include "containerd/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/state.h"
#include "containerd/api/events/container.pb-c.h"
#include "containerd/api/events/task.pb-c.h"
#include "containerd/api/services/events/v1/events.pb-c.h"
#include "containerd/imagecache.h"
#include "containerd/runtime.h"
#include "containerd/stdio.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define EVENTS_SUBSCRIBE "/containerd.services.events.v1.Events/Subscribe"
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define HOOK_TIMEOUT_MS 30000
#define RELIST_TIMEOUT_MS 60000
#define BUCKETS 1024
#define ID_MAX 80 /* containerd ids are at most 76 bytes */

/* ---- what the feed knows per object ---- */

typedef struct obj {
    struct obj *next;
    char id[ID_MAX];
    bool identified; /* kind and sandbox read from the record's labels */
    bool ours, is_sandbox;
    char sandbox_id[ID_MAX];
    bool pid_known; /* pid below is current (since the last relist) */
    uint32_t pid;   /* the running init's pid; 0: none */
    bool oom;       /* /tasks/oom seen for the current task */
    bool exited;    /* the current task's exit went through the hook */
    uint64_t seen;  /* the relist that last listed it */
    bool has_static;
    char *writable, *writable_fs, *cgroup;
    int64_t started_ns;
} obj;

typedef struct ctrd_objects {
    pthread_mutex_t mu;
    obj *buckets[BUCKETS];
    uint64_t relist;
} ctrd_objects;

static size_t bucket_of(const char *id)
{
    size_t h = 5381;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = h * 33 + *p;
    return h % BUCKETS;
}

/* Caller holds mu. create: add an empty entry when missing. */
static obj *obj_find(ctrd_objects *t, const char *id, bool create)
{
    if (!id || !*id || strlen(id) >= ID_MAX)
        return NULL;
    size_t b = bucket_of(id);
    for (obj *o = t->buckets[b]; o; o = o->next)
        if (!strcmp(o->id, id))
            return o;
    if (!create)
        return NULL;
    obj *o = cs_xcalloc(1, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", id);
    o->seen = t->relist;
    o->next = t->buckets[b];
    t->buckets[b] = o;
    return o;
}

static void obj_free(obj *o)
{
    free(o->writable);
    free(o->writable_fs);
    free(o->cgroup);
    free(o);
}

/* Drops id, or (id NULL) every entry the last relist did not list. */
static void obj_drop(ctrd_objects *t, const char *id)
{
    pthread_mutex_lock(&t->mu);
    for (size_t b = 0; b < BUCKETS; b++)
        for (obj **pp = &t->buckets[b]; *pp;) {
            obj *o = *pp;
            if (id ? !strcmp(o->id, id) : o->seen != t->relist) {
                *pp = o->next;
                obj_free(o);
            } else {
                pp = &o->next;
            }
        }
    pthread_mutex_unlock(&t->mu);
}

/* Caller holds mu. */
static void obj_identify(obj *o, const cs_kvs *labels)
{
    const char *kind = cs_state_get(labels, CS_STATE_KIND);
    o->identified = true;
    o->ours = kind && (!strcmp(kind, CS_STATE_KIND_SANDBOX) || !strcmp(kind, CS_STATE_KIND_CONTAINER));
    o->is_sandbox = o->ours && !strcmp(kind, CS_STATE_KIND_SANDBOX);
    const char *sid = o->is_sandbox ? o->id : cs_state_get(labels, CS_STATE_SANDBOX_ID);
    snprintf(o->sandbox_id, sizeof o->sandbox_id, "%s", sid ? sid : "");
}

/* A snapshot of an object's identity, read outside the lock. */
typedef struct who {
    bool ours, is_sandbox;
    char sandbox_id[ID_MAX];
} who;

/* Who id is: from the table, else from its record (one Containers.Get,
 * remembered). false: not one of crishim's objects, or gone already. */
static bool identify(ctrd_backend *d, const cs_ctx *ctx, const char *id, who *out)
{
    ctrd_objects *t = d->objects;
    pthread_mutex_lock(&t->mu);
    obj *o = obj_find(t, id, false);
    bool known = o && o->identified;
    if (known) {
        out->ours = o->ours;
        out->is_sandbox = o->is_sandbox;
        memcpy(out->sandbox_id, o->sandbox_id, sizeof out->sandbox_id);
    }
    pthread_mutex_unlock(&t->mu);
    if (known)
        return out->ours;
    cs_arena *a = cs_arena_new();
    ctrd_record r;
    cs_error err;
    bool ours = false;
    if (ctrd_record_get(d, ctx, id, a, &r, &err) == 0) {
        pthread_mutex_lock(&t->mu);
        o = obj_find(t, id, true);
        if (o) {
            obj_identify(o, &r.labels);
            out->ours = ours = o->ours;
            out->is_sandbox = o->is_sandbox;
            memcpy(out->sandbox_id, o->sandbox_id, sizeof out->sandbox_id);
        }
        pthread_mutex_unlock(&t->mu);
    } else if (err.code != CS_ERR_NOT_FOUND) {
        cs_debug("event for an object crishim could not look up", "id", id, "error", err.msg, NULL);
    }
    cs_arena_free(a);
    return ours;
}

/* Runs fn on id's entry (created when missing) under the lock. */
static void with_obj(ctrd_backend *d, const char *id, void (*fn)(obj *o, uint32_t arg), uint32_t arg)
{
    pthread_mutex_lock(&d->objects->mu);
    obj *o = obj_find(d->objects, id, true);
    if (o)
        fn(o, arg);
    pthread_mutex_unlock(&d->objects->mu);
}

static void set_task_created(obj *o, uint32_t pid)
{
    (void)pid; /* created, not running yet */
    o->pid_known = true;
    o->pid = 0;
    o->oom = false;
    o->exited = false;
}

static void set_task_started(obj *o, uint32_t pid)
{
    o->pid_known = true;
    o->pid = pid;
    o->exited = false;
}

static void set_task_gone(obj *o, uint32_t unused)
{
    (void)unused;
    o->pid_known = true;
    o->pid = 0;
}

static void set_oom(obj *o, uint32_t unused)
{
    (void)unused;
    o->oom = true;
}

bool ctrd_events_oom(ctrd_backend *d, const char *id)
{
    if (!d->objects)
        return false;
    pthread_mutex_lock(&d->objects->mu);
    obj *o = obj_find(d->objects, id, false);
    bool oom = o && o->oom;
    pthread_mutex_unlock(&d->objects->mu);
    return oom;
}

bool ctrd_events_pid(ctrd_backend *d, const char *id, uint32_t *pid)
{
    if (!d->objects || !atomic_load(&d->events_ok))
        return false;
    pthread_mutex_lock(&d->objects->mu);
    obj *o = obj_find(d->objects, id, false);
    bool known = o && o->pid_known;
    if (known)
        *pid = o->pid;
    pthread_mutex_unlock(&d->objects->mu);
    return known;
}

bool ctrd_events_static_get(ctrd_backend *d, const char *id, cs_arena *a, ctrd_static_facts *out)
{
    if (!d->objects)
        return false;
    pthread_mutex_lock(&d->objects->mu);
    obj *o = obj_find(d->objects, id, false);
    bool known = o && o->has_static;
    if (known) {
        out->writable = o->writable ? cs_arena_strdup(a, o->writable) : NULL;
        out->writable_fs = o->writable_fs ? cs_arena_strdup(a, o->writable_fs) : NULL;
        out->cgroup = o->cgroup ? cs_arena_strdup(a, o->cgroup) : NULL;
        out->started_ns = o->started_ns;
    }
    pthread_mutex_unlock(&d->objects->mu);
    return known;
}

void ctrd_events_static_put(ctrd_backend *d, const char *id, const ctrd_static_facts *f)
{
    if (!d->objects)
        return;
    pthread_mutex_lock(&d->objects->mu);
    obj *o = obj_find(d->objects, id, true);
    if (o && !o->has_static) {
        o->has_static = true;
        o->writable = cs_xstrdup(f->writable);
        o->writable_fs = cs_xstrdup(f->writable_fs);
        o->cgroup = cs_xstrdup(f->cgroup);
        o->started_ns = f->started_ns;
    }
    pthread_mutex_unlock(&d->objects->mu);
}

/* ---- events ---- */

/* Go's zero time (year 1) comes as a large negative number: none. */
static int64_t ts_ns(const Google__Protobuf__Timestamp *t)
{
    return t && t->seconds > 0 ? (int64_t)t->seconds * 1000000000 + t->nanos : 0;
}

static cs_ctx hook_ctx(ctrd_backend *d)
{
    return (cs_ctx){.deadline_ms = cs_time_mono_ms() + HOOK_TIMEOUT_MS, .cancelled = &d->ev_stop_flag};
}

static void publish(ctrd_backend *d, const char *id, const who *w, cs_event_type type, int64_t at_ns)
{
    cs_event e = {.type = type, .is_sandbox = w->is_sandbox, .time_ns = at_ns ? at_ns : cs_time_now_ns()};
    snprintf(e.container_id, sizeof e.container_id, "%s", id);
    snprintf(e.sandbox_id, sizeof e.sandbox_id, "%.*s", (int)sizeof e.sandbox_id - 1, w->sandbox_id);
    cs_event_publish(d->hub, &e);
}

/* An init process exited: the hook records it (and deletes the task), then
 * STOPPED goes out once the container's log is in its file. A hook that
 * fails leaves the task STOPPED for the next relist (or a status call,
 * which records what it finds) to handle. */
static void task_exited(ctrd_backend *d, const char *id, uint32_t status, int64_t at_ns)
{
    cs_ctx ctx = hook_ctx(d);
    who w;
    if (!identify(d, &ctx, id, &w))
        return;
    pthread_mutex_lock(&d->objects->mu);
    obj *o = obj_find(d->objects, id, false);
    bool done = o && o->exited;
    pthread_mutex_unlock(&d->objects->mu);
    if (done) /* the relist handled this exit already */
        return;
    cs_error err;
    int rc = w.is_sandbox ? ctrd_sandbox_exited(d, &ctx, id, status, at_ns, &err)
                          : ctrd_container_exited(d, &ctx, id, status, at_ns, &err);
    if (rc != 0) {
        if (!atomic_load(&d->ev_stop_flag))
            cs_warn("recording an exit failed; the next relist retries", "id", id, "error", err.msg, NULL);
        return;
    }
    pthread_mutex_lock(&d->objects->mu);
    o = obj_find(d->objects, id, true);
    if (o) {
        o->exited = true;
        o->pid_known = true;
        o->pid = 0;
    }
    pthread_mutex_unlock(&d->objects->mu);
    if (!w.is_sandbox && d->io)
        ctrd_io_wait_drained(d->io, &id, 1, &ctx);
    publish(d, id, &w, CS_EVENT_STOPPED, at_ns);
}

/* The payload's type: the type_url's last path element (containerd sends
 * the bare name) against the message's full name. */
static bool is_type(const Google__Protobuf__Any *any, const ProtobufCMessageDescriptor *desc)
{
    const char *name = strrchr(any->type_url, '/');
    name = name ? name + 1 : any->type_url;
    return !strcmp(name, desc->name);
}

static void on_task_exit(ctrd_backend *d, const ProtobufCMessage *m, int64_t at)
{
    const Containerd__Events__TaskExit *e = (const Containerd__Events__TaskExit *)m;
    /* an exec's exit (id is the exec id) is exec.c's business */
    if (!strcmp(e->id, e->container_id))
        task_exited(d, e->container_id, e->exit_status, e->exited_at ? ts_ns(e->exited_at) : at);
}

static void on_task_start(ctrd_backend *d, const ProtobufCMessage *m, int64_t at)
{
    const Containerd__Events__TaskStart *e = (const Containerd__Events__TaskStart *)m;
    cs_ctx ctx = hook_ctx(d);
    who w;
    if (identify(d, &ctx, e->container_id, &w)) {
        with_obj(d, e->container_id, set_task_started, e->pid);
        publish(d, e->container_id, &w, CS_EVENT_STARTED, at);
    }
}

static void on_task_create(ctrd_backend *d, const ProtobufCMessage *m, int64_t at)
{
    (void)at;
    with_obj(d, ((const Containerd__Events__TaskCreate *)m)->container_id, set_task_created, 0);
}

static void on_task_oom(ctrd_backend *d, const ProtobufCMessage *m, int64_t at)
{
    (void)at;
    const char *id = ((const Containerd__Events__TaskOOM *)m)->container_id;
    cs_debug("task OOM-killed", "id", id, NULL);
    with_obj(d, id, set_oom, 0);
}

static void on_task_delete(ctrd_backend *d, const ProtobufCMessage *m, int64_t at)
{
    (void)at;
    const Containerd__Events__TaskDelete *e = (const Containerd__Events__TaskDelete *)m;
    if (!*e->id || !strcmp(e->id, e->container_id))
        with_obj(d, e->container_id, set_task_gone, 0);
}

static void on_container_create(ctrd_backend *d, const ProtobufCMessage *m, int64_t at)
{
    const char *id = ((const Containerd__Events__ContainerCreate *)m)->id;
    cs_ctx ctx = hook_ctx(d);
    who w;
    if (identify(d, &ctx, id, &w))
        publish(d, id, &w, CS_EVENT_CREATED, at);
}

/* The record is gone: only the table still knows who it was. */
static void on_container_delete(ctrd_backend *d, const ProtobufCMessage *m, int64_t at)
{
    const char *id = ((const Containerd__Events__ContainerDelete *)m)->id;
    pthread_mutex_lock(&d->objects->mu);
    obj *o = obj_find(d->objects, id, false);
    who w = {0};
    bool ours = o && o->identified && o->ours;
    if (ours) {
        w.ours = true;
        w.is_sandbox = o->is_sandbox;
        memcpy(w.sandbox_id, o->sandbox_id, sizeof w.sandbox_id);
    }
    pthread_mutex_unlock(&d->objects->mu);
    if (ours)
        publish(d, id, &w, CS_EVENT_DELETED, at);
    obj_drop(d->objects, id);
}

/* The topics the feed acts on, each with its payload; containerd filters out
 * every other one (exec-added, exec-started...: an ExecSync probe wakes no
 * one). */
static const struct {
    const char *topic;
    const ProtobufCMessageDescriptor *desc;
    void (*fn)(ctrd_backend *d, const ProtobufCMessage *m, int64_t at);
} HANDLERS[] = {
    {"/tasks/exit", &containerd__events__task_exit__descriptor, on_task_exit},
    {"/tasks/start", &containerd__events__task_start__descriptor, on_task_start},
    {"/tasks/create", &containerd__events__task_create__descriptor, on_task_create},
    {"/tasks/oom", &containerd__events__task_oom__descriptor, on_task_oom},
    {"/tasks/delete", &containerd__events__task_delete__descriptor, on_task_delete},
    {"/containers/create", &containerd__events__container_create__descriptor, on_container_create},
    {"/containers/delete", &containerd__events__container_delete__descriptor, on_container_delete},
};
#define N_HANDLERS (sizeof HANDLERS / sizeof HANDLERS[0])

static void on_envelope(ctrd_backend *d, const Containerd__Services__Events__V1__Envelope *env)
{
    const char *topic = env->topic ? env->topic : "";
    if (!strncmp(topic, "/images/", 8)) {
        ctrd_image_cache_invalidate(d);
        return;
    }
    const Google__Protobuf__Any *any = env->event;
    for (size_t i = 0; i < N_HANDLERS; i++) {
        if (strcmp(topic, HANDLERS[i].topic) != 0)
            continue;
        if (!any || !any->type_url || !is_type(any, HANDLERS[i].desc))
            return;
        ProtobufCMessage *m = protobuf_c_message_unpack(HANDLERS[i].desc, NULL, any->value.len, any->value.data);
        if (m) {
            HANDLERS[i].fn(d, m, ts_ns(env->timestamp));
            protobuf_c_message_free_unpacked(m, NULL);
        }
        return;
    }
}

/* ---- the relist after each (re)connect ---- */

static int relist(ctrd_backend *d, cs_error *err)
{
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + RELIST_TIMEOUT_MS, .cancelled = &d->ev_stop_flag};
    cs_arena *a = cs_arena_new();
    ctrd_record *recs;
    size_t nrec;
    const char **ids;
    ctrd_task *tasks;
    size_t ntask;
    int rc = -1;
    if (ctrd_record_list(d, &ctx, NULL, NULL, NULL, a, &recs, &nrec, err) != 0 ||
        ctrd_task_list(d, &ctx, a, &ids, &tasks, &ntask, err) != 0)
        goto out;
    ctrd_objects *t = d->objects;
    pthread_mutex_lock(&t->mu);
    t->relist++;
    for (size_t i = 0; i < nrec; i++) {
        obj *o = obj_find(t, recs[i].id, true);
        if (!o)
            continue;
        obj_identify(o, &recs[i].labels);
        o->seen = t->relist;
        o->pid_known = true; /* no task unless the task list says so */
        o->pid = 0;
    }
    for (size_t i = 0; i < ntask; i++) {
        obj *o = obj_find(t, ids[i], false);
        if (!o)
            continue;
        if (tasks[i].status == CTRD_TASK_STOPPED)
            o->exited = false; /* the hook runs again: it may have failed half-way */
        else
            o->pid = tasks[i].status == CTRD_TASK_CREATED ? 0 : tasks[i].pid;
    }
    pthread_mutex_unlock(&t->mu);
    obj_drop(t, NULL); /* records deleted while the feed was away */
    for (size_t i = 0; i < ntask && !atomic_load(&d->ev_stop_flag); i++)
        if (tasks[i].status == CTRD_TASK_STOPPED)
            task_exited(d, ids[i], tasks[i].exit_status, tasks[i].exited_ns);
    rc = 0;
out:
    cs_arena_free(a);
    return rc;
}

/* Forgets every pid: what containerd does while the feed is away is unseen. */
static void forget_pids(ctrd_backend *d)
{
    ctrd_objects *t = d->objects;
    pthread_mutex_lock(&t->mu);
    for (size_t b = 0; b < BUCKETS; b++)
        for (obj *o = t->buckets[b]; o; o = o->next)
            o->pid_known = false;
    pthread_mutex_unlock(&t->mu);
}

/* ---- the subscription ---- */

static bool wait_or_stop(ctrd_backend *d, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&d->ev_mu);
    while (!d->stopping && pthread_cond_timedwait(&d->ev_cond, &d->ev_mu, &until) == 0)
        ;
    bool stop = d->stopping;
    pthread_mutex_unlock(&d->ev_mu);
    return stop;
}

/* The request as containerd's client writes filters: comma is AND, each
 * filter an alternative; the server ignores the namespace header here. */
static int send_subscribe(ctrd_backend *d, ctrd_stream *s, cs_error *err)
{
    const char *ns = ctrd_client_namespace(d->client);
    char bufs[N_HANDLERS + 1][256];
    char *filters[N_HANDLERS + 1];
    for (size_t i = 0; i < N_HANDLERS; i++) {
        snprintf(bufs[i], sizeof bufs[i], "namespace==%s,topic==\"%s\"", ns, HANDLERS[i].topic);
        filters[i] = bufs[i];
    }
    snprintf(bufs[N_HANDLERS], sizeof bufs[N_HANDLERS], "namespace==%s,topic~=\"^/images/\"", ns);
    filters[N_HANDLERS] = bufs[N_HANDLERS];
    Containerd__Services__Events__V1__SubscribeRequest req = CONTAINERD__SERVICES__EVENTS__V1__SUBSCRIBE_REQUEST__INIT;
    req.n_filters = N_HANDLERS + 1;
    req.filters = filters;
    if (ctrd_stream_send(s, &req.base, err) != 0 || ctrd_stream_close_send(s, err) != 0)
        return -1;
    return 0;
}

/* One subscription, from open to its end; true when it got as far as the
 * relist (the backoff starts over). */
static bool subscribe_once(ctrd_backend *d, bool *was_down)
{
    /* The open may wait on a containerd that is frozen: the stop flag ends it. */
    cs_ctx open_ctx = {.cancelled = &d->ev_stop_flag};
    ctrd_stream *s;
    cs_error err;
    bool healthy = false;
    if (ctrd_stream_open(d->client, &open_ctx, EVENTS_SUBSCRIBE, NULL, &s, &err) != 0)
        goto report;
    pthread_mutex_lock(&d->ev_mu);
    if (d->stopping) {
        pthread_mutex_unlock(&d->ev_mu);
        ctrd_stream_free(s);
        return false;
    }
    d->ev_stream = s;
    pthread_mutex_unlock(&d->ev_mu);

    if (send_subscribe(d, s, &err) == 0) {
        ctrd_stream_set_ctx(s, NULL); /* from here on only ctrd_stream_cancel ends it */
        /* Subscribed first, then the relist: an exit in between is in both,
         * and the second sighting finds it handled. */
        if (relist(d, &err) == 0) {
            healthy = true;
            if (*was_down)
                cs_info("containerd event feed back", NULL);
            *was_down = false;
            ctrd_image_cache_invalidate(d);
            atomic_store(&d->events_ok, true);
            cs_debug("watching containerd events", "namespace", ctrd_client_namespace(d->client), NULL);
            ProtobufCMessage *m;
            while (ctrd_stream_recv(s, &containerd__services__events__v1__envelope__descriptor, NULL, &m, &err) ==
                   1) {
                on_envelope(d, (Containerd__Services__Events__V1__Envelope *)m);
                protobuf_c_message_free_unpacked(m, NULL);
            }
            atomic_store(&d->events_ok, false);
            forget_pids(d);
            ctrd_image_cache_invalidate(d);
        }
    }
    pthread_mutex_lock(&d->ev_mu);
    d->ev_stream = NULL;
    pthread_mutex_unlock(&d->ev_mu);
    ctrd_stream_free(s);
report:
    if (!atomic_load(&d->ev_stop_flag) && !*was_down) {
        cs_warn("containerd event feed lost; reconnecting", "error", err.msg, NULL);
        *was_down = true;
    }
    return healthy;
}

static void *events_main(void *arg)
{
    ctrd_backend *d = arg;
    int64_t backoff = BACKOFF_MIN_MS;
    bool was_down = false;
    while (!atomic_load(&d->ev_stop_flag)) {
        if (subscribe_once(d, &was_down))
            backoff = BACKOFF_MIN_MS;
        if (wait_or_stop(d, backoff))
            break;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    return NULL;
}

void ctrd_events_start(ctrd_backend *d)
{
    d->hub = cs_event_hub_new(1024);
    d->objects = cs_xcalloc(1, sizeof *d->objects);
    pthread_mutex_init(&d->objects->mu, NULL);
    pthread_mutex_init(&d->ev_mu, NULL);
    pthread_cond_init(&d->ev_cond, NULL);
    atomic_init(&d->events_ok, false);
    atomic_init(&d->ev_stop_flag, false);
    d->events_started = pthread_create(&d->events_thread, NULL, events_main, d) == 0;
}

void ctrd_events_stop(ctrd_backend *d)
{
    if (!d->objects)
        return;
    pthread_mutex_lock(&d->ev_mu);
    d->stopping = true;
    atomic_store(&d->ev_stop_flag, true);
    if (d->ev_stream)
        ctrd_stream_cancel(d->ev_stream);
    pthread_cond_broadcast(&d->ev_cond);
    pthread_mutex_unlock(&d->ev_mu);
    if (d->events_started)
        pthread_join(d->events_thread, NULL);
    atomic_store(&d->events_ok, false);
    pthread_cond_destroy(&d->ev_cond);
    pthread_mutex_destroy(&d->ev_mu);
    cs_event_hub_free(d->hub);
    d->hub = NULL;
    for (size_t b = 0; b < BUCKETS; b++)
        for (obj *o = d->objects->buckets[b], *next; o; o = next) {
            next = o->next;
            obj_free(o);
        }
    pthread_mutex_destroy(&d->objects->mu);
    free(d->objects);
    d->objects = NULL;
}

cs_event_hub *ctrd_events(cs_backend *b)
{
    return ctrd_of(b)->hub;
}
