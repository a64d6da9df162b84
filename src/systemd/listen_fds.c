/* sd_listen_fds(3)'s protocol: systemd passes listening sockets as fds 3, 4,
 * ... and says so in $LISTEN_FDS (how many), $LISTEN_PID (for whom) and
 * $LISTEN_FDNAMES (colon-separated FileDescriptorName=s). */
#include "systemd/systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void unset_all(void)
{
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

/* The i-th colon-separated name, or "". */
static void nth_name(const char *names, size_t i, char *out, size_t size)
{
    out[0] = '\0';
    if (!names)
        return;
    const char *p = names;
    for (size_t k = 0; k < i && p; k++) {
        p = strchr(p, ':');
        if (p)
            p++;
    }
    if (!p)
        return;
    size_t n = strcspn(p, ":");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

int cs_sd_listen_fds(cs_sd_fd *out, size_t max, cs_error *err)
{
    return cs_sd_listen_fds_at(CS_SD_LISTEN_FDS_START, out, max, err);
}

int cs_sd_listen_fds_at(int first, cs_sd_fd *out, size_t max, cs_error *err)
{
    const char *pid = getenv("LISTEN_PID");
    const char *fds = getenv("LISTEN_FDS");
    if (!pid || !fds)
        return 0;
    char *end;
    long p = strtol(pid, &end, 10);
    if (*end || p != (long)getpid())
        return 0; /* meant for another process (we were exec'd by it) */
    errno = 0;
    long n = strtol(fds, &end, 10);
    const char *names = getenv("LISTEN_FDNAMES");
    if (errno || *end || n < 0 || (size_t)n > max) {
        unset_all();
        return cs_error_set(err, CS_ERR_INVALID, "LISTEN_FDS=%s: want 0 to %zu", fds, max);
    }
    for (long i = 0; i < n; i++) {
        cs_sd_fd *f = &out[i];
        memset(f, 0, sizeof *f);
        f->fd = first + (int)i;
        nth_name(names, (size_t)i, f->name, sizeof f->name);
        int type = 0, listening = 0;
        socklen_t len = sizeof type;
        if (fcntl(f->fd, F_SETFD, FD_CLOEXEC) != 0 ||
            getsockopt(f->fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
            (len = sizeof listening, getsockopt(f->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len)) != 0 ||
            !listening) {
            unset_all();
            return cs_error_set(err, CS_ERR_INVALID,
                                "inherited fd %d (%s): not a listening stream socket (use ListenStream=)", f->fd,
                                f->name[0] ? f->name : "unnamed");
        }
        struct sockaddr_un sa;
        len = sizeof sa;
        memset(&sa, 0, sizeof sa);
        if (getsockname(f->fd, (struct sockaddr *)&sa, &len) == 0 && sa.sun_family == AF_UNIX && sa.sun_path[0])
            snprintf(f->path, sizeof f->path, "%.*s", (int)sizeof sa.sun_path, sa.sun_path);
    }
    unset_all();
    return (int)n;
}
