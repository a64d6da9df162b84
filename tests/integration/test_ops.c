/* Operating crishim on a node, against the engine under test: systemd socket
 * activation (crishim serves an inherited listening socket it did not bind),
 * the sd_notify messages in order (READY, WATCHDOG, STOPPING) on a fake
 * notify socket, TLS on tcp:// (server auth, mTLS refusing clients without a
 * certificate or with one from another CA, plaintext refused without
 * --insecure-tcp, certificate reload), the config file driving the daemon,
 * and grpc.health.v1 following an engine stop and start (Check, Watch and
 * `crishim health`). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "grpc/health/v1/health.pb-c.h"
#include "rpc/client.h"
#include "runtime/v1/api.pb-c.h"

#define VERSION "/runtime.v1.RuntimeService/Version"
#define CHECK "/grpc.health.v1.Health/Check"
#define WATCH "/grpc.health.v1.Health/Watch"
#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING

static char dir[512];

static const char *path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static bool unix_accepts(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

static bool tcp_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* A crishim child: argv after the engine flags, an optional inherited
 * listening fd (becomes fd 3 with LISTEN_* naming this very process) and
 * extra environment ("K=V", NULL-terminated). */
typedef struct spawn {
    int listen_fd;            /* -1: none */
    const char *const *env;
    const char *log;
} spawn;

static pid_t start_crishim(const spawn *sp, const char *const *args)
{
    const char *argv[48];
    int n = 0;
    static char backend[64], endpoint[600], state[600];
    tc_backend_flags(backend, sizeof backend, endpoint, sizeof endpoint);
    argv[n++] = tc_need_env("CRISHIM_BIN");
    argv[n++] = backend;
    argv[n++] = endpoint;
    if (strcmp(tc_backend(), "containerd") == 0) { /* its FIFOs and pod files under the env, not /run */
        snprintf(state, sizeof state, "--state-dir=%s", tc_need_env("CRISHIM_TEST_STATE_DIR"));
        argv[n++] = state;
    }
    argv[n++] = "--log-level=debug";
    for (int i = 0; args[i] && n < 46; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(sp->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (sp->listen_fd >= 0) {
            if (sp->listen_fd != 3) {
                dup2(sp->listen_fd, 3);
                close(sp->listen_fd);
            }
            char pidbuf[32];
            snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
            setenv("LISTEN_PID", pidbuf, 1);
            setenv("LISTEN_FDS", "1", 1);
            setenv("LISTEN_FDNAMES", "crishim", 1);
        }
        for (int i = 0; sp->env && sp->env[i]; i++)
            putenv((char *)sp->env[i]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
    return tc_daemon_stop(pid, 0, timeout_ms); /* signal 0: just wait */
}

static int stop_crishim(pid_t pid)
{
    int st = tc_daemon_stop(pid, SIGTERM, 20000);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static grpc_status_code version_over(tc_client *c)
{
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    tc_result res;
    tc_unary(c, VERSION, &req.base, &runtime__v1__version_response__descriptor, &resp, 10000, &res);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return res.code;
}

static int health_over(tc_client *c, const char *service, grpc_status_code *code)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    ProtobufCMessage *resp = NULL;
    tc_result res;
    tc_unary(c, CHECK, &req.base, &grpc__health__v1__health_check_response__descriptor, &resp, 10000, &res);
    *code = res.code;
    int st = resp ? (int)((Grpc__Health__V1__HealthCheckResponse *)resp)->status : -1;
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return st;
}

/* ---- socket activation and sd_notify ---- */

static int bind_notify(const char *path)
{
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_msg(strlen(path) < sizeof sa.sun_path, "notify socket path too long: %s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* The next datagram within ms, or "" on timeout. */
static void recv_notify(int fd, char *buf, size_t size, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    buf[0] = '\0';
    if (poll(&p, 1, ms) != 1)
        return;
    ssize_t n = recv(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
}

START_TEST(socket_activation_and_notify)
{
    char sock[600], notify[600], log[600], target[700];
    path_in(sock, sizeof sock, "ops-activated.sock");
    path_in(notify, sizeof notify, "ops-notify.sock");
    path_in(log, sizeof log, "crishim-ops-activated.log");
    unlink(sock);
    /* What systemd does for crishim.socket: bind, listen, pass as fd 3. */
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.107s", sock);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 64), 0);
    int nfd = bind_notify(notify);

    char env_notify[700];
    snprintf(env_notify, sizeof env_notify, "NOTIFY_SOCKET=%s", notify);
    const char *env[] = {env_notify, "WATCHDOG_USEC=400000", NULL};
    spawn sp = {.listen_fd = lfd, .env = env, .log = log};
    /* No --listen: the default address is left to the socket unit. */
    const char *args[] = {"--config=/dev/null", NULL};
    pid_t pid = start_crishim(&sp, args);
    close(lfd);
    ck_assert_int_gt(pid, 0);

    char msg[2048];
    recv_notify(nfd, msg, sizeof msg, 15000);
    ck_assert_msg(strstr(msg, "READY=1") != NULL, "first notification: \"%s\" (see %s)", msg, log);
    char want_status[128];
    snprintf(want_status, sizeof want_status, "STATUS=serving CRI on 1 socket(s); engine %s", tc_backend());
    ck_assert_msg(strstr(msg, want_status) != NULL, "status: \"%s\"", msg);
    ck_assert_msg(strstr(msg, "answering") != NULL, "status: \"%s\"", msg);

    /* Serving the socket it inherited, and nothing else. */
    snprintf(target, sizeof target, "unix:%s", sock);
    tc_client *c = tc_connect(target);
    ck_assert_int_eq(version_over(c), GRPC_STATUS_OK);
    grpc_status_code code;
    ck_assert_int_eq(health_over(c, "", &code), SERVING);
    for (int i = 0; i < 5; i++) /* several connections through the accept loop */
        ck_assert_int_eq(version_over(c), GRPC_STATUS_OK);
    tc_close(c);
    tc_client *c2 = tc_connect(target);
    ck_assert_int_eq(version_over(c2), GRPC_STATUS_OK);
    tc_close(c2);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "grep -q 'run/crishim/crishim.sock' %s", log);
    ck_assert_msg(system(cmd) != 0, "crishim bound the default socket beside the inherited one (%s)", log);

    /* The watchdog pings, twice a WatchdogSec (0.4 s here). */
    int pings = 0;
    for (int i = 0; i < 4; i++) {
        recv_notify(nfd, msg, sizeof msg, 2000);
        pings += !strcmp(msg, "WATCHDOG=1");
    }
    ck_assert_int_ge(pings, 3);

    kill(pid, SIGTERM);
    bool stopping = false;
    for (int i = 0; i < 50 && !stopping; i++) {
        recv_notify(nfd, msg, sizeof msg, 2000);
        ck_assert_msg(msg[0] != '\0', "no STOPPING=1 after SIGTERM");
        stopping = strstr(msg, "STOPPING=1") != NULL;
        ck_assert_msg(stopping || !strcmp(msg, "WATCHDOG=1"), "unexpected notification \"%s\"", msg);
    }
    int st = wait_exit(pid, 20000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d; see %s", st, log);
    /* Nothing after STOPPING; the socket is systemd's: crishim leaves it. */
    recv_notify(nfd, msg, sizeof msg, 300);
    ck_assert_msg(msg[0] == '\0', "notification after STOPPING: \"%s\"", msg);
    struct stat sst;
    ck_assert_int_eq(stat(sock, &sst), 0);
    close(nfd);
    unlink(sock);
    unlink(notify);
}
END_TEST

/* A LISTEN_FDS that is not a listening socket is refused by name. */
START_TEST(bad_inherited_fd_is_refused)
{
    char log[600];
    path_in(log, sizeof log, "crishim-ops-badfd.log");
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    spawn sp = {.listen_fd = fds[0], .log = log};
    const char *args[] = {"--config=/dev/null", NULL};
    pid_t pid = start_crishim(&sp, args);
    close(fds[0]);
    close(fds[1]);
    int st = wait_exit(pid, 20000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "grep -q 'not a listening stream socket' %s", log);
    ck_assert_msg(system(cmd) == 0, "no reason in %s", log);
}
END_TEST

/* ---- TLS ---- */

static char certs[600];

static char *slurp(const char *name)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s", certs, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Version over TLS; ca: the roots to trust; client: "client", "other-client" or NULL. */
static int tls_call(int port, const char *ca, const char *client, cs_error *err)
{
    char *root = slurp(ca);
    char *cert = NULL, *key = NULL;
    grpc_ssl_pem_key_cert_pair pair = {0};
    if (client) {
        char n[64];
        snprintf(n, sizeof n, "%s.crt", client);
        cert = slurp(n);
        snprintf(n, sizeof n, "%s.key", client);
        key = slurp(n);
        pair.cert_chain = cert;
        pair.private_key = key;
    }
    grpc_init();
    grpc_channel_credentials *creds = grpc_ssl_credentials_create(root, client ? &pair : NULL, NULL, NULL);
    char target[64];
    snprintf(target, sizeof target, "tcp://127.0.0.1:%d", port);
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cs_error_clear(err);
    int rc = cs_rpc_unary_creds(target, creds, VERSION, &req.base, &runtime__v1__version_response__descriptor, &resp,
                                5000, err);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    grpc_channel_credentials_release(creds);
    grpc_shutdown();
    free(root);
    free(cert);
    free(key);
    return rc;
}

static int plain_call(int port, cs_error *err)
{
    char target[64];
    snprintf(target, sizeof target, "tcp://127.0.0.1:%d", port);
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cs_error_clear(err);
    int rc = cs_rpc_unary(target, VERSION, &req.base, &runtime__v1__version_response__descriptor, &resp, 5000, err);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

static pid_t start_tls(const char *name, int port, bool mtls, char *sock, size_t socksize)
{
    char log[600], listen_unix[700], listen_tcp[64], cert[700], key[700], ca[700];
    snprintf(log, sizeof log, "%s/crishim-%s.log", dir, name);
    snprintf(sock, socksize, "%s/%s.sock", dir, name);
    snprintf(listen_unix, sizeof listen_unix, "--listen=unix://%s", sock);
    snprintf(listen_tcp, sizeof listen_tcp, "--listen=tcp://127.0.0.1:%d", port);
    snprintf(cert, sizeof cert, "--tls-cert=%s/live.crt", certs);
    snprintf(key, sizeof key, "--tls-key=%s/live.key", certs);
    snprintf(ca, sizeof ca, "--tls-client-ca=%s/ca.crt", certs);
    /* Without mTLS the socket's group is set too (group 1: "daemon" on Debian, by number). */
    const char *args[] = {"--config=/dev/null", listen_unix, listen_tcp, cert, key, mtls ? ca : "--socket-group=1", NULL};
    spawn sp = {.listen_fd = -1, .log = log};
    pid_t pid = start_crishim(&sp, args);
    for (int i = 0; i < 1000 && !(unix_accepts(sock) && tcp_accepts(port)); i++)
        usleep(10000);
    ck_assert_msg(unix_accepts(sock), "crishim did not start; see %s", log);
    return pid;
}

static void copy_cert(const char *from, const char *to)
{
    char cmd[6000];
    /* A rename, as cert-manager and kubelet's rotation do. */
    snprintf(cmd, sizeof cmd, "cp %s/%s.crt %s/tmp.crt && cp %s/%s.key %s/tmp.key && mv %s/tmp.key %s/%s.key && "
                              "mv %s/tmp.crt %s/%s.crt",
             certs, from, certs, certs, from, certs, certs, certs, to, certs, certs, to);
    ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

START_TEST(mtls_tcp)
{
    int port = free_port();
    char sock[600];
    copy_cert("server", "live");
    pid_t pid = start_tls("ops-mtls", port, true, sock, sizeof sock);
    cs_error err;
    ck_assert_msg(tls_call(port, "ca.crt", "client", &err) == 0, "mTLS client refused: %s", err.msg);
    ck_assert_msg(tls_call(port, "ca.crt", NULL, &err) != 0, "a client without a certificate got through");
    ck_assert_msg(tls_call(port, "ca.crt", "other-client", &err) != 0, "a certificate from another CA got through");
    ck_assert_msg(plain_call(port, &err) != 0, "plaintext got through the TLS port");
    /* The unix socket stays plaintext, 0660. */
    char target[700];
    snprintf(target, sizeof target, "unix:%s", sock);
    tc_client *c = tc_connect(target);
    ck_assert_int_eq(version_over(c), GRPC_STATUS_OK);
    grpc_status_code code;
    ck_assert_int_eq(health_over(c, "runtime.v1.RuntimeService", &code), SERVING);
    tc_close(c);
    struct stat st;
    ck_assert_int_eq(stat(sock, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0660);

    /* Rotation: a certificate from the other CA replaces the files; new
     * handshakes get it without a restart. */
    copy_cert("server2", "live");
    bool rotated = false;
    for (int i = 0; i < 50 && !rotated; i++) {
        rotated = tls_call(port, "other-ca.crt", "client", &err) == 0;
        if (!rotated)
            usleep(100000);
    }
    ck_assert_msg(rotated, "the rotated certificate is not served: %s", err.msg);
    ck_assert_msg(tls_call(port, "ca.crt", "client", &err) != 0, "the old certificate is still served");
    ck_assert_int_eq(stop_crishim(pid), 0);
}
END_TEST

START_TEST(tls_without_client_certs)
{
    int port = free_port();
    char sock[600];
    copy_cert("server", "live");
    pid_t pid = start_tls("ops-tls", port, false, sock, sizeof sock);
    cs_error err;
    ck_assert_msg(tls_call(port, "ca.crt", NULL, &err) == 0, "TLS client refused: %s", err.msg);
    ck_assert_msg(tls_call(port, "other-ca.crt", NULL, &err) != 0, "a client trusting another CA accepted the server");
    struct stat st;
    ck_assert_int_eq(stat(sock, &st), 0);
    ck_assert_int_eq(st.st_gid, 1);
    ck_assert_int_eq(st.st_mode & 0777, 0660);
    ck_assert_msg(plain_call(port, &err) != 0, "plaintext got through the TLS port");
    ck_assert_int_eq(stop_crishim(pid), 0);
}
END_TEST

START_TEST(plaintext_tcp_needs_the_flag)
{
    int port = free_port();
    char log[600], listen_tcp[64], sock[600], listen_unix[700];
    path_in(log, sizeof log, "crishim-ops-plain.log");
    path_in(sock, sizeof sock, "ops-plain.sock");
    snprintf(listen_unix, sizeof listen_unix, "--listen=unix://%s", sock);
    snprintf(listen_tcp, sizeof listen_tcp, "--listen=tcp://127.0.0.1:%d", port);
    spawn sp = {.listen_fd = -1, .log = log};
    const char *refused[] = {"--config=/dev/null", listen_unix, listen_tcp, NULL};
    pid_t pid = start_crishim(&sp, refused);
    int st = wait_exit(pid, 20000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "grep -q -- '--insecure-tcp' %s", log);
    ck_assert_msg(system(cmd) == 0, "no reason in %s", log);

    /* The same from a config file, which the flag may also come from. */
    char conf[600];
    path_in(conf, sizeof conf, "ops-plain.toml");
    FILE *f = fopen(conf, "w");
    fprintf(f, "listen = [\"unix://%s\", \"tcp://127.0.0.1:%d\"]\ninsecure_tcp = true\nlog_level = \"info\"\n", sock,
            port);
    fclose(f);
    char cflag[700];
    snprintf(cflag, sizeof cflag, "--config=%s", conf);
    const char *allowed[] = {cflag, NULL};
    pid = start_crishim(&sp, allowed);
    for (int i = 0; i < 1000 && !tcp_accepts(port); i++)
        usleep(10000);
    cs_error err;
    ck_assert_msg(plain_call(port, &err) == 0, "plaintext with insecure_tcp: %s", err.msg);
    /* The file's log_level lost to the command line's --log-level=debug. */
    snprintf(cmd, sizeof cmd, "grep -q 'level=debug' %s", log);
    ck_assert_msg(system(cmd) == 0, "flags did not win over the file (no debug lines in %s)", log);
    ck_assert_int_eq(stop_crishim(pid), 0);
}
END_TEST

START_TEST(bad_config_file_exits_2)
{
    char log[600], conf[600], cflag[700], cmd[800];
    path_in(log, sizeof log, "crishim-ops-badconf.log");
    path_in(conf, sizeof conf, "ops-bad.toml");
    FILE *f = fopen(conf, "w");
    fprintf(f, "# fine\nbackend = \"docker\"\nshutdown_grace = \"soon\"\n");
    fclose(f);
    snprintf(cflag, sizeof cflag, "--config=%s", conf);
    const char *args[] = {cflag, NULL};
    spawn sp = {.listen_fd = -1, .log = log};
    int st = wait_exit(start_crishim(&sp, args), 20000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
    snprintf(cmd, sizeof cmd, "grep -q 'ops-bad.toml:3: key shutdown_grace: want a number of seconds' %s", log);
    ck_assert_msg(system(cmd) == 0, "no key and line in %s", log);
}
END_TEST

/* ---- health following the engine ---- */

static void env_script(const char *verb)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/scripts/test-env.sh %s %s >/dev/null", tc_need_env("CRISHIM_SOURCE_DIR"), verb,
             tc_need_env("CRISHIM_TEST_DIR"));
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

/* An outage of the engine under test: "stop" or "start" it. */
static void env_engine(const char *verb)
{
    char v[64];
    snprintf(v, sizeof v, "%s-%s", verb, strcmp(tc_backend(), "containerd") == 0 ? "containerd" : "dockerd");
    env_script(v);
}

static int health_command(const char *sock)
{
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "%s health --config=/dev/null --listen=unix://%s >/dev/null 2>&1",
             tc_need_env("CRISHIM_BIN"), sock);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int watch_next(tc_stream *w)
{
    ProtobufCMessage *m = tc_stream_recv(w, &grpc__health__v1__health_check_response__descriptor);
    if (!m)
        return -1;
    int st = (int)((Grpc__Health__V1__HealthCheckResponse *)m)->status;
    protobuf_c_message_free_unpacked(m, NULL);
    return st;
}

START_TEST(health_follows_the_engine)
{
    tc_daemon d;
    tc_daemon_up(&d, "ops-health", "--config=/dev/null");
    grpc_status_code code;
    ck_assert_int_eq(health_over(d.client, "", &code), SERVING);
    ck_assert_int_eq(code, GRPC_STATUS_OK);
    health_over(d.client, "no.such.Service", &code);
    ck_assert_int_eq(code, GRPC_STATUS_NOT_FOUND);
    ck_assert_int_eq(health_command(d.sock), 0);

    tc_stream *w = tc_stream_open(d.client, WATCH, 120000);
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    ck_assert(tc_stream_send(w, &req.base));
    ck_assert(tc_stream_close_send(w));
    ck_assert_int_eq(watch_next(w), SERVING);

    env_engine("stop");
    double t0 = tc_now_ms();
    ck_assert_int_eq(watch_next(w), NOT_SERVING);
    ck_assert_msg(tc_now_ms() - t0 < 15000, "NOT_SERVING took %.0f ms", tc_now_ms() - t0);
    ck_assert_int_eq(health_over(d.client, "", &code), NOT_SERVING);
    ck_assert_int_eq(health_command(d.sock), 1);

    env_engine("start");
    ck_assert_int_eq(watch_next(w), SERVING);
    ck_assert_int_eq(health_over(d.client, "runtime.v1.ImageService", &code), SERVING);
    ck_assert_int_eq(health_command(d.sock), 0);
    tc_stream_cancel(w);
    tc_result res;
    tc_stream_finish(w, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_CANCELLED);

    /* A watcher open at SIGTERM ends with UNAVAILABLE, not the grace period. */
    tc_stream *w2 = tc_stream_open(d.client, WATCH, 120000);
    ck_assert(tc_stream_send(w2, &req.base));
    ck_assert(tc_stream_close_send(w2));
    ck_assert_int_eq(watch_next(w2), SERVING);
    double t1 = tc_now_ms();
    kill(d.pid, SIGTERM);
    ck_assert_int_eq(watch_next(w2), -1);
    tc_stream_finish(w2, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_UNAVAILABLE);
    ck_assert_msg(tc_now_ms() - t1 < 5000, "the watch held shutdown for %.0f ms", tc_now_ms() - t1);
    tc_daemon_down(&d);
}
END_TEST

int main(void)
{
    snprintf(dir, sizeof dir, "%s", tc_need_env("CRISHIM_TEST_DIR"));
    snprintf(certs, sizeof certs, "%s/ops-certs", dir);
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s/scripts/test-certs.sh %s", certs, tc_need_env("CRISHIM_SOURCE_DIR"),
             certs);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot make test certificates (%s)\n", cmd);
        return 1;
    }
    Suite *s = suite_create("ops");
    TCase *sd = tcase_create("systemd");
    tcase_add_test(sd, socket_activation_and_notify);
    tcase_add_test(sd, bad_inherited_fd_is_refused);
    tcase_set_timeout(sd, 120);
    suite_add_tcase(s, sd);
    TCase *tls = tcase_create("tls");
    tcase_add_test(tls, mtls_tcp);
    tcase_add_test(tls, tls_without_client_certs);
    tcase_add_test(tls, plaintext_tcp_needs_the_flag);
    tcase_add_test(tls, bad_config_file_exits_2);
    tcase_set_timeout(tls, 120);
    suite_add_tcase(s, tls);
    TCase *health = tcase_create("health");
    tcase_add_test(health, health_follows_the_engine);
    tcase_set_timeout(health, 300);
    suite_add_tcase(s, health);
    return tc_run_suite(s, true);
}
