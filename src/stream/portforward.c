/* Port-forward (see portforward.h).
 *
 * Each forwarded connection copies both ways with TCP's half-close kept: the
 * client's end of stream becomes shutdown(SHUT_WR) on the pod side, and the
 * pod's EOF becomes a FIN on the data stream. */
#include "stream/portforward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/base64.h"
#include "util/log.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/time.h"

#define CHUNK (32 * 1024)
#define POLL_MS 250
#define MAX_PENDING 64 /* half-opened stream pairs */

/* ---- entering the pod's network namespace ---- */

typedef struct dial {
    const char *netns;
    uint16_t port;
    int fd;
    cs_error err;
} dial;

static int connect_loopback(int family, uint16_t port)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        s6->sin6_addr = in6addr_loopback;
        len = sizeof *s6;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* setns() moves only this thread, which ends right after: the daemon's
 * other threads never leave the host's namespace. */
static void *dial_main(void *arg)
{
    dial *d = arg;
    int ns = open(d->netns, O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
        cs_error_errno(&d->err, CS_ERR_CONFLICT, errno, "open %s", d->netns);
        return NULL;
    }
    if (setns(ns, CLONE_NEWNET) != 0) {
        cs_error_errno(&d->err, CS_ERR_INTERNAL, errno, "enter the pod's network namespace");
        close(ns);
        return NULL;
    }
    close(ns);
    d->fd = connect_loopback(AF_INET, d->port);
    if (d->fd < 0) {
        int e = errno;
        d->fd = connect_loopback(AF_INET6, d->port);
        if (d->fd < 0)
            cs_error_errno(&d->err, CS_ERR_UNAVAILABLE, e, "connect to localhost:%u", d->port);
    }
    return NULL;
}

int strm_dial_netns(const char *netns, uint16_t port, int *fd, cs_error *err)
{
    dial d = {.netns = netns, .port = port, .fd = -1};
    cs_error_clear(&d.err);
    pthread_t th;
    if (pthread_create(&th, NULL, dial_main, &d) != 0)
        return cs_error_set(err, CS_ERR_RESOURCE, "no thread to enter the pod's network namespace");
    pthread_join(th, NULL);
    if (d.fd < 0) {
        if (err)
            *err = d.err;
        return -1;
    }
    *fd = d.fd;
    return 0;
}

static int dial_pod(cs_backend *b, const char *sandbox, uint16_t port, int *fd, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 10000};
    const char *netns;
    int rc = cs_backend_sandbox_netns(b, &ctx, sandbox, a, &netns, err);
    if (rc == 0)
        rc = strm_dial_netns(netns, port, fd, err);
    cs_arena_free(a);
    if (rc != 0)
        cs_error_wrap(err, "error forwarding port %u to pod %s", port, sandbox);
    return rc;
}

/* 0 with *n (0: EOF), 1 timeout, -1 error. */
static int recv_some(int fd, void *buf, size_t cap, size_t *n, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, timeout_ms);
    if (pr == 0 || (pr < 0 && errno == EINTR))
        return 1;
    if (pr < 0)
        return -1;
    ssize_t r = recv(fd, buf, cap, 0);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : -1;
    *n = (size_t)r;
    return 0;
}

/* ---- SPDY: a data and an error stream per connection ---- */

typedef struct forward {
    spdy_conn *conn;
    cs_backend *b;
    const char *sandbox;
    uint16_t port;
    char request_id[32];
    spdy_stream *data, *error;
    int fd;
    pthread_t thread;
    atomic_bool done;
    struct forward *next;
} forward;

/* Client → pod, until the client's end of stream. */
static void *upstream_main(void *arg)
{
    forward *f = arg;
    char *buf = cs_xmalloc(CHUNK);
    for (;;) {
        size_t n;
        int rc = spdy_stream_read(f->data, buf, CHUNK, &n, POLL_MS, NULL);
        if (rc == 1)
            continue;
        if (rc < 0 || n == 0 || cs_send_all(f->fd, buf, n) != 0)
            break;
    }
    shutdown(f->fd, SHUT_WR);
    free(buf);
    return NULL;
}

/* Pod → client in this thread, client → pod in another. */
static void *forward_main(void *arg)
{
    forward *f = arg;
    cs_error err;
    if (dial_pod(f->b, f->sandbox, f->port, &f->fd, &err) != 0) {
        cs_info("port-forward failed", "pod", f->sandbox, "error", err.msg, NULL);
        spdy_stream_write(f->error, err.msg, strlen(err.msg), NULL);
        spdy_stream_close(f->data, NULL); /* so the client closes its local connection */
        goto out;
    }
    pthread_t up;
    bool up_started = pthread_create(&up, NULL, upstream_main, f) == 0;
    char *buf = cs_xmalloc(CHUNK);
    for (;;) {
        size_t n;
        int rc = recv_some(f->fd, buf, CHUNK, &n, POLL_MS);
        if (rc == 1) {
            if (!spdy_conn_alive(f->conn))
                break;
            continue;
        }
        if (rc < 0 || n == 0 || spdy_stream_write(f->data, buf, n, NULL) != 0)
            break;
    }
    free(buf);
    spdy_stream_close(f->data, NULL);
    if (up_started) {
        /* The client answers our end of stream with its own (or a reset). */
        pthread_join(up, NULL);
    }
    close(f->fd);
out:
    spdy_stream_close(f->error, NULL);
    atomic_store(&f->done, true);
    return NULL;
}

static forward *find_pending(forward *pending, const char *request_id)
{
    for (forward *f = pending; f; f = f->next)
        if (strcmp(f->request_id, request_id) == 0)
            return f;
    return NULL;
}

static void remove_from(forward **list, forward *f)
{
    for (forward **pp = list; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            return;
        }
}

/* Joins the forwards that finished; all of them when `all`. */
static void reap(forward **running, bool all)
{
    for (forward **pp = running; *pp;) {
        forward *f = *pp;
        if (all || atomic_load(&f->done)) {
            pthread_join(f->thread, NULL);
            *pp = f->next;
            spdy_stream_release(f->data);
            spdy_stream_release(f->error);
            free(f);
        } else {
            pp = &f->next;
        }
    }
}

/* Streams name their pair with a requestID header; clients that predate it
 * open the error stream right before the data stream, so ids differ by 2. */
static void request_id_of(spdy_stream *st, bool is_error, char out[32])
{
    const char *rid = spdy_stream_header(st, "requestid");
    if (rid && *rid && strlen(rid) < 32) {
        snprintf(out, 32, "%s", rid);
        return;
    }
    uint32_t id = spdy_stream_id(st);
    snprintf(out, 32, "#%u", is_error ? id : id - 2);
}

static bool parse_port(const char *s, uint16_t *port)
{
    if (!s || !*s)
        return false;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v <= 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

void strm_portforward_spdy(spdy_conn *conn, const strm_request *req, cs_backend *b)
{
    forward *pending = NULL, *running = NULL;
    int npending = 0;
    while (spdy_conn_alive(conn)) {
        spdy_stream *st;
        int rc = spdy_conn_accept(conn, POLL_MS, &st);
        reap(&running, false);
        if (rc == 1)
            continue;
        if (rc < 0)
            break;
        const char *type = spdy_stream_header(st, "streamtype");
        bool is_error = type && strcmp(type, "error") == 0, is_data = type && strcmp(type, "data") == 0;
        uint16_t port;
        if ((!is_error && !is_data) || !parse_port(spdy_stream_header(st, "port"), &port)) {
            spdy_stream_reset(st, SPDY_PROTOCOL_ERROR, NULL);
            spdy_stream_release(st);
            continue;
        }
        spdy_stream_reply(st, NULL);
        char rid[32];
        request_id_of(st, is_error, rid);
        forward *f = find_pending(pending, rid);
        if (!f) {
            if (npending >= MAX_PENDING) {
                spdy_stream_reset(st, SPDY_REFUSED_STREAM, NULL);
                spdy_stream_release(st);
                continue;
            }
            f = cs_xcalloc(1, sizeof *f);
            f->conn = conn;
            f->b = b;
            f->sandbox = req->id;
            f->port = port;
            f->fd = -1;
            atomic_init(&f->done, false);
            snprintf(f->request_id, sizeof f->request_id, "%s", rid);
            f->next = pending;
            pending = f;
            npending++;
        }
        if ((is_error && f->error) || (is_data && f->data)) {
            spdy_stream_reset(st, SPDY_PROTOCOL_ERROR, NULL);
            spdy_stream_release(st);
            continue;
        }
        *(is_error ? &f->error : &f->data) = st;
        if (!f->error || !f->data)
            continue;
        remove_from(&pending, f);
        npending--;
        if (pthread_create(&f->thread, NULL, forward_main, f) != 0) {
            spdy_stream_reset(f->data, SPDY_REFUSED_STREAM, NULL);
            spdy_stream_reset(f->error, SPDY_REFUSED_STREAM, NULL);
            spdy_stream_release(f->data);
            spdy_stream_release(f->error);
            free(f);
            continue;
        }
        f->next = running;
        running = f;
    }
    reap(&running, true);
    while (pending) {
        forward *f = pending;
        pending = f->next;
        free(f);
    }
}

/* ---- WebSocket: channels 2n (data) and 2n+1 (error) for port n ---- */

typedef struct ws_port {
    ws_conn *conn;
    bool base64;
    int index;
    uint16_t port;
    int fd;
    pthread_t thread;
    bool started;
    atomic_bool *dead;
    atomic_int *open; /* ports whose pod side is still open */
} ws_port;

static int ws_chan_send(ws_conn *conn, bool base64, int chan, const void *data, size_t len)
{
    int rc;
    if (base64) {
        char *b = cs_base64_encode(data, len, false);
        size_t bl = strlen(b);
        char *msg = cs_xmalloc(bl + 1);
        msg[0] = (char)('0' + chan);
        memcpy(msg + 1, b, bl);
        rc = ws_send(conn, WS_TEXT, msg, bl + 1, NULL);
        free(msg);
        free(b);
    } else {
        unsigned char *msg = cs_xmalloc(len + 1);
        msg[0] = (unsigned char)chan;
        memcpy(msg + 1, data, len);
        rc = ws_send(conn, WS_BINARY, msg, len + 1, NULL);
        free(msg);
    }
    return rc;
}

/* Pod → client for one port. */
static void *ws_down_main(void *arg)
{
    ws_port *p = arg;
    char *buf = cs_xmalloc(CHUNK);
    while (!atomic_load(p->dead)) {
        size_t n;
        int rc = recv_some(p->fd, buf, CHUNK, &n, POLL_MS);
        if (rc == 1)
            continue;
        if (rc < 0 || n == 0 || ws_chan_send(p->conn, p->base64, 2 * p->index, buf, n) != 0)
            break;
    }
    free(buf);
    /* With every pod side closed there is nothing left to forward: close
     * the WebSocket, as kubelet does when its forwards end. */
    if (atomic_fetch_sub(p->open, 1) == 1 && !atomic_load(p->dead))
        ws_send_close(p->conn, 1000, "", NULL);
    return NULL;
}

void strm_portforward_ws(ws_conn *conn, const strm_request *req, const char *protocol, cs_backend *b)
{
    /* Channel numbers are one byte (a digit in base64 mode): 5 ports at most
     * there, 127 in binary. */
    bool base64 = strstr(protocol, "base64.") != NULL;
    size_t nports = req->nports;
    size_t max = base64 ? 5 : 127;
    if (nports > max)
        nports = max;
    atomic_bool dead;
    atomic_init(&dead, false);
    atomic_int open;
    atomic_init(&open, 0);
    ws_port *ports = cs_xcalloc(nports ? nports : 1, sizeof *ports);
    for (size_t i = 0; i < nports; i++) {
        ws_port *p = &ports[i];
        *p = (ws_port){.conn = conn, .base64 = base64, .index = (int)i, .port = req->ports[i], .fd = -1,
                       .dead = &dead, .open = &open};
        unsigned char le[2] = {(unsigned char)(p->port & 0xff), (unsigned char)(p->port >> 8)};
        ws_chan_send(conn, base64, (int)(2 * i), le, 2);
        ws_chan_send(conn, base64, (int)(2 * i + 1), le, 2);
        cs_error err;
        if (dial_pod(b, req->id, p->port, &p->fd, &err) != 0) {
            ws_chan_send(conn, base64, (int)(2 * i + 1), err.msg, strlen(err.msg));
            continue;
        }
        atomic_fetch_add(&open, 1);
    }
    /* Started once every port is dialled, so `open` counts them all. */
    for (size_t i = 0; i < nports; i++) {
        if (ports[i].fd < 0)
            continue;
        ports[i].started = pthread_create(&ports[i].thread, NULL, ws_down_main, &ports[i]) == 0;
        if (!ports[i].started)
            atomic_fetch_sub(&open, 1);
    }
    /* Client → pod: this thread reads every channel. */
    for (;;) {
        int opcode;
        void *data;
        size_t len;
        int rc = ws_recv(conn, POLL_MS, &opcode, &data, &len, NULL);
        if (rc == 1)
            continue;
        if (rc != 0)
            break;
        unsigned char *msg = data, *decoded = NULL;
        size_t n = len ? len - 1 : 0;
        int chan = len ? msg[0] : -1;
        const unsigned char *payload = msg + 1;
        if (base64 && len) {
            chan -= '0';
            if (cs_base64_decode((const char *)payload, n, &decoded, &n) != 0)
                chan = -1;
            payload = decoded;
        }
        if (chan >= 0 && chan % 2 == 0 && (size_t)chan / 2 < nports && ports[chan / 2].fd >= 0 && n > 0)
            cs_send_all(ports[chan / 2].fd, payload, n);
        free(decoded);
        free(data);
    }
    atomic_store(&dead, true);
    for (size_t i = 0; i < nports; i++) {
        if (ports[i].started)
            pthread_join(ports[i].thread, NULL);
        if (ports[i].fd >= 0)
            close(ports[i].fd);
    }
    free(ports);
}
