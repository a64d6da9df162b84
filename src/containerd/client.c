/* The gRPC core client for containerd; see client.h. */
#include "backend/observe.h"
#include "containerd/client.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/time.h"

struct ctrd_client {
    grpc_channel *channel;
    char *address; /* the socket path */
    char *ns;
};

struct ctrd_stream {
    ctrd_client *c;
    grpc_call *call;
    grpc_completion_queue *cq;
    cs_ctx ctx;
    char method[192];
    grpc_metadata_array initial_md;
    bool got_initial_md, finished;
    atomic_bool cancelled;
};

/* ---- observation (metrics) ---- */

/* The engine-neutral observer (backend/observe.h) gets each unary call under
 * its short method name and the same result classes Docker's calls report. */
static const char *result_class(int rc, const cs_error *err)
{
    if (rc == 0)
        return "ok";
    switch (err ? err->code : CS_ERR_UNKNOWN) {
    case CS_ERR_NOT_FOUND:
        return "not_found";
    case CS_ERR_EXISTS:
    case CS_ERR_CONFLICT:
        return "conflict";
    case CS_ERR_INVALID:
    case CS_ERR_RANGE:
    case CS_ERR_PERMISSION:
    case CS_ERR_UNAUTHENTICATED:
        return "client_error";
    case CS_ERR_UNAVAILABLE:
        return "unavailable";
    case CS_ERR_DEADLINE:
        return "deadline";
    case CS_ERR_CANCELLED:
        return "cancelled";
    case CS_ERR_INTERNAL:
    case CS_ERR_DATA_LOSS:
    case CS_ERR_UNIMPLEMENTED:
        return "server_error";
    default:
        return "error";
    }
}

static void observe(const char *method, int rc, const cs_error *err, int64_t start_ns)
{
    if (cs_engine_observed())
        cs_engine_observe(ctrd_method_short(method), result_class(rc, err), cs_time_mono_ns() - start_ns);
}

/* ---- errors ---- */

const char *ctrd_method_short(const char *method)
{
    /* "/containerd.services.images.v1.Images/Get": from the service name
     * (after the last package dot) on, with the slash as a dot. */
    static _Thread_local char buf[128];
    const char *slash = strrchr(method, '/');
    if (!slash || slash == method)
        return method;
    const char *p = slash;
    while (p > method && p[-1] != '.' && p[-1] != '/')
        p--;
    if (p == method || p[-1] == '/')
        return p; /* no package: leave it as it is */
    snprintf(buf, sizeof buf, "%.*s.%s", (int)(slash - p), p, slash + 1);
    return buf;
}

int ctrd_status_error(cs_error *err, int grpc_code, const char *details, const char *method, const char *address)
{
    cs_code code = grpc_code > 0 && grpc_code <= CS_ERR_UNAUTHENTICATED ? (cs_code)grpc_code : CS_ERR_UNKNOWN;
    const char *d = details && *details ? details : cs_code_text(code);
    if (code == CS_ERR_UNAVAILABLE && (strstr(d, "connect") || strstr(d, "No such file") || strstr(d, "refused")))
        return cs_error_set(err, code, "containerd at unix://%s does not answer (%s): %s", address,
                            ctrd_method_short(method), d);
    return cs_error_set(err, code, "containerd %s (unix://%s): %s", ctrd_method_short(method), address, d);
}

static int status_error(cs_error *err, grpc_status_code code, grpc_slice details, const char *method,
                        const char *address)
{
    char buf[768];
    size_t n = GRPC_SLICE_LENGTH(details);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, GRPC_SLICE_START_PTR(details), n);
    buf[n] = '\0';
    return ctrd_status_error(err, (int)code, buf, method, address);
}

/* ---- the channel ---- */

int ctrd_client_new(const char *address, const char *ns, ctrd_client **out, cs_error *err)
{
    const char *path = address;
    if (!strncmp(path, "unix://", 7))
        path += 7;
    else if (!strncmp(path, "unix:", 5))
        path += 5;
    if (path[0] != '/')
        return cs_error_set(err, CS_ERR_INVALID, "containerd address %s: want a unix socket path", address);
    if (!ns || !*ns)
        return cs_error_set(err, CS_ERR_INVALID, "containerd namespace: empty");
    grpc_init();
    ctrd_client *c = cs_xcalloc(1, sizeof *c);
    c->address = cs_xstrdup(path);
    c->ns = cs_xstrdup(ns);
    /* A down containerd must be noticed again within a second of coming
     * back: gRPC's default reconnect backoff grows to two minutes. (The
     * minimum backoff is left alone: gRPC also uses it as the connect
     * timeout, and a frozen containerd must meet the call's deadline, not
     * a 100 ms connect timeout.) */
    grpc_arg args[4];
    memset(args, 0, sizeof args);
    const char *keys[] = {GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                          GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS};
    int values[] = {CTRD_MAX_MESSAGE, CTRD_MAX_MESSAGE, 100, 1000};
    for (size_t i = 0; i < 4; i++) {
        args[i].type = GRPC_ARG_INTEGER;
        args[i].key = (char *)keys[i];
        args[i].value.integer = values[i];
    }
    grpc_channel_args ca = {.num_args = 4, .args = args};
    char target[1100];
    snprintf(target, sizeof target, "unix:%s", path);
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    c->channel = grpc_channel_create(target, creds, &ca);
    grpc_channel_credentials_release(creds);
    *out = c;
    return 0;
}

void ctrd_client_free(ctrd_client *c)
{
    if (!c)
        return;
    grpc_channel_destroy(c->channel);
    free(c->address);
    free(c->ns);
    free(c);
    grpc_shutdown();
}

const char *ctrd_client_address(const ctrd_client *c)
{
    return c->address;
}

const char *ctrd_client_namespace(const ctrd_client *c)
{
    return c->ns;
}

/* ---- shared pieces ---- */

static gpr_timespec deadline_of(const cs_ctx *ctx, int64_t default_ms)
{
    int64_t left = cs_ctx_remaining_ms(ctx);
    if (left < 0)
        left = default_ms;
    if (left < 0)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(left, GPR_TIMESPAN));
}

/* The version and introspection services are global: no namespace. */
static bool wants_namespace(const char *method)
{
    return strncmp(method, "/containerd.services.version.", 29) != 0 &&
           strncmp(method, "/containerd.services.introspection.", 35) != 0;
}

typedef struct call_md {
    grpc_metadata md[2];
    size_t n;
} call_md;

static void md_build(call_md *m, const ctrd_client *c, const char *method, const char *lease)
{
    memset(m, 0, sizeof *m);
    if (wants_namespace(method)) {
        m->md[m->n].key = grpc_slice_from_static_string("containerd-namespace");
        m->md[m->n].value = grpc_slice_from_copied_string(c->ns);
        m->n++;
    }
    if (lease && *lease) {
        m->md[m->n].key = grpc_slice_from_static_string("containerd-lease");
        m->md[m->n].value = grpc_slice_from_copied_string(lease);
        m->n++;
    }
}

static void md_free(call_md *m)
{
    for (size_t i = 0; i < m->n; i++) {
        grpc_slice_unref(m->md[i].key);
        grpc_slice_unref(m->md[i].value);
    }
}

static grpc_call *new_call(ctrd_client *c, grpc_completion_queue *cq, const char *method, gpr_timespec deadline)
{
    grpc_slice m = grpc_slice_from_copied_string(method);
    grpc_call *call =
        grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL, deadline, NULL);
    grpc_slice_unref(m);
    return call;
}

/* Waits for `tag`; a cancelled ctx (or stream) cancels the call, after which
 * gRPC completes the tag promptly. Returns the op's success. */
static bool wait_tag(grpc_completion_queue *cq, void *tag, grpc_call *call, const cs_ctx *ctx)
{
    bool watch = ctx && ctx->cancelled;
    bool cancel_sent = false;
    for (;;) {
        gpr_timespec until = watch && !cancel_sent
                                 ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                gpr_time_from_millis(CTRD_CANCEL_CHECK_MS, GPR_TIMESPAN))
                                 : gpr_inf_future(GPR_CLOCK_MONOTONIC);
        grpc_event ev = grpc_completion_queue_pluck(cq, tag, until, NULL);
        if (ev.type == GRPC_OP_COMPLETE)
            return ev.success != 0;
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return false;
        if (!cancel_sent && cs_ctx_cancelled(ctx)) {
            grpc_call_cancel(call, NULL);
            cancel_sent = true;
        }
    }
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static int unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc, cs_arena *a, ProtobufCMessage **out,
                  const char *method, const char *address, cs_error *err)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return cs_error_set(err, CS_ERR_INTERNAL, "containerd %s (unix://%s): unreadable reply",
                            ctrd_method_short(method), address);
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    ProtobufCAllocator alloc;
    if (a)
        alloc = cs_arena_pb_allocator(a);
    *out = protobuf_c_message_unpack(desc, a ? &alloc : NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    if (!*out)
        return cs_error_set(err, CS_ERR_INTERNAL, "containerd %s (unix://%s): reply is not a %s",
                            ctrd_method_short(method), address, desc->name);
    return 0;
}

/* A failed call's status; a ctx cancelled by the client reads as CANCELLED,
 * a passed deadline as DEADLINE whatever gRPC said. */
static int call_error(cs_error *err, const cs_ctx *ctx, grpc_status_code code, grpc_slice details,
                      const char *method, const char *address)
{
    if (code == GRPC_STATUS_CANCELLED && cs_ctx_cancelled(ctx))
        return cs_error_set(err, CS_ERR_CANCELLED, "containerd %s: cancelled by the client", ctrd_method_short(method));
    return status_error(err, code, details, method, address);
}

/* ---- unary ---- */

/* The call never reached containerd: no connection could be made. */
static bool connect_failure(const cs_error *e)
{
    return e->code == CS_ERR_UNAVAILABLE && strstr(e->msg, "does not answer") != NULL;
}

static int unary_once(ctrd_client *c, const cs_ctx *ctx, gpr_timespec deadline, bool wait_for_ready,
                      const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
                      const char *lease, cs_arena *a, ProtobufCMessage **reply, cs_error *err)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call *call = new_call(c, cq, method, deadline);
    call_md md;
    md_build(&md, c, method, lease);
    grpc_byte_buffer *out = pack(req), *in = NULL;
    grpc_metadata_array imd, tmd;
    grpc_metadata_array_init(&imd);
    grpc_metadata_array_init(&tmd);
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = md.n;
    ops[0].data.send_initial_metadata.metadata = md.md;
    if (wait_for_ready)
        ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY | GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = out;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &in;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;
    int rc = -1;
    static char tag;
    if (grpc_call_start_batch(call, ops, 6, &tag, NULL) != GRPC_CALL_OK) {
        cs_error_set(err, CS_ERR_INTERNAL, "containerd %s: cannot start the call", ctrd_method_short(method));
        goto out;
    }
    wait_tag(cq, &tag, call, ctx);
    if (code != GRPC_STATUS_OK) {
        call_error(err, ctx, code, details, method, c->address);
        goto out;
    }
    if (!in) {
        cs_error_set(err, CS_ERR_INTERNAL, "containerd %s (unix://%s): no reply message", ctrd_method_short(method),
                     c->address);
        goto out;
    }
    rc = unpack(in, reply_desc, a, reply, method, c->address, err);
out:
    if (in)
        grpc_byte_buffer_destroy(in);
    grpc_byte_buffer_destroy(out);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&imd);
    grpc_metadata_array_destroy(&tmd);
    md_free(&md);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
    return rc;
}

/* A call that finds no connection asks the channel to reconnect now (not
 * at the end of its backoff) and waits up to a second for it, so a
 * containerd that just came back answers at once, and one that is down
 * answers UNAVAILABLE within about a second. */
int ctrd_unary(ctrd_client *c, const cs_ctx *ctx, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *reply_desc, const char *lease, cs_arena *a, ProtobufCMessage **reply,
               cs_error *err)
{
    *reply = NULL;
    int64_t start_ns = cs_time_mono_ns();
    cs_error local;
    if (!err)
        err = &local;
    int rc = unary_once(c, ctx, deadline_of(ctx, CTRD_DEFAULT_UNARY_TIMEOUT_MS), false, method, req, reply_desc,
                        lease, a, reply, err);
    if (rc != 0 && connect_failure(err) && !cs_ctx_done(ctx)) {
        grpc_channel_reset_connect_backoff(c->channel);
        int64_t left = cs_ctx_remaining_ms(ctx);
        int64_t wait = left >= 0 && left < CTRD_RECONNECT_WAIT_MS ? left : CTRD_RECONNECT_WAIT_MS;
        gpr_timespec until =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(wait, GPR_TIMESPAN));
        cs_error again;
        cs_error_clear(&again);
        rc = unary_once(c, ctx, until, true, method, req, reply_desc, lease, a, reply, &again);
        /* Still no connection (or no answer within the wait): the first
         * error says why; anything else is containerd's answer. */
        if (rc != 0 && again.code != CS_ERR_DEADLINE && again.code != CS_ERR_UNAVAILABLE)
            *err = again;
    }
    observe(method, rc, err, start_ns);
    return rc;
}

/* ---- streams ---- */

static bool run(ctrd_stream *s, grpc_op *ops, size_t n)
{
    static char tag;
    if (grpc_call_start_batch(s->call, ops, n, &tag, NULL) != GRPC_CALL_OK)
        return false;
    return wait_tag(s->cq, &tag, s->call, &s->ctx);
}

/* The call's final status as an error (or 0 for OK); once per stream. */
static int finish(ctrd_stream *s, cs_error *err)
{
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_metadata_array tmd;
    grpc_metadata_array_init(&tmd);
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!s->got_initial_md) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
        n++;
        s->got_initial_md = true;
    }
    ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[n].data.recv_status_on_client.trailing_metadata = &tmd;
    ops[n].data.recv_status_on_client.status = &code;
    ops[n].data.recv_status_on_client.status_details = &details;
    n++;
    run(s, ops, n);
    s->finished = true;
    int rc = 0;
    if (code != GRPC_STATUS_OK) {
        if (atomic_load(&s->cancelled) && code == GRPC_STATUS_CANCELLED)
            rc = cs_error_set(err, CS_ERR_CANCELLED, "containerd %s: stream cancelled", ctrd_method_short(s->method));
        else
            rc = call_error(err, &s->ctx, code, details, s->method, s->c->address);
    }
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&tmd);
    return rc;
}

int ctrd_stream_open(ctrd_client *c, const cs_ctx *ctx, const char *method, const char *lease, ctrd_stream **out,
                     cs_error *err)
{
    ctrd_stream *s = cs_xcalloc(1, sizeof *s);
    cs_engine_streams_add(1); /* events, content writes: open engine streams in the metrics */
    s->c = c;
    if (ctx)
        s->ctx = *ctx;
    snprintf(s->method, sizeof s->method, "%s", method);
    atomic_init(&s->cancelled, false);
    grpc_metadata_array_init(&s->initial_md);
    s->cq = grpc_completion_queue_create_for_pluck(NULL);
    s->call = new_call(c, s->cq, method, deadline_of(ctx, -1));
    call_md md;
    md_build(&md, c, method, lease);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_INITIAL_METADATA;
    op.data.send_initial_metadata.count = md.n;
    op.data.send_initial_metadata.metadata = md.md;
    bool ok = run(s, &op, 1);
    md_free(&md);
    if (!ok) {
        if (finish(s, err) == 0)
            cs_error_set(err, CS_ERR_UNAVAILABLE, "containerd %s (unix://%s): the stream did not open",
                         ctrd_method_short(method), c->address);
        ctrd_stream_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int ctrd_stream_send(ctrd_stream *s, const ProtobufCMessage *m, cs_error *err)
{
    if (s->finished)
        return cs_error_set(err, CS_ERR_INTERNAL, "containerd %s: send after the stream ended",
                            ctrd_method_short(s->method));
    grpc_op op;
    memset(&op, 0, sizeof op);
    grpc_byte_buffer *bb = pack(m);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = bb;
    bool ok = run(s, &op, 1);
    grpc_byte_buffer_destroy(bb);
    if (ok)
        return 0;
    /* The server ended the call: its status says why. */
    if (finish(s, err) == 0)
        cs_error_set(err, CS_ERR_UNAVAILABLE, "containerd %s (unix://%s): the stream ended during a send",
                     ctrd_method_short(s->method), s->c->address);
    return -1;
}

int ctrd_stream_close_send(ctrd_stream *s, cs_error *err)
{
    if (s->finished)
        return 0;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    if (run(s, &op, 1))
        return 0;
    if (finish(s, err) == 0)
        return 0;
    return -1;
}

int ctrd_stream_recv(ctrd_stream *s, const ProtobufCMessageDescriptor *desc, cs_arena *a, ProtobufCMessage **m,
                     cs_error *err)
{
    *m = NULL;
    if (s->finished)
        return cs_error_set(err, CS_ERR_INTERNAL, "containerd %s: receive after the stream ended",
                            ctrd_method_short(s->method));
    grpc_op ops[2];
    size_t n = 0;
    grpc_byte_buffer *bb = NULL;
    memset(ops, 0, sizeof ops);
    if (!s->got_initial_md) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
        n++;
        s->got_initial_md = true;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n].data.recv_message.recv_message = &bb;
    n++;
    if (!run(s, ops, n) || !bb) {
        if (bb)
            grpc_byte_buffer_destroy(bb);
        return finish(s, err) == 0 ? 0 : -1;
    }
    int rc = unpack(bb, desc, a, m, s->method, s->c->address, err);
    grpc_byte_buffer_destroy(bb);
    return rc == 0 ? 1 : -1;
}

void ctrd_stream_set_ctx(ctrd_stream *s, const cs_ctx *ctx)
{
    if (ctx)
        s->ctx = *ctx;
    else
        memset(&s->ctx, 0, sizeof s->ctx);
}

void ctrd_stream_cancel(ctrd_stream *s)
{
    atomic_store(&s->cancelled, true);
    grpc_call_cancel(s->call, NULL);
}

void ctrd_stream_free(ctrd_stream *s)
{
    if (!s)
        return;
    if (!s->finished) {
        ctrd_stream_cancel(s);
        finish(s, NULL);
    }
    grpc_metadata_array_destroy(&s->initial_md);
    grpc_call_unref(s->call);
    grpc_completion_queue_shutdown(s->cq);
    grpc_completion_queue_destroy(s->cq);
    free(s);
    cs_engine_streams_add(-1);
}
