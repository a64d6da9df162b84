/* The one interface between the CRI handlers and a container engine.
 *
 * A backend is a vtable of engine operations in backend-neutral types; errors
 * come back as cs_error with a backend-neutral code (not found, conflict,
 * invalid input, permission denied, unavailable = engine unreachable, internal);
 * err may be NULL where the caller only needs success or failure.
 * Each engine lives in its own directory (src/docker/, src/containerd/) and
 * exposes one constructor. An op left NULL answers UNIMPLEMENTED.
 *
 * Memory: results are allocated in the arena the caller passes (the RPC's), so
 * nothing a backend returns is freed by hand. Every op takes the request's
 * cs_ctx so engine calls honour the client's deadline and cancellation. */
#ifndef CS_BACKEND_H
#define CS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/cgroups.h"
#include "backend/events.h"
#include "backend/netdev.h"
#include "util/arena.h"
#include "util/ctx.h"
#include "util/error.h"

typedef struct cs_backend cs_backend;

/* ---- system ---- */

typedef struct cs_engine_version {
    const char *engine;      /* "docker" */
    const char *version;     /* the engine's own version, "20.10.24+dfsg1" */
    const char *api_version; /* the engine API version in use, "1.41" */
} cs_engine_version;

typedef enum cs_cgroup_driver {
    CS_CGROUP_CGROUPFS = 0,
    CS_CGROUP_SYSTEMD,
} cs_cgroup_driver;

typedef struct cs_engine_info {
    cs_engine_version version;
    cs_cgroup_driver cgroup_driver;
    int cgroup_version;          /* 1 or 2; 0 unknown */
    const char *storage_driver;  /* "overlay2" */
    const char *root_dir;        /* the engine's data root */
    const char *endpoint;        /* where crishim reaches it */
    const char *snapshotter_root; /* containerd: the snapshotter's own directory; else NULL */
    const char *detail_json;     /* engine-specific detail for verbose Status (a JSON object); may be NULL */
} cs_engine_info;

/* Readiness as CRI's Status reports it. A down engine is not an error here:
 * runtime_ready is false and the reason/message say why. */
typedef struct cs_engine_status {
    bool runtime_ready;
    const char *runtime_reason, *runtime_message;
    bool network_ready;
    const char *network_reason, *network_message;
} cs_engine_status;

/* ---- images ---- */

typedef struct cs_image {
    const char *id;            /* "sha256:…" */
    const char **repo_tags;    /* fully qualified: "docker.io/library/busybox:latest" */
    size_t n_repo_tags;
    const char **repo_digests; /* "docker.io/library/busybox@sha256:…" */
    size_t n_repo_digests;
    uint64_t size;
    /* From the image config's User: uid when numeric, else username. */
    bool has_uid;
    int64_t uid;
    const char *username;
    bool pinned;
    const char *info_json; /* engine detail for verbose status; may be NULL */
} cs_image;

typedef struct cs_auth {
    const char *username, *password;
    const char *auth; /* base64 "user:pass" */
    const char *server_address;
    const char *identity_token, *registry_token;
} cs_auth;

typedef struct cs_fs_usage {
    int64_t timestamp_ns;
    const char *mountpoint;
    uint64_t used_bytes;
    uint64_t inodes_used;
    bool has_inodes;
} cs_fs_usage;

/* ---- pods and containers ---- */

typedef struct cs_kv {
    const char *key, *value;
} cs_kv;

typedef struct cs_kvs {
    cs_kv *items;
    size_t n;
} cs_kvs;

typedef struct cs_strs {
    const char **items;
    size_t n;
} cs_strs;

/* The numbering of CRI's NamespaceMode. */
typedef enum cs_ns_mode {
    CS_NS_POD = 0,
    CS_NS_CONTAINER = 1,
    CS_NS_NODE = 2,
    CS_NS_TARGET = 3,
} cs_ns_mode;

typedef struct cs_port {
    int protocol; /* 0 TCP, 1 UDP, 2 SCTP (CRI's Protocol) */
    int32_t container_port, host_port;
    const char *host_ip;
} cs_port;

/* CRI's SecurityProfile.ProfileType numbering. */
typedef enum cs_profile_type {
    CS_PROFILE_RUNTIME_DEFAULT = 0,
    CS_PROFILE_UNCONFINED = 1,
    CS_PROFILE_LOCALHOST = 2,
} cs_profile_type;

/* A seccomp or AppArmor choice (backend/security.h decides it). */
typedef struct cs_profile {
    cs_profile_type type;
    /* Localhost: seccomp's profile file and its JSON content; AppArmor's
     * profile name (in ref). */
    const char *ref;
    const char *content;
} cs_profile;

/* What the client asked for; backend/security.h makes it a policy. */
typedef struct cs_security {
    bool privileged;
    bool has_user, has_group;
    int64_t user, group;
    const char *username;
    int64_t *supplemental_groups;
    size_t n_supplemental_groups;
    bool readonly_rootfs, no_new_privs;
    cs_strs cap_add, cap_drop; /* "CAP_NET_ADMIN" or "NET_ADMIN"; "ALL" */
    cs_profile seccomp, apparmor; /* zero: RuntimeDefault */
    bool has_masked_paths, has_readonly_paths;
    cs_strs masked_paths, readonly_paths;
} cs_security;

typedef struct cs_sandbox_config {
    const char *name, *ns, *uid;
    uint32_t attempt;
    const char *hostname;
    const char *log_directory;
    cs_strs dns_servers, dns_searches, dns_options;
    cs_port *ports;
    size_t n_ports;
    cs_kvs labels, annotations, sysctls;
    const char *cgroup_parent;
    cs_ns_mode net, pid, ipc;
    cs_security security;
    const char *runtime_handler;
} cs_sandbox_config;

typedef enum cs_sandbox_state {
    CS_SANDBOX_READY = 0,
    CS_SANDBOX_NOTREADY = 1,
} cs_sandbox_state;

typedef struct cs_sandbox {
    const char *id;
    const char *name, *ns, *uid;
    uint32_t attempt;
    cs_sandbox_state state;
    int64_t created_ns;
    const char *ip;
    const char **additional_ips; /* the pod's other addresses (dual stack) */
    size_t n_additional_ips;
    cs_ns_mode net, pid, ipc;
    cs_kvs labels, annotations;
    const char *runtime_handler;
    const char *log_directory;
    const char *info_json; /* verbose status only */
} cs_sandbox;

typedef struct cs_sandbox_filter {
    const char *id; /* full id or a unique prefix */
    bool has_state;
    cs_sandbox_state state;
    cs_kvs labels; /* all must match */
} cs_sandbox_filter;

typedef struct cs_mount {
    const char *container_path, *host_path;
    bool readonly, selinux_relabel;
    int propagation; /* CRI's MountPropagation: 0 private, 1 host-to-container, 2 bidirectional */
} cs_mount;

typedef struct cs_device {
    const char *container_path, *host_path, *permissions;
} cs_device;

typedef struct cs_resources {
    int64_t cpu_period, cpu_quota, cpu_shares, memory_limit, oom_score_adj;
    bool has_oom_score_adj;
    const char *cpuset_cpus, *cpuset_mems;
    cs_kvs unified;
} cs_resources;

typedef struct cs_container_config {
    const char *sandbox_id;
    const char *name;
    uint32_t attempt;
    const char *image;     /* as the client named it */
    cs_strs command, args; /* entrypoint and cmd */
    const char *working_dir;
    cs_kvs envs;
    cs_mount *mounts;
    size_t n_mounts;
    cs_device *devices;
    size_t n_devices;
    cs_kvs labels, annotations;
    const char *log_path; /* relative to the sandbox's log directory */
    bool stdin_, stdin_once, tty;
    bool has_resources;
    cs_resources resources;
    cs_security security;
    cs_ns_mode pid; /* from the sandbox config's options */
} cs_container_config;

/* CRI's ContainerState numbering. */
typedef enum cs_container_state {
    CS_CONTAINER_CREATED = 0,
    CS_CONTAINER_RUNNING = 1,
    CS_CONTAINER_EXITED = 2,
    CS_CONTAINER_UNKNOWN = 3,
} cs_container_state;

typedef struct cs_container {
    const char *id, *sandbox_id;
    const char *name;
    uint32_t attempt;
    const char *image;     /* as the client named it */
    const char *image_id;  /* "sha256:…" */
    const char *image_ref; /* a repo digest when known, else the id */
    cs_container_state state;
    int64_t created_ns, started_ns, finished_ns;
    int32_t exit_code;
    const char *reason, *message;
    cs_mount *mounts;
    size_t n_mounts;
    const char *log_path; /* absolute */
    cs_kvs labels, annotations;
    bool has_resources;
    cs_resources resources;
    int pid; /* host pid while running */
    const char *info_json;
} cs_container;

typedef struct cs_container_filter {
    const char *id, *sandbox_id; /* ids or unique prefixes */
    bool has_state;
    cs_container_state state;
    cs_kvs labels;
} cs_container_filter;

/* ExecSync keeps this much of each stream; the rest is dropped (the reply
 * must fit one gRPC message). */
#define CS_EXEC_OUTPUT_MAX (7u * 1024 * 1024)

typedef struct cs_exec_result {
    int32_t exit_code;
    char *out, *err; /* in the caller's arena */
    size_t out_len, err_len;
} cs_exec_result;

/* Usage of one container: its identity and what its cgroups say. */
typedef struct cs_container_stats {
    const cs_container *container; /* id, sandbox, name, attempt, labels */
    bool running;
    cs_cgroup_stats cg;
    bool has_nano_cores; /* the CPU rate since the previous sample */
    uint64_t nano_cores;
    /* The writable layer: bytes and inodes in the container's own layer
     * (overlay2's upper dir), refreshed lazily; mountpoint names the
     * filesystem as ImageFsInfo's container_filesystems does. */
    bool has_writable;
    cs_fs_usage writable;
    /* Only for the CRI metrics (sandbox_metrics_list). */
    bool has_detail;
    cs_cgroup_detail detail;
    int64_t started_ns;
} cs_container_stats;

/* A pod: the sum of its containers' usage, its network, and each container. */
typedef struct cs_sandbox_stats {
    const cs_sandbox *sandbox;
    cs_cgroup_stats cg;
    bool has_nano_cores;
    uint64_t nano_cores;
    bool has_net;
    int64_t net_timestamp_ns;
    cs_net_iface net;
    /* Only for the CRI metrics: every interface but lo. */
    cs_net_iface *ifaces;
    size_t n_ifaces;
    cs_container_stats **containers;
    size_t n_containers;
} cs_sandbox_stats;

/* An interactive process's stdio (exec or attach): a byte stream each way,
 * resizable when it has a TTY. Read and write may run on two threads. */
typedef struct cs_stdio cs_stdio;
typedef struct cs_stdio_ops {
    /* Next output chunk; *stream 1 stdout, 2 stderr. Returns 0 (len 0: the
     * output ended), 1 when timeout_ms passed with nothing, -1 on error. */
    int (*read)(cs_stdio *s, char *buf, size_t cap, int *stream, size_t *len, int timeout_ms, cs_error *err);
    int (*write)(cs_stdio *s, const void *data, size_t len, cs_error *err);
    int (*close_stdin)(cs_stdio *s, cs_error *err);
    int (*resize)(cs_stdio *s, const cs_ctx *ctx, uint32_t width, uint32_t height, cs_error *err);
    /* The client is gone: unblock every read and write, and for an exec end
     * its process, so nothing is left running for nobody. Safe while
     * another thread writes; close still follows. */
    void (*abort)(cs_stdio *s);
    /* After the output ended: the process's exit code. */
    int (*exit_code)(cs_stdio *s, const cs_ctx *ctx, int32_t *code, cs_error *err);
    void (*close)(cs_stdio *s);
} cs_stdio_ops;
struct cs_stdio {
    const cs_stdio_ops *ops;
};

typedef struct cs_stdio_opts {
    bool tty, stdin_, stdout_, stderr_;
    uint32_t width, height; /* 0: leave as is */
} cs_stdio_opts;

typedef struct cs_backend_ops {
    const char *name; /* "docker", "containerd" */
    void (*destroy)(cs_backend *b);

    /* system */
    int (*version)(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_version *out, cs_error *err);
    int (*info)(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_info *out, cs_error *err);
    void (*status)(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_status *out);

    /* images; `ref` is whatever the client sent: id, name, name:tag, name@digest */
    int (*image_list)(cs_backend *b, const cs_ctx *ctx, const char *filter_ref, cs_arena *a, cs_image ***out,
                      size_t *n, cs_error *err);
    /* *out NULL (and 0 returned) when the image is absent. */
    int (*image_status)(cs_backend *b, const cs_ctx *ctx, const char *ref, bool verbose, cs_arena *a, cs_image **out,
                        cs_error *err);
    int (*image_pull)(cs_backend *b, const cs_ctx *ctx, const char *ref, const cs_auth *auth, cs_arena *a,
                      const char **image_id, cs_error *err);
    /* Absent image: success. */
    int (*image_remove)(cs_backend *b, const cs_ctx *ctx, const char *ref, cs_error *err);
    int (*image_fs_info)(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_fs_usage *image_fs,
                         cs_fs_usage *container_fs, bool *has_container_fs, cs_error *err);

    /* pod sandboxes; stop and remove of an absent sandbox succeed */
    int (*sandbox_run)(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_config *cfg, cs_arena *a,
                       const char **id, cs_error *err);
    int (*sandbox_stop)(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
    int (*sandbox_remove)(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
    /* NOT_FOUND for an unknown id. */
    int (*sandbox_status)(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                          cs_sandbox **out, cs_error *err);
    /* The network namespace of a running sandbox, as a path to open
     * (port-forward setns()s into it). FAILED_PRECONDITION if not running. */
    int (*sandbox_netns)(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, const char **path,
                         cs_error *err);
    int (*sandbox_list)(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                        cs_sandbox ***out, size_t *n, cs_error *err);

    /* containers; stop and remove of an absent container succeed */
    int (*container_create)(cs_backend *b, const cs_ctx *ctx, const cs_container_config *cfg, cs_arena *a,
                            const char **id, cs_error *err);
    int (*container_start)(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
    int (*container_stop)(cs_backend *b, const cs_ctx *ctx, const char *id, int64_t timeout_s, cs_error *err);
    int (*container_remove)(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
    int (*container_status)(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                            cs_container **out, cs_error *err);
    int (*container_list)(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                          cs_container ***out, size_t *n, cs_error *err);
    int (*container_update)(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_resources *r, cs_error *err);
    int (*container_reopen_log)(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
    /* timeout_s 0: none. The command is killed when the time is up. */
    int (*container_exec_sync)(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, int64_t timeout_s,
                               cs_arena *a, cs_exec_result *out, cs_error *err);

    /* interactive streams */
    int (*exec_open)(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, const cs_stdio_opts *o,
                     cs_stdio **out, cs_error *err);
    int (*attach_open)(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_stdio_opts *o, cs_stdio **out,
                       cs_error *err);

    /* telemetry: read from cgroupfs, not from engine stats calls */
    int (*container_stats)(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_container_stats **out,
                           cs_error *err);
    int (*container_stats_list)(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                                cs_container_stats ***out, size_t *n, cs_error *err);

    int (*sandbox_stats)(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_sandbox_stats **out,
                         cs_error *err);
    int (*sandbox_stats_list)(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                              cs_sandbox_stats ***out, size_t *n, cs_error *err);

    /* events: the hub this backend publishes container events to */
    cs_event_hub *(*events)(cs_backend *b);

    /* The CRI metrics (ListPodSandboxMetrics): every ready pod's stats with
     * the cgroup detail, every interface and the writable layers filled. */
    int (*sandbox_metrics_list)(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_sandbox_stats ***out, size_t *n,
                                cs_error *err);
} cs_backend_ops;

struct cs_backend {
    const cs_backend_ops *ops;
};

static inline const char *cs_backend_name(const cs_backend *b)
{
    return b->ops->name;
}

static inline void cs_backend_free(cs_backend *b)
{
    if (b && b->ops->destroy)
        b->ops->destroy(b);
}

/* ---- calling an op ----
 * Every caller goes through these, never through b->ops directly: an op a
 * backend leaves NULL answers UNIMPLEMENTED ("<op> is not supported by the
 * <name> backend yet") instead of crashing the daemon. */

/* Sets err to that UNIMPLEMENTED and returns -1. */
int cs_backend_unimplemented(const cs_backend *b, const char *op, cs_error *err);

/* Without the op: not ready, saying why. */
void cs_backend_status(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_status *out);

/* Without the op: NULL (no events). */
static inline cs_event_hub *cs_backend_events(cs_backend *b)
{
    return b->ops->events ? b->ops->events(b) : NULL;
}

static inline int cs_backend_version(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_version *out,
                                     cs_error *err)
{
    return b->ops->version ? b->ops->version(b, ctx, a, out, err) : cs_backend_unimplemented(b, "version", err);
}

static inline int cs_backend_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_info *out, cs_error *err)
{
    return b->ops->info ? b->ops->info(b, ctx, a, out, err) : cs_backend_unimplemented(b, "info", err);
}

static inline int cs_backend_image_list(cs_backend *b, const cs_ctx *ctx, const char *filter_ref, cs_arena *a,
                                        cs_image ***out, size_t *n, cs_error *err)
{
    return b->ops->image_list ? b->ops->image_list(b, ctx, filter_ref, a, out, n, err)
                              : cs_backend_unimplemented(b, "image_list", err);
}

static inline int cs_backend_image_status(cs_backend *b, const cs_ctx *ctx, const char *ref, bool verbose, cs_arena *a,
                                          cs_image **out, cs_error *err)
{
    return b->ops->image_status ? b->ops->image_status(b, ctx, ref, verbose, a, out, err)
                                : cs_backend_unimplemented(b, "image_status", err);
}

static inline int cs_backend_image_pull(cs_backend *b, const cs_ctx *ctx, const char *ref, const cs_auth *auth,
                                        cs_arena *a, const char **image_id, cs_error *err)
{
    return b->ops->image_pull ? b->ops->image_pull(b, ctx, ref, auth, a, image_id, err)
                              : cs_backend_unimplemented(b, "image_pull", err);
}

static inline int cs_backend_image_remove(cs_backend *b, const cs_ctx *ctx, const char *ref, cs_error *err)
{
    return b->ops->image_remove ? b->ops->image_remove(b, ctx, ref, err)
                                : cs_backend_unimplemented(b, "image_remove", err);
}

static inline int cs_backend_image_fs_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_fs_usage *image_fs,
                                           cs_fs_usage *container_fs, bool *has_container_fs, cs_error *err)
{
    return b->ops->image_fs_info ? b->ops->image_fs_info(b, ctx, a, image_fs, container_fs, has_container_fs, err)
                                 : cs_backend_unimplemented(b, "image_fs_info", err);
}

static inline int cs_backend_sandbox_run(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_config *cfg, cs_arena *a,
                                         const char **id, cs_error *err)
{
    return b->ops->sandbox_run ? b->ops->sandbox_run(b, ctx, cfg, a, id, err)
                               : cs_backend_unimplemented(b, "sandbox_run", err);
}

static inline int cs_backend_sandbox_stop(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return b->ops->sandbox_stop ? b->ops->sandbox_stop(b, ctx, id, err)
                                : cs_backend_unimplemented(b, "sandbox_stop", err);
}

static inline int cs_backend_sandbox_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return b->ops->sandbox_remove ? b->ops->sandbox_remove(b, ctx, id, err)
                                  : cs_backend_unimplemented(b, "sandbox_remove", err);
}

static inline int cs_backend_sandbox_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                                            cs_sandbox **out, cs_error *err)
{
    return b->ops->sandbox_status ? b->ops->sandbox_status(b, ctx, id, verbose, a, out, err)
                                  : cs_backend_unimplemented(b, "sandbox_status", err);
}

static inline int cs_backend_sandbox_netns(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a,
                                           const char **path, cs_error *err)
{
    return b->ops->sandbox_netns ? b->ops->sandbox_netns(b, ctx, id, a, path, err)
                                 : cs_backend_unimplemented(b, "sandbox_netns", err);
}

static inline int cs_backend_sandbox_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                                          cs_sandbox ***out, size_t *n, cs_error *err)
{
    return b->ops->sandbox_list ? b->ops->sandbox_list(b, ctx, f, a, out, n, err)
                                : cs_backend_unimplemented(b, "sandbox_list", err);
}

static inline int cs_backend_container_create(cs_backend *b, const cs_ctx *ctx, const cs_container_config *cfg,
                                              cs_arena *a, const char **id, cs_error *err)
{
    return b->ops->container_create ? b->ops->container_create(b, ctx, cfg, a, id, err)
                                    : cs_backend_unimplemented(b, "container_create", err);
}

static inline int cs_backend_container_start(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return b->ops->container_start ? b->ops->container_start(b, ctx, id, err)
                                   : cs_backend_unimplemented(b, "container_start", err);
}

static inline int cs_backend_container_stop(cs_backend *b, const cs_ctx *ctx, const char *id, int64_t timeout_s,
                                            cs_error *err)
{
    return b->ops->container_stop ? b->ops->container_stop(b, ctx, id, timeout_s, err)
                                  : cs_backend_unimplemented(b, "container_stop", err);
}

static inline int cs_backend_container_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return b->ops->container_remove ? b->ops->container_remove(b, ctx, id, err)
                                    : cs_backend_unimplemented(b, "container_remove", err);
}

static inline int cs_backend_container_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose,
                                              cs_arena *a, cs_container **out, cs_error *err)
{
    return b->ops->container_status ? b->ops->container_status(b, ctx, id, verbose, a, out, err)
                                    : cs_backend_unimplemented(b, "container_status", err);
}

static inline int cs_backend_container_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                                            cs_container ***out, size_t *n, cs_error *err)
{
    return b->ops->container_list ? b->ops->container_list(b, ctx, f, a, out, n, err)
                                  : cs_backend_unimplemented(b, "container_list", err);
}

static inline int cs_backend_container_update(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_resources *r,
                                              cs_error *err)
{
    return b->ops->container_update ? b->ops->container_update(b, ctx, id, r, err)
                                    : cs_backend_unimplemented(b, "container_update", err);
}

static inline int cs_backend_container_reopen_log(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return b->ops->container_reopen_log ? b->ops->container_reopen_log(b, ctx, id, err)
                                        : cs_backend_unimplemented(b, "container_reopen_log", err);
}

static inline int cs_backend_container_exec_sync(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd,
                                                 int64_t timeout_s, cs_arena *a, cs_exec_result *out, cs_error *err)
{
    return b->ops->container_exec_sync ? b->ops->container_exec_sync(b, ctx, id, cmd, timeout_s, a, out, err)
                                       : cs_backend_unimplemented(b, "container_exec_sync", err);
}

static inline int cs_backend_exec_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd,
                                       const cs_stdio_opts *o, cs_stdio **out, cs_error *err)
{
    return b->ops->exec_open ? b->ops->exec_open(b, ctx, id, cmd, o, out, err)
                             : cs_backend_unimplemented(b, "exec_open", err);
}

static inline int cs_backend_attach_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_stdio_opts *o,
                                         cs_stdio **out, cs_error *err)
{
    return b->ops->attach_open ? b->ops->attach_open(b, ctx, id, o, out, err)
                               : cs_backend_unimplemented(b, "attach_open", err);
}

static inline int cs_backend_container_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a,
                                             cs_container_stats **out, cs_error *err)
{
    return b->ops->container_stats ? b->ops->container_stats(b, ctx, id, a, out, err)
                                   : cs_backend_unimplemented(b, "container_stats", err);
}

static inline int cs_backend_container_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f,
                                                  cs_arena *a, cs_container_stats ***out, size_t *n, cs_error *err)
{
    return b->ops->container_stats_list ? b->ops->container_stats_list(b, ctx, f, a, out, n, err)
                                        : cs_backend_unimplemented(b, "container_stats_list", err);
}

static inline int cs_backend_sandbox_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a,
                                           cs_sandbox_stats **out, cs_error *err)
{
    return b->ops->sandbox_stats ? b->ops->sandbox_stats(b, ctx, id, a, out, err)
                                 : cs_backend_unimplemented(b, "sandbox_stats", err);
}

static inline int cs_backend_sandbox_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f,
                                                cs_arena *a, cs_sandbox_stats ***out, size_t *n, cs_error *err)
{
    return b->ops->sandbox_stats_list ? b->ops->sandbox_stats_list(b, ctx, f, a, out, n, err)
                                      : cs_backend_unimplemented(b, "sandbox_stats_list", err);
}

static inline int cs_backend_sandbox_metrics_list(cs_backend *b, const cs_ctx *ctx, cs_arena *a,
                                                  cs_sandbox_stats ***out, size_t *n, cs_error *err)
{
    return b->ops->sandbox_metrics_list ? b->ops->sandbox_metrics_list(b, ctx, a, out, n, err)
                                        : cs_backend_unimplemented(b, "sandbox_metrics_list", err);
}

#endif
