/* The Docker backend's vtable and constructor. */
#include "docker/docker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/stats.h"
#include "docker/internal.h"
#include "util/mem.h"
#include "util/time.h"

static void docker_destroy(cs_backend *b)
{
    docker_backend *d = docker_of(b);
    docker_events_stop(d);
    docker_logs_free(d->logs); /* before the client its threads use */
    cs_stats_free(d->stats);
    pthread_mutex_destroy(&d->refs_mu);
    docker_client_free(d->http);
    free(d->pause_image);
    free(d->pause_binary);
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
    .sandbox_run = docker_sandbox_run,
    .sandbox_stop = docker_sandbox_stop,
    .sandbox_remove = docker_sandbox_remove,
    .sandbox_status = docker_sandbox_status,
    .sandbox_netns = docker_sandbox_netns,
    .sandbox_list = docker_sandbox_list,
    .container_create = docker_container_create,
    .container_start = docker_container_start,
    .container_stop = docker_container_stop,
    .container_remove = docker_container_remove,
    .container_status = docker_container_status,
    .container_list = docker_container_list,
    .container_update = docker_container_update,
    .container_reopen_log = docker_container_reopen_log,
    .container_exec_sync = docker_exec_sync,
    .exec_open = docker_exec_open,
    .attach_open = docker_attach_open,
    .container_stats = docker_container_stats,
    .container_stats_list = docker_container_stats_list,
    .sandbox_stats = docker_sandbox_stats,
    .sandbox_stats_list = docker_sandbox_stats_list,
    .sandbox_metrics_list = docker_sandbox_metrics_list,
    .events = docker_events,
};

int docker_backend_new(const docker_options *opts, cs_backend **out, cs_error *err)
{
    docker_backend *d = cs_xcalloc(1, sizeof *d);
    d->base.ops = &docker_ops;
    if (docker_client_new(opts->host ? opts->host : "unix:///var/run/docker.sock", &d->http, err) != 0) {
        free(d);
        return -1;
    }
    d->pause_image = cs_xstrdup(opts->pause_image ? opts->pause_image : "localhost/crishim/pause:latest");
    d->pause_binary = cs_xstrdup(opts->pause_binary);
    d->stats = docker_stats_new(d);
    pthread_mutex_init(&d->refs_mu, NULL);
    d->logs = docker_logs_new(d); /* resumes the streams of existing containers */
    docker_events_start(d);
    *out = &d->base;
    return 0;
}

int docker_backend_probe(const char *host, int64_t timeout_ms, cs_arena *a, cs_engine_version *out, cs_error *err)
{
    docker_client *c;
    if (docker_client_new(host ? host : "unix:///var/run/docker.sock", &c, err) != 0)
        return -1;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + timeout_ms};
    int rc = docker_ping(c, &ctx, err);
    if (rc == 0) {
        /* The version only names the engine in the log: one that answers the
         * ping but not /version still counts as answering. */
        char api[16], engine[64];
        bool known = docker_client_negotiate(c, &ctx, api, sizeof api, NULL) == 0 &&
                     docker_client_engine_version_copy(c, engine, sizeof engine);
        out->engine = "docker";
        out->version = known ? cs_arena_strdup(a, engine) : "unknown";
        out->api_version = known ? cs_arena_strdup(a, api) : "unknown";
    }
    docker_client_free(c);
    return rc;
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

/* How long a removal someone else started may take before we give up. */
#define REMOVAL_WAIT_MS 60000

int docker_remove_container(docker_backend *d, const cs_ctx *ctx, const char *id, cs_error *err)
{
    cs_error local;
    if (!err)
        err = &local;
    char path[300];
    snprintf(path, sizeof path, "/containers/%s?force=1&v=1", id);
    docker_response resp;
    if (docker_request(d->http, ctx, "DELETE", path, NULL, 0, NULL, &resp, err) != 0)
        return -1;
    int rc = 0;
    bool in_progress = resp.status == 409 && resp.body && strstr(resp.body, "already in progress");
    if (resp.status >= 400 && resp.status != 404)
        rc = docker_error_from_response(&resp, err);
    docker_response_clear(&resp);
    if (!in_progress)
        return rc;
    /* The other removal's outcome is ours: done when the container is gone. */
    snprintf(path, sizeof path, "/containers/%s/json", id);
    cs_error saved = *err;
    int64_t until = cs_time_mono_ms() + REMOVAL_WAIT_MS;
    int64_t pause_ms = 10;
    while (!cs_ctx_done(ctx) && cs_time_mono_ms() < until) {
        if (docker_request(d->http, ctx, "GET", path, NULL, 0, NULL, &resp, err) != 0)
            return -1;
        long status = resp.status;
        docker_response_clear(&resp);
        if (status == 404)
            return 0;
        usleep((useconds_t)pause_ms * 1000);
        pause_ms = pause_ms >= 100 ? 200 : pause_ms * 2;
    }
    *err = saved;
    return cs_error_wrap(err, "waiting for the removal in progress");
}

int docker_call_idempotent(docker_backend *d, const cs_ctx *ctx, const char *method, const char *path, cs_error *err)
{
    docker_response resp;
    if (docker_request(d->http, ctx, method, path, NULL, 0, NULL, &resp, err) != 0)
        return -1;
    int rc = 0;
    if (resp.status >= 400 && resp.status != 404)
        rc = docker_error_from_response(&resp, err);
    docker_response_clear(&resp);
    return rc;
}
