/* crishim-bench: latency and throughput of CRI calls through crishim, each
 * beside its floor, and crishim's memory. Prints tables. The floor is, with
 * --docker, the same operation done directly on the Docker API crishim
 * drives; with --cri, the very same CRI call sent to containerd's own CRI
 * plugin (a second private containerd with it on). Run it through
 * scripts/bench.sh, which starts the private engines and a crishim for them:
 *
 *   crishim-bench --crishim unix:/path.sock (--docker unix:///path/docker.sock | --cri unix:/path.sock)
 *                 --pid <crishim pid> --image <busybox ref> [--pods N]
 *                 [--only lists|density|steps] [--rounds R]
 *
 * Default: N pods on each side, the read calls at 1, 8 and 32 clients (and
 * on --cri the ImageService's), then each pod lifecycle step (R rounds)
 * beside its floor: on Docker the Docker requests crishim makes for that
 * step, sent directly; on containerd the same CRI requests to the plugin.
 * Memory idle, loaded and after teardown.
 * --only lists: the calls whose cost grows with the number of containers
 * (ListContainers, ListContainerStats, ListPodSandboxMetrics) and nothing
 * else, for runs with hundreds of pods; Docker's one-shot stats (a second or
 * more per container) are left out there.
 * --only density: crishim's private dirty memory per running container with
 * N pods, and RSS after they are all torn down against idle.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cristeps.h"
#include "samples.h"
#include "docker/http.h"
#include "util/json.h"
#include "runtime/v1/api.pb-c.h"
#include "util/log.h"
#include "util/time.h"

#define RT(m) "/runtime.v1.RuntimeService/" m

static const char *crishim_target, *docker_host, *cri_target, *image;
/* The floor's name in the tables: Docker's API, or containerd's CRI plugin. */
static const char *floor_name = "docker";
static int crishim_pid;
static int npods = 20;
static bool lists_only, density_only, steps_only;
static int step_rounds = 20;

/* ---- timing ---- */


/* ---- one operation, via crishim or via Docker ---- */

typedef struct op {
    const char *name;
    void (*crishim)(tc_client *c, const char *arg);
    void (*docker)(docker_client *d, const char *arg); /* NULL: no Docker floor worth timing */
    const char *arg;
    const char *cri_arg; /* on --cri, the floor's arg (its own container id); NULL: arg */
    bool no_cri;         /* on --cri, the plugin does not implement it */
} op;

static void must(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench: %s failed\n", what);
        exit(1);
    }
}

static void c_version(tc_client *c, const char *arg)
{
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, RT("Version"), &req.base, &runtime__v1__version_response__descriptor, &r, 30000, &res);
    must(res.code == GRPC_STATUS_OK, "Version");
    protobuf_c_message_free_unpacked(r, NULL);
}

static void c_list(tc_client *c, const char *arg)
{
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, RT("ListContainers"), &req.base, &runtime__v1__list_containers_response__descriptor, &r, 60000, &res);
    must(res.code == GRPC_STATUS_OK, "ListContainers");
    protobuf_c_message_free_unpacked(r, NULL);
}

static void c_status(tc_client *c, const char *id)
{
    Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    req.container_id = (char *)id;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, RT("ContainerStatus"), &req.base, &runtime__v1__container_status_response__descriptor, &r, 30000,
             &res);
    must(res.code == GRPC_STATUS_OK, "ContainerStatus");
    protobuf_c_message_free_unpacked(r, NULL);
}

static void c_stats(tc_client *c, const char *arg)
{
    Runtime__V1__ListContainerStatsRequest req = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, RT("ListContainerStats"), &req.base, &runtime__v1__list_container_stats_response__descriptor, &r,
             120000, &res);
    must(res.code == GRPC_STATUS_OK, "ListContainerStats");
    protobuf_c_message_free_unpacked(r, NULL);
}

static void c_metrics(tc_client *c, const char *arg)
{
    Runtime__V1__ListPodSandboxMetricsRequest req = RUNTIME__V1__LIST_POD_SANDBOX_METRICS_REQUEST__INIT;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, RT("ListPodSandboxMetrics"), &req.base, &runtime__v1__list_pod_sandbox_metrics_response__descriptor,
             &r, 120000, &res);
    must(res.code == GRPC_STATUS_OK, "ListPodSandboxMetrics");
    protobuf_c_message_free_unpacked(r, NULL);
}

/* The ImageService, timed on --cri (crishim and the plugin both keep their
 * image records in memory; a pull of present layers asks the registry). */
static void c_pull(tc_client *c, const char *ref)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)ref;
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, "/runtime.v1.ImageService/PullImage", &req.base, &runtime__v1__pull_image_response__descriptor, &r,
             300000, &res);
    must(res.code == GRPC_STATUS_OK, "PullImage");
    protobuf_c_message_free_unpacked(r, NULL);
}

static void c_image_status(tc_client *c, const char *ref)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)ref;
    Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    req.image = &spec;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, "/runtime.v1.ImageService/ImageStatus", &req.base, &runtime__v1__image_status_response__descriptor,
             &r, 30000, &res);
    must(res.code == GRPC_STATUS_OK, "ImageStatus");
    protobuf_c_message_free_unpacked(r, NULL);
}

static void c_list_images(tc_client *c, const char *arg)
{
    Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, "/runtime.v1.ImageService/ListImages", &req.base, &runtime__v1__list_images_response__descriptor, &r,
             30000, &res);
    must(res.code == GRPC_STATUS_OK, "ListImages");
    protobuf_c_message_free_unpacked(r, NULL);
}

/* Whether the CRI plugin answers ListPodSandboxMetrics (containerd 1.6's
 * does not). */
static bool cri_has_metrics(void)
{
    tc_client *c = tc_connect(cri_target);
    Runtime__V1__ListPodSandboxMetricsRequest req = RUNTIME__V1__LIST_POD_SANDBOX_METRICS_REQUEST__INIT;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, RT("ListPodSandboxMetrics"), &req.base, &runtime__v1__list_pod_sandbox_metrics_response__descriptor,
             &r, 120000, &res);
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
    tc_close(c);
    return res.code == GRPC_STATUS_OK;
}

static void d_get(docker_client *d, const char *path)
{
    docker_response r;
    cs_error err;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 120000};
    must(docker_request_ok(d, &ctx, "GET", path, NULL, 0, NULL, &r, &err) == 0, path);
    docker_response_clear(&r);
}

static void d_version(docker_client *d, const char *arg) { d_get(d, "/version"); }
static void d_list(docker_client *d, const char *arg) { d_get(d, "/containers/json?all=1"); }

static void d_status(docker_client *d, const char *id)
{
    char path[256];
    snprintf(path, sizeof path, "/containers/%s/json", id);
    d_get(d, path);
}

/* What cri-dockerd does for stats: Docker's one-shot stats, container by container. */
static void d_stats(docker_client *d, const char *arg)
{
    docker_response r;
    cs_error err;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 600000};
    must(docker_request_ok(d, &ctx, "GET", "/containers/json", NULL, 0, NULL, &r, &err) == 0, "list");
    char *p = r.body;
    while ((p = strstr(p, "\"Id\":\"")) != NULL) {
        p += 6;
        char path[256];
        snprintf(path, sizeof path, "/containers/%.64s/stats?stream=false", p);
        d_get(d, path);
    }
    docker_response_clear(&r);
}

/* ---- runs ---- */

typedef struct worker {
    pthread_t t;
    const op *o;
    bool via_floor;
    int iterations;
    samples *s;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    bool via_docker = w->via_floor && !cri_target;
    tc_client *c = via_docker ? NULL : tc_connect(w->via_floor ? cri_target : crishim_target);
    const char *a = w->via_floor && w->o->cri_arg ? w->o->cri_arg : w->o->arg;
    docker_client *d = NULL;
    if (via_docker)
        docker_client_new(docker_host, &d, NULL);
    for (int i = 0; i < w->iterations; i++) {
        double t0 = tc_now_ms();
        if (via_docker)
            w->o->docker(d, a);
        else
            w->o->crishim(c, a);
        add_sample(w->s, tc_now_ms() - t0);
    }
    if (c)
        tc_close(c);
    docker_client_free(d);
    return NULL;
}

typedef struct result {
    double p50, p99, per_sec;
} result;

static result measure(const op *o, bool via_floor, int clients, int total)
{
    samples s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    worker *w = calloc((size_t)clients, sizeof *w);
    int each = total / clients > 0 ? total / clients : 1;
    double t0 = tc_now_ms();
    for (int i = 0; i < clients; i++) {
        w[i] = (worker){.o = o, .via_floor = via_floor, .iterations = each, .s = &s};
        pthread_create(&w[i].t, NULL, work, &w[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(w[i].t, NULL);
    double secs = (tc_now_ms() - t0) / 1000;
    result r = {.p50 = pct(&s, 0.5), .p99 = pct(&s, 0.99), .per_sec = (double)s.n / secs};
    free(s.ms);
    free(w);
    return r;
}

/* A field of /proc/<pid>/smaps_rollup in KiB: "Rss" counts the shared
 * libraries' clean pages too; "Private_Dirty" is what crishim itself holds. */
static long mem_kib(const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", crishim_pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':')
            kib = atol(line + n + 1);
    if (f)
        fclose(f);
    return kib;
}

static long rss_kib(void)
{
    return mem_kib("Rss");
}

/* A call with no floor worth timing (or none at all). */
static void row_crishim(const char *name, int clients, const op *o, int total)
{
    result c = measure(o, false, clients, total);
    printf("| %-22s | %3d | %9.3f | %9.3f | %9.0f | %9s | %9s | %9s | %6s |\n", name, clients, c.p50, c.p99,
           c.per_sec, "-", "-", "-", "-");
    fflush(stdout);
}

/* crishim's p50/p99/throughput beside the floor's; floor_total calls on the
 * floor (Docker's one-shot stats are slow), on --cri the same as crishim's. */
static void row(const char *name, int clients, const op *o, int total, int floor_total)
{
    if (cri_target ? o->no_cri : !o->docker) {
        row_crishim(name, clients, o, total);
        return;
    }
    result c = measure(o, false, clients, total);
    result d = measure(o, true, clients, cri_target ? total : floor_total);
    printf("| %-22s | %3d | %9.3f | %9.3f | %9.0f | %9.3f | %9.3f | %9.0f | %6.2f |\n", name, clients, c.p50, c.p99,
           c.per_sec, d.p50, d.p99, d.per_sec, d.p50 > 0 ? c.p50 / d.p50 : 0);
    fflush(stdout);
}

/* ---- pods: the lifecycle, timed, and the containers left to measure ---- */

static double now_ms(void) { return tc_now_ms(); }

static void unary(tc_client *c, const char *m, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d,
                  ProtobufCMessage **resp)
{
    tc_result res;
    tc_unary(c, m, req, d, resp, 120000, &res);
    if (res.code != GRPC_STATUS_OK) {
        fprintf(stderr, "bench: %s: %s\n", m, res.details);
        exit(1);
    }
}

/* Where the bench's pods keep their CRI logs: as kubelet's pods do, every
 * container has a log file, so crishim follows a log stream for each. */
static char log_root[64];

/* Runs one pod with one container; returns the container id (malloc'd) and,
 * in *pod, the sandbox id. side names the pod's uid (and so its log
 * directory) apart from the same pod made on the floor. */
static char *run_pod(tc_client *c, const char *side, int n, char **pod)
{
    char name[32], uid[64], logdir[160];
    snprintf(name, sizeof name, "bench%d", n);
    snprintf(uid, sizeof uid, "%s-%d-%d", side, (int)getpid(), n);
    snprintf(logdir, sizeof logdir, "%s/%s", log_root, uid);
    Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
    md.name = name;
    md.namespace_ = "bench";
    md.uid = uid;
    Runtime__V1__PodSandboxConfig pc = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    pc.metadata = &md;
    pc.log_directory = logdir;
    /* The private engine's bridge is a /24: pods past the first 200 share the
     * host's network, so 500 fit. */
    Runtime__V1__NamespaceOption nso = RUNTIME__V1__NAMESPACE_OPTION__INIT;
    Runtime__V1__LinuxSandboxSecurityContext sc = RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
    Runtime__V1__LinuxPodSandboxConfig lpc = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
    if (n >= 200 && n < 100000) {
        nso.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
        sc.namespace_options = &nso;
        lpc.security_context = &sc;
        pc.linux = &lpc;
    }
    Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    rp.config = &pc;
    Runtime__V1__RunPodSandboxResponse *pr;
    unary(c, RT("RunPodSandbox"), &rp.base, &runtime__v1__run_pod_sandbox_response__descriptor,
          (ProtobufCMessage **)&pr);
    *pod = strdup(pr->pod_sandbox_id);
    protobuf_c_message_free_unpacked(&pr->base, NULL);
    Runtime__V1__ContainerMetadata cm = RUNTIME__V1__CONTAINER_METADATA__INIT;
    cm.name = "app";
    Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
    img.image = (char *)image;
    char *cmd[] = {"sleep", "3600"};
    Runtime__V1__ContainerConfig cc = RUNTIME__V1__CONTAINER_CONFIG__INIT;
    cc.metadata = &cm;
    cc.image = &img;
    cc.command = cmd;
    cc.n_command = 2;
    cc.log_path = "app.log";
    Runtime__V1__CreateContainerRequest cr = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
    cr.pod_sandbox_id = *pod;
    cr.config = &cc;
    cr.sandbox_config = &pc;
    Runtime__V1__CreateContainerResponse *ccr;
    unary(c, RT("CreateContainer"), &cr.base, &runtime__v1__create_container_response__descriptor,
          (ProtobufCMessage **)&ccr);
    char *id = strdup(ccr->container_id);
    protobuf_c_message_free_unpacked(&ccr->base, NULL);
    Runtime__V1__StartContainerRequest sr = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    sr.container_id = id;
    ProtobufCMessage *x;
    unary(c, RT("StartContainer"), &sr.base, &runtime__v1__start_container_response__descriptor, &x);
    protobuf_c_message_free_unpacked(x, NULL);
    return id;
}

static void end_pod(tc_client *c, const char *pod, const char *ctr)
{
    ProtobufCMessage *x;
    Runtime__V1__StopContainerRequest sc = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    sc.container_id = (char *)ctr;
    unary(c, RT("StopContainer"), &sc.base, &runtime__v1__stop_container_response__descriptor, &x);
    protobuf_c_message_free_unpacked(x, NULL);
    Runtime__V1__RemoveContainerRequest rc = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    rc.container_id = (char *)ctr;
    unary(c, RT("RemoveContainer"), &rc.base, &runtime__v1__remove_container_response__descriptor, &x);
    protobuf_c_message_free_unpacked(x, NULL);
    Runtime__V1__StopPodSandboxRequest sp = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    sp.pod_sandbox_id = (char *)pod;
    unary(c, RT("StopPodSandbox"), &sp.base, &runtime__v1__stop_pod_sandbox_response__descriptor, &x);
    protobuf_c_message_free_unpacked(x, NULL);
    Runtime__V1__RemovePodSandboxRequest rp = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    rp.pod_sandbox_id = (char *)pod;
    unary(c, RT("RemovePodSandbox"), &rp.base, &runtime__v1__remove_pod_sandbox_response__descriptor, &x);
    protobuf_c_message_free_unpacked(x, NULL);
}

/* The whole pod lifecycle, timed end to end. */
static double lifecycle(const char *target, const char *side, int rounds, double *p99)
{
    tc_client *c = tc_connect(target);
    samples s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    for (int i = 0; i < rounds; i++) {
        double t0 = now_ms();
        char *pod;
        char *ctr = run_pod(c, side, 100000 + i, &pod);
        end_pod(c, pod, ctr);
        add_sample(&s, now_ms() - t0);
        free(pod);
        free(ctr);
    }
    double p50 = pct(&s, 0.5);
    *p99 = pct(&s, 0.99);
    free(s.ms);
    tc_close(c);
    return p50;
}

static void lifecycles(int rounds)
{
    double p99, p50 = lifecycle(crishim_target, "bench", rounds, &p99);
    printf("\npod lifecycle (RunPodSandbox → CreateContainer → StartContainer → StopContainer → RemoveContainer → "
           "StopPodSandbox → RemovePodSandbox), %d rounds: p50 %.1f ms, p99 %.1f ms",
           rounds, p50, p99);
    if (cri_target) {
        double f99, f50 = lifecycle(cri_target, "cri", rounds, &f99);
        printf("; containerd CRI p50 %.1f ms, p99 %.1f ms (ratio %.2f)", f50, f99, f50 > 0 ? p50 / f50 : 0);
    }
    printf("\n");
}

/* ---- each lifecycle step, through crishim and as the Docker calls it makes ---- */

/* What crishim asks Docker for in each step (src/docker/sandbox.c,
 * containers.c), which the direct side repeats. */
static const char *const step_calls[NSTEPS] = {
    "POST /containers/create, POST /containers/{id}/start",
    "GET /containers/{pod}/json, GET /images/{ref}/json, POST /containers/create",
    "GET /containers/{id}/json, POST /containers/{id}/start",
    "GET /containers/{id}/json, POST /containers/{id}/stop",
    "GET /containers/{id}/json, DELETE /containers/{id}",
    "GET /containers/{pod}/json, GET /containers/json (its containers), POST /containers/{pod}/stop",
    "GET /containers/{pod}/json, GET /containers/json (its containers), DELETE /containers/{pod}"};

/* The create bodies crishim sent in a round (rebuilt from the inspect of what
 * it made, not timed), for the direct side to send the same. */
typedef struct bodies {
    char *pod_id, *pod, *ctr; /* malloc'd */
} bodies;

static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = s; (p = strstr(p, from)); p += fl)
        n++;
    char *out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1), *o = out;
    for (const char *p = s;;) {
        const char *q = strstr(p, from);
        if (!q) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    return out;
}

/* {Config's members, "HostConfig": HostConfig} of a container: what Docker
 * was asked to create, give or take the defaults it filled in. The kind
 * label is renamed so crishim never lists the copies. */
static char *create_body_of(docker_client *d, const char *id, bool no_hostname)
{
    char path[256];
    snprintf(path, sizeof path, "/containers/%s/json", id);
    docker_response r;
    cs_error err;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 60000};
    cs_json *j;
    must(docker_request_ok(d, &ctx, "GET", path, NULL, 0, NULL, &r, &err) == 0 &&
             cs_json_parse(r.body, r.body_len, &j, &err) == 0,
         path);
    size_t cl, hl;
    const char *cfg = cs_json_raw(j, cs_json_key(j, 0, "Config"), &cl);
    const char *hc = cs_json_raw(j, cs_json_key(j, 0, "HostConfig"), &hl);
    must(cfg && hc && cl >= 2, "inspect Config/HostConfig");
    size_t cap = cl + hl + 64;
    char *body = malloc(cap);
    snprintf(body, cap, "%.*s,\"HostConfig\":%.*s}", (int)(cl - 1), cfg, (int)hl, hc);
    cs_json_free(j);
    docker_response_clear(&r);
    char *out = replace_all(body, "\"io.crishim.kind\":", "\"io.crishim.bench-copy-of\":");
    free(body);
    if (no_hostname) { /* Docker refuses a hostname with another container's network */
        cs_json *b;
        must(cs_json_parse(out, strlen(out), &b, &err) == 0, "copied body");
        char *h = cs_json_get_str(b, 0, "Hostname", NULL), *dn = cs_json_get_str(b, 0, "Domainname", NULL);
        cs_json_free(b);
        char from[300];
        snprintf(from, sizeof from, "\"Hostname\":\"%s\"", h ? h : "");
        char *t = replace_all(out, from, "\"Hostname\":\"\"");
        free(out);
        snprintf(from, sizeof from, "\"Domainname\":\"%s\"", dn ? dn : "");
        out = replace_all(t, from, "\"Domainname\":\"\"");
        free(t);
        free(h);
        free(dn);
    }
    return out;
}

/* Keeps what crishim made as create bodies for the direct side (untimed). */
typedef struct body_hook_arg {
    docker_client *d;
    bodies *b;
} body_hook_arg;

static void keep_bodies(void *arg, int step, const char *id)
{
    body_hook_arg *h = arg;
    if (step == S_RUN) {
        h->b->pod_id = strdup(id);
        h->b->pod = create_body_of(h->d, id, false);
    } else if (step == S_CREATE) {
        h->b->ctr = create_body_of(h->d, id, true);
    }
}

static void crishim_steps(tc_client *c, docker_client *d, int n, samples *s, bodies *b)
{
    body_hook_arg h = {d, b};
    cri_steps(c, image, n, s, keep_bodies, &h);
}

/* One Docker request; 404 and 304 are fine (idempotent stops and removes).
 * Returns the body's "Id" when asked (malloc'd). */
static char *d_call(docker_client *d, const char *method, const char *path, const char *body, bool want_id)
{
    docker_response r;
    cs_error err;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 120000};
    if (docker_request(d, &ctx, method, path, body, body ? strlen(body) : 0, NULL, &r, &err) != 0 ||
        (r.status >= 400 && r.status != 404)) {
        fprintf(stderr, "bench: docker %s %s: %s %.300s\n", method, path, err.msg, r.body ? r.body : "");
        exit(1);
    }
    char *id = NULL;
    cs_json *j;
    if (want_id && r.body && cs_json_parse(r.body, r.body_len, &j, &err) == 0) {
        id = cs_json_get_str(j, 0, "Id", NULL);
        cs_json_free(j);
    }
    docker_response_clear(&r);
    return id;
}

/* Should Docker refuse a copied body (it should not: they are its own
 * inspect output), the direct side falls back to hand-built ones, and says so. */
static bool hand_bodies;

#define DIRECT_LABELS                                                                                            \
    "\"bench.direct\":\"1\",\"bench.name\":\"%s\",\"bench.namespace\":\"bench\",\"bench.uid\":\"%s\","          \
    "\"bench.attempt\":\"0\",\"bench.created\":\"1\",\"bench.log-directory\":\"\",\"bench.namespaces\":\"0,0,0\"," \
    "\"bench.runtime-handler\":\"\""

/* POST /containers/create with `body`, or with `fallback` once Docker
 * refused a copied body. Returns the new id (malloc'd). */
static char *d_create(docker_client *d, const char *path, const char *body, const char *fallback)
{
    if (!hand_bodies) {
        docker_response r;
        cs_error err;
        cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 120000};
        if (docker_request(d, &ctx, "POST", path, body, strlen(body), NULL, &r, &err) == 0 && r.status == 201) {
            cs_json *j;
            char *id = NULL;
            if (cs_json_parse(r.body, r.body_len, &j, &err) == 0) {
                id = cs_json_get_str(j, 0, "Id", NULL);
                cs_json_free(j);
            }
            docker_response_clear(&r);
            if (id)
                return id;
        } else {
            fprintf(stderr, "bench: docker refused a copied create body (%ld %.300s); using hand-built ones\n",
                    r.status, r.body ? r.body : err.msg);
            docker_response_clear(&r);
        }
        hand_bodies = true;
    }
    return d_call(d, "POST", path, fallback, true);
}

static void docker_steps(docker_client *d, int n, samples *s, const bodies *b)
{
    char fallback[2048];
    char name[64], uid[64], path[512], filter[512];
    snprintf(name, sizeof name, "dstep%d", n);
    snprintf(uid, sizeof uid, "dstep-%d-%d", (int)getpid(), n);
    double t0 = now_ms();
    snprintf(path, sizeof path, "/containers/create?name=benchd_POD_%s_%s", name, uid);
    snprintf(fallback, sizeof fallback,
             "{\"Image\":\"localhost/crishim/pause:%s\",\"Hostname\":\"%s\",\"Labels\":{" DIRECT_LABELS
             "},\"HostConfig\":{\"NetworkMode\":\"bridge\",\"IpcMode\":\"shareable\",\"OomScoreAdj\":-998}}",
             CRISHIM_VERSION, name, name, uid);
    char *pod = d_create(d, path, b->pod, fallback);
    snprintf(path, sizeof path, "/containers/%s/start", pod);
    d_call(d, "POST", path, NULL, false);
    add_sample(&s[S_RUN], now_ms() - t0);

    t0 = now_ms();
    snprintf(path, sizeof path, "/containers/%s/json", pod);
    d_call(d, "GET", path, NULL, false);
    snprintf(path, sizeof path, "/images/%s/json", image);
    char *img = d_call(d, "GET", path, NULL, true);
    snprintf(path, sizeof path, "/containers/create?name=benchd_app_%s_bench_%s_0", name, uid);
    char *body = replace_all(b->ctr, b->pod_id, pod); /* joins the direct pod */
    snprintf(fallback, sizeof fallback,
             "{\"Image\":\"%s\",\"Entrypoint\":[\"sleep\",\"3600\"],\"Labels\":{" DIRECT_LABELS
             ",\"io.crishim.bench-copy-of\":\"container\",\"io.crishim.sandbox-id\":\"%s\"},"
             "\"HostConfig\":{\"NetworkMode\":\"container:%s\",\"IpcMode\":\"container:%s\","
             "\"PidMode\":\"container:%s\"}}",
             img ? img : image, "app", uid, pod, pod, pod, pod);
    char *id = d_create(d, path, body, fallback);
    free(body);
    add_sample(&s[S_CREATE], now_ms() - t0);

    t0 = now_ms();
    snprintf(path, sizeof path, "/containers/%s/json", id);
    d_call(d, "GET", path, NULL, false);
    snprintf(path, sizeof path, "/containers/%s/start", id);
    d_call(d, "POST", path, NULL, false);
    add_sample(&s[S_START], now_ms() - t0);

    t0 = now_ms();
    snprintf(path, sizeof path, "/containers/%s/json", id);
    d_call(d, "GET", path, NULL, false);
    snprintf(path, sizeof path, "/containers/%s/stop?t=0", id);
    d_call(d, "POST", path, NULL, false);
    add_sample(&s[S_STOP], now_ms() - t0);

    t0 = now_ms();
    snprintf(path, sizeof path, "/containers/%s/json", id);
    d_call(d, "GET", path, NULL, false);
    snprintf(path, sizeof path, "/containers/%s?force=1&v=1", id);
    d_call(d, "DELETE", path, NULL, false);
    add_sample(&s[S_REMOVE], now_ms() - t0);

    /* the pod's containers: the label filter crishim lists them with */
    snprintf(filter, sizeof filter,
             "/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22io.crishim.bench-copy-of%%3Dcontainer%%22%%2C"
             "%%22io.crishim.sandbox-id%%3D%s%%22%%5D%%7D",
             pod);
    t0 = now_ms();
    snprintf(path, sizeof path, "/containers/%s/json", pod);
    d_call(d, "GET", path, NULL, false);
    d_call(d, "GET", filter, NULL, false);
    snprintf(path, sizeof path, "/containers/%s/stop?t=10", pod);
    d_call(d, "POST", path, NULL, false);
    add_sample(&s[S_STOP_POD], now_ms() - t0);

    t0 = now_ms();
    snprintf(path, sizeof path, "/containers/%s/json", pod);
    d_call(d, "GET", path, NULL, false);
    d_call(d, "GET", filter, NULL, false);
    snprintf(path, sizeof path, "/containers/%s?force=1&v=1", pod);
    d_call(d, "DELETE", path, NULL, false);
    add_sample(&s[S_REMOVE_POD], now_ms() - t0);
    free(pod);
    free(img);
    free(id);
}

/* Rounds of the lifecycle, crishim and Docker alternating so drift in the
 * engine hits both alike. */
static void docker_floor_steps(int n)
{
    tc_client *c = tc_connect(crishim_target);
    docker_client *d = NULL;
    docker_client_new(docker_host, &d, NULL);
    samples cs[NSTEPS], ds[NSTEPS];
    for (int k = 0; k < NSTEPS; k++) {
        cs[k] = (samples){.mu = PTHREAD_MUTEX_INITIALIZER};
        ds[k] = (samples){.mu = PTHREAD_MUTEX_INITIALIZER};
    }
    for (int i = 0; i < n; i++) {
        bodies b = {0};
        crishim_steps(c, d, 200000 + i, cs, &b);
        docker_steps(d, 200000 + i, ds, &b);
        free(b.pod_id);
        free(b.pod);
        free(b.ctr);
    }
    printf("\npod lifecycle, step by step (%d rounds, one client): crishim beside the Docker requests it makes for "
           "the step, sent directly with the same create bodies\n\n", n);
    printf("| step | crishim p50 ms | p99 ms | docker p50 ms | p99 ms | ratio p50 | docker requests |\n");
    printf("|---|---|---|---|---|---|---|\n");
    if (hand_bodies)
        printf("(Docker refused the copied create bodies: the direct creates used hand-built ones)\n");
    cri_steps_print(cs, ds, step_calls);
    for (int k = 0; k < NSTEPS; k++) {
        free(cs[k].ms);
        free(ds[k].ms);
    }
    fflush(stdout);
    docker_client_free(d);
    tc_close(c);
}

/* On --cri: the very same CRI requests to crishim and to the plugin, rounds
 * alternating, after one untimed round each (the first sandbox pays for
 * one-off work, the pause image and CNI's first ADD, on both sides). */
static void cri_floor_steps(int n)
{
    tc_client *a = tc_connect(crishim_target), *b = tc_connect(cri_target);
    samples sa[NSTEPS], sb[NSTEPS], warm[NSTEPS] = {0};
    for (int k = 0; k < NSTEPS; k++) {
        sa[k] = (samples){.mu = PTHREAD_MUTEX_INITIALIZER};
        sb[k] = (samples){.mu = PTHREAD_MUTEX_INITIALIZER};
    }
    cri_steps(a, image, 0, warm, NULL, NULL);
    cri_steps(b, image, 0, warm, NULL, NULL);
    for (int i = 1; i <= n; i++) {
        cri_steps(a, image, i, sa, NULL, NULL);
        cri_steps(b, image, i, sb, NULL, NULL);
    }
    printf("\npod lifecycle, step by step (%d rounds, one client, the same CRI requests): crishim beside "
           "containerd's own CRI plugin\n\n",
           n);
    printf("| step | crishim p50 ms | p99 ms | containerd CRI p50 ms | p99 ms | ratio p50 |\n");
    printf("|---|---|---|---|---|---|\n");
    cri_steps_print(sa, sb, NULL);
    for (int k = 0; k < NSTEPS; k++) {
        free(sa[k].ms);
        free(sb[k].ms);
        free(warm[k].ms);
    }
    fflush(stdout);
    tc_close(a);
    tc_close(b);
}

static void steps(int n)
{
    if (cri_target)
        cri_floor_steps(n);
    else
        docker_floor_steps(n);
}

/* ---- memory with many containers ---- */

static void density(int n)
{
    long idle_rss = rss_kib(), idle_dirty = mem_kib("Private_Dirty");
    tc_client *c = tc_connect(crishim_target);
    char **pods = calloc((size_t)n, sizeof *pods), **ctrs = calloc((size_t)n, sizeof *ctrs);
    double t0 = now_ms();
    for (int i = 0; i < n; i++)
        ctrs[i] = run_pod(c, "bench", i, &pods[i]);
    double made = (now_ms() - t0) / 1000;
    sleep(2); /* let the burst's workers settle */
    long rss = rss_kib(), dirty = mem_kib("Private_Dirty");
    for (int i = 0; i < n; i++) {
        end_pod(c, pods[i], ctrs[i]);
        free(pods[i]);
        free(ctrs[i]);
    }
    free(pods);
    free(ctrs);
    tc_close(c);
    sleep(3); /* the pool trims when it falls idle after a burst */
    long after_rss = rss_kib(), after_dirty = mem_kib("Private_Dirty");
    printf("\n%d pods with one running container each (made in %.1f s):\n", n, made);
    printf("| | RSS KiB | private dirty KiB |\n|---|---|---|\n");
    printf("| idle | %ld | %ld |\n| %d containers running | %ld | %ld |\n| after teardown | %ld | %ld |\n",
           idle_rss, idle_dirty, n, rss, dirty, after_rss, after_dirty);
    printf("\nprivate dirty per running container: %.1f KiB; RSS after teardown %.0f %% of idle.\n",
           n > 0 ? (double)(dirty - idle_dirty) / n : 0, idle_rss > 0 ? 100.0 * (double)after_rss / (double)idle_rss : 0);
    fflush(stdout);
}

/* ---- containers to measure against ---- */

static char *first_container(const char *target)
{
    tc_client *c = tc_connect(target);
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    Runtime__V1__ListContainersResponse *r = NULL;
    tc_result res;
    tc_unary(c, RT("ListContainers"), &req.base, &runtime__v1__list_containers_response__descriptor,
             (ProtobufCMessage **)&r, 30000, &res);
    char *id = r && r->n_containers ? strdup(r->containers[0]->id) : NULL;
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    tc_close(c);
    return id;
}

/* Stops and removes every pod of a CRI endpoint: the plugin's containerd
 * is not the test environment's, whose stop cleans up after crishim. */
static void remove_all_pods(const char *target)
{
    tc_client *c = tc_connect(target);
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    Runtime__V1__ListPodSandboxResponse *r;
    unary(c, RT("ListPodSandbox"), &req.base, &runtime__v1__list_pod_sandbox_response__descriptor,
          (ProtobufCMessage **)&r);
    for (size_t i = 0; i < r->n_items; i++) {
        ProtobufCMessage *x;
        Runtime__V1__StopPodSandboxRequest sp = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
        sp.pod_sandbox_id = r->items[i]->id;
        unary(c, RT("StopPodSandbox"), &sp.base, &runtime__v1__stop_pod_sandbox_response__descriptor, &x);
        protobuf_c_message_free_unpacked(x, NULL);
        Runtime__V1__RemovePodSandboxRequest rp = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
        rp.pod_sandbox_id = r->items[i]->id;
        unary(c, RT("RemovePodSandbox"), &rp.base, &runtime__v1__remove_pod_sandbox_response__descriptor, &x);
        protobuf_c_message_free_unpacked(x, NULL);
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    tc_close(c);
}

/* npods pods with one running container each on target; returns seconds. */
static double make_pods(const char *target, const char *side)
{
    tc_client *c = tc_connect(target);
    double t0 = now_ms();
    for (int i = 0; i < npods; i++) {
        char *pod;
        free(run_pod(c, side, i, &pod));
        free(pod);
    }
    tc_close(c);
    return (now_ms() - t0) / 1000;
}

static void remove_log_root(void)
{
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", log_root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", log_root);
}

/* What the run leaves: the floor's pods (on --cri), the log files. */
static void finish(void)
{
    if (cri_target)
        remove_all_pods(cri_target);
    remove_log_root();
    docker_http_global_cleanup();
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--crishim"))
            crishim_target = argv[i + 1];
        else if (!strcmp(argv[i], "--docker"))
            docker_host = argv[i + 1];
        else if (!strcmp(argv[i], "--cri"))
            cri_target = argv[i + 1];
        else if (!strcmp(argv[i], "--pid"))
            crishim_pid = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--image"))
            image = argv[i + 1];
        else if (!strcmp(argv[i], "--pods"))
            npods = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--only")) {
            lists_only = !strcmp(argv[i + 1], "lists");
            density_only = !strcmp(argv[i + 1], "density");
            steps_only = !strcmp(argv[i + 1], "steps");
        } else if (!strcmp(argv[i], "--rounds"))
            step_rounds = atoi(argv[i + 1]);
    }
    if (!crishim_target || !docker_host == !cri_target || !crishim_pid) {
        fprintf(stderr, "usage: crishim-bench --crishim unix:/sock (--docker unix:///docker.sock | --cri unix:/sock) "
                        "--pid PID --image REF\n");
        return 2;
    }
    if (cri_target)
        floor_name = "containerd CRI";
    cs_error err;
    docker_http_global_init(&err);
    cs_log_set_level(CS_LOG_WARN);
    snprintf(log_root, sizeof log_root, "/tmp/crishim-bench-logs-%d", (int)getpid());
    if (!image) {
        fprintf(stderr, "bench: --image is required\n");
        return 2;
    }
    long first_rss = rss_kib(), first_dirty = mem_kib("Private_Dirty"); /* crishim as started */
    /* Both sides pull once for real; the image rows time pulls of present layers. */
    tc_client *c = tc_connect(crishim_target);
    c_pull(c, image);
    tc_close(c);
    if (cri_target) {
        c = tc_connect(cri_target);
        c_pull(c, image);
        tc_close(c);
    }
    if (density_only) {
        printf("crishim as started: RSS %ld KiB, private dirty %ld KiB\n", first_rss, first_dirty);
        density(npods);
        finish();
        return 0;
    }
    if (steps_only) {
        steps(step_rounds);
        finish();
        return 0;
    }
    printf("%d pods with one running container each, made in %.1f s", npods, make_pods(crishim_target, "bench"));
    if (cri_target)
        printf(" (on containerd's CRI plugin in %.1f s)", make_pods(cri_target, "cri"));
    printf(".\n\n");
    char *cid = first_container(crishim_target), *cri_cid = cri_target ? first_container(cri_target) : NULL;
    if (!cid || (cri_target && !cri_cid)) {
        fprintf(stderr, "bench: no container to measure; scripts/bench.sh makes some\n");
        return 1;
    }
    long idle = rss_kib(), idle_dirty = mem_kib("Private_Dirty");
    printf("| operation              | clients | crishim p50 ms | p99 ms | calls/s | %s p50 ms | p99 ms | calls/s | "
           "ratio |\n",
           floor_name);
    printf("|---|---|---|---|---|---|---|---|---|\n");
    if (lists_only) {
        const op list = {"ListContainers", c_list, d_list, NULL, NULL, false};
        const op stats = {"ListContainerStats", c_stats, NULL, NULL, NULL, false};
        const op metrics = {"ListPodSandboxMetrics", c_metrics, NULL, NULL, NULL, cri_target && !cri_has_metrics()};
        row("ListContainers", 1, &list, 200, 200);
        row("ListContainers", 8, &list, 400, 400);
        row("ListContainerStats", 1, &stats, 20, 0);
        row("ListContainerStats", 8, &stats, 40, 0);
        row("ListPodSandboxMetrics", 1, &metrics, 10, 0);
        printf("\ncrishim memory before the load: RSS %ld KiB, private dirty %ld KiB; after it: RSS %ld KiB, "
               "private dirty %ld KiB.\n",
               idle, idle_dirty, rss_kib(), mem_kib("Private_Dirty"));
        if (metrics.no_cri)
            printf("containerd's CRI plugin does not implement ListPodSandboxMetrics.\n");
        free(cid);
        free(cri_cid);
        finish();
        return 0;
    }
    const op ops[] = {
        {"Version", c_version, d_version, NULL, NULL, false},
        {"ListContainers", c_list, d_list, NULL, NULL, false},
        {"ContainerStatus", c_status, d_status, cid, cri_cid, false},
    };
    const int clients[] = {1, 8, 32};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (size_t k = 0; k < 3; k++)
            row(ops[o].name, clients[k], &ops[o], 2000, 2000);
    long loaded = rss_kib(), loaded_dirty = mem_kib("Private_Dirty");
    const op stats = {"ListContainerStats", c_stats, d_stats, NULL, NULL, false};
    /* Docker's one-shot stats take a second or two per container: once is enough. */
    row("ListContainerStats", 1, &stats, 20, 1);
    if (cri_target) {
        const op pull = {"PullImage (present)", c_pull, NULL, image, NULL, false};
        const op status = {"ImageStatus", c_image_status, NULL, image, NULL, false};
        const op list = {"ListImages", c_list_images, NULL, NULL, NULL, false};
        row(pull.name, 1, &pull, 50, 0);
        row(status.name, 1, &status, 1000, 0);
        row(status.name, 8, &status, 2000, 0);
        row(list.name, 1, &list, 1000, 0);
        row(list.name, 8, &list, 2000, 0);
    }
    lifecycles(10);
    steps(step_rounds);
    sleep(3); /* the pool trims when it falls idle after a burst */
    printf("\ncrishim memory before the load: RSS %ld KiB, of it private dirty (heap, stacks) %ld KiB; "
           "after it: RSS %ld KiB, private dirty %ld KiB; after the lifecycle rounds were torn down: RSS %ld KiB "
           "(%.0f %% of before the load), private dirty %ld KiB. The rest of RSS is shared libraries' clean pages.\n",
           idle, idle_dirty, loaded, loaded_dirty, rss_kib(), idle > 0 ? 100.0 * (double)rss_kib() / (double)idle : 0,
           mem_kib("Private_Dirty"));
    if (!cri_target)
        printf("docker floor for stats: one-shot /containers/{id}/stats per container, as cri-dockerd does.\n");
    free(cid);
    free(cri_cid);
    finish();
    return 0;
}
