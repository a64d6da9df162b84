/* The CRI log writer (src/backend/crilog.c) on real files: the line format,
 * P pieces for long and unfinished lines, resume after a restart without
 * duplicates (per stream), reopen after rotation, a full disk (/dev/full),
 * bytes kept verbatim (NUL, CRLF) and the timestamps. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/crilog.h"
#include "util/fs.h"
#include "util/time.h"
#include "suite.h"

/* 2026-11-24T09:12:58.000000001Z */
#define T0 1795511578000000001LL

static char dir[256], path[300];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/crilog-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sub/dir/0.log", dir);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *p, size_t *len)
{
    char *out;
    size_t n;
    ck_assert_int_eq(cs_read_file(p, 64u << 20, &out, &n, NULL), 0);
    if (len)
        *len = n;
    return out;
}

static cs_crilog *open_ok(void)
{
    cs_crilog *w;
    cs_error err;
    ck_assert_msg(cs_crilog_open(path, "test", &w, &err) == 0, "%s", err.msg);
    return w;
}

/* noinline: inlined into a test at -O2, GCC 12 takes the strstr walk for a
 * dangling pointer into slurp()'s local (a false -Wdangling-pointer). */
__attribute__((noinline)) static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *q = strstr(hay, needle); q; q = strstr(q + 1, needle))
        n++;
    return n;
}

START_TEST(format_and_timestamps)
{
    cs_crilog *w = open_ok(); /* creates the missing directories */
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0, "hello", 5, false);
    cs_crilog_write(w, CS_CRILOG_STDERR, T0 + 1000, "oops", 4, false);
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + 2000, "", 0, false); /* an empty line is a line */
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + 3000, "", 0, true);  /* an empty piece is nothing */
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + 4000, "two\nlines", 9, false);
    cs_crilog_close(w);
    char *text = slurp(path, NULL);
    ck_assert_str_eq(text, "2026-11-24T09:12:58.000000001Z stdout F hello\n"
                           "2026-11-24T09:12:58.000001001Z stderr F oops\n"
                           "2026-11-24T09:12:58.000002001Z stdout F \n"
                           "2026-11-24T09:12:58.000004001Z stdout F two\n"
                           "2026-11-24T09:12:58.000004001Z stdout F lines\n");
    /* and the timestamps read back as they were given */
    int64_t ns;
    ck_assert_int_eq(cs_time_parse_rfc3339(text, 30, &ns), 0);
    ck_assert_int_eq(ns, T0);
    free(text);
    ck_assert_int_eq(access(path, F_OK), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
}
END_TEST

START_TEST(partial_lines)
{
    cs_crilog *w = open_ok();
    /* an engine that cut a line itself: P pieces, then F */
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0, "abc", 3, true);
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + 1, "def", 3, false);
    /* raw bytes: lines across chunks, and an unfinished end */
    cs_crilog_feed(w, CS_CRILOG_STDERR, T0 + 2, "one\ntw", 6);
    cs_crilog_feed(w, CS_CRILOG_STDERR, T0 + 3, "o\nthr", 5);
    cs_crilog_flush(w, CS_CRILOG_STDERR, T0 + 4);
    cs_crilog_feed(w, CS_CRILOG_STDOUT, T0 + 5, "kept until close", 16);
    cs_crilog_close(w);
    char *text = slurp(path, NULL);
    ck_assert_msg(strstr(text, "Z stdout P abc\n") && strstr(text, "Z stdout F def\n"), "%s", text);
    ck_assert_msg(strstr(text, ".000000003Z stderr F one\n"), "%s", text);
    ck_assert_msg(strstr(text, ".000000004Z stderr F two\n"), "%s", text);
    ck_assert_msg(strstr(text, ".000000005Z stderr P thr\n"), "%s", text);
    ck_assert_msg(strstr(text, "Z stdout P kept until close\n"), "%s", text);
    ck_assert_int_eq(count(text, "\n"), 6);
    free(text);
}
END_TEST

START_TEST(long_lines)
{
    size_t big = 3 * CS_CRILOG_LINE_MAX + 100;
    char *line = malloc(big + 1);
    memset(line, 'x', big);
    line[big] = '\n';
    cs_crilog *w = open_ok();
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0, line, big, false);
    /* fed in odd chunks, the same line comes out in the same pieces */
    for (size_t off = 0; off <= big;) {
        size_t n = off + 777 <= big + 1 ? 777 : big + 1 - off;
        cs_crilog_feed(w, CS_CRILOG_STDERR, T0 + 1, line + off, n);
        off += n;
    }
    /* a line of exactly the bound is one F line */
    cs_crilog_feed(w, CS_CRILOG_STDERR, T0 + 2, line + big - CS_CRILOG_LINE_MAX, CS_CRILOG_LINE_MAX + 1);
    cs_crilog_close(w);
    size_t len;
    char *text = slurp(path, &len);
    ck_assert_int_eq(count(text, " stdout P "), 3);
    ck_assert_int_eq(count(text, " stdout F "), 1);
    ck_assert_int_eq(count(text, " stderr P "), 3);
    ck_assert_int_eq(count(text, " stderr F "), 2);
    size_t xs = 0, longest = 0, cur = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == 'x')
            xs++, cur++;
        else
            cur = 0;
        if (cur > longest)
            longest = cur;
    }
    ck_assert_uint_eq(xs, 2 * big + CS_CRILOG_LINE_MAX);
    ck_assert_uint_eq(longest, CS_CRILOG_LINE_MAX);
    free(text);
    free(line);
}
END_TEST

START_TEST(verbatim_bytes)
{
    cs_crilog *w = open_ok();
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0, "a\0b\r", 4, false);
    cs_crilog_feed(w, CS_CRILOG_STDOUT, T0 + 1, "c\r\nd\0e\r\n", 8);
    cs_crilog_close(w);
    size_t len;
    char *text = slurp(path, &len);
    const char want[] = "2026-11-24T09:12:58.000000001Z stdout F a\0b\r\n"
                        "2026-11-24T09:12:58.000000002Z stdout F c\r\n"
                        "2026-11-24T09:12:58.000000002Z stdout F d\0e\r\n";
    ck_assert_uint_eq(len, sizeof want - 1);
    ck_assert(memcmp(text, want, len) == 0);
    free(text);

    /* NUL bytes in the file don't stop the resume scan */
    w = open_ok();
    ck_assert_int_eq(cs_crilog_last(w, CS_CRILOG_STDOUT), T0 + 1);
    cs_crilog_close(w);
}
END_TEST

START_TEST(resume_per_stream)
{
    cs_crilog *w = open_ok();
    ck_assert_int_eq(cs_crilog_last(w, CS_CRILOG_STDOUT), 0);
    ck_assert(!cs_crilog_seen(w, CS_CRILOG_STDOUT, T0));
    /* stderr's newest line is older than stdout's: a merged stream is in
     * write order, so each stream keeps its own mark */
    cs_crilog_write(w, CS_CRILOG_STDERR, T0 + 10, "e1", 2, false);
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + 30, "o1", 2, false);
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + 40, "o2-piece", 8, true);
    cs_crilog_close(w);

    /* a restart: the replay from the older mark writes each line once */
    w = open_ok();
    ck_assert_int_eq(cs_crilog_last(w, CS_CRILOG_STDOUT), T0 + 40);
    ck_assert_int_eq(cs_crilog_last(w, CS_CRILOG_STDERR), T0 + 10);
    struct {
        cs_crilog_stream s;
        int64_t ts;
        const char *text;
        bool partial;
    } replay[] = {
        {CS_CRILOG_STDERR, T0 + 10, "e1", false},       {CS_CRILOG_STDOUT, T0 + 30, "o1", false},
        {CS_CRILOG_STDERR, T0 + 35, "e2", false},       {CS_CRILOG_STDOUT, T0 + 40, "o2-piece", true},
        {CS_CRILOG_STDOUT, T0 + 40, "o2-rest", false}, {CS_CRILOG_STDOUT, T0 + 50, "o3", false},
    };
    for (size_t i = 0; i < sizeof replay / sizeof replay[0]; i++) {
        /* a P piece at the mark is accepted: the pieces of a cut line share
         * one timestamp, and the mark may be the first of them */
        if (!cs_crilog_seen(w, replay[i].s, replay[i].ts))
            cs_crilog_write(w, replay[i].s, replay[i].ts, replay[i].text, strlen(replay[i].text), replay[i].partial);
    }
    cs_crilog_close(w);
    char *text = slurp(path, NULL);
    ck_assert_int_eq(count(text, " e1\n"), 1);
    ck_assert_int_eq(count(text, " o1\n"), 1);
    ck_assert_int_eq(count(text, " e2\n"), 1);
    ck_assert_int_eq(count(text, " o2-rest\n"), 1);
    ck_assert_int_eq(count(text, " o3\n"), 1);
    free(text);

    /* an incomplete last line (a crash mid-write) doesn't count */
    int fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    const char cut[] = "2026-11-24T09:13:58.000000001Z stdout F cut-of";
    ck_assert_int_eq(write(fd, cut, sizeof cut - 1), (ssize_t)(sizeof cut - 1));
    close(fd);
    w = open_ok();
    ck_assert_int_eq(cs_crilog_last(w, CS_CRILOG_STDOUT), T0 + 50);
    cs_crilog_close(w);
}
END_TEST

START_TEST(resume_reads_only_the_tail)
{
    cs_crilog *w = open_ok();
    char line[1000];
    memset(line, 'y', sizeof line);
    for (int i = 0; i < 200; i++) /* ~200 KB: more than the tail read */
        cs_crilog_write(w, i % 2 ? CS_CRILOG_STDERR : CS_CRILOG_STDOUT, T0 + i, line, sizeof line, false);
    cs_crilog_close(w);
    w = open_ok();
    ck_assert_int_eq(cs_crilog_last(w, CS_CRILOG_STDOUT), T0 + 198);
    ck_assert_int_eq(cs_crilog_last(w, CS_CRILOG_STDERR), T0 + 199);
    cs_crilog_close(w);
}
END_TEST

START_TEST(reopen_after_rotation)
{
    cs_crilog *w = open_ok();
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0, "before", 6, false);
    char rotated[320];
    snprintf(rotated, sizeof rotated, "%s.1", path);
    ck_assert_int_eq(rename(path, rotated), 0);
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + 1, "still-old", 9, false);
    cs_error err;
    ck_assert_msg(cs_crilog_reopen(w, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(access(path, F_OK), 0);
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + 2, "after", 5, false);
    /* a reopen that fails keeps the file in use */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sub/dir", dir);
    char moved[300];
    snprintf(moved, sizeof moved, "%s/moved", dir);
    ck_assert_int_eq(rename(sub, moved), 0);
    ck_assert_int_eq(cs_crilog_reopen(w, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INTERNAL);
    cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + 3, "kept", 4, false);
    cs_crilog_close(w);
    snprintf(rotated, sizeof rotated, "%s/0.log.1", moved);
    char *old = slurp(rotated, NULL);
    ck_assert_msg(strstr(old, " before\n") && strstr(old, " still-old\n") && !strstr(old, "after"), "%s", old);
    free(old);
    char now[320];
    snprintf(now, sizeof now, "%s/0.log", moved);
    char *text = slurp(now, NULL);
    ck_assert_msg(strstr(text, " after\n") && strstr(text, " kept\n") && !strstr(text, "before"), "%s", text);
    free(text);
}
END_TEST

START_TEST(full_disk_is_not_fatal)
{
    if (access("/dev/full", W_OK) != 0)
        return;
    cs_crilog *w;
    cs_error err;
    ck_assert_msg(cs_crilog_open("/dev/full", "full", &w, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 1000; i++) /* ENOSPC every time: said once, nothing else */
        cs_crilog_write(w, CS_CRILOG_STDOUT, T0 + i, "lost", 4, false);
    cs_crilog_feed(w, CS_CRILOG_STDERR, T0, "lost too\nand", 12);
    /* the dropped lines count as written: a replay doesn't retry them */
    ck_assert(cs_crilog_seen(w, CS_CRILOG_STDOUT, T0 + 999));
    cs_crilog_close(w);
}
END_TEST

START_TEST(bad_paths)
{
    cs_crilog *w;
    cs_error err;
    ck_assert_int_eq(cs_crilog_open("", "x", &w, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    ck_assert_int_eq(cs_crilog_open("/proc/no/such/dir/0.log", "x", &w, &err), -1);
    ck_assert_ptr_null(w);
    cs_crilog_close(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crilog");
    TCase *tc = tcase_create("writer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, format_and_timestamps);
    tcase_add_test(tc, partial_lines);
    tcase_add_test(tc, long_lines);
    tcase_add_test(tc, verbatim_bytes);
    tcase_add_test(tc, resume_per_stream);
    tcase_add_test(tc, resume_reads_only_the_tail);
    tcase_add_test(tc, reopen_after_rotation);
    tcase_add_test(tc, full_disk_is_not_fatal);
    tcase_add_test(tc, bad_paths);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
