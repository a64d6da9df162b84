/* Flags and the TOML config file for the daemon; see config.h.
 *
 * One table (options[]) describes every setting. A flag is "--" + name; its
 * TOML key is the name with '-' as '_'. Every value, from either source, goes
 * through the same setter, so the file and the command line accept exactly
 * the same things and say the same "want ..." when they don't. */
#include "config/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend/imageref.h"
#include "config/toml.h"
#include "rpc/listen.h"
#include "util/json.h"
#include "util/log.h"

#ifndef CRISHIM_VERSION
#define CRISHIM_VERSION "0.0.0"
#endif

#define CONFIG_MAX_FILE (1024 * 1024)

typedef enum opt_kind {
    OPT_STRING,  /* const char * */
    OPT_LIST,    /* const char *[CS_CONFIG_MAX_LISTEN] + size_t count after it; repeatable flag */
    OPT_BOOL,    /* bool; a flag without a value */
    OPT_ENUM,    /* int-sized enum, values named by names[] */
    OPT_SECONDS, /* int64_t milliseconds, given in seconds */
    OPT_INT,     /* int, a whole number between min and max */
} opt_kind;

typedef struct cs_option {
    const char *name;    /* "docker-host": flag --docker-host, key docker_host */
    opt_kind kind;
    size_t offset;       /* into cs_config */
    size_t count_offset; /* OPT_LIST: the count */
    const char *metavar;
    const char *help;    /* one line; "\n" starts another */
    /* OPT_STRING/OPT_LIST: extra validation; sets err to "want ..." */
    int (*check)(const char *v, cs_error *err);
    const char *const *names; /* OPT_ENUM, indexed by value, NULL-terminated */
    double min, max;          /* OPT_SECONDS, OPT_INT */
    const char *default_text; /* help and config default when the default is NULL */
} cs_option;

static int check_listen(const char *v, cs_error *err)
{
    cs_listen_addr la;
    if (cs_listen_parse(v, &la, err) != 0)
        return cs_error_set(err, CS_ERR_INVALID, "want unix:///path or tcp://host:port (%s)", err->msg);
    return 0;
}

static int check_docker_host(const char *v, cs_error *err)
{
    if (strncmp(v, "unix://", 7) && strncmp(v, "tcp://", 6) && strncmp(v, "http://", 7) && v[0] != '/')
        return cs_error_set(err, CS_ERR_INVALID, "want unix:///path or tcp://host:port");
    return 0;
}

static int check_nonempty(const char *v, cs_error *err)
{
    return *v ? 0 : cs_error_set(err, CS_ERR_INVALID, "want a non-empty value");
}

static int check_image(const char *v, cs_error *err)
{
    cs_imageref r;
    if (cs_imageref_parse(v, &r, err) != 0)
        return cs_error_set(err, CS_ERR_INVALID, "want an image reference (%s)", err->msg);
    return 0;
}

static int check_absolute(const char *v, cs_error *err)
{
    return v[0] == '/' ? 0 : cs_error_set(err, CS_ERR_INVALID, "want an absolute path");
}

static int check_hostport(const char *v, long min_port, cs_error *err)
{
    const char *colon = strrchr(v, ':');
    char *end = NULL;
    long port = colon && colon[1] ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == v || !colon[1] || *end || port < min_port || port > 65535)
        return cs_error_set(err, CS_ERR_INVALID, "want host:port%s", min_port == 0 ? " (port 0: any free port)" : "");
    return 0;
}

static int check_metrics_addr(const char *v, cs_error *err) { return check_hostport(v, 1, err); }
static int check_streaming_addr(const char *v, cs_error *err) { return check_hostport(v, 0, err); }

static const char *const backend_names[] = {"auto", "docker", "containerd", NULL};
static const char *const log_level_names[] = {"debug", "info", "warn", "error", NULL};
/* indexed by cs_cgroup_driver */
static const char *const cgroup_driver_names[] = {"cgroupfs", "systemd", NULL};

static int check_containerd_namespace(const char *v, cs_error *err)
{
    if (check_nonempty(v, err) != 0)
        return -1;
    if (!strcmp(v, "k8s.io"))
        return cs_error_set(err, CS_ERR_INVALID,
                            "want a namespace other than k8s.io, which containerd's own CRI plugin owns");
    return 0;
}

#define F(field) offsetof(cs_config, field)

/* Add a setting here (and its field in cs_config): flag, TOML key, --help
 * line and config default/dump follow. */
static const cs_option options[] = {
    {.name = "listen", .kind = OPT_LIST, .offset = F(listen), .count_offset = F(nlisten), .metavar = "ADDR",
     .help = "where to serve gRPC: unix:///path or tcp://host:port; repeat for several.\n"
             "Under systemd socket activation the inherited sockets are served too",
     .check = check_listen, .default_text = CS_DEFAULT_LISTEN},
    {.name = "backend", .kind = OPT_ENUM, .offset = F(backend), .metavar = "NAME",
     .help = "docker, containerd or auto: Docker if its socket answers, else containerd", .names = backend_names},
    {.name = "docker-host", .kind = OPT_STRING, .offset = F(docker_host), .metavar = "URL",
     .help = "Docker Engine API endpoint", .check = check_docker_host},
    {.name = "containerd-address", .kind = OPT_STRING, .offset = F(containerd_address), .metavar = "PATH",
     .help = "containerd socket", .check = check_nonempty},
    {.name = "containerd-namespace", .kind = OPT_STRING, .offset = F(containerd_namespace), .metavar = "NAME",
     .help = "crishim's containerd namespace (never k8s.io, which containerd's own CRI plugin owns)",
     .check = check_containerd_namespace},
    {.name = "cgroup-driver", .kind = OPT_ENUM, .offset = F(cgroup_driver), .metavar = "NAME",
     .help = "cgroupfs or systemd: how the containerd backend places containers' cgroups",
     .names = cgroup_driver_names},
    {.name = "pull-progress-timeout", .kind = OPT_SECONDS, .offset = F(pull_progress_timeout_ms), .metavar = "SECS",
     .help = "containerd backend: fail an image download that receives no byte for this long\n"
             "(a slow but moving download never fails)",
     .min = 0.1, .max = 86400},
    {.name = "max-concurrent-downloads", .kind = OPT_INT, .offset = F(max_concurrent_downloads), .metavar = "N",
     .help = "containerd backend: layer downloads at once over all pulls", .min = 1, .max = 64},
    {.name = "cni-conf-dir", .kind = OPT_STRING, .offset = F(cni_conf_dir), .metavar = "DIR",
     .help = "containerd backend: the first CNI network config here networks the pods", .check = check_absolute},
    {.name = "cni-bin-dir", .kind = OPT_STRING, .offset = F(cni_bin_dir), .metavar = "DIRS",
     .help = "containerd backend: where the CNI plugins are (colon-separated)", .check = check_nonempty},
    {.name = "state-dir", .kind = OPT_STRING, .offset = F(state_dir), .metavar = "DIR",
     .help = "containerd backend: the containers' stdio FIFOs and the pods' resolv.conf, hosts\n"
             "and hostname (re-created as needed; nothing here must survive a reboot)",
     .check = check_absolute},
    {.name = "pause-image", .kind = OPT_STRING, .offset = F(pause_image), .metavar = "REF",
     .help = "the sandbox image; when missing, imported from crishim's own pause program", .check = check_image,
     .default_text = "localhost/crishim/pause:" CRISHIM_VERSION},
    {.name = "pause-binary", .kind = OPT_STRING, .offset = F(pause_binary), .metavar = "PATH",
     .help = "that pause program", .check = check_absolute,
     .default_text = "crishim-pause beside crishim, or ../libexec/crishim/crishim-pause"},
    {.name = "metrics-addr", .kind = OPT_STRING, .offset = F(metrics_addr), .metavar = "HOST:PORT",
     .help = "serve Prometheus metrics at /metrics", .check = check_metrics_addr, .default_text = "off"},
    {.name = "streaming-addr", .kind = OPT_STRING, .offset = F(streaming_addr), .metavar = "HOST:PORT",
     .help = "the streaming server that Exec, Attach and PortForward URLs point at;\nport 0 picks a free one",
     .check = check_streaming_addr},
    {.name = "log-level", .kind = OPT_ENUM, .offset = F(log_level), .metavar = "LEVEL",
     .help = "debug, info, warn or error", .names = log_level_names},
    {.name = "shutdown-grace", .kind = OPT_SECONDS, .offset = F(shutdown_grace_ms), .metavar = "SECS",
     .help = "on SIGTERM, how long in-flight calls may take", .min = 0, .max = 3600},
    {.name = "socket-group", .kind = OPT_STRING, .offset = F(socket_group), .metavar = "GROUP",
     .help = "group (name or number) owning the unix sockets, which are mode 0660", .check = check_nonempty,
     .default_text = "the daemon's group"},
    {.name = "tls-cert", .kind = OPT_STRING, .offset = F(tls_cert), .metavar = "PATH",
     .help = "PEM server certificate (chain) for tcp:// listeners; reloaded when it changes",
     .check = check_nonempty, .default_text = "none"},
    {.name = "tls-key", .kind = OPT_STRING, .offset = F(tls_key), .metavar = "PATH",
     .help = "PEM private key of tls-cert", .check = check_nonempty, .default_text = "none"},
    {.name = "tls-client-ca", .kind = OPT_STRING, .offset = F(tls_client_ca), .metavar = "PATH",
     .help = "PEM CA bundle: tcp:// clients must present a certificate it signed (mTLS)",
     .check = check_nonempty, .default_text = "no client certificates"},
    {.name = "insecure-tcp", .kind = OPT_BOOL, .offset = F(insecure_tcp),
     .help = "allow tcp:// listeners without TLS (whoever reaches the port runs containers)"},
};

#define NOPTIONS (sizeof options / sizeof options[0])

void cs_config_defaults(cs_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->backend = CS_BACKEND_AUTO;
    cfg->docker_host = CS_DEFAULT_DOCKER_HOST;
    cfg->containerd_address = CS_DEFAULT_CONTAINERD_ADDRESS;
    cfg->containerd_namespace = CS_DEFAULT_CONTAINERD_NAMESPACE;
    cfg->log_level = CS_LOG_INFO;
    cfg->shutdown_grace_ms = 10000;
    cfg->pull_progress_timeout_ms = 60000;
    cfg->max_concurrent_downloads = 3;
    cfg->streaming_addr = "127.0.0.1:0";
    cfg->cni_conf_dir = "/etc/cni/net.d";
    cfg->cni_bin_dir = "/usr/lib/cni:/opt/cni/bin";
    cfg->state_dir = "/run/crishim";
    cfg->arena = cs_arena_new();
}

void cs_config_free(cs_config *cfg)
{
    if (!cfg)
        return;
    cs_arena_free(cfg->arena);
    cfg->arena = NULL;
}

const char *cs_backend_kind_name(cs_backend_kind k)
{
    return k == CS_BACKEND_DOCKER ? "docker" : k == CS_BACKEND_CONTAINERD ? "containerd" : "auto";
}

/* ---------- the option table ---------- */

static void *field(cs_config *cfg, const cs_option *o) { return (char *)cfg + o->offset; }
static const void *cfield(const cs_config *cfg, const cs_option *o) { return (const char *)cfg + o->offset; }

static void key_of(const cs_option *o, char *buf, size_t size)
{
    snprintf(buf, size, "%s", o->name);
    for (char *p = buf; *p; p++)
        if (*p == '-')
            *p = '_';
}

static const cs_option *option_by_key(const char *key)
{
    char k[64];
    for (size_t i = 0; i < NOPTIONS; i++) {
        key_of(&options[i], k, sizeof k);
        if (!strcmp(k, key))
            return &options[i];
    }
    return NULL;
}

static void names_list(const char *const *names, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i]; i++)
        n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", i == 0 ? "" : names[i + 1] ? ", " : " or ",
                              names[i]);
}

/* Sets one option from its text form. v must outlive cfg (argv, static or
 * cfg->arena). On error, err says "want ..." (the caller adds where). */
static int set_value(cs_config *cfg, const cs_option *o, const char *v, cs_error *err)
{
    switch (o->kind) {
    case OPT_STRING:
        if (o->check && o->check(v, err) != 0)
            return -1;
        *(const char **)field(cfg, o) = v;
        return 0;
    case OPT_LIST: {
        if (o->check && o->check(v, err) != 0)
            return -1;
        size_t *n = (size_t *)((char *)cfg + o->count_offset);
        if (*n == CS_CONFIG_MAX_LISTEN)
            return cs_error_set(err, CS_ERR_INVALID, "at most %d values", CS_CONFIG_MAX_LISTEN);
        ((const char **)field(cfg, o))[(*n)++] = v;
        return 0;
    }
    case OPT_BOOL:
        if (!strcmp(v, "true"))
            *(bool *)field(cfg, o) = true;
        else if (!strcmp(v, "false"))
            *(bool *)field(cfg, o) = false;
        else
            return cs_error_set(err, CS_ERR_INVALID, "want true or false");
        return 0;
    case OPT_ENUM:
        for (int i = 0; o->names[i]; i++) {
            if (!strcmp(o->names[i], v)) {
                *(int *)field(cfg, o) = i;
                return 0;
            }
        }
        char list[256];
        names_list(o->names, list, sizeof list);
        return cs_error_set(err, CS_ERR_INVALID, "want %s", list);
    case OPT_SECONDS: {
        char *end;
        errno = 0;
        double secs = strtod(v, &end);
        if (errno || end == v || *end || secs < o->min || secs > o->max)
            return cs_error_set(err, CS_ERR_INVALID, "want seconds between %g and %g", o->min, o->max);
        *(int64_t *)field(cfg, o) = (int64_t)(secs * 1000);
        return 0;
    }
    case OPT_INT: {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < (long long)o->min || n > (long long)o->max)
            return cs_error_set(err, CS_ERR_INVALID, "want a whole number between %g and %g", o->min, o->max);
        *(int *)field(cfg, o) = (int)n;
        return 0;
    }
    }
    return cs_error_set(err, CS_ERR_INTERNAL, "option kind");
}

static void clear_list(cs_config *cfg, const cs_option *o)
{
    *(size_t *)((char *)cfg + o->count_offset) = 0;
}

/* ---------- the file ---------- */

typedef struct load_state {
    cs_config *cfg;
    const char *name;
} load_state;

static int toml_key(void *user, const char *key, const cs_toml_value *v, int line, cs_error *err)
{
    load_state *ls = user;
    cs_config *cfg = ls->cfg;
    const cs_option *o = option_by_key(key);
    if (!o)
        return cs_error_set(err, CS_ERR_INVALID, "%s:%d: unknown key %s (crishim config default lists them)", ls->name,
                            line, key);
    cs_error e;
    cs_error_clear(&e);
    int rc = 0;
    const char *want = NULL;
    switch (o->kind) {
    case OPT_STRING:
    case OPT_ENUM:
        if (v->type != CS_TOML_STRING)
            want = "a string";
        else
            rc = set_value(cfg, o, cs_arena_strdup(cfg->arena, v->str), &e);
        break;
    case OPT_BOOL:
        if (v->type != CS_TOML_BOOL)
            want = "true or false";
        else
            rc = set_value(cfg, o, v->b ? "true" : "false", &e);
        break;
    case OPT_SECONDS:
        if (v->type == CS_TOML_INT)
            rc = set_value(cfg, o, cs_arena_printf(cfg->arena, "%lld", (long long)v->i), &e);
        else if (v->type == CS_TOML_FLOAT)
            rc = set_value(cfg, o, cs_arena_printf(cfg->arena, "%.17g", v->f), &e);
        else
            want = "a number of seconds";
        break;
    case OPT_INT:
        if (v->type == CS_TOML_INT)
            rc = set_value(cfg, o, cs_arena_printf(cfg->arena, "%lld", (long long)v->i), &e);
        else
            want = "an integer";
        break;
    case OPT_LIST:
        if (v->type == CS_TOML_STRING) {
            clear_list(cfg, o);
            rc = set_value(cfg, o, cs_arena_strdup(cfg->arena, v->str), &e);
            break;
        }
        if (v->type != CS_TOML_ARRAY) {
            want = "an array of strings";
            break;
        }
        clear_list(cfg, o);
        for (size_t i = 0; i < v->nitems && rc == 0; i++) {
            if (v->items[i].type != CS_TOML_STRING) {
                want = "an array of strings";
                break;
            }
            rc = set_value(cfg, o, cs_arena_strdup(cfg->arena, v->items[i].str), &e);
        }
        break;
    }
    if (want)
        return cs_error_set(err, CS_ERR_INVALID, "%s:%d: key %s: want %s, got %s%s%s", ls->name, line, key, want,
                            cs_toml_type_name(v->type), v->type == CS_TOML_ARRAY ? "" : " ",
                            v->type == CS_TOML_ARRAY ? "" : v->text);
    if (rc != 0)
        return cs_error_set(err, CS_ERR_INVALID, "%s:%d: key %s: %s", ls->name, line, key, e.msg);
    return 0;
}

int cs_config_load_toml(cs_config *cfg, const char *name, const char *text, size_t len, cs_error *err)
{
    load_state ls = {.cfg = cfg, .name = name};
    cs_error e;
    cs_error_clear(&e);
    if (cs_toml_parse(text, len, toml_key, &ls, &e) != 0) {
        /* Syntax errors come as "line N: ..."; ours already carry the name. */
        if (!strncmp(e.msg, "line ", 5))
            return cs_error_set(err, CS_ERR_INVALID, "%s:%s", name, e.msg + 5);
        *err = e;
        return -1;
    }
    return 0;
}

/* Reads path; *missing tells an absent file apart from an unreadable one. */
static char *read_file(const char *path, size_t *len, bool *missing, cs_error *err)
{
    *missing = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *missing = errno == ENOENT;
        cs_error_errno(err, CS_ERR_INVALID, errno, "config %s", path);
        return NULL;
    }
    char *buf = malloc(CONFIG_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, CONFIG_MAX_FILE + 1, f) : 0;
    bool bad = !buf || ferror(f);
    fclose(f);
    if (bad || n > CONFIG_MAX_FILE) {
        free(buf);
        cs_error_set(err, CS_ERR_INVALID, "config %s: %s", path, bad ? "cannot read it" : "larger than 1 MiB");
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cs_config_validate(const cs_config *cfg, cs_error *err)
{
    if (!cfg->tls_cert != !cfg->tls_key)
        return cs_error_set(err, CS_ERR_INVALID, "tls_cert and tls_key (--tls-cert, --tls-key) go together");
    if (cfg->tls_client_ca && !cfg->tls_cert)
        return cs_error_set(err, CS_ERR_INVALID, "tls_client_ca needs tls_cert and tls_key");
    for (size_t i = 0; i < cfg->nlisten; i++) {
        cs_listen_addr la;
        if (cs_listen_parse(cfg->listen[i], &la, err) != 0)
            return -1;
        if (!la.is_unix && !cfg->tls_cert && !cfg->insecure_tcp)
            return cs_error_set(err, CS_ERR_INVALID,
                                "listen %s: a tcp:// listener needs --tls-cert and --tls-key "
                                "(or --insecure-tcp to serve plaintext)",
                                cfg->listen[i]);
    }
    return 0;
}

/* ---------- the command line ---------- */

/* "--name=value" or "--name value"; *i advances past a separate value. */
static int match_flag(const char *arg, const cs_option *o, int argc, char **argv, int *i, const char **value,
                      cs_error *err)
{
    size_t n = strlen(o->name);
    *value = NULL;
    if (strncmp(arg, "--", 2) || strncmp(arg + 2, o->name, n) || (arg[2 + n] != '\0' && arg[2 + n] != '='))
        return 0;
    if (arg[2 + n] == '=') {
        *value = arg + 3 + n;
    } else if (o->kind == OPT_BOOL) {
        *value = "true";
    } else if (*i + 1 >= argc) {
        cs_error_set(err, CS_ERR_INVALID, "flag --%s needs a value", o->name);
        return -1;
    } else {
        *value = argv[++*i];
    }
    return 1;
}

void cs_config_usage(FILE *out)
{
    fprintf(out, "Usage: crishim [flags]                   run the daemon\n"
                 "       crishim config default            print a commented default config file\n"
                 "       crishim config dump [flags]       print the effective configuration\n"
                 "       crishim health [flags]            ask the daemon's grpc.health.v1 service; exit 0 when\n"
                 "                                         SERVING, 1 otherwise (for probes)\n"
                 "\n"
                 "A Kubernetes CRI v1 runtime (runtime.v1) over Docker or containerd.\n"
                 "\n"
                 "Flags (each is also a key of the TOML config file, '-' written '_'; flags win):\n"
                 "  --config PATH            the config file (default " CS_DEFAULT_CONFIG ", absent is fine)\n");
    cs_config d;
    cs_config_defaults(&d);
    for (size_t i = 0; i < NOPTIONS; i++) {
        const cs_option *o = &options[i];
        char head[64];
        snprintf(head, sizeof head, "--%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        if (strlen(head) > 24)
            fprintf(out, "  %s\n%27s", head, "");
        else
            fprintf(out, "  %-24s ", head);
        size_t col = 0; /* length of the help's last line so far */
        for (const char *p = o->help; *p; p++) {
            fputc(*p, out);
            col++;
            if (*p == '\n') {
                fprintf(out, "%27s", "");
                col = 0;
            }
        }
        const char *def = o->default_text;
        char buf[64];
        if (o->kind == OPT_STRING && *(const char *const *)cfield(&d, o))
            def = *(const char *const *)cfield(&d, o);
        else if (o->kind == OPT_ENUM)
            def = o->names[*(const int *)cfield(&d, o)];
        else if (o->kind == OPT_SECONDS)
            def = (snprintf(buf, sizeof buf, "%g", (double)*(const int64_t *)cfield(&d, o) / 1000), buf);
        else if (o->kind == OPT_INT)
            def = (snprintf(buf, sizeof buf, "%d", *(const int *)cfield(&d, o)), buf);
        if (def)
            fprintf(out, col + strlen(def) > 60 ? "\n%27s(default %s)" : "%.0s (default %s)", "", def);
        fputc('\n', out);
    }
    fprintf(out, "  --version                print the version and exit\n"
                 "  --help                   print this help and exit\n");
    cs_config_free(&d);
}

/* crishim [config default|config dump|health] ... */
static int parse_command(cs_config *cfg, int argc, char **argv, int *first, cs_error *err)
{
    *first = 1;
    if (argc < 2 || argv[1][0] == '-')
        return 0;
    if (!strcmp(argv[1], "health")) {
        cfg->command = CS_CMD_HEALTH;
        *first = 2;
        return 0;
    }
    if (!strcmp(argv[1], "config")) {
        if (argc >= 3 && !strcmp(argv[2], "default"))
            cfg->command = CS_CMD_CONFIG_DEFAULT;
        else if (argc >= 3 && !strcmp(argv[2], "dump"))
            cfg->command = CS_CMD_CONFIG_DUMP;
        else
            return cs_error_set(err, CS_ERR_INVALID, "crishim config: want default or dump");
        *first = 3;
        return 0;
    }
    return cs_error_set(err, CS_ERR_INVALID, "unexpected argument %s (see --help)", argv[1]);
}

/* The --config flag, found before the file is read so flags can win. */
static int find_config_flag(int argc, char **argv, int first, const char **path, cs_error *err)
{
    *path = NULL;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc)
                return cs_error_set(err, CS_ERR_INVALID, "flag --config needs a value");
            *path = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            *path = argv[i] + 9;
        }
    }
    if (*path && !**path)
        return cs_error_set(err, CS_ERR_INVALID, "--config: empty path");
    return 0;
}

static int load_config_file(cs_config *cfg, const char *explicit_path, cs_error *err)
{
    const char *path = explicit_path ? explicit_path : CS_DEFAULT_CONFIG;
    size_t len;
    bool missing;
    char *text = read_file(path, &len, &missing, err);
    if (!text) {
        if (missing && !explicit_path) {
            cs_error_clear(err);
            return 0; /* no file at the default place: flags and defaults only */
        }
        return -1;
    }
    cfg->config_path = cs_arena_strdup(cfg->arena, path);
    int rc = cs_config_load_toml(cfg, path, text, len, err);
    free(text);
    return rc;
}

cs_config_result cs_config_parse(cs_config *cfg, int argc, char **argv, FILE *out, cs_error *err)
{
    int first;
    const char *config_path;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cs_config_usage(out);
            return CS_CONFIG_EXIT;
        }
        if (!strcmp(argv[i], "--version")) {
            fprintf(out, "crishim %s\n", CRISHIM_VERSION);
            return CS_CONFIG_EXIT;
        }
    }
    if (parse_command(cfg, argc, argv, &first, err) != 0)
        return CS_CONFIG_ERROR;
    if (cfg->command == CS_CMD_CONFIG_DEFAULT) {
        if (first < argc) {
            cs_error_set(err, CS_ERR_INVALID, "crishim config default takes no flags");
            return CS_CONFIG_ERROR;
        }
        cs_config_write_toml(cfg, true, out);
        return CS_CONFIG_EXIT;
    }
    if (find_config_flag(argc, argv, first, &config_path, err) != 0 || load_config_file(cfg, config_path, err) != 0)
        return CS_CONFIG_ERROR;

    bool list_from_flags[NOPTIONS] = {false};
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--config")) {
            i++;
            continue;
        }
        if (!strncmp(arg, "--config=", 9))
            continue;
        int matched = 0;
        for (size_t k = 0; k < NOPTIONS && !matched; k++) {
            const cs_option *o = &options[k];
            const char *v;
            cs_error_clear(err);
            matched = match_flag(arg, o, argc, argv, &i, &v, err);
            if (matched < 0)
                return CS_CONFIG_ERROR;
            if (!matched)
                continue;
            /* A repeatable flag replaces the file's list rather than adding to it. */
            if (o->kind == OPT_LIST && !list_from_flags[k]) {
                clear_list(cfg, o);
                list_from_flags[k] = true;
            }
            cs_error e;
            cs_error_clear(&e);
            if (set_value(cfg, o, v, &e) != 0) {
                cs_error_set(err, CS_ERR_INVALID, "--%s %s: %s", o->name, v, e.msg);
                return CS_CONFIG_ERROR;
            }
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
    if (cs_config_validate(cfg, err) != 0)
        return CS_CONFIG_ERROR;
    if (cfg->command == CS_CMD_CONFIG_DUMP) {
        cs_config_write_toml(cfg, false, out);
        return CS_CONFIG_EXIT;
    }
    return CS_CONFIG_RUN;
}

/* ---------- writing it back ---------- */

static void toml_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void cs_config_write_toml(const cs_config *cfg, bool commented, FILE *out)
{
    if (commented)
        fprintf(out, "# crishim %s configuration (TOML). Every key is also a flag: key_name is\n"
                     "# --key-name, and a flag given on the command line wins over the file.\n"
                     "# Lines starting with '#' are comments; a commented-out key keeps its default.\n",
                CRISHIM_VERSION);
    else
        fprintf(out, "# crishim %s: the effective configuration (%s)\n", CRISHIM_VERSION,
                cfg->config_path ? cfg->config_path : "no config file");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const cs_option *o = &options[i];
        char key[64];
        key_of(o, key, sizeof key);
        if (commented) {
            fprintf(out, "\n# ");
            for (const char *p = o->help; *p; p++) {
                if (*p == '\n')
                    fprintf(out, "\n# ");
                else
                    fputc(*p, out);
            }
            fputc('\n', out);
        }
        switch (o->kind) {
        case OPT_STRING: {
            const char *v = *(const char *const *)cfield(cfg, o);
            if (!v) {
                fprintf(out, "# %s = \"\"    (unset: %s)\n", key, o->default_text ? o->default_text : "none");
                break;
            }
            fprintf(out, "%s = ", key);
            toml_string(out, v);
            fputc('\n', out);
            break;
        }
        case OPT_LIST: {
            const char *const *v = cfield(cfg, o);
            size_t n = *(const size_t *)((const char *)cfg + o->count_offset);
            fprintf(out, "%s = [", key);
            if (n == 0 && o->default_text)
                toml_string(out, o->default_text);
            for (size_t k = 0; k < n; k++) {
                if (k)
                    fprintf(out, ", ");
                toml_string(out, v[k]);
            }
            fprintf(out, "]\n");
            break;
        }
        case OPT_BOOL:
            fprintf(out, "%s = %s\n", key, *(const bool *)cfield(cfg, o) ? "true" : "false");
            break;
        case OPT_ENUM:
            fprintf(out, "%s = ", key);
            toml_string(out, o->names[*(const int *)cfield(cfg, o)]);
            fputc('\n', out);
            break;
        case OPT_INT:
            fprintf(out, "%s = %d\n", key, *(const int *)cfield(cfg, o));
            break;
        case OPT_SECONDS: {
            int64_t ms = *(const int64_t *)cfield(cfg, o);
            if (ms % 1000 == 0)
                fprintf(out, "%s = %lld\n", key, (long long)(ms / 1000));
            else
                fprintf(out, "%s = %.3f\n", key, (double)ms / 1000);
            break;
        }
        }
    }
}

char *cs_config_to_json(const cs_config *cfg)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "version", CRISHIM_VERSION);
    cs_jw_kv_str(&w, "configFile", cfg->config_path);
    cs_jw_key(&w, "listen");
    cs_jw_arr_begin(&w);
    for (size_t i = 0; i < cfg->nlisten; i++)
        cs_jw_string(&w, cfg->listen[i]);
    cs_jw_arr_end(&w);
    cs_jw_kv_str(&w, "backend", cs_backend_kind_name(cfg->backend));
    cs_jw_kv_str(&w, "dockerHost", cfg->docker_host);
    cs_jw_kv_str(&w, "containerdAddress", cfg->containerd_address);
    cs_jw_kv_str(&w, "containerdNamespace", cfg->containerd_namespace);
    cs_jw_kv_str(&w, "cgroupDriver", cgroup_driver_names[cfg->cgroup_driver == 1]);
    cs_jw_kv_str(&w, "cniConfDir", cfg->cni_conf_dir);
    cs_jw_kv_str(&w, "cniBinDir", cfg->cni_bin_dir);
    cs_jw_kv_str(&w, "stateDir", cfg->state_dir);
    cs_jw_kv_str(&w, "pauseImage", cfg->pause_image);
    cs_jw_kv_str(&w, "pauseBinary", cfg->pause_binary);
    cs_jw_kv_str(&w, "metricsAddr", cfg->metrics_addr);
    cs_jw_kv_str(&w, "streamingAddr", cfg->streaming_addr);
    cs_jw_kv_int(&w, "shutdownGraceMs", cfg->shutdown_grace_ms);
    cs_jw_kv_int(&w, "pullProgressTimeoutMs", cfg->pull_progress_timeout_ms);
    cs_jw_kv_int(&w, "maxConcurrentDownloads", cfg->max_concurrent_downloads);
    cs_jw_kv_str(&w, "socketGroup", cfg->socket_group);
    cs_jw_kv_bool(&w, "tls", cfg->tls_cert != NULL);
    cs_jw_kv_bool(&w, "mtls", cfg->tls_client_ca != NULL);
    cs_jw_kv_bool(&w, "insecureTcp", cfg->insecure_tcp);
    cs_jw_obj_end(&w);
    return cs_jw_take(&w, NULL);
}
