/* du for one directory tree; see diskusage.h. The walk uses openat/fstatat
 * from directory fds, so deep trees need no path buffers and renames during
 * the walk can't send it outside the tree. */
#include "backend/diskusage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"

/* Deeper trees than this are counted down to here only: a guard against a
 * container that builds a pathological tree to make crishim recurse. */
#define MAX_DEPTH 256

/* Hard-linked files seen in this walk (device and inode), so each counts
 * once, as du does. Usually empty: a writable layer rarely has links. */
typedef struct seen {
    struct {
        dev_t dev;
        ino_t ino;
    } *items;
    size_t n, cap;
} seen;

static bool seen_add(seen *s, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].dev == dev && s->items[i].ino == ino)
            return false;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->items = cs_xrealloc(s->items, s->cap * sizeof *s->items);
    }
    s->items[s->n].dev = dev;
    s->items[s->n].ino = ino;
    s->n++;
    return true;
}

static void walk(int dirfd, dev_t dev, int depth, seen *links, cs_disk_usage *u)
{
    DIR *d = fdopendir(dirfd); /* owns dirfd from here */
    if (!d) {
        close(dirfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* removed meanwhile */
        if (st.st_dev != dev)
            continue; /* a mount point inside: another filesystem */
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !seen_add(links, st.st_dev, st.st_ino))
            continue;
        u->inodes++;
        u->bytes += (uint64_t)st.st_blocks * 512;
        if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
            int fd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0)
                walk(fd, dev, depth + 1, links, u);
        }
    }
    closedir(d);
}

int cs_disk_usage_of(const char *dir, cs_disk_usage *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cs_error_set(err, e == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_INTERNAL, "%s: %s", dir, strerror(e));
    }
    out->inodes = 1;
    out->bytes = (uint64_t)st.st_blocks * 512;
    seen links = {0};
    walk(fd, st.st_dev, 0, &links, out);
    free(links.items);
    return 0;
}
