/* Security policy, decided once for every engine: what a CRI security
 * context means on this host. CRI's fields arrive in cs_security (what the
 * client asked, engine-neutral); cs_security_decide turns them, with the
 * host's facts, into a cs_security_policy that a backend only renders
 * (Docker's HostConfig, an OCI runtime spec):
 *   - privileged and capability "ALL" expand to the host's bounding set
 *     rather than to every capability (root without some capabilities makes
 *     runc fail otherwise; see hostcaps.h); a privileged container is also
 *     unconfined, with no masked or read-only paths;
 *   - seccomp and AppArmor: RuntimeDefault, Unconfined or a Localhost
 *     profile; a security context that names no seccomp profile at all is
 *     unconfined (CRI's rule; kubelet asks for RuntimeDefault by name);
 *   - a negative oom_score_adj only when the host can grant it;
 *   - the user: CRI's run_as_* over the image config's User. */
#ifndef CS_BACKEND_SECURITY_H
#define CS_BACKEND_SECURITY_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"

/* What one CRI security context said about one profile (seccomp or
 * AppArmor): the SecurityProfile message when present, else the deprecated
 * string field ("unconfined", "localhost/<ref>", "runtime/default", …). */
typedef struct cs_profile_request {
    bool has_profile;
    cs_profile_type type;
    const char *localhost_ref;
    const char *legacy; /* NULL or "" when absent */
} cs_profile_request;

/* Seccomp: a Localhost profile is read here (an absolute path, at most
 * 1 MiB), so every engine gets its content. INVALID for a relative path. */
int cs_security_seccomp(const cs_profile_request *r, cs_arena *a, cs_profile *out, cs_error *err);
/* AppArmor: a Localhost profile is a name loaded on the host. */
void cs_security_apparmor(const cs_profile_request *r, cs_profile *out);
/* run_as_group needs a user to apply to: run_as_user, or run_as_username
 * where the context has one (containers; pods don't). INVALID otherwise. */
int cs_security_check_user(const cs_security *s, bool has_username_field, cs_error *err);

/* ---- the host ---- */

typedef struct cs_security_host {
    uint64_t bounding;  /* capabilities a container may have, by number */
    bool can_lower_oom; /* a negative oom_score_adj can be granted */
} cs_security_host;

/* This process's bounding set without `exclude` (capabilities the engine
 * can't name), and whether it holds CAP_SYS_RESOURCE. */
void cs_security_host_probe(uint64_t exclude, cs_security_host *out);

/* ---- the decision ---- */

typedef struct cs_security_policy {
    bool privileged;
    /* Capabilities relative to the runtime's default set, as Docker takes
     * them: "CAP_X" names, cap_drop may be "ALL"; and the final set the
     * process gets, as an OCI spec lists it (in capability order). */
    cs_strs cap_add, cap_drop;
    cs_strs caps;
    cs_profile seccomp, apparmor;
    bool no_new_privs, readonly_rootfs;
    /* false: the runtime's default lists */
    bool has_masked_paths, has_readonly_paths;
    cs_strs masked_paths, readonly_paths;
    const int64_t *supplemental_groups;
    size_t n_supplemental_groups;
} cs_security_policy;

/* A container's policy. */
void cs_security_decide(const cs_security *s, const cs_security_host *h, cs_arena *a, cs_security_policy *out);
/* A pod's infra (pause) process: it needs no privileges and no added
 * capabilities, whatever the pod asked; its containers get theirs. */
void cs_security_decide_sandbox(const cs_security *s, const cs_security_host *h, cs_arena *a,
                                cs_security_policy *out);
/* The default capability set of Docker and containerd (OCI runtimes start
 * from it): a mask by capability number. */
uint64_t cs_security_default_caps(void);

/* The masked and read-only paths a runtime applies when the client sent
 * none (Docker's and containerd's defaults alike): what an OCI spec lists
 * when has_masked_paths / has_readonly_paths is false. Static. */
cs_strs cs_security_default_masked_paths(void);
cs_strs cs_security_default_readonly_paths(void);

/* oom_score_adj: the asked value, a negative one raised to 0 when the host
 * can't grant it (runc would fail the whole container). */
int64_t cs_security_oom_score_adj(const cs_security_host *h, int64_t want);
/* The infra process's oom_score_adj (dockershim's -998) when the host can
 * grant it; false: leave the engine's default. */
bool cs_security_sandbox_oom_score_adj(const cs_security_host *h, int64_t *out);

/* ---- the user ---- */

typedef struct cs_user {
    bool has_uid;
    int64_t uid;
    const char *name; /* when not numeric; NULL otherwise */
    bool has_gid;
    int64_t gid;
    const char *group; /* when not numeric */
} cs_user;

/* An image config's User: "1003", "www-data", "1003:1004", "www-data:staff";
 * "" or NULL: none. */
void cs_security_parse_user(const char *user, cs_arena *a, cs_user *out);
/* The process's user: CRI's run_as_user / run_as_username and run_as_group
 * over the image's User (a name still to be looked up in the rootfs's
 * /etc/passwd by an OCI backend). */
void cs_security_user(const cs_security *s, const char *image_user, cs_arena *a, cs_user *out);
/* CRI's user as "uid", "uid:gid", "name" or "name:gid" (Docker's User and an
 * image config's format); NULL when CRI named none (the image's applies). */
char *cs_security_user_string(const cs_security *s, cs_arena *a);

#endif
