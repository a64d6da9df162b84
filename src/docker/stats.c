/* Container stats on Docker: the composition is backend/stats.c; Docker
 * only answers, per container or pod infra, with one inspect: the init pid
 * while running, overlay2's UpperDir (the container's own layer, which
 * backend/stats.c walks as du does) and the start time. Docker's own stats
 * endpoint is never called (it blocks a second per container), and neither
 * is `?size=1` on inspect, which would make Docker walk the layer plus diff
 * it against the image on every call. */
#include <string.h>

#include "backend/stats.h"
#include "docker/internal.h"
#include "util/time.h"

/* overlay2's upper dir is <root>/overlay2/<layer>/diff: the filesystem is
 * named <root>/overlay2, as ImageFsInfo names it. */
static char *overlay_fs(const char *upper, cs_arena *a)
{
    char *mount = cs_arena_strdup(a, upper);
    for (int i = 0; i < 2; i++) {
        char *slash = strrchr(mount, '/');
        if (slash && slash != mount)
            *slash = '\0';
    }
    return mount;
}

static int facts(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_stats_facts *out, cs_error *err)
{
    docker_backend *d = docker_of(b);
    docker_response resp;
    cs_json *j;
    memset(out, 0, sizeof *out);
    if (docker_get_json(d, ctx, cs_arena_printf(a, "/containers/%s/json", id), &resp, &j, err) != 0)
        return -1;
    out->pid = cs_json_get_bool(j, 0, "State.Running", false) ? (int)cs_json_get_int64(j, 0, "State.Pid", 0) : 0;
    out->writable = cs_json_get_str(j, 0, "GraphDriver.Data.UpperDir", a); /* NULL with other drivers */
    if (out->writable && *out->writable)
        out->writable_fs = overlay_fs(out->writable, a);
    size_t len;
    const char *raw = cs_json_raw(j, cs_json_get(j, 0, "State.StartedAt"), &len);
    if (!raw || cs_time_parse_rfc3339(raw, len, &out->started_ns) != 0)
        out->started_ns = 0;
    docker_json_release(&resp, j);
    return 0;
}

cs_stats *docker_stats_new(docker_backend *d)
{
    return cs_stats_new(&d->base, facts, NULL);
}

int docker_container_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                                 cs_container_stats ***out, size_t *n, cs_error *err)
{
    return cs_stats_container_list(docker_of(b)->stats, ctx, f, a, out, n, err);
}

int docker_container_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_container_stats **out,
                           cs_error *err)
{
    return cs_stats_container(docker_of(b)->stats, ctx, id, a, out, err);
}

int docker_sandbox_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                              cs_sandbox_stats ***out, size_t *n, cs_error *err)
{
    return cs_stats_sandbox_list(docker_of(b)->stats, ctx, f, a, out, n, err);
}

int docker_sandbox_metrics_list(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_sandbox_stats ***out, size_t *n,
                                cs_error *err)
{
    return cs_stats_sandbox_metrics_list(docker_of(b)->stats, ctx, a, out, n, err);
}

int docker_sandbox_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_sandbox_stats **out,
                         cs_error *err)
{
    return cs_stats_sandbox(docker_of(b)->stats, ctx, id, a, out, err);
}
