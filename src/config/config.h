/* The daemon's configuration: command-line flags and the TOML config file,
 * both driven by one option table (config.c), so a new setting is one table
 * entry and gets its flag (--name-with-dashes), its TOML key
 * (name_with_underscores), its --help line and its place in
 * `crishim config default`/`dump` for free. Flags override the file.
 * Parsing lives in the library (not shim/) so it is unit-tested. */
#ifndef CS_CONFIG_H
#define CS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/arena.h"
#include "util/error.h"

#define CS_CONFIG_MAX_LISTEN 8
#define CS_DEFAULT_CONFIG "/etc/crishim/config.toml"
#define CS_DEFAULT_LISTEN "unix:///run/crishim/crishim.sock"
#define CS_DEFAULT_DOCKER_HOST "unix:///var/run/docker.sock"
#define CS_DEFAULT_CONTAINERD_ADDRESS "/run/containerd/containerd.sock"
#define CS_DEFAULT_CONTAINERD_NAMESPACE "crishim"

typedef enum cs_backend_kind {
    CS_BACKEND_AUTO = 0,
    CS_BACKEND_DOCKER,
    CS_BACKEND_CONTAINERD,
} cs_backend_kind;

/* What the command line asks for. */
typedef enum cs_command {
    CS_CMD_RUN = 0,         /* crishim [flags]: the daemon */
    CS_CMD_CONFIG_DEFAULT,  /* crishim config default: the commented default file */
    CS_CMD_CONFIG_DUMP,     /* crishim config dump [flags]: the effective configuration */
    CS_CMD_HEALTH,          /* crishim health [flags]: grpc.health.v1 Check, exit 0/1 */
} cs_command;

/* Strings are borrowed from argv, static, or owned by `arena` (values read
 * from the file); free with cs_config_free. */
typedef struct cs_config {
    cs_command command;
    const char *config_path;     /* the file read; NULL: none was there */
    const char *listen[CS_CONFIG_MAX_LISTEN];
    size_t nlisten;
    cs_backend_kind backend;
    const char *docker_host;
    const char *containerd_address;
    const char *containerd_namespace; /* never k8s.io (containerd's own CRI plugin owns it) */
    int cgroup_driver;                /* cs_cgroup_driver: cgroupfs (0) or systemd (1) */
    int64_t pull_progress_timeout_ms; /* containerd: a download with no byte this long fails */
    int max_concurrent_downloads;     /* containerd: blob downloads at once */
    const char *cni_conf_dir;    /* containerd: CNI network configs */
    const char *cni_bin_dir;     /* containerd: CNI plugin search path (colon-separated) */
    const char *state_dir;       /* containerd: FIFOs and the pods' files (resolv.conf, hosts) */
    const char *pause_image;     /* NULL: localhost/crishim/pause:<version> */
    const char *pause_binary;    /* NULL: crishim-pause next to the daemon */
    const char *metrics_addr;    /* "host:port"; NULL: no metrics endpoint */
    const char *streaming_addr;  /* "host:port" of the streaming server */
    int log_level;               /* cs_log_level */
    int64_t shutdown_grace_ms;
    const char *socket_group;    /* group of the unix sockets; NULL: the daemon's */
    const char *tls_cert;        /* PEM server certificate chain for tcp:// */
    const char *tls_key;         /* PEM private key for tls_cert */
    const char *tls_client_ca;   /* PEM CA bundle: clients must present a cert it signed */
    bool insecure_tcp;           /* allow plaintext tcp:// listeners */
    cs_arena *arena;
} cs_config;

typedef enum cs_config_result {
    CS_CONFIG_RUN = 0,   /* go on with cfg->command */
    CS_CONFIG_EXIT = 1,  /* --help / --version / config default printed: exit 0 */
    CS_CONFIG_ERROR = 2, /* bad usage or file: err says why, exit 2 */
} cs_config_result;

void cs_config_defaults(cs_config *cfg);
void cs_config_free(cs_config *cfg);
/* Parses argv (argv[0] skipped): the subcommand, then --config PATH (default
 * CS_DEFAULT_CONFIG; absent is fine unless named explicitly), then the file,
 * then the flags over it. `out` receives --help/--version/config default. */
cs_config_result cs_config_parse(cs_config *cfg, int argc, char **argv, FILE *out, cs_error *err);
/* Applies a TOML document to cfg (what --config does); `name` prefixes
 * messages ("config.toml:3: key backend: ..."). */
int cs_config_load_toml(cs_config *cfg, const char *name, const char *text, size_t len, cs_error *err);
/* Checks that hold across keys (a tcp:// listener needs TLS or insecure_tcp). */
int cs_config_validate(const cs_config *cfg, cs_error *err);

const char *cs_backend_kind_name(cs_backend_kind k);
/* The configuration as JSON (malloc'd), for verbose Status. */
char *cs_config_to_json(const cs_config *cfg);
/* The configuration as a TOML file that loads back to the same values;
 * `commented` adds each key's help (crishim config default). */
void cs_config_write_toml(const cs_config *cfg, bool commented, FILE *out);
void cs_config_usage(FILE *out);

#endif
