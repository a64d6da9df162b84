/* System operations of the Docker backend: version, info, readiness. */
#include <string.h>

#include "docker/internal.h"
#include "util/log.h"

/* The version comes with the API negotiation, which the client caches until
 * the engine is lost (then the next call negotiates, and so refreshes it): a
 * Version RPC costs no engine call while the engine stays up. */
int docker_version(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_version *out, cs_error *err)
{
    docker_backend *d = docker_of(b);
    char api[16], engine[64];
    if (docker_client_negotiate(d->http, ctx, api, sizeof api, err) != 0)
        return -1;
    if (docker_client_engine_version_copy(d->http, engine, sizeof engine)) {
        out->engine = "docker";
        out->version = cs_arena_strdup(a, engine);
        out->api_version = cs_arena_strdup(a, api);
        return 0;
    }
    /* lost again since the negotiation: ask */
    docker_response resp = {0};
    cs_json *j;
    if (docker_get_json(d, ctx, "/version", &resp, &j, err) != 0)
        return -1;
    out->engine = "docker";
    out->version = cs_json_get_str(j, 0, "Version", a);
    if (!out->version)
        out->version = "unknown";
    out->api_version = cs_arena_strdup(a, api);
    docker_json_release(&resp, j);
    return 0;
}

int docker_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_info *out, cs_error *err)
{
    docker_backend *d = docker_of(b);
    memset(out, 0, sizeof *out);
    if (docker_version(b, ctx, a, &out->version, err) != 0)
        return -1;
    docker_response resp = {0};
    cs_json *j;
    if (docker_get_json(d, ctx, "/info", &resp, &j, err) != 0)
        return -1;
    char *driver = cs_json_get_str(j, 0, "CgroupDriver", a);
    out->cgroup_driver = driver && !strcmp(driver, "systemd") ? CS_CGROUP_SYSTEMD : CS_CGROUP_CGROUPFS;
    char *cgv = cs_json_get_str(j, 0, "CgroupVersion", a);
    out->cgroup_version = cgv ? (cgv[0] == '2' ? 2 : 1) : 0;
    out->storage_driver = cs_json_get_str(j, 0, "Driver", a);
    out->root_dir = cs_json_get_str(j, 0, "DockerRootDir", a);
    out->endpoint = cs_arena_strdup(a, docker_client_endpoint(d->http));
    docker_json_release(&resp, j);
    return 0;
}

/* Docker's default bridge network is what pods attach to; without it (or with
 * the engine down) the network is not ready. */
static void network_status(docker_backend *d, const cs_ctx *ctx, cs_arena *a, cs_engine_status *out)
{
    docker_response resp = {0};
    cs_error err;
    if (docker_request(d->http, ctx, "GET", "/networks/bridge", NULL, 0, NULL, &resp, &err) != 0) {
        out->network_reason = "NetworkNotReady";
        out->network_message = cs_arena_strdup(a, err.msg);
        return;
    }
    if (resp.status == 200) {
        out->network_ready = true;
    } else {
        out->network_reason = "NetworkNotReady";
        out->network_message = cs_arena_printf(a, "docker has no bridge network (HTTP %ld)", resp.status);
    }
    docker_response_clear(&resp);
}

void docker_status(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_status *out)
{
    docker_backend *d = docker_of(b);
    memset(out, 0, sizeof *out);
    cs_error err;
    if (docker_ping(d->http, ctx, &err) != 0) {
        out->runtime_reason = "DockerDaemonNotReady";
        out->runtime_message = cs_arena_strdup(a, err.msg);
        out->network_reason = "DockerDaemonNotReady";
        out->network_message = "the docker engine does not answer";
        return;
    }
    out->runtime_ready = true;
    network_status(d, ctx, a, out);
}
