/* crishim: the daemon. Flags and config file → config, backend choice, the
 * gRPC server (its own sockets and systemd's), systemd notifications, and
 * signals; plus the `crishim health` probe. All logic lives in the library
 * under src/. */
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "backend/observe.h"
#include "containerd/containerd.h"
#include "cri/cri.h"
#include "docker/docker.h"
#include "docker/http.h"
#include "grpc/health/v1/health.pb-c.h"
#include "metrics/metrics.h"
#include "rpc/client.h"
#include "rpc/listen.h"
#include "rpc/server.h"
#include "rpc/tls.h"
#include "stream/server.h"
#include "systemd/systemd.h"
#include "util/log.h"
#include "util/time.h"

/* How make_backend chose, for the log and verbose Status. */
typedef struct backend_choice {
    const char *selected; /* what was asked: "docker", "containerd" or "auto" */
    char reason[2 * CS_ERROR_MSG_MAX + 512];
} backend_choice;

/* --backend auto: Docker when its socket answers; otherwise containerd when
 * its socket answers; otherwise Docker anyway, so crishim serves
 * (RuntimeReady false) and recovers when Docker comes up. The choice is made
 * once: a containerd that comes up later needs a restart to be chosen. */
static cs_backend_kind choose_backend(const cs_config *cfg, backend_choice *why)
{
    cs_arena *a = cs_arena_new();
    cs_engine_version v;
    cs_error derr, cerr;
    cs_error_clear(&derr);
    cs_error_clear(&cerr);
    cs_backend_kind kind;
    /* The probes' errors name the socket ("docker at /x: cannot connect: ..."). */
    if (docker_backend_probe(cfg->docker_host, 1000, a, &v, &derr) == 0) {
        snprintf(why->reason, sizeof why->reason, "the Docker socket %s answered version %s", cfg->docker_host,
                 v.version);
        kind = CS_BACKEND_DOCKER;
        cs_info("backend auto: chose docker", "reason", why->reason, NULL);
    } else if (containerd_backend_probe(cfg->containerd_address, 1000, a, &v, &cerr) == 0) {
        snprintf(why->reason, sizeof why->reason,
                 "the Docker socket did not answer (%s); containerd at %s answered version %s", derr.msg,
                 cfg->containerd_address, v.version);
        kind = CS_BACKEND_CONTAINERD;
        cs_info("backend auto: chose containerd", "reason", why->reason, NULL);
    } else {
        snprintf(why->reason, sizeof why->reason,
                 "neither engine answered: the Docker socket (%s); the containerd socket (%s); using docker until "
                 "it answers (restart crishim to choose again)",
                 derr.msg, cerr.msg);
        kind = CS_BACKEND_DOCKER;
        /* Still serving: kubelet sees RuntimeReady false with Docker's error. */
        cs_err("backend auto: no engine answers", "reason", why->reason, NULL);
    }
    cs_arena_free(a);
    return kind;
}

/* Which engine to talk to: the one --backend names, or auto's choice. */
static int make_backend(const cs_config *cfg, cs_backend **out, backend_choice *why, cs_error *err)
{
    cs_backend_kind kind = cfg->backend;
    why->selected = cs_backend_kind_name(kind);
    if (kind == CS_BACKEND_AUTO) {
        kind = choose_backend(cfg, why);
    } else {
        snprintf(why->reason, sizeof why->reason, "backend %s was asked for (--backend or the config file)",
                 why->selected);
        cs_info("backend chosen", "backend", why->selected, "reason", why->reason, NULL);
    }
    if (kind == CS_BACKEND_CONTAINERD) {
        containerd_options copts = {
            .address = cfg->containerd_address,
            .ns = cfg->containerd_namespace,
            .cgroup_driver = (cs_cgroup_driver)cfg->cgroup_driver,
            .pause_image = cfg->pause_image,
            .pause_binary = cfg->pause_binary,
            .cni_conf_dir = cfg->cni_conf_dir,
            .cni_bin_dir = cfg->cni_bin_dir,
            .state_dir = cfg->state_dir,
            .progress_timeout_ms = (long)cfg->pull_progress_timeout_ms,
            .max_concurrent_downloads = cfg->max_concurrent_downloads,
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

/* crishim health: Check on the first unix listener (else the first tcp://
 * one, plaintext only); prints the status; 0 when SERVING. */
static int run_health(const cs_config *cfg)
{
    const char *target = NULL;
    for (size_t i = 0; i < cfg->nlisten && !target; i++) {
        cs_listen_addr la;
        cs_error e;
        if (cs_listen_parse(cfg->listen[i], &la, &e) == 0 && la.is_unix)
            target = cfg->listen[i];
    }
    if (!target && cfg->nlisten && cfg->insecure_tcp)
        target = cfg->listen[0];
    if (!target) {
        fprintf(stderr, "crishim health: no unix:// (or --insecure-tcp tcp://) listener to ask\n");
        return 1;
    }
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cs_error err;
    cs_error_clear(&err);
    if (cs_rpc_unary(target, "/grpc.health.v1.Health/Check", &req.base,
                     &grpc__health__v1__health_check_response__descriptor, &resp, 5000, &err) != 0) {
        fprintf(stderr, "crishim health: %s: %s\n", target, err.msg);
        return 1;
    }
    int status = ((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
    protobuf_c_message_free_unpacked(resp, NULL);
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&grpc__health__v1__health_check_response__serving_status__descriptor,
                                             status);
    printf("%s\n", v ? v->name : "UNKNOWN");
    return status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING ? 0 : 1;
}

/* The engine's state in words, for systemd's STATUS= line. */
static void engine_state(cs_backend *b, char *buf, size_t size)
{
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 2000};
    cs_arena *a = cs_arena_new();
    cs_engine_version ev;
    cs_error err;
    cs_error_clear(&err);
    if (b->ops->version && b->ops->version(b, &ctx, a, &ev, &err) == 0)
        snprintf(buf, size, "engine %s %s answering", ev.engine, ev.version);
    else
        snprintf(buf, size, "engine %s not answering (retried on every call): %.200s", cs_backend_name(b), err.msg);
    cs_arena_free(a);
}

/* WATCHDOG=1 every half of WatchdogSec= until stopped. */
typedef struct watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, running;
    uint64_t usec;
} watchdog;

static void *watchdog_main(void *arg)
{
    watchdog *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        pthread_mutex_unlock(&w->mu);
        cs_sd_notify("WATCHDOG=1", NULL);
        pthread_mutex_lock(&w->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (w->usec / 2) * 1000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void watchdog_start(watchdog *w)
{
    memset(w, 0, sizeof *w);
    w->usec = cs_sd_watchdog_usec();
    if (!w->usec)
        return;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->running = pthread_create(&w->thread, NULL, watchdog_main, w) == 0;
}

static void watchdog_stop(watchdog *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    w->running = false;
}

/* Which --listen addresses crishim binds itself: all but the unix sockets
 * systemd already passed, and not the default address when it passed any
 * (the socket unit then says where crishim listens). */
static size_t own_listeners(const cs_config *cfg, const cs_sd_fd *fds, size_t nfds, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->nlisten; i++) {
        cs_listen_addr la;
        cs_error e;
        bool inherited = nfds > 0 && !strcmp(cfg->listen[i], CS_DEFAULT_LISTEN);
        if (cs_listen_parse(cfg->listen[i], &la, &e) == 0 && la.is_unix)
            for (size_t k = 0; k < nfds; k++)
                inherited = inherited || !strcmp(fds[k].path, la.path);
        if (!inherited)
            out[n++] = cfg->listen[i];
    }
    return n;
}

int main(int argc, char **argv)
{
    cs_config cfg;
    cs_error err;
    cs_error_clear(&err);
    cs_config_defaults(&cfg);
    switch (cs_config_parse(&cfg, argc, argv, stdout, &err)) {
    case CS_CONFIG_EXIT:
        cs_config_free(&cfg);
        return 0;
    case CS_CONFIG_ERROR:
        fprintf(stderr, "crishim: %s\n", err.msg);
        cs_config_free(&cfg);
        return 2;
    case CS_CONFIG_RUN:
        break;
    }
    if (cfg.command == CS_CMD_HEALTH) {
        int rc = run_health(&cfg);
        cs_config_free(&cfg);
        return rc;
    }
    cs_log_set_level(cfg.log_level);
    if (cfg.config_path)
        cs_info("read config", "file", cfg.config_path, NULL);

    cs_sd_fd sdfds[CS_SD_MAX_FDS];
    int nsd = cs_sd_listen_fds(sdfds, CS_SD_MAX_FDS, &err);
    if (nsd < 0) {
        cs_err("cannot take the sockets systemd passed", "error", err.msg, NULL);
        cs_config_free(&cfg);
        return 1;
    }
    int inherited[CS_SD_MAX_FDS];
    for (int i = 0; i < nsd; i++) {
        inherited[i] = sdfds[i].fd;
        char fd[16];
        snprintf(fd, sizeof fd, "%d", sdfds[i].fd);
        cs_info("listening on an inherited socket", "fd", fd, "name", sdfds[i].name, "path", sdfds[i].path, NULL);
    }
    const char *own[CS_CONFIG_MAX_LISTEN];
    size_t nown = own_listeners(&cfg, sdfds, (size_t)nsd, own);
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
    /* glibc gives each thread that allocates under contention an arena of its
     * own (up to 8 per core) and rarely returns their memory: a burst of
     * calls on many workers would leave RSS at a multiple of idle. Two arenas
     * keep contention low for a daemon of short calls; the worker pool trims
     * after bursts. */
    mallopt(M_ARENA_MAX, 2);

    if (docker_http_global_init(&err) != 0) {
        cs_err("cannot initialise the HTTP client", "error", err.msg, NULL);
        return 1;
    }
    cs_backend *backend;
    backend_choice choice;
    if (make_backend(&cfg, &backend, &choice, &err) != 0) {
        cs_err("cannot set up the backend", "error", err.msg, NULL);
        return 1;
    }
    char *config_json = cs_config_to_json(&cfg);
    cri_runtime *rt = cri_runtime_new(backend, CRISHIM_VERSION, config_json);
    rt->backend_selected = choice.selected;
    rt->backend_reason = choice.reason;

    cs_tls_files tls = {.cert = cfg.tls_cert, .key = cfg.tls_key, .client_ca = cfg.tls_client_ca};
    cs_server_config scfg = {
        .listen = own,
        .nlisten = nown,
        .handlers = cri_handlers,
        .app = rt,
        .inherited_fds = inherited,
        .ninherited = (size_t)nsd,
        .tls = cfg.tls_cert ? &tls : NULL,
        .insecure_tcp = cfg.insecure_tcp,
        .socket_group = cfg.socket_group,
    };
    watchdog wd = {0};
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
        cs_metrics_set_engine_streams_source(metrics, cs_engine_streams_open);
        cs_engine_set_observer(cs_metrics_observe_engine, metrics);
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
    /* Serving now; an engine that is down is retried on every call, so
     * crishim is ready either way and STATUS= says which. */
    char state[512];
    engine_state(backend, state, sizeof state);
    if (cs_sd_notifyf(&err, "READY=1\nSTATUS=serving CRI on %zu socket(s); %s", nown + (size_t)nsd, state) < 0)
        cs_warn("cannot notify systemd", "error", err.msg, NULL);
    watchdog_start(&wd);

    int sig = wait_for_stop_signal(&stop);
    cs_info("stopping", "signal", strsignal(sig), NULL);
    watchdog_stop(&wd); /* systemd watches the stop with TimeoutStopSec=, not pings */
    cs_sd_notifyf(NULL, "STOPPING=1\nSTATUS=stopping (%s): in-flight calls get %lld ms", strsignal(sig),
                  (long long)cfg.shutdown_grace_ms);
    cs_server_shutdown(server, cfg.shutdown_grace_ms);
    status = 0;
out:
    watchdog_stop(&wd);
    /* No more scrapes (they read the servers), then the servers; the
     * metrics themselves go last: the backend's own threads (events, logs)
     * observe engine calls until cri_runtime_free stops them. */
    cs_metrics_stop(metrics);
    cs_server_free(server);
    strm_server_free(streaming);
    cri_runtime_free(rt);
    cs_engine_set_observer(NULL, NULL);
    cs_metrics_free(metrics);
    free(config_json);
    free(found_pause);
    docker_http_global_cleanup();
    cs_config_free(&cfg);
    if (status == 0)
        cs_info("stopped", NULL);
    return status;
}
