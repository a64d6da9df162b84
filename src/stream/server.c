/* The streaming server (see server.h): routing, token checks, the protocol
 * handshakes, and one thread per upgraded connection.
 *
 * Paths are /exec/{token}, /attach/{token} and /portforward/{token}, by GET
 * or POST (client-go's SPDY executor posts). A token is consumed by the
 * first request that names it, whatever happens next, as in kubelet. */
#include "stream/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream/portforward.h"
#include "stream/remotecommand.h"
#include "stream/spdy.h"
#include "stream/transports.h"
#include "stream/websocket.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

/* How long a client has to finish the HTTP request before it is dropped;
 * upgraded connections are ours and have no such limit. */
#define HTTP_TIMEOUT_S 30
#define MAX_CONNECTIONS 1024
#define WS_MAX_MESSAGE (1024 * 1024)

typedef enum transport { T_SPDY, T_WS } transport;

typedef struct session session;
struct session {
    strm_server *srv;
    strm_request *req;
    transport t;
    char protocol[64]; /* negotiated (SPDY's X-Stream-Protocol-Version or the WebSocket subprotocol) */
    int fd;            /* a dup of MHD's socket: the session's transport owns it */
    int kill_fd;       /* another dup, only for shutdown() when the server stops */
    struct MHD_UpgradeResponseHandle *urh;
    char *prefix;
    size_t prefix_len;
    session *next, *prev;
};

struct strm_server {
    struct MHD_Daemon *httpd;
    cs_backend *backend;
    strm_tokens *tokens;
    char *base_url;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    session *sessions; /* running, guarded by mu */
    int nsessions;
    bool stopping;
};

/* Protocols offered, in the order a tie is broken; clients' order wins (see
 * negotiate). */
static const char *const spdy_remotecommand[] = {"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                                                 NULL};
static const char *const spdy_portforward[] = {"portforward.k8s.io", NULL};
static const char *const ws_remotecommand[] = {"v5.channel.k8s.io",        "v4.channel.k8s.io",
                                               "v4.base64.channel.k8s.io", "channel.k8s.io",
                                               "base64.channel.k8s.io",    NULL};
static const char *const ws_portforward[] = {"v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io",
                                             "base64.channel.k8s.io", NULL};

/* ---- sessions ---- */

static void session_free(session *s)
{
    strm_request_free(s->req);
    free(s->prefix);
    free(s);
}

static void run_session(session *s)
{
    cs_backend *b = s->srv->backend;
    cs_error err;
    cs_error_clear(&err);
    bool pf = s->req->kind == STRM_PORTFORWARD;
    if (s->t == T_SPDY) {
        spdy_conn *conn = spdy_conn_new(s->fd, true, s->prefix, s->prefix_len, &err);
        s->fd = -1;
        if (!conn)
            goto fail;
        if (pf) {
            strm_portforward_spdy(conn, s->req, b);
            spdy_conn_free(conn);
            return;
        }
        strm_chans *ch = strm_spdy_chans_open(conn, s->req, s->protocol, &err);
        if (!ch) {
            spdy_conn_free(conn);
            goto fail;
        }
        strm_remotecommand(ch, s->req, b);
        ch->ops->free(ch);
        return;
    }
    ws_conn *conn = ws_conn_new(s->fd, true, s->prefix, s->prefix_len, WS_MAX_MESSAGE, &err);
    s->fd = -1;
    if (!conn)
        goto fail;
    if (pf) {
        strm_portforward_ws(conn, s->req, s->protocol, b);
        ws_conn_free(conn);
        return;
    }
    strm_chans *ch = strm_ws_chans_open(conn, s->req, s->protocol, &err);
    if (!ch) {
        ws_conn_free(conn);
        goto fail;
    }
    strm_remotecommand(ch, s->req, b);
    ch->ops->free(ch);
    return;
fail:
    cs_info("stream session failed", "kind", strm_kind_name(s->req->kind), "error", err.msg, NULL);
}

static void *session_main(void *arg)
{
    session *s = arg;
    strm_server *srv = s->srv;
    run_session(s);
    if (s->fd >= 0)
        close(s->fd);
    MHD_upgrade_action(s->urh, MHD_UPGRADE_ACTION_CLOSE);
    pthread_mutex_lock(&srv->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    close(s->kill_fd);
    if (--srv->nsessions == 0)
        pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
    session_free(s);
    return NULL;
}

/* MHD calls this once the 101 is on the wire. It must not block: the
 * session gets its own thread. */
static void on_upgraded(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    session *s = cls;
    strm_server *srv = s->srv;
    s->urh = urh;
    s->fd = dup(sock);
    s->kill_fd = dup(sock);
    if (extra_in_size) {
        s->prefix = cs_xmalloc(extra_in_size);
        memcpy(s->prefix, extra_in, extra_in_size);
        s->prefix_len = extra_in_size;
    }
    if (s->fd >= 0) /* MHD's sockets are non-blocking; the session's I/O blocks */
        fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK);
    pthread_mutex_lock(&srv->mu);
    bool ok = !srv->stopping && s->fd >= 0 && s->kill_fd >= 0;
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (ok && pthread_create(&th, &attr, session_main, s) == 0) {
        s->next = srv->sessions;
        if (s->next)
            s->next->prev = s;
        srv->sessions = s;
        srv->nsessions++;
    } else {
        ok = false;
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_unlock(&srv->mu);
    if (!ok) {
        if (s->fd >= 0)
            close(s->fd);
        if (s->kill_fd >= 0)
            close(s->kill_fd);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        session_free(s);
    }
}

/* ---- HTTP ---- */

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Every value of a header that may be repeated, joined with commas. */
typedef struct header_join {
    const char *name;
    char buf[1024];
    size_t len;
} header_join;

static enum MHD_Result join_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    header_join *h = cls;
    if (!key || !value || strcasecmp(key, h->name) != 0)
        return MHD_YES;
    int n = snprintf(h->buf + h->len, sizeof h->buf - h->len, "%s%s", h->len ? "," : "", value);
    if (n > 0 && (size_t)n < sizeof h->buf - h->len)
        h->len += (size_t)n;
    return MHD_YES;
}

static const char *all_values(struct MHD_Connection *conn, header_join *h, const char *name)
{
    h->name = name;
    h->len = 0;
    h->buf[0] = '\0';
    MHD_get_connection_values(conn, MHD_HEADER_KIND, join_header, h);
    return h->len ? h->buf : NULL;
}

static bool header_has_token(struct MHD_Connection *conn, const char *name, const char *token)
{
    header_join h;
    const char *v = all_values(conn, &h, name);
    if (!v)
        return false;
    size_t tl = strlen(token);
    for (const char *p = v; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == tl && strncasecmp(p, token, tl) == 0)
            return true;
        p += n;
    }
    return false;
}

/* The first protocol in the client's list that we support: kubelet lets the
 * client's preference win. */
static const char *negotiate(const char *client, const char *const *supported)
{
    if (!client)
        return NULL;
    for (const char *p = client; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        for (size_t i = 0; supported[i]; i++)
            if (strlen(supported[i]) == m && strncmp(p, supported[i], m) == 0)
                return supported[i];
        p += n;
    }
    return NULL;
}

static enum MHD_Result queue_upgrade(struct MHD_Connection *conn, session *s, struct MHD_Response *r)
{
    MHD_add_response_header(r, "Connection", "Upgrade");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    if (ret != MHD_YES)
        session_free(s);
    return ret;
}

static enum MHD_Result upgrade_spdy(struct MHD_Connection *conn, session *s)
{
    const char *const *offered = s->req->kind == STRM_PORTFORWARD ? spdy_portforward : spdy_remotecommand;
    header_join h;
    const char *client = all_values(conn, &h, "X-Stream-Protocol-Version");
    const char *proto = negotiate(client, offered);
    if (!proto) {
        char accepts[256] = "", msg[1400];
        for (size_t i = 0, n = 0; offered[i] && n < sizeof accepts; i++)
            n += (size_t)snprintf(accepts + n, sizeof accepts - n, "%s%s", i ? ", " : "", offered[i]);
        snprintf(msg, sizeof msg, "unable to upgrade: unable to negotiate protocol: client supports [%s], server "
                 "accepts [%s]\n", client ? client : "", accepts);
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(msg), msg, MHD_RESPMEM_MUST_COPY);
        for (size_t i = 0; offered[i]; i++)
            MHD_add_response_header(r, "X-Accepted-Stream-Protocol-Versions", offered[i]);
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_FORBIDDEN, r);
        MHD_destroy_response(r);
        session_free(s);
        return ret;
    }
    s->t = T_SPDY;
    snprintf(s->protocol, sizeof s->protocol, "%s", proto);
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, s);
    MHD_add_response_header(r, "Upgrade", "SPDY/3.1");
    MHD_add_response_header(r, "X-Stream-Protocol-Version", proto);
    return queue_upgrade(conn, s, r);
}

static enum MHD_Result upgrade_ws(struct MHD_Connection *conn, session *s)
{
    const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    const char *version = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
    char accept[29];
    if (!version || strcmp(version, "13") != 0) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Sec-WebSocket-Version", "13");
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_UPGRADE_REQUIRED, r);
        MHD_destroy_response(r);
        session_free(s);
        return ret;
    }
    if (!key || ws_accept_key(key, accept) != 0) {
        session_free(s);
        return respond_text(conn, MHD_HTTP_BAD_REQUEST, "missing or malformed Sec-WebSocket-Key\n");
    }
    header_join h;
    const char *client = all_values(conn, &h, "Sec-WebSocket-Protocol");
    const char *proto = "";
    if (client) {
        proto = negotiate(client, s->req->kind == STRM_PORTFORWARD ? ws_portforward : ws_remotecommand);
        if (!proto) {
            session_free(s);
            return respond_text(conn, MHD_HTTP_BAD_REQUEST, "none of the requested WebSocket subprotocols is "
                                                            "supported\n");
        }
    }
    s->t = T_WS;
    snprintf(s->protocol, sizeof s->protocol, "%s", proto);
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, s);
    MHD_add_response_header(r, "Upgrade", "websocket");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    if (*proto)
        MHD_add_response_header(r, "Sec-WebSocket-Protocol", proto);
    return queue_upgrade(conn, s, r);
}

/* "/exec/TOKEN" → STRM_EXEC and the token; -1 for any other path. */
static int parse_path(const char *url, const char **token)
{
    static const char *const prefixes[] = {"/exec/", "/attach/", "/portforward/"};
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(prefixes[k]);
        if (strncmp(url, prefixes[k], n) == 0 && url[n] && !strchr(url + n, '/')) {
            *token = url + n;
            return k;
        }
    }
    return -1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    strm_server *srv = cls;
    static int seen;
    if (!*req_cls) { /* headers only: come back when the request is complete */
        *req_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size) { /* no body is expected; ignore any */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    const char *token;
    int kind = parse_path(url, &token);
    strm_request *req = kind < 0 ? NULL : strm_tokens_take(srv->tokens, token);
    if (req && (int)req->kind != kind) {
        strm_request_free(req);
        req = NULL;
    }
    if (!req)
        return respond_text(conn, MHD_HTTP_NOT_FOUND, "404 page not found\n");
    session *s = cs_xcalloc(1, sizeof *s);
    s->srv = srv;
    s->req = req;
    s->fd = s->kill_fd = -1;
    bool upgrade = header_has_token(conn, "Connection", "upgrade");
    if (upgrade && header_has_token(conn, "Upgrade", "websocket"))
        return upgrade_ws(conn, s);
    if (upgrade && header_has_token(conn, "Upgrade", "SPDY/3.1"))
        return upgrade_spdy(conn, s);
    session_free(s);
    return respond_text(conn, MHD_HTTP_BAD_REQUEST,
                        "unable to upgrade: missing upgrade headers in request (want SPDY/3.1 or websocket)\n");
}

/* ---- lifecycle ---- */

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len, cs_error *err)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return cs_error_set(err, CS_ERR_INVALID, "--streaming-addr %s: want host:port", addr);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        return cs_error_set(err, CS_ERR_INVALID, "--streaming-addr %s: bad port", addr);
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        host[hl - 1] = '\0';
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return cs_error_set(err, CS_ERR_INVALID, "--streaming-addr %s: bad IPv6 address", addr);
        *len = sizeof *s6;
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, hl ? host : "0.0.0.0", &s4->sin_addr) != 1)
        return cs_error_set(err, CS_ERR_INVALID, "--streaming-addr %s: want an IP address, not a name", addr);
    *len = sizeof *s4;
    return 0;
}

/* The URL base for the bound socket. A wildcard address is advertised as
 * loopback: the kubelet that calls us proxies these URLs from this node. */
static char *base_url_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "127.0.0.1";
    int port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return NULL;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        port = ntohs(s6->sin6_port);
        if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
            strcpy(host, "::1");
        else
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        return cs_xasprintf("http://[%s]:%d", host, port);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    port = ntohs(s4->sin_port);
    if (s4->sin_addr.s_addr != htonl(INADDR_ANY))
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
    return cs_xasprintf("http://%s:%d", host, port);
}

static int bind_listener(const char *addr, int *out, cs_error *err)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (parse_addr(addr, &ss, &len, err) != 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "streaming server socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        return cs_error_errno(err, CS_ERR_UNAVAILABLE, e, "streaming server: cannot listen on %s", addr);
    }
    *out = fd;
    return 0;
}

int strm_server_new(const strm_server_config *cfg, strm_server **out, cs_error *err)
{
    int fd = -1;
    if (bind_listener(cfg->addr ? cfg->addr : STRM_DEFAULT_ADDR, &fd, err) != 0)
        return -1;
    strm_server *s = cs_xcalloc(1, sizeof *s);
    s->backend = cfg->backend;
    s->tokens = strm_tokens_new(STRM_MAX_TOKENS, cfg->token_ttl_ms > 0 ? cfg->token_ttl_ms : STRM_TOKEN_TTL_MS);
    s->base_url = base_url_of(fd);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_UPGRADE, 0, NULL, NULL,
                                on_request, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT,
                                (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                                MHD_OPTION_END);
    if (!s->httpd || !s->base_url) {
        close(fd);
        strm_server_free(s);
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "cannot start the streaming server on %s",
                            cfg->addr ? cfg->addr : STRM_DEFAULT_ADDR);
    }
    *out = s;
    return 0;
}

const char *strm_server_base_url(const strm_server *s)
{
    return s->base_url;
}

int strm_server_register(strm_server *s, strm_request *req, char **url, cs_error *err)
{
    char token[STRM_TOKEN_LEN + 1];
    strm_kind kind = req->kind;
    if (strm_tokens_put(s->tokens, req, token, err) != 0)
        return -1;
    *url = cs_xasprintf("%s/%s/%s", s->base_url, strm_kind_name(kind), token);
    return 0;
}

int strm_server_sessions(strm_server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->nsessions;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t strm_server_tokens(strm_server *s)
{
    return strm_tokens_outstanding(s->tokens);
}

void strm_server_free(strm_server *s)
{
    if (!s)
        return;
    /* Sessions first: MHD must not be stopped under upgraded connections.
     * Shutting their sockets down makes every transport see the end. */
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    for (session *x = s->sessions; x; x = x->next)
        shutdown(x->kill_fd, SHUT_RDWR);
    while (s->nsessions > 0)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->httpd)
        MHD_stop_daemon(s->httpd);
    strm_tokens_free(s->tokens);
    free(s->base_url);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
