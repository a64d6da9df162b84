/* Base64: the RFC 4648 test vectors in both alphabets, the X-Registry-Auth
 * shape Docker expects (base64url of JSON, padding kept), lenient decoding of
 * either alphabet with or without padding, and rejection of invalid input. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "suite.h"

static const struct {
    const char *plain, *encoded;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
#define NVEC (sizeof rfc4648 / sizeof rfc4648[0])

static void decodes_to(const char *s, const void *want, size_t want_len)
{
    unsigned char *out = NULL;
    size_t n = 99;
    ck_assert_msg(cs_base64_decode(s, strlen(s), &out, &n) == 0, "rejected \"%s\"", s);
    ck_assert_ptr_nonnull(out);
    ck_assert_msg(n == want_len, "\"%s\": %zu bytes, want %zu", s, n, want_len);
    ck_assert_int_eq(memcmp(out, want, n), 0);
    ck_assert_int_eq(out[n], '\0');
    free(out);
}

static void rejects(const char *s, size_t len)
{
    unsigned char *out = (unsigned char *)"sentinel";
    size_t n = 99;
    ck_assert_msg(cs_base64_decode(s, len, &out, &n) == -1, "accepted \"%.*s\"", (int)len, s);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(n, 0);
}

START_TEST(rfc4648_encode)
{
    for (size_t i = 0; i < NVEC; i++) {
        for (int url = 0; url <= 1; url++) {
            char *e = cs_base64_encode(rfc4648[i].plain, strlen(rfc4648[i].plain), url);
            ck_assert_str_eq(e, rfc4648[i].encoded);
            free(e);
        }
    }
    /* NULL data with length 0 is the empty string */
    char *e = cs_base64_encode(NULL, 0, false);
    ck_assert_str_eq(e, "");
    free(e);
}
END_TEST

START_TEST(rfc4648_decode)
{
    for (size_t i = 0; i < NVEC; i++) {
        decodes_to(rfc4648[i].encoded, rfc4648[i].plain, strlen(rfc4648[i].plain));
        /* padding is optional */
        char unpadded[16];
        strcpy(unpadded, rfc4648[i].encoded);
        char *eq = strchr(unpadded, '=');
        if (eq)
            *eq = '\0';
        decodes_to(unpadded, rfc4648[i].plain, strlen(rfc4648[i].plain));
    }
}
END_TEST

/* The alphabets differ in 62 and 63 only: 0xfb 0xff -> "+/8=" / "-_8=". */
START_TEST(url_safe_alphabet)
{
    const unsigned char bytes[] = {0xfb, 0xff};
    char *std = cs_base64_encode(bytes, 2, false);
    char *url = cs_base64_encode(bytes, 2, true);
    ck_assert_str_eq(std, "+/8=");
    ck_assert_str_eq(url, "-_8="); /* padding kept */
    free(std);
    free(url);
    decodes_to("+/8=", bytes, 2);
    decodes_to("-_8=", bytes, 2);
    decodes_to("-_8", bytes, 2);
    decodes_to("+_8", bytes, 2); /* mixed alphabets */
    const unsigned char pluses[] = {0xfb, 0xef, 0xbe};
    decodes_to("++++", pluses, 3);
    decodes_to("----", pluses, 3);
}
END_TEST

/* Docker's X-Registry-Auth: base64url of the AuthConfig JSON, '=' kept. */
START_TEST(registry_auth_header)
{
    const char *json = "{\"username\":\"u\",\"password\":\"p?>~\",\"serveraddress\":\"localhost:5000\"}";
    char *url = cs_base64_encode(json, strlen(json), true);
    ck_assert_str_eq(url, "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InA_Pn4iLCJzZXJ2ZXJhZGRyZXNzIjoibG9jYWxob3N0OjUwMDAifQ==");
    char *std = cs_base64_encode(json, strlen(json), false);
    ck_assert_str_eq(std, "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InA/Pn4iLCJzZXJ2ZXJhZGRyZXNzIjoibG9jYWxob3N0OjUwMDAifQ==");
    decodes_to(url, json, strlen(json));
    decodes_to(std, json, strlen(json));
    free(url);
    free(std);
    /* CRI's auth field: standard base64 of user:pass */
    decodes_to("dXNlcjpwYXNz", "user:pass", 9);
}
END_TEST

/* Every byte value, every length 0..300, both alphabets. */
START_TEST(binary_round_trip)
{
    unsigned char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 0; len <= sizeof data; len++) {
        for (int url = 0; url <= 1; url++) {
            char *e = cs_base64_encode(data, len, url);
            ck_assert_uint_eq(strlen(e), (len + 2) / 3 * 4);
            ck_assert_ptr_null(strchr(e, url ? '+' : '-'));
            ck_assert_ptr_null(strchr(e, url ? '/' : '_'));
            unsigned char *out;
            size_t n;
            ck_assert_int_eq(cs_base64_decode(e, strlen(e), &out, &n), 0);
            ck_assert_uint_eq(n, len);
            ck_assert(len == 0 || memcmp(out, data, len) == 0);
            ck_assert_int_eq(out[n], '\0');
            free(out);
            free(e);
        }
    }
}
END_TEST

/* Decoding reads only s[0..len): the rest of the buffer is not looked at. */
START_TEST(decode_respects_length)
{
    unsigned char *out;
    size_t n;
    ck_assert_int_eq(cs_base64_decode("Zm9v!!!!", 4, &out, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq((char *)out, "foo");
    free(out);
    ck_assert_int_eq(cs_base64_decode(NULL, 0, &out, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq((char *)out, "");
    free(out);
    /* an exact-size heap copy: a read past the end would be caught by ASan */
    char *heap = malloc(7);
    memcpy(heap, "Zm9vYmE", 7);
    ck_assert_int_eq(cs_base64_decode(heap, 7, &out, &n), 0);
    ck_assert_uint_eq(n, 5);
    free(out);
    free(heap);
}
END_TEST

START_TEST(invalid_input)
{
    const char *bad[] = {
        "Z",        /* one character is less than a byte */
        "Zm9vY",    /* 4k+1 characters */
        "Zm9vY===", /* three '=' */
        "Zg===",    /* too much padding */
        "Zg=",      /* padding that does not complete the group */
        "Zm9=v",    /* '=' inside */
        "=",        /* only padding */
        "==",
        "====",
        "Zm9v!",    /* not in either alphabet */
        "Zm 9v",    /* whitespace */
        "Zm9v\n",
        "Zm9v.",
        "Zm9v\xc3\xa9",
        "Zm9vYmE==", /* padding on a 7-character group */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        rejects(bad[i], strlen(bad[i]));
    rejects("Zm\0v", 4);
    rejects(NULL, 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base64");
    TCase *tc = tcase_create("base64");
    tcase_add_test(tc, rfc4648_encode);
    tcase_add_test(tc, rfc4648_decode);
    tcase_add_test(tc, url_safe_alphabet);
    tcase_add_test(tc, registry_auth_header);
    tcase_add_test(tc, binary_round_trip);
    tcase_add_test(tc, decode_respects_length);
    tcase_add_test(tc, invalid_input);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
