/* The Docker Engine API client: HTTP over the engine's unix socket (or plain
 * TCP) with libcurl. This file pair is the only place crishim calls libcurl.
 *
 * Threads: any number of threads may share one client. Each thread gets its
 * own easy handle (and the multi handle that holds its connection cache) per
 * client, kept for connection reuse: libcurl's rule is never to share a handle
 * between threads, and one handle behind a mutex would serialise every call.
 * The API version is negotiated from /version on first use and again after the
 * engine was unreachable or refused the version, so a restarted or upgraded
 * daemon is picked up without restarting crishim. */
#ifndef CS_DOCKER_HTTP_H
#define CS_DOCKER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ctx.h"
#include "util/error.h"

/* The newest API version crishim speaks. Newer daemons still serve it; Debian's
 * 20.10 speaks 1.41 and Docker 29 refuses anything below 1.44. */
#define DOCKER_API_MAX "1.47"
/* Room for a negotiated version string ("1.47") and its NUL. */
#define DOCKER_API_VERSION_SIZE 16

typedef struct docker_client docker_client;

/* Once per process, before any other thread starts (curl_global_init is not
 * thread-safe). The daemon's main and every test main call it. */
int docker_http_global_init(cs_error *err);
void docker_http_global_cleanup(void);

/* host: "unix:///var/run/docker.sock", an absolute socket path, or
 * "tcp://host:port" / "http://host:port" (IPv6 as "[::1]:2375"; a trailing
 * "/" is allowed). CS_ERR_INVALID otherwise. *out is freed with
 * docker_client_free. */
int docker_client_new(const char *host, docker_client **out, cs_error *err);
/* Frees the client and the handles of every thread that used it, alive or
 * exited. No thread may be inside a call on this client, nor be exiting
 * concurrently: join (or idle for good) every thread that used it first. NULL
 * is a no-op. */
void docker_client_free(docker_client *c);
/* For messages: the socket path or host:port. Borrowed; valid until free. */
const char *docker_client_endpoint(const docker_client *c);
/* Negotiated version ("1.41") copied into buf; false (and "") before
 * negotiation or after the engine was lost. */
bool docker_client_api_version_copy(docker_client *c, char *buf, size_t size);
/* The daemon's own version ("20.10.24+dfsg1") that came with the negotiated
 * API version; false as docker_client_api_version_copy. */
bool docker_client_engine_version_copy(docker_client *c, char *buf, size_t size);
/* Negotiates now if not yet done; the version in use goes to buf (size >=
 * DOCKER_API_VERSION_SIZE). Failures as docker_request. */
int docker_client_negotiate(docker_client *c, const cs_ctx *ctx, char *buf, size_t size, cs_error *err);
/* Connections opened so far, over all threads: a reuse check for tests, and a
 * number for diagnostics. */
uint64_t docker_client_connections(docker_client *c);

typedef struct docker_response {
    long status;
    char *body; /* malloc'd, NUL-terminated, never NULL after success; owned by
                   the response: release with docker_response_clear */
    size_t body_len;
} docker_response;
/* Frees the body and zeroes *r; NULL or an already cleared response is fine. */
void docker_response_clear(docker_response *r);

/* One request and its whole response (at most 64 MiB, else CS_ERR_RESOURCE).
 * path is unversioned and already escaped ("/containers/json?all=1"): the
 * client prefixes "/v<version>" (only "/_ping" and "/version" go unversioned).
 * body may be NULL; with a body, Content-Type: application/json unless headers
 * name another. headers: NULL or a NULL-terminated array of "Name: value",
 * borrowed for the call. ctx may be NULL (no deadline, no cancel); without a
 * deadline the request is given 120 s.
 * Any HTTP status returns 0 with *resp filled (the caller clears it): callers
 * decide what 404 means. Failures leave *resp empty:
 *   CS_ERR_UNAVAILABLE "docker at <endpoint>: <reason>" when the engine can't
 *     be reached or drops the connection;
 *   CS_ERR_DEADLINE / CS_ERR_CANCELLED when ctx ends (cancel is noticed within
 *     about 50 ms). */
int docker_request(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                   size_t body_len, const char *const *headers, docker_response *resp, cs_error *err);
/* As docker_request, failing with docker_error_from_response for status >= 400
 * (then *resp is cleared). */
int docker_request_ok(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                      size_t body_len, const char *const *headers, docker_response *resp, cs_error *err);

/* An error response as cs_error "docker: <message>", using Docker's
 * {"message": …} when present, else the start of the raw body, else the
 * status. Code by status: 400 INVALID, 401 UNAUTHENTICATED, 403 PERMISSION,
 * 404 NOT_FOUND, 409 CONFLICT (Docker's "in use"/"is running"), 500 INTERNAL,
 * 501 UNIMPLEMENTED, 503 UNAVAILABLE, other 5xx INTERNAL, the rest UNKNOWN.
 * Always returns -1. */
int docker_error_from_response(const docker_response *r, cs_error *err);

/* Streaming responses (pull progress, events, logs). on_data gets the body as
 * it arrives (data borrowed for the call); returning -1 stops the stream and
 * the call fails with the error on_data set in its err (CS_ERR_ABORTED if it
 * set none). No total timeout: the stream ends when the engine closes it, ctx
 * ends, or stall_ms > 0 passes with no byte at all (CS_ERR_DEADLINE "no data
 * from docker for N s"; a slow but moving stream is never cut). *status (may
 * be NULL) gets the HTTP status; for status >= 400 on_data is not called and
 * the body becomes the error (docker_error_from_response). */
typedef int (*docker_data_fn)(void *user, const char *data, size_t len, cs_error *err);
int docker_stream(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                  size_t body_len, const char *const *headers, long stall_ms, docker_data_fn on_data, void *user,
                  long *status, cs_error *err);

/* The same, split into lines: line[0..len) without its "\n" or "\r\n", NOT
 * NUL-terminated, borrowed for the call. Empty lines are delivered too. A last
 * line without a newline is delivered at the end; a line over 16 MiB fails
 * with CS_ERR_RESOURCE. */
typedef int (*docker_line_fn)(void *user, const char *line, size_t len, cs_error *err);
int docker_stream_lines(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                        size_t body_len, const char *const *headers, long stall_ms, docker_line_fn on_line,
                        void *user, long *status, cs_error *err);

/* A set of long GET streams driven together by one thread (log streams of
 * every container, the event feed): one multi handle, one easy handle per
 * stream, and a wait that sleeps until a stream has bytes or someone calls
 * docker_streamset_wakeup, with no periodic timeout.
 * Threads: docker_streamset_wakeup may be called from any thread; everything
 * else, and every callback, runs on the thread that drives the set. */
typedef struct docker_streamset docker_streamset;
/* A stream's end: rc 0 when the engine ended the body; else -1 and err says
 * why (as docker_stream's failures; status >= 400 becomes the engine's error
 * via docker_error_from_response). status is the HTTP status, 0 if none came.
 * The stream is freed after this returns. */
typedef void (*docker_end_fn)(void *user, int rc, long status, const cs_error *err);

docker_streamset *docker_streamset_new(docker_client *c);
/* Ends every stream without calling its callbacks, then frees. NULL is fine. */
void docker_streamset_free(docker_streamset *s);
/* Starts GET path (unversioned, as docker_request; the version is negotiated
 * here first, within 2 s, when not known yet). on_data as docker_stream's;
 * on_end is called once, from a later docker_streamset_run. recv_buffer > 0
 * bounds curl's receive buffer (memory per stream). Fails (nothing is
 * called) when no version could be negotiated. */
int docker_streamset_add(docker_streamset *s, const char *path, size_t recv_buffer, docker_data_fn on_data,
                         docker_end_fn on_end, void *user, cs_error *err);
size_t docker_streamset_count(const docker_streamset *s);
/* Moves the streams on: waits up to timeout_ms (-1: no limit) for bytes, an
 * end or a wakeup, then runs the callbacks that are due. */
void docker_streamset_run(docker_streamset *s, int timeout_ms);
/* Makes a waiting docker_streamset_run return. Any thread. */
void docker_streamset_wakeup(docker_streamset *s);

/* GET /_ping (unversioned): 0 when the engine answers 200. */
int docker_ping(docker_client *c, const cs_ctx *ctx, cs_error *err);

/* ---- observation (metrics) ---- */

/* Every non-streaming request is reported to the engine-neutral observer
 * (backend/observe.h) with its operation name (docker_op_name), result class
 * (docker_result_class) and duration; streaming requests count in its
 * streams gauge. */
/* A bounded name for a request: the method and the path with object ids and
 * image names replaced by {id} / {name}, the query dropped, unknown shapes
 * folded into ".../other": "GET /containers/{id}/json",
 * "DELETE /images/{name}". Returns snprintf's length. */
size_t docker_op_name(const char *method, const char *path, char *out, size_t size);
/* "ok", "not_found", "conflict", "client_error", "server_error" by HTTP
 * status when the exchange completed (failure CS_OK); else "deadline",
 * "cancelled", "unavailable" or "error". */
const char *docker_result_class(cs_code failure, long status);
/* http.c's hooks into the above. */
void docker_observe(const char *method, const char *path, cs_code failure, long status, int64_t duration_ns);
void docker_streams_add(int delta);

/* Hijacked connections (exec/attach: CURLOPT_CONNECT_ONLY, then
 * curl_easy_send/recv on a dedicated handle) will be added to http.c. */

/* ---- pure parts, exported for tests ---- */

/* The version to speak given the server's ApiVersion and MinAPIVersion (either
 * may be NULL or empty): the server's max if not above ours, else ours; raised
 * to the server's min if below it. */
void docker_api_choose(const char *server_max, const char *server_min, char *out, size_t size);
/* Numeric compare of dotted versions, "1.9" < "1.41": <0, 0, >0. NULL counts
 * as "". */
int docker_api_compare(const char *a, const char *b);

/* Splits a byte stream into lines across chunk boundaries. Zero-initialise,
 * set on_line and user, feed chunks, finish once, then free. */
typedef struct docker_line_splitter {
    docker_line_fn on_line;
    void *user;
    char *buf; /* the unfinished line */
    size_t len, cap;
} docker_line_splitter;
/* -1 when on_line fails (its error) or a line exceeds 16 MiB. */
int docker_lines_feed(docker_line_splitter *s, const char *data, size_t len, cs_error *err);
/* Delivers a last line that had no newline. */
int docker_lines_finish(docker_line_splitter *s, cs_error *err);
void docker_lines_free(docker_line_splitter *s);

#endif
