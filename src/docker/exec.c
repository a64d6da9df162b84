/* ExecSync on Docker: exec create, exec start read to the end (demultiplexed
 * into stdout and stderr), exec inspect for the exit code. A command that
 * outlives its timeout is killed, so nothing lingers in the container. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"
#include "docker/labels.h"
#include "docker/mux.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

/* stdout and stderr as they come (index: the mux's stream number). */
typedef struct exec_out {
    cs_buf buf[3];
} exec_out;

static int on_frame(void *user, int stream, const char *data, size_t len, cs_error *err)
{
    exec_out *o = user;
    if (stream == DOCKER_STREAM_STDOUT || stream == DOCKER_STREAM_STDERR)
        cs_buf_append(&o->buf[stream], data, len);
    return 0;
}

static int feed_demux(void *user, const char *data, size_t len, cs_error *err)
{
    return docker_demux_feed(user, data, len, err);
}

static char *exec_create(docker_backend *d, const cs_ctx *ctx, const char *id, const cs_strs *cmd, cs_arena *a,
                         cs_error *err)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_bool(&w, "AttachStdout", true);
    cs_jw_kv_bool(&w, "AttachStderr", true);
    cs_jw_kv_bool(&w, "Tty", false);
    cs_jw_kv_strs(&w, "Cmd", cmd->items, cmd->n);
    cs_jw_obj_end(&w);
    docker_response resp;
    int rc = docker_request(d->http, ctx, "POST", cs_arena_printf(a, "/containers/%s/exec", id), cs_jw_str_view(&w),
                            w.len, NULL, &resp, err);
    cs_jw_free(&w);
    if (rc != 0)
        return NULL;
    char *eid = NULL;
    if (resp.status == 409) {
        cs_error_set(err, CS_ERR_CONFLICT, "container %s is not running", id);
    } else if (resp.status >= 400) {
        docker_error_from_response(&resp, err);
    } else {
        cs_json *j;
        if (cs_json_parse(resp.body, resp.body_len, &j, err) == 0) {
            eid = cs_json_get_str(j, 0, "Id", a);
            cs_json_free(j);
        }
        if (!eid)
            cs_error_set(err, CS_ERR_INTERNAL, "docker returned no exec id");
    }
    docker_response_clear(&resp);
    return eid;
}

static int exec_inspect(docker_backend *d, const cs_ctx *ctx, const char *eid, cs_arena *a, bool *running, int *pid,
                        int32_t *exit_code, cs_error *err)
{
    docker_response resp;
    cs_json *j;
    if (docker_get_json(d, ctx, cs_arena_printf(a, "/exec/%s/json", eid), &resp, &j, err) != 0)
        return -1;
    *running = cs_json_get_bool(j, 0, "Running", false);
    *pid = (int)cs_json_get_int64(j, 0, "Pid", 0);
    *exit_code = (int32_t)cs_json_get_int64(j, 0, "ExitCode", -1);
    docker_json_release(&resp, j);
    return 0;
}

/* Docker has no "kill exec": the exec's process is on this host, so signal it. */
void docker_exec_kill(docker_backend *d, const char *eid, const char *why)
{
    cs_arena *a = cs_arena_new();
    cs_ctx quick = {.deadline_ms = cs_time_mono_ms() + 5000};
    bool running;
    int pid;
    int32_t code;
    if (exec_inspect(d, &quick, eid, a, &running, &pid, &code, NULL) == 0 && running && pid > 1) {
        kill(pid, SIGKILL);
        char p[16];
        snprintf(p, sizeof p, "%d", pid);
        cs_info("killed an exec's process", "exec", eid, "pid", p, "why", why, NULL);
    }
    cs_arena_free(a);
}

int docker_exec_sync(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, int64_t timeout_s,
                     cs_arena *a, cs_exec_result *out, cs_error *err)
{
    cs_error local;
    if (!err) /* callers that only want success or not */
        err = &local;
    docker_backend *d = docker_of(b);
    const char *full;
    if (docker_resolve_id(d, ctx, DL_KIND_CONTAINER, id, a, &full, err) != 0)
        return -1;
    char *eid = exec_create(d, ctx, full, cmd, a, err);
    if (!eid)
        return cs_error_wrap(err, "exec in %s", id);

    /* The command's own timeout, within the call's deadline. */
    cs_ctx run = timeout_s > 0 ? cs_ctx_within(ctx, timeout_s * 1000) : *ctx;
    bool own_timeout = timeout_s > 0 && (ctx->deadline_ms <= 0 || run.deadline_ms < ctx->deadline_ms);
    exec_out o = {0};
    for (int i = 0; i < 3; i++)
        o.buf[i].max = CS_EXEC_OUTPUT_MAX;
    docker_demux m = {.on_frame = on_frame, .user = &o};
    const char *body = "{\"Detach\":false,\"Tty\":false}";
    long status;
    int rc = docker_stream(d->http, &run, "POST", cs_arena_printf(a, "/exec/%s/start", eid), body, strlen(body), NULL,
                           0, feed_demux, &m, &status, err);
    docker_demux_free(&m);
    if (rc != 0 && (err->code == CS_ERR_DEADLINE || err->code == CS_ERR_CANCELLED)) {
        docker_exec_kill(d, eid, "it outlived its timeout");
        if (own_timeout && err->code == CS_ERR_DEADLINE)
            cs_error_set(err, CS_ERR_DEADLINE, "command timed out after %lld s", (long long)timeout_s);
    }
    bool running = false;
    int pid;
    if (rc == 0)
        rc = exec_inspect(d, ctx, eid, a, &running, &pid, &out->exit_code, err);
    if (rc == 0) {
        out->out = cs_arena_strndup(a, o.buf[1].data ? o.buf[1].data : "", o.buf[1].len);
        out->out_len = o.buf[1].len;
        out->err = cs_arena_strndup(a, o.buf[2].data ? o.buf[2].data : "", o.buf[2].len);
        out->err_len = o.buf[2].len;
    }
    for (int i = 0; i < 3; i++)
        cs_buf_free(&o.buf[i]);
    return rc != 0 ? cs_error_wrap(err, "exec in %s", id) : 0;
}
