/* Filesystem helpers; see fs.h. */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
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

int cs_write_file(const char *path, const void *data, size_t len, mode_t mode, cs_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "create %s", path);
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            return cs_error_errno(err, CS_ERR_INTERNAL, e, "write %s", path);
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) != 0)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "write %s", path);
    return 0;
}

/* nftw's callback has no argument: the walk's first failure, per thread. */
static __thread int remove_errno;
static __thread char remove_failed[256];

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = type == FTW_DP ? rmdir(path) : unlink(path);
    if (rc != 0 && errno != ENOENT && !remove_errno) {
        remove_errno = errno;
        snprintf(remove_failed, sizeof remove_failed, "%s", path);
    }
    return 0; /* remove what can be removed */
}

int cs_remove_tree(const char *path, cs_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : cs_error_errno(err, CS_ERR_INTERNAL, errno, "remove %s", path);
    remove_errno = 0;
    remove_failed[0] = '\0';
    if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 && errno != ENOENT && !remove_errno) {
        remove_errno = errno;
        snprintf(remove_failed, sizeof remove_failed, "%s", path);
    }
    if (remove_errno)
        return cs_error_errno(err, CS_ERR_INTERNAL, remove_errno, "remove %s", remove_failed);
    return 0;
}
