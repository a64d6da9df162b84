/* The JSON reader on responses captured from a real Docker 20.10 daemon
 * (tests/fixtures/docker), on escapes and malformed input; the writer's
 * escaping and a round trip through the reader. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/json.h"

static char *fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docker/%s", CS_FIXTURES, name);
    char *text;
    cs_error err;
    ck_assert_msg(cs_read_file(path, 1 << 20, &text, len, &err) == 0, "%s", err.msg);
    return text;
}

static cs_json *parse_ok(const char *text, size_t len)
{
    cs_json *j;
    cs_error err;
    ck_assert_msg(cs_json_parse(text, len, &j, &err) == 0, "parse: %s", err.msg);
    return j;
}

START_TEST(version_and_info)
{
    size_t len;
    char *text = fixture("version.json", &len);
    cs_json *j = parse_ok(text, len);
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(cs_json_get_str(j, 0, "ApiVersion", a), "1.41");
    ck_assert_str_eq(cs_json_get_str(j, 0, "MinAPIVersion", a), "1.12");
    ck_assert_str_eq(cs_json_get_str(j, 0, "Version", a), "20.10.24+dfsg1");
    ck_assert_ptr_null(cs_json_get_str(j, 0, "NoSuchKey", a));
    /* Components is an array of objects */
    int comps = cs_json_key(j, 0, "Components");
    ck_assert_int_eq(cs_json_type_of(j, comps), CS_JSON_ARRAY);
    ck_assert_int_ge(cs_json_count(j, comps), 2);
    ck_assert_str_eq(cs_json_get_str(j, cs_json_at(j, comps, 0), "Name", a), "Engine");
    cs_json_free(j);
    free(text);

    text = fixture("info.json", &len);
    j = parse_ok(text, len);
    ck_assert_str_eq(cs_json_get_str(j, 0, "CgroupDriver", a), "cgroupfs");
    ck_assert_str_eq(cs_json_get_str(j, 0, "Driver", a), "overlay2");
    ck_assert_int_ge(cs_json_get_int64(j, 0, "NCPU", -1), 1);
    ck_assert(cs_json_get_int64(j, 0, "MemTotal", 0) > 1000000);
    cs_json_free(j);
    free(text);
    cs_arena_free(a);
}
END_TEST

START_TEST(container_inspect_labels_with_dots)
{
    size_t len;
    char *text = fixture("container_inspect.json", &len);
    cs_json *j = parse_ok(text, len);
    cs_arena *a = cs_arena_new();
    int labels = cs_json_get(j, 0, "Config.Labels");
    ck_assert_int_eq(cs_json_type_of(j, labels), CS_JSON_OBJECT);
    /* keys contain dots: exact-key lookup, never path splitting */
    ck_assert_str_eq(cs_json_str(j, cs_json_key(j, labels, "io.kubernetes.pod.name"), a), "web");
    ck_assert_str_eq(cs_json_str(j, cs_json_key(j, labels, "crishim.io/x"), a), "1");
    ck_assert_int_eq(cs_json_get(j, labels, "io.kubernetes.pod.name"), -1);
    int n = 0, k;
    for (int v = cs_json_first_member(j, labels, &k); v >= 0; v = cs_json_next_member(j, labels, v, &k))
        n++;
    ck_assert_int_eq(n, 2);
    ck_assert(cs_json_get_bool(j, 0, "State.Running", false));
    ck_assert_int_gt(cs_json_get_int64(j, 0, "State.Pid", 0), 0);
    /* Cmd is an array of strings */
    int cmd = cs_json_get(j, 0, "Config.Cmd");
    ck_assert_str_eq(cs_json_str(j, cs_json_at(j, cmd, 0), a), "sleep");
    ck_assert_int_eq(cs_json_at(j, cmd, 5), -1);
    cs_json_free(j);
    free(text);
    cs_arena_free(a);
}
END_TEST

START_TEST(images_list_sizes_and_nulls)
{
    size_t len;
    char *text = fixture("images_list.json", &len);
    cs_json *j = parse_ok(text, len);
    int img = cs_json_first(j, 0);
    ck_assert_int_ge(img, 0);
    int64_t size;
    ck_assert_int_eq(cs_json_int64(j, cs_json_key(j, img, "Size"), &size), 0);
    ck_assert_int_gt(size, 1000000);
    ck_assert_int_eq(cs_json_type_of(j, cs_json_key(j, img, "RepoDigests")), CS_JSON_NULL);
    ck_assert_int_eq(cs_json_count(j, cs_json_key(j, img, "RepoDigests")), 0);
    ck_assert_int_eq(cs_json_first(j, cs_json_key(j, img, "RepoDigests")), -1);
    ck_assert_int_eq(cs_json_get_int64(j, img, "Containers", 0), -1);
    ck_assert_int_eq(cs_json_next(j, 0, img), -1);
    cs_json_free(j);
    free(text);
}
END_TEST

START_TEST(absent_tokens_chain)
{
    const char *t = "{\"a\":{\"b\":[1,2]}}";
    cs_json *j = parse_ok(t, strlen(t));
    ck_assert_int_eq(cs_json_get(j, 0, "a.x.y"), -1);
    ck_assert_int_eq(cs_json_type_of(j, -1), CS_JSON_NONE);
    ck_assert_int_eq(cs_json_count(j, -1), 0);
    ck_assert_int_eq(cs_json_key(j, -1, "a"), -1);
    ck_assert_int_eq(cs_json_first(j, -1), -1);
    ck_assert_ptr_null(cs_json_str(j, -1, NULL));
    ck_assert_int_eq(cs_json_get_int64(j, -1, "a", 7), 7);
    ck_assert_int_eq(cs_json_get_int64(j, 0, "a.b", 7), 7); /* an array is not an int */
    ck_assert_int_eq(cs_json_skip(j, -1), -1);
    ck_assert_int_eq(cs_json_skip(j, 99), -1);
    int b = cs_json_get(j, 0, "a.b");
    ck_assert_int_eq(cs_json_count(j, b), 2);
    cs_json_free(j);
}
END_TEST

START_TEST(string_escapes)
{
    const char *t = "[\"a\\\"b\\\\c\\/d\\n\\t\", \"\\u00e9\\u4e2d\", \"\\ud83d\\ude00\", \"\\ud83d x\", \"\\udc00\"]";
    cs_json *j = parse_ok(t, strlen(t));
    char *s = cs_json_str(j, cs_json_at(j, 0, 0), NULL);
    ck_assert_str_eq(s, "a\"b\\c/d\n\t");
    free(s);
    s = cs_json_str(j, cs_json_at(j, 0, 1), NULL);
    ck_assert_str_eq(s, "\xc3\xa9\xe4\xb8\xad");
    free(s);
    s = cs_json_str(j, cs_json_at(j, 0, 2), NULL);
    ck_assert_str_eq(s, "\xf0\x9f\x98\x80");
    free(s);
    s = cs_json_str(j, cs_json_at(j, 0, 3), NULL);
    ck_assert_str_eq(s, "\xef\xbf\xbd x");
    free(s);
    s = cs_json_str(j, cs_json_at(j, 0, 4), NULL);
    ck_assert_str_eq(s, "\xef\xbf\xbd");
    free(s);
    ck_assert(cs_json_str_eq(j, cs_json_at(j, 0, 0), "a\"b\\c/d\n\t"));
    cs_json_free(j);
}
END_TEST

START_TEST(numbers)
{
    const char *t = "[9223372036854775807, -5, 1.5, 1e3, 18446744073709551615, 99999999999999999999, true, null]";
    cs_json *j = parse_ok(t, strlen(t));
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    ck_assert_int_eq(cs_json_int64(j, cs_json_at(j, 0, 0), &i), 0);
    ck_assert_int_eq(i, INT64_MAX);
    ck_assert_int_eq(cs_json_int64(j, cs_json_at(j, 0, 1), &i), 0);
    ck_assert_int_eq(i, -5);
    ck_assert_int_eq(cs_json_uint64(j, cs_json_at(j, 0, 1), &u), -1);
    ck_assert_int_eq(cs_json_int64(j, cs_json_at(j, 0, 2), &i), -1);
    ck_assert_int_eq(cs_json_double(j, cs_json_at(j, 0, 2), &d), 0);
    ck_assert(d == 1.5);
    ck_assert_int_eq(cs_json_int64(j, cs_json_at(j, 0, 3), &i), -1);
    ck_assert_int_eq(cs_json_uint64(j, cs_json_at(j, 0, 4), &u), 0);
    ck_assert(u == UINT64_MAX);
    ck_assert_int_eq(cs_json_int64(j, cs_json_at(j, 0, 5), &i), -1);
    ck_assert_int_eq(cs_json_bool(j, cs_json_at(j, 0, 6), &b), 0);
    ck_assert(b);
    ck_assert_int_eq(cs_json_type_of(j, cs_json_at(j, 0, 7)), CS_JSON_NULL);
    ck_assert_int_eq(cs_json_bool(j, cs_json_at(j, 0, 7), &b), -1);
    cs_json_free(j);
}
END_TEST

START_TEST(malformed_input_fails_cleanly)
{
    const char *bad[] = {"", "{", "[1,", "{\"a\" 1}", "{\"a\":}", "[1 2]x", "{} {}", "tru", "\"open", "{1:2}", "]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cs_json *j = NULL;
        cs_error err;
        ck_assert_msg(cs_json_parse(bad[i], strlen(bad[i]), &j, &err) == -1, "accepted \"%s\"", bad[i]);
        ck_assert_ptr_null(j);
        ck_assert_int_eq(err.code, CS_ERR_INTERNAL);
    }
}
END_TEST

/* Every prefix of every fixture either parses or fails cleanly; when it
 * parses, walking all of it stays in bounds (ASan watches). */
static void walk(const cs_json *j, int tok, int depth)
{
    if (depth > 100)
        return;
    cs_json_type t = cs_json_type_of(j, tok);
    if (t == CS_JSON_ARRAY) {
        for (int it = cs_json_first(j, tok); it >= 0; it = cs_json_next(j, tok, it))
            walk(j, it, depth + 1);
    } else if (t == CS_JSON_OBJECT) {
        int k;
        for (int v = cs_json_first_member(j, tok, &k); v >= 0; v = cs_json_next_member(j, tok, v, &k)) {
            free(cs_json_str(j, k, NULL));
            walk(j, v, depth + 1);
        }
    } else if (t == CS_JSON_STRING) {
        free(cs_json_str(j, tok, NULL));
    }
}

START_TEST(every_prefix_of_fixtures)
{
    const char *names[] = {"version.json", "info.json", "container_inspect.json", "containers_list.json",
                           "images_list.json", "network_bridge.json", "error_404.json"};
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        size_t len;
        char *text = fixture(names[f], &len);
        for (size_t n = 0; n <= len; n++) {
            /* an exact-size heap copy, so reading past it is caught */
            char *copy = malloc(n ? n : 1);
            memcpy(copy, text, n);
            cs_json *j;
            if (cs_json_parse(copy, n, &j, NULL) == 0) {
                walk(j, 0, 0);
                cs_json_free(j);
            }
            free(copy);
        }
        free(text);
    }
}
END_TEST

START_TEST(writer_escapes_and_round_trips)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "q", "say \"hi\"\\\n\t\x01");
    cs_jw_kv_str(&w, "bad-utf8", "a\xff" "b\xc3(" "\xed\xa0\x80");
    cs_jw_kv_str(&w, "utf8", "\xc3\xa9\xf0\x9f\x98\x80");
    cs_jw_kv_int(&w, "neg", -42);
    cs_jw_kv_bool(&w, "t", true);
    cs_jw_key(&w, "arr");
    cs_jw_arr_begin(&w);
    cs_jw_uint(&w, UINT64_MAX);
    cs_jw_double(&w, 0.5);
    cs_jw_double(&w, 1.0 / 0.0);
    cs_jw_null(&w);
    cs_jw_string(&w, NULL);
    cs_jw_raw(&w, "{\"x\":[]}", 8);
    cs_jw_arr_end(&w);
    cs_jw_obj_end(&w);
    size_t len;
    char *out = cs_jw_take(&w, &len);
    ck_assert_ptr_nonnull(strstr(out, "\"q\":\"say \\\"hi\\\"\\\\\\n\\t\\u0001\""));
    ck_assert_ptr_nonnull(strstr(out, "\"bad-utf8\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""));
    ck_assert_ptr_nonnull(strstr(out, "[18446744073709551615,0.5,null,null,null,{\"x\":[]}]"));

    cs_json *j = parse_ok(out, len);
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(cs_json_get_str(j, 0, "q", a), "say \"hi\"\\\n\t\x01");
    ck_assert_str_eq(cs_json_get_str(j, 0, "utf8", a), "\xc3\xa9\xf0\x9f\x98\x80");
    ck_assert_int_eq(cs_json_get_int64(j, 0, "neg", 0), -42);
    ck_assert(cs_json_get_bool(j, 0, "t", false));
    ck_assert_int_eq(cs_json_count(j, cs_json_key(j, 0, "arr")), 6);
    cs_json_free(j);
    cs_arena_free(a);
    free(out);
    cs_jw_free(&w); /* harmless after take */
}
END_TEST

START_TEST(writer_deep_nesting_is_safe)
{
    cs_jw w;
    cs_jw_init(&w);
    for (int i = 0; i < 200; i++)
        cs_jw_arr_begin(&w);
    cs_jw_int(&w, 1);
    for (int i = 0; i < 200; i++)
        cs_jw_arr_end(&w);
    ck_assert_uint_eq(strlen(cs_jw_str_view(&w)), 401);
    cs_jw_free(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("reader");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, version_and_info);
    tcase_add_test(tc, container_inspect_labels_with_dots);
    tcase_add_test(tc, images_list_sizes_and_nulls);
    tcase_add_test(tc, absent_tokens_chain);
    tcase_add_test(tc, string_escapes);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, malformed_input_fails_cleanly);
    tcase_add_test(tc, every_prefix_of_fixtures);
    suite_add_tcase(s, tc);
    TCase *tw = tcase_create("writer");
    tcase_add_test(tw, writer_escapes_and_round_trips);
    tcase_add_test(tw, writer_deep_nesting_is_safe);
    suite_add_tcase(s, tw);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
