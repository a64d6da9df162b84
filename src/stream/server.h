/* crishim's CRI streaming server: the HTTP endpoint that the URLs returned by
 * Exec, Attach and PortForward point at, as kubelet expects of a runtime.
 * libmicrohttpd parses HTTP and hands over the socket after a 101; from
 * there a session thread speaks SPDY/3.1 or WebSocket. Every path needs a
 * token from the cache: nothing is served without one. */
#ifndef CS_STREAM_SERVER_H
#define CS_STREAM_SERVER_H

#include <stdint.h>

#include "backend/backend.h"
#include "stream/tokens.h"

#define STRM_DEFAULT_ADDR "127.0.0.1:0"
#define STRM_TOKEN_TTL_MS 60000
#define STRM_MAX_TOKENS 1000

typedef struct strm_server strm_server;

typedef struct strm_server_config {
    const char *addr;      /* "host:port", "[v6]:port"; port 0 picks a free one */
    cs_backend *backend;   /* borrowed */
    int64_t token_ttl_ms;  /* 0: STRM_TOKEN_TTL_MS */
} strm_server_config;

/* Binds and starts serving. */
int strm_server_new(const strm_server_config *cfg, strm_server **out, cs_error *err);
/* "http://127.0.0.1:PORT": what the returned URLs start with. */
const char *strm_server_base_url(const strm_server *s);
/* Stores req (owned from here on) under a fresh token; *url is the absolute
 * URL to hand back (malloc'd). */
int strm_server_register(strm_server *s, strm_request *req, char **url, cs_error *err);
/* Sessions running now (for tests and metrics). */
int strm_server_sessions(strm_server *s);
/* Tokens handed out and not yet used or expired. */
size_t strm_server_tokens(strm_server *s);
/* Ends every session (their sockets are shut down), then the HTTP server. */
void strm_server_free(strm_server *s);

#endif
