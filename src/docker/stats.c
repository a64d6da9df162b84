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

/* Rate from the previous sample of this container; records the new one. */
static void cpu_rate(docker_backend *d, cs_container_stats *s)
{
    if (!s->cg.has_cpu)
        return;
    int64_t now = s->cg.timestamp_ns;
    pthread_mutex_lock(&d->samples_mu);
    sample *hit = NULL;
    for (sample **pp = &d->samples; *pp;) {
        sample *x = *pp;
        if (!strcmp(x->id, s->container->id)) {
            hit = x;
            pp = &x->next;
        } else if (now - x->ts > SAMPLE_TTL_NS) {
            *pp = x->next;
            free(x);
        } else {
            pp = &x->next;
        }
    }
    if (hit && now > hit->ts && s->cg.cpu_usage_ns >= hit->usage) {
        s->has_nano_cores = true;
        s->nano_cores = (uint64_t)((double)(s->cg.cpu_usage_ns - hit->usage) * 1e9 / (double)(now - hit->ts));
    }
    if (!hit) {
        hit = cs_xcalloc(1, sizeof *hit);
        snprintf(hit->id, sizeof hit->id, "%s", s->container->id);
        hit->next = d->samples;
        d->samples = hit;
    }
    hit->ts = now;
    hit->usage = s->cg.cpu_usage_ns;
    pthread_mutex_unlock(&d->samples_mu);
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
        cpu_rate(d, s);
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
