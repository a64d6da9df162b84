/* OCI runtime specs (config.json) for the containerd backend: what a CRI
 * container or pod sandbox becomes when crishim, not containerd's CRI plugin,
 * writes the spec. Pure rendering over the JSON writer: the CRI config, the
 * image config, the decided security policy (backend/security.h) and the
 * sandbox's facts go in, deterministic JSON comes out, so the suite compares
 * it structurally with reviewed fixtures. The only I/O is stat() of CRI
 * device host paths (their type, major and minor), the walk of the host's
 * devices for a privileged container, and gethostname() when the pod has
 * no hostname.
 *
 * The shape follows containerd 1.6's CRI plugin (oci.WithDefaultSpec, then
 * sandbox_run_linux.go / container_create_linux.go and its spec options):
 * default mounts without /run, the CRI mounts and the sandbox's files over
 * them, namespaces joined through /proc/<pause pid>/ns/<type>, cgroupsPath for the
 * driver in use, and crishim's own RuntimeDefault seccomp profile. The
 * pause process gets no rlimits, no AppArmor and only the pod's own seccomp
 * profile (CRI's WithoutDefaultSecuritySettings, then the pod's context).
 * Errors are INVALID_ARGUMENT naming the CRI field. */
#ifndef CS_CONTAINERD_SPEC_H
#define CS_CONTAINERD_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "backend/security.h"
#include "containerd/manifest.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/json.h"

/* What the sandbox already has, on the host. */
typedef struct ctrd_spec_sandbox_facts {
    const char *id;              /* the sandbox's id */
    int pause_pid;               /* containers join /proc/<pid>/ns/<type> */
    const char *netns_path;      /* the sandbox's netns, /var/run/netns/<name>; NULL with host network */
    const char *hostname;        /* the pod's hostname (HOSTNAME, the sandbox's uts) */
    const char *resolv_path;     /* host files bound into containers; NULL: not bound */
    const char *hosts_path;
    const char *hostname_path;
    const char *shm_path;        /* the sandbox's /dev/shm; NULL: the default tmpfs */
} ctrd_spec_sandbox_facts;

typedef struct ctrd_spec_input {
    const char *id; /* the container's (or for ctrd_spec_sandbox the sandbox's) id */
    /* Always: the pod (name, namespace, uid, hostname, sysctls, namespace
     * options, cgroup parent, log directory). */
    const cs_sandbox_config *sandbox;
    /* ctrd_spec_container only. */
    const cs_container_config *container;
    /* The image's config (pause image for a sandbox); NULL: none. */
    const mf_image_config *image;
    /* Decided by cs_security_decide (containers) or
     * cs_security_decide_sandbox (the pause process). */
    const cs_security_policy *policy;
    const cs_security_host *host;
    ctrd_spec_sandbox_facts facts;
    cs_cgroup_driver cgroup_driver;
    /* The image rootfs's /etc/passwd and /etc/group contents; NULL: absent. */
    const char *passwd, *group;
    /* The loaded AppArmor profile RuntimeDefault means; NULL when the host
     * has no AppArmor (then no apparmorProfile member at all). */
    const char *apparmor_default;
    /* The host accounts swap (memory.memsw / memory.swap.max): a memory
     * limit then limits swap to the same, so nothing swaps. */
    bool swap_accounting;
    /* Containers' RLIMIT_NOFILE (soft = hard); 0: none in the spec, the
     * shim's own limit applies (containerd's CRI removes oci's default 1024). */
    int64_t nofile;
    /* Where the host's devices are ("/dev"): a privileged container gets
     * every device node found there; NULL: none (CRI's devices only). */
    const char *host_dev_root;
    /* The host runs cgroup v2: unprivileged containers get a cgroup namespace. */
    bool cgroup2;
} ctrd_spec_input;

/* config.json of a CRI container, NUL-terminated, in arena a. */
int ctrd_spec_container(const ctrd_spec_input *in, cs_arena *a, char **json, cs_error *err);
/* config.json of a pod's infra (pause) process. */
int ctrd_spec_sandbox(const ctrd_spec_input *in, cs_arena *a, char **json, cs_error *err);

/* A container's limits as OCI LinuxResources members (memory, cpu,
 * unified): what the spec holds and what UpdateContainerResources sends
 * (Tasks.Update). swap: the host accounts swap (see swap_accounting). */
void ctrd_spec_write_limits(cs_jw *w, const cs_resources *r, bool swap);
/* The same as one LinuxResources JSON object, in arena a. */
char *ctrd_spec_resources(const cs_resources *r, bool swap, cs_arena *a);

/* The cgroupsPath for a driver: cgroupfs "<parent>/<id>" (parent "" or
 * NULL: "/<id>"); systemd "<slice>:cri-containerd:<id>" (parent the slice,
 * its last path element; "": "system.slice"). In arena a. */
char *ctrd_spec_cgroups_path(cs_cgroup_driver driver, const char *parent, const char *id, cs_arena *a);

/* A user in an image's passwd/group contents, containerd's way: a name must
 * exist in passwd; a uid without a group takes passwd's gid (0 if absent);
 * a group name must exist in group. additional_gids: the groups of `group`
 * that list the user by name. `field` names the CRI field in errors. */
typedef struct ctrd_spec_user {
    int64_t uid, gid;
    int64_t *additional_gids;
    size_t n_additional_gids;
} ctrd_spec_user;
int ctrd_spec_resolve_user(const cs_user *u, const char *passwd, const char *group, const char *field,
                           cs_arena *a, ctrd_spec_user *out, cs_error *err);

#endif
