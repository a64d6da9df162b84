/* The containerd backend's FIFO loop (src/containerd/stdio.c) on real FIFOs,
 * with this test as the shim: complete and partial lines on both streams,
 * EOF only once the writer came and went, cancel of a task that never came,
 * many containers on the one thread, a terminal's CRLF, reopen after
 * rotation, resume after a restart (with the writer still there, gone, and
 * gone with a full pipe), the resume pass retried before the table is
 * ready, and the FIFO directory's removal. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containerd/stdio.h"
#include "util/fs.h"
#include "util/time.h"
#include "suite.h"

static char root[256];

/* snprintf that fails the test rather than cut a path short. */
#define PATHF(buf, cap, ...) ck_assert_int_lt(snprintf(buf, cap, __VA_ARGS__), (int)(cap))

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/ctrd-stdio-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

static void paths(const char *id, char *dir, size_t dcap, char *log, size_t lcap)
{
    PATHF(dir, dcap, "%s/fifo/%s", root, id);
    PATHF(log, lcap, "%s/logs/%s.log", root, id);
}

/* The shim's side: its writer on one FIFO (blocking: crishim's reader is
 * there). */
static int open_writer(const char *dir, const char *name)
{
    char p[512];
    PATHF(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open %s: %s", p, strerror(errno));
    return fd;
}

static void put(int fd, const char *s)
{
    ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* The log without timestamps: "stdout F a\nstderr P b\n..." (malloc'd). */
static char *lines_of(const char *log)
{
    char *raw;
    size_t n;
    cs_error err;
    ck_assert_msg(cs_read_file(log, 64u << 20, &raw, &n, &err) == 0, "%s", err.msg);
    char *out = malloc(n + 1);
    size_t k = 0;
    for (const char *line = raw; line < raw + n;) {
        const char *nl = memchr(line, '\n', (size_t)(raw + n - line));
        ck_assert_ptr_nonnull(nl);
        const char *sp = memchr(line, ' ', (size_t)(nl - line));
        ck_assert_ptr_nonnull(sp);
        int64_t ns;
        ck_assert_int_eq(cs_time_parse_rfc3339(line, (size_t)(sp - line), &ns), 0);
        memcpy(out + k, sp + 1, (size_t)(nl - sp));
        k += (size_t)(nl - sp);
        line = nl + 1;
    }
    out[k] = '\0';
    free(raw);
    return out;
}

/* Waits (3 s at most) until the loop has written something to log. */
static void wait_written(const char *log)
{
    struct stat st = {0};
    for (int i = 0; i < 300 && (stat(log, &st) != 0 || st.st_size == 0); i++)
        usleep(10000);
    ck_assert_int_gt(st.st_size, 0);
}

static bool drained(ctrd_io *io, const char *id, int64_t ms)
{
    const char *ids[] = {id};
    return cs_logdrain_wait(ctrd_io_drain(io), ids, 1, cs_time_mono_ms() + ms);
}

static ctrd_io *add_one(ctrd_io *io, const char *id, bool tty, char *dir, char *log)
{
    cs_error err;
    paths(id, dir, 400, log, 400);
    ck_assert_msg(ctrd_io_mkfifos(dir, tty, &err) == 0, "%s", err.msg);
    ck_assert_msg(ctrd_io_add(io, id, dir, tty, log, false, &err) == 0, "%s", err.msg);
    return io;
}

START_TEST(lines_and_eof)
{
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    char dir[400], log[400];
    add_one(io, "c1", false, dir, log);
    /* the log file exists before the task does (StartContainer's promise) */
    struct stat st;
    ck_assert_int_eq(stat(log, &st), 0);
    cs_error err;
    ck_assert_int_eq(ctrd_io_add(io, "c1", dir, false, log, false, &err), 1);
    /* no writer yet: quiet, not EOF */
    ck_assert(!drained(io, "c1", 200));
    int out = open_writer(dir, CTRD_IO_STDOUT), er = open_writer(dir, CTRD_IO_STDERR);
    put(out, "one\ntw");
    put(er, "err line\n");
    usleep(50000);
    put(out, "o\nthree");
    close(out);
    ck_assert(!drained(io, "c1", 100)); /* stderr still open */
    close(er);
    ck_assert(drained(io, "c1", 3000));
    ck_assert(!ctrd_io_active(io, "c1"));
    char *got = lines_of(log);
    /* per stream in order; the unfinished "three" is a P at EOF */
    ck_assert_ptr_nonnull(strstr(got, "stdout F one\n"));
    ck_assert_ptr_nonnull(strstr(got, "stdout F two\n"));
    ck_assert_ptr_nonnull(strstr(got, "stdout P three\n"));
    ck_assert_ptr_nonnull(strstr(got, "stderr F err line\n"));
    ck_assert(strstr(got, "stdout F one\n") < strstr(got, "stdout F two\n"));
    ck_assert_int_eq(strlen(got), strlen("stdout F one\nstdout F two\nstdout P three\nstderr F err line\n"));
    free(got);
    ck_assert_int_ne(ctrd_io_reopen(io, "c1", &err), 0);
    ck_assert_int_eq(err.code, CS_ERR_CONFLICT);
    ctrd_io_free(io);
}
END_TEST

START_TEST(tty_and_long_lines)
{
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    char dir[400], log[400];
    add_one(io, "tty", true, dir, log);
    char p[512];
    PATHF(p, sizeof p, "%s/%s", dir, CTRD_IO_STDERR);
    ck_assert_int_ne(access(p, F_OK), 0); /* a TTY has one stream */
    int out = open_writer(dir, CTRD_IO_STDOUT);
    /* 100 KiB without a newline: more than the pipe and the line buffer */
    size_t big = 100 * 1024;
    char *buf = malloc(big + 2);
    memset(buf, 'x', big);
    buf[big] = '\n';
    buf[big + 1] = '\0';
    put(out, buf);
    /* a terminal's "\r\n" ends a line, also when a read splits it */
    put(out, "a\r\nb\r");
    usleep(50000);
    put(out, "\nc\rd\r\n");
    close(out);
    ck_assert(drained(io, "tty", 3000));
    char *got = lines_of(log);
    size_t xs = 0, pieces = 0;
    for (const char *q = got; *q; q++)
        xs += *q == 'x';
    for (const char *q = strstr(got, "stdout P "); q; q = strstr(q + 1, "stdout P "))
        pieces++;
    ck_assert_uint_eq(xs, big);
    ck_assert_uint_ge(pieces, 6); /* 16 KiB pieces */
    ck_assert_ptr_nonnull(strstr(got, "stdout F a\nstdout F b\nstdout F c\rd\n"));
    free(got);
    free(buf);
    ctrd_io_free(io);
}
END_TEST

START_TEST(cancel_before_the_task)
{
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    char dir[400], log[400];
    add_one(io, "never", false, dir, log);
    ck_assert(ctrd_io_active(io, "never"));
    ctrd_io_cancel(io, "never");
    ctrd_io_cancel(io, "unknown");
    ck_assert(drained(io, "never", 3000));
    ck_assert(!ctrd_io_active(io, "never"));
    cs_error err;
    ck_assert_int_eq(ctrd_io_rmfifos(dir, &err), 0);
    ck_assert_int_ne(access(dir, F_OK), 0);
    ck_assert_int_eq(ctrd_io_rmfifos(dir, &err), 0); /* absent is fine */
    ctrd_io_free(io);
}
END_TEST

#define MANY 60
#define LINES 50

START_TEST(many_containers)
{
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    char dirs[MANY][400], logs[MANY][400], ids[MANY][16];
    int fds[MANY][2];
    for (int i = 0; i < MANY; i++) {
        PATHF(ids[i], sizeof ids[i], "m%d", i);
        add_one(io, ids[i], false, dirs[i], logs[i]);
        fds[i][0] = open_writer(dirs[i], CTRD_IO_STDOUT);
        fds[i][1] = open_writer(dirs[i], CTRD_IO_STDERR);
    }
    for (int l = 0; l < LINES; l++) {
        for (int i = 0; i < MANY; i++) {
            char line[64];
            PATHF(line, sizeof line, "c%d line %d\n", i, l);
            put(fds[i][l % 2], line);
        }
    }
    const char *idv[MANY];
    for (int i = 0; i < MANY; i++) {
        close(fds[i][0]);
        close(fds[i][1]);
        idv[i] = ids[i];
    }
    ck_assert(cs_logdrain_wait(ctrd_io_drain(io), idv, MANY, cs_time_mono_ms() + 10000));
    for (int i = 0; i < MANY; i++) {
        char *got = lines_of(logs[i]);
        for (int l = 0; l < LINES; l++) {
            char want[80];
            PATHF(want, sizeof want, "%s F c%d line %d\n", l % 2 ? "stderr" : "stdout", i, l);
            ck_assert_msg(strstr(got, want), "%s: no %s in\n%s", ids[i], want, got);
        }
        free(got);
    }
    ctrd_io_free(io);
}
END_TEST

START_TEST(reopen_after_rotation)
{
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    char dir[400], log[400];
    add_one(io, "rot", false, dir, log);
    int out = open_writer(dir, CTRD_IO_STDOUT), er = open_writer(dir, CTRD_IO_STDERR);
    put(out, "before\n");
    wait_written(log); /* the line is in the file before the rotation */
    char rotated[512];
    PATHF(rotated, sizeof rotated, "%s.1", log);
    ck_assert_int_eq(rename(log, rotated), 0);
    cs_error err;
    ck_assert_msg(ctrd_io_reopen(io, "rot", &err) == 0, "%s", err.msg);
    put(out, "after\n");
    close(out);
    close(er);
    ck_assert(drained(io, "rot", 3000));
    char *old = lines_of(rotated), *cur = lines_of(log);
    ck_assert_str_eq(old, "stdout F before\n");
    ck_assert_str_eq(cur, "stdout F after\n");
    free(old);
    free(cur);
    ctrd_io_free(io);
}
END_TEST

/* What the shim does: its writer, and a reader of its own so writes never
 * fail while crishim is away. */
typedef struct shim {
    int out_r, out_w, err_r, err_w;
} shim;

static void shim_open(const char *dir, shim *s)
{
    char p[512];
    PATHF(p, sizeof p, "%s/%s", dir, CTRD_IO_STDOUT);
    s->out_r = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    s->out_w = open(p, O_WRONLY | O_CLOEXEC);
    PATHF(p, sizeof p, "%s/%s", dir, CTRD_IO_STDERR);
    s->err_r = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    s->err_w = open(p, O_WRONLY | O_CLOEXEC);
    ck_assert(s->out_r >= 0 && s->out_w >= 0 && s->err_r >= 0 && s->err_w >= 0);
}

static void shim_close(shim *s)
{
    close(s->out_w);
    close(s->err_w);
    close(s->out_r);
    close(s->err_r);
}

START_TEST(resume_after_restart)
{
    char dir[400], log[400];
    paths("res", dir, sizeof dir, log, sizeof log);
    cs_error err;
    ck_assert_int_eq(ctrd_io_mkfifos(dir, false, &err), 0);
    /* the first crishim read "first" and was killed with "half" unread */
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    ck_assert_int_eq(ctrd_io_add(io, "res", dir, false, log, false, &err), 0);
    shim s;
    shim_open(dir, &s);
    put(s.out_w, "first\n");
    wait_written(log);
    ctrd_io_free(io);
    put(s.out_w, "while away\n");
    put(s.err_w, "err away\n");
    /* the next one resumes: what the pipe kept is read, nothing twice */
    io = ctrd_io_new(NULL, NULL);
    ck_assert_msg(ctrd_io_add(io, "res", dir, false, log, true, &err) == 0, "%s", err.msg);
    ck_assert(ctrd_io_active(io, "res"));
    put(s.out_w, "after\n");
    shim_close(&s);
    ck_assert(drained(io, "res", 3000));
    char *got = lines_of(log);
    ck_assert_msg(!strcmp(got, "stdout F first\nstdout F while away\nstderr F err away\nstdout F after\n") ||
                      !strcmp(got, "stdout F first\nstderr F err away\nstdout F while away\nstdout F after\n"),
                  "%s", got);
    free(got);
    /* the writer gone before the resume: the log is complete at once */
    ck_assert_int_eq(ctrd_io_add(io, "res", dir, false, log, true, &err), 0);
    ck_assert(!ctrd_io_active(io, "res"));
    /* gone, but a pipe still full of its bytes (the shim's reader keeps
     * them): every one is read, then the log is complete */
    shim_open(dir, &s);
    char *big = malloc(60001);
    memset(big, 'y', 60000);
    big[59999] = '\n';
    big[60000] = '\0';
    put(s.out_w, big);
    close(s.out_w);
    close(s.err_w);
    ck_assert_int_eq(ctrd_io_add(io, "res", dir, false, log, true, &err), 0);
    ck_assert(!ctrd_io_active(io, "res"));
    close(s.out_r);
    close(s.err_r);
    got = lines_of(log);
    size_t ys = 0;
    for (const char *q = got; *q; q++)
        ys += *q == 'y';
    ck_assert_uint_eq(ys, 59999 + 2); /* and the two of "away" */
    free(got);
    free(big);
    ctrd_io_free(io);
}
END_TEST

static int resume_calls;
static int flaky_resume(ctrd_io *io, const cs_ctx *ctx, void *arg)
{
    (void)ctx;
    const char *dir = arg;
    cs_error err;
    if (++resume_calls == 1)
        return -1; /* containerd was down */
    char log[512];
    PATHF(log, sizeof log, "%s/resumed.log", dir);
    ck_assert_int_eq(ctrd_io_add(io, "resumed", dir, false, log, true, &err), 0);
    return 0;
}

START_TEST(resume_pass_retried)
{
    char dir[400], log[400];
    paths("rp", dir, sizeof dir, log, sizeof log);
    cs_error err;
    ck_assert_int_eq(ctrd_io_mkfifos(dir, false, &err), 0);
    shim s;
    shim_open(dir, &s);
    put(s.out_w, "kept\n");
    resume_calls = 0;
    int64_t t0 = cs_time_mono_ms();
    ctrd_io *io = ctrd_io_new(flaky_resume, dir);
    /* not ready: a wait for anything waits for the pass */
    ck_assert(!drained(io, "other", 300));
    ck_assert(drained(io, "other", 5000));
    ck_assert_int_eq(resume_calls, 2);
    ck_assert_int_ge(cs_time_mono_ms() - t0, 1500);
    ck_assert(ctrd_io_active(io, "resumed"));
    shim_close(&s);
    ck_assert(drained(io, "resumed", 3000));
    char rl[512];
    PATHF(rl, sizeof rl, "%s/resumed.log", dir);
    char *got = lines_of(rl);
    ck_assert_str_eq(got, "stdout F kept\n");
    free(got);
    ctrd_io_free(io);
}
END_TEST

START_TEST(free_with_live_streams)
{
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    char dir[400], log[400];
    add_one(io, "live", false, dir, log);
    int out = open_writer(dir, CTRD_IO_STDOUT);
    put(out, "unfinished");
    usleep(100000);
    /* shutdown with the container running: the kept bytes go out as P */
    ctrd_io_free(io);
    close(out);
    char *got = lines_of(log);
    ck_assert_str_eq(got, "stdout P unfinished\n");
    free(got);
    /* a FIFO directory with an exec's FIFOs in it goes as a whole */
    char p[512];
    PATHF(p, sizeof p, "%s/exec-1-stdout", dir);
    ck_assert_int_eq(mkfifo(p, 0700), 0);
    cs_error err;
    ck_assert_int_eq(ctrd_io_rmfifos(dir, &err), 0);
    ck_assert_int_ne(access(dir, F_OK), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrd_stdio");
    TCase *tc = tcase_create("fifos");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lines_and_eof);
    tcase_add_test(tc, tty_and_long_lines);
    tcase_add_test(tc, cancel_before_the_task);
    tcase_add_test(tc, many_containers);
    tcase_add_test(tc, reopen_after_rotation);
    tcase_add_test(tc, resume_after_restart);
    tcase_add_test(tc, resume_pass_retried);
    tcase_add_test(tc, free_with_live_streams);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
