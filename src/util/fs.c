/* Filesystem helpers; see fs.h. */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"

int cs_mkdir_p(const char *path, mode_t mode, cs_error *err)
{
    char *p = cs_xstrdup(path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            int e = errno;
            cs_error_errno(err, e == EACCES ? CS_ERR_PERMISSION : CS_ERR_INTERNAL, e, "mkdir %s", p);
            free(p);
            return -1;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return cs_error_set(err, CS_ERR_CONFLICT, "%s exists and is not a directory", path);
    return 0;
}

int cs_read_file(const char *path, size_t max, char **out, size_t *len, cs_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cs_error_errno(err, errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_INTERNAL, errno, "open %s", path);
    size_t cap = 4096, n = 0;
    char *buf = cs_xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                close(fd);
                free(buf);
                return cs_error_set(err, CS_ERR_RESOURCE, "%s is larger than %zu bytes", path, max);
            }
            cap *= 2;
            buf = cs_xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return cs_error_errno(err, CS_ERR_INTERNAL, e, "read %s", path);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int cs_send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}
