/* The smallest tar writer: one regular file in a ustar archive, as both
 * engines' pause images need (Docker imports it; on containerd it becomes the
 * pause image's one layer). */
#ifndef CS_TAR_H
#define CS_TAR_H

#include <stddef.h>

/* name (< 100 bytes) with mode 0755, owner 0:0, mtime 0, then the two zero
 * blocks. malloc'd; *out_len is a multiple of 512. */
char *cs_tar_one_file(const char *name, const char *data, size_t len, size_t *out_len);

#endif
