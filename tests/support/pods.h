/* Pods and containers for the integration suites: a crishim daemon (see
 * client.h), a pod with a busybox container running a script, ExecSync.
 * Each helper fails the current Check test when a call does not give the
 * expected code. */
#ifndef CS_TEST_PODS_H
#define CS_TEST_PODS_H

#include <stdbool.h>

#include "client.h"
#include "runtime/v1/api.pb-c.h"

#define RT(m) "/runtime.v1.RuntimeService/" m

typedef struct tp_pod {
    Runtime__V1__PodSandboxConfig cfg;
    Runtime__V1__PodSandboxMetadata md;
    Runtime__V1__LinuxPodSandboxConfig linux;
    Runtime__V1__LinuxSandboxSecurityContext sc;
    Runtime__V1__NamespaceOption ns;
    Runtime__V1__PodSandboxConfig__LabelsEntry label, *labels[1];
    char name[64], uid[64], logdir[400];
    char *id;
} tp_pod;

/* The daemon the helpers call (its client may change across restarts), the
 * suite's name (a pod label) and where pod log directories go. */
void tp_use(tc_daemon *d, const char *suite, const char *log_root);

ProtobufCMessage *tp_call(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
                              grpc_status_code want, tc_result *res);
void tp_call_drop(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
                      grpc_status_code want, tc_result *res);
/* PullImage, which must succeed. */
void tp_pull(const char *image);
void tp_pod_init(tp_pod *p, Runtime__V1__NamespaceMode net);
void tp_pod_run(tp_pod *p);
void tp_pod_remove(tp_pod *p);
char *tp_container(tp_pod *p, const char *name, const char *script, int64_t memory, bool start);
/* The same, with CRI's stdin, stdin_once and tty. */
char *tp_container_stdio(tp_pod *p, const char *name, const char *script, int64_t memory, bool start, bool in,
                         bool once, bool tty);
Runtime__V1__ContainerStatusResponse *tp_status(const char *id);
Runtime__V1__ContainerStatusResponse *tp_wait_exit(const char *id, int timeout_s);
Runtime__V1__ExecSyncResponse *tp_exec_sync(const char *id, const char *script, int64_t timeout,
                                                grpc_status_code want, tc_result *res);
char *tp_bytes_dup(ProtobufCBinaryData b);
/* A GetContainerEvents stream, subscribed (the request sent, a moment
 * given for the daemon to subscribe); the caller cancels and finishes it. */
tc_stream *tp_events(int timeout_ms);
char *tp_exec_out(const char *id, const char *script);
#define TP_CALL_OK(method, req, T, out_desc) ((T *)tp_call(RT(method), &(req).base, out_desc, GRPC_STATUS_OK, NULL))

#endif
