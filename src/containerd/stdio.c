/* The FIFO loop of the containerd backend; see stdio.h. One thread waits in
 * epoll_wait (no timeout while idle) on every container's stdout and stderr
 * read ends plus an eventfd that says "the cancel queue has work" or "stop".
 * Level-triggered: each ready stream gets a bounded number of reads a turn,
 * so one chatty container can't starve the others.
 *
 * Ownership: an entry lives in the drain table from ctrd_io_add on; only the
 * loop's thread takes it out and frees it (both streams at EOF, or a cancel
 * from the queue), so an epoll event never names freed memory. Other threads
 * reach an entry only through cs_logdrain_with, under the table's lock.
 *
 * EOF without a writer: a FIFO opened O_NONBLOCK with no writer reports no
 * EPOLLHUP until a writer has come and gone (the kernel remembers the writer
 * count at open), so a fresh container's streams are quiet until its shim
 * connects. A resumed one (the shim connected long ago) gets one read at
 * add: 0 then means the writer is already gone.
 *
 * Subscribers (attach): the loop copies each raw chunk into every
 * subscriber's queue before the log writer sees it, under the entry's own
 * lock (sessions join and leave from other threads); a full queue drops the
 * chunk. An entry and a session each hold a reference on a subscriber, so
 * whichever goes first leaves the other a valid object: the entry's end
 * marks it ended (the session reads what is queued, then EOF). The stdin
 * writer is shared the same way: the entry's reference, one per session. */
#include "containerd/stdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/crilog.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

/* One read's size (the loop's single buffer) and how many reads a stream
 * gets per turn. */
#define READ_CHUNK 65536
#define READS_PER_TURN 4
#define MAX_EVENTS 64
/* The resume pass: each try's deadline, and the pause between tries. */
#define RESUME_TIMEOUT_MS 3000
#define RESUME_RETRY_MS 2000
/* The longest an exit report waits for a container's log to drain. */
#define DRAIN_WAIT_MS 2000
/* How often a write waiting on a full pipe looks whether to give up. */
#define PIPE_RECHECK_MS 200

struct entry;

/* ---- subscribers ---- */

typedef struct chunk {
    struct chunk *next;
    int stream; /* 1 stdout, 2 stderr */
    size_t len, off;
    char data[];
} chunk;

struct ctrd_io_sub {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    unsigned want;
    size_t max, queued;
    chunk *head, *tail;
    uint64_t dropped;
    bool ended; /* the container's streams ended: what is queued, then EOF */
    bool cut;   /* the session ended it: EOF now */
    int refs;   /* the entry's (while listed) and the session's */
    struct ctrd_io_sub *next; /* the entry's list, under its subs_mu */
};

struct ctrd_io_stdin {
    pthread_mutex_t mu;
    int fd;       /* -1 once closed and no write is under way */
    char *path;   /* unlinked on close */
    int busy;     /* writes under way: the fd stays open for them */
    atomic_bool closed;
    atomic_int refs;
};

static void sub_unref(ctrd_io_sub *s)
{
    pthread_mutex_lock(&s->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    for (chunk *c = s->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Loop thread: a copy of one chunk into s's queue, unless it is full. */
static void sub_push(ctrd_io_sub *s, int which, const char *data, size_t n)
{
    pthread_mutex_lock(&s->mu);
    unsigned bit = which == 2 ? CTRD_IO_WANT_STDERR : CTRD_IO_WANT_STDOUT;
    if (!s->ended && !s->cut && (s->want & bit)) {
        if (s->queued + n > s->max) {
            s->dropped += n;
        } else {
            chunk *c = cs_xmalloc(sizeof *c + n);
            c->next = NULL;
            c->stream = which;
            c->len = n;
            c->off = 0;
            memcpy(c->data, data, n);
            if (s->tail)
                s->tail->next = c;
            else
                s->head = c;
            s->tail = c;
            s->queued += n;
            pthread_cond_broadcast(&s->cv);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void sub_mark_ended(ctrd_io_sub *s)
{
    pthread_mutex_lock(&s->mu);
    s->ended = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void stdin_close_fd_locked(ctrd_io_stdin *in)
{
    if (in->fd >= 0 && in->busy == 0) {
        close(in->fd);
        in->fd = -1;
    }
}

void ctrd_io_stdin_unref(ctrd_io_stdin *in)
{
    if (!in || atomic_fetch_sub(&in->refs, 1) != 1)
        return;
    if (in->fd >= 0)
        close(in->fd);
    pthread_mutex_destroy(&in->mu);
    free(in->path);
    free(in);
}

typedef struct stream {
    struct entry *e;
    cs_crilog_stream which;
    int fd; /* -1 once ended */
    bool tty;     /* a terminal's output: "\r\n" ends a line as "\n" does */
    bool cr_held; /* tty: the last read ended in '\r' */
} stream;

/* One container (the drain table's user). */
typedef struct entry {
    char id[80];
    cs_crilog *log; /* NULL: no log file, subscribers only */
    stream s[2];
    pthread_mutex_t subs_mu; /* subs: the loop walks it, sessions join and leave */
    ctrd_io_sub *subs;
    ctrd_io_stdin *in; /* NULL: no stdin */
} entry;

typedef struct cancel {
    struct cancel *next;
    char id[80];
} cancel;

struct ctrd_io {
    cs_logdrain *drain;
    int epfd, wakefd;
    pthread_t thread;
    bool started;
    atomic_bool stopping;
    ctrd_io_resume_fn resume;
    void *resume_arg;
    pthread_mutex_t mu; /* the cancel queue */
    cancel *cancels;
    char *buf; /* the loop thread's */
};

/* ---- entries ---- */

/* Nobody else reaches e any more (out of the table, or never in it):
 * its subscribers see the end after what they have queued. */
static void entry_free(entry *e)
{
    for (int i = 0; i < 2; i++)
        if (e->s[i].fd >= 0)
            close(e->s[i].fd);
    cs_crilog_close(e->log);
    for (ctrd_io_sub *s = e->subs, *next; s; s = next) {
        next = s->next;
        sub_mark_ended(s);
        sub_unref(s);
    }
    ctrd_io_stdin_unref(e->in);
    pthread_mutex_destroy(&e->subs_mu);
    free(e);
}

/* Loop thread: a raw chunk to every subscriber (before the log writer
 * edits a terminal's line ends in place). */
static void fan_out(entry *e, cs_crilog_stream which, const char *buf, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&e->subs_mu);
    for (ctrd_io_sub *s = e->subs; s; s = s->next)
        sub_push(s, which == CS_CRILOG_STDERR ? 2 : 1, buf, n);
    pthread_mutex_unlock(&e->subs_mu);
}

static void entry_release(void *user)
{
    entry_free(user);
}

/* Bytes read from the stream into its log. A terminal ends its lines in
 * "\r\n" (the tty's onlcr): the '\r' goes, as containerd's CRI and the
 * Docker backend drop it; a '\r' at the end of a read waits for the next. */
static void feed(stream *st, char *buf, size_t n)
{
    fan_out(st->e, st->which, buf, n);
    if (!st->e->log)
        return;
    int64_t now = cs_time_now_ns();
    if (!st->tty) {
        cs_crilog_feed(st->e->log, st->which, now, buf, n);
        return;
    }
    if (st->cr_held && (n == 0 || buf[0] != '\n'))
        cs_crilog_feed(st->e->log, st->which, now, "\r", 1);
    st->cr_held = false;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n')
            continue;
        if (buf[i] == '\r' && i + 1 == n) {
            st->cr_held = true;
            break;
        }
        buf[w++] = buf[i];
    }
    cs_crilog_feed(st->e->log, st->which, now, buf, w);
}

/* The stream ended: what it still holds goes out (as P). */
static void flush(stream *st)
{
    if (!st->e->log)
        return;
    if (st->cr_held)
        cs_crilog_feed(st->e->log, st->which, cs_time_now_ns(), "\r", 1);
    st->cr_held = false;
    cs_crilog_flush(st->e->log, st->which, cs_time_now_ns());
}

/* Loop thread: id leaves the table (waking waiters) and is freed. */
static void entry_done(ctrd_io *io, entry *e)
{
    for (int i = 0; i < 2; i++) {
        if (e->s[i].fd >= 0) {
            epoll_ctl(io->epfd, EPOLL_CTL_DEL, e->s[i].fd, NULL);
            close(e->s[i].fd);
            e->s[i].fd = -1;
        }
    }
    entry *got = cs_logdrain_remove(io->drain, e->id, NULL);
    if (got && got != e) /* cannot happen: ids start once */
        cs_warn("container log table out of step", "id", e->id, NULL);
    entry_free(e);
}

/* Loop thread: the stream's writer is gone and its bytes are read. True
 * when the whole entry is done (and freed). */
static bool stream_ended(ctrd_io *io, stream *st)
{
    entry *e = st->e;
    flush(st);
    epoll_ctl(io->epfd, EPOLL_CTL_DEL, st->fd, NULL);
    close(st->fd);
    st->fd = -1;
    if (e->s[0].fd >= 0 || e->s[1].fd >= 0)
        return false;
    entry_done(io, e);
    return true;
}

/* Reads what the stream has, at most max reads. 1: EOF (the writer is
 * gone, everything read); 0: more may come. */
static int drain_stream(stream *st, char *buf, size_t cap, int max)
{
    for (int i = 0; i < max; i++) {
        ssize_t n = read(st->fd, buf, cap);
        if (n > 0) {
            feed(st, buf, (size_t)n);
            continue;
        }
        if (n == 0)
            return 1;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            cs_warn("cannot read a container's output", "id", st->e->id, "error", strerror(errno), NULL);
        return errno == EAGAIN ? 0 : 1;
    }
    return 0;
}

/* A resumed stream's first reads: 1 when its writer is gone (EOF, all
 * read), 0 when one is there (an empty pipe said EAGAIN, or more came than
 * the pipe holds). */
static int probe_stream(stream *st)
{
    char buf[4096];
    int size = fcntl(st->fd, F_GETPIPE_SZ);
    size_t holds = size > 0 ? (size_t)size : 1u << 20, got = 0;
    while (got <= holds) {
        ssize_t n = read(st->fd, buf, sizeof buf);
        if (n > 0) {
            feed(st, buf, (size_t)n);
            got += (size_t)n;
        } else if (n == 0) {
            return 1;
        } else if (errno != EINTR) {
            return errno == EAGAIN ? 0 : 1;
        }
    }
    return 0;
}

/* ---- the loop ---- */

static void wake(ctrd_io *io)
{
    uint64_t one = 1;
    ssize_t n = write(io->wakefd, &one, sizeof one);
    (void)n; /* a full counter wakes the loop all the same */
}

static void run_cancels(ctrd_io *io)
{
    pthread_mutex_lock(&io->mu);
    cancel *q = io->cancels;
    io->cancels = NULL;
    pthread_mutex_unlock(&io->mu);
    while (q) {
        cancel *next = q->next;
        /* Under the table's lock nobody else frees it; the loop is this
         * thread, so no event for it is in flight. */
        entry *e = cs_logdrain_remove(io->drain, q->id, NULL);
        if (e) {
            for (int i = 0; i < 2; i++)
                if (e->s[i].fd >= 0)
                    epoll_ctl(io->epfd, EPOLL_CTL_DEL, e->s[i].fd, NULL);
            entry_free(e);
        }
        free(q);
        q = next;
    }
}

/* The resume pass, retried until it works (containerd may be down at
 * start). Returns the ms until the next try, -1 when done. */
static int try_resume(ctrd_io *io)
{
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + RESUME_TIMEOUT_MS, .cancelled = &io->stopping};
    if (io->resume(io, &ctx, io->resume_arg) != 0)
        return RESUME_RETRY_MS;
    cs_logdrain_ready(io->drain);
    return -1;
}

static void *loop_main(void *arg)
{
    ctrd_io *io = arg;
    int64_t resume_at = io->resume ? cs_time_mono_ms() : -1;
    struct epoll_event ev[MAX_EVENTS];
    while (!atomic_load(&io->stopping)) {
        if (resume_at >= 0 && cs_time_mono_ms() >= resume_at) {
            int retry = try_resume(io);
            resume_at = retry < 0 ? -1 : cs_time_mono_ms() + retry;
        }
        int timeout = -1;
        if (resume_at >= 0) {
            int64_t left = resume_at - cs_time_mono_ms();
            timeout = left > 0 ? (int)left : 0;
        }
        int n = epoll_wait(io->epfd, ev, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR) {
            cs_err("container output loop: epoll_wait failed", "error", strerror(errno), NULL);
            break;
        }
        for (int i = 0; i < n; i++) {
            stream *st = ev[i].data.ptr;
            if (!st) {
                uint64_t count;
                ssize_t r = read(io->wakefd, &count, sizeof count);
                (void)r;
                continue;
            }
            if (drain_stream(st, io->buf, READ_CHUNK, READS_PER_TURN) == 1)
                stream_ended(io, st);
        }
        run_cancels(io);
    }
    return NULL;
}

/* ---- the API ---- */

ctrd_io *ctrd_io_new(ctrd_io_resume_fn resume, void *arg)
{
    ctrd_io *io = cs_xcalloc(1, sizeof *io);
    io->drain = cs_logdrain_new();
    io->resume = resume;
    io->resume_arg = arg;
    io->buf = cs_xmalloc(READ_CHUNK);
    atomic_init(&io->stopping, false);
    pthread_mutex_init(&io->mu, NULL);
    io->epfd = epoll_create1(EPOLL_CLOEXEC);
    io->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = NULL};
    if (io->epfd < 0 || io->wakefd < 0 || epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->wakefd, &wev) != 0 ||
        pthread_create(&io->thread, NULL, loop_main, io) != 0) {
        cs_err("cannot start the container output loop", "error", strerror(errno), NULL);
        cs_logdrain_stop(io->drain); /* nobody would ever drain: don't make anyone wait */
        atomic_store(&io->stopping, true);
        return io;
    }
    io->started = true;
    if (!resume)
        cs_logdrain_ready(io->drain);
    return io;
}

void ctrd_io_free(ctrd_io *io)
{
    if (!io)
        return;
    atomic_store(&io->stopping, true);
    cs_logdrain_stop(io->drain);
    if (io->started) {
        wake(io);
        pthread_join(io->thread, NULL);
    }
    for (cancel *q = io->cancels, *next; q; q = next) {
        next = q->next;
        free(q);
    }
    cs_logdrain_free(io->drain, entry_release);
    if (io->wakefd >= 0)
        close(io->wakefd);
    if (io->epfd >= 0)
        close(io->epfd);
    pthread_mutex_destroy(&io->mu);
    free(io->buf);
    free(io);
}

cs_logdrain *ctrd_io_drain(ctrd_io *io)
{
    return io->drain;
}

const char *ctrd_io_path(const char *dir, const char *name, cs_arena *a)
{
    return cs_arena_printf(a, "%s/%s", dir, name);
}

static int make_fifo(const char *dir, const char *name, cs_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return cs_error_set(err, CS_ERR_INVALID, "fifo path under %s is too long", dir);
    if (mkfifo(path, 0700) != 0 && errno != EEXIST)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "mkfifo %s", path);
    return 0;
}

int ctrd_io_mkfifos(const char *dir, bool tty, cs_error *err)
{
    if (cs_mkdir_p(dir, 0700, err) != 0)
        return -1;
    if (make_fifo(dir, CTRD_IO_STDOUT, err) != 0)
        return -1;
    return tty ? 0 : make_fifo(dir, CTRD_IO_STDERR, err);
}

int ctrd_io_rmfifos(const char *dir, cs_error *err)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        if (errno == ENOENT)
            return 0;
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "open %s", dir);
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (unlinkat(dirfd(dp), de->d_name, 0) != 0 && errno != ENOENT && rc == 0)
            rc = cs_error_errno(err, CS_ERR_INTERNAL, errno, "remove %s/%s", dir, de->d_name);
    }
    closedir(dp);
    if (rc == 0 && rmdir(dir) != 0 && errno != ENOENT)
        rc = cs_error_errno(err, CS_ERR_INTERNAL, errno, "remove %s", dir);
    return rc;
}

int ctrd_io_mkfifo_stdin(const char *dir, cs_error *err)
{
    if (cs_mkdir_p(dir, 0700, err) != 0)
        return -1;
    return make_fifo(dir, CTRD_IO_STDIN, err);
}

/* crishim's writer on dir's stdin FIFO, when there is one. O_RDWR: the
 * open never waits for the shim's reader, and no write fails for want of
 * one; non-blocking, so a full pipe waits in poll, where abort reaches it. */
static int open_stdin(entry *e, const char *dir, cs_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, CTRD_IO_STDIN) >= sizeof path)
        return cs_error_set(err, CS_ERR_INVALID, "fifo path under %s is too long", dir);
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "open fifo %s", path);
    ctrd_io_stdin *in = cs_xcalloc(1, sizeof *in);
    pthread_mutex_init(&in->mu, NULL);
    in->fd = fd;
    in->path = cs_xstrdup(path);
    atomic_init(&in->closed, false);
    atomic_init(&in->refs, 1);
    e->in = in;
    return 0;
}

static int open_stream(entry *e, int i, const char *dir, const char *name, cs_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return cs_error_set(err, CS_ERR_INVALID, "fifo path under %s is too long", dir);
    e->s[i].fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (e->s[i].fd < 0)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "open fifo %s", path);
    return 0;
}

int ctrd_io_add(ctrd_io *io, const char *id, const char *dir, bool tty, const char *log_path, bool resume,
                cs_error *err)
{
    if (strlen(id) >= sizeof ((entry *)0)->id)
        return cs_error_set(err, CS_ERR_INVALID, "container id %s is too long", id);
    if (atomic_load(&io->stopping))
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "shutting down");
    if (ctrd_io_active(io, id))
        return 1;
    entry *e = cs_xcalloc(1, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", id);
    pthread_mutex_init(&e->subs_mu, NULL);
    for (int i = 0; i < 2; i++)
        e->s[i] = (stream){.e = e, .which = i ? CS_CRILOG_STDERR : CS_CRILOG_STDOUT, .fd = -1, .tty = tty};
    bool logged = log_path && *log_path;
    if ((logged && cs_crilog_open(log_path, id, &e->log, err) != 0) ||
        open_stream(e, 0, dir, CTRD_IO_STDOUT, err) != 0 ||
        (!tty && open_stream(e, 1, dir, CTRD_IO_STDERR, err) != 0) || open_stdin(e, dir, err) != 0) {
        entry_free(e);
        return cs_error_wrap(err, "container %s output", id);
    }
    if (resume) {
        /* The shim's writers connected before this open: reading says
         * whether they are still there (0: gone, the stream ended). A
         * writer gone before the open can't wake epoll (see the top), so
         * read until the pipe is empty: more than it holds means a writer
         * is alive, and its close will be seen. This thread owns the entry
         * until it is in the table. */
        for (int i = 0; i < 2; i++)
            if (e->s[i].fd >= 0 && probe_stream(&e->s[i]) == 1) {
                flush(&e->s[i]);
                close(e->s[i].fd);
                e->s[i].fd = -1;
            }
        if (e->s[0].fd < 0 && e->s[1].fd < 0) {
            entry_free(e);
            return 0; /* its log is complete: nothing to wait for */
        }
    }
    if (!cs_logdrain_add(io->drain, id, e)) {
        entry_free(e);
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        if (e->s[i].fd < 0)
            continue;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &e->s[i]};
        if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, e->s[i].fd, &ev) != 0) {
            int saved = errno;
            ctrd_io_cancel(io, id);
            return cs_error_errno(err, CS_ERR_INTERNAL, saved, "container %s output: epoll", id);
        }
    }
    return 0;
}

void ctrd_io_cancel(ctrd_io *io, const char *id)
{
    if (strlen(id) >= sizeof ((cancel *)0)->id)
        return;
    cancel *q = cs_xcalloc(1, sizeof *q);
    snprintf(q->id, sizeof q->id, "%s", id);
    pthread_mutex_lock(&io->mu);
    q->next = io->cancels;
    io->cancels = q;
    pthread_mutex_unlock(&io->mu);
    wake(io);
}

static int reopen_locked(void *user, void *arg)
{
    entry *e = user;
    if (!e->log)
        return cs_error_set(arg, CS_ERR_CONFLICT, "container %s has no log file", e->id);
    return cs_crilog_reopen(e->log, arg);
}

int ctrd_io_reopen(ctrd_io *io, const char *id, cs_error *err)
{
    int rc = cs_logdrain_with(io->drain, id, reopen_locked, err, 1);
    if (rc == 1)
        return cs_error_set(err, CS_ERR_CONFLICT, "container %s has no log being written", id);
    return rc;
}

static int present(void *user, void *arg)
{
    (void)user;
    (void)arg;
    return 1;
}

bool ctrd_io_active(ctrd_io *io, const char *id)
{
    return cs_logdrain_with(io->drain, id, present, NULL, 0) == 1;
}

void ctrd_io_wait_drained(ctrd_io *io, const char *const *ids, size_t n, const cs_ctx *ctx)
{
    cs_logdrain_wait_report(io->drain, ids, n, ctx, DRAIN_WAIT_MS);
}

/* ---- attach ---- */

void ctrd_io_wait_ready(ctrd_io *io, const cs_ctx *ctx)
{
    cs_ctx w = cs_ctx_within(ctx, DRAIN_WAIT_MS * 3);
    if (!cs_logdrain_wait_ready(io->drain, w.deadline_ms))
        cs_debug("container output: the resume pass is not done yet", NULL);
}

typedef struct sub_join {
    ctrd_io_sub *sub;
    ctrd_io_stdin *in;
    bool want_in;
} sub_join;

static int join_locked(void *user, void *arg)
{
    entry *e = user;
    sub_join *j = arg;
    pthread_mutex_lock(&e->subs_mu);
    j->sub->next = e->subs;
    e->subs = j->sub;
    pthread_mutex_unlock(&e->subs_mu);
    if (j->want_in && e->in) {
        atomic_fetch_add(&e->in->refs, 1);
        j->in = e->in;
    }
    return 0;
}

int ctrd_io_subscribe(ctrd_io *io, const char *id, unsigned want, size_t max_bytes, ctrd_io_sub **out,
                      ctrd_io_stdin **in)
{
    ctrd_io_sub *s = cs_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->want = want;
    s->max = max_bytes ? max_bytes : CTRD_IO_SUB_MAX;
    s->refs = 2; /* the entry's and the caller's */
    sub_join j = {.sub = s, .want_in = in != NULL};
    if (cs_logdrain_with(io->drain, id, join_locked, &j, 1) != 0) {
        s->refs = 1;
        sub_unref(s);
        return 1;
    }
    if (in)
        *in = j.in;
    *out = s;
    return 0;
}

int ctrd_io_sub_read(ctrd_io_sub *s, char *buf, size_t cap, int *which, size_t *len, int timeout_ms)
{
    *len = 0;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_lock(&s->mu);
    while (!s->head && !s->ended && !s->cut) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&s->cv, &s->mu);
        } else if (timeout_ms == 0 || pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&s->mu);
            return 1;
        }
    }
    if (s->head && !s->cut) {
        chunk *c = s->head;
        size_t n = c->len - c->off < cap ? c->len - c->off : cap;
        memcpy(buf, c->data + c->off, n);
        c->off += n;
        *len = n;
        *which = c->stream;
        if (c->off == c->len) {
            s->head = c->next;
            if (!s->head)
                s->tail = NULL;
            s->queued -= c->len;
            free(c);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void ctrd_io_sub_end(ctrd_io_sub *s)
{
    pthread_mutex_lock(&s->mu);
    s->cut = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

uint64_t ctrd_io_sub_dropped(ctrd_io_sub *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->dropped;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Takes s off the entry's list, dropping the entry's reference. */
static int leave_locked(void *user, void *arg)
{
    entry *e = user;
    ctrd_io_sub *s = arg;
    bool found = false;
    pthread_mutex_lock(&e->subs_mu);
    for (ctrd_io_sub **p = &e->subs; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&e->subs_mu);
    if (found)
        sub_unref(s);
    return 0;
}

void ctrd_io_unsubscribe(ctrd_io *io, const char *id, ctrd_io_sub *s)
{
    if (!s)
        return;
    /* Absent: the entry is gone, or going on the loop thread, and drops
     * its reference itself. */
    cs_logdrain_with(io->drain, id, leave_locked, s, 1);
    sub_unref(s);
}

int ctrd_pipe_write_all(int fd, const void *data, size_t len, int abort_fd, const atomic_bool *stop,
                        const char *stopped, cs_error *err)
{
    const char *p = data;
    while (len > 0) {
        if (stop && atomic_load(stop))
            return cs_error_set(err, CS_ERR_UNAVAILABLE, "%s", stopped);
        ssize_t w = write(fd, p, len);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN)
            return cs_error_errno(err, CS_ERR_UNAVAILABLE, errno, "write to the process's stdin");
        /* the pipe is full: wait for room or an abort; *stop is looked at
         * each turn */
        struct pollfd pf[2] = {{.fd = fd, .events = POLLOUT}, {.fd = abort_fd, .events = POLLIN}};
        int r = poll(pf, abort_fd >= 0 ? 2 : 1, PIPE_RECHECK_MS);
        if (r > 0 && abort_fd >= 0 && (pf[1].revents & POLLIN))
            return cs_error_set(err, CS_ERR_CANCELLED, "the session ended");
    }
    return 0;
}

int ctrd_io_stdin_write(ctrd_io_stdin *in, const void *data, size_t len, int abort_fd, cs_error *err)
{
    pthread_mutex_lock(&in->mu);
    if (atomic_load(&in->closed) || in->fd < 0) {
        pthread_mutex_unlock(&in->mu);
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "the container's stdin is closed");
    }
    in->busy++;
    int fd = in->fd;
    pthread_mutex_unlock(&in->mu);
    /* another session may close it meanwhile (stdin_once) */
    int rc = ctrd_pipe_write_all(fd, data, len, abort_fd, &in->closed, "the container's stdin is closed", err);
    pthread_mutex_lock(&in->mu);
    in->busy--;
    if (atomic_load(&in->closed))
        stdin_close_fd_locked(in);
    pthread_mutex_unlock(&in->mu);
    return rc;
}

bool ctrd_io_stdin_close(ctrd_io_stdin *in)
{
    pthread_mutex_lock(&in->mu);
    bool was = atomic_exchange(&in->closed, true);
    if (!was) {
        stdin_close_fd_locked(in);
        if (in->path)
            unlink(in->path);
    }
    pthread_mutex_unlock(&in->mu);
    return !was;
}

bool ctrd_io_stdin_closed(ctrd_io_stdin *in)
{
    return atomic_load(&in->closed);
}
