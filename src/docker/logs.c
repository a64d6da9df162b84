/* CRI container logs from Docker's log streams. One thread drives every
 * container's /containers/{id}/logs?follow=1&timestamps=1 on one stream set
 * (http.c) and hands each entry to the container's CRI log writer
 * (backend/crilog.c); idle, it sleeps until a stream has bytes.
 *
 * A container is registered synchronously by StartContainer (before the
 * engine starts it), so no status read can fall between the start and the
 * stream. Its stream ending means Docker has delivered every byte: the
 * container is drained (it leaves backend/logdrain.c's table), and
 * docker_logs_wait_drained lets status, lists and the event feed report an
 * exit only after that. A stream cut by an engine
 * outage is started again with backoff. Docker keeps the log itself, so a
 * restarted stream (and crishim after a restart) resumes after the last
 * timestamp per stream already in the file: nothing is lost or written twice
 * (Docker's `since` has second resolution; the rest is skipped by timestamp). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/crilog.h"
#include "backend/logdrain.h"
#include "docker/internal.h"
#include "docker/labels.h"
#include "docker/mux.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

/* Per-stream memory: curl's receive buffer, and what a frame or a line may
 * keep between reads before it is given back. */
#define RECV_BUFFER 1024
#define KEEP_BYTES 4096
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 5000
#define RESUME_RETRY_MS 2000
/* The longest an exit report waits for a container's log to drain. */
#define DRAIN_WAIT_MS 2000

typedef enum stream_format { FMT_UNKNOWN = 0, FMT_MUX, FMT_RAW } stream_format;

/* One container in the drain table (its user). */
typedef struct entry {
    struct entry *qnext; /* the queue of streams to start (mu) */
    struct docker_logs *owner;
    char id[80];
    cs_crilog *log;
    bool followed; /* docker_logs_follow asked for the stream (the table's lock) */
    /* the loop thread's */
    struct entry *rnext; /* waiting to retry */
    int64_t retry_at_ms;
    int backoff_ms;
    stream_format fmt;
    docker_demux mux;            /* non-TTY: Docker's 8-byte framed stream */
    docker_line_splitter lines; /* TTY: one raw stream of lines */
} entry;

struct docker_logs {
    docker_backend *d;
    cs_logdrain *drain; /* every registered container until its log drained */
    pthread_mutex_t mu; /* the queue */
    entry *queue;
    docker_streamset *set;
    pthread_t thread;
    bool started;
    atomic_bool stopping;
    /* the loop thread's */
    entry *retries;
    int64_t resume_at_ms;
};

static void entry_free(entry *e)
{
    docker_demux_free(&e->mux);
    docker_lines_free(&e->lines);
    cs_crilog_close(e->log);
    free(e);
}

static void entry_release(void *user)
{
    entry_free(user);
}

/* Every byte is in the file: waiters may report the exit. */
static void drained(docker_logs *l, entry *e)
{
    cs_logdrain_remove(l->drain, e->id, NULL);
    entry_free(e);
}

/* ---- entries of the stream ---- */

/* "<timestamp> <text>", the text ending in '\n' unless Docker cut a long
 * line (then it is a piece, P). Entries from before a restart are skipped. */
static void write_entry(entry *e, cs_crilog_stream s, const char *data, size_t len)
{
    const char *sp = memchr(data, ' ', len);
    int64_t ns;
    if (!sp || cs_time_parse_rfc3339(data, (size_t)(sp - data), &ns) != 0)
        return;
    if (cs_crilog_seen(e->log, s, ns))
        return;
    const char *text = sp + 1;
    size_t text_len = len - (size_t)(text - data);
    bool full = text_len > 0 && text[text_len - 1] == '\n';
    cs_crilog_write(e->log, s, ns, text, full ? text_len - 1 : text_len, !full);
}

static int on_frame(void *user, int stream, const char *data, size_t len, cs_error *err)
{
    write_entry(user, stream == DOCKER_STREAM_STDERR ? CS_CRILOG_STDERR : CS_CRILOG_STDOUT, data, len);
    return 0;
}

/* TTY containers: every line is stdout, and complete ("\r\n" was cut). */
static int on_tty_line(void *user, const char *line, size_t len, cs_error *err)
{
    entry *e = user;
    const char *sp = memchr(line, ' ', len);
    int64_t ns;
    if (!sp || cs_time_parse_rfc3339(line, (size_t)(sp - line), &ns) != 0)
        return 0;
    if (!cs_crilog_seen(e->log, CS_CRILOG_STDOUT, ns))
        cs_crilog_write(e->log, CS_CRILOG_STDOUT, ns, sp + 1, len - (size_t)(sp + 1 - line), false);
    return 0;
}

static int on_data(void *user, const char *data, size_t len, cs_error *err)
{
    entry *e = user;
    e->backoff_ms = 0; /* the stream works: a later cut starts the backoff again */
    if (e->fmt == FMT_UNKNOWN && len > 0) {
        /* A framed stream starts with its stream byte (0..2); a TTY's raw
         * one with a timestamp. Asking inspect instead would cost a call. */
        e->fmt = (unsigned char)data[0] <= DOCKER_STREAM_STDERR ? FMT_MUX : FMT_RAW;
        e->mux = (docker_demux){.on_frame = on_frame, .user = e};
        e->lines = (docker_line_splitter){.on_line = on_tty_line, .user = e};
    }
    int rc = 0;
    if (e->fmt == FMT_MUX) {
        rc = docker_demux_feed(&e->mux, data, len, err);
        if (e->mux.have_header == 0 && e->mux.frame_cap > KEEP_BYTES)
            docker_demux_free(&e->mux); /* a long line passed: give its buffer back */
    } else if (e->fmt == FMT_RAW) {
        rc = docker_lines_feed(&e->lines, data, len, err);
        if (e->lines.len == 0 && e->lines.cap > KEEP_BYTES)
            docker_lines_free(&e->lines);
    }
    return rc;
}

/* ---- the loop ---- */

static void start_stream(docker_logs *l, entry *e);

static void schedule_retry(docker_logs *l, entry *e)
{
    e->backoff_ms = e->backoff_ms ? e->backoff_ms * 2 : RETRY_MIN_MS;
    if (e->backoff_ms > RETRY_MAX_MS)
        e->backoff_ms = RETRY_MAX_MS;
    e->retry_at_ms = cs_time_mono_ms() + e->backoff_ms;
    e->rnext = l->retries;
    l->retries = e;
}

static void on_end(void *user, int rc, long status, const cs_error *err)
{
    entry *e = user;
    docker_logs *l = e->owner;
    if (rc == 0 && e->fmt == FMT_RAW)
        docker_lines_finish(&e->lines, NULL);
    docker_demux_free(&e->mux);
    docker_lines_free(&e->lines);
    e->fmt = FMT_UNKNOWN;
    /* The engine ended the stream: the container is gone or stopped, and
     * every byte was delivered. An error status won't change by asking again
     * (404: removed). Anything else was the connection: ask again. */
    if (rc == 0 || status >= 400) {
        if (rc != 0 && status != 404)
            cs_warn("cannot read container log from docker", "id", e->id, "error", err->msg, NULL);
        drained(l, e);
        return;
    }
    if (atomic_load(&l->stopping)) {
        drained(l, e);
        return;
    }
    if (!e->backoff_ms)
        cs_debug("container log stream cut; resuming", "id", e->id, "error", err->msg, NULL);
    schedule_retry(l, e);
}

static void start_stream(docker_logs *l, entry *e)
{
    /* from the older of the two streams' marks; the newer one's entries are
     * skipped by timestamp */
    int64_t out = cs_crilog_last(e->log, CS_CRILOG_STDOUT), err_ns = cs_crilog_last(e->log, CS_CRILOG_STDERR);
    int64_t from = out && err_ns ? (out < err_ns ? out : err_ns) : (out > err_ns ? out : err_ns);
    char path[256];
    if (from > 0)
        snprintf(path, sizeof path, "/containers/%s/logs?follow=1&stdout=1&stderr=1&timestamps=1&since=%lld.%09lld",
                 e->id, (long long)(from / 1000000000), (long long)(from % 1000000000));
    else
        snprintf(path, sizeof path, "/containers/%s/logs?follow=1&stdout=1&stderr=1&timestamps=1", e->id);
    cs_error err;
    if (docker_streamset_add(l->set, path, RECV_BUFFER, on_data, on_end, e, &err) != 0) {
        if (!e->backoff_ms)
            cs_debug("cannot start a container log stream; retrying", "id", e->id, "error", err.msg, NULL);
        schedule_retry(l, e);
    } else {
        e->fmt = FMT_UNKNOWN;
    }
}

/* Registers and follows every started crishim container with a log path:
 * after a restart, their streams resume. */
static int resume_once(docker_logs *l)
{
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 3000, .cancelled = &l->stopping};
    docker_response resp;
    cs_json *j;
    if (docker_list_kind(l->d, &ctx, DL_KIND_CONTAINER, NULL, &resp, &j, NULL) != 0)
        return -1;
    cs_arena *a = cs_arena_new();
    for (int it = cs_json_first(j, 0); it >= 0; it = cs_json_next(j, 0, it)) {
        char *id = cs_json_get_str(j, it, "Id", a);
        char *path = docker_label(j, cs_json_key(j, it, "Labels"), DL_LOG_PATH, a);
        /* created-but-never-started containers have no output yet */
        if (id && path && *path && !cs_json_str_eq(j, cs_json_key(j, it, "State"), "created") &&
            docker_logs_register(l, id, path) == 0)
            docker_logs_follow(l, id);
    }
    cs_arena_free(a);
    docker_json_release(&resp, j);
    return 0;
}

/* How long the loop may sleep: until the next retry or resume, else for good. */
static int next_timeout(docker_logs *l, int64_t now)
{
    int64_t next = l->resume_at_ms ? l->resume_at_ms : -1;
    for (entry *e = l->retries; e; e = e->rnext)
        if (next < 0 || e->retry_at_ms < next)
            next = e->retry_at_ms;
    if (next < 0)
        return -1;
    return next <= now ? 0 : (int)(next - now);
}

static void run_due(docker_logs *l)
{
    pthread_mutex_lock(&l->mu);
    entry *q = l->queue;
    l->queue = NULL;
    pthread_mutex_unlock(&l->mu);
    /* the queue is newest first: start in the order of the calls */
    entry *rev = NULL;
    while (q) {
        entry *next = q->qnext;
        q->qnext = rev;
        rev = q;
        q = next;
    }
    for (entry *e = rev, *next; e; e = next) {
        next = e->qnext;
        start_stream(l, e);
    }
    int64_t now = cs_time_mono_ms();
    entry *due = NULL;
    for (entry **pp = &l->retries; *pp;) {
        entry *e = *pp;
        if (e->retry_at_ms <= now) {
            *pp = e->rnext;
            e->rnext = due;
            due = e;
        } else {
            pp = &e->rnext;
        }
    }
    for (entry *e = due, *next; e; e = next) {
        next = e->rnext;
        start_stream(l, e);
    }
    if (l->resume_at_ms && l->resume_at_ms <= now) {
        bool ok = resume_once(l) == 0;
        l->resume_at_ms = ok ? 0 : cs_time_mono_ms() + RESUME_RETRY_MS;
        if (ok)
            cs_logdrain_ready(l->drain);
    }
}

static void *loop_main(void *arg)
{
    docker_logs *l = arg;
    while (!atomic_load(&l->stopping)) {
        run_due(l);
        if (atomic_load(&l->stopping))
            break;
        docker_streamset_run(l->set, next_timeout(l, cs_time_mono_ms()));
    }
    return NULL;
}

/* ---- the API ---- */

int docker_logs_register(docker_logs *l, const char *id, const char *log_path)
{
    if (!log_path || !*log_path || strlen(id) >= sizeof ((entry *)0)->id || atomic_load(&l->stopping))
        return -1;
    cs_crilog *w;
    cs_error err;
    if (cs_crilog_open(log_path, id, &w, &err) != 0) {
        cs_warn("cannot open container log", "id", id, "error", err.msg, NULL);
        return -1;
    }
    entry *e = cs_xcalloc(1, sizeof *e);
    e->owner = l;
    snprintf(e->id, sizeof e->id, "%s", id);
    e->log = w;
    if (!cs_logdrain_add(l->drain, id, e))
        entry_free(e); /* known already: that one is written */
    return 0;
}

/* Under the table's lock: the loop may not take it away meanwhile. */
static int follow_locked(void *user, void *arg)
{
    entry *e = user;
    docker_logs *l = arg;
    if (e->followed)
        return 0;
    e->followed = true;
    pthread_mutex_lock(&l->mu);
    e->qnext = l->queue;
    l->queue = e;
    pthread_mutex_unlock(&l->mu);
    return 1;
}

void docker_logs_follow(docker_logs *l, const char *id)
{
    if (cs_logdrain_with(l->drain, id, follow_locked, l, 0))
        docker_streamset_wakeup(l->set);
}

/* A followed entry belongs to the loop. */
static bool is_followed(void *user)
{
    return ((entry *)user)->followed;
}

void docker_logs_forget(docker_logs *l, const char *id)
{
    entry *e = cs_logdrain_remove(l->drain, id, is_followed);
    if (e)
        entry_free(e);
}

static int reopen_locked(void *user, void *arg)
{
    return cs_crilog_reopen(((entry *)user)->log, arg);
}

int docker_logs_reopen(docker_logs *l, const char *id, cs_error *err)
{
    int rc = cs_logdrain_with(l->drain, id, reopen_locked, err, 1);
    if (rc == 1)
        return cs_error_set(err, CS_ERR_CONFLICT, "container %s has no log being written", id);
    return rc;
}

void docker_logs_wait_drained(docker_logs *l, const char *const *ids, size_t n, const cs_ctx *ctx)
{
    cs_logdrain_wait_report(l->drain, ids, n, ctx, DRAIN_WAIT_MS);
}

docker_logs *docker_logs_new(docker_backend *d)
{
    docker_logs *l = cs_xcalloc(1, sizeof *l);
    l->d = d;
    l->drain = cs_logdrain_new();
    pthread_mutex_init(&l->mu, NULL);
    atomic_init(&l->stopping, false);
    l->set = docker_streamset_new(d->http);
    l->resume_at_ms = cs_time_mono_ms();
    if (pthread_create(&l->thread, NULL, loop_main, l) == 0) {
        l->started = true;
    } else {
        cs_warn("cannot start the container log thread", NULL);
        cs_logdrain_stop(l->drain); /* nobody would ever drain: don't make anyone wait */
    }
    return l;
}

void docker_logs_free(docker_logs *l)
{
    if (!l)
        return;
    atomic_store(&l->stopping, true);
    cs_logdrain_stop(l->drain);
    docker_streamset_wakeup(l->set);
    if (l->started)
        pthread_join(l->thread, NULL);
    docker_streamset_free(l->set); /* no callbacks: the entries are freed below */
    cs_logdrain_free(l->drain, entry_release);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
