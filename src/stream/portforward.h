/* Port-forward into a pod: TCP connections to localhost:PORT inside the
 * sandbox's network namespace, carried over SPDY (portforward.k8s.io, a
 * data and an error stream per connection) or WebSocket (channels 2n and
 * 2n+1 for the request's n-th port). No socat or nsenter: crishim enters
 * the namespace itself. */
#ifndef CS_STREAM_PORTFORWARD_H
#define CS_STREAM_PORTFORWARD_H

#include <stdint.h>

#include "backend/backend.h"
#include "stream/spdy.h"
#include "stream/tokens.h"
#include "stream/websocket.h"

/* A socket connected to localhost:port in the network namespace at netns
 * (IPv4 first, then IPv6). */
int strm_dial_netns(const char *netns, uint16_t port, int *fd, cs_error *err);

/* Serve until the client hangs up; the caller frees conn. */
void strm_portforward_spdy(spdy_conn *conn, const strm_request *req, cs_backend *b);
/* protocol: the negotiated subprotocol ("" for none). */
void strm_portforward_ws(ws_conn *conn, const strm_request *req, const char *protocol, cs_backend *b);

#endif
