/* The vtable contract: a backend whose ops are all NULL, behind the real gRPC
 * server and the real handler table. Every RPC, called with an empty request
 * and with one whose every field is filled (so validation passes and the
 * handler reaches the engine), answers UNIMPLEMENTED, a validation error, or
 * success for the RPCs that need no engine; never a crash. */
#include <check.h>
#include <grpc/status.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fill.h"
#include "cri/cri.h"
#include "rpc/methods.h"
#include "rpc/server.h"
#include "util/arena.h"

static const cs_backend_ops null_ops = {.name = "null"};

static cs_server *server;
static cri_runtime *rt;
static tc_client *client;
static char sock[108];

static void up(void)
{
    cs_backend *b = calloc(1, sizeof *b); /* cri_runtime owns it; destroy is NULL, so freed below */
    b->ops = &null_ops;
    rt = cri_runtime_new(b, "0.0.0", "{}");
    snprintf(sock, sizeof sock, "/tmp/crishim-contract-%d.sock", (int)getpid());
    char listen[140];
    snprintf(listen, sizeof listen, "unix://%s", sock);
    const char *addrs[] = {listen};
    cs_server_config cfg = {.listen = addrs, .nlisten = 1, .handlers = cri_handlers, .app = rt};
    cs_error err;
    ck_assert_msg(cs_server_new(&cfg, &server, &err) == 0, "%s", err.msg);
    ck_assert_msg(cs_server_start(server, &err) == 0, "%s", err.msg);
    char target[140];
    snprintf(target, sizeof target, "unix:%s", sock);
    client = tc_connect(target);
}

static void down(void)
{
    tc_close(client);
    cs_server_shutdown(server, 1000);
    cs_server_free(server);
    cs_backend *b = rt->backend;
    cri_runtime_free(rt);
    free(b);
}

/* RPCs that answer without the engine (health says NOT_SERVING when the
 * backend can't give its version; Watch streams until the deadline). */
static bool engine_free(const char *path)
{
    static const char *const ok[] = {"/RuntimeConfig",         "/UpdateRuntimeConfig",
                                     "/ListMetricDescriptors", "/UpdatePodSandboxResources",
                                     "/crishim.v1.Diagnostics/Echo", "/grpc.health.v1.Health/"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strstr(path, ok[i]))
            return true;
    return false;
}

static char last_details[2048];

static grpc_status_code call_one(const cs_method *me, const ProtobufCMessage *req)
{
    tc_result res;
    memset(&res, 0, sizeof res);
    if (me->kind == CS_METHOD_UNARY) {
        ProtobufCMessage *resp = NULL;
        tc_unary(client, me->path, req, me->desc->output, &resp, 10000, &res);
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
    } else if (me->kind == CS_METHOD_SERVER_STREAM) {
        ProtobufCMessage **msgs = NULL;
        size_t n = 0;
        tc_server_stream(client, me->path, req, me->desc->output, &msgs, &n, 3000, &res);
        tc_free_messages(msgs, n);
    } else {
        tc_stream *s = tc_stream_open(client, me->path, 3000);
        tc_stream_send(s, req);
        tc_stream_close_send(s);
        ProtobufCMessage *m;
        while ((m = tc_stream_recv(s, me->desc->output)) != NULL)
            protobuf_c_message_free_unpacked(m, NULL);
        tc_stream_finish(s, &res);
    }
    memcpy(last_details, res.details, sizeof last_details);
    return res.code;
}

START_TEST(every_rpc_without_ops)
{
    size_t n;
    cs_method *methods = cs_methods_build(&n);
    for (size_t i = 0; i < n; i++) {
        const cs_method *me = &methods[i];
        size_t unimplemented = 0;
        for (unsigned variant = 0; variant < 4; variant++) {
            cs_arena *a = cs_arena_new();
            const ProtobufCMessageDescriptor *in = me->desc->input;
            ProtobufCMessage *req = cs_arena_alloc(a, in->sizeof_message);
            protobuf_c_message_init(in, req);
            if (variant > 0)
                tc_fill_message(req, a, &(tc_fill){.truth = variant >= 2, .member = variant == 3, .depth = 6}); /* 1, 2: first oneof member; 3: second */
            grpc_status_code code = call_one(me, req);
            cs_arena_free(a);
            bool fine = code == GRPC_STATUS_UNIMPLEMENTED || code == GRPC_STATUS_INVALID_ARGUMENT ||
                        (code == GRPC_STATUS_OK && engine_free(me->path)) ||
                        /* a stream ended by its deadline: Echo waits for more */
                        (code == GRPC_STATUS_DEADLINE_EXCEEDED && engine_free(me->path)) ||
                        /* the health protocol's answer for a service it does not know */
                        (code == GRPC_STATUS_NOT_FOUND && strstr(me->path, "/grpc.health.v1.Health/"));
            ck_assert_msg(fine, "%s (variant %u): status %d: %s", me->path, variant, code, last_details);
            if (getenv("CONTRACT_DEBUG"))
                fprintf(stderr, "%s v%u -> %d %s\n", me->path, variant, code, last_details);
            unimplemented += code == GRPC_STATUS_UNIMPLEMENTED;
        }
        /* some filled request got past validation to the missing op */
        ck_assert_msg(unimplemented > 0 || engine_free(me->path), "%s never reached the backend", me->path);
    }
    cs_methods_free(methods, n);
}
END_TEST

/* The wrappers themselves, without gRPC. */
START_TEST(wrappers_answer_unimplemented)
{
    cs_backend b = {.ops = &null_ops};
    cs_arena *a = cs_arena_new();
    cs_ctx ctx = {0};
    cs_error err;
    cs_container *c;
    ck_assert_int_eq(cs_backend_container_status(&b, &ctx, "x", false, a, &c, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_UNIMPLEMENTED);
    ck_assert_str_eq(err.msg, "container_status is not supported by the null backend yet");
    cs_sandbox *s;
    ck_assert_int_eq(cs_backend_sandbox_status(&b, &ctx, "x", false, a, &s, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_UNIMPLEMENTED);
    ck_assert_ptr_null(cs_backend_events(&b));
    cs_engine_status st;
    cs_backend_status(&b, &ctx, a, &st);
    ck_assert(!st.runtime_ready && !st.network_ready);
    ck_assert_str_eq(st.runtime_reason, "Unimplemented");
    cs_backend_free(&b); /* no destroy: nothing happens */
    cs_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("backend_contract");
    TCase *tc = tcase_create("null backend");
    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, up, down);
    tcase_add_test(tc, every_rpc_without_ops);
    tcase_add_test(tc, wrappers_answer_unimplemented);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
