/* What a handler sees of one gRPC call.
 *
 * Handlers run on a worker thread and are plain blocking code: a unary handler
 * returns its response; a server-streaming handler calls cs_call_send() per
 * message; a bidi handler alternates cs_call_recv()/cs_call_send() (one reader
 * and one writer thread may use a call at once). Every send waits until gRPC has
 * taken the message, so a slow client throttles the handler instead of growing
 * a queue. Memory: the request and anything from cs_call_arena() live until the
 * call ends; handlers allocate responses there and never free them. */
#ifndef CS_RPC_CALL_H
#define CS_RPC_CALL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "util/arena.h"
#include "util/ctx.h"
#include "util/error.h"

typedef struct cs_call cs_call;

/* "/runtime.v1.RuntimeService/Version" */
const char *cs_call_method(const cs_call *call);
/* The deadline and cancel flag of this call, for engine requests. */
const cs_ctx *cs_call_ctx(const cs_call *call);
bool cs_call_cancelled(const cs_call *call);
/* True once the server is shutting down: endless streams should end now
 * rather than hold the shutdown for its grace period. */
bool cs_call_server_stopping(const cs_call *call);
/* Per-call allocations, freed when the call ends. */
cs_arena *cs_call_arena(cs_call *call);
/* The application object given to cs_server_new (e.g. the CRI runtime). */
void *cs_call_app(const cs_call *call);

/* Sends one message and waits until gRPC has taken it. Fails with CANCELLED
 * when the client has gone away. */
int cs_call_send(cs_call *call, const ProtobufCMessage *msg, cs_error *err);

/* Receives one message (bidi calls), unpacked into `arena` (the caller's, so a
 * long stream can reset it per message). *msg is NULL when the client has
 * half-closed. Fails with CANCELLED when the client has gone away, INVALID if the
 * message does not decode as `desc`. */
int cs_call_recv(cs_call *call, const ProtobufCMessageDescriptor *desc, cs_arena *arena,
                 ProtobufCMessage **msg, cs_error *err);

/* A bidi handler that reads on a thread of its own lets that thread hold the
 * call: the reader may still be blocked in cs_call_recv when the handler has
 * returned (its recv then fails with CANCELLED once the call is over). */
void cs_call_hold(cs_call *call);
void cs_call_release(cs_call *call);

/* Handler signatures. Return 0 with *resp set (unary), or -1 with err set: the
 * error's code becomes the gRPC status, its message the status details. */
typedef int (*cs_unary_fn)(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                           cs_error *err);
typedef int (*cs_server_stream_fn)(cs_call *call, const ProtobufCMessage *req, cs_error *err);
typedef int (*cs_bidi_fn)(cs_call *call, cs_error *err);

/* One entry of an application's handler table; exactly one fn is set and must
 * match the method's kind (checked at start-up). */
typedef struct cs_handler {
    const char *method; /* full name: "/runtime.v1.RuntimeService/Version" */
    cs_unary_fn unary;
    cs_server_stream_fn server_stream;
    cs_bidi_fn bidi;
} cs_handler;

#endif
