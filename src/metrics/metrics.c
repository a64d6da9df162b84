/* Prometheus metrics; see metrics.h. Counters are atomics in a fixed table of
 * every method, so recording a call takes no lock. Engine calls go to a small
 * table of (operation, result) histograms found under a mutex: their names
 * are bounded (docker_op_name), and the table caps what a surprise adds. */
#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpc/methods.h"
#include "util/mem.h"

#define NCODES 17
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct method_stats {
    atomic_uint_fast64_t codes[NCODES];
    atomic_uint_fast64_t le[NBUCKETS]; /* cumulative buckets are summed on render */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_ns;
} method_stats;

/* Engine (operation, result) pairs kept; later ones count as "other". */
#define ENGINE_OPS 96

typedef struct engine_stats {
    char op[96];
    char result[16];
    uint64_t le[NBUCKETS];
    uint64_t count, sum_ns;
} engine_stats;

struct cs_metrics {
    cs_method *methods;
    size_t n;
    method_stats *stats;
    size_t (*inflight)(void *);
    void *inflight_arg;
    size_t (*sessions)(void *);
    void *sessions_arg;
    uint64_t (*engine_streams)(void);
    pthread_mutex_t engine_mu;
    engine_stats engine[ENGINE_OPS];
    size_t n_engine;
    struct MHD_Daemon *httpd;
};

static const char *const code_names[NCODES] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

cs_metrics *cs_metrics_new(void)
{
    cs_metrics *m = cs_xcalloc(1, sizeof *m);
    m->methods = cs_methods_build(&m->n);
    m->stats = cs_xcalloc(m->n, sizeof *m->stats);
    pthread_mutex_init(&m->engine_mu, NULL);
    return m;
}

void cs_metrics_free(cs_metrics *m)
{
    if (!m)
        return;
    cs_metrics_stop(m);
    cs_methods_free(m->methods, m->n);
    free(m->stats);
    pthread_mutex_destroy(&m->engine_mu);
    free(m);
}

void cs_metrics_set_sessions_source(cs_metrics *m, size_t (*fn)(void *), void *arg)
{
    m->sessions = fn;
    m->sessions_arg = arg;
}

void cs_metrics_set_inflight_source(cs_metrics *m, size_t (*fn)(void *), void *arg)
{
    m->inflight = fn;
    m->inflight_arg = arg;
}

void cs_metrics_observe(void *arg, const char *method, cs_code code, int64_t duration_ns)
{
    cs_metrics *m = arg;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->methods[i].path, method) != 0)
            continue;
        method_stats *s = &m->stats[i];
        atomic_fetch_add(&s->codes[(int)code >= 0 && (int)code < NCODES ? (int)code : 2], 1);
        atomic_fetch_add(&s->count, 1);
        atomic_fetch_add(&s->sum_ns, (uint64_t)(duration_ns > 0 ? duration_ns : 0));
        double secs = (double)duration_ns / 1e9;
        for (size_t b = 0; b < NBUCKETS; b++) {
            if (secs <= buckets[b]) {
                atomic_fetch_add(&s->le[b], 1);
                break;
            }
        }
        return;
    }
}

void cs_metrics_set_engine_streams_source(cs_metrics *m, uint64_t (*fn)(void))
{
    m->engine_streams = fn;
}

void cs_metrics_observe_engine(void *arg, const char *op, const char *result, int64_t duration_ns)
{
    cs_metrics *m = arg;
    pthread_mutex_lock(&m->engine_mu);
    engine_stats *e = NULL;
    for (size_t i = 0; i < m->n_engine && !e; i++)
        if (!strcmp(m->engine[i].op, op) && !strcmp(m->engine[i].result, result))
            e = &m->engine[i];
    if (!e && m->n_engine < ENGINE_OPS - 1) {
        e = &m->engine[m->n_engine++];
        snprintf(e->op, sizeof e->op, "%s", op);
        snprintf(e->result, sizeof e->result, "%s", result);
    }
    if (!e) { /* full: the last slot collects the rest */
        e = &m->engine[ENGINE_OPS - 1];
        if (!e->op[0]) {
            snprintf(e->op, sizeof e->op, "other");
            snprintf(e->result, sizeof e->result, "other");
            m->n_engine = ENGINE_OPS;
        }
    }
    uint64_t ns = (uint64_t)(duration_ns > 0 ? duration_ns : 0);
    e->count++;
    e->sum_ns += ns;
    double secs = (double)ns / 1e9;
    for (size_t b = 0; b < NBUCKETS; b++)
        if (secs <= buckets[b]) {
            e->le[b]++;
            break;
        }
    pthread_mutex_unlock(&m->engine_mu);
}

typedef struct text {
    char *buf;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)(n > 0 ? n : 256);
        t->buf = cs_xrealloc(t->buf, t->cap);
    }
}

static uint64_t process_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    uint64_t n = 0;
    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n > 3 ? n - 3 : 0; /* ".", ".." and the directory itself */
}

char *cs_metrics_render(cs_metrics *m)
{
    text t = {.cap = 4096};
    t.buf = cs_xmalloc(t.cap);
    t.buf[0] = '\0';
    put(&t, "# HELP crishim_rpc_requests_total gRPC calls handled, by method and status code.\n"
            "# TYPE crishim_rpc_requests_total counter\n");
    for (size_t i = 0; i < m->n; i++)
        for (int c = 0; c < NCODES; c++) {
            uint64_t v = atomic_load(&m->stats[i].codes[c]);
            if (v)
                put(&t, "crishim_rpc_requests_total{method=\"%s\",code=\"%s\"} %llu\n", m->methods[i].path,
                    code_names[c], (unsigned long long)v);
        }
    put(&t, "# HELP crishim_rpc_duration_seconds Time from a call's arrival to its status.\n"
            "# TYPE crishim_rpc_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n; i++) {
        method_stats *s = &m->stats[i];
        uint64_t count = atomic_load(&s->count);
        if (!count)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += atomic_load(&s->le[b]);
            put(&t, "crishim_rpc_duration_seconds_bucket{method=\"%s\",le=\"%g\"} %llu\n", m->methods[i].path,
                buckets[b], (unsigned long long)cum);
        }
        put(&t, "crishim_rpc_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} %llu\n", m->methods[i].path,
            (unsigned long long)count);
        put(&t, "crishim_rpc_duration_seconds_sum{method=\"%s\"} %.9f\n", m->methods[i].path,
            (double)atomic_load(&s->sum_ns) / 1e9);
        put(&t, "crishim_rpc_duration_seconds_count{method=\"%s\"} %llu\n", m->methods[i].path,
            (unsigned long long)count);
    }
    put(&t, "# HELP crishim_engine_request_duration_seconds Container engine API calls (streams excluded), by "
            "operation (method and path template) and result.\n"
            "# TYPE crishim_engine_request_duration_seconds histogram\n");
    pthread_mutex_lock(&m->engine_mu);
    for (size_t i = 0; i < m->n_engine; i++) {
        const engine_stats *e = &m->engine[i];
        if (!e->count)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += e->le[b];
            put(&t, "crishim_engine_request_duration_seconds_bucket{operation=\"%s\",result=\"%s\",le=\"%g\"} %llu\n",
                e->op, e->result, buckets[b], (unsigned long long)cum);
        }
        put(&t, "crishim_engine_request_duration_seconds_bucket{operation=\"%s\",result=\"%s\",le=\"+Inf\"} %llu\n",
            e->op, e->result, (unsigned long long)e->count);
        put(&t, "crishim_engine_request_duration_seconds_sum{operation=\"%s\",result=\"%s\"} %.9f\n", e->op,
            e->result, (double)e->sum_ns / 1e9);
        put(&t, "crishim_engine_request_duration_seconds_count{operation=\"%s\",result=\"%s\"} %llu\n", e->op,
            e->result, (unsigned long long)e->count);
    }
    pthread_mutex_unlock(&m->engine_mu);
    if (m->engine_streams)
        put(&t, "# HELP crishim_engine_streams_open Streaming engine calls open now (events, logs, pulls).\n"
                "# TYPE crishim_engine_streams_open gauge\ncrishim_engine_streams_open %llu\n",
            (unsigned long long)m->engine_streams());
    if (m->inflight)
        put(&t, "# HELP crishim_rpc_inflight Calls being handled now, streams included.\n"
                "# TYPE crishim_rpc_inflight gauge\ncrishim_rpc_inflight %zu\n",
            m->inflight(m->inflight_arg));
    if (m->sessions)
        put(&t, "# HELP crishim_stream_sessions Exec, attach and port-forward sessions on the streaming server.\n"
                "# TYPE crishim_stream_sessions gauge\ncrishim_stream_sessions %zu\n",
            m->sessions(m->sessions_arg));
    put(&t, "# HELP crishim_process_resident_memory_bytes Resident memory of crishim.\n"
            "# TYPE crishim_process_resident_memory_bytes gauge\ncrishim_process_resident_memory_bytes %llu\n",
        (unsigned long long)process_rss());
    put(&t, "# HELP crishim_process_open_fds Open file descriptors of crishim.\n"
            "# TYPE crishim_process_open_fds gauge\ncrishim_process_open_fds %llu\n",
        (unsigned long long)open_fds());
    return t.buf;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    cs_metrics *m = cls;
    struct MHD_Response *r;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        static const char nf[] = "not found: try /metrics\n";
        r = MHD_create_response_from_buffer(sizeof nf - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        char *body = cs_metrics_render(m);
        r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

int cs_metrics_serve(cs_metrics *m, const char *addr, cs_error *err)
{
    char host[256];
    snprintf(host, sizeof host, "%s", addr);
    char *colon = strrchr(host, ':');
    if (!colon)
        return cs_error_set(err, CS_ERR_INVALID, "--metrics-addr %s: want host:port", addr);
    *colon = '\0';
    int port = atoi(colon + 1);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa.sin_addr) != 1)
        return cs_error_set(err, CS_ERR_INVALID, "--metrics-addr %s: want an IPv4 host:port", addr);
    m->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
                                on_request, m, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    if (!m->httpd)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "cannot serve metrics on %s", addr);
    return 0;
}

void cs_metrics_stop(cs_metrics *m)
{
    if (m && m->httpd) {
        MHD_stop_daemon(m->httpd);
        m->httpd = NULL;
    }
}
