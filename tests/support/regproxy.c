/* The test registry proxy of regproxy.h: accept threads for the API and the
 * storage port, one thread per connection that reads one request, answers
 * it itself (/token, 401 challenges, redirects, 403 at storage) or forwards
 * it to the upstream registry with "Connection: close" and relays the
 * answer, shaping blob bodies (throttle, stall) and counting them. */
#include "regproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/base64.h"

#define MAX_BLOBS 64
#define MAX_TOKENS 256
#define HDR_MAX 16384
#define CHUNK 65536

typedef struct blob_stat {
    char digest[80];
    int gets;
    int64_t bytes;
} blob_stat;

typedef struct conn {
    struct conn *next;
    rp_proxy *p;
    int fd;
    bool storage;
    pthread_t thread;
    atomic_bool done;
} conn;

struct rp_proxy {
    char upstream_host[64];
    int upstream_port;
    int lfd[2], port[2]; /* 0: API, 1: storage */
    pthread_t accept_thread[2];
    atomic_bool stopping;
    pthread_mutex_t mu;
    conn *conns;
    /* knobs */
    bool bearer, redirect, ignore_range;
    int64_t throttle_bytes, stall_after;
    int throttle_ms, blob_delay_ms;
    /* stats */
    blob_stat blobs[MAX_BLOBS];
    int n_blobs;
    unsigned stats_gen; /* bumped by a reset: older connections stop counting */
    int in_flight, max_in_flight, token_requests, storage_requests, storage_rejected;
    char last_range[128];
    char tokens[MAX_TOKENS][40];
    int n_tokens;
};

/* ---- small helpers ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool send_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        buf += w;
        n -= (size_t)w;
    }
    return true;
}

/* Waits up to ms for fd to be readable (or closed); false on stop. */
static int wait_readable(rp_proxy *p, int fd, int ms)
{
    for (int waited = 0; waited < ms; waited += 100) {
        if (atomic_load(&p->stopping))
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, 100);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

/* Reads until "\r\n\r\n"; the head (NUL-terminated) and any bytes past it. */
static int read_head(rp_proxy *p, int fd, char *buf, size_t size, size_t *head_len, size_t *total)
{
    size_t n = 0;
    while (n + 1 < size) {
        if (wait_readable(p, fd, 30000) != 1)
            return -1;
        ssize_t r = recv(fd, buf + n, size - 1 - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            *head_len = (size_t)(end + 4 - buf);
            *total = n;
            return 0;
        }
    }
    return -1;
}

/* A header's value in a request/response head (borrowed into out). */
static bool get_header(const char *head, const char *name, char *out, size_t size)
{
    size_t k = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
        l += 2;
        if (!strncasecmp(l, name, k) && l[k] == ':') {
            const char *v = l + k + 1;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\r\n");
            if (n >= size)
                n = size - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}

static void respond(int fd, int status, const char *reason, const char *extra_headers, const char *body)
{
    char head[2048];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: application/json\r\n"
                     "Docker-Distribution-Api-Version: registry/2.0\r\n%sConnection: close\r\n\r\n",
                     status, reason, blen, extra_headers ? extra_headers : "");
    if (send_all(fd, head, (size_t)n) && blen)
        send_all(fd, body, blen);
}

static blob_stat *blob_entry(rp_proxy *p, const char *digest)
{
    for (int i = 0; i < p->n_blobs; i++)
        if (!strcmp(p->blobs[i].digest, digest))
            return &p->blobs[i];
    if (p->n_blobs == MAX_BLOBS)
        return NULL;
    blob_stat *b = &p->blobs[p->n_blobs++];
    memset(b, 0, sizeof *b);
    snprintf(b->digest, sizeof b->digest, "%s", digest);
    return b;
}

/* "/v2/<repo>/blobs/<digest>": the digest (and the repo into repo). */
static bool blob_path(const char *path, char *digest, size_t dsize)
{
    const char *b = strstr(path, "/blobs/sha256:");
    if (strncmp(path, "/v2/", 4) != 0 || !b)
        return false;
    snprintf(digest, dsize, "%.*s", (int)strcspn(b + 7, "?"), b + 7);
    return true;
}

static void repo_of(const char *path, char *repo, size_t size)
{
    repo[0] = '\0';
    if (strncmp(path, "/v2/", 4) != 0)
        return;
    const char *r = path + 4;
    const char *end = strstr(r, "/manifests/");
    if (!end)
        end = strstr(r, "/blobs/");
    if (!end)
        end = strstr(r, "/tags/");
    if (end)
        snprintf(repo, size, "%.*s", (int)(end - r), r);
}

/* ---- tokens ---- */

static void issue_token(rp_proxy *p, char *out, size_t size)
{
    pthread_mutex_lock(&p->mu);
    int i = p->n_tokens < MAX_TOKENS ? p->n_tokens++ : MAX_TOKENS - 1;
    snprintf(p->tokens[i], sizeof p->tokens[i], "tok-%d-%ld", i, (long)random());
    snprintf(out, size, "%s", p->tokens[i]);
    pthread_mutex_unlock(&p->mu);
}

static bool token_valid(rp_proxy *p, const char *t)
{
    if (!strcmp(t, RP_REGISTRY_TOKEN))
        return true;
    bool ok = false;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->n_tokens && !ok; i++)
        ok = !strcmp(p->tokens[i], t);
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* form value of key in "a=b&c=d" (no unescaping: the test values need none). */
static bool form_get(const char *form, const char *key, char *out, size_t size)
{
    size_t k = strlen(key);
    for (const char *s = form; s && *s; s = strchr(s, '&') ? strchr(s, '&') + 1 : NULL) {
        if (!strncmp(s, key, k) && s[k] == '=') {
            snprintf(out, size, "%.*s", (int)strcspn(s + k + 1, "&"), s + k + 1);
            return true;
        }
    }
    return false;
}

static void serve_token(rp_proxy *p, int fd, const char *method, const char *head, const char *rest,
                        size_t rest_len)
{
    pthread_mutex_lock(&p->mu);
    p->token_requests++;
    pthread_mutex_unlock(&p->mu);
    char tok[64], body[256], v[256];
    const char *deny = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}";
    if (!strcmp(method, "POST")) {
        char form[1024] = "";
        char cl[32] = "0";
        get_header(head, "Content-Length", cl, sizeof cl);
        size_t want = (size_t)strtoul(cl, NULL, 10);
        if (want >= sizeof form)
            want = sizeof form - 1;
        size_t have = rest_len < want ? rest_len : want;
        memcpy(form, rest, have);
        while (have < want) {
            if (wait_readable(p, fd, 5000) != 1)
                return;
            ssize_t r = recv(fd, form + have, want - have, 0);
            if (r <= 0)
                return;
            have += (size_t)r;
        }
        form[have] = '\0';
        if (!form_get(form, "grant_type", v, sizeof v) || strcmp(v, "refresh_token") != 0 ||
            !form_get(form, "refresh_token", v, sizeof v) || strcmp(v, RP_IDENTITY_TOKEN) != 0 ||
            !form_get(form, "client_id", v, sizeof v) || !form_get(form, "service", v, sizeof v) ||
            strcmp(v, RP_SERVICE) != 0) {
            respond(fd, 401, "Unauthorized", NULL, deny);
            return;
        }
        issue_token(p, tok, sizeof tok);
        snprintf(body, sizeof body, "{\"access_token\":\"%s\",\"expires_in\":300,\"refresh_token\":\"%s\"}", tok,
                 RP_IDENTITY_TOKEN);
        respond(fd, 200, "OK", NULL, body);
        return;
    }
    char authz[512] = "";
    get_header(head, "Authorization", authz, sizeof authz);
    char *want = NULL;
    {
        char up[128];
        snprintf(up, sizeof up, "%s:%s", RP_USER, RP_PASS);
        char *b64 = cs_base64_encode(up, strlen(up), false);
        size_t n = strlen(b64) + 8;
        want = malloc(n);
        snprintf(want, n, "Basic %s", b64);
        free(b64);
    }
    bool ok = !strcmp(authz, want);
    free(want);
    if (!ok) {
        respond(fd, 401, "Unauthorized", NULL, deny);
        return;
    }
    issue_token(p, tok, sizeof tok);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"expires_in\":300}", tok);
    respond(fd, 200, "OK", NULL, body);
}

/* ---- forwarding ---- */

static int upstream_connect(rp_proxy *p)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->upstream_port)};
    inet_pton(AF_INET, p->upstream_host, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Forwards method+path to upstream and relays the answer; blob bodies
 * (digest non-NULL, GET) are shaped and counted. */
static void forward(rp_proxy *p, int fd, const char *method, const char *path, const char *head,
                    const char *digest)
{
    int up = upstream_connect(p);
    if (up < 0) {
        respond(fd, 502, "Bad Gateway", NULL, "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"upstream\"}]}");
        return;
    }
    char req[4096], v[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n", method, path,
                     p->upstream_host, p->upstream_port);
    if (get_header(head, "Accept", v, sizeof v))
        n += snprintf(req + n, sizeof req - (size_t)n, "Accept: %s\r\n", v);
    pthread_mutex_lock(&p->mu);
    bool ignore_range = p->ignore_range;
    pthread_mutex_unlock(&p->mu);
    if (!ignore_range && get_header(head, "Range", v, sizeof v))
        n += snprintf(req + n, sizeof req - (size_t)n, "Range: %s\r\n", v);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    char *buf = malloc(CHUNK);
    bool counted = false;
    if (!send_all(up, req, (size_t)n))
        goto out;
    size_t head_len, total;
    if (read_head(p, up, buf, CHUNK, &head_len, &total) != 0)
        goto out;
    bool shaped = digest && !strcmp(method, "GET") && (!strncmp(buf + 9, "200", 3) || !strncmp(buf + 9, "206", 3));
    if (!send_all(fd, buf, head_len))
        goto out;
    int64_t throttle_bytes, stall_after;
    int throttle_ms, delay_ms;
    pthread_mutex_lock(&p->mu);
    throttle_bytes = p->throttle_bytes;
    throttle_ms = p->throttle_ms;
    stall_after = p->stall_after;
    delay_ms = p->blob_delay_ms;
    unsigned gen = p->stats_gen;
    if (shaped) {
        counted = true;
        if (++p->in_flight > p->max_in_flight)
            p->max_in_flight = p->in_flight;
    }
    pthread_mutex_unlock(&p->mu);
    if (shaped && delay_ms > 0)
        sleep_ms(delay_ms);
    size_t pending = total - head_len;
    memmove(buf, buf + head_len, pending);
    int64_t sent = 0, budget = throttle_bytes; /* bytes until the next pause */
    for (;;) {
        if (pending == 0) {
            if (wait_readable(p, up, 30000) != 1)
                break;
            ssize_t r = recv(up, buf, CHUNK, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            pending = (size_t)r;
        }
        size_t off = 0;
        while (off < pending) {
            size_t now = pending - off;
            if (shaped && throttle_bytes > 0 && (int64_t)now > budget)
                now = (size_t)budget;
            if (shaped && stall_after >= 0 && sent + (int64_t)now > stall_after)
                now = (size_t)(stall_after - sent);
            if (now > 0) {
                if (!send_all(fd, buf + off, now))
                    goto out;
                off += now;
                sent += (int64_t)now;
                pthread_mutex_lock(&p->mu);
                /* a body still draining into a client killed before the
                 * last reset (a send to a dead peer can succeed once) is
                 * not the new pull's bytes */
                blob_stat *b = shaped && gen == p->stats_gen ? blob_entry(p, digest) : NULL;
                if (b)
                    b->bytes += (int64_t)now;
                pthread_mutex_unlock(&p->mu);
            }
            if (shaped && stall_after >= 0 && sent >= stall_after) {
                /* silent until the client gives up (or the proxy stops) */
                char sink[256];
                for (;;) {
                    int w = wait_readable(p, fd, 1000);
                    if (w < 0)
                        goto out;
                    if (w == 1 && recv(fd, sink, sizeof sink, 0) <= 0)
                        goto out;
                }
            }
            if (shaped && throttle_bytes > 0) {
                budget -= (int64_t)now;
                if (budget <= 0) {
                    if (throttle_ms > 0)
                        sleep_ms(throttle_ms);
                    budget = throttle_bytes;
                }
            }
        }
        pending = 0;
    }
out:
    if (counted) {
        pthread_mutex_lock(&p->mu);
        p->in_flight--;
        pthread_mutex_unlock(&p->mu);
    }
    free(buf);
    close(up);
}

/* ---- the control endpoint (for the program form) ---- */

static int64_t query_int(const char *q, const char *key, int64_t def)
{
    char v[64];
    return q && form_get(q, key, v, sizeof v) ? strtoll(v, NULL, 10) : def;
}

/* "set?bearer=1&redirect=0&throttle_bytes=N&throttle_ms=N&stall_after=N&ignore_range=1&delay_ms=N",
 * "reset", "stats?digest=sha256:...". */
static void control(rp_proxy *p, int fd, const char *what)
{
    const char *q = strchr(what, '?');
    q = q ? q + 1 : NULL;
    char body[512];
    if (!strncmp(what, "set", 3)) {
        pthread_mutex_lock(&p->mu);
        p->bearer = query_int(q, "bearer", p->bearer) != 0;
        p->redirect = query_int(q, "redirect", p->redirect) != 0;
        p->ignore_range = query_int(q, "ignore_range", p->ignore_range) != 0;
        p->throttle_bytes = query_int(q, "throttle_bytes", p->throttle_bytes);
        p->throttle_ms = (int)query_int(q, "throttle_ms", p->throttle_ms);
        p->stall_after = query_int(q, "stall_after", p->stall_after);
        p->blob_delay_ms = (int)query_int(q, "delay_ms", p->blob_delay_ms);
        pthread_mutex_unlock(&p->mu);
        respond(fd, 200, "OK", NULL, "{}");
    } else if (!strncmp(what, "reset", 5)) {
        rp_reset_stats(p);
        respond(fd, 200, "OK", NULL, "{}");
    } else if (!strncmp(what, "stats", 5)) {
        char digest[80] = "";
        if (q)
            form_get(q, "digest", digest, sizeof digest);
        snprintf(body, sizeof body,
                 "{\"gets\":%d,\"bytes\":%lld,\"max_concurrent\":%d,\"token_requests\":%d,"
                 "\"storage_requests\":%d,\"storage_rejected\":%d}",
                 rp_blob_gets(p, digest), (long long)rp_blob_bytes(p, digest), rp_max_concurrent(p),
                 rp_token_requests(p), rp_storage_requests(p), rp_storage_rejected(p));
        respond(fd, 200, "OK", NULL, body);
    } else {
        respond(fd, 404, "Not Found", NULL, "{}");
    }
}

/* ---- one connection ---- */

static void serve(conn *c)
{
    rp_proxy *p = c->p;
    char *buf = malloc(HDR_MAX);
    size_t head_len, total;
    if (read_head(p, c->fd, buf, HDR_MAX, &head_len, &total) != 0)
        goto out;
    char method[16] = "", path[2048] = "";
    if (sscanf(buf, "%15s %2047s", method, path) != 2)
        goto out;
    char authz[1024] = "";
    bool has_auth = get_header(buf, "Authorization", authz, sizeof authz);
    char digest[80] = "";
    bool is_blob = blob_path(strncmp(path, "/storage", 8) ? path : path + 8, digest, sizeof digest);

    if (c->storage) {
        pthread_mutex_lock(&p->mu);
        p->storage_requests++;
        if (has_auth)
            p->storage_rejected++;
        pthread_mutex_unlock(&p->mu);
        if (has_auth) {
            respond(c->fd, 403, "Forbidden", NULL,
                    "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"storage got registry credentials\"}]}");
            goto out;
        }
        if (strncmp(path, "/storage/", 9) != 0) {
            respond(c->fd, 404, "Not Found", NULL, NULL);
            goto out;
        }
        forward(p, c->fd, method, path + 8, buf, is_blob ? digest : NULL);
        goto out;
    }
    if (!strncmp(path, "/_proxy/", 8)) {
        control(p, c->fd, path + 8);
        goto out;
    }
    if (!strncmp(path, "/token", 6) && (path[6] == '\0' || path[6] == '?')) {
        serve_token(p, c->fd, method, buf, buf + head_len, total - head_len);
        goto out;
    }
    pthread_mutex_lock(&p->mu);
    bool bearer = p->bearer, redirect = p->redirect;
    pthread_mutex_unlock(&p->mu);
    if (bearer && !strncmp(path, "/v2/", 4)) {
        bool ok = !strncasecmp(authz, "Bearer ", 7) && token_valid(p, authz + 7);
        if (!ok) {
            char repo[512], hdr[1024];
            repo_of(path, repo, sizeof repo);
            if (repo[0])
                snprintf(hdr, sizeof hdr,
                         "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\",service=\"%s\","
                         "scope=\"repository:%s:pull\"\r\n",
                         p->port[0], RP_SERVICE, repo);
            else
                snprintf(hdr, sizeof hdr, "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\",service=\"%s\"\r\n",
                         p->port[0], RP_SERVICE);
            respond(c->fd, 401, "Unauthorized", hdr,
                    "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}");
            goto out;
        }
    }
    if (is_blob && !strcmp(method, "GET")) {
        char range[128] = "";
        get_header(buf, "Range", range, sizeof range);
        pthread_mutex_lock(&p->mu);
        blob_stat *b = blob_entry(p, digest);
        if (b)
            b->gets++;
        snprintf(p->last_range, sizeof p->last_range, "%s", range);
        pthread_mutex_unlock(&p->mu);
        if (redirect) {
            char hdr[2200];
            snprintf(hdr, sizeof hdr, "Location: http://127.0.0.1:%d/storage%s\r\n", p->port[1], path);
            respond(c->fd, 307, "Temporary Redirect", hdr, NULL);
            goto out;
        }
    }
    forward(p, c->fd, method, path, buf, is_blob ? digest : NULL);
out:
    free(buf);
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    serve(c);
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    atomic_store(&c->done, true);
    return NULL;
}

/* Joins connections that have finished (the accept thread calls it). */
static void reap(rp_proxy *p, bool all)
{
    pthread_mutex_lock(&p->mu);
    conn **pp = &p->conns;
    while (*pp) {
        conn *c = *pp;
        if (all || atomic_load(&c->done)) {
            *pp = c->next;
            pthread_mutex_unlock(&p->mu);
            pthread_join(c->thread, NULL);
            free(c);
            pthread_mutex_lock(&p->mu);
        } else {
            pp = &c->next;
        }
    }
    pthread_mutex_unlock(&p->mu);
}

typedef struct acceptor {
    rp_proxy *p;
    int which;
} acceptor;

static void *accept_main(void *arg)
{
    rp_proxy *p = ((acceptor *)arg)->p;
    int which = ((acceptor *)arg)->which;
    free(arg);
    while (!atomic_load(&p->stopping)) {
        struct pollfd pfd = {.fd = p->lfd[which], .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        int fd = accept4(p->lfd[which], NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        conn *c = calloc(1, sizeof *c);
        c->p = p;
        c->fd = fd;
        c->storage = which == 1;
        atomic_init(&c->done, false);
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_mutex_lock(&p->mu);
        c->next = p->conns;
        p->conns = c;
        pthread_mutex_unlock(&p->mu);
        if (which == 0)
            reap(p, false);
    }
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

rp_proxy *rp_start(const char *upstream)
{
    rp_proxy *p = calloc(1, sizeof *p);
    const char *colon = strrchr(upstream, ':');
    if (!colon || (size_t)(colon - upstream) >= sizeof p->upstream_host) {
        fprintf(stderr, "regproxy: upstream %s is not host:port\n", upstream);
        free(p);
        return NULL;
    }
    snprintf(p->upstream_host, sizeof p->upstream_host, "%.*s", (int)(colon - upstream), upstream);
    p->upstream_port = atoi(colon + 1);
    p->stall_after = -1;
    pthread_mutex_init(&p->mu, NULL);
    atomic_init(&p->stopping, false);
    p->lfd[0] = listen_any(&p->port[0]);
    p->lfd[1] = listen_any(&p->port[1]);
    if (p->lfd[0] < 0 || p->lfd[1] < 0) {
        fprintf(stderr, "regproxy: cannot listen: %s\n", strerror(errno));
        if (p->lfd[0] >= 0)
            close(p->lfd[0]);
        if (p->lfd[1] >= 0)
            close(p->lfd[1]);
        free(p);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        acceptor *a = malloc(sizeof *a);
        a->p = p;
        a->which = i;
        pthread_create(&p->accept_thread[i], NULL, accept_main, a);
    }
    return p;
}

void rp_stop(rp_proxy *p)
{
    if (!p)
        return;
    atomic_store(&p->stopping, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(p->accept_thread[i], NULL);
        close(p->lfd[i]);
    }
    reap(p, true);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int rp_port(const rp_proxy *p)
{
    return p->port[0];
}

int rp_storage_port(const rp_proxy *p)
{
    return p->port[1];
}

#define SETTER(body)                                                                                             \
    do {                                                                                                         \
        pthread_mutex_lock(&p->mu);                                                                              \
        body;                                                                                                    \
        pthread_mutex_unlock(&p->mu);                                                                            \
    } while (0)

void rp_set_bearer(rp_proxy *p, bool on)
{
    SETTER(p->bearer = on);
}

void rp_set_throttle(rp_proxy *p, int64_t bytes, int interval_ms)
{
    SETTER(p->throttle_bytes = bytes; p->throttle_ms = interval_ms);
}

void rp_set_stall_after(rp_proxy *p, int64_t bytes)
{
    SETTER(p->stall_after = bytes);
}

void rp_set_redirect(rp_proxy *p, bool on)
{
    SETTER(p->redirect = on);
}

void rp_set_ignore_range(rp_proxy *p, bool on)
{
    SETTER(p->ignore_range = on);
}

void rp_set_blob_delay(rp_proxy *p, int ms)
{
    SETTER(p->blob_delay_ms = ms);
}

void rp_reset_stats(rp_proxy *p)
{
    SETTER(p->n_blobs = 0; p->stats_gen++; p->max_in_flight = 0; p->token_requests = 0; p->storage_requests = 0;
           p->storage_rejected = 0; p->last_range[0] = '\0');
}

int rp_blob_gets(rp_proxy *p, const char *digest)
{
    int n = 0;
    SETTER(for (int i = 0; i < p->n_blobs; i++) if (!strcmp(p->blobs[i].digest, digest)) n = p->blobs[i].gets);
    return n;
}

int64_t rp_blob_bytes(rp_proxy *p, const char *digest)
{
    int64_t n = 0;
    SETTER(for (int i = 0; i < p->n_blobs; i++) if (!strcmp(p->blobs[i].digest, digest)) n = p->blobs[i].bytes);
    return n;
}

int rp_max_concurrent(rp_proxy *p)
{
    int n;
    SETTER(n = p->max_in_flight);
    return n;
}

int rp_token_requests(rp_proxy *p)
{
    int n;
    SETTER(n = p->token_requests);
    return n;
}

int rp_storage_requests(rp_proxy *p)
{
    int n;
    SETTER(n = p->storage_requests);
    return n;
}

int rp_storage_rejected(rp_proxy *p)
{
    int n;
    SETTER(n = p->storage_rejected);
    return n;
}

void rp_last_range(rp_proxy *p, char *out, size_t size)
{
    SETTER(snprintf(out, size, "%s", p->last_range));
}
