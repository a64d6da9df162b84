/* Containers on Docker: created inside their sandbox's namespaces, with the
 * CRI configuration translated to Docker's, and every field CRI reports back
 * recoverable from labels and inspect output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/imageref.h"
#include "docker/internal.h"
#include "docker/labels.h"
#include "util/log.h"
#include "util/time.h"
#include "util/url.h"

/* How long a pod's containers get to stop when the whole pod is stopped. */
#define SANDBOX_MEMBER_STOP_TIMEOUT_S 2

static const char *const propagation_names[] = {"rprivate", "rslave", "rshared"};

/* ---- create ---- */

typedef struct sandbox_info {
    const char *id;
    const char *log_directory;
    const char *cgroup_parent;
    const char *name, *ns, *uid; /* the pod's, for the container's name */
    bool running;
} sandbox_info;

/* One inspect of the sandbox gives all CreateContainer needs of it (a prefix
 * is resolved first; a full id is checked by the inspect's kind label). */
static int sandbox_lookup(docker_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, sandbox_info *out,
                          cs_error *err)
{
    out->id = id;
    if (!cs_state_is_full_id(id) && docker_resolve_id(d, ctx, CS_STATE_KIND_SANDBOX, id, a, &out->id, err) != 0)
        return cs_error_wrap(err, "pod sandbox");
    docker_response resp;
    cs_json *j;
    if (docker_get_json(d, ctx, cs_arena_printf(a, "/containers/%s/json", out->id), &resp, &j, err) != 0) {
        if (err && err->code == CS_ERR_NOT_FOUND)
            return cs_error_set(err, CS_ERR_NOT_FOUND, "pod sandbox: sandbox %s not found", id);
        return cs_error_wrap(err, "pod sandbox %s", id);
    }
    int labels = cs_json_get(j, 0, "Config.Labels");
    if (!cs_json_str_eq(j, cs_json_key(j, labels, CS_STATE_KIND), CS_STATE_KIND_SANDBOX)) {
        docker_json_release(&resp, j);
        return cs_error_set(err, CS_ERR_NOT_FOUND, "pod sandbox: sandbox %s not found", id);
    }
    out->running = cs_json_get_bool(j, 0, "State.Running", false);
    out->log_directory = docker_label(j, labels, CS_STATE_LOG_DIRECTORY, a);
    out->cgroup_parent = cs_json_get_str(j, 0, "HostConfig.CgroupParent", a);
    out->name = docker_label(j, labels, CS_STATE_POD_NAME, a);
    out->ns = docker_label(j, labels, CS_STATE_POD_NAMESPACE, a);
    out->uid = docker_label(j, labels, CS_STATE_POD_UID, a);
    docker_json_release(&resp, j);
    return 0;
}

static void put_binds(cs_jw *w, const cs_container_config *c, cs_arena *a)
{
    cs_jw_key(w, "Binds");
    cs_jw_arr_begin(w);
    for (size_t i = 0; i < c->n_mounts; i++) {
        const cs_mount *m = &c->mounts[i];
        int p = m->propagation >= 0 && m->propagation <= 2 ? m->propagation : 0;
        cs_jw_string(w, cs_arena_printf(a, "%s:%s:%s,%s%s", m->host_path, m->container_path, m->readonly ? "ro" : "rw",
                                        propagation_names[p], m->selinux_relabel ? ",Z" : ""));
    }
    cs_jw_arr_end(w);
}

void docker_put_resources(cs_jw *w, const cs_resources *r)
{
    if (r->cpu_period)
        cs_jw_kv_int(w, "CpuPeriod", r->cpu_period);
    if (r->cpu_quota)
        cs_jw_kv_int(w, "CpuQuota", r->cpu_quota);
    if (r->cpu_shares)
        cs_jw_kv_int(w, "CpuShares", r->cpu_shares);
    if (r->memory_limit > 0) {
        cs_jw_kv_int(w, "Memory", r->memory_limit);
        cs_jw_kv_int(w, "MemorySwap", r->memory_limit); /* no swap, as kubelet expects */
    }
    if (r->cpuset_cpus && *r->cpuset_cpus)
        cs_jw_kv_str(w, "CpusetCpus", r->cpuset_cpus);
    if (r->cpuset_mems && *r->cpuset_mems)
        cs_jw_kv_str(w, "CpusetMems", r->cpuset_mems);
}

static void put_labels(cs_jw *w, const cs_container_config *c, const sandbox_info *sb, const char *log_path,
                       cs_arena *a)
{
    cs_kvs labels = cs_state_container_labels(c, sb->id, log_path, cs_time_now_ns(), a);
    cs_jw_key(w, "Labels");
    cs_jw_obj_begin(w);
    docker_labels_put(w, "", &labels);
    cs_jw_obj_end(w);
}

static char *create_body(docker_backend *d, const cs_container_config *c, const sandbox_info *sb,
                         const char *image_id, const char *log_path, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "Image", image_id);
    if (c->command.n)
        docker_put_strs(&w, "Entrypoint", &c->command);
    if (c->args.n)
        docker_put_strs(&w, "Cmd", &c->args);
    cs_jw_key(&w, "Env");
    cs_jw_arr_begin(&w);
    for (size_t i = 0; i < c->envs.n; i++)
        cs_jw_string(&w, cs_arena_printf(a, "%s=%s", c->envs.items[i].key, c->envs.items[i].value));
    cs_jw_arr_end(&w);
    if (c->working_dir && *c->working_dir)
        cs_jw_kv_str(&w, "WorkingDir", c->working_dir);
    char *user = cs_security_user_string(&c->security, a);
    if (user)
        cs_jw_kv_str(&w, "User", user);
    cs_jw_kv_bool(&w, "Tty", c->tty);
    cs_jw_kv_bool(&w, "OpenStdin", c->stdin_);
    cs_jw_kv_bool(&w, "StdinOnce", c->stdin_once);
    cs_jw_kv_bool(&w, "AttachStdin", c->stdin_);
    cs_jw_kv_bool(&w, "AttachStdout", true);
    cs_jw_kv_bool(&w, "AttachStderr", true);
    put_labels(&w, c, sb, log_path, a);

    cs_jw_key(&w, "HostConfig");
    cs_jw_obj_begin(&w);
    const char *join = cs_arena_printf(a, "container:%s", sb->id);
    cs_jw_kv_str(&w, "NetworkMode", join);
    cs_jw_kv_str(&w, "IpcMode", join);
    if (c->pid == CS_NS_POD)
        cs_jw_kv_str(&w, "PidMode", join);
    else if (c->pid == CS_NS_NODE)
        cs_jw_kv_str(&w, "PidMode", "host");
    if (sb->cgroup_parent && *sb->cgroup_parent)
        cs_jw_kv_str(&w, "CgroupParent", sb->cgroup_parent);
    put_binds(&w, c, a);
    cs_jw_key(&w, "Devices");
    cs_jw_arr_begin(&w);
    for (size_t i = 0; i < c->n_devices; i++) {
        cs_jw_obj_begin(&w);
        cs_jw_kv_str(&w, "PathOnHost", c->devices[i].host_path);
        cs_jw_kv_str(&w, "PathInContainer", c->devices[i].container_path);
        cs_jw_kv_str(&w, "CgroupPermissions",
                     c->devices[i].permissions && *c->devices[i].permissions ? c->devices[i].permissions : "rwm");
        cs_jw_obj_end(&w);
    }
    cs_jw_arr_end(&w);
    cs_security_host host;
    cs_security_host_probe(atomic_load(&d->unknown_caps), &host);
    if (c->has_resources) {
        docker_put_resources(&w, &c->resources);
        if (c->resources.has_oom_score_adj)
            cs_jw_kv_int(&w, "OomScoreAdj", cs_security_oom_score_adj(&host, c->resources.oom_score_adj));
    }
    cs_security_policy policy;
    cs_security_decide(&c->security, &host, a, &policy);
    docker_write_security(&w, &policy, a);
    cs_jw_obj_end(&w);
    cs_jw_obj_end(&w);
    char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

static const char *container_name(const cs_container_config *c, const sandbox_info *sb, cs_arena *a)
{
    return cs_state_container_name(c->name, c->attempt, sb->name ? sb->name : "", sb->ns ? sb->ns : "",
                                   sb->uid ? sb->uid : "", a);
}

int docker_container_create(cs_backend *b, const cs_ctx *ctx, const cs_container_config *cfg, cs_arena *a,
                            const char **id, cs_error *err)
{
    docker_backend *d = docker_of(b);
    sandbox_info sb = {0};
    if (sandbox_lookup(d, ctx, cfg->sandbox_id, a, &sb, err) != 0)
        return -1;
    if (!sb.running)
        return cs_error_set(err, CS_ERR_CONFLICT, "pod sandbox %s is not ready: create containers in a running pod",
                            cfg->sandbox_id);
    cs_image *img;
    if (docker_image_status(b, ctx, cfg->image, false, a, &img, err) != 0)
        return -1;
    if (!img)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "image %s is not present: pull it first", cfg->image);
    const char *log_path = "";
    if (cfg->log_path && *cfg->log_path && sb.log_directory && *sb.log_directory)
        log_path = cs_arena_printf(a, "%s/%s", sb.log_directory, cfg->log_path);
    const char *name = container_name(cfg, &sb, a);
    docker_response resp;
    char *path = cs_arena_printf(a, "/containers/create?name=%s", cs_url_query_escape(name, a));
    for (;;) {
        char *body = create_body(d, cfg, &sb, img->id, log_path, a);
        if (docker_request(d->http, ctx, "POST", path, body, strlen(body), NULL, &resp, err) != 0)
            return cs_error_wrap(err, "create container %s", name);
        /* An engine older than the host's kernel refuses capabilities it has
         * no name for: learn them once, and ask again without. */
        if (resp.status >= 400 && resp.status != 409) {
            cs_error refused;
            docker_error_from_response(&resp, &refused);
            if (docker_note_unknown_cap(d, refused.msg)) {
                docker_response_clear(&resp);
                continue;
            }
        }
        break;
    }
    if (resp.status == 409) {
        docker_response_clear(&resp);
        return cs_error_set(err, CS_ERR_EXISTS, "container %s already exists", name);
    }
    if (resp.status >= 400) {
        docker_error_from_response(&resp, err);
        docker_response_clear(&resp);
        return cs_error_wrap(err, "create container %s", name);
    }
    cs_json *j;
    if (cs_json_parse(resp.body, resp.body_len, &j, err) != 0) {
        docker_response_clear(&resp);
        return cs_error_wrap(err, "create container %s", name);
    }
    *id = cs_json_get_str(j, 0, "Id", a);
    docker_json_release(&resp, j);
    if (!*id)
        return cs_error_set(err, CS_ERR_INTERNAL, "create container %s: docker returned no id", name);
    cs_info("container created", "name", name, "id", *id, NULL);
    return 0;
}

/* ---- lifecycle ---- */

static int resolve(docker_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, const char **full,
                   cs_error *err)
{
    return docker_resolve_id(d, ctx, DL_KIND_CONTAINER, id, a, full, err);
}

int docker_container_start(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    const char *full = id;
    cs_container *c = NULL;
    /* the status resolves a prefix and checks the container is ours: one
     * inspect, not a resolve and then a status */
    int rc = docker_container_status(b, ctx, id, false, a, &c, err);
    if (rc == 0)
        full = c->id;
    if (rc == 0 && c->state != CS_CONTAINER_CREATED)
        rc = cs_error_set(err, CS_ERR_CONFLICT, "container %s is not in the created state", id);
    /* The log file exists, and the exit waits for its stream, before the
     * container can run: no status read falls between the start and the
     * stream. */
    bool logged = rc == 0 && docker_logs_register(d->logs, full, c->log_path) == 0;
    docker_response resp;
    if (rc == 0)
        rc = docker_request_ok(d->http, ctx, "POST", cs_arena_printf(a, "/containers/%s/start", full), NULL, 0, NULL,
                               &resp, err);
    if (rc == 0) {
        docker_response_clear(&resp);
        if (logged)
            docker_logs_follow(d->logs, full);
    } else {
        if (logged)
            docker_logs_forget(d->logs, full);
        cs_error_wrap(err, "start container %s", id);
    }
    cs_arena_free(a);
    return rc;
}

/* 304 (already stopped) and 404 (gone) both mean: nothing left to do. */
static int stop_one(docker_backend *d, const cs_ctx *ctx, const char *id, int64_t timeout_s, cs_arena *a,
                    cs_error *err)
{
    return docker_call_idempotent(d, ctx, "POST",
                                  cs_arena_printf(a, "/containers/%s/stop?t=%lld", id, (long long)timeout_s), err);
}

int docker_container_stop(cs_backend *b, const cs_ctx *ctx, const char *id, int64_t timeout_s, cs_error *err)
{
    cs_error local;
    if (!err) /* callers that only want success or not */
        err = &local;
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    const char *full;
    int rc = resolve(d, ctx, id, a, &full, err);
    if (rc != 0 && err->code == CS_ERR_NOT_FOUND)
        rc = 0, full = NULL; /* idempotent */
    if (rc == 0 && full && stop_one(d, ctx, full, timeout_s < 0 ? 0 : timeout_s, a, err) != 0)
        rc = cs_error_wrap(err, "stop container %s", id);
    cs_arena_free(a);
    return rc;
}

int docker_container_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    cs_error local;
    if (!err) /* callers that only want success or not */
        err = &local;
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    const char *full;
    int rc = resolve(d, ctx, id, a, &full, err);
    if (rc != 0 && err->code == CS_ERR_NOT_FOUND)
        rc = 0, full = NULL; /* idempotent */
    if (rc == 0 && full && docker_remove_container(d, ctx, full, err) != 0)
        rc = cs_error_wrap(err, "remove container %s", id);
    cs_arena_free(a);
    return rc;
}

int docker_sandbox_containers(docker_backend *d, const cs_ctx *ctx, const char *sandbox_id, bool remove,
                              cs_error *err)
{
    docker_response resp;
    cs_json *j;
    if (docker_list_kind(d, ctx, DL_KIND_CONTAINER, sandbox_id, &resp, &j, err) != 0)
        return -1;
    cs_arena *a = cs_arena_new();
    int rc = 0;
    for (int it = cs_json_first(j, 0); it >= 0 && rc == 0; it = cs_json_next(j, 0, it)) {
        char *cid = cs_json_get_str(j, it, "Id", a);
        if (!cid)
            continue;
        if (remove)
            rc = docker_remove_container(d, ctx, cid, err);
        else if (cs_json_str_eq(j, cs_json_key(j, it, "State"), "running"))
            rc = stop_one(d, ctx, cid, SANDBOX_MEMBER_STOP_TIMEOUT_S, a, err);
    }
    docker_json_release(&resp, j);
    cs_arena_free(a);
    return rc;
}

/* ---- status and list ---- */

static cs_container_state state_of(const char *s)
{
    if (!s)
        return CS_CONTAINER_UNKNOWN;
    if (!strcmp(s, "created"))
        return CS_CONTAINER_CREATED;
    if (!strcmp(s, "running") || !strcmp(s, "paused") || !strcmp(s, "restarting"))
        return CS_CONTAINER_RUNNING;
    if (!strcmp(s, "exited") || !strcmp(s, "dead") || !strcmp(s, "removing"))
        return CS_CONTAINER_EXITED;
    return CS_CONTAINER_UNKNOWN;
}

static cs_container *container_from(const cs_json *j, int labels, const char *id, cs_arena *a)
{
    cs_container *c = cs_arena_alloc(a, sizeof *c);
    c->id = id;
    cs_kvs kvs = docker_labels_of(j, labels, a);
    cs_state_container_decode(&kvs, c, a);
    return c;
}

static int64_t time_field(const cs_json *j, const char *path)
{
    size_t len;
    const char *raw = cs_json_raw(j, cs_json_get(j, 0, path), &len);
    int64_t ns = 0;
    if (!raw || cs_time_parse_rfc3339(raw, len, &ns) != 0)
        return 0;
    return ns;
}

/* A repo digest identifies the image content across hosts; fall back to the
 * id. Remembered per image id, so a status costs one engine call, not two. */
static const char *image_ref_for(docker_backend *d, const cs_ctx *ctx, const char *image_id, cs_arena *a)
{
    if (!image_id)
        return "";
    pthread_mutex_lock(&d->refs_mu);
    for (size_t i = 0; i < sizeof d->refs / sizeof d->refs[0]; i++) {
        if (!strcmp(d->refs[i].id, image_id)) {
            char *ref = cs_arena_strdup(a, d->refs[i].ref);
            pthread_mutex_unlock(&d->refs_mu);
            return ref;
        }
    }
    pthread_mutex_unlock(&d->refs_mu);
    cs_image *img;
    cs_error ignored;
    if (docker_image_status(&d->base, ctx, image_id, false, a, &img, &ignored) != 0 || !img)
        return image_id;
    if (!img->n_repo_digests)
        return image_id; /* a digest may come with a later push or pull */
    pthread_mutex_lock(&d->refs_mu);
    unsigned slot = d->refs_next++ % (sizeof d->refs / sizeof d->refs[0]);
    snprintf(d->refs[slot].id, sizeof d->refs[slot].id, "%s", image_id);
    snprintf(d->refs[slot].ref, sizeof d->refs[slot].ref, "%s", img->repo_digests[0]);
    pthread_mutex_unlock(&d->refs_mu);
    return img->repo_digests[0];
}

int docker_container_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                            cs_container **out, cs_error *err)
{
    cs_error local;
    if (!err) /* callers that only want success or not */
        err = &local;
    docker_backend *d = docker_of(b);
    const char *full = id;
    /* A full id needs no resolving: the inspect below checks it is ours. */
    if (!cs_state_is_full_id(id) && resolve(d, ctx, id, a, &full, err) != 0)
        return -1;
    docker_response resp;
    cs_json *j;
    if (docker_get_json(d, ctx, cs_arena_printf(a, "/containers/%s/json", full), &resp, &j, err) != 0) {
        if (err->code == CS_ERR_NOT_FOUND)
            return cs_error_set(err, CS_ERR_NOT_FOUND, "container %s not found", id);
        return cs_error_wrap(err, "container %s", id);
    }
    int labels = cs_json_get(j, 0, "Config.Labels");
    if (!cs_json_str_eq(j, cs_json_key(j, labels, CS_STATE_KIND), DL_KIND_CONTAINER)) {
        docker_json_release(&resp, j);
        return cs_error_set(err, CS_ERR_NOT_FOUND, "container %s not found", id);
    }
    cs_container *c = container_from(j, labels, full, a);
    c->state = state_of(cs_json_get_str(j, 0, "State.Status", a));
    c->started_ns = time_field(j, "State.StartedAt");
    c->finished_ns = time_field(j, "State.FinishedAt");
    c->exit_code = (int32_t)cs_json_get_int64(j, 0, "State.ExitCode", 0);
    c->pid = (int)cs_json_get_int64(j, 0, "State.Pid", 0);
    if (c->state == CS_CONTAINER_EXITED)
        cs_state_exit_reason(cs_json_get_bool(j, 0, "State.OOMKilled", false), c->exit_code,
                             cs_json_get_str(j, 0, "State.Error", a), &c->reason, &c->message);
    c->image_id = cs_json_get_str(j, 0, "Image", a);
    cs_state_mounts_parse(docker_label(j, labels, DL_MOUNTS, a), a, &c->mounts, &c->n_mounts);
    int hc = cs_json_key(j, 0, "HostConfig");
    c->has_resources = true;
    c->resources.cpu_period = cs_json_get_int64(j, hc, "CpuPeriod", 0);
    c->resources.cpu_quota = cs_json_get_int64(j, hc, "CpuQuota", 0);
    c->resources.cpu_shares = cs_json_get_int64(j, hc, "CpuShares", 0);
    c->resources.memory_limit = cs_json_get_int64(j, hc, "Memory", 0);
    c->resources.oom_score_adj = cs_json_get_int64(j, hc, "OomScoreAdj", 0);
    c->resources.cpuset_cpus = cs_json_get_str(j, hc, "CpusetCpus", a);
    c->resources.cpuset_mems = cs_json_get_str(j, hc, "CpusetMems", a);
    if (verbose) {
        size_t len;
        const char *raw = cs_json_raw(j, 0, &len);
        c->info_json = cs_arena_strndup(a, raw, len);
    }
    docker_json_release(&resp, j);
    c->image_ref = image_ref_for(d, ctx, c->image_id, a);
    if (c->state == CS_CONTAINER_EXITED) /* exited means: its log is complete */
        docker_logs_wait_drained(d->logs, &c->id, 1, ctx);
    *out = c;
    return 0;
}

int docker_container_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                          cs_container ***out, size_t *n, cs_error *err)
{
    docker_backend *d = docker_of(b);
    docker_response resp;
    cs_json *j;
    if (docker_list_kind(d, ctx, DL_KIND_CONTAINER, NULL, &resp, &j, err) != 0)
        return cs_error_wrap(err, "list containers");
    int count = cs_json_count(j, 0);
    cs_container **list = cs_arena_array(a, (size_t)count + 1, sizeof *list);
    size_t k = 0;
    for (int it = cs_json_first(j, 0); it >= 0; it = cs_json_next(j, 0, it)) {
        char *cid = cs_json_get_str(j, it, "Id", a);
        if (!cid)
            continue;
        cs_container *c = container_from(j, cs_json_key(j, it, "Labels"), cid, a);
        c->state = state_of(cs_json_get_str(j, it, "State", a));
        c->image_id = cs_json_get_str(j, it, "ImageID", a);
        c->image_ref = c->image_id ? c->image_id : "";
        if (cs_state_container_wanted(c, f))
            list[k++] = c;
    }
    docker_json_release(&resp, j);
    /* exited means: its log is complete (one bounded wait for them all) */
    const char **exited = cs_arena_array(a, k + 1, sizeof *exited);
    size_t n_exited = 0;
    for (size_t i = 0; i < k; i++)
        if (list[i]->state == CS_CONTAINER_EXITED)
            exited[n_exited++] = list[i]->id;
    docker_logs_wait_drained(d->logs, exited, n_exited, ctx);
    *out = list;
    *n = k;
    return 0;
}

int docker_container_update(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_resources *r, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    const char *full;
    int rc = resolve(d, ctx, id, a, &full, err);
    if (rc == 0) {
        cs_jw w;
        cs_jw_init(&w);
        cs_jw_obj_begin(&w);
        docker_put_resources(&w, r);
        cs_jw_obj_end(&w);
        docker_response resp;
        rc = docker_request_ok(d->http, ctx, "POST", cs_arena_printf(a, "/containers/%s/update", full),
                               cs_jw_str_view(&w), w.len, NULL, &resp, err);
        cs_jw_free(&w);
        if (rc == 0)
            docker_response_clear(&resp);
        else
            cs_error_wrap(err, "update container %s", id);
    }
    cs_arena_free(a);
    return rc;
}

int docker_container_reopen_log(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    cs_container *c;
    int rc = docker_container_status(b, ctx, id, false, a, &c, err);
    if (rc == 0 && c->state != CS_CONTAINER_RUNNING)
        rc = cs_error_set(err, CS_ERR_CONFLICT, "container %s is not running", id);
    if (rc == 0)
        rc = docker_logs_reopen(d->logs, c->id, err);
    cs_arena_free(a);
    return rc;
}
