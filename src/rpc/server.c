/* gRPC server on grpc core: registration, completion-queue threads, call state
 * and the blocking send/recv that handlers use. See server.h and call.h.
 *
 * Every completion-queue tag is a cs_op whose fn runs on the cq thread; it only
 * records results and wakes waiters, never blocks. Handlers run on the pool,
 * bar unary ones a cq thread can take itself while another one polls
 * (run_inline). */
#include "rpc/server.h"

#include <errno.h>
#include <grp.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rpc/adopt.h"
#include "rpc/listen.h"
#include "rpc/methods.h"
#include "rpc/pool.h"
#include "rpc/status.h"
#include "rpc/wire.h"
#include "rpc/tls.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
/* How long shutdown waits for calls still held once grpc is done with them. */
#define SHUTDOWN_HOLD_WAIT_MS 5000

typedef struct cs_op {
    void (*fn)(struct cs_op *op, bool ok);
} cs_op;

/* A registered method and its handler. */
typedef struct method_entry {
    cs_method m;
    const cs_handler *handler; /* NULL: UNIMPLEMENTED */
    void *registered;          /* grpc's handle */
} method_entry;

/* A grpc_server_request_registered_call in flight. */
typedef struct pending {
    cs_op op;
    struct cs_server *srv;
    method_entry *method;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
} pending;

/* A grpc_server_request_call for methods nobody registered. */
typedef struct unknown_call {
    cs_op op;
    cs_op done_op;
    struct cs_server *srv;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    int cancelled;
    char *details_msg;
    grpc_slice details_slice;
} unknown_call;

/* One blocking operation slot: the issuing thread waits for its completion. */
typedef struct slot {
    cs_op op;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, ok;
    grpc_byte_buffer *recv_buf;
} slot;

struct cs_call {
    struct cs_server *srv;
    method_entry *method;
    grpc_call *call;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    cs_arena *arena;
    cs_ctx ctx;
    atomic_bool cancelled;
    atomic_int refs;
    int64_t start_ns;
    bool sent_initial_md; /* touched only by the one writer */
    cs_op close_op;
    int close_cancelled;
    slot send, recv;
};

struct cs_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t *cq_threads;
    size_t ncq_threads;
    cs_pool *pool;
    method_entry *methods;
    size_t nmethods;
    void *app;
    char **listen;
    size_t nlisten;
    char **unix_paths; /* sockets to remove at shutdown */
    size_t nunix;
    int *inherited;    /* owned until the adopter takes them */
    size_t ninherited;
    cs_adopter *adopter;
    cs_tls *tls;       /* outlives grpc's server: its fetcher runs per handshake */
    bool insecure_tcp;
    char *socket_group;
    bool grpc_inited, started, shut;
    atomic_size_t inflight;
    /* cq threads running a unary handler inline; at most ncq_threads - 1, so
     * one thread always polls the queue (the handlers' batches complete there) */
    size_t inline_running;
    atomic_bool shutting_down;
    cs_call_observer observer;
    void *observer_user;
    /* shutdown notification */
    cs_op shutdown_op;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool shutdown_done;
};

static void request_registered(cs_server *s, method_entry *m);
static void request_unknown(cs_server *s);

/* ---------- blocking slots ---------- */

static void slot_done(cs_op *op, bool ok)
{
    slot *sl = container_of(op, slot, op);
    pthread_mutex_lock(&sl->mu);
    sl->done = true;
    sl->ok = ok;
    pthread_cond_signal(&sl->cv);
    pthread_mutex_unlock(&sl->mu);
}

static void slot_init(slot *sl)
{
    sl->op.fn = slot_done;
    pthread_mutex_init(&sl->mu, NULL);
    pthread_cond_init(&sl->cv, NULL);
}

static void slot_destroy(slot *sl)
{
    pthread_mutex_destroy(&sl->mu);
    pthread_cond_destroy(&sl->cv);
}

/* Starts a batch on the slot and waits for its completion. The wait is not
 * bounded by a timer: grpc completes every started op, cancelled or not. */
static bool slot_run(cs_call *c, slot *sl, const grpc_op *ops, size_t nops)
{
    pthread_mutex_lock(&sl->mu);
    sl->done = false;
    pthread_mutex_unlock(&sl->mu);
    grpc_call_error ce = grpc_call_start_batch(c->call, ops, nops, &sl->op, NULL);
    if (ce != GRPC_CALL_OK) {
        cs_warn("grpc batch refused", "method", c->method->m.path, "error", grpc_call_error_to_string(ce), NULL);
        grpc_call_cancel(c->call, NULL); /* so the close op completes */
        return false;
    }
    pthread_mutex_lock(&sl->mu);
    while (!sl->done)
        pthread_cond_wait(&sl->cv, &sl->mu);
    bool ok = sl->ok;
    pthread_mutex_unlock(&sl->mu);
    return ok;
}

/* ---------- call objects ---------- */

static void call_unref(cs_call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    cs_server *s = c->srv;
    grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->md);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->recv.recv_buf)
        grpc_byte_buffer_destroy(c->recv.recv_buf);
    slot_destroy(&c->send);
    slot_destroy(&c->recv);
    cs_arena_free(c->arena);
    free(c);
    atomic_fetch_sub(&s->inflight, 1);
}

void cs_call_hold(cs_call *call)
{
    atomic_fetch_add(&call->refs, 1);
}

void cs_call_release(cs_call *call)
{
    call_unref(call);
}

static void close_done(cs_op *op, bool ok)
{
    cs_call *c = container_of(op, cs_call, close_op);
    if (!ok || c->close_cancelled)
        atomic_store(&c->cancelled, true);
    call_unref(c);
}

/* grpc's deadline as a CLOCK_MONOTONIC ms value of ours (grpc's own monotonic
 * clock has another epoch, so go through "time left"). */
static int64_t deadline_to_mono_ms(gpr_timespec deadline)
{
    if (deadline.tv_sec == INT64_MAX || deadline.clock_type == GPR_TIMESPAN)
        return 0;
    gpr_timespec now = gpr_now(deadline.clock_type);
    gpr_timespec left = gpr_time_sub(deadline, now);
    int64_t left_ms = (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
    if (left_ms < 0)
        left_ms = 0;
    if (left_ms > (int64_t)365 * 24 * 3600 * 1000)
        return 0;
    return cs_time_mono_ms() + left_ms;
}

static cs_call *call_new(pending *p)
{
    cs_call *c = cs_xcalloc(1, sizeof *c);
    c->srv = p->srv;
    c->method = p->method;
    c->call = p->call;
    c->md = p->md;
    c->payload = p->payload;
    c->arena = cs_arena_new();
    atomic_init(&c->cancelled, false);
    c->ctx.deadline_ms = deadline_to_mono_ms(p->deadline);
    c->ctx.cancelled = &c->cancelled;
    c->start_ns = cs_time_mono_ns();
    c->close_op.fn = close_done;
    slot_init(&c->send);
    slot_init(&c->recv);
    /* One ref for the handler, one for the RECV_CLOSE_ON_SERVER op. */
    atomic_init(&c->refs, 2);
    atomic_fetch_add(&c->srv->inflight, 1);
    return c;
}

const char *cs_call_method(const cs_call *call) { return call->method->m.path; }
const cs_ctx *cs_call_ctx(const cs_call *call) { return &call->ctx; }
bool cs_call_cancelled(const cs_call *call) { return atomic_load(&call->cancelled); }
bool cs_call_server_stopping(const cs_call *call) { return atomic_load(&call->srv->shutting_down); }
cs_arena *cs_call_arena(cs_call *call) { return call->arena; }
void *cs_call_app(const cs_call *call) { return call->srv->app; }

/* ---------- message packing ---------- */

static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

static int unpack_message(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc, cs_arena *arena,
                          ProtobufCMessage **out, cs_error *err)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return cs_error_set(err, CS_ERR_INVALID, "cannot read the %s message", desc->name);
    grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    ProtobufCAllocator al = cs_arena_pb_allocator(arena);
    *out = protobuf_c_message_unpack(desc, &al, GRPC_SLICE_LENGTH(slice), GRPC_SLICE_START_PTR(slice));
    char field[256];
    bool nul = *out && cs_wire_find_nul(desc, GRPC_SLICE_START_PTR(slice), GRPC_SLICE_LENGTH(slice), field,
                                        sizeof field);
    grpc_slice_unref(slice);
    if (!*out)
        return cs_error_set(err, CS_ERR_INVALID, "request does not decode as %s", desc->name);
    if (nul)
        return cs_error_set(err, CS_ERR_INVALID, "%s: a string must not hold a NUL byte", field);
    return 0;
}

/* ---------- handler-facing send / recv ---------- */

int cs_call_send(cs_call *c, const ProtobufCMessage *msg, cs_error *err)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->sent_initial_md) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        n++;
        c->sent_initial_md = true;
    }
    grpc_byte_buffer *bb = pack_message(msg);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = bb;
    n++;
    bool ok = slot_run(c, &c->send, ops, n);
    grpc_byte_buffer_destroy(bb);
    if (!ok || cs_call_cancelled(c))
        return cs_error_set(err, CS_ERR_CANCELLED, "%s: client went away", c->method->m.path);
    return 0;
}

int cs_call_recv(cs_call *c, const ProtobufCMessageDescriptor *desc, cs_arena *arena, ProtobufCMessage **msg,
                 cs_error *err)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    *msg = NULL;
    op.op = GRPC_OP_RECV_MESSAGE;
    c->recv.recv_buf = NULL;
    op.data.recv_message.recv_message = &c->recv.recv_buf;
    bool ok = slot_run(c, &c->recv, &op, 1);
    if (!ok || cs_call_cancelled(c)) {
        if (c->recv.recv_buf)
            grpc_byte_buffer_destroy(c->recv.recv_buf);
        c->recv.recv_buf = NULL;
        return cs_error_set(err, CS_ERR_CANCELLED, "%s: client went away", c->method->m.path);
    }
    if (!c->recv.recv_buf)
        return 0; /* half-closed */
    int rc = unpack_message(c->recv.recv_buf, desc, arena, msg, err);
    grpc_byte_buffer_destroy(c->recv.recv_buf);
    c->recv.recv_buf = NULL;
    return rc;
}

/* Sends the final status (and the unary response). Waits for the batch. */
static void call_finish(cs_call *c, const ProtobufCMessage *resp, cs_code code, const char *details)
{
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->sent_initial_md) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->sent_initial_md = true;
    }
    grpc_byte_buffer *bb = NULL;
    if (resp && code == CS_OK) {
        bb = pack_message(resp);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = bb;
        n++;
    }
    grpc_slice dslice = grpc_slice_from_copied_string(details ? details : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = cs_status_to_grpc(code);
    ops[n].data.send_status_from_server.status_details = code == CS_OK ? NULL : &dslice;
    n++;
    slot_run(c, &c->send, ops, n);
    grpc_slice_unref(dslice);
    if (bb)
        grpc_byte_buffer_destroy(bb);
}

/* ---------- running handlers ---------- */

static void run_handler(void *arg)
{
    cs_call *c = arg;
    const method_entry *me = c->method;
    const cs_handler *h = me->handler;
    cs_error err;
    cs_error_clear(&err);
    ProtobufCMessage *req = NULL, *resp = NULL;
    int rc = 0;

    if (!h) {
        rc = cs_error_set(&err, CS_ERR_UNIMPLEMENTED, "%s is not implemented by crishim", me->m.path + 1);
    } else if (me->m.kind != CS_METHOD_BIDI) {
        if (!c->payload)
            rc = cs_error_set(&err, CS_ERR_INVALID, "%s: request message missing", me->m.path);
        else
            rc = unpack_message(c->payload, me->m.desc->input, c->arena, &req, &err);
        if (rc == 0 && me->m.kind == CS_METHOD_UNARY)
            rc = h->unary(c, req, &resp, &err);
        else if (rc == 0)
            rc = h->server_stream(c, req, &err);
    } else {
        rc = h->bidi(c, &err);
    }

    if (rc != 0 && err.code == CS_OK)
        cs_error_set(&err, CS_ERR_INTERNAL, "%s failed without a reason", me->m.path);
    if (rc == 0) {
        if (me->m.kind == CS_METHOD_UNARY && !resp)
            rc = cs_error_set(&err, CS_ERR_INTERNAL, "%s returned no response", me->m.path);
        else
            cs_error_clear(&err);
    }
    /* A cancelled or expired call gets the status the client already assumes. */
    if (rc != 0 && cs_call_cancelled(c) && err.code != CS_ERR_DEADLINE && err.code != CS_ERR_CANCELLED)
        err.code = cs_ctx_remaining_ms(&c->ctx) == 0 ? CS_ERR_DEADLINE : CS_ERR_CANCELLED;

    /* Recorded before the status goes out, so whoever sees the reply also
     * sees it counted. */
    int64_t dur = cs_time_mono_ns() - c->start_ns;
    if (cs_log_enabled(CS_LOG_DEBUG)) {
        char ms[32];
        snprintf(ms, sizeof ms, "%.3f", (double)dur / 1e6);
        if (err.code == CS_OK)
            cs_debug("rpc", "method", me->m.path, "duration_ms", ms, "code", "OK", NULL);
        else
            cs_debug("rpc", "method", me->m.path, "duration_ms", ms, "code", cs_code_name(err.code), "error",
                     err.msg, NULL);
    }
    if (c->srv->observer)
        c->srv->observer(c->srv->observer_user, me->m.path, err.code, dur);
    call_finish(c, resp, err.code, err.msg);
    call_unref(c);
}

/* A unary call runs on the cq thread that took it off the wire while another
 * cq thread is free to poll: handing it to a pool worker costs a thread
 * wake-up on the call's path (about a tenth of a millisecond when the machine
 * was idle, the common case for kubelet's calls). Streams, which can last,
 * always go to the pool. */
static bool run_inline(cs_server *s, cs_call *c)
{
    if (c->method->m.kind != CS_METHOD_UNARY || !c->method->handler)
        return false;
    pthread_mutex_lock(&s->mu);
    bool ok = s->inline_running + 1 < s->ncq_threads;
    if (ok)
        s->inline_running++;
    pthread_mutex_unlock(&s->mu);
    if (!ok)
        return false;
    run_handler(c);
    cs_pool_job_done_elsewhere(s->pool);
    pthread_mutex_lock(&s->mu);
    s->inline_running--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return true;
}

/* A registered call arrived (or the request failed at shutdown). */
static void pending_done(cs_op *op, bool ok)
{
    pending *p = container_of(op, pending, op);
    cs_server *s = p->srv;
    if (!ok) {
        /* Server shutting down: grpc hands back the unfulfilled request. */
        grpc_metadata_array_destroy(&p->md);
        free(p);
        return;
    }
    if (!atomic_load(&s->shutting_down))
        request_registered(s, p->method);
    cs_call *c = call_new(p);
    free(p);

    grpc_op op_close;
    memset(&op_close, 0, sizeof op_close);
    op_close.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op_close.data.recv_close_on_server.cancelled = &c->close_cancelled;
    if (grpc_call_start_batch(c->call, &op_close, 1, &c->close_op, NULL) != GRPC_CALL_OK)
        call_unref(c); /* the close op will never complete */

    if (run_inline(s, c))
        return;
    if (cs_pool_submit(s->pool, run_handler, c) != 0) {
        grpc_call_cancel(c->call, NULL);
        call_unref(c);
    }
}

static void request_registered(cs_server *s, method_entry *m)
{
    pending *p = cs_xcalloc(1, sizeof *p);
    p->op.fn = pending_done;
    p->srv = s;
    p->method = m;
    grpc_metadata_array_init(&p->md);
    grpc_call_error ce = grpc_server_request_registered_call(
        s->server, m->registered, &p->call, &p->deadline, &p->md,
        m->m.kind == CS_METHOD_BIDI ? NULL : &p->payload, s->cq, s->cq, &p->op);
    if (ce != GRPC_CALL_OK) {
        cs_err("cannot request calls", "method", m->m.path, "error", grpc_call_error_to_string(ce), NULL);
        grpc_metadata_array_destroy(&p->md);
        free(p);
    }
}

/* ---------- unknown methods ---------- */

static void unknown_finished(cs_op *op, bool ok)
{
    unknown_call *u = container_of(op, unknown_call, done_op);
    grpc_slice_unref(u->details_slice);
    grpc_call_unref(u->call);
    grpc_call_details_destroy(&u->details);
    grpc_metadata_array_destroy(&u->md);
    free(u);
}

static void unknown_arrived(cs_op *op, bool ok)
{
    unknown_call *u = container_of(op, unknown_call, op);
    cs_server *s = u->srv;
    if (!ok) {
        grpc_call_details_destroy(&u->details);
        grpc_metadata_array_destroy(&u->md);
        free(u);
        return;
    }
    if (!atomic_load(&s->shutting_down))
        request_unknown(s);
    char *method = grpc_slice_to_c_string(u->details.method);
    char *msg = cs_xasprintf("unknown method %s", method);
    cs_debug("rpc", "method", method, "code", "UNIMPLEMENTED", NULL);
    gpr_free(method);
    u->details_slice = grpc_slice_from_copied_string(msg);
    free(msg);
    grpc_op ops[3];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[1].data.send_status_from_server.status = GRPC_STATUS_UNIMPLEMENTED;
    ops[1].data.send_status_from_server.status_details = &u->details_slice;
    ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[2].data.recv_close_on_server.cancelled = &u->cancelled;
    u->done_op.fn = unknown_finished;
    if (grpc_call_start_batch(u->call, ops, 3, &u->done_op, NULL) != GRPC_CALL_OK)
        unknown_finished(&u->done_op, false);
}

static void request_unknown(cs_server *s)
{
    unknown_call *u = cs_xcalloc(1, sizeof *u);
    u->op.fn = unknown_arrived;
    u->srv = s;
    grpc_call_details_init(&u->details);
    grpc_metadata_array_init(&u->md);
    if (grpc_server_request_call(s->server, &u->call, &u->details, &u->md, s->cq, s->cq, &u->op) != GRPC_CALL_OK) {
        grpc_call_details_destroy(&u->details);
        grpc_metadata_array_destroy(&u->md);
        free(u);
    }
}

/* ---------- completion queue threads ---------- */

static void *cq_main(void *arg)
{
    cs_server *s = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        cs_op *op = ev.tag;
        op->fn(op, ev.success != 0);
    }
    return NULL;
}

static void shutdown_done(cs_op *op, bool ok)
{
    cs_server *s = container_of(op, cs_server, shutdown_op);
    pthread_mutex_lock(&s->mu);
    s->shutdown_done = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---------- set-up and tear-down ---------- */

static const cs_handler *find_handler(const cs_handler *table, const char *path)
{
    for (const cs_handler *h = table; h && h->method; h++)
        if (!strcmp(h->method, path))
            return h;
    return NULL;
}

static int check_handlers(cs_server *s, const cs_handler *table, cs_error *err)
{
    for (const cs_handler *h = table; h && h->method; h++) {
        method_entry *me = NULL;
        for (size_t i = 0; i < s->nmethods; i++)
            if (!strcmp(s->methods[i].m.path, h->method))
                me = &s->methods[i];
        if (!me)
            return cs_error_set(err, CS_ERR_INTERNAL, "handler for unknown method %s", h->method);
        cs_method_kind k = me->m.kind;
        bool fits = (k == CS_METHOD_UNARY && h->unary) || (k == CS_METHOD_SERVER_STREAM && h->server_stream) ||
                    (k == CS_METHOD_BIDI && h->bidi);
        if (!fits)
            return cs_error_set(err, CS_ERR_INTERNAL, "handler for %s does not fit a %s method", h->method,
                                cs_method_kind_name(k));
    }
    return 0;
}

int cs_server_new(const cs_server_config *cfg, cs_server **out, cs_error *err)
{
    cs_server *s = cs_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->app = cfg->app;
    s->ncq_threads = cfg->cq_threads ? cfg->cq_threads : 2;
    size_t max_workers = cfg->max_workers ? cfg->max_workers : 256;

    size_t n;
    cs_method *ms = cs_methods_build(&n);
    s->methods = cs_xcalloc(n, sizeof *s->methods);
    s->nmethods = n;
    for (size_t i = 0; i < n; i++) {
        s->methods[i].m = ms[i];
        s->methods[i].handler = find_handler(cfg->handlers, ms[i].path);
    }
    free(ms); /* paths moved into s->methods */
    if (check_handlers(s, cfg->handlers, err) != 0)
        goto fail;

    s->nlisten = cfg->nlisten;
    s->listen = cs_xcalloc(cfg->nlisten ? cfg->nlisten : 1, sizeof *s->listen);
    s->unix_paths = cs_xcalloc(cfg->nlisten ? cfg->nlisten : 1, sizeof *s->unix_paths);
    for (size_t i = 0; i < cfg->nlisten; i++)
        s->listen[i] = cs_xstrdup(cfg->listen[i]);
    s->ninherited = cfg->ninherited;
    s->inherited = cs_xcalloc(cfg->ninherited ? cfg->ninherited : 1, sizeof *s->inherited);
    if (cfg->ninherited)
        memcpy(s->inherited, cfg->inherited_fds, cfg->ninherited * sizeof *s->inherited);
    s->insecure_tcp = cfg->insecure_tcp;
    s->socket_group = cs_xstrdup(cfg->socket_group);
    if (cfg->tls && cs_tls_new(cfg->tls, &s->tls, err) != 0)
        goto fail;

    grpc_init();
    s->grpc_inited = true;
    grpc_arg args[3];
    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = CS_SERVER_MAX_MESSAGE;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = CS_SERVER_MAX_MESSAGE;
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_ALLOW_REUSEPORT;
    args[2].value.integer = 0;
    grpc_channel_args chargs = {.num_args = 3, .args = args};
    s->server = grpc_server_create(&chargs, NULL);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    for (size_t i = 0; i < s->nmethods; i++) {
        method_entry *me = &s->methods[i];
        me->registered = grpc_server_register_method(
            s->server, me->m.path, NULL,
            me->m.kind == CS_METHOD_BIDI ? GRPC_SRM_PAYLOAD_NONE : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
        if (!me->registered) {
            cs_error_set(err, CS_ERR_INTERNAL, "cannot register %s", me->m.path);
            goto fail;
        }
    }
    s->pool = cs_pool_new(2, max_workers);
    *out = s;
    return 0;
fail:
    cs_server_free(s);
    return -1;
}

/* A group by name or number. */
static int resolve_group(const char *name, gid_t *gid, cs_error *err)
{
    char *end;
    long n = strtol(name, &end, 10);
    if (!*end && n >= 0) {
        *gid = (gid_t)n;
        return 0;
    }
    struct group gr, *res = NULL;
    char buf[4096];
    if (getgrnam_r(name, &gr, buf, sizeof buf, &res) != 0 || !res)
        return cs_error_set(err, CS_ERR_INVALID, "socket group %s: no such group", name);
    *gid = res->gr_gid;
    return 0;
}

static int bind_one(cs_server *s, const char *addr, cs_error *err)
{
    cs_listen_addr la;
    if (cs_listen_parse(addr, &la, err) != 0)
        return -1;
    gid_t gid = (gid_t)-1;
    if (la.is_unix && s->socket_group && resolve_group(s->socket_group, &gid, err) != 0)
        return -1;
    if (!la.is_unix && !s->tls && !s->insecure_tcp)
        return cs_error_set(err, CS_ERR_INVALID, "listen on %s: plaintext TCP needs --insecure-tcp (or give "
                                                 "--tls-cert and --tls-key)", addr);
    grpc_server_credentials *creds = !la.is_unix && s->tls ? cs_tls_server_credentials(s->tls)
                                                            : grpc_insecure_server_credentials_create();
    int port;
    if (la.is_unix) {
        if (cs_listen_prepare_unix(la.path, err) != 0) {
            grpc_server_credentials_release(creds);
            return -1;
        }
        char *target = cs_xasprintf("unix:%s", la.path);
        mode_t old = umask(0117); /* the socket is born 0660, no window */
        port = grpc_server_add_http2_port(s->server, target, creds);
        umask(old);
        free(target);
        if (port != 0) {
            chmod(la.path, 0660);
            s->unix_paths[s->nunix++] = cs_xstrdup(la.path);
            if (gid != (gid_t)-1 && chown(la.path, (uid_t)-1, gid) != 0) {
                grpc_server_credentials_release(creds);
                return cs_error_errno(err, CS_ERR_PERMISSION, errno, "listen on %s: cannot give it group %s",
                                      addr, s->socket_group);
            }
        }
    } else {
        port = grpc_server_add_http2_port(s->server, la.hostport, creds);
    }
    grpc_server_credentials_release(creds);
    if (port == 0)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "cannot listen on %s", addr);
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    if (la.is_unix)
        cs_info("listening", "addr", addr, NULL);
    else
        cs_info("listening", "addr", addr, "port", portbuf, "security",
                !s->tls ? "plaintext (--insecure-tcp)" : cs_tls_mutual(s->tls) ? "mTLS" : "TLS", NULL);
    return 0;
}

int cs_server_start(cs_server *s, cs_error *err)
{
    for (size_t i = 0; i < s->nlisten; i++)
        if (bind_one(s, s->listen[i], err) != 0)
            return -1;
    grpc_server_start(s->server);
    s->started = true;
    if (s->ninherited) {
        /* After grpc_server_start: adopted connections join its pollsets. */
        if (cs_adopter_start(s->server, s->inherited, s->ninherited, &s->adopter, err) != 0)
            return -1;
        s->ninherited = 0; /* the adopter owns them */
    }
    for (size_t i = 0; i < s->nmethods; i++)
        request_registered(s, &s->methods[i]);
    request_unknown(s);
    s->cq_threads = cs_xcalloc(s->ncq_threads, sizeof *s->cq_threads);
    for (size_t i = 0; i < s->ncq_threads; i++)
        if (pthread_create(&s->cq_threads[i], NULL, cq_main, s) != 0)
            return cs_error_errno(err, CS_ERR_INTERNAL, errno, "cannot start completion-queue thread");
    return 0;
}

static bool wait_shutdown(cs_server *s, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->shutdown_done) {
        if (ms < 0) {
            pthread_cond_wait(&s->cv, &s->mu);
        } else if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    bool done = s->shutdown_done;
    pthread_mutex_unlock(&s->mu);
    return done;
}

void cs_server_shutdown(cs_server *s, int64_t grace_ms)
{
    if (!s || !s->started || s->shut)
        return;
    s->shut = true;
    atomic_store(&s->shutting_down, true);
    cs_adopter_stop(s->adopter); /* no new connections from inherited sockets */
    s->adopter = NULL;
    s->shutdown_op.fn = shutdown_done;
    grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_op);
    if (!wait_shutdown(s, grace_ms)) {
        char n[32];
        snprintf(n, sizeof n, "%zu", cs_server_inflight(s));
        cs_warn("grace period over; cancelling calls", "inflight", n, NULL);
        grpc_server_cancel_all_calls(s->server);
        wait_shutdown(s, -1);
    }
    /* Calls are done as far as grpc knows; let the handlers finish their
     * tails: the inline ones first (they report to the pool as they end),
     * then the pool's workers. */
    pthread_mutex_lock(&s->mu);
    while (s->inline_running > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    cs_pool_free(s->pool);
    s->pool = NULL;
    /* The canonical order: server destroyed, then its queue shut down and drained. */
    grpc_server_destroy(s->server);
    s->server = NULL;
    grpc_completion_queue_shutdown(s->cq);
    for (size_t i = 0; i < s->ncq_threads; i++)
        pthread_join(s->cq_threads[i], NULL);
    /* A handler's helper thread (a bidi stream's input reader) may still
     * hold its call for a moment after the last op completed: wait for it,
     * so nothing it lets go of (an attach session on the backend) outlives
     * the server into the backend's teardown. */
    for (int i = 0; i < SHUTDOWN_HOLD_WAIT_MS / 10 && atomic_load(&s->inflight) > 0; i++)
        usleep(10000);
    if (atomic_load(&s->inflight) > 0) {
        char n[32];
        snprintf(n, sizeof n, "%zu", cs_server_inflight(s));
        cs_warn("calls still held after shutdown", "calls", n, NULL);
    }
    for (size_t i = 0; i < s->nunix; i++)
        unlink(s->unix_paths[i]);
}

void cs_server_free(cs_server *s)
{
    if (!s)
        return;
    if (s->started && !s->shut)
        cs_server_shutdown(s, 0);
    if (s->server)
        grpc_server_destroy(s->server);
    if (s->cq)
        grpc_completion_queue_destroy(s->cq);
    if (s->pool)
        cs_pool_free(s->pool);
    for (size_t i = 0; i < s->nmethods; i++)
        free(s->methods[i].m.path);
    free(s->methods);
    for (size_t i = 0; i < s->nlisten; i++)
        free(s->listen[i]);
    free(s->listen);
    for (size_t i = 0; i < s->nunix; i++)
        free(s->unix_paths[i]);
    free(s->unix_paths);
    for (size_t i = 0; i < s->ninherited; i++)
        close(s->inherited[i]);
    free(s->inherited);
    cs_tls_free(s->tls);
    free(s->socket_group);
    free(s->cq_threads);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    bool had_grpc = s->grpc_inited;
    free(s);
    if (had_grpc)
        grpc_shutdown();
}

size_t cs_server_inflight(cs_server *s)
{
    return atomic_load(&s->inflight);
}

void cs_server_set_observer(cs_server *s, cs_call_observer fn, void *user)
{
    s->observer = fn;
    s->observer_user = user;
}
