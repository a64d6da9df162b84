/* WebSocket connections over libwslay's event API (see websocket.h).
 *
 * wslay is not thread-safe and does no I/O waiting of its own, so every call
 * into it happens under one mutex with the socket non-blocking: wslay reads
 * and writes what the kernel takes at once, and the waiting (poll) is done
 * here with the mutex released. A reader and several writers can then share
 * a connection without one blocking the others inside wslay. */
#include "stream/websocket.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "util/base64.h"
#include "util/fs.h"
#include "util/mem.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

typedef struct ws_msg {
    struct ws_msg *next;
    int opcode;
    size_t len;
    unsigned char data[];
} ws_msg;

struct ws_conn {
    int fd;
    pthread_mutex_t mu; /* guards ctx and everything below */
    wslay_event_context_ptr ctx;
    unsigned char *prefix; /* read before the socket */
    size_t prefix_len, prefix_off;
    ws_msg *head, *tail; /* received, not yet taken */
    bool eof;            /* the socket said EOF or failed */
    bool failed;         /* a protocol or I/O error */
};

/* ---- the handshake ---- */

int ws_accept_key(const char *client_key, char out[29])
{
    unsigned char *raw;
    size_t raw_len;
    if (!client_key || cs_base64_decode(client_key, strlen(client_key), &raw, &raw_len) != 0)
        return -1;
    free(raw);
    if (raw_len != 16)
        return -1;
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%s%s", client_key, WS_GUID);
    if (n <= 0 || (size_t)n >= sizeof buf)
        return -1;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_Digest(buf, (size_t)n, digest, &dlen, EVP_sha1(), NULL) != 1 || dlen != 20)
        return -1;
    char *b = cs_base64_encode(digest, dlen, false);
    snprintf(out, 29, "%s", b);
    free(b);
    return 0;
}

/* ---- wslay callbacks (called with mu held) ---- */

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    ws_conn *c = user;
    if (c->prefix_off < c->prefix_len) {
        size_t n = c->prefix_len - c->prefix_off < len ? c->prefix_len - c->prefix_off : len;
        memcpy(buf, c->prefix + c->prefix_off, n);
        c->prefix_off += n;
        return (ssize_t)n;
    }
    ssize_t r;
    do
        r = recv(c->fd, buf, len, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0)
        return r;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    c->eof = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
    ws_conn *c = user;
    ssize_t r;
    do
        r = send(c->fd, data, len, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r >= 0)
        return r;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        c->failed = true;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    ws_conn *c = user;
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
        return; /* ping, pong and close are wslay's business */
    ws_msg *m = cs_xmalloc(sizeof *m + arg->msg_length + 1);
    m->next = NULL;
    m->opcode = arg->opcode == WSLAY_TEXT_FRAME ? WS_TEXT : WS_BINARY;
    m->len = arg->msg_length;
    if (arg->msg_length)
        memcpy(m->data, arg->msg, arg->msg_length);
    m->data[m->len] = '\0';
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = on_recv,
    .send_callback = on_send,
    .genmask_callback = on_genmask,
    .on_msg_recv_callback = on_msg,
};

ws_conn *ws_conn_new(int fd, bool server, const void *prefix, size_t prefix_len, size_t max_msg, cs_error *err)
{
    ws_conn *c = cs_xcalloc(1, sizeof *c);
    c->fd = fd;
    pthread_mutex_init(&c->mu, NULL);
    int rc = server ? wslay_event_context_server_init(&c->ctx, &callbacks, c)
                    : wslay_event_context_client_init(&c->ctx, &callbacks, c);
    if (rc != 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        cs_error_set(err, CS_ERR_INTERNAL, "cannot set up the WebSocket");
        ws_conn_free(c);
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(c->ctx, max_msg);
    if (prefix_len) {
        c->prefix = cs_xmalloc(prefix_len);
        memcpy(c->prefix, prefix, prefix_len);
        c->prefix_len = prefix_len;
    }
    return c;
}

/* ---- I/O ---- */

/* Sends what wslay has queued until it is all out or the socket is full.
 * mu held. */
static void flush_locked(ws_conn *c)
{
    if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0)
        c->failed = true;
}

static bool finished_locked(ws_conn *c)
{
    return c->failed || c->eof || !wslay_event_get_read_enabled(c->ctx);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ws_recv(ws_conn *c, int timeout_ms, int *opcode, void **data, size_t *len, cs_error *err)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        if (c->head) {
            ws_msg *m = c->head;
            c->head = m->next;
            if (!c->head)
                c->tail = NULL;
            pthread_mutex_unlock(&c->mu);
            *opcode = m->opcode;
            *len = m->len;
            /* hand out the bytes alone: move them to the front of the block */
            memmove(m, m->data, m->len + 1);
            *data = m;
            return 0;
        }
        if (finished_locked(c)) {
            /* a close frame we answered, or the peer hanging up, is 2 (what
             * fails after a hang-up, like wslay's own close frame, doesn't
             * count); a protocol violation or a failed write is -1 */
            bool closed = wslay_event_get_close_received(c->ctx) || c->eof;
            flush_locked(c);
            pthread_mutex_unlock(&c->mu);
            if (closed)
                return 2;
            return cs_error_set(err, CS_ERR_UNAVAILABLE, "WebSocket connection failed");
        }
        bool have_prefix = c->prefix_off < c->prefix_len;
        short events = POLLIN | (wslay_event_want_write(c->ctx) ? POLLOUT : 0);
        pthread_mutex_unlock(&c->mu);
        if (!have_prefix) {
            int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
            if (deadline >= 0 && wait <= 0)
                return 1;
            struct pollfd p = {.fd = c->fd, .events = events};
            int pr = poll(&p, 1, wait);
            if (pr == 0)
                return 1;
        }
        pthread_mutex_lock(&c->mu);
        if (wslay_event_recv(c->ctx) != 0 && !c->eof)
            c->failed = true;
        flush_locked(c); /* pongs and close replies */
    }
}

int ws_send(ws_conn *c, int opcode, const void *data, size_t len, cs_error *err)
{
    struct wslay_event_msg msg = {
        .opcode = opcode == WS_TEXT ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME,
        .msg = data,
        .msg_length = len,
    };
    pthread_mutex_lock(&c->mu);
    if (c->failed || !wslay_event_get_write_enabled(c->ctx) || wslay_event_queue_msg(c->ctx, &msg) != 0) {
        pthread_mutex_unlock(&c->mu);
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "WebSocket connection is closed");
    }
    /* Until the queue is empty: ours is out then (with anything queued
     * before it), which gives writers TCP's back-pressure. */
    for (;;) {
        flush_locked(c);
        if (c->failed) {
            pthread_mutex_unlock(&c->mu);
            return cs_error_set(err, CS_ERR_UNAVAILABLE, "WebSocket peer went away");
        }
        if (!wslay_event_want_write(c->ctx))
            break;
        pthread_mutex_unlock(&c->mu);
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        poll(&p, 1, 1000);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int ws_send_close(ws_conn *c, uint16_t status, const char *reason, cs_error *err)
{
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > 122)
        rl = 122;
    pthread_mutex_lock(&c->mu);
    int rc = wslay_event_queue_close(c->ctx, status, (const uint8_t *)reason, rl);
    flush_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (rc != 0)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "WebSocket already closing");
    return 0;
}

void ws_conn_free(ws_conn *c)
{
    if (!c)
        return;
    if (c->ctx) {
        pthread_mutex_lock(&c->mu);
        flush_locked(c); /* a close frame still queued */
        pthread_mutex_unlock(&c->mu);
        wslay_event_context_free(c->ctx);
    }
    if (c->fd >= 0) {
        shutdown(c->fd, SHUT_RDWR);
        close(c->fd);
    }
    while (c->head) {
        ws_msg *m = c->head;
        c->head = m->next;
        free(m);
    }
    free(c->prefix);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- the client's handshake ---- */

/* The value of a response header, copied; NULL if absent. */
static char *header_value(const char *head, const char *name)
{
    size_t nl = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        const char *l = line + 2;
        if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            v += strspn(v, " \t");
            size_t vl = strcspn(v, "\r\n");
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            return cs_xstrndup(v, vl);
        }
    }
    return NULL;
}

int ws_client_handshake(int fd, const char *host, const char *path, const char *protocols, int *status,
                        char **chosen, void **prefix, size_t *prefix_len, cs_error *err)
{
    unsigned char nonce[16];
    if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
        return cs_error_set(err, CS_ERR_INTERNAL, "no randomness for a WebSocket key");
    char *key = cs_base64_encode(nonce, sizeof nonce, false);
    char *req = cs_xasprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                             path, host, key, protocols ? "Sec-WebSocket-Protocol: " : "",
                             protocols ? protocols : "", protocols ? "\r\n" : "");
    int rc = cs_send_all(fd, req, strlen(req));
    free(req);
    *chosen = NULL;
    *prefix = NULL;
    *prefix_len = 0;
    char buf[8192];
    size_t have = 0;
    char *end = NULL;
    while (rc == 0 && !end) {
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0 && errno == EINTR)
            continue;
        if (r <= 0 || have + (size_t)r >= sizeof buf - 1)
            rc = -1;
        else {
            have += (size_t)r;
            buf[have] = '\0';
            end = strstr(buf, "\r\n\r\n");
        }
    }
    if (rc != 0) {
        free(key);
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "no HTTP response to the WebSocket upgrade");
    }
    size_t head_len = (size_t)(end - buf) + 4;
    buf[head_len - 2] = '\0'; /* keeps the last header's CRLF for header_value */
    *status = strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : 0;
    if (*status == 101) {
        char want[29];
        char *accept = header_value(buf, "Sec-WebSocket-Accept");
        bool good = ws_accept_key(key, want) == 0 && accept && strcmp(accept, want) == 0;
        free(accept);
        if (!good) {
            free(key);
            return cs_error_set(err, CS_ERR_INTERNAL, "the server's Sec-WebSocket-Accept is wrong");
        }
        *chosen = header_value(buf, "Sec-WebSocket-Protocol");
        if (have > head_len) {
            *prefix_len = have - head_len;
            *prefix = cs_xmalloc(*prefix_len);
            memcpy(*prefix, buf + head_len, *prefix_len);
        }
    }
    free(key);
    return 0;
}
