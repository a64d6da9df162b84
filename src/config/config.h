/* The daemon's configuration and its command line. Parsing lives in the
 * library (not shim/) so it is unit-tested. */
#ifndef CS_CONFIG_H
#define CS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/error.h"

#define CS_CONFIG_MAX_LISTEN 8
#define CS_DEFAULT_LISTEN "unix:///run/crishim/crishim.sock"
#define CS_DEFAULT_DOCKER_HOST "unix:///var/run/docker.sock"
#define CS_DEFAULT_CONTAINERD_ADDRESS "/run/containerd/containerd.sock"
#define CS_DEFAULT_CONTAINERD_NAMESPACE "crishim"

typedef enum cs_backend_kind {
    CS_BACKEND_AUTO = 0,
    CS_BACKEND_DOCKER,
    CS_BACKEND_CONTAINERD,
} cs_backend_kind;

typedef struct cs_config {
    const char *listen[CS_CONFIG_MAX_LISTEN]; /* borrowed from argv or static */
    size_t nlisten;
    cs_backend_kind backend;
    const char *docker_host;
    const char *containerd_address;
    const char *containerd_namespace; /* never k8s.io (containerd's own CRI plugin owns it) */
    bool cgroup_systemd;              /* --cgroup-driver systemd; cgroupfs by default */
    const char *pause_image;  /* NULL: localhost/crishim/pause:<version> */
    const char *pause_binary; /* NULL: crishim-pause next to the daemon */
    const char *metrics_addr; /* "host:port"; NULL: no metrics endpoint */
    const char *streaming_addr; /* "host:port" of the streaming server */
    int log_level;           /* cs_log_level */
    int64_t shutdown_grace_ms;
} cs_config;

typedef enum cs_config_result {
    CS_CONFIG_RUN = 0,   /* start the daemon */
    CS_CONFIG_EXIT = 1,  /* --help / --version printed: exit 0 */
    CS_CONFIG_ERROR = 2, /* bad usage: err says why, exit 2 */
} cs_config_result;

void cs_config_defaults(cs_config *cfg);
/* Parses argv (argv[0] skipped). `out` receives --help/--version text. */
cs_config_result cs_config_parse(cs_config *cfg, int argc, char **argv, FILE *out, cs_error *err);
const char *cs_backend_kind_name(cs_backend_kind k);
/* The configuration as JSON (malloc'd), for verbose Status. */
char *cs_config_to_json(const cs_config *cfg);
void cs_config_usage(FILE *out);

#endif
