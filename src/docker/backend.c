/* The Docker backend's vtable and constructor. */
#include "docker/docker.h"

#include <stdlib.h>

#include "docker/internal.h"
#include "util/mem.h"
#include "util/time.h"

static void docker_destroy(cs_backend *b)
{
    docker_backend *d = docker_of(b);
    docker_client_free(d->http);
    free(d);
}

static const cs_backend_ops docker_ops = {
    .name = "docker",
    .destroy = docker_destroy,
    .version = docker_version,
    .info = docker_info,
    .status = docker_status,
    .image_list = docker_image_list,
    .image_status = docker_image_status,
    .image_pull = docker_image_pull,
    .image_remove = docker_image_remove,
    .image_fs_info = docker_image_fs_info,
};

int docker_backend_new(const char *host, cs_backend **out, cs_error *err)
{
    docker_backend *d = cs_xcalloc(1, sizeof *d);
    d->base.ops = &docker_ops;
    if (docker_client_new(host ? host : "unix:///var/run/docker.sock", &d->http, err) != 0) {
        free(d);
        return -1;
    }
    *out = &d->base;
    return 0;
}

bool docker_backend_probe(const char *host, int64_t timeout_ms)
{
    docker_client *c;
    if (docker_client_new(host ? host : "unix:///var/run/docker.sock", &c, NULL) != 0)
        return false;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + timeout_ms};
    bool ok = docker_ping(c, &ctx, NULL) == 0;
    docker_client_free(c);
    return ok;
}

int docker_get_json(docker_backend *d, const cs_ctx *ctx, const char *path, docker_response *resp, cs_json **json,
                    cs_error *err)
{
    *json = NULL;
    if (docker_request_ok(d->http, ctx, "GET", path, NULL, 0, NULL, resp, err) != 0)
        return -1;
    if (cs_json_parse(resp->body, resp->body_len, json, err) != 0) {
        docker_response_clear(resp);
        return cs_error_wrap(err, "docker GET %s", path);
    }
    return 0;
}

void docker_json_release(docker_response *resp, cs_json *json)
{
    cs_json_free(json);
    docker_response_clear(resp);
}
