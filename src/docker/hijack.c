/* Hijacked connections: exec start and attach turn the HTTP connection into a
 * raw full-duplex byte stream (stdin one way, the stdio stream the other).
 * libcurl has no clean way to hand such a connection over, so this file
 * speaks the one request it needs over a plain socket: the request, the
 * status line, the headers, then the socket is the stream's. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker/internal.h"
#include "util/fs.h"
#include "util/time.h"

#define HEADER_MAX 16384

static int connect_engine(const char *endpoint, cs_error *err)
{
    int fd;
    if (endpoint[0] == '/') {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(endpoint) >= sizeof sa.sun_path)
            return cs_error_set(err, CS_ERR_INVALID, "docker socket path too long");
        memcpy(sa.sun_path, endpoint, strlen(endpoint) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return cs_error_errno(err, CS_ERR_UNAVAILABLE, e, "docker at %s", endpoint);
        }
        return fd;
    }
    char host[256];
    snprintf(host, sizeof host, "%s", endpoint);
    char *colon = strrchr(host, ':');
    if (!colon)
        return cs_error_set(err, CS_ERR_INVALID, "docker endpoint %s has no port", endpoint);
    *colon = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "docker at %s: cannot resolve", endpoint);
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd >= 0 ? connect(fd, res->ai_addr, res->ai_addrlen) : -1;
    int e = errno;
    freeaddrinfo(res);
    if (rc != 0) {
        if (fd >= 0)
            close(fd);
        return cs_error_errno(err, CS_ERR_UNAVAILABLE, e, "docker at %s", endpoint);
    }
    return fd;
}

/* Reads the response head byte by byte, so no stream byte is consumed. */
static int read_head(int fd, const cs_ctx *ctx, char *buf, size_t size, cs_error *err)
{
    size_t n = 0;
    while (n + 1 < size) {
        int64_t left = cs_ctx_remaining_ms(ctx);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, left < 0 || left > 1000 ? 1000 : (int)left);
        if (cs_ctx_done(ctx))
            return cs_error_set(err, cs_ctx_cancelled(ctx) ? CS_ERR_CANCELLED : CS_ERR_DEADLINE,
                                "docker did not answer the upgrade in time");
        if (pr <= 0)
            continue;
        ssize_t r = recv(fd, buf + n, 1, 0);
        if (r <= 0)
            return cs_error_set(err, CS_ERR_UNAVAILABLE, "docker closed the connection during the upgrade");
        n++;
        buf[n] = '\0';
        if (n >= 4 && !memcmp(buf + n - 4, "\r\n\r\n", 4))
            return 0;
    }
    return cs_error_set(err, CS_ERR_INTERNAL, "docker's response head is larger than %d bytes", HEADER_MAX);
}

/* The error body that follows a refused upgrade, as docker_error_from_response wants it. */
static void refused(int fd, long status, cs_error *err)
{
    char body[4096];
    ssize_t n = recv(fd, body, sizeof body - 1, MSG_DONTWAIT);
    docker_response r = {.status = status, .body = body, .body_len = n > 0 ? (size_t)n : 0};
    body[n > 0 ? n : 0] = '\0';
    /* a chunked body starts with its size line: skip to the JSON */
    char *brace = strchr(body, '{');
    if (brace) {
        r.body = brace;
        r.body_len = strlen(brace);
        char *end = strrchr(brace, '}');
        if (end)
            r.body_len = (size_t)(end - brace + 1);
    }
    docker_error_from_response(&r, err);
}

int docker_hijack(docker_backend *d, const cs_ctx *ctx, const char *path, const char *body, int *out, cs_error *err)
{
    char version[16];
    if (docker_client_negotiate(d->http, ctx, version, sizeof version, err) != 0)
        return -1;
    int fd = connect_engine(docker_client_endpoint(d->http), err);
    if (fd < 0)
        return -1;
    char head[1024];
    size_t blen = body ? strlen(body) : 0;
    int hn = snprintf(head, sizeof head,
                      "POST /v%s%s HTTP/1.1\r\nHost: docker\r\nUser-Agent: crishim\r\nConnection: Upgrade\r\n"
                      "Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      version, path, blen);
    char resp[HEADER_MAX];
    if (hn <= 0 || (size_t)hn >= sizeof head || cs_send_all(fd, head, (size_t)hn) != 0 ||
        (blen && cs_send_all(fd, body, blen) != 0)) {
        close(fd);
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "docker at %s: cannot send %s", docker_client_endpoint(d->http),
                            path);
    }
    if (read_head(fd, ctx, resp, sizeof resp, err) != 0) {
        close(fd);
        return -1;
    }
    long status = 0;
    const char *sp = strchr(resp, ' ');
    if (sp)
        status = strtol(sp + 1, NULL, 10);
    if (status != 101 && status != 200) {
        refused(fd, status, err);
        close(fd);
        return -1;
    }
    *out = fd;
    return 0;
}
