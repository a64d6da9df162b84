/* Helpers shared by the CRI handler files. */
#ifndef CS_CRI_INTERNAL_H
#define CS_CRI_INTERNAL_H

#include "cri/cri.h"
#include "crishim/v1/crishim.pb-c.h"
#include "runtime/v1/api.pb-c.h"
#include "util/arena.h"

/* A message of `type` in the call's arena, initialised with its INIT macro:
 *     Runtime__V1__VersionResponse *r = CRI_NEW(call, Runtime__V1__VersionResponse,
 *                                               RUNTIME__V1__VERSION_RESPONSE__INIT); */
/* Variadic: the INIT macros expand to brace lists with commas. */
#define CRI_ALLOC(arena, type, ...)                   \
    ({                                                \
        type *m_ = cs_arena_alloc(arena, sizeof *m_); \
        type i_ = __VA_ARGS__;                        \
        *m_ = i_;                                     \
        m_;                                           \
    })
#define CRI_NEW(call, type, ...) CRI_ALLOC(cs_call_arena(call), type, __VA_ARGS__)

#define CRI_RT(call) ((cri_runtime *)cs_call_app(call))

/* The backend op, or UNIMPLEMENTED naming the RPC and the backend. */
#define CRI_NEED_OP(call, op, err)                                                                          \
    do {                                                                                                   \
        if (!CRI_RT(call)->backend->ops->op)                                                               \
            return cs_error_set(err, CS_ERR_UNIMPLEMENTED, "%s is not supported by the %s backend yet",    \
                                cs_call_method(call) + 1, cs_backend_name(CRI_RT(call)->backend));         \
    } while (0)

/* runtime.c */
int cri_version(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_status(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_runtime_config(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_update_runtime_config(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);

/* health.c: grpc.health.v1.Health */
int cri_health_check(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_health_watch(cs_call *call, const ProtobufCMessage *req, cs_error *err);

/* image.c */
int cri_list_images(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_stream_images(cs_call *call, const ProtobufCMessage *req, cs_error *err);
int cri_image_status(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_pull_image(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_remove_image(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_image_fs_info(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);

/* sandbox.c */
int cri_run_pod_sandbox(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_stop_pod_sandbox(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_remove_pod_sandbox(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_pod_sandbox_status(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_list_pod_sandbox(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_stream_pod_sandboxes(cs_call *call, const ProtobufCMessage *req, cs_error *err);
int cri_update_pod_sandbox_resources(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                     cs_error *err);

/* Status messages, shared with GetContainerEvents (which builds them in a
 * per-event arena). */
Runtime__V1__PodSandboxStatus *cri_sandbox_status_msg(const cs_sandbox *s, cs_arena *a);
Runtime__V1__ContainerStatus *cri_container_status_msg(const cs_container *c, cs_arena *a);

/* events.c */
int cri_get_container_events(cs_call *call, const ProtobufCMessage *req, cs_error *err);

/* container.c */
int cri_create_container(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_start_container(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_stop_container(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_remove_container(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_list_containers(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_stream_containers(cs_call *call, const ProtobufCMessage *req, cs_error *err);
int cri_container_status(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_update_container_resources(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                   cs_error *err);
int cri_reopen_container_log(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_exec_sync(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);

/* streaming.c: URLs on the streaming server */
int cri_exec(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_attach(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_port_forward(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);

/* stats.c */
int cri_container_stats(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_list_container_stats(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_pod_sandbox_stats(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_list_pod_sandbox_stats(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_stream_container_stats(cs_call *call, const ProtobufCMessage *req, cs_error *err);
int cri_stream_pod_sandbox_stats(cs_call *call, const ProtobufCMessage *req, cs_error *err);

/* metrics.c: the CRI metrics (cadvisor's names) */
int cri_list_metric_descriptors(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_list_pod_sandbox_metrics(cs_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, cs_error *err);
int cri_stream_pod_sandbox_metrics(cs_call *call, const ProtobufCMessage *req, cs_error *err);
/* The pieces, for unit tests: one pod's metrics (in a), every descriptor. */
Runtime__V1__PodSandboxMetrics *cri_pod_metrics_msg(const cs_sandbox_stats *s, cs_arena *a);
Runtime__V1__MetricDescriptor **cri_metric_descriptors(cs_arena *a, size_t *n);

/* streams.c: crishim.v1.Streaming */
int cri_stream_exec(cs_call *call, cs_error *err);
int cri_stream_attach(cs_call *call, cs_error *err);

/* diagnostics.c */
int cri_diag_echo(cs_call *call, cs_error *err);

#endif
