/* Image reference parsing and normalisation, as kubelet and crictl send them. */
#include <check.h>
#include <string.h>

#include "backend/imageref.h"
#include "suite.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *full(const char *in, cs_arena *a)
{
    cs_imageref r;
    cs_error err;
    ck_assert_msg(cs_imageref_parse(in, &r, &err) == 0, "%s: %s", in, err.msg);
    return cs_imageref_full(&r, a);
}

START_TEST(normalises_like_docker)
{
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(full("busybox", a), "docker.io/library/busybox:latest");
    ck_assert_str_eq(full("busybox:latest", a), "docker.io/library/busybox:latest");
    ck_assert_str_eq(full("docker.io/library/busybox:latest", a), "docker.io/library/busybox:latest");
    ck_assert_str_eq(full("index.docker.io/library/busybox:1", a), "docker.io/library/busybox:1");
    ck_assert_str_eq(full("user/app:v2", a), "docker.io/user/app:v2");
    ck_assert_str_eq(full("127.0.0.1:5000/crishim/busybox:1.0", a), "127.0.0.1:5000/crishim/busybox:1.0");
    ck_assert_str_eq(full("localhost/app", a), "localhost/app:latest");
    ck_assert_str_eq(full("registry.k8s.io/pause:3.9", a), "registry.k8s.io/pause:3.9");
    ck_assert_str_eq(full("busybox@sha256:" HEX64, a), "docker.io/library/busybox@sha256:" HEX64);
    ck_assert_str_eq(full("host:5000/a/b:tag@sha256:" HEX64, a), "host:5000/a/b@sha256:" HEX64);
    cs_arena_free(a);
}
END_TEST

START_TEST(ids)
{
    cs_imageref r;
    cs_error err;
    ck_assert_int_eq(cs_imageref_parse("sha256:" HEX64, &r, &err), 0);
    ck_assert(r.is_id);
    ck_assert_str_eq(r.id, "sha256:" HEX64);
    ck_assert_int_eq(cs_imageref_parse(HEX64, &r, &err), 0);
    ck_assert(r.is_id);
    ck_assert_str_eq(r.id, "sha256:" HEX64);
    /* a short hex string is a valid repository name, not an id */
    ck_assert_int_eq(cs_imageref_parse("abcdef123456", &r, &err), 0);
    ck_assert(!r.is_id);
}
END_TEST

START_TEST(rejects_malformed)
{
    const char *bad[] = {
        "", "Busybox", "busybox:", "busybox:-x", "busy box", "busybox@sha256:abc", "busybox@", "/busybox",
        "busybox/", "a//b", "host:port/x", "-x", "x_", "ünïcode", "busybox:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cs_imageref r;
        cs_error err;
        ck_assert_msg(cs_imageref_parse(bad[i], &r, &err) == -1, "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(err.code, CS_ERR_INVALID);
        ck_assert_msg(strstr(err.msg, "image reference") != NULL, "message: %s", err.msg);
    }
}
END_TEST

START_TEST(normalize_engine_names)
{
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(cs_imageref_normalize("busybox:latest", a), "docker.io/library/busybox:latest");
    ck_assert_str_eq(cs_imageref_normalize("busybox@sha256:" HEX64, a), "docker.io/library/busybox@sha256:" HEX64);
    ck_assert_ptr_null(cs_imageref_normalize("<none>:<none>", a));
    ck_assert_ptr_null(cs_imageref_normalize("<none>@<none>", a));
    cs_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("imageref");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, normalises_like_docker);
    tcase_add_test(tc, ids);
    tcase_add_test(tc, rejects_malformed);
    tcase_add_test(tc, normalize_engine_names);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
