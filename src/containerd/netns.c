/* Named network namespaces (see netns.h). The namespace is made by a
 * short-lived thread: unshare(CLONE_NEWNET) moves only that thread, whose
 * /proc task entry is then bind-mounted onto the file; when the thread exits
 * the mount keeps the namespace alive and the caller's threads never changed
 * namespace. */
#include "containerd/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/mem.h"

typedef struct netns_job {
    const char *path;
    cs_error err;
    int rc;
} netns_job;

static void *netns_thread(void *arg)
{
    netns_job *job = arg;
    job->rc = -1;
    if (unshare(CLONE_NEWNET) != 0) {
        cs_error_errno(&job->err, CS_ERR_INTERNAL, errno, "unshare(CLONE_NEWNET)");
        return NULL;
    }
    char src[64];
    snprintf(src, sizeof src, "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
    if (mount(src, job->path, NULL, MS_BIND, NULL) != 0) {
        cs_error_errno(&job->err, CS_ERR_INTERNAL, errno, "bind-mount %s on %s", src, job->path);
        return NULL;
    }
    job->rc = 0;
    return NULL; /* the thread, and its namespace membership, end here */
}

static int netns_name(const char *dir, char **path, cs_error *err)
{
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "getrandom");
    *path = cs_xasprintf("%s/cni-%02x%02x%02x%02x%02x%02x%02x%02x", dir, rnd[0], rnd[1], rnd[2], rnd[3],
                         rnd[4], rnd[5], rnd[6], rnd[7]);
    return 0;
}

int ctrd_netns_create(const char *base_dir, char **path, cs_error *err)
{
    const char *dir = base_dir ? base_dir : CTRD_NETNS_DIR;
    char *p = NULL;
    *path = NULL;
    if (cs_mkdir_p(dir, 0755, err) != 0)
        return cs_error_wrap(err, "netns directory %s", dir);
    if (netns_name(dir, &p, err) != 0)
        return -1;
    /* O_EXCL: a name collision (or a stale file) is never silently reused. */
    int fd = open(p, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) {
        cs_error_errno(err, errno == EEXIST ? CS_ERR_EXISTS : CS_ERR_INTERNAL, errno, "create %s", p);
        free(p);
        return -1;
    }
    close(fd);

    netns_job job = {.path = p, .rc = -1};
    pthread_t t;
    int e = pthread_create(&t, NULL, netns_thread, &job);
    if (e != 0) {
        cs_error_errno(&job.err, CS_ERR_RESOURCE, e, "start netns thread");
    } else {
        pthread_join(t, NULL);
    }
    if (e != 0 || job.rc != 0) {
        unlink(p);
        free(p);
        if (err)
            *err = job.err;
        return cs_error_wrap(err, "create network namespace");
    }
    *path = p;
    return 0;
}

int ctrd_netns_remove(const char *path, cs_error *err)
{
    /* EINVAL: not a mount point (already unmounted, or a half-made file). */
    if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "unmount network namespace %s", path);
    if (unlink(path) != 0 && errno != ENOENT)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "remove network namespace %s", path);
    return 0;
}
