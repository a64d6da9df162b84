/* The daemon against a real engine (scripts/test-env.sh: the private dockerd,
 * or with CRISHIM_TEST_BACKEND=containerd the private containerd): every
 * registered RPC answers with the expected code, deadlines and cancellation
 * are honoured, a slow engine call blocks nothing else, an engine outage is
 * survived without a restart, and SIGTERM lets an in-flight call finish and
 * exits 0. Also --backend auto: Docker when it answers, else containerd, and
 * verbose Status says which and why. */
#include <check.h>
#include <grpc/grpc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "crishim/v1/crishim.pb-c.h"
#include "rpc/methods.h"
#include "runtime/v1/api.pb-c.h"

#define RT(m) "/runtime.v1.RuntimeService/" m

static tc_daemon crishim;
#define client (crishim.client)
#define daemon_pid (crishim.pid)
#define sock_path (crishim.sock)
#define log_path (crishim.log)
#define need_env tc_need_env

static int metrics_port;

/* A port nothing listens on now. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static void start_daemon(void)
{
    char flag[64];
    metrics_port = free_port();
    snprintf(flag, sizeof flag, "--metrics-addr=127.0.0.1:%d", metrics_port);
    tc_daemon_up(&crishim, "daemon", flag);
}

static void stop_daemon(void)
{
    tc_daemon_down(&crishim);
}

static bool on_containerd(void)
{
    const char *b = tc_env("CRISHIM_TEST_BACKEND");
    return b && !strcmp(b, "containerd");
}

/* The engine's name as crishim's messages and versions spell it. */
static const char *engine_name(void)
{
    return on_containerd() ? "containerd" : "docker";
}

/* The engine's pid changes when the env restarts it: read it fresh. */
static pid_t current_engine_pid(void)
{
    const char *key = on_containerd() ? "CRISHIM_TEST_CONTAINERD_PID=" : "CRISHIM_TEST_DOCKER_PID=";
    size_t klen = strlen(key);
    char path[512];
    snprintf(path, sizeof path, "%s/env", need_env("CRISHIM_TEST_DIR"));
    FILE *f = fopen(path, "r");
    char line[1024];
    pid_t pid = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, klen))
            pid = (pid_t)atoi(line + klen);
    if (f)
        fclose(f);
    ck_assert_msg(pid > 0, "no %s in %s", key, path);
    return pid;
}

static void env_script(const char *verb)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/scripts/test-env.sh %s %s >/dev/null", need_env("CRISHIM_SOURCE_DIR"), verb,
             need_env("CRISHIM_TEST_DIR"));
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

static grpc_status_code call_version(int timeout_ms, int cancel_after_ms, tc_result *res)
{
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    tc_unary_ex(client, RT("Version"), &req.base, &runtime__v1__version_response__descriptor, &resp, timeout_ms,
                cancel_after_ms, res);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return res->code;
}

/* ---- every RPC ---- */

/* What an empty request gets today. Later issues move methods from the default
 * (UNIMPLEMENTED) into this table. */
static const struct {
    const char *method;
    grpc_status_code code;
} expected[] = {
    {RT("Version"), GRPC_STATUS_OK},
    {RT("Status"), GRPC_STATUS_OK},
    {RT("RuntimeConfig"), GRPC_STATUS_OK},
    {RT("UpdateRuntimeConfig"), GRPC_STATUS_OK},
    {RT("RunPodSandbox"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("StopPodSandbox"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("RemovePodSandbox"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("PodSandboxStatus"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("ListPodSandbox"), GRPC_STATUS_OK},
    {RT("StreamPodSandboxes"), GRPC_STATUS_OK},
    {RT("UpdatePodSandboxResources"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("CreateContainer"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("StartContainer"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("StopContainer"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("RemoveContainer"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("ListContainers"), GRPC_STATUS_OK},
    {RT("StreamContainers"), GRPC_STATUS_OK},
    {RT("ContainerStatus"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("UpdateContainerResources"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("ReopenContainerLog"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("ExecSync"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("Exec"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("Attach"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("PortForward"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("ContainerStats"), GRPC_STATUS_INVALID_ARGUMENT},
    /* an endless stream: the call's deadline ends it */
    {RT("GetContainerEvents"), GRPC_STATUS_DEADLINE_EXCEEDED},
    {RT("ListContainerStats"), GRPC_STATUS_OK},
    {RT("PodSandboxStats"), GRPC_STATUS_INVALID_ARGUMENT},
    {RT("ListPodSandboxStats"), GRPC_STATUS_OK},
    {RT("StreamContainerStats"), GRPC_STATUS_OK},
    {RT("StreamPodSandboxStats"), GRPC_STATUS_OK},
    {RT("ListMetricDescriptors"), GRPC_STATUS_OK},
    {RT("ListPodSandboxMetrics"), GRPC_STATUS_OK},
    {RT("StreamPodSandboxMetrics"), GRPC_STATUS_OK},
    {"/runtime.v1.ImageService/ListImages", GRPC_STATUS_OK},
    {"/runtime.v1.ImageService/StreamImages", GRPC_STATUS_OK},
    {"/runtime.v1.ImageService/ImageStatus", GRPC_STATUS_INVALID_ARGUMENT},
    {"/runtime.v1.ImageService/PullImage", GRPC_STATUS_INVALID_ARGUMENT},
    {"/runtime.v1.ImageService/RemoveImage", GRPC_STATUS_INVALID_ARGUMENT},
    {"/runtime.v1.ImageService/ImageFsInfo", GRPC_STATUS_OK},
    {"/crishim.v1.Streaming/Exec", GRPC_STATUS_INVALID_ARGUMENT},
    {"/crishim.v1.Streaming/Attach", GRPC_STATUS_INVALID_ARGUMENT},
    {"/crishim.v1.Diagnostics/Echo", GRPC_STATUS_OK},
    {"/grpc.health.v1.Health/Check", GRPC_STATUS_OK},
    /* endless too: a status now, then one per change */
    {"/grpc.health.v1.Health/Watch", GRPC_STATUS_DEADLINE_EXCEEDED},
};

/* The containerd backend serves every method as Docker's does (issue #12);
 * an empty request gets the same answer from either. */
static grpc_status_code expected_code(const char *method)
{
    grpc_status_code want = GRPC_STATUS_UNIMPLEMENTED;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!strcmp(expected[i].method, method))
            want = expected[i].code;
    return want;
}

static void call_empty(const cs_method *m, tc_result *res)
{
    ProtobufCMessage *req = calloc(1, m->desc->input->sizeof_message);
    m->desc->input->message_init(req);
    if (m->kind == CS_METHOD_UNARY) {
        ProtobufCMessage *resp = NULL;
        tc_unary(client, m->path, req, m->desc->output, &resp, 10000, res);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
    } else if (m->kind == CS_METHOD_SERVER_STREAM) {
        ProtobufCMessage **msgs;
        size_t n;
        tc_server_stream(client, m->path, req, m->desc->output, &msgs, &n, 3000, res);
        tc_free_messages(msgs, n);
    } else {
        tc_stream *s = tc_stream_open(client, m->path, 10000);
        tc_stream_close_send(s);
        ProtobufCMessage *msg;
        while ((msg = tc_stream_recv(s, m->desc->output)) != NULL)
            protobuf_c_message_free_unpacked(msg, NULL);
        tc_stream_finish(s, res);
    }
    free(req);
}

START_TEST(every_registered_rpc_answers)
{
    size_t n;
    cs_method *ms = cs_methods_build(&n);
    ck_assert_uint_ge(n, 45); /* 43 CRI RPCs + crishim's own */
    for (size_t i = 0; i < n; i++) {
        tc_result res;
        call_empty(&ms[i], &res);
        grpc_status_code want = expected_code(ms[i].path);
        ck_assert_msg(res.code == want, "%s (%s): got code %d (%s), want %d", ms[i].path,
                      cs_method_kind_name(ms[i].kind), res.code, res.details, want);
        if (want == GRPC_STATUS_UNIMPLEMENTED) {
            ck_assert_msg(strstr(res.details, strrchr(ms[i].path, '/') + 1) != NULL,
                          "%s: UNIMPLEMENTED message does not name the method: %s", ms[i].path, res.details);
            ck_assert_msg(res.elapsed_ms < 1000, "%s: UNIMPLEMENTED took %.0f ms", ms[i].path, res.elapsed_ms);
        }
    }
    cs_methods_free(ms, n);
}
END_TEST

START_TEST(unknown_method_is_unimplemented)
{
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    tc_result res;
    tc_unary(client, "/runtime.v1.RuntimeService/NoSuchThing", &req.base, &runtime__v1__version_response__descriptor,
             NULL, 5000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_UNIMPLEMENTED);
}
END_TEST

START_TEST(version_and_status)
{
    Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
    Runtime__V1__VersionResponse *v = NULL;
    tc_result res;
    tc_unary(client, RT("Version"), &vreq.base, &runtime__v1__version_response__descriptor, (ProtobufCMessage **)&v,
             5000, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "Version: %s", res.details);
    ck_assert_str_eq(v->runtime_api_version, "v1");
    ck_assert_str_eq(v->runtime_name, "crishim");
    ck_assert_msg(strstr(v->runtime_version, engine_name()) != NULL, "runtime_version %s", v->runtime_version);
    protobuf_c_message_free_unpacked(&v->base, NULL);

    Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
    sreq.verbose = 1;
    Runtime__V1__StatusResponse *s = NULL;
    tc_unary(client, RT("Status"), &sreq.base, &runtime__v1__status_response__descriptor, (ProtobufCMessage **)&s,
             5000, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "Status: %s", res.details);
    ck_assert_uint_eq(s->status->n_conditions, 2);
    /* both backends: the test env's CNI network makes NetworkReady true */
    for (size_t i = 0; i < 2; i++)
        ck_assert_msg(s->status->conditions[i]->status, "%s is false: %s %s", s->status->conditions[i]->type,
                      s->status->conditions[i]->reason, s->status->conditions[i]->message);
    ck_assert_uint_ge(s->n_info, 1);
    ck_assert_msg(strstr(s->info[0]->value, "cgroupDriver") != NULL, "info: %s", s->info[0]->value);
    if (on_containerd()) {
        /* snapshotter, runtime and plugins from containerd's introspection */
        ck_assert_msg(strstr(s->info[0]->value, "\"snapshotter\":\"overlayfs\"") != NULL, "info: %s", s->info[0]->value);
        ck_assert_msg(strstr(s->info[0]->value, "\"io.containerd.runc.v2\"") != NULL, "info: %s", s->info[0]->value);
        ck_assert_msg(strstr(s->info[0]->value, "\"io.containerd.grpc.v1\"") != NULL, "info: %s", s->info[0]->value);
        ck_assert_msg(strstr(s->info[0]->value, "\"namespace\":\"crishim\"") != NULL, "info: %s", s->info[0]->value);
    }
    /* how the backend was chosen: here by --backend */
    char want[128];
    snprintf(want, sizeof want, "{\"name\":\"%s\",\"selected\":\"%s\"", engine_name(), engine_name());
    const char *backend_info = NULL;
    for (size_t i = 0; i < s->n_info; i++)
        if (!strcmp(s->info[i]->key, "backend"))
            backend_info = s->info[i]->value;
    ck_assert_msg(backend_info && !strncmp(backend_info, want, strlen(want)) && strstr(backend_info, "--backend"),
                  "backend info: %s", backend_info ? backend_info : "(none)");
    protobuf_c_message_free_unpacked(&s->base, NULL);

    Runtime__V1__RuntimeConfigRequest creq = RUNTIME__V1__RUNTIME_CONFIG_REQUEST__INIT;
    Runtime__V1__RuntimeConfigResponse *c = NULL;
    tc_unary(client, RT("RuntimeConfig"), &creq.base, &runtime__v1__runtime_config_response__descriptor,
             (ProtobufCMessage **)&c, 5000, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "RuntimeConfig: %s", res.details);
    ck_assert_ptr_nonnull(c->linux);
    ck_assert_int_eq(c->linux->cgroup_driver, RUNTIME__V1__CGROUP_DRIVER__CGROUPFS);
    protobuf_c_message_free_unpacked(&c->base, NULL);
}
END_TEST

/* NetworkReady of the daemon at c; its reason into reason. */
static bool network_ready(tc_client *c, char *reason, size_t cap)
{
    Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
    Runtime__V1__StatusResponse *s = NULL;
    tc_result res;
    tc_unary(c, RT("Status"), &sreq.base, &runtime__v1__status_response__descriptor, (ProtobufCMessage **)&s, 5000,
             &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "Status: %s", res.details);
    ck_assert_uint_eq(s->status->n_conditions, 2);
    bool ready = s->status->conditions[1]->status;
    snprintf(reason, cap, "%s: %s", s->status->conditions[1]->reason, s->status->conditions[1]->message);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    return ready;
}

/* kubelet installs the CNI config after the runtime has started: NetworkReady
 * follows the directory, no restart needed. */
START_TEST(network_ready_follows_the_cni_config)
{
    if (!on_containerd())
        return; /* Docker's network is dockerd's own */
    char dir[512], sock[600], logp[600], conf[600], state[600], cmd[1400], reason[1024];
    snprintf(dir, sizeof dir, "%s/cni-reload", need_env("CRISHIM_TEST_DIR"));
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(sock, sizeof sock, "%s/crishim-cni-reload.sock", need_env("CRISHIM_TEST_DIR"));
    snprintf(logp, sizeof logp, "%s/crishim-cni-reload.log", need_env("CRISHIM_TEST_DIR"));
    snprintf(conf, sizeof conf, "--cni-conf-dir=%s", dir);
    snprintf(state, sizeof state, "--state-dir=%s", need_env("CRISHIM_TEST_STATE_DIR"));
    char backend[64], endpoint[512];
    tc_backend_flags(backend, sizeof backend, endpoint, sizeof endpoint);
    pid_t pid = tc_daemon_start(need_env("CRISHIM_BIN"), sock, logp, backend, endpoint, conf, state, NULL);
    ck_assert_msg(pid > 0, "crishim did not start; see %s", logp);
    char target[700];
    snprintf(target, sizeof target, "unix:%s", sock);
    tc_client *c = tc_connect(target);
    ck_assert_msg(!network_ready(c, reason, sizeof reason), "ready without a config");
    ck_assert_msg(strstr(reason, "NetworkPluginNotReady") && strstr(reason, dir), "%s", reason);
    snprintf(cmd, sizeof cmd, "cp %s/*.conflist '%s'/", need_env("CRISHIM_TEST_CNI_CONF_DIR"), dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_msg(network_ready(c, reason, sizeof reason), "not ready with a config: %s", reason);
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.conflist", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_msg(!network_ready(c, reason, sizeof reason), "still ready once the config is gone");
    tc_close(c);
    int st = tc_daemon_stop(pid, SIGTERM, 20000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "crishim exited with %d; see %s", st, logp);
}
END_TEST

/* The pod network is set up while the pause task starts (sandbox.c's
 * cni_job): an ADD that fails, after a while, fails RunPodSandbox with the
 * plugin's message and undoes everything (the pause task, DEL, the record). */
START_TEST(failed_pod_network_is_undone)
{
    if (!on_containerd())
        return;
    char dir[512], bin[600], sock[600], logp[600], conf[700], bins[700], state[600], cmd[8192], calls[700];
    snprintf(dir, sizeof dir, "%s/cni-fail", need_env("CRISHIM_TEST_DIR"));
    snprintf(bin, sizeof bin, "%s/bin", dir);
    snprintf(calls, sizeof calls, "%s/calls", dir);
    /* loopback as it is; "cstfail" fails its ADD after 0.2 s, and says DEL */
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && mkdir -p '%s/net.d' '%s' && ln -s %s/loopback '%s/loopback' && "
             "printf '#!/bin/sh\\ncat >/dev/null\\necho \"$CNI_COMMAND\" >>%s\\n"
             "[ \"$CNI_COMMAND\" = ADD ] || exit 0\\nsleep 0.2\\n"
             "echo \\047{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"cstfail says no\"}\\047\\nexit 1\\n' "
             ">'%s/cstfail' && chmod 755 '%s/cstfail' && "
             "echo '{\"cniVersion\":\"1.0.0\",\"name\":\"cstfail\",\"plugins\":[{\"type\":\"cstfail\"}]}' "
             ">'%s/net.d/10-fail.conflist'",
             dir, dir, bin, need_env("CRISHIM_TEST_CNI_BIN_DIR"), bin, calls, bin, bin, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(sock, sizeof sock, "%s/crishim-cni-fail.sock", need_env("CRISHIM_TEST_DIR"));
    snprintf(logp, sizeof logp, "%s/crishim-cni-fail.log", need_env("CRISHIM_TEST_DIR"));
    snprintf(conf, sizeof conf, "--cni-conf-dir=%s/net.d", dir);
    snprintf(bins, sizeof bins, "--cni-bin-dir=%s", bin);
    snprintf(state, sizeof state, "--state-dir=%s", need_env("CRISHIM_TEST_STATE_DIR"));
    char backend[64], endpoint[512];
    tc_backend_flags(backend, sizeof backend, endpoint, sizeof endpoint);
    pid_t pid = tc_daemon_start(need_env("CRISHIM_BIN"), sock, logp, backend, endpoint, conf, bins, state, NULL);
    ck_assert_msg(pid > 0, "crishim did not start; see %s", logp);
    char target[700];
    snprintf(target, sizeof target, "unix:%s", sock);
    tc_client *c = tc_connect(target);
    Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
    md.name = "cnifail";
    md.namespace_ = "test";
    md.uid = "cni-fail-undone";
    Runtime__V1__PodSandboxConfig pc = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    pc.metadata = &md;
    Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    rp.config = &pc;
    tc_result res;
    tc_unary(c, RT("RunPodSandbox"), &rp.base, &runtime__v1__run_pod_sandbox_response__descriptor, NULL, 60000,
             &res);
    ck_assert_msg(res.code != GRPC_STATUS_OK && strstr(res.details, "cstfail says no"), "RunPodSandbox: %d %s",
                  res.code, res.details);
    Runtime__V1__ListPodSandboxRequest lr = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    Runtime__V1__ListPodSandboxResponse *l = NULL;
    tc_unary(c, RT("ListPodSandbox"), &lr.base, &runtime__v1__list_pod_sandbox_response__descriptor,
             (ProtobufCMessage **)&l, 10000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    for (size_t i = 0; i < l->n_items; i++)
        ck_assert_msg(strcmp(l->items[i]->metadata->uid, md.uid), "sandbox %s was left", l->items[i]->id);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    tc_close(c);
    FILE *f = fopen(calls, "r");
    char got[64] = "";
    ck_assert_ptr_nonnull(f);
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = 0;
    ck_assert_str_eq(got, "ADD\nDEL\n");
    int st = tc_daemon_stop(pid, SIGTERM, 20000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "crishim exited with %d; see %s", st, logp);
}
END_TEST

START_TEST(update_runtime_config_sets_pod_cidr)
{
    Runtime__V1__NetworkConfig net = RUNTIME__V1__NETWORK_CONFIG__INIT;
    net.pod_cidr = "10.88.0.0/16";
    Runtime__V1__RuntimeConfig rc = RUNTIME__V1__RUNTIME_CONFIG__INIT;
    rc.network_config = &net;
    Runtime__V1__UpdateRuntimeConfigRequest req = RUNTIME__V1__UPDATE_RUNTIME_CONFIG_REQUEST__INIT;
    req.runtime_config = &rc;
    tc_result res;
    tc_unary(client, RT("UpdateRuntimeConfig"), &req.base, &runtime__v1__update_runtime_config_response__descriptor,
             NULL, 5000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
    sreq.verbose = 1;
    Runtime__V1__StatusResponse *s = NULL;
    tc_unary(client, RT("Status"), &sreq.base, &runtime__v1__status_response__descriptor, (ProtobufCMessage **)&s,
             5000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    ck_assert_msg(strstr(s->info[0]->value, "10.88.0.0/16") != NULL, "info: %s", s->info[0]->value);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}
END_TEST

START_TEST(bidi_echo_round_trip)
{
    tc_stream *s = tc_stream_open(client, "/crishim.v1.Diagnostics/Echo", 10000);
    for (uint64_t i = 0; i < 50; i++) {
        uint8_t payload[1000];
        memset(payload, (int)i, sizeof payload);
        Crishim__V1__EchoMessage m = CRISHIM__V1__ECHO_MESSAGE__INIT;
        m.sequence = i;
        m.payload.data = payload;
        m.payload.len = sizeof payload;
        ck_assert(tc_stream_send(s, &m.base));
        Crishim__V1__EchoMessage *back =
            (Crishim__V1__EchoMessage *)tc_stream_recv(s, &crishim__v1__echo_message__descriptor);
        ck_assert_ptr_nonnull(back);
        ck_assert_uint_eq(back->sequence, i);
        ck_assert_uint_eq(back->payload.len, sizeof payload);
        ck_assert_int_eq(back->payload.data[999], (uint8_t)i);
        protobuf_c_message_free_unpacked(&back->base, NULL);
    }
    tc_stream_close_send(s);
    ck_assert_ptr_null(tc_stream_recv(s, &crishim__v1__echo_message__descriptor));
    tc_result res;
    tc_stream_finish(s, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
}
END_TEST

START_TEST(large_messages_up_to_16_mib)
{
    tc_stream *s = tc_stream_open(client, "/crishim.v1.Diagnostics/Echo", 20000);
    size_t len = 15 * 1024 * 1024;
    uint8_t *payload = calloc(1, len);
    payload[len - 1] = 0x5a;
    Crishim__V1__EchoMessage m = CRISHIM__V1__ECHO_MESSAGE__INIT;
    m.payload.data = payload;
    m.payload.len = len;
    ck_assert(tc_stream_send(s, &m.base));
    Crishim__V1__EchoMessage *back =
        (Crishim__V1__EchoMessage *)tc_stream_recv(s, &crishim__v1__echo_message__descriptor);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->payload.len, len);
    ck_assert_int_eq(back->payload.data[len - 1], 0x5a);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    free(payload);
    tc_stream_close_send(s);
    tc_result res;
    tc_stream_finish(s, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
}
END_TEST

/* ---- deadlines, cancellation, slow engines ---- */

/* An RPC that asks the engine every time (Version answers from a cache). */
static grpc_status_code call_engine(int timeout_ms, int cancel_after_ms, tc_result *res)
{
    Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    tc_unary_ex(client, "/runtime.v1.ImageService/ListImages", &req.base, &runtime__v1__list_images_response__descriptor,
                &resp, timeout_ms, cancel_after_ms, res);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return res->code;
}

START_TEST(deadline_is_honoured_when_engine_hangs)
{
    pid_t dpid = current_engine_pid();
    kill(dpid, SIGSTOP);
    tc_result res;
    call_engine(500, 0, &res);
    kill(dpid, SIGCONT);
    ck_assert_msg(res.code == GRPC_STATUS_DEADLINE_EXCEEDED, "got %d (%s)", res.code, res.details);
    ck_assert_msg(res.elapsed_ms < 2000, "deadline answer took %.0f ms", res.elapsed_ms);
    call_engine(10000, 0, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "after the engine resumed: %d (%s)", res.code, res.details);
}
END_TEST

START_TEST(cancelled_call_is_released)
{
    pid_t dpid = current_engine_pid();
    kill(dpid, SIGSTOP);
    tc_result res;
    call_engine(20000, 300, &res);
    kill(dpid, SIGCONT);
    ck_assert_msg(res.code == GRPC_STATUS_CANCELLED, "got %d (%s)", res.code, res.details);
    ck_assert_msg(res.elapsed_ms < 2000, "cancel took %.0f ms", res.elapsed_ms);
    call_engine(10000, 0, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "after cancel: %d (%s)", res.code, res.details);
}
END_TEST

typedef struct bg_call {
    pthread_t t;
    tc_result res;
    int timeout_ms;
} bg_call;

static void *bg_engine_call(void *arg)
{
    bg_call *b = arg;
    call_engine(b->timeout_ms, 0, &b->res);
    return NULL;
}

START_TEST(slow_engine_blocks_nothing_else)
{
    pid_t dpid = current_engine_pid();
    kill(dpid, SIGSTOP);
    bg_call slow[4];
    for (int i = 0; i < 4; i++) {
        slow[i].timeout_ms = 3000;
        pthread_create(&slow[i].t, NULL, bg_engine_call, &slow[i]);
    }
    usleep(200000);
    /* Engine-free RPCs still answer at once while four calls hang. */
    for (int i = 0; i < 20; i++) {
        Runtime__V1__UpdateRuntimeConfigRequest req = RUNTIME__V1__UPDATE_RUNTIME_CONFIG_REQUEST__INIT;
        tc_result res;
        tc_unary(client, RT("UpdateRuntimeConfig"), &req.base,
                 &runtime__v1__update_runtime_config_response__descriptor, NULL, 2000, &res);
        ck_assert_int_eq(res.code, GRPC_STATUS_OK);
        ck_assert_msg(res.elapsed_ms < 500, "took %.0f ms while the engine hangs", res.elapsed_ms);
    }
    kill(dpid, SIGCONT);
    for (int i = 0; i < 4; i++)
        pthread_join(slow[i].t, NULL);
}
END_TEST

/* ---- engine outage ---- */

START_TEST(engine_outage_is_survived)
{
    env_script(on_containerd() ? "stop-containerd" : "stop-dockerd");
    Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
    Runtime__V1__StatusResponse *s = NULL;
    tc_result res;
    tc_unary(client, RT("Status"), &sreq.base, &runtime__v1__status_response__descriptor, (ProtobufCMessage **)&s,
             5000, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "Status with the engine down: %d %s", res.code, res.details);
    ck_assert(!s->status->conditions[0]->status);
    ck_assert_str_eq(s->status->conditions[0]->type, "RuntimeReady");
    ck_assert_msg(strlen(s->status->conditions[0]->reason) > 0, "no reason");
    ck_assert_msg(strstr(s->status->conditions[0]->message, engine_name()) != NULL, "message: %s",
                  s->status->conditions[0]->message);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    call_version(5000, 0, &res);
    ck_assert_msg(res.code == GRPC_STATUS_UNAVAILABLE, "Version with the engine down: %d %s", res.code, res.details);
    ck_assert_msg(res.elapsed_ms < 3000, "UNAVAILABLE took %.0f ms", res.elapsed_ms);

    env_script(on_containerd() ? "start-containerd" : "start-dockerd");
    call_version(10000, 0, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "Version after the engine is back: %d %s", res.code, res.details);
    tc_unary(client, RT("Status"), &sreq.base, &runtime__v1__status_response__descriptor, (ProtobufCMessage **)&s,
             5000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    ck_assert(s->status->conditions[0]->status);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}
END_TEST

/* ---- signals and the socket ---- */

/* GET /metrics over plain HTTP/1.0. */
static char *fetch_metrics(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char req[] = "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n";
    ck_assert_int_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    size_t cap = 1 << 20, len = 0;
    char *buf = calloc(1, cap);
    ssize_t n;
    while ((n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    return buf;
}

START_TEST(prometheus_metrics)
{
    tc_result res;
    ck_assert_int_eq(call_version(5000, 0, &res), GRPC_STATUS_OK);
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    tc_unary(client, RT("CheckpointContainer"), &req.base, &runtime__v1__checkpoint_container_response__descriptor,
             NULL, 5000, &res);
    char *text = fetch_metrics();
    ck_assert_msg(strstr(text, "200 OK") != NULL, "%.200s", text);
    ck_assert_ptr_nonnull(
        strstr(text, "crishim_rpc_requests_total{method=\"/runtime.v1.RuntimeService/Version\",code=\"OK\"} "));
    ck_assert_ptr_nonnull(strstr(
        text, "crishim_rpc_requests_total{method=\"/runtime.v1.RuntimeService/CheckpointContainer\",code=\"UNIMPLEMENTED\"} 1"));
    ck_assert_ptr_nonnull(
        strstr(text, "crishim_rpc_duration_seconds_count{method=\"/runtime.v1.RuntimeService/Version\"}"));
    ck_assert_ptr_nonnull(strstr(text, "crishim_process_resident_memory_bytes "));
    /* engine calls by operation template and result: Version asked Docker */
    ck_assert_ptr_nonnull(strstr(text, "# TYPE crishim_engine_request_duration_seconds histogram\n"));
    const char *op = on_containerd() ? "Version.Version" : "GET /version";
    char want[256];
    snprintf(want, sizeof want, "crishim_engine_request_duration_seconds_count{operation=\"%s\",result=\"ok\"} ", op);
    ck_assert_msg(strstr(text, want) != NULL, "no %s in %.3000s", want, text);
    snprintf(want, sizeof want, "crishim_engine_request_duration_seconds_bucket{operation=\"%s\",result=\"ok\",le=\"+Inf\"} ",
             op);
    ck_assert_msg(strstr(text, want) != NULL, "no %s in %.3000s", want, text);
    ck_assert_ptr_nonnull(strstr(text, "crishim_engine_streams_open "));
    /* no raw id ever becomes a label: 64 hex digits in a row would be one */
    for (const char *q = strstr(text, "crishim_engine_request_duration_seconds"); q && *q; q++) {
        int hex = 0;
        while (hex < 64 && ((q[hex] >= '0' && q[hex] <= '9') || (q[hex] >= 'a' && q[hex] <= 'f')))
            hex++;
        ck_assert_msg(hex < 64, "an id in the metrics: %.80s", q);
    }
    ck_assert_ptr_nonnull(strstr(text, "crishim_rpc_inflight "));
    ck_assert_ptr_nonnull(strstr(text, "crishim_stream_sessions 0"));
    free(text);
}
END_TEST

/* How many engine calls of one operation the metrics have seen. */
static long engine_calls(const char *op)
{
    char *text = fetch_metrics();
    char key[200];
    snprintf(key, sizeof key, "crishim_engine_request_duration_seconds_count{operation=\"%s\",result=\"ok\"} ", op);
    const char *at = strstr(text, key);
    long n = at ? strtol(at + strlen(key), NULL, 10) : 0;
    free(text);
    return n;
}

/* The engine's version is cached with the negotiated API version: Version
 * RPCs make no engine call while the engine stays up. */
START_TEST(version_is_cached)
{
    tc_result res;
    ck_assert_int_eq(call_version(5000, 0, &res), GRPC_STATUS_OK);
    /* An earlier case restarted the engine: its event stream reconnects
     * (and negotiates again) within about a second. Count from when the
     * background is quiet, so only the Version RPCs below are measured. */
    long before = engine_calls("GET /version");
    for (int i = 0; i < 5; i++) {
        usleep(1500000);
        long now = engine_calls("GET /version");
        if (now == before)
            break;
        before = now;
    }
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(call_version(5000, 0, &res), GRPC_STATUS_OK);
    ck_assert_int_eq(engine_calls("GET /version"), before);
}
END_TEST

START_TEST(socket_mode_is_0660)
{
    struct stat st;
    ck_assert_int_eq(stat(sock_path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 0777, 0660);
}
END_TEST

START_TEST(sigterm_lets_inflight_call_finish)
{
    pid_t dpid = current_engine_pid();
    kill(dpid, SIGSTOP);
    bg_call b = {.timeout_ms = 15000};
    pthread_create(&b.t, NULL, bg_engine_call, &b);
    usleep(300000);
    kill(daemon_pid, SIGTERM);
    usleep(300000);
    kill(dpid, SIGCONT);
    pthread_join(b.t, NULL);
    ck_assert_msg(b.res.code == GRPC_STATUS_OK, "in-flight call: %d %s", b.res.code, b.res.details);
    int st = tc_daemon_stop(daemon_pid, 0, 15000);
    daemon_pid = -1;
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d; see %s", st, log_path);
    ck_assert_msg(access(sock_path, F_OK) != 0, "socket %s still exists", sock_path);
}
END_TEST

START_TEST(stale_socket_is_replaced)
{
    stop_daemon();
    /* A socket file nobody listens on, as a crash leaves behind. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(sock_path), sizeof sa.sun_path);
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    unlink(sock_path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    start_daemon();
    tc_result res;
    ck_assert_int_eq(call_version(5000, 0, &res), GRPC_STATUS_OK);
}
END_TEST

/* ---- --backend auto: which engine, and why ---- */

/* What a crishim started with --backend=auto said about its choice. */
typedef struct auto_outcome {
    char version[512];  /* Version's runtime_version: names the engine in use */
    bool runtime_ready;
    char backend[4096]; /* verbose Status' "backend" entry */
    char log[16384];    /* the start of its log */
} auto_outcome;

/* Starts crishim with --backend=auto on docker_host and containerd_address
 * (plus the CNI and state flags the containerd backend needs, as
 * tc_daemon_up gives them), asks Version and verbose Status, and stops it:
 * it must exit 0. */
static void run_auto(const char *tag, const char *docker_host, const char *containerd_address, auto_outcome *o)
{
    memset(o, 0, sizeof *o);
    char sock[600], logp[600], dh[600], ca[600], conf[600], bin[600], state[600];
    snprintf(sock, sizeof sock, "%s/crishim-auto-%s.sock", need_env("CRISHIM_TEST_DIR"), tag);
    snprintf(logp, sizeof logp, "%s/crishim-auto-%s.log", need_env("CRISHIM_TEST_DIR"), tag);
    unlink(logp);
    snprintf(dh, sizeof dh, "--docker-host=%s", docker_host);
    snprintf(ca, sizeof ca, "--containerd-address=%s", containerd_address);
    snprintf(conf, sizeof conf, "--cni-conf-dir=%s", need_env("CRISHIM_TEST_CNI_CONF_DIR"));
    snprintf(bin, sizeof bin, "--cni-bin-dir=%s", need_env("CRISHIM_TEST_CNI_BIN_DIR"));
    snprintf(state, sizeof state, "--state-dir=%s", need_env("CRISHIM_TEST_STATE_DIR"));
    pid_t pid = tc_daemon_start(need_env("CRISHIM_BIN"), sock, logp, "--backend=auto", dh, ca, conf, bin, state,
                                NULL);
    ck_assert_msg(pid > 0, "crishim did not start; see %s", logp);
    char target[700];
    snprintf(target, sizeof target, "unix:%s", sock);
    tc_client *c = tc_connect(target);

    Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
    Runtime__V1__VersionResponse *v = NULL;
    tc_result res;
    tc_unary(c, RT("Version"), &vreq.base, &runtime__v1__version_response__descriptor, (ProtobufCMessage **)&v,
             5000, &res);
    if (res.code == GRPC_STATUS_OK)
        snprintf(o->version, sizeof o->version, "%s", v->runtime_version);
    else
        snprintf(o->version, sizeof o->version, "(Version failed: %.400s)", res.details);
    if (v)
        protobuf_c_message_free_unpacked(&v->base, NULL);

    Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
    sreq.verbose = 1;
    Runtime__V1__StatusResponse *s = NULL;
    tc_unary(c, RT("Status"), &sreq.base, &runtime__v1__status_response__descriptor, (ProtobufCMessage **)&s, 5000,
             &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "Status: %s", res.details);
    o->runtime_ready = s->status->conditions[0]->status;
    for (size_t i = 0; i < s->n_info; i++)
        if (!strcmp(s->info[i]->key, "backend"))
            snprintf(o->backend, sizeof o->backend, "%s", s->info[i]->value);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    tc_close(c);
    int st = tc_daemon_stop(pid, SIGTERM, 20000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "crishim exited with %d; see %s", st, logp);
    FILE *f = fopen(logp, "r");
    ck_assert_msg(f != NULL, "no log %s", logp);
    size_t n = fread(o->log, 1, sizeof o->log - 1, f);
    o->log[n] = '\0';
    fclose(f);
}

/* The last 3000 bytes of a log, for a failure message (Check refuses long
 * ones). */
static const char *log_end(const char *log)
{
    size_t n = strlen(log);
    return n > 3000 ? log + n - 3000 : log;
}

/* A socket path nothing listens on. */
static void dead_socket(const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", need_env("CRISHIM_TEST_DIR"), name);
    unlink(path);
}

START_TEST(auto_chooses_docker_when_it_answers)
{
    auto_outcome o;
    run_auto("docker", need_env("CRISHIM_TEST_DOCKER_HOST"), need_env("CRISHIM_TEST_CONTAINERD_ADDRESS"), &o);
    ck_assert_msg(strstr(o.version, "docker") != NULL, "runtime_version %s", o.version);
    ck_assert_msg(o.runtime_ready, "RuntimeReady false on the test dockerd");
    ck_assert_msg(strstr(o.backend, "\"name\":\"docker\"") && strstr(o.backend, "\"selected\":\"auto\""),
                  "backend info: %s", o.backend);
    /* the reason names the socket that answered, and its version */
    ck_assert_msg(strstr(o.backend, need_env("CRISHIM_TEST_DOCKER_HOST")) && strstr(o.backend, "answered version"),
                  "backend info: %s", o.backend);
    ck_assert_msg(strstr(o.log, "backend auto: chose docker") != NULL, "log says (its end):\n%s", log_end(o.log));
}
END_TEST

START_TEST(auto_chooses_containerd_when_docker_is_silent)
{
    char dead[600], host[700];
    dead_socket("no-docker.sock", dead, sizeof dead);
    snprintf(host, sizeof host, "unix://%s", dead);
    const char *caddr = need_env("CRISHIM_TEST_CONTAINERD_ADDRESS");
    auto_outcome o;
    run_auto("containerd", host, caddr, &o);
    ck_assert_msg(strstr(o.version, "containerd") != NULL, "runtime_version %s", o.version);
    ck_assert_msg(o.runtime_ready, "RuntimeReady false on the test containerd");
    ck_assert_msg(strstr(o.backend, "\"name\":\"containerd\"") && strstr(o.backend, "\"selected\":\"auto\""),
                  "backend info: %s", o.backend);
    /* why: Docker's socket and its error, then containerd's socket and version */
    ck_assert_msg(strstr(o.backend, dead) && strstr(o.backend, "No such file or directory"), "backend info: %s",
                  o.backend);
    ck_assert_msg(strstr(o.backend, caddr) && strstr(o.backend, "answered version"), "backend info: %s", o.backend);
    ck_assert_msg(strstr(o.log, "backend auto: chose containerd") != NULL, "log says (its end):\n%s", log_end(o.log));
}
END_TEST

/* Neither answers: crishim still serves, on Docker (RuntimeReady false until
 * it comes up), and says what it tried. */
START_TEST(auto_without_engines_serves_on_docker)
{
    char dead_d[600], dead_c[600], host[700];
    dead_socket("no-docker.sock", dead_d, sizeof dead_d);
    dead_socket("no-containerd.sock", dead_c, sizeof dead_c);
    snprintf(host, sizeof host, "unix://%s", dead_d);
    auto_outcome o;
    run_auto("none", host, dead_c, &o);
    ck_assert_msg(!o.runtime_ready, "RuntimeReady true without an engine");
    ck_assert_msg(strstr(o.backend, "\"name\":\"docker\"") && strstr(o.backend, "neither engine answered"),
                  "backend info: %s", o.backend);
    ck_assert_msg(strstr(o.backend, dead_d) && strstr(o.backend, dead_c), "backend info: %s", o.backend);
    ck_assert_msg(strstr(o.log, "level=error msg=\"backend auto: no engine answers\"") != NULL, "log says (its end):\n%s",
                  log_end(o.log));
}
END_TEST

int main(void)
{
    need_env(on_containerd() ? "CRISHIM_TEST_CONTAINERD_ADDRESS" : "CRISHIM_TEST_DOCKER_HOST");
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("rpc");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, start_daemon, stop_daemon);
    tcase_add_test(tc, every_registered_rpc_answers);
    tcase_add_test(tc, unknown_method_is_unimplemented);
    tcase_add_test(tc, version_and_status);
    tcase_add_test(tc, network_ready_follows_the_cni_config);
    tcase_add_test(tc, failed_pod_network_is_undone);
    tcase_add_test(tc, update_runtime_config_sets_pod_cidr);
    tcase_add_test(tc, bidi_echo_round_trip);
    tcase_add_test(tc, large_messages_up_to_16_mib);
    tcase_add_test(tc, deadline_is_honoured_when_engine_hangs);
    tcase_add_test(tc, cancelled_call_is_released);
    tcase_add_test(tc, slow_engine_blocks_nothing_else);
    tcase_add_test(tc, engine_outage_is_survived);
    tcase_add_test(tc, prometheus_metrics);
    tcase_add_test(tc, version_is_cached);
    tcase_add_test(tc, socket_mode_is_0660);
    tcase_add_test(tc, stale_socket_is_replaced);
    tcase_add_test(tc, sigterm_lets_inflight_call_finish);
    suite_add_tcase(s, tc);
    /* Its own crishims, on both engines of the env, whichever backend the
     * run is for. */
    TCase *ta = tcase_create("auto");
    tcase_set_timeout(ta, 120);
    tcase_add_test(ta, auto_chooses_docker_when_it_answers);
    tcase_add_test(ta, auto_chooses_containerd_when_docker_is_silent);
    tcase_add_test(ta, auto_without_engines_serves_on_docker);
    suite_add_tcase(s, ta);
    return tc_run_suite(s, true);
}
