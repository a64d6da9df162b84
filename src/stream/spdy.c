/* SPDY/3.1 connections for the CRI streaming server (and for tests acting as
 * crictl): frame parsing and writing, the shared zlib header compression, and
 * per-stream buffering behind a blocking pull API. See spdy.h.
 *
 * Flow control. SPDY/3.1 has per-stream and per-session 64 KiB windows grown
 * by WINDOW_UPDATE. The peers we exist for don't use them: moby/spdystream
 * (under k8s.io/apimachinery's httpstream/spdy, used by kubelet, crictl and
 * kubectl) never sends WINDOW_UPDATE or SETTINGS, and its frame loop passes
 * received WINDOW_UPDATE/SETTINGS to a handler that only logs "unhandled frame
 * type"; its writers never look at a window. A sender honouring windows would
 * stall for good after 64 KiB against it. So we never wait on a window either,
 * ignore WINDOW_UPDATE and SETTINGS, and send no WINDOW_UPDATE: the only
 * back-pressure is TCP's. Each stream buffers at most SPDY_STREAM_BUFFER
 * unread bytes; when it is full the reader thread stops reading the socket
 * until the application drains it, and the peer's writes block in the kernel.
 * (That also stalls other streams of the connection, as it does in spdystream,
 * whose frame workers block on an unbuffered channel per stream.)
 *
 * Threads. One reader thread per connection owns the input side (socket
 * reads, the inflate stream). Frames are written by whichever thread needs to,
 * under wlock, which also guards the deflate stream and stream id allocation
 * so that ids hit the wire in increasing order. The reader must never wait for
 * wlock: a writer holding it may be blocked in send() until the peer reads,
 * and the peer's reader may be equally stuck behind us. Frames the reader
 * must send (PING echoes, RST_STREAM refusals) go to a small pending queue
 * that the reader sends only if it gets wlock at once, and that every wlock
 * holder flushes before letting go. */
#include "stream/spdy.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stream/spdy_block.h"
#include "stream/spdy_internal.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- small helpers ---- */

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Returns ETIMEDOUT once deadline (NULL: none) has passed. */
static int cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *deadline)
{
    if (!deadline) {
        pthread_cond_wait(cv, m);
        return 0;
    }
    return pthread_cond_timedwait(cv, m, deadline);
}

static void cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

void spdy_i_ctl_header(unsigned char *p, uint16_t type, uint8_t flags, uint32_t len)
{
    p[0] = 0x80;
    p[1] = SPDY_VERSION;
    p[2] = (unsigned char)(type >> 8);
    p[3] = (unsigned char)type;
    p[4] = flags;
    spdy_put24(p + 5, len);
}

/* ---- streams (all under c->lock) ---- */

spdy_stream *spdy_i_stream_new(spdy_conn *c, uint32_t id, bool peer_opened)
{
    spdy_stream *s = cs_xcalloc(1, sizeof *s);
    s->conn = c;
    s->id = id;
    s->peer_opened = peer_opened;
    s->refs = 1;
    if (!peer_opened)
        c->last_local_id = id;
    cond_init_mono(&s->cond);
    c->streams[c->nstreams++] = s;
    return s;
}

static void stream_destroy(spdy_stream *s)
{
    pthread_cond_destroy(&s->cond);
    free(s->hdrs);
    free(s->buf);
    free(s);
}

void spdy_i_stream_unref(spdy_stream *s)
{
    if (--s->refs == 0)
        stream_destroy(s);
}

spdy_stream *spdy_i_stream_find(spdy_conn *c, uint32_t id)
{
    for (size_t i = 0; i < c->nstreams; i++)
        if (c->streams[i]->id == id)
            return c->streams[i];
    return NULL;
}

void spdy_i_wake_all(spdy_conn *c)
{
    pthread_cond_broadcast(&c->cond);
    for (size_t i = 0; i < c->nstreams; i++)
        pthread_cond_broadcast(&c->streams[i]->cond);
}

/* Nothing more will arrive from the peer. */
static bool conn_input_over(const spdy_conn *c)
{
    return c->dead || c->eof || c->shut;
}

bool spdy_i_stream_wants_data(const spdy_stream *s)
{
    return !s->released && !s->reset && !s->remote_fin && !s->conn->shut;
}

/* Error for a frame we would send on s now, or 0. */
static int stream_check_send(spdy_stream *s, bool data, cs_error *err)
{
    spdy_conn *c = s->conn;
    if (c->dead || c->shut)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "spdy stream %u: connection closed", s->id);
    if (s->reset)
        return cs_error_set(err, CS_ERR_ABORTED, "spdy stream %u: reset", s->id);
    if (data && s->local_fin)
        return cs_error_set(err, CS_ERR_CONFLICT, "spdy stream %u: already closed for writing", s->id);
    if (data && s->peer_opened && !s->replied)
        return cs_error_set(err, CS_ERR_CONFLICT, "spdy stream %u: write before reply", s->id);
    return 0;
}

/* ---- writing (under wlock) ---- */

/* The connection can't be used any more: wake everyone and make the reader's
 * recv() return. */
void spdy_i_conn_kill(spdy_conn *c, const char *why)
{
    pthread_mutex_lock(&c->lock);
    bool was = c->dead;
    c->dead = true;
    spdy_i_wake_all(c);
    pthread_mutex_unlock(&c->lock);
    if (!was)
        cs_debug("spdy: connection failed", "reason", why, NULL);
    shutdown(c->fd, SHUT_RDWR);
}

static int send_all(spdy_conn *c, const unsigned char *p, size_t n, cs_error *err)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EPIPE;
            spdy_i_conn_kill(c, "write failed");
            return cs_error_errno(err, CS_ERR_UNAVAILABLE, e, "spdy: write");
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends what the reader queued. wlock held. */
static void pending_flush_locked(spdy_conn *c)
{
    pthread_mutex_lock(&c->lock);
    unsigned char *p = c->pending;
    size_t n = c->pending_len;
    c->pending = NULL;
    c->pending_len = 0;
    pthread_mutex_unlock(&c->lock);
    if (n > 0)
        send_all(c, p, n, NULL);
    free(p);
}

/* Sends queued frames unless someone else holds wlock: they flush before and
 * check again after letting go, so nothing queued is left behind. */
void spdy_i_pending_kick(spdy_conn *c)
{
    for (;;) {
        pthread_mutex_lock(&c->lock);
        bool empty = c->pending_len == 0;
        pthread_mutex_unlock(&c->lock);
        if (empty || pthread_mutex_trylock(&c->wlock) != 0)
            return;
        pending_flush_locked(c);
        pthread_mutex_unlock(&c->wlock);
    }
}

static void wlock(spdy_conn *c)
{
    pthread_mutex_lock(&c->wlock);
}

static void wunlock(spdy_conn *c)
{
    pending_flush_locked(c);
    pthread_mutex_unlock(&c->wlock);
    spdy_i_pending_kick(c);
}

/* Builds a frame on the wire only if the connection is still usable. */
static int send_frame_locked(spdy_conn *c, const unsigned char *p, size_t n, cs_error *err)
{
    pthread_mutex_lock(&c->lock);
    bool gone = c->dead || c->shut;
    pthread_mutex_unlock(&c->lock);
    if (gone)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "spdy: connection closed");
    return send_all(c, p, n, err);
}

/* SYN_STREAM or SYN_REPLY: fixed fields `fixed` (id first) then the block. */
static int send_headers_locked(spdy_conn *c, uint16_t type, uint8_t flags, const unsigned char *fixed,
                               size_t nfixed, const char *const *h, cs_error *err)
{
    unsigned char *block = NULL, *frame = NULL;
    size_t nblock, nframe;
    int rc = -1;
    if (spdy_block_build(h, &block, &nblock, err) < 0)
        goto out;
    if (spdy_block_deflate(&c->outz, block, nblock, 8 + nfixed, &frame, &nframe, err) < 0)
        goto out;
    spdy_i_ctl_header(frame, type, flags, (uint32_t)(nframe - 8));
    memcpy(frame + 8, fixed, nfixed);
    rc = send_frame_locked(c, frame, nframe, err);
out:
    free(block);
    free(frame);
    return rc;
}

/* ---- the public API ---- */

spdy_conn *spdy_conn_new(int fd, bool server, const void *prefix, size_t prefix_len, cs_error *err)
{
    spdy_conn *c = cs_xcalloc(1, sizeof *c);
    c->fd = fd;
    c->server = server;
    c->next_id = server ? 2 : 1;
    c->next_ping = server ? 2 : 1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->wlock, NULL);
    cond_init_mono(&c->cond);
    c->streams = cs_xcalloc(SPDY_MAX_STREAMS, sizeof *c->streams);
    c->acceptq = cs_xcalloc(SPDY_MAX_STREAMS, sizeof *c->acceptq);
    c->in_cap = prefix_len > IN_BUF_SIZE ? prefix_len : IN_BUF_SIZE;
    c->in = cs_xmalloc(c->in_cap);
    if (prefix_len > 0)
        memcpy(c->in, prefix, prefix_len);
    c->in_len = prefix_len;

    if (spdy_block_zinit(&c->inz, &c->outz, err) != 0)
        goto fail_z;
    int rc = pthread_create(&c->reader, NULL, spdy_i_reader_main, c);
    if (rc != 0) {
        cs_error_errno(err, CS_ERR_RESOURCE, rc, "spdy: start reader thread");
        goto fail;
    }
    c->reader_started = true;
    return c;
fail:
    spdy_block_zend(&c->inz, &c->outz);
fail_z:
    c->dead = true;
    spdy_conn_free(c);
    return NULL;
}

int spdy_conn_accept(spdy_conn *c, int timeout_ms, spdy_stream **out)
{
    struct timespec dl;
    if (timeout_ms >= 0)
        deadline_after(&dl, timeout_ms);
    *out = NULL;
    pthread_mutex_lock(&c->lock);
    int rc = -1;
    for (;;) {
        if (c->naccept > 0) {
            *out = c->acceptq[0];
            memmove(c->acceptq, c->acceptq + 1, --c->naccept * sizeof *c->acceptq);
            rc = 0;
            break;
        }
        if (conn_input_over(c) || c->goaway_in)
            break;
        if (cond_wait_until(&c->cond, &c->lock, timeout_ms >= 0 ? &dl : NULL) == ETIMEDOUT) {
            rc = 1;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int spdy_conn_ping(spdy_conn *c, int timeout_ms, cs_error *err)
{
    struct timespec dl;
    if (timeout_ms >= 0)
        deadline_after(&dl, timeout_ms);
    unsigned char f[12];
    wlock(c);
    uint32_t id = c->next_ping;
    c->next_ping += 2;
    spdy_i_ctl_header(f, TYPE_PING, 0, 4);
    spdy_put32(f + 8, id);
    int rc = send_frame_locked(c, f, sizeof f, err);
    wunlock(c);
    if (rc < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (c->ping_seen >= id) {
            rc = 0;
            break;
        }
        if (conn_input_over(c)) {
            rc = cs_error_set(err, CS_ERR_UNAVAILABLE, "spdy: connection closed before the PING echo");
            break;
        }
        if (cond_wait_until(&c->cond, &c->lock, timeout_ms >= 0 ? &dl : NULL) == ETIMEDOUT) {
            rc = 1;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

bool spdy_conn_alive(spdy_conn *c)
{
    pthread_mutex_lock(&c->lock);
    bool alive = !conn_input_over(c);
    pthread_mutex_unlock(&c->lock);
    return alive;
}

void spdy_conn_shutdown(spdy_conn *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->shut) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    c->shut = true;
    bool dead = c->dead;
    uint32_t last = c->last_peer_id;
    spdy_i_wake_all(c);
    pthread_mutex_unlock(&c->lock);
    /* best effort: a writer stuck in send() must not keep us here, and a
     * frame cut short by MSG_DONTWAIT is harmless on a socket we now shut */
    if (!dead && pthread_mutex_trylock(&c->wlock) == 0) {
        unsigned char f[16];
        spdy_i_ctl_header(f, TYPE_GOAWAY, 0, 8);
        spdy_put32(f + 8, last);
        spdy_put32(f + 12, 0);
        ssize_t w;
        do
            w = send(c->fd, f, sizeof f, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (w < 0 && errno == EINTR);
        pthread_mutex_unlock(&c->wlock);
    }
    shutdown(c->fd, SHUT_RDWR);
}

void spdy_conn_free(spdy_conn *c)
{
    if (!c)
        return;
    if (c->reader_started) {
        spdy_conn_shutdown(c);
        pthread_join(c->reader, NULL);
        spdy_block_zend(&c->inz, &c->outz);
    }
    if (c->fd >= 0)
        close(c->fd);
    for (size_t i = 0; i < c->nstreams; i++)
        stream_destroy(c->streams[i]);
    free(c->streams);
    free(c->acceptq);
    free(c->pending);
    free(c->in);
    free(c->ctl);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->wlock);
    free(c);
}

const char *spdy_stream_header(spdy_stream *s, const char *name)
{
    spdy_conn *c = s->conn;
    const char *v = NULL;
    pthread_mutex_lock(&c->lock);
    for (char **h = s->hdrs; h && h[0]; h += 2) {
        if (strcasecmp(h[0], name) == 0) {
            v = h[1];
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return v;
}

uint32_t spdy_stream_id(spdy_stream *s)
{
    return s->id;
}

int spdy_stream_reply(spdy_stream *s, cs_error *err)
{
    spdy_conn *c = s->conn;
    pthread_mutex_lock(&c->lock);
    int rc = 0;
    if (!s->peer_opened || s->replied)
        rc = cs_error_set(err, CS_ERR_CONFLICT, "spdy stream %u: %s", s->id,
                          s->peer_opened ? "already replied" : "cannot reply to a stream we opened");
    else
        rc = stream_check_send(s, false, err);
    pthread_mutex_unlock(&c->lock);
    if (rc < 0)
        return -1;

    unsigned char fixed[4];
    spdy_put32(fixed, s->id);
    const char *none[] = {NULL};
    wlock(c);
    rc = send_headers_locked(c, TYPE_SYN_REPLY, 0, fixed, sizeof fixed, none, err);
    if (rc == 0) {
        pthread_mutex_lock(&c->lock);
        s->replied = true;
        pthread_mutex_unlock(&c->lock);
    }
    wunlock(c);
    return rc;
}

spdy_stream *spdy_stream_open(spdy_conn *c, const char *const *headers, bool fin, cs_error *err)
{
    spdy_stream *s = NULL;
    wlock(c);
    pthread_mutex_lock(&c->lock);
    if (conn_input_over(c) || c->goaway_in)
        cs_error_set(err, CS_ERR_UNAVAILABLE, "spdy: connection closed");
    else if (c->nstreams >= SPDY_MAX_STREAMS)
        cs_error_set(err, CS_ERR_RESOURCE, "spdy: too many streams (%d)", SPDY_MAX_STREAMS);
    else if (c->next_id > MAX_STREAM_ID)
        cs_error_set(err, CS_ERR_RESOURCE, "spdy: stream ids exhausted");
    else {
        s = spdy_i_stream_new(c, c->next_id, false);
        c->next_id += 2;
        s->local_fin = fin;
    }
    pthread_mutex_unlock(&c->lock);
    if (s) {
        unsigned char fixed[10] = {0};
        spdy_put32(fixed, s->id);
        /* associated-to 0, priority 0, slot 0: what spdystream sends */
        if (send_headers_locked(c, TYPE_SYN_STREAM, fin ? FLAG_FIN : 0, fixed, sizeof fixed, headers, err) < 0)
            s = NULL; /* the stream stays in the table until the conn is freed */
    }
    wunlock(c);
    return s;
}

int spdy_stream_wait_reply(spdy_stream *s, int timeout_ms, cs_error *err)
{
    spdy_conn *c = s->conn;
    if (s->peer_opened)
        return cs_error_set(err, CS_ERR_INVALID, "spdy stream %u: the peer opened it", s->id);
    struct timespec dl;
    if (timeout_ms >= 0)
        deadline_after(&dl, timeout_ms);
    int rc;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (s->replied) {
            rc = 0;
            break;
        }
        if (s->reset) {
            rc = cs_error_set(err, CS_ERR_ABORTED, "spdy stream %u: reset before reply", s->id);
            break;
        }
        if (conn_input_over(c)) {
            rc = cs_error_set(err, CS_ERR_UNAVAILABLE, "spdy stream %u: connection closed before reply", s->id);
            break;
        }
        if (cond_wait_until(&s->cond, &c->lock, timeout_ms >= 0 ? &dl : NULL) == ETIMEDOUT) {
            rc = 1;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int spdy_stream_read(spdy_stream *s, void *buf, size_t cap, size_t *n, int timeout_ms, cs_error *err)
{
    spdy_conn *c = s->conn;
    *n = 0;
    if (cap == 0)
        return cs_error_set(err, CS_ERR_INVALID, "spdy stream %u: read into an empty buffer", s->id);
    struct timespec dl;
    if (timeout_ms >= 0)
        deadline_after(&dl, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (s->len > 0) {
            size_t k = s->len < cap ? s->len : cap;
            memcpy(buf, s->buf + s->off, k);
            s->off += k;
            s->len -= k;
            if (s->len == 0)
                s->off = 0;
            *n = k;
            pthread_cond_broadcast(&s->cond); /* the reader may wait for room */
            break;
        }
        if (s->remote_fin || s->reset || conn_input_over(c))
            break;
        if (cond_wait_until(&s->cond, &c->lock, timeout_ms >= 0 ? &dl : NULL) == ETIMEDOUT) {
            rc = 1;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* One DATA frame. wlock held. */
static int send_data_locked(spdy_stream *s, const unsigned char *p, size_t n, uint8_t flags, cs_error *err)
{
    spdy_conn *c = s->conn;
    pthread_mutex_lock(&c->lock);
    int rc = stream_check_send(s, true, err);
    if (rc == 0 && (flags & FLAG_FIN))
        s->local_fin = true;
    pthread_mutex_unlock(&c->lock);
    if (rc < 0)
        return -1;
    unsigned char *f = cs_xmalloc(8 + n);
    spdy_put32(f, s->id);
    f[4] = flags;
    spdy_put24(f + 5, (uint32_t)n);
    if (n > 0)
        memcpy(f + 8, p, n);
    rc = send_frame_locked(c, f, 8 + n, err);
    free(f);
    return rc;
}

int spdy_stream_write(spdy_stream *s, const void *data, size_t len, cs_error *err)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t k = len < SPDY_MAX_DATA_FRAME ? len : SPDY_MAX_DATA_FRAME;
        /* wlock per frame, so other streams' frames and PING echoes get in */
        wlock(s->conn);
        int rc = send_data_locked(s, p, k, 0, err);
        wunlock(s->conn);
        if (rc < 0)
            return -1;
        p += k;
        len -= k;
    }
    return 0;
}

int spdy_stream_close(spdy_stream *s, cs_error *err)
{
    wlock(s->conn);
    int rc = send_data_locked(s, NULL, 0, FLAG_FIN, err);
    wunlock(s->conn);
    return rc;
}

int spdy_stream_reset(spdy_stream *s, uint32_t status, cs_error *err)
{
    spdy_conn *c = s->conn;
    pthread_mutex_lock(&c->lock);
    bool was = s->reset;
    s->reset = s->remote_fin = s->local_fin = true;
    s->off = s->len = 0; /* nobody will read it */
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&c->lock);
    if (was)
        return 0;
    unsigned char f[16];
    spdy_i_ctl_header(f, TYPE_RST_STREAM, 0, 8);
    spdy_put32(f + 8, s->id);
    spdy_put32(f + 12, status);
    wlock(c);
    int rc = send_frame_locked(c, f, sizeof f, err);
    wunlock(c);
    return rc;
}

void spdy_stream_release(spdy_stream *s)
{
    spdy_conn *c = s->conn;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nstreams; i++) {
        if (c->streams[i] == s) {
            c->streams[i] = c->streams[--c->nstreams];
            break;
        }
    }
    for (size_t i = 0; i < c->naccept; i++) {
        if (c->acceptq[i] == s) {
            memmove(c->acceptq + i, c->acceptq + i + 1, (--c->naccept - i) * sizeof *c->acceptq);
            break;
        }
    }
    s->released = true;
    pthread_cond_broadcast(&s->cond);
    spdy_i_stream_unref(s);
    pthread_mutex_unlock(&c->lock);
}
