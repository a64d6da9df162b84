/* The two systemd protocols crishim speaks, written directly rather than
 * through libsystemd: each is a few dozen lines (sd_notify(3) is one datagram
 * to $NOTIFY_SOCKET; sd_listen_fds(3) is reading $LISTEN_PID, $LISTEN_FDS and
 * $LISTEN_FDNAMES and taking fds from 3 up), the daemon stays free of a
 * dependency it would use two functions of, and both run (and are tested)
 * without systemd. */
#ifndef CS_SYSTEMD_H
#define CS_SYSTEMD_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define CS_SD_LISTEN_FDS_START 3
#define CS_SD_MAX_FDS 16

/* Sends state (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET (a path,
 * or '@' for the abstract namespace). 1 when sent, 0 when there is no notify
 * socket (not run by systemd), -1 on error (err says why). */
int cs_sd_notify(const char *state, cs_error *err);
int cs_sd_notifyf(cs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* $WATCHDOG_USEC when set and meant for this process ($WATCHDOG_PID absent
 * or ours); 0 otherwise. */
uint64_t cs_sd_watchdog_usec(void);

typedef struct cs_sd_fd {
    int fd;
    char name[64];  /* from $LISTEN_FDNAMES; "" when not given */
    char path[108]; /* a unix stream socket's path; "" for other sockets */
} cs_sd_fd;

/* The listening sockets systemd passed ($LISTEN_PID must be ours): fills
 * out[0..n), marks them close-on-exec, and unsets the variables so children
 * don't take them. Each must be a listening stream socket. Returns n >= 0,
 * or -1 (err says which fd is wrong). */
int cs_sd_listen_fds(cs_sd_fd *out, size_t max, cs_error *err);
/* The same with the first fd given (systemd's is CS_SD_LISTEN_FDS_START):
 * the unit suite passes fds above 3, which its test runner may hold. */
int cs_sd_listen_fds_at(int first, cs_sd_fd *out, size_t max, cs_error *err);

#endif
