/* The security policy; see security.h. */
#include "backend/security.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/hostcaps.h"
#include "util/fs.h"

/* Seccomp profiles bigger than this are refused (Docker's own is ~20 KiB). */
#define SECCOMP_PROFILE_MAX (1 << 20)
/* What dockershim gave the infra container, when the host allows it. */
#define SANDBOX_OOM_SCORE_ADJ -998

/* ---- profiles ---- */

int cs_security_seccomp(const cs_profile_request *r, cs_arena *a, cs_profile *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    const char *file = NULL;
    if (r->has_profile) {
        if (r->type == CS_PROFILE_UNCONFINED)
            out->type = CS_PROFILE_UNCONFINED;
        else if (r->type == CS_PROFILE_LOCALHOST)
            file = r->localhost_ref;
    } else if (r->legacy && *r->legacy) {
        if (!strcmp(r->legacy, "unconfined"))
            out->type = CS_PROFILE_UNCONFINED;
        else if (!strncmp(r->legacy, "localhost/", 10))
            file = r->legacy + 9; /* keeps the leading '/' */
    } else {
        out->type = CS_PROFILE_UNCONFINED; /* CRI: no profile at all is unconfined */
    }
    if (!file)
        return 0;
    if (file[0] != '/')
        return cs_error_set(err, CS_ERR_INVALID, "seccomp localhost profile %s: want an absolute path", file);
    char *json;
    size_t len;
    if (cs_read_file(file, SECCOMP_PROFILE_MAX, &json, &len, err) != 0)
        return cs_error_wrap(err, "seccomp profile");
    out->type = CS_PROFILE_LOCALHOST;
    out->ref = cs_arena_strdup(a, file);
    out->content = cs_arena_strdup(a, json);
    free(json);
    return 0;
}

void cs_security_apparmor(const cs_profile_request *r, cs_profile *out)
{
    memset(out, 0, sizeof *out);
    if (r->has_profile) {
        if (r->type == CS_PROFILE_UNCONFINED) {
            out->type = CS_PROFILE_UNCONFINED;
        } else if (r->type == CS_PROFILE_LOCALHOST && r->localhost_ref && *r->localhost_ref) {
            out->type = CS_PROFILE_LOCALHOST;
            out->ref = r->localhost_ref;
        }
        return;
    }
    if (r->legacy && !strcmp(r->legacy, "unconfined")) {
        out->type = CS_PROFILE_UNCONFINED;
    } else if (r->legacy && !strncmp(r->legacy, "localhost/", 10)) {
        out->type = CS_PROFILE_LOCALHOST;
        out->ref = r->legacy + 10;
    }
}

int cs_security_check_user(const cs_security *s, bool has_username_field, cs_error *err)
{
    if (!s->has_group || s->has_user)
        return 0;
    if (!has_username_field)
        return cs_error_set(err, CS_ERR_INVALID, "run_as_group needs run_as_user");
    if (s->username && *s->username)
        return 0;
    return cs_error_set(err, CS_ERR_INVALID, "run_as_group needs run_as_user or run_as_username");
}

/* ---- the host ---- */

void cs_security_host_probe(uint64_t exclude, cs_security_host *out)
{
    out->bounding = cs_hostcaps_bounding_mask() & ~exclude;
    out->can_lower_oom = cs_hostcaps_can_lower_oom();
}

/* ---- capabilities ---- */

static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",  "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",       "CAP_SETUID",  "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
};

uint64_t cs_security_default_caps(void)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < sizeof default_caps / sizeof default_caps[0]; i++)
        mask |= (uint64_t)1 << cs_hostcaps_bit(default_caps[i]);
    return mask;
}

static bool is_all(const char *cap)
{
    return !strcasecmp(cap, "ALL");
}

static bool has_all(const cs_strs *caps)
{
    for (size_t i = 0; i < caps->n; i++)
        if (is_all(caps->items[i]))
            return true;
    return false;
}

/* "CAP_X" whether the client sent "CAP_X", "x" or "cap_x". */
static const char *cap_name(const char *cap, cs_arena *a)
{
    char buf[64];
    if (strncasecmp(cap, "CAP_", 4) == 0)
        snprintf(buf, sizeof buf, "%s", cap);
    else
        snprintf(buf, sizeof buf, "CAP_%s", cap);
    for (char *p = buf; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return cs_arena_strdup(a, buf);
}

static uint64_t mask_of(const cs_strs *caps)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < caps->n; i++) {
        int bit = cs_hostcaps_bit(caps->items[i]);
        if (bit >= 0)
            mask |= (uint64_t)1 << bit;
    }
    return mask;
}

/* The named capabilities of mask, in capability order. */
static cs_strs names_of(uint64_t mask, cs_arena *a)
{
    cs_strs out = {.items = cs_arena_array(a, 65, sizeof *out.items)};
    for (unsigned bit = 0; bit < 64; bit++) {
        const char *name = cs_hostcaps_name(bit);
        if (name && (mask & ((uint64_t)1 << bit)))
            out.items[out.n++] = name;
    }
    return out;
}

static void decide_caps(const cs_security *s, const cs_security_host *h, cs_arena *a, cs_security_policy *out)
{
    bool all = s->privileged || has_all(&s->cap_add);
    if (all) {
        out->cap_add = names_of(h->bounding, a);
    } else {
        out->cap_add.items = cs_arena_array(a, s->cap_add.n + 1, sizeof *out->cap_add.items);
        for (size_t i = 0; i < s->cap_add.n; i++)
            out->cap_add.items[out->cap_add.n++] = cap_name(s->cap_add.items[i], a);
    }
    if (!s->privileged) {
        out->cap_drop.items = cs_arena_array(a, s->cap_drop.n + 1, sizeof *out->cap_drop.items);
        for (size_t i = 0; i < s->cap_drop.n; i++)
            out->cap_drop.items[out->cap_drop.n++] =
                is_all(s->cap_drop.items[i]) ? "ALL" : cap_name(s->cap_drop.items[i], a);
    }
    /* The final set: the default (or everything), less the drops, plus the
     * adds (added wins, as in Docker), within what the host has. */
    uint64_t caps = all ? h->bounding : cs_security_default_caps();
    if (!s->privileged) {
        if (has_all(&s->cap_drop))
            caps = 0;
        caps &= ~mask_of(&s->cap_drop);
    }
    if (!all)
        caps |= mask_of(&s->cap_add);
    out->caps = names_of(caps & h->bounding, a);
}

void cs_security_decide(const cs_security *s, const cs_security_host *h, cs_arena *a, cs_security_policy *out)
{
    memset(out, 0, sizeof *out);
    out->privileged = s->privileged;
    decide_caps(s, h, a, out);
    out->seccomp = s->seccomp;
    out->apparmor = s->apparmor;
    if (s->privileged) {
        out->seccomp = (cs_profile){.type = CS_PROFILE_UNCONFINED};
        out->apparmor = (cs_profile){.type = CS_PROFILE_UNCONFINED};
    }
    out->no_new_privs = s->no_new_privs && !s->privileged;
    out->readonly_rootfs = s->readonly_rootfs;
    /* Privileged containers see everything; otherwise CRI's lists win, and
     * the runtime's defaults apply when the client sent none. */
    if (s->privileged) {
        out->has_masked_paths = out->has_readonly_paths = true;
    } else {
        out->has_masked_paths = s->has_masked_paths;
        out->masked_paths = s->masked_paths;
        out->has_readonly_paths = s->has_readonly_paths;
        out->readonly_paths = s->readonly_paths;
    }
    out->supplemental_groups = s->supplemental_groups;
    out->n_supplemental_groups = s->n_supplemental_groups;
}

void cs_security_decide_sandbox(const cs_security *s, const cs_security_host *h, cs_arena *a,
                                cs_security_policy *out)
{
    cs_security pause = *s;
    pause.privileged = false;
    pause.cap_add.n = 0;
    cs_security_decide(&pause, h, a, out);
}

/* ---- default paths ---- */

static const char *default_masked[] = {
    "/proc/acpi",       "/proc/asound",      "/proc/kcore",       "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
};
static const char *default_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

cs_strs cs_security_default_masked_paths(void)
{
    return (cs_strs){default_masked, sizeof default_masked / sizeof default_masked[0]};
}

cs_strs cs_security_default_readonly_paths(void)
{
    return (cs_strs){default_readonly, sizeof default_readonly / sizeof default_readonly[0]};
}

/* ---- oom_score_adj ---- */

int64_t cs_security_oom_score_adj(const cs_security_host *h, int64_t want)
{
    return want < 0 && !h->can_lower_oom ? 0 : want;
}

bool cs_security_sandbox_oom_score_adj(const cs_security_host *h, int64_t *out)
{
    if (!h->can_lower_oom)
        return false;
    *out = SANDBOX_OOM_SCORE_ADJ;
    return true;
}

/* ---- the user ---- */

/* A uid or gid: digits only, short enough not to overflow. */
static bool numeric(const char *s, size_t n)
{
    if (n == 0 || n >= 19)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

void cs_security_parse_user(const char *user, cs_arena *a, cs_user *out)
{
    memset(out, 0, sizeof *out);
    if (!user || !*user)
        return;
    size_t n = strcspn(user, ":");
    if (numeric(user, n)) {
        out->has_uid = true;
        out->uid = strtoll(user, NULL, 10);
    } else {
        out->name = cs_arena_strndup(a, user, n);
    }
    if (user[n] != ':' || !user[n + 1])
        return;
    const char *g = user + n + 1;
    if (numeric(g, strlen(g))) {
        out->has_gid = true;
        out->gid = strtoll(g, NULL, 10);
    } else {
        out->group = cs_arena_strdup(a, g);
    }
}

void cs_security_user(const cs_security *s, const char *image_user, cs_arena *a, cs_user *out)
{
    cs_security_parse_user(image_user, a, out);
    if (s->has_user || (s->username && *s->username)) {
        /* CRI's user replaces the image's, group and all */
        memset(out, 0, sizeof *out);
        if (s->username && *s->username) { /* as Docker's User string has it */
            out->name = s->username;
        } else {
            out->has_uid = true;
            out->uid = s->user;
        }
    }
    if (s->has_group) {
        out->has_gid = true;
        out->gid = s->group;
        out->group = NULL;
    }
}

char *cs_security_user_string(const cs_security *s, cs_arena *a)
{
    if (s->username && *s->username)
        return s->has_group ? cs_arena_printf(a, "%s:%lld", s->username, (long long)s->group)
                            : cs_arena_strdup(a, s->username);
    if (s->has_user)
        return s->has_group ? cs_arena_printf(a, "%lld:%lld", (long long)s->user, (long long)s->group)
                            : cs_arena_printf(a, "%lld", (long long)s->user);
    return NULL;
}
