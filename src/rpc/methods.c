/* Method table from the protobuf-c descriptors; see methods.h. */
#include "rpc/methods.h"

#include <stdlib.h>
#include <string.h>

#include "crishim/v1/crishim.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "runtime/v1/api.pb-c.h"
#include "util/mem.h"

const ProtobufCServiceDescriptor *const cs_services[] = {
    &runtime__v1__runtime_service__descriptor,
    &runtime__v1__image_service__descriptor,
    &crishim__v1__streaming__descriptor,
    &crishim__v1__diagnostics__descriptor,
    &grpc__health__v1__health__descriptor,
    NULL,
};

/* Mirrors the `stream` markers of proto/. */
static const struct {
    const char *path;
    cs_method_kind kind;
} streaming_methods[] = {
    {"/runtime.v1.RuntimeService/StreamPodSandboxes", CS_METHOD_SERVER_STREAM},
    {"/runtime.v1.RuntimeService/StreamContainers", CS_METHOD_SERVER_STREAM},
    {"/runtime.v1.RuntimeService/StreamContainerStats", CS_METHOD_SERVER_STREAM},
    {"/runtime.v1.RuntimeService/StreamPodSandboxStats", CS_METHOD_SERVER_STREAM},
    {"/runtime.v1.RuntimeService/GetContainerEvents", CS_METHOD_SERVER_STREAM},
    {"/runtime.v1.RuntimeService/StreamPodSandboxMetrics", CS_METHOD_SERVER_STREAM},
    {"/runtime.v1.ImageService/StreamImages", CS_METHOD_SERVER_STREAM},
    {"/crishim.v1.Streaming/Exec", CS_METHOD_BIDI},
    {"/crishim.v1.Streaming/Attach", CS_METHOD_BIDI},
    {"/crishim.v1.Diagnostics/Echo", CS_METHOD_BIDI},
    {"/grpc.health.v1.Health/Watch", CS_METHOD_SERVER_STREAM},
};

cs_method_kind cs_method_kind_of(const char *path)
{
    for (size_t i = 0; i < sizeof streaming_methods / sizeof streaming_methods[0]; i++)
        if (!strcmp(streaming_methods[i].path, path))
            return streaming_methods[i].kind;
    return CS_METHOD_UNARY;
}

const char *cs_method_kind_name(cs_method_kind kind)
{
    switch (kind) {
    case CS_METHOD_UNARY:
        return "unary";
    case CS_METHOD_SERVER_STREAM:
        return "server-streaming";
    case CS_METHOD_BIDI:
        return "bidi-streaming";
    }
    return "?";
}

cs_method *cs_methods_build(size_t *count)
{
    size_t n = 0;
    for (size_t s = 0; cs_services[s]; s++)
        n += cs_services[s]->n_methods;
    cs_method *m = cs_xcalloc(n, sizeof *m);
    size_t i = 0;
    for (size_t s = 0; cs_services[s]; s++) {
        const ProtobufCServiceDescriptor *svc = cs_services[s];
        for (unsigned k = 0; k < svc->n_methods; k++, i++) {
            m[i].path = cs_xasprintf("/%s/%s", svc->name, svc->methods[k].name);
            m[i].desc = &svc->methods[k];
            m[i].kind = cs_method_kind_of(m[i].path);
        }
    }
    *count = n;
    return m;
}

void cs_methods_free(cs_method *methods, size_t count)
{
    if (!methods)
        return;
    for (size_t i = 0; i < count; i++)
        free(methods[i].path);
    free(methods);
}
