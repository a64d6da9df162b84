/* The one interface between the CRI handlers and a container engine.
 *
 * A backend is a vtable of engine operations in backend-neutral types; errors
 * come back as cs_error with a backend-neutral code (not found, conflict,
 * invalid input, permission denied, unavailable = engine unreachable, internal).
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

    /* Containers and sandboxes, events and telemetry join this table with the
     * issues that build them (lifecycle, streaming, stats); until then the CRI
     * handlers for them answer UNIMPLEMENTED. */
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
    if (b)
        b->ops->destroy(b);
}

#endif
