/* SPDY/3.1 framing over an already-upgraded socket, as kubelet's streaming
 * server and crictl/kubectl (Go, moby/spdystream) speak it for Exec, Attach
 * and PortForward. One reader thread per connection parses frames and buffers
 * stream data; callers pull with blocking calls. Both roles: the server side
 * for crishim's streaming server, the client side for tests acting as crictl.
 *
 * Threading: every call is thread-safe, but one stream should be read by one
 * thread at a time (and written by one thread at a time, or the caller's
 * chunks interleave in arbitrary order; frames themselves never interleave). */
#ifndef CS_SPDY_H
#define CS_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct spdy_conn spdy_conn;
typedef struct spdy_stream spdy_stream;

/* RST_STREAM status codes (SPDY/3.1 section 2.6.3). */
enum {
    SPDY_PROTOCOL_ERROR = 1,
    SPDY_INVALID_STREAM = 2,
    SPDY_REFUSED_STREAM = 3,
    SPDY_UNSUPPORTED_VERSION = 4,
    SPDY_CANCEL = 5,
    SPDY_INTERNAL_ERROR = 6,
    SPDY_FLOW_CONTROL_ERROR = 7,
    SPDY_STREAM_IN_USE = 8,
    SPDY_STREAM_ALREADY_CLOSED = 9,
    SPDY_FRAME_TOO_LARGE = 11,
};

/* Limits that keep a hostile peer from making us allocate without bound. */
#define SPDY_MAX_CONTROL_FRAME (1u << 20)  /* control frame payload */
#define SPDY_MAX_HEADER_BLOCK (256u << 10) /* decompressed name/value block */
#define SPDY_MAX_STREAMS 1000              /* live (unreleased) streams */
#define SPDY_STREAM_BUFFER (256u << 10)    /* buffered, unread DATA per stream */
#define SPDY_MAX_DATA_FRAME (32u << 10)    /* what we put in one DATA frame */

/* fd: a connected, upgraded socket; the conn owns it from here on (also on
 * failure). prefix: bytes the HTTP layer already read past the headers, parsed
 * before anything read from fd (copied). server picks the stream id parity:
 * the client opens odd ids, the server even ones. Returns NULL on failure. */
spdy_conn *spdy_conn_new(int fd, bool server, const void *prefix, size_t prefix_len, cs_error *err);

/* Next stream the peer opened (SYN_STREAM), in the order they arrived.
 * 0: *out set (borrowed, owned by the conn); 1: timeout (timeout_ms < 0 waits
 * forever); -1: no more will come (connection gone, shut down or GOAWAY). */
int spdy_conn_accept(spdy_conn *c, int timeout_ms, spdy_stream **out);

/* Sends a PING and waits for the peer's echo. 0 ok, 1 timeout, -1 error. */
int spdy_conn_ping(spdy_conn *c, int timeout_ms, cs_error *err);

/* False once nothing more can come from the peer: EOF, a bad frame, a failed
 * write, or spdy_conn_shutdown. */
bool spdy_conn_alive(spdy_conn *c);

/* Wakes every blocked caller (they return EOF or an error), sends GOAWAY if
 * that can be done without blocking, and shuts the socket down. Does not
 * free: call it, join the threads that use the conn, then spdy_conn_free. */
void spdy_conn_shutdown(spdy_conn *c);

/* spdy_conn_shutdown (if not done yet), joins the reader thread, closes the
 * socket and frees every stream and the conn. No other thread may be inside
 * a spdy_ call on this conn or its streams. NULL is a no-op. */
void spdy_conn_free(spdy_conn *c);

/* A header of the stream's SYN_STREAM (peer-opened streams) or SYN_REPLY
 * (streams we opened). Names compare case-insensitively (SPDY sends them lower
 * case). Borrowed, valid until the stream is released. NULL if absent. A value
 * with several NUL-separated parts reads as its first part. */
const char *spdy_stream_header(spdy_stream *s, const char *name);
uint32_t spdy_stream_id(spdy_stream *s);

/* Server side of a peer-opened stream: SYN_REPLY with an empty header block.
 * Must come before any write: spdystream drops DATA that arrives before the
 * reply. */
int spdy_stream_reply(spdy_stream *s, cs_error *err);

/* Opens a stream: SYN_STREAM carrying headers, a NULL-terminated array
 * n0, v0, n1, v1, ..., NULL (names must be lower case and distinct: Go's
 * framer fails the whole connection otherwise). fin: we send nothing on it.
 * The stream is owned by the conn (borrowed by the caller). */
spdy_stream *spdy_stream_open(spdy_conn *c, const char *const *headers, bool fin, cs_error *err);

/* Waits for the SYN_REPLY of a stream we opened. 0 replied, 1 timeout,
 * -1 reset or connection gone. */
int spdy_stream_wait_reply(spdy_stream *s, int timeout_ms, cs_error *err);

/* Reads buffered DATA. 0 with *n > 0: data; 0 with *n == 0: end of stream
 * (peer's FIN, a reset, or the connection is gone); 1: timeout (timeout_ms < 0
 * waits forever); -1: error. */
int spdy_stream_read(spdy_stream *s, void *buf, size_t cap, size_t *n, int timeout_ms, cs_error *err);

/* Sends data as DATA frames of at most SPDY_MAX_DATA_FRAME bytes. Blocks until
 * the kernel took all of it; never waits on SPDY flow-control windows (see
 * spdy.c for why). Fails (CS_ERR_CONFLICT) on a peer-opened stream not yet
 * replied to or after our FIN, (CS_ERR_ABORTED) after a reset, and
 * (CS_ERR_UNAVAILABLE) once the connection is broken or shut down. A peer's
 * clean EOF alone does not stop writes: it may have only half-closed. */
int spdy_stream_write(spdy_stream *s, const void *data, size_t len, cs_error *err);

/* Half-closes our side: an empty DATA frame with FIN. */
int spdy_stream_close(spdy_stream *s, cs_error *err);

/* RST_STREAM with status; both halves are done, buffered data is dropped. */
int spdy_stream_reset(spdy_stream *s, uint32_t status, cs_error *err);

/* The caller is done with s: the conn forgets it (later frames for its id are
 * ignored) and frees it, so long connections (port forwarding opens streams
 * per TCP connection) stay under SPDY_MAX_STREAMS. Does not send anything:
 * close or reset first. s must not be used afterwards. Optional: streams not
 * released are freed by spdy_conn_free. */
void spdy_stream_release(spdy_stream *s);

#endif
