/* WebSocket (RFC 6455) on an upgraded socket, for the streaming server's
 * channel.k8s.io protocols and for tests acting as their clients. libwslay
 * does the framing (masking, fragments, control frames, the close
 * handshake); this module adds blocking, thread-safe calls around it and the
 * handshake's key arithmetic. The HTTP request itself belongs to
 * libmicrohttpd on the server side. */
#ifndef CS_STREAM_WEBSOCKET_H
#define CS_STREAM_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct ws_conn ws_conn;

enum { WS_TEXT = 1, WS_BINARY = 2 };

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64 of the
 * SHA-1 of the key and the RFC's GUID. -1 unless the key is 16 bytes in
 * base64. out: 28 characters and a NUL. */
int ws_accept_key(const char *client_key, char out[29]);

/* fd: the upgraded socket; the conn owns it from here on (also on failure).
 * prefix: bytes the HTTP layer read past the headers, fed first (copied).
 * A server insists on masked frames from its peer, a client masks its own.
 * max_msg: the largest message accepted (a bigger one closes with 1009). */
ws_conn *ws_conn_new(int fd, bool server, const void *prefix, size_t prefix_len, size_t max_msg, cs_error *err);

/* The next whole data message, fragments joined; pings are answered here.
 * 0: *data (malloc'd, caller frees), *len, *opcode; 1: timeout (timeout_ms < 0
 * waits forever); 2: the peer closed (answered) or hung up; -1: protocol or
 * I/O error (the connection is dead). One reading thread at a time. */
int ws_recv(ws_conn *c, int timeout_ms, int *opcode, void **data, size_t *len, cs_error *err);

/* Sends one whole message; blocks until it is on the wire. Thread-safe with
 * ws_recv and other senders. A vanished peer is an error, never SIGPIPE. */
int ws_send(ws_conn *c, int opcode, const void *data, size_t len, cs_error *err);

/* Starts the close handshake (status 1000 is a normal close). */
int ws_send_close(ws_conn *c, uint16_t status, const char *reason, cs_error *err);

/* Shuts the socket down and frees; no other thread may still use c. */
void ws_conn_free(ws_conn *c);

/* Client side (tests): sends a GET upgrade for path with a random key and
 * the given Sec-WebSocket-Protocol list (NULL: none), reads the response.
 * *status is its HTTP status; on 101 the accept key is checked, *chosen is
 * the server's subprotocol (malloc'd, NULL if none) and *prefix the bytes
 * read past the headers (malloc'd). Other statuses return 0 too, so a test
 * can assert a 404; -1 only when the exchange itself fails. */
int ws_client_handshake(int fd, const char *host, const char *path, const char *protocols, int *status,
                        char **chosen, void **prefix, size_t *prefix_len, cs_error *err);

#endif
