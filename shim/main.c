/* crishim: the daemon. Flags → config, backend choice, the gRPC server, and
 * signals. All logic lives in the library under src/. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "containerd/client.h"
#include "containerd/containerd.h"
#include "cri/cri.h"
#include "docker/docker.h"
#include "docker/http.h"
#include "metrics/metrics.h"
#include "rpc/server.h"
#include "stream/server.h"
#include "util/log.h"

/* Which engine to talk to. auto: Docker when its socket answers; otherwise
 * containerd when its socket answers; otherwise Docker anyway, so crishim
 * serves (RuntimeReady false) and recovers when the engine comes up. */
static int make_backend(const cs_config *cfg, cs_backend **out, cs_error *err)
{
    cs_backend_kind kind = cfg->backend;
    if (kind == CS_BACKEND_AUTO) {
        if (docker_backend_probe(cfg->docker_host, 1000)) {
            kind = CS_BACKEND_DOCKER;
        } else if (containerd_backend_probe(cfg->containerd_address, 1000)) {
            cs_info("docker does not answer; using containerd", "docker_host", cfg->docker_host,
                    "containerd_address", cfg->containerd_address, NULL);
            kind = CS_BACKEND_CONTAINERD;
        } else {
            cs_warn("neither docker nor containerd answers; using docker until it does", "docker_host",
                    cfg->docker_host, "containerd_address", cfg->containerd_address, NULL);
            kind = CS_BACKEND_DOCKER;
        }
    }
    if (kind == CS_BACKEND_CONTAINERD) {
        containerd_options copts = {
            .address = cfg->containerd_address,
            .ns = cfg->containerd_namespace,
            .cgroup_driver = cfg->cgroup_systemd ? CS_CGROUP_SYSTEMD : CS_CGROUP_CGROUPFS,
            .pause_image = cfg->pause_image,
            .pause_binary = cfg->pause_binary,
        };
        return containerd_backend_new(&copts, out, err);
    }
    docker_options opts = {
        .host = cfg->docker_host,
        .pause_image = cfg->pause_image,
        .pause_binary = cfg->pause_binary,
    };
    return docker_backend_new(&opts, out, err);
}

/* crishim-pause is installed beside crishim (build tree) or in
 * ../libexec/crishim (installed tree). */
static char *find_pause_binary(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    const char *candidates[] = {"%s/crishim-pause", "%s/../libexec/crishim/crishim-pause"};
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, candidates[i], self);
        if (access(path, X_OK) == 0)
            return realpath(path, NULL);
    }
    return NULL;
}

static size_t stream_sessions(void *streaming)
{
    return (size_t)strm_server_sessions(streaming);
}

static int wait_for_stop_signal(const sigset_t *set)
{
    for (;;) {
        int sig;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
    }
}

int main(int argc, char **argv)
{
    cs_config cfg;
    cs_error err;
    cs_error_clear(&err);
    cs_config_defaults(&cfg);
    switch (cs_config_parse(&cfg, argc, argv, stdout, &err)) {
    case CS_CONFIG_EXIT:
        return 0;
    case CS_CONFIG_ERROR:
        fprintf(stderr, "crishim: %s\n", err.msg);
        return 2;
    case CS_CONFIG_RUN:
        break;
    }
    cs_log_set_level(cfg.log_level);
    char *found_pause = cfg.pause_binary ? NULL : find_pause_binary();
    if (!cfg.pause_binary)
        cfg.pause_binary = found_pause;
    if (!cfg.pause_image)
        cfg.pause_image = "localhost/crishim/pause:" CRISHIM_VERSION;

    /* Signals go to the main thread's sigwait only: block them before any
     * thread exists so every thread inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (docker_http_global_init(&err) != 0) {
        cs_err("cannot initialise the HTTP client", "error", err.msg, NULL);
        return 1;
    }
    cs_backend *backend;
    if (make_backend(&cfg, &backend, &err) != 0) {
        cs_err("cannot set up the backend", "error", err.msg, NULL);
        return 1;
    }
    char *config_json = cs_config_to_json(&cfg);
    cri_runtime *rt = cri_runtime_new(backend, CRISHIM_VERSION, config_json);

    cs_server_config scfg = {
        .listen = cfg.listen,
        .nlisten = cfg.nlisten,
        .handlers = cri_handlers,
        .app = rt,
    };
    cs_server *server = NULL;
    cs_metrics *metrics = NULL;
    strm_server *streaming = NULL;
    int status = 1;
    strm_server_config stcfg = {.addr = cfg.streaming_addr, .backend = backend};
    if (strm_server_new(&stcfg, &streaming, &err) != 0) {
        cs_err("cannot start the streaming server", "error", err.msg, NULL);
        goto out;
    }
    rt->streaming = streaming;
    cs_info("serving streams", "url", strm_server_base_url(streaming), NULL);
    if (cs_server_new(&scfg, &server, &err) != 0) {
        cs_err("cannot set up the gRPC server", "error", err.msg, NULL);
        goto out;
    }
    if (cfg.metrics_addr) {
        metrics = cs_metrics_new();
        cs_metrics_set_inflight_source(metrics, (size_t (*)(void *))cs_server_inflight, server);
        cs_metrics_set_sessions_source(metrics, stream_sessions, streaming);
        cs_server_set_observer(server, cs_metrics_observe, metrics);
        cs_metrics_set_engine_streams_source(metrics, docker_http_streams_open);
        docker_http_set_observer(cs_metrics_observe_engine, metrics);
        ctrd_client_set_observer(cs_metrics_observe_engine, metrics);
        if (cs_metrics_serve(metrics, cfg.metrics_addr, &err) != 0) {
            cs_err("cannot serve metrics", "error", err.msg, NULL);
            goto out;
        }
        cs_info("serving metrics", "addr", cfg.metrics_addr, NULL);
    }
    if (cs_server_start(server, &err) != 0) {
        cs_err("cannot start the gRPC server", "error", err.msg, NULL);
        goto out;
    }
    cs_info("crishim started", "version", CRISHIM_VERSION, "backend", cs_backend_name(backend), NULL);

    int sig = wait_for_stop_signal(&stop);
    cs_info("stopping", "signal", strsignal(sig), NULL);
    cs_server_shutdown(server, cfg.shutdown_grace_ms);
    status = 0;
out:
    /* No more scrapes (they read the servers), then the servers; the
     * metrics themselves go last: the backend's own threads (events, logs)
     * observe engine calls until cri_runtime_free stops them. */
    cs_metrics_stop(metrics);
    cs_server_free(server);
    strm_server_free(streaming);
    cri_runtime_free(rt);
    docker_http_set_observer(NULL, NULL);
    ctrd_client_set_observer(NULL, NULL);
    cs_metrics_free(metrics);
    free(config_json);
    free(found_pause);
    docker_http_global_cleanup();
    if (status == 0)
        cs_info("stopped", NULL);
    return status;
}
