/* The CRI metrics: ListMetricDescriptors, ListPodSandboxMetrics,
 * StreamPodSandboxMetrics. kubelet's PodAndContainerStatsFromCRI mode serves
 * these on /metrics/cadvisor in place of cadvisor's own, so the names, types
 * and label keys are cadvisor's, as CRI-O's stats server emits them:
 *
 *   - base labels id, name, image (CRI-O's set; kubelet appends namespace,
 *     pod and container itself); container_cpu_usage_seconds_total adds
 *     cpu="total", network metrics add interface, memory failures add
 *     failure_type and scope;
 *   - name is the Docker container name ("k8s_<container>_<pod>_<ns>_<uid>_
 *     <attempt>", the pod's network as its "k8s_POD_…" infra container), so
 *     series match what cadvisor reported on a Docker host;
 *   - network metrics belong to the pod (PodSandboxMetrics.metrics), one per
 *     interface but lo; everything else to each running container.
 *
 * CRI carries values as uint64: seconds are whole seconds (truncated), as
 * CRI-O sends them. Every metric carries its sample's timestamp. A metric
 * whose source the host lacks (a v1 controller not mounted, swap accounting
 * off) is left out rather than sent as 0. */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "cri/internal.h"
#include "util/time.h"

typedef enum labels {
    L_BASE,      /* id, name, image */
    L_CPU,       /* + cpu */
    L_INTERFACE, /* + interface */
    L_FAILURE,   /* + failure_type, scope */
} labels;

static const char *const label_keys[][5] = {
    [L_BASE] = {"id", "name", "image", NULL},
    [L_CPU] = {"id", "name", "image", "cpu", NULL},
    [L_INTERFACE] = {"id", "name", "image", "interface", NULL},
    [L_FAILURE] = {"id", "name", "image", "failure_type", "scope"},
};
static const size_t label_count[] = {[L_BASE] = 3, [L_CPU] = 4, [L_INTERFACE] = 4, [L_FAILURE] = 5};

#define COUNTER RUNTIME__V1__METRIC_TYPE__COUNTER
#define GAUGE RUNTIME__V1__METRIC_TYPE__GAUGE

/* Every metric crishim emits: X(id, name, type, labels, help) */
#define CRI_METRICS(X)                                                                                               \
    X(CPU_USAGE, "container_cpu_usage_seconds_total", COUNTER, L_CPU, "Cumulative cpu time consumed in seconds.")   \
    X(CPU_USER, "container_cpu_user_seconds_total", COUNTER, L_BASE, "Cumulative user cpu time consumed in seconds.") \
    X(CPU_SYSTEM, "container_cpu_system_seconds_total", COUNTER, L_BASE,                                            \
      "Cumulative system cpu time consumed in seconds.")                                                             \
    X(CFS_PERIODS, "container_cpu_cfs_periods_total", COUNTER, L_BASE, "Number of elapsed enforcement period intervals.") \
    X(CFS_THROTTLED_PERIODS, "container_cpu_cfs_throttled_periods_total", COUNTER, L_BASE,                          \
      "Number of throttled period intervals.")                                                                       \
    X(CFS_THROTTLED_SECONDS, "container_cpu_cfs_throttled_seconds_total", COUNTER, L_BASE,                          \
      "Total time duration the container has been throttled.")                                                       \
    X(MEM_USAGE, "container_memory_usage_bytes", GAUGE, L_BASE,                                                      \
      "Current memory usage in bytes, including all memory regardless of when it was accessed.")                     \
    X(MEM_WORKING_SET, "container_memory_working_set_bytes", GAUGE, L_BASE, "Current working set in bytes.")        \
    X(MEM_RSS, "container_memory_rss", GAUGE, L_BASE, "Size of RSS in bytes.")                                       \
    X(MEM_CACHE, "container_memory_cache", GAUGE, L_BASE, "Number of bytes of page cache memory.")                  \
    X(MEM_MAPPED_FILE, "container_memory_mapped_file", GAUGE, L_BASE, "Size of memory mapped files in bytes.")      \
    X(MEM_SWAP, "container_memory_swap", GAUGE, L_BASE, "Container swap usage in bytes.")                            \
    X(MEM_FAILCNT, "container_memory_failcnt", COUNTER, L_BASE, "Number of memory usage hits limits.")              \
    X(MEM_MAX_USAGE, "container_memory_max_usage_bytes", GAUGE, L_BASE, "Maximum memory usage recorded in bytes.")  \
    X(MEM_FAILURES, "container_memory_failures_total", COUNTER, L_FAILURE,                                           \
      "Cumulative count of memory allocation failures.")                                                             \
    X(OOM_EVENTS, "container_oom_events_total", COUNTER, L_BASE,                                                     \
      "Count of out of memory events observed for the container.")                                                   \
    X(PROCESSES, "container_processes", GAUGE, L_BASE, "Number of processes running inside the container.")         \
    X(THREADS, "container_threads", GAUGE, L_BASE, "Number of threads running inside the container.")               \
    X(THREADS_MAX, "container_threads_max", GAUGE, L_BASE,                                                           \
      "Maximum number of threads allowed inside the container, infinity if value is zero.")                          \
    X(FS_USAGE, "container_fs_usage_bytes", GAUGE, L_BASE,                                                           \
      "Number of bytes that are consumed by the container's writable layer.")                                        \
    X(FS_LIMIT, "container_fs_limit_bytes", GAUGE, L_BASE,                                                           \
      "Number of bytes that can be consumed by the container on the filesystem of its writable layer.")              \
    X(FS_INODES_FREE, "container_fs_inodes_free", GAUGE, L_BASE, "Number of available inodes.")                     \
    X(FS_INODES_TOTAL, "container_fs_inodes_total", GAUGE, L_BASE, "Number of inodes.")                             \
    X(LAST_SEEN, "container_last_seen", GAUGE, L_BASE, "Last time a container was seen by the exporter.")           \
    X(START_TIME, "container_start_time_seconds", GAUGE, L_BASE, "Start time of the container since unix epoch in seconds.") \
    X(SPEC_CPU_PERIOD, "container_spec_cpu_period", GAUGE, L_BASE, "CPU period of the container.")                  \
    X(SPEC_CPU_QUOTA, "container_spec_cpu_quota", GAUGE, L_BASE, "CPU quota of the container.")                     \
    X(SPEC_CPU_SHARES, "container_spec_cpu_shares", GAUGE, L_BASE, "CPU share of the container.")                   \
    X(SPEC_MEM_LIMIT, "container_spec_memory_limit_bytes", GAUGE, L_BASE, "Memory limit for the container.")        \
    X(SPEC_MEM_RESERVATION, "container_spec_memory_reservation_limit_bytes", GAUGE, L_BASE,                         \
      "Memory reservation limit for the container.")                                                                 \
    X(SPEC_SWAP_LIMIT, "container_spec_memory_swap_limit_bytes", GAUGE, L_BASE, "Memory swap limit for the container.") \
    X(NET_RX_BYTES, "container_network_receive_bytes_total", COUNTER, L_INTERFACE, "Cumulative count of bytes received") \
    X(NET_RX_PACKETS, "container_network_receive_packets_total", COUNTER, L_INTERFACE,                              \
      "Cumulative count of packets received")                                                                        \
    X(NET_RX_DROPPED, "container_network_receive_packets_dropped_total", COUNTER, L_INTERFACE,                      \
      "Cumulative count of packets dropped while receiving")                                                         \
    X(NET_RX_ERRORS, "container_network_receive_errors_total", COUNTER, L_INTERFACE,                                \
      "Cumulative count of errors encountered while receiving")                                                      \
    X(NET_TX_BYTES, "container_network_transmit_bytes_total", COUNTER, L_INTERFACE,                                 \
      "Cumulative count of bytes transmitted")                                                                       \
    X(NET_TX_PACKETS, "container_network_transmit_packets_total", COUNTER, L_INTERFACE,                             \
      "Cumulative count of packets transmitted")                                                                     \
    X(NET_TX_DROPPED, "container_network_transmit_packets_dropped_total", COUNTER, L_INTERFACE,                     \
      "Cumulative count of packets dropped while transmitting")                                                      \
    X(NET_TX_ERRORS, "container_network_transmit_errors_total", COUNTER, L_INTERFACE,                               \
      "Cumulative count of errors encountered while transmitting")

typedef enum metric_id {
#define X_ENUM(id, name, type, lab, help) M_##id,
    CRI_METRICS(X_ENUM)
#undef X_ENUM
        M_COUNT
} metric_id;

typedef struct metric_def {
    const char *name;
    Runtime__V1__MetricType type;
    labels labels;
    const char *help;
} metric_def;

static const metric_def defs[M_COUNT] = {
#define X_DEF(id, n, t, lab, h) [M_##id] = {.name = n, .type = t, .labels = lab, .help = h},
    CRI_METRICS(X_DEF)
#undef X_DEF
};

/* ---- building one pod's metrics ---- */

typedef struct builder {
    cs_arena *a;
    Runtime__V1__Metric **items;
    size_t n, cap;
    const char *base[3]; /* id, name, image of the current subject */
    int64_t ts;
} builder;

/* One metric; `extra` are the values of the keys past the base three. */
static void emit(builder *b, metric_id id, uint64_t value, const char *extra0, const char *extra1)
{
    const metric_def *d = &defs[id];
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        Runtime__V1__Metric **items = cs_arena_array(b->a, cap, sizeof *items);
        if (b->n)
            memcpy(items, b->items, b->n * sizeof *items);
        b->items = items;
        b->cap = cap;
    }
    Runtime__V1__Metric *m = CRI_ALLOC(b->a, Runtime__V1__Metric, RUNTIME__V1__METRIC__INIT);
    m->name = (char *)d->name;
    m->timestamp = b->ts;
    m->metric_type = d->type;
    size_t nl = label_count[d->labels];
    m->label_values = cs_arena_array(b->a, nl, sizeof *m->label_values);
    for (size_t i = 0; i < 3; i++)
        m->label_values[i] = (char *)(b->base[i] ? b->base[i] : "");
    if (nl > 3)
        m->label_values[3] = (char *)(extra0 ? extra0 : "");
    if (nl > 4)
        m->label_values[4] = (char *)(extra1 ? extra1 : "");
    m->n_label_values = nl;
    m->value = CRI_ALLOC(b->a, Runtime__V1__UInt64Value, RUNTIME__V1__UINT64_VALUE__INIT);
    m->value->value = value;
    b->items[b->n++] = m;
}

#define NS_PER_S 1000000000ULL

static void container_metrics(builder *b, const cs_container_stats *s)
{
    const cs_cgroup_stats *g = &s->cg;
    const cs_cgroup_detail *x = &s->detail;
    b->ts = g->timestamp_ns ? g->timestamp_ns : cs_time_now_ns();
    emit(b, M_LAST_SEEN, (uint64_t)(b->ts / (int64_t)NS_PER_S), NULL, NULL);
    if (s->started_ns > 0)
        emit(b, M_START_TIME, (uint64_t)(s->started_ns / (int64_t)NS_PER_S), NULL, NULL);
    if (g->has_cpu)
        emit(b, M_CPU_USAGE, g->cpu_usage_ns / NS_PER_S, "total", NULL);
    if (s->has_detail && x->has_cpu) {
        emit(b, M_CPU_USER, x->cpu_user_ns / NS_PER_S, NULL, NULL);
        emit(b, M_CPU_SYSTEM, x->cpu_system_ns / NS_PER_S, NULL, NULL);
    }
    if (s->has_detail && x->has_cpu_quota) { /* cadvisor reports CFS only under a quota */
        emit(b, M_CFS_PERIODS, x->cfs_periods, NULL, NULL);
        emit(b, M_CFS_THROTTLED_PERIODS, x->cfs_throttled_periods, NULL, NULL);
        emit(b, M_CFS_THROTTLED_SECONDS, x->cfs_throttled_ns / NS_PER_S, NULL, NULL);
    }
    if (g->has_memory) {
        emit(b, M_MEM_USAGE, g->mem_usage, NULL, NULL);
        emit(b, M_MEM_WORKING_SET, g->mem_working_set, NULL, NULL);
        emit(b, M_MEM_RSS, g->mem_rss, NULL, NULL);
        /* A Docker container's cgroup has no children, so its own counts and
         * its hierarchy's are the same numbers. */
        emit(b, M_MEM_FAILURES, g->mem_page_faults, "pgfault", "container");
        emit(b, M_MEM_FAILURES, g->mem_page_faults, "pgfault", "hierarchy");
        emit(b, M_MEM_FAILURES, g->mem_major_page_faults, "pgmajfault", "container");
        emit(b, M_MEM_FAILURES, g->mem_major_page_faults, "pgmajfault", "hierarchy");
        if (g->has_mem_limit)
            emit(b, M_SPEC_MEM_LIMIT, g->mem_limit, NULL, NULL);
    }
    if (s->has_detail && x->has_memory) {
        emit(b, M_MEM_CACHE, x->mem_cache, NULL, NULL);
        emit(b, M_MEM_MAPPED_FILE, x->mem_mapped_file, NULL, NULL);
        emit(b, M_MEM_SWAP, x->mem_swap, NULL, NULL);
        emit(b, M_MEM_FAILCNT, x->mem_failcnt, NULL, NULL);
        emit(b, M_OOM_EVENTS, x->mem_oom_kills, NULL, NULL);
        if (x->has_mem_max_usage)
            emit(b, M_MEM_MAX_USAGE, x->mem_max_usage, NULL, NULL);
        if (x->has_mem_reservation)
            emit(b, M_SPEC_MEM_RESERVATION, x->mem_reservation, NULL, NULL);
        if (x->has_swap_limit)
            emit(b, M_SPEC_SWAP_LIMIT, x->swap_limit, NULL, NULL);
    }
    if (s->has_detail && x->has_tasks) {
        emit(b, M_PROCESSES, x->processes, NULL, NULL);
        emit(b, M_THREADS, x->threads, NULL, NULL);
    }
    if (s->has_detail && x->has_threads_max)
        emit(b, M_THREADS_MAX, x->threads_max, NULL, NULL);
    if (s->has_detail && x->has_cpu_spec) {
        emit(b, M_SPEC_CPU_PERIOD, x->cpu_period_us, NULL, NULL);
        emit(b, M_SPEC_CPU_SHARES, x->cpu_shares, NULL, NULL);
        if (x->has_cpu_quota)
            emit(b, M_SPEC_CPU_QUOTA, x->cpu_quota_us, NULL, NULL);
    }
    if (s->has_writable) {
        b->ts = s->writable.timestamp_ns;
        emit(b, M_FS_USAGE, s->writable.used_bytes, NULL, NULL);
        /* the filesystem holding the layer; a statvfs is a syscall, no I/O */
        struct statvfs vfs;
        if (s->writable.mountpoint && statvfs(s->writable.mountpoint, &vfs) == 0) {
            emit(b, M_FS_LIMIT, (uint64_t)vfs.f_blocks * vfs.f_frsize, NULL, NULL);
            emit(b, M_FS_INODES_FREE, (uint64_t)vfs.f_ffree, NULL, NULL);
            emit(b, M_FS_INODES_TOTAL, (uint64_t)vfs.f_files, NULL, NULL);
        }
    }
}

static void network_metrics(builder *b, const cs_sandbox_stats *s)
{
    b->ts = s->net_timestamp_ns;
    for (size_t i = 0; i < s->n_ifaces; i++) {
        const cs_net_iface *f = &s->ifaces[i];
        emit(b, M_NET_RX_BYTES, f->rx_bytes, f->name, NULL);
        emit(b, M_NET_RX_PACKETS, f->rx_packets, f->name, NULL);
        emit(b, M_NET_RX_DROPPED, f->rx_dropped, f->name, NULL);
        emit(b, M_NET_RX_ERRORS, f->rx_errors, f->name, NULL);
        emit(b, M_NET_TX_BYTES, f->tx_bytes, f->name, NULL);
        emit(b, M_NET_TX_PACKETS, f->tx_packets, f->name, NULL);
        emit(b, M_NET_TX_DROPPED, f->tx_dropped, f->name, NULL);
        emit(b, M_NET_TX_ERRORS, f->tx_errors, f->name, NULL);
    }
}

Runtime__V1__PodSandboxMetrics *cri_pod_metrics_msg(const cs_sandbox_stats *s, cs_arena *a)
{
    const cs_sandbox *sb = s->sandbox;
    Runtime__V1__PodSandboxMetrics *o = CRI_ALLOC(a, Runtime__V1__PodSandboxMetrics,
                                                  RUNTIME__V1__POD_SANDBOX_METRICS__INIT);
    o->pod_sandbox_id = (char *)sb->id;
    builder b = {.a = a};
    b.base[0] = sb->id;
    b.base[1] = cs_arena_printf(a, "k8s_POD_%s_%s_%s_%u", sb->name, sb->ns, sb->uid, sb->attempt);
    b.base[2] = "";
    network_metrics(&b, s);
    o->metrics = b.items;
    o->n_metrics = b.n;
    o->container_metrics = cs_arena_array(a, s->n_containers + 1, sizeof *o->container_metrics);
    size_t k = 0;
    for (size_t i = 0; i < s->n_containers; i++) {
        const cs_container_stats *cs = s->containers[i];
        if (!cs->running)
            continue;
        const cs_container *c = cs->container;
        builder cb = {.a = a};
        cb.base[0] = c->id;
        cb.base[1] = cs_arena_printf(a, "k8s_%s_%s_%s_%s_%u", c->name, sb->name, sb->ns, sb->uid, c->attempt);
        cb.base[2] = c->image;
        container_metrics(&cb, cs);
        Runtime__V1__ContainerMetrics *cm =
            CRI_ALLOC(a, Runtime__V1__ContainerMetrics, RUNTIME__V1__CONTAINER_METRICS__INIT);
        cm->container_id = (char *)c->id;
        cm->metrics = cb.items;
        cm->n_metrics = cb.n;
        o->container_metrics[k++] = cm;
    }
    o->n_container_metrics = k;
    return o;
}

Runtime__V1__MetricDescriptor **cri_metric_descriptors(cs_arena *a, size_t *n)
{
    Runtime__V1__MetricDescriptor **out = cs_arena_array(a, M_COUNT, sizeof *out);
    for (size_t i = 0; i < M_COUNT; i++) {
        Runtime__V1__MetricDescriptor *d =
            CRI_ALLOC(a, Runtime__V1__MetricDescriptor, RUNTIME__V1__METRIC_DESCRIPTOR__INIT);
        d->name = (char *)defs[i].name;
        d->help = (char *)defs[i].help;
        d->label_keys = (char **)label_keys[defs[i].labels];
        d->n_label_keys = label_count[defs[i].labels];
        out[i] = d;
    }
    *n = M_COUNT;
    return out;
}

/* ---- the RPCs ---- */

int cri_list_metric_descriptors(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    Runtime__V1__ListMetricDescriptorsResponse *r = CRI_NEW(call, Runtime__V1__ListMetricDescriptorsResponse,
                                                            RUNTIME__V1__LIST_METRIC_DESCRIPTORS_RESPONSE__INIT);
    r->descriptors = cri_metric_descriptors(cs_call_arena(call), &r->n_descriptors);
    *resp = &r->base;
    return 0;
}

static int pod_metrics_of(cs_call *call, cs_sandbox_stats ***items, size_t *n, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    CRI_NEED_OP(call, sandbox_metrics_list, err);
    return cs_backend_sandbox_metrics_list(rt->backend, cs_call_ctx(call), cs_call_arena(call), items, n,
                                                  err);
}

int cri_list_pod_sandbox_metrics(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    cs_sandbox_stats **items;
    size_t n;
    if (pod_metrics_of(call, &items, &n, err) != 0)
        return -1;
    cs_arena *a = cs_call_arena(call);
    Runtime__V1__ListPodSandboxMetricsResponse *r = CRI_NEW(call, Runtime__V1__ListPodSandboxMetricsResponse,
                                                            RUNTIME__V1__LIST_POD_SANDBOX_METRICS_RESPONSE__INIT);
    r->pod_metrics = cs_arena_array(a, n + 1, sizeof *r->pod_metrics);
    for (size_t i = 0; i < n; i++)
        r->pod_metrics[i] = cri_pod_metrics_msg(items[i], a);
    r->n_pod_metrics = n;
    *resp = &r->base;
    return 0;
}

/* As the stats streams: what the list would send, a few pods a message (a
 * pod's metrics are some 40 per container). */
#define STREAM_BATCH 16

int cri_stream_pod_sandbox_metrics(cs_call *call, const ProtobufCMessage *reqm, cs_error *err)
{
    cs_sandbox_stats **items;
    size_t n;
    if (pod_metrics_of(call, &items, &n, err) != 0)
        return -1;
    cs_arena *a = cs_call_arena(call);
    for (size_t start = 0; start < n; start += STREAM_BATCH) {
        size_t k = n - start < STREAM_BATCH ? n - start : STREAM_BATCH;
        Runtime__V1__PodSandboxMetrics *batch[STREAM_BATCH];
        for (size_t i = 0; i < k; i++)
            batch[i] = cri_pod_metrics_msg(items[start + i], a);
        Runtime__V1__StreamPodSandboxMetricsResponse r = RUNTIME__V1__STREAM_POD_SANDBOX_METRICS_RESPONSE__INIT;
        r.pod_sandbox_metrics = batch;
        r.n_pod_sandbox_metrics = k;
        if (cs_call_send(call, &r.base, err) != 0)
            return -1;
    }
    return 0;
}
