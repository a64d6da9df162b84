/* Hostile input against the daemon: every unary RPC gets random bytes,
 * truncated and bit-flipped versions of real requests, huge strings and
 * invalid UTF-8, and paths that try to leave the pod's log directory. Every
 * call must end with a status (never a crash), errors must be proper codes,
 * and the daemon must still answer and exit cleanly (no leak under ASan). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fill.h"
#include "rpc/methods.h"
#include "runtime/v1/api.pb-c.h"
#include "util/arena.h"

static tc_daemon crishim;
#define client (crishim.client)

static void start_daemon(void)
{
    tc_daemon_up(&crishim, "hostile", NULL);
}

static void stop_daemon(void)
{
    tc_daemon_down(&crishim);
}

/* Methods that change the engine get only inputs that fail validation or
 * decoding (the garbage below), never a well-formed create. */
static void still_serving(void)
{
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    tc_result res;
    tc_unary(client, "/runtime.v1.RuntimeService/Version", &req.base, &runtime__v1__version_response__descriptor, NULL,
             10000, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "daemon stopped answering: %d %s", res.code, res.details);
}

static bool acceptable(grpc_status_code c)
{
    /* Garbage can still decode to a valid empty-ish request: OK and the
     * lookup codes are fine; what must never come back is UNKNOWN from a
     * crash path or an internal error. */
    return c != GRPC_STATUS_UNKNOWN && c != GRPC_STATUS_INTERNAL && c != GRPC_STATUS_UNAVAILABLE;
}

START_TEST(random_bytes_to_every_rpc)
{
    size_t n;
    cs_method *ms = cs_methods_build(&n);
    srand(1234);
    unsigned char buf[512];
    for (size_t i = 0; i < n; i++) {
        if (ms[i].kind != CS_METHOD_UNARY)
            continue;
        /* these would act on real objects when garbage decodes to a valid id */
        if (strstr(ms[i].path, "PullImage") || strstr(ms[i].path, "RemoveImage"))
            continue;
        for (int round = 0; round < 25; round++) {
            size_t len = (size_t)(rand() % (int)sizeof buf);
            for (size_t k = 0; k < len; k++)
                buf[k] = (unsigned char)rand();
            tc_result res;
            tc_unary_raw(client, ms[i].path, buf, len, 10000, &res);
            ck_assert_msg(acceptable(res.code), "%s with %zu random bytes: %d %s", ms[i].path, len, res.code,
                          res.details);
        }
    }
    cs_methods_free(ms, n);
    still_serving();
}
END_TEST

/* Skipped by the mangled-request test: a mangled but still valid request
 * could pull from the internet or make a real pod. */
static bool acts_on_the_world(const char *path)
{
    return strstr(path, "PullImage") || strstr(path, "RunPodSandbox");
}

/* A real request for every unary RPC (every field filled, strings "zz" or
 * "/zz": not hex, so never a prefix of a real id), cut at every length and
 * with random bit flips. Each call ends with a proper status; the daemon
 * keeps answering. */
START_TEST(truncated_and_bit_flipped_requests)
{
    size_t n;
    cs_method *ms = cs_methods_build(&n);
    srand(4321);
    size_t calls = 0;
    for (size_t i = 0; i < n; i++) {
        if (ms[i].kind != CS_METHOD_UNARY || acts_on_the_world(ms[i].path))
            continue;
        for (int variant = 0; variant < 2; variant++) {
            cs_arena *a = cs_arena_new();
            const ProtobufCMessageDescriptor *in = ms[i].desc->input;
            ProtobufCMessage *req = cs_arena_alloc(a, in->sizeof_message);
            protobuf_c_message_init(in, req);
            tc_fill_message(req, a, &(tc_fill){.truth = variant == 1, .word = "zz", .depth = 3});
            size_t len = protobuf_c_message_get_packed_size(req);
            uint8_t *wire = cs_arena_alloc(a, len + 1), *mangled = cs_arena_alloc(a, len + 1);
            protobuf_c_message_pack(req, wire);
            tc_result res;
            for (size_t cut = 0; cut < len; cut++) {
                tc_unary_raw(client, ms[i].path, wire, cut, 10000, &res);
                calls++;
                ck_assert_msg(acceptable(res.code), "%s cut at %zu of %zu bytes: %d %s", ms[i].path, cut, len,
                              res.code, res.details);
            }
            for (int round = 0; round < 40 && len; round++) {
                memcpy(mangled, wire, len);
                int flips = 1 + rand() % 3;
                for (int k = 0; k < flips; k++) {
                    size_t bit = (size_t)rand() % (len * 8);
                    mangled[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                }
                tc_unary_raw(client, ms[i].path, mangled, len, 10000, &res);
                calls++;
                ck_assert_msg(acceptable(res.code), "%s with %d bits flipped: %d %s", ms[i].path, flips, res.code,
                              res.details);
            }
            cs_arena_free(a);
        }
    }
    cs_methods_free(ms, n);
    ck_assert_uint_gt(calls, 1000);
    still_serving();
}
END_TEST

/* A pod hostname the kernel would refuse (1 MiB), or one Kubernetes would
 * not give a pod, is INVALID_ARGUMENT naming config.hostname before any
 * engine call; a fine one gets past that check. */
START_TEST(pod_hostname_is_validated)
{
    size_t big = 1024 * 1024;
    char *huge = malloc(big + 1);
    memset(huge, 'h', big);
    huge[big] = '\0';
    char sixty_five[66];
    memset(sixty_five, 'h', 65);
    sixty_five[65] = '\0';
    const char *bad[] = {huge, sixty_five, "under_score", "-lead", "trail-", "a..b", "sp ace", "dot."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
        md.name = "hostile-hostname";
        md.namespace_ = "default";
        md.uid = "hostile-hostname-uid";
        Runtime__V1__PodSandboxConfig pc = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
        pc.metadata = &md;
        pc.hostname = (char *)bad[i];
        Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
        rp.config = &pc;
        tc_result res;
        tc_unary(client, "/runtime.v1.RuntimeService/RunPodSandbox", &rp.base,
                 &runtime__v1__run_pod_sandbox_response__descriptor, NULL, 20000, &res);
        ck_assert_msg(res.code == GRPC_STATUS_INVALID_ARGUMENT && strstr(res.details, "config.hostname"),
                      "hostname %zu (%zu bytes): %d %s", i, strlen(bad[i]), res.code, res.details);
    }
    free(huge);
    still_serving();
}
END_TEST

/* A string field holding a NUL byte would be cut at the NUL (protobuf-c's
 * strings are char *): refused with INVALID_ARGUMENT naming the field, for
 * any RPC, before the handler runs. */
typedef struct nul_case {
    const char *method;
    const ProtobufCMessage *req;
    const char *marked, *field;
} nul_case;

START_TEST(nul_in_a_string_is_refused)
{
    const char *busybox = tc_env("CRISHIM_TEST_IMG_BUSYBOX");
    char marked[600];
    snprintf(marked, sizeof marked, "%s#evil", busybox ? busybox : "busybox");
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = marked;
    Runtime__V1__ImageStatusRequest is = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    is.image = &spec;
    nul_case cases[3];
    Runtime__V1__PullImageRequest pull = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    pull.image = &spec;
    Runtime__V1__ContainerStatusRequest cs = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    cs.container_id = "abc#def";
    cases[0] = (nul_case){"/runtime.v1.ImageService/ImageStatus", &is.base, marked, "image.image"};
    cases[1] = (nul_case){"/runtime.v1.ImageService/PullImage", &pull.base, marked, "image.image"};
    cases[2] = (nul_case){"/runtime.v1.RuntimeService/ContainerStatus", &cs.base, cs.container_id,
                                  "container_id"};
    for (size_t i = 0; i < 3; i++) {
        size_t len = protobuf_c_message_get_packed_size(cases[i].req);
        uint8_t *wire = malloc(len);
        protobuf_c_message_pack(cases[i].req, wire);
        uint8_t *at = memmem(wire, len, cases[i].marked, strlen(cases[i].marked));
        ck_assert_ptr_nonnull(at);
        at[strchr(cases[i].marked, '#') - cases[i].marked] = 0;
        tc_result res;
        tc_unary_raw(client, cases[i].method, wire, len, 20000, &res);
        free(wire);
        ck_assert_msg(res.code == GRPC_STATUS_INVALID_ARGUMENT && strstr(res.details, cases[i].field) &&
                          strstr(res.details, "NUL"),
                      "%s with a NUL: %d %s", cases[i].method, res.code, res.details);
    }
    still_serving();
}
END_TEST

START_TEST(huge_and_invalid_strings)
{
    size_t big = 4 * 1024 * 1024;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    huge[big] = '\0';
    const char *odd[] = {huge, "\xff\xfe\xfd", "a\x01\x02b", "../../../../etc/passwd", "", "%s%s%s%n"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        tc_result res;
        Runtime__V1__ContainerStatusRequest cs = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
        cs.container_id = (char *)odd[i];
        tc_unary(client, "/runtime.v1.RuntimeService/ContainerStatus", &cs.base,
                 &runtime__v1__container_status_response__descriptor, NULL, 20000, &res);
        ck_assert_msg(res.code == GRPC_STATUS_NOT_FOUND || res.code == GRPC_STATUS_INVALID_ARGUMENT,
                      "ContainerStatus(odd %zu): %d %s", i, res.code, res.details);
        Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
        spec.image = (char *)odd[i];
        Runtime__V1__ImageStatusRequest is = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
        is.image = &spec;
        tc_unary(client, "/runtime.v1.ImageService/ImageStatus", &is.base,
                 &runtime__v1__image_status_response__descriptor, NULL, 20000, &res);
        ck_assert_msg(res.code == GRPC_STATUS_INVALID_ARGUMENT, "ImageStatus(odd %zu): %d %s", i, res.code,
                      res.details);
        Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
        md.name = (char *)odd[i];
        md.namespace_ = (char *)odd[i];
        md.uid = (char *)odd[i];
        Runtime__V1__PodSandboxConfig pc = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
        pc.metadata = &md;
        pc.log_directory = "relative/dir";
        Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
        rp.config = &pc;
        tc_unary(client, "/runtime.v1.RuntimeService/RunPodSandbox", &rp.base,
                 &runtime__v1__run_pod_sandbox_response__descriptor, NULL, 20000, &res);
        ck_assert_msg(res.code == GRPC_STATUS_INVALID_ARGUMENT, "RunPodSandbox(odd %zu): %d %s", i, res.code,
                      res.details);
    }
    free(huge);
    still_serving();
}
END_TEST

START_TEST(oversized_message_is_refused)
{
    size_t len = 17 * 1024 * 1024; /* past the 16 MiB limit */
    unsigned char *buf = calloc(1, len);
    tc_result res;
    tc_unary_raw(client, "/runtime.v1.RuntimeService/Version", buf, len, 20000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_RESOURCE_EXHAUSTED);
    free(buf);
    still_serving();
}
END_TEST

int main(void)
{
    tc_need_env("CRISHIM_TEST_DIR");
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("input");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, start_daemon, stop_daemon);
    tcase_add_test(tc, random_bytes_to_every_rpc);
    tcase_add_test(tc, truncated_and_bit_flipped_requests);
    tcase_add_test(tc, pod_hostname_is_validated);
    tcase_add_test(tc, nul_in_a_string_is_refused);
    tcase_add_test(tc, huge_and_invalid_strings);
    tcase_add_test(tc, oversized_message_is_refused);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
