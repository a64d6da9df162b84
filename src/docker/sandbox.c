/* Pod sandboxes on Docker: an infra container running crishim's pause image
 * holds the pod's network, IPC and (optionally) PID namespaces; the pod's
 * containers join them. Everything CRI reports back lives in its labels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"
#include "docker/labels.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/time.h"
#include "util/url.h"

/* The pause container never needs to linger on stop. */
#define SANDBOX_STOP_TIMEOUT_S 10

static const char *const proto_names[] = {"tcp", "udp", "sctp"};

static const char *proto_name(int p)
{
    return p >= 0 && p <= 2 ? proto_names[p] : "tcp";
}

static void put_ports(cs_jw *w, const cs_sandbox_config *c, bool host_net)
{
    char key[32];
    cs_jw_key(w, "PortBindings");
    cs_jw_obj_begin(w);
    for (size_t i = 0; i < c->n_ports && !host_net; i++) {
        const cs_port *p = &c->ports[i];
        if (p->host_port <= 0)
            continue;
        char hp[16];
        snprintf(key, sizeof key, "%d/%s", p->container_port, proto_name(p->protocol));
        snprintf(hp, sizeof hp, "%d", p->host_port);
        cs_jw_key(w, key);
        cs_jw_arr_begin(w);
        cs_jw_obj_begin(w);
        cs_jw_kv_str(w, "HostIp", p->host_ip ? p->host_ip : "");
        cs_jw_kv_str(w, "HostPort", hp);
        cs_jw_obj_end(w);
        cs_jw_arr_end(w);
    }
    cs_jw_obj_end(w);
}

static void put_exposed(cs_jw *w, const cs_sandbox_config *c)
{
    char key[32];
    cs_jw_key(w, "ExposedPorts");
    cs_jw_obj_begin(w);
    for (size_t i = 0; i < c->n_ports; i++) {
        snprintf(key, sizeof key, "%d/%s", c->ports[i].container_port, proto_name(c->ports[i].protocol));
        cs_jw_key(w, key);
        cs_jw_obj_begin(w);
        cs_jw_obj_end(w);
    }
    cs_jw_obj_end(w);
}

static void put_labels(cs_jw *w, const cs_sandbox_config *c, cs_arena *a)
{
    cs_kvs labels = cs_state_sandbox_labels(c, cs_time_now_ns(), a);
    cs_jw_key(w, "Labels");
    cs_jw_obj_begin(w);
    docker_labels_put(w, "", &labels);
    cs_jw_obj_end(w);
}

static char *create_body(docker_backend *d, const cs_sandbox_config *c, cs_arena *a)
{
    bool host_net = c->net == CS_NS_NODE;
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "Image", d->pause_image);
    /* Docker refuses a hostname with the host's network: the pod gets the node's. */
    if (!host_net && c->hostname && *c->hostname)
        cs_jw_kv_str(&w, "Hostname", c->hostname);
    char *user = cs_security_user_string(&c->security, a);
    if (user)
        cs_jw_kv_str(&w, "User", user);
    put_labels(&w, c, a);
    put_exposed(&w, c);
    cs_jw_key(&w, "HostConfig");
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "NetworkMode", host_net ? "host" : "bridge");
    put_ports(&w, c, host_net);
    cs_jw_kv_str(&w, "IpcMode", c->ipc == CS_NS_NODE ? "host" : "shareable");
    if (c->pid == CS_NS_NODE)
        cs_jw_kv_str(&w, "PidMode", "host");
    if (c->cgroup_parent && *c->cgroup_parent)
        cs_jw_kv_str(&w, "CgroupParent", c->cgroup_parent);
    if (c->sysctls.n) {
        cs_jw_key(&w, "Sysctls");
        cs_jw_obj_begin(&w);
        docker_labels_put(&w, "", &c->sysctls);
        cs_jw_obj_end(&w);
    }
    if (!host_net) {
        docker_put_strs(&w, "Dns", &c->dns_servers);
        docker_put_strs(&w, "DnsSearch", &c->dns_searches);
        docker_put_strs(&w, "DnsOptions", &c->dns_options);
    }
    cs_security_host host;
    cs_security_host_probe(atomic_load(&d->unknown_caps), &host);
    int64_t adj;
    if (cs_security_sandbox_oom_score_adj(&host, &adj))
        cs_jw_kv_int(&w, "OomScoreAdj", adj);
    cs_security_policy policy;
    cs_security_decide_sandbox(&c->security, &host, a, &policy);
    docker_write_security(&w, &policy, a);
    cs_jw_obj_end(&w);
    cs_jw_obj_end(&w);
    char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

static int check_handler(const char *h, cs_error *err)
{
    if (!h || !*h || !strcmp(h, "runc"))
        return 0;
    return cs_error_set(err, CS_ERR_INVALID, "runtime_handler \"%s\" is not configured (crishim on docker has \"\" and runc)",
                        h);
}

int docker_sandbox_run(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_config *cfg, cs_arena *a, const char **id,
                       cs_error *err)
{
    docker_backend *d = docker_of(b);
    if (check_handler(cfg->runtime_handler, err) != 0)
        return -1;
    if (cfg->log_directory && *cfg->log_directory && cs_mkdir_p(cfg->log_directory, 0755, err) != 0)
        return cs_error_wrap(err, "pod log directory");
    const char *name = cs_state_sandbox_name(cfg, a);
    char *body = create_body(d, cfg, a);
    char *path = cs_arena_printf(a, "/containers/create?name=%s", cs_url_query_escape(name, a));
    docker_response resp;
    /* The pause image is checked (and imported or pulled) once, not per pod:
     * should it go, the create answers 404 and it is made again. */
    for (int attempt = 0;; attempt++) {
        if (!atomic_load(&d->pause_present)) {
            if (docker_ensure_pause_image(d, ctx, err) != 0)
                return -1;
            atomic_store(&d->pause_present, true);
        }
        if (docker_request(d->http, ctx, "POST", path, body, strlen(body), NULL, &resp, err) != 0)
            return cs_error_wrap(err, "create sandbox %s", name);
        if (resp.status != 404 || attempt > 0)
            break;
        docker_response_clear(&resp);
        atomic_store(&d->pause_present, false);
    }
    if (resp.status == 409) {
        docker_response_clear(&resp);
        return cs_error_set(err, CS_ERR_EXISTS, "sandbox %s already exists", name);
    }
    if (resp.status >= 400) {
        docker_error_from_response(&resp, err);
        docker_response_clear(&resp);
        return cs_error_wrap(err, "create sandbox %s", name);
    }
    cs_json *j;
    if (cs_json_parse(resp.body, resp.body_len, &j, err) != 0) {
        docker_response_clear(&resp);
        return cs_error_wrap(err, "create sandbox %s", name);
    }
    char *cid = cs_json_get_str(j, 0, "Id", a);
    docker_json_release(&resp, j);
    if (!cid)
        return cs_error_set(err, CS_ERR_INTERNAL, "create sandbox %s: docker returned no id", name);
    path = cs_arena_printf(a, "/containers/%s/start", cid);
    if (docker_request_ok(d->http, ctx, "POST", path, NULL, 0, NULL, &resp, err) != 0) {
        cs_error saved = *err;
        /* Don't leave a half-made pod behind. */
        docker_request(d->http, ctx, "DELETE", cs_arena_printf(a, "/containers/%s?force=1", cid), NULL, 0, NULL,
                       &resp, NULL);
        docker_response_clear(&resp);
        *err = saved;
        return cs_error_wrap(err, "start sandbox %s", name);
    }
    docker_response_clear(&resp);
    cs_info("sandbox started", "name", name, "id", cid, NULL);
    *id = cid;
    return 0;
}

/* Stop and remove are idempotent: an unknown sandbox is already gone. */
static int resolve_or_gone(docker_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, const char **full,
                           cs_error *err)
{
    cs_error local;
    if (!err)
        err = &local;
    if (docker_resolve_id(d, ctx, DL_KIND_SANDBOX, id, a, full, err) == 0)
        return 1;
    return err->code == CS_ERR_NOT_FOUND ? 0 : -1;
}

int docker_sandbox_stop(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    const char *full;
    int rc = resolve_or_gone(d, ctx, id, a, &full, err);
    if (rc == 1) {
        rc = docker_sandbox_containers(d, ctx, full, false, err);
        if (rc == 0)
            rc = docker_call_idempotent(d, ctx, "POST",
                                        cs_arena_printf(a, "/containers/%s/stop?t=%d", full, SANDBOX_STOP_TIMEOUT_S),
                                        err);
        if (rc != 0)
            cs_error_wrap(err, "stop sandbox %s", id);
    }
    cs_arena_free(a);
    return rc < 0 ? -1 : 0;
}

int docker_sandbox_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    const char *full;
    int rc = resolve_or_gone(d, ctx, id, a, &full, err);
    if (rc == 1) {
        rc = docker_sandbox_containers(d, ctx, full, true, err);
        if (rc == 0)
            rc = docker_remove_container(d, ctx, full, err);
        if (rc != 0)
            cs_error_wrap(err, "remove sandbox %s", id);
        else
            cs_info("sandbox removed", "id", full, NULL);
    }
    cs_arena_free(a);
    return rc < 0 ? -1 : 0;
}

/* Fields common to list items and inspect output. */
static cs_sandbox *sandbox_from(const cs_json *j, int labels, const char *id, const char *state, cs_arena *a)
{
    cs_sandbox *s = cs_arena_alloc(a, sizeof *s);
    s->id = id;
    cs_kvs kvs = docker_labels_of(j, labels, a);
    cs_state_sandbox_decode(&kvs, s, a);
    s->state = state && !strcmp(state, "running") ? CS_SANDBOX_READY : CS_SANDBOX_NOTREADY;
    return s;
}

/* The inspect JSON of a sandbox named by a (possibly short) id. */
static int inspect_sandbox(docker_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, const char **full,
                           docker_response *resp, cs_json **j, cs_error *err)
{
    if (docker_resolve_id(d, ctx, DL_KIND_SANDBOX, id, a, full, err) != 0)
        return -1;
    if (docker_get_json(d, ctx, cs_arena_printf(a, "/containers/%s/json", *full), resp, j, err) != 0)
        return cs_error_wrap(err, "sandbox %s", id);
    return 0;
}

int docker_sandbox_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                          cs_sandbox **out, cs_error *err)
{
    docker_backend *d = docker_of(b);
    const char *full;
    docker_response resp;
    cs_json *j;
    if (inspect_sandbox(d, ctx, id, a, &full, &resp, &j, err) != 0)
        return -1;
    int labels = cs_json_get(j, 0, "Config.Labels");
    cs_sandbox *s = sandbox_from(j, labels, full, cs_json_get_str(j, 0, "State.Status", a), a);
    if (s->net != CS_NS_NODE)
        s->ip = cs_json_get_str(j, 0, "NetworkSettings.IPAddress", a);
    if (verbose) {
        size_t len;
        const char *raw = cs_json_raw(j, 0, &len);
        s->info_json = cs_arena_strndup(a, raw, len);
    }
    docker_json_release(&resp, j);
    *out = s;
    return 0;
}

/* The pause container's namespace is the pod's: reach it through its pid. */
int docker_sandbox_netns(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, const char **path,
                         cs_error *err)
{
    docker_backend *d = docker_of(b);
    const char *full;
    docker_response resp;
    cs_json *j;
    if (inspect_sandbox(d, ctx, id, a, &full, &resp, &j, err) != 0)
        return -1;
    bool running = cs_json_get_bool(j, 0, "State.Running", false);
    int64_t pid = cs_json_get_int64(j, 0, "State.Pid", 0);
    docker_json_release(&resp, j);
    if (!running || pid <= 0)
        return cs_error_set(err, CS_ERR_CONFLICT, "sandbox %s is not ready", id);
    *path = cs_arena_printf(a, "/proc/%lld/ns/net", (long long)pid);
    return 0;
}

int docker_sandbox_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a, cs_sandbox ***out,
                        size_t *n, cs_error *err)
{
    docker_backend *d = docker_of(b);
    docker_response resp;
    cs_json *j;
    if (docker_list_kind(d, ctx, DL_KIND_SANDBOX, NULL, &resp, &j, err) != 0)
        return cs_error_wrap(err, "list sandboxes");
    int count = cs_json_count(j, 0);
    cs_sandbox **list = cs_arena_array(a, (size_t)count + 1, sizeof *list);
    size_t k = 0;
    for (int it = cs_json_first(j, 0); it >= 0; it = cs_json_next(j, 0, it)) {
        char *cid = cs_json_get_str(j, it, "Id", a);
        if (!cid)
            continue;
        cs_sandbox *s = sandbox_from(j, cs_json_key(j, it, "Labels"), cid, cs_json_get_str(j, it, "State", a), a);
        if (cs_state_sandbox_wanted(s, f))
            list[k++] = s;
    }
    docker_json_release(&resp, j);
    *out = list;
    *n = k;
    return 0;
}
