/* Exec and attach sessions (see remotecommand.h).
 *
 * This thread pumps output (engine → client); one thread per input source
 * delivers stdin and resize events into the process. Input threads are
 * always joined before the process's stdio is closed, so they never race
 * with its teardown; a client that vanishes makes the session abort the
 * stdio, which kills an exec's process so nothing is left behind. */
#include "stream/remotecommand.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define OUTPUT_CHUNK (32 * 1024)
#define POLL_MS 250
#define RESIZE_BUF 1024

typedef struct rc_session {
    strm_sink sink;
    cs_stdio *io;
    char resize[RESIZE_BUF];
    size_t resize_len;
} rc_session;

char *strm_status_json(int exit_code, const char *msg)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_key(&w, "metadata");
    cs_jw_obj_begin(&w);
    cs_jw_obj_end(&w);
    if (!msg && exit_code <= 0) {
        cs_jw_kv_str(&w, "status", "Success");
    } else {
        char code[16], text[CS_ERROR_MSG_MAX + 64];
        snprintf(code, sizeof code, "%d", exit_code);
        if (msg)
            snprintf(text, sizeof text, "Internal error occurred: %s", msg);
        else
            snprintf(text, sizeof text, "command terminated with non-zero exit code: exit status %d", exit_code);
        cs_jw_kv_str(&w, "status", "Failure");
        cs_jw_kv_str(&w, "message", text);
        cs_jw_kv_str(&w, "reason", msg ? "InternalError" : "NonZeroExitCode");
        cs_jw_key(&w, "details");
        cs_jw_obj_begin(&w);
        cs_jw_key(&w, "causes");
        cs_jw_arr_begin(&w);
        cs_jw_obj_begin(&w);
        if (!msg)
            cs_jw_kv_str(&w, "reason", "ExitCode"); /* a StatusCause's type is "reason" on the wire */
        cs_jw_kv_str(&w, "message", msg ? msg : code);
        cs_jw_obj_end(&w);
        cs_jw_arr_end(&w);
        cs_jw_obj_end(&w);
        if (msg)
            cs_jw_kv_int(&w, "code", 500);
    }
    cs_jw_obj_end(&w);
    return cs_jw_take(&w, NULL);
}

/* ---- input ---- */

static void on_stdin(strm_sink *sink, const void *data, size_t len)
{
    rc_session *s = (rc_session *)sink;
    cs_error err;
    if (len && s->io->ops->write(s->io, data, len, &err) != 0)
        cs_debug("stdin write failed", "error", err.msg, NULL);
}

static void on_stdin_eof(strm_sink *sink)
{
    rc_session *s = (rc_session *)sink;
    cs_error err;
    s->io->ops->close_stdin(s->io, &err);
}

static void apply_resize(rc_session *s, const char *obj, size_t len)
{
    cs_json *j;
    if (cs_json_parse(obj, len, &j, NULL) != 0)
        return;
    int64_t w = cs_json_get_int64(j, 0, "Width", 0), h = cs_json_get_int64(j, 0, "Height", 0);
    cs_json_free(j);
    if (w <= 0 || h <= 0 || w > 65535 || h > 65535)
        return;
    cs_ctx quick = {.deadline_ms = cs_time_mono_ms() + 5000};
    cs_error err;
    if (s->io->ops->resize(s->io, &quick, (uint32_t)w, (uint32_t)h, &err) != 0)
        cs_debug("resize failed", "error", err.msg, NULL);
}

/* The resize channel is a stream of JSON objects ({"Width":80,"Height":24}),
 * which frames may split or join: apply each complete one. */
static void on_resize(strm_sink *sink, const void *data, size_t len)
{
    rc_session *s = (rc_session *)sink;
    const char *p = data;
    while (len > 0) {
        size_t n = len < RESIZE_BUF - s->resize_len ? len : RESIZE_BUF - s->resize_len;
        memcpy(s->resize + s->resize_len, p, n);
        s->resize_len += n;
        p += n;
        len -= n;
        size_t start = 0;
        int depth = 0;
        for (size_t i = 0; i < s->resize_len; i++) {
            if (s->resize[i] == '{' && depth++ == 0)
                start = i;
            else if (s->resize[i] == '}' && depth > 0 && --depth == 0) {
                apply_resize(s, s->resize + start, i + 1 - start);
                memmove(s->resize, s->resize + i + 1, s->resize_len - i - 1);
                s->resize_len -= i + 1;
                i = (size_t)-1; /* rescan what is left */
            }
        }
        if (s->resize_len == RESIZE_BUF) /* no object fits: garbage */
            s->resize_len = 0;
    }
}

typedef struct input_arg {
    strm_chans *ch;
    rc_session *s;
    int source;
} input_arg;

static void *input_main(void *p)
{
    input_arg *a = p;
    a->ch->ops->input_loop(a->ch, a->source, &a->s->sink);
    return NULL;
}

/* ---- output ---- */

/* 0: the output ended; -1: the client is gone or a write failed. */
static int pump_output(strm_chans *ch, rc_session *s, bool tty)
{
    char *buf = cs_xmalloc(OUTPUT_CHUNK);
    int rc = 0;
    cs_error err;
    for (;;) {
        int stream;
        size_t len;
        int r = s->io->ops->read(s->io, buf, OUTPUT_CHUNK, &stream, &len, POLL_MS, &err);
        if (r < 0) {
            cs_debug("engine stream failed", "error", err.msg, NULL);
            break; /* the process's stdio is gone: report the exit below */
        }
        if (r == 1) {
            if (!ch->ops->alive(ch)) {
                rc = -1;
                break;
            }
            continue;
        }
        if (len == 0)
            break;
        int chan = tty || stream != 2 ? STRM_CH_STDOUT : STRM_CH_STDERR;
        if (!ch->ops->has(ch, chan))
            continue;
        if (ch->ops->write(ch, chan, buf, len, &err) != 0) {
            rc = -1;
            break;
        }
    }
    free(buf);
    return rc;
}

static void report(strm_chans *ch, int exit_code, const char *msg)
{
    if (!ch->ops->has(ch, STRM_CH_ERROR))
        return;
    cs_error err;
    if (ch->version >= 4) {
        char *json = strm_status_json(exit_code, msg);
        ch->ops->write(ch, STRM_CH_ERROR, json, strlen(json), &err);
        free(json);
    } else if (msg || exit_code > 0) {
        char text[CS_ERROR_MSG_MAX + 64];
        if (msg)
            snprintf(text, sizeof text, "%s", msg);
        else
            snprintf(text, sizeof text, "command terminated with non-zero exit code: exit status %d", exit_code);
        ch->ops->write(ch, STRM_CH_ERROR, text, strlen(text), &err);
    }
    ch->ops->close_chan(ch, STRM_CH_ERROR);
}

static int open_stdio(const strm_request *req, cs_backend *b, cs_stdio **io, cs_error *err)
{
    cs_stdio_opts o = {.tty = req->tty, .stdin_ = req->stdin_, .stdout_ = req->stdout_, .stderr_ = req->stderr_};
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 30000};
    if (req->kind == STRM_EXEC) {
        cs_strs cmd = {.items = (const char **)req->cmd, .n = req->ncmd};
        return cs_backend_exec_open(b, &ctx, req->id, &cmd, &o, io, err);
    }
    return cs_backend_attach_open(b, &ctx, req->id, &o, io, err);
}

void strm_remotecommand(strm_chans *ch, const strm_request *req, cs_backend *b)
{
    rc_session s = {.sink = {.stdin_data = on_stdin, .stdin_eof = on_stdin_eof, .resize_data = on_resize}};
    atomic_init(&s.sink.stop, false);
    cs_error err;
    cs_error_clear(&err);
    if (open_stdio(req, b, &s.io, &err) != 0) {
        cs_info("stream: cannot open the process's stdio", "kind", strm_kind_name(req->kind), "id", req->id,
                "error", err.msg, NULL);
        report(ch, -1, err.msg);
        return;
    }
    int n = ch->ops->nsources(ch);
    pthread_t threads[4];
    input_arg args[4];
    int started = 0;
    for (int i = 0; i < n && i < 4; i++) {
        args[i] = (input_arg){.ch = ch, .s = &s, .source = i};
        if (pthread_create(&threads[started], NULL, input_main, &args[i]) == 0)
            started++;
    }

    bool gone = pump_output(ch, &s, req->tty) != 0;
    if (gone) {
        /* Nobody is listening: stop the process's I/O (an exec's process is
         * killed) so the input threads and the engine let go. */
        s.io->ops->abort(s.io);
    } else {
        ch->ops->close_chan(ch, STRM_CH_STDOUT);
        ch->ops->close_chan(ch, STRM_CH_STDERR);
        int32_t code = 0;
        cs_ctx quick = {.deadline_ms = cs_time_mono_ms() + 5000};
        if (req->kind == STRM_ATTACH)
            report(ch, 0, NULL);
        else if (s.io->ops->exit_code(s.io, &quick, &code, &err) != 0)
            report(ch, -1, err.msg);
        else
            report(ch, code, NULL);
    }
    atomic_store(&s.sink.stop, true);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    s.io->ops->close(s.io);
}
