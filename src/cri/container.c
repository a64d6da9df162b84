/* Container RPCs: CreateContainer, StartContainer, StopContainer,
 * RemoveContainer, ListContainers, StreamContainers, ContainerStatus,
 * UpdateContainerResources, ReopenContainerLog, ExecSync. */
#include <string.h>

#include "cri/convert.h"
#include "cri/internal.h"

#define STREAM_BATCH 64

static int container_config_in(const Runtime__V1__CreateContainerRequest *req, cs_arena *a, cs_container_config *out,
                               cs_error *err)
{
    memset(out, 0, sizeof *out);
    const Runtime__V1__ContainerConfig *c = req->config;
    if (cri_require(req->pod_sandbox_id, "pod_sandbox_id", err) != 0)
        return -1;
    if (!c)
        return cs_error_set(err, CS_ERR_INVALID, "config is required");
    if (!c->metadata)
        return cs_error_set(err, CS_ERR_INVALID, "config.metadata is required");
    if (cri_require(c->metadata->name, "config.metadata.name", err) != 0)
        return -1;
    if (!c->image || cri_require(c->image->image, "config.image.image", err) != 0)
        return c->image ? -1 : cs_error_set(err, CS_ERR_INVALID, "config.image is required");
    if (cri_check_relative_path(c->log_path, "config.log_path", err) != 0)
        return -1;
    out->sandbox_id = req->pod_sandbox_id;
    out->name = c->metadata->name;
    out->attempt = c->metadata->attempt;
    out->image = c->image->image;
    out->command = cri_strs(c->command, c->n_command);
    out->args = cri_strs(c->args, c->n_args);
    out->working_dir = c->working_dir;
    out->envs.items = cs_arena_array(a, c->n_envs + 1, sizeof(cs_kv));
    for (size_t i = 0; i < c->n_envs; i++) {
        out->envs.items[i].key = c->envs[i]->key;
        out->envs.items[i].value = cs_arena_strndup(a, (const char *)c->envs[i]->value.data, c->envs[i]->value.len);
    }
    out->envs.n = c->n_envs;
    out->mounts = cs_arena_array(a, c->n_mounts + 1, sizeof *out->mounts);
    for (size_t i = 0; i < c->n_mounts; i++) {
        const Runtime__V1__Mount *m = c->mounts[i];
        if (!m->container_path || m->container_path[0] != '/')
            return cs_error_set(err, CS_ERR_INVALID, "config.mounts[%zu].container_path must be absolute", i);
        if (!m->host_path || m->host_path[0] != '/')
            return cs_error_set(err, CS_ERR_INVALID, "config.mounts[%zu].host_path must be absolute", i);
        out->mounts[i] = (cs_mount){.container_path = m->container_path, .host_path = m->host_path,
                                    .readonly = m->readonly, .selinux_relabel = m->selinux_relabel,
                                    .propagation = m->propagation};
    }
    out->n_mounts = c->n_mounts;
    out->devices = cs_arena_array(a, c->n_devices + 1, sizeof *out->devices);
    for (size_t i = 0; i < c->n_devices; i++)
        out->devices[i] = (cs_device){.container_path = c->devices[i]->container_path,
                                      .host_path = c->devices[i]->host_path,
                                      .permissions = c->devices[i]->permissions};
    out->n_devices = c->n_devices;
    out->labels = CRI_MAP_IN(c, labels, a);
    out->annotations = CRI_MAP_IN(c, annotations, a);
    out->log_path = c->log_path;
    out->stdin_ = c->stdin;
    out->stdin_once = c->stdin_once;
    out->tty = c->tty;
    if (c->linux) {
        if (c->linux->resources) {
            out->has_resources = true;
            cri_resources_in(c->linux->resources, a, &out->resources);
        }
        const Runtime__V1__LinuxContainerSecurityContext *sc = c->linux->security_context;
        if (sc && sc->namespace_options)
            out->pid = (cs_ns_mode)sc->namespace_options->pid;
        if (cri_container_security(sc, a, &out->security, err) != 0)
            return -1;
    }
    return 0;
}

int cri_create_container(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__CreateContainerRequest *req = (const Runtime__V1__CreateContainerRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    cs_container_config cfg;
    if (container_config_in(req, cs_call_arena(call), &cfg, err) != 0)
        return -1;
    CRI_NEED_OP(call, container_create, err);
    const char *id;
    if (cs_backend_container_create(rt->backend, cs_call_ctx(call), &cfg, cs_call_arena(call), &id, err) != 0)
        return -1;
    Runtime__V1__CreateContainerResponse *r =
        CRI_NEW(call, Runtime__V1__CreateContainerResponse, RUNTIME__V1__CREATE_CONTAINER_RESPONSE__INIT);
    r->container_id = (char *)id;
    *resp = &r->base;
    return 0;
}

int cri_start_container(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__StartContainerRequest *req = (const Runtime__V1__StartContainerRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, container_start, err);
    if (cs_backend_container_start(rt->backend, cs_call_ctx(call), req->container_id, err) != 0)
        return -1;
    *resp = &CRI_NEW(call, Runtime__V1__StartContainerResponse, RUNTIME__V1__START_CONTAINER_RESPONSE__INIT)->base;
    return 0;
}

int cri_stop_container(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__StopContainerRequest *req = (const Runtime__V1__StopContainerRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    if (req->timeout < 0)
        return cs_error_set(err, CS_ERR_INVALID, "timeout must not be negative");
    CRI_NEED_OP(call, container_stop, err);
    if (cs_backend_container_stop(rt->backend, cs_call_ctx(call), req->container_id, req->timeout, err) != 0)
        return -1;
    *resp = &CRI_NEW(call, Runtime__V1__StopContainerResponse, RUNTIME__V1__STOP_CONTAINER_RESPONSE__INIT)->base;
    return 0;
}

int cri_remove_container(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__RemoveContainerRequest *req = (const Runtime__V1__RemoveContainerRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, container_remove, err);
    if (cs_backend_container_remove(rt->backend, cs_call_ctx(call), req->container_id, err) != 0)
        return -1;
    *resp = &CRI_NEW(call, Runtime__V1__RemoveContainerResponse, RUNTIME__V1__REMOVE_CONTAINER_RESPONSE__INIT)->base;
    return 0;
}

static Runtime__V1__ContainerMetadata *metadata_out(cs_arena *a, const cs_container *c)
{
    Runtime__V1__ContainerMetadata *m =
        CRI_ALLOC(a, Runtime__V1__ContainerMetadata, RUNTIME__V1__CONTAINER_METADATA__INIT);
    m->name = (char *)c->name;
    m->attempt = c->attempt;
    return m;
}

static Runtime__V1__ImageSpec *image_spec(cs_arena *a, const char *image)
{
    Runtime__V1__ImageSpec *s = CRI_ALLOC(a, Runtime__V1__ImageSpec, RUNTIME__V1__IMAGE_SPEC__INIT);
    s->image = (char *)image;
    s->user_specified_image = (char *)image;
    return s;
}

static Runtime__V1__Container *container_out(cs_call *call, const cs_container *c)
{
    cs_arena *a = cs_call_arena(call);
    Runtime__V1__Container *o = CRI_NEW(call, Runtime__V1__Container, RUNTIME__V1__CONTAINER__INIT);
    o->id = (char *)c->id;
    o->pod_sandbox_id = (char *)c->sandbox_id;
    o->metadata = metadata_out(a, c);
    o->image = image_spec(a, c->image);
    o->image_ref = (char *)(c->image_ref ? c->image_ref : "");
    o->image_id = (char *)(c->image_id ? c->image_id : "");
    o->state = (Runtime__V1__ContainerState)c->state;
    o->created_at = c->created_ns;
    o->labels = (Runtime__V1__Container__LabelsEntry **)cri_map_from_kvs(
        &c->labels, &runtime__v1__container__labels_entry__descriptor, a, &o->n_labels);
    o->annotations = (Runtime__V1__Container__AnnotationsEntry **)cri_map_from_kvs(
        &c->annotations, &runtime__v1__container__annotations_entry__descriptor, a, &o->n_annotations);
    return o;
}

static int list(cs_call *call, const Runtime__V1__ContainerFilter *pf, cs_container ***items, size_t *n,
                cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    CRI_NEED_OP(call, container_list, err);
    cs_container_filter f = {0};
    if (pf) {
        f.id = pf->id;
        f.sandbox_id = pf->pod_sandbox_id;
        if (pf->state) {
            f.has_state = true;
            f.state = (cs_container_state)pf->state->state;
        }
        f.labels = CRI_MAP_IN(pf, label_selector, a);
    }
    return cs_backend_container_list(rt->backend, cs_call_ctx(call), pf ? &f : NULL, a, items, n, err);
}

int cri_list_containers(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ListContainersRequest *req = (const Runtime__V1__ListContainersRequest *)reqm;
    cs_container **items;
    size_t n;
    if (list(call, req->filter, &items, &n, err) != 0)
        return -1;
    Runtime__V1__ListContainersResponse *r =
        CRI_NEW(call, Runtime__V1__ListContainersResponse, RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT);
    r->containers = cs_arena_array(cs_call_arena(call), n + 1, sizeof *r->containers);
    for (size_t i = 0; i < n; i++)
        r->containers[i] = container_out(call, items[i]);
    r->n_containers = n;
    *resp = &r->base;
    return 0;
}

int cri_stream_containers(cs_call *call, const ProtobufCMessage *reqm, cs_error *err)
{
    const Runtime__V1__StreamContainersRequest *req = (const Runtime__V1__StreamContainersRequest *)reqm;
    cs_container **items;
    size_t n;
    if (list(call, req->filter, &items, &n, err) != 0)
        return -1;
    for (size_t start = 0; start < n; start += STREAM_BATCH) {
        size_t k = n - start < STREAM_BATCH ? n - start : STREAM_BATCH;
        Runtime__V1__Container *batch[STREAM_BATCH];
        for (size_t i = 0; i < k; i++)
            batch[i] = container_out(call, items[start + i]);
        Runtime__V1__StreamContainersResponse r = RUNTIME__V1__STREAM_CONTAINERS_RESPONSE__INIT;
        r.containers = batch;
        r.n_containers = k;
        if (cs_call_send(call, &r.base, err) != 0)
            return -1;
    }
    return 0;
}

static Runtime__V1__Mount **mounts_out(cs_arena *a, const cs_container *c)
{
    Runtime__V1__Mount **out = cs_arena_array(a, c->n_mounts + 1, sizeof *out);
    for (size_t i = 0; i < c->n_mounts; i++) {
        Runtime__V1__Mount *m = CRI_ALLOC(a, Runtime__V1__Mount, RUNTIME__V1__MOUNT__INIT);
        m->container_path = (char *)(c->mounts[i].container_path ? c->mounts[i].container_path : "");
        m->host_path = (char *)(c->mounts[i].host_path ? c->mounts[i].host_path : "");
        m->readonly = c->mounts[i].readonly;
        m->selinux_relabel = c->mounts[i].selinux_relabel;
        m->propagation = (Runtime__V1__MountPropagation)c->mounts[i].propagation;
        out[i] = m;
    }
    return out;
}

Runtime__V1__ContainerStatus *cri_container_status_msg(const cs_container *c, cs_arena *a)
{
    Runtime__V1__ContainerStatus *s = CRI_ALLOC(a, Runtime__V1__ContainerStatus, RUNTIME__V1__CONTAINER_STATUS__INIT);
    s->id = (char *)c->id;
    s->metadata = metadata_out(a, c);
    s->state = (Runtime__V1__ContainerState)c->state;
    s->created_at = c->created_ns;
    s->started_at = c->started_ns;
    s->finished_at = c->finished_ns;
    s->exit_code = c->exit_code;
    s->image = image_spec(a, c->image);
    s->image_ref = (char *)(c->image_ref ? c->image_ref : "");
    s->image_id = (char *)(c->image_id ? c->image_id : "");
    s->reason = (char *)(c->reason ? c->reason : "");
    s->message = (char *)(c->message ? c->message : "");
    s->labels = (Runtime__V1__ContainerStatus__LabelsEntry **)cri_map_from_kvs(
        &c->labels, &runtime__v1__container_status__labels_entry__descriptor, a, &s->n_labels);
    s->annotations = (Runtime__V1__ContainerStatus__AnnotationsEntry **)cri_map_from_kvs(
        &c->annotations, &runtime__v1__container_status__annotations_entry__descriptor, a, &s->n_annotations);
    s->mounts = mounts_out(a, c);
    s->n_mounts = c->n_mounts;
    s->log_path = (char *)c->log_path;
    if (c->has_resources) {
        s->resources = CRI_ALLOC(a, Runtime__V1__ContainerResources, RUNTIME__V1__CONTAINER_RESOURCES__INIT);
        s->resources->linux = cri_resources_out(&c->resources, a);
    }
    return s;
}

int cri_container_status(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ContainerStatusRequest *req = (const Runtime__V1__ContainerStatusRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, container_status, err);
    cs_container *c;
    if (cs_backend_container_status(rt->backend, cs_call_ctx(call), req->container_id, req->verbose, a, &c,
                                           err) != 0)
        return -1;
    Runtime__V1__ContainerStatus *s = cri_container_status_msg(c, a);
    Runtime__V1__ContainerStatusResponse *r =
        CRI_NEW(call, Runtime__V1__ContainerStatusResponse, RUNTIME__V1__CONTAINER_STATUS_RESPONSE__INIT);
    r->status = s;
    if (req->verbose && c->info_json) {
        cs_kvs info = {.items = cs_arena_array(a, 1, sizeof(cs_kv)), .n = 1};
        info.items[0].key = "info";
        info.items[0].value = c->info_json;
        r->info = (Runtime__V1__ContainerStatusResponse__InfoEntry **)cri_map_from_kvs(
            &info, &runtime__v1__container_status_response__info_entry__descriptor, a, &r->n_info);
    }
    *resp = &r->base;
    return 0;
}

int cri_update_container_resources(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp,
                                   cs_error *err)
{
    const Runtime__V1__UpdateContainerResourcesRequest *req =
        (const Runtime__V1__UpdateContainerResourcesRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, container_update, err);
    if (req->linux) {
        cs_resources r;
        cri_resources_in(req->linux, cs_call_arena(call), &r);
        if (cs_backend_container_update(rt->backend, cs_call_ctx(call), req->container_id, &r, err) != 0)
            return -1;
    }
    *resp = &CRI_NEW(call, Runtime__V1__UpdateContainerResourcesResponse,
                     RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_RESPONSE__INIT)
                 ->base;
    return 0;
}

int cri_reopen_container_log(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ReopenContainerLogRequest *req = (const Runtime__V1__ReopenContainerLogRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, container_reopen_log, err);
    if (cs_backend_container_reopen_log(rt->backend, cs_call_ctx(call), req->container_id, err) != 0)
        return -1;
    *resp = &CRI_NEW(call, Runtime__V1__ReopenContainerLogResponse, RUNTIME__V1__REOPEN_CONTAINER_LOG_RESPONSE__INIT)
                 ->base;
    return 0;
}

int cri_exec_sync(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ExecSyncRequest *req = (const Runtime__V1__ExecSyncRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    if (req->n_cmd == 0 || !req->cmd[0] || !*req->cmd[0])
        return cs_error_set(err, CS_ERR_INVALID, "cmd is required");
    if (req->timeout < 0)
        return cs_error_set(err, CS_ERR_INVALID, "timeout must not be negative");
    CRI_NEED_OP(call, container_exec_sync, err);
    cs_strs cmd = cri_strs(req->cmd, req->n_cmd);
    cs_exec_result res;
    if (cs_backend_container_exec_sync(rt->backend, cs_call_ctx(call), req->container_id, &cmd, req->timeout,
                                              cs_call_arena(call), &res, err) != 0)
        return -1;
    Runtime__V1__ExecSyncResponse *r =
        CRI_NEW(call, Runtime__V1__ExecSyncResponse, RUNTIME__V1__EXEC_SYNC_RESPONSE__INIT);
    r->stdout.data = (uint8_t *)res.out;
    r->stdout.len = res.out_len;
    r->stderr.data = (uint8_t *)res.err;
    r->stderr.len = res.err_len;
    r->exit_code = res.exit_code;
    *resp = &r->base;
    return 0;
}
