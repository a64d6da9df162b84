/* Test support: a small synchronous gRPC client on grpc core that can call any
 * method by name with protobuf-c messages, plus helpers to find the test
 * environment (scripts/test-env.sh) and to run the crishim daemon. */
#ifndef CS_TEST_CLIENT_H
#define CS_TEST_CLIENT_H

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <sys/types.h>

#include "suite.h"

typedef struct tc_client tc_client;

typedef struct tc_result {
    grpc_status_code code;
    char details[2048];
    double elapsed_ms;
} tc_result;

/* target: "unix:/path" or "host:port". */
tc_client *tc_connect(const char *target);
void tc_close(tc_client *c);

/* Unary call. *resp (may be NULL on error) is freed with
 * protobuf_c_message_free_unpacked(resp, NULL). timeout_ms <= 0: 30 s.
 * cancel_after_ms > 0 cancels the call from the client after that long. */
void tc_unary_ex(tc_client *c, const char *method, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, int timeout_ms,
                 int cancel_after_ms, tc_result *res);
void tc_unary(tc_client *c, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, int timeout_ms, tc_result *res);

/* A unary call whose request is raw bytes (malformed input tests). */
void tc_unary_raw(tc_client *c, const char *method, const void *bytes, size_t len, int timeout_ms, tc_result *res);

/* Server-streaming call: collects every message (array and messages freed by
 * tc_free_messages). */
void tc_server_stream(tc_client *c, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage ***msgs, size_t *n,
                      int timeout_ms, tc_result *res);
void tc_free_messages(ProtobufCMessage **msgs, size_t n);

/* Bidi: open, send/recv in lock step, close the sending side, finish. */
typedef struct tc_stream tc_stream;
tc_stream *tc_stream_open(tc_client *c, const char *method, int timeout_ms);
bool tc_stream_send(tc_stream *s, const ProtobufCMessage *msg);
/* NULL at end of stream. */
ProtobufCMessage *tc_stream_recv(tc_stream *s, const ProtobufCMessageDescriptor *desc);
bool tc_stream_close_send(tc_stream *s);
/* Cancels the call from the client (any thread). */
void tc_stream_cancel(tc_stream *s);
void tc_stream_finish(tc_stream *s, tc_result *res);

/* Test environment: a key from the process environment, else from the file
 * named by $CRISHIM_TEST_ENV (KEY=VALUE lines written by scripts/test-env.sh).
 * NULL when absent. Returned strings live until exit. */
const char *tc_env(const char *key);

/* Runs the crishim binary listening on unix socket `sock`; extra args follow
 * (NULL-terminated). Waits until the socket accepts connections (10 s). Its
 * stderr goes to `log_path`. Returns the pid, or -1. */
pid_t tc_daemon_start(const char *binary, const char *sock, const char *log_path, ...) __attribute__((sentinel));
/* Sends sig and waits (timeout_ms) for exit; returns the exit status as
 * waitpid reports it, or -1 on timeout (then the daemon is SIGKILLed). */
int tc_daemon_stop(pid_t pid, int sig, int timeout_ms);

/* Milliseconds since an arbitrary start (CLOCK_MONOTONIC). */
double tc_now_ms(void);


/* ---- a crishim for one suite ---- */

/* A key of the test environment; a suite run outside ctest (no environment)
 * exits 77, which ctest reports as skipped. */
const char *tc_need_env(const char *key);

/* The backend under test: $CRISHIM_TEST_BACKEND, "docker" when unset. */
const char *tc_backend(void);
/* Exits 77 (skipped), saying why, unless the backend under test is `name`. */
void tc_skip_unless_backend(const char *name, const char *why);
/* crishim's flags for the backend under test: "--backend=NAME" and its
 * endpoint (--docker-host from CRISHIM_TEST_DOCKER_HOST, or
 * --containerd-address from CRISHIM_TEST_CONTAINERD_ADDRESS). */
void tc_backend_flags(char *backend, size_t bcap, char *endpoint, size_t ecap);

typedef struct tc_daemon {
    pid_t pid;
    tc_client *client;
    char sock[256];
    char log[256];
} tc_daemon;

/* Starts crishim on the test dockerd (socket and log in $CRISHIM_TEST_DIR,
 * named after `suite`) with --log-level=debug and the extra flags, and
 * connects a client. Fails the current Check test when it can't. */
void tc_daemon_up(tc_daemon *d, const char *suite, const char *extra_flag);
/* SIGTERM; the daemon must exit 0 (so no leak under ASan). */
void tc_daemon_down(tc_daemon *d);

#endif
