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

/* Reads the cgroups of process `pid`. Missing controllers leave their
 * has_ flag false; NOT_FOUND when the process is gone. `root` is the cgroupfs
 * mount point ("/sys/fs/cgroup"; tests pass a fixture tree). */
int cs_cgroup_stats_for_pid(const char *root, int pid, cs_cgroup_stats *out, cs_error *err);

/* The same from an explicit /proc/<pid>/cgroup text (tests). */
int cs_cgroup_stats_from(const char *root, const char *proc_cgroup, cs_cgroup_stats *out, cs_error *err);

#endif
