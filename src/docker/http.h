/* The Docker Engine API client: HTTP over the engine's unix socket (or TCP)
 * with libcurl. This file pair is the only place crishim calls libcurl.
 *
 * Threads: each thread gets its own easy handle per client, kept for
 * connection reuse (libcurl's rule: never share a handle between threads).
 * The API version is negotiated from /version on first use and again after
 * the engine was unreachable, so a restarted or upgraded daemon is picked up
 * without restarting crishim. */
#ifndef CS_DOCKER_HTTP_H
#define CS_DOCKER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "util/ctx.h"
#include "util/error.h"

/* The newest API version crishim speaks. Newer daemons still serve it; Debian's
 * 20.10 speaks 1.41 and Docker 29 refuses anything below 1.44. */
#define DOCKER_API_MAX "1.47"

typedef struct docker_client docker_client;

/* Once per process, before any other thread starts. */
int docker_http_global_init(cs_error *err);
void docker_http_global_cleanup(void);

/* host: "unix:///var/run/docker.sock", an absolute socket path, or
 * "tcp://host:port" / "http://host:port". CS_ERR_INVALID otherwise. */
int docker_client_new(const char *host, docker_client **out, cs_error *err);
/* Every thread that used the client must be done with it. */
void docker_client_free(docker_client *c);
/* For messages: the socket path or host:port. */
const char *docker_client_endpoint(const docker_client *c);
/* Negotiated version ("1.41"), copied into buf; false before negotiation. */
bool docker_client_api_version_copy(docker_client *c, char *buf, size_t size);
/* Negotiates now if not yet done; the version in use goes to buf. */
int docker_client_negotiate(docker_client *c, const cs_ctx *ctx, char *buf, size_t size, cs_error *err);

typedef struct docker_response {
    long status;
    char *body; /* malloc'd, NUL-terminated (never NULL after success) */
    size_t body_len;
} docker_response;
void docker_response_clear(docker_response *r);

/* One request and its whole response. path is unversioned
 * ("/containers/json?all=1"): the client prefixes "/v<version>" (paths
 * starting with "/_ping" or "/version" go unversioned). body may be NULL;
 * headers NULL or a NULL-terminated array of "Name: value".
 * Any HTTP status returns 0 with *resp filled. Failures: CS_ERR_UNAVAILABLE
 * when the engine can't be reached, CS_ERR_DEADLINE / CS_ERR_CANCELLED from
 * ctx. */
int docker_request(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                   size_t body_len, const char *const *headers, docker_response *resp, cs_error *err);
/* As docker_request, failing with docker_error_from_response for status >= 400. */
int docker_request_ok(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                      size_t body_len, const char *const *headers, docker_response *resp, cs_error *err);

/* An error response as cs_error, using Docker's {"message": …} when present. */
int docker_error_from_response(const docker_response *r, cs_error *err);

/* Streaming responses (pull progress, events, logs). on_data gets the body as
 * it arrives; returning -1 stops the stream with its error. No total timeout:
 * the stream ends when the engine closes it, ctx ends, or stall_ms > 0 passes
 * with no byte at all. Status >= 400: the body becomes the error. */
typedef int (*docker_data_fn)(void *user, const char *data, size_t len, cs_error *err);
int docker_stream(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                  size_t body_len, const char *const *headers, long stall_ms, docker_data_fn on_data, void *user,
                  long *status, cs_error *err);

/* The same, split into lines (without the newline); a last line without a
 * newline is delivered at the end. */
typedef int (*docker_line_fn)(void *user, const char *line, size_t len, cs_error *err);
int docker_stream_lines(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                        size_t body_len, const char *const *headers, long stall_ms, docker_line_fn on_line,
                        void *user, long *status, cs_error *err);

/* GET /_ping. */
int docker_ping(docker_client *c, const cs_ctx *ctx, cs_error *err);

/* ---- pure parts, exported for tests ---- */

/* The version to speak given the server's ApiVersion and MinAPIVersion. */
void docker_api_choose(const char *server_max, const char *server_min, char *out, size_t size);
/* Numeric compare of "1.9" vs "1.41": <0, 0, >0. */
int docker_api_compare(const char *a, const char *b);

/* Splits a byte stream into lines across chunk boundaries. */
typedef struct docker_line_splitter {
    char *buf;
    size_t len, cap;
    docker_line_fn on_line;
    void *user;
} docker_line_splitter;
int docker_lines_feed(docker_line_splitter *s, const char *data, size_t len, cs_error *err);
int docker_lines_finish(docker_line_splitter *s, cs_error *err);
void docker_lines_free(docker_line_splitter *s);

#endif
