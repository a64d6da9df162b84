/* Runtime-level RPCs: Version, Status, RuntimeConfig, UpdateRuntimeConfig. */
#include <stdlib.h>
#include <string.h>

#include "backend/events.h"
#include "cri/internal.h"
#include "stream/server.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"

/* The CRI API version crishim speaks, and the "kubelet API version" field that
 * every runtime fills with 0.1.0. */
#define CRI_RUNTIME_API_VERSION "v1"
#define CRI_KUBELET_API_VERSION "0.1.0"

cri_runtime *cri_runtime_new(cs_backend *backend, const char *version, const char *config_json)
{
    cri_runtime *rt = cs_xcalloc(1, sizeof *rt);
    rt->backend = backend;
    rt->version = version;
    rt->config_json = config_json;
    pthread_mutex_init(&rt->mu, NULL);
    rt->pod_cidr = cs_xstrdup("");
    return rt;
}

void cri_runtime_free(cri_runtime *rt)
{
    if (!rt)
        return;
    cs_backend_free(rt->backend);
    pthread_mutex_destroy(&rt->mu);
    free(rt->pod_cidr);
    free(rt);
}

char *cri_runtime_pod_cidr(cri_runtime *rt)
{
    pthread_mutex_lock(&rt->mu);
    char *s = cs_xstrdup(rt->pod_cidr);
    pthread_mutex_unlock(&rt->mu);
    return s;
}

int cri_version(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    cs_engine_version ev;
    CRI_NEED_OP(call, version, err);
    if (cs_backend_version(rt->backend, cs_call_ctx(call), a, &ev, err) != 0)
        return -1;
    Runtime__V1__VersionResponse *r = CRI_NEW(call, Runtime__V1__VersionResponse, RUNTIME__V1__VERSION_RESPONSE__INIT);
    r->version = CRI_KUBELET_API_VERSION;
    r->runtime_name = "crishim";
    r->runtime_version = cs_arena_printf(a, "%s (%s %s, API %s)", rt->version, ev.engine, ev.version,
                                         ev.api_version);
    r->runtime_api_version = CRI_RUNTIME_API_VERSION;
    *resp = &r->base;
    return 0;
}

static Runtime__V1__RuntimeCondition *condition(cs_call *call, const char *type, bool ok, const char *reason,
                                                const char *message)
{
    Runtime__V1__RuntimeCondition *c =
        CRI_NEW(call, Runtime__V1__RuntimeCondition, RUNTIME__V1__RUNTIME_CONDITION__INIT);
    c->type = (char *)type;
    c->status = ok;
    c->reason = cs_arena_strdup(cs_call_arena(call), ok ? "" : reason);
    c->message = cs_arena_strdup(cs_call_arena(call), ok ? "" : message);
    return c;
}

/* Verbose info: each value is a JSON document, as crictl info expects. */
static Runtime__V1__StatusResponse__InfoEntry *info_entry(cs_call *call, const char *key, char *json)
{
    Runtime__V1__StatusResponse__InfoEntry *e =
        CRI_NEW(call, Runtime__V1__StatusResponse__InfoEntry, RUNTIME__V1__STATUS_RESPONSE__INFO_ENTRY__INIT);
    e->key = (char *)key;
    e->value = cs_arena_strdup(cs_call_arena(call), json);
    return e;
}

/* What is streaming now: GetContainerEvents subscriptions, streaming server
 * sessions and unused tokens (what a leak would show first). */
static char *streams_info_json(cri_runtime *rt, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_event_hub *hub = cs_backend_events(rt->backend);
    cs_jw_kv_int(&w, "eventSubscribers", hub ? (int64_t)cs_event_subscribers(hub) : 0);
    if (rt->streaming) {
        cs_jw_kv_str(&w, "url", strm_server_base_url(rt->streaming));
        cs_jw_kv_int(&w, "sessions", strm_server_sessions(rt->streaming));
        cs_jw_kv_int(&w, "tokens", (int64_t)strm_server_tokens(rt->streaming));
    }
    cs_jw_obj_end(&w);
    char *out = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return out;
}

static char *engine_info_json(cri_runtime *rt, const cs_ctx *ctx, cs_arena *a)
{
    cs_engine_info info;
    cs_error err;
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "backend", cs_backend_name(rt->backend));
    if (cs_backend_info(rt->backend, ctx, a, &info, &err) == 0) {
        cs_jw_kv_str(&w, "endpoint", info.endpoint);
        cs_jw_kv_str(&w, "version", info.version.version);
        cs_jw_kv_str(&w, "apiVersion", info.version.api_version);
        cs_jw_kv_str(&w, "cgroupDriver", info.cgroup_driver == CS_CGROUP_SYSTEMD ? "systemd" : "cgroupfs");
        cs_jw_kv_int(&w, "cgroupVersion", info.cgroup_version);
        cs_jw_kv_str(&w, "storageDriver", info.storage_driver);
        cs_jw_kv_str(&w, "rootDir", info.root_dir);
        if (info.detail_json) {
            cs_jw_key(&w, cs_backend_name(rt->backend));
            cs_jw_raw(&w, info.detail_json, strlen(info.detail_json));
        }
    } else {
        cs_jw_kv_str(&w, "error", err.msg);
    }
    char *cidr = cri_runtime_pod_cidr(rt);
    cs_jw_kv_str(&w, "podCIDR", cidr);
    free(cidr);
    cs_jw_obj_end(&w);
    char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

/* Which backend serves and how the daemon chose it ("selected": what was
 * asked, "auto" included), so `crictl info` answers "why containerd?". */
static char *backend_info_json(cri_runtime *rt, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "name", cs_backend_name(rt->backend));
    if (rt->backend_selected)
        cs_jw_kv_str(&w, "selected", rt->backend_selected);
    if (rt->backend_reason)
        cs_jw_kv_str(&w, "reason", rt->backend_reason);
    cs_jw_obj_end(&w);
    char *out = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return out;
}

int cri_status(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__StatusRequest *req = (const Runtime__V1__StatusRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    CRI_NEED_OP(call, status, err);
    cs_engine_status st;
    cs_backend_status(rt->backend, cs_call_ctx(call), a, &st);

    Runtime__V1__StatusResponse *r = CRI_NEW(call, Runtime__V1__StatusResponse, RUNTIME__V1__STATUS_RESPONSE__INIT);
    Runtime__V1__RuntimeStatus *rs = CRI_NEW(call, Runtime__V1__RuntimeStatus, RUNTIME__V1__RUNTIME_STATUS__INIT);
    rs->n_conditions = 2;
    rs->conditions = cs_arena_array(a, 2, sizeof *rs->conditions);
    rs->conditions[0] = condition(call, "RuntimeReady", st.runtime_ready, st.runtime_reason, st.runtime_message);
    rs->conditions[1] = condition(call, "NetworkReady", st.network_ready, st.network_reason, st.network_message);
    r->status = rs;

    /* The default handler (""), as kubelet lists it. */
    Runtime__V1__RuntimeHandler *h = CRI_NEW(call, Runtime__V1__RuntimeHandler, RUNTIME__V1__RUNTIME_HANDLER__INIT);
    h->features = CRI_NEW(call, Runtime__V1__RuntimeHandlerFeatures, RUNTIME__V1__RUNTIME_HANDLER_FEATURES__INIT);
    r->n_runtime_handlers = 1;
    r->runtime_handlers = cs_arena_array(a, 1, sizeof *r->runtime_handlers);
    r->runtime_handlers[0] = h;
    r->features = CRI_NEW(call, Runtime__V1__RuntimeFeatures, RUNTIME__V1__RUNTIME_FEATURES__INIT);

    if (req->verbose) {
        r->info = cs_arena_array(a, 4, sizeof *r->info);
        r->info[r->n_info++] = info_entry(call, "engine", engine_info_json(rt, cs_call_ctx(call), a));
        r->info[r->n_info++] = info_entry(call, "streams", streams_info_json(rt, a));
        if (rt->config_json)
            r->info[r->n_info++] = info_entry(call, "config", (char *)rt->config_json);
        r->info[r->n_info++] = info_entry(call, "backend", backend_info_json(rt, a));
    }
    *resp = &r->base;
    return 0;
}

int cri_runtime_config(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    CRI_NEED_OP(call, info, err);
    cs_engine_info info;
    if (cs_backend_info(rt->backend, cs_call_ctx(call), cs_call_arena(call), &info, err) != 0)
        return -1;
    Runtime__V1__RuntimeConfigResponse *r =
        CRI_NEW(call, Runtime__V1__RuntimeConfigResponse, RUNTIME__V1__RUNTIME_CONFIG_RESPONSE__INIT);
    r->linux = CRI_NEW(call, Runtime__V1__LinuxRuntimeConfiguration, RUNTIME__V1__LINUX_RUNTIME_CONFIGURATION__INIT);
    r->linux->cgroup_driver = info.cgroup_driver == CS_CGROUP_SYSTEMD ? RUNTIME__V1__CGROUP_DRIVER__SYSTEMD
                                                                      : RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
    *resp = &r->base;
    return 0;
}

int cri_update_runtime_config(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__UpdateRuntimeConfigRequest *req = (const Runtime__V1__UpdateRuntimeConfigRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    /* kubelet sends this with the node's pod CIDR; an empty config is a no-op. */
    if (req->runtime_config && req->runtime_config->network_config) {
        const char *cidr = req->runtime_config->network_config->pod_cidr;
        pthread_mutex_lock(&rt->mu);
        if (strcmp(rt->pod_cidr, cidr) != 0) {
            free(rt->pod_cidr);
            rt->pod_cidr = cs_xstrdup(cidr);
            cs_info("pod CIDR updated", "pod_cidr", cidr, NULL);
        }
        pthread_mutex_unlock(&rt->mu);
    }
    Runtime__V1__UpdateRuntimeConfigResponse *r =
        CRI_NEW(call, Runtime__V1__UpdateRuntimeConfigResponse, RUNTIME__V1__UPDATE_RUNTIME_CONFIG_RESPONSE__INIT);
    *resp = &r->base;
    return 0;
}
