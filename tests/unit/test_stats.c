/* The stats composition (backend/stats.h) over a fake backend whose facts
 * point into a scratch /proc and cgroupfs (v2): CPU rates from two samples,
 * pod sums and network, the metrics detail, id prefixes, and the writable
 * layer's du cache. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "backend/state.h"
#include "backend/stats.h"
#include "suite.h"
#include "tree.h"

/* ---- a fake engine: two pods, containers c1 c2 (running) c3 (exited) in
 * p1, c4 in p2 ---- */

typedef struct fake {
    cs_backend base;
    cs_container containers[4];
    cs_sandbox sandboxes[2];
    int facts_calls;
    bool facts_fail;
} fake;

static int fake_container_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                               cs_container ***out, size_t *n, cs_error *err)
{
    fake *e = (fake *)b;
    *out = cs_arena_array(a, 5, sizeof **out);
    *n = 0;
    for (size_t i = 0; i < 4; i++)
        if (cs_state_container_wanted(&e->containers[i], f))
            (*out)[(*n)++] = &e->containers[i];
    return 0;
}

static int fake_sandbox_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                             cs_sandbox ***out, size_t *n, cs_error *err)
{
    fake *e = (fake *)b;
    *out = cs_arena_array(a, 3, sizeof **out);
    *n = 0;
    for (size_t i = 0; i < 2; i++)
        if (cs_state_sandbox_wanted(&e->sandboxes[i], f))
            (*out)[(*n)++] = &e->sandboxes[i];
    return 0;
}

static int fake_sandbox_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                               cs_sandbox **out, cs_error *err)
{
    fake *e = (fake *)b;
    for (size_t i = 0; i < 2; i++)
        if (!strcmp(e->sandboxes[i].id, id)) {
            *out = &e->sandboxes[i];
            return 0;
        }
    return cs_error_set(err, CS_ERR_NOT_FOUND, "sandbox %s not found", id);
}

static int fake_facts(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_stats_facts *out,
                      cs_error *err)
{
    fake *e = (fake *)b;
    e->facts_calls++;
    memset(out, 0, sizeof *out);
    if (e->facts_fail)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "engine down");
    static const struct {
        const char *id;
        int pid;
    } pids[] = {{"p1", 100}, {"c1", 101}, {"c2", 102}, {"p2", 200}, {"c4", 201}};
    for (size_t i = 0; i < sizeof pids / sizeof pids[0]; i++)
        if (!strcmp(pids[i].id, id))
            out->pid = pids[i].pid;
    if (!strcmp(id, "c1")) {
        out->writable = cs_arena_printf(a, "%s/layers/c1/diff", tree_root);
        out->writable_fs = cs_arena_printf(a, "%s/layers", tree_root);
    }
    out->started_ns = 77;
    return 0;
}

static const cs_backend_ops fake_ops = {
    .name = "fake",
    .container_list = fake_container_list,
    .sandbox_list = fake_sandbox_list,
    .sandbox_status = fake_sandbox_status,
};

static fake engine;
static cs_stats *stats;
static cs_ctx ctx;

static void put_cgroup(int pid, const char *name, unsigned usec, unsigned mem, unsigned pids)
{
    char rel[128], text[128];
    snprintf(rel, sizeof rel, "proc/%d/cgroup", pid);
    snprintf(text, sizeof text, "0::/pod/%s\n", name);
    tree_put(rel, text);
    snprintf(rel, sizeof rel, "cg/pod/%s/cpu.stat", name);
    snprintf(text, sizeof text, "usage_usec %u\n", usec);
    tree_put(rel, text);
    snprintf(rel, sizeof rel, "cg/pod/%s/memory.current", name);
    snprintf(text, sizeof text, "%u\n", mem);
    tree_put(rel, text);
    snprintf(rel, sizeof rel, "cg/pod/%s/memory.stat", name);
    tree_put(rel, "anon 10\ninactive_file 0\npgfault 1\npgmajfault 0\n");
    snprintf(rel, sizeof rel, "cg/pod/%s/pids.current", name);
    snprintf(text, sizeof text, "%u\n", pids);
    tree_put(rel, text);
}

#define NETDEV                                                                                                  \
    "Inter-|   Receive                                                |  Transmit\n"                            \
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls " \
    "carrier compressed\n"                                                                                      \
    "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0 " \
    "      0          0\n"                                                                                      \
    "  eth0:    5000      40    1    0    0     0          0         0     7000      50    2    0    0     0 " \
    "      0          0\n"                                                                                      \
    "  eth1:      10       1    0    0    0     0          0         0       20       2    0    0    0     0 " \
    "      0          0\n"

static void setup(void)
{
    tree_make("stats");
    tree_put("cg/cgroup.controllers", "cpu memory pids\n");
    put_cgroup(100, "infra1", 500, 1000, 1);
    put_cgroup(101, "c1", 1000, 4000, 3);
    put_cgroup(102, "c2", 2000, 6000, 2);
    put_cgroup(200, "infra2", 50, 100, 1);
    put_cgroup(201, "c4", 9000, 9000, 9);
    tree_put("proc/100/net/dev", NETDEV);
    tree_put("layers/c1/diff/file", "0123456789");

    memset(&engine, 0, sizeof engine);
    engine.base.ops = &fake_ops;
    engine.sandboxes[0] = (cs_sandbox){.id = "p1", .state = CS_SANDBOX_READY};
    engine.sandboxes[1] = (cs_sandbox){.id = "p2", .state = CS_SANDBOX_READY};
    engine.containers[0] = (cs_container){.id = "c1", .sandbox_id = "p1", .state = CS_CONTAINER_RUNNING};
    engine.containers[1] = (cs_container){.id = "c2", .sandbox_id = "p1", .state = CS_CONTAINER_RUNNING};
    engine.containers[2] = (cs_container){.id = "c3", .sandbox_id = "p1", .state = CS_CONTAINER_EXITED};
    engine.containers[3] = (cs_container){.id = "c4", .sandbox_id = "p2", .state = CS_CONTAINER_RUNNING};
    char proc[300], cg[300];
    snprintf(proc, sizeof proc, "%s/proc", tree_root);
    snprintf(cg, sizeof cg, "%s/cg", tree_root);
    cs_stats_options o = {.proc_root = proc, .cgroup_root = cg};
    stats = cs_stats_new(&engine.base, fake_facts, &o);
}

static void teardown(void)
{
    cs_stats_free(stats);
    stats = NULL;
    tree_remove();
}

START_TEST(cpu_rate_from_two_samples)
{
    cs_cgroup_stats cg = {.timestamp_ns = 1000000000, .has_cpu = true, .cpu_usage_ns = 100};
    uint64_t rate = 0;
    ck_assert(!cs_stats_cpu_rate(stats, "x", &cg, &rate)); /* first: nothing to compare */
    cg.timestamp_ns += 2000000000;
    cg.cpu_usage_ns += 1000000000; /* one core-second in two seconds */
    ck_assert(cs_stats_cpu_rate(stats, "x", &cg, &rate));
    ck_assert_uint_eq(rate, 500000000);
    /* keys are apart */
    ck_assert(!cs_stats_cpu_rate(stats, "y", &cg, &rate));
    /* a counter that went back (a restarted container) makes no rate */
    cg.timestamp_ns += 1000000000;
    cg.cpu_usage_ns = 5;
    ck_assert(!cs_stats_cpu_rate(stats, "x", &cg, &rate));
    /* nor does a stale sample */
    cg.timestamp_ns += 11LL * 60 * 1000000000;
    cg.cpu_usage_ns = 10;
    ck_assert(!cs_stats_cpu_rate(stats, "x", &cg, &rate));
    /* nor the same instant, nor a cgroup without cpu */
    ck_assert(!cs_stats_cpu_rate(stats, "x", &cg, &rate));
    cs_cgroup_stats none = {.timestamp_ns = cg.timestamp_ns + 1};
    ck_assert(!cs_stats_cpu_rate(stats, "x", &none, &rate));
}
END_TEST

START_TEST(container_list_reads_cgroups)
{
    cs_arena *a = cs_arena_new();
    cs_container_stats **list;
    size_t n;
    cs_container_filter f = {.sandbox_id = "p1"};
    ck_assert_int_eq(cs_stats_container_list(stats, &ctx, &f, a, &list, &n, NULL), 0);
    ck_assert_uint_eq(n, 2); /* c3 has exited */
    ck_assert_str_eq(list[0]->container->id, "c1");
    ck_assert(list[0]->running);
    ck_assert_uint_eq(list[0]->cg.cpu_usage_ns, 1000000);
    ck_assert_uint_eq(list[0]->cg.mem_usage, 4000);
    ck_assert_uint_eq(list[0]->cg.pids, 3);
    ck_assert_int_eq(list[0]->started_ns, 77);
    ck_assert(!list[0]->has_nano_cores);
    ck_assert(!list[0]->has_detail);
    ck_assert(list[0]->has_writable);
    ck_assert(!list[1]->has_writable);
    /* the second look has a rate */
    tree_put("cg/pod/c1/cpu.stat", "usage_usec 3000\n");
    ck_assert_int_eq(cs_stats_container_list(stats, &ctx, &f, a, &list, &n, NULL), 0);
    ck_assert(list[0]->has_nano_cores);
    ck_assert(list[0]->nano_cores > 0);
    /* facts the engine can't give: listed, not running */
    engine.facts_fail = true;
    ck_assert_int_eq(cs_stats_container_list(stats, &ctx, &f, a, &list, &n, NULL), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(!list[0]->running);
    cs_arena_free(a);
}
END_TEST

START_TEST(container_by_prefix)
{
    cs_arena *a = cs_arena_new();
    cs_container_stats *one = NULL;
    cs_error err;
    ck_assert_int_eq(cs_stats_container(stats, &ctx, "c2", a, &one, &err), 0);
    ck_assert_str_eq(one->container->id, "c2");
    ck_assert_uint_eq(one->cg.mem_usage, 6000);
    ck_assert_int_eq(cs_stats_container(stats, &ctx, "c", a, &one, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    ck_assert_int_eq(cs_stats_container(stats, &ctx, "zz", a, &one, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    ck_assert_str_eq(err.msg, "container zz not found");
    ck_assert_int_eq(cs_stats_container(stats, &ctx, "", a, &one, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    cs_arena_free(a);
}
END_TEST

START_TEST(pod_sums)
{
    cs_arena *a = cs_arena_new();
    cs_sandbox_stats *p;
    ck_assert_int_eq(cs_stats_sandbox(stats, &ctx, "p1", a, &p, NULL), 0);
    ck_assert_str_eq(p->sandbox->id, "p1");
    ck_assert_uint_eq(p->n_containers, 2);
    /* c1 + c2 + the infra process */
    ck_assert(p->cg.has_cpu);
    ck_assert_uint_eq(p->cg.cpu_usage_ns, (1000 + 2000 + 500) * 1000);
    ck_assert_uint_eq(p->cg.mem_usage, 4000 + 6000 + 1000);
    ck_assert_uint_eq(p->cg.mem_rss, 30);
    ck_assert_uint_eq(p->cg.pids, 3 + 2 + 1);
    ck_assert(p->has_net);
    ck_assert_str_eq(p->net.name, "eth0");
    ck_assert_uint_eq(p->net.rx_bytes, 5000);
    ck_assert_uint_eq(p->net.tx_bytes, 7000);
    ck_assert_uint_eq(p->n_ifaces, 0); /* only for the metrics */
    ck_assert(!p->has_nano_cores);
    ck_assert_int_eq(cs_stats_sandbox(stats, &ctx, "p1", a, &p, NULL), 0);
    ck_assert(p->has_nano_cores); /* the same usage: rate 0 */
    ck_assert_uint_eq(p->nano_cores, 0);
    cs_error err;
    ck_assert_int_eq(cs_stats_sandbox(stats, &ctx, "p9", a, &p, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    cs_arena_free(a);
}
END_TEST

START_TEST(pod_list_shares_one_container_list)
{
    cs_arena *a = cs_arena_new();
    engine.sandboxes[1].state = CS_SANDBOX_READY;
    cs_sandbox_stats **list;
    size_t n;
    ck_assert_int_eq(cs_stats_sandbox_list(stats, &ctx, NULL, a, &list, &n, NULL), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[1]->sandbox->id, "p2");
    ck_assert_uint_eq(list[1]->n_containers, 1);
    ck_assert_uint_eq(list[1]->cg.cpu_usage_ns, (9000 + 50) * 1000);
    ck_assert(!list[1]->has_net); /* no net/dev for its infra process */
    ck_assert_uint_eq(list[0]->n_containers, 2);
    /* 3 running containers + 2 infra processes, one facts call each */
    ck_assert_int_eq(engine.facts_calls, 5);
    /* a pod that isn't ready is left out */
    engine.sandboxes[1].state = CS_SANDBOX_NOTREADY;
    ck_assert_int_eq(cs_stats_sandbox_list(stats, &ctx, NULL, a, &list, &n, NULL), 0);
    ck_assert_uint_eq(n, 1);
    cs_arena_free(a);
}
END_TEST

START_TEST(metrics_detail)
{
    cs_arena *a = cs_arena_new();
    tree_put("cg/pod/c1/cpu.stat", "usage_usec 1000\nuser_usec 600\nsystem_usec 400\n");
    cs_sandbox_stats **list;
    size_t n;
    ck_assert_int_eq(cs_stats_sandbox_metrics_list(stats, &ctx, a, &list, &n, NULL), 0);
    ck_assert_uint_eq(n, 2);
    cs_sandbox_stats *p1 = list[0];
    ck_assert_uint_eq(p1->n_ifaces, 2); /* every interface but lo */
    ck_assert_str_eq(p1->ifaces[0].name, "eth0");
    ck_assert_str_eq(p1->ifaces[1].name, "eth1");
    ck_assert_uint_eq(p1->ifaces[1].tx_bytes, 20);
    ck_assert(p1->containers[0]->has_detail);
    ck_assert(p1->containers[0]->detail.has_cpu);
    ck_assert_uint_eq(p1->containers[0]->detail.cpu_user_ns, 600000);
    ck_assert_uint_eq(p1->containers[0]->detail.cpu_system_ns, 400000);
    cs_arena_free(a);
}
END_TEST

START_TEST(du_cache)
{
    cs_arena *a = cs_arena_new();
    char dir[300], fs[300];
    snprintf(dir, sizeof dir, "%s/layers/c1/diff", tree_root);
    snprintf(fs, sizeof fs, "%s/layers", tree_root);
    cs_fs_usage u1, u2;
    ck_assert(cs_stats_writable(stats, "c1", dir, fs, a, &u1));
    ck_assert_str_eq(u1.mountpoint, fs);
    ck_assert(u1.has_inodes);
    ck_assert_uint_eq(u1.inodes_used, 2); /* the dir and its file */
    ck_assert(u1.used_bytes > 0);
    /* fresh: the cached walk, with its own timestamp */
    tree_put("layers/c1/diff/more", "x");
    ck_assert(cs_stats_writable(stats, "c1", dir, fs, a, &u2));
    ck_assert_uint_eq(u2.inodes_used, 2);
    ck_assert_int_eq(u2.timestamp_ns, u1.timestamp_ns);
    /* another container's entry is apart; no fs name: the dir's */
    ck_assert(cs_stats_writable(stats, "c9", dir, NULL, a, &u2));
    ck_assert_uint_eq(u2.inodes_used, 3);
    ck_assert_str_eq(u2.mountpoint, dir);
    /* expired: walked again */
    char proc[300], cg[300];
    snprintf(proc, sizeof proc, "%s/proc", tree_root);
    snprintf(cg, sizeof cg, "%s/cg", tree_root);
    cs_stats_options o = {.proc_root = proc, .cgroup_root = cg, .du_min_ttl_ns = 1, .du_max_ttl_ns = 1};
    cs_stats *quick = cs_stats_new(&engine.base, fake_facts, &o);
    ck_assert(cs_stats_writable(quick, "c1", dir, fs, a, &u1));
    ck_assert_uint_eq(u1.inodes_used, 3);
    tree_put("layers/c1/diff/third", "x");
    ck_assert(cs_stats_writable(quick, "c1", dir, fs, a, &u2));
    ck_assert_uint_eq(u2.inodes_used, 4);
    ck_assert(u2.timestamp_ns >= u1.timestamp_ns);
    cs_stats_free(quick);
    /* a layer that is gone */
    snprintf(dir, sizeof dir, "%s/layers/none", tree_root);
    ck_assert(!cs_stats_writable(stats, "c5", dir, fs, a, &u1));
    cs_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("compose");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cpu_rate_from_two_samples);
    tcase_add_test(tc, container_list_reads_cgroups);
    tcase_add_test(tc, container_by_prefix);
    tcase_add_test(tc, pod_sums);
    tcase_add_test(tc, pod_list_shares_one_container_list);
    tcase_add_test(tc, metrics_detail);
    tcase_add_test(tc, du_cache);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
