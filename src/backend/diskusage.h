/* Disk usage of a directory tree as du counts it: allocated blocks
 * (st_blocks * 512) and inodes, one filesystem only, symlinks not followed,
 * hard links counted once per walk. Used for a container's writable layer
 * (overlay2's upper dir), which is small for well-behaved containers, so a
 * walk costs microseconds to a few milliseconds; the caller caches results. */
#ifndef CS_DISKUSAGE_H
#define CS_DISKUSAGE_H

#include <stdint.h>

#include "util/error.h"

typedef struct cs_disk_usage {
    uint64_t bytes;  /* allocated bytes, the directory itself included */
    uint64_t inodes; /* entries, the directory itself included */
} cs_disk_usage;

/* NOT_FOUND when dir is missing (the container was removed meanwhile);
 * entries that vanish during the walk are skipped. */
int cs_disk_usage_of(const char *dir, cs_disk_usage *out, cs_error *err);

#endif
