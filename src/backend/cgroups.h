/* Container resource usage read straight from cgroupfs (v1 and v2, cgroupfs
 * and systemd drivers alike), found through /proc/<pid>/cgroup of the
 * container's init process, so no engine call is needed: a stats call costs
 * a few small file reads instead of Docker's one-second one-shot stats. */
#ifndef CS_CGROUPS_H
#define CS_CGROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

typedef struct cs_cgroup_stats {
    int64_t timestamp_ns;
    bool has_cpu;
    uint64_t cpu_usage_ns; /* cumulative */
    bool has_memory;
    uint64_t mem_usage, mem_working_set, mem_rss, mem_page_faults, mem_major_page_faults;
    bool has_mem_limit;
    uint64_t mem_limit;
    bool has_pids;
    uint64_t pids;
} cs_cgroup_stats;

/* What only the CRI metrics (ListPodSandboxMetrics) report, read on request
 * so that ListContainerStats stays a few file reads per container. Values
 * are in the units cadvisor's metrics want before scaling: ns, bytes, counts.
 * Each group has its own has_ flag (a v1 host may lack a controller). */
typedef struct cs_cgroup_detail {
    bool has_cpu;
    uint64_t cpu_user_ns, cpu_system_ns;
    uint64_t cfs_periods, cfs_throttled_periods, cfs_throttled_ns;
    bool has_memory;
    uint64_t mem_cache, mem_mapped_file, mem_swap, mem_failcnt, mem_oom_kills;
    bool has_mem_max_usage;
    uint64_t mem_max_usage;
    bool has_tasks;
    uint64_t processes, threads;
    bool has_threads_max;
    uint64_t threads_max;
    /* the spec: limits as the cgroup holds them; has_ false means unlimited */
    bool has_cpu_spec;
    uint64_t cpu_period_us, cpu_shares;
    bool has_cpu_quota;
    uint64_t cpu_quota_us;
    bool has_mem_reservation, has_swap_limit;
    uint64_t mem_reservation, swap_limit;
} cs_cgroup_detail;

/* Reads the cgroups of process `pid`. Missing controllers leave their
 * has_ flag false; NOT_FOUND when the process is gone. `root` is the cgroupfs
 * mount point ("/sys/fs/cgroup"; tests pass a fixture tree). */
int cs_cgroup_stats_for_pid(const char *root, int pid, cs_cgroup_stats *out, cs_error *err);

/* The same from an explicit /proc/<pid>/cgroup text (tests). */
int cs_cgroup_stats_from(const char *root, const char *proc_cgroup, cs_cgroup_stats *out, cs_error *err);

/* The detail of the same cgroups; NOT_FOUND when the process is gone. */
int cs_cgroup_detail_for_pid(const char *root, int pid, cs_cgroup_detail *out, cs_error *err);
int cs_cgroup_detail_from(const char *root, const char *proc_cgroup, cs_cgroup_detail *out, cs_error *err);

#endif
