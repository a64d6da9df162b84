/* CNI for the containerd backend: loads the network configuration the way
 * libcni does and runs its plugins (CNI spec 1.0) to give a pod's network
 * namespace its interfaces, addresses and host ports.
 *
 * A pod's network is `loopback` on lo (as go-cni does, outside the list)
 * and then the configured list on eth0. ADD returns the list's final result
 * as JSON, which the caller stores (in containerd) and hands back to CHECK and
 * DEL, also after a crishim restart: portmap's DEL needs the mappings in it. */
#ifndef CTRD_CNI_H
#define CTRD_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/error.h"
#include "util/json.h"

#define CTRD_CNI_CONF_DIR "/etc/cni/net.d"
#define CTRD_CNI_BIN_DIR "/usr/lib/cni:/opt/cni/bin"
#define CTRD_CNI_IFNAME "eth0"
#define CTRD_CNI_TIMEOUT_MS 60000

typedef struct ctrd_cni ctrd_cni;

/* Loads the first *.conflist, *.conf or *.json of conf_dir in lexical order
 * (NULL: CTRD_CNI_CONF_DIR); a single-plugin .conf/.json is wrapped into a
 * list. No config (or no directory) is success with a handle that is not
 * ready; a file that does not parse is an error naming it. bin_dir is a
 * colon-separated search path (NULL: CTRD_CNI_BIN_DIR). Caller frees *out. */
int ctrd_cni_load(const char *conf_dir, const char *bin_dir, ctrd_cni **out, cs_error *err);
void ctrd_cni_free(ctrd_cni *c);
/* Whether a network config is present (CRI Status' NetworkReady). */
bool ctrd_cni_ready(const ctrd_cni *c);
/* The loaded file and network name; NULL when not ready. Borrowed. */
const char *ctrd_cni_conf_file(const ctrd_cni *c);
const char *ctrd_cni_net_name(const ctrd_cni *c);

typedef struct ctrd_cni_port {
    int32_t host_port;
    int32_t container_port;
    const char *protocol; /* "tcp", "udp", "sctp" (lower case, as portmap wants) */
    const char *host_ip;  /* NULL or "" for all */
} ctrd_cni_port;

/* What CNI needs of a pod; all borrowed. */
typedef struct ctrd_cni_pod {
    const char *id;    /* sandbox id: CNI_CONTAINERID, K8S_POD_INFRA_CONTAINER_ID */
    const char *netns; /* path; for DEL a path that no longer exists is passed as "" */
    const char *name, *namespace, *uid;
    const ctrd_cni_port *ports;
    size_t n_ports;
    /* The pod's DNS (the `dns` capability); all may be empty. */
    const char *const *dns_servers;
    size_t n_dns_servers;
    const char *const *dns_searches;
    size_t n_dns_searches;
    const char *const *dns_options;
    size_t n_dns_options;
} ctrd_cni_pod;

typedef struct ctrd_cni_result {
    char *json;             /* the list's final result, to store and replay */
    char *ip;               /* the pod IP (IPv4 first), without prefix length; NULL if none */
    char **additional_ips;  /* the other addresses on eth0 */
    size_t n_additional_ips;
} ctrd_cni_result;

/* ADD: loopback, then the list. On failure the caller runs DEL (it tolerates
 * whatever ADD left half-made). Result strings are in arena a. */
int ctrd_cni_add(const ctrd_cni *c, const ctrd_cni_pod *pod, cs_arena *a, ctrd_cni_result *out, cs_error *err);
/* CHECK with the stored ADD result. */
int ctrd_cni_check(const ctrd_cni *c, const ctrd_cni_pod *pod, const char *result_json, cs_error *err);
/* DEL: the list in reverse, then loopback, with the stored result (NULL if
 * none) as prevResult. Idempotent. pod must carry the same ports as at ADD:
 * portmap's DEL reads them from runtimeConfig, not from prevResult, and
 * removes nothing without them. */
int ctrd_cni_del(const ctrd_cni *c, const ctrd_cni_pod *pod, const char *result_json, cs_error *err);

/* ---- the pure parts, exposed for the unit suite ---- */

/* Number of plugins in the loaded list, and plugin i's type ("bridge"). */
size_t ctrd_cni_plugin_count(const ctrd_cni *c);
const char *ctrd_cni_plugin_type(const ctrd_cni *c, size_t i);

/* Plugin i's stdin: its config with name and cniVersion of the list,
 * runtimeConfig holding only the capabilities it declares, and prev_result
 * (raw JSON, NULL for none) as prevResult. */
char *ctrd_cni_stdin(const ctrd_cni *c, size_t i, const ctrd_cni_pod *pod, const char *prev_result,
                     cs_arena *a);
/* CNI_ARGS for the pod. */
char *ctrd_cni_args(const ctrd_cni_pod *pod, cs_arena *a);
/* Parses a (0.3.0 .. 1.0.0) result and picks the pod IP among the addresses
 * of the sandbox interface named ifname (all addresses if there is none). */
int ctrd_cni_parse_result(const char *json, size_t len, const char *ifname, cs_arena *a, ctrd_cni_result *out,
                          cs_error *err);
/* A plugin's error output ({"code","msg","details"}) as a message; the raw
 * text when it is not such JSON. */
char *ctrd_cni_error_text(const char *out, size_t len, cs_arena *a);

#endif
