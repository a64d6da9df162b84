/* Stats RPCs from cgroupfs: ContainerStats, ListContainerStats,
 * PodSandboxStats, ListPodSandboxStats and their streams. The CRI metrics
 * (cadvisor's names) are in metrics.c. */
#include <string.h>

#include "cri/convert.h"
#include "cri/internal.h"

static Runtime__V1__UInt64Value *u64(cs_call *call, uint64_t v)
{
    Runtime__V1__UInt64Value *x = CRI_NEW(call, Runtime__V1__UInt64Value, RUNTIME__V1__UINT64_VALUE__INIT);
    x->value = v;
    return x;
}

static Runtime__V1__CpuUsage *cpu_out(cs_call *call, const cs_cgroup_stats *g, bool has_rate, uint64_t rate)
{
    if (!g->has_cpu)
        return NULL;
    Runtime__V1__CpuUsage *c = CRI_NEW(call, Runtime__V1__CpuUsage, RUNTIME__V1__CPU_USAGE__INIT);
    c->timestamp = g->timestamp_ns;
    c->usage_core_nano_seconds = u64(call, g->cpu_usage_ns);
    if (has_rate)
        c->usage_nano_cores = u64(call, rate);
    return c;
}

static Runtime__V1__MemoryUsage *memory_out(cs_call *call, const cs_cgroup_stats *g)
{
    if (!g->has_memory)
        return NULL;
    Runtime__V1__MemoryUsage *m = CRI_NEW(call, Runtime__V1__MemoryUsage, RUNTIME__V1__MEMORY_USAGE__INIT);
    m->timestamp = g->timestamp_ns;
    m->working_set_bytes = u64(call, g->mem_working_set);
    m->usage_bytes = u64(call, g->mem_usage);
    m->rss_bytes = u64(call, g->mem_rss);
    m->page_faults = u64(call, g->mem_page_faults);
    m->major_page_faults = u64(call, g->mem_major_page_faults);
    if (g->has_mem_limit)
        m->available_bytes = u64(call, g->mem_limit > g->mem_working_set ? g->mem_limit - g->mem_working_set : 0);
    return m;
}

static Runtime__V1__ContainerStats *stats_out(cs_call *call, const cs_container_stats *s)
{
    cs_arena *a = cs_call_arena(call);
    const cs_container *c = s->container;
    Runtime__V1__ContainerStats *o = CRI_NEW(call, Runtime__V1__ContainerStats, RUNTIME__V1__CONTAINER_STATS__INIT);
    Runtime__V1__ContainerAttributes *at =
        CRI_NEW(call, Runtime__V1__ContainerAttributes, RUNTIME__V1__CONTAINER_ATTRIBUTES__INIT);
    at->id = (char *)c->id;
    at->metadata = CRI_NEW(call, Runtime__V1__ContainerMetadata, RUNTIME__V1__CONTAINER_METADATA__INIT);
    at->metadata->name = (char *)c->name;
    at->metadata->attempt = c->attempt;
    at->labels = (Runtime__V1__ContainerAttributes__LabelsEntry **)cri_map_from_kvs(
        &c->labels, &runtime__v1__container_attributes__labels_entry__descriptor, a, &at->n_labels);
    at->annotations = (Runtime__V1__ContainerAttributes__AnnotationsEntry **)cri_map_from_kvs(
        &c->annotations, &runtime__v1__container_attributes__annotations_entry__descriptor, a, &at->n_annotations);
    o->attributes = at;
    o->cpu = cpu_out(call, &s->cg, s->has_nano_cores, s->nano_cores);
    o->memory = memory_out(call, &s->cg);
    if (s->has_writable) {
        Runtime__V1__FilesystemUsage *w =
            CRI_NEW(call, Runtime__V1__FilesystemUsage, RUNTIME__V1__FILESYSTEM_USAGE__INIT);
        w->timestamp = s->writable.timestamp_ns;
        w->fs_id = CRI_NEW(call, Runtime__V1__FilesystemIdentifier, RUNTIME__V1__FILESYSTEM_IDENTIFIER__INIT);
        w->fs_id->mountpoint = (char *)s->writable.mountpoint;
        w->used_bytes = u64(call, s->writable.used_bytes);
        if (s->writable.has_inodes)
            w->inodes_used = u64(call, s->writable.inodes_used);
        o->writable_layer = w;
    }
    return o;
}

int cri_container_stats(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ContainerStatsRequest *req = (const Runtime__V1__ContainerStatsRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->container_id, "container_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, container_stats, err);
    cs_container_stats *s;
    if (cs_backend_container_stats(rt->backend, cs_call_ctx(call), req->container_id, cs_call_arena(call), &s,
                                          err) != 0)
        return -1;
    Runtime__V1__ContainerStatsResponse *r =
        CRI_NEW(call, Runtime__V1__ContainerStatsResponse, RUNTIME__V1__CONTAINER_STATS_RESPONSE__INIT);
    r->stats = stats_out(call, s);
    *resp = &r->base;
    return 0;
}

static int container_stats_of(cs_call *call, const Runtime__V1__ContainerStatsFilter *pf, cs_container_stats ***items,
                              size_t *n, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    CRI_NEED_OP(call, container_stats_list, err);
    cs_container_filter f = {0};
    if (pf) {
        f.id = pf->id;
        f.sandbox_id = pf->pod_sandbox_id;
        f.labels = CRI_MAP_IN(pf, label_selector, a);
    }
    return cs_backend_container_stats_list(rt->backend, cs_call_ctx(call), pf ? &f : NULL, a, items, n, err);
}

int cri_list_container_stats(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ListContainerStatsRequest *req = (const Runtime__V1__ListContainerStatsRequest *)reqm;
    cs_container_stats **items;
    size_t n;
    if (container_stats_of(call, req->filter, &items, &n, err) != 0)
        return -1;
    Runtime__V1__ListContainerStatsResponse *r =
        CRI_NEW(call, Runtime__V1__ListContainerStatsResponse, RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT);
    r->stats = cs_arena_array(cs_call_arena(call), n + 1, sizeof *r->stats);
    for (size_t i = 0; i < n; i++)
        r->stats[i] = stats_out(call, items[i]);
    r->n_stats = n;
    *resp = &r->base;
    return 0;
}

/* The streaming forms send what the list would, in messages of this many. */
#define STREAM_BATCH 64

int cri_stream_container_stats(cs_call *call, const ProtobufCMessage *reqm, cs_error *err)
{
    const Runtime__V1__StreamContainerStatsRequest *req = (const Runtime__V1__StreamContainerStatsRequest *)reqm;
    cs_container_stats **items;
    size_t n;
    if (container_stats_of(call, req->filter, &items, &n, err) != 0)
        return -1;
    for (size_t start = 0; start < n; start += STREAM_BATCH) {
        size_t k = n - start < STREAM_BATCH ? n - start : STREAM_BATCH;
        Runtime__V1__ContainerStats *batch[STREAM_BATCH];
        for (size_t i = 0; i < k; i++)
            batch[i] = stats_out(call, items[start + i]);
        Runtime__V1__StreamContainerStatsResponse r = RUNTIME__V1__STREAM_CONTAINER_STATS_RESPONSE__INIT;
        r.container_stats = batch;
        r.n_container_stats = k;
        if (cs_call_send(call, &r.base, err) != 0)
            return -1;
    }
    return 0;
}

static Runtime__V1__PodSandboxStats *pod_stats_out(cs_call *call, const cs_sandbox_stats *s)
{
    cs_arena *a = cs_call_arena(call);
    const cs_sandbox *sb = s->sandbox;
    Runtime__V1__PodSandboxStats *o = CRI_NEW(call, Runtime__V1__PodSandboxStats, RUNTIME__V1__POD_SANDBOX_STATS__INIT);
    Runtime__V1__PodSandboxAttributes *at =
        CRI_NEW(call, Runtime__V1__PodSandboxAttributes, RUNTIME__V1__POD_SANDBOX_ATTRIBUTES__INIT);
    at->id = (char *)sb->id;
    at->metadata = CRI_NEW(call, Runtime__V1__PodSandboxMetadata, RUNTIME__V1__POD_SANDBOX_METADATA__INIT);
    at->metadata->name = (char *)sb->name;
    at->metadata->namespace_ = (char *)sb->ns;
    at->metadata->uid = (char *)sb->uid;
    at->metadata->attempt = sb->attempt;
    at->labels = (Runtime__V1__PodSandboxAttributes__LabelsEntry **)cri_map_from_kvs(
        &sb->labels, &runtime__v1__pod_sandbox_attributes__labels_entry__descriptor, a, &at->n_labels);
    at->annotations = (Runtime__V1__PodSandboxAttributes__AnnotationsEntry **)cri_map_from_kvs(
        &sb->annotations, &runtime__v1__pod_sandbox_attributes__annotations_entry__descriptor, a, &at->n_annotations);
    o->attributes = at;
    Runtime__V1__LinuxPodSandboxStats *l =
        CRI_NEW(call, Runtime__V1__LinuxPodSandboxStats, RUNTIME__V1__LINUX_POD_SANDBOX_STATS__INIT);
    l->cpu = cpu_out(call, &s->cg, s->has_nano_cores, s->nano_cores);
    l->memory = memory_out(call, &s->cg);
    if (s->cg.has_pids) {
        l->process = CRI_NEW(call, Runtime__V1__ProcessUsage, RUNTIME__V1__PROCESS_USAGE__INIT);
        l->process->timestamp = s->cg.timestamp_ns;
        l->process->process_count = u64(call, s->cg.pids);
    }
    if (s->has_net) {
        Runtime__V1__NetworkInterfaceUsage *i =
            CRI_NEW(call, Runtime__V1__NetworkInterfaceUsage, RUNTIME__V1__NETWORK_INTERFACE_USAGE__INIT);
        i->name = cs_arena_strdup(a, s->net.name);
        i->rx_bytes = u64(call, s->net.rx_bytes);
        i->rx_errors = u64(call, s->net.rx_errors);
        i->tx_bytes = u64(call, s->net.tx_bytes);
        i->tx_errors = u64(call, s->net.tx_errors);
        l->network = CRI_NEW(call, Runtime__V1__NetworkUsage, RUNTIME__V1__NETWORK_USAGE__INIT);
        l->network->timestamp = s->net_timestamp_ns;
        l->network->default_interface = i;
    }
    l->containers = cs_arena_array(a, s->n_containers + 1, sizeof *l->containers);
    for (size_t i = 0; i < s->n_containers; i++)
        l->containers[i] = stats_out(call, s->containers[i]);
    l->n_containers = s->n_containers;
    o->linux = l;
    return o;
}

int cri_pod_sandbox_stats(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__PodSandboxStatsRequest *req = (const Runtime__V1__PodSandboxStatsRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (cri_require(req->pod_sandbox_id, "pod_sandbox_id", err) != 0)
        return -1;
    CRI_NEED_OP(call, sandbox_stats, err);
    cs_sandbox_stats *s;
    if (cs_backend_sandbox_stats(rt->backend, cs_call_ctx(call), req->pod_sandbox_id, cs_call_arena(call), &s,
                                        err) != 0)
        return -1;
    Runtime__V1__PodSandboxStatsResponse *r =
        CRI_NEW(call, Runtime__V1__PodSandboxStatsResponse, RUNTIME__V1__POD_SANDBOX_STATS_RESPONSE__INIT);
    r->stats = pod_stats_out(call, s);
    *resp = &r->base;
    return 0;
}

static int pod_stats_of(cs_call *call, const Runtime__V1__PodSandboxStatsFilter *pf, cs_sandbox_stats ***items,
                        size_t *n, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    CRI_NEED_OP(call, sandbox_stats_list, err);
    cs_sandbox_filter f = {0};
    if (pf) {
        f.id = pf->id;
        f.labels = CRI_MAP_IN(pf, label_selector, a);
    }
    return cs_backend_sandbox_stats_list(rt->backend, cs_call_ctx(call), pf ? &f : NULL, a, items, n, err);
}

int cri_list_pod_sandbox_stats(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ListPodSandboxStatsRequest *req = (const Runtime__V1__ListPodSandboxStatsRequest *)reqm;
    cs_sandbox_stats **items;
    size_t n;
    if (pod_stats_of(call, req->filter, &items, &n, err) != 0)
        return -1;
    Runtime__V1__ListPodSandboxStatsResponse *r =
        CRI_NEW(call, Runtime__V1__ListPodSandboxStatsResponse, RUNTIME__V1__LIST_POD_SANDBOX_STATS_RESPONSE__INIT);
    r->stats = cs_arena_array(cs_call_arena(call), n + 1, sizeof *r->stats);
    for (size_t i = 0; i < n; i++)
        r->stats[i] = pod_stats_out(call, items[i]);
    r->n_stats = n;
    *resp = &r->base;
    return 0;
}

int cri_stream_pod_sandbox_stats(cs_call *call, const ProtobufCMessage *reqm, cs_error *err)
{
    const Runtime__V1__StreamPodSandboxStatsRequest *req = (const Runtime__V1__StreamPodSandboxStatsRequest *)reqm;
    cs_sandbox_stats **items;
    size_t n;
    if (pod_stats_of(call, req->filter, &items, &n, err) != 0)
        return -1;
    for (size_t start = 0; start < n; start += STREAM_BATCH) {
        size_t k = n - start < STREAM_BATCH ? n - start : STREAM_BATCH;
        Runtime__V1__PodSandboxStats *batch[STREAM_BATCH];
        for (size_t i = 0; i < k; i++)
            batch[i] = pod_stats_out(call, items[start + i]);
        Runtime__V1__StreamPodSandboxStatsResponse r = RUNTIME__V1__STREAM_POD_SANDBOX_STATS_RESPONSE__INIT;
        r.pod_sandbox_stats = batch;
        r.n_pod_sandbox_stats = k;
        if (cs_call_send(call, &r.base, err) != 0)
            return -1;
    }
    return 0;
}
