/* The Docker HTTP client without a Docker: host parsing, API version choice,
 * error mapping of bodies captured from Docker 20.10, the line splitter across
 * chunk boundaries, and the transfer rules (renegotiation, deadline, cancel,
 * stall, body cap, headers, logging) against a small fake engine that serves
 * HTTP/1.1 on a unix socket from a thread of this test. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend/observe.h"
#include "docker/http.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

/* ---- pure parts ---- */

START_TEST(hosts_good)
{
    static const struct {
        const char *host, *endpoint;
    } good[] = {
        {"unix:///var/run/docker.sock", "/var/run/docker.sock"},
        {"/run/d.sock", "/run/d.sock"},
        {"tcp://127.0.0.1:2375", "127.0.0.1:2375"},
        {"http://docker.example:2376/", "docker.example:2376"},
        {"tcp://[::1]:2375", "[::1]:2375"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        docker_client *c = NULL;
        cs_error err = {0};
        ck_assert_msg(docker_client_new(good[i].host, &c, &err) == 0, "%s refused: %s", good[i].host, err.msg);
        ck_assert_str_eq(docker_client_endpoint(c), good[i].endpoint);
        char v[DOCKER_API_VERSION_SIZE];
        ck_assert(!docker_client_api_version_copy(c, v, sizeof v)); /* not negotiated yet */
        ck_assert_str_eq(v, "");
        ck_assert_uint_eq(docker_client_connections(c), 0);
        docker_client_free(c);
    }
    docker_client_free(NULL);
}
END_TEST

START_TEST(hosts_bad)
{
    char long_path[200] = "unix:///";
    memset(long_path + 8, 'x', 150);
    const char *bad[] = {
        "",          "ftp://x",          "https://h:2376",     "unix://relative", "unix://",        "unix:///",
        "tcp://",    "tcp://noport",     "tcp://host:",        "tcp://:2375",     "tcp://h:99999",  "tcp://h:0",
        "tcp://h:x", "tcp://h:1/prefix", "relative/docker.sock", long_path,        "npipe:////./pipe/docker_engine",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        docker_client *c = NULL;
        cs_error err = {0};
        ck_assert_msg(docker_client_new(bad[i], &c, &err) == -1, "accepted %s", bad[i]);
        ck_assert_int_eq(err.code, CS_ERR_INVALID);
        ck_assert_ptr_null(c);
    }
    ck_assert_int_eq(docker_client_new(NULL, &(docker_client *){NULL}, NULL), -1);
}
END_TEST

START_TEST(version_compare)
{
    ck_assert_int_lt(docker_api_compare("1.9", "1.41"), 0);
    ck_assert_int_gt(docker_api_compare("1.41", "1.9"), 0);
    ck_assert_int_gt(docker_api_compare("1.44", "1.41"), 0);
    ck_assert_int_eq(docker_api_compare("1.41", "1.41"), 0);
    ck_assert_int_lt(docker_api_compare("1", "1.1"), 0);
    ck_assert_int_eq(docker_api_compare("1.0", "1"), 0);
    ck_assert_int_gt(docker_api_compare("2.0", "1.99"), 0);
    ck_assert_int_lt(docker_api_compare(NULL, "1.0.1"), 0);
    /* junk must neither loop nor crash */
    ck_assert_int_eq(docker_api_compare("x.y", "0.0"), 0);
    ck_assert_int_gt(docker_api_compare("1.41-rc1", "1.40"), 0);
}
END_TEST

START_TEST(version_choice)
{
    char v[DOCKER_API_VERSION_SIZE];
    docker_api_choose("1.41", "1.12", v, sizeof v); /* Debian's 20.10 */
    ck_assert_str_eq(v, "1.41");
    docker_api_choose("1.52", "1.44", v, sizeof v); /* Docker 29: our max */
    ck_assert_str_eq(v, DOCKER_API_MAX);
    docker_api_choose(DOCKER_API_MAX, "1.24", v, sizeof v);
    ck_assert_str_eq(v, DOCKER_API_MAX);
    docker_api_choose("1.60", "1.50", v, sizeof v); /* a future one refusing our max */
    ck_assert_str_eq(v, "1.50");
    docker_api_choose(NULL, NULL, v, sizeof v);
    ck_assert_str_eq(v, DOCKER_API_MAX);
    docker_api_choose("", "1.50", v, sizeof v);
    ck_assert_str_eq(v, "1.50");
    docker_api_choose("1.9", NULL, v, sizeof v); /* numeric, not string, order */
    ck_assert_str_eq(v, "1.9");
    docker_api_choose("garbage", "also", v, sizeof v);
    ck_assert_str_eq(v, DOCKER_API_MAX);

    /* the /version answer captured from Docker 20.10 */
    char path[512], *body;
    size_t len;
    cs_error err;
    snprintf(path, sizeof path, "%s/docker/version.json", CS_FIXTURES);
    ck_assert_int_eq(cs_read_file(path, 1 << 20, &body, &len, &err), 0);
    cs_json *j;
    ck_assert_int_eq(cs_json_parse(body, len, &j, &err), 0);
    char *max = cs_json_get_str(j, 0, "ApiVersion", NULL), *min = cs_json_get_str(j, 0, "MinAPIVersion", NULL);
    docker_api_choose(max, min, v, sizeof v);
    ck_assert_str_eq(v, "1.41");
    free(max);
    free(min);
    cs_json_free(j);
    free(body);
}
END_TEST

/* Bodies as Docker 20.10 sent them. */
static const struct {
    long status;
    const char *body;
    cs_code code;
    const char *msg;
} captured[] = {
    {404, "{\"message\":\"No such container: nope\"}\n", CS_ERR_NOT_FOUND, "docker: No such container: nope"},
    {404, "{\"message\":\"No such image: nosuchimage:1\"}\n", CS_ERR_NOT_FOUND, "docker: No such image: nosuchimage:1"},
    {409,
     "{\"message\":\"Conflict. The container name \\\"/cs-capture\\\" is already in use by container "
     "\\\"36d7516d6088\\\". You have to remove (or rename) that container to be able to reuse that name.\"}\n",
     CS_ERR_CONFLICT,
     "docker: Conflict. The container name \"/cs-capture\" is already in use by container \"36d7516d6088\". You "
     "have to remove (or rename) that container to be able to reuse that name."},
    {400, "{\"message\":\"Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\"}\n",
     CS_ERR_INVALID, "docker: Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"},
    /* the version middleware answers in plain text */
    {400, "client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a "
          "newer version\n",
     CS_ERR_INVALID,
     "docker: HTTP 400: client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your "
     "client to a newer version"},
    {500, "{\"message\":\"OCI runtime create failed: exec: \\\"nope\\\": executable file not found in $PATH\"}",
     CS_ERR_INTERNAL, "docker: OCI runtime create failed: exec: \"nope\": executable file not found in $PATH"},
    {401, "{\"message\":\"unauthorized: authentication required\"}", CS_ERR_UNAUTHENTICATED,
     "docker: unauthorized: authentication required"},
    {403, "{\"message\":\"denied\"}", CS_ERR_PERMISSION, "docker: denied"},
    {501, "{\"message\":\"not implemented\"}", CS_ERR_UNIMPLEMENTED, "docker: not implemented"},
    {503, "", CS_ERR_UNAVAILABLE, "docker: HTTP 503"},
    {502, "<html>bad gateway</html>", CS_ERR_INTERNAL, "docker: HTTP 502: <html>bad gateway</html>"},
    {418, "{\"message\":\"\"}", CS_ERR_UNKNOWN, "docker: HTTP 418: {\"message\":\"\"}"},
    {404, "{\"message\":\"caf\\u00e9 \\ud83d\\ude00\"}", CS_ERR_NOT_FOUND, "docker: caf\xc3\xa9 \xf0\x9f\x98\x80"},
};

START_TEST(error_mapping_captured)
{
    for (size_t i = 0; i < sizeof captured / sizeof captured[0]; i++) {
        docker_response r = {.status = captured[i].status, .body = (char *)captured[i].body,
                             .body_len = strlen(captured[i].body)};
        cs_error err = {0};
        ck_assert_int_eq(docker_error_from_response(&r, &err), -1);
        ck_assert_msg(err.code == captured[i].code, "HTTP %ld: got %s, want %s", r.status, cs_code_name(err.code),
                      cs_code_name(captured[i].code));
        ck_assert_str_eq(err.msg, captured[i].msg);
    }
}
END_TEST

START_TEST(error_mapping_fixture_and_edges)
{
    char path[512], *body;
    size_t len;
    cs_error err;
    snprintf(path, sizeof path, "%s/docker/error_404.json", CS_FIXTURES);
    ck_assert_int_eq(cs_read_file(path, 4096, &body, &len, &err), 0);
    docker_response r = {.status = 404, .body = body, .body_len = len};
    docker_error_from_response(&r, &err);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    ck_assert_str_eq(err.msg, "docker: No such container: nope");
    free(body);

    docker_response none = {.status = 404};
    docker_error_from_response(&none, &err);
    ck_assert_str_eq(err.msg, "docker: HTTP 404");
    /* a long raw body is quoted, not copied whole */
    char big[4000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    docker_response raw = {.status = 500, .body = big, .body_len = strlen(big)};
    docker_error_from_response(&raw, &err);
    ck_assert_uint_lt(strlen(err.msg), 260);
    ck_assert_int_eq(docker_error_from_response(&raw, NULL), -1);
    docker_response_clear(NULL);
    docker_response empty = {0};
    docker_response_clear(&empty);
}
END_TEST

typedef struct lines {
    char got[16][64];
    int n;
    int fail_at; /* 1-based line number whose callback fails; 0 never */
} lines;

static int on_line(void *user, const char *line, size_t len, cs_error *err)
{
    lines *l = user;
    if (l->n < 16)
        snprintf(l->got[l->n], sizeof l->got[0], "%.*s", (int)len, line);
    l->n++;
    if (l->fail_at && l->n == l->fail_at)
        return cs_error_set(err, CS_ERR_INTERNAL, "line %d refused", l->n);
    return 0;
}

static const char *const want_lines[] = {"{\"a\":1}", "{\"b\":2}", "", "{\"c\":3}"};

static void check_lines(const lines *l)
{
    ck_assert_int_eq(l->n, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(l->got[i], want_lines[i]);
}

START_TEST(line_splitter_every_cut)
{
    /* "\r\n" as /images/create writes, "\n" as /events does */
    const char *stream = "{\"a\":1}\r\n{\"b\":2}\n\n{\"c\":3}";
    size_t total = strlen(stream);
    /* every way of cutting the stream in three gives the same lines */
    for (size_t a = 0; a <= total; a++) {
        for (size_t b = a; b <= total; b++) {
            lines l = {0};
            docker_line_splitter s = {.on_line = on_line, .user = &l};
            cs_error err;
            ck_assert_int_eq(docker_lines_feed(&s, stream, a, &err), 0);
            ck_assert_int_eq(docker_lines_feed(&s, stream + a, b - a, &err), 0);
            ck_assert_int_eq(docker_lines_feed(&s, stream + b, total - b, &err), 0);
            ck_assert_int_eq(docker_lines_finish(&s, &err), 0);
            docker_lines_free(&s);
            check_lines(&l);
        }
    }
}
END_TEST

START_TEST(line_splitter_byte_by_byte_and_errors)
{
    const char *stream = "{\"a\":1}\n{\"b\":2}\r\n\r\n{\"c\":3}\n";
    lines l = {0};
    docker_line_splitter s = {.on_line = on_line, .user = &l};
    cs_error err;
    for (size_t i = 0; stream[i]; i++)
        ck_assert_int_eq(docker_lines_feed(&s, stream + i, 1, &err), 0);
    ck_assert_int_eq(docker_lines_finish(&s, &err), 0); /* nothing left over: no extra line */
    check_lines(&l);
    docker_lines_free(&s);

    /* the callback's error stops the feed and comes back */
    lines f = {.fail_at = 2};
    docker_line_splitter sf = {.on_line = on_line, .user = &f};
    ck_assert_int_eq(docker_lines_feed(&sf, stream, strlen(stream), &err), -1);
    ck_assert_str_eq(err.msg, "line 2 refused");
    ck_assert_int_eq(f.n, 2);
    docker_lines_free(&sf);

    /* a line over 16 MiB, arriving in pieces, is refused */
    lines big = {0};
    docker_line_splitter sb = {.on_line = on_line, .user = &big};
    size_t chunk = 1 << 20;
    char *mb = malloc(chunk);
    memset(mb, 'x', chunk);
    int rc = 0;
    for (int i = 0; i < 17 && rc == 0; i++)
        rc = docker_lines_feed(&sb, mb, chunk, &err);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err.code, CS_ERR_RESOURCE);
    ck_assert_int_eq(big.n, 0);
    docker_lines_free(&sb);
    free(mb);
}
END_TEST

/* ---- a fake engine ---- */

typedef struct fake_req {
    char method[16];
    char path[512];
    char head[8192];
    size_t body_len;
} fake_req;

typedef struct fake {
    char dir[64];
    char sock[96];
    int lfd;
    pthread_t thread;
    bool running;
    atomic_bool stopping;
    pthread_mutex_t mu;
    int conn_fd;      /* the connection being served, to wake it on stop */
    char api_max[16]; /* what /version reports */
    char api_min[16];
    char reqs[64][600]; /* "METHOD path" as received */
    int nreqs;
    char last_head[8192];
    int connections;
} fake;

static fake srv;

static void send_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n", status,
                     strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

static void chunk(int fd, const char *data)
{
    char head[32];
    int n = snprintf(head, sizeof head, "%zx\r\n", strlen(data));
    send_all(fd, head, (size_t)n);
    send_all(fd, data, strlen(data));
    send_all(fd, "\r\n", 2);
}

static void chunked_head(int fd)
{
    const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    send_all(fd, h, strlen(h));
}

/* Sleeps up to ms; true if the client went away meanwhile. */
static bool client_gone(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return false;
    char b[256];
    return recv(fd, b, sizeof b, MSG_DONTWAIT) <= 0;
}

/* Reads one request head (and skips its body); -1 when the client closed. */
static int read_request(int fd, fake_req *r)
{
    size_t len = 0;
    char *end = NULL;
    memset(r, 0, sizeof *r);
    while (!end) {
        if (len + 1 >= sizeof r->head)
            return -1;
        ssize_t n = recv(fd, r->head + len, sizeof r->head - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        r->head[len] = '\0';
        end = strstr(r->head, "\r\n\r\n");
    }
    size_t have = len - (size_t)(end + 4 - r->head);
    *end = '\0';
    sscanf(r->head, "%15s %511s", r->method, r->path);
    const char *cl = strcasestr(r->head, "\r\nContent-Length:");
    r->body_len = cl ? strtoul(cl + 17, NULL, 10) : 0;
    char skip[4096];
    for (size_t left = r->body_len > have ? r->body_len - have : 0; left > 0;) {
        ssize_t n = recv(fd, skip, left < sizeof skip ? left : sizeof skip, 0);
        if (n <= 0)
            return -1;
        left -= (size_t)n;
    }
    return 0;
}

static void serve_big(int fd)
{
    char head[128];
    int n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %lu\r\n\r\n", (64ul << 20) + 1);
    send_all(fd, head, (size_t)n);
    static char zeros[1 << 16];
    for (size_t sent = 0; sent < (64ul << 20) + 1;) {
        size_t k = sizeof zeros;
        ssize_t w = send(fd, zeros, k, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        sent += (size_t)w;
    }
}

/* Returns false to close the connection. */
static bool handle(int fd, const fake_req *r)
{
    const char *p = r->path;
    if (!strcmp(p, "/version")) {
        char body[256];
        pthread_mutex_lock(&srv.mu);
        snprintf(body, sizeof body, "{\"Version\":\"fake\",\"ApiVersion\":\"%s\",\"MinAPIVersion\":\"%s\"}",
                 srv.api_max, srv.api_min);
        pthread_mutex_unlock(&srv.mu);
        respond(fd, 200, body);
        return true;
    }
    if (!strcmp(p, "/_ping")) {
        respond(fd, 200, "OK");
        return true;
    }
    if (strncmp(p, "/v", 2) != 0) {
        respond(fd, 404, "{\"message\":\"page not found\"}");
        return true;
    }
    /* the version middleware, as Docker's */
    char v[16];
    snprintf(v, sizeof v, "%.*s", (int)strcspn(p + 2, "/"), p + 2);
    pthread_mutex_lock(&srv.mu);
    bool too_old = docker_api_compare(v, srv.api_min) < 0, too_new = docker_api_compare(v, srv.api_max) > 0;
    char min[16], max[16];
    snprintf(min, sizeof min, "%s", srv.api_min);
    snprintf(max, sizeof max, "%s", srv.api_max);
    pthread_mutex_unlock(&srv.mu);
    char msg[256];
    if (too_old || too_new) {
        if (too_old)
            snprintf(msg, sizeof msg, "client version %s is too old. Minimum supported API version is %s, please "
                     "upgrade your client to a newer version", v, min);
        else
            snprintf(msg, sizeof msg, "{\"message\":\"client version %s is too new. Maximum supported API version "
                     "is %s\"}", v, max);
        respond(fd, 400, msg);
        return true;
    }
    p += 2 + strlen(v);
    if (!strcmp(p, "/echo")) {
        respond(fd, 200, "{\"ok\":true}");
    } else if (!strcmp(p, "/missing")) {
        respond(fd, 404, "{\"message\":\"no such thing\"}");
    } else if (!strcmp(p, "/hang")) {
        client_gone(fd, 10000);
        return false;
    } else if (!strcmp(p, "/stuck")) {
        chunked_head(fd);
        chunk(fd, "{\"first\":1}\n");
        client_gone(fd, 10000);
        return false;
    } else if (!strcmp(p, "/trickle")) {
        /* 9 lines 150 ms apart: slow, but never 500 ms without a byte */
        chunked_head(fd);
        for (int i = 0; i < 9; i++) {
            char line[32];
            snprintf(line, sizeof line, "{\"i\":%d}\r\n", i);
            chunk(fd, line);
            if (client_gone(fd, 150))
                return false;
        }
        send_all(fd, "0\r\n\r\n", 5);
    } else if (!strcmp(p, "/lines")) {
        chunked_head(fd);
        chunk(fd, "{\"a\":1}\r");
        chunk(fd, "\n{\"b\"");
        chunk(fd, ":2}\r\n\r\n");
        chunk(fd, "{\"c\":3}");
        send_all(fd, "0\r\n\r\n", 5);
    } else if (!strcmp(p, "/big")) {
        serve_big(fd);
        return false;
    } else if (!strcmp(p, "/drop")) {
        return false; /* closes without an answer */
    } else {
        respond(fd, 404, "{\"message\":\"page not found\"}");
    }
    return true;
}

static void serve_conn(int fd)
{
    fake_req r;
    while (!atomic_load(&srv.stopping) && read_request(fd, &r) == 0) {
        pthread_mutex_lock(&srv.mu);
        if (srv.nreqs < 64)
            snprintf(srv.reqs[srv.nreqs++], sizeof srv.reqs[0], "%s %s", r.method, r.path);
        memcpy(srv.last_head, r.head, sizeof srv.last_head);
        pthread_mutex_unlock(&srv.mu);
        if (!handle(fd, &r))
            break;
    }
}

static void *fake_main(void *arg)
{
    for (;;) {
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0) {
            if (atomic_load(&srv.stopping))
                return NULL;
            continue;
        }
        pthread_mutex_lock(&srv.mu);
        srv.connections++;
        srv.conn_fd = fd;
        pthread_mutex_unlock(&srv.mu);
        serve_conn(fd);
        pthread_mutex_lock(&srv.mu);
        srv.conn_fd = -1;
        pthread_mutex_unlock(&srv.mu);
        close(fd);
    }
}

/* Listens at srv.sock (again, after fake_stop). */
static void fake_listen(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", srv.sock);
    unlink(srv.sock);
    srv.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(srv.lfd, 0);
    ck_assert_int_eq(bind(srv.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(srv.lfd, 16), 0);
    atomic_store(&srv.stopping, false);
    srv.conn_fd = -1;
    ck_assert_int_eq(pthread_create(&srv.thread, NULL, fake_main, NULL), 0);
    srv.running = true;
}

/* Stops serving and removes the socket: the engine is down. */
static void fake_stop(void)
{
    if (!srv.running)
        return;
    atomic_store(&srv.stopping, true);
    shutdown(srv.lfd, SHUT_RDWR);
    pthread_mutex_lock(&srv.mu);
    if (srv.conn_fd >= 0)
        shutdown(srv.conn_fd, SHUT_RDWR);
    pthread_mutex_unlock(&srv.mu);
    pthread_join(srv.thread, NULL);
    close(srv.lfd);
    unlink(srv.sock);
    srv.running = false;
}

static void fake_setup(void)
{
    memset(&srv, 0, sizeof srv);
    pthread_mutex_init(&srv.mu, NULL);
    snprintf(srv.dir, sizeof srv.dir, "/tmp/cs-http-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(srv.dir));
    snprintf(srv.sock, sizeof srv.sock, "%s/engine.sock", srv.dir);
    snprintf(srv.api_max, sizeof srv.api_max, "1.41");
    snprintf(srv.api_min, sizeof srv.api_min, "1.12");
    fake_listen();
}

static void fake_teardown(void)
{
    fake_stop();
    rmdir(srv.dir);
    pthread_mutex_destroy(&srv.mu);
}

static void fake_set_api(const char *max, const char *min)
{
    pthread_mutex_lock(&srv.mu);
    snprintf(srv.api_max, sizeof srv.api_max, "%s", max);
    snprintf(srv.api_min, sizeof srv.api_min, "%s", min);
    pthread_mutex_unlock(&srv.mu);
}

/* The requests received so far, one "METHOD path" a line. */
static void fake_reqs(char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    pthread_mutex_lock(&srv.mu);
    for (int i = 0; i < srv.nreqs && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s\n", srv.reqs[i]);
    pthread_mutex_unlock(&srv.mu);
}

static docker_client *fake_client(void)
{
    docker_client *c;
    cs_error err;
    char host[200];
    snprintf(host, sizeof host, "unix://%s", srv.sock);
    ck_assert_int_eq(docker_client_new(host, &c, &err), 0);
    return c;
}

static cs_ctx ctx_ms(int64_t ms)
{
    return (cs_ctx){.deadline_ms = cs_time_mono_ms() + ms};
}

/* ---- transfers against the fake engine ---- */

START_TEST(negotiates_once_and_prefixes)
{
    docker_client *c = fake_client();
    cs_error err;
    docker_response r;
    cs_ctx ctx = ctx_ms(5000);
    ck_assert_int_eq(docker_ping(c, &ctx, &err), 0); /* unversioned: no negotiation */
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(docker_request_ok(c, &ctx, "GET", "/echo", NULL, 0, NULL, &r, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "{\"ok\":true}");
        ck_assert_uint_eq(r.body_len, strlen(r.body));
        docker_response_clear(&r);
    }
    char v[DOCKER_API_VERSION_SIZE];
    ck_assert(docker_client_api_version_copy(c, v, sizeof v));
    ck_assert_str_eq(v, "1.41");
    char reqs[4096];
    fake_reqs(reqs, sizeof reqs);
    ck_assert_str_eq(reqs, "GET /_ping\nGET /version\nGET /v1.41/echo\nGET /v1.41/echo\nGET /v1.41/echo\n");
    ck_assert_uint_eq(docker_client_connections(c), 1); /* one connection, reused */
    ck_assert_int_eq(srv.connections, 1);
    docker_client_free(c);
}
END_TEST

START_TEST(upgraded_engine_is_renegotiated)
{
    docker_client *c = fake_client();
    cs_error err;
    docker_response r;
    ck_assert_int_eq(docker_request_ok(c, NULL, "GET", "/echo", NULL, 0, NULL, &r, &err), 0);
    docker_response_clear(&r);
    /* the engine is swapped for one refusing 1.41 behind our back */
    fake_set_api("1.52", "1.44");
    ck_assert_msg(docker_request_ok(c, NULL, "GET", "/echo", NULL, 0, NULL, &r, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(r.status, 200);
    docker_response_clear(&r);
    char v[DOCKER_API_VERSION_SIZE];
    ck_assert(docker_client_api_version_copy(c, v, sizeof v));
    ck_assert_str_eq(v, DOCKER_API_MAX);
    char reqs[4096];
    fake_reqs(reqs, sizeof reqs);
    ck_assert_str_eq(reqs, "GET /version\nGET /v1.41/echo\nGET /v1.41/echo\nGET /version\nGET /v1.47/echo\n");
    /* and one that is older than our min again: the refusal is retried once only */
    fake_set_api("1.30", "1.12");
    ck_assert_int_eq(docker_request(c, NULL, "GET", "/echo", NULL, 0, NULL, &r, &err), 0);
    ck_assert_int_eq(r.status, 200);
    docker_response_clear(&r);
    ck_assert(docker_client_api_version_copy(c, v, sizeof v));
    ck_assert_str_eq(v, "1.30");
    docker_client_free(c);
}
END_TEST

START_TEST(engine_down_then_back)
{
    docker_client *c = fake_client();
    cs_error err;
    docker_response r;
    ck_assert_int_eq(docker_request_ok(c, NULL, "GET", "/echo", NULL, 0, NULL, &r, &err), 0);
    docker_response_clear(&r);
    fake_stop();
    cs_ctx ctx = ctx_ms(5000);
    ck_assert_int_eq(docker_request(c, &ctx, "GET", "/echo", NULL, 0, NULL, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);
    char want[300];
    snprintf(want, sizeof want, "docker at %s: cannot connect: No such file or directory", srv.sock);
    ck_assert_str_eq(err.msg, want);
    ck_assert_ptr_null(r.body);
    char v[DOCKER_API_VERSION_SIZE];
    ck_assert(!docker_client_api_version_copy(c, v, sizeof v)); /* forgotten */
    ck_assert_int_eq(docker_ping(c, &ctx, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);

    /* back, upgraded: the next call negotiates again */
    fake_set_api("1.45", "1.24");
    fake_listen();
    ck_assert_msg(docker_request_ok(c, &ctx, "GET", "/echo", NULL, 0, NULL, &r, &err) == 0, "%s", err.msg);
    docker_response_clear(&r);
    ck_assert(docker_client_api_version_copy(c, v, sizeof v));
    ck_assert_str_eq(v, "1.45");
    docker_client_free(c);
}
END_TEST

START_TEST(refused_and_dropped)
{
    /* a socket file nobody accepts on */
    char path[96];
    snprintf(path, sizeof path, "%s/refusing.sock", srv.dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    docker_client *c;
    cs_error err;
    ck_assert_int_eq(docker_client_new(path, &c, &err), 0);
    ck_assert_int_eq(docker_ping(c, NULL, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "Connection refused"), "%s", err.msg);
    docker_client_free(c);
    close(fd);
    unlink(path);

    /* an engine that hangs up mid-request */
    c = fake_client();
    docker_response r;
    ck_assert_int_eq(docker_request(c, NULL, "GET", "/drop", NULL, 0, NULL, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(err.msg, srv.sock), "%s", err.msg);
    /* the next request still works */
    ck_assert_int_eq(docker_request_ok(c, NULL, "GET", "/echo", NULL, 0, NULL, &r, &err), 0);
    docker_response_clear(&r);
    docker_client_free(c);
}
END_TEST

START_TEST(deadline_on_silent_engine)
{
    docker_client *c = fake_client();
    cs_error err;
    docker_response r;
    ck_assert_int_eq(docker_request_ok(c, NULL, "GET", "/echo", NULL, 0, NULL, &r, &err), 0);
    docker_response_clear(&r);
    cs_ctx ctx = ctx_ms(300);
    int64_t t0 = cs_time_mono_ms();
    ck_assert_int_eq(docker_request(c, &ctx, "GET", "/hang", NULL, 0, NULL, &r, &err), -1);
    int64_t took = cs_time_mono_ms() - t0;
    ck_assert_msg(err.code == CS_ERR_DEADLINE, "%s: %s", cs_code_name(err.code), err.msg);
    ck_assert_msg(took >= 290 && took < 800, "took %lld ms", (long long)took);
    char v[DOCKER_API_VERSION_SIZE];
    ck_assert(docker_client_api_version_copy(c, v, sizeof v)); /* a deadline is not an outage */
    /* an expired ctx fails before sending anything */
    cs_ctx past = {.deadline_ms = cs_time_mono_ms() - 1};
    ck_assert_int_eq(docker_request(c, &past, "GET", "/echo", NULL, 0, NULL, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_DEADLINE);
    docker_client_free(c);
}
END_TEST

typedef struct canceller {
    atomic_bool *flag;
    int after_ms;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *k = arg;
    usleep((useconds_t)k->after_ms * 1000);
    atomic_store(k->flag, true);
    return NULL;
}

static int count_data(void *user, const char *data, size_t len, cs_error *err)
{
    *(size_t *)user += len;
    return 0;
}

START_TEST(cancel_is_prompt)
{
    docker_client *c = fake_client();
    cs_error err;
    atomic_bool flag = false;
    cs_ctx ctx = {.cancelled = &flag};
    canceller k = {&flag, 200};
    pthread_t th;
    /* a request with no deadline and a stream, each cancelled 200 ms in */
    const char *paths[] = {"/hang", "/stuck"};
    for (int i = 0; i < 2; i++) {
        atomic_store(&flag, false);
        pthread_create(&th, NULL, cancel_later, &k);
        int64_t t0 = cs_time_mono_ms();
        int rc;
        if (i == 0) {
            docker_response r;
            rc = docker_request(c, &ctx, "GET", paths[i], NULL, 0, NULL, &r, &err);
        } else {
            size_t got = 0;
            long status = 0;
            rc = docker_stream(c, &ctx, "GET", paths[i], NULL, 0, NULL, 0, count_data, &got, &status, &err);
            ck_assert_uint_gt(got, 0);
            ck_assert_int_eq(status, 200);
        }
        int64_t took = cs_time_mono_ms() - t0;
        pthread_join(th, NULL);
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(err.code == CS_ERR_CANCELLED, "%s: %s", cs_code_name(err.code), err.msg);
        ck_assert_msg(took >= 195 && took < 500, "%s took %lld ms", paths[i], (long long)took);
    }
    /* cancelled before the call: nothing is sent */
    docker_response r;
    ck_assert_int_eq(docker_request(c, &ctx, "GET", "/echo", NULL, 0, NULL, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_CANCELLED);
    docker_client_free(c);
}
END_TEST

START_TEST(stall_cuts_only_silence)
{
    docker_client *c = fake_client();
    cs_error err;
    long status = 0;
    /* 9 lines over ~1.3 s, never 500 ms apart: must complete */
    lines l = {0};
    int64_t t0 = cs_time_mono_ms();
    ck_assert_msg(docker_stream_lines(c, NULL, "GET", "/trickle", NULL, 0, NULL, 500, on_line, &l, &status, &err) ==
                      0,
                  "%s", err.msg);
    ck_assert_int_ge(cs_time_mono_ms() - t0, 1100);
    ck_assert_int_eq(l.n, 9);
    ck_assert_str_eq(l.got[8], "{\"i\":8}"); /* "\r\n" stripped */
    ck_assert_int_eq(status, 200);
    /* one line, then silence: cut after 400 ms */
    size_t got = 0;
    t0 = cs_time_mono_ms();
    ck_assert_int_eq(docker_stream(c, NULL, "GET", "/stuck", NULL, 0, NULL, 400, count_data, &got, &status, &err),
                     -1);
    int64_t took = cs_time_mono_ms() - t0;
    ck_assert_msg(err.code == CS_ERR_DEADLINE, "%s: %s", cs_code_name(err.code), err.msg);
    ck_assert_msg(strstr(err.msg, "no data from docker for 400 ms"), "%s", err.msg);
    ck_assert_msg(took >= 390 && took < 900, "took %lld ms", (long long)took);
    ck_assert_uint_eq(got, strlen("{\"first\":1}\n"));
    docker_client_free(c);
}
END_TEST

static int refuse_data(void *user, const char *data, size_t len, cs_error *err)
{
    if (user)
        return cs_error_set(err, CS_ERR_DATA_LOSS, "reader refused");
    return -1; /* without a word */
}

START_TEST(streams_lines_and_errors)
{
    docker_client *c = fake_client();
    cs_error err;
    long status = 0;
    lines l = {0};
    ck_assert_int_eq(docker_stream_lines(c, NULL, "GET", "/lines", NULL, 0, NULL, 0, on_line, &l, &status, &err), 0);
    check_lines(&l);

    /* an error status: the body is the error, the reader sees nothing */
    size_t got = 0;
    ck_assert_int_eq(docker_stream(c, NULL, "GET", "/missing", NULL, 0, NULL, 0, count_data, &got, &status, &err), -1);
    ck_assert_int_eq(status, 404);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    ck_assert_str_eq(err.msg, "docker: no such thing");
    ck_assert_uint_eq(got, 0);

    /* the reader stops the stream */
    ck_assert_int_eq(docker_stream(c, NULL, "GET", "/trickle", NULL, 0, NULL, 0, refuse_data, "x", &status, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_DATA_LOSS);
    ck_assert_str_eq(err.msg, "reader refused");
    ck_assert_int_eq(docker_stream(c, NULL, "GET", "/trickle", NULL, 0, NULL, 0, refuse_data, NULL, &status, &err),
                     -1);
    ck_assert_int_eq(err.code, CS_ERR_ABORTED);
    lines f = {.fail_at = 2};
    ck_assert_int_eq(docker_stream_lines(c, NULL, "GET", "/trickle", NULL, 0, NULL, 0, on_line, &f, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "line 2 refused");
    docker_client_free(c);
}
END_TEST

START_TEST(body_cap)
{
    docker_client *c = fake_client();
    cs_error err;
    docker_response r;
    ck_assert_int_eq(docker_request(c, NULL, "GET", "/big", NULL, 0, NULL, &r, &err), -1);
    ck_assert_msg(err.code == CS_ERR_RESOURCE, "%s: %s", cs_code_name(err.code), err.msg);
    ck_assert_ptr_null(r.body);
    docker_client_free(c);
}
END_TEST

static void last_head(char *out, size_t size)
{
    pthread_mutex_lock(&srv.mu);
    snprintf(out, size, "%s", srv.last_head);
    pthread_mutex_unlock(&srv.mu);
}

START_TEST(bodies_headers_and_logs)
{
    char log_path[200];
    snprintf(log_path, sizeof log_path, "%s/log", srv.dir);
    int log_fd = open(log_path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
    cs_log_set_fd(log_fd);
    cs_log_set_level(CS_LOG_DEBUG);

    docker_client *c = fake_client();
    cs_error err;
    docker_response r;
    char head[8192];
    const char *json = "{\"Image\":\"bb:test\"}";
    ck_assert_int_eq(docker_request_ok(c, NULL, "POST", "/echo", json, strlen(json), NULL, &r, &err), 0);
    docker_response_clear(&r);
    last_head(head, sizeof head);
    ck_assert_msg(strcasestr(head, "\r\nContent-Type: application/json"), "%s", head);
    ck_assert_msg(strcasestr(head, "\r\nContent-Length: 19"), "%s", head);
    ck_assert_msg(!strcasestr(head, "Expect:"), "%s", head);

    /* a caller's Content-Type wins; no body: no type, but a length */
    const char *tar_hdrs[] = {"Content-Type: application/x-tar", NULL};
    ck_assert_int_eq(docker_request_ok(c, NULL, "PUT", "/echo", "ab", 2, tar_hdrs, &r, &err), 0);
    docker_response_clear(&r);
    last_head(head, sizeof head);
    ck_assert_msg(strstr(head, "PUT /v1.41/echo") && strcasestr(head, "application/x-tar") &&
                      !strcasestr(head, "application/json"),
                  "%s", head);
    ck_assert_int_eq(docker_request_ok(c, NULL, "POST", "/echo", NULL, 0, NULL, &r, &err), 0);
    docker_response_clear(&r);
    last_head(head, sizeof head);
    ck_assert_msg(strcasestr(head, "Content-Length: 0") && !strcasestr(head, "Content-Type"), "%s", head);

    /* credentials go to the engine, never to the log */
    const char *auth[] = {"X-Registry-Auth: c2VjcmV0LXRva2Vu", NULL};
    ck_assert_int_eq(docker_request_ok(c, NULL, "DELETE", "/echo", NULL, 0, auth, &r, &err), 0);
    docker_response_clear(&r);
    last_head(head, sizeof head);
    ck_assert_msg(strstr(head, "DELETE /v1.41/echo") && strstr(head, "X-Registry-Auth: c2VjcmV0LXRva2Vu"), "%s", head);
    ck_assert_int_eq(docker_request_ok(c, NULL, "GET", "/missing", NULL, 0, NULL, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    ck_assert_ptr_null(r.body);
    docker_client_free(c);

    cs_log_set_fd(-1);
    char *text;
    size_t len;
    ck_assert_int_eq(cs_read_file(log_path, 1 << 20, &text, &len, &err), 0);
    close(log_fd);
    unlink(log_path);
    ck_assert_msg(!strstr(text, "c2VjcmV0"), "credentials logged:\n%s", text);
    ck_assert_msg(strstr(text, "method=DELETE") && strstr(text, "path=/echo") && strstr(text, "status=404") &&
                      strstr(text, "duration_ms="),
                  "%s", text);
    free(text);
}
END_TEST

typedef struct worker {
    docker_client *c;
    int ok;
} worker;

static void *hammer(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 100; i++) {
        docker_response r;
        cs_error err;
        if (docker_request_ok(w->c, NULL, "GET", "/echo", NULL, 0, NULL, &r, &err) == 0 && r.status == 200)
            w->ok++;
        docker_response_clear(&r);
    }
    return NULL;
}

START_TEST(threads_share_a_client)
{
    /* the fake serves one connection at a time: each thread's connection
     * is closed after its run, so the next one can be served */
    docker_client *c = fake_client();
    for (int round = 0; round < 3; round++) {
        worker w = {.c = c};
        pthread_t th;
        pthread_create(&th, NULL, hammer, &w);
        pthread_join(th, NULL); /* its handle goes with it */
        ck_assert_int_eq(w.ok, 100);
    }
    ck_assert_uint_eq(docker_client_connections(c), 3);
    /* the main thread's handle, while its thread is alive, is freed by free */
    cs_error err;
    ck_assert_int_eq(docker_ping(c, NULL, &err), 0);
    docker_client_free(c);
}
END_TEST

/* ---- stream sets ---- */

typedef struct set_stream {
    char data[256];
    size_t len;
    bool ended;
    int rc;
    long status;
    cs_error err;
} set_stream;

static int set_data(void *user, const char *data, size_t len, cs_error *err)
{
    set_stream *st = user;
    size_t n = len < sizeof st->data - 1 - st->len ? len : sizeof st->data - 1 - st->len;
    memcpy(st->data + st->len, data, n);
    st->len += n;
    return 0;
}

static void set_end(void *user, int rc, long status, const cs_error *err)
{
    set_stream *st = user;
    st->ended = true;
    st->rc = rc;
    st->status = status;
    st->err = *err;
}

static void run_until_ended(docker_streamset *s, set_stream *st)
{
    int64_t until = cs_time_mono_ms() + 5000;
    while (!st->ended) {
        ck_assert_msg(cs_time_mono_ms() < until, "the stream did not end");
        docker_streamset_run(s, 1000);
    }
}

/* The fake serves one connection at a time: negotiate on a thread that
 * exits, so its cached connection closes before the set connects. */
static void *negotiate_main(void *arg)
{
    char v[DOCKER_API_VERSION_SIZE];
    docker_client_negotiate(arg, NULL, v, sizeof v, NULL);
    return NULL;
}

static void negotiate_apart(docker_client *c)
{
    pthread_t th;
    pthread_create(&th, NULL, negotiate_main, c);
    pthread_join(th, NULL);
}

static void *wake_later(void *arg)
{
    usleep(200000);
    docker_streamset_wakeup(arg);
    return NULL;
}

START_TEST(stream_sets)
{
    docker_client *c = fake_client();
    docker_streamset *s = docker_streamset_new(c);
    cs_error err;

    /* a stream's bytes, then its end */
    negotiate_apart(c);
    set_stream a = {0};
    ck_assert_int_eq(docker_streamset_add(s, "/lines", 1024, set_data, set_end, &a, &err), 0);
    ck_assert_uint_eq(docker_streamset_count(s), 1);
    run_until_ended(s, &a);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.data, "{\"a\":1}\r\n{\"b\":2}\r\n\r\n{\"c\":3}");
    ck_assert_uint_eq(docker_streamset_count(s), 0);
    char reqs[2048];
    fake_reqs(reqs, sizeof reqs);
    ck_assert_str_eq(reqs, "GET /version\nGET /v1.41/lines\n");

    /* an error status is the engine's error; the reader sees no bytes */
    set_stream b = {0};
    ck_assert_int_eq(docker_streamset_add(s, "/missing", 0, set_data, set_end, &b, &err), 0);
    run_until_ended(s, &b);
    ck_assert_int_eq(b.rc, -1);
    ck_assert_int_eq(b.status, 404);
    ck_assert_int_eq(b.err.code, CS_ERR_NOT_FOUND);
    ck_assert_str_eq(b.err.msg, "docker: no such thing");
    ck_assert_uint_eq(b.len, 0);

    /* idle, a run sleeps until woken from another thread */
    pthread_t th;
    pthread_create(&th, NULL, wake_later, s);
    int64_t t0 = cs_time_mono_ms();
    docker_streamset_run(s, -1);
    int64_t took = cs_time_mono_ms() - t0;
    pthread_join(th, NULL);
    ck_assert_msg(took >= 150 && took < 3000, "woke after %lld ms", (long long)took);

    /* the reader stops a stream: its error is the end's */
    set_stream r = {0};
    ck_assert_int_eq(docker_streamset_add(s, "/trickle", 0, refuse_data, set_end, &r, &err), 0);
    run_until_ended(s, &r);
    ck_assert_int_eq(r.rc, -1);
    ck_assert_int_eq(r.err.code, CS_ERR_DATA_LOSS);
    ck_assert_str_eq(r.err.msg, "reader refused");
    negotiate_apart(c); /* the refused stream's connection is closed */

    /* a connection the engine drops mid-stream: UNAVAILABLE */
    set_stream d = {0};
    ck_assert_int_eq(docker_streamset_add(s, "/drop", 0, set_data, set_end, &d, &err), 0);
    run_until_ended(s, &d);
    ck_assert_int_eq(d.rc, -1);
    ck_assert_msg(d.err.code == CS_ERR_UNAVAILABLE, "%s: %s", cs_code_name(d.err.code), d.err.msg);

    /* the engine gone: no version to speak, nothing is started */
    fake_stop();
    set_stream e = {0};
    ck_assert_int_eq(docker_streamset_add(s, "/lines", 0, set_data, set_end, &e, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);
    ck_assert_uint_eq(docker_streamset_count(s), 0);
    fake_listen();

    /* freeing the set ends an open stream without calling back */
    negotiate_apart(c);
    set_stream f = {0};
    ck_assert_int_eq(docker_streamset_add(s, "/stuck", 0, set_data, set_end, &f, &err), 0);
    for (int64_t until = cs_time_mono_ms() + 5000; f.len == 0 && cs_time_mono_ms() < until;)
        docker_streamset_run(s, 500);
    ck_assert_str_eq(f.data, "{\"first\":1}\n");
    ck_assert(!f.ended);
    ck_assert_uint_eq(cs_engine_streams_open(), 1);
    docker_streamset_free(s);
    ck_assert_uint_eq(cs_engine_streams_open(), 0);
    ck_assert(!f.ended);
    docker_streamset_free(NULL);
    docker_client_free(c);
}
END_TEST

int main(void)
{
    cs_error err;
    if (docker_http_global_init(&err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    Suite *s = suite_create("docker_http");
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, hosts_good);
    tcase_add_test(pure, hosts_bad);
    tcase_add_test(pure, version_compare);
    tcase_add_test(pure, version_choice);
    tcase_add_test(pure, error_mapping_captured);
    tcase_add_test(pure, error_mapping_fixture_and_edges);
    tcase_add_test(pure, line_splitter_every_cut);
    tcase_add_test(pure, line_splitter_byte_by_byte_and_errors);
    suite_add_tcase(s, pure);

    TCase *fk = tcase_create("fake_engine");
    tcase_add_checked_fixture(fk, fake_setup, fake_teardown);
    tcase_set_timeout(fk, 60);
    tcase_add_test(fk, negotiates_once_and_prefixes);
    tcase_add_test(fk, upgraded_engine_is_renegotiated);
    tcase_add_test(fk, engine_down_then_back);
    tcase_add_test(fk, refused_and_dropped);
    tcase_add_test(fk, deadline_on_silent_engine);
    tcase_add_test(fk, cancel_is_prompt);
    tcase_add_test(fk, stall_cuts_only_silence);
    tcase_add_test(fk, streams_lines_and_errors);
    tcase_add_test(fk, body_cap);
    tcase_add_test(fk, bodies_headers_and_logs);
    tcase_add_test(fk, threads_share_a_client);
    tcase_add_test(fk, stream_sets);
    suite_add_tcase(s, fk);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    docker_http_global_cleanup();
    return failed ? 1 : 0;
}
