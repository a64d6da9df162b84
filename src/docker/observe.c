/* Engine-call observation for metrics: what the Docker client reports to the
 * engine-neutral observer (backend/observe.h), with the bounded operation
 * names and result classes of Docker requests; see http.h. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "backend/observe.h"
#include "docker/http.h"

void docker_observe(const char *method, const char *path, cs_code failure, long status, int64_t duration_ns)
{
    if (!cs_engine_observed())
        return;
    char op[128];
    docker_op_name(method, path, op, sizeof op);
    cs_engine_observe(op, docker_result_class(failure, status), duration_ns);
}

void docker_streams_add(int delta)
{
    cs_engine_streams_add(delta);
}

const char *docker_result_class(cs_code failure, long status)
{
    switch (failure) {
    case CS_OK:
        break;
    case CS_ERR_DEADLINE:
        return "deadline";
    case CS_ERR_CANCELLED:
        return "cancelled";
    case CS_ERR_UNAVAILABLE:
        return "unavailable";
    default:
        return "error";
    }
    if (status == 404)
        return "not_found";
    if (status == 409)
        return "conflict";
    if (status >= 500)
        return "server_error";
    if (status >= 400)
        return "client_error";
    return "ok";
}

/* ---- operation names ---- */

/* Resources whose second segment is an object id or name. */
static const char *const resources[] = {"containers", "exec",    "images",  "networks", "volumes", "plugins",
                                        "distribution", "secrets", "configs", "services", "nodes",   "tasks",
                                        "swarm",   "system",  "build",   "session",  "auth",    "info",
                                        "version", "_ping",   "events"};
/* Collection-level actions (/containers/json, /images/create, …). */
static const char *const collection_actions[] = {"json", "create", "prune", "load", "search", "get", "df", "inspect"};
/* Actions on one object (/containers/{id}/start, /images/{name}/json, …). */
static const char *const object_actions[] = {
    "json",   "start",   "stop",    "kill",   "wait",    "logs",   "attach", "exec",    "update", "stats",
    "resize", "top",     "archive", "restart", "pause",  "unpause", "rename", "export", "changes", "history",
    "push",   "tag",     "get",     "connect", "disconnect", "upgrade", "enable", "disable", "set", "remove"};

static bool in(const char *seg, size_t len, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(set[i]) == len && !strncmp(seg, set[i], len))
            return true;
    return false;
}

#define IN(seg, len, set) in(seg, len, set, sizeof set / sizeof set[0])

size_t docker_op_name(const char *method, const char *path, char *out, size_t size)
{
    size_t plen = strcspn(path, "?");
    /* segments, at most the first; the rest is judged from the end */
    const char *p = path;
    while (*p == '/' && p < path + plen)
        p++;
    const char *s1 = p;
    size_t l1 = strcspn(s1, "/?");
    if (l1 > (size_t)(path + plen - s1))
        l1 = (size_t)(path + plen - s1);
    if (!l1 || !IN(s1, l1, resources))
        return (size_t)snprintf(out, size, "%s /other", method);
    const char *rest = s1 + l1; /* "" or "/…" */
    size_t rlen = (size_t)(path + plen - rest);
    if (rlen <= 1)
        return (size_t)snprintf(out, size, "%s /%.*s", method, (int)l1, s1);
    rest++;
    rlen--;
    /* the last segment: an action when known (image names hold slashes, so
     * everything between the resource and the action is the object) */
    const char *last = rest + rlen;
    while (last > rest && last[-1] != '/')
        last--;
    size_t llen = (size_t)(rest + rlen - last);
    bool has_object = last > rest;
    const char *placeholder = !strncmp(s1, "images", l1) || !strncmp(s1, "distribution", l1) ? "{name}" : "{id}";
    if (!has_object) { /* one segment after the resource */
        if (IN(last, llen, collection_actions))
            return (size_t)snprintf(out, size, "%s /%.*s/%.*s", method, (int)l1, s1, (int)llen, last);
        return (size_t)snprintf(out, size, "%s /%.*s/%s", method, (int)l1, s1, placeholder);
    }
    if (IN(last, llen, object_actions))
        return (size_t)snprintf(out, size, "%s /%.*s/%s/%.*s", method, (int)l1, s1, placeholder, (int)llen, last);
    /* an image name with slashes and no action: DELETE /images/a/b:c */
    if (!strncmp(s1, "images", l1) || !strncmp(s1, "distribution", l1))
        return (size_t)snprintf(out, size, "%s /%.*s/%s", method, (int)l1, s1, placeholder);
    return (size_t)snprintf(out, size, "%s /%.*s/%s/other", method, (int)l1, s1, placeholder);
}
