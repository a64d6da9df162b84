/* Pod and container helpers shared by the integration suites (pods.h). */
#include "pods.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tc_daemon *tp_daemon;
static const char *tp_suite = "tests";
static char tp_logs[256];
static int tp_seq;

void tp_use(tc_daemon *d, const char *suite, const char *log_root)
{
    tp_daemon = d;
    tp_suite = suite;
    snprintf(tp_logs, sizeof tp_logs, "%s", log_root);
}

ProtobufCMessage *tp_call(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
                              grpc_status_code want, tc_result *res)
{
    tc_result local;
    if (!res)
        res = &local;
    ProtobufCMessage *resp = NULL;
    tc_unary(tp_daemon->client, method, req, out, &resp, 60000, res);
    ck_assert_msg(res->code == want, "%s: got %d (%s), want %d", method, res->code, res->details, want);
    return resp;
}

/* For calls whose response is not looked at. */
void tp_call_drop(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
                      grpc_status_code want, tc_result *res)
{
    ProtobufCMessage *m = tp_call(method, req, out, want, res);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}



void tp_pod_init(tp_pod *p, Runtime__V1__NamespaceMode net)
{
    memset(p, 0, sizeof *p);
    runtime__v1__pod_sandbox_config__init(&p->cfg);
    runtime__v1__pod_sandbox_metadata__init(&p->md);
    runtime__v1__linux_pod_sandbox_config__init(&p->linux);
    runtime__v1__linux_sandbox_security_context__init(&p->sc);
    runtime__v1__namespace_option__init(&p->ns);
    runtime__v1__pod_sandbox_config__labels_entry__init(&p->label);
    int seq = ++tp_seq;
    snprintf(p->name, sizeof p->name, "pod%d", seq);
    snprintf(p->uid, sizeof p->uid, "uid-%d-%d", (int)getpid(), seq);
    snprintf(p->logdir, sizeof p->logdir, "%s/%s", tp_logs, p->uid);
    p->md.name = p->name;
    p->md.namespace_ = "test";
    p->md.uid = p->uid;
    p->cfg.metadata = &p->md;
    p->cfg.log_directory = p->logdir;
    p->cfg.hostname = p->name;
    p->label.key = "suite";
    p->label.value = (char *)tp_suite;
    p->labels[0] = &p->label;
    p->cfg.labels = p->labels;
    p->cfg.n_labels = 1;
    p->ns.network = net;
    p->sc.namespace_options = &p->ns;
    p->linux.security_context = &p->sc;
    p->cfg.linux = &p->linux;
}

void tp_pod_run(tp_pod *p)
{
    Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    req.config = &p->cfg;
    Runtime__V1__RunPodSandboxResponse *r =
        TP_CALL_OK("RunPodSandbox", req, Runtime__V1__RunPodSandboxResponse, &runtime__v1__run_pod_sandbox_response__descriptor);
    p->id = strdup(r->pod_sandbox_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

void tp_pod_remove(tp_pod *p)
{
    Runtime__V1__StopPodSandboxRequest s = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    s.pod_sandbox_id = p->id;
    protobuf_c_message_free_unpacked(tp_call(RT("StopPodSandbox"), &s.base, &runtime__v1__stop_pod_sandbox_response__descriptor,
                                          GRPC_STATUS_OK, NULL),
                                     NULL);
    Runtime__V1__RemovePodSandboxRequest r = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    r.pod_sandbox_id = p->id;
    protobuf_c_message_free_unpacked(tp_call(RT("RemovePodSandbox"), &r.base, &runtime__v1__remove_pod_sandbox_response__descriptor, GRPC_STATUS_OK,
             NULL),
        NULL);
    free(p->id);
}

/* Creates (and optionally starts) a container running `sh -c script`. */
char *tp_container(tp_pod *p, const char *name, const char *script, int64_t memory, bool start)
{
    return tp_container_stdio(p, name, script, memory, start, false, false, false);
}

char *tp_container_stdio(tp_pod *p, const char *name, const char *script, int64_t memory, bool start, bool in,
                         bool once, bool tty)
{
    Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
    md.name = (char *)name;
    Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
    img.image = (char *)tc_need_env("CRISHIM_TEST_IMG_BUSYBOX");
    char *cmd[] = {"sh", "-c", (char *)script};
    char logp[128];
    snprintf(logp, sizeof logp, "%s/0.log", name);
    Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    res.memory_limit_in_bytes = memory;
    res.oom_score_adj = -100; /* clamped when the host can't grant it */
    Runtime__V1__LinuxContainerConfig lc = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
    lc.resources = &res;
    Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
    cfg.metadata = &md;
    cfg.image = &img;
    cfg.command = cmd;
    cfg.n_command = 3;
    cfg.log_path = logp;
    cfg.linux = &lc;
    cfg.stdin = in;
    cfg.stdin_once = once;
    cfg.tty = tty;
    Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
    req.pod_sandbox_id = p->id;
    req.config = &cfg;
    req.sandbox_config = &p->cfg;
    Runtime__V1__CreateContainerResponse *r = TP_CALL_OK("CreateContainer", req, Runtime__V1__CreateContainerResponse,
                                                      &runtime__v1__create_container_response__descriptor);
    char *id = strdup(r->container_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    if (start) {
        Runtime__V1__StartContainerRequest s = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
        s.container_id = id;
        protobuf_c_message_free_unpacked(tp_call(RT("StartContainer"), &s.base, &runtime__v1__start_container_response__descriptor, GRPC_STATUS_OK, NULL),
            NULL);
    }
    return id;
}

Runtime__V1__ContainerStatusResponse *tp_status(const char *id)
{
    Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    req.container_id = (char *)id;
    return TP_CALL_OK("ContainerStatus", req, Runtime__V1__ContainerStatusResponse,
                   &runtime__v1__container_status_response__descriptor);
}

/* Waits until the container has exited; returns its status. */
Runtime__V1__ContainerStatusResponse *tp_wait_exit(const char *id, int timeout_s)
{
    for (int i = 0; i < timeout_s * 10; i++) {
        Runtime__V1__ContainerStatusResponse *s = tp_status(id);
        if (s->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
            return s;
        protobuf_c_message_free_unpacked(&s->base, NULL);
        usleep(100000);
    }
    ck_abort_msg("container %s did not exit in %d s", id, timeout_s);
    return NULL;
}

Runtime__V1__ExecSyncResponse *tp_exec_sync(const char *id, const char *script, int64_t timeout,
                                                grpc_status_code want, tc_result *res)
{
    char *cmd[] = {"sh", "-c", (char *)script};
    Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
    req.container_id = (char *)id;
    req.cmd = cmd;
    req.n_cmd = 3;
    req.timeout = timeout;
    return (Runtime__V1__ExecSyncResponse *)tp_call(RT("ExecSync"), &req.base, &runtime__v1__exec_sync_response__descriptor,
                                                 want, res);
}

char *tp_bytes_dup(ProtobufCBinaryData b)
{
    return b.data ? strndup((char *)b.data, b.len) : strdup("");
}

char *tp_exec_out(const char *id, const char *script)
{
    Runtime__V1__ExecSyncResponse *r = tp_exec_sync(id, script, 10, GRPC_STATUS_OK, NULL);
    ck_assert_msg(r->exit_code == 0, "exec %s: exit %d: %.*s", script, r->exit_code, (int)r->stderr.len,
                  r->stderr.data);
    char *s = tp_bytes_dup(r->stdout);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return s;
}

void tp_pull(const char *image)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    tc_result res;
    tc_unary(tp_daemon->client, "/runtime.v1.ImageService/PullImage", &req.base,
             &runtime__v1__pull_image_response__descriptor, NULL, 120000, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "pull %s: %s", image, res.details);
}

tc_stream *tp_events(int timeout_ms)
{
    tc_stream *st = tc_stream_open(tp_daemon->client, RT("GetContainerEvents"), timeout_ms);
    Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
    ck_assert(tc_stream_send(st, &req.base));
    ck_assert(tc_stream_close_send(st));
    usleep(300000); /* subscribed */
    return st;
}
