/* Containers' stdout and stderr on containerd: the FIFOs the shim writes
 * into, read by ONE thread (epoll over every container's streams) and fed to
 * each container's CRI log writer (backend/crilog.h). A container is in the
 * drain table (backend/logdrain.h) from before its task exists until both of
 * its streams ended, so an exit is reported only once its log is complete.
 *
 * The FIFO dance (CONTAINERD.md §3): crishim opens the read ends
 * O_RDONLY|O_NONBLOCK before Tasks.Create, the shim then opens its writers
 * (and a reader of its own, so writes never fail while crishim is away); the
 * writers closing (the process exited and its output was copied) is EOF.
 * After a crishim restart the FIFOs of containers whose tasks exist are
 * opened again: what the shim kept in the pipe is read, nothing was read
 * twice. Knows nothing of containerd's API: the caller says which FIFOs.
 *
 * Attach: besides its log, a container's raw output goes to every
 * subscriber (ctrd_io_subscribe) through a bounded queue of its own; a
 * subscriber that falls behind loses chunks (counted), the log never waits.
 * A container made with stdin has a stdin FIFO too, on which crishim holds a
 * writer (O_RDWR: never blocks, never fails for want of a reader) as long as
 * the container's output runs, so attach sessions come and go while the
 * process's stdin stays open. */
#ifndef CS_CTRD_STDIO_H
#define CS_CTRD_STDIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/logdrain.h"
#include "util/arena.h"
#include "util/ctx.h"
#include "util/error.h"

typedef struct ctrd_io ctrd_io;

/* The FIFOs' names inside a container's FIFO directory. */
#define CTRD_IO_STDOUT "stdout"
#define CTRD_IO_STDERR "stderr"
#define CTRD_IO_STDIN "stdin"
/* What one subscriber may have queued before chunks are dropped. */
#define CTRD_IO_SUB_MAX (1u << 20)

/* Runs on the loop's thread before anything else, and again every few
 * seconds until it returns 0: the pass that adds (ctrd_io_add with resume)
 * every container that may still write, after a restart. Then the drain
 * table is ready. ctx ends at shutdown. */
typedef int (*ctrd_io_resume_fn)(ctrd_io *io, const cs_ctx *ctx, void *arg);

/* Starts the loop's thread. resume may be NULL (ready at once). */
ctrd_io *ctrd_io_new(ctrd_io_resume_fn resume, void *arg);
/* Stops the thread; every container still in the table is closed (what its
 * writer still buffers goes out as P). NULL is fine. */
void ctrd_io_free(ctrd_io *io);
/* The drain table (borrowed, valid until ctrd_io_free). */
cs_logdrain *ctrd_io_drain(ctrd_io *io);

/* Makes dir (0700, with parents) and in it the stdout FIFO and, unless tty,
 * the stderr FIFO (0700). Existing ones are fine. */
int ctrd_io_mkfifos(const char *dir, bool tty, cs_error *err);
/* Makes dir's stdin FIFO (0700); an existing one is fine. */
int ctrd_io_mkfifo_stdin(const char *dir, cs_error *err);
/* Removes dir and everything in it (FIFOs, an exec's FIFOs); absent is
 * fine. */
int ctrd_io_rmfifos(const char *dir, cs_error *err);
/* "<dir>/stdout", "<dir>/stderr" in arena a. */
const char *ctrd_io_path(const char *dir, const char *name, cs_arena *a);

/* Opens the log file (log_path, created if absent; NULL or "": the output
 * is read and only handed to subscribers) and the read ends of dir's FIFOs
 * (stderr unless tty), plus a writer on dir's stdin FIFO when there is one,
 * and adds id to the drain table and the loop. resume: the task already
 * exists (a restart); a stream whose writer is gone ends at once. Returns 1
 * (and opens nothing) when id is in the table already. */
int ctrd_io_add(ctrd_io *io, const char *id, const char *dir, bool tty, const char *log_path, bool resume,
                cs_error *err);
/* The task never came (Tasks.Create failed): id leaves the table and its
 * FIFOs are closed, by the loop, soon. Unknown ids are fine. */
void ctrd_io_cancel(ctrd_io *io, const char *id);
/* ReopenContainerLog: FAILED_PRECONDITION when id's log is not being
 * written. */
int ctrd_io_reopen(ctrd_io *io, const char *id, cs_error *err);
/* Whether id is in the drain table (its log is still being written). */
bool ctrd_io_active(ctrd_io *io, const char *id);
/* Before reporting these containers exited: waits until their logs are
 * complete, at most a few seconds (and never past ctx's deadline). */
void ctrd_io_wait_drained(ctrd_io *io, const char *const *ids, size_t n, const cs_ctx *ctx);


/* ---- attach: output subscribers and the stdin writer ---- */

typedef struct ctrd_io_sub ctrd_io_sub;
typedef struct ctrd_io_stdin ctrd_io_stdin;

/* Which of a container's streams a subscriber wants (bits). */
#define CTRD_IO_WANT_STDOUT 1
#define CTRD_IO_WANT_STDERR 2

/* After a restart, until the resume pass has put every running container
 * back in the table (at most a few seconds, never past ctx's deadline):
 * before a lookup that must not miss one. */
void ctrd_io_wait_ready(ctrd_io *io, const cs_ctx *ctx);
/* Subscribes to id's output from now on (no history): the chunks of the
 * wanted streams, as read, up to max_bytes queued (0: CTRD_IO_SUB_MAX).
 * *in (when in is not NULL) takes a reference on the container's stdin
 * writer, NULL when it has none. 1 (nothing made) when id's output is not
 * being read: ended, or never piped. Free with ctrd_io_unsubscribe. */
int ctrd_io_subscribe(ctrd_io *io, const char *id, unsigned want, size_t max_bytes, ctrd_io_sub **out,
                      ctrd_io_stdin **in);
/* The next chunk: 0 with *len > 0 (*stream 1 stdout, 2 stderr), 0 with
 * *len 0 at the end (the container's streams ended, or ctrd_io_sub_end),
 * 1 when timeout_ms (-1: no limit) passed with nothing. A chunk larger than
 * cap comes in pieces. Safe beside ctrd_io_sub_end on another thread. */
int ctrd_io_sub_read(ctrd_io_sub *s, char *buf, size_t cap, int *stream, size_t *len, int timeout_ms);
/* Ends the subscriber's output now (a blocked read returns the end). */
void ctrd_io_sub_end(ctrd_io_sub *s);
/* Bytes dropped because the queue was full. */
uint64_t ctrd_io_sub_dropped(ctrd_io_sub *s);
/* Leaves id's output and frees s. NULL is fine. */
void ctrd_io_unsubscribe(ctrd_io *io, const char *id, ctrd_io_sub *s);

/* Writes all of data to fd, a non-blocking pipe (a process's stdin),
 * waiting while it is full: CANCELLED when abort_fd (an eventfd, -1: none)
 * becomes readable, UNAVAILABLE with `stopped` when *stop (NULL: none) is
 * set, looked at every 200 ms. crishim holds a reader of such pipes, so a
 * vanished process never shows as a write error: *stop says so. */
int ctrd_pipe_write_all(int fd, const void *data, size_t len, int abort_fd, const atomic_bool *stop,
                        const char *stopped, cs_error *err);
/* Writes all of data to the process's stdin, waiting while the pipe is
 * full; gives up when abort_fd (an eventfd, -1: none) becomes readable or
 * the writer is closed. UNAVAILABLE when stdin is closed. */
int ctrd_io_stdin_write(ctrd_io_stdin *in, const void *data, size_t len, int abort_fd, cs_error *err);
/* Closes crishim's writer for every session (stdin_once: the process is to
 * see EOF) and unlinks the FIFO, so a restarted crishim doesn't hold a
 * writer again. True when this call closed it. */
bool ctrd_io_stdin_close(ctrd_io_stdin *in);
bool ctrd_io_stdin_closed(ctrd_io_stdin *in);
void ctrd_io_stdin_unref(ctrd_io_stdin *in);

#endif
