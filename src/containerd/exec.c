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
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containerd/containers.h"
#include "containerd/runtime.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

/* How long cleanup may take when the call itself is over. */
#define CLEANUP_TIMEOUT_MS 10000

/* The spec's process with args = cmd and terminal off; every other member
 * (env, cwd, user, capabilities, rlimits, apparmor, oom score...) as the
 * container has it. */
static char *exec_process(const char *spec_json, const cs_strs *cmd, cs_arena *a, cs_error *err)
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
    cs_jw_kv_bool(&w, "terminal", false);
    cs_jw_kv_strs(&w, "args", cmd->items, cmd->n);
    cs_jw_obj_end(&w);
    cs_json_free(j);
    char *out = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return out;
}

/* One exec's FIFOs: made and opened for reading (non-blocking, before the
 * shim opens its writing ends), unlinked and closed by fifos_close. */
typedef struct exec_fifos {
    const char *path[2]; /* stdout, stderr */
    int fd[2];
} exec_fifos;

static void fifos_close(exec_fifos *f)
{
    for (int i = 0; i < 2; i++) {
        if (f->fd[i] >= 0)
            close(f->fd[i]);
        f->fd[i] = -1;
        if (f->path[i])
            unlink(f->path[i]);
    }
}

static int fifos_open(ctrd_backend *d, const char *id, const char *exec_id, cs_arena *a, exec_fifos *f,
                      cs_error *err)
{
    f->fd[0] = f->fd[1] = -1;
    f->path[0] = f->path[1] = NULL;
    const char *dir = cs_arena_printf(a, "%s/fifo/%s", d->state_dir, id);
    if (cs_mkdir_p(dir, 0700, err) != 0)
        return -1;
    static const char *const names[2] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        const char *p = cs_arena_printf(a, "%s/exec-%s-%s", dir, exec_id, names[i]);
        if (mkfifo(p, 0600) != 0) {
            cs_error_errno(err, CS_ERR_INTERNAL, errno, "mkfifo %s", p);
            fifos_close(f);
            return -1;
        }
        f->path[i] = p;
        f->fd[i] = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (f->fd[i] < 0) {
            cs_error_errno(err, CS_ERR_INTERNAL, errno, "open %s", p);
            fifos_close(f);
            return -1;
        }
    }
    return 0;
}

/* Reads both FIFOs to EOF into out[0..1] (capped). 0 at EOF of both; -1
 * when ctx ends first (err says which). The cancel flag is looked at every
 * CTRD_CANCEL_CHECK_MS, as the client does. */
static int read_all(exec_fifos *f, const cs_ctx *ctx, cs_buf out[2], cs_error *err)
{
    char chunk[65536];
    for (;;) {
        struct pollfd pfd[2];
        nfds_t n = 0;
        int which[2];
        for (int i = 0; i < 2; i++)
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

int ctrd_exec_sync(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, int64_t timeout_s,
                   cs_arena *a, cs_exec_result *out, cs_error *err)
{
    cs_error local;
    if (!err)
        err = &local;
    ctrd_backend *d = ctrd_of(b);
    ctrd_record rec;
    if (ctrd_container_find(d, ctx, id, a, &rec, err) != 0)
        return cs_error_wrap(err, "exec in %s", id);
    const char *full = rec.id;
    char *process = exec_process(rec.spec_json, cmd, a, err);
    if (!process)
        return cs_error_wrap(err, "exec in %s", id);
    ctrd_task t = {0};
    if (ctrd_task_get(d, ctx, full, NULL, &t, err) != 0 && err->code != CS_ERR_NOT_FOUND)
        return cs_error_wrap(err, "exec in %s", id);
    if (t.status != CTRD_TASK_RUNNING)
        return cs_error_set(err, CS_ERR_CONFLICT, "exec in %s: container %s is not running", id, full);

    const char *exec_id = new_exec_id(a);
    exec_fifos f;
    if (fifos_open(d, full, exec_id, a, &f, err) != 0)
        return cs_error_wrap(err, "exec in %s", id);
    ctrd_stdio_paths io = {.in = "", .out = f.path[0], .err = f.path[1], .terminal = false};
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
