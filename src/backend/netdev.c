/* /proc/<pid>/net/dev parsing; see netdev.h. */
#include "backend/netdev.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

int cs_netdev_parse(const char *text, cs_net_iface *out, cs_error *err)
{
    bool found = false;
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        const char *colon = memchr(line, ':', nl ? (size_t)(nl - line) : strlen(line));
        if (colon) {
            const char *name = line;
            while (*name == ' ')
                name++;
            size_t n = (size_t)(colon - name);
            cs_net_iface x = {0};
            unsigned long long v[16] = {0};
            int got = sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                             &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10]);
            if (got == 11 && n > 0 && n < sizeof x.name) {
                memcpy(x.name, name, n);
                x.rx_bytes = v[0];
                x.rx_errors = v[2];
                x.tx_bytes = v[8];
                x.tx_errors = v[10];
                bool is_eth0 = !strcmp(x.name, "eth0");
                if (strcmp(x.name, "lo") != 0 && (!found || is_eth0)) {
                    *out = x;
                    found = true;
                    if (is_eth0)
                        return 0;
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return found ? 0 : cs_error_set(err, CS_ERR_NOT_FOUND, "no network interface besides lo");
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
