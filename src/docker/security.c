/* The security policy (backend/security.h) in Docker's terms: CapAdd and
 * CapDrop, SecurityOpt strings, read-only and masked paths. Privileged is
 * never passed as Docker's Privileged: the policy has already expanded it
 * into the host's bounding set, which runc can grant where root lacks
 * capabilities. */
#include <stdio.h>
#include <string.h>

#include "backend/hostcaps.h"
#include "docker/internal.h"

void docker_put_strs(cs_jw *w, const char *key, const cs_strs *s)
{
    cs_jw_key(w, key);
    cs_jw_arr_begin(w);
    for (size_t i = 0; i < s->n; i++)
        cs_jw_string(w, s->items[i]);
    cs_jw_arr_end(w);
}

static const char *profile_opt(const char *kind, const cs_profile *p, cs_arena *a)
{
    if (p->type == CS_PROFILE_UNCONFINED)
        return cs_arena_printf(a, "%s=unconfined", kind);
    if (p->type == CS_PROFILE_LOCALHOST) /* seccomp: the JSON itself; AppArmor: the name */
        return cs_arena_printf(a, "%s=%s", kind, p->content ? p->content : p->ref ? p->ref : "");
    return NULL; /* Docker's default */
}

void docker_write_security(cs_jw *w, const cs_security_policy *p, cs_arena *a)
{
    docker_put_strs(w, "CapAdd", &p->cap_add);
    if (p->cap_drop.n)
        docker_put_strs(w, "CapDrop", &p->cap_drop);

    cs_jw_key(w, "SecurityOpt");
    cs_jw_arr_begin(w);
    const char *seccomp = profile_opt("seccomp", &p->seccomp, a);
    if (seccomp)
        cs_jw_string(w, seccomp);
    const char *apparmor = profile_opt("apparmor", &p->apparmor, a);
    if (apparmor)
        cs_jw_string(w, apparmor);
    if (p->no_new_privs)
        cs_jw_string(w, "no-new-privileges");
    cs_jw_arr_end(w);

    cs_jw_kv_bool(w, "ReadonlyRootfs", p->readonly_rootfs);
    if (p->has_masked_paths)
        docker_put_strs(w, "MaskedPaths", &p->masked_paths);
    if (p->has_readonly_paths)
        docker_put_strs(w, "ReadonlyPaths", &p->readonly_paths);
    if (p->n_supplemental_groups) {
        cs_jw_key(w, "GroupAdd");
        cs_jw_arr_begin(w);
        for (size_t i = 0; i < p->n_supplemental_groups; i++) {
            char g[32];
            snprintf(g, sizeof g, "%lld", (long long)p->supplemental_groups[i]);
            cs_jw_string(w, g);
        }
        cs_jw_arr_end(w);
    }
}

bool docker_note_unknown_cap(docker_backend *d, const char *msg)
{
    const char *p = msg ? strstr(msg, "unknown capability: \"") : NULL;
    if (!p)
        return false;
    p += strlen("unknown capability: \"");
    char name[64];
    size_t n = strcspn(p, "\"");
    if (n == 0 || n >= sizeof name)
        return false;
    memcpy(name, p, n);
    name[n] = '\0';
    int bit = cs_hostcaps_bit(name);
    if (bit < 0 || (atomic_load(&d->unknown_caps) & ((uint64_t)1 << bit)))
        return false;
    atomic_fetch_or(&d->unknown_caps, (uint64_t)1 << bit);
    return true;
}
