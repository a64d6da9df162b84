/* The gRPC server: grpc core completion queue, a few threads draining it, every
 * method of cs_services registered, handler work on an elastic worker pool.
 *
 * Life cycle: cs_server_new → cs_server_start → ... → cs_server_shutdown (stop
 * accepting, let in-flight calls finish within a grace period, cancel the rest,
 * remove unix sockets) → cs_server_free. */
#ifndef CS_RPC_SERVER_H
#define CS_RPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/call.h"
#include "util/error.h"

#define CS_SERVER_MAX_MESSAGE (16 * 1024 * 1024)

typedef struct cs_server_config {
    /* "unix:///run/crishim/crishim.sock" or "tcp://127.0.0.1:9000"; borrowed. */
    const char *const *listen;
    size_t nlisten;
    /* Handler table ending with {NULL}; borrowed for the server's life. */
    const cs_handler *handlers;
    void *app;             /* handed to handlers through cs_call_app() */
    size_t cq_threads;     /* 0 = 2 */
    size_t max_workers;    /* 0 = 256 */
    /* Listening sockets to serve besides `listen` (systemd socket
     * activation); the server owns them from cs_server_new on. */
    const int *inherited_fds;
    size_t ninherited;
    /* TLS for tcp:// listeners (paths borrowed); NULL: tcp:// needs insecure_tcp. */
    const struct cs_tls_files *tls;
    bool insecure_tcp;
    const char *socket_group; /* group name or number for unix sockets; NULL: ours */
} cs_server_config;

typedef struct cs_server cs_server;

int cs_server_new(const cs_server_config *cfg, cs_server **out, cs_error *err);
/* Binds every listen address (unix sockets: parent dir created, a stale socket
 * replaced, mode 0660 and socket_group; a live one is an error; tcp:// with
 * TLS, or plaintext only when insecure_tcp) and starts serving, the inherited
 * sockets included. */
int cs_server_start(cs_server *s, cs_error *err);
void cs_server_shutdown(cs_server *s, int64_t grace_ms);
void cs_server_free(cs_server *s);

/* Calls being handled now. */
size_t cs_server_inflight(cs_server *s);

/* Per-call observer, e.g. metrics; may be NULL. Called on the worker just
 * before the status is sent. */
typedef void (*cs_call_observer)(void *user, const char *method, cs_code code, int64_t duration_ns);
void cs_server_set_observer(cs_server *s, cs_call_observer fn, void *user);

#endif
