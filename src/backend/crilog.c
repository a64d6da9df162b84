/* The CRI log writer; see crilog.h. */
#include "backend/crilog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

/* How much of an existing file's end is read for the resume timestamps. */
#define TAIL_BYTES 65536
/* "2026-11-24T09:12:58.123456789Z stdout F " */
#define PREFIX_MAX 64

static const char *const stream_names[] = {"stdout", "stderr"};

typedef struct pending {
    char *buf; /* an unfinished line of cs_crilog_feed, NULL when empty */
    size_t len;
} pending;

struct cs_crilog {
    pthread_mutex_t mu;
    char *path;
    char *what;
    int fd;
    bool failing; /* the last write failed: said once, until one succeeds */
    int64_t last_ns[2];
    bool last_partial[2];
    pending rest[2];
};

/* ---- the file ---- */

/* The newest timestamp per stream among the complete lines in the last
 * TAIL_BYTES of the file. Per stream, because an engine's merged stream is
 * ordered by write, not by timestamp, across stdout and stderr. */
static void last_timestamps(const char *path, int64_t last[2], bool partial[2])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        close(fd);
        return;
    }
    off_t from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
    char *buf = cs_xmalloc(TAIL_BYTES);
    ssize_t n = pread(fd, buf, TAIL_BYTES, from);
    const char *end = buf + (n > 0 ? n : 0);
    /* from the first line start (a cut first line is skipped) to the last '\n' */
    const char *line = buf;
    if (from > 0) {
        const char *nl = memchr(buf, '\n', (size_t)(end - buf));
        line = nl ? nl + 1 : end;
    }
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            break; /* incomplete last line */
        const char *sp = memchr(line, ' ', (size_t)(nl - line));
        int64_t ns;
        if (sp && nl - sp > 8 && cs_time_parse_rfc3339(line, (size_t)(sp - line), &ns) == 0) {
            int s = !strncmp(sp + 1, "stderr ", 7) ? CS_CRILOG_STDERR : CS_CRILOG_STDOUT;
            if (ns >= last[s]) {
                last[s] = ns;
                partial[s] = sp[8] == 'P';
            }
        }
        line = nl + 1;
    }
    free(buf);
    close(fd);
}

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int cs_crilog_open(const char *path, const char *what, cs_crilog **out, cs_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return cs_error_set(err, CS_ERR_INVALID, "container %s: no log path", what);
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        cs_cleanup_free char *dir = cs_xstrndup(path, (size_t)(slash - path));
        if (cs_mkdir_p(dir, 0755, err) != 0)
            return cs_error_wrap(err, "container %s log", what);
    }
    int fd = open_file(path);
    if (fd < 0)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "container %s: open log %s", what, path);
    cs_crilog *w = cs_xcalloc(1, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    w->path = cs_xstrdup(path);
    w->what = cs_xstrdup(what ? what : "");
    w->fd = fd;
    last_timestamps(path, w->last_ns, w->last_partial);
    *out = w;
    return 0;
}

const char *cs_crilog_path(const cs_crilog *w)
{
    return w->path;
}

int cs_crilog_reopen(cs_crilog *w, cs_error *err)
{
    pthread_mutex_lock(&w->mu);
    int fd = open_file(w->path);
    int rc = 0;
    if (fd < 0) {
        rc = cs_error_errno(err, CS_ERR_INTERNAL, errno, "reopen %s", w->path);
    } else {
        close(w->fd);
        w->fd = fd;
        w->failing = false; /* a new file, a new chance to say what goes wrong */
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

bool cs_crilog_seen(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns)
{
    pthread_mutex_lock(&w->mu);
    bool seen = ts_ns < w->last_ns[s] || (ts_ns == w->last_ns[s] && !w->last_partial[s]);
    pthread_mutex_unlock(&w->mu);
    return seen;
}

int64_t cs_crilog_last(cs_crilog *w, cs_crilog_stream s)
{
    pthread_mutex_lock(&w->mu);
    int64_t ns = w->last_ns[s];
    pthread_mutex_unlock(&w->mu);
    return ns;
}

/* ---- lines ---- */

/* writev until everything is out; -1 with errno on the first failure. */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        size_t done = (size_t)w;
        while (n > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

/* One file line of at most CS_CRILOG_LINE_MAX text bytes. Called with mu
 * held. */
static void put_line(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns, const char *text, size_t len, bool partial)
{
    char prefix[PREFIX_MAX];
    size_t n = cs_time_rfc3339(ts_ns, 9, prefix, sizeof prefix - 12);
    memcpy(prefix + n, " ", 1);
    memcpy(prefix + n + 1, stream_names[s], 6);
    memcpy(prefix + n + 7, partial ? " P " : " F ", 3);
    n += 10;
    struct iovec iov[3] = {
        {.iov_base = prefix, .iov_len = n},
        {.iov_base = (void *)text, .iov_len = len},
        {.iov_base = "\n", .iov_len = 1},
    };
    if (write_all(w->fd, iov, 3) != 0) {
        if (!w->failing)
            cs_warn("cannot write container log; dropping lines until it works again", "container", w->what, "path",
                    w->path, "error", strerror(errno), NULL);
        w->failing = true;
    } else {
        w->failing = false;
    }
    /* the line counts as handled either way: a replay must not retry it */
    w->last_ns[s] = ts_ns;
    w->last_partial[s] = partial;
}

/* A line's text in pieces of at most CS_CRILOG_LINE_MAX; the last piece is
 * P if partial. Called with mu held. */
static void put_text(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns, const char *text, size_t len, bool partial)
{
    while (len > CS_CRILOG_LINE_MAX) {
        put_line(w, s, ts_ns, text, CS_CRILOG_LINE_MAX, true);
        text += CS_CRILOG_LINE_MAX;
        len -= CS_CRILOG_LINE_MAX;
    }
    if (len > 0 || !partial)
        put_line(w, s, ts_ns, text, len, partial);
}

void cs_crilog_write(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns, const char *text, size_t len, bool partial)
{
    pthread_mutex_lock(&w->mu);
    const char *nl;
    while ((nl = memchr(text, '\n', len))) {
        put_text(w, s, ts_ns, text, (size_t)(nl - text), false);
        len -= (size_t)(nl - text) + 1;
        text = nl + 1;
        if (len == 0 && !partial) {
            pthread_mutex_unlock(&w->mu);
            return; /* "a\n" as a whole line is one F line, not two */
        }
    }
    put_text(w, s, ts_ns, text, len, partial);
    pthread_mutex_unlock(&w->mu);
}

/* Appends to the kept rest of a stream, which stays below LINE_MAX. */
static void keep(pending *p, const char *data, size_t len)
{
    if (!p->buf)
        p->buf = cs_xmalloc(CS_CRILOG_LINE_MAX);
    memcpy(p->buf + p->len, data, len);
    p->len += len;
}

static void drop_kept(pending *p)
{
    free(p->buf);
    p->buf = NULL;
    p->len = 0;
}

void cs_crilog_feed(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns, const char *data, size_t len)
{
    pthread_mutex_lock(&w->mu);
    pending *p = &w->rest[s];
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        size_t room = CS_CRILOG_LINE_MAX - p->len;
        if (n >= room && (!nl || n > room)) {
            /* the line reaches the buffer's bound: out goes a P piece */
            if (p->len) {
                keep(p, data, room);
                put_line(w, s, ts_ns, p->buf, CS_CRILOG_LINE_MAX, true);
                drop_kept(p);
            } else {
                put_line(w, s, ts_ns, data, CS_CRILOG_LINE_MAX, true);
            }
            data += room;
            len -= room;
            continue;
        }
        if (!nl) {
            keep(p, data, n);
            break;
        }
        if (p->len) {
            keep(p, data, n);
            put_line(w, s, ts_ns, p->buf, p->len, false);
            drop_kept(p);
        } else {
            put_line(w, s, ts_ns, data, n, false);
        }
        data += n + 1;
        len -= n + 1;
    }
    pthread_mutex_unlock(&w->mu);
}

void cs_crilog_flush(cs_crilog *w, cs_crilog_stream s, int64_t ts_ns)
{
    pthread_mutex_lock(&w->mu);
    pending *p = &w->rest[s];
    if (p->len)
        put_line(w, s, ts_ns, p->buf, p->len, true);
    drop_kept(p);
    pthread_mutex_unlock(&w->mu);
}

void cs_crilog_close(cs_crilog *w)
{
    if (!w)
        return;
    int64_t now = cs_time_now_ns();
    cs_crilog_flush(w, CS_CRILOG_STDOUT, now);
    cs_crilog_flush(w, CS_CRILOG_STDERR, now);
    close(w->fd);
    pthread_mutex_destroy(&w->mu);
    free(w->path);
    free(w->what);
    free(w);
}
