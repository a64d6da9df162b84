/* CNI plugin invocation (see cni.h). Config loading follows libcni (first
 * file in lexical order; a .conf is a one-plugin list); stdin building
 * follows libcni's buildOneConfig (name, cniVersion, prevResult and the
 * declared capabilities' runtimeConfig injected); plugins run with
 * posix_spawn, no shell, their stdin a socket (so a plugin that exits early
 * is EPIPE, never SIGPIPE) and a deadline. */
#include "containerd/cni.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/mem.h"

extern char **environ;

#define CNI_CONF_MAX (1u << 20)
#define CNI_OUT_MAX (1u << 20)
#define CNI_ERR_MAX 4096
#define NSFS_MAGIC 0x6e736673 /* linux/magic.h: what a mounted netns file reports */

/* One network list: its text, parse and plugin objects. */
typedef struct cni_list {
    char *text;
    size_t len;
    cs_json *j;
    const char *name, *version;
    int *plugins; /* object tokens */
    const char **types;
    size_t n;
} cni_list;

struct ctrd_cni {
    cs_arena *a;
    char *bin_dir;
    char *file; /* NULL: not ready */
    cni_list net, lo;
};

static const char LOOPBACK_CONF[] =
    "{\"cniVersion\":\"1.0.0\",\"name\":\"cni-loopback\",\"plugins\":[{\"type\":\"loopback\"}]}";

/* ---- loading ---- */

static void list_free(cni_list *l)
{
    cs_json_free(l->j);
    free(l->text);
    memset(l, 0, sizeof *l);
}

/* Takes ownership of text. is_list: a .conflist; otherwise the root object is
 * the only plugin and names the network itself. */
static int list_parse(cs_arena *a, const char *file, char *text, size_t len, bool is_list, cni_list *l,
                      cs_error *err)
{
    memset(l, 0, sizeof *l);
    l->text = text;
    l->len = len;
    if (cs_json_parse(text, len, &l->j, err) != 0) {
        err->code = CS_ERR_CONFLICT;
        return cs_error_wrap(err, "cni config %s", file);
    }
    if (cs_json_type_of(l->j, 0) != CS_JSON_OBJECT)
        return cs_error_set(err, CS_ERR_CONFLICT, "cni config %s: not a JSON object", file);
    l->name = cs_json_get_str(l->j, 0, "name", a);
    l->version = cs_json_get_str(l->j, 0, "cniVersion", a);
    if (!l->name || !*l->name)
        return cs_error_set(err, CS_ERR_CONFLICT, "cni config %s: no network name", file);
    if (!l->version)
        l->version = "0.1.0"; /* libcni's default for configs without one */
    int arr = is_list ? cs_json_key(l->j, 0, "plugins") : -1;
    if (is_list && (cs_json_type_of(l->j, arr) != CS_JSON_ARRAY || cs_json_count(l->j, arr) == 0))
        return cs_error_set(err, CS_ERR_CONFLICT, "cni config %s: no plugins", file);
    l->n = is_list ? (size_t)cs_json_count(l->j, arr) : 1;
    l->plugins = cs_arena_array(a, l->n, sizeof *l->plugins);
    l->types = cs_arena_array(a, l->n, sizeof *l->types);
    for (size_t i = 0; i < l->n; i++) {
        int p = is_list ? cs_json_at(l->j, arr, (int)i) : 0;
        const char *type = cs_json_get_str(l->j, p, "type", a);
        if (cs_json_type_of(l->j, p) != CS_JSON_OBJECT || !type || !*type || strchr(type, '/'))
            return cs_error_set(err, CS_ERR_CONFLICT, "cni config %s: plugin %zu has no valid type", file, i);
        l->plugins[i] = p;
        l->types[i] = type;
    }
    return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The first config file name in lexical order, or NULL (arena copy). */
static int first_conf(const char *dir, cs_arena *a, char **name, cs_error *err)
{
    *name = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return cs_error_errno(err, CS_ERR_CONFLICT, errno, "cni config directory %s", dir);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' ||
            !(has_suffix(e->d_name, ".conflist") || has_suffix(e->d_name, ".conf") || has_suffix(e->d_name, ".json")))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            names = cs_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = cs_arena_strdup(a, e->d_name); /* the next readdir may reuse d_name */
    }
    if (n > 0) {
        qsort(names, n, sizeof *names, cmp_str);
        *name = names[0];
    }
    free(names);
    closedir(d);
    return 0;
}

int ctrd_cni_load(const char *conf_dir, const char *bin_dir, ctrd_cni **out, cs_error *err)
{
    *out = NULL;
    ctrd_cni *c = cs_xcalloc(1, sizeof *c);
    c->a = cs_arena_new();
    c->bin_dir = cs_arena_strdup(c->a, bin_dir ? bin_dir : CTRD_CNI_BIN_DIR);
    const char *dir = conf_dir ? conf_dir : CTRD_CNI_CONF_DIR;
    char *lo = cs_xstrdup(LOOPBACK_CONF);
    if (list_parse(c->a, "loopback", lo, strlen(lo), true, &c->lo, err) != 0)
        goto fail;
    char *name;
    if (first_conf(dir, c->a, &name, err) != 0)
        goto fail;
    if (name) {
        char *file = cs_arena_printf(c->a, "%s/%s", dir, name);
        char *text;
        size_t len;
        if (cs_read_file(file, CNI_CONF_MAX, &text, &len, err) != 0) {
            err->code = CS_ERR_CONFLICT;
            cs_error_wrap(err, "cni config %s", file);
            goto fail;
        }
        if (list_parse(c->a, file, text, len, has_suffix(name, ".conflist"), &c->net, err) != 0)
            goto fail;
        c->file = file;
    }
    *out = c;
    return 0;
fail:
    ctrd_cni_free(c);
    return -1;
}

void ctrd_cni_free(ctrd_cni *c)
{
    if (!c)
        return;
    list_free(&c->net);
    list_free(&c->lo);
    cs_arena_free(c->a);
    free(c);
}

bool ctrd_cni_ready(const ctrd_cni *c)
{
    return c && c->file;
}

const char *ctrd_cni_conf_file(const ctrd_cni *c)
{
    return ctrd_cni_ready(c) ? c->file : NULL;
}

const char *ctrd_cni_net_name(const ctrd_cni *c)
{
    return ctrd_cni_ready(c) ? c->net.name : NULL;
}

size_t ctrd_cni_plugin_count(const ctrd_cni *c)
{
    return ctrd_cni_ready(c) ? c->net.n : 0;
}

const char *ctrd_cni_plugin_type(const ctrd_cni *c, size_t i)
{
    return i < ctrd_cni_plugin_count(c) ? c->net.types[i] : NULL;
}

/* ---- stdin and environment ---- */

/* A value copied from the parsed config (strings re-escaped by the writer). */
static void copy_value(cs_jw *w, const cs_json *j, int tok, cs_arena *a)
{
    size_t n;
    const char *raw = cs_json_raw(j, tok, &n);
    if (cs_json_type_of(j, tok) == CS_JSON_STRING)
        cs_jw_string(w, cs_json_str(j, tok, a));
    else
        cs_jw_raw(w, raw, n);
}

static void str_array(cs_jw *w, const char *key, const char *const *v, size_t n)
{
    cs_jw_key(w, key);
    cs_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        cs_jw_string(w, v[i]);
    cs_jw_arr_end(w);
}

/* The runtime's value for capability cap, if it has one. */
static bool write_capability(cs_jw *w, const char *cap, const ctrd_cni_pod *pod)
{
    if (strcmp(cap, "portMappings") == 0 && pod->n_ports > 0) {
        cs_jw_key(w, cap);
        cs_jw_arr_begin(w);
        for (size_t i = 0; i < pod->n_ports; i++) {
            const ctrd_cni_port *p = &pod->ports[i];
            cs_jw_obj_begin(w);
            cs_jw_kv_int(w, "hostPort", p->host_port);
            cs_jw_kv_int(w, "containerPort", p->container_port);
            cs_jw_kv_str(w, "protocol", p->protocol && *p->protocol ? p->protocol : "tcp");
            if (p->host_ip && *p->host_ip)
                cs_jw_kv_str(w, "hostIP", p->host_ip);
            cs_jw_obj_end(w);
        }
        cs_jw_arr_end(w);
        return true;
    }
    if (strcmp(cap, "dns") == 0 && (pod->n_dns_servers || pod->n_dns_searches || pod->n_dns_options)) {
        cs_jw_key(w, cap);
        cs_jw_obj_begin(w);
        str_array(w, "servers", pod->dns_servers, pod->n_dns_servers);
        str_array(w, "searches", pod->dns_searches, pod->n_dns_searches);
        str_array(w, "options", pod->dns_options, pod->n_dns_options);
        cs_jw_obj_end(w);
        return true;
    }
    return false;
}

static void write_runtime_config(cs_jw *w, const cs_json *j, int plugin, const ctrd_cni_pod *pod, cs_arena *a)
{
    int caps = cs_json_key(j, plugin, "capabilities");
    if (cs_json_type_of(j, caps) != CS_JSON_OBJECT)
        return;
    cs_jw body;
    cs_jw_init(&body);
    cs_jw_obj_begin(&body);
    bool any = false;
    int k;
    for (int v = cs_json_first_member(j, caps, &k); v >= 0; v = cs_json_next_member(j, caps, v, &k)) {
        bool on = false;
        if (cs_json_bool(j, v, &on) == 0 && on)
            any |= write_capability(&body, cs_json_str(j, k, a), pod);
    }
    cs_jw_obj_end(&body);
    if (any) {
        cs_jw_key(w, "runtimeConfig");
        cs_jw_raw(w, cs_jw_str_view(&body), body.len);
    }
    cs_jw_free(&body);
}

static char *list_stdin(const cni_list *l, size_t i, const ctrd_cni_pod *pod, const char *prev, cs_arena *a)
{
    const cs_json *j = l->j;
    int plugin = l->plugins[i];
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "cniVersion", l->version);
    cs_jw_kv_str(&w, "name", l->name);
    int k;
    for (int v = cs_json_first_member(j, plugin, &k); v >= 0; v = cs_json_next_member(j, plugin, v, &k)) {
        if (cs_json_str_eq(j, k, "cniVersion") || cs_json_str_eq(j, k, "name") || cs_json_str_eq(j, k, "prevResult") ||
            cs_json_str_eq(j, k, "runtimeConfig") || (l->plugins[0] == 0 && cs_json_str_eq(j, k, "plugins")))
            continue;
        cs_jw_key(&w, cs_json_str(j, k, a));
        copy_value(&w, j, v, a);
    }
    write_runtime_config(&w, j, plugin, pod, a);
    if (prev && *prev) {
        cs_jw_key(&w, "prevResult");
        cs_jw_raw(&w, prev, strlen(prev));
    }
    cs_jw_obj_end(&w);
    char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

char *ctrd_cni_stdin(const ctrd_cni *c, size_t i, const ctrd_cni_pod *pod, const char *prev_result, cs_arena *a)
{
    return i < ctrd_cni_plugin_count(c) ? list_stdin(&c->net, i, pod, prev_result, a) : NULL;
}

char *ctrd_cni_args(const ctrd_cni_pod *pod, cs_arena *a)
{
#define S(x) ((x) ? (x) : "")
    return cs_arena_printf(a,
                           "IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s;"
                           "K8S_POD_UID=%s",
                           S(pod->namespace), S(pod->name), S(pod->id), S(pod->uid));
#undef S
}

/* The daemon's environment (PATH: portmap runs iptables) minus any CNI_*,
 * plus the invocation's. */
static char **plugin_env(const ctrd_cni *c, const char *cmd, const char *ifname, const ctrd_cni_pod *pod,
                         const char *netns, cs_arena *a)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **env = cs_arena_array(a, n + 7, sizeof *env);
    size_t k = 0;
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, "CNI_", 4) != 0)
            env[k++] = *e;
    env[k++] = cs_arena_printf(a, "CNI_COMMAND=%s", cmd);
    env[k++] = cs_arena_printf(a, "CNI_CONTAINERID=%s", pod->id ? pod->id : "");
    env[k++] = cs_arena_printf(a, "CNI_NETNS=%s", netns);
    env[k++] = cs_arena_printf(a, "CNI_IFNAME=%s", ifname);
    env[k++] = cs_arena_printf(a, "CNI_PATH=%s", c->bin_dir);
    env[k++] = cs_arena_printf(a, "CNI_ARGS=%s", ctrd_cni_args(pod, a));
    env[k] = NULL;
    return env;
}

/* ---- results and errors ---- */

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

char *ctrd_cni_error_text(const char *out, size_t len, cs_arena *a)
{
    cs_json *j = NULL;
    cs_error ignored;
    char *text = NULL;
    if (len > 0 && cs_json_parse(out, len, &j, &ignored) == 0 && cs_json_type_of(j, 0) == CS_JSON_OBJECT) {
        const char *msg = cs_json_get_str(j, 0, "msg", a);
        const char *details = cs_json_get_str(j, 0, "details", a);
        int64_t code = cs_json_get_int64(j, 0, "code", 0);
        if (msg || details)
            text = cs_arena_printf(a, "%s%s%s (code %lld)", msg ? msg : "", msg && details && *details ? ": " : "",
                                   details ? details : "", (long long)code);
    }
    cs_json_free(j);
    if (!text)
        text = cs_arena_strndup(a, out, len);
    trim(text);
    return text;
}

static char *strip_prefix_len(const char *addr, cs_arena *a)
{
    const char *slash = strchr(addr, '/');
    return slash ? cs_arena_strndup(a, addr, (size_t)(slash - addr)) : cs_arena_strdup(a, addr);
}

int ctrd_cni_parse_result(const char *json, size_t len, const char *ifname, cs_arena *a, ctrd_cni_result *out,
                          cs_error *err)
{
    memset(out, 0, sizeof *out);
    cs_json *j;
    if (cs_json_parse(json, len, &j, err) != 0)
        return cs_error_wrap(err, "cni result");
    int rc = -1;
    if (cs_json_type_of(j, 0) != CS_JSON_OBJECT) {
        cs_error_set(err, CS_ERR_INTERNAL, "cni result: not a JSON object");
        goto out;
    }
    int ips = cs_json_key(j, 0, "ips"), ifs = cs_json_key(j, 0, "interfaces");
    if (ips < 0 && cs_json_key(j, 0, "ip4") >= 0) {
        cs_error_set(err, CS_ERR_INTERNAL, "cni result: version %s (0.2.0 layout) is not supported",
                     cs_json_get_str(j, 0, "cniVersion", a));
        goto out;
    }
    int n = cs_json_count(j, ips);
    char **on_if = cs_arena_array(a, (size_t)n + 1, sizeof *on_if);
    char **all = cs_arena_array(a, (size_t)n + 1, sizeof *all);
    size_t n_on = 0, n_all = 0;
    for (int ip = cs_json_first(j, ips); ip >= 0; ip = cs_json_next(j, ips, ip)) {
        char *addr = cs_json_get_str(j, ip, "address", a);
        if (!addr || !*addr)
            continue;
        addr = strip_prefix_len(addr, a);
        all[n_all++] = addr;
        /* The pod's own interface: named ifname and inside a sandbox (a
         * host-side interface of the same name does not count), as go-cni
         * and portmap pick it. */
        int64_t idx = -1;
        int iface = -1;
        if (cs_json_int64(j, cs_json_key(j, ip, "interface"), &idx) == 0 && idx >= 0 && idx < INT32_MAX)
            iface = cs_json_at(j, ifs, (int)idx);
        const char *sandbox = cs_json_get_str(j, iface, "sandbox", a);
        if (cs_json_str_eq(j, cs_json_key(j, iface, "name"), ifname) && sandbox && *sandbox)
            on_if[n_on++] = addr;
    }
    char **pick = n_on ? on_if : all;
    size_t n_pick = n_on ? n_on : n_all;
    size_t primary = 0;
    for (size_t i = 0; i < n_pick; i++)
        if (!strchr(pick[i], ':')) {
            primary = i;
            break;
        }
    out->json = cs_arena_strndup(a, json, len);
    if (n_pick > 0) {
        out->ip = pick[primary];
        out->additional_ips = cs_arena_array(a, n_pick, sizeof *out->additional_ips);
        for (size_t i = 0; i < n_pick; i++)
            if (i != primary)
                out->additional_ips[out->n_additional_ips++] = pick[i];
    }
    rc = 0;
out:
    cs_json_free(j);
    return rc;
}

/* ---- running plugins ---- */

static char *find_plugin(const ctrd_cni *c, const char *type, cs_arena *a)
{
    const char *p = c->bin_dir;
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n > 0) {
            char *path = cs_arena_printf(a, "%.*s/%s", (int)n, p, type);
            if (access(path, X_OK) == 0)
                return path;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct cni_io {
    int in, out, errfd; /* parent ends; -1 once done */
    const char *stdin_text;
    size_t stdin_len, stdin_off;
    char *obuf;
    size_t olen, ocap;
    char ebuf[CNI_ERR_MAX];
    size_t elen;
} cni_io;

/* One poll round. 0: progress or still waiting, -1: read/write error. */
static int io_step(cni_io *io, int timeout_ms)
{
    struct pollfd p[3];
    int n = 0, iw = -1, io_ = -1, ie = -1;
    if (io->in >= 0) {
        p[n] = (struct pollfd){.fd = io->in, .events = POLLOUT};
        iw = n++;
    }
    if (io->out >= 0) {
        p[n] = (struct pollfd){.fd = io->out, .events = POLLIN};
        io_ = n++;
    }
    if (io->errfd >= 0) {
        p[n] = (struct pollfd){.fd = io->errfd, .events = POLLIN};
        ie = n++;
    }
    int r = poll(p, (nfds_t)n, timeout_ms);
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    if (iw >= 0 && p[iw].revents) {
        ssize_t w = send(io->in, io->stdin_text + io->stdin_off, io->stdin_len - io->stdin_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0)
            io->stdin_off += (size_t)w;
        /* Done, or the plugin stopped reading (EPIPE): either way stdin is over. */
        if (io->stdin_off == io->stdin_len || (w < 0 && errno != EAGAIN && errno != EINTR)) {
            close(io->in);
            io->in = -1;
        }
    }
    if (io_ >= 0 && p[io_].revents) {
        if (io->ocap - io->olen < 4096) {
            if (io->ocap >= CNI_OUT_MAX)
                return -1;
            io->ocap = io->ocap ? io->ocap * 2 : 8192;
            io->obuf = cs_xrealloc(io->obuf, io->ocap + 1);
        }
        ssize_t got = read(io->out, io->obuf + io->olen, io->ocap - io->olen);
        if (got > 0) {
            io->olen += (size_t)got;
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            close(io->out);
            io->out = -1;
        }
    }
    if (ie >= 0 && p[ie].revents) {
        char tmp[1024];
        ssize_t got = read(io->errfd, tmp, sizeof tmp);
        if (got > 0) {
            size_t keep = (size_t)got < sizeof io->ebuf - 1 - io->elen ? (size_t)got : sizeof io->ebuf - 1 - io->elen;
            memcpy(io->ebuf + io->elen, tmp, keep);
            io->elen += keep;
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            close(io->errfd);
            io->errfd = -1;
        }
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Runs one plugin; *out is its stdout (arena copy). The error names the
 * plugin, the command and what the plugin said. */
static int run_plugin(const ctrd_cni *c, const char *type, const char *cmd, const char *ifname,
                      const ctrd_cni_pod *pod, const char *netns, const char *stdin_text, cs_arena *a, char **out,
                      size_t *out_len, cs_error *err)
{
    char *path = find_plugin(c, type, a);
    if (!path)
        return cs_error_set(err, CS_ERR_CONFLICT, "cni plugin %s: not found in %s", type, c->bin_dir);
    int sv[2] = {-1, -1}, op[2] = {-1, -1}, ep[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(op, O_CLOEXEC) != 0 ||
        pipe2(ep, O_CLOEXEC) != 0) {
        cs_error_errno(err, CS_ERR_RESOURCE, errno, "cni plugin %s %s: pipes", type, cmd);
        close_fd(&sv[0]), close_fd(&sv[1]), close_fd(&op[0]), close_fd(&op[1]), close_fd(&ep[0]);
        close_fd(&ep[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, op[1], 1);
    posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&at, &all);
    char *argv[] = {path, NULL};
    pid_t pid;
    int e = posix_spawn(&pid, path, &fa, &at, argv, plugin_env(c, cmd, ifname, pod, netns, a));
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close_fd(&sv[1]), close_fd(&op[1]), close_fd(&ep[1]);
    if (e != 0) {
        close_fd(&sv[0]), close_fd(&op[0]), close_fd(&ep[0]);
        return cs_error_errno(err, CS_ERR_INTERNAL, e, "cni plugin %s %s: exec %s", type, cmd, path);
    }

    cni_io io = {.in = sv[0], .out = op[0], .errfd = ep[0], .stdin_text = stdin_text, .stdin_len = strlen(stdin_text)};
    fcntl(io.in, F_SETFL, O_NONBLOCK);
    fcntl(io.out, F_SETFL, O_NONBLOCK);
    fcntl(io.errfd, F_SETFL, O_NONBLOCK);
    int64_t deadline = now_ms() + CTRD_CNI_TIMEOUT_MS;
    bool timed_out = false, io_failed = false;
    while (io.out >= 0 || io.errfd >= 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        if (io_step(&io, (int)(left > 1000 ? 1000 : left)) != 0) {
            io_failed = true;
            break;
        }
    }
    close_fd(&io.in), close_fd(&io.out), close_fd(&io.errfd);
    if (timed_out || io_failed)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char *o = cs_arena_strndup(a, io.obuf ? io.obuf : "", io.olen);
    size_t olen = io.olen;
    free(io.obuf);
    io.ebuf[io.elen] = '\0';
    trim(io.ebuf);
    if (timed_out)
        return cs_error_set(err, CS_ERR_DEADLINE, "cni plugin %s %s: no answer in %d s", type, cmd,
                            CTRD_CNI_TIMEOUT_MS / 1000);
    if (io_failed)
        return cs_error_set(err, CS_ERR_INTERNAL, "cni plugin %s %s: output unreadable or over %u bytes", type, cmd,
                            CNI_OUT_MAX);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const char *said = olen ? ctrd_cni_error_text(o, olen, a) : io.ebuf;
        if (WIFSIGNALED(status))
            return cs_error_set(err, CS_ERR_UNKNOWN, "cni plugin %s %s: killed by signal %d%s%s", type, cmd,
                                WTERMSIG(status), *said ? ": " : "", said);
        return cs_error_set(err, CS_ERR_UNKNOWN, "cni plugin %s %s failed: %s", type, cmd,
                            *said ? said : "no message");
    }
    *out = o;
    *out_len = olen;
    return 0;
}

/* Runs every plugin of l for cmd. ADD chains each result into the next
 * plugin's prevResult and leaves the last in *result; CHECK and DEL give all
 * of them prev (libcni's cached result) and run DEL in reverse. */
static int run_list(const ctrd_cni *c, const cni_list *l, const char *cmd, const char *ifname,
                    const ctrd_cni_pod *pod, const char *netns, const char *prev, cs_arena *a, char **result,
                    size_t *result_len, cs_error *err)
{
    bool add = strcmp(cmd, "ADD") == 0, del = strcmp(cmd, "DEL") == 0;
    char *cur = NULL;
    size_t cur_len = 0;
    for (size_t k = 0; k < l->n; k++) {
        size_t i = del ? l->n - 1 - k : k;
        const char *p = add ? cur : prev;
        char *in = list_stdin(l, i, pod, p, a);
        char *o = NULL;
        size_t olen = 0;
        if (run_plugin(c, l->types[i], cmd, ifname, pod, netns, in, a, &o, &olen, err) != 0)
            return cs_error_wrap(err, "network %s", l->name);
        if (add) {
            cur = o;
            cur_len = olen;
        }
    }
    if (result) {
        *result = cur;
        *result_len = cur_len;
    }
    return 0;
}

int ctrd_cni_add(const ctrd_cni *c, const ctrd_cni_pod *pod, cs_arena *a, ctrd_cni_result *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!ctrd_cni_ready(c))
        return cs_error_set(err, CS_ERR_CONFLICT, "cni: no network config");
    if (!pod->netns || !*pod->netns)
        return cs_error_set(err, CS_ERR_INVALID, "cni ADD: no network namespace");
    char *res = NULL;
    size_t len = 0;
    if (run_list(c, &c->lo, "ADD", "lo", pod, pod->netns, NULL, a, NULL, NULL, err) != 0 ||
        run_list(c, &c->net, "ADD", CTRD_CNI_IFNAME, pod, pod->netns, NULL, a, &res, &len, err) != 0)
        return -1;
    if (!res || len == 0)
        return cs_error_set(err, CS_ERR_INTERNAL, "cni ADD on network %s: the plugins returned no result",
                            c->net.name);
    if (ctrd_cni_parse_result(res, len, CTRD_CNI_IFNAME, a, out, err) != 0)
        return cs_error_wrap(err, "network %s", c->net.name);
    return 0;
}

int ctrd_cni_check(const ctrd_cni *c, const ctrd_cni_pod *pod, const char *result_json, cs_error *err)
{
    if (!ctrd_cni_ready(c))
        return cs_error_set(err, CS_ERR_CONFLICT, "cni: no network config");
    if (!pod->netns || !*pod->netns)
        return cs_error_set(err, CS_ERR_INVALID, "cni CHECK: no network namespace");
    cs_arena *a = cs_arena_new();
    int rc = run_list(c, &c->lo, "CHECK", "lo", pod, pod->netns, NULL, a, NULL, NULL, err) == 0 &&
                     run_list(c, &c->net, "CHECK", CTRD_CNI_IFNAME, pod, pod->netns, result_json, a, NULL, NULL,
                              err) == 0
                 ? 0
                 : -1;
    cs_arena_free(a);
    return rc;
}

int ctrd_cni_del(const ctrd_cni *c, const ctrd_cni_pod *pod, const char *result_json, cs_error *err)
{
    if (!ctrd_cni_ready(c))
        return cs_error_set(err, CS_ERR_CONFLICT, "cni: no network config");
    /* A namespace that is already gone (or a file never mounted) is passed as "": the plugins then
     * release what lives outside it (IPAM, host rules) and skip the rest. */
    struct statfs st;
    const char *netns =
        pod->netns && *pod->netns && statfs(pod->netns, &st) == 0 && st.f_type == NSFS_MAGIC ? pod->netns : "";
    cs_arena *a = cs_arena_new();
    int rc = run_list(c, &c->net, "DEL", CTRD_CNI_IFNAME, pod, netns, result_json, a, NULL, NULL, err) == 0 &&
                     run_list(c, &c->lo, "DEL", "lo", pod, netns, NULL, a, NULL, NULL, err) == 0
                 ? 0
                 : -1;
    cs_arena_free(a);
    return rc;
}
