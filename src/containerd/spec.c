/* OCI runtime specs for CRI containers and pod sandboxes (see spec.h): the
 * shape of containerd 1.6's CRI plugin, rendered by crishim's JSON writer in
 * runtime-spec member order, so the output is deterministic. */
#include "containerd/spec.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/json.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define OCI_VERSION "1.0.2-dev"
#define SYSTEMD_PREFIX "cri-containerd"
#define SANDBOX_CPU_SHARES 2

#define FIELD_USERNAME "config.linux.security_context.run_as_username"
#define FIELD_USER "config.linux.security_context.run_as_user"
#define FIELD_GROUP "config.linux.security_context.run_as_group"
#define FIELD_IMAGE_USER "image config User"

/* ---- passwd and group ---- */

/* Field i (0-based) of a colon-separated line [s, end). */
static bool line_field(const char *s, const char *end, int i, const char **f, size_t *n)
{
    for (; i > 0; i--) {
        const char *c = memchr(s, ':', (size_t)(end - s));
        if (!c)
            return false;
        s = c + 1;
    }
    const char *c = memchr(s, ':', (size_t)(end - s));
    *f = s;
    *n = (size_t)((c ? c : end) - s);
    return true;
}

static bool field_is(const char *f, size_t n, const char *s)
{
    return s && strlen(s) == n && memcmp(f, s, n) == 0;
}

static bool field_num(const char *f, size_t n, int64_t *out)
{
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i] < '0' || f[i] > '9')
            return false;
        v = v * 10 + (f[i] - '0');
    }
    *out = v;
    return true;
}

/* Walks the lines of a passwd/group file; calls fn on each until it returns true. */
typedef bool (*line_fn)(const char *s, const char *end, void *ctx);
static bool each_line(const char *text, line_fn fn, void *ctx)
{
    if (!text)
        return false;
    for (const char *s = text; *s;) {
        const char *end = strchr(s, '\n');
        if (!end)
            end = s + strlen(s);
        if (end > s && *s != '#' && fn(s, end, ctx))
            return true;
        s = *end ? end + 1 : end;
    }
    return false;
}

typedef struct pw_query {
    const char *name; /* match by name, else by uid */
    int64_t uid;
    const char *found_name;
    size_t found_name_len;
    int64_t found_uid, found_gid;
} pw_query;

static bool pw_match(const char *s, const char *end, void *ctx)
{
    pw_query *q = ctx;
    const char *name, *uid, *gid;
    size_t nn, nu, ng;
    int64_t u, g;
    if (!line_field(s, end, 0, &name, &nn) || !line_field(s, end, 2, &uid, &nu) || !line_field(s, end, 3, &gid, &ng) ||
        !field_num(uid, nu, &u) || !field_num(gid, ng, &g))
        return false;
    if (q->name ? !field_is(name, nn, q->name) : u != q->uid)
        return false;
    q->found_name = name;
    q->found_name_len = nn;
    q->found_uid = u;
    q->found_gid = g;
    return true;
}

typedef struct gr_query {
    const char *name;
    int64_t gid;
} gr_query;

static bool gr_match(const char *s, const char *end, void *ctx)
{
    gr_query *q = ctx;
    const char *name, *gid;
    size_t nn, ng;
    return line_field(s, end, 0, &name, &nn) && line_field(s, end, 2, &gid, &ng) && field_is(name, nn, q->name) &&
           field_num(gid, ng, &q->gid);
}

/* The groups listing a user as a member (field 3, comma-separated). */
typedef struct gr_members {
    const char *user;
    int64_t *gids;
    size_t n, cap;
} gr_members;

static bool gr_member(const char *s, const char *end, void *ctx)
{
    gr_members *m = ctx;
    const char *name, *gid, *list;
    size_t nn, ng, nl;
    int64_t g;
    if (!line_field(s, end, 0, &name, &nn) || !line_field(s, end, 2, &gid, &ng) || !field_num(gid, ng, &g) ||
        !line_field(s, end, 3, &list, &nl))
        return false;
    if (field_is(name, nn, m->user)) /* containerd: only supplemental groups */
        return false;
    for (const char *p = list, *le = list + nl; p < le;) {
        const char *c = memchr(p, ',', (size_t)(le - p));
        size_t n = (size_t)((c ? c : le) - p);
        if (field_is(p, n, m->user)) {
            if (m->n < m->cap)
                m->gids[m->n++] = g;
            break;
        }
        p = c ? c + 1 : le;
    }
    return false;
}

int ctrd_spec_resolve_user(const cs_user *u, const char *passwd, const char *group, const char *field,
                           cs_arena *a, ctrd_spec_user *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    const char *username = NULL;
    if (u->name) {
        pw_query q = {.name = u->name};
        if (!each_line(passwd, pw_match, &q))
            return cs_error_set(err, CS_ERR_INVALID, "%s: no user %s in the image's /etc/passwd", field, u->name);
        out->uid = q.found_uid;
        out->gid = q.found_gid;
        username = u->name;
    } else if (u->has_uid) {
        pw_query q = {.uid = u->uid};
        out->uid = u->uid;
        if (each_line(passwd, pw_match, &q)) {
            out->gid = q.found_gid;
            username = cs_arena_strndup(a, q.found_name, q.found_name_len);
        }
    }
    if (u->has_gid) {
        out->gid = u->gid;
    } else if (u->group) {
        gr_query q = {.name = u->group};
        if (!each_line(group, gr_match, &q))
            return cs_error_set(err, CS_ERR_INVALID, "%s: no group %s in the image's /etc/group", field, u->group);
        out->gid = q.gid;
    }
    if (username && group) {
        gr_members m = {.user = username, .cap = 64};
        m.gids = cs_arena_array(a, m.cap, sizeof *m.gids);
        each_line(group, gr_member, &m);
        out->additional_gids = m.gids;
        out->n_additional_gids = m.n;
    }
    return 0;
}

/* ---- cgroups ---- */

char *ctrd_spec_cgroups_path(cs_cgroup_driver driver, const char *parent, const char *id, cs_arena *a)
{
    if (!parent)
        parent = "";
    if (driver == CS_CGROUP_SYSTEMD) {
        const char *slice = strrchr(parent, '/');
        slice = slice ? slice + 1 : parent;
        return cs_arena_printf(a, "%s:%s:%s", *slice ? slice : "system.slice", SYSTEMD_PREFIX, id);
    }
    size_t n = strlen(parent);
    while (n > 0 && parent[n - 1] == '/')
        n--;
    return cs_arena_printf(a, "%s%.*s/%s", n && parent[0] != '/' ? "/" : "", (int)n, parent, id);
}

/* ---- mounts ---- */

typedef struct spec_mount {
    const char *dest, *type, *source;
    const char *opts[8];
    size_t n_opts;
} spec_mount;

typedef struct mount_list {
    spec_mount *items;
    size_t n, cap;
} mount_list;

static spec_mount *mount_add(mount_list *l, const char *dest, const char *type, const char *source)
{
    spec_mount *m = &l->items[l->n++];
    memset(m, 0, sizeof *m);
    m->dest = dest;
    m->type = type;
    m->source = source;
    return m;
}

static void opts(spec_mount *m, const char *const *o)
{
    for (; *o && m->n_opts < 8; o++)
        m->opts[m->n_opts++] = *o;
}

/* containerd's default mounts (oci.WithDefaultSpec less /run). */
static void default_mounts(mount_list *l, bool sys_rw, bool with_cgroup)
{
    opts(mount_add(l, "/proc", "proc", "proc"), (const char *[]){"nosuid", "noexec", "nodev", NULL});
    opts(mount_add(l, "/dev", "tmpfs", "tmpfs"), (const char *[]){"nosuid", "strictatime", "mode=755", "size=65536k", NULL});
    opts(mount_add(l, "/dev/pts", "devpts", "devpts"),
         (const char *[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL});
    opts(mount_add(l, "/dev/shm", "tmpfs", "shm"),
         (const char *[]){"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL});
    opts(mount_add(l, "/dev/mqueue", "mqueue", "mqueue"), (const char *[]){"nosuid", "noexec", "nodev", NULL});
    opts(mount_add(l, "/sys", "sysfs", "sysfs"),
         sys_rw ? (const char *[]){"nosuid", "noexec", "nodev", NULL}
                : (const char *[]){"nosuid", "noexec", "nodev", "ro", NULL});
    if (with_cgroup) /* CRI containers see their cgroup read-only, as Docker's do */
        opts(mount_add(l, "/sys/fs/cgroup", "cgroup", "cgroup"),
             sys_rw ? (const char *[]){"nosuid", "noexec", "nodev", "relatime", NULL}
                    : (const char *[]){"nosuid", "noexec", "nodev", "relatime", "ro", NULL});
}

static const char *propagation_opt(int p)
{
    return p == 2 ? "rshared" : p == 1 ? "rslave" : "rprivate";
}

static void bind(mount_list *l, const char *dest, const char *source, int propagation, bool ro)
{
    opts(mount_add(l, dest, "bind", source),
         (const char *[]){"rbind", propagation_opt(propagation), ro ? "ro" : "rw", NULL});
}

static size_t depth(const char *p)
{
    size_t d = 0;
    for (const char *s = p; *s; s++)
        if (*s == '/' && s[1] && s[1] != '/')
            d++;
    return d;
}

/* A default mount the supplied ones replace: the same destination, or
 * anything under /dev when /dev itself is supplied. */
static bool overridden(const mount_list *sup, const char *dest)
{
    for (size_t i = 0; i < sup->n; i++) {
        if (strcmp(sup->items[i].dest, dest) == 0)
            return true;
        if (strcmp(sup->items[i].dest, "/dev") == 0 && strncmp(dest, "/dev/", 5) == 0)
            return true;
    }
    return false;
}

static void write_mounts(cs_jw *w, const mount_list *defaults, mount_list *sup)
{
    /* the supplied mounts, shallowest first (stable), after the defaults */
    for (size_t i = 1; i < sup->n; i++) {
        spec_mount m = sup->items[i];
        size_t j = i;
        for (; j > 0 && depth(sup->items[j - 1].dest) > depth(m.dest); j--)
            sup->items[j] = sup->items[j - 1];
        sup->items[j] = m;
    }
    cs_jw_key(w, "mounts");
    cs_jw_arr_begin(w);
    for (int pass = 0; pass < 2; pass++) {
        const mount_list *l = pass == 0 ? defaults : sup;
        for (size_t i = 0; i < l->n; i++) {
            const spec_mount *m = &l->items[i];
            if (pass == 0 && overridden(sup, m->dest))
                continue;
            cs_jw_obj_begin(w);
            cs_jw_kv_str(w, "destination", m->dest);
            cs_jw_kv_str(w, "type", m->type);
            cs_jw_kv_str(w, "source", m->source);
            cs_jw_key(w, "options");
            cs_jw_arr_begin(w);
            for (size_t k = 0; k < m->n_opts; k++)
                cs_jw_string(w, m->opts[k]);
            cs_jw_arr_end(w);
            cs_jw_obj_end(w);
        }
    }
    cs_jw_arr_end(w);
}

/* ---- small writers ---- */

static void write_caps(cs_jw *w, const cs_strs *caps)
{
    cs_jw_key(w, "capabilities");
    cs_jw_obj_begin(w);
    cs_jw_kv_strs(w, "bounding", caps->items, caps->n);
    cs_jw_kv_strs(w, "effective", caps->items, caps->n);
    cs_jw_kv_strs(w, "permitted", caps->items, caps->n);
    cs_jw_obj_end(w);
}

static void write_rlimits(cs_jw *w, int64_t nofile)
{
    if (nofile <= 0) /* CRI's default: the shim's own limits */
        return;
    cs_jw_key(w, "rlimits");
    cs_jw_arr_begin(w);
    cs_jw_obj_begin(w);
    cs_jw_kv_str(w, "type", "RLIMIT_NOFILE");
    cs_jw_kv_int(w, "hard", nofile);
    cs_jw_kv_int(w, "soft", nofile);
    cs_jw_obj_end(w);
    cs_jw_arr_end(w);
}

static void write_user(cs_jw *w, const ctrd_spec_user *u, const cs_security_policy *p)
{
    cs_jw_key(w, "user");
    cs_jw_obj_begin(w);
    cs_jw_kv_int(w, "uid", u->uid);
    cs_jw_kv_int(w, "gid", u->gid);
    size_t n = u->n_additional_gids + p->n_supplemental_groups;
    if (n > 0) {
        cs_jw_key(w, "additionalGids");
        cs_jw_arr_begin(w);
        for (size_t i = 0; i < u->n_additional_gids; i++)
            cs_jw_int(w, u->additional_gids[i]);
        for (size_t i = 0; i < p->n_supplemental_groups; i++) {
            bool dup = false;
            for (size_t k = 0; k < u->n_additional_gids; k++)
                dup |= u->additional_gids[k] == p->supplemental_groups[i];
            if (!dup)
                cs_jw_int(w, p->supplemental_groups[i]);
        }
        cs_jw_arr_end(w);
    }
    cs_jw_obj_end(w);
}

/* Env with containerd's replace-or-append: a later KEY=… replaces an earlier
 * one in place. */
typedef struct env_list {
    const char **items;
    size_t n;
} env_list;

static void env_set(env_list *e, const char *kv)
{
    size_t k = strcspn(kv, "=");
    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->items[i], kv, k) == 0 && (e->items[i][k] == '=' || e->items[i][k] == '\0')) {
            e->items[i] = kv;
            return;
        }
    e->items[e->n++] = kv;
}

static void write_paths(cs_jw *w, const cs_security_policy *p)
{
    cs_strs masked = p->has_masked_paths ? p->masked_paths : cs_security_default_masked_paths();
    cs_strs ro = p->has_readonly_paths ? p->readonly_paths : cs_security_default_readonly_paths();
    if (masked.n)
        cs_jw_kv_strs(w, "maskedPaths", masked.items, masked.n);
    if (ro.n)
        cs_jw_kv_strs(w, "readonlyPaths", ro.items, ro.n);
}

static void write_ns(cs_jw *w, const char *type, const char *path)
{
    cs_jw_obj_begin(w);
    cs_jw_kv_str(w, "type", type);
    if (path)
        cs_jw_kv_str(w, "path", path);
    cs_jw_obj_end(w);
}

static void write_kvs(cs_jw *w, const char *key, const cs_kvs *kv)
{
    cs_jw_key(w, key);
    cs_jw_obj_begin(w);
    for (size_t i = 0; i < kv->n; i++)
        cs_jw_kv_str(w, kv->items[i].key, kv->items[i].value);
    cs_jw_obj_end(w);
}

static void write_device_rule(cs_jw *w, bool allow, const char *type, int64_t major, int64_t minor, const char *access)
{
    cs_jw_obj_begin(w);
    cs_jw_kv_bool(w, "allow", allow);
    if (type)
        cs_jw_kv_str(w, "type", type);
    if (major >= 0)
        cs_jw_kv_int(w, "major", major);
    if (minor >= 0)
        cs_jw_kv_int(w, "minor", minor);
    cs_jw_kv_str(w, "access", access);
    cs_jw_obj_end(w);
}

static char *take(cs_jw *w, cs_arena *a)
{
    size_t len;
    char *s = cs_jw_take(w, &len);
    char *out = cs_arena_strndup(a, s, len);
    free(s);
    return out;
}

/* ---- seccomp: crishim's RuntimeDefault ---- */

/* Allow by default, refuse with EPERM what Docker's and containerd's default
 * profiles leave out, unless the process holds the capability that makes
 * the call legitimate there. (Their profiles are allowlists; this denylist
 * is the same set of dangerous calls, compact, with clone's namespace
 * flags refused the same way.) */
typedef struct deny_group {
    const char *cap; /* NULL: always refused */
    const char *const *names;
} deny_group;

static const char *const deny_always[] = {"add_key", "keyctl", "request_key", "get_kernel_syms", "nfsservctl",
                                          "query_module", "create_module", "uselib", "ustat", "sysfs", "_sysctl",
                                          "vm86", "vm86old", "userfaultfd", NULL};
static const char *const deny_admin[] = {"bpf", "fanotify_init", "lookup_dcookie", "mount", "umount", "umount2",
                                         "name_to_handle_at", "perf_event_open", "quotactl", "setdomainname",
                                         "sethostname", "setns", "unshare", "swapon", "swapoff", "pivot_root",
                                         "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
                                         "mount_setattr", NULL};
static const char *const deny_time[] = {"settimeofday", "stime", "clock_settime", "clock_adjtime", NULL};
static const char *const deny_module[] = {"init_module", "finit_module", "delete_module", NULL};
static const char *const deny_boot[] = {"reboot", "kexec_load", "kexec_file_load", NULL};
static const char *const deny_ptrace[] = {"kcmp", "process_vm_readv", "process_vm_writev", NULL};
static const char *const deny_nice[] = {"get_mempolicy", "mbind", "set_mempolicy", "move_pages", NULL};
static const char *const deny_rawio[] = {"iopl", "ioperm", NULL};
static const char *const deny_pacct[] = {"acct", NULL};
static const char *const deny_syslog[] = {"syslog", NULL};
static const char *const deny_tty[] = {"vhangup", NULL};
static const char *const deny_dac[] = {"open_by_handle_at", NULL};

static const deny_group deny_groups[] = {
    {NULL, deny_always},
    {"CAP_SYS_ADMIN", deny_admin},
    {"CAP_SYS_TIME", deny_time},
    {"CAP_SYS_MODULE", deny_module},
    {"CAP_SYS_BOOT", deny_boot},
    {"CAP_SYS_PTRACE", deny_ptrace},
    {"CAP_SYS_NICE", deny_nice},
    {"CAP_SYS_RAWIO", deny_rawio},
    {"CAP_SYS_PACCT", deny_pacct},
    {"CAP_SYSLOG", deny_syslog},
    {"CAP_SYS_TTY_CONFIG", deny_tty},
    {"CAP_DAC_READ_SEARCH", deny_dac},
};

/* CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: clone's
 * first argument on x86 (the architectures the profile names). */
static const int64_t clone_ns_flags[] = {0x00020000, 0x02000000, 0x04000000, 0x08000000,
                                         0x10000000, 0x20000000, 0x40000000};

static bool has_cap(const cs_strs *caps, const char *cap)
{
    for (size_t i = 0; i < caps->n; i++)
        if (strcmp(caps->items[i], cap) == 0)
            return true;
    return false;
}

static void write_default_seccomp(cs_jw *w, const cs_strs *caps)
{
    cs_jw_key(w, "seccomp");
    cs_jw_obj_begin(w);
    cs_jw_kv_str(w, "defaultAction", "SCMP_ACT_ALLOW");
    cs_jw_kv_strs(w, "architectures", (const char *[]){"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}, 3);
    cs_jw_key(w, "syscalls");
    cs_jw_arr_begin(w);
    cs_jw_obj_begin(w);
    cs_jw_key(w, "names");
    cs_jw_arr_begin(w);
    for (size_t g = 0; g < sizeof deny_groups / sizeof deny_groups[0]; g++) {
        if (deny_groups[g].cap && has_cap(caps, deny_groups[g].cap))
            continue;
        for (const char *const *n = deny_groups[g].names; *n; n++)
            cs_jw_string(w, *n);
    }
    cs_jw_arr_end(w);
    cs_jw_kv_str(w, "action", "SCMP_ACT_ERRNO");
    cs_jw_kv_int(w, "errnoRet", 1);
    cs_jw_obj_end(w);
    if (!has_cap(caps, "CAP_SYS_ADMIN")) {
        /* clone with any namespace flag, one rule per flag (a rule matches
         * when (flags & bit) == bit; rules for one call are alternatives) */
        for (size_t i = 0; i < sizeof clone_ns_flags / sizeof clone_ns_flags[0]; i++) {
            cs_jw_obj_begin(w);
            cs_jw_kv_strs(w, "names", (const char *[]){"clone"}, 1);
            cs_jw_kv_str(w, "action", "SCMP_ACT_ERRNO");
            cs_jw_kv_int(w, "errnoRet", 1);
            cs_jw_key(w, "args");
            cs_jw_arr_begin(w);
            cs_jw_obj_begin(w);
            cs_jw_kv_int(w, "index", 0);
            cs_jw_kv_int(w, "value", clone_ns_flags[i]);
            cs_jw_kv_int(w, "valueTwo", clone_ns_flags[i]);
            cs_jw_kv_str(w, "op", "SCMP_CMP_MASKED_EQ");
            cs_jw_obj_end(w);
            cs_jw_arr_end(w);
            cs_jw_obj_end(w);
        }
        /* clone3's flags can't be filtered: ENOSYS makes libc fall back to clone */
        cs_jw_obj_begin(w);
        cs_jw_kv_strs(w, "names", (const char *[]){"clone3"}, 1);
        cs_jw_kv_str(w, "action", "SCMP_ACT_ERRNO");
        cs_jw_kv_int(w, "errnoRet", 38);
        cs_jw_obj_end(w);
    }
    cs_jw_arr_end(w);
    cs_jw_obj_end(w);
}

static int write_seccomp(cs_jw *w, const cs_security_policy *p, const char *field, cs_error *err)
{
    if (p->seccomp.type == CS_PROFILE_UNCONFINED)
        return 0;
    if (p->seccomp.type == CS_PROFILE_RUNTIME_DEFAULT) {
        write_default_seccomp(w, &p->caps);
        return 0;
    }
    const char *c = p->seccomp.content;
    cs_json *j = NULL;
    cs_error perr;
    if (!c || cs_json_parse(c, strlen(c), &j, &perr) != 0 || cs_json_type_of(j, 0) != CS_JSON_OBJECT) {
        cs_json_free(j);
        return cs_error_set(err, CS_ERR_INVALID, "%s: localhost profile %s is not a JSON object", field,
                            p->seccomp.ref ? p->seccomp.ref : "");
    }
    size_t len;
    const char *raw = cs_json_raw(j, 0, &len);
    cs_jw_key(w, "seccomp");
    cs_jw_raw(w, raw, len);
    cs_json_free(j);
    return 0;
}

static void write_apparmor(cs_jw *w, const ctrd_spec_input *in)
{
    if (!in->apparmor_default)
        return;
    const cs_profile *p = &in->policy->apparmor;
    if (p->type == CS_PROFILE_RUNTIME_DEFAULT)
        cs_jw_kv_str(w, "apparmorProfile", in->apparmor_default);
    else if (p->type == CS_PROFILE_LOCALHOST && p->ref && *p->ref)
        cs_jw_kv_str(w, "apparmorProfile", p->ref);
}

/* ---- containers ---- */

typedef struct cri_device {
    const char *path, *type, *access;
    int64_t major, minor, mode, uid, gid;
} cri_device;

static int stat_devices(const cs_container_config *c, cs_arena *a, cri_device **out, cs_error *err)
{
    cri_device *d = cs_arena_array(a, c->n_devices + 1, sizeof *d);
    for (size_t i = 0; i < c->n_devices; i++) {
        const cs_device *cd = &c->devices[i];
        struct stat st;
        if (!cd->host_path || !*cd->host_path || stat(cd->host_path, &st) != 0)
            return cs_error_set(err, CS_ERR_INVALID, "config.devices[%zu].host_path: no device %s", i,
                                cd->host_path ? cd->host_path : "");
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
            return cs_error_set(err, CS_ERR_INVALID, "config.devices[%zu].host_path: %s is not a device", i,
                                cd->host_path);
        const char *perm = cd->permissions && *cd->permissions ? cd->permissions : "rwm";
        if (strspn(perm, "rwm") != strlen(perm))
            return cs_error_set(err, CS_ERR_INVALID, "config.devices[%zu].permissions: %s is not a subset of rwm", i,
                                perm);
        d[i] = (cri_device){
            .path = cd->container_path && *cd->container_path ? cd->container_path : cd->host_path,
            .type = S_ISCHR(st.st_mode) ? "c" : "b",
            .access = perm,
            .major = major(st.st_rdev),
            .minor = minor(st.st_rdev),
            .mode = st.st_mode & 07777,
            .uid = st.st_uid,
            .gid = st.st_gid,
        };
    }
    *out = d;
    return 0;
}

/* ---- a privileged container's host devices ---- */

typedef struct dev_list {
    cri_device *items;
    size_t n, cap;
    cs_arena *a;
} dev_list;

static void dev_append(dev_list *l, cri_device d)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        cri_device *items = cs_arena_array(l->a, cap, sizeof *items);
        if (l->n)
            memcpy(items, l->items, l->n * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = d;
}

static void dev_push(dev_list *l, const char *path, const struct stat *st)
{
    dev_append(l, (cri_device){
                      .path = path,
                      .type = S_ISCHR(st->st_mode) ? "c" : "b",
                      .access = "rwm",
                      .major = major(st->st_rdev),
                      .minor = minor(st->st_rdev),
                      .mode = st->st_mode & 07777,
                      .uid = st->st_uid,
                      .gid = st->st_gid,
                  });
}

/* The device nodes under dir, as runc's HostDevices finds them: not the
 * container's own pts, shm, mqueue or fd, nor the console runc makes. */
static void walk_devices(dev_list *l, const char *dir, int depth)
{
    static const char *const skip[] = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev", "console"};
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && l->n < 4096) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        bool skipped = false;
        for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
            skipped |= depth == 0 && strcmp(e->d_name, skip[i]) == 0;
        if (skipped)
            continue;
        char *path = cs_arena_printf(l->a, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 3)
            walk_devices(l, path, depth + 1);
        else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && st.st_rdev != 0)
            dev_push(l, path, &st);
    }
    closedir(d);
}

static int dev_cmp(const void *x, const void *y)
{
    return strcmp(((const cri_device *)x)->path, ((const cri_device *)y)->path);
}

/* CRI's devices, then (privileged) the host's under dev_root at the same
 * paths in the container, where CRI named no device there. */
static void all_devices(const ctrd_spec_input *in, const cri_device *cri, cs_arena *a, dev_list *out)
{
    memset(out, 0, sizeof *out);
    out->a = a;
    const cs_container_config *c = in->container;
    for (size_t i = 0; i < c->n_devices; i++)
        dev_append(out, cri[i]);
    if (!in->policy->privileged || !in->host_dev_root)
        return;
    dev_list host = {.a = a};
    walk_devices(&host, in->host_dev_root, 0);
    if (host.n > 1)
        qsort(host.items, host.n, sizeof *host.items, dev_cmp);
    size_t root_len = strlen(in->host_dev_root);
    for (size_t i = 0; i < host.n; i++) {
        cri_device d = host.items[i];
        d.path = cs_arena_printf(a, "/dev%s", d.path + root_len);
        bool named = false;
        for (size_t k = 0; k < c->n_devices; k++)
            named |= strcmp(cri[k].path, d.path) == 0;
        if (!named)
            dev_append(out, d);
    }
}

/* The character devices every container may use (Docker's and runc's default
 * allow list); -1: any. */
static const struct {
    const char *type;
    int64_t major, minor;
    const char *access;
} default_rules[] = {
    {"c", -1, -1, "m"}, {"b", -1, -1, "m"},   {"c", 1, 3, "rwm"},  {"c", 1, 8, "rwm"},
    {"c", 1, 7, "rwm"}, {"c", 5, 0, "rwm"},   {"c", 1, 5, "rwm"},  {"c", 1, 9, "rwm"},
    {"c", 5, 1, "rwm"}, {"c", 136, -1, "rwm"}, {"c", 5, 2, "rwm"}, {"c", 10, 200, "rwm"},
};

void ctrd_spec_write_limits(cs_jw *w, const cs_resources *r, bool swap)
{
    if (r->memory_limit != 0) {
        cs_jw_key(w, "memory");
        cs_jw_obj_begin(w);
        cs_jw_kv_int(w, "limit", r->memory_limit);
        if (swap) /* no swapping beyond the limit, as containerd */
            cs_jw_kv_int(w, "swap", r->memory_limit);
        cs_jw_obj_end(w);
    }
    bool cpu = r->cpu_shares != 0 || r->cpu_quota != 0 || r->cpu_period != 0 || (r->cpuset_cpus && *r->cpuset_cpus) ||
               (r->cpuset_mems && *r->cpuset_mems);
    if (cpu) {
        cs_jw_key(w, "cpu");
        cs_jw_obj_begin(w);
        if (r->cpu_shares != 0)
            cs_jw_kv_int(w, "shares", r->cpu_shares);
        if (r->cpu_quota != 0)
            cs_jw_kv_int(w, "quota", r->cpu_quota);
        if (r->cpu_period != 0)
            cs_jw_kv_int(w, "period", r->cpu_period);
        if (r->cpuset_cpus && *r->cpuset_cpus)
            cs_jw_kv_str(w, "cpus", r->cpuset_cpus);
        if (r->cpuset_mems && *r->cpuset_mems)
            cs_jw_kv_str(w, "mems", r->cpuset_mems);
        cs_jw_obj_end(w);
    }
    if (r->unified.n)
        write_kvs(w, "unified", &r->unified);
}

char *ctrd_spec_resources(const cs_resources *r, bool swap, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    ctrd_spec_write_limits(&w, r, swap);
    cs_jw_obj_end(&w);
    return take(&w, a);
}

static void write_container_resources(cs_jw *w, const cs_container_config *c, const cri_device *dev, bool privileged,
                                      bool swap)
{
    cs_jw_key(w, "resources");
    cs_jw_obj_begin(w);
    cs_jw_key(w, "devices");
    cs_jw_arr_begin(w);
    write_device_rule(w, false, NULL, -1, -1, "rwm");
    if (privileged) {
        write_device_rule(w, true, NULL, -1, -1, "rwm");
    } else {
        for (size_t i = 0; i < sizeof default_rules / sizeof default_rules[0]; i++)
            write_device_rule(w, true, default_rules[i].type, default_rules[i].major, default_rules[i].minor,
                              default_rules[i].access);
        for (size_t i = 0; i < c->n_devices; i++)
            write_device_rule(w, true, dev[i].type, dev[i].major, dev[i].minor, dev[i].access);
    }
    cs_jw_arr_end(w);
    if (c->has_resources)
        ctrd_spec_write_limits(w, &c->resources, swap);
    cs_jw_obj_end(w);
}

static int container_args(const cs_container_config *c, const mf_image_config *img, cs_arena *a, cs_strs *out,
                          cs_error *err)
{
    /* moby's rule: a CRI command replaces the entrypoint and drops the
     * image's cmd; CRI args alone replace only the cmd. */
    cs_strs cmd = c->command, args = c->args;
    if (cmd.n == 0) {
        if (img) {
            cmd = (cs_strs){img->entrypoint, img->n_entrypoint};
            if (args.n == 0)
                args = (cs_strs){img->cmd, img->n_cmd};
        }
    }
    if (cmd.n + args.n == 0)
        return cs_error_set(err, CS_ERR_INVALID, "config.command: no command specified (neither the request nor "
                                                 "the image gives one)");
    out->items = cs_arena_array(a, cmd.n + args.n, sizeof *out->items);
    out->n = 0;
    for (size_t i = 0; i < cmd.n; i++)
        out->items[out->n++] = cmd.items[i];
    for (size_t i = 0; i < args.n; i++)
        out->items[out->n++] = args.items[i];
    return 0;
}

static int container_user(const ctrd_spec_input *in, cs_arena *a, ctrd_spec_user *out, cs_error *err)
{
    const cs_security *s = &in->container->security;
    cs_user u;
    cs_security_user(s, in->image ? in->image->user : NULL, a, &u);
    const char *field = s->username && *s->username ? FIELD_USERNAME
                        : s->has_user             ? FIELD_USER
                        : s->has_group            ? FIELD_GROUP
                                                  : FIELD_IMAGE_USER;
    return ctrd_spec_resolve_user(&u, in->passwd, in->group, field, a, out, err);
}

static void container_mounts(const ctrd_spec_input *in, cs_arena *a, mount_list *defaults, mount_list *sup,
                             const char **rootfs_propagation)
{
    const cs_container_config *c = in->container;
    bool privileged = in->policy->privileged;
    bool ro = in->policy->readonly_rootfs;
    defaults->cap = 16;
    defaults->items = cs_arena_array(a, defaults->cap, sizeof *defaults->items);
    default_mounts(defaults, privileged, true);

    sup->cap = c->n_mounts + 8;
    sup->items = cs_arena_array(a, sup->cap, sizeof *sup->items);
    *rootfs_propagation = NULL;
    for (size_t k = 0; k < c->n_mounts; k++) {
        const cs_mount *m = &c->mounts[k];
        bind(sup, m->container_path, m->host_path, m->propagation, m->readonly);
        /* a shared or slave mount needs the rootfs to propagate too */
        if (m->propagation == 2)
            *rootfs_propagation = "rshared";
        else if (m->propagation == 1 && !*rootfs_propagation)
            *rootfs_propagation = "rslave";
    }
    /* then the sandbox's files, unless a CRI mount names the same place */
    struct {
        const char *dest, *src;
        bool ro;
    } extra[] = {
        {"/etc/hostname", in->facts.hostname_path, ro},
        {"/etc/hosts", in->facts.hosts_path, ro},
        {"/etc/resolv.conf", in->facts.resolv_path, ro},
        {"/dev/shm", in->sandbox->ipc == CS_NS_NODE ? "/dev/shm" : in->facts.shm_path, false},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        if (!extra[i].src)
            continue;
        bool named = false;
        for (size_t k = 0; k < c->n_mounts; k++)
            named |= strcmp(c->mounts[k].container_path, extra[i].dest) == 0;
        if (!named)
            bind(sup, extra[i].dest, extra[i].src, 0, extra[i].ro);
    }
}

static int check_container(const ctrd_spec_input *in, cs_error *err)
{
    const cs_container_config *c = in->container;
    if (!in->id || !in->sandbox || !c || !in->policy || !in->host)
        return cs_error_set(err, CS_ERR_INTERNAL, "container spec: incomplete input");
    for (size_t k = 0; k < c->n_mounts; k++) {
        const cs_mount *m = &c->mounts[k];
        if (!m->container_path || m->container_path[0] != '/')
            return cs_error_set(err, CS_ERR_INVALID, "config.mounts[%zu].container_path: must be absolute", k);
        if (!m->host_path || !*m->host_path)
            return cs_error_set(err, CS_ERR_INVALID, "config.mounts[%zu].host_path: is required", k);
        if (m->propagation < 0 || m->propagation > 2)
            return cs_error_set(err, CS_ERR_INVALID, "config.mounts[%zu].propagation: unknown value %d", k,
                                m->propagation);
    }
    if (c->pid == CS_NS_TARGET)
        return cs_error_set(err, CS_ERR_INVALID,
                            "config.linux.security_context.namespace_options.pid: TARGET is not supported");
    return 0;
}

int ctrd_spec_container(const ctrd_spec_input *in, cs_arena *a, char **json, cs_error *err)
{
    if (check_container(in, err) != 0)
        return -1;
    const cs_container_config *c = in->container;
    const cs_sandbox_config *sb = in->sandbox;
    const cs_security_policy *p = in->policy;
    const mf_image_config *img = in->image;
    cs_strs args = {0};
    ctrd_spec_user user = {0};
    cri_device *dev = NULL;
    if (container_args(c, img, a, &args, err) != 0 || container_user(in, a, &user, err) != 0 ||
        stat_devices(c, a, &dev, err) != 0)
        return -1;

    env_list env = {.items = cs_arena_array(a, 2 + (img ? img->n_env : 0) + c->envs.n, sizeof *env.items)};
    env_set(&env, DEFAULT_PATH);
    /* HOSTNAME: the pod's, else this host's (as containerd) */
    const char *hostname = in->facts.hostname && *in->facts.hostname ? in->facts.hostname : sb->hostname;
    char host[256] = "";
    if (!hostname || !*hostname) {
        if (gethostname(host, sizeof host - 1) != 0)
            host[0] = '\0';
        hostname = host;
    }
    if (*hostname)
        env_set(&env, cs_arena_printf(a, "HOSTNAME=%s", hostname));
    for (size_t i = 0; img && i < img->n_env; i++)
        env_set(&env, img->env[i]);
    for (size_t i = 0; i < c->envs.n; i++)
        env_set(&env, cs_arena_printf(a, "%s=%s", c->envs.items[i].key, c->envs.items[i].value ? c->envs.items[i].value : ""));
    const char *cwd = c->working_dir && *c->working_dir                   ? c->working_dir
                      : img && img->working_dir && *img->working_dir ? img->working_dir
                                                                         : "/";
    mount_list defaults = {0}, sup = {0};
    const char *rootfs_propagation;
    container_mounts(in, a, &defaults, &sup, &rootfs_propagation);

    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "ociVersion", OCI_VERSION);

    cs_jw_key(&w, "process");
    cs_jw_obj_begin(&w);
    cs_jw_kv_bool(&w, "terminal", c->tty);
    write_user(&w, &user, p);
    cs_jw_kv_strs(&w, "args", args.items, args.n);
    cs_jw_kv_strs(&w, "env", env.items, env.n);
    cs_jw_kv_str(&w, "cwd", cwd);
    write_caps(&w, &p->caps);
    write_rlimits(&w, in->nofile);
    cs_jw_kv_bool(&w, "noNewPrivileges", p->no_new_privs);
    write_apparmor(&w, in);
    int64_t oom = c->has_resources && c->resources.has_oom_score_adj
                      ? cs_security_oom_score_adj(in->host, c->resources.oom_score_adj)
                      : 0;
    cs_jw_kv_int(&w, "oomScoreAdj", oom);
    cs_jw_obj_end(&w);

    cs_jw_key(&w, "root");
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "path", "rootfs");
    cs_jw_kv_bool(&w, "readonly", p->readonly_rootfs);
    cs_jw_obj_end(&w);

    write_mounts(&w, &defaults, &sup);

    cs_jw_key(&w, "annotations");
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "io.kubernetes.cri.container-type", "container");
    cs_jw_kv_str(&w, "io.kubernetes.cri.container-name", c->name ? c->name : "");
    cs_jw_kv_str(&w, "io.kubernetes.cri.image-name", c->image ? c->image : "");
    cs_jw_kv_str(&w, "io.kubernetes.cri.sandbox-id", in->facts.id ? in->facts.id : c->sandbox_id);
    cs_jw_kv_str(&w, "io.kubernetes.cri.sandbox-name", sb->name ? sb->name : "");
    cs_jw_kv_str(&w, "io.kubernetes.cri.sandbox-namespace", sb->ns ? sb->ns : "");
    cs_jw_obj_end(&w);

    cs_jw_key(&w, "linux");
    cs_jw_obj_begin(&w);
    write_container_resources(&w, c, dev, p->privileged, in->swap_accounting);
    cs_jw_kv_str(&w, "cgroupsPath", ctrd_spec_cgroups_path(in->cgroup_driver, sb->cgroup_parent, in->id, a));
    cs_jw_key(&w, "namespaces");
    cs_jw_arr_begin(&w);
    int pid = in->facts.pause_pid;
    if (c->pid == CS_NS_POD)
        write_ns(&w, "pid", cs_arena_printf(a, "/proc/%d/ns/pid", pid));
    else if (c->pid == CS_NS_CONTAINER)
        write_ns(&w, "pid", NULL);
    if (sb->ipc != CS_NS_NODE)
        write_ns(&w, "ipc", cs_arena_printf(a, "/proc/%d/ns/ipc", pid));
    if (sb->net != CS_NS_NODE)
        write_ns(&w, "uts", cs_arena_printf(a, "/proc/%d/ns/uts", pid));
    write_ns(&w, "mount", NULL);
    if (sb->net != CS_NS_NODE)
        write_ns(&w, "network", cs_arena_printf(a, "/proc/%d/ns/net", pid));
    if (in->cgroup2 && !p->privileged) /* hides the host's hierarchy, as containerd on v2 */
        write_ns(&w, "cgroup", NULL);
    cs_jw_arr_end(&w);
    dev_list devs;
    all_devices(in, dev, a, &devs);
    if (devs.n) {
        cs_jw_key(&w, "devices");
        cs_jw_arr_begin(&w);
        for (size_t i = 0; i < devs.n; i++) {
            const cri_device *d = &devs.items[i];
            cs_jw_obj_begin(&w);
            cs_jw_kv_str(&w, "path", d->path);
            cs_jw_kv_str(&w, "type", d->type);
            cs_jw_kv_int(&w, "major", d->major);
            cs_jw_kv_int(&w, "minor", d->minor);
            cs_jw_kv_int(&w, "fileMode", d->mode);
            cs_jw_kv_int(&w, "uid", d->uid);
            cs_jw_kv_int(&w, "gid", d->gid);
            cs_jw_obj_end(&w);
        }
        cs_jw_arr_end(&w);
    }
    if (write_seccomp(&w, p, "config.linux.security_context.seccomp", err) != 0) {
        cs_jw_free(&w);
        return -1;
    }
    if (rootfs_propagation)
        cs_jw_kv_str(&w, "rootfsPropagation", rootfs_propagation);
    if (!p->privileged)
        write_paths(&w, p);
    cs_jw_obj_end(&w);

    cs_jw_obj_end(&w);
    *json = take(&w, a);
    return 0;
}

/* ---- the sandbox ---- */

int ctrd_spec_sandbox(const ctrd_spec_input *in, cs_arena *a, char **json, cs_error *err)
{
    if (!in->id || !in->sandbox || !in->policy || !in->host)
        return cs_error_set(err, CS_ERR_INTERNAL, "sandbox spec: incomplete input");
    const cs_sandbox_config *sb = in->sandbox;
    const cs_security_policy *p = in->policy;
    const mf_image_config *img = in->image;
    if (!img || img->n_entrypoint + img->n_cmd == 0)
        return cs_error_set(err, CS_ERR_INVALID, "pause image: its config has no entrypoint or cmd");
    if (sb->net != CS_NS_NODE && (!in->facts.netns_path || !*in->facts.netns_path))
        return cs_error_set(err, CS_ERR_INTERNAL, "sandbox spec: no network namespace path");
    if (sb->pid == CS_NS_TARGET)
        return cs_error_set(err, CS_ERR_INVALID,
                            "config.linux.security_context.namespace_options.pid: TARGET is not supported");

    env_list env = {.items = cs_arena_array(a, 1 + img->n_env, sizeof *env.items)};
    env_set(&env, DEFAULT_PATH);
    for (size_t i = 0; i < img->n_env; i++)
        env_set(&env, img->env[i]);
    /* the pod's run_as_user / run_as_group, else the pause image's User */
    cs_user u;
    cs_security_user(&sb->security, img->user, a, &u);
    ctrd_spec_user user = {0};
    if (ctrd_spec_resolve_user(&u, in->passwd, in->group,
                               sb->security.has_user    ? "config.linux.security_context.run_as_user"
                               : sb->security.has_group ? "config.linux.security_context.run_as_group"
                                                        : "pause image config User",
                               a, &user, err) != 0)
        return -1;

    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "ociVersion", OCI_VERSION);

    cs_jw_key(&w, "process");
    cs_jw_obj_begin(&w);
    cs_jw_kv_bool(&w, "terminal", false);
    write_user(&w, &user, p);
    cs_jw_key(&w, "args");
    cs_jw_arr_begin(&w);
    for (size_t i = 0; i < img->n_entrypoint; i++)
        cs_jw_string(&w, img->entrypoint[i]);
    for (size_t i = 0; i < img->n_cmd; i++)
        cs_jw_string(&w, img->cmd[i]);
    cs_jw_arr_end(&w);
    cs_jw_kv_strs(&w, "env", env.items, env.n);
    cs_jw_kv_str(&w, "cwd", img->working_dir && *img->working_dir ? img->working_dir : "/");
    write_caps(&w, &p->caps);
    cs_jw_kv_bool(&w, "noNewPrivileges", p->no_new_privs);
    int64_t oom;
    if (cs_security_sandbox_oom_score_adj(in->host, &oom))
        cs_jw_kv_int(&w, "oomScoreAdj", oom);
    cs_jw_obj_end(&w);

    cs_jw_key(&w, "root");
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "path", "rootfs");
    cs_jw_kv_bool(&w, "readonly", true);
    cs_jw_obj_end(&w);

    const char *hostname = in->facts.hostname ? in->facts.hostname : sb->hostname;
    if (sb->net != CS_NS_NODE && hostname && *hostname)
        cs_jw_kv_str(&w, "hostname", hostname);

    spec_mount dm[16], sm[4];
    mount_list defaults = {dm, 0, 16}, sup = {sm, 0, 4};
    default_mounts(&defaults, false, false);
    const char *shm = sb->ipc == CS_NS_NODE ? "/dev/shm" : in->facts.shm_path;
    const char *const ro_bind[] = {"rbind", "ro", NULL};
    if (shm)
        opts(mount_add(&sup, "/dev/shm", "bind", shm), ro_bind);
    if (in->facts.resolv_path)
        opts(mount_add(&sup, "/etc/resolv.conf", "bind", in->facts.resolv_path), ro_bind);
    write_mounts(&w, &defaults, &sup);

    cs_jw_key(&w, "annotations");
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "io.kubernetes.cri.container-type", "sandbox");
    cs_jw_kv_str(&w, "io.kubernetes.cri.sandbox-id", in->id);
    cs_jw_kv_str(&w, "io.kubernetes.cri.sandbox-name", sb->name ? sb->name : "");
    cs_jw_kv_str(&w, "io.kubernetes.cri.sandbox-namespace", sb->ns ? sb->ns : "");
    cs_jw_kv_str(&w, "io.kubernetes.cri.sandbox-uid", sb->uid ? sb->uid : "");
    if (sb->log_directory && *sb->log_directory)
        cs_jw_kv_str(&w, "io.kubernetes.cri.sandbox-log-directory", sb->log_directory);
    cs_jw_obj_end(&w);

    cs_jw_key(&w, "linux");
    cs_jw_obj_begin(&w);
    if (sb->sysctls.n)
        write_kvs(&w, "sysctl", &sb->sysctls);
    cs_jw_key(&w, "resources");
    cs_jw_obj_begin(&w);
    cs_jw_key(&w, "devices");
    cs_jw_arr_begin(&w);
    write_device_rule(&w, false, NULL, -1, -1, "rwm");
    cs_jw_arr_end(&w);
    cs_jw_key(&w, "cpu");
    cs_jw_obj_begin(&w);
    cs_jw_kv_int(&w, "shares", SANDBOX_CPU_SHARES);
    cs_jw_obj_end(&w);
    cs_jw_obj_end(&w);
    cs_jw_kv_str(&w, "cgroupsPath", ctrd_spec_cgroups_path(in->cgroup_driver, sb->cgroup_parent, in->id, a));
    cs_jw_key(&w, "namespaces");
    cs_jw_arr_begin(&w);
    if (sb->pid != CS_NS_NODE)
        write_ns(&w, "pid", NULL);
    if (sb->ipc != CS_NS_NODE)
        write_ns(&w, "ipc", NULL);
    if (sb->net != CS_NS_NODE)
        write_ns(&w, "uts", NULL);
    write_ns(&w, "mount", NULL);
    if (sb->net != CS_NS_NODE)
        write_ns(&w, "network", in->facts.netns_path);
    cs_jw_arr_end(&w);
    /* the default is dropped, the pod's own profile applies */
    if (write_seccomp(&w, p, "config.linux.security_context.seccomp", err) != 0) {
        cs_jw_free(&w);
        return -1;
    }
    write_paths(&w, p);
    cs_jw_obj_end(&w);

    cs_jw_obj_end(&w);
    *json = take(&w, a);
    return 0;
}
