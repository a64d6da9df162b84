/* The containerd objects behind a pod or a container, as thin typed calls:
 * container records (labels, one crishim extension, the OCI spec),
 * snapshots (a container's writable layer) and tasks (the running process
 * and its execs). Shared by the sandbox, container, exec, event and stats
 * code; nothing here knows CRI. See runtime.c.
 *
 * All of crishim's state lives in these records: the io.crishim.* labels of
 * backend/state.h (identity, filters) and one extension, CTRD_EXT_STATE,
 * holding a JSON object that each kind of object defines (a sandbox's netns,
 * CNI result and files; a container's FIFO directory...). Nothing else is
 * kept: a restarted crishim lists these and carries on. */
#ifndef CS_CTRD_RUNTIME_H
#define CS_CTRD_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "containerd/internal.h"

/* The extension crishim's state travels in, and its Any type_url. */
#define CTRD_EXT_STATE "io.crishim.state"
#define CTRD_EXT_STATE_TYPE "io.crishim/state/v1"
/* What containerd's client names an OCI spec in an Any. */
#define CTRD_SPEC_TYPE "types.containerd.io/opencontainers/runtime-spec/1/Spec"
#define CTRD_PROCESS_TYPE "types.containerd.io/opencontainers/runtime-spec/1/Process"
#define CTRD_RESOURCES_TYPE "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"

/* ---- container records ---- */

typedef struct ctrd_record {
    const char *id;
    cs_kvs labels;
    const char *image;        /* the record's image name ("" for none) */
    const char *snapshot_key; /* "" when none */
    const char *state_json;   /* CTRD_EXT_STATE's JSON, NUL-terminated; NULL when absent */
    const char *spec_json;    /* the OCI spec, NUL-terminated; NULL when absent (lists leave it out) */
    int64_t created_ns;       /* containerd's created_at */
} ctrd_record;

typedef struct ctrd_record_new {
    const char *id;
    const cs_kvs *labels;
    const char *image;        /* may be NULL */
    const char *snapshot_key; /* NULL: no snapshot */
    const char *state_json;   /* NULL: no extension */
    const char *spec_json;    /* the OCI spec */
} ctrd_record_new;

/* A new record id: 64 random lowercase hex digits, like Docker's ids
 * (what kubelet sends back, cs_state_is_full_id), in arena a. */
int ctrd_record_new_id(cs_arena *a, const char **id, cs_error *err);
/* Containers.Create with runtime io.containerd.runc.v2 and the backend's
 * snapshotter. ALREADY_EXISTS when the id is taken. */
int ctrd_record_create(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const ctrd_record_new *r, cs_arena *a,
                       cs_error *err);
/* Containers.Get; NOT_FOUND when absent. */
int ctrd_record_get(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_record *out,
                    cs_error *err);
/* Containers.List of crishim's objects of one kind (CS_STATE_KIND_SANDBOX or
 * _CONTAINER; NULL: both), optionally only those whose label key == value
 * (key NULL: no such filter). spec_json is left NULL in the results. */
int ctrd_record_list(ctrd_backend *d, const cs_ctx *ctx, const char *kind, const char *key, const char *value,
                     cs_arena *a, ctrd_record **out, size_t *n, cs_error *err);
/* Replaces the record's CTRD_EXT_STATE (Containers.Update with the mask
 * extensions.io.crishim.state). */
int ctrd_record_set_state(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *state_json, cs_arena *a,
                          cs_error *err);
/* Containers.Delete; absent is success. */
int ctrd_record_delete(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_error *err);

/* ---- snapshots ---- */

/* One mount of a snapshot (what Tasks.Create takes as rootfs). */
typedef struct ctrd_mount {
    const char *type, *source;
    const char **options;
    size_t n_options;
} ctrd_mount;

/* Snapshots.Prepare{key, parent} with the labels containerd's client sets
 * (containerd.io/gc.root is not used: the record references the snapshot).
 * ALREADY_EXISTS when key is taken. */
int ctrd_snapshot_prepare(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const char *key,
                          const char *parent, cs_arena *a, ctrd_mount **mounts, size_t *n, cs_error *err);
/* Snapshots.Mounts of key; NOT_FOUND when absent. */
int ctrd_snapshot_mounts(ctrd_backend *d, const cs_ctx *ctx, const char *key, cs_arena *a, ctrd_mount **mounts,
                         size_t *n, cs_error *err);
/* Snapshots.Remove; absent is success. */
int ctrd_snapshot_remove(ctrd_backend *d, const cs_ctx *ctx, const char *key, cs_error *err);
/* The writable directory of an overlayfs snapshot (upperdir= of its mount;
 * NULL for a bind/other mount), in arena a. */
const char *ctrd_snapshot_upperdir(const ctrd_mount *m, size_t n, cs_arena *a);

/* ---- tasks ---- */

/* containerd.v1.types.Status numbers. */
typedef enum ctrd_task_status {
    CTRD_TASK_UNKNOWN = 0,
    CTRD_TASK_CREATED = 1,
    CTRD_TASK_RUNNING = 2,
    CTRD_TASK_STOPPED = 3,
    CTRD_TASK_PAUSED = 4,
    CTRD_TASK_PAUSING = 5,
} ctrd_task_status;

typedef struct ctrd_task {
    ctrd_task_status status;
    uint32_t pid;
    uint32_t exit_status;
    int64_t exited_ns; /* 0 while running */
} ctrd_task;

/* The process's stdio: paths of FIFOs (or "" / NULL for none). */
typedef struct ctrd_stdio_paths {
    const char *in, *out, *err;
    bool terminal;
} ctrd_stdio_paths;

/* Tasks.Create of a record's init process with the snapshot's mounts as
 * rootfs; *pid its pid. ALREADY_EXISTS when a task is there. */
int ctrd_task_create(ctrd_backend *d, const cs_ctx *ctx, const char *id, const ctrd_mount *rootfs, size_t n_rootfs,
                     const ctrd_stdio_paths *io, uint32_t *pid, cs_error *err);
/* Tasks.Start of the init process (exec_id NULL) or an exec. */
int ctrd_task_start(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, uint32_t *pid,
                    cs_error *err);
/* Tasks.Get (exec_id NULL: the init process); NOT_FOUND when there is no
 * task. */
int ctrd_task_get(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, ctrd_task *out,
                  cs_error *err);
/* Tasks.List of the namespace: every task's state by container id (one call
 * for ListContainers). ids[i] in arena a. */
int ctrd_task_list(ctrd_backend *d, const cs_ctx *ctx, cs_arena *a, const char ***ids, ctrd_task **tasks, size_t *n,
                   cs_error *err);
/* Tasks.Kill; a task or process that is gone (NOT_FOUND) is success, so is
 * one that has already exited. all: every process of the task. */
int ctrd_task_kill(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, int signal, bool all,
                   cs_error *err);
/* Tasks.Delete (the task, after its exit) or Tasks.DeleteProcess (an exec);
 * absent is success. out may be NULL; else the exit it reports. */
int ctrd_task_delete(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, ctrd_task *out,
                     cs_error *err);
/* Tasks.Wait: blocks until the process exits or ctx ends. */
int ctrd_task_wait(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, ctrd_task *out,
                   cs_error *err);
/* Tasks.Exec: process_json is an OCI Process (CTRD_PROCESS_TYPE); then
 * ctrd_task_start(id, exec_id). */
int ctrd_task_exec(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, const char *process_json,
                   const ctrd_stdio_paths *io, cs_error *err);
/* Tasks.CloseIO{stdin} and Tasks.ResizePty. */
int ctrd_task_close_stdin(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, cs_error *err);
int ctrd_task_resize(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, uint32_t width,
                     uint32_t height, cs_error *err);
/* Tasks.Update with an OCI LinuxResources JSON (CTRD_RESOURCES_TYPE). */
int ctrd_task_update(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *resources_json, cs_error *err);

#endif
