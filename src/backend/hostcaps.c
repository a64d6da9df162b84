/* Host capability sets; see hostcaps.h. */
#include "backend/hostcaps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const cap_names[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};
#define NCAPS (sizeof cap_names / sizeof cap_names[0])
#define CAP_SYS_RESOURCE_BIT 24

const char *cs_hostcaps_name(unsigned bit)
{
    return bit < NCAPS ? cap_names[bit] : NULL;
}

int cs_hostcaps_bit(const char *name)
{
    for (unsigned bit = 0; bit < NCAPS; bit++)
        if (!strcasecmp(name, cap_names[bit]) || !strcasecmp(name, cap_names[bit] + 4))
            return (int)bit;
    return -1;
}

static uint64_t status_mask(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return UINT64_MAX;
    char line[256];
    size_t n = strlen(field);
    uint64_t mask = UINT64_MAX;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, field, n) && line[n] == ':') {
            mask = strtoull(line + n + 1, NULL, 16);
            break;
        }
    }
    fclose(f);
    return mask;
}

uint64_t cs_hostcaps_bounding_mask(void)
{
    return status_mask("CapBnd");
}

size_t cs_hostcaps_bounding(const char **names, size_t max, uint64_t exclude)
{
    uint64_t mask = cs_hostcaps_bounding_mask() & ~exclude;
    size_t k = 0;
    for (unsigned bit = 0; bit < NCAPS && k < max; bit++)
        if (mask & ((uint64_t)1 << bit))
            names[k++] = cap_names[bit];
    return k;
}

bool cs_hostcaps_can_lower_oom(void)
{
    return (status_mask("CapEff") >> CAP_SYS_RESOURCE_BIT) & 1;
}
