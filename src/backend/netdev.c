/* /proc/<pid>/net/dev parsing; see netdev.h. */
#include "backend/netdev.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

/* One "  eth0: 1 2 3 …" line of /proc/net/dev; false for headers. */
static bool parse_line(const char *line, size_t len, cs_net_iface *x)
{
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return false;
    const char *name = line;
    while (*name == ' ')
        name++;
    size_t n = (size_t)(colon - name);
    unsigned long long v[12] = {0};
    int got = sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                     &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]);
    if (got < 11 || n == 0 || n >= sizeof x->name)
        return false;
    memset(x, 0, sizeof *x);
    memcpy(x->name, name, n);
    /* receive: bytes packets errs drop fifo frame compressed multicast;
     * transmit: bytes packets errs drop … */
    x->rx_bytes = v[0];
    x->rx_packets = v[1];
    x->rx_errors = v[2];
    x->rx_dropped = v[3];
    x->tx_bytes = v[8];
    x->tx_packets = v[9];
    x->tx_errors = v[10];
    x->tx_dropped = v[11];
    return true;
}

size_t cs_netdev_parse_all(const char *text, cs_net_iface *out, size_t cap)
{
    size_t k = 0;
    for (const char *line = text; line && *line && k < cap;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        cs_net_iface x;
        if (parse_line(line, len, &x) && strcmp(x.name, "lo") != 0)
            out[k++] = x;
        line = nl ? nl + 1 : NULL;
    }
    return k;
}

int cs_netdev_parse(const char *text, cs_net_iface *out, cs_error *err)
{
    cs_net_iface all[64];
    size_t n = cs_netdev_parse_all(text, all, 64);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(all[i].name, "eth0")) {
            *out = all[i];
            return 0;
        }
    if (n == 0)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "no network interface besides lo");
    *out = all[0];
    return 0;
}

int cs_netdev_all(int pid, cs_net_iface *out, size_t cap, size_t *n, cs_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/net/dev", pid);
    char *text;
    if (pid <= 0 || cs_read_file(path, 1 << 20, &text, NULL, NULL) != 0)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "process %d is gone", pid);
    *n = cs_netdev_parse_all(text, out, cap);
    free(text);
    return 0;
}

int cs_netdev_default(int pid, cs_net_iface *out, cs_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/net/dev", pid);
    char *text;
    if (pid <= 0 || cs_read_file(path, 1 << 20, &text, NULL, NULL) != 0)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "process %d is gone", pid);
    int rc = cs_netdev_parse(text, out, err);
    free(text);
    return rc;
}
