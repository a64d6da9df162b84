/* What this host lets containers have. Root without CAP_SYS_RESOURCE (some
 * sandboxes, some user namespaces) makes runc fail on a negative
 * oom_score_adj and on Docker's own Privileged / CapAdd ALL, so crishim asks
 * for the host's actual bounding set instead, as containerd does. */
#ifndef CS_HOSTCAPS_H
#define CS_HOSTCAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Names ("CAP_CHOWN", …) of the capabilities in this process's bounding set
 * but not in `exclude` (a bit mask), into names (static strings); returns how
 * many. */
size_t cs_hostcaps_bounding(const char **names, size_t max, uint64_t exclude);
/* The bounding set as a bit mask, from /proc/self/status (all ones if unreadable). */
uint64_t cs_hostcaps_bounding_mask(void);
/* Whether a negative oom_score_adj can be granted (CAP_SYS_RESOURCE in effect). */
bool cs_hostcaps_can_lower_oom(void);
/* Name of capability number `bit`, NULL when unknown. */
const char *cs_hostcaps_name(unsigned bit);
/* Bit of a capability name ("CAP_BPF" or "BPF"), -1 when unknown. */
int cs_hostcaps_bit(const char *name);

#endif
