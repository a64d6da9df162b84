/* The containerd engine backend: containerd's own gRPC API over its unix
 * socket, in crishim's own containerd namespace. */
#ifndef CS_CONTAINERD_H
#define CS_CONTAINERD_H

#include "backend/backend.h"
#include "util/error.h"

#define CTRD_DEFAULT_NAMESPACE "crishim"
#define CTRD_DEFAULT_SNAPSHOTTER "overlayfs"

typedef struct containerd_options {
    const char *address;      /* the socket: "/run/containerd/containerd.sock" when NULL */
    const char *ns;           /* the containerd namespace; "crishim" when NULL; never "k8s.io" */
    cs_cgroup_driver cgroup_driver; /* how crishim creates cgroups (RuntimeConfig reports it) */
    const char *pause_image;  /* the sandbox image */
    const char *pause_binary; /* built into pause_image when that is missing; may be NULL */
    const char *cni_conf_dir; /* NULL: /etc/cni/net.d */
    const char *cni_bin_dir;  /* NULL: /usr/lib/cni:/opt/cni/bin */
    const char *state_dir;    /* FIFOs and pod files; NULL: /run/crishim */
    long progress_timeout_ms;     /* registry downloads: fail after this long with no byte; 0: default */
    int max_concurrent_downloads; /* blob downloads at once; 0: default */
} containerd_options;

/* Does not contact the engine: a containerd that is down now is reached once
 * it is up. */
int containerd_backend_new(const containerd_options *opts, cs_backend **out, cs_error *err);

/* Whether containerd at address answers Version within timeout_ms (used by
 * --backend auto): 0 with its version in *out (strings in a), else -1 with
 * why not in err. */
int containerd_backend_probe(const char *address, int64_t timeout_ms, cs_arena *a, cs_engine_version *out,
                             cs_error *err);

#endif
