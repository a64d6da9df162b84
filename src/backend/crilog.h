/* The CRI container log file, written the same way whatever engine produced
 * the bytes (as conmon's ctr_logging does for CRI-O):
 *     <RFC 3339 nano timestamp> <stdout|stderr> <P|F> <text>\n
 * F ends a line; P is a piece of a line cut by the bounded line buffer, or a
 * stream's last bytes without a newline. One writer per container, fed by
 * whoever has the bytes (Docker's log stream, containerd's FIFOs): it knows
 * nothing of engines and runs no thread. A write error (a full disk) is logged
 * once and never fatal: the container keeps running, lines are dropped.
 *
 * Threads: every call may come from any thread; a writer's calls are
 * serialised by its own mutex (the feeder writes while ReopenContainerLog
 * swaps the file). */
#ifndef CS_CRILOG_H
#define CS_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* containerd's max line size: longer lines go out in P pieces of this size. */
#define CS_CRILOG_LINE_MAX 16384

typedef enum cs_crilog_stream {
    CS_CRILOG_STDOUT = 0,
    CS_CRILOG_STDERR = 1,
} cs_crilog_stream;

typedef struct cs_crilog cs_crilog;

/* Creates the file's directory and opens it for appending (created 0640).
 * The newest timestamp per stream among the complete lines at the end of an
 * existing file is remembered for cs_crilog_seen, so a feeder that replays
 * after a restart writes nothing twice. what names the container in
 * messages (copied). *out is freed with cs_crilog_close. */
int cs_crilog_open(const char *path, const char *what, cs_crilog **out, cs_error *err);
/* Writes out what cs_crilog_feed still buffers (as P), closes, frees. NULL is
 * fine. */
void cs_crilog_close(cs_crilog *w);
/* Opens the path again (after the rotator renamed the file); later lines go
 * to the new file. On failure the old file stays in use. */
int cs_crilog_reopen(cs_crilog *w, cs_error *err);
/* Borrowed; valid until close. */
const char *cs_crilog_path(const cs_crilog *w);

/* True when a line of this stream with this timestamp is already in the
 * file: older than the stream's newest line, or equal to it unless that line
 * was a P piece (the pieces of a cut line share a timestamp). For feeders
 * that replay after a restart; a live feeder need not ask. */
bool cs_crilog_seen(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns);
/* The stream's newest timestamp written or found at open (0: none). */
int64_t cs_crilog_last(cs_crilog *w, cs_crilog_stream s);

/* One line's text (without its newline), as an engine that frames lines
 * itself delivers it: F unless partial. Text longer than CS_CRILOG_LINE_MAX
 * goes out in P pieces, the last one taking the line's tag; an embedded '\n'
 * ends a line (F). Bytes are written verbatim otherwise (NUL, '\r'). An
 * empty partial writes nothing. */
void cs_crilog_write(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns, const char *text, size_t len, bool partial);

/* Raw bytes of a stream (a FIFO read): complete lines are written at once
 * (F), the rest is kept until its newline comes; a line reaching
 * CS_CRILOG_LINE_MAX goes out as a P piece. ts_ns stamps the lines this chunk
 * completes or cuts. */
void cs_crilog_feed(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns, const char *data, size_t len);
/* The stream ended: bytes still kept go out as a P line. */
void cs_crilog_flush(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns);

#endif
