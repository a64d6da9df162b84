/* libFuzzer target: CRI request decoding and validation. The first byte picks
 * a method of runtime.v1; the rest is decoded as its request (into an arena,
 * as the server does) and run through the validation crishim applies before
 * any engine call: image references, security contexts, log paths, maps. */
#include <stddef.h>
#include <stdint.h>

#include "backend/imageref.h"
#include "cri/convert.h"
#include "rpc/methods.h"
#include "rpc/wire.h"
#include "runtime/v1/api.pb-c.h"

static cs_method *methods;
static size_t nmethods;

static void check_image(const Runtime__V1__ImageSpec *spec)
{
    cs_imageref r;
    if (spec && spec->image)
        cs_imageref_parse(spec->image, &r, NULL);
}

static void validate(const ProtobufCMessage *m, cs_arena *a)
{
    cs_security sec;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == &runtime__v1__create_container_request__descriptor) {
        const Runtime__V1__CreateContainerRequest *r = (const void *)m;
        if (r->config) {
            check_image(r->config->image);
            cri_check_relative_path(r->config->log_path, "log_path", NULL);
            cri_kvs_from_map((void *const *)r->config->labels, r->config->n_labels, a);
            if (r->config->linux)
                cri_container_security(r->config->linux->security_context, a, &sec, NULL);
        }
    } else if (d == &runtime__v1__run_pod_sandbox_request__descriptor) {
        const Runtime__V1__RunPodSandboxRequest *r = (const void *)m;
        if (r->config)
            cri_check_hostname(r->config->hostname, "config.hostname", NULL);
        if (r->config && r->config->linux)
            cri_sandbox_security(r->config->linux->security_context, a, &sec, NULL);
    } else if (d == &runtime__v1__pull_image_request__descriptor) {
        check_image(((const Runtime__V1__PullImageRequest *)m)->image);
    } else if (d == &runtime__v1__image_status_request__descriptor) {
        check_image(((const Runtime__V1__ImageStatusRequest *)m)->image);
    } else if (d == &runtime__v1__update_container_resources_request__descriptor) {
        cs_resources res;
        cri_resources_in(((const Runtime__V1__UpdateContainerResourcesRequest *)m)->linux, a, &res);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!methods)
        methods = cs_methods_build(&nmethods);
    if (size < 1)
        return 0;
    const cs_method *me = &methods[data[0] % nmethods];
    cs_arena *a = cs_arena_new();
    ProtobufCAllocator al = cs_arena_pb_allocator(a);
    ProtobufCMessage *m = protobuf_c_message_unpack(me->desc->input, &al, size - 1, data + 1);
    if (m) {
        char field[256];
        cs_wire_find_nul(me->desc->input, data + 1, size - 1, field, sizeof field); /* as the server does */
        validate(m, a);
    }
    cs_arena_free(a);
    return 0;
}
