/* CRI messages ⇄ backend-neutral types: maps, string lists, security
 * contexts, namespace options, resources. Shared by the sandbox and container
 * handlers so each conversion exists once. */
#include "cri/convert.h"

#include <string.h>

#include "backend/security.h"

/* Every protobuf-c map<string,string> entry has this layout. */
typedef struct map_entry {
    ProtobufCMessage base;
    char *key;
    char *value;
} map_entry;

cs_kvs cri_kvs_from_map(void *const *entries, size_t n, cs_arena *a)
{
    cs_kvs out = {.items = cs_arena_array(a, n + 1, sizeof(cs_kv)), .n = n};
    for (size_t i = 0; i < n; i++) {
        const map_entry *e = entries[i];
        out.items[i].key = e->key ? e->key : "";
        out.items[i].value = e->value ? e->value : "";
    }
    return out;
}

void **cri_map_from_kvs(const cs_kvs *kvs, const ProtobufCMessageDescriptor *entry_desc, cs_arena *a, size_t *n)
{
    void **out = cs_arena_array(a, kvs->n + 1, sizeof *out);
    for (size_t i = 0; i < kvs->n; i++) {
        map_entry *e = cs_arena_alloc(a, entry_desc->sizeof_message);
        entry_desc->message_init(&e->base);
        e->key = (char *)kvs->items[i].key;
        e->value = (char *)kvs->items[i].value;
        out[i] = e;
    }
    *n = kvs->n;
    return out;
}

cs_strs cri_strs(char *const *items, size_t n)
{
    cs_strs s = {.items = (const char **)items, .n = n};
    return s;
}

char **cri_strv(const cs_strs *s, cs_arena *a)
{
    char **out = cs_arena_array(a, s->n + 1, sizeof *out);
    for (size_t i = 0; i < s->n; i++)
        out[i] = (char *)s->items[i];
    return out;
}

/* A CRI SecurityProfile (or the deprecated string beside it) as the policy
 * reads it; backend/security.h decides what it means. */
static cs_profile_request profile_request(const Runtime__V1__SecurityProfile *p, const char *legacy)
{
    cs_profile_request r = {.legacy = legacy};
    if (p) {
        r.has_profile = true;
        r.type = (cs_profile_type)p->profile_type;
        r.localhost_ref = p->localhost_ref;
    }
    return r;
}

static void set_ids(cs_security *out, const Runtime__V1__Int64Value *user, const Runtime__V1__Int64Value *group,
                    int64_t *supplemental, size_t n_supplemental)
{
    if (user) {
        out->has_user = true;
        out->user = user->value;
    }
    if (group) {
        out->has_group = true;
        out->group = group->value;
    }
    out->supplemental_groups = supplemental;
    out->n_supplemental_groups = n_supplemental;
}

/* The deprecated profile fields still come from older kubelets: read them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

int cri_sandbox_security(const Runtime__V1__LinuxSandboxSecurityContext *sc, cs_arena *a, cs_security *out,
                         cs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!sc) /* no context asks for no profile: seccomp unconfined, as an empty one */
        return cs_security_seccomp(&(cs_profile_request){0}, a, &out->seccomp, err);
    set_ids(out, sc->run_as_user, sc->run_as_group, sc->supplemental_groups, sc->n_supplemental_groups);
    if (cs_security_check_user(out, false, err) != 0)
        return -1;
    out->privileged = sc->privileged;
    out->readonly_rootfs = sc->readonly_rootfs;
    cs_profile_request seccomp = profile_request(sc->seccomp, sc->seccomp_profile_path);
    if (cs_security_seccomp(&seccomp, a, &out->seccomp, err) != 0)
        return -1;
    cs_profile_request apparmor = profile_request(sc->apparmor, NULL);
    cs_security_apparmor(&apparmor, &out->apparmor);
    return 0;
}

int cri_container_security(const Runtime__V1__LinuxContainerSecurityContext *sc, cs_arena *a, cs_security *out,
                           cs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!sc) /* no context asks for no profile: seccomp unconfined, as an empty one */
        return cs_security_seccomp(&(cs_profile_request){0}, a, &out->seccomp, err);
    set_ids(out, sc->run_as_user, sc->run_as_group, sc->supplemental_groups, sc->n_supplemental_groups);
    if (sc->run_as_username && *sc->run_as_username)
        out->username = sc->run_as_username;
    if (cs_security_check_user(out, true, err) != 0)
        return -1;
    out->privileged = sc->privileged;
    out->readonly_rootfs = sc->readonly_rootfs;
    out->no_new_privs = sc->no_new_privs;
    if (sc->capabilities) {
        out->cap_add = cri_strs(sc->capabilities->add_capabilities, sc->capabilities->n_add_capabilities);
        out->cap_drop = cri_strs(sc->capabilities->drop_capabilities, sc->capabilities->n_drop_capabilities);
    }
    /* kubelet always sends the lists it wants; an empty list means "none". */
    out->has_masked_paths = sc->n_masked_paths > 0 || sc->n_readonly_paths > 0;
    out->has_readonly_paths = out->has_masked_paths;
    out->masked_paths = cri_strs(sc->masked_paths, sc->n_masked_paths);
    out->readonly_paths = cri_strs(sc->readonly_paths, sc->n_readonly_paths);
    cs_profile_request seccomp = profile_request(sc->seccomp, sc->seccomp_profile_path);
    if (cs_security_seccomp(&seccomp, a, &out->seccomp, err) != 0)
        return -1;
    cs_profile_request apparmor = profile_request(sc->apparmor, sc->apparmor_profile);
    cs_security_apparmor(&apparmor, &out->apparmor);
    return 0;
}

#pragma GCC diagnostic pop

void cri_resources_in(const Runtime__V1__LinuxContainerResources *r, cs_arena *a, cs_resources *out)
{
    memset(out, 0, sizeof *out);
    if (!r)
        return;
    out->cpu_period = r->cpu_period;
    out->cpu_quota = r->cpu_quota;
    out->cpu_shares = r->cpu_shares;
    out->memory_limit = r->memory_limit_in_bytes;
    out->oom_score_adj = r->oom_score_adj;
    out->has_oom_score_adj = true;
    out->cpuset_cpus = r->cpuset_cpus;
    out->cpuset_mems = r->cpuset_mems;
    out->unified = cri_kvs_from_map((void *const *)r->unified, r->n_unified, a);
}

Runtime__V1__LinuxContainerResources *cri_resources_out(const cs_resources *r, cs_arena *a)
{
    Runtime__V1__LinuxContainerResources *o = cs_arena_alloc(a, sizeof *o);
    runtime__v1__linux_container_resources__init(o);
    o->cpu_period = r->cpu_period;
    o->cpu_quota = r->cpu_quota;
    o->cpu_shares = r->cpu_shares;
    o->memory_limit_in_bytes = r->memory_limit;
    o->oom_score_adj = r->oom_score_adj;
    o->cpuset_cpus = (char *)(r->cpuset_cpus ? r->cpuset_cpus : "");
    o->cpuset_mems = (char *)(r->cpuset_mems ? r->cpuset_mems : "");
    return o;
}

Runtime__V1__NamespaceOption *cri_ns_options(cs_ns_mode net, cs_ns_mode pid, cs_ns_mode ipc, cs_arena *a)
{
    Runtime__V1__NamespaceOption *o = cs_arena_alloc(a, sizeof *o);
    runtime__v1__namespace_option__init(o);
    o->network = (Runtime__V1__NamespaceMode)net;
    o->pid = (Runtime__V1__NamespaceMode)pid;
    o->ipc = (Runtime__V1__NamespaceMode)ipc;
    return o;
}

int cri_require(const char *value, const char *field, cs_error *err)
{
    if (!value || !*value)
        return cs_error_set(err, CS_ERR_INVALID, "%s is required", field);
    return 0;
}

int cri_check_relative_path(const char *p, const char *field, cs_error *err)
{
    if (!p || !*p)
        return 0;
    if (p[0] == '/')
        return cs_error_set(err, CS_ERR_INVALID, "%s %s: must be relative", field, p);
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return cs_error_set(err, CS_ERR_INVALID, "%s %s: must not contain ..", field, p);
        s += n + (e ? 1 : 0);
    }
    return 0;
}

/* The kernel takes at most 64 bytes (HOST_NAME_MAX); Kubernetes gives a pod
 * an RFC 1123 label, or with setHostnameAsFQDN dot-separated labels. Upper
 * case is let through: a host-network pod carries the node's name. */
int cri_check_hostname(const char *h, const char *field, cs_error *err)
{
    if (!h || !*h)
        return 0;
    size_t len = strlen(h);
    if (len > 64)
        return cs_error_set(err, CS_ERR_INVALID, "%s: %zu bytes, at most 64", field, len);
    for (const char *s = h;;) {
        size_t n = strcspn(s, ".");
        if (n == 0 || n > 63)
            return cs_error_set(err, CS_ERR_INVALID, "%s %s: each dot-separated label must be 1 to 63 characters",
                                field, h);
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (!alnum && !(c == '-' && i > 0 && i < n - 1))
                return cs_error_set(err, CS_ERR_INVALID,
                                    "%s %s: want RFC 1123 labels (letters, digits, '-' inside), not '%c'", field,
                                    h, (unsigned char)c >= 0x20 && (unsigned char)c < 0x7f ? c : '?');
        }
        if (!s[n])
            return 0;
        s += n + 1;
    }
}
