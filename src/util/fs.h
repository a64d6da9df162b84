/* Small filesystem helpers. */
#ifndef CS_FS_H
#define CS_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* mkdir -p; existing directories are fine. */
int cs_mkdir_p(const char *path, mode_t mode, cs_error *err);
/* send() until all of data is out; MSG_NOSIGNAL, so a vanished peer is -1
 * (errno set), never SIGPIPE. */
int cs_send_all(int fd, const void *data, size_t len);
/* Reads a whole (small) file; *out malloc'd and NUL-terminated. */
int cs_read_file(const char *path, size_t max, char **out, size_t *len, cs_error *err);
/* Creates or truncates path (mode for a new file) and writes data. */
int cs_write_file(const char *path, const void *data, size_t len, mode_t mode, cs_error *err);
/* rm -r: path and everything below it; absent is success. Never crosses
 * into another filesystem (a mount left below path makes it fail, EBUSY,
 * rather than empty what is mounted there) and never follows symlinks. */
int cs_remove_tree(const char *path, cs_error *err);

#endif
