/* Docker Engine API over HTTP with libcurl; see http.h. */
#include "docker/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define BODY_MAX (64u * 1024 * 1024)
#define LINE_MAX_BYTES (16u * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 2000
#define DEFAULT_TIMEOUT_MS 120000

/* Easy handles of one client, one per thread, all listed so free can clean
 * up handles of threads that have already exited. */
typedef struct handle {
    struct handle *next;
    struct docker_client *client;
    CURL *curl;
} handle;

struct docker_client {
    char *socket_path; /* unix socket, or NULL for TCP */
    char *base_url;    /* "http://localhost" or "http://host:port" */
    char *endpoint;
    pthread_key_t key;
    pthread_mutex_t mu; /* guards handles and version */
    handle *handles;
    char version[16]; /* "" until negotiated */
};

int docker_http_global_init(cs_error *err)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        return cs_error_set(err, CS_ERR_INTERNAL, "libcurl: %s", curl_easy_strerror(rc));
    return 0;
}

void docker_http_global_cleanup(void)
{
    curl_global_cleanup();
}

/* ---- clients ---- */

/* A pool thread that exits takes its handle along, so handles don't pile up
 * as the pool grows and shrinks. */
static void handle_thread_exit(void *value)
{
    handle *h = value;
    docker_client *c = h->client;
    pthread_mutex_lock(&c->mu);
    for (handle **pp = &c->handles; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    curl_easy_cleanup(h->curl);
    free(h);
}

int docker_client_new(const char *host, docker_client **out, cs_error *err)
{
    const char *path = NULL, *hostport = NULL;
    if (!host || !*host)
        return cs_error_set(err, CS_ERR_INVALID, "docker host is empty");
    if (!strncmp(host, "unix://", 7))
        path = host + 7;
    else if (host[0] == '/')
        path = host;
    else if (!strncmp(host, "tcp://", 6))
        hostport = host + 6;
    else if (!strncmp(host, "http://", 7))
        hostport = host + 7;
    else
        return cs_error_set(err, CS_ERR_INVALID, "docker host %s: want unix:///path or tcp://host:port", host);
    if (path && path[0] != '/')
        return cs_error_set(err, CS_ERR_INVALID, "docker host %s: socket path must be absolute", host);
    if (hostport && (!*hostport || !strchr(hostport, ':')))
        return cs_error_set(err, CS_ERR_INVALID, "docker host %s: want tcp://host:port", host);
    docker_client *c = cs_xcalloc(1, sizeof *c);
    if (path) {
        c->socket_path = cs_xstrdup(path);
        c->base_url = cs_xstrdup("http://localhost");
        c->endpoint = cs_xstrdup(path);
    } else {
        size_t n = strcspn(hostport, "/");
        c->endpoint = cs_xstrndup(hostport, n);
        c->base_url = cs_xasprintf("http://%s", c->endpoint);
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_key_create(&c->key, handle_thread_exit);
    *out = c;
    return 0;
}

void docker_client_free(docker_client *c)
{
    if (!c)
        return;
    handle *h = c->handles;
    while (h) {
        handle *next = h->next;
        curl_easy_cleanup(h->curl);
        free(h);
        h = next;
    }
    pthread_key_delete(c->key);
    pthread_mutex_destroy(&c->mu);
    free(c->socket_path);
    free(c->base_url);
    free(c->endpoint);
    free(c);
}

const char *docker_client_endpoint(const docker_client *c)
{
    return c->endpoint;
}

static handle *thread_handle(docker_client *c)
{
    handle *h = pthread_getspecific(c->key);
    if (h)
        return h;
    h = cs_xcalloc(1, sizeof *h);
    h->curl = curl_easy_init();
    if (!h->curl)
        cs_die("curl_easy_init failed");
    h->client = c;
    pthread_mutex_lock(&c->mu);
    h->next = c->handles;
    c->handles = h;
    pthread_mutex_unlock(&c->mu);
    pthread_setspecific(c->key, h);
    return h;
}

bool docker_client_api_version_copy(docker_client *c, char *buf, size_t size)
{
    pthread_mutex_lock(&c->mu);
    bool have = c->version[0] != '\0';
    snprintf(buf, size, "%s", c->version);
    pthread_mutex_unlock(&c->mu);
    return have;
}

void docker_response_clear(docker_response *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
    r->status = 0;
}

/* ---- versions ---- */

int docker_api_compare(const char *a, const char *b)
{
    while (*a || *b) {
        long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
        if (x != y)
            return x < y ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
        if (!*a && !*b)
            break;
        if (!*a)
            return -1;
        if (!*b)
            return 1;
    }
    return 0;
}

void docker_api_choose(const char *server_max, const char *server_min, char *out, size_t size)
{
    const char *v = DOCKER_API_MAX;
    if (server_max && *server_max && docker_api_compare(server_max, DOCKER_API_MAX) < 0)
        v = server_max;
    if (server_min && *server_min && docker_api_compare(v, server_min) < 0)
        v = server_min;
    snprintf(out, size, "%s", v);
}

/* ---- one transfer ---- */

typedef struct transfer {
    const cs_ctx *ctx;
    /* collected body (docker_request, and error bodies of streams) */
    char *buf;
    size_t len, cap;
    bool too_big;
    /* streaming */
    docker_data_fn on_data;
    void *user;
    cs_error *cb_err;
    bool cb_failed;
    long status;
    int64_t last_byte_ms;
    long stall_ms;
    bool stalled;
} transfer;

static void collect(transfer *t, const char *data, size_t n)
{
    if (t->len + n > BODY_MAX) {
        t->too_big = true;
        return;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (t->len + n + 1 > cap)
            cap *= 2;
        t->buf = cs_xrealloc(t->buf, cap);
        t->cap = cap;
    }
    memcpy(t->buf + t->len, data, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    transfer *t = userp;
    size_t n = size * nmemb;
    t->last_byte_ms = cs_time_mono_ms();
    /* The header callback has seen the status line by now: error bodies are
     * collected for the message instead of streamed. */
    if (t->on_data && t->status < 400) {
        if (t->on_data(t->user, data, n, t->cb_err) != 0) {
            t->cb_failed = true;
            return 0; /* aborts the transfer */
        }
        return n;
    }
    collect(t, data, n);
    return t->too_big ? 0 : n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    transfer *t = userp;
    size_t n = size * nmemb;
    /* "HTTP/1.1 200 OK": the status, before any body byte. */
    if (n > 12 && !strncmp(data, "HTTP/", 5)) {
        const char *sp = memchr(data, ' ', n);
        if (sp)
            t->status = strtol(sp + 1, NULL, 10);
    }
    return n;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    transfer *t = userp;
    if (cs_ctx_cancelled(t->ctx))
        return 1;
    if (t->stall_ms > 0 && cs_time_mono_ms() - t->last_byte_ms > t->stall_ms) {
        t->stalled = true;
        return 1;
    }
    return 0;
}

static bool versioned_path(const char *path)
{
    return strncmp(path, "/_ping", 6) != 0 && strncmp(path, "/version", 8) != 0;
}

static int perform(docker_client *c, const char *version, const cs_ctx *ctx, const char *method, const char *path,
                   const char *body, size_t body_len, const char *const *headers, bool streaming, transfer *t,
                   cs_error *err)
{
    handle *h = thread_handle(c);
    CURL *curl = h->curl;
    char url[4096];
    if (versioned_path(path) && version)
        snprintf(url, sizeof url, "%s/v%s%s", c->base_url, version, path);
    else
        snprintf(url, sizeof url, "%s%s", c->base_url, path);

    curl_easy_reset(curl); /* keeps the connection cache */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (c->socket_path)
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    struct curl_slist *hdrs = NULL;
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        hdrs = curl_slist_append(hdrs, headers[i]);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);

    int64_t left = cs_ctx_remaining_ms(ctx);
    if (left == 0)
        return cs_error_set(err, CS_ERR_DEADLINE, "docker %s %s: deadline exceeded", method, path);
    long connect_ms = CONNECT_TIMEOUT_MS;
    if (left > 0 && left < connect_ms)
        connect_ms = (long)left;
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    long timeout_ms = left > 0 ? (long)left : (streaming ? 0 : DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);

    t->ctx = ctx;
    t->last_byte_ms = cs_time_mono_ms();
    int64_t start = cs_time_mono_ns();
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(hdrs);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status)
        t->status = status;

    if (cs_log_enabled(CS_LOG_DEBUG)) {
        char st[16], ms[32];
        snprintf(st, sizeof st, "%ld", t->status);
        snprintf(ms, sizeof ms, "%.3f", (double)(cs_time_mono_ns() - start) / 1e6);
        cs_debug("docker", "method", method, "path", path, "status", st, "duration_ms", ms, "curl",
                 rc == CURLE_OK ? "ok" : curl_easy_strerror(rc), NULL);
    }
    if (rc == CURLE_OK)
        return 0;
    if (t->cb_failed)
        return -1; /* on_data's error is already in err */
    if (rc == CURLE_ABORTED_BY_CALLBACK && t->stalled)
        return cs_error_set(err, CS_ERR_DEADLINE, "docker %s %s: no data for %ld s", method, path, t->stall_ms / 1000);
    if (rc == CURLE_ABORTED_BY_CALLBACK || cs_ctx_cancelled(ctx))
        return cs_error_set(err, CS_ERR_CANCELLED, "docker %s %s: cancelled", method, path);
    if (rc == CURLE_OPERATION_TIMEDOUT && left > 0)
        return cs_error_set(err, CS_ERR_DEADLINE, "docker %s %s: deadline exceeded", method, path);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "docker at %s: no answer to %s %s within %ld s", c->endpoint,
                            method, path, timeout_ms / 1000);
    if (rc == CURLE_WRITE_ERROR && t->too_big)
        return cs_error_set(err, CS_ERR_RESOURCE, "docker %s %s: response larger than %u bytes", method, path,
                            BODY_MAX);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_GOT_NOTHING ||
        rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE) {
        /* The engine went away: renegotiate once it is back. */
        pthread_mutex_lock(&c->mu);
        c->version[0] = '\0';
        pthread_mutex_unlock(&c->mu);
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "docker at %s: %s", c->endpoint, curl_easy_strerror(rc));
    }
    return cs_error_set(err, CS_ERR_UNAVAILABLE, "docker at %s: %s", c->endpoint, curl_easy_strerror(rc));
}

/* GET /version: the server's range, then our choice within it. */
int docker_client_negotiate(docker_client *c, const cs_ctx *ctx, char *version, size_t size, cs_error *err)
{
    if (docker_client_api_version_copy(c, version, size))
        return 0;
    transfer t = {0};
    if (perform(c, NULL, ctx, "GET", "/version", NULL, 0, NULL, false, &t, err) != 0) {
        free(t.buf);
        return -1;
    }
    int rc = 0;
    cs_json *j = NULL;
    if (t.status != 200 || !t.buf) {
        rc = cs_error_set(err, CS_ERR_UNAVAILABLE, "docker at %s: /version answered HTTP %ld", c->endpoint, t.status);
    } else if (cs_json_parse(t.buf, t.len, &j, err) != 0) {
        rc = cs_error_wrap(err, "docker at %s: /version", c->endpoint);
    } else {
        char *max = cs_json_get_str(j, 0, "ApiVersion", NULL);
        char *min = cs_json_get_str(j, 0, "MinAPIVersion", NULL);
        docker_api_choose(max, min, version, size);
        pthread_mutex_lock(&c->mu);
        bool changed = strcmp(c->version, version) != 0;
        snprintf(c->version, sizeof c->version, "%s", version);
        pthread_mutex_unlock(&c->mu);
        if (changed)
            cs_info("docker API negotiated", "endpoint", c->endpoint, "version", version, "server_max",
                    max ? max : "?", NULL);
        free(max);
        free(min);
    }
    cs_json_free(j);
    free(t.buf);
    return rc;
}

int docker_request(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                   size_t body_len, const char *const *headers, docker_response *resp, cs_error *err)
{
    memset(resp, 0, sizeof *resp);
    char version[16] = "";
    if (versioned_path(path) && docker_client_negotiate(c, ctx, version, sizeof version, err) != 0)
        return -1;
    transfer t = {0};
    if (perform(c, version, ctx, method, path, body, body_len, headers, false, &t, err) != 0) {
        free(t.buf);
        return -1;
    }
    resp->status = t.status;
    resp->body = t.buf ? t.buf : cs_xstrdup("");
    resp->body_len = t.len;
    return 0;
}

int docker_request_ok(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                      size_t body_len, const char *const *headers, docker_response *resp, cs_error *err)
{
    if (docker_request(c, ctx, method, path, body, body_len, headers, resp, err) != 0)
        return -1;
    if (resp->status >= 400) {
        docker_error_from_response(resp, err);
        docker_response_clear(resp);
        return -1;
    }
    return 0;
}

/* HTTP status → error code, one table. Docker uses 409 for "in use" and
 * "is running" conflicts: FAILED_PRECONDITION in CRI terms. */
#define DOCKER_STATUS_MAP(X)              \
    X(400, CS_ERR_INVALID)                \
    X(401, CS_ERR_UNAUTHENTICATED)        \
    X(403, CS_ERR_PERMISSION)             \
    X(404, CS_ERR_NOT_FOUND)              \
    X(409, CS_ERR_CONFLICT)               \
    X(500, CS_ERR_INTERNAL)               \
    X(501, CS_ERR_UNIMPLEMENTED)          \
    X(503, CS_ERR_UNAVAILABLE)

static cs_code code_for_status(long status)
{
    switch (status) {
#define X_CASE(st, code) \
    case st:             \
        return code;
        DOCKER_STATUS_MAP(X_CASE)
#undef X_CASE
    }
    return status >= 500 ? CS_ERR_INTERNAL : CS_ERR_UNKNOWN;
}

int docker_error_from_response(const docker_response *r, cs_error *err)
{
    cs_code code = code_for_status(r->status);
    cs_json *j = NULL;
    char *msg = NULL;
    if (r->body && r->body_len && cs_json_parse(r->body, r->body_len, &j, NULL) == 0)
        msg = cs_json_get_str(j, 0, "message", NULL);
    if (msg)
        cs_error_set(err, code, "docker: %s", msg);
    else if (r->body && r->body_len)
        cs_error_set(err, code, "docker: HTTP %ld: %.200s", r->status, r->body);
    else
        cs_error_set(err, code, "docker: HTTP %ld", r->status);
    free(msg);
    cs_json_free(j);
    return -1;
}

int docker_stream(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                  size_t body_len, const char *const *headers, long stall_ms, docker_data_fn on_data, void *user,
                  long *status, cs_error *err)
{
    char version[16] = "";
    if (versioned_path(path) && docker_client_negotiate(c, ctx, version, sizeof version, err) != 0)
        return -1;
    transfer t = {.on_data = on_data, .user = user, .cb_err = err, .stall_ms = stall_ms};
    int rc = perform(c, version, ctx, method, path, body, body_len, headers, true, &t, err);
    if (status)
        *status = t.status;
    if (rc == 0 && t.status >= 400) {
        docker_response r = {.status = t.status, .body = t.buf, .body_len = t.len};
        rc = docker_error_from_response(&r, err);
    }
    free(t.buf);
    return rc;
}

/* ---- lines ---- */

int docker_lines_feed(docker_line_splitter *s, const char *data, size_t len, cs_error *err)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        if (s->len + n > LINE_MAX_BYTES)
            return cs_error_set(err, CS_ERR_RESOURCE, "docker sent a line longer than %u bytes", LINE_MAX_BYTES);
        if (!nl || s->len > 0) {
            if (s->len + n + 1 > s->cap) {
                size_t cap = s->cap ? s->cap : 1024;
                while (s->len + n + 1 > cap)
                    cap *= 2;
                s->buf = cs_xrealloc(s->buf, cap);
                s->cap = cap;
            }
            memcpy(s->buf + s->len, data, n);
            s->len += n;
        }
        if (!nl)
            return 0;
        int rc;
        if (s->len > 0) {
            s->buf[s->len] = '\0';
            rc = s->on_line(s->user, s->buf, s->len, err);
            s->len = 0;
        } else {
            rc = s->on_line(s->user, data, n, err);
        }
        if (rc != 0)
            return -1;
        data = nl + 1;
        len -= n + 1;
    }
    return 0;
}

int docker_lines_finish(docker_line_splitter *s, cs_error *err)
{
    if (s->len == 0)
        return 0;
    s->buf[s->len] = '\0';
    size_t n = s->len;
    s->len = 0;
    return s->on_line(s->user, s->buf, n, err);
}

void docker_lines_free(docker_line_splitter *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
}

static int feed_lines(void *user, const char *data, size_t len, cs_error *err)
{
    return docker_lines_feed(user, data, len, err);
}

int docker_stream_lines(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                        size_t body_len, const char *const *headers, long stall_ms, docker_line_fn on_line,
                        void *user, long *status, cs_error *err)
{
    docker_line_splitter s = {.on_line = on_line, .user = user};
    int rc = docker_stream(c, ctx, method, path, body, body_len, headers, stall_ms, feed_lines, &s, status, err);
    if (rc == 0)
        rc = docker_lines_finish(&s, err);
    docker_lines_free(&s);
    return rc;
}

int docker_ping(docker_client *c, const cs_ctx *ctx, cs_error *err)
{
    docker_response r;
    if (docker_request(c, ctx, "GET", "/_ping", NULL, 0, NULL, &r, err) != 0)
        return -1;
    int rc = 0;
    if (r.status != 200)
        rc = cs_error_set(err, CS_ERR_UNAVAILABLE, "docker at %s: ping answered HTTP %ld", c->endpoint, r.status);
    docker_response_clear(&r);
    return rc;
}
