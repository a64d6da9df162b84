/* Containers on containerd: a container record (crishim's labels, the state
 * extension, the OCI spec crishim writes) over a snapshot of its image, and
 * a task with FIFOs for stdio (stdio.c turns them into the CRI log) while it
 * runs. Everything CRI reports back is read from containerd: the labels, the
 * extension (FIFO directory, stop signal, image, resources, start time and
 * the exit) and the task.
 *
 * The container's extension, CTRD_EXT_STATE (a stored format):
 *   {"fifo":"<state-dir>/fifo/<id>","tty":false,"stdin":false,"stdin_once":false,
 *    "stop_signal":15,
 *    "image_id":"sha256:…","image_ref":"<repo digest or id>",
 *    "res":{"cpu_period":…,"cpu_quota":…,"cpu_shares":…,"memory":…,
 *           "oom_score_adj":…,"cpuset_cpus":"…","cpuset_mems":"…"},
 *    "started_ns":…,
 *    "exit":{"code":…,"at_ns":…,"oom":bool,"reason":"…","message":"…"}}
 * Its state: a task that runs → RUNNING; a task that stopped → EXITED with
 * the task's exit (recorded, and the task deleted, on first sight: events,
 * the relist at start, or any status call); no task and an exit recorded →
 * EXITED; no task, never started → CREATED. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "backend/security.h"
#include "backend/state.h"
#include "containerd/containers.h"
#include "containerd/content.h"
#include "containerd/events.h"
#include "containerd/images.h"
#include "containerd/internal.h"
#include "containerd/runtime.h"
#include "containerd/sandbox.h"
#include "containerd/spec.h"
#include "containerd/stdio.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define FIFO_DIRS "fifo"
/* The most of an image's /etc/passwd or /etc/group read. */
#define ACCOUNTS_MAX (1024 * 1024)
/* How long a SIGKILLed task may take to be reported gone. */
#define KILL_WAIT_MS 10000
/* containerd's CRI: a task that could not start exits 128, StartError. */
#define START_ERROR_CODE 128
#define START_ERROR_REASON "StartError"
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* ---- the state extension ---- */

typedef struct ctr_state {
    const char *fifo;
    bool tty, stdin_, stdin_once;
    int stop_signal;
    const char *image_id, *image_ref;
    bool has_resources;
    cs_resources res;
    int64_t started_ns;
    bool exited;
    int32_t exit_code;
    int64_t exit_ns;
    bool oom;
    const char *reason, *message; /* NULL: from the code */
} ctr_state;

static void state_parse(const char *json, cs_arena *a, ctr_state *st)
{
    memset(st, 0, sizeof *st);
    st->stop_signal = SIGTERM;
    cs_json *j;
    if (!json || cs_json_parse(json, strlen(json), &j, NULL) != 0)
        return;
    st->fifo = cs_json_get_str(j, 0, "fifo", a);
    st->tty = cs_json_get_bool(j, 0, "tty", false);
    st->stdin_ = cs_json_get_bool(j, 0, "stdin", false);
    st->stdin_once = cs_json_get_bool(j, 0, "stdin_once", false);
    st->stop_signal = (int)cs_json_get_int64(j, 0, "stop_signal", SIGTERM);
    st->image_id = cs_json_get_str(j, 0, "image_id", a);
    st->image_ref = cs_json_get_str(j, 0, "image_ref", a);
    int r = cs_json_key(j, 0, "res");
    if (r >= 0) {
        st->has_resources = true;
        st->res.cpu_period = cs_json_get_int64(j, r, "cpu_period", 0);
        st->res.cpu_quota = cs_json_get_int64(j, r, "cpu_quota", 0);
        st->res.cpu_shares = cs_json_get_int64(j, r, "cpu_shares", 0);
        st->res.memory_limit = cs_json_get_int64(j, r, "memory", 0);
        st->res.oom_score_adj = cs_json_get_int64(j, r, "oom_score_adj", 0);
        st->res.cpuset_cpus = cs_json_get_str(j, r, "cpuset_cpus", a);
        st->res.cpuset_mems = cs_json_get_str(j, r, "cpuset_mems", a);
    }
    st->started_ns = cs_json_get_int64(j, 0, "started_ns", 0);
    int e = cs_json_key(j, 0, "exit");
    if (cs_json_type_of(j, e) == CS_JSON_OBJECT) {
        st->exited = true;
        st->exit_code = (int32_t)cs_json_get_int64(j, e, "code", 0);
        st->exit_ns = cs_json_get_int64(j, e, "at_ns", 0);
        st->oom = cs_json_get_bool(j, e, "oom", false);
        st->reason = cs_json_get_str(j, e, "reason", a);
        st->message = cs_json_get_str(j, e, "message", a);
    }
    cs_json_free(j);
}

static const char *state_format(const ctr_state *st, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "fifo", st->fifo ? st->fifo : "");
    cs_jw_kv_bool(&w, "tty", st->tty);
    cs_jw_kv_bool(&w, "stdin", st->stdin_);
    cs_jw_kv_bool(&w, "stdin_once", st->stdin_once);
    cs_jw_kv_int(&w, "stop_signal", st->stop_signal);
    cs_jw_kv_str(&w, "image_id", st->image_id ? st->image_id : "");
    cs_jw_kv_str(&w, "image_ref", st->image_ref ? st->image_ref : "");
    if (st->has_resources) {
        const cs_resources *r = &st->res;
        cs_jw_key(&w, "res");
        cs_jw_obj_begin(&w);
        cs_jw_kv_int(&w, "cpu_period", r->cpu_period);
        cs_jw_kv_int(&w, "cpu_quota", r->cpu_quota);
        cs_jw_kv_int(&w, "cpu_shares", r->cpu_shares);
        cs_jw_kv_int(&w, "memory", r->memory_limit);
        cs_jw_kv_int(&w, "oom_score_adj", r->oom_score_adj);
        cs_jw_kv_str(&w, "cpuset_cpus", r->cpuset_cpus ? r->cpuset_cpus : "");
        cs_jw_kv_str(&w, "cpuset_mems", r->cpuset_mems ? r->cpuset_mems : "");
        cs_jw_obj_end(&w);
    }
    if (st->started_ns)
        cs_jw_kv_int(&w, "started_ns", st->started_ns);
    if (st->exited) {
        cs_jw_key(&w, "exit");
        cs_jw_obj_begin(&w);
        cs_jw_kv_int(&w, "code", st->exit_code);
        cs_jw_kv_int(&w, "at_ns", st->exit_ns);
        cs_jw_kv_bool(&w, "oom", st->oom);
        if (st->reason)
            cs_jw_kv_str(&w, "reason", st->reason);
        if (st->message)
            cs_jw_kv_str(&w, "message", st->message);
        cs_jw_obj_end(&w);
    }
    cs_jw_obj_end(&w);
    const char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

static const char *fifo_dir(ctrd_backend *d, const char *id, cs_arena *a)
{
    return cs_arena_printf(a, "%s/" FIFO_DIRS "/%s", d->state_dir, id);
}

/* ---- finding a container ---- */

static bool is_container(const ctrd_record *r)
{
    const char *kind = cs_state_get(&r->labels, CS_STATE_KIND);
    return kind && !strcmp(kind, CS_STATE_KIND_CONTAINER);
}

/* The record id names (a full id or a unique prefix), with its spec.
 * NOT_FOUND "container <id> not found" when none. */
static int lookup(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_record *out, cs_error *err)
{
    const char *full = id;
    if (!cs_state_is_full_id(id)) {
        ctrd_record *recs;
        size_t n;
        if (ctrd_record_list(d, ctx, CS_STATE_KIND_CONTAINER, NULL, NULL, a, &recs, &n, err) != 0)
            return cs_error_wrap(err, "container %s", id);
        const char **ids = cs_arena_array(a, n + 1, sizeof *ids);
        for (size_t i = 0; i < n; i++)
            ids[i] = recs[i].id;
        if (cs_state_resolve_prefix("container", id, ids, n, &full, err) != 0)
            return -1;
    }
    cs_error e;
    if (ctrd_record_get(d, ctx, full, a, out, &e) != 0) {
        if (e.code == CS_ERR_NOT_FOUND)
            return cs_error_set(err, CS_ERR_NOT_FOUND, "container %s not found", id);
        if (err)
            *err = e;
        return cs_error_wrap(err, "container %s", id);
    }
    if (!is_container(out))
        return cs_error_set(err, CS_ERR_NOT_FOUND, "container %s not found", id);
    return 0;
}

int ctrd_container_find(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_record *out,
                        cs_error *err)
{
    return lookup(d, ctx, id, a, out, err);
}

void ctrd_container_stdio_of(const ctrd_record *r, cs_arena *a, ctrd_container_stdio *out)
{
    ctr_state st;
    state_parse(r->state_json, a, &st);
    out->fifo = st.fifo && *st.fifo ? st.fifo : NULL;
    out->tty = st.tty;
    out->stdin_ = st.stdin_;
    out->stdin_once = st.stdin_once;
}

/* lookup, with an absent container as 1 (stop and remove are idempotent). */
static int lookup_or_gone(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_record *out,
                          cs_error *err)
{
    cs_error e;
    if (lookup(d, ctx, id, a, out, &e) == 0)
        return 0;
    if (e.code == CS_ERR_NOT_FOUND)
        return 1;
    if (err)
        *err = e;
    return -1;
}

/* What an op does to the record it names (arg: the op's own input). */
typedef int (*record_fn)(ctrd_backend *d, const cs_ctx *ctx, const ctrd_record *r, const void *arg, cs_arena *a,
                         cs_error *err);

/* An op on one container in an arena of its own: lookup (an absent one is
 * success when absent_ok: stop and remove are idempotent), then fn, its
 * error saying "<what> container <id>". */
static int on_record(cs_backend *b, const cs_ctx *ctx, const char *id, bool absent_ok, record_fn fn,
                     const void *arg, const char *what, cs_error *err)
{
    cs_error local;
    if (!err) /* callers that only want success or not; the ops read it */
        err = &local;
    ctrd_backend *d = ctrd_of(b);
    cs_arena *a = cs_arena_new();
    ctrd_record r;
    int rc = absent_ok ? lookup_or_gone(d, ctx, id, a, &r, err) : lookup(d, ctx, id, a, &r, err);
    if (rc == 0 && fn(d, ctx, &r, arg, a, err) != 0)
        rc = cs_error_wrap(err, "%s container %s", what, id);
    cs_arena_free(a);
    return rc < 0 ? -1 : 0;
}

/* ---- OOM: the cgroup's own count, read before the task is deleted ---- */

static bool cgroup_oom_killed(const char *spec_json, cs_arena *a)
{
    cs_json *j;
    if (!spec_json || cs_json_parse(spec_json, strlen(spec_json), &j, NULL) != 0)
        return false;
    const char *rel = ctrd_cgroup_dir(cs_json_get_str(j, 0, "linux.cgroupsPath", a), a);
    cs_json_free(j);
    if (!rel)
        return false;
    struct statfs sf;
    bool v2 = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
    const char *file = v2 ? cs_arena_printf(a, "/sys/fs/cgroup%s/memory.events", rel)
                          : cs_arena_printf(a, "/sys/fs/cgroup/memory%s/memory.oom_control", rel);
    char *text;
    size_t len;
    if (cs_read_file(file, 65536, &text, &len, NULL) != 0)
        return false;
    const char *k = strstr(text, "oom_kill ");
    bool killed = k && strtoull(k + 9, NULL, 10) > 0;
    free(text);
    return killed;
}

/* ---- the exit ---- */

/* The exit into the record's state (*st: the state now), then the task
 * deleted. An exit recorded already stays as it was. */
static int record_exit(ctrd_backend *d, const cs_ctx *ctx, const ctrd_record *r, uint32_t exit_status,
                       int64_t exited_ns, cs_arena *a, ctr_state *st, cs_error *err)
{
    state_parse(r->state_json, a, st);
    if (!st->exited) {
        st->exited = true;
        st->exit_code = (int32_t)exit_status;
        st->exit_ns = exited_ns ? exited_ns : cs_time_now_ns();
        /* the kernel's word, while the task (and so its cgroup) is still there */
        st->oom = ctrd_events_oom(d, r->id) || cgroup_oom_killed(r->spec_json, a);
        if (ctrd_record_set_state(d, ctx, r->id, state_format(st, a), a, err) != 0)
            return cs_error_wrap(err, "record the exit of container %s", r->id);
    }
    if (ctrd_task_delete(d, ctx, r->id, NULL, NULL, err) != 0)
        return cs_error_wrap(err, "delete the task of container %s", r->id);
    return 0;
}

int ctrd_container_exited(ctrd_backend *d, const cs_ctx *ctx, const char *id, uint32_t exit_status,
                          int64_t exited_ns, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    ctrd_record r;
    cs_error e;
    int rc = 0;
    if (ctrd_record_get(d, ctx, id, a, &r, &e) != 0) {
        /* no record: nothing to keep, but no shim should linger either */
        if (e.code != CS_ERR_NOT_FOUND) {
            if (err)
                *err = e;
            rc = -1;
        } else {
            rc = ctrd_task_delete(d, ctx, id, NULL, NULL, err);
        }
    } else {
        ctr_state st;
        rc = record_exit(d, ctx, &r, exit_status, exited_ns, a, &st, err);
    }
    cs_arena_free(a);
    return rc;
}

/* ---- the image's accounts, read from its layers without mounting ---- */

/* One layer's etc/<name>: 1 found (*out), 0 absent here (look below), -1
 * hidden from here down (a whiteout, an opaque /etc, a symlink we don't
 * follow). */
static int layer_file(const char *layer, const char *name, cs_arena *a, char **out)
{
    int root = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return 0;
    int rc = 0;
    struct stat st;
    int etc = -1;
    if (fstatat(root, "etc", &st, AT_SYMLINK_NOFOLLOW) != 0) {
        rc = 0;
    } else if (!S_ISDIR(st.st_mode)) {
        rc = -1; /* a whiteout, or a symlinked /etc */
    } else if ((etc = openat(root, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        rc = -1;
    } else if (fstatat(etc, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        rc = -1;
        int fd = S_ISREG(st.st_mode) ? openat(etc, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
        if (fd >= 0) {
            char *buf = cs_arena_alloc(a, ACCOUNTS_MAX + 1);
            size_t got = 0;
            ssize_t n;
            while (got < ACCOUNTS_MAX && (n = read(fd, buf + got, ACCOUNTS_MAX - got)) > 0)
                got += (size_t)n;
            buf[got] = '\0';
            *out = buf;
            rc = 1;
            close(fd);
        }
    } else {
        char v[4] = {0};
        bool opaque = fgetxattr(etc, "trusted.overlay.opaque", v, sizeof v - 1) > 0 && v[0] == 'y';
        opaque = opaque || (fgetxattr(etc, "user.overlay.opaque", v, sizeof v - 1) > 0 && v[0] == 'y');
        rc = opaque ? -1 : 0;
    }
    if (etc >= 0)
        close(etc);
    close(root);
    return rc;
}

/* The rootfs's /etc/<name> (NULL when absent): the snapshot's layers top
 * first, as overlayfs would show them. */
static char *rootfs_file(const ctrd_mount *m, size_t n, const char *name, cs_arena *a)
{
    for (size_t i = 0; i < n; i++) {
        if (m[i].type && !strcmp(m[i].type, "bind")) {
            char *out = NULL;
            return layer_file(m[i].source, name, a, &out) == 1 ? out : NULL;
        }
        for (size_t k = 0; k < m[i].n_options; k++) {
            const char *o = m[i].options[k];
            if (strncmp(o, "lowerdir=", 9) != 0)
                continue;
            for (const char *p = o + 9; *p;) {
                const char *colon = strchr(p, ':');
                size_t len = colon ? (size_t)(colon - p) : strlen(p);
                char *out = NULL;
                int rc = layer_file(cs_arena_strndup(a, p, len), name, a, &out);
                if (rc != 0)
                    return rc == 1 ? out : NULL;
                p += len + (colon ? 1 : 0);
            }
        }
    }
    return NULL;
}

/* ---- the host, as the spec needs it ---- */

static const char *apparmor_default(cs_arena *a)
{
    char *on;
    size_t len;
    if (cs_read_file("/sys/module/apparmor/parameters/enabled", 16, &on, &len, NULL) != 0)
        return NULL;
    bool enabled = on[0] == 'Y';
    free(on);
    char *profiles;
    if (!enabled || cs_read_file("/sys/kernel/security/apparmor/profiles", 1 << 20, &profiles, &len, NULL) != 0)
        return NULL;
    /* the profile RuntimeDefault names must be loaded already: crishim loads none */
    const char *names[] = {"cri-containerd.apparmor.d", "docker-default"};
    const char *found = NULL;
    for (size_t i = 0; i < 2 && !found; i++) {
        const char *p = strstr(profiles, names[i]);
        if (p && (p == profiles || p[-1] == '\n') && p[strlen(names[i])] == ' ')
            found = cs_arena_strdup(a, names[i]);
    }
    free(profiles);
    return found;
}

static void host_facts(ctrd_spec_input *in, cs_arena *a)
{
    struct statfs sf;
    in->cgroup2 = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
    in->swap_accounting =
        in->cgroup2 ? access("/sys/fs/cgroup/init.scope/memory.swap.max", F_OK) == 0 ||
                          access("/sys/fs/cgroup/system.slice/memory.swap.max", F_OK) == 0
                    : access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
    in->apparmor_default = apparmor_default(a);
    in->host_dev_root = "/dev";
    in->nofile = 0; /* containerd's CRI: the shim's own limit */
}

/* ---- create ---- */

static const struct {
    const char *name;
    int num;
} signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"POLL", SIGPOLL}, {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

/* An image config's StopSignal ("SIGQUIT", "QUIT", "3", "SIGRTMIN+3");
 * SIGTERM when absent or unknown. */
static int parse_signal(const char *s)
{
    if (!s || !*s)
        return SIGTERM;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == '\0')
        return v > 0 && v < 65 ? (int)v : SIGTERM;
    if (!strncasecmp(s, "SIG", 3))
        s += 3;
    if (!strncasecmp(s, "RTMIN", 5) || !strncasecmp(s, "RTMAX", 5)) {
        bool min = !strncasecmp(s, "RTMIN", 5);
        long off = s[5] == '+' || s[5] == '-' ? strtol(s + 5, &end, 10) : 0;
        int sig = (min ? SIGRTMIN : SIGRTMAX) + (int)off;
        return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : SIGTERM;
    }
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
        if (!strcasecmp(s, signal_names[i].name))
            return signal_names[i].num;
    return SIGTERM;
}

/* A container name is unique in its pod (name and attempt), as CRI wants. */
static int check_name(ctrd_backend *d, const cs_ctx *ctx, const cs_container_config *c, const char *sandbox_id,
                      cs_arena *a, cs_error *err)
{
    ctrd_record *recs;
    size_t n;
    if (ctrd_record_list(d, ctx, CS_STATE_KIND_CONTAINER, CS_STATE_SANDBOX_ID, sandbox_id, a, &recs, &n, err) != 0)
        return cs_error_wrap(err, "containers of sandbox %s", sandbox_id);
    const char *attempt = cs_arena_printf(a, "%u", c->attempt);
    for (size_t i = 0; i < n; i++) {
        const char *name = cs_state_get(&recs[i].labels, CS_STATE_NAME);
        const char *att = cs_state_get(&recs[i].labels, CS_STATE_ATTEMPT);
        if (name && att && !strcmp(name, c->name) && !strcmp(att, attempt))
            return cs_error_set(err, CS_ERR_EXISTS, "container %s (attempt %u) already exists in sandbox %s as %s",
                                c->name, c->attempt, sandbox_id, recs[i].id);
    }
    return 0;
}

/* Bind mounts of host paths that don't exist yet: made as directories, as
 * Docker and containerd's CRI make them. */
static int make_host_paths(const cs_container_config *c, cs_error *err)
{
    for (size_t i = 0; i < c->n_mounts; i++) {
        const char *p = c->mounts[i].host_path;
        struct stat st;
        if (p && *p == '/' && stat(p, &st) != 0 && errno == ENOENT && cs_mkdir_p(p, 0755, err) != 0)
            return cs_error_wrap(err, "mounts[%zu].host_path", i);
    }
    return 0;
}

typedef struct create_job {
    ctrd_backend *d;
    const cs_container_config *cfg;
    ctrd_sandbox_view sb;
    ctrd_image_use img;
    const char *image_ref;
    const char *id, *log_path, *fifo;
    const char *lease;
    bool snapshot, fifos;
} create_job;

static int image_of(create_job *j, const cs_ctx *ctx, cs_arena *a, cs_error *err)
{
    cs_error e;
    if (ctrd_image_use_get(j->d, ctx, j->cfg->image, a, &j->img, &e) != 0) {
        if (e.code == CS_ERR_NOT_FOUND)
            return cs_error_set(err, CS_ERR_NOT_FOUND, "image %s is not present: pull it first", j->cfg->image);
        if (err)
            *err = e;
        return -1;
    }
    cs_image *img;
    j->image_ref = j->img.id;
    if (ctrd_image_find(j->d, ctx, j->img.id, a, &img, NULL) == 0 && img && img->n_repo_digests)
        j->image_ref = img->repo_digests[0];
    return 0;
}

static int render_spec(create_job *j, const ctrd_mount *m, size_t nm, cs_arena *a, char **spec, cs_error *err)
{
    cs_security_host host;
    cs_security_host_probe(0, &host);
    cs_security_policy policy;
    cs_security_decide(&j->cfg->security, &host, a, &policy);
    ctrd_spec_input in = {
        .id = j->id,
        .sandbox = &j->sb.config,
        .container = j->cfg,
        .image = &j->img.config,
        .policy = &policy,
        .host = &host,
        .facts = j->sb.facts,
        .cgroup_driver = j->d->cgroup_driver,
        .passwd = rootfs_file(m, nm, "passwd", a),
        .group = rootfs_file(m, nm, "group", a),
    };
    host_facts(&in, a);
    return ctrd_spec_container(&in, a, spec, err);
}

static int create_steps(create_job *j, const cs_ctx *ctx, cs_arena *a, cs_error *err)
{
    ctrd_backend *d = j->d;
    const cs_container_config *cfg = j->cfg;
    if (ctrd_sandbox_facts(d, ctx, cfg->sandbox_id, a, &j->sb, err) != 0)
        return cs_error_wrap(err, "pod sandbox");
    if (!j->sb.ready)
        return cs_error_set(err, CS_ERR_CONFLICT, "pod sandbox %s is not ready: create containers in a running pod",
                            cfg->sandbox_id);
    if (check_name(d, ctx, cfg, j->sb.id, a, err) != 0 || image_of(j, ctx, a, err) != 0 ||
        make_host_paths(cfg, err) != 0 || ctrd_record_new_id(a, &j->id, err) != 0)
        return -1;
    if (cfg->log_path && *cfg->log_path && j->sb.config.log_directory && *j->sb.config.log_directory)
        j->log_path = cs_arena_printf(a, "%s/%s", j->sb.config.log_directory, cfg->log_path);
    /* a lease keeps the new snapshot from the GC until the record holds it */
    if (ctrd_lease_create(d->client, ctx, "container", a, &j->lease, err) != 0)
        return cs_error_wrap(err, "lease");
    ctrd_mount *m;
    size_t nm;
    if (ctrd_snapshot_prepare(d, ctx, j->lease, j->id, *j->img.top_chain ? j->img.top_chain : NULL, a, &m, &nm,
                              err) != 0)
        return cs_error_wrap(err, "snapshot of %s", cfg->image);
    j->snapshot = true;
    char *spec;
    if (render_spec(j, m, nm, a, &spec, err) != 0)
        return -1;
    /* FIFOs whether or not there is a log: attach reads the output and
     * writes stdin through them, as containerd's CRI always makes them */
    j->fifo = fifo_dir(d, j->id, a);
    j->fifos = true;
    if (ctrd_io_mkfifos(j->fifo, cfg->tty, err) != 0 || (cfg->stdin_ && ctrd_io_mkfifo_stdin(j->fifo, err) != 0))
        return cs_error_wrap(err, "container stdio");
    ctr_state st = {
        .fifo = j->fifo,
        .tty = cfg->tty,
        .stdin_ = cfg->stdin_,
        .stdin_once = cfg->stdin_once,
        .stop_signal = parse_signal(j->img.config.stop_signal),
        .image_id = j->img.id,
        .image_ref = j->image_ref,
        .has_resources = cfg->has_resources,
        .res = cfg->resources,
    };
    cs_kvs labels = cs_state_container_labels(cfg, j->sb.id, j->log_path ? j->log_path : "", cs_time_now_ns(), a);
    ctrd_record_new rn = {.id = j->id,
                          .labels = &labels,
                          .image = j->img.id,
                          .snapshot_key = j->id,
                          .state_json = state_format(&st, a),
                          .spec_json = spec};
    if (ctrd_record_create(d, ctx, j->lease, &rn, a, err) != 0)
        return cs_error_wrap(err, "container record");
    return 0;
}

int ctrd_container_create(cs_backend *b, const cs_ctx *ctx, const cs_container_config *cfg, cs_arena *a,
                          const char **id, cs_error *err)
{
    create_job j = {.d = ctrd_of(b), .cfg = cfg};
    int rc = create_steps(&j, ctx, a, err);
    if (rc != 0) {
        /* undo with time of its own: the request's may be what ran out */
        cs_ctx c = cs_ctx_within(NULL, KILL_WAIT_MS);
        if (j.snapshot)
            ctrd_snapshot_remove(j.d, &c, j.id, NULL);
        if (j.fifos)
            ctrd_io_rmfifos(j.fifo, NULL);
    }
    if (j.lease)
        ctrd_lease_delete(j.d->client, j.lease);
    if (rc != 0)
        return cs_error_wrap(err, "create container %s", cfg->name ? cfg->name : "");
    *id = j.id;
    cs_info("container created", "name", cfg->name, "id", j.id, "sandbox", j.sb.id, NULL);
    return 0;
}

/* ---- start ---- */

/* The start failed: recorded as containerd's CRI records it, so the status
 * says EXITED with StartError rather than CREATED forever. */
static void start_failed(ctrd_backend *d, const ctrd_record *r, ctr_state *st, const cs_error *why, cs_arena *a)
{
    cs_ctx c = cs_ctx_within(NULL, KILL_WAIT_MS);
    ctrd_task_kill(d, &c, r->id, NULL, SIGKILL, true, NULL);
    ctrd_task_delete(d, &c, r->id, NULL, NULL, NULL);
    st->exited = true;
    st->exit_code = START_ERROR_CODE;
    st->exit_ns = cs_time_now_ns();
    st->reason = START_ERROR_REASON;
    st->message = why->msg;
    ctrd_record_set_state(d, &c, r->id, state_format(st, a), a, NULL);
}

static int start_record(ctrd_backend *d, const cs_ctx *ctx, const ctrd_record *r, const void *arg, cs_arena *a,
                        cs_error *err)
{
    (void)arg;
    ctr_state st;
    state_parse(r->state_json, a, &st);
    ctrd_task t;
    bool have_task = ctrd_task_get(d, ctx, r->id, NULL, &t, NULL) == 0;
    /* a task created but not started (a crishim that died in between) is
     * started now */
    if (st.started_ns || st.exited || (have_task && t.status != CTRD_TASK_CREATED))
        return cs_error_set(err, CS_ERR_CONFLICT, "container %s is not in the created state", r->id);
    const char *log_path = cs_state_get(&r->labels, CS_STATE_LOG_PATH);
    /* Records of an older crishim have no FIFOs without a log. */
    bool piped = st.fifo && *st.fifo;
    /* The log file exists, and the exit waits for its streams, before the
     * task can write: opened before Tasks.Create, as the shim wants (and
     * so is crishim's stdin writer). */
    if (piped && (ctrd_io_mkfifos(st.fifo, st.tty, err) != 0 || /* again: /run may have been emptied */
                  (st.stdin_ && ctrd_io_mkfifo_stdin(st.fifo, err) != 0) ||
                  ctrd_io_add(d->io, r->id, st.fifo, st.tty, log_path, false, err) < 0))
        return -1;
    ctrd_stdio_paths io = {.terminal = st.tty};
    if (piped) {
        io.in = st.stdin_ ? ctrd_io_path(st.fifo, CTRD_IO_STDIN, a) : "";
        io.out = ctrd_io_path(st.fifo, CTRD_IO_STDOUT, a);
        io.err = st.tty ? "" : ctrd_io_path(st.fifo, CTRD_IO_STDERR, a);
    }
    ctrd_mount *m;
    size_t nm;
    int rc = 0;
    if (!have_task) {
        rc = ctrd_snapshot_mounts(d, ctx, r->snapshot_key && *r->snapshot_key ? r->snapshot_key : r->id, a, &m, &nm,
                                  err);
        if (rc == 0)
            rc = ctrd_task_create(d, ctx, r->id, m, nm, &io, NULL, err);
    }
    if (rc == 0)
        rc = ctrd_task_start(d, ctx, r->id, NULL, NULL, err);
    if (rc != 0) {
        if (piped)
            ctrd_io_cancel(d->io, r->id);
        cs_error why = *err;
        start_failed(d, r, &st, &why, a);
        return -1;
    }
    st.started_ns = cs_time_now_ns();
    if (ctrd_record_set_state(d, ctx, r->id, state_format(&st, a), a, err) != 0)
        return cs_error_wrap(err, "record the start");
    return 0;
}

int ctrd_container_start(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return on_record(b, ctx, id, false, start_record, NULL, "start", err);
}

/* ---- stop and remove ---- */

/* After a task call failed: true when the task has ended anyway (gone, or
 * stopped: *t then says how), which is what the caller wanted. A
 * concurrent stop or remove makes the shim go mid-call ("ttrpc: closed"). */
static bool task_ended(ctrd_backend *d, const cs_ctx *ctx, const char *id, ctrd_task *t)
{
    cs_error e;
    if (ctrd_task_get(d, ctx, id, NULL, t, &e) == 0)
        return t->status == CTRD_TASK_STOPPED;
    memset(t, 0, sizeof *t);
    return e.code == CS_ERR_NOT_FOUND;
}

/* Waits for the task's exit (bounded by ctx); 1 when ctx ended first. */
static int wait_exit(ctrd_backend *d, const cs_ctx *ctx, const char *id, ctrd_task *t, cs_error *err)
{
    cs_error e;
    if (ctrd_task_wait(d, ctx, id, NULL, t, &e) == 0)
        return 0;
    if (e.code == CS_ERR_DEADLINE || cs_ctx_done(ctx))
        return 1;
    cs_ctx c = cs_ctx_within(NULL, KILL_WAIT_MS);
    if (task_ended(d, &c, id, t))
        return 0;
    if (err)
        *err = e;
    return -1;
}

/* Tasks.Kill; a task that ended meanwhile is success too. */
static int kill_task(ctrd_backend *d, const cs_ctx *ctx, const char *id, int sig, bool all, cs_error *err)
{
    cs_error e;
    ctrd_task t;
    if (ctrd_task_kill(d, ctx, id, NULL, sig, all, &e) == 0 || task_ended(d, ctx, id, &t))
        return 0;
    if (err)
        *err = e;
    return -1;
}

/* Tasks.Get of the init process; *have false (and 0) when there is none. */
static int task_of(ctrd_backend *d, const cs_ctx *ctx, const char *id, ctrd_task *t, bool *have, cs_error *err)
{
    cs_error e;
    *have = ctrd_task_get(d, ctx, id, NULL, t, &e) == 0;
    if (*have || e.code == CS_ERR_NOT_FOUND)
        return 0;
    if (err)
        *err = e;
    return -1;
}

/* Stops the task: the stop signal, SIGKILL after timeout_s (0: at once),
 * then the exit is recorded and the task deleted. No task: nothing to do. */
static int stop_record(ctrd_backend *d, const cs_ctx *ctx, const ctrd_record *r, const void *arg, cs_arena *a,
                       cs_error *err)
{
    int64_t timeout_s = *(const int64_t *)arg;
    ctrd_task t;
    bool have;
    if (task_of(d, ctx, r->id, &t, &have, err) != 0)
        return -1;
    if (!have)
        return 0;
    if (t.status != CTRD_TASK_STOPPED) {
        ctr_state st;
        state_parse(r->state_json, a, &st);
        int rc = 1;
        if (timeout_s > 0 && st.stop_signal != SIGKILL) {
            if (kill_task(d, ctx, r->id, st.stop_signal, false, err) != 0)
                return -1;
            cs_ctx grace = cs_ctx_within(ctx, timeout_s * 1000);
            if ((rc = wait_exit(d, &grace, r->id, &t, err)) < 0)
                return -1;
        }
        if (rc == 1) {
            if (kill_task(d, ctx, r->id, SIGKILL, true, err) != 0)
                return -1;
            cs_ctx w = cs_ctx_within(ctx, KILL_WAIT_MS);
            if ((rc = wait_exit(d, &w, r->id, &t, err)) != 0)
                return rc < 0 ? -1 : cs_error_set(err, CS_ERR_DEADLINE, "container %s did not die of SIGKILL", r->id);
        }
    }
    ctr_state st;
    return record_exit(d, ctx, r, t.exit_status, t.exited_ns, a, &st, err);
}

int ctrd_container_stop(cs_backend *b, const cs_ctx *ctx, const char *id, int64_t timeout_s, cs_error *err)
{
    int64_t t = timeout_s < 0 ? 0 : timeout_s;
    return on_record(b, ctx, id, true, stop_record, &t, "stop", err);
}

/* Tasks.Delete, tolerating a concurrent remove that deleted it first. */
static int delete_task(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_error *err)
{
    cs_error e, ge;
    ctrd_task t;
    if (ctrd_task_delete(d, ctx, id, NULL, NULL, &e) == 0)
        return 0;
    if (ctrd_task_get(d, ctx, id, NULL, &t, &ge) != 0 && ge.code == CS_ERR_NOT_FOUND)
        return 0;
    if (err)
        *err = e;
    return -1;
}

static int remove_record(ctrd_backend *d, const cs_ctx *ctx, const ctrd_record *r, const void *arg, cs_arena *a,
                         cs_error *err)
{
    (void)arg;
    ctrd_task t;
    if (ctrd_task_get(d, ctx, r->id, NULL, &t, NULL) == 0) {
        if (t.status != CTRD_TASK_STOPPED) {
            if (kill_task(d, ctx, r->id, SIGKILL, true, err) != 0)
                return -1;
            cs_ctx w = cs_ctx_within(ctx, KILL_WAIT_MS);
            if (wait_exit(d, &w, r->id, &t, err) < 0)
                return -1;
        }
        if (delete_task(d, ctx, r->id, err) != 0)
            return -1;
    }
    const char *snap = r->snapshot_key && *r->snapshot_key ? r->snapshot_key : r->id;
    if (ctrd_snapshot_remove(d, ctx, snap, err) != 0 || ctrd_record_delete(d, ctx, r->id, err) != 0 ||
        ctrd_io_rmfifos(fifo_dir(d, r->id, a), err) != 0)
        return -1;
    cs_info("container removed", "id", r->id, NULL);
    return 0;
}

int ctrd_container_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return on_record(b, ctx, id, true, remove_record, NULL, "remove", err);
}

/* ---- status and list ---- */

static cs_container *container_of(const ctrd_record *r, const ctr_state *st, cs_arena *a)
{
    cs_container *c = cs_arena_alloc(a, sizeof *c);
    c->id = r->id;
    cs_state_container_decode(&r->labels, c, a);
    c->image_id = st->image_id && *st->image_id ? st->image_id : r->image;
    c->image_ref = st->image_ref && *st->image_ref ? st->image_ref : c->image_id;
    return c;
}

/* What the state and the task (NULL: none) say. */
static void fill_state(cs_container *c, const ctr_state *st, const ctrd_task *t)
{
    c->started_ns = st->started_ns;
    if (t && t->status != CTRD_TASK_STOPPED) {
        c->state = t->status == CTRD_TASK_CREATED && !st->started_ns ? CS_CONTAINER_CREATED
                   : t->status == CTRD_TASK_UNKNOWN                  ? CS_CONTAINER_UNKNOWN
                                                                     : CS_CONTAINER_RUNNING;
        c->pid = (int)t->pid;
        return;
    }
    if (t) { /* stopped, not recorded yet */
        c->state = CS_CONTAINER_EXITED;
        c->exit_code = (int32_t)t->exit_status;
        c->finished_ns = t->exited_ns;
    } else if (st->exited) {
        c->state = CS_CONTAINER_EXITED;
        c->exit_code = st->exit_code;
        c->finished_ns = st->exit_ns;
    } else if (st->started_ns) { /* the task went without a word (deleted by hand) */
        c->state = CS_CONTAINER_EXITED;
        c->exit_code = 255;
        c->finished_ns = st->started_ns;
    } else {
        c->state = CS_CONTAINER_CREATED;
        return;
    }
    cs_state_exit_reason(st->oom, c->exit_code, st->message ? st->message : "", &c->reason, &c->message);
    if (st->reason)
        c->reason = st->reason;
}

static const char *verbose_info(const ctrd_record *r, const cs_container *c, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "sandboxID", c->sandbox_id);
    cs_jw_kv_int(&w, "pid", c->pid);
    cs_jw_kv_str(&w, "snapshotKey", r->snapshot_key);
    cs_jw_kv_str(&w, "runtimeType", CTRD_RUNTIME);
    if (r->spec_json) {
        cs_jw_key(&w, "runtimeSpec");
        cs_jw_raw(&w, r->spec_json, strlen(r->spec_json));
    }
    cs_jw_obj_end(&w);
    const char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

/* A record's task as the event feed knows it, so a list needs no
 * Tasks.List (which asks every task's shim for its state: one round trip per
 * task, most of ListContainers' time with many). true with *t (NULL: no
 * task that matters): an exit the record holds is final; else the running
 * pid, or none. false: the feed can't tell (down, or it has not seen this
 * task), or no task runs while the record says started and not exited (the
 * exit hook's window: only containerd has the exit status). */
static bool task_from_feed(ctrd_backend *d, const char *id, const ctr_state *st, ctrd_task *buf,
                           const ctrd_task **t)
{
    uint32_t pid;
    *t = NULL;
    if (st->exited)
        return true;
    if (!ctrd_events_pid(d, id, &pid))
        return false;
    if (pid) {
        *buf = (ctrd_task){.status = CTRD_TASK_RUNNING, .pid = pid};
        *t = buf;
        return true;
    }
    return !st->started_ns;
}

int ctrd_container_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                          cs_container **out, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    ctrd_record r;
    if (lookup(d, ctx, id, a, &r, err) != 0)
        return -1;
    ctrd_task t;
    cs_error e;
    bool have_task;
    ctr_state known;
    const ctrd_task *fed;
    state_parse(r.state_json, a, &known);
    if (task_from_feed(d, r.id, &known, &t, &fed))
        have_task = fed != NULL;
    else if (task_of(d, ctx, r.id, &t, &have_task, err) != 0)
        return cs_error_wrap(err, "container %s", id);
    /* an exit nobody has recorded yet (no event feed, or it lags): record
     * it now, so the exit and the OOM verdict outlive the task */
    ctr_state st;
    if (have_task && t.status == CTRD_TASK_STOPPED &&
        record_exit(d, ctx, &r, t.exit_status, t.exited_ns, a, &st, &e) == 0)
        have_task = false;
    else
        state_parse(r.state_json, a, &st);
    cs_container *c = container_of(&r, &st, a);
    fill_state(c, &st, have_task ? &t : NULL);
    cs_state_mounts_parse(cs_state_get(&r.labels, CS_STATE_MOUNTS), a, &c->mounts, &c->n_mounts);
    c->has_resources = true; /* zeros when none were asked, as on Docker */
    c->resources = st.res;
    if (verbose)
        c->info_json = verbose_info(&r, c, a);
    if (c->state == CS_CONTAINER_EXITED) /* exited means: its log is complete */
        ctrd_io_wait_drained(d->io, &c->id, 1, ctx);
    *out = c;
    return 0;
}

/* id's task in a Tasks.List answer; NULL when it has none. */
static const ctrd_task *task_in(const char *const *ids, const ctrd_task *tasks, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i], id))
            return &tasks[i];
    return NULL;
}

int ctrd_container_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                        cs_container ***out, size_t *n, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    ctrd_record *recs;
    size_t nr, nt = 0;
    const char **tids = NULL;
    ctrd_task *tasks = NULL;
    bool listed = false; /* Tasks.List, only for what the feed can't tell */
    if (ctrd_record_list(d, ctx, CS_STATE_KIND_CONTAINER, NULL, NULL, a, &recs, &nr, err) != 0)
        return cs_error_wrap(err, "list containers");
    cs_container **list = cs_arena_array(a, nr + 1, sizeof *list);
    const char **exited = cs_arena_array(a, nr + 1, sizeof *exited);
    size_t k = 0, n_exited = 0;
    for (size_t i = 0; i < nr; i++) {
        ctr_state st;
        state_parse(recs[i].state_json, a, &st);
        ctrd_task fed;
        const ctrd_task *t;
        if (!task_from_feed(d, recs[i].id, &st, &fed, &t)) {
            if (!listed && ctrd_task_list(d, ctx, a, &tids, &tasks, &nt, err) != 0)
                return cs_error_wrap(err, "list containers");
            listed = true;
            t = task_in(tids, tasks, nt, recs[i].id);
        }
        cs_container *c = container_of(&recs[i], &st, a);
        fill_state(c, &st, t);
        if (!cs_state_container_wanted(c, f))
            continue;
        list[k++] = c;
        if (c->state == CS_CONTAINER_EXITED)
            exited[n_exited++] = c->id;
    }
    /* exited means: its log is complete (one bounded wait for them all) */
    ctrd_io_wait_drained(d->io, exited, n_exited, ctx);
    *out = list;
    *n = k;
    return 0;
}

/* ---- update, reopen ---- */

static bool swap_accounted(void)
{
    struct statfs sf;
    if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
        return true;
    return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
}

/* A task takes the new limits at once; a container not started yet keeps
 * them in its state only (its spec was written at create). */
static int update_record(ctrd_backend *d, const cs_ctx *ctx, const ctrd_record *r, const void *arg, cs_arena *a,
                         cs_error *err)
{
    const cs_resources *res = arg;
    ctrd_task t;
    if (ctrd_task_get(d, ctx, r->id, NULL, &t, NULL) == 0 && t.status != CTRD_TASK_STOPPED &&
        ctrd_task_update(d, ctx, r->id, ctrd_spec_resources(res, swap_accounted(), a), err) != 0)
        return -1;
    ctr_state st;
    state_parse(r->state_json, a, &st);
    int64_t oom = st.res.oom_score_adj; /* not updatable */
    st.has_resources = true;
    st.res = *res;
    st.res.oom_score_adj = oom;
    return ctrd_record_set_state(d, ctx, r->id, state_format(&st, a), a, err);
}

int ctrd_container_update(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_resources *res, cs_error *err)
{
    return on_record(b, ctx, id, false, update_record, res, "update", err);
}

static int reopen_record(ctrd_backend *d, const cs_ctx *ctx, const ctrd_record *r, const void *arg, cs_arena *a,
                         cs_error *err)
{
    (void)arg;
    (void)a;
    ctrd_task t;
    if (ctrd_task_get(d, ctx, r->id, NULL, &t, NULL) != 0 || t.status != CTRD_TASK_RUNNING)
        return cs_error_set(err, CS_ERR_CONFLICT, "container %s is not running", r->id);
    return ctrd_io_reopen(d->io, r->id, err);
}

int ctrd_container_reopen_log(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return on_record(b, ctx, id, false, reopen_record, NULL, "reopen the log of", err);
}

/* ---- after a restart ---- */

int ctrd_containers_resume(ctrd_io *io, const cs_ctx *ctx, void *arg)
{
    ctrd_backend *d = arg;
    cs_arena *a = cs_arena_new();
    ctrd_record *recs;
    size_t nr, nt;
    const char **tids;
    ctrd_task *tasks;
    cs_error err;
    int rc = 0;
    if (ctrd_record_list(d, ctx, CS_STATE_KIND_CONTAINER, NULL, NULL, a, &recs, &nr, &err) != 0 ||
        ctrd_task_list(d, ctx, a, &tids, &tasks, &nt, &err) != 0) {
        cs_debug("container logs: cannot list containers yet; retrying", "error", err.msg, NULL);
        rc = -1;
    }
    /* every container with a task has a shim that kept its output for us;
     * its stdin FIFO, unless a stdin_once attach closed it, gets crishim's
     * writer again */
    for (size_t i = 0; rc == 0 && i < nr; i++) {
        bool has_task = task_in(tids, tasks, nt, recs[i].id) != NULL;
        ctr_state st;
        state_parse(recs[i].state_json, a, &st);
        const char *log_path = cs_state_get(&recs[i].labels, CS_STATE_LOG_PATH);
        if (!has_task || !st.fifo || !*st.fifo)
            continue;
        if (ctrd_io_add(io, recs[i].id, st.fifo, st.tty, log_path, true, &err) < 0)
            cs_warn("cannot resume a container's log", "id", recs[i].id, "error", err.msg, NULL);
    }
    cs_arena_free(a);
    return rc;
}
