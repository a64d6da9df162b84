/* What the containerd backend's files share: the backend struct and the ops
 * each file implements. Not for use outside src/containerd/. */
#ifndef CS_CTRD_INTERNAL_H
#define CS_CTRD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "containerd/client.h"
#include "containerd/containerd.h"

/* The runtime every task runs under (2.0 removed the others). */
#define CTRD_RUNTIME "io.containerd.runc.v2"

typedef struct ctrd_backend {
    cs_backend base;
    ctrd_client *client;
    cs_cgroup_driver cgroup_driver;
    char *snapshotter;
    char *pause_image;
    char *pause_binary;
    bool pause_is_default; /* pause_image is crishim's own: build it rather than pull it */
    struct reg_client *registry;
    /* The image records, cached while an /images/ event subscription
     * says when they change (imagecache.c). */
    pthread_rwlock_t cache_lock;
    struct Containerd__Services__Images__V1__ListImagesResponse *cached;
    uint64_t cached_gen;
    _Atomic uint64_t gen;
    atomic_bool events_ok, ev_stop_flag;
    pthread_t events_thread;
    bool events_started, stopping, cache_started;
    pthread_mutex_t ev_mu;
    pthread_cond_t ev_cond;
    struct ctrd_stream *ev_stream;
    pthread_mutex_t views_mu;
    struct ctrd_view **views; /* resolved image targets (images.c) */
    size_t n_views;
    /* containerd's version as Version last read it, and the generation
     * (gen) then (system.c) */
    pthread_mutex_t version_mu;
    char *version;
    uint64_t version_gen;
    /* Part 2: pods, containers, exec, events, stats. */
    char *state_dir;    /* <state-dir>/<containerd namespace>: FIFOs and pod files */
    char *cni_conf_dir; /* NULL: CTRD_CNI_CONF_DIR */
    char *cni_bin_dir;  /* NULL: CTRD_CNI_BIN_DIR */
    struct ctrd_cni *cni;              /* sandbox.c loads it */
    struct ctrd_pods *pods;            /* sandbox.c: CNI reloads, pods being stopped */
    struct cs_logdrain *logdrain;      /* stdio.c: whose logs are still being written */
    struct ctrd_io *io;                /* stdio.c: the FIFO loop */
    struct cs_event_hub *hub;          /* events.c: GetContainerEvents */
    struct ctrd_objects *objects;      /* events.c: what the feed knows per object */
    struct cs_stats *stats;            /* stats.c: the composition (CPU samples, layer walks) */
} ctrd_backend;

static inline ctrd_backend *ctrd_of(cs_backend *b)
{
    return (ctrd_backend *)b;
}

/* Exit hooks the event feed (events.c) and the relist at start call when a
 * task has exited: record the exit in the record's state, then delete the
 * task. A container's hook publishes nothing itself; events.c publishes the
 * CRI event after it returns. */
int ctrd_container_exited(ctrd_backend *d, const cs_ctx *ctx, const char *id, uint32_t exit_status,
                          int64_t exited_ns, cs_error *err);
int ctrd_sandbox_exited(ctrd_backend *d, const cs_ctx *ctx, const char *id, uint32_t exit_status,
                        int64_t exited_ns, cs_error *err);

/* exec.c */
int ctrd_exec_sync(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, int64_t timeout_s,
                   cs_arena *a, cs_exec_result *out, cs_error *err);
int ctrd_exec_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, const cs_stdio_opts *o,
                   cs_stdio **out, cs_error *err);

/* attach.c: a session on the container's FIFOs (stdio.c's subscribers and
 * stdin writer). */
int ctrd_attach_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_stdio_opts *o, cs_stdio **out,
                     cs_error *err);

/* stats.c: the composition over backend/stats.c, fed by the record, the
 * task and the snapshot. */
void ctrd_stats_new(ctrd_backend *d);
void ctrd_stats_free(ctrd_backend *d);
int ctrd_container_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_container_stats **out,
                         cs_error *err);
int ctrd_container_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                              cs_container_stats ***out, size_t *n, cs_error *err);
int ctrd_sandbox_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_sandbox_stats **out,
                       cs_error *err);
int ctrd_sandbox_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                            cs_sandbox_stats ***out, size_t *n, cs_error *err);
/* The directory a spec's linux.cgroupsPath names under each cgroup
 * hierarchy's root: cgroupfs paths as they are, systemd's slice:prefix:name
 * as runc expands it; NULL when it can't tell. */
char *ctrd_cgroup_dir(const char *cgroups_path, cs_arena *a);
int ctrd_sandbox_metrics_list(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_sandbox_stats ***out, size_t *n,
                              cs_error *err);

/* system.c */
int ctrd_version(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_version *out, cs_error *err);
int ctrd_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_info *out, cs_error *err);
void ctrd_status(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_status *out);
/* containerd's API version from its release version, as RELEASES.md
 * tables it: 1.x speaks API 1.x, 2.0 speaks 1.8, each later minor one more. */
const char *ctrd_api_version(const char *version, cs_arena *a);

#endif
