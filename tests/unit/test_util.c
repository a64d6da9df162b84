/* Small utilities: the error type, the arena, RFC 3339 times, logfmt lines. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/arena.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/time.h"
#include "suite.h"

START_TEST(error_set_and_wrap)
{
    cs_error err;
    ck_assert_int_eq(cs_error_set(&err, CS_ERR_NOT_FOUND, "container %s", "abc"), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    cs_error_wrap(&err, "stop %s", "abc");
    ck_assert_str_eq(err.msg, "stop abc: container abc");
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    ck_assert_int_eq(cs_error_set(NULL, CS_ERR_INTERNAL, "x"), -1);
    /* Wrapping a full message truncates instead of overflowing. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cs_error_set(&err, CS_ERR_INTERNAL, "%s", big);
    cs_error_wrap(&err, "%s", big);
    ck_assert_uint_eq(strlen(err.msg), CS_ERROR_MSG_MAX - 1);
    cs_error_errno(&err, CS_ERR_PERMISSION, 13, "open %s", "/x");
    ck_assert_str_eq(err.msg, "open /x: Permission denied");
}
END_TEST

START_TEST(arena_allocations)
{
    cs_arena *a = cs_arena_new();
    char *s = cs_arena_strdup(a, "hello");
    ck_assert_str_eq(s, "hello");
    ck_assert_str_eq(cs_arena_strdup(a, NULL), "");
    ck_assert_str_eq(cs_arena_printf(a, "%d-%s", 7, "x"), "7-x");
    for (int i = 0; i < 10000; i++) {
        uint64_t *p = cs_arena_alloc(a, 24);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        ck_assert_uint_eq(p[0] | p[1] | p[2], 0);
        p[0] = p[1] = p[2] = UINT64_MAX;
    }
    char *big = cs_arena_alloc(a, 1 << 20);
    big[(1 << 20) - 1] = 1;
    ck_assert_str_eq(s, "hello");
    cs_arena_reset(a);
    ck_assert_uint_eq(cs_arena_used(a), 0);
    ck_assert_str_eq(cs_arena_strdup(a, "again"), "again");
    cs_arena_free(a);
}
END_TEST

START_TEST(rfc3339_format_and_parse)
{
    char buf[64];
    cs_time_rfc3339(1700000000123456789LL, 9, buf, sizeof buf);
    ck_assert_str_eq(buf, "2023-11-14T22:13:20.123456789Z");
    cs_time_rfc3339(1700000000123456789LL, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "2023-11-14T22:13:20Z");
    int64_t ns;
    const char *d = "2023-11-14T22:13:20.123456789Z";
    ck_assert_int_eq(cs_time_parse_rfc3339(d, strlen(d), &ns), 0);
    ck_assert_int_eq(ns, 1700000000123456789LL);
    const char *off = "2023-11-14T23:13:20.5+01:00";
    ck_assert_int_eq(cs_time_parse_rfc3339(off, strlen(off), &ns), 0);
    ck_assert_int_eq(ns, 1700000000500000000LL);
    const char *zero = "0001-01-01T00:00:00Z";
    ck_assert_int_eq(cs_time_parse_rfc3339(zero, strlen(zero), &ns), 0);
    ck_assert_int_eq(ns, 0);
    const char *bad[] = {"", "2023-11-14", "2023-13-14T22:13:20Z", "2023-11-14T22:13:20", "2023-11-14T22:13:20.Z",
                         "2023-11-14T22:13:20Zjunk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cs_time_parse_rfc3339(bad[i], strlen(bad[i]), &ns) == -1, "accepted %s", bad[i]);
}
END_TEST

START_TEST(logfmt_lines)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    cs_log_set_fd(fds[1]);
    cs_log_set_level(CS_LOG_DEBUG);
    cs_log(CS_LOG_INFO, "hello world", "key", "plain", "q", "has \"quote\" and space", "e", "", NULL);
    cs_debug("dbg", NULL);
    cs_log_set_level(CS_LOG_WARN);
    cs_info("hidden", NULL);
    cs_log_set_fd(-1);
    close(fds[1]);
    char buf[1024] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    ck_assert_int_gt(n, 0);
    ck_assert_msg(!strncmp(buf, "time=", 5), "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "level=info msg=\"hello world\" key=plain q=\"has \\\"quote\\\" and space\" e=\"\"\n"));
    ck_assert_ptr_nonnull(strstr(buf, "level=debug msg=dbg\n"));
    ck_assert_ptr_null(strstr(buf, "hidden"));
    /* RFC 3339 UTC timestamp with microseconds */
    ck_assert_int_eq(buf[15], 'T');
    ck_assert_int_eq(buf[31], 'Z');
    ck_assert_int_eq(cs_log_parse_level("warning"), CS_LOG_WARN);
    ck_assert_int_eq(cs_log_parse_level("loud"), -1);
}
END_TEST

START_TEST(write_file_and_remove_tree)
{
    char dir[] = "/tmp/crishim-util-XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a/b", dir);
    ck_assert_int_eq(cs_mkdir_p(path, 0755, NULL), 0);
    snprintf(path, sizeof path, "%s/a/b/f", dir);
    ck_assert_int_eq(cs_write_file(path, "one", 3, 0600, NULL), 0);
    ck_assert_int_eq(cs_write_file(path, "x", 1, 0600, NULL), 0); /* truncates */
    char *got;
    size_t len;
    ck_assert_int_eq(cs_read_file(path, 100, &got, &len, NULL), 0);
    ck_assert_uint_eq(len, 1);
    ck_assert_str_eq(got, "x");
    free(got);
    char target[256], link[256];
    snprintf(target, sizeof target, "%s-keep", dir);
    ck_assert_int_eq(cs_write_file(target, "k", 1, 0600, NULL), 0);
    snprintf(link, sizeof link, "%s/a/link", dir);
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_int_eq(cs_remove_tree(dir, NULL), 0);
    struct stat st;
    ck_assert_int_ne(lstat(dir, &st), 0);
    ck_assert_int_eq(stat(target, &st), 0); /* a symlink's target stays */
    unlink(target);
    ck_assert_int_eq(cs_remove_tree(dir, NULL), 0); /* absent: success */
    cs_error err;
    ck_assert_int_ne(cs_write_file("/nonexistent-dir/f", "x", 1, 0600, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/f"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, error_set_and_wrap);
    tcase_add_test(tc, arena_allocations);
    tcase_add_test(tc, rfc3339_format_and_parse);
    tcase_add_test(tc, logfmt_lines);
    tcase_add_test(tc, write_file_and_remove_tree);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
