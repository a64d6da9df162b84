/* CRI container logs, written by crishim from Docker's log stream:
 *     <RFC 3339 nano timestamp> <stdout|stderr> <P|F> <text>
 * One follower thread per started container reads
 * /containers/{id}/logs?follow=1&timestamps=1 and appends to the container's
 * log_path. Docker keeps the log itself, so after a crishim restart each
 * follower resumes after the last timestamp already in the file: lines
 * written while crishim was down appear, none twice. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker/internal.h"
#include "docker/labels.h"
#include "docker/mux.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define TAIL_BYTES 65536
#define RESUME_RETRY_MS 2000

typedef struct follower {
    struct follower *next;
    struct docker_logs *owner;
    char *id;
    char *path;
    pthread_t thread;
    pthread_mutex_t fd_mu; /* the fd is swapped by ReopenContainerLog */
    int fd;
    int64_t last_ns[2];   /* stdout, stderr */
    bool last_partial[2]; /* the pieces of a split line share a timestamp */
    atomic_bool done;
    docker_line_splitter lines; /* TTY containers: one raw stream */
} follower;

struct docker_logs {
    docker_backend *d;
    pthread_mutex_t mu;
    follower *list;
    atomic_bool stopping;
    pthread_t resume;
    bool resume_started;
};

/* ---- the file ---- */

/* The newest timestamp per stream among the complete lines at the end of the
 * file, so a restart resumes after them. Per stream, because Docker's merged
 * stream is ordered by write, not by timestamp, across stdout and stderr. */
static void last_timestamps(const char *path, int64_t last[2], bool partial[2])
{
    last[0] = last[1] = 0;
    partial[0] = partial[1] = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        off_t from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
        char *buf = cs_xmalloc(TAIL_BYTES + 1);
        ssize_t n = pread(fd, buf, TAIL_BYTES, from);
        if (n > 0) {
            buf[n] = '\0';
            /* from the first line start (skip a cut first line) to the last '\n' */
            char *line = from > 0 ? strchr(buf, '\n') : buf;
            while (line && *line) {
                if (*line == '\n')
                    line++;
                char *nl = strchr(line, '\n');
                if (!nl)
                    break; /* incomplete last line */
                char *sp = memchr(line, ' ', (size_t)(nl - line));
                int64_t ns;
                if (sp && cs_time_parse_rfc3339(line, (size_t)(sp - line), &ns) == 0) {
                    int stream = !strncmp(sp + 1, "stderr ", 7) ? 1 : 0;
                    if (ns >= last[stream]) {
                        last[stream] = ns;
                        partial[stream] = sp[8] == 'P';
                    }
                }
                line = nl;
            }
        }
        free(buf);
    }
    close(fd);
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/* One Docker log entry: "<timestamp> <text>", the text ending in '\n' unless
 * Docker split a long line (then it is a partial, P). */
static int write_entry(follower *f, const char *stream, const char *data, size_t len)
{
    const char *sp = memchr(data, ' ', len);
    if (!sp)
        return 0;
    size_t ts_len = (size_t)(sp - data);
    int64_t ns;
    if (cs_time_parse_rfc3339(data, ts_len, &ns) != 0)
        return 0;
    int idx = !strcmp(stream, "stderr") ? 1 : 0;
    if (ns < f->last_ns[idx] || (ns == f->last_ns[idx] && !f->last_partial[idx]))
        return 0; /* written before a restart */
    const char *text = sp + 1;
    size_t text_len = len - ts_len - 1;
    bool full = text_len > 0 && text[text_len - 1] == '\n';
    if (full)
        text_len--;
    size_t slen = strlen(stream);
    size_t total = ts_len + 1 + slen + 3 + text_len + 1;
    char small[4096];
    char *line = total <= sizeof small ? small : cs_xmalloc(total);
    char *p = line;
    memcpy(p, data, ts_len);
    p += ts_len;
    *p++ = ' ';
    memcpy(p, stream, slen);
    p += slen;
    *p++ = ' ';
    *p++ = full ? 'F' : 'P';
    *p++ = ' ';
    memcpy(p, text, text_len);
    p += text_len;
    *p++ = '\n';
    pthread_mutex_lock(&f->fd_mu);
    ssize_t w = f->fd >= 0 ? write(f->fd, line, total) : -1;
    pthread_mutex_unlock(&f->fd_mu);
    if (line != small)
        free(line);
    if (w < 0)
        cs_warn("cannot write container log", "id", f->id, "path", f->path, "error", strerror(errno), NULL);
    f->last_ns[idx] = ns;
    f->last_partial[idx] = !full;
    return 0;
}

static int on_frame(void *user, int stream, const char *data, size_t len, cs_error *err)
{
    return write_entry(user, stream == DOCKER_STREAM_STDERR ? "stderr" : "stdout", data, len);
}

static int feed_demux(void *user, const char *data, size_t len, cs_error *err)
{
    return docker_demux_feed(user, data, len, err);
}

/* TTY containers have one raw stream: every line is stdout, and complete. */
static int on_tty_line(void *user, const char *line, size_t len, cs_error *err)
{
    follower *f = user;
    char *copy = cs_xmalloc(len + 2);
    memcpy(copy, line, len);
    copy[len] = '\n';
    copy[len + 1] = '\0';
    write_entry(f, "stdout", copy, len + 1);
    free(copy);
    return 0;
}

static int feed_tty(void *user, const char *data, size_t len, cs_error *err)
{
    follower *f = user;
    return docker_lines_feed(&f->lines, data, len, err);
}

/* ---- followers ---- */

static void *follow_main(void *arg)
{
    follower *f = arg;
    docker_logs *l = f->owner;
    docker_backend *d = l->d;
    cs_ctx ctx = {.deadline_ms = 0, .cancelled = &l->stopping};
    cs_arena *a = cs_arena_new();
    cs_error err;

    last_timestamps(f->path, f->last_ns, f->last_partial);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", f->path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        cs_mkdir_p(dir, 0755, NULL);
    }
    pthread_mutex_lock(&f->fd_mu);
    f->fd = open_log(f->path);
    pthread_mutex_unlock(&f->fd_mu);
    if (f->fd < 0) {
        cs_warn("cannot open container log", "id", f->id, "path", f->path, "error", strerror(errno), NULL);
        goto out;
    }

    docker_response resp;
    cs_json *j;
    cs_ctx quick = {.deadline_ms = cs_time_mono_ms() + 10000, .cancelled = &l->stopping};
    if (docker_get_json(d, &quick, cs_arena_printf(a, "/containers/%s/json", f->id), &resp, &j, &err) != 0)
        goto out;
    bool tty = cs_json_get_bool(j, 0, "Config.Tty", false);
    docker_json_release(&resp, j);

    /* Resume from the older of the two streams; later entries are filtered
     * per stream in write_entry. */
    char since[64] = "";
    int64_t from = f->last_ns[0] < f->last_ns[1] ? f->last_ns[0] : f->last_ns[1];
    if (from == 0)
        from = f->last_ns[0] > f->last_ns[1] ? f->last_ns[0] : f->last_ns[1];
    if (from > 0)
        snprintf(since, sizeof since, "&since=%lld.%09lld", (long long)(from / 1000000000),
                 (long long)(from % 1000000000));
    char *path = cs_arena_printf(a, "/containers/%s/logs?follow=1&stdout=1&stderr=1&timestamps=1%s", f->id, since);
    long status;
    int rc;
    if (tty) {
        f->lines.on_line = on_tty_line;
        f->lines.user = f;
        rc = docker_stream(d->http, &ctx, "GET", path, NULL, 0, NULL, 0, feed_tty, f, &status, &err);
        if (rc == 0)
            docker_lines_finish(&f->lines, &err);
        docker_lines_free(&f->lines);
    } else {
        docker_demux m = {.on_frame = on_frame, .user = f};
        rc = docker_stream(d->http, &ctx, "GET", path, NULL, 0, NULL, 0, feed_demux, &m, &status, &err);
        docker_demux_free(&m);
    }
    if (rc != 0 && !atomic_load(&l->stopping))
        cs_debug("container log stream ended", "id", f->id, "error", err.msg, NULL);
out:
    pthread_mutex_lock(&f->fd_mu);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    pthread_mutex_unlock(&f->fd_mu);
    cs_arena_free(a);
    atomic_store(&f->done, true);
    return NULL;
}

static void follower_free(follower *f)
{
    pthread_mutex_destroy(&f->fd_mu);
    free(f->id);
    free(f->path);
    free(f);
}

/* Joins and frees followers whose stream has ended. Called with mu held. */
static void reap_locked(docker_logs *l)
{
    follower **pp = &l->list;
    while (*pp) {
        follower *f = *pp;
        if (atomic_load(&f->done)) {
            pthread_join(f->thread, NULL);
            *pp = f->next;
            follower_free(f);
        } else {
            pp = &f->next;
        }
    }
}

void docker_logs_follow(docker_logs *l, const char *id, const char *log_path)
{
    if (!log_path || !*log_path || atomic_load(&l->stopping))
        return;
    pthread_mutex_lock(&l->mu);
    reap_locked(l);
    for (follower *f = l->list; f; f = f->next) {
        if (!strcmp(f->id, id)) {
            pthread_mutex_unlock(&l->mu);
            return;
        }
    }
    follower *f = cs_xcalloc(1, sizeof *f);
    f->owner = l;
    f->id = cs_xstrdup(id);
    f->path = cs_xstrdup(log_path);
    f->fd = -1;
    pthread_mutex_init(&f->fd_mu, NULL);
    atomic_init(&f->done, false);
    if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
        cs_warn("cannot start a log follower", "id", id, NULL);
        follower_free(f);
    } else {
        f->next = l->list;
        l->list = f;
    }
    pthread_mutex_unlock(&l->mu);
}

int docker_logs_reopen(docker_logs *l, const char *id, cs_error *err)
{
    int rc = cs_error_set(err, CS_ERR_CONFLICT, "container %s has no log being written", id);
    pthread_mutex_lock(&l->mu);
    for (follower *f = l->list; f; f = f->next) {
        if (strcmp(f->id, id) != 0 || atomic_load(&f->done))
            continue;
        pthread_mutex_lock(&f->fd_mu);
        int fd = open_log(f->path);
        if (fd < 0) {
            rc = cs_error_errno(err, CS_ERR_INTERNAL, errno, "reopen %s", f->path);
        } else {
            if (f->fd >= 0)
                close(f->fd);
            f->fd = fd;
            rc = 0;
        }
        pthread_mutex_unlock(&f->fd_mu);
        break;
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

/* ---- after a restart ---- */

static int resume_once(docker_logs *l)
{
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 10000, .cancelled = &l->stopping};
    docker_response resp;
    cs_json *j;
    if (docker_list_kind(l->d, &ctx, DL_KIND_CONTAINER, NULL, &resp, &j, NULL) != 0)
        return -1;
    cs_arena *a = cs_arena_new();
    for (int it = cs_json_first(j, 0); it >= 0; it = cs_json_next(j, 0, it)) {
        char *id = cs_json_get_str(j, it, "Id", a);
        char *path = docker_label(j, cs_json_key(j, it, "Labels"), DL_LOG_PATH, a);
        /* created-but-never-started containers have no output yet */
        if (id && path && *path && !cs_json_str_eq(j, cs_json_key(j, it, "State"), "created"))
            docker_logs_follow(l, id, path);
    }
    cs_arena_free(a);
    docker_json_release(&resp, j);
    return 0;
}

static void *resume_main(void *arg)
{
    docker_logs *l = arg;
    while (!atomic_load(&l->stopping) && resume_once(l) != 0) {
        for (int waited = 0; waited < RESUME_RETRY_MS && !atomic_load(&l->stopping); waited += 100)
            usleep(100000);
    }
    return NULL;
}

void docker_logs_resume_all(docker_logs *l)
{
    pthread_mutex_lock(&l->mu);
    if (!l->resume_started && pthread_create(&l->resume, NULL, resume_main, l) == 0)
        l->resume_started = true;
    pthread_mutex_unlock(&l->mu);
}

docker_logs *docker_logs_new(docker_backend *d)
{
    docker_logs *l = cs_xcalloc(1, sizeof *l);
    l->d = d;
    pthread_mutex_init(&l->mu, NULL);
    atomic_init(&l->stopping, false);
    return l;
}

void docker_logs_free(docker_logs *l)
{
    if (!l)
        return;
    atomic_store(&l->stopping, true);
    if (l->resume_started)
        pthread_join(l->resume, NULL);
    pthread_mutex_lock(&l->mu);
    follower *f = l->list;
    l->list = NULL;
    pthread_mutex_unlock(&l->mu);
    while (f) {
        follower *next = f->next;
        pthread_join(f->thread, NULL);
        follower_free(f);
        f = next;
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}
