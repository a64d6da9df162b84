/* WebSocket connections over socket pairs: the RFC 6455 handshake key,
 * messages both ways (text, binary, big ones at once in both directions),
 * fragments, pings, the close handshake, and the peer's protocol errors
 * (unmasked client frames, oversized messages, garbage) ending the
 * connection cleanly. Raw frames are written by hand where the test plays a
 * misbehaving peer. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream/websocket.h"
#include "suite.h"

static void pair(ws_conn **client, ws_conn **server, size_t max_msg)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    *client = ws_conn_new(sv[0], false, NULL, 0, max_msg, NULL);
    *server = ws_conn_new(sv[1], true, NULL, 0, max_msg, NULL);
    ck_assert_ptr_nonnull(*client);
    ck_assert_ptr_nonnull(*server);
}

/* A server conn and the raw socket of its peer. */
static ws_conn *raw_pair(int *raw, size_t max_msg)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    *raw = sv[0];
    ws_conn *s = ws_conn_new(sv[1], true, NULL, 0, max_msg, NULL);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* One frame as a client sends it (masked unless told otherwise). */
static size_t frame(unsigned char *out, bool fin, int opcode, const char *payload, size_t len, bool masked)
{
    static const unsigned char key[4] = {0x11, 0x22, 0x33, 0x44};
    size_t n = 0;
    out[n++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    out[n++] = (unsigned char)((masked ? 0x80 : 0) | len); /* len < 126 here */
    if (masked) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[n + i] = (unsigned char)(payload[i] ^ (masked ? key[i % 4] : 0));
    return n + len;
}

static void expect_msg(ws_conn *c, int opcode, const char *text)
{
    int op;
    void *data;
    size_t len;
    ck_assert_int_eq(ws_recv(c, 5000, &op, &data, &len, NULL), 0);
    ck_assert_int_eq(op, opcode);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_int_eq(memcmp(data, text, len), 0);
    free(data);
}

START_TEST(accept_key)
{
    char out[29];
    ck_assert_int_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455, 1.3 */
    ck_assert_int_eq(ws_accept_key("c2hvcnQ=", out), -1); /* 5 bytes */
    ck_assert_int_eq(ws_accept_key("not base64!", out), -1);
    ck_assert_int_eq(ws_accept_key(NULL, out), -1);
}
END_TEST

START_TEST(messages_both_ways)
{
    ws_conn *c, *s;
    pair(&c, &s, 1 << 20);
    ck_assert_int_eq(ws_send(c, WS_TEXT, "hello", 5, NULL), 0);
    ck_assert_int_eq(ws_send(c, WS_BINARY, "\0\1\2", 3, NULL), 0);
    expect_msg(s, WS_TEXT, "hello");
    int op;
    void *data;
    size_t len;
    ck_assert_int_eq(ws_recv(s, 5000, &op, &data, &len, NULL), 0);
    ck_assert_int_eq(op, WS_BINARY);
    ck_assert_uint_eq(len, 3);
    free(data);
    ck_assert_int_eq(ws_send(s, WS_TEXT, "back", 4, NULL), 0);
    expect_msg(c, WS_TEXT, "back");
    ck_assert_int_eq(ws_send(s, WS_BINARY, "", 0, NULL), 0); /* empty messages exist */
    expect_msg(c, WS_BINARY, "");
    ck_assert_int_eq(ws_recv(c, 50, &op, &data, &len, NULL), 1); /* nothing more: timeout */
    ws_conn_free(c);
    ws_conn_free(s);
}
END_TEST

typedef struct big {
    ws_conn *c;
    size_t size;
    bool ok;
} big;

static void *send_big(void *arg)
{
    big *b = arg;
    unsigned char *buf = malloc(b->size);
    for (size_t i = 0; i < b->size; i++)
        buf[i] = (unsigned char)(i * 7);
    b->ok = ws_send(b->c, WS_BINARY, buf, b->size, NULL) == 0;
    free(buf);
    return NULL;
}

static void recv_big(ws_conn *c, size_t size)
{
    int op;
    void *data;
    size_t len;
    ck_assert_int_eq(ws_recv(c, 10000, &op, &data, &len, NULL), 0);
    ck_assert_uint_eq(len, size);
    unsigned char *p = data;
    for (size_t i = 0; i < size; i += 4093)
        ck_assert_int_eq(p[i], (unsigned char)(i * 7));
    free(data);
}

/* 2 MiB each way at once: neither side's send may wait on the other's. */
START_TEST(big_messages_at_once)
{
    ws_conn *c, *s;
    size_t size = 2u << 20;
    pair(&c, &s, 4u << 20);
    big bc = {.c = c, .size = size}, bs = {.c = s, .size = size};
    pthread_t tc, ts;
    pthread_create(&tc, NULL, send_big, &bc);
    pthread_create(&ts, NULL, send_big, &bs);
    recv_big(s, size);
    recv_big(c, size);
    pthread_join(tc, NULL);
    pthread_join(ts, NULL);
    ck_assert(bc.ok && bs.ok);
    ws_conn_free(c);
    ws_conn_free(s);
}
END_TEST

START_TEST(fragments_and_pings)
{
    int raw;
    ws_conn *s = raw_pair(&raw, 1 << 20);
    unsigned char buf[256];
    size_t n = frame(buf, false, 1, "Hel", 3, true);
    n += frame(buf + n, true, 9, "pi", 2, true); /* a ping between fragments */
    n += frame(buf + n, true, 0, "lo", 2, true);
    ck_assert_int_eq(write(raw, buf, n), (ssize_t)n);
    expect_msg(s, WS_TEXT, "Hello");
    /* the pong came back, unmasked, with the ping's payload */
    unsigned char pong[16];
    ck_assert_int_eq(read(raw, pong, sizeof pong), 4);
    ck_assert_int_eq(pong[0], 0x8a);
    ck_assert_int_eq(pong[1], 2);
    ck_assert_int_eq(memcmp(pong + 2, "pi", 2), 0);
    close(raw);
    ws_conn_free(s);
}
END_TEST

START_TEST(close_handshake)
{
    ws_conn *c, *s;
    pair(&c, &s, 1 << 20);
    ck_assert_int_eq(ws_send(c, WS_TEXT, "last", 4, NULL), 0);
    ck_assert_int_eq(ws_send_close(c, 1000, "bye", NULL), 0);
    expect_msg(s, WS_TEXT, "last"); /* what came before the close is still read */
    int op;
    void *data;
    size_t len;
    ck_assert_int_eq(ws_recv(s, 5000, &op, &data, &len, NULL), 2);
    ck_assert_int_eq(ws_recv(c, 5000, &op, &data, &len, NULL), 2); /* the server answered */
    ck_assert_int_ne(ws_send(s, WS_TEXT, "late", 4, NULL), 0);
    ws_conn_free(c);
    ws_conn_free(s);

    /* a peer that just hangs up */
    int raw;
    s = raw_pair(&raw, 1 << 20);
    close(raw);
    ck_assert_int_eq(ws_recv(s, 5000, &op, &data, &len, NULL), 2);
    ws_conn_free(s);
}
END_TEST

/* What the server sent last: a close frame with this status. */
static void expect_close_status(int raw, int status)
{
    unsigned char buf[64];
    ssize_t n = read(raw, buf, sizeof buf);
    ck_assert_int_ge(n, 4);
    ck_assert_int_eq(buf[0], 0x88);
    ck_assert_int_eq(buf[2] << 8 | buf[3], status);
}

START_TEST(protocol_errors)
{
    int op, raw;
    void *data;
    size_t len;
    unsigned char buf[256];
    /* a client must mask */
    ws_conn *s = raw_pair(&raw, 1 << 20);
    size_t n = frame(buf, true, 2, "abc", 3, false);
    ck_assert_int_eq(write(raw, buf, n), (ssize_t)n);
    ck_assert_int_eq(ws_recv(s, 5000, &op, &data, &len, NULL), -1);
    expect_close_status(raw, 1002);
    close(raw);
    ws_conn_free(s);

    /* too big */
    s = raw_pair(&raw, 8);
    char payload[64];
    memset(payload, 'x', sizeof payload);
    n = frame(buf, true, 2, payload, sizeof payload, true);
    ck_assert_int_eq(write(raw, buf, n), (ssize_t)n);
    ck_assert_int_eq(ws_recv(s, 5000, &op, &data, &len, NULL), -1);
    expect_close_status(raw, 1009);
    close(raw);
    ws_conn_free(s);

    /* garbage, then a hang-up: an error or an end, never a message */
    for (int round = 0; round < 20; round++) {
        s = raw_pair(&raw, 1 << 16);
        unsigned char junk[200];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)(rand() & 0xff);
        ck_assert_int_eq(write(raw, junk, sizeof junk), (ssize_t)sizeof junk);
        close(raw);
        int rc;
        while ((rc = ws_recv(s, 2000, &op, &data, &len, NULL)) == 0)
            free(data); /* random bytes can make a valid frame */
        ck_assert_msg(rc == -1 || rc == 2, "rc %d", rc);
        ws_conn_free(s);
    }
}
END_TEST

/* ---- the client's handshake against a hand-written server ---- */

typedef struct fake_server {
    int fd;
    const char *reply; /* printf format with the accept key, or a fixed head */
} fake_server;

static void *serve_once(void *arg)
{
    fake_server *f = arg;
    char req[2048];
    ssize_t n = read(f->fd, req, sizeof req - 1);
    req[n > 0 ? n : 0] = '\0';
    char *k = strstr(req, "Sec-WebSocket-Key: ");
    char key[64] = "", accept[29] = "";
    if (k)
        sscanf(k + 19, "%63s", key);
    ws_accept_key(key, accept);
    char out[512];
    int len = snprintf(out, sizeof out, f->reply, accept);
    ck_assert_int_eq(write(f->fd, out, (size_t)len), len);
    return NULL;
}

START_TEST(client_handshake)
{
    const char *replies[] = {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n\x82\x01X",
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n%s",
        "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: wrongwrongwrongwrongwrong=\r\n\r\n%s",
    };
    for (int i = 0; i < 3; i++) {
        int sv[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        fake_server f = {.fd = sv[1], .reply = replies[i]};
        pthread_t t;
        pthread_create(&t, NULL, serve_once, &f);
        int status = 0;
        char *chosen;
        void *prefix;
        size_t plen;
        int rc = ws_client_handshake(sv[0], "h", "/exec/x", "v4.channel.k8s.io", &status, &chosen, &prefix, &plen,
                                     NULL);
        pthread_join(t, NULL);
        if (i == 0) {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(status, 101);
            ck_assert_str_eq(chosen, "v4.channel.k8s.io");
            /* the frame that came with the head is the conn's first input */
            ws_conn *c = ws_conn_new(sv[0], false, prefix, plen, 1024, NULL);
            expect_msg(c, WS_BINARY, "X");
            ws_conn_free(c);
            free(chosen);
            free(prefix);
        } else if (i == 1) {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(status, 404);
            close(sv[0]);
        } else {
            ck_assert_int_eq(rc, -1);
            close(sv[0]);
        }
        close(sv[1]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("websocket");
    TCase *tc = tcase_create("websocket");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, accept_key);
    tcase_add_test(tc, messages_both_ways);
    tcase_add_test(tc, big_messages_at_once);
    tcase_add_test(tc, fragments_and_pings);
    tcase_add_test(tc, close_handshake);
    tcase_add_test(tc, protocol_errors);
    tcase_add_test(tc, client_handshake);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
