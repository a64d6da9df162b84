/* The streaming server's token cache and Status objects: tokens are random,
 * URL-safe and single-use, expire, are bounded in number; and the Status JSON
 * on the error channel is what client-go decodes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/remotecommand.h"
#include "stream/tokens.h"
#include "stream/transports.h"
#include "suite.h"
#include "util/mem.h"

static strm_request *req(strm_kind kind, const char *id)
{
    strm_request *r = cs_xcalloc(1, sizeof *r);
    r->kind = kind;
    r->id = cs_xstrdup(id);
    return r;
}

START_TEST(single_use)
{
    strm_tokens *t = strm_tokens_new(10, 60000);
    char a[STRM_TOKEN_LEN + 1], b[STRM_TOKEN_LEN + 1];
    ck_assert_int_eq(strm_tokens_put(t, req(STRM_EXEC, "c1"), a, NULL), 0);
    ck_assert_int_eq(strm_tokens_put(t, req(STRM_ATTACH, "c2"), b, NULL), 0);
    ck_assert_uint_eq(strlen(a), STRM_TOKEN_LEN);
    ck_assert_str_ne(a, b);
    ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), STRM_TOKEN_LEN);
    ck_assert_uint_eq(strm_tokens_outstanding(t), 2);
    strm_request *r = strm_tokens_take(t, b);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->id, "c2");
    ck_assert_int_eq(r->kind, STRM_ATTACH);
    strm_request_free(r);
    ck_assert_ptr_null(strm_tokens_take(t, b)); /* spent */
    ck_assert_ptr_null(strm_tokens_take(t, "nope"));
    ck_assert_ptr_null(strm_tokens_take(t, ""));
    ck_assert_ptr_null(strm_tokens_take(t, NULL));
    char wrong[STRM_TOKEN_LEN + 1];
    memcpy(wrong, a, sizeof wrong);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    ck_assert_ptr_null(strm_tokens_take(t, wrong));
    strm_tokens_free(t); /* frees the one left */
}
END_TEST

START_TEST(expiry)
{
    strm_tokens *t = strm_tokens_new(10, 50);
    char a[STRM_TOKEN_LEN + 1];
    ck_assert_int_eq(strm_tokens_put(t, req(STRM_EXEC, "c1"), a, NULL), 0);
    usleep(80000);
    ck_assert_ptr_null(strm_tokens_take(t, a));
    ck_assert_uint_eq(strm_tokens_outstanding(t), 0);
    strm_tokens_free(t);
}
END_TEST

START_TEST(bounded)
{
    strm_tokens *t = strm_tokens_new(1000, 60000);
    char tok[STRM_TOKEN_LEN + 1], first[STRM_TOKEN_LEN + 1];
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(strm_tokens_put(t, req(STRM_PORTFORWARD, "p"), tok, NULL), 0);
        if (i == 0)
            memcpy(first, tok, sizeof tok);
    }
    cs_error err;
    ck_assert_int_eq(strm_tokens_put(t, req(STRM_EXEC, "c"), tok, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_RESOURCE);
    /* taking one makes room again */
    strm_request_free(strm_tokens_take(t, first));
    ck_assert_int_eq(strm_tokens_put(t, req(STRM_EXEC, "c"), tok, NULL), 0);
    strm_tokens_free(t);
}
END_TEST

START_TEST(status_objects)
{
    char *s = strm_status_json(-1, NULL);
    ck_assert_str_eq(s, "{\"metadata\":{},\"status\":\"Success\"}");
    free(s);
    s = strm_status_json(0, NULL);
    ck_assert_str_eq(s, "{\"metadata\":{},\"status\":\"Success\"}");
    free(s);
    s = strm_status_json(137, NULL);
    ck_assert_str_eq(s, "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit "
                        "code: exit status 137\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":"
                        "\"ExitCode\",\"message\":\"137\"}]}}");
    free(s);
    s = strm_status_json(-1, "container \"x\" is not running");
    ck_assert_str_eq(s, "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: container "
                        "\\\"x\\\" is not running\",\"reason\":\"InternalError\",\"details\":{\"causes\":[{\"message\":"
                        "\"container \\\"x\\\" is not running\"}]},\"code\":500}");
    free(s);
}
END_TEST

START_TEST(protocol_versions)
{
    ck_assert_int_eq(strm_protocol_version("v5.channel.k8s.io"), 5);
    ck_assert_int_eq(strm_protocol_version("v4.base64.channel.k8s.io"), 4);
    ck_assert_int_eq(strm_protocol_version("v2.channel.k8s.io"), 2);
    ck_assert_int_eq(strm_protocol_version("channel.k8s.io"), 1);
    ck_assert_int_eq(strm_protocol_version("base64.channel.k8s.io"), 1);
    ck_assert_int_eq(strm_protocol_version(""), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stream_tokens");
    TCase *tc = tcase_create("tokens");
    tcase_add_test(tc, single_use);
    tcase_add_test(tc, expiry);
    tcase_add_test(tc, bounded);
    tcase_add_test(tc, status_objects);
    tcase_add_test(tc, protocol_versions);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
