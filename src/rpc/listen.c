/* Listen address parsing and unix socket preparation; see listen.h. */
#include "rpc/listen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/fs.h"

int cs_listen_parse(const char *addr, cs_listen_addr *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!addr || !*addr)
        return cs_error_set(err, CS_ERR_INVALID, "empty listen address");
    const char *path = NULL;
    if (!strncmp(addr, "unix://", 7))
        path = addr + 7;
    else if (!strncmp(addr, "unix:", 5))
        path = addr + 5;
    else if (addr[0] == '/')
        path = addr;
    if (path) {
        if (path[0] != '/')
            return cs_error_set(err, CS_ERR_INVALID, "listen address %s: unix socket path must be absolute", addr);
        if (strlen(path) >= sizeof out->path)
            return cs_error_set(err, CS_ERR_INVALID, "listen address %s: socket path longer than %zu bytes", addr,
                                sizeof out->path - 1);
        out->is_unix = true;
        strcpy(out->path, path);
        return 0;
    }
    const char *hp = addr;
    if (!strncmp(addr, "tcp://", 6))
        hp = addr + 6;
    else
        return cs_error_set(err, CS_ERR_INVALID,
                            "listen address %s: want unix:///path or tcp://host:port", addr);
    const char *colon = strrchr(hp, ':');
    if (!colon || colon == hp || !colon[1])
        return cs_error_set(err, CS_ERR_INVALID, "listen address %s: want tcp://host:port", addr);
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (*end || errno || port < 0 || port > 65535)
        return cs_error_set(err, CS_ERR_INVALID, "listen address %s: bad port", addr);
    if (strlen(hp) >= sizeof out->hostport)
        return cs_error_set(err, CS_ERR_INVALID, "listen address %s: too long", addr);
    strcpy(out->hostport, hp);
    return 0;
}

/* True when something accepts connections on the socket. */
static bool socket_alive(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    bool alive = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return alive;
}

int cs_listen_prepare_unix(const char *path, cs_error *err)
{
    char dir[sizeof ((cs_listen_addr *)0)->path];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (cs_mkdir_p(dir, 0755, err) != 0)
            return cs_error_wrap(err, "listen on %s", path);
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return cs_error_set(err, CS_ERR_CONFLICT, "listen on %s: exists and is not a socket", path);
        if (socket_alive(path))
            return cs_error_set(err, CS_ERR_EXISTS, "listen on %s: another server is already listening there", path);
        if (unlink(path) != 0)
            return cs_error_errno(err, CS_ERR_PERMISSION, errno, "listen on %s: cannot remove stale socket", path);
    }
    return 0;
}
