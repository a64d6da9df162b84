/* ExecSync on containerd: Tasks.Exec of the container's own OCI process
 * (its env, cwd, user, capabilities, rlimits...) with the command's args and
 * no terminal, as containerd's CRI plugin does, over two FIFOs of its own
 * (<state-dir>/fifo/<id>/exec-<exec id>-stdout|-stderr) read to EOF with
 * poll, each stream capped as on Docker; then Tasks.Wait for the exit code.
 * A command that outlives its timeout (or the call) is SIGKILLed and the
 * call fails DEADLINE_EXCEEDED (CANCELLED when the client left), as on
 * Docker. Whatever happens, the exec process is deleted (Tasks.DeleteProcess)
 * and the FIFOs are unlinked, so nothing is left behind. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containerd/containers.h"
#include "containerd/runtime.h"
#include "containerd/stdio.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

/* How long cleanup may take when the call itself is over. */
#define CLEANUP_TIMEOUT_MS 10000

/* The spec's process with args = cmd and the terminal as asked (with its
 * first size, when known); every other member (env, cwd, user,
 * capabilities, rlimits, apparmor, oom score...) as the container has it. */
static char *exec_process(const char *spec_json, const cs_strs *cmd, bool tty, uint32_t width, uint32_t height,
                          cs_arena *a, cs_error *err)
{
    cs_json *j;
    if (!spec_json || cs_json_parse(spec_json, strlen(spec_json), &j, err) != 0)
        return cs_error_set(err, CS_ERR_INTERNAL, "the container's record holds no OCI spec"), NULL;
    int proc = cs_json_get(j, 0, "process");
    if (proc < 0 || cs_json_type_of(j, proc) != CS_JSON_OBJECT) {
        cs_json_free(j);
        cs_error_set(err, CS_ERR_INTERNAL, "the container's OCI spec has no process");
        return NULL;
    }
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    int key;
    for (int v = cs_json_first_member(j, proc, &key); v >= 0; v = cs_json_next_member(j, proc, v, &key)) {
        if (cs_json_str_eq(j, key, "args") || cs_json_str_eq(j, key, "terminal") ||
            cs_json_str_eq(j, key, "consoleSize") || cs_json_str_eq(j, key, "commandLine"))
            continue;
        cs_jw_key(&w, cs_json_str(j, key, a));
        if (cs_json_type_of(j, v) == CS_JSON_STRING) { /* raw strings come without their quotes */
            cs_jw_string(&w, cs_json_str(j, v, a));
        } else {
            size_t len;
            const char *raw = cs_json_raw(j, v, &len);
            cs_jw_raw(&w, raw, len);
        }
    }
    cs_jw_kv_bool(&w, "terminal", tty);
    if (tty && width > 0 && height > 0) {
        /* runc sizes the console before the process runs: no first frame
         * drawn at 0x0. */
        cs_jw_key(&w, "consoleSize");
        cs_jw_obj_begin(&w);
        cs_jw_kv_int(&w, "height", height);
        cs_jw_kv_int(&w, "width", width);
        cs_jw_obj_end(&w);
    }
    cs_jw_kv_strs(&w, "args", cmd->items, cmd->n);
    cs_jw_obj_end(&w);
    cs_json_free(j);
    char *out = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return out;
}

/* One exec's FIFOs, by index: made and opened before Tasks.Exec (before the
 * shim opens its ends), unlinked and closed by fifos_close. The outputs are
 * read ends (non-blocking); stdin is opened O_RDWR, which never blocks and
 * never fails for want of a reader, and keeps the shim's writes from
 * failing either. */
enum { FIFO_OUT, FIFO_ERR, FIFO_IN, FIFO_N };
#define WANT(i) (1u << (i))

typedef struct exec_fifos {
    const char *path[FIFO_N];
    int fd[FIFO_N];
} exec_fifos;

static void fifo_close_one(exec_fifos *f, int i)
{
    if (f->fd[i] >= 0)
        close(f->fd[i]);
    f->fd[i] = -1;
}

static void fifos_close(exec_fifos *f)
{
    for (int i = 0; i < FIFO_N; i++) {
        fifo_close_one(f, i);
        if (f->path[i])
            unlink(f->path[i]);
        f->path[i] = NULL;
    }
}

static int fifos_open(ctrd_backend *d, const char *id, const char *exec_id, unsigned want, cs_arena *a,
                      exec_fifos *f, cs_error *err)
{
    for (int i = 0; i < FIFO_N; i++) {
        f->fd[i] = -1;
        f->path[i] = NULL;
    }
    const char *dir = cs_arena_printf(a, "%s/fifo/%s", d->state_dir, id);
    if (cs_mkdir_p(dir, 0700, err) != 0)
        return -1;
    static const char *const names[FIFO_N] = {"stdout", "stderr", "stdin"};
    for (int i = 0; i < FIFO_N; i++) {
        if (!(want & WANT(i)))
            continue;
        const char *p = cs_arena_printf(a, "%s/exec-%s-%s", dir, exec_id, names[i]);
        if (mkfifo(p, 0600) != 0) {
            cs_error_errno(err, CS_ERR_INTERNAL, errno, "mkfifo %s", p);
            fifos_close(f);
            return -1;
        }
        f->path[i] = p;
        f->fd[i] = open(p, (i == FIFO_IN ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
        if (f->fd[i] < 0) {
            cs_error_errno(err, CS_ERR_INTERNAL, errno, "open %s", p);
            fifos_close(f);
            return -1;
        }
    }
    return 0;
}

static const char *fifo_path_or_empty(const exec_fifos *f, int i)
{
    return f->path[i] ? f->path[i] : "";
}

/* Reads both output FIFOs to EOF into out[0..1] (capped). 0 at EOF of both; -1
 * when ctx ends first (err says which). The cancel flag is looked at every
 * CTRD_CANCEL_CHECK_MS, as the client does. */
static int read_all(exec_fifos *f, const cs_ctx *ctx, cs_buf out[2], cs_error *err)
{
    char chunk[65536];
    for (;;) {
        struct pollfd pfd[2];
        nfds_t n = 0;
        int which[2];
        for (int i = FIFO_OUT; i <= FIFO_ERR; i++)
            if (f->fd[i] >= 0) {
                pfd[n] = (struct pollfd){.fd = f->fd[i], .events = POLLIN};
                which[n++] = i;
            }
        if (n == 0)
            return 0;
        if (cs_ctx_cancelled(ctx))
            return cs_error_set(err, CS_ERR_CANCELLED, "the call was cancelled");
        int64_t left = cs_ctx_remaining_ms(ctx);
        if (left == 0)
            return cs_error_set(err, CS_ERR_DEADLINE, "deadline exceeded");
        int wait = left < 0 ? -1 : (int)(left > 3600000 ? 3600000 : left);
        if (ctx && ctx->cancelled && (wait < 0 || wait > CTRD_CANCEL_CHECK_MS))
            wait = CTRD_CANCEL_CHECK_MS;
        int r = poll(pfd, n, wait);
        if (r < 0 && errno != EINTR)
            return cs_error_errno(err, CS_ERR_INTERNAL, errno, "poll on the exec's FIFOs");
        for (nfds_t k = 0; r > 0 && k < n; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = which[k];
            ssize_t got = read(f->fd[i], chunk, sizeof chunk);
            if (got > 0) {
                cs_buf_append(&out[i], chunk, (size_t)got);
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(f->fd[i]); /* EOF: every writer is gone */
                f->fd[i] = -1;
            }
        }
    }
}

/* Kill (when asked), then always delete the exec process, within a bound of
 * its own: the call's ctx may be over already. */
static void exec_cleanup(ctrd_backend *d, const char *id, const char *exec_id, bool kill_it, const char *why)
{
    cs_ctx quick = cs_ctx_within(NULL, CLEANUP_TIMEOUT_MS);
    cs_error e;
    if (kill_it) {
        if (ctrd_task_kill(d, &quick, id, exec_id, SIGKILL, false, &e) == 0)
            cs_info("killed an exec's process", "container", id, "exec", exec_id, "why", why, NULL);
        else
            cs_warn("killing an exec's process failed", "container", id, "exec", exec_id, "error", e.msg, NULL);
        ctrd_task wait;
        ctrd_task_wait(d, &quick, id, exec_id, &wait, NULL); /* DeleteProcess wants it exited */
    }
    if (ctrd_task_delete(d, &quick, id, exec_id, NULL, &e) != 0)
        cs_warn("deleting an exec's process failed", "container", id, "exec", exec_id, "error", e.msg, NULL);
}

static char *new_exec_id(cs_arena *a)
{
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) /* never short for 16 bytes; a fallback anyway */
        for (size_t i = 0; i < sizeof rnd; i++)
            rnd[i] = (unsigned char)(cs_time_mono_ns() >> (i % 8 * 8));
    char *hex = cs_arena_alloc(a, sizeof rnd * 2 + 1);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    return hex;
}

/* What both kinds of exec start from: the container's full id and the
 * process to run in it; CONFLICT unless its task runs. */
static int exec_prepare(ctrd_backend *d, const cs_ctx *ctx, const char *id, const cs_strs *cmd, bool tty,
                        uint32_t width, uint32_t height, cs_arena *a, const char **full, char **process,
                        cs_error *err)
{
    ctrd_record rec;
    if (ctrd_container_find(d, ctx, id, a, &rec, err) != 0)
        return -1;
    *full = rec.id;
    *process = exec_process(rec.spec_json, cmd, tty, width, height, a, err);
    if (!*process)
        return -1;
    ctrd_task t = {0};
    if (ctrd_task_get(d, ctx, rec.id, NULL, &t, err) != 0 && err->code != CS_ERR_NOT_FOUND)
        return -1;
    if (t.status != CTRD_TASK_RUNNING)
        return cs_error_set(err, CS_ERR_CONFLICT, "container %s is not running", rec.id);
    return 0;
}

int ctrd_exec_sync(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, int64_t timeout_s,
                   cs_arena *a, cs_exec_result *out, cs_error *err)
{
    cs_error local;
    if (!err)
        err = &local;
    ctrd_backend *d = ctrd_of(b);
    const char *full;
    char *process;
    if (exec_prepare(d, ctx, id, cmd, false, 0, 0, a, &full, &process, err) != 0)
        return cs_error_wrap(err, "exec in %s", id);

    const char *exec_id = new_exec_id(a);
    exec_fifos f;
    if (fifos_open(d, full, exec_id, WANT(FIFO_OUT) | WANT(FIFO_ERR), a, &f, err) != 0)
        return cs_error_wrap(err, "exec in %s", id);
    ctrd_stdio_paths io = {.in = "", .out = f.path[FIFO_OUT], .err = f.path[FIFO_ERR], .terminal = false};
    bool made = false, started = false;
    int rc = ctrd_task_exec(d, ctx, full, exec_id, process, &io, err);
    if (rc == 0) {
        made = true;
        uint32_t pid;
        rc = ctrd_task_start(d, ctx, full, exec_id, &pid, err);
        started = rc == 0;
    }

    /* The command's own timeout, within the call's deadline. */
    cs_ctx run = timeout_s > 0 ? cs_ctx_within(ctx, timeout_s * 1000) : *ctx;
    bool own_timeout = timeout_s > 0 && (ctx->deadline_ms <= 0 || run.deadline_ms < ctx->deadline_ms);
    cs_buf got[2] = {{.max = CS_EXEC_OUTPUT_MAX}, {.max = CS_EXEC_OUTPUT_MAX}};
    ctrd_task done;
    if (rc == 0 && (read_all(&f, &run, got, err) != 0 || ctrd_task_wait(d, &run, full, exec_id, &done, err) != 0)) {
        rc = -1;
        if (own_timeout && err->code == CS_ERR_DEADLINE)
            cs_error_set(err, CS_ERR_DEADLINE, "command timed out after %lld s", (long long)timeout_s);
    }
    /* A started process the call gave up on may still run: kill it first. */
    if (made)
        exec_cleanup(d, full, exec_id, started && rc != 0,
                     err->code == CS_ERR_CANCELLED ? "the call was cancelled" : err->msg);
    fifos_close(&f);
    if (rc == 0) {
        out->exit_code = (int32_t)done.exit_status;
        out->out = cs_arena_strndup(a, got[0].data ? got[0].data : "", got[0].len);
        out->out_len = got[0].len;
        out->err = cs_arena_strndup(a, got[1].data ? got[1].data : "", got[1].len);
        out->err_len = got[1].len;
    }
    cs_buf_free(&got[0]);
    cs_buf_free(&got[1]);
    return rc != 0 ? cs_error_wrap(err, "exec in %s", id) : 0;
}

/* ---- interactive exec (the streaming server, crishim.v1 bidi) ----
 *
 * The same process as ExecSync, with a terminal when asked and a stdin FIFO
 * when asked. Output is read straight from the FIFOs by the session's
 * reader (an exec's output goes to its client, not to the CRI log). An
 * eventfd wakes a blocked read or write when the client goes away. */

typedef struct exec_session {
    cs_stdio base;
    ctrd_backend *d;
    cs_arena *a; /* id, exec id, FIFO paths */
    const char *id, *exec_id;
    bool tty, want_out, want_err;
    exec_fifos f;
    pthread_mutex_t in_mu; /* f.fd[FIFO_IN]: written by one thread, closed by another */
    int stop_fd;           /* eventfd: abort() was called */
    atomic_bool ended;     /* both outputs reached EOF: the process is done */
    atomic_bool aborted;
    bool waited; /* Tasks.Wait answered: code holds the exit */
    int32_t code;
} exec_session;

/* How long a closing session waits for an ended process's exit before it
 * kills it (something it left behind may hold its output open). */
#define EXIT_GRACE_MS 2000

static int session_read(cs_stdio *base, char *buf, size_t cap, int *stream, size_t *len, int timeout_ms,
                        cs_error *err)
{
    exec_session *s = (exec_session *)base;
    *len = 0;
    int64_t until = timeout_ms < 0 ? -1 : (int64_t)(cs_time_mono_ns() / 1000000) + timeout_ms;
    for (;;) {
        if (atomic_load(&s->aborted))
            return 0;
        struct pollfd pfd[3];
        int which[3];
        nfds_t n = 0;
        for (int i = FIFO_OUT; i <= FIFO_ERR; i++)
            if (s->f.fd[i] >= 0) {
                pfd[n] = (struct pollfd){.fd = s->f.fd[i], .events = POLLIN};
                which[n++] = i;
            }
        if (n == 0) {
            atomic_store(&s->ended, true);
            return 0;
        }
        pfd[n] = (struct pollfd){.fd = s->stop_fd, .events = POLLIN};
        int wait = -1;
        if (until >= 0) {
            int64_t left = until - (int64_t)(cs_time_mono_ns() / 1000000);
            wait = left > 0 ? (int)left : 0;
        }
        int r = poll(pfd, n + 1, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cs_error_errno(err, CS_ERR_INTERNAL, errno, "poll on the exec's output");
        if (r == 0)
            return 1;
        for (nfds_t k = 0; k < n; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = which[k];
            ssize_t got = read(s->f.fd[i], buf, cap);
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got <= 0) {
                fifo_close_one(&s->f, i); /* EOF: the shim copied everything and closed */
                continue;
            }
            if (i == FIFO_OUT ? !s->want_out : !s->want_err)
                continue; /* the client did not ask for this stream: drop it */
            *stream = i == FIFO_OUT ? 1 : 2;
            *len = (size_t)got;
            return 0;
        }
    }
}

static int session_write(cs_stdio *base, const void *data, size_t len, cs_error *err)
{
    exec_session *s = (exec_session *)base;
    if (atomic_load(&s->aborted))
        return cs_error_set(err, CS_ERR_CANCELLED, "the session was aborted");
    pthread_mutex_lock(&s->in_mu);
    int fd = s->f.fd[FIFO_IN];
    pthread_mutex_unlock(&s->in_mu);
    if (fd < 0)
        return cs_error_set(err, CS_ERR_CONFLICT, "the exec has no stdin (or it was closed)");
    return ctrd_pipe_write_all(fd, data, len, s->stop_fd, &s->ended, "the exec's process has exited", err);
}

/* EOF for the process: crishim's end goes, then the shim's own writer
 * (CloseIO). What is still in the pipe stays readable for the shim's copy,
 * which then reaches EOF and closes the process's stdin. */
static int session_close_stdin(cs_stdio *base, cs_error *err)
{
    exec_session *s = (exec_session *)base;
    pthread_mutex_lock(&s->in_mu);
    bool had = s->f.fd[FIFO_IN] >= 0;
    fifo_close_one(&s->f, FIFO_IN);
    pthread_mutex_unlock(&s->in_mu);
    if (!had || atomic_load(&s->ended))
        return 0;
    cs_ctx quick = cs_ctx_within(NULL, CLEANUP_TIMEOUT_MS);
    cs_error local;
    if (ctrd_task_close_stdin(s->d, &quick, s->id, s->exec_id, err ? err : &local) != 0 &&
        (err ? err : &local)->code != CS_ERR_NOT_FOUND)
        return -1;
    return 0;
}

static int session_resize(cs_stdio *base, const cs_ctx *ctx, uint32_t width, uint32_t height, cs_error *err)
{
    exec_session *s = (exec_session *)base;
    if (!s->tty || width == 0 || height == 0 || atomic_load(&s->ended))
        return 0;
    return ctrd_task_resize(s->d, ctx, s->id, s->exec_id, width, height, err);
}

static int session_exit_code(cs_stdio *base, const cs_ctx *ctx, int32_t *code, cs_error *err)
{
    exec_session *s = (exec_session *)base;
    if (!s->waited) {
        ctrd_task t;
        if (ctrd_task_wait(s->d, ctx, s->id, s->exec_id, &t, err) != 0)
            return -1;
        s->waited = true;
        s->code = (int32_t)t.exit_status;
    }
    *code = s->code;
    return 0;
}

static void session_abort(cs_stdio *base)
{
    exec_session *s = (exec_session *)base;
    if (atomic_exchange(&s->aborted, true))
        return;
    uint64_t one = 1;
    ssize_t w = write(s->stop_fd, &one, sizeof one);
    (void)w; /* an eventfd's counter only overflows after 2^64-1 writes */
    if (!atomic_load(&s->ended)) {
        cs_ctx quick = cs_ctx_within(NULL, CLEANUP_TIMEOUT_MS);
        cs_error e;
        if (ctrd_task_kill(s->d, &quick, s->id, s->exec_id, SIGKILL, false, &e) == 0)
            cs_info("killed an exec's process", "container", s->id, "exec", s->exec_id, "why",
                    "its client went away", NULL);
        else
            cs_warn("killing an exec's process failed", "container", s->id, "exec", s->exec_id, "error", e.msg,
                    NULL);
    }
}

/* Nothing stays behind: a process whose output did not end is killed, and
 * the process is deleted whatever happened. */
static void session_close(cs_stdio *base)
{
    exec_session *s = (exec_session *)base;
    if (!s->waited && atomic_load(&s->ended)) {
        /* The output ends as the process exits; its exit is a moment
         * behind, and DeleteProcess wants it. */
        cs_ctx brief = cs_ctx_within(NULL, EXIT_GRACE_MS);
        ctrd_task t;
        s->waited = ctrd_task_wait(s->d, &brief, s->id, s->exec_id, &t, NULL) == 0;
    }
    exec_cleanup(s->d, s->id, s->exec_id, !s->waited, "its session closed before the process ended");
    fifos_close(&s->f);
    pthread_mutex_destroy(&s->in_mu);
    close(s->stop_fd);
    cs_arena_free(s->a);
    free(s);
}

static const cs_stdio_ops exec_session_ops = {
    .read = session_read,
    .write = session_write,
    .close_stdin = session_close_stdin,
    .resize = session_resize,
    .abort = session_abort,
    .exit_code = session_exit_code,
    .close = session_close,
};

int ctrd_exec_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, const cs_stdio_opts *o,
                   cs_stdio **out, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    exec_session *s = cs_xcalloc(1, sizeof *s);
    s->base.ops = &exec_session_ops;
    s->d = d;
    s->a = cs_arena_new();
    s->tty = o->tty;
    s->want_out = o->stdout_;
    s->want_err = o->stderr_ && !o->tty;
    s->stop_fd = -1;
    for (int i = 0; i < FIFO_N; i++)
        s->f.fd[i] = -1;
    pthread_mutex_init(&s->in_mu, NULL);
    bool made = false;
    char *process;
    if (exec_prepare(d, ctx, id, cmd, o->tty, o->width, o->height, s->a, &s->id, &process, err) != 0)
        goto fail;
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->stop_fd < 0) {
        cs_error_errno(err, CS_ERR_INTERNAL, errno, "eventfd");
        goto fail;
    }
    s->exec_id = new_exec_id(s->a);
    /* stdout always, so the end of the output says the process ended; a
     * terminal has one stream only. */
    unsigned want = WANT(FIFO_OUT) | (o->tty ? 0 : WANT(FIFO_ERR)) | (o->stdin_ ? WANT(FIFO_IN) : 0);
    if (fifos_open(d, s->id, s->exec_id, want, s->a, &s->f, err) != 0)
        goto fail;
    ctrd_stdio_paths io = {.in = fifo_path_or_empty(&s->f, FIFO_IN),
                           .out = fifo_path_or_empty(&s->f, FIFO_OUT),
                           .err = fifo_path_or_empty(&s->f, FIFO_ERR),
                           .terminal = o->tty};
    if (ctrd_task_exec(d, ctx, s->id, s->exec_id, process, &io, err) != 0)
        goto fail;
    made = true;
    uint32_t pid;
    if (ctrd_task_start(d, ctx, s->id, s->exec_id, &pid, err) != 0)
        goto fail;
    *out = &s->base;
    return 0;
fail:
    if (made)
        exec_cleanup(d, s->id, s->exec_id, false, NULL);
    fifos_close(&s->f);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    pthread_mutex_destroy(&s->in_mu);
    cs_arena_free(s->a);
    free(s);
    return cs_error_wrap(err, "exec in %s", id);
}
