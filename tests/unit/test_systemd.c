/* The systemd protocols without systemd: sd_notify datagrams to a path and
 * to an abstract socket, WATCHDOG_USEC/WATCHDOG_PID, and LISTEN_FDS taken
 * only when LISTEN_PID is ours, with names, paths and non-sockets refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "systemd/systemd.h"
#include "suite.h"

static int bind_dgram(const char *name, bool abstract)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", name);
    socklen_t len = sizeof sa;
    if (abstract) {
        sa.sun_path[0] = '\0';
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
    } else {
        unlink(name);
    }
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

static void expect_datagram(int fd, const char *want)
{
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, want);
}

START_TEST(notify_path_and_abstract)
{
    cs_error err;
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(cs_sd_notify("READY=1", &err), 0); /* not under systemd: nothing to do */

    char path[64];
    snprintf(path, sizeof path, "/tmp/cs-notify-%d.sock", (int)getpid());
    int fd = bind_dgram(path, false);
    setenv("NOTIFY_SOCKET", path, 1);
    ck_assert_int_eq(cs_sd_notifyf(&err, "READY=1\nSTATUS=%s", "serving"), 1);
    expect_datagram(fd, "READY=1\nSTATUS=serving");
    close(fd);
    unlink(path);

    char abs[64];
    snprintf(abs, sizeof abs, "@cs-notify-%d", (int)getpid());
    fd = bind_dgram(abs, true);
    setenv("NOTIFY_SOCKET", abs, 1);
    ck_assert_int_eq(cs_sd_notify("STOPPING=1", &err), 1);
    expect_datagram(fd, "STOPPING=1");
    close(fd);

    setenv("NOTIFY_SOCKET", "relative", 1);
    ck_assert_int_eq(cs_sd_notify("READY=1", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "NOTIFY_SOCKET relative"));
    unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(watchdog_env)
{
    char pid[32];
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    ck_assert_uint_eq(cs_sd_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    ck_assert_uint_eq(cs_sd_watchdog_usec(), 30000000);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    ck_assert_uint_eq(cs_sd_watchdog_usec(), 30000000);
    setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
    ck_assert_uint_eq(cs_sd_watchdog_usec(), 0);
    setenv("WATCHDOG_PID", pid, 1);
    setenv("WATCHDOG_USEC", "soon", 1);
    ck_assert_uint_eq(cs_sd_watchdog_usec(), 0);
}
END_TEST

static void set_listen_env(const char *fds, const char *names, bool ours)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%d", ours ? (int)getpid() : 1);
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", fds, 1);
    if (names)
        setenv("LISTEN_FDNAMES", names, 1);
    else
        unsetenv("LISTEN_FDNAMES");
}

/* The sockets go to fds 40 and 41, not systemd's 3 and 4: the test runner
 * may hold those (test_ops covers fd 3 itself, in a daemon of its own). */
#define FIRST 40
START_TEST(listen_fds)
{
    cs_sd_fd fds[CS_SD_MAX_FDS];
    cs_error err;
    unsetenv("LISTEN_PID");
    ck_assert_int_eq(cs_sd_listen_fds_at(FIRST, fds, CS_SD_MAX_FDS, &err), 0);

    char path[64];
    snprintf(path, sizeof path, "/tmp/cs-listen-%d.sock", (int)getpid());
    unlink(path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(l, 4), 0);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(listen(t, 4), 0); /* an ephemeral TCP listener */
    ck_assert_int_eq(dup2(l, FIRST), FIRST);
    ck_assert_int_eq(dup2(t, FIRST + 1), FIRST + 1);

    set_listen_env("2", "crishim:tcp", false); /* for another pid: left alone */
    ck_assert_int_eq(cs_sd_listen_fds_at(FIRST, fds, CS_SD_MAX_FDS, &err), 0);

    set_listen_env("2", "crishim:tcp", true);
    ck_assert_int_eq(cs_sd_listen_fds_at(FIRST, fds, CS_SD_MAX_FDS, &err), 2);
    ck_assert_int_eq(fds[0].fd, FIRST);
    ck_assert_str_eq(fds[0].name, "crishim");
    ck_assert_str_eq(fds[0].path, path);
    ck_assert_int_eq(fds[1].fd, FIRST + 1);
    ck_assert_str_eq(fds[1].name, "tcp");
    ck_assert_str_eq(fds[1].path, "");
    ck_assert_ptr_null(getenv("LISTEN_FDS")); /* children do not inherit them */
    ck_assert_ptr_null(getenv("LISTEN_PID"));

    set_listen_env("1", NULL, true);
    ck_assert_int_eq(cs_sd_listen_fds_at(FIRST, fds, CS_SD_MAX_FDS, &err), 1);
    ck_assert_str_eq(fds[0].name, "");

    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(dup2(p[0], FIRST), FIRST);
    set_listen_env("1", "crishim", true);
    ck_assert_int_eq(cs_sd_listen_fds_at(FIRST, fds, CS_SD_MAX_FDS, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "inherited fd 40 (crishim): not a listening stream socket"));

    set_listen_env("99", NULL, true);
    ck_assert_int_eq(cs_sd_listen_fds_at(FIRST, fds, CS_SD_MAX_FDS, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "LISTEN_FDS=99"));
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("systemd");
    TCase *tc = tcase_create("protocols");
    tcase_add_test(tc, notify_path_and_abstract);
    tcase_add_test(tc, watchdog_env);
    tcase_add_test(tc, listen_fds);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
