/* The containerd backend's pure parts: gRPC status → error mapping, method
 * names, API versions, map entries, the tar and gzip writers and the pause
 * image's config and manifest (read back with the manifest parser), the
 * backend's flags, and a client whose containerd is absent (UNAVAILABLE at
 * once, naming the socket). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zlib.h>

#include "backend/tar.h"
#include "suite.h"
#include "config/config.h"
#include "containerd/api/services/content/v1/content.pb-c.h"
#include "containerd/api/services/version/v1/version.pb-c.h"
#include "containerd/client.h"
#include "containerd/containerd.h"
#include "containerd/content.h"
#include "containerd/images.h"
#include "containerd/internal.h"
#include "containerd/manifest.h"
#include "containerd/pause.h"
#include "google/protobuf/empty.pb-c.h"
#include "util/time.h"

START_TEST(status_maps_to_codes_with_the_socket)
{
    cs_error e;
    ck_assert_int_eq(ctrd_status_error(&e, 5, "image \"x\": not found", "/containerd.services.images.v1.Images/Get",
                                       "/run/c.sock"),
                     -1);
    ck_assert_int_eq(e.code, CS_ERR_NOT_FOUND);
    ck_assert_msg(strstr(e.msg, "Images.Get") && strstr(e.msg, "unix:///run/c.sock") && strstr(e.msg, "not found"),
                  "%s", e.msg);
    int codes[] = {6, 9, 3, 14, 4, 13, 1, 16};
    cs_code want[] = {CS_ERR_EXISTS,      CS_ERR_CONFLICT, CS_ERR_INVALID,   CS_ERR_UNAVAILABLE,
                      CS_ERR_DEADLINE,    CS_ERR_INTERNAL, CS_ERR_CANCELLED, CS_ERR_UNAUTHENTICATED};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        ctrd_status_error(&e, codes[i], "x", "/a.B/C", "/s");
        ck_assert_int_eq(e.code, want[i]);
    }
    ctrd_status_error(&e, 99, "", "/a.B/C", "/s");
    ck_assert_int_eq(e.code, CS_ERR_UNKNOWN);
    /* a refused connection reads as an engine that does not answer */
    ctrd_status_error(&e, 14, "failed to connect to all addresses", "/containerd.services.version.v1.Version/Version",
                      "/x.sock");
    ck_assert_msg(strstr(e.msg, "does not answer") && strstr(e.msg, "/x.sock"), "%s", e.msg);
}
END_TEST

START_TEST(method_short_names)
{
    ck_assert_str_eq(ctrd_method_short("/containerd.services.images.v1.Images/Get"), "Images.Get");
    ck_assert_str_eq(ctrd_method_short("/containerd.services.content.v1.Content/Write"), "Content.Write");
    ck_assert_str_eq(ctrd_method_short("/Svc/M"), "Svc/M");
    ck_assert_str_eq(ctrd_method_short("plain"), "plain");
}
END_TEST

START_TEST(api_version_from_release)
{
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(ctrd_api_version("1.6.20~ds1", a), "1.6");
    ck_assert_str_eq(ctrd_api_version("v1.7.20", a), "1.7");
    ck_assert_str_eq(ctrd_api_version("2.0.0", a), "1.8");
    ck_assert_str_eq(ctrd_api_version("v2.1.3", a), "1.9");
    ck_assert_str_eq(ctrd_api_version("garbage", a), "unknown");
    cs_arena_free(a);
}
END_TEST

START_TEST(map_entries_and_lookup)
{
    cs_arena *a = cs_arena_new();
    cs_kv kv[] = {{"containerd.io/gc.ref.content.config", "sha256:aa"}, {"k", "v"}};
    Containerd__Services__Content__V1__Info info = CONTAINERD__SERVICES__CONTENT__V1__INFO__INIT;
    info.digest = "sha256:bb";
    info.n_labels = 2;
    info.labels = (Containerd__Services__Content__V1__Info__LabelsEntry **)ctrd_map_entries(
        a, &containerd__services__content__v1__info__labels_entry__descriptor, kv, 2);
    /* packs and unpacks as a real map */
    size_t len = protobuf_c_message_get_packed_size(&info.base);
    uint8_t *buf = malloc(len);
    protobuf_c_message_pack(&info.base, buf);
    Containerd__Services__Content__V1__Info *back =
        containerd__services__content__v1__info__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->n_labels, 2);
    ck_assert_str_eq(ctrd_label((void *const *)back->labels, back->n_labels, "k"), "v");
    ck_assert_str_eq(ctrd_label((void *const *)back->labels, back->n_labels, "containerd.io/gc.ref.content.config"),
                     "sha256:aa");
    ck_assert_ptr_null(ctrd_label((void *const *)back->labels, back->n_labels, "absent"));
    containerd__services__content__v1__info__free_unpacked(back, NULL);
    free(buf);
    cs_arena_free(a);
}
END_TEST

START_TEST(tar_one_file_is_ustar)
{
    size_t len;
    char *t = cs_tar_one_file("pause", "hello", 5, &len);
    ck_assert_uint_eq(len, 512 + 512 + 1024);
    ck_assert_str_eq(t, "pause");
    ck_assert_int_eq(memcmp(t + 257, "ustar", 5), 0);
    ck_assert_int_eq(strtol(t + 124, NULL, 8), 5);
    ck_assert_int_eq(strtol(t + 100, NULL, 8), 0755);
    /* the checksum counts its own field as spaces */
    unsigned stored = (unsigned)strtol(t + 148, NULL, 8), sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)t[i];
    ck_assert_uint_eq(stored, sum);
    ck_assert_int_eq(memcmp(t + 512, "hello", 5), 0);
    for (size_t i = 1024; i < len; i++)
        ck_assert_int_eq(t[i], 0);
    free(t);
}
END_TEST

START_TEST(gzip_round_trip)
{
    char data[10000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7 % 13);
    char *gz;
    size_t gz_len;
    cs_error e;
    ck_assert_int_eq(ctrd_gzip(data, sizeof data, &gz, &gz_len, &e), 0);
    ck_assert_uint_gt(gz_len, 18);
    ck_assert_int_eq((unsigned char)gz[0], 0x1f);
    ck_assert_int_eq((unsigned char)gz[1], 0x8b);
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
    char out[20000];
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)gz_len;
    z.next_out = (Bytef *)out;
    z.avail_out = sizeof out;
    ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    ck_assert_uint_eq(z.total_out, sizeof data);
    ck_assert_int_eq(memcmp(out, data, sizeof data), 0);
    inflateEnd(&z);
    free(gz);
}
END_TEST

START_TEST(pause_config_and_manifest_parse_back)
{
    cs_arena *a = cs_arena_new();
    cs_error e;
    const char *diff = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const char *layer = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    char *cfg = ctrd_pause_config_json(diff, a);
    mf_image_config c;
    ck_assert_msg(mf_config_parse(cfg, strlen(cfg), a, &c, &e) == 0, "%s: %s", cfg, e.msg);
    ck_assert_uint_eq(c.n_diff_ids, 1);
    ck_assert_str_eq(c.diff_ids[0], diff);
    ck_assert_uint_eq(c.n_entrypoint, 1);
    ck_assert_str_eq(c.entrypoint[0], "/pause");
    ck_assert_str_eq(c.os, "linux");
    ck_assert_str_eq(c.arch, "amd64");
    char cd[72];
    mf_sha256_digest(cfg, strlen(cfg), cd);
    char *man = ctrd_pause_manifest_json(cd, strlen(cfg), layer, 1234, a);
    mf_manifest m;
    ck_assert_msg(mf_manifest_parse(man, strlen(man), a, &m, &e) == 0, "%s: %s", man, e.msg);
    ck_assert_str_eq(m.config.digest, cd);
    ck_assert_int_eq(m.config.size, (int64_t)strlen(cfg));
    ck_assert_uint_eq(m.n_layers, 1);
    ck_assert_str_eq(m.layers[0].digest, layer);
    ck_assert_int_eq(m.layers[0].size, 1234);
    /* deterministic: the same input, the same bytes (the same image id) */
    ck_assert_str_eq(ctrd_pause_config_json(diff, a), cfg);
    cs_arena_free(a);
}
END_TEST

START_TEST(absent_containerd_is_unavailable_at_once)
{
    ctrd_client *c;
    cs_error e;
    ck_assert_int_eq(ctrd_client_new("unix:///nonexistent/crishim-test.sock", "crishim", &c, &e), 0);
    ck_assert_str_eq(ctrd_client_address(c), "/nonexistent/crishim-test.sock");
    cs_arena *a = cs_arena_new();
    Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
    ProtobufCMessage *r;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 5000};
    int64_t t0 = cs_time_mono_ms();
    ck_assert_int_eq(ctrd_unary(c, &ctx, "/containerd.services.version.v1.Version/Version", &req.base,
                                &containerd__services__version__v1__version_response__descriptor, NULL, a, &r, &e),
                     -1);
    ck_assert_int_eq(e.code, CS_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(e.msg, "/nonexistent/crishim-test.sock") != NULL, "%s", e.msg);
    ck_assert_int_lt(cs_time_mono_ms() - t0, 3000);
    /* streams too */
    ctrd_stream *s = NULL;
    int rc = ctrd_stream_open(c, &ctx, "/containerd.services.content.v1.Content/Read", NULL, &s, &e);
    if (rc == 0) {
        Containerd__Services__Content__V1__ReadContentRequest rr =
            CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_REQUEST__INIT;
        ProtobufCMessage *m;
        if (ctrd_stream_send(s, &rr.base, &e) == 0 && ctrd_stream_close_send(s, &e) == 0)
            rc = ctrd_stream_recv(s, &containerd__services__content__v1__read_content_response__descriptor, a, &m,
                                  &e);
        else
            rc = -1;
        ctrd_stream_free(s);
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(e.code, CS_ERR_UNAVAILABLE);
    cs_arena_free(a);
    ctrd_client_free(c);
    ck_assert_int_eq(ctrd_client_new("relative.sock", "crishim", &c, &e), -1);
    ck_assert_int_eq(e.code, CS_ERR_INVALID);
}
END_TEST

START_TEST(cancel_ends_a_call_waiting_on_a_silent_server)
{
    /* A listening socket that never speaks HTTP/2: the call waits until the
     * ctx's cancel flag is seen. */
    char path[] = "/tmp/crishim-ctrd-silent-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(path));
    char sock[96];
    snprintf(sock, sizeof sock, "%s/s.sock", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ctrd_client *c;
    cs_error e;
    ck_assert_int_eq(ctrd_client_new(sock, "crishim", &c, &e), 0);
    atomic_bool cancelled;
    atomic_init(&cancelled, true);
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 20000, .cancelled = &cancelled};
    cs_arena *a = cs_arena_new();
    Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
    ProtobufCMessage *r;
    int64_t t0 = cs_time_mono_ms();
    ck_assert_int_eq(ctrd_unary(c, &ctx, "/containerd.services.version.v1.Version/Version", &req.base,
                                &containerd__services__version__v1__version_response__descriptor, NULL, a, &r, &e),
                     -1);
    ck_assert_msg(e.code == CS_ERR_CANCELLED || e.code == CS_ERR_UNAVAILABLE, "%s %s", cs_code_name(e.code), e.msg);
    ck_assert_int_lt(cs_time_mono_ms() - t0, 3000);
    /* and a deadline without a cancel */
    cs_ctx short_ctx = {.deadline_ms = cs_time_mono_ms() + 300};
    t0 = cs_time_mono_ms();
    ck_assert_int_eq(ctrd_unary(c, &short_ctx, "/containerd.services.version.v1.Version/Version", &req.base,
                                &containerd__services__version__v1__version_response__descriptor, NULL, a, &r, &e),
                     -1);
    ck_assert_msg(e.code == CS_ERR_DEADLINE || e.code == CS_ERR_UNAVAILABLE, "%s %s", cs_code_name(e.code), e.msg);
    ck_assert_int_lt(cs_time_mono_ms() - t0, 3000);
    cs_arena_free(a);
    ctrd_client_free(c);
    close(fd);
    unlink(sock);
    rmdir(path);
}
END_TEST

START_TEST(references_as_docker_takes_them)
{
    cs_imageref r;
    cs_error e;
    ck_assert_int_eq(ctrd_parse_ref("busybox", &r, &e), 0);
    ck_assert_str_eq(r.domain, "docker.io");
    ck_assert_int_eq(ctrd_parse_ref("127.0.0.1:5000/crishim/busybox:1.0", &r, &e), 0);
    ck_assert_int_eq(ctrd_parse_ref("localhost/crishim/pause:0.1.0", &r, &e), 0);
    ck_assert_int_eq(ctrd_parse_ref("Registry.Example.com/a/b", &r, &e), 0); /* host names fold case */
    ck_assert_int_eq(ctrd_parse_ref("UPPER/case", &r, &e), -1);
    ck_assert_int_eq(e.code, CS_ERR_INVALID);
    ck_assert_int_eq(ctrd_parse_ref("Not A Ref", &r, &e), -1);
    ck_assert_int_eq(ctrd_parse_ref("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &r, &e),
                     0);
    ck_assert(r.is_id);
}
END_TEST

static cs_config_result parse(cs_config *cfg, const char *a1, const char *a2, cs_error *e)
{
    char *argv[] = {"crishim", (char *)a1, (char *)a2, NULL};
    cs_config_free(cfg); /* the previous parse's arena */
    cs_config_defaults(cfg);
    FILE *devnull = fopen("/dev/null", "w");
    cs_config_result r = cs_config_parse(cfg, a2 ? 3 : 2, argv, devnull, e);
    fclose(devnull);
    return r;
}

START_TEST(flags_namespace_and_cgroup_driver)
{
    cs_config cfg = {0};
    cs_error e;
    ck_assert_int_eq(parse(&cfg, "--backend=containerd", NULL, &e), CS_CONFIG_RUN);
    ck_assert_int_eq(cfg.backend, CS_BACKEND_CONTAINERD);
    ck_assert_str_eq(cfg.containerd_namespace, "crishim");
    ck_assert_int_eq(cfg.cgroup_driver, 0);
    ck_assert_int_eq(parse(&cfg, "--containerd-namespace", "other", &e), CS_CONFIG_RUN);
    ck_assert_str_eq(cfg.containerd_namespace, "other");
    ck_assert_int_eq(parse(&cfg, "--containerd-namespace=k8s.io", NULL, &e), CS_CONFIG_ERROR);
    ck_assert_msg(strstr(e.msg, "k8s.io") != NULL, "%s", e.msg);
    ck_assert_int_eq(parse(&cfg, "--cgroup-driver=systemd", NULL, &e), CS_CONFIG_RUN);
    ck_assert_int_eq(cfg.cgroup_driver, 1);
    ck_assert_int_eq(parse(&cfg, "--cgroup-driver=cgroupfs", NULL, &e), CS_CONFIG_RUN);
    ck_assert_int_eq(cfg.cgroup_driver, 0);
    ck_assert_int_eq(parse(&cfg, "--cgroup-driver=bogus", NULL, &e), CS_CONFIG_ERROR);
    cs_config_free(&cfg);
    /* the backend refuses k8s.io too, whatever calls it */
    containerd_options o = {.address = "/nonexistent.sock", .ns = "k8s.io"};
    cs_backend *b;
    ck_assert_int_eq(containerd_backend_new(&o, &b, &e), -1);
    ck_assert_int_eq(e.code, CS_ERR_INVALID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("containerd");
    TCase *tc = tcase_create("pure");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, status_maps_to_codes_with_the_socket);
    tcase_add_test(tc, method_short_names);
    tcase_add_test(tc, api_version_from_release);
    tcase_add_test(tc, map_entries_and_lookup);
    tcase_add_test(tc, tar_one_file_is_ustar);
    tcase_add_test(tc, gzip_round_trip);
    tcase_add_test(tc, pause_config_and_manifest_parse_back);
    tcase_add_test(tc, absent_containerd_is_unavailable_at_once);
    tcase_add_test(tc, cancel_ends_a_call_waiting_on_a_silent_server);
    tcase_add_test(tc, flags_namespace_and_cgroup_driver);
    tcase_add_test(tc, references_as_docker_takes_them);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
