/* Pod sandboxes on containerd (sandbox.c): the ops, the pod's network
 * configuration (CNI, reloaded as kubelet installs it), and what a container
 * needs of its sandbox to render its spec. */
#ifndef CS_CTRD_SANDBOX_H
#define CS_CTRD_SANDBOX_H

#include <stdbool.h>

#include "containerd/cni.h"
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

/* ---- the pure parts, exposed for the unit suite ---- */

/* A sandbox record's state extension (CTRD_EXT_STATE), a stored format:
 * {"dir":…,"netns":…|null,"cni":<ADD result>|null,"ip":…,"ips":[…],
 *  "ports":[{"host_port","container_port","protocol","host_ip"}],
 *  "hostname":…,"cgroup_parent":…,"dns":{"servers","searches","options"},
 *  "shm":bool,"stopped":bool,"exit":{"code","at_ns"}}. */
typedef struct ctrd_pod_state {
    const char *dir;   /* the pod's directory (its files) */
    const char *netns; /* NULL: host network */
    const char *cni;   /* the ADD result, raw JSON; NULL: none (yet) */
    const char *ip;
    cs_strs ips; /* the other addresses */
    ctrd_cni_port *ports;
    size_t n_ports;
    const char *hostname;
    const char *cgroup_parent;
    cs_strs dns_servers, dns_searches, dns_options;
    bool shm;     /* <dir>/shm is crishim's tmpfs */
    bool stopped; /* the network is torn down */
    bool exited;  /* the pause process's exit is recorded */
    int64_t exit_code, exit_ns;
} ctrd_pod_state;
char *ctrd_pod_state_json(const ctrd_pod_state *s, cs_arena *a);
/* A missing or unreadable extension gives the defaults: dir default_dir,
 * nothing made. */
void ctrd_pod_state_parse(const char *json, const char *default_dir, cs_arena *a, ctrd_pod_state *out);
/* resolv.conf from CRI's DNS config; NULL when it names nothing (then the
 * host's is copied). */
char *ctrd_pod_resolv_conf(const cs_strs *servers, const cs_strs *searches, const cs_strs *options, cs_arena *a);

#endif
