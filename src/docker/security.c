/* Security settings in Docker's terms: user, capabilities, seccomp, AppArmor,
 * read-only and masked paths. Privileged and "ALL" are expanded into the
 * host's bounding set rather than passed as Docker's Privileged, which makes
 * runc fail where root lacks capabilities (see backend/hostcaps.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/hostcaps.h"
#include "docker/internal.h"

#define MAX_CAPS 64

char *docker_user_string(const cs_security *s, cs_arena *a)
{
    if (s->username && *s->username)
        return s->has_group ? cs_arena_printf(a, "%s:%lld", s->username, (long long)s->group)
                            : cs_arena_strdup(a, s->username);
    if (s->has_user)
        return s->has_group ? cs_arena_printf(a, "%lld:%lld", (long long)s->user, (long long)s->group)
                            : cs_arena_printf(a, "%lld", (long long)s->user);
    return NULL;
}

void docker_put_strs(cs_jw *w, const char *key, const cs_strs *s)
{
    cs_jw_key(w, key);
    cs_jw_arr_begin(w);
    for (size_t i = 0; i < s->n; i++)
        cs_jw_string(w, s->items[i]);
    cs_jw_arr_end(w);
}

static bool has_all(const cs_strs *caps)
{
    for (size_t i = 0; i < caps->n; i++)
        if (!strcasecmp(caps->items[i], "ALL"))
            return true;
    return false;
}

/* Docker wants "CAP_X" or "X"; CRI clients send either. */
static void put_cap(cs_jw *w, const char *cap)
{
    char buf[64];
    if (strncasecmp(cap, "CAP_", 4) == 0)
        snprintf(buf, sizeof buf, "%s", cap);
    else
        snprintf(buf, sizeof buf, "CAP_%s", cap);
    for (char *p = buf; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    cs_jw_string(w, buf);
}

void docker_write_security(cs_jw *w, const cs_security *s, uint64_t unknown_caps)
{
    bool all = s->privileged || has_all(&s->cap_add);
    cs_jw_key(w, "CapAdd");
    cs_jw_arr_begin(w);
    if (all) {
        const char *names[MAX_CAPS];
        size_t n = cs_hostcaps_bounding(names, MAX_CAPS, unknown_caps);
        for (size_t i = 0; i < n; i++)
            cs_jw_string(w, names[i]);
    } else {
        for (size_t i = 0; i < s->cap_add.n; i++)
            put_cap(w, s->cap_add.items[i]);
    }
    cs_jw_arr_end(w);
    if (!s->privileged && s->cap_drop.n) {
        cs_jw_key(w, "CapDrop");
        cs_jw_arr_begin(w);
        for (size_t i = 0; i < s->cap_drop.n; i++) {
            if (!strcasecmp(s->cap_drop.items[i], "ALL"))
                cs_jw_string(w, "ALL");
            else
                put_cap(w, s->cap_drop.items[i]);
        }
        cs_jw_arr_end(w);
    }

    cs_jw_key(w, "SecurityOpt");
    cs_jw_arr_begin(w);
    if (s->privileged || (s->seccomp && !strcmp(s->seccomp, "unconfined")))
        cs_jw_string(w, "seccomp=unconfined");
    else if (s->seccomp && *s->seccomp)
        cs_jw_string(w, s->seccomp); /* already "seccomp=<json>" */
    if (s->privileged || (s->apparmor && !strcmp(s->apparmor, "unconfined")))
        cs_jw_string(w, "apparmor=unconfined");
    else if (s->apparmor && *s->apparmor)
        cs_jw_string(w, s->apparmor); /* "apparmor=<profile>" */
    if (s->no_new_privs && !s->privileged)
        cs_jw_string(w, "no-new-privileges");
    cs_jw_arr_end(w);

    cs_jw_kv_bool(w, "ReadonlyRootfs", s->readonly_rootfs);
    /* Privileged containers see everything; otherwise CRI's lists win, and
     * Docker's defaults apply when the client sent none. */
    if (s->privileged) {
        cs_strs none = {0};
        docker_put_strs(w, "MaskedPaths", &none);
        docker_put_strs(w, "ReadonlyPaths", &none);
    } else {
        if (s->has_masked_paths)
            docker_put_strs(w, "MaskedPaths", &s->masked_paths);
        if (s->has_readonly_paths)
            docker_put_strs(w, "ReadonlyPaths", &s->readonly_paths);
    }
    if (s->n_supplemental_groups) {
        cs_jw_key(w, "GroupAdd");
        cs_jw_arr_begin(w);
        for (size_t i = 0; i < s->n_supplemental_groups; i++) {
            char g[32];
            snprintf(g, sizeof g, "%lld", (long long)s->supplemental_groups[i]);
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
