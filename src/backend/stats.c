/* Stats composition; see stats.h. */
#include "backend/stats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/diskusage.h"
#include "backend/state.h"
#include "util/fs.h"
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

/* Interfaces a pod may have for the metrics; more are left out. */
#define MAX_IFACES 16

/* /proc/<pid>/cgroup and /proc/<pid>/net/dev are small. */
#define PROC_FILE_MAX (1 << 20)

typedef struct sample {
    struct sample *next;
    char id[72];
    int64_t ts;
    uint64_t usage;
    /* the writable layer's last walk (du_ts 0: never) */
    int64_t du_ts, du_ttl;
    cs_disk_usage du;
} sample;

struct cs_stats {
    cs_backend *b;
    cs_stats_facts_fn facts;
    char *proc_root, *cgroup_root;
    int64_t du_min_ttl, du_max_ttl;
    /* the previous sample per container and pod */
    pthread_mutex_t mu;
    sample *samples;
};

cs_stats *cs_stats_new(cs_backend *b, cs_stats_facts_fn facts, const cs_stats_options *o)
{
    cs_stats *s = cs_xcalloc(1, sizeof *s);
    s->b = b;
    s->facts = facts;
    s->proc_root = cs_xstrdup(o && o->proc_root ? o->proc_root : "/proc");
    s->cgroup_root = cs_xstrdup(o && o->cgroup_root ? o->cgroup_root : "/sys/fs/cgroup");
    s->du_min_ttl = o && o->du_min_ttl_ns ? o->du_min_ttl_ns : DU_MIN_TTL_NS;
    s->du_max_ttl = o && o->du_max_ttl_ns ? o->du_max_ttl_ns : DU_MAX_TTL_NS;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void cs_stats_free(cs_stats *s)
{
    if (!s)
        return;
    sample *x = s->samples;
    while (x) {
        sample *next = x->next;
        free(x);
        x = next;
    }
    pthread_mutex_destroy(&s->mu);
    free(s->proc_root);
    free(s->cgroup_root);
    free(s);
}

/* ---- samples ---- */

/* The entry under `key`, created when missing; expired others are dropped on
 * the way. Caller holds mu. */
static sample *sample_of(cs_stats *s, const char *key, int64_t now)
{
    sample *hit = NULL;
    for (sample **pp = &s->samples; *pp;) {
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
        hit->next = s->samples;
        s->samples = hit;
    }
    return hit;
}

/* Walks outside the lock: two callers may both walk once, which is harmless. */
bool cs_stats_writable(cs_stats *s, const char *key, const char *dir, const char *fs, cs_arena *a,
                       cs_fs_usage *out)
{
    int64_t now = cs_time_now_ns();
    cs_disk_usage du;
    bool fresh = false;
    pthread_mutex_lock(&s->mu);
    sample *x = sample_of(s, key, now);
    if (x->du_ts && now - x->du_ts < x->du_ttl) {
        du = x->du;
        now = x->du_ts;
        fresh = true;
    }
    pthread_mutex_unlock(&s->mu);
    if (!fresh) {
        int64_t t0 = cs_time_mono_ns();
        if (cs_disk_usage_of(dir, &du, NULL) != 0)
            return false;
        int64_t ttl = (cs_time_mono_ns() - t0) * DU_COST_FACTOR;
        ttl = ttl < s->du_min_ttl ? s->du_min_ttl : ttl > s->du_max_ttl ? s->du_max_ttl : ttl;
        pthread_mutex_lock(&s->mu);
        x = sample_of(s, key, now);
        x->du = du;
        x->du_ts = now;
        x->du_ttl = ttl;
        pthread_mutex_unlock(&s->mu);
    }
    memset(out, 0, sizeof *out);
    out->timestamp_ns = now;
    out->mountpoint = cs_arena_strdup(a, fs ? fs : dir);
    out->used_bytes = du.bytes;
    out->inodes_used = du.inodes;
    out->has_inodes = true;
    return true;
}

bool cs_stats_cpu_rate(cs_stats *s, const char *key, const cs_cgroup_stats *cg, uint64_t *nano_cores)
{
    if (!cg->has_cpu)
        return false;
    bool have = false;
    int64_t now = cg->timestamp_ns;
    pthread_mutex_lock(&s->mu);
    sample *hit = sample_of(s, key, now);
    bool first = hit->ts == 0;
    if (!first && now > hit->ts && now - hit->ts <= SAMPLE_TTL_NS && cg->cpu_usage_ns >= hit->usage) {
        have = true;
        *nano_cores = (uint64_t)((double)(cg->cpu_usage_ns - hit->usage) * 1e9 / (double)(now - hit->ts));
    }
    hit->ts = now;
    hit->usage = cg->cpu_usage_ns;
    pthread_mutex_unlock(&s->mu);
    return have;
}

/* ---- what /proc says ---- */

/* <proc>/<pid>/<file>; the caller frees. */
static char *proc_file(const cs_stats *s, int pid, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%d/%s", s->proc_root, pid, file);
    char *text;
    if (pid <= 0 || cs_read_file(path, PROC_FILE_MAX, &text, NULL, NULL) != 0)
        return NULL;
    return text;
}

/* given: the facts' cgroup text, else /proc/<pid>/cgroup is read. */
static int cgroup_stats(const cs_stats *s, int pid, const char *given, cs_cgroup_stats *out)
{
    char *text = given ? NULL : proc_file(s, pid, "cgroup");
    if (!given && !text)
        return -1;
    int rc = cs_cgroup_stats_from(s->cgroup_root, given ? given : text, out, NULL);
    free(text);
    return rc;
}

static int cgroup_detail(const cs_stats *s, int pid, const char *given, cs_cgroup_detail *out)
{
    char *text = given ? NULL : proc_file(s, pid, "cgroup");
    if (!given && !text)
        return -1;
    int rc = cs_cgroup_detail_from(s->cgroup_root, given ? given : text, out, NULL);
    free(text);
    return rc;
}

/* ---- containers ---- */

static cs_container_stats *stats_of(cs_stats *s, const cs_ctx *ctx, const cs_container *c, bool detail, cs_arena *a)
{
    cs_container_stats *st = cs_arena_alloc(a, sizeof *st);
    st->container = c;
    cs_stats_facts f = {0};
    if (c->state != CS_CONTAINER_RUNNING || s->facts(s->b, ctx, c->id, a, &f, NULL) != 0)
        return st;
    st->started_ns = f.started_ns;
    if (f.pid > 0 && cgroup_stats(s, f.pid, f.cgroup, &st->cg) == 0) {
        st->running = true;
        st->has_nano_cores = cs_stats_cpu_rate(s, c->id, &st->cg, &st->nano_cores);
        if (detail && cgroup_detail(s, f.pid, f.cgroup, &st->detail) == 0)
            st->has_detail = true;
    }
    if (f.writable && *f.writable)
        st->has_writable = cs_stats_writable(s, c->id, f.writable, f.writable_fs, a, &st->writable);
    return st;
}

/* The ops the composition stands on, which a backend may not have yet. */
static int need_ops(const cs_stats *s, bool pods, cs_error *err)
{
    const cs_backend_ops *o = s->b->ops;
    if (!o->container_list)
        return cs_backend_unimplemented(s->b, "container_list", err);
    if (pods && !o->sandbox_list)
        return cs_backend_unimplemented(s->b, "sandbox_list", err);
    if (pods && !o->sandbox_status)
        return cs_backend_unimplemented(s->b, "sandbox_status", err);
    return 0;
}

static int stats_list(cs_stats *s, const cs_ctx *ctx, const cs_container_filter *f, bool detail, cs_arena *a,
                      cs_container_stats ***out, size_t *n, cs_error *err)
{
    cs_container **list;
    size_t count;
    if (need_ops(s, false, err) != 0 || s->b->ops->container_list(s->b, ctx, f, a, &list, &count, err) != 0)
        return -1;
    cs_container_stats **stats = cs_arena_array(a, count + 1, sizeof *stats);
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (list[i]->state == CS_CONTAINER_RUNNING) /* kubelet asks about running ones */
            stats[k++] = stats_of(s, ctx, list[i], detail, a);
    *out = stats;
    *n = k;
    return 0;
}

int cs_stats_container_list(cs_stats *s, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                            cs_container_stats ***out, size_t *n, cs_error *err)
{
    return stats_list(s, ctx, f, false, a, out, n, err);
}

/* One list call filtered by the prefix: it resolves the id too. */
int cs_stats_container(cs_stats *s, const cs_ctx *ctx, const char *id, cs_arena *a, cs_container_stats **out,
                       cs_error *err)
{
    cs_container_filter f = {.id = id};
    cs_container **list;
    size_t count;
    if (need_ops(s, false, err) != 0)
        return -1;
    if (id && *id && s->b->ops->container_list(s->b, ctx, &f, a, &list, &count, err) != 0)
        return -1;
    if (!id || !*id)
        count = 0;
    const char **ids = cs_arena_array(a, count + 1, sizeof *ids);
    for (size_t i = 0; i < count; i++)
        ids[i] = list[i]->id;
    const char *full;
    if (cs_state_resolve_prefix(CS_STATE_KIND_CONTAINER, id, ids, count, &full, err) != 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (list[i]->id == full)
            *out = stats_of(s, ctx, list[i], false, a);
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

/* Every running container's stats, fetched once for a list of pods (one
 * engine list call instead of one per pod). */
typedef struct all_stats {
    cs_container_stats **items;
    size_t n;
} all_stats;

/* The infra process's network: its default interface, and for the metrics
 * every interface but lo. */
static void pod_net(const cs_stats *s, int pid, bool detail, cs_sandbox_stats *st, cs_arena *a)
{
    if (detail)
        st->ifaces = cs_arena_array(a, MAX_IFACES, sizeof *st->ifaces);
    char *text = proc_file(s, pid, "net/dev");
    if (!text)
        return;
    if (cs_netdev_parse(text, &st->net, NULL) == 0) {
        st->has_net = true;
        st->net_timestamp_ns = cs_time_now_ns();
    }
    if (detail) {
        st->n_ifaces = cs_netdev_parse_all(text, st->ifaces, MAX_IFACES);
        if (!st->has_net)
            st->net_timestamp_ns = cs_time_now_ns();
    }
    free(text);
}

/* One pod's stats. Its containers come from `all` when given, else from a
 * list call of their own. */
static cs_sandbox_stats *pod_stats_of(cs_stats *s, const cs_ctx *ctx, const cs_sandbox *sb, bool detail,
                                      const all_stats *all, cs_arena *a, cs_error *err)
{
    cs_sandbox_stats *st = cs_arena_alloc(a, sizeof *st);
    st->sandbox = sb;
    if (all) {
        st->containers = cs_arena_array(a, all->n + 1, sizeof *st->containers);
        for (size_t i = 0; i < all->n; i++)
            if (all->items[i]->container->sandbox_id && !strcmp(all->items[i]->container->sandbox_id, sb->id))
                st->containers[st->n_containers++] = all->items[i];
    } else {
        cs_container_filter f = {.sandbox_id = sb->id};
        if (stats_list(s, ctx, &f, detail, a, &st->containers, &st->n_containers, err) != 0)
            return NULL;
    }
    for (size_t i = 0; i < st->n_containers; i++)
        if (st->containers[i]->running)
            add(&st->cg, &st->containers[i]->cg);
    cs_stats_facts f = {0};
    int pid = 0;
    if (sb->state == CS_SANDBOX_READY && s->facts(s->b, ctx, sb->id, a, &f, NULL) == 0)
        pid = f.pid;
    if (pid > 0) {
        cs_cgroup_stats infra;
        if (cgroup_stats(s, pid, f.cgroup, &infra) == 0)
            add(&st->cg, &infra);
        pod_net(s, pid, detail, st, a);
    }
    st->has_nano_cores = cs_stats_cpu_rate(s, sb->id, &st->cg, &st->nano_cores);
    return st;
}

static int pod_stats_list(cs_stats *s, const cs_ctx *ctx, const cs_sandbox_filter *f, bool detail, cs_arena *a,
                          cs_sandbox_stats ***out, size_t *n, cs_error *err)
{
    cs_sandbox **pods;
    size_t count;
    if (need_ops(s, true, err) != 0 || s->b->ops->sandbox_list(s->b, ctx, f, a, &pods, &count, err) != 0)
        return -1;
    /* one pod by id: its own list is cheaper than everyone's */
    all_stats all = {0};
    bool shared = !(f && f->id) && count > 1;
    if (shared && stats_list(s, ctx, NULL, detail, a, &all.items, &all.n, err) != 0)
        return -1;
    cs_sandbox_stats **stats = cs_arena_array(a, count + 1, sizeof *stats);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (pods[i]->state != CS_SANDBOX_READY) /* kubelet asks about running pods */
            continue;
        cs_sandbox_stats *st = pod_stats_of(s, ctx, pods[i], detail, shared ? &all : NULL, a, err);
        if (!st)
            return -1;
        stats[k++] = st;
    }
    *out = stats;
    *n = k;
    return 0;
}

int cs_stats_sandbox_list(cs_stats *s, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                          cs_sandbox_stats ***out, size_t *n, cs_error *err)
{
    return pod_stats_list(s, ctx, f, false, a, out, n, err);
}

int cs_stats_sandbox_metrics_list(cs_stats *s, const cs_ctx *ctx, cs_arena *a, cs_sandbox_stats ***out, size_t *n,
                                  cs_error *err)
{
    return pod_stats_list(s, ctx, NULL, true, a, out, n, err);
}

int cs_stats_sandbox(cs_stats *s, const cs_ctx *ctx, const char *id, cs_arena *a, cs_sandbox_stats **out,
                     cs_error *err)
{
    cs_sandbox *sb;
    if (need_ops(s, true, err) != 0 || s->b->ops->sandbox_status(s->b, ctx, id, false, a, &sb, err) != 0)
        return -1;
    *out = pod_stats_of(s, ctx, sb, false, NULL, a, err);
    return *out ? 0 : -1;
}
