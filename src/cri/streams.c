/* crishim.v1.Streaming: Exec and Attach as native bidi gRPC streams.
 *
 * The handler thread pumps output (engine → client) and ends the call with
 * the exit status; a second thread reads client input (stdin, resize, close)
 * into the process. Every send waits for gRPC to take the message, so a slow
 * client slows the reads from the engine instead of growing a buffer. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cri/convert.h"
#include "cri/internal.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define OUTPUT_CHUNK (32 * 1024)
#define POLL_MS 500

/* Shared by the two threads; the last one out frees it (and the session). */
typedef struct session {
    cs_call *call;
    cs_stdio *io;
    pthread_mutex_t mu;
    bool output_done; /* the process is gone: input has nowhere to go */
    int refs;
} session;

static void session_unref(session *s)
{
    pthread_mutex_lock(&s->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    s->io->ops->close(s->io);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Runs one client message against the process, unless the output has ended. */
static void apply_input(session *s, const Crishim__V1__StreamInput *in)
{
    cs_error err;
    pthread_mutex_lock(&s->mu);
    if (!s->output_done) {
        cs_ctx quick = {.deadline_ms = cs_time_mono_ms() + 5000};
        switch (in->kind_case) {
        case CRISHIM__V1__STREAM_INPUT__KIND_STDIN:
            s->io->ops->write(s->io, in->stdin.data, in->stdin.len, &err);
            break;
        case CRISHIM__V1__STREAM_INPUT__KIND_RESIZE:
            if (in->resize)
                s->io->ops->resize(s->io, &quick, in->resize->width, in->resize->height, &err);
            break;
        case CRISHIM__V1__STREAM_INPUT__KIND_CLOSE_STDIN:
            s->io->ops->close_stdin(s->io, &err);
            break;
        default:
            break; /* a second start message changes nothing */
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void *input_main(void *arg)
{
    session *s = arg;
    cs_arena *scratch = cs_arena_new();
    cs_error err;
    for (;;) {
        ProtobufCMessage *m;
        cs_arena_reset(scratch);
        if (cs_call_recv(s->call, &crishim__v1__stream_input__descriptor, scratch, &m, &err) != 0)
            break;
        if (!m) { /* the client half-closed: that is stdin's EOF */
            Crishim__V1__StreamInput eof;
            crishim__v1__stream_input__init(&eof); /* (the INIT macro trips -Wmissing-braces on oneofs) */
            eof.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_CLOSE_STDIN;
            apply_input(s, &eof);
            break;
        }
        apply_input(s, (Crishim__V1__StreamInput *)m);
    }
    cs_arena_free(scratch);
    /* The session first: the server's shutdown waits for the call's last
     * hold, and the backend must not be torn down under an open session. */
    cs_call *call = s->call;
    session_unref(s);
    cs_call_release(call);
    return NULL;
}

static int send_output(cs_call *call, int stream, const char *data, size_t len, cs_error *err)
{
    Crishim__V1__StreamOutput out;
    crishim__v1__stream_output__init(&out);
    out.kind_case = stream == 2 ? CRISHIM__V1__STREAM_OUTPUT__KIND_STDERR : CRISHIM__V1__STREAM_OUTPUT__KIND_STDOUT;
    ProtobufCBinaryData b = {.len = len, .data = (uint8_t *)data};
    if (stream == 2)
        out.stderr = b;
    else
        out.stdout = b;
    return cs_call_send(call, &out.base, err);
}

/* Output until the process's stdio closes, then its exit status. */
static int pump_output(cs_call *call, session *s, cs_error *err)
{
    char *buf = cs_xmalloc(OUTPUT_CHUNK);
    int rc = 0;
    for (;;) {
        int stream;
        size_t len;
        int r = s->io->ops->read(s->io, buf, OUTPUT_CHUNK, &stream, &len, POLL_MS, err);
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 1) {
            if (cs_call_cancelled(call)) {
                rc = cs_error_set(err, CS_ERR_CANCELLED, "client went away");
                break;
            }
            continue;
        }
        if (len == 0)
            break;
        if ((rc = send_output(call, stream, buf, len, err)) != 0)
            break;
    }
    free(buf);
    if (rc != 0)
        return rc;
    int32_t code = -1;
    cs_ctx quick = {.deadline_ms = cs_time_mono_ms() + 5000};
    if (s->io->ops->exit_code(s->io, &quick, &code, err) != 0)
        return -1;
    Crishim__V1__ExitStatus st = CRISHIM__V1__EXIT_STATUS__INIT;
    st.exit_code = code;
    st.reason = code == 0 ? "Completed" : "Error";
    Crishim__V1__StreamOutput out;
    crishim__v1__stream_output__init(&out);
    out.kind_case = CRISHIM__V1__STREAM_OUTPUT__KIND_EXIT;
    out.exit = &st;
    return cs_call_send(call, &out.base, err);
}

static int open_session(cs_call *call, const Crishim__V1__StreamInput *first, bool is_exec, cs_stdio **io,
                        cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    cs_stdio_opts o = {0};
    if (is_exec) {
        const Crishim__V1__ExecStart *e = first->exec;
        if (first->kind_case != CRISHIM__V1__STREAM_INPUT__KIND_EXEC || !e)
            return cs_error_set(err, CS_ERR_INVALID, "the first message must be exec");
        if (cri_require(e->container_id, "exec.container_id", err) != 0)
            return -1;
        if (e->n_cmd == 0 || !*e->cmd[0])
            return cs_error_set(err, CS_ERR_INVALID, "exec.cmd is required");
        if (!e->stdin && !e->stdout && !e->stderr)
            return cs_error_set(err, CS_ERR_INVALID, "exec: one of stdin, stdout or stderr is required");
        o = (cs_stdio_opts){.tty = e->tty, .stdin_ = e->stdin, .stdout_ = e->stdout, .stderr_ = e->stderr};
        if (e->size) {
            o.width = e->size->width;
            o.height = e->size->height;
        }
        CRI_NEED_OP(call, exec_open, err);
        cs_strs cmd = {.items = (const char **)e->cmd, .n = e->n_cmd};
        return cs_backend_exec_open(rt->backend, cs_call_ctx(call), e->container_id, &cmd, &o, io, err);
    }
    const Crishim__V1__AttachStart *at = first->attach;
    if (first->kind_case != CRISHIM__V1__STREAM_INPUT__KIND_ATTACH || !at)
        return cs_error_set(err, CS_ERR_INVALID, "the first message must be attach");
    if (cri_require(at->container_id, "attach.container_id", err) != 0)
        return -1;
    o = (cs_stdio_opts){.tty = at->tty, .stdin_ = at->stdin, .stdout_ = at->stdout, .stderr_ = at->stderr};
    if (at->size) {
        o.width = at->size->width;
        o.height = at->size->height;
    }
    CRI_NEED_OP(call, attach_open, err);
    return cs_backend_attach_open(rt->backend, cs_call_ctx(call), at->container_id, &o, io, err);
}

static int run_stream(cs_call *call, bool is_exec, cs_error *err)
{
    ProtobufCMessage *m;
    if (cs_call_recv(call, &crishim__v1__stream_input__descriptor, cs_call_arena(call), &m, err) != 0)
        return -1;
    if (!m)
        return cs_error_set(err, CS_ERR_INVALID, "no %s message before the end of the stream",
                            is_exec ? "exec" : "attach");
    cs_stdio *io;
    if (open_session(call, (Crishim__V1__StreamInput *)m, is_exec, &io, err) != 0)
        return -1;
    session *s = cs_xcalloc(1, sizeof *s);
    s->call = call;
    s->io = io;
    s->refs = 2;
    pthread_mutex_init(&s->mu, NULL);
    cs_call_hold(call);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, input_main, s) != 0) {
        cs_call_release(call);
        s->refs = 1;
    }
    pthread_attr_destroy(&attr);
    int rc = pump_output(call, s, err);
    pthread_mutex_lock(&s->mu);
    s->output_done = true;
    pthread_mutex_unlock(&s->mu);
    session_unref(s);
    return rc;
}

int cri_stream_exec(cs_call *call, cs_error *err)
{
    return run_stream(call, true, err);
}

int cri_stream_attach(cs_call *call, cs_error *err)
{
    return run_stream(call, false, err);
}
