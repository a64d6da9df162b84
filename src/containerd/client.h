/* crishim's gRPC core client for containerd's own API: one channel to the
 * containerd socket, calls by full method path with protobuf-c descriptors.
 *
 * Every call carries `containerd-namespace: <ns>` except the version and
 * introspection services (which are global), plus `containerd-lease: <id>`
 * when the caller names a lease. Deadlines come from the cs_ctx (default
 * 120 s for unary calls, none for streams); a cancelled ctx cancels the call.
 * gRPC statuses map to cs_error codes (their numbers are gRPC's) with the
 * method and the socket in the message.
 *
 * Each call plucks its own completion queue, so any thread may call and no
 * thread is shared between calls. A call waiting on a cancellable ctx wakes
 * every CTRD_CANCEL_CHECK_MS to look at the flag (cs_ctx exposes only a flag,
 * no notification); otherwise a call sleeps until gRPC completes it. */
#ifndef CS_CTRD_CLIENT_H
#define CS_CTRD_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "util/arena.h"
#include "util/ctx.h"
#include "util/error.h"

#define CTRD_MAX_MESSAGE (16 * 1024 * 1024)
#define CTRD_DEFAULT_UNARY_TIMEOUT_MS 120000
#define CTRD_CANCEL_CHECK_MS 200
#define CTRD_RECONNECT_WAIT_MS 1000 /* how long a call waits for containerd to come back */

typedef struct ctrd_client ctrd_client;

/* address: "/path", "unix:/path" or "unix:///path". ns: the containerd
 * namespace (copied). Connects lazily: an absent containerd is not an error
 * here; calls answer UNAVAILABLE until it is up, and the channel reconnects
 * within about a second once it is. */
int ctrd_client_new(const char *address, const char *ns, ctrd_client **out, cs_error *err);
void ctrd_client_free(ctrd_client *c);
const char *ctrd_client_address(const ctrd_client *c); /* the socket path */
const char *ctrd_client_namespace(const ctrd_client *c);

/* One request, one reply. *reply is unpacked into arena `a` (nothing to
 * free) or, with a NULL arena, malloc'd (protobuf_c_message_free_unpacked).
 * lease: NULL or the lease id to send. */
int ctrd_unary(ctrd_client *c, const cs_ctx *ctx, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *reply_desc, const char *lease, cs_arena *a, ProtobufCMessage **reply,
               cs_error *err);

/* Streaming calls (server-streaming, client-streaming, bidi). One thread
 * drives a stream's send/recv; ctrd_stream_cancel may come from any other. */
typedef struct ctrd_stream ctrd_stream;
int ctrd_stream_open(ctrd_client *c, const cs_ctx *ctx, const char *method, const char *lease, ctrd_stream **out,
                     cs_error *err);
int ctrd_stream_send(ctrd_stream *s, const ProtobufCMessage *m, cs_error *err);
/* No more requests (half-close). */
int ctrd_stream_close_send(ctrd_stream *s, cs_error *err);
/* 1: *m holds the next message (in arena a, or malloc'd with a NULL arena);
 * 0: the server ended the stream with OK; -1: the call failed (err). */
int ctrd_stream_recv(ctrd_stream *s, const ProtobufCMessageDescriptor *desc, cs_arena *a, ProtobufCMessage **m,
                     cs_error *err);
void ctrd_stream_cancel(ctrd_stream *s);
/* What bounds the stream from now on (a long-lived stream is opened under a
 * cancellable ctx, then watched by ctrd_stream_cancel alone). */
void ctrd_stream_set_ctx(ctrd_stream *s, const cs_ctx *ctx);
/* Cancels the call when it has not ended, and frees it. */
void ctrd_stream_free(ctrd_stream *s);

/* Every unary call is reported to the engine-neutral observer
 * (backend/observe.h) as its short method name ("Images.Get"), a result
 * class as Docker's calls have them, and its duration. */

/* gRPC status → error, the way every call here reports one (exposed for the
 * unit suite). */
int ctrd_status_error(cs_error *err, int grpc_code, const char *details, const char *method, const char *address);

/* The short name of a method path for messages and metrics:
 * "/containerd.services.images.v1.Images/Get" → "Images.Get" (in a
 * thread-local buffer, valid until the thread's next call). */
const char *ctrd_method_short(const char *method);

#endif
