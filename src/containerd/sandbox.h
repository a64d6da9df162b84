/* Pod sandboxes on containerd (sandbox.c): the ops, the pod's network
 * configuration (CNI, reloaded as kubelet installs it), and what a container
 * needs of its sandbox to render its spec. */
#ifndef CS_CTRD_SANDBOX_H
#define CS_CTRD_SANDBOX_H

#include <stdbool.h>

#include "containerd/internal.h"
#include "containerd/spec.h"

/* A sandbox as its containers see it. */
typedef struct ctrd_sandbox_view {
    const char *id; /* the full id */
    /* The pause task runs; facts.pause_pid is its pid. A caller creating a
     * container refuses a sandbox that is not ready (CS_ERR_CONFLICT,
     * "sandbox <id> is not ready"). */
    bool ready;
    /* What was asked at RunPodSandbox, as far as a container spec uses it:
     * name, namespace, uid, attempt, hostname, log directory, labels,
     * annotations, cgroup parent, namespace modes, runtime handler, DNS and
     * ports. (Security context and sysctls belong to the pause process and
     * are not kept.) */
    cs_sandbox_config config;
    /* id, pause pid (0 when not ready), netns (NULL with host network),
     * hostname and the pod's files (resolv.conf, hosts, hostname, shm). */
    ctrd_spec_sandbox_facts facts;
} ctrd_sandbox_view;

/* The sandbox `id` names (a full id or a unique prefix); NOT_FOUND when
 * there is none. Everything in arena a. */
int ctrd_sandbox_facts(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_sandbox_view *out,
                       cs_error *err);

/* What sandbox.c keeps in the backend (the CNI config, read on first use
 * and again whenever its directory changes; which pods are being stopped):
 * made at construction, freed at destroy. */
void ctrd_pods_init(ctrd_backend *d);
void ctrd_pods_free(ctrd_backend *d);
/* NetworkReady for Status (the config is looked at again first). */
void ctrd_network_status(ctrd_backend *d, cs_arena *a, cs_engine_status *out);

/* the ops */
int ctrd_sandbox_run(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_config *cfg, cs_arena *a, const char **id,
                     cs_error *err);
int ctrd_sandbox_stop(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
int ctrd_sandbox_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
int ctrd_sandbox_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                        cs_sandbox **out, cs_error *err);
int ctrd_sandbox_netns(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, const char **path,
                       cs_error *err);
int ctrd_sandbox_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a, cs_sandbox ***out,
                      size_t *n, cs_error *err);

#endif
