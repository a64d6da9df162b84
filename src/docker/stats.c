/* Container stats on Docker: identity from one list call, usage from each
 * running container's cgroups via its init pid. Docker's own stats endpoint
 * is never called (it blocks a second per container). The CPU rate needs two
 * samples: the previous one per container is kept here, and only that. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"
#include "docker/labels.h"
#include "util/mem.h"
#include "util/time.h"

/* Samples older than this are forgotten (and make no rate). */
#define SAMPLE_TTL_NS (10LL * 60 * 1000000000)

typedef struct docker_sample {
    struct docker_sample *next;
    char id[72];
    int64_t ts;
    uint64_t usage;
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

/* Rate from the previous sample under `key`; records the new one. */
static bool cpu_rate(docker_backend *d, const char *key, const cs_cgroup_stats *cg, uint64_t *nano_cores)
{
    if (!cg->has_cpu)
        return false;
    bool have = false;
    int64_t now = cg->timestamp_ns;
    pthread_mutex_lock(&d->samples_mu);
    sample *hit = NULL;
    for (sample **pp = &d->samples; *pp;) {
        sample *x = *pp;
        if (!strcmp(x->id, key)) {
            hit = x;
            pp = &x->next;
        } else if (now - x->ts > SAMPLE_TTL_NS) {
            *pp = x->next;
            free(x);
        } else {
            pp = &x->next;
        }
    }
    if (hit && now > hit->ts && cg->cpu_usage_ns >= hit->usage) {
        have = true;
        *nano_cores = (uint64_t)((double)(cg->cpu_usage_ns - hit->usage) * 1e9 / (double)(now - hit->ts));
    }
    if (!hit) {
        hit = cs_xcalloc(1, sizeof *hit);
        snprintf(hit->id, sizeof hit->id, "%s", key);
        hit->next = d->samples;
        d->samples = hit;
    }
    hit->ts = now;
    hit->usage = cg->cpu_usage_ns;
    pthread_mutex_unlock(&d->samples_mu);
    return have;
}

static int init_pid(docker_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, int *pid, cs_error *err)
{
    docker_response resp;
    cs_json *j;
    if (docker_get_json(d, ctx, cs_arena_printf(a, "/containers/%s/json", id), &resp, &j, err) != 0)
        return -1;
    *pid = cs_json_get_bool(j, 0, "State.Running", false) ? (int)cs_json_get_int64(j, 0, "State.Pid", 0) : 0;
    docker_json_release(&resp, j);
    return 0;
}

static cs_container_stats *stats_of(docker_backend *d, const cs_ctx *ctx, const cs_container *c, cs_arena *a)
{
    cs_container_stats *s = cs_arena_alloc(a, sizeof *s);
    s->container = c;
    int pid = 0;
    if (c->state == CS_CONTAINER_RUNNING && init_pid(d, ctx, c->id, a, &pid, NULL) == 0 && pid > 0 &&
        cs_cgroup_stats_for_pid(NULL, pid, &s->cg, NULL) == 0) {
        s->running = true;
        s->has_nano_cores = cpu_rate(d, c->id, &s->cg, &s->nano_cores);
    }
    return s;
}

int docker_container_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                                 cs_container_stats ***out, size_t *n, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_container **list;
    size_t count;
    if (docker_container_list(b, ctx, f, a, &list, &count, err) != 0)
        return -1;
    cs_container_stats **stats = cs_arena_array(a, count + 1, sizeof *stats);
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (list[i]->state == CS_CONTAINER_RUNNING) /* kubelet asks about running ones */
            stats[k++] = stats_of(d, ctx, list[i], a);
    *out = stats;
    *n = k;
    return 0;
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
    *out = stats_of(d, ctx, list[0], a);
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

static cs_sandbox_stats *pod_stats_of(docker_backend *d, const cs_ctx *ctx, const cs_sandbox *sb, cs_arena *a,
                                      cs_error *err)
{
    cs_sandbox_stats *s = cs_arena_alloc(a, sizeof *s);
    s->sandbox = sb;
    cs_container_filter f = {.sandbox_id = sb->id};
    if (docker_container_stats_list(&d->base, ctx, &f, a, &s->containers, &s->n_containers, err) != 0)
        return NULL;
    for (size_t i = 0; i < s->n_containers; i++)
        if (s->containers[i]->running)
            add(&s->cg, &s->containers[i]->cg);
    int pid = 0;
    if (sb->state == CS_SANDBOX_READY && init_pid(d, ctx, sb->id, a, &pid, NULL) == 0 && pid > 0) {
        cs_cgroup_stats infra;
        if (cs_cgroup_stats_for_pid(NULL, pid, &infra, NULL) == 0)
            add(&s->cg, &infra);
        if (cs_netdev_default(pid, &s->net, NULL) == 0) {
            s->has_net = true;
            s->net_timestamp_ns = cs_time_now_ns();
        }
    }
    s->has_nano_cores = cpu_rate(d, sb->id, &s->cg, &s->nano_cores);
    return s;
}

int docker_sandbox_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                              cs_sandbox_stats ***out, size_t *n, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_sandbox **pods;
    size_t count;
    if (docker_sandbox_list(b, ctx, f, a, &pods, &count, err) != 0)
        return -1;
    cs_sandbox_stats **stats = cs_arena_array(a, count + 1, sizeof *stats);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (pods[i]->state != CS_SANDBOX_READY) /* kubelet asks about running pods */
            continue;
        cs_sandbox_stats *s = pod_stats_of(d, ctx, pods[i], a, err);
        if (!s)
            return -1;
        stats[k++] = s;
    }
    *out = stats;
    *n = k;
    return 0;
}

int docker_sandbox_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_sandbox_stats **out,
                         cs_error *err)
{
    cs_sandbox *sb;
    if (docker_sandbox_status(b, ctx, id, false, a, &sb, err) != 0)
        return -1;
    *out = pod_stats_of(docker_of(b), ctx, sb, a, err);
    return *out ? 0 : -1;
}
