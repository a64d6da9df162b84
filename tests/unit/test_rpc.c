/* The RPC layer's pure parts: status mapping, the method table built from the
 * descriptors, listen address parsing, and the worker pool. */
#include <check.h>
#include <grpc/status.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "rpc/listen.h"
#include "rpc/methods.h"
#include "rpc/pool.h"
#include "rpc/status.h"
#include "rpc/wire.h"
#include "runtime/v1/api.pb-c.h"
#include "suite.h"

START_TEST(status_mapping)
{
    ck_assert_int_eq(cs_status_to_grpc(CS_OK), GRPC_STATUS_OK);
    ck_assert_int_eq(cs_status_to_grpc(CS_ERR_INVALID), GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert_int_eq(cs_status_to_grpc(CS_ERR_NOT_FOUND), GRPC_STATUS_NOT_FOUND);
    ck_assert_int_eq(cs_status_to_grpc(CS_ERR_CONFLICT), GRPC_STATUS_FAILED_PRECONDITION);
    ck_assert_int_eq(cs_status_to_grpc(CS_ERR_EXISTS), GRPC_STATUS_ALREADY_EXISTS);
    ck_assert_int_eq(cs_status_to_grpc(CS_ERR_PERMISSION), GRPC_STATUS_PERMISSION_DENIED);
    ck_assert_int_eq(cs_status_to_grpc(CS_ERR_UNAVAILABLE), GRPC_STATUS_UNAVAILABLE);
    ck_assert_int_eq(cs_status_to_grpc(CS_ERR_DEADLINE), GRPC_STATUS_DEADLINE_EXCEEDED);
    ck_assert_int_eq(cs_status_to_grpc(CS_ERR_UNIMPLEMENTED), GRPC_STATUS_UNIMPLEMENTED);
    ck_assert_int_eq(cs_status_to_grpc(CS_ERR_INTERNAL), GRPC_STATUS_INTERNAL);
    ck_assert_int_eq(cs_status_to_grpc((cs_code)99), GRPC_STATUS_UNKNOWN);
    ck_assert_int_eq(cs_status_from_grpc(GRPC_STATUS_NOT_FOUND), CS_ERR_NOT_FOUND);
    for (int c = 0; c <= 16; c++)
        ck_assert_int_eq(cs_status_from_grpc(cs_status_to_grpc((cs_code)c)), c);
    ck_assert_str_eq(cs_code_name(CS_ERR_CONFLICT), "FAILED_PRECONDITION");
}
END_TEST

START_TEST(method_table)
{
    size_t n;
    cs_method *m = cs_methods_build(&n);
    size_t runtime = 0, image = 0, sstream = 0, bidi = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(m[i].path, "/runtime.v1.RuntimeService/", 27))
            runtime++;
        if (!strncmp(m[i].path, "/runtime.v1.ImageService/", 25))
            image++;
        sstream += m[i].kind == CS_METHOD_SERVER_STREAM;
        bidi += m[i].kind == CS_METHOD_BIDI;
    }
    /* cri-api v0.37.0-beta.0 + main: 37 runtime and 6 image RPCs. */
    ck_assert_uint_eq(runtime, 37);
    ck_assert_uint_eq(image, 6);
    ck_assert_uint_eq(sstream, 8); /* CRI's 7 and grpc.health.v1 Watch */
    ck_assert_uint_eq(bidi, 3);
    ck_assert_int_eq(cs_method_kind_of("/runtime.v1.RuntimeService/GetContainerEvents"), CS_METHOD_SERVER_STREAM);
    ck_assert_int_eq(cs_method_kind_of("/runtime.v1.RuntimeService/Version"), CS_METHOD_UNARY);
    ck_assert_int_eq(cs_method_kind_of("/grpc.health.v1.Health/Watch"), CS_METHOD_SERVER_STREAM);
    ck_assert_int_eq(cs_method_kind_of("/grpc.health.v1.Health/Check"), CS_METHOD_UNARY);
    /* Every streaming name in the list is a real method. */
    const char *names[] = {"StreamPodSandboxes", "StreamContainers", "StreamContainerStats",
                           "StreamPodSandboxStats", "StreamPodSandboxMetrics", "StreamImages", "GetContainerEvents"};
    for (size_t k = 0; k < 7; k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            if (strstr(m[i].path, names[k]) && m[i].kind == CS_METHOD_SERVER_STREAM)
                found = true;
        ck_assert_msg(found, "%s missing", names[k]);
    }
    cs_methods_free(m, n);
}
END_TEST

/* Packs m, then turns the '#' of the string `marked` in the encoding into a
 * NUL, as a client that sends one would. */
static size_t pack_with_nul(const ProtobufCMessage *m, const char *marked, uint8_t *buf)
{
    size_t n = protobuf_c_message_pack(m, buf);
    uint8_t *at = memmem(buf, n, marked, strlen(marked));
    ck_assert_ptr_nonnull(at);
    at[strchr(marked, '#') - marked] = 0;
    return n;
}

START_TEST(nul_in_any_string_is_found)
{
    uint8_t buf[1024];
    char path[256];
    /* top level, nested */
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = "busybox#:evil";
    Runtime__V1__PullImageRequest pull = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    pull.image = &spec;
    size_t n = pack_with_nul(&pull.base, spec.image, buf);
    ck_assert(cs_wire_find_nul(&runtime__v1__pull_image_request__descriptor, buf, n, path, sizeof path));
    ck_assert_str_eq(path, "image.image");
    /* without the NUL nothing is found, and the path is empty */
    spec.image = "busybox";
    n = protobuf_c_message_pack(&pull.base, buf);
    ck_assert(!cs_wire_find_nul(&runtime__v1__pull_image_request__descriptor, buf, n, path, sizeof path));
    ck_assert_str_eq(path, "");
    /* a map entry deep down, after other fields; a repeated string */
    Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
    md.name = "web";
    md.uid = "u";
    md.namespace_ = "ns";
    Runtime__V1__PodSandboxConfig__LabelsEntry e0 = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT,
                                               e1 = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
    e0.key = "a";
    e0.value = "b";
    e1.key = "c";
    e1.value = "d#";
    Runtime__V1__PodSandboxConfig__LabelsEntry *entries[] = {&e0, &e1};
    Runtime__V1__PodSandboxConfig pc = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    pc.metadata = &md;
    pc.n_labels = 2;
    pc.labels = entries;
    Runtime__V1__RunPodSandboxRequest rp = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    rp.config = &pc;
    n = pack_with_nul(&rp.base, e1.value, buf);
    ck_assert(cs_wire_find_nul(&runtime__v1__run_pod_sandbox_request__descriptor, buf, n, path, sizeof path));
    ck_assert_str_eq(path, "config.labels[1].value");
    e1.value = "d";
    char *servers[] = {"1.1.1.1", "8.8.#"};
    Runtime__V1__DNSConfig dns = RUNTIME__V1__DNSCONFIG__INIT;
    dns.n_servers = 2;
    dns.servers = servers;
    pc.dns_config = &dns;
    n = pack_with_nul(&rp.base, servers[1], buf);
    ck_assert(cs_wire_find_nul(&runtime__v1__run_pod_sandbox_request__descriptor, buf, n, path, sizeof path));
    ck_assert_str_eq(path, "config.dns_config.servers[1]");
    /* truncated input: an answer, never a crash (ASan watches) */
    for (size_t cut = 0; cut < n; cut++)
        cs_wire_find_nul(&runtime__v1__run_pod_sandbox_request__descriptor, buf, cut, path, sizeof path);
}
END_TEST

START_TEST(listen_addresses)
{
    cs_listen_addr a;
    cs_error err;
    ck_assert_int_eq(cs_listen_parse("unix:///run/x.sock", &a, &err), 0);
    ck_assert(a.is_unix);
    ck_assert_str_eq(a.path, "/run/x.sock");
    ck_assert_int_eq(cs_listen_parse("/run/y.sock", &a, &err), 0);
    ck_assert_str_eq(a.path, "/run/y.sock");
    ck_assert_int_eq(cs_listen_parse("tcp://0.0.0.0:1234", &a, &err), 0);
    ck_assert(!a.is_unix);
    ck_assert_str_eq(a.hostport, "0.0.0.0:1234");
    ck_assert_int_eq(cs_listen_parse("tcp://[::1]:1234", &a, &err), 0);
    ck_assert_int_eq(cs_listen_parse("", &a, &err), -1);
    ck_assert_int_eq(cs_listen_parse("unix://relative", &a, &err), -1);
    ck_assert_int_eq(cs_listen_parse("tcp://host:99999", &a, &err), -1);
    ck_assert_int_eq(cs_listen_parse("tcp://host:", &a, &err), -1);
    ck_assert_int_eq(cs_listen_parse("http://x:1", &a, &err), -1);
    char longp[200];
    memset(longp, 'a', sizeof longp);
    longp[0] = '/';
    longp[199] = '\0';
    ck_assert_int_eq(cs_listen_parse(longp, &a, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
}
END_TEST

static atomic_int ran;
static void bump(void *arg)
{
    (void)arg;
    usleep(1000);
    atomic_fetch_add(&ran, 1);
}

static void block_briefly(void *arg)
{
    usleep(200000);
    atomic_fetch_add(&ran, 1);
}

START_TEST(pool_runs_everything_and_grows)
{
    atomic_store(&ran, 0);
    cs_pool *p = cs_pool_new(1, 8);
    for (int i = 0; i < 4; i++)
        cs_pool_submit(p, block_briefly, NULL);
    for (int i = 0; i < 200; i++)
        cs_pool_submit(p, bump, NULL);
    usleep(50000);
    ck_assert_uint_ge(cs_pool_threads(p), 5); /* blocked jobs made it grow */
    cs_pool_free(p);                          /* drains the queue */
    ck_assert_int_eq(atomic_load(&ran), 204);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rpc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, status_mapping);
    tcase_add_test(tc, method_table);
    tcase_add_test(tc, nul_in_any_string_is_found);
    tcase_add_test(tc, listen_addresses);
    tcase_add_test(tc, pool_runs_everything_and_grows);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
