/* The containerd object layer (src/containerd/runtime.c) against the
 * private containerd: a record with labels, the state extension and a spec,
 * a snapshot of crishim's own pause image, a task run, killed, waited for
 * and deleted, and every "absent is success" path. Below the CRI layer on
 * purpose: the sandbox and container code rely on exactly these answers.
 * containerd only: Docker has no such objects. */
#include <check.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/state.h"
#include "client.h"
#include "containerd/content.h"
#include "containerd/containerd.h"
#include "containerd/events.h"
#include "containerd/images.h"
#include "containerd/pause.h"
#include "containerd/runtime.h"
#include "suite.h"
#include "util/time.h"

static cs_backend *backend;
static ctrd_backend *d;
static char pause_bin[512];

static void setup(void)
{
    const char *bin = tc_need_env("CRISHIM_BIN");
    char copy[512];
    snprintf(copy, sizeof copy, "%s", bin);
    snprintf(pause_bin, sizeof pause_bin, "%s/crishim-pause", dirname(copy));
    containerd_options o = {
        .address = tc_need_env("CRISHIM_TEST_CONTAINERD_ADDRESS"),
        .ns = "crishim-rt-test",
        .pause_binary = pause_bin,
        .state_dir = tc_need_env("CRISHIM_TEST_DIR"),
    };
    cs_error err;
    ck_assert_msg(containerd_backend_new(&o, &backend, &err) == 0, "backend: %s", err.msg);
    d = (ctrd_backend *)backend;
    /* runtime.c alone: the event feed's exit hooks would delete the exited
     * task this suite looks at. */
    ctrd_events_stop(d);
}

static void teardown(void)
{
    cs_backend_free(backend);
}

static const cs_ctx *ctx(void)
{
    static cs_ctx c;
    c.deadline_ms = cs_time_mono_ms() + 60000;
    return &c;
}

static const char *const SPEC = "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"/pause\"],\"cwd\":\"/\","
                                "\"user\":{\"uid\":0,\"gid\":0}},\"root\":{\"path\":\"rootfs\"},"
                                "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
                                "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},"
                                "{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"network\"}]}}";

START_TEST(record_snapshot_task_round_trip)
{
    cs_arena *a = cs_arena_new();
    cs_error err;
    const char *image_id;
    ck_assert_msg(ctrd_pause_ensure(d, ctx(), a, &image_id, &err) == 0, "pause: %s", err.msg);
    ctrd_image_use img;
    ck_assert_msg(ctrd_image_use_get(d, ctx(), image_id, a, &img, &err) == 0, "image: %s", err.msg);
    ck_assert_str_eq(img.id, image_id);
    ck_assert(!strncmp(img.top_chain, "sha256:", 7));
    ck_assert_int_eq(img.config.n_entrypoint, 1);

    const char *id = "rt-test-0123456789abcdef";
    ctrd_task_kill(d, ctx(), id, NULL, SIGKILL, true, NULL);
    ctrd_task_delete(d, ctx(), id, NULL, NULL, NULL);
    ctrd_record_delete(d, ctx(), id, NULL);
    ctrd_snapshot_remove(d, ctx(), id, NULL);

    /* As the backend does: a lease keeps the fresh snapshot from containerd's
     * GC (which another suite's deletions may set off) until the record
     * references it. */
    const char *lease;
    ck_assert_msg(ctrd_lease_create(d->client, ctx(), "rt-test", a, &lease, &err) == 0, "lease: %s", err.msg);
    ctrd_mount *m;
    size_t nm;
    ck_assert_msg(ctrd_snapshot_prepare(d, ctx(), lease, id, img.top_chain, a, &m, &nm, &err) == 0, "prepare: %s",
                  err.msg);
    ck_assert_uint_ge(nm, 1);
    ck_assert_msg(ctrd_snapshot_upperdir(m, nm, a) != NULL, "an overlay snapshot has an upper dir");
    ctrd_mount *m2;
    size_t nm2;
    ck_assert_int_eq(ctrd_snapshot_mounts(d, ctx(), id, a, &m2, &nm2, &err), 0);
    ck_assert_uint_eq(nm2, nm);

    cs_kv kv[] = {{CS_STATE_KIND, CS_STATE_KIND_SANDBOX}, {CS_STATE_POD_NAME, "p"}};
    cs_kvs labels = {kv, 2};
    ctrd_record_new rn = {.id = id, .labels = &labels, .image = image_id, .snapshot_key = id,
                          .state_json = "{\"a\":1}", .spec_json = SPEC};
    ck_assert_msg(ctrd_record_create(d, ctx(), lease, &rn, a, &err) == 0, "create: %s", err.msg);
    ctrd_lease_delete(d->client, lease);
    ck_assert_int_eq(ctrd_record_create(d, ctx(), NULL, &rn, a, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_EXISTS);

    ctrd_record r;
    ck_assert_int_eq(ctrd_record_get(d, ctx(), id, a, &r, &err), 0);
    ck_assert_str_eq(r.state_json, "{\"a\":1}");
    ck_assert_ptr_nonnull(strstr(r.spec_json, "/pause"));
    ck_assert_str_eq(cs_state_get(&r.labels, CS_STATE_POD_NAME), "p");
    ck_assert_int_gt(r.created_ns, 0);
    ck_assert_int_eq(ctrd_record_set_state(d, ctx(), id, "{\"a\":2}", a, &err), 0);
    ck_assert_int_eq(ctrd_record_get(d, ctx(), id, a, &r, &err), 0);
    ck_assert_str_eq(r.state_json, "{\"a\":2}");
    ck_assert_str_eq(cs_state_get(&r.labels, CS_STATE_POD_NAME), "p");

    ctrd_record *list;
    size_t n;
    ck_assert_int_eq(ctrd_record_list(d, ctx(), CS_STATE_KIND_SANDBOX, CS_STATE_POD_NAME, "p", a, &list, &n, &err),
                     0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].id, id);
    ck_assert_ptr_null(list[0].spec_json);
    ck_assert_int_eq(ctrd_record_list(d, ctx(), CS_STATE_KIND_CONTAINER, NULL, NULL, a, &list, &n, &err), 0);
    ck_assert_uint_eq(n, 0);

    uint32_t pid = 0;
    ctrd_stdio_paths io = {0};
    ck_assert_msg(ctrd_task_create(d, ctx(), id, m, nm, &io, &pid, &err) == 0, "task: %s", err.msg);
    ck_assert_uint_gt(pid, 0);
    ck_assert_int_eq(ctrd_task_start(d, ctx(), id, NULL, &pid, &err), 0);
    ctrd_task t;
    ck_assert_int_eq(ctrd_task_get(d, ctx(), id, NULL, &t, &err), 0);
    ck_assert_int_eq(t.status, CTRD_TASK_RUNNING);
    const char **ids;
    ctrd_task *tasks;
    ck_assert_int_eq(ctrd_task_list(d, ctx(), a, &ids, &tasks, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ids[0], id);
    ck_assert_int_eq(tasks[0].status, CTRD_TASK_RUNNING);

    ck_assert_int_eq(ctrd_task_kill(d, ctx(), id, NULL, SIGKILL, false, &err), 0);
    ck_assert_int_eq(ctrd_task_wait(d, ctx(), id, NULL, &t, &err), 0);
    ck_assert_uint_eq(t.exit_status, 128 + SIGKILL);
    ck_assert_int_gt(t.exited_ns, 0);
    ck_assert_int_eq(ctrd_task_get(d, ctx(), id, NULL, &t, &err), 0);
    ck_assert_int_eq(t.status, CTRD_TASK_STOPPED);
    ck_assert_msg(ctrd_task_kill(d, ctx(), id, NULL, SIGKILL, false, &err) == 0, "kill an exited task: %s", err.msg);
    ck_assert_int_eq(ctrd_task_delete(d, ctx(), id, NULL, &t, &err), 0);
    ck_assert_uint_eq(t.exit_status, 128 + SIGKILL);
    ck_assert_int_eq(ctrd_task_get(d, ctx(), id, NULL, &t, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);

    /* Everything absent: success. */
    ck_assert_int_eq(ctrd_task_kill(d, ctx(), id, NULL, SIGKILL, true, &err), 0);
    ck_assert_int_eq(ctrd_task_delete(d, ctx(), id, NULL, NULL, &err), 0);
    ck_assert_int_eq(ctrd_record_delete(d, ctx(), id, &err), 0);
    ck_assert_int_eq(ctrd_record_delete(d, ctx(), id, &err), 0);
    ck_assert_int_eq(ctrd_snapshot_remove(d, ctx(), id, &err), 0);
    ck_assert_int_eq(ctrd_snapshot_remove(d, ctx(), id, &err), 0);
    ck_assert_int_eq(ctrd_record_get(d, ctx(), id, a, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    cs_arena_free(a);
}
END_TEST

int main(void)
{
    tc_need_env("CRISHIM_TEST_CONTAINERD_ADDRESS");
    Suite *s = suite_create("ctrd_runtime");
    TCase *tc = tcase_create("runtime");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, record_snapshot_task_round_trip);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
