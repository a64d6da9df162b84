/* Container stats on Docker: identity from one list call, usage from each
 * running container's cgroups via its init pid. Docker's own stats endpoint
 * is never called (it blocks a second per container). The CPU rate needs two
 * samples: the previous one per container is kept here, and only that.
 *
 * Writable layer: the inspect that gives the pid also gives overlay2's
 * UpperDir, the container's own layer; crishim walks it as du does.
 * `?size=1` on inspect would make Docker do the same walk plus a diff against
 * the image on every call, so it stays off this path. Walks are cached per
 * container and refreshed lazily, as cadvisor does for disk usage. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/diskusage.h"
#include "docker/internal.h"
#include "docker/labels.h"
#include "util/mem.h"
#include "util/time.h"

/* Samples older than this are forgotten (and make no rate). */
#define SAMPLE_TTL_NS (10LL * 60 * 1000000000)

/* A layer's usage is reused for this many times what its walk cost, within
 * [DU_MIN_TTL, DU_MAX_TTL]: a tiny layer is fresh every couple of seconds, a
 * huge one costs at most ~5% of one core however often stats are asked. */
#define DU_COST_FACTOR 20
#define DU_MIN_TTL_NS (2LL * 1000000000)
#define DU_MAX_TTL_NS (60LL * 1000000000)

typedef struct docker_sample {
    struct docker_sample *next;
    char id[72];
    int64_t ts;
    uint64_t usage;
    /* the writable layer's last walk (du_ts 0: never) */
    int64_t du_ts, du_ttl;
    cs_disk_usage du;
} sample;

void docker_samples_free(docker_backend *d)
{
    sample *x = d->samples;
    while (x) {
        sample *next = x->next;
        free(x);
        x = next;
    }
    d->samples = NULL;
}

/* The entry under `key`, created when missing; expired others are dropped on
 * the way. Caller holds samples_mu. */
static sample *sample_of(docker_backend *d, const char *key, int64_t now)
{
    sample *hit = NULL;
    for (sample **pp = &d->samples; *pp;) {
        sample *x = *pp;
        if (!strcmp(x->id, key)) {
            hit = x;
            pp = &x->next;
        } else if (now - x->ts > SAMPLE_TTL_NS && now - x->du_ts > SAMPLE_TTL_NS) {
            *pp = x->next;
            free(x);
        } else {
            pp = &x->next;
        }
    }
    if (!hit) {
        hit = cs_xcalloc(1, sizeof *hit);
        snprintf(hit->id, sizeof hit->id, "%s", key);
        hit->next = d->samples;
        d->samples = hit;
    }
    return hit;
}

/* The writable layer of container `id` whose upper dir is `upper`: the
 * cached walk while fresh, else a new walk (outside the lock: two callers
 * may both walk once, which is harmless). */
static bool writable_layer(docker_backend *d, const char *id, const char *upper, cs_arena *a, cs_fs_usage *out)
{
    int64_t now = cs_time_now_ns();
    cs_disk_usage du;
    bool fresh = false;
    pthread_mutex_lock(&d->samples_mu);
    sample *x = sample_of(d, id, now);
    if (x->du_ts && now - x->du_ts < x->du_ttl) {
        du = x->du;
        now = x->du_ts;
        fresh = true;
    }
    pthread_mutex_unlock(&d->samples_mu);
    if (!fresh) {
        int64_t t0 = cs_time_mono_ns();
        if (cs_disk_usage_of(upper, &du, NULL) != 0)
            return false;
        int64_t ttl = (cs_time_mono_ns() - t0) * DU_COST_FACTOR;
        ttl = ttl < DU_MIN_TTL_NS ? DU_MIN_TTL_NS : ttl > DU_MAX_TTL_NS ? DU_MAX_TTL_NS : ttl;
        pthread_mutex_lock(&d->samples_mu);
        x = sample_of(d, id, now);
        x->du = du;
        x->du_ts = now;
        x->du_ttl = ttl;
        pthread_mutex_unlock(&d->samples_mu);
    }
    /* overlay2's upper dir is <root>/overlay2/<layer>/diff: the filesystem is
     * named <root>/overlay2, as ImageFsInfo names it */
    char *mount = cs_arena_strdup(a, upper);
    for (int i = 0; i < 2; i++) {
        char *slash = strrchr(mount, '/');
        if (slash && slash != mount)
            *slash = '\0';
    }
    memset(out, 0, sizeof *out);
    out->timestamp_ns = now;
    out->mountpoint = mount;
    out->used_bytes = du.bytes;
    out->inodes_used = du.inodes;
    out->has_inodes = true;
    return true;
}

/* Rate from the previous sample under `key`; records the new one. */
static bool cpu_rate(docker_backend *d, const char *key, const cs_cgroup_stats *cg, uint64_t *nano_cores)
{
    if (!cg->has_cpu)
        return false;
    bool have = false;
    int64_t now = cg->timestamp_ns;
    pthread_mutex_lock(&d->samples_mu);
    sample *hit = sample_of(d, key, now);
    bool first = hit->ts == 0;
    if (!first && now > hit->ts && now - hit->ts <= SAMPLE_TTL_NS && cg->cpu_usage_ns >= hit->usage) {
        have = true;
        *nano_cores = (uint64_t)((double)(cg->cpu_usage_ns - hit->usage) * 1e9 / (double)(now - hit->ts));
    }
    hit->ts = now;
    hit->usage = cg->cpu_usage_ns;
    pthread_mutex_unlock(&d->samples_mu);
    return have;
}

/* What stats need from one inspect: the init pid while running, overlay2's
 * upper dir (NULL with other storage drivers) and the start time. */
typedef struct runtime_info {
    int pid;
    const char *upper;
    int64_t started_ns;
} runtime_info;

static int inspect(docker_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, runtime_info *out, cs_error *err)
{
    docker_response resp;
    cs_json *j;
    memset(out, 0, sizeof *out);
    if (docker_get_json(d, ctx, cs_arena_printf(a, "/containers/%s/json", id), &resp, &j, err) != 0)
        return -1;
    out->pid = cs_json_get_bool(j, 0, "State.Running", false) ? (int)cs_json_get_int64(j, 0, "State.Pid", 0) : 0;
    out->upper = cs_json_get_str(j, 0, "GraphDriver.Data.UpperDir", a);
    size_t len;
    const char *raw = cs_json_raw(j, cs_json_get(j, 0, "State.StartedAt"), &len);
    if (!raw || cs_time_parse_rfc3339(raw, len, &out->started_ns) != 0)
        out->started_ns = 0;
    docker_json_release(&resp, j);
    return 0;
}

static cs_container_stats *stats_of(docker_backend *d, const cs_ctx *ctx, const cs_container *c, bool detail,
                                    cs_arena *a)
{
    cs_container_stats *s = cs_arena_alloc(a, sizeof *s);
    s->container = c;
    runtime_info ri;
    if (c->state != CS_CONTAINER_RUNNING || inspect(d, ctx, c->id, a, &ri, NULL) != 0)
        return s;
    s->started_ns = ri.started_ns;
    if (ri.pid > 0 && cs_cgroup_stats_for_pid(NULL, ri.pid, &s->cg, NULL) == 0) {
        s->running = true;
        s->has_nano_cores = cpu_rate(d, c->id, &s->cg, &s->nano_cores);
        if (detail && cs_cgroup_detail_for_pid(NULL, ri.pid, &s->detail, NULL) == 0)
            s->has_detail = true;
    }
    if (ri.upper && *ri.upper)
        s->has_writable = writable_layer(d, c->id, ri.upper, a, &s->writable);
    return s;
}

static int stats_list(docker_backend *d, const cs_ctx *ctx, const cs_container_filter *f, bool detail, cs_arena *a,
                      cs_container_stats ***out, size_t *n, cs_error *err)
{
    cs_container **list;
    size_t count;
    if (docker_container_list(&d->base, ctx, f, a, &list, &count, err) != 0)
        return -1;
    cs_container_stats **stats = cs_arena_array(a, count + 1, sizeof *stats);
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (list[i]->state == CS_CONTAINER_RUNNING) /* kubelet asks about running ones */
            stats[k++] = stats_of(d, ctx, list[i], detail, a);
    *out = stats;
    *n = k;
    return 0;
}

int docker_container_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                                 cs_container_stats ***out, size_t *n, cs_error *err)
{
    return stats_list(docker_of(b), ctx, f, false, a, out, n, err);
}

int docker_container_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_container_stats **out,
                           cs_error *err)
{
    docker_backend *d = docker_of(b);
    const char *full;
    if (docker_resolve_id(d, ctx, DL_KIND_CONTAINER, id, a, &full, err) != 0)
        return -1;
    cs_container_filter f = {.id = full};
    cs_container **list;
    size_t count;
    if (docker_container_list(b, ctx, &f, a, &list, &count, err) != 0)
        return -1;
    if (count == 0)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "container %s not found", id);
    *out = stats_of(d, ctx, list[0], false, a);
    return 0;
}

/* ---- pods: the sum of their containers, the infra process's network ---- */

static void add(cs_cgroup_stats *sum, const cs_cgroup_stats *x)
{
    if (x->timestamp_ns > sum->timestamp_ns)
        sum->timestamp_ns = x->timestamp_ns;
    if (x->has_cpu) {
        sum->has_cpu = true;
        sum->cpu_usage_ns += x->cpu_usage_ns;
    }
    if (x->has_memory) {
        sum->has_memory = true;
        sum->mem_usage += x->mem_usage;
        sum->mem_working_set += x->mem_working_set;
        sum->mem_rss += x->mem_rss;
        sum->mem_page_faults += x->mem_page_faults;
        sum->mem_major_page_faults += x->mem_major_page_faults;
    }
    if (x->has_pids) {
        sum->has_pids = true;
        sum->pids += x->pids;
    }
}

/* Interfaces a pod may have for the metrics; more are left out. */
#define MAX_IFACES 16

/* Every running container's stats, fetched once for a list of pods (one
 * engine list call instead of one per pod). */
typedef struct all_stats {
    cs_container_stats **items;
    size_t n;
} all_stats;

/* One pod's stats. Its containers come from `all` when given, else from a
 * list call of their own. */
static cs_sandbox_stats *pod_stats_of(docker_backend *d, const cs_ctx *ctx, const cs_sandbox *sb, bool detail,
                                      const all_stats *all, cs_arena *a, cs_error *err)
{
    cs_sandbox_stats *s = cs_arena_alloc(a, sizeof *s);
    s->sandbox = sb;
    if (all) {
        s->containers = cs_arena_array(a, all->n + 1, sizeof *s->containers);
        for (size_t i = 0; i < all->n; i++)
            if (all->items[i]->container->sandbox_id && !strcmp(all->items[i]->container->sandbox_id, sb->id))
                s->containers[s->n_containers++] = all->items[i];
    } else {
        cs_container_filter f = {.sandbox_id = sb->id};
        if (stats_list(d, ctx, &f, detail, a, &s->containers, &s->n_containers, err) != 0)
            return NULL;
    }
    for (size_t i = 0; i < s->n_containers; i++)
        if (s->containers[i]->running)
            add(&s->cg, &s->containers[i]->cg);
    runtime_info ri;
    int pid = 0;
    if (sb->state == CS_SANDBOX_READY && inspect(d, ctx, sb->id, a, &ri, NULL) == 0)
        pid = ri.pid;
    if (pid > 0) {
        cs_cgroup_stats infra;
        if (cs_cgroup_stats_for_pid(NULL, pid, &infra, NULL) == 0)
            add(&s->cg, &infra);
        if (cs_netdev_default(pid, &s->net, NULL) == 0) {
            s->has_net = true;
            s->net_timestamp_ns = cs_time_now_ns();
        }
        if (detail) {
            s->ifaces = cs_arena_array(a, MAX_IFACES, sizeof *s->ifaces);
            if (cs_netdev_all(pid, s->ifaces, MAX_IFACES, &s->n_ifaces, NULL) == 0 && !s->has_net)
                s->net_timestamp_ns = cs_time_now_ns();
        }
    }
    s->has_nano_cores = cpu_rate(d, sb->id, &s->cg, &s->nano_cores);
    return s;
}

static int pod_stats_list(docker_backend *d, const cs_ctx *ctx, const cs_sandbox_filter *f, bool detail,
                          cs_arena *a, cs_sandbox_stats ***out, size_t *n, cs_error *err)
{
    cs_sandbox **pods;
    size_t count;
    if (docker_sandbox_list(&d->base, ctx, f, a, &pods, &count, err) != 0)
        return -1;
    /* one pod by id: its own list is cheaper than everyone's */
    all_stats all = {0};
    bool shared = !(f && f->id) && count > 1;
    if (shared && stats_list(d, ctx, NULL, detail, a, &all.items, &all.n, err) != 0)
        return -1;
    cs_sandbox_stats **stats = cs_arena_array(a, count + 1, sizeof *stats);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (pods[i]->state != CS_SANDBOX_READY) /* kubelet asks about running pods */
            continue;
        cs_sandbox_stats *s = pod_stats_of(d, ctx, pods[i], detail, shared ? &all : NULL, a, err);
        if (!s)
            return -1;
        stats[k++] = s;
    }
    *out = stats;
    *n = k;
    return 0;
}

int docker_sandbox_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                              cs_sandbox_stats ***out, size_t *n, cs_error *err)
{
    return pod_stats_list(docker_of(b), ctx, f, false, a, out, n, err);
}

int docker_sandbox_metrics_list(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_sandbox_stats ***out, size_t *n,
                                cs_error *err)
{
    return pod_stats_list(docker_of(b), ctx, NULL, true, a, out, n, err);
}

int docker_sandbox_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_sandbox_stats **out,
                         cs_error *err)
{
    cs_sandbox *sb;
    if (docker_sandbox_status(b, ctx, id, false, a, &sb, err) != 0)
        return -1;
    *out = pod_stats_of(docker_of(b), ctx, sb, false, NULL, a, err);
    return *out ? 0 : -1;
}
