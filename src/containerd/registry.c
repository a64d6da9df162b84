/* The registry v2 client of registry.h over libcurl: one easy handle per
 * request, driven on a multi handle of its own in 50 ms slices so a request
 * notices cancel, the deadline and "no byte for progress_timeout_ms" quickly;
 * connections, DNS and TLS sessions are shared between requests through one
 * locked share handle. Auth follows the challenge of a 401 (Basic, or a Bearer
 * token from the realm), tokens are cached per (host, scope, credentials).
 * Nothing outside this file calls libcurl for registries. */
#include "containerd/registry.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "containerd/manifest.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"
#include "util/url.h"

#define DEFAULT_PROGRESS_MS 60000L
#define DEFAULT_DOWNLOADS 3
#define POLL_SLICE_MS 50
#define SMALL_MAX (4u * 1024 * 1024) /* manifests, configs, token replies */
#define ERROR_BODY_MAX (64u * 1024)
#define MAX_REDIRECTS 5
#define TOKEN_DEFAULT_TTL_S 60 /* the token spec's default for a reply without expires_in */
#define MANIFEST_ACCEPT                                                                                          \
    "Accept: " MF_MANIFEST_DOCKER ", " MF_INDEX_DOCKER ", " MF_MANIFEST_OCI ", " MF_INDEX_OCI ", */*"

/* ---- the client ---- */

/* A cached Authorization header value for (host, scope, credentials). */
typedef struct tok_entry {
    struct tok_entry *next;
    char *key;
    char *header;      /* "Bearer ..." or "Basic ..." */
    int64_t expires_ms; /* monotonic; 0 = until rejected */
} tok_entry;

/* A loopback host that turned out to speak plain http. */
typedef struct plain_host {
    struct plain_host *next;
    char *host;
} plain_host;

struct reg_client {
    long progress_ms;
    int max_downloads;
    char *insecure; /* ",host1,host2," for exact matching, or NULL */
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    pthread_mutex_t mu; /* tokens, plain hosts, download slots */
    pthread_cond_t slot_cv;
    int downloads;
    tok_entry *tokens;
    plain_host *plain;
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *user)
{
    reg_client *c = user;
    pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *user)
{
    reg_client *c = user;
    pthread_mutex_unlock(&c->share_mu[data]);
}

int reg_client_new(const reg_options *o, reg_client **out, cs_error *err)
{
    reg_client *c = cs_xcalloc(1, sizeof *c);
    c->progress_ms = o && o->progress_timeout_ms > 0 ? o->progress_timeout_ms : DEFAULT_PROGRESS_MS;
    c->max_downloads = o && o->max_concurrent_downloads > 0 ? o->max_concurrent_downloads : DEFAULT_DOWNLOADS;
    if (o && o->insecure_hosts && *o->insecure_hosts) {
        c->insecure = cs_xasprintf(",%s,", o->insecure_hosts);
        /* blanks around commas are forgiven: "a:1, b:2" */
        char *w = c->insecure;
        for (char *r = c->insecure; *r; r++)
            if (*r != ' ' && *r != '\t')
                *w++ = *r;
        *w = '\0';
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->slot_cv, NULL);
    c->share = curl_share_init();
    if (!c->share) {
        reg_client_free(c);
        return cs_error_set(err, CS_ERR_INTERNAL, "libcurl cannot create a share handle");
    }
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    *out = c;
    return 0;
}

void reg_client_free(reg_client *c)
{
    if (!c)
        return;
    if (c->share)
        curl_share_cleanup(c->share);
    for (tok_entry *t = c->tokens, *n; t; t = n) {
        n = t->next;
        free(t->key);
        free(t->header);
        free(t);
    }
    for (plain_host *p = c->plain, *n; p; p = n) {
        n = p->next;
        free(p->host);
        free(p);
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_mu[i]);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->slot_cv);
    free(c->insecure);
    free(c);
}

const char *reg_endpoint_host(const char *domain)
{
    if (!strcmp(domain, "docker.io") || !strcmp(domain, "index.docker.io"))
        return "registry-1.docker.io";
    return domain;
}

/* ---- token cache ---- */

static char *cache_get(reg_client *c, const char *key)
{
    char *out = NULL;
    int64_t now = cs_time_mono_ms();
    pthread_mutex_lock(&c->mu);
    for (tok_entry *t = c->tokens; t; t = t->next)
        if (!strcmp(t->key, key) && (t->expires_ms == 0 || t->expires_ms > now)) {
            out = cs_xstrdup(t->header);
            break;
        }
    pthread_mutex_unlock(&c->mu);
    return out;
}

static void cache_put(reg_client *c, const char *key, const char *header, int64_t expires_ms)
{
    pthread_mutex_lock(&c->mu);
    tok_entry *t = c->tokens;
    while (t && strcmp(t->key, key) != 0)
        t = t->next;
    if (!t) {
        t = cs_xcalloc(1, sizeof *t);
        t->key = cs_xstrdup(key);
        t->next = c->tokens;
        c->tokens = t;
    }
    free(t->header);
    t->header = cs_xstrdup(header);
    t->expires_ms = expires_ms;
    pthread_mutex_unlock(&c->mu);
}

static void cache_drop(reg_client *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    for (tok_entry **pp = &c->tokens; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->key, key)) {
            tok_entry *t = *pp;
            *pp = t->next;
            free(t->key);
            free(t->header);
            free(t);
            break;
        }
    pthread_mutex_unlock(&c->mu);
}

/* ---- schemes: https unless told otherwise ---- */

static bool is_loopback(const char *host)
{
    size_t n = strcspn(host, ":");
    if (host[0] == '[')
        return !strncmp(host, "[::1]", 5);
    return (n == 9 && !strncmp(host, "localhost", 9)) || !strncmp(host, "127.", 4);
}

static bool plain_known(reg_client *c, const char *host)
{
    bool found = false;
    pthread_mutex_lock(&c->mu);
    for (plain_host *p = c->plain; p && !found; p = p->next)
        found = !strcmp(p->host, host);
    pthread_mutex_unlock(&c->mu);
    return found;
}

static void plain_remember(reg_client *c, const char *host)
{
    if (plain_known(c, host))
        return;
    plain_host *p = cs_xcalloc(1, sizeof *p);
    p->host = cs_xstrdup(host);
    pthread_mutex_lock(&c->mu);
    p->next = c->plain;
    c->plain = p;
    pthread_mutex_unlock(&c->mu);
}

static bool insecure_listed(reg_client *c, const char *host)
{
    if (!c->insecure)
        return false;
    char needle[300];
    snprintf(needle, sizeof needle, ",%s,", host);
    return strstr(c->insecure, needle) != NULL;
}

/* ---- credentials ---- */

typedef struct creds {
    char *user, *pass;      /* malloc'd; NULL for none */
    const char *identity;   /* borrowed */
    const char *reg_token;  /* borrowed */
    char key[80];           /* hash of the credentials, for the token cache */
} creds;

static void creds_clear(creds *cr)
{
    free(cr->user);
    free(cr->pass);
    memset(cr, 0, sizeof *cr);
}

/* "https://index.docker.io/v1/", "registry:5000", "http://127.0.0.1:5000/x" -> the host[:port] part. */
static void server_host(const char *addr, char *out, size_t size)
{
    const char *p = strstr(addr, "://");
    p = p ? p + 3 : addr;
    size_t n = strcspn(p, "/");
    snprintf(out, size, "%.*s", (int)n, p);
}

static bool same_registry(const char *a, const char *b)
{
    if (!strcasecmp(a, b))
        return true;
    /* Docker Hub goes by several names in docker config files. */
    static const char *hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"};
    bool ha = false, hb = false;
    for (size_t i = 0; i < sizeof hub / sizeof hub[0]; i++) {
        ha = ha || !strcasecmp(a, hub[i]);
        hb = hb || !strcasecmp(b, hub[i]);
    }
    return ha && hb;
}

/* CRI AuthConfig to credentials, as containerd's ParseAuth: a server_address
 * naming another registry means no credentials for this one. */
static int creds_from(const cs_auth *auth, const char *domain, creds *cr, cs_error *err)
{
    memset(cr, 0, sizeof *cr);
    if (!auth)
        return 0;
    if (auth->server_address && *auth->server_address) {
        char h[256];
        server_host(auth->server_address, h, sizeof h);
        if (!same_registry(h, domain))
            return 0;
    }
    if (auth->username && *auth->username) {
        cr->user = cs_xstrdup(auth->username);
        cr->pass = cs_xstrdup(auth->password ? auth->password : "");
    } else if (auth->auth && *auth->auth) {
        unsigned char *dec = NULL;
        size_t n = 0;
        if (cs_base64_decode(auth->auth, strlen(auth->auth), &dec, &n) != 0)
            return cs_error_set(err, CS_ERR_INVALID, "auth.auth is not base64");
        char *colon = memchr(dec, ':', n);
        if (!colon || memchr(dec, '\0', n)) {
            free(dec);
            return cs_error_set(err, CS_ERR_INVALID, "auth.auth does not decode to \"user:password\"");
        }
        cr->user = cs_xstrndup((char *)dec, (size_t)(colon - (char *)dec));
        cr->pass = cs_xstrdup(colon + 1);
        free(dec);
    }
    if (auth->identity_token && *auth->identity_token)
        cr->identity = auth->identity_token;
    if (auth->registry_token && *auth->registry_token)
        cr->reg_token = auth->registry_token;
    char *all = cs_xasprintf("u=%s\np=%s\ni=%s\nr=%s", cr->user ? cr->user : "", cr->pass ? cr->pass : "",
                             cr->identity ? cr->identity : "", cr->reg_token ? cr->reg_token : "");
    mf_sha256_digest(all, strlen(all), cr->key);
    free(all);
    return 0;
}

/* ---- one HTTP request ---- */

typedef struct request {
    reg_client *c;
    const cs_ctx *ctx;
    const char *method; /* "GET", "HEAD", "POST" */
    const char *url;
    const char *authz;   /* Authorization value, or NULL */
    const char *accept;  /* a whole "Accept: ..." header, or NULL */
    int64_t range_from;  /* > 0: Range: bytes=N- */
    const char *post;    /* form body for POST */
    const char *what;    /* "blob sha256:...", for messages */
    const char *host;    /* for messages */
    /* body handling: 2xx bodies go to the sink if set, else to buf (up to limit) */
    reg_sink_fn sink;
    void *user;
    int64_t skip;        /* body bytes still to drop (a 200 answer to a Range request) */
    size_t limit;
    /* the answer */
    long status;
    char content_type[128];
    char digest[80];
    int64_t content_length;
    char content_range[128];
    char challenge[2048];
    char location[2048];
    char *buf;
    size_t len;
    int64_t delivered;
    /* failures inside callbacks */
    bool too_large, sink_failed, bad_range, body_started;
    cs_error sink_err;
    int64_t last_byte_ms;
} request;

static void request_reset_answer(request *r)
{
    r->status = 0;
    r->content_type[0] = r->digest[0] = r->content_range[0] = r->challenge[0] = r->location[0] = '\0';
    r->content_length = -1;
    free(r->buf);
    r->buf = NULL;
    r->len = 0;
    r->delivered = 0;
    r->too_large = r->sink_failed = r->bad_range = r->body_started = false;
    r->skip = 0;
}

static void request_free(request *r)
{
    free(r->buf);
    r->buf = NULL;
}

static void header_value(const char *line, size_t n, size_t name_len, char *out, size_t size)
{
    const char *v = line + name_len;
    size_t len = n - name_len;
    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    if (len >= size)
        len = size - 1;
    memcpy(out, v, len);
    out[len] = '\0';
}

static bool header_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k && !strncasecmp(line, name, k);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    request *r = user;
    size_t n = size * nmemb;
    r->last_byte_ms = cs_time_mono_ms();
    if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
        /* a new response (after 100 Continue): forget the previous headers */
        request_reset_answer(r);
        const char *sp = memchr(data, ' ', n);
        if (sp)
            r->status = strtol(sp + 1, NULL, 10);
    } else if (header_is(data, n, "content-type:")) {
        header_value(data, n, 13, r->content_type, sizeof r->content_type);
        /* "application/json; charset=utf-8" -> the type alone */
        r->content_type[strcspn(r->content_type, "; ")] = '\0';
    } else if (header_is(data, n, "docker-content-digest:")) {
        header_value(data, n, 22, r->digest, sizeof r->digest);
    } else if (header_is(data, n, "content-length:")) {
        char v[32];
        header_value(data, n, 15, v, sizeof v);
        r->content_length = strtoll(v, NULL, 10);
    } else if (header_is(data, n, "content-range:")) {
        header_value(data, n, 14, r->content_range, sizeof r->content_range);
    } else if (header_is(data, n, "www-authenticate:")) {
        /* Keep the first Bearer or Basic challenge. */
        if (!r->challenge[0])
            header_value(data, n, 17, r->challenge, sizeof r->challenge);
    } else if (header_is(data, n, "location:")) {
        header_value(data, n, 9, r->location, sizeof r->location);
    }
    return n;
}

static bool success(long status)
{
    return status >= 200 && status < 300;
}

/* "bytes 100-199/200": the first byte position, or -1. */
static int64_t range_start(const char *cr)
{
    if (strncasecmp(cr, "bytes ", 6) != 0)
        return -1;
    char *end;
    long long v = strtoll(cr + 6, &end, 10);
    return end != cr + 6 && *end == '-' ? v : -1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    request *r = user;
    size_t n = size * nmemb;
    r->last_byte_ms = cs_time_mono_ms();
    if (r->sink && success(r->status)) {
        if (!r->body_started) {
            r->body_started = true;
            if (r->range_from > 0 && r->status == 206 && range_start(r->content_range) != r->range_from) {
                r->bad_range = true;
                return 0;
            }
            /* a server that ignores Range sends the whole blob: drop what we have */
            if (r->range_from > 0 && r->status != 206)
                r->skip = r->range_from;
        }
        if (r->skip > 0) {
            size_t drop = (int64_t)n < r->skip ? n : (size_t)r->skip;
            r->skip -= (int64_t)drop;
            data += drop;
            n -= drop;
            if (n == 0)
                return size * nmemb;
        }
        if (r->sink(r->user, data, n, &r->sink_err) != 0) {
            r->sink_failed = true;
            return 0;
        }
        r->delivered += (int64_t)n;
        return size * nmemb;
    }
    size_t limit = success(r->status) ? r->limit : ERROR_BODY_MAX;
    if (r->len + n > limit) {
        if (!success(r->status))
            return size * nmemb; /* an error body: the start is enough */
        r->too_large = true;
        return 0;
    }
    r->buf = cs_xrealloc(r->buf, r->len + n + 1);
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    r->buf[r->len] = '\0';
    return size * nmemb;
}

/* Runs the request. 0 when an HTTP answer arrived (any status); -1 when the
 * transfer failed, with *transport set when it never reached an HTTP
 * exchange (so a loopback host may be retried over plain http). */
static int perform(request *r, bool *transport, cs_error *err)
{
    reg_client *c = r->c;
    *transport = false;
    request_reset_answer(r);
    CURL *e = curl_easy_init();
    CURLM *m = curl_multi_init();
    struct curl_slist *hdrs = NULL;
    if (!e || !m) {
        curl_easy_cleanup(e);
        curl_multi_cleanup(m);
        return cs_error_set(err, CS_ERR_INTERNAL, "libcurl cannot create a handle");
    }
    char *authz = NULL, range[64];
    if (r->authz) {
        authz = cs_xasprintf("Authorization: %s", r->authz);
        hdrs = curl_slist_append(hdrs, authz);
    }
    if (r->accept)
        hdrs = curl_slist_append(hdrs, r->accept);
    if (r->range_from > 0) {
        snprintf(range, sizeof range, "Range: bytes=%lld-", (long long)r->range_from);
        hdrs = curl_slist_append(hdrs, range);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "crishim/" CRISHIM_VERSION);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Redirects are followed by the callers, which decide about credentials. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->progress_ms);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    /* TLS: libcurl verifies against the system trust store by default. */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "POST")) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->post ? r->post : "");
    }
    curl_multi_add_handle(m, e);

    r->last_byte_ms = cs_time_mono_ms();
    int rc = 0, running = 1;
    enum { GO, STALLED, CTX_DONE } why = GO;
    while (running) {
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK) {
            rc = cs_error_set(err, CS_ERR_INTERNAL, "libcurl: %s", curl_multi_strerror(mc));
            goto out;
        }
        if (!running)
            break;
        if (cs_ctx_done(r->ctx)) {
            why = CTX_DONE;
            break;
        }
        if (cs_time_mono_ms() - r->last_byte_ms >= c->progress_ms) {
            why = STALLED;
            break;
        }
        int left = POLL_SLICE_MS;
        int64_t rem = cs_ctx_remaining_ms(r->ctx);
        if (rem >= 0 && rem < left)
            left = (int)rem + 1;
        curl_multi_poll(m, NULL, 0, left, NULL);
    }
    if (why == CTX_DONE) {
        rc = cs_ctx_cancelled(r->ctx)
                 ? cs_error_set(err, CS_ERR_CANCELLED, "%s from %s: cancelled", r->what, r->host)
                 : cs_error_set(err, CS_ERR_DEADLINE, "%s from %s: deadline exceeded", r->what, r->host);
        goto out;
    }
    if (why == STALLED) {
        long s = (c->progress_ms + 999) / 1000;
        rc = cs_error_set(err, CS_ERR_DEADLINE, "no data for %ld s fetching %s from %s", s, r->what, r->host);
        goto out;
    }
    CURLcode cc = CURLE_OK;
    int queued;
    for (CURLMsg *msg; (msg = curl_multi_info_read(m, &queued));)
        if (msg->msg == CURLMSG_DONE)
            cc = msg->data.result;
    if (cc == CURLE_OK) {
        if (r->status == 0)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
        goto out;
    }
    if (r->sink_failed) {
        *err = r->sink_err;
        rc = -1;
        goto out;
    }
    if (r->bad_range) {
        rc = cs_error_set(err, CS_ERR_INVALID, "%s from %s: asked for bytes from %lld, got \"%s\"", r->what, r->host,
                          (long long)r->range_from, r->content_range);
        goto out;
    }
    if (r->too_large) {
        rc = cs_error_set(err, CS_ERR_INVALID, "%s from %s: larger than %u bytes", r->what, r->host, SMALL_MAX);
        goto out;
    }
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        *transport = r->status == 0;
        rc = cs_error_set(err, CS_ERR_UNAVAILABLE, "%s from %s: %s", r->what, r->host, curl_easy_strerror(cc));
        break;
    case CURLE_OPERATION_TIMEDOUT:
        *transport = r->status == 0;
        rc = cs_error_set(err, r->status == 0 ? CS_ERR_UNAVAILABLE : CS_ERR_DEADLINE, "%s from %s: %s", r->what,
                          r->host, curl_easy_strerror(cc));
        break;
    default:
        rc = cs_error_set(err, CS_ERR_UNAVAILABLE, "%s from %s: %s", r->what, r->host, curl_easy_strerror(cc));
        break;
    }
out:
    curl_multi_remove_handle(m, e);
    curl_easy_cleanup(e);
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    free(authz);
    return rc;
}

/* ---- registry errors ---- */

/* The registry's own words from an error body {"errors":[{"code","message"}]}. */
static void registry_error(const request *r, char *code, size_t code_size, char *msg, size_t msg_size)
{
    code[0] = msg[0] = '\0';
    cs_json *j = NULL;
    if (!r->buf || !r->len || cs_json_parse(r->buf, r->len, &j, NULL) != 0)
        return;
    int e0 = cs_json_at(j, cs_json_key(j, 0, "errors"), 0);
    char *s = cs_json_str(j, cs_json_key(j, e0, "code"), NULL);
    if (s)
        snprintf(code, code_size, "%s", s);
    free(s);
    s = cs_json_str(j, cs_json_key(j, e0, "message"), NULL);
    if (s)
        snprintf(msg, msg_size, "%s", s);
    free(s);
    cs_json_free(j);
}

/* An HTTP status that is not success to a cs_error. */
static int status_error(const request *r, cs_error *err)
{
    char code[64], msg[256];
    registry_error(r, code, sizeof code, msg, sizeof msg);
    const char *said = msg[0] ? msg : code[0] ? code : "";
    if (r->status == 404 || !strcmp(code, "MANIFEST_UNKNOWN") || !strcmp(code, "NAME_UNKNOWN") ||
        !strcmp(code, "BLOB_UNKNOWN"))
        return cs_error_set(err, CS_ERR_NOT_FOUND, "%s not found in registry %s%s%s", r->what, r->host,
                            said[0] ? ": " : "", said);
    if (r->status == 401)
        return cs_error_set(err, CS_ERR_UNAUTHENTICATED, "registry %s rejected the credentials for %s (HTTP 401%s%s)",
                            r->host, r->what, said[0] ? ": " : "", said);
    if (r->status == 403)
        return cs_error_set(err, CS_ERR_PERMISSION, "registry %s denied access to %s (HTTP 403%s%s)", r->host,
                            r->what, said[0] ? ": " : "", said);
    if (r->status == 429 || r->status >= 500)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "registry %s answered HTTP %ld for %s%s%s", r->host, r->status,
                            r->what, said[0] ? ": " : "", said);
    return cs_error_set(err, CS_ERR_UNKNOWN, "registry %s answered HTTP %ld for %s%s%s", r->host, r->status, r->what,
                        said[0] ? ": " : "", said);
}

/* ---- challenges and tokens ---- */

typedef struct challenge {
    bool bearer, basic;
    char realm[1024], service[1024], scope[1024];
} challenge;

/* `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"`,
 * `Basic realm="crishim-test"`. Quoted strings may carry backslash escapes. */
static void parse_challenge(const char *s, challenge *ch)
{
    memset(ch, 0, sizeof *ch);
    while (*s == ' ')
        s++;
    if (!strncasecmp(s, "bearer ", 7)) {
        ch->bearer = true;
        s += 7;
    } else if (!strncasecmp(s, "basic", 5)) {
        ch->basic = true;
        return;
    } else {
        return;
    }
    while (*s) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *k = s;
        while (*s && *s != '=' && *s != ',' && *s != ' ')
            s++;
        size_t klen = (size_t)(s - k);
        if (*s != '=')
            continue;
        s++;
        char val[1024];
        size_t n = 0;
        if (*s == '"') {
            s++;
            while (*s && *s != '"') {
                if (*s == '\\' && s[1])
                    s++;
                if (n + 1 < sizeof val)
                    val[n++] = *s;
                s++;
            }
            if (*s == '"')
                s++;
        } else {
            while (*s && *s != ',' && *s != ' ') {
                if (n + 1 < sizeof val)
                    val[n++] = *s;
                s++;
            }
        }
        val[n] = '\0';
        if (klen == 5 && !strncasecmp(k, "realm", 5))
            snprintf(ch->realm, sizeof ch->realm, "%s", val);
        else if (klen == 7 && !strncasecmp(k, "service", 7))
            snprintf(ch->service, sizeof ch->service, "%s", val);
        else if (klen == 5 && !strncasecmp(k, "scope", 5))
            snprintf(ch->scope, sizeof ch->scope, "%s", val);
    }
}

static char *basic_value(const creds *cr)
{
    char *up = cs_xasprintf("%s:%s", cr->user, cr->pass);
    char *b64 = cs_base64_encode(up, strlen(up), false);
    char *v = cs_xasprintf("Basic %s", b64);
    free(up);
    free(b64);
    return v;
}

/* Asks the realm for a token: GET with Basic user:pass (or anonymous), or,
 * with an identity token, the OAuth2 refresh_token POST. The Authorization
 * value ("Bearer ...") is malloc'd into *out. */
static int fetch_token(reg_client *c, const cs_ctx *ctx, const char *host, const challenge *ch, const char *scope,
                       const creds *cr, char **out, int64_t *expires_ms, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    int rc = -1;
    request r = {.c = c, .ctx = ctx, .what = "token", .host = host, .limit = SMALL_MAX};
    char *basic = NULL;
    if (strncmp(ch->realm, "https://", 8) != 0 && strncmp(ch->realm, "http://", 7) != 0) {
        cs_error_set(err, CS_ERR_INVALID, "registry %s: bearer realm \"%s\" is not an http(s) URL", host, ch->realm);
        goto out;
    }
    const char *svc = cs_url_query_escape(ch->service, a);
    const char *sc = cs_url_query_escape(scope, a);
    if (cr->identity) {
        r.method = "POST";
        r.url = ch->realm;
        r.post = cs_arena_printf(a, "grant_type=refresh_token&refresh_token=%s&service=%s&scope=%s"
                                    "&client_id=containerd-client",
                                 cs_url_query_escape(cr->identity, a), svc, sc);
    } else {
        r.method = "GET";
        r.url = cs_arena_printf(a, "%s%cservice=%s&scope=%s", ch->realm, strchr(ch->realm, '?') ? '&' : '?', svc,
                                sc);
        if (cr->user)
            r.authz = basic = basic_value(cr);
    }
    bool transport;
    if (perform(&r, &transport, err) != 0) {
        cs_error_wrap(err, "registry %s: token from %s", host, ch->realm);
        goto out;
    }
    if (r.status == 401 || r.status == 403) {
        char code[64], msg[256];
        registry_error(&r, code, sizeof code, msg, sizeof msg);
        cs_error_set(err, CS_ERR_UNAUTHENTICATED, "registry %s: the token server %s rejected the credentials (HTTP %ld%s%s)",
                     host, ch->realm, r.status, msg[0] ? ": " : "", msg);
        goto out;
    }
    if (!success(r.status)) {
        r.what = "token";
        status_error(&r, err);
        cs_error_wrap(err, "token server %s", ch->realm);
        goto out;
    }
    cs_json *j = NULL;
    if (!r.buf || cs_json_parse(r.buf, r.len, &j, NULL) != 0) {
        cs_error_set(err, CS_ERR_INVALID, "registry %s: the token server %s answered no JSON", host, ch->realm);
        goto out;
    }
    char *tok = cs_json_get_str(j, 0, "token", a);
    if (!tok || !*tok)
        tok = cs_json_get_str(j, 0, "access_token", a);
    int64_t ttl = cs_json_get_int64(j, 0, "expires_in", TOKEN_DEFAULT_TTL_S);
    cs_json_free(j);
    if (!tok || !*tok) {
        cs_error_set(err, CS_ERR_INVALID, "registry %s: the token server %s answered no token", host, ch->realm);
        goto out;
    }
    if (ttl <= 0)
        ttl = TOKEN_DEFAULT_TTL_S;
    /* renew a little early: a token must not expire between the check and its use */
    *expires_ms = cs_time_mono_ms() + ttl * 1000 - (ttl > 20 ? 10000 : ttl * 500);
    *out = cs_xasprintf("Bearer %s", tok);
    rc = 0;
out:
    free(basic);
    request_free(&r);
    cs_arena_free(a);
    return rc;
}

/* ---- requests to one repository, authenticated ---- */

typedef struct target {
    reg_client *c;
    const cs_ctx *ctx;
    const char *host;  /* endpoint host[:port] */
    char base[512];    /* "https://host/v2/<path>" */
    char scope[400];   /* "repository:<path>:pull" */
    char cache_key[900];
    creds cr;
    bool plain;        /* speaking http */
    bool loopback_probe; /* https may fall back to http */
} target;

static int target_init(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth, target *t,
                       cs_error *err)
{
    memset(t, 0, sizeof *t);
    if (!ref || ref->is_id || !ref->domain[0] || !ref->path[0])
        return cs_error_set(err, CS_ERR_INVALID, "image reference names no repository");
    t->c = c;
    t->ctx = ctx;
    t->host = reg_endpoint_host(ref->domain);
    if (creds_from(auth, ref->domain, &t->cr, err) != 0)
        return -1;
    t->plain = insecure_listed(c, t->host) || insecure_listed(c, ref->domain) || plain_known(c, t->host);
    t->loopback_probe = !t->plain && is_loopback(t->host);
    snprintf(t->scope, sizeof t->scope, "repository:%s:pull", ref->path);
    snprintf(t->cache_key, sizeof t->cache_key, "%s|%s|%s", t->host, t->scope, t->cr.key);
    return 0;
}

static void target_base(target *t, const cs_imageref *ref)
{
    snprintf(t->base, sizeof t->base, "%s://%s/v2/%s", t->plain ? "http" : "https", t->host, ref->path);
}

/* perform, falling back from https to http for a loopback registry that
 * does not speak TLS (as containerd does for localhost). */
static int perform_target(target *t, const cs_imageref *ref, request *r, const char *suffix, cs_arena *a,
                          cs_error *err)
{
    target_base(t, ref);
    r->url = cs_arena_printf(a, "%s%s", t->base, suffix);
    bool transport;
    if (perform(r, &transport, err) == 0)
        return 0;
    if (!transport || !t->loopback_probe)
        return -1;
    t->plain = true;
    t->loopback_probe = false;
    target_base(t, ref);
    r->url = cs_arena_printf(a, "%s%s", t->base, suffix);
    if (perform(r, &transport, err) != 0)
        return -1;
    plain_remember(t->c, t->host);
    return 0;
}

/* The Authorization value to try first: a cached one, or the registry token. */
static char *initial_authz(target *t)
{
    if (t->cr.reg_token)
        return cs_xasprintf("Bearer %s", t->cr.reg_token);
    return cache_get(t->c, t->cache_key);
}

/* From a 401's challenge, the Authorization value to retry with. */
static int answer_challenge(target *t, const request *r, char **out, cs_error *err)
{
    challenge ch;
    parse_challenge(r->challenge, &ch);
    if (ch.basic) {
        if (!t->cr.user)
            return cs_error_set(err, CS_ERR_UNAUTHENTICATED, "registry %s requires credentials for %s (basic auth)",
                                t->host, r->what);
        *out = basic_value(&t->cr);
        cache_put(t->c, t->cache_key, *out, 0);
        return 0;
    }
    if (ch.bearer && ch.realm[0]) {
        int64_t exp = 0;
        const char *scope = ch.scope[0] ? ch.scope : t->scope;
        if (fetch_token(t->c, t->ctx, t->host, &ch, scope, &t->cr, out, &exp, err) != 0)
            return -1;
        cache_put(t->c, t->cache_key, *out, exp);
        return 0;
    }
    return cs_error_set(err, CS_ERR_UNAUTHENTICATED, "registry %s answered 401 for %s without a usable challenge (%s)",
                        t->host, r->what, r->challenge[0] ? r->challenge : "none");
}

/* One request against the repository with auth: the cached credentials
 * first, and on a 401 the challenge's answer, once. A second 401 is
 * UNAUTHENTICATED naming the registry. On 0, r holds an answer that is not
 * 401 (the caller looks at the status). */
static int authed(target *t, const cs_imageref *ref, request *r, const char *suffix, cs_arena *a, cs_error *err)
{
    char *authz = initial_authz(t);
    bool answered = false;
    int rc = -1;
    for (;;) {
        r->authz = authz;
        if (perform_target(t, ref, r, suffix, a, err) != 0)
            goto out;
        if (r->status != 401)
            break;
        if (answered || t->cr.reg_token) {
            cache_drop(t->c, t->cache_key);
            status_error(r, err);
            goto out;
        }
        /* A cached token may simply have been revoked: answer afresh once. */
        free(authz);
        authz = NULL;
        if (answer_challenge(t, r, &authz, err) != 0)
            goto out;
        answered = true;
    }
    rc = 0;
out:
    r->authz = NULL;
    free(authz);
    return rc;
}

/* ---- resolve and manifests ---- */

static int checked_media_type(const char *mt, const char *what, reg_desc *out, cs_error *err)
{
    if (!mt[0])
        return cs_error_set(err, CS_ERR_INVALID, "%s: the registry sent no Content-Type", what);
    if (strlen(mt) >= sizeof out->media_type)
        return cs_error_set(err, CS_ERR_INVALID, "%s: Content-Type too long", what);
    snprintf(out->media_type, sizeof out->media_type, "%s", mt);
    return 0;
}

/* The media type of a manifest body without a useful Content-Type: its own
 * mediaType field. */
static void body_media_type(const char *body, size_t len, char *out, size_t size)
{
    cs_json *j = NULL;
    if (cs_json_parse(body, len, &j, NULL) != 0)
        return;
    char *mt = cs_json_get_str(j, 0, "mediaType", NULL);
    if (mt && strlen(mt) < size)
        snprintf(out, size, "%s", mt);
    free(mt);
    cs_json_free(j);
}

int reg_resolve(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth, reg_desc *out,
                cs_error *err)
{
    memset(out, 0, sizeof *out);
    target t;
    if (target_init(c, ctx, ref, auth, &t, err) != 0)
        return -1;
    cs_arena *a = cs_arena_new();
    const char *tag = ref->digest[0] ? ref->digest : ref->tag[0] ? ref->tag : "latest";
    char what[600];
    snprintf(what, sizeof what, "manifest %s%c%s", ref->path, ref->digest[0] ? '@' : ':', tag);
    const char *suffix = cs_arena_printf(a, "/manifests/%s", cs_url_path_escape(tag, a));
    request r = {.c = c, .ctx = ctx, .method = "HEAD", .accept = MANIFEST_ACCEPT, .what = what, .host = t.host,
                 .limit = SMALL_MAX};
    int rc = -1;
    if (authed(&t, ref, &r, suffix, a, err) != 0)
        goto out;
    if (r.status == 404) {
        status_error(&r, err);
        goto out;
    }
    if (success(r.status) && mf_digest_valid(r.digest) && r.content_length > 0 && r.content_type[0] &&
        strcmp(r.content_type, "application/json") != 0 &&
        (!ref->digest[0] || !strcmp(ref->digest, r.digest))) {
        if (checked_media_type(r.content_type, what, out, err) != 0)
            goto out;
        snprintf(out->digest, sizeof out->digest, "%s", r.digest);
        out->size = r.content_length;
        rc = 0;
        goto out;
    }
    /* HEAD said too little (or failed otherwise): GET the body and hash it. */
    r.method = "GET";
    if (authed(&t, ref, &r, suffix, a, err) != 0)
        goto out;
    if (!success(r.status)) {
        status_error(&r, err);
        goto out;
    }
    char d[72];
    mf_sha256_digest(r.buf ? r.buf : "", r.len, d);
    if (ref->digest[0] && strcmp(ref->digest, d) != 0) {
        cs_error_set(err, CS_ERR_DATA_LOSS, "%s from %s: the body's digest is %s", what, t.host, d);
        goto out;
    }
    char mt[128] = "";
    if (r.content_type[0] && strcmp(r.content_type, "application/json") != 0 && strlen(r.content_type) < sizeof mt)
        snprintf(mt, sizeof mt, "%s", r.content_type);
    else if (r.buf)
        body_media_type(r.buf, r.len, mt, sizeof mt);
    if (checked_media_type(mt, what, out, err) != 0)
        goto out;
    snprintf(out->digest, sizeof out->digest, "%s", d);
    out->size = (int64_t)r.len;
    rc = 0;
out:
    request_free(&r);
    creds_clear(&t.cr);
    cs_arena_free(a);
    return rc;
}

/* A 3xx with a Location: the registry sends blobs to their storage. The
 * storage gets no registry credentials (signed URLs carry their own). */
static int follow_redirects(target *t, request *r, cs_arena *a, cs_error *err)
{
    for (int hops = 0; r->status >= 300 && r->status < 400 && r->location[0]; hops++) {
        if (hops == MAX_REDIRECTS)
            return cs_error_set(err, CS_ERR_UNAVAILABLE, "%s from %s: more than %d redirects", r->what, t->host,
                                MAX_REDIRECTS);
        CURLU *u = curl_url();
        char *next = NULL;
        bool ok = u && curl_url_set(u, CURLUPART_URL, r->url, 0) == CURLUE_OK &&
                  curl_url_set(u, CURLUPART_URL, r->location, 0) == CURLUE_OK &&
                  curl_url_get(u, CURLUPART_URL, &next, 0) == CURLUE_OK;
        curl_url_cleanup(u);
        if (!ok) {
            curl_free(next);
            return cs_error_set(err, CS_ERR_INVALID, "%s from %s: bad redirect \"%s\"", r->what, t->host,
                                r->location);
        }
        r->url = cs_arena_strdup(a, next);
        curl_free(next);
        r->authz = NULL;
        bool transport;
        if (perform(r, &transport, err) != 0)
            return -1;
    }
    return 0;
}

/* GET a small object (manifest or blob) by digest into the arena, digest
 * checked; follows redirects without credentials. */
static int fetch_small(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth,
                       const reg_desc *d, const char *kind, cs_arena *out_arena, char **body, size_t *len,
                       cs_error *err)
{
    *body = NULL;
    *len = 0;
    if (!d || !mf_digest_valid(d->digest))
        return cs_error_set(err, CS_ERR_INVALID, "%s: descriptor digest is not a sha256 digest", kind);
    if (d->size > (int64_t)SMALL_MAX)
        return cs_error_set(err, CS_ERR_INVALID, "%s %s: %lld bytes is more than %u", kind, d->digest,
                            (long long)d->size, SMALL_MAX);
    target t;
    if (target_init(c, ctx, ref, auth, &t, err) != 0)
        return -1;
    cs_arena *a = cs_arena_new();
    char what[200];
    snprintf(what, sizeof what, "%s %s", kind, d->digest);
    bool is_manifest = !strcmp(kind, "manifest");
    const char *suffix = cs_arena_printf(a, "/%s/%s", is_manifest ? "manifests" : "blobs", d->digest);
    request r = {.c = c, .ctx = ctx, .method = "GET", .accept = is_manifest ? MANIFEST_ACCEPT : NULL, .what = what,
                 .host = t.host, .limit = SMALL_MAX};
    int rc = -1;
    if (authed(&t, ref, &r, suffix, a, err) != 0)
        goto out;
    if (follow_redirects(&t, &r, a, err) != 0)
        goto out;
    if (!success(r.status)) {
        status_error(&r, err);
        goto out;
    }
    char got[72];
    mf_sha256_digest(r.buf ? r.buf : "", r.len, got);
    if (strcmp(got, d->digest) != 0) {
        cs_error_set(err, CS_ERR_DATA_LOSS, "%s from %s: the body's digest is %s", what, t.host, got);
        goto out;
    }
    *body = cs_arena_alloc(out_arena, r.len + 1);
    if (r.len)
        memcpy(*body, r.buf, r.len);
    (*body)[r.len] = '\0';
    *len = r.len;
    rc = 0;
out:
    request_free(&r);
    creds_clear(&t.cr);
    cs_arena_free(a);
    return rc;
}

int reg_fetch_manifest(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth,
                       const reg_desc *d, cs_arena *a, char **body, size_t *len, cs_error *err)
{
    return fetch_small(c, ctx, ref, auth, d, "manifest", a, body, len, err);
}

int reg_fetch_blob_small(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth,
                         const reg_desc *d, cs_arena *a, char **body, size_t *len, cs_error *err)
{
    return fetch_small(c, ctx, ref, auth, d, "blob", a, body, len, err);
}

/* ---- blobs ---- */

static int slot_take(reg_client *c, const cs_ctx *ctx, const char *what, cs_error *err)
{
    pthread_mutex_lock(&c->mu);
    while (c->downloads >= c->max_downloads) {
        if (cs_ctx_done(ctx)) {
            pthread_mutex_unlock(&c->mu);
            return cs_ctx_cancelled(ctx) ? cs_error_set(err, CS_ERR_CANCELLED, "%s: cancelled", what)
                                         : cs_error_set(err, CS_ERR_DEADLINE,
                                                        "%s: deadline exceeded waiting for a download slot", what);
        }
        /* wake now and then to look at ctx */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += POLL_SLICE_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->slot_cv, &c->mu, &ts);
    }
    c->downloads++;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static void slot_give(reg_client *c)
{
    pthread_mutex_lock(&c->mu);
    c->downloads--;
    pthread_cond_signal(&c->slot_cv);
    pthread_mutex_unlock(&c->mu);
}

int reg_fetch_blob(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth,
                   const reg_desc *d, int64_t offset, reg_sink_fn sink, void *user, cs_error *err)
{
    if (!d || !mf_digest_valid(d->digest))
        return cs_error_set(err, CS_ERR_INVALID, "blob: descriptor digest is not a sha256 digest");
    if (offset < 0)
        return cs_error_set(err, CS_ERR_INVALID, "blob %s: negative offset", d->digest);
    if (d->size > 0 && offset >= d->size)
        return 0;
    char what[120];
    snprintf(what, sizeof what, "blob %s", d->digest);
    target t;
    if (target_init(c, ctx, ref, auth, &t, err) != 0)
        return -1;
    if (slot_take(c, ctx, what, err) != 0) {
        creds_clear(&t.cr);
        return -1;
    }
    cs_arena *a = cs_arena_new();
    const char *suffix = cs_arena_printf(a, "/blobs/%s", d->digest);
    request r = {.c = c, .ctx = ctx, .method = "GET", .range_from = offset, .what = what, .host = t.host,
                 .sink = sink, .user = user, .limit = SMALL_MAX};
    int rc = -1;
    if (authed(&t, ref, &r, suffix, a, err) != 0 || follow_redirects(&t, &r, a, err) != 0)
        goto out;
    if (!success(r.status)) {
        status_error(&r, err);
        goto out;
    }
    rc = 0;
out:
    slot_give(c);
    request_free(&r);
    creds_clear(&t.cr);
    cs_arena_free(a);
    return rc;
}
