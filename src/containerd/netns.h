/* Pod network namespaces for the containerd backend: a named, bind-mounted
 * netns file (/var/run/netns/cni-<random>) that outlives any process, so CNI
 * can wire it before the pause container starts and after it has died. The
 * same layout as containerd's CRI plugin and `ip netns`. */
#ifndef CTRD_NETNS_H
#define CTRD_NETNS_H

#include "util/error.h"

#define CTRD_NETNS_DIR "/var/run/netns"

/* Creates <base_dir>/cni-<16 hex> (base_dir NULL: CTRD_NETNS_DIR, made if
 * missing) holding a fresh network namespace. *path is malloc'd, caller frees.
 * On failure nothing is left behind. */
int ctrd_netns_create(const char *base_dir, char **path, cs_error *err);

/* Unmounts (lazily) and unlinks path. Idempotent: an absent file, or one that
 * is no longer mounted, is success. */
int ctrd_netns_remove(const char *path, cs_error *err);

#endif
