/* The reader thread of a SPDY connection (see spdy.c for the threading
 * rules): reads frames, inflates header blocks, answers PINGs, queues
 * peer-opened streams for accept and buffers DATA per stream. Any bad input
 * ends the connection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream/spdy_block.h"
#include "stream/spdy_internal.h"
#include "util/log.h"
#include "util/mem.h"

/* Makes at least one unread byte available. */
static int rd_fill(spdy_conn *c)
{
    if (c->in_off < c->in_len)
        return 0;
    c->in_off = c->in_len = 0;
    for (;;) {
        ssize_t r = recv(c->fd, c->in, c->in_cap, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            c->why = r == 0 ? "peer closed the connection" : "read failed";
            c->why_error = r < 0;
            return -1;
        }
        c->in_len = (size_t)r;
        return 0;
    }
}

/* Copies exactly n bytes of input to dst. */
static int rd_exact(spdy_conn *c, unsigned char *dst, size_t n)
{
    while (n > 0) {
        if (rd_fill(c) < 0) {
            c->why = "truncated frame";
            return -1;
        }
        size_t k = c->in_len - c->in_off;
        if (k > n)
            k = n;
        memcpy(dst, c->in + c->in_off, k);
        c->in_off += k;
        dst += k;
        n -= k;
    }
    return 0;
}

/* Queues a frame for the peer from the reader thread (see the top comment). */
static int queue_frame(spdy_conn *c, const unsigned char *p, size_t n)
{
    pthread_mutex_lock(&c->lock);
    if (c->pending_len + n > PENDING_MAX) {
        pthread_mutex_unlock(&c->lock);
        c->why = "peer does not read our control frames";
        return -1;
    }
    c->pending = cs_xrealloc(c->pending, c->pending_len + n);
    memcpy(c->pending + c->pending_len, p, n);
    c->pending_len += n;
    pthread_mutex_unlock(&c->lock);
    spdy_i_pending_kick(c);
    return 0;
}

static int queue_rst(spdy_conn *c, uint32_t id, uint32_t status)
{
    unsigned char f[16];
    spdy_i_ctl_header(f, TYPE_RST_STREAM, 0, 8);
    spdy_put32(f + 8, id);
    spdy_put32(f + 12, status);
    return queue_frame(c, f, sizeof f);
}

static int on_syn_stream(spdy_conn *c, uint8_t flags, const unsigned char *p, size_t n)
{
    if (n < 10) {
        c->why = "short SYN_STREAM";
        return -1;
    }
    uint32_t id = spdy_get32(p) & MAX_STREAM_ID;
    char **h;
    /* decompress even a frame we refuse: the zlib stream spans all frames */
    if (spdy_block_read(&c->inz, p + 10, n - 10, &h, &c->why) < 0)
        return -1;
    uint32_t parity = c->server ? 1 : 0;
    pthread_mutex_lock(&c->lock);
    uint32_t status = 0;
    if (id == 0 || (id & 1) != parity || id <= c->last_peer_id)
        status = SPDY_PROTOCOL_ERROR;
    else if (c->shut || c->nstreams >= SPDY_MAX_STREAMS)
        status = SPDY_REFUSED_STREAM;
    if (id > c->last_peer_id && (id & 1) == parity)
        c->last_peer_id = id;
    if (status == 0) {
        spdy_stream *s = spdy_i_stream_new(c, id, true);
        s->hdrs = h;
        h = NULL;
        s->remote_fin = flags & FLAG_FIN;
        s->local_fin = flags & FLAG_UNIDIRECTIONAL;
        c->acceptq[c->naccept++] = s;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    free(h);
    return status ? queue_rst(c, id, status) : 0;
}

static int on_syn_reply(spdy_conn *c, uint8_t flags, const unsigned char *p, size_t n)
{
    if (n < 4) {
        c->why = "short SYN_REPLY";
        return -1;
    }
    char **h;
    if (spdy_block_read(&c->inz, p + 4, n - 4, &h, &c->why) < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    spdy_stream *s = spdy_i_stream_find(c, spdy_get32(p) & MAX_STREAM_ID);
    if (s && !s->peer_opened && !s->replied) {
        s->hdrs = h;
        h = NULL;
        s->replied = true;
        if (flags & FLAG_FIN)
            s->remote_fin = true;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&c->lock);
    free(h);
    return 0;
}

static int on_headers(spdy_conn *c, uint8_t flags, const unsigned char *p, size_t n)
{
    if (n < 4) {
        c->why = "short HEADERS";
        return -1;
    }
    char **h;
    if (spdy_block_read(&c->inz, p + 4, n - 4, &h, &c->why) < 0)
        return -1;
    free(h); /* nothing in the Kubernetes protocols sends these; only FIN matters */
    pthread_mutex_lock(&c->lock);
    spdy_stream *s = spdy_i_stream_find(c, spdy_get32(p) & MAX_STREAM_ID);
    if (s && (flags & FLAG_FIN)) {
        s->remote_fin = true;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static int on_rst_stream(spdy_conn *c, const unsigned char *p, size_t n)
{
    if (n < 8) {
        c->why = "short RST_STREAM";
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    spdy_stream *s = spdy_i_stream_find(c, spdy_get32(p) & MAX_STREAM_ID);
    if (s) {
        /* data already buffered stays readable: it was sent before the reset */
        s->reset = true;
        s->remote_fin = true;
        s->local_fin = true;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static int on_ping(spdy_conn *c, const unsigned char *p, size_t n)
{
    if (n < 4) {
        c->why = "short PING";
        return -1;
    }
    uint32_t id = spdy_get32(p);
    uint32_t ours = c->server ? 0 : 1;
    if ((id & 1) != ours) {
        unsigned char f[12];
        spdy_i_ctl_header(f, TYPE_PING, 0, 4);
        spdy_put32(f + 8, id);
        return queue_frame(c, f, sizeof f);
    }
    pthread_mutex_lock(&c->lock);
    if (id > c->ping_seen)
        c->ping_seen = id;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static int on_goaway(spdy_conn *c, const unsigned char *p, size_t n)
{
    if (n < 4) {
        c->why = "short GOAWAY";
        return -1;
    }
    uint32_t last = spdy_get32(p) & MAX_STREAM_ID;
    pthread_mutex_lock(&c->lock);
    c->goaway_in = true;
    /* streams we opened past `last` were never seen by the peer */
    for (size_t i = 0; i < c->nstreams; i++) {
        spdy_stream *s = c->streams[i];
        if (!s->peer_opened && s->id > last) {
            s->reset = s->remote_fin = s->local_fin = true;
        }
    }
    spdy_i_wake_all(c);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static int on_control(spdy_conn *c, uint16_t type, uint8_t flags, const unsigned char *p, size_t n)
{
    switch (type) {
    case TYPE_SYN_STREAM:
        return on_syn_stream(c, flags, p, n);
    case TYPE_SYN_REPLY:
        return on_syn_reply(c, flags, p, n);
    case TYPE_RST_STREAM:
        return on_rst_stream(c, p, n);
    case TYPE_PING:
        return on_ping(c, p, n);
    case TYPE_GOAWAY:
        return on_goaway(c, p, n);
    case TYPE_HEADERS:
        return on_headers(c, flags, p, n);
    case TYPE_SETTINGS:
    case TYPE_WINDOW_UPDATE:
    default:
        /* no windows to keep (see the top of the file); unknown types are
         * to be ignored per the draft */
        return 0;
    }
}

/* Appends n bytes to s, waiting for room; drops the rest if the stream stops
 * wanting data meanwhile (reset, released, shut down). c->lock held. */
static void stream_push(spdy_conn *c, spdy_stream *s, const unsigned char *p, size_t n)
{
    while (n > 0 && spdy_i_stream_wants_data(s)) {
        if (s->off > 0 && s->off + s->len + n > s->cap) {
            memmove(s->buf, s->buf + s->off, s->len);
            s->off = 0;
        }
        size_t want = s->len + n;
        if (want > s->cap && s->cap < SPDY_STREAM_BUFFER) {
            size_t cap = s->cap ? s->cap : 16384;
            while (cap < want && cap < SPDY_STREAM_BUFFER)
                cap *= 2;
            if (cap > SPDY_STREAM_BUFFER)
                cap = SPDY_STREAM_BUFFER;
            s->buf = cs_xrealloc(s->buf, cap);
            s->cap = cap;
        }
        size_t room = s->cap - s->off - s->len;
        if (room == 0) {
            pthread_cond_wait(&s->cond, &c->lock);
            continue;
        }
        size_t k = room < n ? room : n;
        memcpy(s->buf + s->off + s->len, p, k);
        s->len += k;
        p += k;
        n -= k;
        pthread_cond_broadcast(&s->cond);
    }
}

static int on_data(spdy_conn *c, uint32_t id, uint8_t flags, uint32_t len)
{
    if (id == 0) {
        c->why = "DATA on stream 0";
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    spdy_stream *s = spdy_i_stream_find(c, id);
    if (s)
        s->refs++; /* keeps s while we wait for room, even if released */
    bool ours = (id & 1) == (c->server ? 0u : 1u);
    bool never = ours ? id > c->last_local_id : id > c->last_peer_id;
    pthread_mutex_unlock(&c->lock);
    if (never) {
        /* not a stream that was ever opened: the peer isn't speaking SPDY
         * (say, HTTP after a failed upgrade); don't wait for its "payload" */
        c->why = "DATA for a stream never opened";
        return -1;
    }

    int rc = 0;
    while (len > 0) {
        if (rd_fill(c) < 0) {
            c->why = "truncated DATA frame";
            rc = -1;
            break;
        }
        size_t k = c->in_len - c->in_off;
        if (k > len)
            k = len;
        if (s) {
            pthread_mutex_lock(&c->lock);
            stream_push(c, s, c->in + c->in_off, k);
            pthread_mutex_unlock(&c->lock);
        }
        c->in_off += k;
        len -= (uint32_t)k;
    }
    if (s) {
        pthread_mutex_lock(&c->lock);
        if (rc == 0 && (flags & FLAG_FIN)) {
            s->remote_fin = true;
            pthread_cond_broadcast(&s->cond);
        }
        spdy_i_stream_unref(s);
        pthread_mutex_unlock(&c->lock);
    }
    return rc;
}

static int read_frame(spdy_conn *c)
{
    unsigned char h[8];
    if (rd_fill(c) < 0) {
        c->clean_eof = !c->why_error;
        return -1; /* between frames: a clean end, unless recv failed */
    }
    if (rd_exact(c, h, sizeof h) < 0)
        return -1;
    uint8_t flags = h[4];
    uint32_t len = spdy_get24(h + 5);
    if (!(h[0] & 0x80))
        return on_data(c, spdy_get32(h) & MAX_STREAM_ID, flags, len);

    uint16_t version = (uint16_t)((h[0] & 0x7f) << 8 | h[1]);
    uint16_t type = (uint16_t)(h[2] << 8 | h[3]);
    if (version != SPDY_VERSION) {
        c->why = "unsupported SPDY version";
        return -1;
    }
    if (len > SPDY_MAX_CONTROL_FRAME) {
        c->why = "control frame too large";
        return -1;
    }
    if (len > c->ctl_cap) {
        c->ctl = cs_xrealloc(c->ctl, len);
        c->ctl_cap = len;
    }
    if (rd_exact(c, c->ctl, len) < 0)
        return -1;
    return on_control(c, type, flags, c->ctl, len);
}

/* A clean EOF only ends the input: the peer may have half-closed and still
 * read what we send. Anything else breaks the connection both ways. */
void *spdy_i_reader_main(void *arg)
{
    spdy_conn *c = arg;
    while (read_frame(c) == 0)
        ;
    pthread_mutex_lock(&c->lock);
    bool quiet = c->shut, clean = c->clean_eof;
    c->eof = true;
    spdy_i_wake_all(c);
    pthread_mutex_unlock(&c->lock);
    if (!quiet)
        cs_debug("spdy: connection input ended", "reason", c->why ? c->why : "unknown", NULL);
    if (!clean)
        spdy_i_conn_kill(c, c->why ? c->why : "unknown");
    return NULL;
}
