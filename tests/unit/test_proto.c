/* The CRI proto as compiled: round trips of nested messages, maps and oneofs,
 * golden wire bytes for field numbers kubelet depends on, and unpacking into a
 * call arena (how the server decodes requests). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/v1/api.pb-c.h"
#include "util/arena.h"
#include "suite.h"

START_TEST(golden_version_response)
{
    Runtime__V1__VersionResponse r = RUNTIME__V1__VERSION_RESPONSE__INIT;
    r.version = "0.1.0";
    r.runtime_api_version = "v1";
    uint8_t buf[64];
    size_t n = protobuf_c_message_pack(&r.base, buf);
    /* field 1 (version) and field 4 (runtime_api_version), length-delimited */
    const uint8_t want[] = {0x0a, 5, '0', '.', '1', '.', '0', 0x22, 2, 'v', '1'};
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_mem_eq(buf, want, sizeof want);
}
END_TEST

START_TEST(golden_container_filter)
{
    /* ListContainersRequest.filter = 1; ContainerFilter.pod_sandbox_id = 3,
     * state = 2 (ContainerStateValue.state = 1) */
    Runtime__V1__ContainerStateValue st = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
    st.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
    f.pod_sandbox_id = "p";
    f.state = &st;
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    req.filter = &f;
    uint8_t buf[64];
    size_t n = protobuf_c_message_pack(&req.base, buf);
    const uint8_t want[] = {0x0a, 7, 0x12, 2, 0x08, 1, 0x1a, 1, 'p'};
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_mem_eq(buf, want, sizeof want);
}
END_TEST

START_TEST(container_config_round_trip)
{
    Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
    md.name = "web";
    md.attempt = 3;
    Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
    img.image = "busybox:latest";
    Runtime__V1__KeyValue kv = RUNTIME__V1__KEY_VALUE__INIT;
    kv.key = "FOO";
    kv.value.data = (uint8_t *)"bar";
    kv.value.len = 3;
    Runtime__V1__KeyValue *envs[] = {&kv};
    Runtime__V1__Mount m = RUNTIME__V1__MOUNT__INIT;
    m.container_path = "/data";
    m.host_path = "/tmp/data";
    m.readonly = 1;
    m.propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER;
    Runtime__V1__Mount *mounts[] = {&m};
    Runtime__V1__ContainerConfig__AnnotationsEntry ann = RUNTIME__V1__CONTAINER_CONFIG__ANNOTATIONS_ENTRY__INIT;
    ann.key = "io.example/a";
    ann.value = "b";
    Runtime__V1__ContainerConfig__AnnotationsEntry *anns[] = {&ann};
    char *cmd[] = {"sh", "-c", "echo hi"};
    Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
    cfg.metadata = &md;
    cfg.image = &img;
    cfg.command = cmd;
    cfg.n_command = 3;
    cfg.envs = envs;
    cfg.n_envs = 1;
    cfg.mounts = mounts;
    cfg.n_mounts = 1;
    cfg.annotations = anns;
    cfg.n_annotations = 1;
    cfg.tty = 1;
    cfg.log_path = "web/3.log";

    size_t len = protobuf_c_message_get_packed_size(&cfg.base);
    uint8_t *buf = malloc(len);
    protobuf_c_message_pack(&cfg.base, buf);

    cs_arena *a = cs_arena_new();
    ProtobufCAllocator al = cs_arena_pb_allocator(a);
    Runtime__V1__ContainerConfig *back = runtime__v1__container_config__unpack(&al, len, buf);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back->metadata->name, "web");
    ck_assert_uint_eq(back->metadata->attempt, 3);
    ck_assert_str_eq(back->image->image, "busybox:latest");
    ck_assert_uint_eq(back->n_command, 3);
    ck_assert_str_eq(back->command[2], "echo hi");
    ck_assert_uint_eq(back->envs[0]->value.len, 3);
    ck_assert_mem_eq(back->envs[0]->value.data, "bar", 3);
    ck_assert_str_eq(back->mounts[0]->host_path, "/tmp/data");
    ck_assert(back->mounts[0]->readonly);
    ck_assert_int_eq(back->mounts[0]->propagation, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER);
    ck_assert_str_eq(back->annotations[0]->key, "io.example/a");
    ck_assert(back->tty);
    ck_assert_str_eq(back->log_path, "web/3.log");
    ck_assert_ptr_null(back->linux);
    /* Everything lives in the arena: freeing it is the whole clean-up. */
    cs_arena_free(a);
    free(buf);
}
END_TEST

START_TEST(garbage_does_not_decode)
{
    const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3};
    cs_arena *a = cs_arena_new();
    ProtobufCAllocator al = cs_arena_pb_allocator(a);
    ck_assert_ptr_null(runtime__v1__container_config__unpack(&al, sizeof junk, junk));
    cs_arena_free(a);
}
END_TEST

START_TEST(signal_enum_and_services)
{
    /* StopSignal values from cri-api; 23 is SIGTERM, 13 SIGKILL. */
    ck_assert_int_eq(RUNTIME__V1__SIGNAL__SIGNAL_SIGTERM, 23);
    ck_assert_int_eq(RUNTIME__V1__SIGNAL__SIGNAL_SIGKILL, 13);
    ck_assert_str_eq(runtime__v1__runtime_service__descriptor.name, "runtime.v1.RuntimeService");
    ck_assert_str_eq(runtime__v1__image_service__descriptor.name, "runtime.v1.ImageService");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("wire");
    tcase_add_test(tc, golden_version_response);
    tcase_add_test(tc, golden_container_filter);
    tcase_add_test(tc, container_config_round_trip);
    tcase_add_test(tc, garbage_does_not_decode);
    tcase_add_test(tc, signal_enum_and_services);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
