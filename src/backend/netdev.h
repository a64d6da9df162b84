/* Network counters of a process's network namespace, from /proc/<pid>/net/dev
 * (the pod's infra process: every container of the pod shares its netns). */
#ifndef CS_NETDEV_H
#define CS_NETDEV_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct cs_net_iface {
    char name[32];
    uint64_t rx_bytes, rx_errors, tx_bytes, tx_errors;
    uint64_t rx_packets, rx_dropped, tx_packets, tx_dropped;
} cs_net_iface;

/* Every interface but lo, at most cap of them (the CRI metrics report each). */
int cs_netdev_all(int pid, cs_net_iface *out, size_t cap, size_t *n, cs_error *err);
size_t cs_netdev_parse_all(const char *text, cs_net_iface *out, size_t cap);

/* The default interface: eth0 when present, else the first that isn't lo.
 * NOT_FOUND when the process is gone or has no such interface. */
int cs_netdev_default(int pid, cs_net_iface *out, cs_error *err);
/* The same over explicit /proc/net/dev text (tests). */
int cs_netdev_parse(const char *text, cs_net_iface *out, cs_error *err);

#endif
