/* Attach on containerd: a session is a subscriber to the container's output
 * on the FIFO loop (stdio.c: the log keeps everything, the session gets a
 * bounded queue of its own) plus, when the container was made with stdin,
 * a share of crishim's writer on its stdin FIFO. Nothing here talks to the
 * shim's pipes directly, so sessions come and go without the process
 * noticing, as with containerd's CRI and Docker.
 *
 * Stdin's end, as both of those do it: a stdin_once container (without a
 * terminal) has its stdin closed when the session that writes it closes its
 * stdin or goes: crishim's writer is closed and Tasks.CloseIO drops the
 * shim's, so the process reads EOF, and its output runs on to the exit.
 * Otherwise a session closing its stdin just ends that session (stdin stays
 * open for the next one). Stdin asked of a container made without it is
 * ignored, as containerd's CRI ignores it. Attach never kills anything. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "containerd/containers.h"
#include "containerd/internal.h"
#include "containerd/runtime.h"
#include "containerd/stdio.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

/* The longest exit_code waits for the exit after the output ended, and the
 * pause between looks. */
#define EXIT_WAIT_MS 10000
#define EXIT_POLL_MS 50
/* Tasks.CloseIO and ResizePty when the caller gives no deadline. */
#define TASK_CALL_MS 5000

typedef struct ctrd_attach {
    cs_stdio base;
    ctrd_backend *d;
    char id[80];
    bool tty;        /* the container's terminal */
    bool stdin_once; /* the container's */
    ctrd_io_sub *sub;
    ctrd_io_stdin *in; /* NULL: this session writes no stdin */
    int abort_fd;      /* eventfd: abort unblocks a write waiting on a full pipe */
    atomic_bool stdin_done; /* close_stdin ran (or the output ended it) */
    atomic_bool detached;   /* the session's end, not the container's, ended the output */
    atomic_bool ended;      /* the container's output ended: its process is gone */
} ctrd_attach;

/* stdin_once: crishim's writer and the shim's both go, so the process
 * reads EOF. Once, whichever session gets there first. */
static void close_container_stdin(ctrd_attach *s, const cs_ctx *ctx)
{
    if (!ctrd_io_stdin_close(s->in))
        return;
    cs_ctx c = ctx && ctx->deadline_ms ? *ctx : cs_ctx_within(NULL, TASK_CALL_MS);
    cs_error err;
    if (ctrd_task_close_stdin(s->d, &c, s->id, NULL, &err) != 0)
        cs_warn("attach: closing the container's stdin failed", "id", s->id, "error", err.msg, NULL);
    else
        cs_debug("attach: the container's stdin is closed (stdin_once)", "id", s->id, NULL);
}

static int attach_read(cs_stdio *base, char *buf, size_t cap, int *stream, size_t *len, int timeout_ms,
                       cs_error *err)
{
    (void)err;
    ctrd_attach *s = (ctrd_attach *)base;
    int rc = ctrd_io_sub_read(s->sub, buf, cap, stream, len, timeout_ms);
    if (rc == 0 && *len == 0 && !atomic_load(&s->detached))
        atomic_store(&s->ended, true);
    return rc;
}

static int attach_write(cs_stdio *base, const void *data, size_t len, cs_error *err)
{
    ctrd_attach *s = (ctrd_attach *)base;
    if (!s->in) /* no stdin asked, or none to have: dropped, as on containerd's CRI */
        return 0;
    if (atomic_load(&s->stdin_done))
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "stdin of this attach session is closed");
    return ctrd_io_stdin_write(s->in, data, len, s->abort_fd, err);
}

static int attach_close_stdin(cs_stdio *base, cs_error *err)
{
    (void)err;
    ctrd_attach *s = (ctrd_attach *)base;
    if (!s->in || atomic_exchange(&s->stdin_done, true))
        return 0;
    if (s->stdin_once && !s->tty) {
        close_container_stdin(s, NULL);
    } else {
        atomic_store(&s->detached, true);
        ctrd_io_sub_end(s->sub); /* the session is over; the container's stdin stays open */
    }
    return 0;
}

static int attach_resize(cs_stdio *base, const cs_ctx *ctx, uint32_t w, uint32_t h, cs_error *err)
{
    ctrd_attach *s = (ctrd_attach *)base;
    if (!s->tty || w == 0 || h == 0)
        return 0;
    cs_ctx c = ctx ? *ctx : cs_ctx_within(NULL, TASK_CALL_MS);
    if (ctrd_task_resize(s->d, &c, s->id, NULL, w, h, err) != 0)
        return cs_error_wrap(err, "resize the terminal of container %s", s->id);
    return 0;
}

static void attach_abort(cs_stdio *base)
{
    ctrd_attach *s = (ctrd_attach *)base;
    atomic_store(&s->detached, true);
    uint64_t one = 1;
    if (s->abort_fd >= 0 && write(s->abort_fd, &one, sizeof one) < 0)
        cs_debug("attach: abort wake-up failed", "error", strerror(errno), NULL);
    ctrd_io_sub_end(s->sub);
}

/* The record's word once the task is gone; ContainerStatus records an exit
 * nobody has yet. */
static int attach_exit_code(cs_stdio *base, const cs_ctx *ctx, int32_t *code, cs_error *err)
{
    ctrd_attach *s = (ctrd_attach *)base;
    if (atomic_load(&s->detached)) /* no exit to wait for: the process runs on */
        return cs_error_set(err, CS_ERR_CONFLICT, "container %s is still running: the attach session ended", s->id);
    cs_ctx c = cs_ctx_within(ctx, EXIT_WAIT_MS);
    for (;;) {
        cs_arena *a = cs_arena_new();
        cs_container *ct;
        int rc = ctrd_container_status(&s->d->base, &c, s->id, false, a, &ct, err);
        bool exited = rc == 0 && ct->state == CS_CONTAINER_EXITED;
        if (exited)
            *code = ct->exit_code;
        cs_arena_free(a);
        if (rc != 0)
            return -1;
        if (exited)
            return 0;
        if (cs_ctx_done(&c))
            return cs_error_set(err, CS_ERR_CONFLICT, "container %s is still running", s->id);
        usleep(EXIT_POLL_MS * 1000);
    }
}

static void attach_close(cs_stdio *base)
{
    ctrd_attach *s = (ctrd_attach *)base;
    /* The session that writes a stdin_once container's stdin went: the
     * process sees EOF, as if it had closed it. */
    if (s->in && s->stdin_once && !s->tty && !atomic_load(&s->ended) && !atomic_exchange(&s->stdin_done, true))
        close_container_stdin(s, NULL);
    uint64_t dropped = ctrd_io_sub_dropped(s->sub);
    if (dropped) {
        char n[32];
        snprintf(n, sizeof n, "%llu", (unsigned long long)dropped);
        cs_info("attach: a slow client lost output", "id", s->id, "bytes", n, NULL);
    }
    ctrd_io_unsubscribe(s->d->io, s->id, s->sub);
    ctrd_io_stdin_unref(s->in);
    if (s->abort_fd >= 0)
        close(s->abort_fd);
    free(s);
}

static const cs_stdio_ops ctrd_attach_ops = {
    .read = attach_read,
    .write = attach_write,
    .close_stdin = attach_close_stdin,
    .resize = attach_resize,
    .abort = attach_abort,
    .exit_code = attach_exit_code,
    .close = attach_close,
};

int ctrd_attach_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_stdio_opts *o, cs_stdio **out,
                     cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    cs_arena *a = cs_arena_new();
    ctrd_record r;
    ctrd_task t = {0};
    cs_error e;
    int rc = ctrd_container_find(d, ctx, id, a, &r, err);
    if (rc == 0 && ctrd_task_get(d, ctx, r.id, NULL, &t, &e) != 0 && e.code != CS_ERR_NOT_FOUND) {
        if (err)
            *err = e;
        rc = -1;
    }
    if (rc == 0 && t.status != CTRD_TASK_RUNNING)
        rc = cs_error_set(err, CS_ERR_CONFLICT, "container %s is not running", id);
    ctrd_container_stdio cio;
    if (rc == 0) {
        ctrd_container_stdio_of(&r, a, &cio);
        if (!cio.fifo)
            rc = cs_error_set(err, CS_ERR_CONFLICT, "container %s has no stdio to attach to (made without a log "
                                                    "by an older crishim)", id);
    }
    ctrd_attach *s = NULL;
    if (rc == 0) {
        s = cs_xcalloc(1, sizeof *s);
        s->base.ops = &ctrd_attach_ops;
        s->d = d;
        snprintf(s->id, sizeof s->id, "%s", r.id);
        s->tty = cio.tty;
        s->stdin_once = cio.stdin_once;
        atomic_init(&s->stdin_done, false);
        atomic_init(&s->detached, false);
        atomic_init(&s->ended, false);
        s->abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->abort_fd < 0)
            rc = cs_error_errno(err, CS_ERR_INTERNAL, errno, "eventfd");
    }
    /* right after a restart the running containers' FIFOs may not be back */
    if (rc == 0)
        ctrd_io_wait_ready(d->io, ctx);
    /* A terminal has one stream, reported as stdout. */
    unsigned want = (o->stdout_ ? CTRD_IO_WANT_STDOUT : 0) | (o->stderr_ ? CTRD_IO_WANT_STDERR : 0);
    if (rc == 0 && cio.tty && o->stderr_)
        want |= CTRD_IO_WANT_STDOUT;
    if (rc == 0 && ctrd_io_subscribe(d->io, s->id, want, CTRD_IO_SUB_MAX, &s->sub, o->stdin_ ? &s->in : NULL) != 0)
        rc = cs_error_set(err, CS_ERR_CONFLICT, "container %s is not running (its output has ended)", id);
    if (rc == 0 && s->in && ctrd_io_stdin_closed(s->in)) {
        ctrd_io_stdin_unref(s->in); /* stdin_once, and used up: as if made without */
        s->in = NULL;
    }
    cs_arena_free(a);
    if (rc != 0) {
        if (s) {
            if (s->abort_fd >= 0)
                close(s->abort_fd);
            free(s);
        }
        return cs_error_wrap(err, "attach to %s", id);
    }
    if (s->tty && o->width && o->height)
        attach_resize(&s->base, ctx, o->width, o->height, NULL);
    cs_debug("attach: session opened", "id", s->id, "stdin", s->in ? "yes" : "no", NULL);
    *out = &s->base;
    return 0;
}
