/* Command-line parsing for the daemon; see config.h. */
#include "config/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/imageref.h"
#include "rpc/listen.h"
#include "util/json.h"
#include "util/log.h"

#ifndef CRISHIM_VERSION
#define CRISHIM_VERSION "0.0.0"
#endif

void cs_config_defaults(cs_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->backend = CS_BACKEND_AUTO;
    cfg->docker_host = CS_DEFAULT_DOCKER_HOST;
    cfg->containerd_address = CS_DEFAULT_CONTAINERD_ADDRESS;
    cfg->containerd_namespace = CS_DEFAULT_CONTAINERD_NAMESPACE;
    cfg->log_level = CS_LOG_INFO;
    cfg->shutdown_grace_ms = 10000;
    cfg->streaming_addr = "127.0.0.1:0";
}

void cs_config_usage(FILE *out)
{
    fprintf(out,
            "Usage: crishim [flags]\n"
            "\n"
            "A Kubernetes CRI v1 runtime (runtime.v1) over Docker or containerd.\n"
            "\n"
            "Flags:\n"
            "  --listen ADDR            where to serve gRPC: unix:///path or tcp://host:port;\n"
            "                           repeat for several (default " CS_DEFAULT_LISTEN ")\n"
            "  --backend NAME           docker, containerd or auto: Docker if its socket answers,\n"
            "                           else containerd (default auto)\n"
            "  --docker-host URL        Docker Engine API endpoint (default " CS_DEFAULT_DOCKER_HOST ")\n"
            "  --containerd-address P   containerd socket (default " CS_DEFAULT_CONTAINERD_ADDRESS ")\n"
            "  --containerd-namespace N crishim's containerd namespace (default " CS_DEFAULT_CONTAINERD_NAMESPACE
            "; never k8s.io,\n"
            "                           which containerd's own CRI plugin owns)\n"
            "  --cgroup-driver NAME     cgroupfs or systemd: how crishim's containerd backend creates\n"
            "                           cgroups (default cgroupfs)\n"
            "  --pause-image REF        the sandbox image (default localhost/crishim/pause:" CRISHIM_VERSION ",\n"
            "                           imported from crishim's own pause program when missing)\n"
            "  --pause-binary PATH      that pause program (default: crishim-pause beside crishim,\n"
            "                           or ../libexec/crishim/crishim-pause)\n"
            "  --metrics-addr HOST:PORT serve Prometheus metrics at /metrics (default: off)\n"
            "  --streaming-addr H:PORT  the streaming server that Exec, Attach and PortForward URLs\n"
            "                           point at; port 0 picks a free one (default 127.0.0.1:0)\n"
            "  --log-level LEVEL        debug, info, warn or error (default info)\n"
            "  --shutdown-grace SECS    on SIGTERM, how long in-flight calls may take (default 10)\n"
            "  --version                print the version and exit\n"
            "  --help                   print this help and exit\n");
}

const char *cs_backend_kind_name(cs_backend_kind k)
{
    switch (k) {
    case CS_BACKEND_DOCKER:
        return "docker";
    case CS_BACKEND_CONTAINERD:
        return "containerd";
    case CS_BACKEND_AUTO:
        break;
    }
    return "auto";
}

/* "--name=value" or "--name value"; *i advances past a separate value. */
static const char *flag_value(const char *arg, const char *name, int argc, char **argv, int *i, bool *matched,
                              cs_error *err)
{
    size_t n = strlen(name);
    *matched = false;
    if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '='))
        return NULL;
    *matched = true;
    if (arg[n] == '=')
        return arg + n + 1;
    if (*i + 1 >= argc) {
        cs_error_set(err, CS_ERR_INVALID, "flag %s needs a value", name);
        return NULL;
    }
    return argv[++*i];
}

static int set_option(cs_config *cfg, const char *name, const char *v, cs_error *err)
{
    if (!strcmp(name, "--listen")) {
        cs_listen_addr la;
        if (cs_listen_parse(v, &la, err) != 0)
            return cs_error_wrap(err, "--listen");
        if (cfg->nlisten == CS_CONFIG_MAX_LISTEN)
            return cs_error_set(err, CS_ERR_INVALID, "--listen: at most %d addresses", CS_CONFIG_MAX_LISTEN);
        cfg->listen[cfg->nlisten++] = v;
    } else if (!strcmp(name, "--backend")) {
        if (!strcmp(v, "docker"))
            cfg->backend = CS_BACKEND_DOCKER;
        else if (!strcmp(v, "containerd"))
            cfg->backend = CS_BACKEND_CONTAINERD;
        else if (!strcmp(v, "auto"))
            cfg->backend = CS_BACKEND_AUTO;
        else
            return cs_error_set(err, CS_ERR_INVALID, "--backend %s: want docker, containerd or auto", v);
    } else if (!strcmp(name, "--docker-host")) {
        if (strncmp(v, "unix://", 7) && strncmp(v, "tcp://", 6) && strncmp(v, "http://", 7) && v[0] != '/')
            return cs_error_set(err, CS_ERR_INVALID, "--docker-host %s: want unix:///path or tcp://host:port", v);
        cfg->docker_host = v;
    } else if (!strcmp(name, "--containerd-address")) {
        if (!*v)
            return cs_error_set(err, CS_ERR_INVALID, "--containerd-address: empty");
        cfg->containerd_address = v;
    } else if (!strcmp(name, "--containerd-namespace")) {
        if (!*v)
            return cs_error_set(err, CS_ERR_INVALID, "--containerd-namespace: empty");
        if (!strcmp(v, "k8s.io"))
            return cs_error_set(err, CS_ERR_INVALID,
                                "--containerd-namespace k8s.io: that namespace belongs to containerd's own CRI plugin");
        cfg->containerd_namespace = v;
    } else if (!strcmp(name, "--cgroup-driver")) {
        if (!strcmp(v, "systemd"))
            cfg->cgroup_systemd = true;
        else if (!strcmp(v, "cgroupfs"))
            cfg->cgroup_systemd = false;
        else
            return cs_error_set(err, CS_ERR_INVALID, "--cgroup-driver %s: want cgroupfs or systemd", v);
    } else if (!strcmp(name, "--pause-image")) {
        cs_imageref r;
        if (cs_imageref_parse(v, &r, err) != 0)
            return cs_error_wrap(err, "--pause-image");
        cfg->pause_image = v;
    } else if (!strcmp(name, "--pause-binary")) {
        if (v[0] != '/')
            return cs_error_set(err, CS_ERR_INVALID, "--pause-binary %s: want an absolute path", v);
        cfg->pause_binary = v;
    } else if (!strcmp(name, "--metrics-addr")) {
        const char *colon = strrchr(v, ':');
        if (!colon || !colon[1] || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535)
            return cs_error_set(err, CS_ERR_INVALID, "--metrics-addr %s: want host:port", v);
        cfg->metrics_addr = v;
    } else if (!strcmp(name, "--streaming-addr")) {
        const char *colon = strrchr(v, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == v || !colon[1] || *end || port < 0 || port > 65535)
            return cs_error_set(err, CS_ERR_INVALID, "--streaming-addr %s: want host:port (port 0: any free port)", v);
        cfg->streaming_addr = v;
    } else if (!strcmp(name, "--log-level")) {
        int l = cs_log_parse_level(v);
        if (l < 0)
            return cs_error_set(err, CS_ERR_INVALID, "--log-level %s: want debug, info, warn or error", v);
        cfg->log_level = l;
    } else if (!strcmp(name, "--shutdown-grace")) {
        char *end;
        errno = 0;
        double secs = strtod(v, &end);
        if (errno || end == v || *end || secs < 0 || secs > 3600)
            return cs_error_set(err, CS_ERR_INVALID, "--shutdown-grace %s: want seconds between 0 and 3600", v);
        cfg->shutdown_grace_ms = (int64_t)(secs * 1000);
    }
    return 0;
}

static const char *const value_flags[] = {
    "--listen", "--backend", "--docker-host", "--containerd-address", "--containerd-namespace", "--cgroup-driver",
    "--pause-image", "--pause-binary", "--metrics-addr", "--streaming-addr", "--log-level", "--shutdown-grace", NULL,
};

cs_config_result cs_config_parse(cs_config *cfg, int argc, char **argv, FILE *out, cs_error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            cs_config_usage(out);
            return CS_CONFIG_EXIT;
        }
        if (!strcmp(arg, "--version")) {
            fprintf(out, "crishim %s\n", CRISHIM_VERSION);
            return CS_CONFIG_EXIT;
        }
        bool matched = false;
        for (size_t f = 0; value_flags[f] && !matched; f++) {
            cs_error_clear(err);
            const char *v = flag_value(arg, value_flags[f], argc, argv, &i, &matched, err);
            if (matched && !v)
                return CS_CONFIG_ERROR;
            if (matched && set_option(cfg, value_flags[f], v, err) != 0)
                return CS_CONFIG_ERROR;
        }
        if (!matched) {
            if (arg[0] == '-')
                cs_error_set(err, CS_ERR_INVALID, "unknown flag %s (see --help)", arg);
            else
                cs_error_set(err, CS_ERR_INVALID, "unexpected argument %s (see --help)", arg);
            return CS_CONFIG_ERROR;
        }
    }
    if (cfg->nlisten == 0)
        cfg->listen[cfg->nlisten++] = CS_DEFAULT_LISTEN;
    return CS_CONFIG_RUN;
}

char *cs_config_to_json(const cs_config *cfg)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "version", CRISHIM_VERSION);
    cs_jw_key(&w, "listen");
    cs_jw_arr_begin(&w);
    for (size_t i = 0; i < cfg->nlisten; i++)
        cs_jw_string(&w, cfg->listen[i]);
    cs_jw_arr_end(&w);
    cs_jw_kv_str(&w, "backend", cs_backend_kind_name(cfg->backend));
    cs_jw_kv_str(&w, "dockerHost", cfg->docker_host);
    cs_jw_kv_str(&w, "containerdAddress", cfg->containerd_address);
    cs_jw_kv_str(&w, "containerdNamespace", cfg->containerd_namespace);
    cs_jw_kv_str(&w, "cgroupDriver", cfg->cgroup_systemd ? "systemd" : "cgroupfs");
    cs_jw_kv_str(&w, "pauseImage", cfg->pause_image);
    cs_jw_kv_str(&w, "pauseBinary", cfg->pause_binary);
    cs_jw_kv_str(&w, "metricsAddr", cfg->metrics_addr);
    cs_jw_kv_str(&w, "streamingAddr", cfg->streaming_addr);
    cs_jw_kv_int(&w, "shutdownGraceMs", cfg->shutdown_grace_ms);
    cs_jw_obj_end(&w);
    return cs_jw_take(&w, NULL);
}
