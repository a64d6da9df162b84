/* The containerd backend's FIFO loop (src/containerd/stdio.c) on real FIFOs,
 * with this test as the shim: complete and partial lines on both streams,
 * EOF only once the writer came and went, cancel of a task that never came,
 * many containers on the one thread, a terminal's CRLF, reopen after
 * rotation, resume after a restart (with the writer still there, gone, and
 * gone with a full pipe), the resume pass retried before the table is
 * ready, and the FIFO directory's removal. Attach: subscribers get the raw
 * output while the log gets everything, a full queue drops without holding
 * the log up, the end reaches them; the stdin writer, its close (EOF for
 * the shim's reader) and an abort of a write into a full pipe. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
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

/* Reads s until its end (3 s at most) into out (up to cap): bytes per
 * stream, 1 stdout, 2 stderr. Returns when the end came. */
static bool read_to_end(ctrd_io_sub *s, char out[2][8192], size_t got[2])
{
    got[0] = got[1] = 0;
    int64_t until = cs_time_mono_ms() + 3000;
    while (cs_time_mono_ms() < until) {
        char buf[1000];
        int stream = 0;
        size_t n;
        int rc = ctrd_io_sub_read(s, buf, sizeof buf, &stream, &n, 100);
        if (rc == 1)
            continue;
        ck_assert_int_eq(rc, 0);
        if (n == 0)
            return true;
        ck_assert(stream == 1 || stream == 2);
        size_t i = (size_t)stream - 1;
        ck_assert_uint_le(got[i] + n, 8191);
        memcpy(out[i] + got[i], buf, n);
        got[i] += n;
        out[i][got[i]] = '\0';
    }
    return false;
}

START_TEST(subscribers_beside_the_log)
{
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    char dir[400], log[400];
    add_one(io, "att", false, dir, log);
    ctrd_io_sub *both, *only_err;
    ck_assert_int_eq(ctrd_io_subscribe(io, "att", CTRD_IO_WANT_STDOUT | CTRD_IO_WANT_STDERR, 0, &both, NULL), 0);
    ck_assert_int_eq(ctrd_io_subscribe(io, "att", CTRD_IO_WANT_STDERR, 0, &only_err, NULL), 0);
    ctrd_io_sub *none;
    ck_assert_int_eq(ctrd_io_subscribe(io, "nobody", CTRD_IO_WANT_STDOUT, 0, &none, NULL), 1);
    /* nothing yet: a read times out */
    char buf[64];
    int stream;
    size_t n;
    ck_assert_int_eq(ctrd_io_sub_read(both, buf, sizeof buf, &stream, &n, 50), 1);
    int out = open_writer(dir, CTRD_IO_STDOUT), er = open_writer(dir, CTRD_IO_STDERR);
    put(out, "one\ntw");
    put(er, "oops\n");
    put(out, "o\n");
    close(out);
    close(er);
    char got[2][8192];
    size_t len[2];
    ck_assert(read_to_end(both, got, len));
    ck_assert_str_eq(got[0], "one\ntwo\n"); /* raw bytes, as written, in order */
    ck_assert_str_eq(got[1], "oops\n");
    ck_assert(read_to_end(only_err, got, len));
    ck_assert_uint_eq(len[0], 0);
    ck_assert_str_eq(got[1], "oops\n");
    ck_assert(drained(io, "att", 3000));
    char *lines = lines_of(log);
    ck_assert_ptr_nonnull(strstr(lines, "stdout F one\n"));
    ck_assert_ptr_nonnull(strstr(lines, "stdout F two\n"));
    ck_assert_ptr_nonnull(strstr(lines, "stderr F oops\n"));
    free(lines);
    /* the end stays the end; leaving after the container's end is fine */
    ck_assert_int_eq(ctrd_io_sub_read(both, buf, sizeof buf, &stream, &n, 0), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(ctrd_io_sub_dropped(both), 0);
    ctrd_io_unsubscribe(io, "att", both);
    ctrd_io_unsubscribe(io, "att", only_err);
    ctrd_io_free(io);
}
END_TEST

/* A subscriber that never reads: its queue fills and drops, the log gets
 * every line and the container's end is seen on time. */
START_TEST(full_queue_drops_not_the_log)
{
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    char dir[400], log[400];
    add_one(io, "slow", true, dir, log);
    ctrd_io_sub *slow, *gone;
    ck_assert_int_eq(ctrd_io_subscribe(io, "slow", CTRD_IO_WANT_STDOUT, 4096, &slow, NULL), 0);
    ck_assert_int_eq(ctrd_io_subscribe(io, "slow", CTRD_IO_WANT_STDOUT, 0, &gone, NULL), 0);
    /* a session that left: nothing more reaches it, the others go on */
    ctrd_io_unsubscribe(io, "slow", gone);
    int out = open_writer(dir, CTRD_IO_STDOUT);
    char line[101];
    memset(line, 'x', 99);
    line[99] = '\n';
    line[100] = '\0';
    enum { N_LINES = 4000 }; /* 400 KB: six pipes full */
    for (int i = 0; i < N_LINES; i++)
        put(out, line);
    close(out);
    ck_assert(drained(io, "slow", 5000));
    char *lines = lines_of(log);
    size_t count = 0;
    for (const char *p = lines; (p = strstr(p, "stdout F x")); p++)
        count++;
    free(lines);
    ck_assert_uint_eq(count, N_LINES);
    uint64_t dropped = ctrd_io_sub_dropped(slow);
    ck_assert_uint_gt(dropped, 0);
    char got[2][8192];
    size_t len[2];
    ck_assert(read_to_end(slow, got, len));
    ck_assert_uint_le(len[0], 4096);
    ck_assert_uint_eq(len[0] + dropped, (uint64_t)N_LINES * 100);
    ctrd_io_unsubscribe(io, "slow", slow);

    /* a session's own end: EOF at once, whatever is queued */
    add_one(io, "cut", false, dir, log);
    ctrd_io_sub *s;
    ck_assert_int_eq(ctrd_io_subscribe(io, "cut", CTRD_IO_WANT_STDOUT, 0, &s, NULL), 0);
    out = open_writer(dir, CTRD_IO_STDOUT);
    put(out, "queued\n");
    usleep(100000);
    ctrd_io_sub_end(s);
    char buf[64];
    int stream;
    size_t n = 1;
    ck_assert_int_eq(ctrd_io_sub_read(s, buf, sizeof buf, &stream, &n, 1000), 0);
    ck_assert_uint_eq(n, 0);
    ctrd_io_unsubscribe(io, "cut", s); /* still in the table: taken off its list */
    ctrd_io_free(io);                  /* with the container running */
    close(out);
}
END_TEST

START_TEST(stdin_writer_close_and_abort)
{
    ctrd_io *io = ctrd_io_new(NULL, NULL);
    char dir[400], log[400];
    cs_error err;
    paths("in", dir, sizeof dir, log, sizeof log);
    ck_assert_int_eq(ctrd_io_mkfifos(dir, false, &err), 0);
    ck_assert_int_eq(ctrd_io_mkfifo_stdin(dir, &err), 0);
    ck_assert_msg(ctrd_io_add(io, "in", dir, false, log, false, &err) == 0, "%s", err.msg);
    /* the shim's reader, opened after crishim's writer (which it needs not wait for) */
    char p[512];
    PATHF(p, sizeof p, "%s/%s", dir, CTRD_IO_STDIN);
    int shim_fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ck_assert_int_ge(shim_fd, 0);
    ctrd_io_sub *a, *b;
    ctrd_io_stdin *ina, *inb;
    ck_assert_int_eq(ctrd_io_subscribe(io, "in", CTRD_IO_WANT_STDOUT, 0, &a, &ina), 0);
    ck_assert_int_eq(ctrd_io_subscribe(io, "in", CTRD_IO_WANT_STDOUT, 0, &b, &inb), 0);
    ck_assert_ptr_nonnull(ina);
    ck_assert_ptr_eq(ina, inb); /* one writer, shared */
    ck_assert_int_eq(ctrd_io_stdin_write(ina, "hello\n", 6, -1, &err), 0);
    char buf[64];
    ck_assert_int_eq(read(shim_fd, buf, sizeof buf), 6);
    ck_assert(!memcmp(buf, "hello\n", 6));
    /* no session wrote: the pipe still has a writer, so no EOF */
    ctrd_io_unsubscribe(io, "in", b);
    ctrd_io_stdin_unref(inb);
    ck_assert_int_eq(read(shim_fd, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, EAGAIN);

    /* a full pipe: the write waits, and an abort ends the wait */
    int abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint64_t one = 1;
    ck_assert_int_eq(write(abort_fd, &one, sizeof one), (ssize_t)sizeof one);
    size_t big = 1u << 20;
    char *junk = calloc(1, big);
    int64_t t0 = cs_time_mono_ms();
    ck_assert_int_ne(ctrd_io_stdin_write(ina, junk, big, abort_fd, &err), 0);
    ck_assert_int_eq(err.code, CS_ERR_CANCELLED);
    ck_assert_int_lt(cs_time_mono_ms() - t0, 2000);
    free(junk);
    close(abort_fd);
    while (read(shim_fd, buf, sizeof buf) > 0) {
    }

    /* stdin_once: closed once for all, the FIFO gone, the shim sees EOF */
    ck_assert(ctrd_io_stdin_close(ina));
    ck_assert(!ctrd_io_stdin_close(ina));
    ck_assert(ctrd_io_stdin_closed(ina));
    ck_assert_int_ne(access(p, F_OK), 0);
    ck_assert_int_eq(read(shim_fd, buf, sizeof buf), 0);
    ck_assert_int_ne(ctrd_io_stdin_write(ina, "x", 1, -1, &err), 0);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);
    close(shim_fd);
    /* the container's end with a session still holding the writer */
    int out = open_writer(dir, CTRD_IO_STDOUT), er = open_writer(dir, CTRD_IO_STDERR);
    close(out);
    close(er);
    ck_assert(drained(io, "in", 3000));
    ctrd_io_unsubscribe(io, "in", a);
    ctrd_io_stdin_unref(ina);
    /* no log path: the output is read for subscribers only */
    paths("nolog", dir, sizeof dir, log, sizeof log);
    ck_assert_int_eq(ctrd_io_mkfifos(dir, false, &err), 0);
    ck_assert_int_eq(ctrd_io_add(io, "nolog", dir, false, NULL, false, &err), 0);
    ck_assert_int_eq(ctrd_io_subscribe(io, "nolog", CTRD_IO_WANT_STDOUT, 0, &a, &ina), 0);
    ck_assert_ptr_null(ina); /* made without stdin */
    out = open_writer(dir, CTRD_IO_STDOUT);
    er = open_writer(dir, CTRD_IO_STDERR);
    put(out, "seen\n");
    close(out);
    close(er);
    char got[2][8192];
    size_t len[2];
    ck_assert(read_to_end(a, got, len));
    ck_assert_str_eq(got[0], "seen\n");
    ck_assert_int_ne(access(log, F_OK), 0);
    ck_assert_int_ne(ctrd_io_reopen(io, "nolog", &err), 0);
    ctrd_io_unsubscribe(io, "nolog", a);
    ctrd_io_free(io);
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
    tcase_add_test(tc, subscribers_beside_the_log);
    tcase_add_test(tc, full_queue_drops_not_the_log);
    tcase_add_test(tc, stdin_writer_close_and_abort);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
