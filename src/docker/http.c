/* Docker Engine API over HTTP with libcurl: per-thread handles, API version
 * negotiation, deadline/cancel/stall handling, error mapping, streaming and
 * line splitting. The contract is in http.h; nothing else calls libcurl. */
#include "docker/http.h"

#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define BODY_MAX (64u * 1024 * 1024)
#define LINE_MAX_BYTES (16u * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 2000L
#define DEFAULT_TIMEOUT_MS 120000L
/* How long a transfer sleeps at most before looking at the cancel flag and
 * the stall clock again. curl_easy_perform would look once a second only,
 * which is why transfers run on a multi handle we drive ourselves. */
#define POLL_SLICE_MS 50
#define DEADLINE_SLACK_MS 10
/* Error bodies quoted raw (not JSON) are cut here: enough to read the cause. */
#define RAW_BODY_QUOTE 200

/* ---- global ---- */

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

/* ---- clients and their per-thread handles ---- */

/* One thread's transfer machinery for one client. The multi handle owns the
 * connection cache, so the connection survives between requests; the easy
 * handle is reset and re-added for each request. Listed in the client so free
 * can clean up handles of threads that are still alive. */
typedef struct handle {
    struct handle *next;
    struct docker_client *client;
    CURLM *multi;
    CURL *easy;
} handle;

struct docker_client {
    char *socket_path; /* unix socket, or NULL for TCP */
    char *base_url;    /* "http://localhost" or "http://host:port" */
    char *endpoint;    /* socket path or host:port, for messages */
    bool tcp;
    pthread_key_t key; /* this thread's handle */
    pthread_mutex_t mu; /* guards handles and version */
    handle *handles;
    char version[DOCKER_API_VERSION_SIZE]; /* "" until negotiated */
    char engine_version[64];               /* the daemon's own, from the same GET /version */
    atomic_uint_fast64_t connects;
};

static void handle_free(handle *h)
{
    curl_multi_cleanup(h->multi); /* closes the cached connection */
    curl_easy_cleanup(h->easy);
    free(h);
}

/* A pool thread that exits takes its handle along, so handles don't pile up
 * as pools grow and shrink. */
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
    handle_free(h);
}

static handle *thread_handle(docker_client *c)
{
    handle *h = pthread_getspecific(c->key);
    if (h)
        return h;
    h = cs_xcalloc(1, sizeof *h);
    h->client = c;
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    if (!h->multi || !h->easy)
        cs_die("libcurl cannot create a handle");
    pthread_mutex_lock(&c->mu);
    h->next = c->handles;
    c->handles = h;
    pthread_mutex_unlock(&c->mu);
    if (pthread_setspecific(c->key, h) != 0)
        cs_die("pthread_setspecific");
    return h;
}

/* "host:port" with a non-empty host and a port in 1..65535. */
static bool valid_hostport(const char *s, size_t n)
{
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (!colon || colon == s)
        return false;
    size_t digits = n - (size_t)(colon + 1 - s);
    if (digits == 0 || digits > 5 || strspn(colon + 1, "0123456789") < digits)
        return false;
    long port = strtol(colon + 1, NULL, 10);
    return port >= 1 && port <= 65535;
}

/* Splits host into a socket path or a host:port (both borrowed from host). */
static int parse_host(const char *host, const char **path, const char **hostport, size_t *hostport_len,
                      cs_error *err)
{
    *path = *hostport = NULL;
    if (!host || !*host)
        return cs_error_set(err, CS_ERR_INVALID, "docker host is empty");
    if (!strncmp(host, "unix://", 7))
        *path = host + 7;
    else if (host[0] == '/')
        *path = host;
    else if (!strncmp(host, "tcp://", 6))
        *hostport = host + 6;
    else if (!strncmp(host, "http://", 7))
        *hostport = host + 7;
    else
        return cs_error_set(err, CS_ERR_INVALID, "docker host %s: want unix:///path/to/socket or tcp://host:port",
                            host);
    if (*path) {
        if ((*path)[0] != '/' || !(*path)[1])
            return cs_error_set(err, CS_ERR_INVALID, "docker host %s: socket path must be absolute", host);
        if (strlen(*path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return cs_error_set(err, CS_ERR_INVALID, "docker host %s: socket path longer than %zu bytes", host,
                                sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return 0;
    }
    size_t n = strcspn(*hostport, "/");
    if (!valid_hostport(*hostport, n) || ((*hostport)[n] && strcmp(*hostport + n, "/") != 0))
        return cs_error_set(err, CS_ERR_INVALID, "docker host %s: want tcp://host:port", host);
    *hostport_len = n;
    return 0;
}

int docker_client_new(const char *host, docker_client **out, cs_error *err)
{
    const char *path, *hostport;
    size_t hostport_len = 0;
    if (parse_host(host, &path, &hostport, &hostport_len, err) != 0)
        return -1;
    docker_client *c = cs_xcalloc(1, sizeof *c);
    if (pthread_key_create(&c->key, handle_thread_exit) != 0) {
        free(c);
        return cs_error_set(err, CS_ERR_RESOURCE, "docker client: out of thread-specific keys");
    }
    if (path) {
        c->socket_path = cs_xstrdup(path);
        c->base_url = cs_xstrdup("http://localhost");
        c->endpoint = cs_xstrdup(path);
    } else {
        c->tcp = true;
        c->endpoint = cs_xstrndup(hostport, hostport_len);
        c->base_url = cs_xasprintf("http://%s", c->endpoint);
    }
    pthread_mutex_init(&c->mu, NULL);
    atomic_init(&c->connects, 0);
    *out = c;
    return 0;
}

void docker_client_free(docker_client *c)
{
    if (!c)
        return;
    /* After this no exit destructor runs for the key: handles of live threads
     * are ours to free (glibc hands those threads NULL if the key is reused). */
    pthread_key_delete(c->key);
    for (handle *h = c->handles, *next; h; h = next) {
        next = h->next;
        handle_free(h);
    }
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

uint64_t docker_client_connections(docker_client *c)
{
    return atomic_load(&c->connects);
}

void docker_response_clear(docker_response *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ---- API versions ---- */

/* One dotted component as a number; *s moves past it and its dot. Junk such
 * as "-rc1" is skipped so no input can stall the caller's loop. */
static long version_part(const char **s)
{
    char *end;
    long v = strtol(*s, &end, 10);
    if (end == *s)
        v = 0;
    end += strcspn(end, ".");
    if (*end == '.')
        end++;
    *s = end;
    return v;
}

int docker_api_compare(const char *a, const char *b)
{
    a = a ? a : "";
    b = b ? b : "";
    while (*a || *b) {
        long x = version_part(&a), y = version_part(&b);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

/* "1.41": digits and dots only, short enough to store. A server could send
 * anything; only a real version is worth speaking. */
static bool looks_like_version(const char *v)
{
    size_t n = v ? strlen(v) : 0;
    return n > 0 && n < DOCKER_API_VERSION_SIZE && strspn(v, "0123456789.") == n && v[0] != '.';
}

void docker_api_choose(const char *server_max, const char *server_min, char *out, size_t size)
{
    const char *v = DOCKER_API_MAX;
    if (looks_like_version(server_max) && docker_api_compare(server_max, DOCKER_API_MAX) < 0)
        v = server_max;
    if (looks_like_version(server_min) && docker_api_compare(v, server_min) < 0)
        v = server_min;
    snprintf(out, size, "%s", v);
}

bool docker_client_api_version_copy(docker_client *c, char *buf, size_t size)
{
    pthread_mutex_lock(&c->mu);
    bool have = c->version[0] != '\0';
    snprintf(buf, size, "%s", c->version);
    pthread_mutex_unlock(&c->mu);
    return have;
}

bool docker_client_engine_version_copy(docker_client *c, char *buf, size_t size)
{
    pthread_mutex_lock(&c->mu);
    bool have = c->version[0] != '\0';
    snprintf(buf, size, "%s", c->engine_version);
    pthread_mutex_unlock(&c->mu);
    return have;
}

/* Drops the negotiated version (only if it is still `used`, when given) so
 * the next call asks the daemon again. */
static void version_forget(docker_client *c, const char *used)
{
    pthread_mutex_lock(&c->mu);
    if (!used || !strcmp(c->version, used)) {
        c->version[0] = '\0';
        c->engine_version[0] = '\0';
    }
    pthread_mutex_unlock(&c->mu);
}

static void version_store(docker_client *c, const char *version, const char *server_max, const char *engine)
{
    pthread_mutex_lock(&c->mu);
    bool changed = strcmp(c->version, version) != 0;
    snprintf(c->version, sizeof c->version, "%s", version);
    snprintf(c->engine_version, sizeof c->engine_version, "%s", engine ? engine : "unknown");
    pthread_mutex_unlock(&c->mu);
    if (changed)
        cs_info("docker API version negotiated", "endpoint", c->endpoint, "version", version, "server_max",
                server_max ? server_max : "?", NULL);
}

/* ---- one transfer ---- */

typedef enum stop_reason {
    STOP_NONE = 0,
    STOP_CANCELLED,
    STOP_DEADLINE,
    STOP_STALLED,
} stop_reason;

static const char *const stop_names[] = {"", "cancelled", "deadline", "stalled"};

typedef struct transfer {
    CURL *easy;
    const cs_ctx *ctx;
    long status; /* 0 until the status line is in */
    /* collected body: whole responses, and error bodies of streams */
    char *buf;
    size_t len, cap;
    bool too_big;
    /* streaming */
    bool streaming;
    docker_data_fn on_data;
    void *user;
    cs_error *cb_err;
    bool cb_failed;
    long stall_ms;
    int64_t last_byte_ms;
    /* outcome */
    stop_reason stopped;
    char errbuf[CURL_ERROR_SIZE];
} transfer;

/* Empties the response part so the same transfer can be sent again. */
static void transfer_reset(transfer *t)
{
    free(t->buf);
    t->buf = NULL;
    t->len = t->cap = 0;
    t->too_big = false;
    t->status = 0;
    t->stopped = STOP_NONE;
}

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
        if (cap > BODY_MAX + 1) /* the cap must not double the memory it bounds */
            cap = BODY_MAX + 1;
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
    if (!t->status)
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    /* Error bodies are collected for the message instead of streamed. */
    if (t->streaming && t->status < 400) {
        if (t->on_data && t->on_data(t->user, data, n, t->cb_err) != 0) {
            t->cb_failed = true;
            return 0; /* aborts the transfer */
        }
        return n;
    }
    collect(t, data, n);
    return t->too_big ? 0 : n;
}

/* Header bytes count as life for the stall clock. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    transfer *t = userp;
    t->last_byte_ms = cs_time_mono_ms();
    return size * nmemb;
}

static stop_reason should_stop(const transfer *t)
{
    if (cs_ctx_cancelled(t->ctx))
        return STOP_CANCELLED;
    if (cs_ctx_remaining_ms(t->ctx) == 0)
        return STOP_DEADLINE;
    if (t->stall_ms > 0 && cs_time_mono_ms() - t->last_byte_ms >= t->stall_ms)
        return STOP_STALLED;
    return STOP_NONE;
}

/* The result of the finished transfer, if it has finished. */
static bool finished(CURLM *multi, CURL *easy, CURLcode *result)
{
    int queued;
    CURLMsg *msg;
    bool done = false;
    while ((msg = curl_multi_info_read(multi, &queued))) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
            *result = msg->data.result;
            done = true;
        }
    }
    return done;
}

/* Runs the transfer on the thread's multi handle, waking at least every
 * POLL_SLICE_MS to honour cancel, deadline and stall. A transfer stopped by
 * us comes back as CURLE_ABORTED_BY_CALLBACK with t->stopped set; removing
 * the easy handle mid-transfer closes that connection. */
static CURLcode drive(handle *h, transfer *t)
{
    CURLMcode mc = curl_multi_add_handle(h->multi, h->easy);
    CURLcode result = CURLE_ABORTED_BY_CALLBACK;
    while (mc == CURLM_OK) {
        int running = 0;
        mc = curl_multi_perform(h->multi, &running);
        if (mc != CURLM_OK)
            break;
        if (!running) {
            if (!finished(h->multi, h->easy, &result)) {
                snprintf(t->errbuf, sizeof t->errbuf, "transfer ended without a result");
                result = CURLE_GOT_NOTHING;
            }
            break;
        }
        if ((t->stopped = should_stop(t)) != STOP_NONE)
            break;
        mc = curl_multi_poll(h->multi, NULL, 0, POLL_SLICE_MS, NULL);
    }
    curl_multi_remove_handle(h->multi, h->easy);
    if (mc != CURLM_OK) {
        snprintf(t->errbuf, sizeof t->errbuf, "%s", curl_multi_strerror(mc));
        return CURLE_FAILED_INIT;
    }
    return result;
}

static bool versioned_path(const char *path)
{
    static const char *const plain[] = {"/_ping", "/version"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        size_t n = strlen(plain[i]);
        if (!strncmp(path, plain[i], n) && (path[n] == '\0' || path[n] == '?'))
            return false;
    }
    return true;
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *s)
{
    struct curl_slist *n = curl_slist_append(l, s);
    if (!n)
        cs_die("curl_slist_append");
    return n;
}

/* Caller headers, plus a JSON Content-Type for bodies unless they set one
 * (and none at all for empty POSTs, where curl would claim a form). */
static struct curl_slist *request_headers(const char *body, const char *const *headers)
{
    struct curl_slist *l = NULL;
    bool has_type = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        l = slist_add(l, headers[i]);
        has_type = has_type || !strncasecmp(headers[i], "Content-Type:", 13);
    }
    if (!has_type)
        l = slist_add(l, body ? "Content-Type: application/json" : "Content-Type:");
    /* No "Expect: 100-continue" round trip before larger bodies. */
    return slist_add(l, "Expect:");
}

/* What names the engine. Hijacked exec/attach connections will share it. */
static void set_target(const docker_client *c, CURL *easy, const char *url)
{
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (c->socket_path)
        curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
    else
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L); /* notice a vanished remote engine on long streams */
    curl_easy_setopt(easy, CURLOPT_URL, url);
}

static void set_request(CURL *easy, transfer *t, const char *method, const char *body, size_t body_len,
                        struct curl_slist *hdrs, long connect_ms, long timeout_ms)
{
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    if (body || !strcmp(method, "POST") || !strcmp(method, "PUT")) {
        /* Docker wants a Content-Length even on empty POSTs. */
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
}

static void log_request(const char *method, const char *path, const char *version, const transfer *t, CURLcode rc,
                        int64_t start_ns)
{
    if (!cs_log_enabled(CS_LOG_DEBUG))
        return;
    /* Only method and path: headers may carry X-Registry-Auth credentials. */
    char st[24], ms[32];
    snprintf(st, sizeof st, "%ld", t->status);
    snprintf(ms, sizeof ms, "%.3f", (double)(cs_time_mono_ns() - start_ns) / 1e6);
    const char *result = t->stopped ? stop_names[t->stopped] : rc == CURLE_OK ? "ok" : curl_easy_strerror(rc);
    cs_debug("docker request", "method", method, "path", path, "api", version ? version : "-", "status", st,
             "duration_ms", ms, "result", result, NULL);
}

/* Why the engine could not be talked to, in words a user can act on. */
static void transport_reason(CURL *easy, const transfer *t, CURLcode rc, const char *method, const char *path,
                             long timeout_ms, char *out, size_t size)
{
    long os_errno = 0, sent = 0;
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent); /* > 0: we got as far as sending */
    if (rc == CURLE_COULDNT_CONNECT && os_errno) /* curl's own text names "localhost port 80" for sockets */
        snprintf(out, size, "cannot connect: %s", strerror((int)os_errno));
    else if (rc == CURLE_OPERATION_TIMEDOUT && sent == 0)
        snprintf(out, size, "cannot connect: timed out");
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(out, size, "no answer to %s %s within %ld s", method, path, timeout_ms / 1000);
    else
        snprintf(out, size, "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
}

static int transfer_error(docker_client *c, CURL *easy, transfer *t, CURLcode rc, const char *method,
                          const char *path, long timeout_ms, cs_error *err)
{
    if (t->cb_failed) {
        if (err && err->code == CS_OK)
            cs_error_set(err, CS_ERR_ABORTED, "docker %s %s: stopped by the reader", method, path);
        return -1;
    }
    if (t->stopped == STOP_STALLED) {
        if (t->stall_ms % 1000)
            return cs_error_set(err, CS_ERR_DEADLINE, "docker %s %s: no data from docker for %ld ms", method, path,
                                t->stall_ms);
        return cs_error_set(err, CS_ERR_DEADLINE, "docker %s %s: no data from docker for %ld s", method, path,
                            t->stall_ms / 1000);
    }
    if (t->stopped == STOP_CANCELLED || cs_ctx_cancelled(t->ctx))
        return cs_error_set(err, CS_ERR_CANCELLED, "docker %s %s: cancelled", method, path);
    /* curl's timer rounds differently from our ms clock: a timeout within a
     * few ms of the ctx deadline is that deadline. */
    int64_t left = cs_ctx_remaining_ms(t->ctx);
    if (t->stopped == STOP_DEADLINE || (rc == CURLE_OPERATION_TIMEDOUT && left >= 0 && left <= DEADLINE_SLACK_MS))
        return cs_error_set(err, CS_ERR_DEADLINE, "docker %s %s: deadline exceeded", method, path);
    if (t->too_big)
        return cs_error_set(err, CS_ERR_RESOURCE, "docker %s %s: response larger than %u MiB", method, path,
                            BODY_MAX >> 20);
    /* The engine is gone or dropped us; it may come back upgraded, so
     * negotiate again on the next call. */
    version_forget(c, NULL);
    char reason[CURL_ERROR_SIZE + 64];
    transport_reason(easy, t, rc, method, path, timeout_ms, reason, sizeof reason);
    return cs_error_set(err, CS_ERR_UNAVAILABLE, "docker at %s: %s", c->endpoint, reason);
}

/* One HTTP exchange on this thread's handle. version NULL: path as is. */
static int perform(docker_client *c, const cs_ctx *ctx, const char *version, const char *method, const char *path,
                   const char *body, size_t body_len, const char *const *headers, transfer *t, cs_error *err)
{
    if (cs_ctx_cancelled(ctx))
        return cs_error_set(err, CS_ERR_CANCELLED, "docker %s %s: cancelled", method, path);
    int64_t left = cs_ctx_remaining_ms(ctx);
    if (left == 0)
        return cs_error_set(err, CS_ERR_DEADLINE, "docker %s %s: deadline exceeded", method, path);
    long connect_ms = left > 0 && left < CONNECT_TIMEOUT_MS ? (long)left : CONNECT_TIMEOUT_MS;
    long timeout_ms = left > 0 ? (long)left : t->streaming ? 0 : DEFAULT_TIMEOUT_MS;

    handle *h = thread_handle(c);
    cs_cleanup_free char *url =
        version ? cs_xasprintf("%s/v%s%s", c->base_url, version, path) : cs_xasprintf("%s%s", c->base_url, path);
    struct curl_slist *hdrs = request_headers(body, headers);
    curl_easy_reset(h->easy); /* the connection cache lives in the multi handle */
    set_target(c, h->easy, url);
    t->easy = h->easy;
    t->ctx = ctx;
    t->errbuf[0] = '\0';
    set_request(h->easy, t, method, body, body_len, hdrs, connect_ms, timeout_ms);

    t->last_byte_ms = cs_time_mono_ms();
    int64_t start = cs_time_mono_ns();
    CURLcode rc = drive(h, t);
    curl_slist_free_all(hdrs);
    if (!t->status)
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &t->status);
    long connects = 0;
    curl_easy_getinfo(h->easy, CURLINFO_NUM_CONNECTS, &connects);
    atomic_fetch_add(&c->connects, (uint_fast64_t)connects);
    log_request(method, path, version, t, rc, start);
    int ret = 0;
    cs_code failure = CS_OK;
    if (rc != CURLE_OK) {
        cs_error local;
        cs_error *e = err ? err : &local;
        ret = transfer_error(c, h->easy, t, rc, method, path, timeout_ms, e);
        failure = e->code;
    }
    /* a stream's duration is its whole life: not a latency */
    if (!t->streaming)
        docker_observe(method, path, failure, t->status, cs_time_mono_ns() - start);
    return ret;
}

/* GET /version: the server's range, then our choice within it. */
int docker_client_negotiate(docker_client *c, const cs_ctx *ctx, char *version, size_t size, cs_error *err)
{
    if (docker_client_api_version_copy(c, version, size))
        return 0;
    transfer t = {0};
    if (perform(c, ctx, NULL, "GET", "/version", NULL, 0, NULL, &t, err) != 0) {
        free(t.buf);
        return -1;
    }
    int rc = 0;
    cs_json *j = NULL;
    docker_response r = {.status = t.status, .body = t.buf, .body_len = t.len};
    if (t.status >= 400) {
        docker_error_from_response(&r, err);
        rc = cs_error_wrap(err, "docker at %s: GET /version", c->endpoint);
    } else if (t.status != 200 || !t.buf) {
        rc = cs_error_set(err, CS_ERR_UNAVAILABLE, "docker at %s: GET /version answered HTTP %ld", c->endpoint,
                          t.status);
    } else if (cs_json_parse(t.buf, t.len, &j, err) != 0) {
        rc = cs_error_wrap(err, "docker at %s: GET /version", c->endpoint);
    } else {
        char *max = cs_json_get_str(j, 0, "ApiVersion", NULL);
        char *min = cs_json_get_str(j, 0, "MinAPIVersion", NULL);
        char *engine = cs_json_get_str(j, 0, "Version", NULL);
        docker_api_choose(max, min, version, size);
        version_store(c, version, max, engine);
        free(max);
        free(min);
        free(engine);
    }
    cs_json_free(j);
    free(t.buf);
    return rc;
}

/* Docker's answer to a version it doesn't serve: "client version 1.41 is too
 * old. Minimum supported API version is 1.44, ..." (or "is too new"). */
static bool version_refused(const transfer *t)
{
    return t->status == 400 && t->buf && strstr(t->buf, "client version") &&
           (strstr(t->buf, "is too old") || strstr(t->buf, "is too new"));
}

/* perform() with the negotiated version. A daemon restarted between two calls
 * is reached again by curl without an error we could see; if it was also
 * upgraded, it refuses our version before running any handler, so
 * renegotiating and sending once more is safe. */
static int exchange(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                    size_t body_len, const char *const *headers, transfer *t, cs_error *err)
{
    bool versioned = versioned_path(path);
    for (int attempt = 0;; attempt++) {
        char version[DOCKER_API_VERSION_SIZE] = "";
        if (versioned && docker_client_negotiate(c, ctx, version, sizeof version, err) != 0)
            return -1;
        if (perform(c, ctx, versioned ? version : NULL, method, path, body, body_len, headers, t, err) != 0)
            return -1;
        if (!versioned || attempt > 0 || !version_refused(t))
            return 0;
        cs_info("docker refused the API version; negotiating again", "endpoint", c->endpoint, "version", version,
                NULL);
        version_forget(c, version);
        transfer_reset(t);
    }
}

int docker_request(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                   size_t body_len, const char *const *headers, docker_response *resp, cs_error *err)
{
    memset(resp, 0, sizeof *resp);
    transfer t = {0};
    if (exchange(c, ctx, method, path, body, body_len, headers, &t, err) != 0) {
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

/* ---- error responses ---- */

/* HTTP status → error code, one table. Docker uses 409 for "in use" and
 * "is running" conflicts: FAILED_PRECONDITION in CRI terms. */
#define DOCKER_STATUS_MAP(X)       \
    X(400, CS_ERR_INVALID)         \
    X(401, CS_ERR_UNAUTHENTICATED) \
    X(403, CS_ERR_PERMISSION)      \
    X(404, CS_ERR_NOT_FOUND)       \
    X(409, CS_ERR_CONFLICT)        \
    X(500, CS_ERR_INTERNAL)        \
    X(501, CS_ERR_UNIMPLEMENTED)   \
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
    cs_cleanup_free char *msg = NULL;
    if (r->body && r->body_len && cs_json_parse(r->body, r->body_len, &j, NULL) == 0)
        msg = cs_json_get_str(j, 0, "message", NULL);
    cs_json_free(j);
    if (msg && *msg)
        return cs_error_set(err, code, "docker: %s", msg);
    /* Not Docker's JSON (a proxy, a panic page): quote the start, trimmed. */
    size_t n = r->body ? strnlen(r->body, r->body_len) : 0;
    while (n > 0 && strchr(" \t\r\n", r->body[n - 1]))
        n--;
    if (n == 0)
        return cs_error_set(err, code, "docker: HTTP %ld", r->status);
    return cs_error_set(err, code, "docker: HTTP %ld: %.*s", r->status, (int)(n < RAW_BODY_QUOTE ? n : RAW_BODY_QUOTE),
                        r->body);
}

/* ---- streams ---- */

int docker_stream(docker_client *c, const cs_ctx *ctx, const char *method, const char *path, const char *body,
                  size_t body_len, const char *const *headers, long stall_ms, docker_data_fn on_data, void *user,
                  long *status, cs_error *err)
{
    if (err)
        cs_error_clear(err); /* so a reader that fails without a word is noticed */
    transfer t = {.streaming = true, .on_data = on_data, .user = user, .cb_err = err, .stall_ms = stall_ms};
    docker_streams_add(1);
    int rc = exchange(c, ctx, method, path, body, body_len, headers, &t, err);
    docker_streams_add(-1);
    if (status)
        *status = t.status;
    if (rc == 0 && t.status >= 400) {
        docker_response r = {.status = t.status, .body = t.buf, .body_len = t.len};
        rc = docker_error_from_response(&r, err);
    }
    free(t.buf);
    return rc;
}

/* ---- stream sets ---- */

typedef struct sstream {
    struct sstream *next, *prev;
    struct docker_streamset *set;
    CURL *easy;
    struct curl_slist *hdrs;
    char *path; /* for messages */
    char version[DOCKER_API_VERSION_SIZE];
    transfer t;
    cs_error *failed; /* what on_data said when it stopped the stream */
    docker_data_fn on_data;
    docker_end_fn on_end;
    void *user;
    int64_t start_ns;
} sstream;

struct docker_streamset {
    docker_client *c;
    CURLM *multi;
    sstream *list;
    size_t n;
    cs_error scratch; /* on_data's err; kept by the stream only if it fails */
};

docker_streamset *docker_streamset_new(docker_client *c)
{
    docker_streamset *s = cs_xcalloc(1, sizeof *s);
    s->c = c;
    s->multi = curl_multi_init();
    if (!s->multi)
        cs_die("libcurl cannot create a multi handle");
    /* the connections of ended streams are kept for the next ones, a few */
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, 8L);
    return s;
}

/* Streams are many and idle: a stream holds an error only once it has one. */
static int sstream_data(void *user, const char *data, size_t len, cs_error *err)
{
    sstream *st = user;
    cs_error_clear(&st->set->scratch);
    if (st->on_data(st->user, data, len, &st->set->scratch) == 0)
        return 0;
    st->failed = cs_xmalloc(sizeof *st->failed);
    *st->failed = st->set->scratch;
    return -1;
}

static void sstream_free(sstream *st)
{
    docker_streamset *s = st->set;
    curl_multi_remove_handle(s->multi, st->easy);
    curl_easy_cleanup(st->easy);
    curl_slist_free_all(st->hdrs);
    if (st->prev)
        st->prev->next = st->next;
    else
        s->list = st->next;
    if (st->next)
        st->next->prev = st->prev;
    s->n--;
    docker_streams_add(-1);
    free(st->t.buf);
    free(st->path);
    free(st->failed);
    free(st);
}

void docker_streamset_free(docker_streamset *s)
{
    if (!s)
        return;
    while (s->list)
        sstream_free(s->list);
    curl_multi_cleanup(s->multi);
    free(s);
}

size_t docker_streamset_count(const docker_streamset *s)
{
    return s->n;
}

int docker_streamset_add(docker_streamset *s, const char *path, size_t recv_buffer, docker_data_fn on_data,
                         docker_end_fn on_end, void *user, cs_error *err)
{
    char version[DOCKER_API_VERSION_SIZE] = "";
    bool versioned = versioned_path(path);
    cs_ctx quick = {.deadline_ms = cs_time_mono_ms() + 2000};
    if (versioned && docker_client_negotiate(s->c, &quick, version, sizeof version, err) != 0)
        return -1;
    sstream *st = cs_xcalloc(1, sizeof *st);
    st->set = s;
    st->easy = curl_easy_init();
    if (!st->easy)
        cs_die("libcurl cannot create a handle");
    st->path = cs_xstrdup(path);
    snprintf(st->version, sizeof st->version, "%s", version);
    st->on_data = on_data;
    st->on_end = on_end;
    st->user = user;
    st->hdrs = request_headers(NULL, NULL);
    st->t = (transfer){.easy = st->easy, .streaming = true, .on_data = sstream_data, .user = st};
    cs_cleanup_free char *url = versioned ? cs_xasprintf("%s/v%s%s", s->c->base_url, version, path)
                                          : cs_xasprintf("%s%s", s->c->base_url, path);
    set_target(s->c, st->easy, url);
    set_request(st->easy, &st->t, "GET", NULL, 0, st->hdrs, CONNECT_TIMEOUT_MS, 0);
    if (recv_buffer > 0)
        curl_easy_setopt(st->easy, CURLOPT_BUFFERSIZE, (long)recv_buffer);
    curl_easy_setopt(st->easy, CURLOPT_PRIVATE, st);
    st->start_ns = cs_time_mono_ns();
    st->t.last_byte_ms = cs_time_mono_ms();
    st->next = s->list;
    if (s->list)
        s->list->prev = st;
    s->list = st;
    s->n++;
    docker_streams_add(1);
    CURLMcode mc = curl_multi_add_handle(s->multi, st->easy);
    if (mc != CURLM_OK) {
        sstream_free(st);
        return cs_error_set(err, CS_ERR_INTERNAL, "docker GET %s: %s", path, curl_multi_strerror(mc));
    }
    return 0;
}

/* The stream is over: its outcome to on_end, then it is freed. */
static void sstream_done(sstream *st, CURLcode result)
{
    docker_client *c = st->set->c;
    transfer *t = &st->t;
    if (!t->status)
        curl_easy_getinfo(st->easy, CURLINFO_RESPONSE_CODE, &t->status);
    long connects = 0;
    curl_easy_getinfo(st->easy, CURLINFO_NUM_CONNECTS, &connects);
    atomic_fetch_add(&c->connects, (uint_fast64_t)connects);
    log_request("GET", st->path, st->version[0] ? st->version : NULL, t, result, st->start_ns);
    int rc = 0;
    cs_error err;
    cs_error_clear(&err);
    if (result != CURLE_OK) {
        if (st->failed)
            err = *st->failed;
        rc = transfer_error(c, st->easy, t, result, "GET", st->path, 0, &err);
    } else if (t->status >= 400) {
        /* an upgraded engine refusing our version: the next try negotiates */
        if (version_refused(t))
            version_forget(c, st->version);
        docker_response r = {.status = t->status, .body = t->buf, .body_len = t->len};
        rc = docker_error_from_response(&r, &err);
    }
    long status = t->status;
    docker_end_fn on_end = st->on_end;
    void *user = st->user;
    sstream_free(st);
    on_end(user, rc, status, &err);
}

void docker_streamset_run(docker_streamset *s, int timeout_ms)
{
    /* curl shortens the wait to its own timers (a connect in progress) */
    curl_multi_poll(s->multi, NULL, 0, timeout_ms < 0 ? INT_MAX : timeout_ms, NULL);
    int running;
    curl_multi_perform(s->multi, &running);
    CURLMsg *msg;
    int queued;
    while ((msg = curl_multi_info_read(s->multi, &queued))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode result = msg->data.result;
        sstream *st = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&st);
        if (st)
            sstream_done(st, result);
    }
}

void docker_streamset_wakeup(docker_streamset *s)
{
    curl_multi_wakeup(s->multi);
}

/* ---- lines ---- */

static int emit_line(docker_line_splitter *s, const char *line, size_t n, cs_error *err)
{
    if (n > 0 && line[n - 1] == '\r') /* /images/create ends its messages with "\r\n" */
        n--;
    return s->on_line(s->user, line, n, err) == 0 ? 0 : -1;
}

static void splitter_append(docker_line_splitter *s, const char *data, size_t n)
{
    cs_xgrow(&s->buf, &s->cap, s->len + n + 1, 1024);
    memcpy(s->buf + s->len, data, n);
    s->len += n;
}

int docker_lines_feed(docker_line_splitter *s, const char *data, size_t len, cs_error *err)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        if (s->len + n > LINE_MAX_BYTES)
            return cs_error_set(err, CS_ERR_RESOURCE, "docker sent a line longer than %u MiB", LINE_MAX_BYTES >> 20);
        if (!nl) {
            splitter_append(s, data, n);
            return 0;
        }
        int rc;
        if (s->len == 0) {
            rc = emit_line(s, data, n, err); /* whole line in this chunk: no copy */
        } else {
            splitter_append(s, data, n);
            size_t total = s->len;
            s->len = 0;
            rc = emit_line(s, s->buf, total, err);
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
    size_t total = s->len;
    s->len = 0;
    return emit_line(s, s->buf, total, err);
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
    if (r.status != 200) {
        docker_error_from_response(&r, err);
        rc = cs_error_wrap(err, "docker at %s: ping", c->endpoint);
        if (err)
            err->code = CS_ERR_UNAVAILABLE; /* whatever it said, the engine is not serving */
    }
    docker_response_clear(&r);
    return rc;
}

/* ---- hijacked connections ----
 * exec/attach will take a dedicated easy handle (not the thread's: a
 * CONNECT_ONLY connection leaves the cache for good), set_target() it, send
 * the upgrade request with curl_easy_send, read the 101/200 head, then move
 * raw bytes with curl_easy_send/recv under the same ctx rules as drive(). */
