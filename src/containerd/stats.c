/* Container and pod stats on containerd: the composition is backend/stats.c;
 * this file only answers its facts hook per container or pod infra: the
 * cgroup from the spec crishim wrote (linux.cgroupsPath, so no
 * /proc/<pid>/cgroup read), the running task's pid, the writable layer (the
 * snapshot's overlay upperdir) and the start time. What never changes is
 * read once (Containers.Get, Snapshots.Mounts) and kept by the event feed
 * with the object; the pid comes from the feed while it is healthy, else
 * from Tasks.Get. containerd's own Tasks.Metrics is never called. */
#include <stdio.h>
#include <string.h>

#include "backend/stats.h"
#include "containerd/events.h"
#include "containerd/runtime.h"
#include "util/json.h"

/* A slice's cgroup: a-b-c.slice is /a.slice/a-b.slice/a-b-c.slice (runc's
 * ExpandSlice); NULL when it is not a slice name. */
static char *expand_slice(const char *slice, cs_arena *a)
{
    size_t n = strlen(slice);
    if (n < 6 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/'))
        return NULL;
    if (!strcmp(slice, "-.slice"))
        return cs_arena_strdup(a, "");
    size_t stem = n - 6;
    char *path = cs_arena_alloc(a, (n + 1) * (n + 8) + 1), *p = path;
    for (size_t i = 0; i <= stem; i++) {
        if (i < stem && slice[i] != '-')
            continue;
        if (i == 0 || slice[i - 1] == '-')
            return NULL; /* an empty component */
        p += sprintf(p, "/%.*s.slice", (int)i, slice);
    }
    return path;
}

char *ctrd_cgroup_dir(const char *cgroups_path, cs_arena *a)
{
    if (!cgroups_path || !*cgroups_path)
        return NULL;
    if (cgroups_path[0] == '/')
        return cs_arena_strdup(a, cgroups_path);
    /* systemd: slice:prefix:name is <slice's path>/<prefix>-<name>.scope */
    const char *c1 = strchr(cgroups_path, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || strchr(c2 + 1, ':'))
        return cs_arena_printf(a, "/%s", cgroups_path); /* cgroupfs, relative */
    char *slice = cs_arena_strndup(a, cgroups_path, (size_t)(c1 - cgroups_path));
    const char *base = expand_slice(*slice ? slice : "system.slice", a);
    if (!base)
        return NULL;
    const char *prefix = cs_arena_strndup(a, c1 + 1, (size_t)(c2 - c1 - 1));
    const char *name = c2 + 1;
    size_t nl = strlen(name);
    if (nl > 6 && !strcmp(name + nl - 6, ".slice"))
        return cs_arena_printf(a, "%s/%s", base, name);
    return cs_arena_printf(a, "%s/%s%s%s.scope", base, prefix, *prefix ? "-" : "", name);
}

/* /proc/<pid>/cgroup lines naming dir in every hierarchy stats reads (v1
 * controllers and the unified one; backend/cgroups.c takes what exists). */
static char *cgroup_lines(const char *dir, cs_arena *a)
{
    return cs_arena_printf(a, "0:cpu,cpuacct:%s\n0:memory:%s\n0:pids:%s\n0::%s\n", dir, dir, dir, dir);
}

/* An overlayfs snapshot's upper dir is <root>/snapshots/<n>/fs: the
 * filesystem is named <root>, as ImageFsInfo names the snapshotter's. */
static char *snapshotter_fs(const char *upper, cs_arena *a)
{
    const char *at = NULL;
    for (const char *p = strstr(upper, "/snapshots/"); p; p = strstr(p + 1, "/snapshots/"))
        at = p;
    return at && at != upper ? cs_arena_strndup(a, upper, (size_t)(at - upper)) : NULL;
}

/* What never changes once the object runs: its cgroup, its writable layer,
 * its start time. */
static int load_static(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_static_facts *out,
                       cs_error *err)
{
    memset(out, 0, sizeof *out);
    ctrd_record r;
    if (ctrd_record_get(d, ctx, id, a, &r, err) != 0)
        return -1;
    cs_json *j;
    if (r.spec_json && cs_json_parse(r.spec_json, strlen(r.spec_json), &j, NULL) == 0) {
        char *dir = ctrd_cgroup_dir(cs_json_get_str(j, 0, "linux.cgroupsPath", a), a);
        out->cgroup = dir ? cgroup_lines(dir, a) : NULL;
        cs_json_free(j);
    }
    out->started_ns = r.created_ns;
    if (r.state_json && cs_json_parse(r.state_json, strlen(r.state_json), &j, NULL) == 0) {
        int64_t started = cs_json_get_int64(j, 0, "started_ns", 0);
        if (started > 0)
            out->started_ns = started;
        cs_json_free(j);
    }
    ctrd_mount *m;
    size_t n;
    if (r.snapshot_key && *r.snapshot_key && ctrd_snapshot_mounts(d, ctx, r.snapshot_key, a, &m, &n, NULL) == 0) {
        out->writable = ctrd_snapshot_upperdir(m, n, a);
        out->writable_fs = out->writable ? snapshotter_fs(out->writable, a) : NULL;
    }
    return 0;
}

static int facts(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_stats_facts *out, cs_error *err)
{
    cs_error local;
    if (!err)
        err = &local;
    ctrd_backend *d = ctrd_of(b);
    memset(out, 0, sizeof *out);
    ctrd_static_facts sf;
    if (!ctrd_events_static_get(d, id, a, &sf)) {
        if (load_static(d, ctx, id, a, &sf, err) != 0)
            return -1;
        ctrd_events_static_put(d, id, &sf);
    }
    uint32_t pid;
    if (!ctrd_events_pid(d, id, &pid)) {
        ctrd_task t = {0};
        if (ctrd_task_get(d, ctx, id, NULL, &t, err) != 0 && err->code != CS_ERR_NOT_FOUND)
            return -1;
        pid = t.status == CTRD_TASK_RUNNING ? t.pid : 0;
    }
    out->pid = (int)pid;
    out->writable = sf.writable;
    out->writable_fs = sf.writable_fs;
    out->cgroup = sf.cgroup;
    out->started_ns = sf.started_ns;
    return 0;
}

void ctrd_stats_new(ctrd_backend *d)
{
    d->stats = cs_stats_new(&d->base, facts, NULL);
}

void ctrd_stats_free(ctrd_backend *d)
{
    cs_stats_free(d->stats);
    d->stats = NULL;
}

int ctrd_container_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_container_stats **out,
                         cs_error *err)
{
    return cs_stats_container(ctrd_of(b)->stats, ctx, id, a, out, err);
}

int ctrd_container_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                              cs_container_stats ***out, size_t *n, cs_error *err)
{
    return cs_stats_container_list(ctrd_of(b)->stats, ctx, f, a, out, n, err);
}

int ctrd_sandbox_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_sandbox_stats **out,
                       cs_error *err)
{
    return cs_stats_sandbox(ctrd_of(b)->stats, ctx, id, a, out, err);
}

int ctrd_sandbox_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                            cs_sandbox_stats ***out, size_t *n, cs_error *err)
{
    return cs_stats_sandbox_list(ctrd_of(b)->stats, ctx, f, a, out, n, err);
}

int ctrd_sandbox_metrics_list(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_sandbox_stats ***out, size_t *n,
                              cs_error *err)
{
    return cs_stats_sandbox_metrics_list(ctrd_of(b)->stats, ctx, a, out, n, err);
}
