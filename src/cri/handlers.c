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
    {.method = IMAGE("ListImages"), .unary = cri_list_images},
    {.method = IMAGE("StreamImages"), .server_stream = cri_stream_images},
    {.method = IMAGE("ImageStatus"), .unary = cri_image_status},
    {.method = IMAGE("PullImage"), .unary = cri_pull_image},
    {.method = IMAGE("RemoveImage"), .unary = cri_remove_image},
    {.method = IMAGE("ImageFsInfo"), .unary = cri_image_fs_info},
    {.method = "/crishim.v1.Diagnostics/Echo", .bidi = cri_diag_echo},
    {NULL},
};
