/* cgroup v1/v2 readers; see cgroups.h. Working set is usage minus inactive
 * file pages, as cadvisor (and so kubelet's eviction) computes it. */
#include "backend/cgroups.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/mem.h"
#include "util/time.h"

#define SMALL_FILE (256 * 1024)

static bool read_u64(const char *dir, const char *file, uint64_t *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text;
    if (cs_read_file(path, SMALL_FILE, &text, NULL, NULL) != 0)
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    bool ok = errno == 0 && end != text;
    if (!strncmp(text, "max", 3)) { /* v2 "no limit" */
        ok = false;
    }
    free(text);
    if (ok)
        *out = v;
    return ok;
}

/* "key value" lines (memory.stat, cpu.stat). */
static bool read_key(const char *dir, const char *file, const char *key, uint64_t *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text;
    if (cs_read_file(path, SMALL_FILE, &text, NULL, NULL) != 0)
        return false;
    size_t klen = strlen(key);
    bool found = false;
    for (char *line = text; line && *line;) {
        if (!strncmp(line, key, klen) && line[klen] == ' ') {
            *out = strtoull(line + klen + 1, NULL, 10);
            found = true;
            break;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    free(text);
    return found;
}

typedef struct paths {
    char cpu[4096], cpuacct[4096], memory[4096], pids[4096], unified[4096];
    bool v2;
} paths;

/* Where controller `ctl` of a v1 line lives: /root/<name>/<path> for each
 * name the hierarchy mounts ("cpu,cpuacct" is tried whole, then alone). */
static void v1_path(const char *root, const char *ctls, const char *rel, const char *want, char *out, size_t size)
{
    char list[256];
    snprintf(list, sizeof list, "%s", ctls);
    bool has = false;
    for (char *save, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!strcmp(t, want))
            has = true;
    if (!has)
        return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s%s", root, ctls, rel);
    if (access(dir, F_OK) != 0)
        snprintf(dir, sizeof dir, "%s/%s%s", root, want, rel);
    snprintf(out, size, "%s", dir);
}

static void find_paths(const char *root, const char *proc_cgroup, paths *p)
{
    memset(p, 0, sizeof *p);
    char unified_root[4096];
    snprintf(unified_root, sizeof unified_root, "%s/cgroup.controllers", root);
    bool pure_v2 = access(unified_root, F_OK) == 0;
    char *copy = cs_xstrdup(proc_cgroup);
    for (char *save, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        const char *ctls = c1 + 1, *rel = c2 + 1;
        if (!*ctls) { /* "0::/path": the v2 hierarchy */
            snprintf(p->unified, sizeof p->unified, "%s%s%s", root, pure_v2 ? "" : "/unified", rel);
            if (pure_v2)
                p->v2 = true;
            continue;
        }
        v1_path(root, ctls, rel, "cpu", p->cpu, sizeof p->cpu);
        v1_path(root, ctls, rel, "cpuacct", p->cpuacct, sizeof p->cpuacct);
        v1_path(root, ctls, rel, "memory", p->memory, sizeof p->memory);
        v1_path(root, ctls, rel, "pids", p->pids, sizeof p->pids);
    }
    free(copy);
}

static void read_v1(const paths *p, cs_cgroup_stats *s)
{
    if (p->cpuacct[0] && read_u64(p->cpuacct, "cpuacct.usage", &s->cpu_usage_ns))
        s->has_cpu = true;
    if (p->memory[0] && read_u64(p->memory, "memory.usage_in_bytes", &s->mem_usage)) {
        s->has_memory = true;
        uint64_t inactive = 0;
        read_key(p->memory, "memory.stat", "total_inactive_file", &inactive);
        s->mem_working_set = s->mem_usage > inactive ? s->mem_usage - inactive : 0;
        read_key(p->memory, "memory.stat", "total_rss", &s->mem_rss);
        read_key(p->memory, "memory.stat", "total_pgfault", &s->mem_page_faults);
        read_key(p->memory, "memory.stat", "total_pgmajfault", &s->mem_major_page_faults);
        uint64_t limit;
        /* v1 reports "no limit" as a huge page-aligned number */
        if (read_u64(p->memory, "memory.limit_in_bytes", &limit) && limit < (UINT64_C(1) << 62)) {
            s->has_mem_limit = true;
            s->mem_limit = limit;
        }
    }
    if (p->pids[0] && read_u64(p->pids, "pids.current", &s->pids))
        s->has_pids = true;
}

static void read_v2(const char *dir, cs_cgroup_stats *s)
{
    uint64_t usec;
    if (read_key(dir, "cpu.stat", "usage_usec", &usec)) {
        s->has_cpu = true;
        s->cpu_usage_ns = usec * 1000;
    }
    if (read_u64(dir, "memory.current", &s->mem_usage)) {
        s->has_memory = true;
        uint64_t inactive = 0;
        read_key(dir, "memory.stat", "inactive_file", &inactive);
        s->mem_working_set = s->mem_usage > inactive ? s->mem_usage - inactive : 0;
        read_key(dir, "memory.stat", "anon", &s->mem_rss);
        read_key(dir, "memory.stat", "pgfault", &s->mem_page_faults);
        read_key(dir, "memory.stat", "pgmajfault", &s->mem_major_page_faults);
        if (read_u64(dir, "memory.max", &s->mem_limit))
            s->has_mem_limit = true;
    }
    if (read_u64(dir, "pids.current", &s->pids))
        s->has_pids = true;
}

int cs_cgroup_stats_from(const char *root, const char *proc_cgroup, cs_cgroup_stats *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    out->timestamp_ns = cs_time_now_ns();
    paths p;
    find_paths(root, proc_cgroup, &p);
    if (p.v2) {
        read_v2(p.unified, out);
    } else {
        read_v1(&p, out);
        /* hybrid hosts: what v1 lacks may sit in the unified hierarchy */
        if (p.unified[0] && (!out->has_cpu || !out->has_memory)) {
            cs_cgroup_stats u = {0};
            read_v2(p.unified, &u);
            if (!out->has_cpu && u.has_cpu) {
                out->has_cpu = true;
                out->cpu_usage_ns = u.cpu_usage_ns;
            }
        }
    }
    return 0;
}

int cs_cgroup_stats_for_pid(const char *root, int pid, cs_cgroup_stats *out, cs_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
    char *text;
    if (pid <= 0 || cs_read_file(path, SMALL_FILE, &text, NULL, NULL) != 0)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "process %d is gone", pid);
    int rc = cs_cgroup_stats_from(root ? root : "/sys/fs/cgroup", text, out, err);
    free(text);
    return rc;
}

/* ---- the detail the CRI metrics want ---- */

static char *read_text(const char *dir, const char *file)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return NULL; /* no such path on Linux */
    char *text;
    return cs_read_file(path, SMALL_FILE, &text, NULL, NULL) == 0 ? text : NULL;
}

/* "key value" in text already read; false when absent. */
static bool key_in(const char *text, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;) {
        if (!strncmp(line, key, klen) && line[klen] == ' ') {
            *out = strtoull(line + klen + 1, NULL, 10);
            return true;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

/* Lines of cgroup.procs, tasks, cgroup.threads: one id each. */
static bool count_lines(const char *dir, const char *file, uint64_t *out)
{
    char *text = read_text(dir, file);
    if (!text)
        return false;
    uint64_t n = 0;
    for (const char *c = text; *c; c++)
        n += *c == '\n';
    free(text);
    *out = n;
    return true;
}

/* A signed value ("-1" is v1's "no limit"). */
static bool read_i64(const char *dir, const char *file, int64_t *out)
{
    char *text = read_text(dir, file);
    if (!text)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    bool ok = errno == 0 && end != text;
    free(text);
    if (ok)
        *out = v;
    return ok;
}

/* v1 reports "no limit" as a huge page-aligned number. */
#define V1_UNLIMITED (UINT64_C(1) << 62)

static void detail_v1(const paths *p, cs_cgroup_detail *o)
{
    if (p->cpuacct[0]) {
        /* usage_user/usage_sys are ns (Linux 4.16+); cpuacct.stat is in clock ticks */
        if (read_u64(p->cpuacct, "cpuacct.usage_user", &o->cpu_user_ns) &&
            read_u64(p->cpuacct, "cpuacct.usage_sys", &o->cpu_system_ns)) {
            o->has_cpu = true;
        } else {
            char *text = read_text(p->cpuacct, "cpuacct.stat");
            uint64_t user, sys;
            long hz = sysconf(_SC_CLK_TCK);
            if (text && hz > 0 && key_in(text, "user", &user) && key_in(text, "system", &sys)) {
                o->has_cpu = true;
                o->cpu_user_ns = user * (1000000000 / (uint64_t)hz);
                o->cpu_system_ns = sys * (1000000000 / (uint64_t)hz);
            }
            free(text);
        }
    }
    if (p->cpu[0]) {
        char *text = read_text(p->cpu, "cpu.stat");
        if (text) {
            key_in(text, "nr_periods", &o->cfs_periods);
            key_in(text, "nr_throttled", &o->cfs_throttled_periods);
            key_in(text, "throttled_time", &o->cfs_throttled_ns);
            free(text);
        }
        int64_t quota;
        if (read_u64(p->cpu, "cpu.cfs_period_us", &o->cpu_period_us) &&
            read_u64(p->cpu, "cpu.shares", &o->cpu_shares))
            o->has_cpu_spec = true;
        if (read_i64(p->cpu, "cpu.cfs_quota_us", &quota) && quota > 0) {
            o->has_cpu_quota = true;
            o->cpu_quota_us = (uint64_t)quota;
        }
    }
    if (p->memory[0]) {
        char *text = read_text(p->memory, "memory.stat");
        if (text) {
            o->has_memory = true;
            key_in(text, "total_cache", &o->mem_cache);
            key_in(text, "total_mapped_file", &o->mem_mapped_file);
            key_in(text, "total_swap", &o->mem_swap); /* only with swap accounting */
            free(text);
        }
        read_u64(p->memory, "memory.failcnt", &o->mem_failcnt);
        if (read_u64(p->memory, "memory.max_usage_in_bytes", &o->mem_max_usage))
            o->has_mem_max_usage = true;
        text = read_text(p->memory, "memory.oom_control");
        if (text) {
            key_in(text, "oom_kill", &o->mem_oom_kills);
            free(text);
        }
        uint64_t v;
        if (read_u64(p->memory, "memory.soft_limit_in_bytes", &v) && v < V1_UNLIMITED) {
            o->has_mem_reservation = true;
            o->mem_reservation = v;
        }
        if (read_u64(p->memory, "memory.memsw.limit_in_bytes", &v) && v < V1_UNLIMITED) {
            o->has_swap_limit = true;
            o->swap_limit = v;
        }
    }
    const char *tasks_dir = p->pids[0] ? p->pids : p->memory[0] ? p->memory : p->cpuacct;
    if (tasks_dir[0] && count_lines(tasks_dir, "cgroup.procs", &o->processes) &&
        count_lines(tasks_dir, "tasks", &o->threads))
        o->has_tasks = true;
    if (p->pids[0] && read_u64(p->pids, "pids.max", &o->threads_max)) /* "max" reads as absent */
        o->has_threads_max = true;
}

static void detail_v2(const char *dir, cs_cgroup_detail *o)
{
    char *text = read_text(dir, "cpu.stat");
    uint64_t usec;
    if (text && key_in(text, "user_usec", &usec)) {
        o->has_cpu = true;
        o->cpu_user_ns = usec * 1000;
        if (key_in(text, "system_usec", &usec))
            o->cpu_system_ns = usec * 1000;
        key_in(text, "nr_periods", &o->cfs_periods);
        key_in(text, "nr_throttled", &o->cfs_throttled_periods);
        if (key_in(text, "throttled_usec", &usec))
            o->cfs_throttled_ns = usec * 1000;
    }
    free(text);
    /* cpu.max: "<quota|max> <period>" */
    text = read_text(dir, "cpu.max");
    if (text) {
        char quota[32] = "";
        unsigned long long period = 0;
        if (sscanf(text, "%31s %llu", quota, &period) == 2) {
            o->has_cpu_spec = true;
            o->cpu_period_us = period;
            o->cpu_shares = 1024;
            if (strcmp(quota, "max") != 0) {
                o->has_cpu_quota = true;
                o->cpu_quota_us = strtoull(quota, NULL, 10);
            }
        }
        free(text);
    }
    uint64_t weight;
    if (o->has_cpu_spec && read_u64(dir, "cpu.weight", &weight) && weight >= 1)
        /* the inverse of the runtime's shares→weight mapping, as cadvisor does */
        o->cpu_shares = 2 + (weight - 1) * 262142 / 9999;
    text = read_text(dir, "memory.stat");
    if (text) {
        o->has_memory = true;
        key_in(text, "file", &o->mem_cache);
        key_in(text, "file_mapped", &o->mem_mapped_file);
        free(text);
        read_u64(dir, "memory.swap.current", &o->mem_swap);
        text = read_text(dir, "memory.events");
        if (text) {
            key_in(text, "max", &o->mem_failcnt); /* times usage hit the limit */
            key_in(text, "oom_kill", &o->mem_oom_kills);
            free(text);
        }
        if (read_u64(dir, "memory.peak", &o->mem_max_usage)) /* Linux 5.19+ */
            o->has_mem_max_usage = true;
        if (read_u64(dir, "memory.low", &o->mem_reservation) && o->mem_reservation > 0)
            o->has_mem_reservation = true;
        if (read_u64(dir, "memory.swap.max", &o->swap_limit))
            o->has_swap_limit = true;
    }
    if (count_lines(dir, "cgroup.procs", &o->processes) && count_lines(dir, "cgroup.threads", &o->threads))
        o->has_tasks = true;
    if (read_u64(dir, "pids.max", &o->threads_max))
        o->has_threads_max = true;
}

int cs_cgroup_detail_from(const char *root, const char *proc_cgroup, cs_cgroup_detail *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    paths p;
    find_paths(root, proc_cgroup, &p);
    if (p.v2)
        detail_v2(p.unified, out);
    else
        detail_v1(&p, out);
    return 0;
}

int cs_cgroup_detail_for_pid(const char *root, int pid, cs_cgroup_detail *out, cs_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
    char *text;
    if (pid <= 0 || cs_read_file(path, SMALL_FILE, &text, NULL, NULL) != 0)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "process %d is gone", pid);
    int rc = cs_cgroup_detail_from(root ? root : "/sys/fs/cgroup", text, out, err);
    free(text);
    return rc;
}
