/* The pod lifecycle, step by step, over CRI; see cristeps.h. */
#include "cristeps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/v1/api.pb-c.h"

#define RT(m) "/runtime.v1.RuntimeService/" m

const char *const cri_step_names[NSTEPS] = {"RunPodSandbox",   "CreateContainer", "StartContainer",
                                            "StopContainer",   "RemoveContainer", "StopPodSandbox",
                                            "RemovePodSandbox"};

/* One call, its latency added to s (NULL: not timed); the reply returned. */
static ProtobufCMessage *timed(tc_client *c, const char *m, const ProtobufCMessage *req,
                               const ProtobufCMessageDescriptor *d, samples *s)
{
    ProtobufCMessage *x = NULL;
    tc_result res;
    double t0 = tc_now_ms();
    tc_unary(c, m, req, d, &x, 120000, &res);
    if (res.code != GRPC_STATUS_OK) {
        fprintf(stderr, "bench: %s: %s\n", m, res.details);
        exit(1);
    }
    if (s)
        add_sample(s, tc_now_ms() - t0);
    return x;
}

static void timed_drop(tc_client *c, const char *m, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d,
                       samples *s)
{
    protobuf_c_message_free_unpacked(timed(c, m, req, d, s), NULL);
}

void cri_steps(tc_client *c, const char *image, int n, samples s[NSTEPS], cri_step_hook hook, void *arg)
{
    char name[32], uid[64];
    snprintf(name, sizeof name, "step%d", n);
    snprintf(uid, sizeof uid, "step-%d-%d", (int)getpid(), n);
    Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
    md.name = name;
    md.namespace_ = "bench";
    md.uid = uid;
    Runtime__V1__PodSandboxConfig pc = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    pc.metadata = &md;
    pc.hostname = name;
    Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    rp.config = &pc;
    ProtobufCMessage *x =
        timed(c, RT("RunPodSandbox"), &rp.base, &runtime__v1__run_pod_sandbox_response__descriptor, &s[S_RUN]);
    char *pod = strdup(((Runtime__V1__RunPodSandboxResponse *)x)->pod_sandbox_id);
    protobuf_c_message_free_unpacked(x, NULL);
    if (hook)
        hook(arg, S_RUN, pod);

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
    /* kubelet always sends the masked and read-only paths (its defaults) */
    char *masked[] = {"/proc/asound",      "/proc/acpi",       "/proc/kcore",       "/proc/keys",
                      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                      "/proc/scsi",          "/sys/firmware"};
    char *readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.masked_paths = masked;
    sec.n_masked_paths = sizeof masked / sizeof masked[0];
    sec.readonly_paths = readonly;
    sec.n_readonly_paths = sizeof readonly / sizeof readonly[0];
    Runtime__V1__LinuxContainerConfig lc = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
    lc.security_context = &sec;
    cc.linux = &lc;
    Runtime__V1__CreateContainerRequest cr = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
    cr.pod_sandbox_id = pod;
    cr.config = &cc;
    cr.sandbox_config = &pc;
    x = timed(c, RT("CreateContainer"), &cr.base, &runtime__v1__create_container_response__descriptor, &s[S_CREATE]);
    char *id = strdup(((Runtime__V1__CreateContainerResponse *)x)->container_id);
    protobuf_c_message_free_unpacked(x, NULL);
    if (hook)
        hook(arg, S_CREATE, id);

    Runtime__V1__StartContainerRequest sr = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    sr.container_id = id;
    timed_drop(c, RT("StartContainer"), &sr.base, &runtime__v1__start_container_response__descriptor, &s[S_START]);
    Runtime__V1__StopContainerRequest sc = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    sc.container_id = id;
    timed_drop(c, RT("StopContainer"), &sc.base, &runtime__v1__stop_container_response__descriptor, &s[S_STOP]);
    Runtime__V1__RemoveContainerRequest rc = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    rc.container_id = id;
    timed_drop(c, RT("RemoveContainer"), &rc.base, &runtime__v1__remove_container_response__descriptor,
               &s[S_REMOVE]);
    Runtime__V1__StopPodSandboxRequest sp = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    sp.pod_sandbox_id = pod;
    timed_drop(c, RT("StopPodSandbox"), &sp.base, &runtime__v1__stop_pod_sandbox_response__descriptor,
               &s[S_STOP_POD]);
    Runtime__V1__RemovePodSandboxRequest rr = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    rr.pod_sandbox_id = pod;
    timed_drop(c, RT("RemovePodSandbox"), &rr.base, &runtime__v1__remove_pod_sandbox_response__descriptor,
               &s[S_REMOVE_POD]);
    free(pod);
    free(id);
}

void cri_steps_print(const samples a[NSTEPS], const samples b[NSTEPS], const char *const extra[NSTEPS])
{
    for (int k = 0; k < NSTEPS; k++) {
        samples *sa = (samples *)&a[k], *sb = (samples *)&b[k];
        double a50 = pct(sa, 0.5), b50 = pct(sb, 0.5);
        printf("| %-16s | %8.2f | %8.2f | %8.2f | %8.2f | %5.3f |", cri_step_names[k], a50, pct(sa, 0.99), b50,
               pct(sb, 0.99), b50 > 0 ? a50 / b50 : 0);
        if (extra)
            printf(" %s |", extra[k]);
        printf("\n");
    }
}
