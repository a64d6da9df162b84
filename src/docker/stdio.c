/* Exec and attach sessions on Docker over hijacked connections: stdin is
 * written to the socket, output read from it (demultiplexed unless there is
 * a TTY), resize and exit code through the API. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "docker/internal.h"
#include "docker/labels.h"
#include "docker/mux.h"
#include "util/mem.h"
#include "util/time.h"

typedef struct docker_stdio {
    cs_stdio base;
    docker_backend *d;
    int fd;
    bool tty, is_exec;
    bool ended; /* the output reached EOF: the process is done */
    char id[80]; /* the exec id, or the container id for attach */
    /* demultiplexing state */
    size_t frame_left;
    int frame_stream;
} docker_stdio;

/* Waits for input, then reads; 1 on timeout, 0 at EOF (*n 0), -1 on error. */
static int read_some(docker_stdio *s, void *buf, size_t cap, size_t *n, int timeout_ms, cs_error *err)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int pr = poll(&p, 1, timeout_ms);
    if (pr == 0)
        return 1;
    if (pr < 0 && errno != EINTR)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "poll");
    if (pr < 0)
        return 1;
    ssize_t r = recv(s->fd, buf, cap, 0);
    if (r < 0)
        return errno == ECONNRESET ? (*n = 0, 0) : cs_error_errno(err, CS_ERR_UNAVAILABLE, errno, "docker stream");
    *n = (size_t)r;
    return 0;
}

static int read_full(docker_stdio *s, unsigned char *buf, size_t want, cs_error *err)
{
    size_t have = 0;
    while (have < want) {
        size_t n = 0;
        int rc = read_some(s, buf + have, want - have, &n, 1000, err);
        if (rc < 0)
            return -1;
        if (rc == 1)
            continue;
        if (n == 0)
            return have == 0 ? 1 : cs_error_set(err, CS_ERR_INTERNAL, "docker stream cut inside a frame header");
        have += n;
    }
    return 0;
}

static int read_output(docker_stdio *s, char *buf, size_t cap, int *stream, size_t *len, int timeout_ms,
                       cs_error *err)
{
    *len = 0;
    if (s->tty) {
        *stream = DOCKER_STREAM_STDOUT;
        return read_some(s, buf, cap, len, timeout_ms, err);
    }
    while (s->frame_left == 0) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms);
        if (pr == 0)
            return 1;
        unsigned char h[8];
        int rc = read_full(s, h, 8, err);
        if (rc < 0)
            return -1;
        if (rc == 1)
            return 0; /* clean end between frames */
        s->frame_stream = h[0];
        s->frame_left = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | (size_t)h[7];
    }
    size_t want = s->frame_left < cap ? s->frame_left : cap;
    int rc = read_some(s, buf, want, len, timeout_ms, err);
    if (rc != 0)
        return rc;
    if (*len == 0)
        return cs_error_set(err, CS_ERR_INTERNAL, "docker stream cut inside a frame");
    s->frame_left -= *len;
    *stream = s->frame_stream;
    return 0;
}

static int stdio_read(cs_stdio *base, char *buf, size_t cap, int *stream, size_t *len, int timeout_ms,
                      cs_error *err)
{
    docker_stdio *s = (docker_stdio *)base;
    int rc = read_output(s, buf, cap, stream, len, timeout_ms, err);
    if (rc == 0 && *len == 0)
        s->ended = true;
    return rc;
}

static int stdio_write(cs_stdio *base, const void *data, size_t len, cs_error *err)
{
    docker_stdio *s = (docker_stdio *)base;
    const char *p = data;
    while (len > 0) {
        ssize_t w = send(s->fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return cs_error_errno(err, CS_ERR_UNAVAILABLE, errno, "write to the process's stdin");
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int stdio_close_stdin(cs_stdio *base, cs_error *err)
{
    docker_stdio *s = (docker_stdio *)base;
    shutdown(s->fd, SHUT_WR);
    return 0;
}

static int stdio_resize(cs_stdio *base, const cs_ctx *ctx, uint32_t w, uint32_t h, cs_error *err)
{
    docker_stdio *s = (docker_stdio *)base;
    if (!s->tty || w == 0 || h == 0)
        return 0;
    char path[200];
    snprintf(path, sizeof path, "/%s/%s/resize?h=%u&w=%u", s->is_exec ? "exec" : "containers", s->id, h, w);
    docker_response r;
    if (docker_request_ok(s->d->http, ctx, "POST", path, NULL, 0, NULL, &r, err) != 0)
        return -1;
    docker_response_clear(&r);
    return 0;
}

static int stdio_exit_code(cs_stdio *base, const cs_ctx *ctx, int32_t *code, cs_error *err)
{
    docker_stdio *s = (docker_stdio *)base;
    char path[200];
    snprintf(path, sizeof path, "/%s/%s/json", s->is_exec ? "exec" : "containers", s->id);
    /* The output ends a moment before Docker records the exit. */
    for (int i = 0; i < 50; i++) {
        docker_response r;
        cs_json *j;
        if (docker_get_json(s->d, ctx, path, &r, &j, err) != 0)
            return -1;
        bool running = cs_json_get_bool(j, 0, s->is_exec ? "Running" : "State.Running", false);
        *code = (int32_t)cs_json_get_int64(j, 0, s->is_exec ? "ExitCode" : "State.ExitCode", -1);
        docker_json_release(&r, j);
        if (!running)
            return 0;
        usleep(20000);
    }
    return cs_error_set(err, CS_ERR_CONFLICT, "the process is still running");
}

static void stdio_abort(cs_stdio *base)
{
    docker_stdio *s = (docker_stdio *)base;
    if (s->is_exec && !s->ended)
        docker_exec_kill(s->d, s->id, "its client went away");
    if (s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR);
}

static void stdio_close(cs_stdio *base)
{
    docker_stdio *s = (docker_stdio *)base;
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

static const cs_stdio_ops docker_stdio_ops = {
    .read = stdio_read,
    .write = stdio_write,
    .close_stdin = stdio_close_stdin,
    .resize = stdio_resize,
    .abort = stdio_abort,
    .exit_code = stdio_exit_code,
    .close = stdio_close,
};

static docker_stdio *session_new(docker_backend *d, const char *id, bool tty, bool is_exec)
{
    docker_stdio *s = cs_xcalloc(1, sizeof *s);
    s->base.ops = &docker_stdio_ops;
    s->d = d;
    s->fd = -1;
    s->tty = tty;
    s->is_exec = is_exec;
    snprintf(s->id, sizeof s->id, "%s", id);
    return s;
}

/* The end of both opens: the start size for a TTY, or clean-up and context. */
static int open_done(const cs_ctx *ctx, docker_stdio *s, int rc, const cs_stdio_opts *o, cs_stdio **out,
                     cs_error *err, const char *what, const char *id)
{
    if (rc != 0) {
        if (s)
            stdio_close(&s->base);
        return cs_error_wrap(err, "%s %s", what, id);
    }
    if (s->tty && o->width && o->height)
        stdio_resize(&s->base, ctx, o->width, o->height, NULL);
    *out = &s->base;
    return 0;
}

int docker_exec_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, const cs_stdio_opts *o,
                     cs_stdio **out, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    const char *full;
    int rc = docker_resolve_id(d, ctx, DL_KIND_CONTAINER, id, a, &full, err);
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_bool(&w, "AttachStdin", o->stdin_);
    cs_jw_kv_bool(&w, "AttachStdout", o->stdout_);
    cs_jw_kv_bool(&w, "AttachStderr", o->stderr_ && !o->tty);
    cs_jw_kv_bool(&w, "Tty", o->tty);
    docker_put_strs(&w, "Cmd", cmd);
    cs_jw_obj_end(&w);
    docker_response r = {0};
    char *eid = NULL;
    if (rc == 0)
        rc = docker_request(d->http, ctx, "POST", cs_arena_printf(a, "/containers/%s/exec", full),
                            cs_jw_str_view(&w), w.len, NULL, &r, err);
    cs_jw_free(&w);
    if (rc == 0 && r.status == 409)
        rc = cs_error_set(err, CS_ERR_CONFLICT, "container %s is not running", id);
    else if (rc == 0 && r.status >= 400)
        rc = docker_error_from_response(&r, err);
    cs_json *j = NULL;
    if (rc == 0 && cs_json_parse(r.body, r.body_len, &j, err) == 0)
        eid = cs_json_get_str(j, 0, "Id", a);
    else if (rc == 0)
        rc = -1;
    cs_json_free(j);
    docker_response_clear(&r);
    if (rc == 0 && !eid)
        rc = cs_error_set(err, CS_ERR_INTERNAL, "docker returned no exec id");
    docker_stdio *s = NULL;
    if (rc == 0) {
        s = session_new(d, eid, o->tty, true);
        const char *body = cs_arena_printf(a, "{\"Detach\":false,\"Tty\":%s}", o->tty ? "true" : "false");
        rc = docker_hijack(d, ctx, cs_arena_printf(a, "/exec/%s/start", eid), body, &s->fd, err);
    }
    cs_arena_free(a);
    return open_done(ctx, s, rc, o, out, err, "exec in", id);
}

int docker_attach_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_stdio_opts *o, cs_stdio **out,
                       cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    const char *full;
    int rc = docker_resolve_id(d, ctx, DL_KIND_CONTAINER, id, a, &full, err);
    bool tty = false;
    if (rc == 0) {
        docker_response r;
        cs_json *j;
        rc = docker_get_json(d, ctx, cs_arena_printf(a, "/containers/%s/json", full), &r, &j, err);
        if (rc == 0) {
            tty = cs_json_get_bool(j, 0, "Config.Tty", false);
            if (!cs_json_get_bool(j, 0, "State.Running", false))
                rc = cs_error_set(err, CS_ERR_CONFLICT, "container %s is not running", id);
            docker_json_release(&r, j);
        }
    }
    docker_stdio *s = NULL;
    if (rc == 0) {
        s = session_new(d, full, tty, false);
        rc = docker_hijack(d, ctx,
                           cs_arena_printf(a, "/containers/%s/attach?stream=1&stdin=%d&stdout=%d&stderr=%d", full,
                                           o->stdin_, o->stdout_, o->stderr_),
                           NULL, &s->fd, err);
    }
    cs_arena_free(a);
    return open_done(ctx, s, rc, o, out, err, "attach to", id);
}
