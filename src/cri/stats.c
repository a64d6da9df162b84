/* Stats RPCs: ContainerStats and ListContainerStats from cgroupfs. Pod-level
 * stats and metrics come with the stats issue; until then they answer
 * UNIMPLEMENTED so kubelet falls back. */
#include <string.h>

#include "cri/convert.h"
#include "cri/internal.h"

static Runtime__V1__UInt64Value *u64(cs_call *call, uint64_t v)
{
    Runtime__V1__UInt64Value *x = CRI_NEW(call, Runtime__V1__UInt64Value, RUNTIME__V1__UINT64_VALUE__INIT);
    x->value = v;
    return x;
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
    const cs_cgroup_stats *g = &s->cg;
    if (g->has_cpu) {
        o->cpu = CRI_NEW(call, Runtime__V1__CpuUsage, RUNTIME__V1__CPU_USAGE__INIT);
        o->cpu->timestamp = g->timestamp_ns;
        o->cpu->usage_core_nano_seconds = u64(call, g->cpu_usage_ns);
        if (s->has_nano_cores)
            o->cpu->usage_nano_cores = u64(call, s->nano_cores);
    }
    if (g->has_memory) {
        Runtime__V1__MemoryUsage *m = CRI_NEW(call, Runtime__V1__MemoryUsage, RUNTIME__V1__MEMORY_USAGE__INIT);
        m->timestamp = g->timestamp_ns;
        m->working_set_bytes = u64(call, g->mem_working_set);
        m->usage_bytes = u64(call, g->mem_usage);
        m->rss_bytes = u64(call, g->mem_rss);
        m->page_faults = u64(call, g->mem_page_faults);
        m->major_page_faults = u64(call, g->mem_major_page_faults);
        if (g->has_mem_limit)
            m->available_bytes = u64(call, g->mem_limit > g->mem_working_set ? g->mem_limit - g->mem_working_set : 0);
        o->memory = m;
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
    if (rt->backend->ops->container_stats(rt->backend, cs_call_ctx(call), req->container_id, cs_call_arena(call), &s,
                                          err) != 0)
        return -1;
    Runtime__V1__ContainerStatsResponse *r =
        CRI_NEW(call, Runtime__V1__ContainerStatsResponse, RUNTIME__V1__CONTAINER_STATS_RESPONSE__INIT);
    r->stats = stats_out(call, s);
    *resp = &r->base;
    return 0;
}

int cri_list_container_stats(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ListContainerStatsRequest *req = (const Runtime__V1__ListContainerStatsRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    cs_arena *a = cs_call_arena(call);
    CRI_NEED_OP(call, container_stats_list, err);
    cs_container_filter f = {0};
    if (req->filter) {
        f.id = req->filter->id;
        f.sandbox_id = req->filter->pod_sandbox_id;
        f.labels = CRI_MAP_IN(req->filter, label_selector, a);
    }
    cs_container_stats **items;
    size_t n;
    if (rt->backend->ops->container_stats_list(rt->backend, cs_call_ctx(call), req->filter ? &f : NULL, a, &items, &n,
                                               err) != 0)
        return -1;
    Runtime__V1__ListContainerStatsResponse *r =
        CRI_NEW(call, Runtime__V1__ListContainerStatsResponse, RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT);
    r->stats = cs_arena_array(a, n + 1, sizeof *r->stats);
    for (size_t i = 0; i < n; i++)
        r->stats[i] = stats_out(call, items[i]);
    r->n_stats = n;
    *resp = &r->base;
    return 0;
}
