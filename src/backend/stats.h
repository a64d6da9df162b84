/* Stats composition for every engine: container and pod usage read from
 * cgroupfs and /proc, never from an engine's stats call (Docker's blocks a
 * second per container). A backend supplies, per container or pod infra
 * process, a few facts (a hook: its pid, writable-layer dir, start time) and
 * its list/status ops; this module does the rest:
 *   - the CPU rate, which needs two samples: the previous one per container
 *     or pod is kept here (samples older than 10 minutes are forgotten);
 *   - the writable layer's usage, walked as du does and cached per container
 *     for a time proportional to what the walk cost, as cadvisor does;
 *   - a pod: the sum of its running containers and its infra process, and
 *     the network of the infra process's namespace;
 *   - the cgroup detail and every interface for the CRI metrics. */
#ifndef CS_BACKEND_STATS_H
#define CS_BACKEND_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"

/* What the engine knows about a running container or pod infra. */
typedef struct cs_stats_facts {
    int pid;              /* the init process while running; 0: not running */
    const char *writable; /* the container's own layer (overlay's upper dir); NULL: unknown */
    const char *writable_fs; /* the filesystem it is on, as ImageFsInfo names it; NULL: the dir */
    int64_t started_ns;
    /* The cgroups as /proc/<pid>/cgroup would list them, when the engine
     * knows them (containerd: the spec's cgroupsPath); NULL: read that file. */
    const char *cgroup;
} cs_stats_facts;

/* Fills out for container or sandbox `id` (a full id); -1 when it can't
 * (the composition then reports it as not running). */
typedef int (*cs_stats_facts_fn)(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_stats_facts *out,
                                 cs_error *err);

typedef struct cs_stats_options {
    const char *proc_root;   /* NULL: "/proc" (tests pass a scratch tree) */
    const char *cgroup_root; /* NULL: "/sys/fs/cgroup" */
    /* How long a layer walk is reused: DU_COST_FACTOR times what it cost,
     * within these bounds (0: 2 s and 60 s). */
    int64_t du_min_ttl_ns, du_max_ttl_ns;
} cs_stats_options;

typedef struct cs_stats cs_stats;

/* b's container_list, sandbox_list and sandbox_status ops name what exists;
 * facts fills in the rest. b must outlive the result. */
cs_stats *cs_stats_new(cs_backend *b, cs_stats_facts_fn facts, const cs_stats_options *o);
void cs_stats_free(cs_stats *s);

/* The backend ops of the same names, composed. */
int cs_stats_container(cs_stats *s, const cs_ctx *ctx, const char *id, cs_arena *a, cs_container_stats **out,
                       cs_error *err);
int cs_stats_container_list(cs_stats *s, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                            cs_container_stats ***out, size_t *n, cs_error *err);
int cs_stats_sandbox(cs_stats *s, const cs_ctx *ctx, const char *id, cs_arena *a, cs_sandbox_stats **out,
                     cs_error *err);
int cs_stats_sandbox_list(cs_stats *s, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                          cs_sandbox_stats ***out, size_t *n, cs_error *err);
int cs_stats_sandbox_metrics_list(cs_stats *s, const cs_ctx *ctx, cs_arena *a, cs_sandbox_stats ***out, size_t *n,
                                  cs_error *err);

/* The parts, for backends and tests. */

/* The rate since the previous sample under key (a container or pod id),
 * recording this one; false for the first sample, a stale one (> 10 min) or
 * a counter that went back. */
bool cs_stats_cpu_rate(cs_stats *s, const char *key, const cs_cgroup_stats *cg, uint64_t *nano_cores);
/* The writable layer `dir` of container key: the cached walk while fresh,
 * else a new one; false when the dir can't be walked. */
bool cs_stats_writable(cs_stats *s, const char *key, const char *dir, const char *fs, cs_arena *a,
                       cs_fs_usage *out);

#endif
