/* Pod sandboxes on containerd, made by crishim as containerd's CRI plugin
 * makes them: a pod directory (resolv.conf, hosts, hostname, a /dev/shm
 * tmpfs) that the pod's containers bind, a named network namespace wired by
 * CNI, and a pause task in a container record of its own whose labels say
 * who the pod is and whose state extension (below) says what was made for
 * it. Nothing is kept in memory: stop and remove read the record, so they
 * work after a crishim restart and on a pod that a crash left half-made.
 *
 * The record exists before CNI runs (holding the netns and the port
 * mappings), so whatever ADD did can always be undone by DEL. Stop and
 * remove of one pod are serialised (kubelet and crictl may race them);
 * distinct pods proceed in parallel. */
#include "containerd/sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "backend/security.h"
#include "backend/state.h"
#include "containerd/cni.h"
#include "containerd/content.h"
#include "containerd/events.h"
#include "containerd/images.h"
#include "containerd/netns.h"
#include "containerd/runtime.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define POD_DIRS "sandboxes"
#define FIFO_DIRS "fifo" /* the container helper's FIFO directories (CTRD-RT.md) */
#define SHM_OPTIONS "mode=1777,size=65536k"
/* How long a SIGKILLed task may take to be reported gone, and how long the
 * undo of a failed RunPodSandbox may take whatever the request had left. */
#define KILL_WAIT_MS 10000
#define CLEANUP_MS 30000
#define FILE_MAX (1024 * 1024)

/* ---- what the backend keeps: the CNI config and the pods being worked on ---- */

static const ctrd_cni *cni_current(ctrd_backend *d, cs_arena *a, const char **why);

struct ctrd_pods {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* the CNI config (d->cni) and what its directory held when it was read */
    char *cni_sig;
    char *cni_error;
    /* Replaced configs: a running ADD or DEL may still hold one. Freed at
     * destroy (one per config change). */
    ctrd_cni **old;
    size_t n_old;
    /* pods being worked on: ids a stop or remove holds, names a run holds */
    char **busy;
    size_t n_busy;
};

void ctrd_pods_init(ctrd_backend *d)
{
    d->pods = cs_xcalloc(1, sizeof *d->pods);
    pthread_mutex_init(&d->pods->mu, NULL);
    pthread_cond_init(&d->pods->cond, NULL);
    cni_current(d, NULL, NULL); /* a config present now is read now */
}

void ctrd_pods_free(ctrd_backend *d)
{
    struct ctrd_pods *p = d->pods;
    if (!p)
        return;
    ctrd_cni_free(d->cni);
    d->cni = NULL;
    for (size_t i = 0; i < p->n_old; i++)
        ctrd_cni_free(p->old[i]);
    free(p->old);
    free(p->cni_sig);
    free(p->cni_error);
    free(p->busy);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    free(p);
    d->pods = NULL;
}

/* What the config directory holds: the names, times and sizes of the files
 * the loader looks at. Cheap (one readdir, a stat each); when it changes,
 * the config is read again. */
static char *cni_signature(const char *dir)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_arr_begin(&w);
    DIR *dh = opendir(dir);
    struct dirent *e;
    while (dh && (e = readdir(dh)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || (strcmp(dot, ".conf") && strcmp(dot, ".conflist") && strcmp(dot, ".json")))
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        cs_jw_string(&w, e->d_name);
        cs_jw_int(&w, (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
        cs_jw_int(&w, (int64_t)st.st_size);
    }
    if (dh)
        closedir(dh);
    cs_jw_arr_end(&w);
    return cs_jw_take(&w, NULL);
}

/* The current CNI config (borrowed until the backend is destroyed), read
 * again first when its directory changed: kubelet installs it after the
 * runtime starts. *why says what is wrong when it is not ready. */
static const ctrd_cni *cni_current(ctrd_backend *d, cs_arena *a, const char **why)
{
    struct ctrd_pods *p = d->pods;
    const char *dir = d->cni_conf_dir ? d->cni_conf_dir : CTRD_CNI_CONF_DIR;
    char *sig = cni_signature(dir);
    pthread_mutex_lock(&p->mu);
    if (!p->cni_sig || strcmp(sig, p->cni_sig)) {
        ctrd_cni *fresh = NULL;
        cs_error e;
        free(p->cni_error);
        p->cni_error = NULL;
        if (ctrd_cni_load(d->cni_conf_dir, d->cni_bin_dir, &fresh, &e) != 0)
            p->cni_error = cs_xstrdup(e.msg);
        if (d->cni) {
            p->old = cs_xrealloc(p->old, (p->n_old + 1) * sizeof *p->old);
            p->old[p->n_old++] = d->cni;
        }
        d->cni = fresh;
        free(p->cni_sig);
        p->cni_sig = sig;
        sig = NULL;
        if (fresh && ctrd_cni_ready(fresh))
            cs_info("cni config loaded", "file", ctrd_cni_conf_file(fresh), "network", ctrd_cni_net_name(fresh),
                    NULL);
    }
    const ctrd_cni *c = d->cni;
    if (why)
        *why = p->cni_error ? cs_arena_printf(a, "cni config: %s", p->cni_error)
                            : cs_arena_printf(a, "cni config uninitialized: no network config in %s", dir);
    pthread_mutex_unlock(&p->mu);
    free(sig);
    return c;
}

void ctrd_network_status(ctrd_backend *d, cs_arena *a, cs_engine_status *out)
{
    const char *why;
    const ctrd_cni *c = cni_current(d, a, &why);
    out->network_ready = c && ctrd_cni_ready(c);
    if (!out->network_ready) {
        out->network_reason = "NetworkPluginNotReady";
        out->network_message = why;
    }
}

/* One stop or remove (by id) or run (by name) at a time per pod. */
static void pod_lock(ctrd_backend *d, const char *id)
{
    struct ctrd_pods *p = d->pods;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        bool taken = false;
        for (size_t i = 0; i < p->n_busy && !taken; i++)
            taken = !strcmp(p->busy[i], id);
        if (!taken)
            break;
        pthread_cond_wait(&p->cond, &p->mu);
    }
    p->busy = cs_xrealloc(p->busy, (p->n_busy + 1) * sizeof *p->busy);
    p->busy[p->n_busy++] = (char *)id;
    pthread_mutex_unlock(&p->mu);
}

static void pod_unlock(ctrd_backend *d, const char *id)
{
    struct ctrd_pods *p = d->pods;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n_busy; i++)
        if (p->busy[i] == id) {
            p->busy[i] = p->busy[--p->n_busy];
            break;
        }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

/* ---- the state extension (its format: sandbox.h) ---- */

static void put_strs(cs_jw *w, const char *key, const cs_strs *s)
{
    cs_jw_key(w, key);
    cs_jw_arr_begin(w);
    for (size_t i = 0; i < s->n; i++)
        cs_jw_string(w, s->items[i]);
    cs_jw_arr_end(w);
}

static void put_str_or_null(cs_jw *w, const char *key, const char *v)
{
    cs_jw_key(w, key);
    if (v)
        cs_jw_string(w, v);
    else
        cs_jw_null(w);
}

char *ctrd_pod_state_json(const ctrd_pod_state *s, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "dir", s->dir);
    put_str_or_null(&w, "netns", s->netns);
    cs_jw_key(&w, "cni");
    if (s->cni)
        cs_jw_raw(&w, s->cni, strlen(s->cni));
    else
        cs_jw_null(&w);
    cs_jw_kv_str(&w, "ip", s->ip ? s->ip : "");
    put_strs(&w, "ips", &s->ips);
    cs_jw_key(&w, "ports");
    cs_jw_arr_begin(&w);
    for (size_t i = 0; i < s->n_ports; i++) {
        const ctrd_cni_port *p = &s->ports[i];
        cs_jw_obj_begin(&w);
        cs_jw_kv_int(&w, "host_port", p->host_port);
        cs_jw_kv_int(&w, "container_port", p->container_port);
        cs_jw_kv_str(&w, "protocol", p->protocol);
        cs_jw_kv_str(&w, "host_ip", p->host_ip ? p->host_ip : "");
        cs_jw_obj_end(&w);
    }
    cs_jw_arr_end(&w);
    cs_jw_kv_str(&w, "hostname", s->hostname ? s->hostname : "");
    cs_jw_kv_str(&w, "cgroup_parent", s->cgroup_parent ? s->cgroup_parent : "");
    cs_jw_key(&w, "dns");
    cs_jw_obj_begin(&w);
    put_strs(&w, "servers", &s->dns_servers);
    put_strs(&w, "searches", &s->dns_searches);
    put_strs(&w, "options", &s->dns_options);
    cs_jw_obj_end(&w);
    cs_jw_kv_bool(&w, "shm", s->shm);
    cs_jw_kv_bool(&w, "stopped", s->stopped);
    if (s->exited) {
        cs_jw_key(&w, "exit");
        cs_jw_obj_begin(&w);
        cs_jw_kv_int(&w, "code", s->exit_code);
        cs_jw_kv_int(&w, "at_ns", s->exit_ns);
        cs_jw_obj_end(&w);
    }
    cs_jw_obj_end(&w);
    char *out = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return out;
}

static cs_strs get_strs(const cs_json *j, int arr, cs_arena *a)
{
    cs_strs s = {.items = cs_arena_array(a, (size_t)cs_json_count(j, arr) + 1, sizeof *s.items)};
    if (cs_json_type_of(j, arr) != CS_JSON_ARRAY)
        return s;
    for (int it = cs_json_first(j, arr); it >= 0; it = cs_json_next(j, arr, it)) {
        char *v = cs_json_str(j, it, a);
        if (v)
            s.items[s.n++] = v;
    }
    return s;
}

static char *pod_dir(ctrd_backend *d, const char *id, cs_arena *a)
{
    return cs_arena_printf(a, "%s/" POD_DIRS "/%s", d->state_dir, id);
}

void ctrd_pod_state_parse(const char *json, const char *default_dir, cs_arena *a, ctrd_pod_state *s)
{
    memset(s, 0, sizeof *s);
    s->dir = default_dir;
    cs_json *j;
    if (!json || cs_json_parse(json, strlen(json), &j, NULL) != 0)
        return;
    /* A stored directory survives a changed --state-dir; it is removed
     * with the pod, so only one named after the pod (its id) is taken. */
    char *dir = cs_json_get_str(j, 0, "dir", a);
    const char *base = strrchr(default_dir, '/'), *dbase = dir ? strrchr(dir, '/') : NULL;
    if (dir && dir[0] == '/' && base && dbase && dbase != dir && !strcmp(base, dbase))
        s->dir = dir;
    s->netns = cs_json_get_str(j, 0, "netns", a);
    int cni = cs_json_key(j, 0, "cni");
    if (cs_json_type_of(j, cni) == CS_JSON_OBJECT) {
        size_t len;
        const char *raw = cs_json_raw(j, cni, &len);
        s->cni = cs_arena_strndup(a, raw, len);
    }
    s->ip = cs_json_get_str(j, 0, "ip", a);
    s->ips = get_strs(j, cs_json_key(j, 0, "ips"), a);
    int ports = cs_json_key(j, 0, "ports");
    if (cs_json_type_of(j, ports) != CS_JSON_ARRAY)
        ports = -1;
    s->ports = cs_arena_array(a, (size_t)cs_json_count(j, ports) + 1, sizeof *s->ports);
    for (int it = cs_json_first(j, ports); it >= 0; it = cs_json_next(j, ports, it)) {
        ctrd_cni_port *p = &s->ports[s->n_ports++];
        p->host_port = (int32_t)cs_json_get_int64(j, it, "host_port", 0);
        p->container_port = (int32_t)cs_json_get_int64(j, it, "container_port", 0);
        p->protocol = cs_json_get_str(j, it, "protocol", a);
        if (!p->protocol)
            p->protocol = "tcp";
        p->host_ip = cs_json_get_str(j, it, "host_ip", a);
    }
    s->hostname = cs_json_get_str(j, 0, "hostname", a);
    s->cgroup_parent = cs_json_get_str(j, 0, "cgroup_parent", a);
    s->dns_servers = get_strs(j, cs_json_get(j, 0, "dns.servers"), a);
    s->dns_searches = get_strs(j, cs_json_get(j, 0, "dns.searches"), a);
    s->dns_options = get_strs(j, cs_json_get(j, 0, "dns.options"), a);
    s->shm = cs_json_get_bool(j, 0, "shm", false);
    s->stopped = cs_json_get_bool(j, 0, "stopped", false);
    int ex = cs_json_key(j, 0, "exit");
    if (cs_json_type_of(j, ex) == CS_JSON_OBJECT) {
        s->exited = true;
        s->exit_code = cs_json_get_int64(j, ex, "code", 0);
        s->exit_ns = cs_json_get_int64(j, ex, "at_ns", 0);
    }
    cs_json_free(j);
}

/* ---- the pod's files ---- */

static char *pod_file(const ctrd_pod_state *s, const char *name, cs_arena *a)
{
    return cs_arena_printf(a, "%s/%s", s->dir, name);
}

char *ctrd_pod_resolv_conf(const cs_strs *servers, const cs_strs *searches, const cs_strs *options, cs_arena *a)
{
    if (!servers->n && !searches->n && !options->n)
        return NULL;
    const struct {
        const char *key, *sep;
        const cs_strs *v;
    } parts[] = {{"search", " ", searches}, {"nameserver", "\nnameserver ", servers}, {"options", " ", options}};
    char *text = cs_arena_strdup(a, "");
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        if (!parts[p].v->n)
            continue;
        text = cs_arena_printf(a, "%s%s", text, parts[p].key);
        for (size_t i = 0; i < parts[p].v->n; i++)
            text = cs_arena_printf(a, "%s%s%s", text, i ? parts[p].sep : " ", parts[p].v->items[i]);
        text = cs_arena_printf(a, "%s\n", text);
    }
    return text;
}

/* resolv.conf from the CRI DNS config, else the host's. */
static int write_resolv(const ctrd_pod_state *s, cs_arena *a, cs_error *err)
{
    const char *path = pod_file(s, "resolv.conf", a);
    char *text = ctrd_pod_resolv_conf(&s->dns_servers, &s->dns_searches, &s->dns_options, a);
    if (text)
        return cs_write_file(path, text, strlen(text), 0644, err);
    char *host = NULL;
    size_t len = 0;
    cs_error e;
    if (cs_read_file("/etc/resolv.conf", FILE_MAX, &host, &len, &e) != 0)
        len = 0;
    int rc = cs_write_file(path, host ? host : "", len, 0644, err);
    free(host);
    return rc;
}

/* hosts: the host's, as containerd's CRI plugin copies it. */
static int write_hosts(const ctrd_pod_state *s, cs_arena *a, cs_error *err)
{
    static const char fallback[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    char *host = NULL;
    size_t len = 0;
    cs_error e;
    int rc;
    if (cs_read_file("/etc/hosts", FILE_MAX, &host, &len, &e) == 0)
        rc = cs_write_file(pod_file(s, "hosts", a), host, len, 0644, err);
    else
        rc = cs_write_file(pod_file(s, "hosts", a), fallback, sizeof fallback - 1, 0644, err);
    free(host);
    return rc;
}

static int write_pod_files(const ctrd_pod_state *s, cs_arena *a, cs_error *err)
{
    char *hn = cs_arena_printf(a, "%s\n", s->hostname);
    if (cs_mkdir_p(s->dir, 0755, err) != 0 || write_resolv(s, a, err) != 0 || write_hosts(s, a, err) != 0 ||
        cs_write_file(pod_file(s, "hostname", a), hn, strlen(hn), 0644, err) != 0)
        return cs_error_wrap(err, "pod files in %s", s->dir);
    return 0;
}

/* The pod as its processes see it: namespaces and files. */
static ctrd_spec_sandbox_facts facts_of(const char *id, const ctrd_pod_state *s, int pause_pid, cs_arena *a)
{
    return (ctrd_spec_sandbox_facts){.id = id,
                                     .pause_pid = pause_pid,
                                     .netns_path = s->netns,
                                     .hostname = s->hostname,
                                     .resolv_path = pod_file(s, "resolv.conf", a),
                                     .hosts_path = pod_file(s, "hosts", a),
                                     .hostname_path = pod_file(s, "hostname", a),
                                     .shm_path = s->shm ? pod_file(s, "shm", a) : NULL};
}

static int mount_shm(const ctrd_pod_state *s, cs_arena *a, cs_error *err)
{
    const char *path = pod_file(s, "shm", a);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "mkdir %s", path);
    if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, SHM_OPTIONS) != 0)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "mount the pod's shm on %s", path);
    return 0;
}

static int unmount_shm(const ctrd_pod_state *s, cs_arena *a, cs_error *err)
{
    const char *path = pod_file(s, "shm", a);
    /* EINVAL: not mounted (any more) */
    if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "unmount %s", path);
    return 0;
}

/* ---- records ---- */

/* The record of sandbox `full`; NOT_FOUND when absent or not a sandbox. */
static int get_sandbox(ctrd_backend *d, const cs_ctx *ctx, const char *full, cs_arena *a, ctrd_record *r,
                       cs_error *err)
{
    cs_error e;
    if (ctrd_record_get(d, ctx, full, a, r, &e) != 0) {
        if (e.code == CS_ERR_NOT_FOUND)
            return cs_error_set(err, CS_ERR_NOT_FOUND, "sandbox %s not found", full);
        if (err)
            *err = e;
        return -1;
    }
    const char *kind = cs_state_get(&r->labels, CS_STATE_KIND);
    if (!kind || strcmp(kind, CS_STATE_KIND_SANDBOX))
        return cs_error_set(err, CS_ERR_NOT_FOUND, "sandbox %s not found", full);
    return 0;
}

/* A full id or a unique prefix → the full id; NOT_FOUND when none. */
static int resolve(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, const char **full,
                   cs_error *err)
{
    if (cs_state_is_full_id(id)) {
        ctrd_record r;
        if (get_sandbox(d, ctx, id, a, &r, err) != 0)
            return -1;
        *full = r.id;
        return 0;
    }
    ctrd_record *recs;
    size_t n;
    if (ctrd_record_list(d, ctx, CS_STATE_KIND_SANDBOX, NULL, NULL, a, &recs, &n, err) != 0)
        return cs_error_wrap(err, "sandbox %s", id);
    const char **ids = cs_arena_array(a, n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = recs[i].id;
    return cs_state_resolve_prefix("sandbox", id, ids, n, full, err);
}

/* The record of the sandbox id names (full or a prefix): one Get for a full
 * id, which is what kubelet sends. */
static int find_sandbox(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_record *r,
                        cs_error *err)
{
    const char *full = id;
    if (!cs_state_is_full_id(id) && resolve(d, ctx, id, a, &full, err) != 0)
        return -1;
    return get_sandbox(d, ctx, full, a, r, err);
}

/* Stop and remove are idempotent: 1 found, 0 gone, -1 error. */
static int resolve_or_gone(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, const char **full,
                           cs_error *err)
{
    cs_error e;
    if (resolve(d, ctx, id, a, full, &e) == 0)
        return 1;
    if (e.code == CS_ERR_NOT_FOUND)
        return 0;
    if (err)
        *err = e;
    return -1;
}

static void sandbox_decode(const ctrd_record *r, cs_arena *a, cs_sandbox *s)
{
    memset(s, 0, sizeof *s);
    s->id = r->id;
    cs_state_sandbox_decode(&r->labels, s, a);
}

static ctrd_cni_pod cni_pod(const char *id, const ctrd_pod_state *st, const cs_sandbox *who)
{
    return (ctrd_cni_pod){.id = id,
                          .netns = st->netns,
                          .name = who->name,
                          .namespace = who->ns,
                          .uid = who->uid,
                          .ports = st->ports,
                          .n_ports = st->n_ports,
                          .dns_servers = st->dns_servers.items,
                          .n_dns_servers = st->dns_servers.n,
                          .dns_searches = st->dns_searches.items,
                          .n_dns_searches = st->dns_searches.n,
                          .dns_options = st->dns_options.items,
                          .n_dns_options = st->dns_options.n};
}

/* A CNI ADD or DEL on a thread of its own, so the pod's network is set up
 * (or released) while containerd creates and starts (or kills) the pause
 * task: the plugins and runc each take tens of milliseconds and neither
 * needs the other (the pause joins the netns by its path; the netns, bind
 * mounted, outlives the pause). */
typedef struct cni_job {
    const ctrd_cni *cni;
    cs_sandbox who; /* what pod borrows */
    ctrd_cni_pod pod;
    const char *del_result; /* DEL: the stored ADD result; NULL: ADD */
    bool del;
    cs_arena *a; /* ADD: res lives here (the caller's arena is not the thread's) */
    ctrd_cni_result res;
    cs_error err;
    int rc;
    pthread_t t;
    bool threaded;
} cni_job;

static void *cni_job_run(void *arg)
{
    cni_job *j = arg;
    j->rc = j->del ? ctrd_cni_del(j->cni, &j->pod, j->del_result, &j->err)
                   : ctrd_cni_add(j->cni, &j->pod, j->a, &j->res, &j->err);
    return NULL;
}

/* Starts the job (inline when no thread can be had). who and st's strings
 * must outlive cni_job_finish. */
static void cni_job_start(cni_job *j, const ctrd_cni *cni, const char *id, const ctrd_pod_state *st,
                          const cs_sandbox *who, bool del, const char *del_result)
{
    *j = (cni_job){.cni = cni, .who = *who, .del = del, .del_result = del_result};
    j->pod = cni_pod(id, st, &j->who);
    cs_error_clear(&j->err);
    if (!del)
        j->a = cs_arena_new();
    j->threaded = pthread_create(&j->t, NULL, cni_job_run, j) == 0;
    if (!j->threaded)
        cni_job_run(j);
}

/* Waits for the job; its result (ADD: copied into a) and its error. */
static int cni_job_finish(cni_job *j, cs_arena *a, ctrd_cni_result *res, cs_error *err)
{
    if (j->threaded)
        pthread_join(j->t, NULL);
    j->threaded = false;
    if (j->rc == 0 && res) {
        res->json = cs_arena_strdup(a, j->res.json);
        res->ip = j->res.ip ? cs_arena_strdup(a, j->res.ip) : NULL;
        res->n_additional_ips = j->res.n_additional_ips;
        res->additional_ips = cs_arena_array(a, j->res.n_additional_ips + 1, sizeof *res->additional_ips);
        for (size_t i = 0; i < j->res.n_additional_ips; i++)
            res->additional_ips[i] = cs_arena_strdup(a, j->res.additional_ips[i]);
    }
    if (j->a)
        cs_arena_free(j->a);
    j->a = NULL;
    if (j->rc != 0 && err)
        *err = j->err;
    return j->rc;
}

/* ---- tasks ---- */

/* SIGKILL to every process of the task and wait for it to be reported
 * gone; *out its exit, *had false when there was no task. */
static int kill_wait(ctrd_backend *d, const cs_ctx *ctx, const char *id, ctrd_task *out, bool *had, cs_error *err)
{
    cs_error e;
    memset(out, 0, sizeof *out);
    *had = false;
    if (ctrd_task_get(d, ctx, id, NULL, out, &e) != 0) {
        if (e.code == CS_ERR_NOT_FOUND)
            return 0;
        if (err)
            *err = e;
        return -1;
    }
    *had = true;
    if (out->status == CTRD_TASK_STOPPED)
        return 0;
    if (ctrd_task_kill(d, ctx, id, NULL, SIGKILL, true, err) != 0)
        return -1;
    cs_ctx w = cs_ctx_within(ctx, KILL_WAIT_MS);
    if (ctrd_task_wait(d, &w, id, NULL, out, &e) != 0 && e.code != CS_ERR_NOT_FOUND) {
        if (err)
            *err = e;
        return cs_error_wrap(err, "wait for %s to exit", id);
    }
    if (!out->exited_ns)
        out->exited_ns = cs_time_now_ns();
    return 0;
}

/* The pod's containers: SIGKILL all, then each one's exit goes to the
 * container helper's hook (which records it and deletes the task). */
static int kill_containers(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, cs_error *err)
{
    ctrd_record *recs;
    size_t n;
    if (ctrd_record_list(d, ctx, CS_STATE_KIND_CONTAINER, CS_STATE_SANDBOX_ID, id, a, &recs, &n, err) != 0)
        return cs_error_wrap(err, "containers of sandbox %s", id);
    /* all signalled first: they die in parallel */
    for (size_t i = 0; i < n; i++)
        if (ctrd_task_kill(d, ctx, recs[i].id, NULL, SIGKILL, true, err) != 0)
            return cs_error_wrap(err, "kill container %s", recs[i].id);
    for (size_t i = 0; i < n; i++) {
        ctrd_task t;
        bool had;
        if (kill_wait(d, ctx, recs[i].id, &t, &had, err) != 0)
            return cs_error_wrap(err, "kill container %s", recs[i].id);
        if (!had)
            continue;
        if (ctrd_container_exited(d, ctx, recs[i].id, t.exit_status, t.exited_ns, err) != 0)
            return cs_error_wrap(err, "container %s", recs[i].id);
    }
    return 0;
}

/* The pause process's exit, recorded, then its task deleted. */
static int pause_exited(ctrd_backend *d, const cs_ctx *ctx, const ctrd_record *r, ctrd_pod_state *st,
                        uint32_t exit_status, int64_t exited_ns, cs_arena *a, cs_error *err)
{
    if (!st->exited) {
        st->exited = true;
        st->exit_code = exit_status;
        st->exit_ns = exited_ns ? exited_ns : cs_time_now_ns();
        if (ctrd_record_set_state(d, ctx, r->id, ctrd_pod_state_json(st, a), a, err) != 0)
            return cs_error_wrap(err, "sandbox %s", r->id);
    }
    if (ctrd_task_delete(d, ctx, r->id, NULL, NULL, err) != 0)
        return cs_error_wrap(err, "sandbox %s", r->id);
    return 0;
}

int ctrd_sandbox_exited(ctrd_backend *d, const cs_ctx *ctx, const char *id, uint32_t exit_status, int64_t exited_ns,
                        cs_error *err)
{
    /* No pod lock: the event feed must not wait behind a stop's CNI DEL. A
     * write racing a stop's loses nothing that matters: the stop records
     * the exit too, and a repeated DEL is harmless. */
    cs_arena *a = cs_arena_new();
    ctrd_record r;
    cs_error e;
    int rc = 0;
    if (get_sandbox(d, ctx, id, a, &r, &e) != 0) {
        if (e.code != CS_ERR_NOT_FOUND) {
            if (err)
                *err = e;
            rc = -1;
        }
    } else {
        ctrd_pod_state st;
        ctrd_pod_state_parse(r.state_json, pod_dir(d, r.id, a), a, &st);
        rc = pause_exited(d, ctx, &r, &st, exit_status, exited_ns, a, err);
    }
    cs_arena_free(a);
    return rc;
}

/* ---- run ---- */

static int check_handler(const char *h, cs_error *err)
{
    if (!h || !*h || !strcmp(h, "runc"))
        return 0;
    return cs_error_set(err, CS_ERR_INVALID,
                        "runtime_handler \"%s\" is not configured (crishim on containerd has \"\" and runc)", h);
}

/* The pause image, made (built or pulled) when it is missing, as the
 * Docker backend ensures it. */
static int pause_image(ctrd_backend *d, const cs_ctx *ctx, cs_arena *a, ctrd_image_use *img, cs_error *err)
{
    cs_error e;
    if (ctrd_image_use_get(d, ctx, d->pause_image, a, img, &e) == 0)
        return 0;
    const char *image_id;
    if (e.code != CS_ERR_NOT_FOUND) {
        if (err)
            *err = e;
    } else if (ctrd_image_pull(&d->base, ctx, d->pause_image, NULL, a, &image_id, err) == 0 &&
               ctrd_image_use_get(d, ctx, d->pause_image, a, img, err) == 0) {
        return 0;
    }
    return cs_error_wrap(err, "pause image");
}

static const char *const proto_names[] = {"tcp", "udp", "sctp"};

/* portmap acts on mappings with a host port only (as containerd's CRI). */
static void ports_of(const cs_sandbox_config *c, cs_arena *a, ctrd_pod_state *st)
{
    st->ports = cs_arena_array(a, c->n_ports + 1, sizeof *st->ports);
    for (size_t i = 0; i < c->n_ports; i++) {
        const cs_port *p = &c->ports[i];
        if (p->host_port <= 0)
            continue;
        st->ports[st->n_ports++] = (ctrd_cni_port){
            .host_port = p->host_port,
            .container_port = p->container_port,
            .protocol = p->protocol >= 0 && p->protocol <= 2 ? proto_names[p->protocol] : "tcp",
            .host_ip = p->host_ip && *p->host_ip ? p->host_ip : NULL};
    }
}

/* What a RunPodSandbox made so far, to undo on failure. */
typedef struct pod_build {
    ctrd_backend *d;
    const cs_sandbox_config *cfg;
    const char *id;
    const char *lease;
    ctrd_pod_state st;
    const ctrd_cni *cni;
    bool dir, shm, netns, snapshot, record, cni_added, task;
} pod_build;

static void undo(pod_build *b, cs_arena *a)
{
    ctrd_backend *d = b->d;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + CLEANUP_MS};
    cs_error e;
    if (b->task) {
        ctrd_task t;
        bool had;
        if (kill_wait(d, &ctx, b->id, &t, &had, &e) != 0 || ctrd_task_delete(d, &ctx, b->id, NULL, NULL, &e) != 0)
            cs_warn("sandbox undo: task", "id", b->id, "error", e.msg, NULL);
    }
    if (b->cni_added) {
        cs_sandbox who = {.name = b->cfg->name, .ns = b->cfg->ns, .uid = b->cfg->uid};
        ctrd_cni_pod pod = cni_pod(b->id, &b->st, &who);
        if (ctrd_cni_del(b->cni, &pod, b->st.cni, &e) != 0)
            cs_warn("sandbox undo: cni DEL", "id", b->id, "error", e.msg, NULL);
    }
    if (b->record && ctrd_record_delete(d, &ctx, b->id, &e) != 0)
        cs_warn("sandbox undo: record", "id", b->id, "error", e.msg, NULL);
    if (b->snapshot && ctrd_snapshot_remove(d, &ctx, b->id, &e) != 0)
        cs_warn("sandbox undo: snapshot", "id", b->id, "error", e.msg, NULL);
    if (b->netns && ctrd_netns_remove(b->st.netns, &e) != 0)
        cs_warn("sandbox undo: netns", "id", b->id, "error", e.msg, NULL);
    if (b->shm && unmount_shm(&b->st, a, &e) != 0)
        cs_warn("sandbox undo: shm", "id", b->id, "error", e.msg, NULL);
    if (b->dir && cs_remove_tree(b->st.dir, &e) != 0)
        cs_warn("sandbox undo: pod directory", "id", b->id, "error", e.msg, NULL);
}

/* The record's spec: the pause process in the pod's new namespaces. */
static int pause_spec(pod_build *b, const mf_image_config *img, cs_arena *a, char **json, cs_error *err)
{
    cs_security_host host;
    cs_security_host_probe(0, &host);
    cs_security_policy policy;
    cs_security_decide_sandbox(&b->cfg->security, &host, a, &policy);
    ctrd_spec_input in = {
        .id = b->id,
        .sandbox = b->cfg,
        .image = img,
        .policy = &policy,
        .host = &host,
        .facts = facts_of(b->id, &b->st, 0, a),
        .cgroup_driver = b->d->cgroup_driver,
    };
    return ctrd_spec_sandbox(&in, a, json, err);
}

static int build(pod_build *b, const cs_ctx *ctx, const ctrd_image_use *img, cs_arena *a, cs_error *err)
{
    ctrd_backend *d = b->d;
    const cs_sandbox_config *c = b->cfg;
    b->dir = true;
    if (write_pod_files(&b->st, a, err) != 0)
        return -1;
    if (c->ipc != CS_NS_NODE) {
        if (mount_shm(&b->st, a, err) != 0)
            return -1;
        b->shm = b->st.shm = true;
    }
    if (c->net != CS_NS_NODE) {
        char *path;
        if (ctrd_netns_create(NULL, &path, err) != 0)
            return -1;
        b->st.netns = cs_arena_strdup(a, path);
        free(path);
        b->netns = true;
    }
    char *spec;
    if (pause_spec(b, &img->config, a, &spec, err) != 0)
        return -1;
    if (ctrd_lease_create(d->client, ctx, "sandbox", a, &b->lease, err) != 0)
        return -1;
    ctrd_mount *mounts;
    size_t n_mounts;
    if (ctrd_snapshot_prepare(d, ctx, b->lease, b->id, img->top_chain, a, &mounts, &n_mounts, err) != 0)
        return cs_error_wrap(err, "snapshot");
    b->snapshot = true;
    cs_kvs labels = cs_state_sandbox_labels(c, cs_time_now_ns(), a);
    ctrd_record_new rec = {.id = b->id,
                           .labels = &labels,
                           .image = d->pause_image,
                           .snapshot_key = b->id,
                           .state_json = ctrd_pod_state_json(&b->st, a),
                           .spec_json = spec};
    if (ctrd_record_create(d, ctx, b->lease, &rec, a, err) != 0)
        return -1;
    b->record = true;
    /* The network is set up while the pause task is made (cni_job). */
    cni_job job;
    bool net = c->net != CS_NS_NODE;
    if (net) {
        cs_sandbox who = {.name = c->name, .ns = c->ns, .uid = c->uid};
        b->cni_added = true; /* a failed ADD may have left something: DEL it */
        cni_job_start(&job, b->cni, b->id, &b->st, &who, false, NULL);
    }
    ctrd_stdio_paths io = {0}; /* the pause process talks to nobody */
    uint32_t pid;
    int rc = ctrd_task_create(d, ctx, b->id, mounts, n_mounts, &io, &pid, err);
    if (rc != 0) {
        cs_error_wrap(err, "pause task");
    } else {
        b->task = true;
        if ((rc = ctrd_task_start(d, ctx, b->id, NULL, &pid, err)) != 0)
            cs_error_wrap(err, "start the pause task");
    }
    if (!net)
        return rc;
    ctrd_cni_result res = {0};
    cs_error cni_err;
    if (cni_job_finish(&job, a, &res, &cni_err) != 0) {
        if (rc == 0 && err) /* else the task's error says more */
            *err = cni_err;
        return rc == 0 ? cs_error_wrap(err, "pod network") : -1;
    }
    if (rc != 0)
        return -1;
    b->st.cni = res.json;
    b->st.ip = res.ip;
    b->st.ips = (cs_strs){.items = (const char **)res.additional_ips, .n = res.n_additional_ips};
    return ctrd_record_set_state(d, ctx, b->id, ctrd_pod_state_json(&b->st, a), a, err);
}

/* EXISTS when a sandbox of this pod and attempt is there already. */
static int name_free(ctrd_backend *d, const cs_ctx *ctx, const cs_sandbox_config *cfg, const char *name,
                     cs_arena *a, cs_error *err)
{
    ctrd_record *recs;
    size_t n;
    if (ctrd_record_list(d, ctx, CS_STATE_KIND_SANDBOX, CS_STATE_POD_UID, cfg->uid, a, &recs, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        cs_sandbox s;
        sandbox_decode(&recs[i], a, &s);
        if (!strcmp(cs_state_sandbox_name(&(cs_sandbox_config){.name = s.name, .ns = s.ns, .uid = s.uid,
                                                              .attempt = s.attempt},
                                          a),
                    name))
            return cs_error_set(err, CS_ERR_EXISTS, "sandbox %s already exists (%s)", name, s.id);
    }
    return 0;
}

int ctrd_sandbox_run(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_config *cfg, cs_arena *a, const char **id,
                     cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    const char *name = cs_state_sandbox_name(cfg, a);
    if (check_handler(cfg->runtime_handler, err) != 0)
        return -1;
    pod_build pb = {.d = d, .cfg = cfg};
    if (cfg->net != CS_NS_NODE) {
        const char *why;
        pb.cni = cni_current(d, a, &why);
        if (!pb.cni || !ctrd_cni_ready(pb.cni))
            return cs_error_set(err, CS_ERR_CONFLICT, "run sandbox %s: network not ready: %s", name, why);
    }
    if (cfg->log_directory && *cfg->log_directory && cs_mkdir_p(cfg->log_directory, 0755, err) != 0)
        return cs_error_wrap(err, "pod log directory");
    ctrd_image_use img;
    if (pause_image(d, ctx, a, &img, err) != 0 || ctrd_record_new_id(a, &pb.id, err) != 0)
        return cs_error_wrap(err, "run sandbox %s", name);
    pb.st.dir = pod_dir(d, pb.id, a);
    char host[256] = "";
    if (cfg->hostname && *cfg->hostname)
        pb.st.hostname = cfg->hostname;
    else if (gethostname(host, sizeof host - 1) == 0)
        pb.st.hostname = cs_arena_strdup(a, host);
    else
        pb.st.hostname = "";
    pb.st.cgroup_parent = cfg->cgroup_parent;
    pb.st.dns_servers = cfg->dns_servers;
    pb.st.dns_searches = cfg->dns_searches;
    pb.st.dns_options = cfg->dns_options;
    if (cfg->net != CS_NS_NODE)
        ports_of(cfg, a, &pb.st);

    cs_error local;
    cs_error *e = err ? err : &local;
    /* One pod of a name and attempt at a time, as on Docker (its container
     * name) and containerd's CRI (its name reservation). */
    pod_lock(d, name);
    int rc = name_free(d, ctx, cfg, name, a, e);
    if (rc == 0)
        rc = build(&pb, ctx, &img, a, e);
    pod_unlock(d, name);
    if (rc != 0) {
        cs_error saved = *e;
        undo(&pb, a);
        *e = saved;
        cs_error_wrap(err, "run sandbox %s", name);
    }
    if (pb.lease)
        ctrd_lease_delete(d->client, pb.lease);
    if (rc != 0)
        return -1;
    cs_info("sandbox started", "name", name, "id", pb.id, "ip", pb.st.ip ? pb.st.ip : "", NULL);
    *id = pb.id;
    return 0;
}

/* ---- stop and remove ---- */

static int stop_locked(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, cs_error *err)
{
    ctrd_record r;
    cs_error e;
    if (get_sandbox(d, ctx, id, a, &r, &e) != 0) {
        if (e.code == CS_ERR_NOT_FOUND)
            return 0;
        if (err)
            *err = e;
        return -1;
    }
    ctrd_pod_state st;
    ctrd_pod_state_parse(r.state_json, pod_dir(d, r.id, a), a, &st);
    if (kill_containers(d, ctx, id, a, err) != 0)
        return -1;
    /* The network is released while the pause dies (cni_job). Without a
     * ready network the pause dies all the same, and the stop fails after. */
    const char *why = "";
    const ctrd_cni *cni = NULL;
    bool net = !st.stopped && st.netns && (cni = cni_current(d, a, &why)) && ctrd_cni_ready(cni);
    cni_job job;
    if (net) {
        cs_sandbox who;
        sandbox_decode(&r, a, &who);
        cni_job_start(&job, cni, id, &st, &who, true, st.cni);
    }
    ctrd_task t;
    bool had;
    int rc = 0;
    if (kill_wait(d, ctx, id, &t, &had, err) != 0)
        rc = cs_error_wrap(err, "pause task");
    else if (had && pause_exited(d, ctx, &r, &st, t.exit_status, t.exited_ns, a, err) != 0)
        rc = -1;
    else if (st.shm && unmount_shm(&st, a, err) != 0)
        rc = -1;
    cs_error cni_err;
    int cni_rc = net ? cni_job_finish(&job, a, NULL, &cni_err) : 0;
    if (rc != 0)
        return -1;
    if (st.stopped)
        return 0;
    if (st.netns) {
        if (!net)
            return cs_error_set(err, CS_ERR_CONFLICT, "release the pod network: %s", why);
        if (cni_rc != 0) {
            if (err)
                *err = cni_err;
            return cs_error_wrap(err, "release the pod network");
        }
        if (ctrd_netns_remove(st.netns, err) != 0)
            return -1;
    }
    st.stopped = true;
    return ctrd_record_set_state(d, ctx, id, ctrd_pod_state_json(&st, a), a, err);
}

/* A container's task (killed by the stop), snapshot, record and FIFOs. */
static int remove_container(ctrd_backend *d, const cs_ctx *ctx, const ctrd_record *c, cs_arena *a, cs_error *err)
{
    const char *snap = c->snapshot_key && *c->snapshot_key ? c->snapshot_key : c->id;
    if (ctrd_task_delete(d, ctx, c->id, NULL, NULL, err) != 0 || ctrd_snapshot_remove(d, ctx, snap, err) != 0 ||
        ctrd_record_delete(d, ctx, c->id, err) != 0 ||
        cs_remove_tree(cs_arena_printf(a, "%s/" FIFO_DIRS "/%s", d->state_dir, c->id), err) != 0)
        return cs_error_wrap(err, "remove container %s", c->id);
    return 0;
}

static int remove_locked(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, cs_error *err)
{
    if (stop_locked(d, ctx, id, a, err) != 0)
        return -1;
    ctrd_record *recs;
    size_t n;
    if (ctrd_record_list(d, ctx, CS_STATE_KIND_CONTAINER, CS_STATE_SANDBOX_ID, id, a, &recs, &n, err) != 0)
        return cs_error_wrap(err, "containers");
    for (size_t i = 0; i < n; i++)
        if (remove_container(d, ctx, &recs[i], a, err) != 0)
            return -1;
    ctrd_record r;
    cs_error e;
    ctrd_pod_state st;
    if (get_sandbox(d, ctx, id, a, &r, &e) != 0) {
        if (e.code != CS_ERR_NOT_FOUND) {
            if (err)
                *err = e;
            return -1;
        }
        ctrd_pod_state_parse(NULL, pod_dir(d, id, a), a, &st);
    } else {
        ctrd_pod_state_parse(r.state_json, pod_dir(d, r.id, a), a, &st);
    }
    if (ctrd_snapshot_remove(d, ctx, id, err) != 0 || ctrd_record_delete(d, ctx, id, err) != 0)
        return -1;
    if (unmount_shm(&st, a, err) != 0 || cs_remove_tree(st.dir, err) != 0)
        return cs_error_wrap(err, "pod directory");
    return 0;
}

/* Stop or remove: an unknown id is gone already (success); the work runs
 * under the pod's lock. */
static int pod_op(cs_backend *b, const cs_ctx *ctx, const char *id, bool remove, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    cs_arena *a = cs_arena_new();
    const char *full;
    int rc = resolve_or_gone(d, ctx, id, a, &full, err);
    if (rc == 1) {
        pod_lock(d, full);
        rc = remove ? remove_locked(d, ctx, full, a, err) : stop_locked(d, ctx, full, a, err);
        pod_unlock(d, full);
        if (rc != 0)
            cs_error_wrap(err, "%s sandbox %s", remove ? "remove" : "stop", id);
        else
            cs_info(remove ? "sandbox removed" : "sandbox stopped", "id", full, NULL);
    }
    cs_arena_free(a);
    return rc < 0 ? -1 : 0;
}

int ctrd_sandbox_stop(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return pod_op(b, ctx, id, false, err);
}

int ctrd_sandbox_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    return pod_op(b, ctx, id, true, err);
}

/* ---- status, list, netns ---- */

static const char *task_status_name(ctrd_task_status s)
{
    switch (s) {
    case CTRD_TASK_CREATED:
        return "created";
    case CTRD_TASK_RUNNING:
        return "running";
    case CTRD_TASK_STOPPED:
        return "stopped";
    case CTRD_TASK_PAUSED:
        return "paused";
    case CTRD_TASK_PAUSING:
        return "pausing";
    default:
        return "unknown";
    }
}

/* The pause task, if any: *has false when there is none. */
static int pause_task(ctrd_backend *d, const cs_ctx *ctx, const char *id, ctrd_task *t, bool *has, cs_error *err)
{
    cs_error e;
    *has = ctrd_task_get(d, ctx, id, NULL, t, &e) == 0;
    if (*has || e.code == CS_ERR_NOT_FOUND)
        return 0;
    if (err)
        *err = e;
    return -1;
}

/* Verbose status: what containerd's CRI plugin shows, plus our state. */
static char *verbose_info(ctrd_backend *d, const ctrd_record *r, const ctrd_pod_state *st, const ctrd_task *t, bool has,
                          cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "id", r->id);
    cs_jw_kv_int(&w, "pid", has ? t->pid : 0);
    cs_jw_kv_str(&w, "processStatus", has ? task_status_name(t->status) : "deleted");
    put_str_or_null(&w, "netNamespace", st->netns);
    cs_jw_kv_bool(&w, "netNamespaceClosed", !st->netns || st->stopped);
    cs_jw_kv_str(&w, "image", r->image);
    cs_jw_kv_str(&w, "snapshotKey", r->snapshot_key);
    cs_jw_kv_str(&w, "snapshotter", d->snapshotter);
    cs_jw_kv_str(&w, "runtimeType", CTRD_RUNTIME);
    cs_jw_key(&w, "state");
    cs_jw_raw(&w, r->state_json ? r->state_json : "null", r->state_json ? strlen(r->state_json) : 4);
    cs_jw_key(&w, "runtimeSpec");
    cs_jw_raw(&w, r->spec_json ? r->spec_json : "null", r->spec_json ? strlen(r->spec_json) : 4);
    cs_jw_obj_end(&w);
    char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

static void set_ips(cs_sandbox *s, const ctrd_pod_state *st)
{
    if (s->net == CS_NS_NODE)
        return;
    s->ip = st->ip ? st->ip : "";
    s->additional_ips = st->ips.items;
    s->n_additional_ips = st->ips.n;
}

int ctrd_sandbox_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                        cs_sandbox **out, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    ctrd_record r;
    ctrd_task t;
    bool has;
    if (find_sandbox(d, ctx, id, a, &r, err) != 0 || pause_task(d, ctx, r.id, &t, &has, err) != 0)
        return cs_error_wrap(err, "sandbox status %s", id);
    ctrd_pod_state st;
    ctrd_pod_state_parse(r.state_json, pod_dir(d, r.id, a), a, &st);
    cs_sandbox *s = cs_arena_alloc(a, sizeof *s);
    sandbox_decode(&r, a, s);
    s->state = has && t.status == CTRD_TASK_RUNNING ? CS_SANDBOX_READY : CS_SANDBOX_NOTREADY;
    set_ips(s, &st);
    if (verbose)
        s->info_json = verbose_info(d, &r, &st, &t, has, a);
    *out = s;
    return 0;
}

int ctrd_sandbox_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a, cs_sandbox ***out,
                      size_t *n, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    ctrd_record *recs;
    size_t nr, nt;
    const char **ids;
    ctrd_task *tasks;
    if (ctrd_record_list(d, ctx, CS_STATE_KIND_SANDBOX, NULL, NULL, a, &recs, &nr, err) != 0 ||
        ctrd_task_list(d, ctx, a, &ids, &tasks, &nt, err) != 0)
        return cs_error_wrap(err, "list sandboxes");
    cs_sandbox **list = cs_arena_array(a, nr + 1, sizeof *list);
    size_t k = 0;
    for (size_t i = 0; i < nr; i++) {
        cs_sandbox *s = cs_arena_alloc(a, sizeof *s);
        sandbox_decode(&recs[i], a, s);
        s->state = CS_SANDBOX_NOTREADY;
        for (size_t t = 0; t < nt; t++)
            if (!strcmp(ids[t], recs[i].id) && tasks[t].status == CTRD_TASK_RUNNING)
                s->state = CS_SANDBOX_READY;
        if (cs_state_sandbox_wanted(s, f))
            list[k++] = s;
    }
    *out = list;
    *n = k;
    return 0;
}

int ctrd_sandbox_facts(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_sandbox_view *out,
                       cs_error *err)
{
    memset(out, 0, sizeof *out);
    ctrd_record r;
    ctrd_task t;
    bool has;
    if (find_sandbox(d, ctx, id, a, &r, err) != 0)
        return -1;
    /* The pause pid as the event feed knows it (CreateContainer's hot path),
     * else from containerd. A feed that knows no pid is not trusted: the
     * task's start event may still be on its way when RunPodSandbox has
     * returned and the first CreateContainer comes in. */
    uint32_t pid = 0;
    memset(&t, 0, sizeof t);
    if (ctrd_events_pid(d, r.id, &pid) && pid != 0) {
        has = true;
        t.pid = pid;
        t.status = CTRD_TASK_RUNNING;
    } else if (pause_task(d, ctx, r.id, &t, &has, err) != 0) {
        return -1;
    }
    ctrd_pod_state st;
    ctrd_pod_state_parse(r.state_json, pod_dir(d, r.id, a), a, &st);
    cs_sandbox s;
    sandbox_decode(&r, a, &s);
    out->id = r.id;
    out->ready = has && t.status == CTRD_TASK_RUNNING;
    cs_port *ports = cs_arena_array(a, st.n_ports + 1, sizeof *ports);
    for (size_t i = 0; i < st.n_ports; i++) {
        const ctrd_cni_port *p = &st.ports[i];
        int proto = 0;
        for (int k = 0; k < 3; k++)
            if (!strcmp(p->protocol, proto_names[k]))
                proto = k;
        ports[i] = (cs_port){.protocol = proto,
                             .container_port = p->container_port,
                             .host_port = p->host_port,
                             .host_ip = p->host_ip};
    }
    out->config = (cs_sandbox_config){.name = s.name,
                                      .ns = s.ns,
                                      .uid = s.uid,
                                      .attempt = s.attempt,
                                      .hostname = st.hostname,
                                      .log_directory = s.log_directory,
                                      .dns_servers = st.dns_servers,
                                      .dns_searches = st.dns_searches,
                                      .dns_options = st.dns_options,
                                      .ports = ports,
                                      .n_ports = st.n_ports,
                                      .labels = s.labels,
                                      .annotations = s.annotations,
                                      .cgroup_parent = st.cgroup_parent,
                                      .net = s.net,
                                      .pid = s.pid,
                                      .ipc = s.ipc,
                                      .runtime_handler = s.runtime_handler};
    out->facts = facts_of(r.id, &st, out->ready ? (int)t.pid : 0, a);
    return 0;
}

/* The pod's network namespace for port-forward: the named netns, or the
 * pause process's own with host network. */
int ctrd_sandbox_netns(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, const char **path,
                       cs_error *err)
{
    ctrd_sandbox_view v;
    if (ctrd_sandbox_facts(ctrd_of(b), ctx, id, a, &v, err) != 0)
        return cs_error_wrap(err, "sandbox %s", id);
    if (!v.ready)
        return cs_error_set(err, CS_ERR_CONFLICT, "sandbox %s is not ready", id);
    *path = v.facts.netns_path ? v.facts.netns_path : cs_arena_printf(a, "/proc/%d/ns/net", v.facts.pause_pid);
    return 0;
}
