/* The handler table: which RPCs crishim serves. Every method of every service is
 * registered by the server; those without an entry here answer UNIMPLEMENTED. */
#include "cri/internal.h"

#define RUNTIME(name) "/runtime.v1.RuntimeService/" name
#define IMAGE(name) "/runtime.v1.ImageService/" name

const cs_handler cri_handlers[] = {
    {.method = RUNTIME("Version"), .unary = cri_version},
    {.method = RUNTIME("Status"), .unary = cri_status},
    {.method = RUNTIME("RuntimeConfig"), .unary = cri_runtime_config},
    {.method = RUNTIME("UpdateRuntimeConfig"), .unary = cri_update_runtime_config},
    {.method = RUNTIME("RunPodSandbox"), .unary = cri_run_pod_sandbox},
    {.method = RUNTIME("StopPodSandbox"), .unary = cri_stop_pod_sandbox},
    {.method = RUNTIME("RemovePodSandbox"), .unary = cri_remove_pod_sandbox},
    {.method = RUNTIME("PodSandboxStatus"), .unary = cri_pod_sandbox_status},
    {.method = RUNTIME("ListPodSandbox"), .unary = cri_list_pod_sandbox},
    {.method = RUNTIME("StreamPodSandboxes"), .server_stream = cri_stream_pod_sandboxes},
    {.method = RUNTIME("UpdatePodSandboxResources"), .unary = cri_update_pod_sandbox_resources},
    {.method = RUNTIME("CreateContainer"), .unary = cri_create_container},
    {.method = RUNTIME("StartContainer"), .unary = cri_start_container},
    {.method = RUNTIME("StopContainer"), .unary = cri_stop_container},
    {.method = RUNTIME("RemoveContainer"), .unary = cri_remove_container},
    {.method = RUNTIME("ListContainers"), .unary = cri_list_containers},
    {.method = RUNTIME("StreamContainers"), .server_stream = cri_stream_containers},
    {.method = RUNTIME("ContainerStatus"), .unary = cri_container_status},
    {.method = RUNTIME("UpdateContainerResources"), .unary = cri_update_container_resources},
    {.method = RUNTIME("ReopenContainerLog"), .unary = cri_reopen_container_log},
    {.method = RUNTIME("ExecSync"), .unary = cri_exec_sync},
    {.method = RUNTIME("GetContainerEvents"), .server_stream = cri_get_container_events},
    {.method = RUNTIME("ContainerStats"), .unary = cri_container_stats},
    {.method = RUNTIME("ListContainerStats"), .unary = cri_list_container_stats},
    {.method = RUNTIME("PodSandboxStats"), .unary = cri_pod_sandbox_stats},
    {.method = RUNTIME("ListPodSandboxStats"), .unary = cri_list_pod_sandbox_stats},
    {.method = RUNTIME("StreamContainerStats"), .server_stream = cri_stream_container_stats},
    {.method = RUNTIME("StreamPodSandboxStats"), .server_stream = cri_stream_pod_sandbox_stats},
    {.method = IMAGE("ListImages"), .unary = cri_list_images},
    {.method = IMAGE("StreamImages"), .server_stream = cri_stream_images},
    {.method = IMAGE("ImageStatus"), .unary = cri_image_status},
    {.method = IMAGE("PullImage"), .unary = cri_pull_image},
    {.method = IMAGE("RemoveImage"), .unary = cri_remove_image},
    {.method = IMAGE("ImageFsInfo"), .unary = cri_image_fs_info},
    {.method = "/crishim.v1.Streaming/Exec", .bidi = cri_stream_exec},
    {.method = "/crishim.v1.Streaming/Attach", .bidi = cri_stream_attach},
    {.method = "/crishim.v1.Diagnostics/Echo", .bidi = cri_diag_echo},
    {.method = NULL},
};
