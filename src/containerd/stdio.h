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
 * twice. Knows nothing of containerd's API: the caller says which FIFOs. */
#ifndef CS_CTRD_STDIO_H
#define CS_CTRD_STDIO_H

#include <stdbool.h>
#include <stddef.h>

#include "backend/logdrain.h"
#include "util/arena.h"
#include "util/ctx.h"
#include "util/error.h"

typedef struct ctrd_io ctrd_io;

/* The FIFOs' names inside a container's FIFO directory. */
#define CTRD_IO_STDOUT "stdout"
#define CTRD_IO_STDERR "stderr"

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
/* Removes dir and everything in it (FIFOs, an exec's FIFOs); absent is
 * fine. */
int ctrd_io_rmfifos(const char *dir, cs_error *err);
/* "<dir>/stdout", "<dir>/stderr" in arena a. */
const char *ctrd_io_path(const char *dir, const char *name, cs_arena *a);

/* Opens the log file (log_path, created if absent) and the read ends of
 * dir's FIFOs (stderr unless tty), and adds id to the drain table and the
 * loop. resume: the task already exists (a restart); a stream whose writer
 * is gone ends at once. Returns 1 (and opens nothing) when id is in the
 * table already. */
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

#endif
