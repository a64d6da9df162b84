/* The two wires an exec or attach session runs on, as strm_chans. */
#ifndef CS_STREAM_TRANSPORTS_H
#define CS_STREAM_TRANSPORTS_H

#include "stream/chans.h"
#include "stream/spdy.h"
#include "stream/tokens.h"
#include "stream/websocket.h"

/* Waits (up to 30 s, as kubelet) for the client to open the streams the
 * request calls for: error, and stdin/stdout/stderr/resize as enabled.
 * Takes conn (freed with the chans); NULL on failure, conn still the
 * caller's. protocol: the negotiated vN.channel.k8s.io. */
strm_chans *strm_spdy_chans_open(spdy_conn *conn, const strm_request *req, const char *protocol, cs_error *err);

/* Channel framing on a WebSocket: one leading channel byte per binary
 * message, or an ASCII digit and base64 in text messages for the base64.
 * protocols. Takes conn as above. protocol: the negotiated subprotocol, ""
 * for none. */
strm_chans *strm_ws_chans_open(ws_conn *conn, const strm_request *req, const char *protocol, cs_error *err);

/* "v4.channel.k8s.io" → 4, "channel.k8s.io" and "" → 1. */
int strm_protocol_version(const char *protocol);

#endif
