/* Test support: synchronous grpc core client and daemon helpers; see client.h. */
#include "client.h"

#include <check.h>

#include <errno.h>
#include <fcntl.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TC_MAX_MESSAGE (16 * 1024 * 1024)

struct tc_client {
    grpc_channel *channel;
};

struct tc_stream {
    grpc_call *call;
    grpc_completion_queue *cq;
    grpc_metadata_array initial_md, trailing_md;
    bool got_initial_md;
    double start;
};

double tc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

tc_client *tc_connect(const char *target)
{
    grpc_init();
    tc_client *c = calloc(1, sizeof *c);
    grpc_arg args[2];
    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = TC_MAX_MESSAGE;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = TC_MAX_MESSAGE;
    grpc_channel_args ca = {.num_args = 2, .args = args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    c->channel = grpc_channel_create(target, creds, &ca);
    grpc_channel_credentials_release(creds);
    return c;
}

void tc_close(tc_client *c)
{
    if (!c)
        return;
    grpc_channel_destroy(c->channel);
    free(c);
    grpc_shutdown();
}

static gpr_timespec deadline_in(int timeout_ms)
{
    if (timeout_ms <= 0)
        timeout_ms = 30000;
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static ProtobufCMessage *unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return NULL;
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return m;
}

static void pluck(grpc_completion_queue *cq, void *tag)
{
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE) {
        fprintf(stderr, "tc: unexpected completion-queue event %d\n", ev.type);
        abort();
    }
}

static void set_result(tc_result *res, grpc_status_code code, grpc_slice details, double start)
{
    res->code = code;
    size_t n = GRPC_SLICE_LENGTH(details);
    if (n >= sizeof res->details)
        n = sizeof res->details - 1;
    memcpy(res->details, GRPC_SLICE_START_PTR(details), n);
    res->details[n] = '\0';
    res->elapsed_ms = tc_now_ms() - start;
}

static grpc_call *new_call(tc_client *c, grpc_completion_queue *cq, const char *method, int timeout_ms)
{
    grpc_slice m = grpc_slice_from_copied_string(method);
    grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
                                               deadline_in(timeout_ms), NULL);
    grpc_slice_unref(m);
    return call;
}

typedef struct canceller {
    grpc_call *call;
    int after_ms;
} canceller;

static void *cancel_main(void *arg)
{
    canceller *k = arg;
    usleep((useconds_t)k->after_ms * 1000);
    grpc_call_cancel(k->call, NULL);
    return NULL;
}

/* One request message (already encoded) and its reply, with an optional
 * cancel from another thread. *in (the reply, or NULL) is the caller's. */
static void unary_call(tc_client *c, const char *method, grpc_byte_buffer *out, int timeout_ms, int cancel_after_ms,
                       grpc_byte_buffer **in, tc_result *res)
{
    double start = tc_now_ms();
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call *call = new_call(c, cq, method, timeout_ms);
    grpc_metadata_array imd, tmd;
    grpc_metadata_array_init(&imd);
    grpc_metadata_array_init(&tmd);
    grpc_status_code code;
    grpc_slice details;
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    *in = NULL;
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = out;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = in;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;
    grpc_call_start_batch(call, ops, 6, (void *)1, NULL);
    pthread_t t;
    canceller k = {.call = call, .after_ms = cancel_after_ms};
    if (cancel_after_ms > 0)
        pthread_create(&t, NULL, cancel_main, &k);
    pluck(cq, (void *)1);
    if (cancel_after_ms > 0)
        pthread_join(t, NULL);
    set_result(res, code, details, start);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&imd);
    grpc_metadata_array_destroy(&tmd);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
}

void tc_unary_raw(tc_client *c, const char *method, const void *bytes, size_t len, int timeout_ms, tc_result *res)
{
    grpc_slice s = grpc_slice_from_copied_buffer(bytes, len);
    grpc_byte_buffer *out = grpc_raw_byte_buffer_create(&s, 1), *in;
    grpc_slice_unref(s);
    unary_call(c, method, out, timeout_ms, 0, &in, res);
    if (in)
        grpc_byte_buffer_destroy(in);
    grpc_byte_buffer_destroy(out);
}

void tc_unary_ex(tc_client *c, const char *method, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, int timeout_ms,
                 int cancel_after_ms, tc_result *res)
{
    grpc_byte_buffer *out = pack(req), *in;
    unary_call(c, method, out, timeout_ms, cancel_after_ms, &in, res);
    if (resp)
        *resp = (in && res->code == GRPC_STATUS_OK) ? unpack(in, resp_desc) : NULL;
    if (in)
        grpc_byte_buffer_destroy(in);
    grpc_byte_buffer_destroy(out);
}

void tc_unary(tc_client *c, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, int timeout_ms, tc_result *res)
{
    tc_unary_ex(c, method, req, resp_desc, resp, timeout_ms, 0, res);
}

/* ---- streams ---- */

static bool run(tc_stream *s, grpc_op *ops, size_t n)
{
    static char tag;
    if (grpc_call_start_batch(s->call, ops, n, &tag, NULL) != GRPC_CALL_OK)
        return false;
    grpc_event ev = grpc_completion_queue_pluck(s->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

tc_stream *tc_stream_open(tc_client *c, const char *method, int timeout_ms)
{
    tc_stream *s = calloc(1, sizeof *s);
    s->start = tc_now_ms();
    s->cq = grpc_completion_queue_create_for_pluck(NULL);
    s->call = new_call(c, s->cq, method, timeout_ms);
    grpc_metadata_array_init(&s->initial_md);
    grpc_metadata_array_init(&s->trailing_md);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_INITIAL_METADATA;
    run(s, &op, 1);
    return s;
}

bool tc_stream_send(tc_stream *s, const ProtobufCMessage *msg)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    grpc_byte_buffer *bb = pack(msg);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = bb;
    bool ok = run(s, &op, 1);
    grpc_byte_buffer_destroy(bb);
    return ok;
}

ProtobufCMessage *tc_stream_recv(tc_stream *s, const ProtobufCMessageDescriptor *desc)
{
    grpc_op ops[2];
    size_t n = 0;
    grpc_byte_buffer *bb = NULL;
    memset(ops, 0, sizeof ops);
    if (!s->got_initial_md) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
        n++;
        s->got_initial_md = true;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n].data.recv_message.recv_message = &bb;
    n++;
    if (!run(s, ops, n) || !bb)
        return NULL;
    ProtobufCMessage *m = unpack(bb, desc);
    grpc_byte_buffer_destroy(bb);
    return m;
}

bool tc_stream_close_send(tc_stream *s)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    return run(s, &op, 1);
}

void tc_stream_cancel(tc_stream *s)
{
    grpc_call_cancel(s->call, NULL);
}

void tc_stream_finish(tc_stream *s, tc_result *res)
{
    grpc_status_code code;
    grpc_slice details;
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!s->got_initial_md) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
        n++;
    }
    ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[n].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    ops[n].data.recv_status_on_client.status = &code;
    ops[n].data.recv_status_on_client.status_details = &details;
    n++;
    run(s, ops, n);
    set_result(res, code, details, s->start);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&s->initial_md);
    grpc_metadata_array_destroy(&s->trailing_md);
    grpc_call_unref(s->call);
    grpc_completion_queue_shutdown(s->cq);
    grpc_completion_queue_destroy(s->cq);
    free(s);
}

void tc_server_stream(tc_client *c, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage ***msgs, size_t *n,
                      int timeout_ms, tc_result *res)
{
    tc_stream *s = tc_stream_open(c, method, timeout_ms);
    *msgs = NULL;
    *n = 0;
    if (tc_stream_send(s, req) && tc_stream_close_send(s)) {
        ProtobufCMessage *m;
        while ((m = tc_stream_recv(s, resp_desc)) != NULL) {
            *msgs = realloc(*msgs, (*n + 1) * sizeof **msgs);
            (*msgs)[(*n)++] = m;
        }
    }
    tc_stream_finish(s, res);
}

void tc_free_messages(ProtobufCMessage **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(msgs[i], NULL);
    free(msgs);
}

/* ---- environment ---- */

/* Values handed out stay reachable until exit, as documented. */
static char *env_kept[256];
static size_t env_nkept;

const char *tc_env(const char *key)
{
    const char *v = getenv(key);
    if (v && *v)
        return v;
    const char *file = getenv("CRISHIM_TEST_ENV");
    if (!file)
        return NULL;
    FILE *f = fopen(file, "r");
    if (!f)
        return NULL;
    char line[4096];
    size_t klen = strlen(key);
    const char *found = NULL;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            char *val = line + klen + 1;
            val[strcspn(val, "\r\n")] = '\0';
            found = strdup(val);
            if (env_nkept < sizeof env_kept / sizeof env_kept[0])
                env_kept[env_nkept++] = (char *)found;
            break;
        }
    }
    fclose(f);
    return found;
}

/* ---- the daemon ---- */

static bool socket_accepts(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

pid_t tc_daemon_start(const char *binary, const char *sock, const char *log_path, ...)
{
    const char *argv[64];
    int argc = 0;
    char listen[512];
    snprintf(listen, sizeof listen, "--listen=unix://%s", sock);
    argv[argc++] = binary;
    argv[argc++] = listen;
    va_list ap;
    va_start(ap, log_path);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 62)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        /* The daemon dies with the test, and never holds the test's stdout:
         * ctest waits for every writer of that pipe to go away. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    for (int i = 0; i < 1000; i++) {
        if (socket_accepts(sock))
            return pid;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "tc: crishim exited early (status %d); see %s, which ends:\n", st, log_path);
            /* the environment (and the log) is gone after the run: say why now */
            char cmd[600];
            snprintf(cmd, sizeof cmd, "tail -n 5 '%s' >&2", log_path);
            if (system(cmd) != 0)
                fprintf(stderr, "tc: (no log)\n");
            return -1;
        }
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int tc_daemon_stop(pid_t pid, int sig, int timeout_ms)
{
    kill(pid, sig);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* ---- a crishim for one suite ---- */

const char *tc_need_env(const char *key)
{
    const char *v = tc_env(key);
    if (!v) {
        fprintf(stderr, "%s not set: run the suite through ctest (scripts/test-env.sh makes the environment)\n", key);
        exit(77);
    }
    return v;
}

const char *tc_backend(void)
{
    const char *b = getenv("CRISHIM_TEST_BACKEND");
    return b && *b ? b : "docker";
}

void tc_skip_unless_backend(const char *name, const char *why)
{
    if (strcmp(tc_backend(), name) != 0) {
        fprintf(stderr, "skipped on the %s backend: %s\n", tc_backend(), why);
        exit(77);
    }
}

void tc_backend_flags(char *backend, size_t bcap, char *endpoint, size_t ecap)
{
    const char *name = tc_backend();
    snprintf(backend, bcap, "--backend=%s", name);
    if (strcmp(name, "docker") == 0) {
        snprintf(endpoint, ecap, "--docker-host=%s", tc_need_env("CRISHIM_TEST_DOCKER_HOST"));
    } else if (strcmp(name, "containerd") == 0) {
        snprintf(endpoint, ecap, "--containerd-address=%s", tc_need_env("CRISHIM_TEST_CONTAINERD_ADDRESS"));
    } else {
        fprintf(stderr, "CRISHIM_TEST_BACKEND=%s: want docker or containerd\n", name);
        exit(2);
    }
}

void tc_daemon_up(tc_daemon *d, const char *suite, const char *extra_flag)
{
    const char *dir = tc_need_env("CRISHIM_TEST_DIR");
    snprintf(d->sock, sizeof d->sock, "%s/crishim-%s.sock", dir, suite);
    snprintf(d->log, sizeof d->log, "%s/crishim-%s.log", dir, suite);
    char backend[64], endpoint[512];
    tc_backend_flags(backend, sizeof backend, endpoint, sizeof endpoint);
    if (strcmp(tc_backend(), "containerd") == 0) {
        /* pods get the env's own CNI network and keep their files under it */
        char conf[600], bin[600], state[600];
        snprintf(conf, sizeof conf, "--cni-conf-dir=%s", tc_need_env("CRISHIM_TEST_CNI_CONF_DIR"));
        snprintf(bin, sizeof bin, "--cni-bin-dir=%s", tc_need_env("CRISHIM_TEST_CNI_BIN_DIR"));
        snprintf(state, sizeof state, "--state-dir=%s", tc_need_env("CRISHIM_TEST_STATE_DIR"));
        d->pid = tc_daemon_start(tc_need_env("CRISHIM_BIN"), d->sock, d->log, backend, endpoint, conf, bin, state,
                                 "--log-level=debug", extra_flag, NULL);
    } else {
        d->pid = tc_daemon_start(tc_need_env("CRISHIM_BIN"), d->sock, d->log, backend, endpoint,
                                 "--log-level=debug", extra_flag, NULL);
    }
    ck_assert_msg(d->pid > 0, "crishim did not start; see %s", d->log);
    char target[300];
    snprintf(target, sizeof target, "unix:%s", d->sock);
    d->client = tc_connect(target);
}

void tc_daemon_down(tc_daemon *d)
{
    if (d->client)
        tc_close(d->client);
    d->client = NULL;
    if (d->pid > 0) {
        int st = tc_daemon_stop(d->pid, SIGTERM, 20000);
        d->pid = -1;
        ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "crishim did not exit 0 on SIGTERM (status %d); see %s", st, d->log);
    }
}

