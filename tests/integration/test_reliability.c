/* Reliability against a real dockerd: the engine restarted under load (calls
 * fail UNAVAILABLE during the outage and succeed after, with no restart of
 * crishim), a soak from 32 clients with open fds and memory flat at the end,
 * and crishim SIGKILLed in the middle of pod creation (the half-made pod is
 * complete or cleanly removable after a restart). */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "pods.h"
#include "runtime/v1/api.pb-c.h"


static tc_daemon crishim;
#define client (crishim.client)

static void start_daemon(void)
{
    /* Under ASan, freed memory sits in a quarantine of up to 256 MiB, which
     * would look like growth; a small one lets the soak see real retention. */
    const char *asan = getenv("ASAN_OPTIONS");
    if (!asan || !strstr(asan, "quarantine_size_mb")) {
        char opts[1024];
        snprintf(opts, sizeof opts, "%s%squarantine_size_mb=4", asan ? asan : "", asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
    }
    tc_daemon_up(&crishim, "reliability", NULL);
}

static void stop_daemon(void)
{
    tc_daemon_down(&crishim);
}

static void env_script(const char *verb)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/scripts/test-env.sh %s %s >/dev/null 2>&1", tc_need_env("CRISHIM_SOURCE_DIR"), verb,
             tc_need_env("CRISHIM_TEST_DIR"));
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

static int count_fds(pid_t pid)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ls /proc/%d/fd | wc -l", (int)pid);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
}

/* A "Key: value" field of /proc/<pid>/<file> as a number (-1 if absent). */
static long proc_field(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    FILE *f = fopen(path, "r");
    size_t n = strlen(key);
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':')
            v = atol(line + n + 1);
    if (f)
        fclose(f);
    return v;
}

#define thread_count(pid) ((int)proc_field(pid, "status", "Threads"))
#define private_dirty_kib(pid) proc_field(pid, "smaps_rollup", "Private_Dirty")

/* ---- load ---- */

typedef struct loader {
    pthread_t t;
    tc_client *c;
    atomic_bool *stop;
    int calls, ok, unavailable, other;
    grpc_status_code other_code;
    int limit; /* 0: until stop */
} loader;

static void *load_main(void *arg)
{
    loader *l = arg;
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    while (!atomic_load(l->stop) && (l->limit == 0 || l->calls < l->limit)) {
        ProtobufCMessage *r = NULL;
        tc_result res;
        tc_unary(l->c, RT("ListContainers"), &req.base, &runtime__v1__list_containers_response__descriptor, &r, 5000,
                 &res);
        if (r)
            protobuf_c_message_free_unpacked(r, NULL);
        l->calls++;
        if (res.code == GRPC_STATUS_OK)
            l->ok++;
        else if (res.code == GRPC_STATUS_UNAVAILABLE || res.code == GRPC_STATUS_DEADLINE_EXCEEDED)
            l->unavailable++;
        else {
            l->other++;
            l->other_code = res.code;
        }
    }
    return NULL;
}

START_TEST(engine_restart_under_load)
{
    atomic_bool stop = false;
    loader l[8];
    char target[300];
    snprintf(target, sizeof target, "unix:%s", crishim.sock);
    for (int i = 0; i < 8; i++) {
        l[i] = (loader){.c = tc_connect(target), .stop = &stop};
        pthread_create(&l[i].t, NULL, load_main, &l[i]);
    }
    /* a GetContainerEvents subscription from before the outage */
    tc_stream *events = tc_stream_open(client, RT("GetContainerEvents"), 180000);
    Runtime__V1__GetEventsRequest ereq = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
    ck_assert(tc_stream_send(events, &ereq.base));
    ck_assert(tc_stream_close_send(events));
    usleep(500000);
    env_script("stop-dockerd");
    usleep(1500000); /* calls during the outage */
    env_script("start-dockerd");
    usleep(1500000); /* and after it */
    atomic_store(&stop, true);
    int ok = 0, unavailable = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(l[i].t, NULL);
        tc_close(l[i].c);
        ck_assert_msg(l[i].other == 0, "a call failed with code %d, not UNAVAILABLE", l[i].other_code);
        ok += l[i].ok;
        unavailable += l[i].unavailable;
    }
    ck_assert_msg(unavailable > 0, "no call saw the outage");
    ck_assert_msg(ok > 0, "no call succeeded");
    /* and after the outage, calls succeed again without a restart of crishim */
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    tc_result res;
    tc_unary(client, RT("ListContainers"), &req.base, &runtime__v1__list_containers_response__descriptor, NULL, 10000,
             &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "after the outage: %d %s", res.code, res.details);

    /* the event feed reconnected on its own: the old subscription sees a
     * container made after the restart */
    char logs[256];
    snprintf(logs, sizeof logs, "%s/pod-logs", tc_need_env("CRISHIM_TEST_DIR"));
    tp_use(&crishim, "reliability", logs);
    tp_pull(tc_need_env("CRISHIM_TEST_IMG_BUSYBOX"));
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *c = tp_container(&p, "after-restart", "true", 0, false);
    bool seen = false;
    Runtime__V1__ContainerEventResponse *e;
    while (!seen && (e = (Runtime__V1__ContainerEventResponse *)tc_stream_recv(
                         events, &runtime__v1__container_event_response__descriptor)) != NULL) {
        seen = !strcmp(e->container_id, c) &&
               e->container_event_type == RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT;
        protobuf_c_message_free_unpacked(&e->base, NULL);
    }
    ck_assert_msg(seen, "the subscription saw nothing after the engine restart");
    tc_stream_cancel(events);
    tc_stream_finish(events, &res);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

/* 32 clients, 500 calls each; returns the calls made. */
static int soak_round(const char *target)
{
    atomic_bool stop = false;
    loader l[32];
    for (int i = 0; i < 32; i++) {
        l[i] = (loader){.c = tc_connect(target), .stop = &stop, .limit = 500};
        pthread_create(&l[i].t, NULL, load_main, &l[i]);
    }
    int total = 0;
    for (int i = 0; i < 32; i++) {
        pthread_join(l[i].t, NULL);
        tc_close(l[i].c);
        ck_assert_msg(l[i].ok == l[i].calls, "soak: %d of %d calls failed", l[i].calls - l[i].ok, l[i].calls);
        total += l[i].calls;
    }
    sleep(1); /* let closed connections go */
    return total;
}

/* The first round grows the worker pool (each worker keeps its engine
 * connection); a later round of the same load must not grow anything. The
 * pool is elastic: when the engine is slow for a while it may still grow in
 * round two, and new threads bring their own stacks and allocator caches;
 * so rounds go on (up to five) until one ends with no more threads than the
 * one before, and that round is judged. A leak grows every round. */
START_TEST(soak_keeps_fds_and_memory_flat)
{
    char target[300];
    snprintf(target, sizeof target, "unix:%s", crishim.sock);
    int total = soak_round(target), rounds = 1;
    /* each worker thread holds its engine connection (3 fds with curl's
     * wake-up pair): what must not grow is the rest */
    int threads_1 = thread_count(crishim.pid);
    int fds_1 = count_fds(crishim.pid) - 3 * threads_1;
    long mem_1 = private_dirty_kib(crishim.pid);
    int threads_2, fds_2;
    long mem_2;
    for (;;) {
        total += soak_round(target);
        rounds++;
        threads_2 = thread_count(crishim.pid);
        fds_2 = count_fds(crishim.pid) - 3 * threads_2;
        mem_2 = private_dirty_kib(crishim.pid);
        if (threads_2 <= threads_1 || rounds == 5)
            break;
        threads_1 = threads_2;
        fds_1 = fds_2;
        mem_1 = mem_2;
    }
    ck_assert_int_eq(total, rounds * 32 * 500);
    ck_assert_msg(fds_2 <= fds_1 + 8, "fds beyond the workers' grew from %d to %d over %d more calls (threads %d, %d)",
                  fds_1, fds_2, 32 * 500, threads_1, threads_2);
    ck_assert_msg(mem_2 < mem_1 + 16 * 1024, "private dirty memory grew from %ld to %ld KiB in round %d (threads %d, %d)",
                  mem_1, mem_2, rounds, threads_1, threads_2);
}
END_TEST

typedef struct bg_run {
    pthread_t t;
    tc_client *c;
    tc_result res;
} bg_run;

static void *run_halfmade(void *arg)
{
    bg_run *b = arg;
    Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
    md.name = "halfmade";
    md.namespace_ = "reliability";
    md.uid = "halfmade-uid";
    Runtime__V1__PodSandboxConfig pc = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    pc.metadata = &md;
    Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    req.config = &pc;
    /* The call is cut off by the kill: its answer doesn't matter. */
    tc_unary(b->c, RT("RunPodSandbox"), &req.base, &runtime__v1__run_pod_sandbox_response__descriptor, NULL, 30000,
             &b->res);
    return NULL;
}

/* The halfmade pods crishim lists now (ids malloc'd into ids, at most cap). */
static size_t list_halfmade(char **ids, size_t cap, bool *ready)
{
    Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    Runtime__V1__ListPodSandboxResponse *l = NULL;
    tc_result res;
    tc_unary(client, RT("ListPodSandbox"), &lreq.base, &runtime__v1__list_pod_sandbox_response__descriptor,
             (ProtobufCMessage **)&l, 10000, &res);
    if (res.code != GRPC_STATUS_OK)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < l->n_items; i++) {
        if (strcmp(l->items[i]->metadata->name, "halfmade") != 0 || l->items[i]->metadata->attempt != 0)
            continue;
        if (ready)
            *ready = l->items[i]->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
        if (n < cap)
            ids[n++] = strdup(l->items[i]->id);
    }
    protobuf_c_message_free_unpacked(&l->base, NULL);
    return n;
}

/* crishim is SIGKILLed the moment its RunPodSandbox has made the sandbox in
 * the engine (a second client watches ListPodSandbox), usually before it
 * started it. After a restart that pod is listed, and Stop and Remove clean
 * it up completely. */
START_TEST(sigkill_during_pod_creation)
{
    bg_run b = {.c = client};
    pthread_create(&b.t, NULL, run_halfmade, &b);
    char *ids[4];
    size_t n = 0;
    bool ready_at_kill = false;
    for (int i = 0; i < 20000 && n == 0; i++) {
        n = list_halfmade(ids, 4, &ready_at_kill);
        if (n == 0)
            usleep(1000);
    }
    kill(crishim.pid, SIGKILL);
    pthread_join(b.t, NULL);
    waitpid(crishim.pid, NULL, 0);
    crishim.pid = -1;
    ck_assert_msg(n > 0, "the pod never appeared while RunPodSandbox ran (its answer: %d %s)", b.res.code,
                  b.res.details);
    printf("reliability: killed crishim with the half-made pod %s (%s)\n", ids[0],
           ready_at_kill ? "already started" : "created, not started");
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    tc_close(client);
    client = NULL;
    start_daemon();
    /* what the kill left is listed after the restart, and removable */
    n = list_halfmade(ids, 4, NULL);
    ck_assert_msg(n > 0, "the half-made pod is not listed after the restart");
    tc_result res;
    for (size_t i = 0; i < n; i++) {
        Runtime__V1__StopPodSandboxRequest s = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
        s.pod_sandbox_id = ids[i];
        tc_unary(client, RT("StopPodSandbox"), &s.base, &runtime__v1__stop_pod_sandbox_response__descriptor, NULL,
                 30000, &res);
        ck_assert_msg(res.code == GRPC_STATUS_OK, "stop half-made pod: %s", res.details);
        Runtime__V1__RemovePodSandboxRequest r = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
        r.pod_sandbox_id = ids[i];
        tc_unary(client, RT("RemovePodSandbox"), &r.base, &runtime__v1__remove_pod_sandbox_response__descriptor,
                 NULL, 30000, &res);
        ck_assert_msg(res.code == GRPC_STATUS_OK, "remove half-made pod: %s", res.details);
        Runtime__V1__PodSandboxStatusRequest ps = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
        ps.pod_sandbox_id = ids[i];
        tc_unary(client, RT("PodSandboxStatus"), &ps.base, &runtime__v1__pod_sandbox_status_response__descriptor,
                 NULL, 10000, &res);
        ck_assert_msg(res.code == GRPC_STATUS_NOT_FOUND, "half-made pod %s after removal: %d %s", ids[i], res.code,
                      res.details);
        free(ids[i]);
    }
    ck_assert_uint_eq(list_halfmade(ids, 4, NULL), 0);
    /* a new attempt of the same pod works */
    Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
    md.name = "halfmade";
    md.namespace_ = "reliability";
    md.uid = "halfmade-uid";
    md.attempt = 1;
    Runtime__V1__PodSandboxConfig pc = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    pc.metadata = &md;
    Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    req.config = &pc;
    Runtime__V1__RunPodSandboxResponse *rp = NULL;
    tc_unary(client, RT("RunPodSandbox"), &req.base, &runtime__v1__run_pod_sandbox_response__descriptor,
             (ProtobufCMessage **)&rp, 60000, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "rerun: %s", res.details);
    Runtime__V1__RemovePodSandboxRequest r = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    r.pod_sandbox_id = rp->pod_sandbox_id;
    tc_unary(client, RT("RemovePodSandbox"), &r.base, &runtime__v1__remove_pod_sandbox_response__descriptor, NULL,
             30000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    protobuf_c_message_free_unpacked(&rp->base, NULL);
}
END_TEST

int main(void)
{
    tc_need_env("CRISHIM_TEST_DOCKER_HOST");
    Suite *s = suite_create("reliability");
    TCase *tc = tcase_create("docker");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, start_daemon, stop_daemon);
    tcase_add_test(tc, engine_restart_under_load);
    tcase_add_test(tc, soak_keeps_fds_and_memory_flat);
    tcase_add_test(tc, sigkill_during_pod_creation);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
