/* SPDY/3.1 connections: a client and a server conn over a socketpair (streams
 * with headers, replies, data both ways, FIN, reset, ping, 4 MiB each way at
 * once), bytes captured from the real Go spdystream client (kubectl exec and
 * port-forward shapes) replayed into a server conn, and hostile input (garbage,
 * truncation, oversized frames, zlib bombs, stream floods) that must end the
 * connection cleanly. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "stream/spdy.h"
#include "suite.h"

#define MIB (1024 * 1024)

static spdy_conn *cli, *srv;

static void pair(void)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cs_error err;
    cli = spdy_conn_new(sv[0], false, NULL, 0, &err);
    ck_assert_msg(cli != NULL, "%s", err.msg);
    srv = spdy_conn_new(sv[1], true, NULL, 0, &err);
    ck_assert_msg(srv != NULL, "%s", err.msg);
}

static void unpair(void)
{
    spdy_conn_free(cli);
    spdy_conn_free(srv);
    cli = srv = NULL;
}

/* A server conn on one end, the raw socket on the other. */
static spdy_conn *raw_server(int *raw, const void *prefix, size_t prefix_len)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cs_error err;
    spdy_conn *c = spdy_conn_new(sv[1], true, prefix, prefix_len, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    *raw = sv[0];
    return c;
}

static void write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        ck_assert_msg(w > 0, "raw write: %s", strerror(errno));
        b += w;
        n -= (size_t)w;
    }
}

static void read_exact(int fd, void *p, size_t n)
{
    unsigned char *b = p;
    while (n > 0) {
        ssize_t r = recv(fd, b, n, 0);
        ck_assert_msg(r > 0, "raw read: %s", r == 0 ? "EOF" : strerror(errno));
        b += r;
        n -= (size_t)r;
    }
}

/* Everything up to EOF on the stream. Caller frees. */
static unsigned char *read_to_eof(spdy_stream *s, size_t *total)
{
    size_t cap = 65536, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (cap - len < 16384)
            buf = realloc(buf, cap *= 2);
        size_t n;
        cs_error err;
        int rc = spdy_stream_read(s, buf + len, cap - len, &n, 20000, &err);
        ck_assert_msg(rc == 0, "read stream %u: rc %d", spdy_stream_id(s), rc);
        if (n == 0)
            break;
        len += n;
    }
    *total = len;
    return buf;
}

/* The pattern the Go capture program wrote: byte(i*31) ^ seed ^ byte(i>>13). */
static unsigned char *pattern(size_t n, unsigned char seed)
{
    unsigned char *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 31) ^ seed ^ (unsigned char)(i >> 13);
    return b;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A control frame header: version 3, type, flags, 24-bit length. */
static void ctl(unsigned char *p, int type, int flags, uint32_t len)
{
    p[0] = 0x80;
    p[1] = 3;
    p[2] = 0;
    p[3] = (unsigned char)type;
    put32(p + 4, len);
    p[4] = (unsigned char)flags;
}

/* The conn must notice it's dead within a few seconds. */
static void dies(spdy_conn *c)
{
    spdy_stream *s;
    int rc = spdy_conn_accept(c, 5000, &s);
    ck_assert_msg(rc == -1, "accept: %d, want -1 (connection gone)", rc);
    ck_assert(!spdy_conn_alive(c));
}

static const char *const kinds[] = {"error", "stdin", "stdout", "stderr", "resize"};
#define NKINDS 5

START_TEST(streams_headers_and_data)
{
    pair();
    cs_error err;
    spdy_stream *cs[NKINDS], *ss[NKINDS];
    for (int i = 0; i < NKINDS; i++) {
        const char *h[] = {"streamtype", kinds[i], "x-index", i % 2 ? "odd" : "even", NULL};
        cs[i] = spdy_stream_open(cli, h, false, &err);
        ck_assert_msg(cs[i] != NULL, "%s", err.msg);
        ck_assert_uint_eq(spdy_stream_id(cs[i]), 2 * i + 1); /* client ids are odd */
    }
    for (int i = 0; i < NKINDS; i++) {
        ck_assert_int_eq(spdy_conn_accept(srv, 5000, &ss[i]), 0);
        ck_assert_uint_eq(spdy_stream_id(ss[i]), spdy_stream_id(cs[i]));
        ck_assert_str_eq(spdy_stream_header(ss[i], "streamtype"), kinds[i]);
        ck_assert_str_eq(spdy_stream_header(ss[i], "StreamType"), kinds[i]);
        ck_assert_str_eq(spdy_stream_header(ss[i], "x-index"), i % 2 ? "odd" : "even");
        ck_assert_ptr_null(spdy_stream_header(ss[i], "port"));
        /* writing before the reply would be dropped by spdystream */
        ck_assert_int_eq(spdy_stream_write(ss[i], "x", 1, &err), -1);
        ck_assert_int_eq(err.code, CS_ERR_CONFLICT);
        ck_assert_int_eq(spdy_stream_reply(ss[i], &err), 0);
        ck_assert_int_eq(spdy_stream_reply(ss[i], &err), -1);
    }
    spdy_stream *none;
    ck_assert_int_eq(spdy_conn_accept(srv, 50, &none), 1);
    for (int i = 0; i < NKINDS; i++)
        ck_assert_int_eq(spdy_stream_wait_reply(cs[i], 5000, &err), 0);

    /* stdin: client -> server, then FIN */
    ck_assert_int_eq(spdy_stream_write(cs[1], "hello ", 6, &err), 0);
    ck_assert_int_eq(spdy_stream_write(cs[1], "world", 5, &err), 0);
    ck_assert_int_eq(spdy_stream_close(cs[1], &err), 0);
    ck_assert_int_eq(spdy_stream_write(cs[1], "late", 4, &err), -1);
    size_t n;
    unsigned char *got = read_to_eof(ss[1], &n);
    ck_assert_uint_eq(n, 11);
    ck_assert_int_eq(memcmp(got, "hello world", 11), 0);
    free(got);
    /* EOF stays EOF */
    char b[8];
    ck_assert_int_eq(spdy_stream_read(ss[1], b, sizeof b, &n, 0, &err), 0);
    ck_assert_uint_eq(n, 0);

    /* stdout: server -> client; a read with nothing there times out */
    ck_assert_int_eq(spdy_stream_read(cs[2], b, sizeof b, &n, 30, &err), 1);
    ck_assert_int_eq(spdy_stream_write(ss[2], "output", 6, &err), 0);
    ck_assert_int_eq(spdy_stream_close(ss[2], &err), 0);
    got = read_to_eof(cs[2], &n);
    ck_assert_uint_eq(n, 6);
    ck_assert_int_eq(memcmp(got, "output", 6), 0);
    free(got);

    /* the other half of stdout is still open: the client can still write */
    ck_assert_int_eq(spdy_stream_write(cs[2], "back", 4, &err), 0);
    ck_assert_int_eq(spdy_stream_read(ss[2], b, sizeof b, &n, 5000, &err), 0);
    ck_assert_uint_eq(n, 4);
    unpair();
}
END_TEST

/* A stream opened with FIN (nothing from us), and streams the server opens. */
START_TEST(fin_on_open_and_server_streams)
{
    pair();
    cs_error err;
    const char *h[] = {"streamtype", "error", NULL};
    spdy_stream *c1 = spdy_stream_open(cli, h, true, &err), *s1;
    ck_assert_ptr_nonnull(c1);
    ck_assert_int_eq(spdy_stream_write(c1, "x", 1, &err), -1);
    ck_assert_int_eq(spdy_conn_accept(srv, 5000, &s1), 0);
    ck_assert_int_eq(spdy_stream_reply(s1, &err), 0);
    size_t n;
    char b[16];
    ck_assert_int_eq(spdy_stream_read(s1, b, sizeof b, &n, 5000, &err), 0);
    ck_assert_uint_eq(n, 0); /* FIN came with the SYN_STREAM */
    ck_assert_int_eq(spdy_stream_write(s1, "status", 6, &err), 0);
    ck_assert_int_eq(spdy_stream_read(c1, b, sizeof b, &n, 5000, &err), 0);
    ck_assert_uint_eq(n, 6);

    /* server-opened: even ids, SYN_REPLY headers are empty */
    spdy_stream *s2 = spdy_stream_open(srv, h, false, &err), *c2;
    ck_assert_ptr_nonnull(s2);
    ck_assert_uint_eq(spdy_stream_id(s2), 2);
    ck_assert_int_eq(spdy_conn_accept(cli, 5000, &c2), 0);
    ck_assert_uint_eq(spdy_stream_id(c2), 2);
    ck_assert_int_eq(spdy_stream_reply(c2, &err), 0);
    ck_assert_int_eq(spdy_stream_wait_reply(s2, 5000, &err), 0);
    ck_assert_ptr_null(spdy_stream_header(s2, "streamtype"));
    unpair();
}
END_TEST

struct xfer {
    spdy_stream *s;
    const unsigned char *data;
    size_t len;
    unsigned char *got;
    size_t got_len;
};

static void *writer_main(void *arg)
{
    struct xfer *x = arg;
    cs_error err;
    /* odd-sized pieces so frame boundaries don't line up with anything */
    for (size_t off = 0; off < x->len;) {
        size_t k = x->len - off < 100003 ? x->len - off : 100003;
        ck_assert_int_eq(spdy_stream_write(x->s, x->data + off, k, &err), 0);
        off += k;
    }
    ck_assert_int_eq(spdy_stream_close(x->s, &err), 0);
    return NULL;
}

static void *reader_main(void *arg)
{
    struct xfer *x = arg;
    x->got = read_to_eof(x->s, &x->got_len);
    return NULL;
}

/* 4 MiB each way on one stream at once: both writers block in the kernel at
 * times, and only the reader threads can unblock them. */
START_TEST(four_mib_both_ways)
{
    pair();
    cs_error err;
    const char *h[] = {"streamtype", "stdin", NULL};
    spdy_stream *c = spdy_stream_open(cli, h, false, &err), *s;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(spdy_conn_accept(srv, 5000, &s), 0);
    ck_assert_int_eq(spdy_stream_reply(s, &err), 0);
    ck_assert_int_eq(spdy_stream_wait_reply(c, 5000, &err), 0);

    size_t len = 4 * MIB;
    unsigned char *up = pattern(len, 1), *down = pattern(len, 2);
    struct xfer cw = {.s = c, .data = up, .len = len}, sw = {.s = s, .data = down, .len = len};
    struct xfer cr = {.s = c}, sr = {.s = s};
    pthread_t t[4];
    pthread_create(&t[0], NULL, writer_main, &cw);
    pthread_create(&t[1], NULL, writer_main, &sw);
    pthread_create(&t[2], NULL, reader_main, &cr);
    pthread_create(&t[3], NULL, reader_main, &sr);
    /* pings get through while both directions are saturated */
    ck_assert_int_eq(spdy_conn_ping(cli, 10000, &err), 0);
    ck_assert_int_eq(spdy_conn_ping(srv, 10000, &err), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(sr.got_len, len);
    ck_assert_uint_eq(cr.got_len, len);
    ck_assert_msg(memcmp(sr.got, up, len) == 0, "client->server bytes differ");
    ck_assert_msg(memcmp(cr.got, down, len) == 0, "server->client bytes differ");
    free(up);
    free(down);
    free(sr.got);
    free(cr.got);
    unpair();
}
END_TEST

/* One zlib stream per direction spans every header block: hundreds of
 * SYN_STREAMs, each decoded against the state the previous ones left. */
START_TEST(header_compression_spans_frames)
{
    pair();
    cs_error err;
    enum { N = 400 };
    for (int i = 0; i < N; i++) {
        char port[16], rid[16];
        snprintf(port, sizeof port, "%d", 8000 + i % 7);
        snprintf(rid, sizeof rid, "%d", i);
        const char *h[] = {"streamtype", kinds[i % NKINDS], "port", port, "requestid", rid, NULL};
        spdy_stream *c = spdy_stream_open(cli, h, i % 3 == 0, &err), *s;
        ck_assert_msg(c != NULL, "open %d: %s", i, err.msg);
        ck_assert_int_eq(spdy_conn_accept(srv, 5000, &s), 0);
        ck_assert_str_eq(spdy_stream_header(s, "streamtype"), kinds[i % NKINDS]);
        ck_assert_str_eq(spdy_stream_header(s, "port"), port);
        ck_assert_str_eq(spdy_stream_header(s, "requestid"), rid);
        ck_assert_int_eq(spdy_stream_reply(s, &err), 0);
        ck_assert_int_eq(spdy_stream_wait_reply(c, 5000, &err), 0);
        /* release both ends: the live-stream limit is not a lifetime limit */
        spdy_stream_release(s);
        spdy_stream_release(c);
    }
    /* more than SPDY_MAX_STREAMS over the connection's life */
    for (int i = 0; i < SPDY_MAX_STREAMS + 10; i++) {
        const char *h[] = {"streamtype", "data", NULL};
        spdy_stream *c = spdy_stream_open(cli, h, true, &err), *s;
        ck_assert_msg(c != NULL, "open %d: %s", i, err.msg);
        ck_assert_int_eq(spdy_conn_accept(srv, 5000, &s), 0);
        spdy_stream_release(s);
        spdy_stream_release(c);
    }
    ck_assert(spdy_conn_alive(cli) && spdy_conn_alive(srv));
    unpair();
}
END_TEST

START_TEST(ping_answered)
{
    pair();
    cs_error err;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(spdy_conn_ping(cli, 5000, &err), 0);
        ck_assert_int_eq(spdy_conn_ping(srv, 5000, &err), 0);
    }
    unpair();

    /* a raw peer's PING (odd id: client-initiated) comes back unchanged */
    int raw;
    spdy_conn *c = raw_server(&raw, NULL, 0);
    unsigned char f[12], back[12];
    ctl(f, 6, 0, 4);
    put32(f + 8, 77);
    write_all(raw, f, sizeof f);
    read_exact(raw, back, sizeof back);
    ck_assert_int_eq(memcmp(f, back, sizeof f), 0);
    spdy_conn_free(c);
    close(raw);
}
END_TEST

START_TEST(rst_stream)
{
    pair();
    cs_error err;
    const char *h[] = {"streamtype", "stdout", NULL};
    spdy_stream *c = spdy_stream_open(cli, h, false, &err), *s;
    ck_assert_int_eq(spdy_conn_accept(srv, 5000, &s), 0);
    ck_assert_int_eq(spdy_stream_reply(s, &err), 0);
    ck_assert_int_eq(spdy_stream_wait_reply(c, 5000, &err), 0);
    ck_assert_int_eq(spdy_stream_reset(c, SPDY_CANCEL, &err), 0);
    size_t n;
    char b[8];
    ck_assert_int_eq(spdy_stream_read(s, b, sizeof b, &n, 5000, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(spdy_stream_write(s, "x", 1, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_ABORTED);
    ck_assert_int_eq(spdy_stream_write(c, "x", 1, &err), -1);

    /* a stream reset before its reply fails wait_reply */
    spdy_stream *c2 = spdy_stream_open(cli, h, false, &err), *s2;
    ck_assert_int_eq(spdy_conn_accept(srv, 5000, &s2), 0);
    ck_assert_int_eq(spdy_stream_reset(s2, SPDY_REFUSED_STREAM, &err), 0);
    ck_assert_int_eq(spdy_stream_wait_reply(c2, 5000, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_ABORTED);
    /* the connection itself is fine */
    ck_assert_int_eq(spdy_conn_ping(cli, 5000, &err), 0);
    unpair();
}
END_TEST

static void *accept_main(void *arg)
{
    spdy_stream *s;
    return (void *)(intptr_t)spdy_conn_accept(arg, -1, &s);
}

static void *read_main(void *arg)
{
    char b[16];
    size_t n = 99;
    cs_error err;
    int rc = spdy_stream_read(arg, b, sizeof b, &n, -1, &err);
    return (void *)(intptr_t)(rc == 0 && n == 0 ? 0 : 1);
}

/* Blocked accept and read calls wake when the peer goes away. */
START_TEST(peer_close_wakes_blocked_calls)
{
    pair();
    cs_error err;
    const char *h[] = {"streamtype", "stdin", NULL};
    spdy_stream *c = spdy_stream_open(cli, h, false, &err), *s;
    ck_assert_int_eq(spdy_conn_accept(srv, 5000, &s), 0);
    pthread_t ta, tr;
    pthread_create(&ta, NULL, accept_main, srv);
    pthread_create(&tr, NULL, read_main, s);
    usleep(50000);
    (void)c;
    spdy_conn_free(cli); /* GOAWAY, then the socket closes */
    cli = NULL;
    void *ra, *rr;
    pthread_join(ta, &ra);
    pthread_join(tr, &rr);
    ck_assert_int_eq((int)(intptr_t)ra, -1);
    ck_assert_int_eq((int)(intptr_t)rr, 0);
    ck_assert_int_eq(spdy_stream_write(s, "x", 1, &err), -1);
    unpair();

    /* our own shutdown wakes our blocked callers too */
    pair();
    c = spdy_stream_open(cli, h, false, &err);
    pthread_create(&tr, NULL, read_main, c);
    pthread_create(&ta, NULL, accept_main, cli);
    usleep(50000);
    spdy_conn_shutdown(cli);
    pthread_join(ta, &ra);
    pthread_join(tr, &rr);
    ck_assert_int_eq((int)(intptr_t)ra, -1);
    ck_assert_int_eq((int)(intptr_t)rr, 0);
    ck_assert(!spdy_conn_alive(cli));
    unpair();
}
END_TEST

/* A vanished peer gives an error, never SIGPIPE. */
START_TEST(write_to_vanished_peer)
{
    int raw;
    spdy_conn *c = raw_server(&raw, NULL, 0);
    cs_error err;
    const char *h[] = {"streamtype", "stdout", NULL};
    spdy_stream *s = spdy_stream_open(c, h, false, &err);
    ck_assert_ptr_nonnull(s);
    close(raw);
    unsigned char *big = pattern(MIB, 0);
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++)
        rc = spdy_stream_write(s, big, MIB, &err);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);
    ck_assert(!spdy_conn_alive(c));
    free(big);
    spdy_conn_free(c);
}
END_TEST

static unsigned char *load_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/spdy/%s", CS_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

struct feed {
    int fd;
    const unsigned char *p;
    size_t n;
};

static void *feed_main(void *arg)
{
    struct feed *f = arg;
    write_all(f->fd, f->p, f->n);
    shutdown(f->fd, SHUT_WR);
    return NULL;
}

/* What kubectl exec's client (moby/spdystream) sent: five streams with
 * streamType headers, "hello\n" and 100000 pattern bytes in ONE DATA frame on
 * stdin, a resize message, then FIN on stdin. */
START_TEST(go_spdystream_exec_fixture)
{
    size_t len;
    unsigned char *bytes = load_fixture("exec_client.bin", &len);
    int raw;
    spdy_conn *c = raw_server(&raw, NULL, 0);
    struct feed f = {raw, bytes, len};
    pthread_t t;
    pthread_create(&t, NULL, feed_main, &f);
    spdy_stream *s[NKINDS];
    cs_error err;
    for (int i = 0; i < NKINDS; i++) {
        ck_assert_int_eq(spdy_conn_accept(c, 5000, &s[i]), 0);
        ck_assert_uint_eq(spdy_stream_id(s[i]), 2 * i + 1);
        ck_assert_str_eq(spdy_stream_header(s[i], "streamtype"), kinds[i]);
        ck_assert_int_eq(spdy_stream_reply(s[i], &err), 0);
    }
    size_t n;
    unsigned char *in = read_to_eof(s[1], &n);
    unsigned char *want = pattern(100000, 7);
    ck_assert_uint_eq(n, 6 + 100000);
    ck_assert_int_eq(memcmp(in, "hello\n", 6), 0);
    ck_assert_int_eq(memcmp(in + 6, want, 100000), 0);
    char rs[64];
    ck_assert_int_eq(spdy_stream_read(s[4], rs, sizeof rs, &n, 5000, &err), 0);
    ck_assert_uint_eq(n, strlen("{\"Width\":80,\"Height\":24}"));
    ck_assert_int_eq(memcmp(rs, "{\"Width\":80,\"Height\":24}", n), 0);
    pthread_join(t, NULL);
    free(in);
    free(want);
    free(bytes);
    spdy_conn_free(c);
    close(raw);
}
END_TEST

/* kubectl port-forward's shape (error + data stream per request, port and
 * requestID headers), with the first bytes handed over as the HTTP layer's
 * read-ahead prefix, split inside the first frame's header block. */
START_TEST(go_spdystream_portforward_fixture_with_prefix)
{
    size_t len;
    unsigned char *bytes = load_fixture("portforward_client.bin", &len);
    for (size_t split = 0; split <= len; split += len / 5 + 1) {
        int raw;
        spdy_conn *c = raw_server(&raw, bytes, split);
        struct feed f = {raw, bytes + split, len - split};
        pthread_t t;
        pthread_create(&t, NULL, feed_main, &f);
        static const char *const ports[] = {"8080", "8080", "9090", "9090"};
        static const char *const types[] = {"error", "data", "error", "data"};
        static const char *const rids[] = {"0", "0", "1", "1"};
        cs_error err;
        for (int i = 0; i < 4; i++) {
            spdy_stream *s;
            ck_assert_int_eq(spdy_conn_accept(c, 5000, &s), 0);
            ck_assert_str_eq(spdy_stream_header(s, "streamtype"), types[i]);
            ck_assert_str_eq(spdy_stream_header(s, "port"), ports[i]);
            ck_assert_str_eq(spdy_stream_header(s, "requestid"), rids[i]);
            if (i % 2) {
                ck_assert_int_eq(spdy_stream_reply(s, &err), 0);
                size_t n;
                unsigned char *d = read_to_eof(s, &n);
                ck_assert_uint_eq(n, 18);
                ck_assert_int_eq(memcmp(d, "GET / HTTP/1.0\r\n\r\n", 18), 0);
                free(d);
            }
        }
        pthread_join(t, NULL);
        spdy_conn_free(c);
        close(raw);
    }
    free(bytes);
}
END_TEST

/* Feeds bytes to a fresh server conn, closes our write side, and expects the
 * conn to die cleanly (ASan/LSan watch the rest). */
static void dies_on(const void *p, size_t n, bool then_eof)
{
    int raw;
    spdy_conn *c = raw_server(&raw, NULL, 0);
    write_all(raw, p, n);
    if (then_eof)
        shutdown(raw, SHUT_WR);
    dies(c);
    spdy_conn_free(c);
    close(raw);
}

/* zlib (no dictionary: the format allows that) of `in`. Caller frees. */
static unsigned char *zlib_of(const void *in, size_t n, size_t *out_len)
{
    uLongf cap = compressBound(n);
    unsigned char *out = malloc(cap);
    ck_assert_int_eq(compress(out, &cap, in, n), Z_OK);
    *out_len = cap;
    return out;
}

static void dies_on_syn_block(const void *block, size_t n)
{
    unsigned char *f = malloc(18 + n);
    ctl(f, 1, 0, (uint32_t)(10 + n));
    put32(f + 8, 1);
    memset(f + 12, 0, 6);
    memcpy(f + 18, block, n);
    dies_on(f, 18 + n, false);
    free(f);
}

START_TEST(hostile_input)
{
    unsigned char f[64];
    /* not SPDY at all */
    dies_on("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, false);
    /* SPDY/2 */
    ctl(f, 1, 0, 10);
    f[1] = 2;
    dies_on(f, 8, false);
    /* a 16 MiB control frame: refused on its header, payload never awaited */
    ctl(f, 1, 0, 0xffffff);
    dies_on(f, 8, false);
    /* truncated: a frame header promising more than ever comes */
    ctl(f, 6, 0, 4);
    dies_on(f, 10, true);
    dies_on(f, 5, true);
    /* a DATA frame cut short, and DATA on stream 0 */
    memset(f, 0, 16);
    f[3] = 1;
    f[7] = 100;
    dies_on(f, 20, true);
    memset(f, 0, 16);
    f[7] = 1;
    dies_on(f, 9, false);
    /* control frames too short for their fixed fields */
    for (int type = 1; type <= 8; type++) {
        if (type == 4 || type == 5)
            continue; /* SETTINGS and the old NOOP are ignored whole */
        ctl(f, type, 0, 2);
        f[8] = f[9] = 0;
        dies_on(f, 10, false);
    }
    /* header blocks: not zlib; a bomb past 256 KiB; counts and lengths that
     * point past the block; an empty name */
    dies_on_syn_block("\x01\x02\x03\x04\x05\x06", 6);
    size_t zn, bomb_len = 2 * MIB;
    unsigned char *zeros = calloc(1, bomb_len);
    put32(zeros, 1);
    put32(zeros + 4, 1);
    zeros[8] = 'a';
    put32(zeros + 9, (uint32_t)(bomb_len - 13));
    unsigned char *z = zlib_of(zeros, bomb_len, &zn);
    dies_on_syn_block(z, zn);
    free(z);
    free(zeros);
    const unsigned char *bad_blocks[] = {
        (const unsigned char *)"\xff\xff\xff\xff",                         /* 4 billion pairs */
        (const unsigned char *)"\x00\x00\x00\x01\x00\x00\x00\x09name",     /* name runs off */
        (const unsigned char *)"\x00\x00\x00\x01\x00\x00\x00\x01n\x7f\x00\x00\x00", /* value runs off */
        (const unsigned char *)"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00", /* empty name */
        (const unsigned char *)"\x00\x00",                                 /* no count */
    };
    const size_t bad_len[] = {4, 12, 13, 12, 2};
    for (size_t i = 0; i < sizeof bad_len / sizeof bad_len[0]; i++) {
        z = zlib_of(bad_blocks[i], bad_len[i], &zn);
        dies_on_syn_block(z, zn);
        free(z);
    }
    /* random bytes with the control bit set */
    srand(42);
    for (int round = 0; round < 50; round++) {
        unsigned char junk[256];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)rand();
        junk[0] |= 0x80;
        dies_on(junk, sizeof junk, true);
    }
}
END_TEST

/* Stream ids that break the rules get RST_STREAM PROTOCOL_ERROR; past
 * SPDY_MAX_STREAMS live streams, REFUSED_STREAM; the connection lives on. */
START_TEST(stream_limits)
{
    int raw;
    spdy_conn *c = raw_server(&raw, NULL, 0);
    unsigned char f[18], rst[16];
    /* an even id from a client */
    ctl(f, 1, 0, 10);
    memset(f + 8, 0, 10);
    put32(f + 8, 2);
    write_all(raw, f, sizeof f);
    read_exact(raw, rst, sizeof rst);
    ck_assert_uint_eq(rst[3], 3);
    ck_assert_uint_eq(get32(rst + 8), 2);
    ck_assert_uint_eq(get32(rst + 12), SPDY_PROTOCOL_ERROR);
    /* SPDY_MAX_STREAMS streams with empty header blocks, then one more */
    for (uint32_t i = 0; i <= SPDY_MAX_STREAMS; i++) {
        put32(f + 8, 2 * i + 1);
        write_all(raw, f, sizeof f);
    }
    read_exact(raw, rst, sizeof rst);
    ck_assert_uint_eq(get32(rst + 8), 2 * SPDY_MAX_STREAMS + 1);
    ck_assert_uint_eq(get32(rst + 12), SPDY_REFUSED_STREAM);
    /* going backwards */
    put32(f + 8, 5);
    write_all(raw, f, sizeof f);
    read_exact(raw, rst, sizeof rst);
    ck_assert_uint_eq(get32(rst + 8), 5);
    ck_assert_uint_eq(get32(rst + 12), SPDY_PROTOCOL_ERROR);
    for (int i = 0; i < SPDY_MAX_STREAMS; i++) {
        spdy_stream *s;
        ck_assert_int_eq(spdy_conn_accept(c, 5000, &s), 0);
        ck_assert_uint_eq(spdy_stream_id(s), 2 * i + 1);
        ck_assert_ptr_null(spdy_stream_header(s, "streamtype"));
    }
    /* SETTINGS, WINDOW_UPDATE and unknown types are ignored */
    unsigned char g[20];
    ctl(g, 4, 0, 12);
    memset(g + 8, 0, 12);
    put32(g + 8, 1);
    write_all(raw, g, 20);
    ctl(g, 9, 0, 8);
    put32(g + 8, 1);
    put32(g + 12, 65536);
    write_all(raw, g, 16);
    ctl(g, 42, 0, 3);
    write_all(raw, g, 11);
    /* still alive: a PING comes back */
    ctl(g, 6, 0, 4);
    put32(g + 8, 9);
    write_all(raw, g, 12);
    read_exact(raw, rst, 12);
    ck_assert_int_eq(memcmp(rst, g, 12), 0);
    ck_assert(spdy_conn_alive(c));
    spdy_conn_free(c);
    close(raw);
}
END_TEST

/* A GOAWAY from the peer: no more streams come, and we may open none. */
START_TEST(goaway)
{
    int raw;
    spdy_conn *c = raw_server(&raw, NULL, 0);
    unsigned char f[16];
    ctl(f, 7, 0, 8);
    put32(f + 8, 0);
    put32(f + 12, 0);
    write_all(raw, f, sizeof f);
    spdy_stream *s;
    ck_assert_int_eq(spdy_conn_accept(c, 5000, &s), -1);
    cs_error err;
    const char *h[] = {NULL};
    ck_assert_ptr_null(spdy_stream_open(c, h, false, &err));
    spdy_conn_free(c);
    /* and ours on free */
    unsigned char got[16];
    read_exact(raw, got, sizeof got);
    ck_assert_uint_eq(got[3], 7);
    close(raw);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spdy");
    TCase *tc = tcase_create("spdy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, streams_headers_and_data);
    tcase_add_test(tc, fin_on_open_and_server_streams);
    tcase_add_test(tc, four_mib_both_ways);
    tcase_add_test(tc, header_compression_spans_frames);
    tcase_add_test(tc, ping_answered);
    tcase_add_test(tc, rst_stream);
    tcase_add_test(tc, peer_close_wakes_blocked_calls);
    tcase_add_test(tc, write_to_vanished_peer);
    tcase_add_test(tc, go_spdystream_exec_fixture);
    tcase_add_test(tc, go_spdystream_portforward_fixture_with_prefix);
    tcase_add_test(tc, hostile_input);
    tcase_add_test(tc, stream_limits);
    tcase_add_test(tc, goaway);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
