/* The containerd backend's event feed, ExecSync and stats facts against the
 * private containerd, below the CRI layer: a container made through
 * runtime.h (busybox, sleeping) gives CREATED and STARTED on the hub; ExecSync
 * returns exit codes and both streams, caps a huge output, kills a command
 * past its timeout and leaves no exec process or FIFO behind; a kill gives
 * the exit hook and then STOPPED; the record's removal DELETED; an exit
 * while no backend was watching is found by the relist of the next one.
 * containerd only: Docker has no such objects. */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/state.h"
#include "client.h"
#include "containerd/containerd.h"
#include "containerd/events.h"
#include "containerd/images.h"
#include "containerd/runtime.h"
#include "suite.h"
#include "util/time.h"

static cs_backend *backend;
static ctrd_backend *d;
static char state_dir[600];

static void backend_up(void)
{
    snprintf(state_dir, sizeof state_dir, "%s/feed-state", tc_need_env("CRISHIM_TEST_DIR"));
    containerd_options o = {
        .address = tc_need_env("CRISHIM_TEST_CONTAINERD_ADDRESS"),
        .ns = "crishim-feed-test",
        .state_dir = state_dir,
    };
    cs_error err;
    ck_assert_msg(containerd_backend_new(&o, &backend, &err) == 0, "backend: %s", err.msg);
    d = (ctrd_backend *)backend;
    /* the feed is up once it has relisted */
    for (int i = 0; i < 200 && !atomic_load(&d->events_ok); i++)
        usleep(50000);
    ck_assert_msg(atomic_load(&d->events_ok), "the event feed did not connect");
}

static void backend_down(void)
{
    cs_backend_free(backend);
    backend = NULL;
}

static const cs_ctx *ctx(void)
{
    static cs_ctx c;
    c.deadline_ms = cs_time_mono_ms() + 120000;
    return &c;
}

#define SANDBOX_ID "feedsandbox0123456789abcdef"

static void remove_container(const char *id)
{
    ctrd_task_kill(d, ctx(), id, NULL, SIGKILL, true, NULL);
    ctrd_task t;
    ctrd_task_wait(d, ctx(), id, NULL, &t, NULL);
    ctrd_task_delete(d, ctx(), id, NULL, NULL, NULL);
    ctrd_record_delete(d, ctx(), id, NULL);
    ctrd_snapshot_remove(d, ctx(), id, NULL);
}

/* A sleeping busybox container with crishim's labels, started. */
static void make_container(const char *id, const char *image_ref, cs_arena *a)
{
    cs_error err;
    remove_container(id); /* what an interrupted run left */
    ctrd_image_use img;
    ck_assert_msg(ctrd_image_use_get(d, ctx(), image_ref, a, &img, &err) == 0, "image: %s", err.msg);
    ctrd_mount *m;
    size_t nm;
    ck_assert_msg(ctrd_snapshot_prepare(d, ctx(), NULL, id, img.top_chain, a, &m, &nm, &err) == 0, "prepare: %s",
                  err.msg);
    char *spec = cs_arena_printf(
        a,
        "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sleep\",\"300\"],\"cwd\":\"/\","
        "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"FEED=yes\"],"
        "\"user\":{\"uid\":0,\"gid\":0}},\"root\":{\"path\":\"rootfs\"},"
        "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
        "\"linux\":{\"cgroupsPath\":\"/crishim-feed-test/%s\",\"namespaces\":[{\"type\":\"pid\"},"
        "{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"network\"}]}}",
        id);
    cs_kv kv[] = {{CS_STATE_KIND, CS_STATE_KIND_CONTAINER}, {CS_STATE_SANDBOX_ID, SANDBOX_ID}};
    cs_kvs labels = {kv, 2};
    ctrd_record_new rn = {.id = id, .labels = &labels, .image = img.id, .snapshot_key = id,
                          .state_json = "{\"started_ns\":1}", .spec_json = spec};
    ck_assert_msg(ctrd_record_create(d, ctx(), NULL, &rn, a, &err) == 0, "create: %s", err.msg);
    uint32_t pid;
    ctrd_stdio_paths io = {0};
    ck_assert_msg(ctrd_task_create(d, ctx(), id, m, nm, &io, &pid, &err) == 0, "task: %s", err.msg);
    ck_assert_int_eq(ctrd_task_start(d, ctx(), id, NULL, &pid, &err), 0);
}

/* The next event for id, skipping others; fails after 20 s. */
static cs_event next_for(cs_event_sub *sub, const char *id)
{
    int64_t until = cs_time_mono_ms() + 20000;
    cs_event e;
    cs_error err;
    while (cs_time_mono_ms() < until) {
        int rc = cs_event_next(sub, 1000, &e, &err);
        ck_assert_int_ne(rc, -1);
        if (rc == 0 && !strcmp(e.container_id, id))
            return e;
    }
    ck_abort_msg("no event for %s", id);
    return e;
}

static const char *pulled(cs_arena *a)
{
    const char *ref = tc_need_env("CRISHIM_TEST_IMG_BUSYBOX"), *image_id;
    cs_error err;
    ck_assert_msg(cs_backend_image_pull(backend, ctx(), ref, NULL, a, &image_id, &err) == 0, "pull %s: %s", ref,
                  err.msg);
    return image_id;
}

/* No exec-* FIFO left in the container's directory. */
static int exec_fifos_left(const char *id)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/crishim-feed-test/fifo/%s", state_dir, id);
    DIR *dp = opendir(dir);
    if (!dp)
        return 0;
    int n = 0;
    for (struct dirent *de; (de = readdir(dp));)
        if (!strncmp(de->d_name, "exec-", 5))
            n++;
    closedir(dp);
    return n;
}

static cs_exec_result exec_ok(const char *id, const char *script, int64_t timeout_s, cs_arena *a)
{
    const char *argv[] = {"sh", "-c", script};
    cs_strs cmd = {argv, 3};
    cs_exec_result r;
    cs_error err;
    ck_assert_msg(cs_backend_container_exec_sync(backend, ctx(), id, &cmd, timeout_s, a, &r, &err) == 0,
                  "exec %s: %s", script, err.msg);
    return r;
}

START_TEST(events_exec_and_exit)
{
    backend_up();
    cs_arena *a = cs_arena_new();
    const char *image = pulled(a);
    cs_event_sub *sub = cs_event_subscribe(cs_backend_events(backend));
    const char *id = "feed0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
    make_container(id, image, a);
    cs_event e = next_for(sub, id);
    ck_assert_int_eq(e.type, CS_EVENT_CREATED);
    ck_assert_str_eq(e.sandbox_id, SANDBOX_ID);
    ck_assert(!e.is_sandbox);
    e = next_for(sub, id);
    ck_assert_int_eq(e.type, CS_EVENT_STARTED);
    uint32_t pid = 0;
    ck_assert(ctrd_events_pid(d, id, &pid));
    ck_assert_uint_gt(pid, 0);

    /* exit codes, both streams, the container's env; by prefix too */
    cs_exec_result r = exec_ok(id, "echo out; echo err >&2; echo $FEED; exit 7", 10, a);
    ck_assert_int_eq(r.exit_code, 7);
    ck_assert_uint_eq(r.out_len, 8);
    ck_assert_mem_eq(r.out, "out\nyes\n", 8);
    ck_assert_uint_eq(r.err_len, 4);
    ck_assert_mem_eq(r.err, "err\n", 4);
    r = exec_ok("feed0123", "true", 10, a);
    ck_assert_int_eq(r.exit_code, 0);

    /* more than the cap: the rest is dropped, the command still finishes */
    r = exec_ok(id, "head -c 9000000 /dev/zero | tr '\\0' a; echo -n end >&2", 60, a);
    ck_assert_uint_eq(r.out_len, CS_EXEC_OUTPUT_MAX);
    ck_assert_int_eq(r.out[r.out_len - 1], 'a');
    ck_assert_uint_eq(r.err_len, 3);

    /* the timeout kills the command */
    const char *argv[] = {"sleep", "77"};
    cs_strs cmd = {argv, 2};
    cs_error err;
    int64_t t0 = cs_time_mono_ms();
    ck_assert_int_eq(cs_backend_container_exec_sync(backend, ctx(), id, &cmd, 1, a, &r, &err), -1);
    ck_assert_msg(err.code == CS_ERR_DEADLINE, "timeout: %s", err.msg);
    ck_assert_msg(cs_time_mono_ms() - t0 < 5000, "timeout took %lld ms", (long long)(cs_time_mono_ms() - t0));
    r = exec_ok(id, "ps -o args | grep -c '^sleep 77' || true", 10, a);
    ck_assert_msg(atoi(r.out) == 0, "sleep 77 still running: %s", r.out);
    ck_assert_int_eq(exec_fifos_left(id), 0);

    /* unknown container; a command that can't start */
    ck_assert_int_eq(cs_backend_container_exec_sync(backend, ctx(), "feedfeedfeed", &cmd, 1, a, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    const char *bad[] = {"/no/such/binary"};
    cs_strs badcmd = {bad, 1};
    ck_assert_int_eq(cs_backend_container_exec_sync(backend, ctx(), id, &badcmd, 5, a, &r, &err), -1);
    ck_assert_int_eq(exec_fifos_left(id), 0);

    /* kill: the hook, then STOPPED; the task is gone */
    ck_assert_int_eq(ctrd_task_kill(d, ctx(), id, NULL, SIGKILL, false, &err), 0);
    e = next_for(sub, id);
    ck_assert_int_eq(e.type, CS_EVENT_STOPPED);
    ctrd_task t;
    ck_assert_int_eq(ctrd_task_get(d, ctx(), id, NULL, &t, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    ck_assert(ctrd_events_pid(d, id, &pid));
    ck_assert_uint_eq(pid, 0);
    /* exec in a stopped container */
    ck_assert_int_eq(cs_backend_container_exec_sync(backend, ctx(), id, &cmd, 1, a, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_CONFLICT);

    remove_container(id);
    e = next_for(sub, id);
    ck_assert_int_eq(e.type, CS_EVENT_DELETED);
    ck_assert_str_eq(e.sandbox_id, SANDBOX_ID);
    cs_event_unsubscribe(sub);
    cs_arena_free(a);
    backend_down();
}
END_TEST

START_TEST(relist_finds_an_exit_missed)
{
    backend_up();
    cs_arena *a = cs_arena_new();
    const char *image = pulled(a);
    const char *id = "feedrelist0123456789abcdef0123456789abcdef0123456789abcdef01234567";
    make_container(id, image, a);
    /* exits while no feed watches */
    ctrd_events_stop(d);
    cs_error err;
    ctrd_task t;
    ck_assert_int_eq(ctrd_task_kill(d, ctx(), id, NULL, SIGKILL, false, &err), 0);
    ck_assert_msg(ctrd_task_wait(d, ctx(), id, NULL, &t, &err) == 0, "wait: %s", err.msg);
    ck_assert_msg(ctrd_task_get(d, ctx(), id, NULL, &t, &err) == 0, "get: %s", err.msg);
    ck_assert_int_eq(t.status, CTRD_TASK_STOPPED);
    backend_down();

    /* the next backend's relist runs the hook: the task goes */
    backend_up();
    ck_assert_int_eq(ctrd_task_get(d, ctx(), id, NULL, &t, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    remove_container(id);
    cs_arena_free(a);
    backend_down();
}
END_TEST

START_TEST(cgroup_dirs)
{
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(ctrd_cgroup_dir("/kubepods/pod1/abc", a), "/kubepods/pod1/abc");
    ck_assert_str_eq(ctrd_cgroup_dir("kubepods/abc", a), "/kubepods/abc");
    ck_assert_str_eq(ctrd_cgroup_dir("kubepods-besteffort-pod1.slice:cri-containerd:abc", a),
                     "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
                     "cri-containerd-abc.scope");
    ck_assert_str_eq(ctrd_cgroup_dir(":cri-containerd:abc", a), "/system.slice/cri-containerd-abc.scope");
    ck_assert_str_eq(ctrd_cgroup_dir("-.slice:p:abc", a), "/p-abc.scope");
    ck_assert_ptr_null(ctrd_cgroup_dir("bad--name.slice:p:abc", a));
    ck_assert_ptr_null(ctrd_cgroup_dir("", a));
    cs_arena_free(a);
}
END_TEST

int main(void)
{
    tc_need_env("CRISHIM_TEST_CONTAINERD_ADDRESS");
    Suite *s = suite_create("ctrd_feed");
    TCase *tc = tcase_create("feed");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, cgroup_dirs);
    tcase_add_test(tc, events_exec_and_exit);
    tcase_add_test(tc, relist_finds_an_exit_missed);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
