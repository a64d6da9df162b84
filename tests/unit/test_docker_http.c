/* The Docker client's pure parts: host parsing, API version negotiation,
 * error mapping of captured bodies, and the line splitter across chunks. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/http.h"
#include "util/fs.h"

START_TEST(hosts)
{
    docker_client *c;
    cs_error err;
    ck_assert_int_eq(docker_client_new("unix:///var/run/docker.sock", &c, &err), 0);
    ck_assert_str_eq(docker_client_endpoint(c), "/var/run/docker.sock");
    char v[16];
    ck_assert(!docker_client_api_version_copy(c, v, sizeof v)); /* not negotiated yet */
    docker_client_free(c);
    ck_assert_int_eq(docker_client_new("/run/d.sock", &c, &err), 0);
    docker_client_free(c);
    ck_assert_int_eq(docker_client_new("tcp://127.0.0.1:2375", &c, &err), 0);
    ck_assert_str_eq(docker_client_endpoint(c), "127.0.0.1:2375");
    docker_client_free(c);
    const char *bad[] = {"", "ftp://x", "unix://relative", "tcp://", "tcp://noport"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(docker_client_new(bad[i], &c, &err) == -1, "accepted %s", bad[i]);
        ck_assert_int_eq(err.code, CS_ERR_INVALID);
    }
}
END_TEST

START_TEST(version_negotiation)
{
    char v[16];
    ck_assert_int_lt(docker_api_compare("1.9", "1.41"), 0);
    ck_assert_int_gt(docker_api_compare("1.44", "1.41"), 0);
    ck_assert_int_eq(docker_api_compare("1.41", "1.41"), 0);
    ck_assert_int_lt(docker_api_compare("1", "1.1"), 0);
    docker_api_choose("1.41", "1.12", v, sizeof v); /* Debian's 20.10 */
    ck_assert_str_eq(v, "1.41");
    docker_api_choose("1.52", "1.44", v, sizeof v); /* Docker 29: our max */
    ck_assert_str_eq(v, DOCKER_API_MAX);
    docker_api_choose("1.60", "1.50", v, sizeof v); /* a future one refusing our max */
    ck_assert_str_eq(v, "1.50");
    docker_api_choose(NULL, NULL, v, sizeof v);
    ck_assert_str_eq(v, DOCKER_API_MAX);
}
END_TEST

START_TEST(error_mapping)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docker/error_404.json", CS_FIXTURES);
    char *body;
    size_t len;
    cs_error err;
    ck_assert_int_eq(cs_read_file(path, 4096, &body, &len, &err), 0);
    docker_response r = {.status = 404, .body = body, .body_len = len};
    docker_error_from_response(&r, &err);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    ck_assert_str_eq(err.msg, "docker: No such container: nope");
    r.status = 409;
    docker_error_from_response(&r, &err);
    ck_assert_int_eq(err.code, CS_ERR_CONFLICT);
    free(body);

    char plain[] = "page not found";
    docker_response p = {.status = 500, .body = plain, .body_len = strlen(plain)};
    docker_error_from_response(&p, &err);
    ck_assert_int_eq(err.code, CS_ERR_INTERNAL);
    ck_assert_str_eq(err.msg, "docker: HTTP 500: page not found");
    docker_response e = {.status = 503};
    docker_error_from_response(&e, &err);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);
    docker_response u = {.status = 401};
    docker_error_from_response(&u, &err);
    ck_assert_int_eq(err.code, CS_ERR_UNAUTHENTICATED);
}
END_TEST

typedef struct lines {
    char got[16][64];
    int n;
} lines;

static int on_line(void *user, const char *line, size_t len, cs_error *err)
{
    lines *l = user;
    if (l->n < 16)
        snprintf(l->got[l->n++], sizeof l->got[0], "%.*s", (int)len, line);
    return 0;
}

START_TEST(line_splitter_across_chunks)
{
    const char *stream = "{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}";
    /* every way of cutting the stream in two gives the same lines */
    for (size_t cut = 0; cut <= strlen(stream); cut++) {
        lines l = {.n = 0};
        docker_line_splitter s = {.on_line = on_line, .user = &l};
        cs_error err;
        ck_assert_int_eq(docker_lines_feed(&s, stream, cut, &err), 0);
        ck_assert_int_eq(docker_lines_feed(&s, stream + cut, strlen(stream) - cut, &err), 0);
        ck_assert_int_eq(docker_lines_finish(&s, &err), 0);
        docker_lines_free(&s);
        ck_assert_int_eq(l.n, 4);
        ck_assert_str_eq(l.got[0], "{\"a\":1}");
        ck_assert_str_eq(l.got[1], "{\"b\":2}");
        ck_assert_str_eq(l.got[2], "");
        ck_assert_str_eq(l.got[3], "{\"c\":3}");
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("docker_http");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, hosts);
    tcase_add_test(tc, version_negotiation);
    tcase_add_test(tc, error_mapping);
    tcase_add_test(tc, line_splitter_across_chunks);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
