/* Containers on containerd (containers.c): the ops, and the pass that hands
 * the FIFO loop (stdio.c) every container whose task outlived a crishim
 * restart. */
#ifndef CS_CTRD_CONTAINERS_H
#define CS_CTRD_CONTAINERS_H

#include "containerd/internal.h"
#include "containerd/runtime.h"
#include "containerd/stdio.h"

/* A ctrd_io_resume_fn; arg is the backend. */
int ctrd_containers_resume(ctrd_io *io, const cs_ctx *ctx, void *arg);

/* The container record id names (a full id or a unique prefix), with its
 * spec; NOT_FOUND "container <id> not found" when none (exec.c). */
int ctrd_container_find(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_record *out,
                        cs_error *err);

/* A container's stdio as its record says: the FIFO directory (NULL: none,
 * a record of an older crishim without a log), and how it was created. */
typedef struct ctrd_container_stdio {
    const char *fifo;
    bool tty, stdin_, stdin_once;
} ctrd_container_stdio;
void ctrd_container_stdio_of(const ctrd_record *r, cs_arena *a, ctrd_container_stdio *out);

/* the ops */
int ctrd_container_create(cs_backend *b, const cs_ctx *ctx, const cs_container_config *cfg, cs_arena *a,
                          const char **id, cs_error *err);
int ctrd_container_start(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
int ctrd_container_stop(cs_backend *b, const cs_ctx *ctx, const char *id, int64_t timeout_s, cs_error *err);
int ctrd_container_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
int ctrd_container_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                          cs_container **out, cs_error *err);
int ctrd_container_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                        cs_container ***out, size_t *n, cs_error *err);
int ctrd_container_update(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_resources *r, cs_error *err);
int ctrd_container_reopen_log(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);

#endif
