/* Pod sandbox RPCs: RunPodSandbox, StopPodSandbox, RemovePodSandbox,
 * PodSandboxStatus, ListPodSandbox, StreamPodSandboxes,
 * UpdatePodSandboxResources. */
#include <string.h>

#include "cri/convert.h"
#include "cri/internal.h"
#include "util/time.h"

#define STREAM_BATCH 64

static int sandbox_config_in(const Runtime__V1__PodSandboxConfig *c, const char *handler, cs_arena *a,
                             cs_sandbox_config *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return cs_error_set(err, CS_ERR_INVALID, "config is required");
    if (!c->metadata)
        return cs_error_set(err, CS_ERR_INVALID, "config.metadata is required");
    if (cri_require(c->metadata->name, "config.metadata.name", err) ||
        cri_require(c->metadata->namespace_, "config.metadata.namespace", err) ||
        cri_require(c->metadata->uid, "config.metadata.uid", err))
        return -1;
    if (cri_check_hostname(c->hostname, "config.hostname", err) != 0)
        return -1;
    if (c->log_directory && *c->log_directory && c->log_directory[0] != '/')
        return cs_error_set(err, CS_ERR_INVALID, "config.log_directory %s: must be absolute", c->log_directory);
    out->name = c->metadata->name;
    out->ns = c->metadata->namespace_;
    out->uid = c->metadata->uid;
    out->attempt = c->metadata->attempt;
    out->hostname = c->hostname;
    out->log_directory = c->log_directory;
    if (c->dns_config) {
        out->dns_servers = cri_strs(c->dns_config->servers, c->dns_config->n_servers);
        out->dns_searches = cri_strs(c->dns_config->searches, c->dns_config->n_searches);
        out->dns_options = cri_strs(c->dns_config->options, c->dns_config->n_options);
    }
    out->ports = cs_arena_array(a, c->n_port_mappings + 1, sizeof *out->ports);
    for (size_t i = 0; i < c->n_port_mappings; i++) {
        const Runtime__V1__PortMapping *p = c->port_mappings[i];
        if (p->container_port <= 0 || p->container_port > 65535 || p->host_port < 0 || p->host_port > 65535)
            return cs_error_set(err, CS_ERR_INVALID, "config.port_mappings[%zu]: port out of range", i);
        out->ports[i] = (cs_port){
            .protocol = p->protocol, .container_port = p->container_port, .host_port = p->host_port,
            .host_ip = p->host_ip};
    }
    out->n_ports = c->n_port_mappings;
    out->labels = CRI_MAP_IN(c, labels, a);
    out->annotations = CRI_MAP_IN(c, annotations, a);
    out->runtime_handler = handler;
    if (c->linux) {
        out->cgroup_parent = c->linux->cgroup_parent;
        out->sysctls = CRI_MAP_IN(c->linux, sysctls, a);
        const Runtime__V1__LinuxSandboxSecurityContext *sc = c->linux->security_context;
        if (sc && sc->namespace_options) {
            out->net = (cs_ns_mode)sc->namespace_options->network;
            out->pid = (cs_ns_mode)sc->namespace_options->pid;
            out->ipc = (cs_ns_mode)sc->namespace_options->ipc;
        }
        if (cri_sandbox_security(sc, a, &out->security, err) != 0)
            return -1;
    }
    return 0;
}

int cri_run_pod_sandbox(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__RunPodSandboxRequest *req = (const Runtime__V1__RunPodSandboxRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    cs_sandbox_config cfg;
    if (sandbox_config_in(req->config, req->runtime_handler, a, &cfg, err) != 0)
        return -1;
    CRI_NEED_OP(call, sandbox_run, err);
    const char *id;
    if (cs_backend_sandbox_run(rt->backend, cs_call_ctx(call), &cfg, a, &id, err) != 0)
        return -1;
    Runtime__V1__RunPodSandboxResponse *r =
        CRI_NEW(call, Runtime__V1__RunPodSandboxResponse, RUNTIME__V1__RUN_POD_SANDBOX_RESPONSE__INIT);
    r->pod_sandbox_id = (char *)id;
    *resp = &r->base;
    return 0;
}

int cri_stop_pod_sandbox(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__StopPodSandboxRequest *req = (const Runtime__V1__StopPodSandboxRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->pod_sandbox_id, "pod_sandbox_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, sandbox_stop, err);
    if (cs_backend_sandbox_stop(rt->backend, cs_call_ctx(call), req->pod_sandbox_id, err) != 0)
        return -1;
    *resp = &CRI_NEW(call, Runtime__V1__StopPodSandboxResponse, RUNTIME__V1__STOP_POD_SANDBOX_RESPONSE__INIT)->base;
    return 0;
}

int cri_remove_pod_sandbox(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__RemovePodSandboxRequest *req = (const Runtime__V1__RemovePodSandboxRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->pod_sandbox_id, "pod_sandbox_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, sandbox_remove, err);
    if (cs_backend_sandbox_remove(rt->backend, cs_call_ctx(call), req->pod_sandbox_id, err) != 0)
        return -1;
    *resp =
        &CRI_NEW(call, Runtime__V1__RemovePodSandboxResponse, RUNTIME__V1__REMOVE_POD_SANDBOX_RESPONSE__INIT)->base;
    return 0;
}

static Runtime__V1__PodSandboxMetadata *metadata_out(cs_arena *a, const cs_sandbox *s)
{
    Runtime__V1__PodSandboxMetadata *m =
        CRI_ALLOC(a, Runtime__V1__PodSandboxMetadata, RUNTIME__V1__POD_SANDBOX_METADATA__INIT);
    m->name = (char *)s->name;
    m->namespace_ = (char *)s->ns;
    m->uid = (char *)s->uid;
    m->attempt = s->attempt;
    return m;
}

Runtime__V1__PodSandboxStatus *cri_sandbox_status_msg(const cs_sandbox *s, cs_arena *a)
{
    Runtime__V1__PodSandboxStatus *st = CRI_ALLOC(a, Runtime__V1__PodSandboxStatus, RUNTIME__V1__POD_SANDBOX_STATUS__INIT);
    st->id = (char *)s->id;
    st->metadata = metadata_out(a, s);
    st->state = (Runtime__V1__PodSandboxState)s->state;
    st->created_at = s->created_ns;
    st->network = CRI_ALLOC(a, Runtime__V1__PodSandboxNetworkStatus, RUNTIME__V1__POD_SANDBOX_NETWORK_STATUS__INIT);
    st->network->ip = (char *)(s->ip ? s->ip : "");
    if (s->n_additional_ips) {
        st->network->additional_ips = cs_arena_array(a, s->n_additional_ips, sizeof *st->network->additional_ips);
        for (size_t i = 0; i < s->n_additional_ips; i++) {
            Runtime__V1__PodIP *ip = CRI_ALLOC(a, Runtime__V1__PodIP, RUNTIME__V1__POD_IP__INIT);
            ip->ip = (char *)s->additional_ips[i];
            st->network->additional_ips[i] = ip;
        }
        st->network->n_additional_ips = s->n_additional_ips;
    }
    st->linux = CRI_ALLOC(a, Runtime__V1__LinuxPodSandboxStatus, RUNTIME__V1__LINUX_POD_SANDBOX_STATUS__INIT);
    st->linux->namespaces = CRI_ALLOC(a, Runtime__V1__Namespace, RUNTIME__V1__NAMESPACE__INIT);
    st->linux->namespaces->options = cri_ns_options(s->net, s->pid, s->ipc, a);
    st->labels = (Runtime__V1__PodSandboxStatus__LabelsEntry **)cri_map_from_kvs(
        &s->labels, &runtime__v1__pod_sandbox_status__labels_entry__descriptor, a, &st->n_labels);
    st->annotations = (Runtime__V1__PodSandboxStatus__AnnotationsEntry **)cri_map_from_kvs(
        &s->annotations, &runtime__v1__pod_sandbox_status__annotations_entry__descriptor, a, &st->n_annotations);
    st->runtime_handler = (char *)s->runtime_handler;
    return st;
}

int cri_pod_sandbox_status(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__PodSandboxStatusRequest *req = (const Runtime__V1__PodSandboxStatusRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    if (cri_require(req->pod_sandbox_id, "pod_sandbox_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, sandbox_status, err);
    cs_sandbox *s;
    if (cs_backend_sandbox_status(rt->backend, cs_call_ctx(call), req->pod_sandbox_id, req->verbose, a, &s,
                                         err) != 0)
        return -1;
    Runtime__V1__PodSandboxStatus *st = cri_sandbox_status_msg(s, a);

    Runtime__V1__PodSandboxStatusResponse *r =
        CRI_NEW(call, Runtime__V1__PodSandboxStatusResponse, RUNTIME__V1__POD_SANDBOX_STATUS_RESPONSE__INIT);
    r->status = st;
    r->timestamp = cs_time_now_ns();
    if (req->verbose && s->info_json) {
        cs_kvs info = {.items = cs_arena_array(a, 1, sizeof(cs_kv)), .n = 1};
        info.items[0].key = "info";
        info.items[0].value = s->info_json;
        r->info = (Runtime__V1__PodSandboxStatusResponse__InfoEntry **)cri_map_from_kvs(
            &info, &runtime__v1__pod_sandbox_status_response__info_entry__descriptor, a, &r->n_info);
    }
    *resp = &r->base;
    return 0;
}

static Runtime__V1__PodSandbox *sandbox_out(cs_call *call, const cs_sandbox *s)
{
    cs_arena *a = cs_call_arena(call);
    Runtime__V1__PodSandbox *p = CRI_NEW(call, Runtime__V1__PodSandbox, RUNTIME__V1__POD_SANDBOX__INIT);
    p->id = (char *)s->id;
    p->metadata = metadata_out(a, s);
    p->state = (Runtime__V1__PodSandboxState)s->state;
    p->created_at = s->created_ns;
    p->labels = (Runtime__V1__PodSandbox__LabelsEntry **)cri_map_from_kvs(
        &s->labels, &runtime__v1__pod_sandbox__labels_entry__descriptor, a, &p->n_labels);
    p->annotations = (Runtime__V1__PodSandbox__AnnotationsEntry **)cri_map_from_kvs(
        &s->annotations, &runtime__v1__pod_sandbox__annotations_entry__descriptor, a, &p->n_annotations);
    p->runtime_handler = (char *)s->runtime_handler;
    return p;
}

static int list(cs_call *call, const Runtime__V1__PodSandboxFilter *pf, cs_sandbox ***items, size_t *n,
                cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    CRI_NEED_OP(call, sandbox_list, err);
    cs_sandbox_filter f = {0};
    if (pf) {
        f.id = pf->id;
        if (pf->state) {
            f.has_state = true;
            f.state = (cs_sandbox_state)pf->state->state;
        }
        f.labels = CRI_MAP_IN(pf, label_selector, a);
    }
    return cs_backend_sandbox_list(rt->backend, cs_call_ctx(call), pf ? &f : NULL, a, items, n, err);
}

int cri_list_pod_sandbox(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ListPodSandboxRequest *req = (const Runtime__V1__ListPodSandboxRequest *)reqm;
    cs_sandbox **items;
    size_t n;
    if (list(call, req->filter, &items, &n, err) != 0)
        return -1;
    Runtime__V1__ListPodSandboxResponse *r =
        CRI_NEW(call, Runtime__V1__ListPodSandboxResponse, RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT);
    r->items = cs_arena_array(cs_call_arena(call), n + 1, sizeof *r->items);
    for (size_t i = 0; i < n; i++)
        r->items[i] = sandbox_out(call, items[i]);
    r->n_items = n;
    *resp = &r->base;
    return 0;
}

int cri_stream_pod_sandboxes(cs_call *call, const ProtobufCMessage *reqm, cs_error *err)
{
    const Runtime__V1__StreamPodSandboxesRequest *req = (const Runtime__V1__StreamPodSandboxesRequest *)reqm;
    cs_sandbox **items;
    size_t n;
    if (list(call, req->filter, &items, &n, err) != 0)
        return -1;
    for (size_t start = 0; start < n; start += STREAM_BATCH) {
        size_t k = n - start < STREAM_BATCH ? n - start : STREAM_BATCH;
        Runtime__V1__PodSandbox *batch[STREAM_BATCH];
        for (size_t i = 0; i < k; i++)
            batch[i] = sandbox_out(call, items[start + i]);
        Runtime__V1__StreamPodSandboxesResponse r = RUNTIME__V1__STREAM_POD_SANDBOXES_RESPONSE__INIT;
        r.pod_sandboxes = batch;
        r.n_pod_sandboxes = k;
        if (cs_call_send(call, &r.base, err) != 0)
            return -1;
    }
    return 0;
}

/* Docker applies pod-level resources through the pod's cgroup parent, which
 * kubelet manages itself: nothing for the runtime to change. */
int cri_update_pod_sandbox_resources(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp,
                                     cs_error *err)
{
    const Runtime__V1__UpdatePodSandboxResourcesRequest *req =
        (const Runtime__V1__UpdatePodSandboxResourcesRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->pod_sandbox_id, "pod_sandbox_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, sandbox_status, err);
    cs_sandbox *s;
    if (cs_backend_sandbox_status(rt->backend, cs_call_ctx(call), req->pod_sandbox_id, false,
                                         cs_call_arena(call), &s, err) != 0)
        return -1;
    *resp = &CRI_NEW(call, Runtime__V1__UpdatePodSandboxResourcesResponse,
                     RUNTIME__V1__UPDATE_POD_SANDBOX_RESOURCES_RESPONSE__INIT)
                 ->base;
    return 0;
}
