/* Pods and containers against a real dockerd: lifecycle, filters, namespaces
 * shared in a pod, host network, exit codes and OOM kills, ExecSync with
 * timeouts and large output, CRI log files (partial lines, reopen), crash
 * recovery after SIGKILL (an exit while crishim was down included), stats
 * with the writable layer, the CRI metrics, and bad input. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "pods.h"
#include "crishim/v1/crishim.pb-c.h"
#include "runtime/v1/api.pb-c.h"

static tc_daemon crishim;
#define client (crishim.client)
#define daemon_pid (crishim.pid)
#define need_env tc_need_env

static void start_daemon(void)
{
    tc_daemon_up(&crishim, "pods", NULL);
    char logs[256];
    snprintf(logs, sizeof logs, "%s/pod-logs", need_env("CRISHIM_TEST_DIR"));
    tp_use(&crishim, "pods", logs);
}

static void stop_daemon(void)
{
    tc_daemon_down(&crishim);
}

static void setup(void)
{
    start_daemon();
    /* containers need their image */
    tp_pull(need_env("CRISHIM_TEST_IMG_BUSYBOX"));
}

/* ---- helpers: tests/support/pods.c ---- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static void wait_for_file_text(const char *path, const char *text, int timeout_s)
{
    for (int i = 0; i < timeout_s * 10; i++) {
        char *s = read_file(path);
        bool found = strstr(s, text) != NULL;
        free(s);
        if (found)
            return;
        usleep(100000);
    }
    char *s = read_file(path);
    ck_abort_msg("%s lacks \"%s\"; has:\n%.2000s", path, text, s);
}

static size_t count_containers(Runtime__V1__ContainerFilter *f)
{
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    req.filter = f;
    Runtime__V1__ListContainersResponse *r =
        TP_CALL_OK("ListContainers", req, Runtime__V1__ListContainersResponse, &runtime__v1__list_containers_response__descriptor);
    size_t n = r->n_containers;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return n;
}

/* ---- tests ---- */

START_TEST(lifecycle_and_filters)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);

    Runtime__V1__PodSandboxStatusRequest sreq = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
    sreq.pod_sandbox_id = p.id;
    sreq.verbose = 1;
    Runtime__V1__PodSandboxStatusResponse *ps = TP_CALL_OK("PodSandboxStatus", sreq, Runtime__V1__PodSandboxStatusResponse,
                                                        &runtime__v1__pod_sandbox_status_response__descriptor);
    ck_assert_int_eq(ps->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    ck_assert_str_eq(ps->status->metadata->name, p.name);
    ck_assert_str_eq(ps->status->metadata->uid, p.uid);
    ck_assert_msg(strlen(ps->status->network->ip) >= 7, "pod ip \"%s\"", ps->status->network->ip);
    ck_assert_uint_eq(ps->status->n_labels, 1);
    ck_assert_int_gt(ps->status->created_at, 0);
    ck_assert_uint_eq(ps->n_info, 1);
    protobuf_c_message_free_unpacked(&ps->base, NULL);
    struct stat st;
    ck_assert_msg(stat(p.logdir, &st) == 0 && S_ISDIR(st.st_mode), "log directory %s not created", p.logdir);

    char *c = tp_container(&p, "main", "echo started; exec sleep 300", 0, true);
    Runtime__V1__ContainerStatusResponse *cs = tp_status(c);
    ck_assert_int_eq(cs->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    ck_assert_int_gt(cs->status->started_at, 0);
    ck_assert_msg(strstr(cs->status->log_path, "main/0.log") != NULL, "log_path %s", cs->status->log_path);
    ck_assert_msg(!strncmp(cs->status->image_id, "sha256:", 7), "image_id %s", cs->status->image_id);
    ck_assert_str_eq(cs->status->image->image, need_env("CRISHIM_TEST_IMG_BUSYBOX"));
    protobuf_c_message_free_unpacked(&cs->base, NULL);

    /* filters: by sandbox, by id prefix, by state, by label */
    Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
    f.pod_sandbox_id = p.id;
    ck_assert_uint_eq(count_containers(&f), 1);
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%.12s", c);
    Runtime__V1__ContainerFilter fi = RUNTIME__V1__CONTAINER_FILTER__INIT;
    fi.id = prefix;
    ck_assert_uint_eq(count_containers(&fi), 1);
    Runtime__V1__ContainerStateValue sv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
    sv.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
    f.state = &sv;
    ck_assert_uint_eq(count_containers(&f), 0);

    Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
    Runtime__V1__PodSandboxFilter__LabelSelectorEntry sel = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
    sel.key = "suite";
    sel.value = "pods";
    Runtime__V1__PodSandboxFilter__LabelSelectorEntry *sels[] = {&sel};
    pf.label_selector = sels;
    pf.n_label_selector = 1;
    pf.id = prefix; /* not this pod's prefix: nothing */
    Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    lreq.filter = &pf;
    Runtime__V1__ListPodSandboxResponse *l =
        TP_CALL_OK("ListPodSandbox", lreq, Runtime__V1__ListPodSandboxResponse, &runtime__v1__list_pod_sandbox_response__descriptor);
    ck_assert_uint_eq(l->n_items, 0);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    pf.id = p.id;
    l = TP_CALL_OK("ListPodSandbox", lreq, Runtime__V1__ListPodSandboxResponse, &runtime__v1__list_pod_sandbox_response__descriptor);
    ck_assert_uint_eq(l->n_items, 1);
    ck_assert_str_eq(l->items[0]->metadata->name, p.name);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* StreamContainers: the same container, then EOF */
    Runtime__V1__StreamContainersRequest sc = RUNTIME__V1__STREAM_CONTAINERS_REQUEST__INIT;
    Runtime__V1__ContainerFilter sf = RUNTIME__V1__CONTAINER_FILTER__INIT;
    sf.pod_sandbox_id = p.id;
    sc.filter = &sf;
    ProtobufCMessage **msgs;
    size_t n;
    tc_result res;
    tc_server_stream(client, RT("StreamContainers"), &sc.base, &runtime__v1__stream_containers_response__descriptor,
                     &msgs, &n, 10000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(((Runtime__V1__StreamContainersResponse *)msgs[0])->n_containers, 1);
    tc_free_messages(msgs, n);

    /* stop (timeout honoured: sleep ignores nothing, TERM ends it) and idempotence */
    Runtime__V1__StopContainerRequest stop = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    stop.container_id = c;
    stop.timeout = 5;
    for (int i = 0; i < 2; i++)
        protobuf_c_message_free_unpacked(tp_call(RT("StopContainer"), &stop.base, &runtime__v1__stop_container_response__descriptor, GRPC_STATUS_OK, NULL),
            NULL);
    cs = tp_status(c);
    ck_assert_int_eq(cs->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    ck_assert_int_gt(cs->status->finished_at, 0);
    protobuf_c_message_free_unpacked(&cs->base, NULL);
    Runtime__V1__RemoveContainerRequest rm = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    rm.container_id = c;
    for (int i = 0; i < 2; i++)
        protobuf_c_message_free_unpacked(tp_call(RT("RemoveContainer"), &rm.base,
                                              &runtime__v1__remove_container_response__descriptor, GRPC_STATUS_OK, NULL),
                                         NULL);
    Runtime__V1__ContainerStatusRequest gone = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    gone.container_id = c;
    tp_call_drop(RT("ContainerStatus"), &gone.base, &runtime__v1__container_status_response__descriptor,
         GRPC_STATUS_NOT_FOUND, NULL);
    free(c);

    char *pid = strdup(p.id);
    tp_pod_remove(&p);
    /* stop and remove again: idempotent */
    Runtime__V1__StopPodSandboxRequest s2 = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    s2.pod_sandbox_id = pid;
    tp_call_drop(RT("StopPodSandbox"), &s2.base, &runtime__v1__stop_pod_sandbox_response__descriptor, GRPC_STATUS_OK, NULL);
    Runtime__V1__RemovePodSandboxRequest r2 = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    r2.pod_sandbox_id = pid;
    tp_call_drop(RT("RemovePodSandbox"), &r2.base, &runtime__v1__remove_pod_sandbox_response__descriptor, GRPC_STATUS_OK, NULL);
    sreq.pod_sandbox_id = pid;
    tp_call_drop(RT("PodSandboxStatus"), &sreq.base, &runtime__v1__pod_sandbox_status_response__descriptor,
         GRPC_STATUS_NOT_FOUND, NULL);
    free(pid);
}
END_TEST

START_TEST(containers_share_the_pod_network)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    /* the pod's DNS as kubelet gives it (cluster DNS, search path, ndots) */
    char *servers[] = {"10.96.0.10", "10.96.0.11"};
    char *searches[] = {"test.svc.cluster.local", "svc.cluster.local"};
    char *options[] = {"ndots:5", "timeout:2"};
    Runtime__V1__DNSConfig dns = RUNTIME__V1__DNSCONFIG__INIT;
    dns.servers = servers;
    dns.n_servers = 2;
    dns.searches = searches;
    dns.n_searches = 2;
    dns.options = options;
    dns.n_options = 2;
    p.cfg.dns_config = &dns;
    tp_pod_run(&p);
    char *server = tp_container(&p, "server", "exec httpd -f -p 8080 -h /etc", 0, true);
    char *clientc = tp_container(&p, "client", "exec sleep 300", 0, true);
    char *out = NULL;
    for (int i = 0; i < 50; i++) {
        Runtime__V1__ExecSyncResponse *r = tp_exec_sync(clientc, "wget -qO- http://127.0.0.1:8080/passwd", 10, GRPC_STATUS_OK, NULL);
        if (r->exit_code == 0)
            out = tp_bytes_dup(r->stdout);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        if (out)
            break;
        usleep(100000);
    }
    ck_assert_msg(out && strstr(out, "root:x:0:0") != NULL, "client could not reach server over localhost");
    free(out);
    /* the pod's hostname and DNS come from the sandbox config */
    char *h = tp_exec_out(clientc, "hostname");
    ck_assert_msg(!strncmp(h, p.name, strlen(p.name)), "hostname %s", h);
    free(h);
    char *rc = tp_exec_out(clientc, "cat /etc/resolv.conf");
    ck_assert_msg(strstr(rc, "nameserver 10.96.0.10\n") && strstr(rc, "nameserver 10.96.0.11\n"),
                  "servers in resolv.conf:\n%s", rc);
    ck_assert_msg(strstr(rc, "search test.svc.cluster.local svc.cluster.local\n"), "searches in resolv.conf:\n%s",
                  rc);
    ck_assert_msg(strstr(rc, "options ndots:5 timeout:2\n") || strstr(rc, "options timeout:2 ndots:5\n"),
                  "options in resolv.conf:\n%s", rc);
    free(rc);
    free(server);
    free(clientc);
    tp_pod_remove(&p);
}
END_TEST

START_TEST(host_network_pod)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__NODE);
    tp_pod_run(&p);
    char *c = tp_container(&p, "main", "exec sleep 300", 0, true);
    char *h = tp_exec_out(c, "hostname");
    char host[256];
    gethostname(host, sizeof host);
    ck_assert_msg(!strncmp(h, host, strlen(host)), "hostname in host-network pod is %s, host is %s", h, host);
    free(h);
    Runtime__V1__PodSandboxStatusRequest sreq = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
    sreq.pod_sandbox_id = p.id;
    Runtime__V1__PodSandboxStatusResponse *ps = TP_CALL_OK("PodSandboxStatus", sreq, Runtime__V1__PodSandboxStatusResponse,
                                                        &runtime__v1__pod_sandbox_status_response__descriptor);
    ck_assert_int_eq(ps->status->linux->namespaces->options->network, RUNTIME__V1__NAMESPACE_MODE__NODE);
    protobuf_c_message_free_unpacked(&ps->base, NULL);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

START_TEST(exit_codes_and_oom)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *ok = tp_container(&p, "ok", "exit 0", 0, true);
    char *bad = tp_container(&p, "bad", "echo failing >&2; exit 3", 0, true);
    char *oom = tp_container(&p, "oom", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}", 16 << 20, true);
    Runtime__V1__ContainerStatusResponse *s = tp_wait_exit(ok, 30);
    ck_assert_int_eq(s->status->exit_code, 0);
    ck_assert_str_eq(s->status->reason, "Completed");
    protobuf_c_message_free_unpacked(&s->base, NULL);
    s = tp_wait_exit(bad, 30);
    ck_assert_int_eq(s->status->exit_code, 3);
    ck_assert_str_eq(s->status->reason, "Error");
    protobuf_c_message_free_unpacked(&s->base, NULL);
    s = tp_wait_exit(oom, 60);
    ck_assert_msg(!strcmp(s->status->reason, "OOMKilled"), "reason %s exit %d", s->status->reason, s->status->exit_code);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    free(ok);
    free(bad);
    free(oom);
    tp_pod_remove(&p);
}
END_TEST

START_TEST(exec_sync_output_and_timeout)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *c = tp_container(&p, "main", "exec sleep 300", 0, true);
    Runtime__V1__ExecSyncResponse *r = tp_exec_sync(c, "echo out; echo err >&2; exit 7", 10, GRPC_STATUS_OK, NULL);
    ck_assert_int_eq(r->exit_code, 7);
    ck_assert_uint_eq(r->stdout.len, 4);
    ck_assert_mem_eq(r->stdout.data, "out\n", 4);
    ck_assert_uint_eq(r->stderr.len, 4);
    ck_assert_mem_eq(r->stderr.data, "err\n", 4);
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* several MiB, demultiplexed intact */
    r = tp_exec_sync(c, "head -c 5000000 /dev/zero | tr '\\0' a; echo -n end >&2", 30, GRPC_STATUS_OK, NULL);
    ck_assert_uint_eq(r->stdout.len, 5000000);
    ck_assert_int_eq(r->stdout.data[4999999], 'a');
    ck_assert_uint_eq(r->stderr.len, 3);
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* past the cap (7 MiB a stream, CS_EXEC_OUTPUT_MAX): the rest is
     * dropped, the command still runs to its exit */
    r = tp_exec_sync(c, "head -c 9000000 /dev/zero | tr '\\0' b; exit 3", 60, GRPC_STATUS_OK, NULL);
    ck_assert_int_eq(r->exit_code, 3);
    ck_assert_uint_eq(r->stdout.len, 7u * 1024 * 1024);
    ck_assert_int_eq(r->stdout.data[r->stdout.len - 1], 'b');
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* the timeout ends the call and kills the command */
    tc_result res;
    double t0 = tc_now_ms();
    tp_exec_sync(c, "sleep 77", 1, GRPC_STATUS_DEADLINE_EXCEEDED, &res);
    ck_assert_msg(tc_now_ms() - t0 < 5000, "timeout took %.0f ms", tc_now_ms() - t0);
    usleep(300000);
    char *ps = tp_exec_out(c, "ps -o args | grep -c '^sleep 77' || true");
    ck_assert_msg(atoi(ps) == 0, "sleep 77 still running: %s", ps);
    free(ps);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

START_TEST(cri_log_file_partial_lines_and_reopen)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *c = tp_container(&p, "logger",
                        "echo first; echo to-stderr >&2; head -c 20000 /dev/zero | tr '\\0' x; echo; "
                        "while [ ! -f /tmp/go ]; do sleep 0.1; done; echo after-reopen; exec sleep 300",
                        0, true);
    char path[512];
    snprintf(path, sizeof path, "%s/logger/0.log", p.logdir);
    wait_for_file_text(path, "stdout F first\n", 10);
    wait_for_file_text(path, "stderr F to-stderr\n", 10);
    /* stdout and stderr are two streams: the long line (its last piece,
     * F) may come after stderr's */
    wait_for_file_text(path, " stdout F xxx", 10);
    char *text = read_file(path);
    /* the 20000-byte line arrives in partial pieces (P) and ends with F */
    ck_assert_msg(strstr(text, " stdout P xxxx") != NULL, "no partial line in:\n%.300s", text);
    size_t xs = 0;
    for (char *q = text; *q; q++)
        xs += *q == 'x';
    ck_assert_uint_eq(xs, 20000);
    free(text);

    /* rotate like kubelet: rename, ReopenContainerLog, new lines go to the new file */
    char rotated[600];
    snprintf(rotated, sizeof rotated, "%s.1", path);
    ck_assert_int_eq(rename(path, rotated), 0);
    Runtime__V1__ReopenContainerLogRequest rq = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
    rq.container_id = c;
    tp_call_drop(RT("ReopenContainerLog"), &rq.base, &runtime__v1__reopen_container_log_response__descriptor, GRPC_STATUS_OK, NULL);
    ck_assert_int_eq(access(path, F_OK), 0);
    free(tp_exec_out(c, "touch /tmp/go"));
    wait_for_file_text(path, "stdout F after-reopen\n", 10);
    text = read_file(rotated);
    ck_assert_ptr_null(strstr(text, "after-reopen"));
    free(text);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

START_TEST(sigkill_restart_recovers_everything)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *c = tp_container(&p, "ticker", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done", 0, true);
    char *created = tp_container(&p, "idle", "exec sleep 300", 0, false);
    char path[512];
    snprintf(path, sizeof path, "%s/ticker/0.log", p.logdir);
    wait_for_file_text(path, "tick-3\n", 10);

    kill(daemon_pid, SIGKILL);
    waitpid(daemon_pid, NULL, 0);
    daemon_pid = -1;
    tc_close(client);
    client = NULL;
    sleep(2); /* the container keeps writing while crishim is down */
    start_daemon();

    Runtime__V1__ContainerStatusResponse *s = tp_status(c);
    ck_assert_int_eq(s->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    s = tp_status(created);
    ck_assert_int_eq(s->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    Runtime__V1__PodSandboxStatusRequest sreq = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
    sreq.pod_sandbox_id = p.id;
    Runtime__V1__PodSandboxStatusResponse *ps = TP_CALL_OK("PodSandboxStatus", sreq, Runtime__V1__PodSandboxStatusResponse,
                                                        &runtime__v1__pod_sandbox_status_response__descriptor);
    ck_assert_int_eq(ps->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    ck_assert_str_eq(ps->status->metadata->name, p.name);
    protobuf_c_message_free_unpacked(&ps->base, NULL);

    /* lines from the outage arrive, none twice, in order */
    wait_for_file_text(path, "tick-20\n", 15);
    char *text = read_file(path);
    int last = -1;
    for (char *q = strstr(text, "tick-"); q; q = strstr(q + 1, "tick-")) {
        int v = atoi(q + 5);
        ck_assert_msg(v == last + 1, "after tick-%d comes tick-%d", last, v);
        last = v;
    }
    free(text);
    free(c);
    free(created);
    tp_pod_remove(&p);
}
END_TEST

/* A container that exits while crishim is down: after the restart it is
 * EXITED with its own code and time, and what it wrote before is kept. */
START_TEST(exit_while_down_is_found)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *c = tp_container(&p, "brief", "echo before-the-kill; sleep 1; exit 7", 0, true);
    char path[512];
    snprintf(path, sizeof path, "%s/brief/0.log", p.logdir);
    wait_for_file_text(path, "stdout F before-the-kill\n", 10);
    kill(daemon_pid, SIGKILL);
    waitpid(daemon_pid, NULL, 0);
    daemon_pid = -1;
    tc_close(client);
    client = NULL;
    sleep(2); /* the exit happens meanwhile */
    start_daemon();
    Runtime__V1__ContainerStatusResponse *s = tp_wait_exit(c, 10);
    ck_assert_int_eq(s->status->exit_code, 7);
    ck_assert_str_eq(s->status->reason, "Error");
    ck_assert_int_gt(s->status->finished_at, s->status->started_at);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    wait_for_file_text(path, "stdout F before-the-kill\n", 1);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

/* Privileged and CAP ALL become the host's bounding set, which runc can
 * grant even where root lacks some capabilities. */
START_TEST(privileged_and_capabilities)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
    Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
    img.image = (char *)need_env("CRISHIM_TEST_IMG_BUSYBOX");
    char *cmd[] = {"sleep", "300"};
    Runtime__V1__LinuxContainerSecurityContext sc = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    Runtime__V1__Capability caps = RUNTIME__V1__CAPABILITY__INIT;
    Runtime__V1__LinuxContainerConfig lc = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
    lc.security_context = &sc;
    Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
    cfg.metadata = &md;
    cfg.image = &img;
    cfg.command = cmd;
    cfg.n_command = 2;
    cfg.linux = &lc;
    Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
    req.pod_sandbox_id = p.id;
    req.config = &cfg;

    const char *names[] = {"privileged", "all-caps", "dropped"};
    char *add_all[] = {"ALL"};
    char *drop[] = {"NET_RAW", "CAP_CHOWN"};
    for (int k = 0; k < 3; k++) {
        md.name = (char *)names[k];
        sc.privileged = k == 0;
        caps.add_capabilities = k == 1 ? add_all : NULL;
        caps.n_add_capabilities = k == 1 ? 1 : 0;
        caps.drop_capabilities = k == 2 ? drop : NULL;
        caps.n_drop_capabilities = k == 2 ? 2 : 0;
        sc.capabilities = &caps;
        Runtime__V1__CreateContainerResponse *r = TP_CALL_OK("CreateContainer", req, Runtime__V1__CreateContainerResponse,
                                                          &runtime__v1__create_container_response__descriptor);
        Runtime__V1__StartContainerRequest st = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
        st.container_id = r->container_id;
        tp_call_drop(RT("StartContainer"), &st.base, &runtime__v1__start_container_response__descriptor, GRPC_STATUS_OK,
                  NULL);
        char *eff = tp_exec_out(r->container_id, "grep CapEff /proc/self/status | cut -f2");
        unsigned long long mask = strtoull(eff, NULL, 16);
        free(eff);
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        unsigned long long host = 0;
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "CapBnd:", 7))
                host = strtoull(line + 7, NULL, 16);
        fclose(f);
        /* every capability Docker 20.10 can name (up to CAP_AUDIT_READ) */
        unsigned long long known = host & ((1ull << 38) - 1);
        if (k < 2)
            ck_assert_msg((mask & known) == known, "%s: CapEff %llx, host bounding set %llx", names[k], mask, host);
        else
            ck_assert_msg(!(mask & (1ull << 13)) && !(mask & 1ull), "%s: NET_RAW/CHOWN still in %llx", names[k], mask);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    tp_pod_remove(&p);
}
END_TEST

/* Stats from cgroups: a busy container shows CPU time, a CPU rate on the
 * second sample, and memory. */
START_TEST(container_stats_from_cgroups)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *c = tp_container(&p, "busy", "x=$(head -c 3000000 /dev/zero | tr '\\0' a); while true; do :; done", 0, true);
    usleep(500000);
    Runtime__V1__ContainerStatsRequest req = RUNTIME__V1__CONTAINER_STATS_REQUEST__INIT;
    req.container_id = c;
    Runtime__V1__ContainerStatsResponse *r =
        TP_CALL_OK("ContainerStats", req, Runtime__V1__ContainerStatsResponse, &runtime__v1__container_stats_response__descriptor);
    ck_assert_ptr_nonnull(r->stats->cpu);
    ck_assert_uint_gt(r->stats->cpu->usage_core_nano_seconds->value, 0);
    ck_assert_ptr_nonnull(r->stats->memory);
    ck_assert_uint_gt(r->stats->memory->working_set_bytes->value, 0);
    ck_assert_str_eq(r->stats->attributes->metadata->name, "busy");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    usleep(500000);
    Runtime__V1__ListContainerStatsRequest lreq = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
    Runtime__V1__ContainerStatsFilter f = RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
    f.pod_sandbox_id = p.id;
    lreq.filter = &f;
    Runtime__V1__ListContainerStatsResponse *l = TP_CALL_OK("ListContainerStats", lreq, Runtime__V1__ListContainerStatsResponse,
                                                         &runtime__v1__list_container_stats_response__descriptor);
    ck_assert_uint_eq(l->n_stats, 1);
    ck_assert_ptr_nonnull(l->stats[0]->cpu->usage_nano_cores);
    /* a busy loop: a good part of a core */
    ck_assert_msg(l->stats[0]->cpu->usage_nano_cores->value > 200000000ULL, "nano cores %llu",
                  (unsigned long long)l->stats[0]->cpu->usage_nano_cores->value);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* the pod: its containers' sum, its network, each container */
    Runtime__V1__PodSandboxStatsRequest preq = RUNTIME__V1__POD_SANDBOX_STATS_REQUEST__INIT;
    preq.pod_sandbox_id = p.id;
    Runtime__V1__PodSandboxStatsResponse *ps = TP_CALL_OK("PodSandboxStats", preq, Runtime__V1__PodSandboxStatsResponse,
                                                       &runtime__v1__pod_sandbox_stats_response__descriptor);
    ck_assert_str_eq(ps->stats->attributes->metadata->name, p.name);
    ck_assert_ptr_nonnull(ps->stats->linux->cpu);
    ck_assert_uint_gt(ps->stats->linux->cpu->usage_core_nano_seconds->value, 0);
    ck_assert_ptr_nonnull(ps->stats->linux->memory);
    ck_assert_ptr_nonnull(ps->stats->linux->network);
    ck_assert_str_eq(ps->stats->linux->network->default_interface->name, "eth0");
    ck_assert_ptr_nonnull(ps->stats->linux->process);
    ck_assert_uint_ge(ps->stats->linux->process->process_count->value, 2); /* pause + the loop */
    ck_assert_uint_eq(ps->stats->linux->n_containers, 1);
    protobuf_c_message_free_unpacked(&ps->base, NULL);
    Runtime__V1__ListPodSandboxStatsRequest lps = RUNTIME__V1__LIST_POD_SANDBOX_STATS_REQUEST__INIT;
    Runtime__V1__ListPodSandboxStatsResponse *all = TP_CALL_OK(
        "ListPodSandboxStats", lps, Runtime__V1__ListPodSandboxStatsResponse, &runtime__v1__list_pod_sandbox_stats_response__descriptor);
    ck_assert_uint_ge(all->n_stats, 1);
    protobuf_c_message_free_unpacked(&all->base, NULL);

    /* the streaming forms carry the same, then end */
    Runtime__V1__StreamPodSandboxStatsRequest sps = RUNTIME__V1__STREAM_POD_SANDBOX_STATS_REQUEST__INIT;
    ProtobufCMessage **msgs;
    size_t nm;
    tc_result sres;
    tc_server_stream(client, RT("StreamPodSandboxStats"), &sps.base, &runtime__v1__stream_pod_sandbox_stats_response__descriptor,
                     &msgs, &nm, 30000, &sres);
    ck_assert_int_eq(sres.code, GRPC_STATUS_OK);
    ck_assert_uint_ge(nm, 1);
    tc_free_messages(msgs, nm);
    Runtime__V1__StreamContainerStatsRequest scs = RUNTIME__V1__STREAM_CONTAINER_STATS_REQUEST__INIT;
    Runtime__V1__ContainerStatsFilter scf = RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
    scf.pod_sandbox_id = p.id;
    scs.filter = &scf;
    tc_server_stream(client, RT("StreamContainerStats"), &scs.base, &runtime__v1__stream_container_stats_response__descriptor,
                     &msgs, &nm, 30000, &sres);
    ck_assert_int_eq(sres.code, GRPC_STATUS_OK);
    ck_assert_uint_eq(nm, 1);
    ck_assert_uint_eq(((Runtime__V1__StreamContainerStatsResponse *)msgs[0])->n_container_stats, 1);
    tc_free_messages(msgs, nm);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

static Runtime__V1__ContainerStats *container_stats_of(const char *id)
{
    Runtime__V1__ContainerStatsRequest req = RUNTIME__V1__CONTAINER_STATS_REQUEST__INIT;
    req.container_id = (char *)id;
    Runtime__V1__ContainerStatsResponse *r =
        TP_CALL_OK("ContainerStats", req, Runtime__V1__ContainerStatsResponse, &runtime__v1__container_stats_response__descriptor);
    Runtime__V1__ContainerStats *s = r->stats;
    r->stats = NULL;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return s;
}

static const Runtime__V1__Metric *find_metric(Runtime__V1__Metric **ms, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ms[i]->name, name))
            return ms[i];
    return NULL;
}

/* The writable layer grows when the container writes; the CRI metrics carry
 * cadvisor's names, label values matching their descriptors' keys, and sane
 * values for a running pod. */
START_TEST(writable_layer_and_cri_metrics)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *c = tp_container(&p, "writer", "exec sleep 300", 0, true);
    Runtime__V1__ContainerStats *s = container_stats_of(c);
    ck_assert_ptr_nonnull(s->writable_layer);
    ck_assert_ptr_nonnull(s->writable_layer->fs_id);
    /* the filesystem ImageFsInfo names: overlay2's, or the overlayfs snapshotter's */
    const char *fs_name = strcmp(tc_backend(), "containerd") ? "/overlay2" : ".overlayfs";
    ck_assert_msg(strstr(s->writable_layer->fs_id->mountpoint, fs_name) != NULL, "mountpoint %s",
                  s->writable_layer->fs_id->mountpoint);
    ck_assert_ptr_nonnull(s->writable_layer->inodes_used);
    ck_assert_int_gt(s->writable_layer->timestamp, 0);
    uint64_t before = s->writable_layer->used_bytes->value;
    protobuf_c_message_free_unpacked(&s->base, NULL);

    free(tp_exec_out(c, "dd if=/dev/zero of=/tmp/blob bs=1048576 count=5 2>/dev/null && sync"));
    /* usage is refreshed lazily (a couple of seconds for a small layer) */
    uint64_t after = before;
    for (int i = 0; i < 100 && after < before + 5 * 1048576; i++) {
        usleep(100000);
        s = container_stats_of(c);
        after = s->writable_layer->used_bytes->value;
        protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    ck_assert_msg(after >= before + 5 * 1048576, "writable layer %llu -> %llu", (unsigned long long)before,
                  (unsigned long long)after);
    /* ListContainerStats carries it too */
    Runtime__V1__ListContainerStatsRequest lreq = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
    Runtime__V1__ContainerStatsFilter f = RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
    f.id = c;
    lreq.filter = &f;
    Runtime__V1__ListContainerStatsResponse *l = TP_CALL_OK("ListContainerStats", lreq, Runtime__V1__ListContainerStatsResponse,
                                                         &runtime__v1__list_container_stats_response__descriptor);
    ck_assert_uint_eq(l->n_stats, 1);
    ck_assert_ptr_nonnull(l->stats[0]->writable_layer);
    ck_assert_uint_ge(l->stats[0]->writable_layer->used_bytes->value, 5 * 1048576);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* descriptors */
    Runtime__V1__ListMetricDescriptorsRequest dreq = RUNTIME__V1__LIST_METRIC_DESCRIPTORS_REQUEST__INIT;
    Runtime__V1__ListMetricDescriptorsResponse *dr = TP_CALL_OK("ListMetricDescriptors", dreq, Runtime__V1__ListMetricDescriptorsResponse,
                                                             &runtime__v1__list_metric_descriptors_response__descriptor);
    const char *want[] = {"container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
                          "container_cpu_system_seconds_total", "container_memory_usage_bytes",
                          "container_memory_working_set_bytes", "container_memory_rss", "container_memory_cache",
                          "container_memory_swap", "container_network_receive_bytes_total",
                          "container_network_transmit_bytes_total", "container_threads", "container_processes",
                          "container_last_seen", "container_fs_usage_bytes", "container_spec_cpu_shares"};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        bool found = false;
        for (size_t i = 0; i < dr->n_descriptors; i++)
            found = found || !strcmp(dr->descriptors[i]->name, want[w]);
        ck_assert_msg(found, "no descriptor %s", want[w]);
    }

    /* the pod's metrics */
    Runtime__V1__ListPodSandboxMetricsRequest mreq = RUNTIME__V1__LIST_POD_SANDBOX_METRICS_REQUEST__INIT;
    Runtime__V1__ListPodSandboxMetricsResponse *mr = TP_CALL_OK("ListPodSandboxMetrics", mreq, Runtime__V1__ListPodSandboxMetricsResponse,
                                                             &runtime__v1__list_pod_sandbox_metrics_response__descriptor);
    Runtime__V1__PodSandboxMetrics *pm = NULL;
    for (size_t i = 0; i < mr->n_pod_metrics; i++)
        if (!strcmp(mr->pod_metrics[i]->pod_sandbox_id, p.id))
            pm = mr->pod_metrics[i];
    ck_assert_ptr_nonnull(pm);
    ck_assert_uint_eq(pm->n_container_metrics, 1);
    ck_assert_str_eq(pm->container_metrics[0]->container_id, c);
    /* every metric has a descriptor with as many keys as it has values */
    Runtime__V1__Metric **groups[2] = {pm->metrics, pm->container_metrics[0]->metrics};
    size_t sizes[2] = {pm->n_metrics, pm->container_metrics[0]->n_metrics};
    for (int g = 0; g < 2; g++)
        for (size_t i = 0; i < sizes[g]; i++) {
            const Runtime__V1__Metric *m = groups[g][i];
            const Runtime__V1__MetricDescriptor *d = NULL;
            for (size_t j = 0; j < dr->n_descriptors && !d; j++)
                if (!strcmp(dr->descriptors[j]->name, m->name))
                    d = dr->descriptors[j];
            ck_assert_msg(d != NULL, "metric %s has no descriptor", m->name);
            ck_assert_uint_eq(d->n_label_keys, m->n_label_values);
            ck_assert_ptr_nonnull(m->value);
            ck_assert_int_gt(m->timestamp, 0);
        }
    const Runtime__V1__Metric *rx = find_metric(pm->metrics, pm->n_metrics, "container_network_receive_bytes_total");
    ck_assert_ptr_nonnull(rx);
    ck_assert_str_eq(rx->label_values[0], p.id);
    ck_assert_str_eq(rx->label_values[3], "eth0");
    ck_assert_int_eq(rx->metric_type, RUNTIME__V1__METRIC_TYPE__COUNTER);
    Runtime__V1__Metric **cm = pm->container_metrics[0]->metrics;
    size_t ncm = pm->container_metrics[0]->n_metrics;
    const Runtime__V1__Metric *ws = find_metric(cm, ncm, "container_memory_working_set_bytes");
    ck_assert_ptr_nonnull(ws);
    ck_assert_uint_gt(ws->value->value, 0);
    ck_assert_int_eq(ws->metric_type, RUNTIME__V1__METRIC_TYPE__GAUGE);
    ck_assert_str_eq(ws->label_values[0], c);
    ck_assert_msg(strncmp(ws->label_values[1], "k8s_writer_", 11) == 0, "name %s", ws->label_values[1]);
    const Runtime__V1__Metric *cpu = find_metric(cm, ncm, "container_cpu_usage_seconds_total");
    ck_assert_ptr_nonnull(cpu);
    ck_assert_str_eq(cpu->label_values[3], "total");
    const Runtime__V1__Metric *fs = find_metric(cm, ncm, "container_fs_usage_bytes");
    ck_assert_ptr_nonnull(fs);
    ck_assert_uint_ge(fs->value->value, 5 * 1048576);
    const Runtime__V1__Metric *th = find_metric(cm, ncm, "container_threads");
    ck_assert_ptr_nonnull(th);
    ck_assert_uint_ge(th->value->value, 1); /* sleep */
    const Runtime__V1__Metric *seen = find_metric(cm, ncm, "container_last_seen");
    ck_assert_ptr_nonnull(seen);
    ck_assert_uint_gt(seen->value->value, 1600000000); /* seconds since the epoch */
    protobuf_c_message_free_unpacked(&mr->base, NULL);
    protobuf_c_message_free_unpacked(&dr->base, NULL);

    /* the stream carries the same, then ends */
    Runtime__V1__StreamPodSandboxMetricsRequest sreq = RUNTIME__V1__STREAM_POD_SANDBOX_METRICS_REQUEST__INIT;
    ProtobufCMessage **msgs;
    size_t nm;
    tc_result sres;
    tc_server_stream(client, RT("StreamPodSandboxMetrics"), &sreq.base,
                     &runtime__v1__stream_pod_sandbox_metrics_response__descriptor, &msgs, &nm, 30000, &sres);
    ck_assert_int_eq(sres.code, GRPC_STATUS_OK);
    ck_assert_uint_ge(nm, 1);
    tc_free_messages(msgs, nm);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

/* Reads a bidi exec/attach stream to its exit status. */
typedef struct stream_result {
    char out[4096], err[4096];
    size_t out_len, err_len;
    int exit_code;
    bool exited;
} stream_result;

static void read_stream(tc_stream *st, stream_result *r)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    Crishim__V1__StreamOutput *o;
    while ((o = (Crishim__V1__StreamOutput *)tc_stream_recv(st, &crishim__v1__stream_output__descriptor)) != NULL) {
        if (o->kind_case == CRISHIM__V1__STREAM_OUTPUT__KIND_STDOUT && r->out_len + o->stdout.len < sizeof r->out) {
            memcpy(r->out + r->out_len, o->stdout.data, o->stdout.len);
            r->out_len += o->stdout.len;
        } else if (o->kind_case == CRISHIM__V1__STREAM_OUTPUT__KIND_STDERR &&
                   r->err_len + o->stderr.len < sizeof r->err) {
            memcpy(r->err + r->err_len, o->stderr.data, o->stderr.len);
            r->err_len += o->stderr.len;
        } else if (o->kind_case == CRISHIM__V1__STREAM_OUTPUT__KIND_EXIT) {
            r->exited = true;
            r->exit_code = o->exit->exit_code;
        }
        protobuf_c_message_free_unpacked(&o->base, NULL);
    }
}

static void send_input(tc_stream *st, Crishim__V1__StreamInput *in)
{
    ck_assert(tc_stream_send(st, &in->base));
}

/* crishim.v1.Streaming/Exec: stdin in, stdout and stderr apart, the exit
 * code last; with a TTY, resize reaches the process. */
START_TEST(native_bidi_exec)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *c = tp_container(&p, "shell", "exec sleep 300", 0, true);

    tc_stream *st = tc_stream_open(client, "/crishim.v1.Streaming/Exec", 30000);
    char *cmd[] = {"sh", "-c", "read x; echo got:$x; echo oops >&2; exit 5"};
    Crishim__V1__ExecStart ex = CRISHIM__V1__EXEC_START__INIT;
    ex.container_id = c;
    ex.cmd = cmd;
    ex.n_cmd = 3;
    ex.stdin = ex.stdout = ex.stderr = 1;
    Crishim__V1__StreamInput in;
    crishim__v1__stream_input__init(&in);
    in.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_EXEC;
    in.exec = &ex;
    send_input(st, &in);
    crishim__v1__stream_input__init(&in);
    in.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_STDIN;
    in.stdin.data = (uint8_t *)"hello\n";
    in.stdin.len = 6;
    send_input(st, &in);
    stream_result r;
    read_stream(st, &r);
    tc_result res;
    tc_stream_finish(st, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "exec stream: %d %s", res.code, res.details);
    ck_assert(r.exited);
    ck_assert_int_eq(r.exit_code, 5);
    ck_assert_msg(r.out_len == 10 && !memcmp(r.out, "got:hello\n", 10), "stdout \"%.*s\"", (int)r.out_len, r.out);
    ck_assert_msg(r.err_len == 5 && !memcmp(r.err, "oops\n", 5), "stderr \"%.*s\"", (int)r.err_len, r.err);

    /* TTY: the size from the start message and a resize both reach the process */
    st = tc_stream_open(client, "/crishim.v1.Streaming/Exec", 30000);
    char *tcmd[] = {"sh", "-c", "tty; sleep 0.3; stty size; read x; stty size"};
    Crishim__V1__TerminalSize size = CRISHIM__V1__TERMINAL_SIZE__INIT;
    size.width = 100;
    size.height = 30;
    ex.cmd = tcmd;
    ex.tty = 1;
    ex.stderr = 0;
    ex.size = &size;
    crishim__v1__stream_input__init(&in);
    in.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_EXEC;
    in.exec = &ex;
    send_input(st, &in);
    usleep(1200000); /* the first stty has run with the start size */
    Crishim__V1__TerminalSize bigger = CRISHIM__V1__TERMINAL_SIZE__INIT;
    bigger.width = 120;
    bigger.height = 40;
    crishim__v1__stream_input__init(&in);
    in.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_RESIZE;
    in.resize = &bigger;
    send_input(st, &in);
    usleep(200000);
    crishim__v1__stream_input__init(&in);
    in.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_STDIN;
    in.stdin.data = (uint8_t *)"\n";
    in.stdin.len = 1;
    send_input(st, &in);
    read_stream(st, &r);
    tc_stream_finish(st, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    ck_assert_int_eq(r.exit_code, 0);
    r.out[r.out_len] = '\0';
    ck_assert_msg(strstr(r.out, "/dev/pts/") && strstr(r.out, "30 100") && strstr(r.out, "40 120"), "tty output: %s", r.out);

    /* bad starts */
    st = tc_stream_open(client, "/crishim.v1.Streaming/Exec", 10000);
    crishim__v1__stream_input__init(&in);
    in.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_STDIN;
    send_input(st, &in);
    read_stream(st, &r);
    tc_stream_finish(st, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_INVALID_ARGUMENT);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

/* ---- crishim.v1.Streaming/Attach ---- */

static tc_stream *attach_stream(const char *id, bool in, bool err, bool tty, uint32_t w, uint32_t h)
{
    tc_stream *st = tc_stream_open(client, "/crishim.v1.Streaming/Attach", 30000);
    Crishim__V1__AttachStart at = CRISHIM__V1__ATTACH_START__INIT;
    Crishim__V1__TerminalSize size = CRISHIM__V1__TERMINAL_SIZE__INIT;
    at.container_id = (char *)id;
    at.stdin = in;
    at.stdout = 1;
    at.stderr = err;
    at.tty = tty;
    if (w && h) {
        size.width = w;
        size.height = h;
        at.size = &size;
    }
    Crishim__V1__StreamInput m;
    crishim__v1__stream_input__init(&m);
    m.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_ATTACH;
    m.attach = &at;
    send_input(st, &m);
    return st;
}

static void send_stdin(tc_stream *st, const char *text)
{
    Crishim__V1__StreamInput m;
    crishim__v1__stream_input__init(&m);
    m.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_STDIN;
    m.stdin.data = (uint8_t *)text;
    m.stdin.len = strlen(text);
    send_input(st, &m);
}

static void send_close_stdin(tc_stream *st)
{
    Crishim__V1__StreamInput m;
    crishim__v1__stream_input__init(&m);
    m.kind_case = CRISHIM__V1__STREAM_INPUT__KIND_CLOSE_STDIN;
    send_input(st, &m);
}

/* Reads stdout until it holds want; false when the stream ended first. */
static bool read_until(tc_stream *st, stream_result *r, const char *want)
{
    memset(r, 0, sizeof *r);
    Crishim__V1__StreamOutput *o;
    while ((o = (Crishim__V1__StreamOutput *)tc_stream_recv(st, &crishim__v1__stream_output__descriptor)) != NULL) {
        if (o->kind_case == CRISHIM__V1__STREAM_OUTPUT__KIND_STDOUT && r->out_len + o->stdout.len < sizeof r->out) {
            memcpy(r->out + r->out_len, o->stdout.data, o->stdout.len);
            r->out_len += o->stdout.len;
            r->out[r->out_len] = '\0';
        }
        protobuf_c_message_free_unpacked(&o->base, NULL);
        if (strstr(r->out, want))
            return true;
    }
    return false;
}

/* Leaves an attach session: the container runs on. */
static void detach(tc_stream *st)
{
    tc_result res;
    tc_stream_cancel(st);
    tc_stream_finish(st, &res);
}

static void restart_daemon_hard(void)
{
    kill(daemon_pid, SIGKILL);
    waitpid(daemon_pid, NULL, 0);
    daemon_pid = -1;
    tc_close(client);
    client = NULL;
    start_daemon();
}

/* Attach over crishim's own bidi stream: stdin_once (closing stdin is the
 * process's EOF, the output runs on to the exit code), stdin kept open
 * across sessions and across a crishim restart, a terminal with its size,
 * and the refusals. */
START_TEST(native_bidi_attach)
{
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);

    /* stdin_once: the process reads to EOF, then exits on its own */
    char *once = tp_container_stdio(&p, "once", "read x; echo got:$x; cat; echo done >&2; exit 3", 0, true, true,
                                    true, false);
    tc_stream *st = attach_stream(once, true, true, false, 0, 0);
    send_stdin(st, "hello\n");
    send_stdin(st, "more\n");
    send_close_stdin(st);
    stream_result r;
    read_stream(st, &r);
    tc_result res;
    tc_stream_finish(st, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "attach stream: %d %s", res.code, res.details);
    ck_assert(r.exited);
    ck_assert_int_eq(r.exit_code, 3);
    ck_assert_msg(r.out_len == 15 && !memcmp(r.out, "got:hello\nmore\n", 15), "stdout \"%.*s\"", (int)r.out_len,
                  r.out);
    ck_assert_msg(r.err_len == 5 && !memcmp(r.err, "done\n", 5), "stderr \"%.*s\"", (int)r.err_len, r.err);
    Runtime__V1__ContainerStatusResponse *cs = tp_wait_exit(once, 10);
    ck_assert_int_eq(cs->status->exit_code, 3);
    protobuf_c_message_free_unpacked(&cs->base, NULL);

    /* not stdin_once: each session writes, none closes the process's stdin */
    char *echo = tp_container_stdio(&p, "echo", "while read l; do echo echo:$l; done; echo eof; exit 9", 0, true,
                                    true, false, false);
    st = attach_stream(echo, true, false, false, 0, 0);
    send_stdin(st, "a\n");
    ck_assert_msg(read_until(st, &r, "echo:a\n"), "first session: \"%s\"", r.out);
    detach(st);
    st = attach_stream(echo, true, false, false, 0, 0);
    send_stdin(st, "b\n");
    ck_assert_msg(read_until(st, &r, "echo:b\n"), "second session: \"%s\"", r.out);
    send_close_stdin(st); /* ends this session only */
    read_stream(st, &r);
    tc_stream_finish(st, &res);
    cs = tp_status(echo);
    ck_assert_int_eq(cs->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    protobuf_c_message_free_unpacked(&cs->base, NULL);

    /* after a crishim restart the process's stdin is still there to write */
    restart_daemon_hard();
    st = attach_stream(echo, true, false, false, 0, 0);
    send_stdin(st, "c\n");
    ck_assert_msg(read_until(st, &r, "echo:c\n"), "after the restart: \"%s\"", r.out);
    detach(st);
    char path[512];
    snprintf(path, sizeof path, "%s/echo/0.log", p.logdir);
    wait_for_file_text(path, "echo:c\n", 10);
    char *text = read_file(path);
    ck_assert_msg(strstr(text, "stdout F echo:a\n") && strstr(text, "stdout F echo:b\n") && !strstr(text, "eof"),
                  "log %s", text);
    free(text);

    /* a terminal: the start size reaches it, its one stream is stdout */
    char *term = tp_container_stdio(&p, "term", "exec sh", 0, true, true, false, true);
    st = attach_stream(term, true, false, true, 100, 30);
    usleep(300000);
    send_stdin(st, "stty size; exit 4\n");
    read_stream(st, &r);
    tc_stream_finish(st, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "tty attach: %d %s", res.code, res.details);
    ck_assert_int_eq(r.exit_code, 4);
    r.out[r.out_len < sizeof r.out ? r.out_len : sizeof r.out - 1] = '\0';
    ck_assert_msg(strstr(r.out, "30 100"), "tty output: %s", r.out);

    /* refusals: an exited container, an unknown one */
    st = attach_stream(once, false, true, false, 0, 0);
    read_stream(st, &r);
    tc_stream_finish(st, &res);
    ck_assert_msg(res.code == GRPC_STATUS_FAILED_PRECONDITION, "attach to an exited container: %d %s", res.code,
                  res.details);
    st = attach_stream("0123456789abcdef-unknown", false, true, false, 0, 0);
    read_stream(st, &r);
    tc_stream_finish(st, &res);
    ck_assert_msg(res.code == GRPC_STATUS_NOT_FOUND, "attach to an unknown container: %d %s", res.code, res.details);
    free(once);
    free(echo);
    free(term);
    tp_pod_remove(&p);
}
END_TEST

/* Concurrent removals of one object: Docker answers all but one with 409
 * "removal ... already in progress"; CRI's remove is idempotent, so every
 * call must succeed once the removal is done. */
#define RACERS 4

typedef struct racer {
    pthread_t t;
    const char *method, *id;
    tc_result res;
} racer;

static void *race_remove(void *arg)
{
    racer *r = arg;
    if (strstr(r->method, "RemoveContainer")) {
        Runtime__V1__RemoveContainerRequest q = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
        q.container_id = (char *)r->id;
        tc_unary(client, r->method, &q.base, &runtime__v1__remove_container_response__descriptor, NULL, 60000,
                 &r->res);
    } else if (strstr(r->method, "RemovePodSandbox")) {
        Runtime__V1__RemovePodSandboxRequest q = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
        q.pod_sandbox_id = (char *)r->id;
        tc_unary(client, r->method, &q.base, &runtime__v1__remove_pod_sandbox_response__descriptor, NULL, 60000,
                 &r->res);
    } else {
        Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
        spec.image = (char *)r->id;
        Runtime__V1__RemoveImageRequest q = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
        q.image = &spec;
        tc_unary(client, r->method, &q.base, &runtime__v1__remove_image_response__descriptor, NULL, 60000, &r->res);
    }
    return NULL;
}

static void race(const char *method, const char *id)
{
    racer r[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (racer){.method = method, .id = id};
        pthread_create(&r[i].t, NULL, race_remove, &r[i]);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(r[i].t, NULL);
    for (int i = 0; i < RACERS; i++)
        ck_assert_msg(r[i].res.code == GRPC_STATUS_OK, "%s %s, racer %d of %d: %d %s", method, id, i, RACERS,
                      r[i].res.code, r[i].res.details);
}

START_TEST(concurrent_removal_all_succeed)
{
    for (int round = 0; round < 3; round++) {
        tp_pod p;
        tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
        tp_pod_run(&p);
        char *c1 = tp_container(&p, "busy", "exec sleep 300", 0, true);
        char *c2 = tp_container(&p, "other", "exec sleep 300", 0, true);
        race(RT("RemoveContainer"), c1);
        Runtime__V1__ContainerStatusRequest cs = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
        cs.container_id = c1;
        tp_call_drop(RT("ContainerStatus"), &cs.base, &runtime__v1__container_status_response__descriptor,
                     GRPC_STATUS_NOT_FOUND, NULL);
        /* the pod with a running container still in it */
        race(RT("RemovePodSandbox"), p.id);
        Runtime__V1__PodSandboxStatusRequest ps = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
        ps.pod_sandbox_id = p.id;
        tp_call_drop(RT("PodSandboxStatus"), &ps.base, &runtime__v1__pod_sandbox_status_response__descriptor,
                     GRPC_STATUS_NOT_FOUND, NULL);
        cs.container_id = c2;
        tp_call_drop(RT("ContainerStatus"), &cs.base, &runtime__v1__container_status_response__descriptor,
                     GRPC_STATUS_NOT_FOUND, NULL);
        free(c1);
        free(c2);
        free(p.id);
    }
    /* an image no container of this suite uses */
    const char *img = need_env("CRISHIM_TEST_IMG_USER");
    for (int round = 0; round < 2; round++) {
        tp_pull(img);
        race("/runtime.v1.ImageService/RemoveImage", img);
        Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
        spec.image = (char *)img;
        Runtime__V1__ImageStatusRequest is = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
        is.image = &spec;
        Runtime__V1__ImageStatusResponse *st = (Runtime__V1__ImageStatusResponse *)tp_call(
            "/runtime.v1.ImageService/ImageStatus", &is.base, &runtime__v1__image_status_response__descriptor,
            GRPC_STATUS_OK, NULL);
        ck_assert_msg(st->image == NULL, "%s still there after RemoveImage", img);
        protobuf_c_message_free_unpacked(&st->base, NULL);
    }
}
END_TEST

/* GetContainerEvents: a container's life as CRI events, in order, each
 * naming its pod; the pod's own infra container has its events too. */
static Runtime__V1__ContainerEventResponse *next_event_for(tc_stream *st, const char *id)
{
    Runtime__V1__ContainerEventResponse *e;
    while ((e = (Runtime__V1__ContainerEventResponse *)tc_stream_recv(
                st, &runtime__v1__container_event_response__descriptor)) != NULL) {
        if (!strcmp(e->container_id, id))
            return e;
        protobuf_c_message_free_unpacked(&e->base, NULL);
    }
    ck_abort_msg("the event stream ended before an event for %s", id);
    return NULL;
}

START_TEST(container_events_in_order)
{
    tc_stream *events = tp_events(120000);
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    Runtime__V1__ContainerEventResponse *e = next_event_for(events, p.id);
    ck_assert_ptr_nonnull(e->pod_sandbox_status);
    ck_assert_str_eq(e->pod_sandbox_status->id, p.id);
    protobuf_c_message_free_unpacked(&e->base, NULL);

    char *c = tp_container(&p, "events", "exec sleep 300", 0, true);
    Runtime__V1__StopContainerRequest stop = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    stop.container_id = c;
    stop.timeout = 0;
    tp_call_drop(RT("StopContainer"), &stop.base, &runtime__v1__stop_container_response__descriptor, GRPC_STATUS_OK,
                 NULL);
    Runtime__V1__RemoveContainerRequest rm = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    rm.container_id = c;
    tp_call_drop(RT("RemoveContainer"), &rm.base, &runtime__v1__remove_container_response__descriptor,
                 GRPC_STATUS_OK, NULL);
    const Runtime__V1__ContainerEventType want[] = {
        RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT,
        RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT,
        RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT,
        RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_DELETED_EVENT,
    };
    int64_t last = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        e = next_event_for(events, c);
        ck_assert_msg(e->container_event_type == want[i], "event %zu of %s: type %d, want %d", i, c,
                      e->container_event_type, want[i]);
        ck_assert_ptr_nonnull(e->pod_sandbox_status);
        ck_assert_str_eq(e->pod_sandbox_status->id, p.id);
        ck_assert_int_ge(e->created_at, last);
        last = e->created_at;
        protobuf_c_message_free_unpacked(&e->base, NULL);
    }
    tc_result res;
    tc_stream_cancel(events);
    tc_stream_finish(events, &res);
    free(c);
    tp_pod_remove(&p);
}
END_TEST

START_TEST(bad_input)
{
    tc_result res;
    Runtime__V1__RunPodSandboxRequest run = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    tp_call_drop(RT("RunPodSandbox"), &run.base, &runtime__v1__run_pod_sandbox_response__descriptor, GRPC_STATUS_INVALID_ARGUMENT,
         &res);
    ck_assert_msg(strstr(res.details, "config") != NULL, "%s", res.details);
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    p.md.name = "";
    run.config = &p.cfg;
    tp_call_drop(RT("RunPodSandbox"), &run.base, &runtime__v1__run_pod_sandbox_response__descriptor, GRPC_STATUS_INVALID_ARGUMENT,
         &res);
    ck_assert_msg(strstr(res.details, "config.metadata.name") != NULL, "%s", res.details);
    p.md.name = p.name;
    run.runtime_handler = "kata";
    tp_call_drop(RT("RunPodSandbox"), &run.base, &runtime__v1__run_pod_sandbox_response__descriptor, GRPC_STATUS_INVALID_ARGUMENT,
         &res);
    ck_assert_msg(strstr(res.details, "kata") != NULL, "%s", res.details);

    /* unknown sandbox */
    Runtime__V1__CreateContainerRequest cr = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
    Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
    md.name = "x";
    Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
    img.image = (char *)need_env("CRISHIM_TEST_IMG_BUSYBOX");
    Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
    cfg.metadata = &md;
    cfg.image = &img;
    cr.config = &cfg;
    cr.pod_sandbox_id = "0000000000000000dead";
    tp_call_drop(RT("CreateContainer"), &cr.base, &runtime__v1__create_container_response__descriptor, GRPC_STATUS_NOT_FOUND,
         &res);
    /* log path escaping the pod's directory */
    cfg.log_path = "../../etc/evil.log";
    tp_call_drop(RT("CreateContainer"), &cr.base, &runtime__v1__create_container_response__descriptor,
         GRPC_STATUS_INVALID_ARGUMENT, &res);
    cfg.log_path = "";

    /* a container in a stopped sandbox */
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    Runtime__V1__StopPodSandboxRequest s = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    s.pod_sandbox_id = p.id;
    tp_call_drop(RT("StopPodSandbox"), &s.base, &runtime__v1__stop_pod_sandbox_response__descriptor, GRPC_STATUS_OK, NULL);
    cr.pod_sandbox_id = p.id;
    tp_call_drop(RT("CreateContainer"), &cr.base, &runtime__v1__create_container_response__descriptor,
         GRPC_STATUS_FAILED_PRECONDITION, &res);
    ck_assert_msg(strstr(res.details, "not ready") != NULL, "%s", res.details);
    tp_pod_remove(&p);

    /* unknown container ids */
    Runtime__V1__ContainerStatusRequest st = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    st.container_id = "nope";
    tp_call_drop(RT("ContainerStatus"), &st.base, &runtime__v1__container_status_response__descriptor, GRPC_STATUS_NOT_FOUND,
         NULL);
    Runtime__V1__StartContainerRequest sc = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    sc.container_id = "nope";
    tp_call_drop(RT("StartContainer"), &sc.base, &runtime__v1__start_container_response__descriptor, GRPC_STATUS_NOT_FOUND, NULL);
    char *cmd[] = {"true"};
    Runtime__V1__ExecSyncRequest ex = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
    ex.container_id = "nope";
    ex.cmd = cmd;
    ex.n_cmd = 1;
    tp_call_drop(RT("ExecSync"), &ex.base, &runtime__v1__exec_sync_response__descriptor, GRPC_STATUS_NOT_FOUND, NULL);
    ex.n_cmd = 0;
    tp_call_drop(RT("ExecSync"), &ex.base, &runtime__v1__exec_sync_response__descriptor, GRPC_STATUS_INVALID_ARGUMENT, NULL);
}
END_TEST

int main(void)
{
    need_env("CRISHIM_TEST_IMG_BUSYBOX");
    Suite *s = suite_create("pods");
    TCase *tc = tcase_create("docker");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, stop_daemon);
    tcase_add_test(tc, lifecycle_and_filters);
    tcase_add_test(tc, containers_share_the_pod_network);
    tcase_add_test(tc, host_network_pod);
    tcase_add_test(tc, exit_codes_and_oom);
    tcase_add_test(tc, exec_sync_output_and_timeout);
    tcase_add_test(tc, cri_log_file_partial_lines_and_reopen);
    tcase_add_test(tc, sigkill_restart_recovers_everything);
    tcase_add_test(tc, exit_while_down_is_found);
    tcase_add_test(tc, privileged_and_capabilities);
    tcase_add_test(tc, container_stats_from_cgroups);
    tcase_add_test(tc, writable_layer_and_cri_metrics);
    tcase_add_test(tc, native_bidi_exec);
    tcase_add_test(tc, native_bidi_attach);
    tcase_add_test(tc, concurrent_removal_all_succeed);
    tcase_add_test(tc, container_events_in_order);
    tcase_add_test(tc, bad_input);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
