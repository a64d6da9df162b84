/* Pure logic behind the stats and metrics: du of a writable layer, the cgroup
 * detail on fake v1 and v2 trees, every interface of /proc/net/dev, engine
 * operation names (bounded), and the CRI metrics' consistency with their
 * descriptors (what kubelet checks when it turns them into Prometheus
 * series). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cgroups.h"
#include "backend/diskusage.h"
#include "backend/netdev.h"
#include "backend/observe.h"
#include "cri/internal.h"
#include "docker/http.h"
#include "metrics/metrics.h"
#include "suite.h"
#include "tree.h"
#include "util/fs.h"


START_TEST(disk_usage_counts_blocks_and_inodes)
{
    tree_make("metrics");
    cs_disk_usage before;
    ck_assert_int_eq(cs_disk_usage_of(tree_root, &before, NULL), 0);
    ck_assert_uint_eq(before.inodes, 1);
    /* 1 MiB of real data (not sparse), a nested dir, a symlink, a hard link */
    char *buf = calloc(1, 1 << 20);
    memset(buf, 'x', 1 << 20);
    char path[512];
    snprintf(path, sizeof path, "%s/a/b", tree_root);
    ck_assert_int_eq(cs_mkdir_p(path, 0755, NULL), 0);
    snprintf(path, sizeof path, "%s/a/b/data", tree_root);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_eq(write(fd, buf, 1 << 20), 1 << 20);
    fsync(fd);
    close(fd);
    free(buf);
    char lpath[512];
    snprintf(lpath, sizeof lpath, "%s/hard", tree_root);
    ck_assert_int_eq(link(path, lpath), 0);
    snprintf(lpath, sizeof lpath, "%s/sym", tree_root);
    ck_assert_int_eq(symlink("/", lpath), 0);
    cs_disk_usage after;
    ck_assert_int_eq(cs_disk_usage_of(tree_root, &after, NULL), 0);
    /* tree_root, a, b, data (hard link once), sym */
    ck_assert_uint_eq(after.inodes, 5);
    ck_assert_uint_ge(after.bytes - before.bytes, 1 << 20);
    ck_assert_uint_lt(after.bytes - before.bytes, (1 << 20) + 64 * 1024); /* the link counted once */
    tree_remove();
    cs_error err;
    ck_assert_int_eq(cs_disk_usage_of(tree_root, &after, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
}
END_TEST

START_TEST(cgroup_detail_v1)
{
    tree_make("metrics");
    tree_put("cpu/docker/abc/cpu.cfs_period_us", "100000\n");
    tree_put("cpu/docker/abc/cpu.cfs_quota_us", "50000\n");
    tree_put("cpu/docker/abc/cpu.shares", "512\n");
    tree_put("cpu/docker/abc/cpu.stat", "nr_periods 10\nnr_throttled 3\nthrottled_time 2500000000\n");
    tree_put("cpuacct/docker/abc/cpuacct.usage_user", "3000000000\n");
    tree_put("cpuacct/docker/abc/cpuacct.usage_sys", "1000000000\n");
    tree_put("memory/docker/abc/memory.stat", "cache 1\ntotal_cache 4096\ntotal_mapped_file 1024\n");
    tree_put("memory/docker/abc/memory.failcnt", "7\n");
    tree_put("memory/docker/abc/memory.max_usage_in_bytes", "999\n");
    tree_put("memory/docker/abc/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    tree_put("memory/docker/abc/memory.soft_limit_in_bytes", "9223372036854771712\n");
    tree_put("pids/docker/abc/cgroup.procs", "1\n20\n");
    tree_put("pids/docker/abc/tasks", "1\n20\n21\n22\n");
    tree_put("pids/docker/abc/pids.max", "max\n");
    const char *proc = "8:pids:/docker/abc\n4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/\n";
    cs_cgroup_detail d;
    ck_assert_int_eq(cs_cgroup_detail_from(tree_root, proc, &d, NULL), 0);
    ck_assert(d.has_cpu);
    ck_assert_uint_eq(d.cpu_user_ns, 3000000000ULL);
    ck_assert_uint_eq(d.cpu_system_ns, 1000000000ULL);
    ck_assert_uint_eq(d.cfs_periods, 10);
    ck_assert_uint_eq(d.cfs_throttled_periods, 3);
    ck_assert_uint_eq(d.cfs_throttled_ns, 2500000000ULL);
    ck_assert(d.has_cpu_spec && d.has_cpu_quota);
    ck_assert_uint_eq(d.cpu_period_us, 100000);
    ck_assert_uint_eq(d.cpu_quota_us, 50000);
    ck_assert_uint_eq(d.cpu_shares, 512);
    ck_assert(d.has_memory);
    ck_assert_uint_eq(d.mem_cache, 4096);
    ck_assert_uint_eq(d.mem_mapped_file, 1024);
    ck_assert_uint_eq(d.mem_failcnt, 7);
    ck_assert_uint_eq(d.mem_oom_kills, 2);
    ck_assert(d.has_mem_max_usage);
    ck_assert_uint_eq(d.mem_max_usage, 999);
    ck_assert(!d.has_mem_reservation); /* "unlimited" */
    ck_assert(d.has_tasks);
    ck_assert_uint_eq(d.processes, 2);
    ck_assert_uint_eq(d.threads, 4);
    ck_assert(!d.has_threads_max);
    tree_remove();
}
END_TEST

START_TEST(cgroup_detail_v2)
{
    tree_make("metrics");
    tree_put("cgroup.controllers", "cpu memory pids\n");
    tree_put("system.slice/docker-abc.scope/cpu.stat",
        "usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\nnr_periods 4\nnr_throttled 1\nthrottled_usec 300\n");
    tree_put("system.slice/docker-abc.scope/cpu.max", "max 100000\n");
    tree_put("system.slice/docker-abc.scope/cpu.weight", "100\n");
    tree_put("system.slice/docker-abc.scope/memory.stat", "anon 10\nfile 8192\nfile_mapped 4096\n");
    tree_put("system.slice/docker-abc.scope/memory.swap.current", "0\n");
    tree_put("system.slice/docker-abc.scope/memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n");
    tree_put("system.slice/docker-abc.scope/memory.low", "0\n");
    tree_put("system.slice/docker-abc.scope/memory.swap.max", "max\n");
    tree_put("system.slice/docker-abc.scope/cgroup.procs", "7\n");
    tree_put("system.slice/docker-abc.scope/cgroup.threads", "7\n8\n");
    tree_put("system.slice/docker-abc.scope/pids.max", "1024\n");
    cs_cgroup_detail d;
    ck_assert_int_eq(cs_cgroup_detail_from(tree_root, "0::/system.slice/docker-abc.scope\n", &d, NULL), 0);
    ck_assert(d.has_cpu);
    ck_assert_uint_eq(d.cpu_user_ns, 4000000000ULL);
    ck_assert_uint_eq(d.cpu_system_ns, 1000000000ULL);
    ck_assert_uint_eq(d.cfs_throttled_ns, 300000);
    ck_assert(d.has_cpu_spec);
    ck_assert(!d.has_cpu_quota);
    ck_assert_uint_eq(d.cpu_period_us, 100000);
    ck_assert_uint_eq(d.cpu_shares, 2 + 99 * 262142 / 9999); /* weight 100 is shares 1024-ish */
    ck_assert(d.has_memory);
    ck_assert_uint_eq(d.mem_cache, 8192);
    ck_assert_uint_eq(d.mem_mapped_file, 4096);
    ck_assert_uint_eq(d.mem_failcnt, 5);
    ck_assert_uint_eq(d.mem_oom_kills, 1);
    ck_assert(!d.has_mem_reservation);
    ck_assert(!d.has_swap_limit);
    ck_assert_uint_eq(d.processes, 1);
    ck_assert_uint_eq(d.threads, 2);
    ck_assert(d.has_threads_max);
    ck_assert_uint_eq(d.threads_max, 1024);
    tree_remove();
}
END_TEST

START_TEST(netdev_every_interface)
{
    const char *text = "Inter-|   Receive                                                |  Transmit\n"
                       " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
                       "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n"
                       "  eth0:    5000      40    1    3    0     0          0         0     7000      50    2    4    0     0       0          0\n"
                       "  net1:       9       1    0    0    0     0          0         0        8       1    0    0    0     0       0          0\n";
    cs_net_iface all[4];
    ck_assert_uint_eq(cs_netdev_parse_all(text, all, 4), 2);
    ck_assert_str_eq(all[0].name, "eth0");
    ck_assert_uint_eq(all[0].rx_packets, 40);
    ck_assert_uint_eq(all[0].rx_dropped, 3);
    ck_assert_uint_eq(all[0].tx_packets, 50);
    ck_assert_uint_eq(all[0].tx_dropped, 4);
    ck_assert_str_eq(all[1].name, "net1");
    ck_assert_uint_eq(cs_netdev_parse_all(text, all, 1), 1); /* capped */
}
END_TEST

static const char *op(const char *method, const char *path)
{
    static char buf[128];
    docker_op_name(method, path, buf, sizeof buf);
    return buf;
}

START_TEST(engine_operation_names_are_bounded)
{
    ck_assert_str_eq(op("GET", "/containers/json?all=1&filters=%7B%7D"), "GET /containers/json");
    ck_assert_str_eq(op("POST", "/containers/create?name=k8s_a_b_c_d_0"), "POST /containers/create");
    ck_assert_str_eq(op("GET", "/containers/0123456789abcdef/json"), "GET /containers/{id}/json");
    ck_assert_str_eq(op("POST", "/containers/0123/stop?t=10"), "POST /containers/{id}/stop");
    ck_assert_str_eq(op("DELETE", "/containers/0123?force=1&v=1"), "DELETE /containers/{id}");
    ck_assert_str_eq(op("POST", "/exec/abc/start"), "POST /exec/{id}/start");
    ck_assert_str_eq(op("GET", "/images/docker.io/library/busybox:latest/json"), "GET /images/{name}/json");
    ck_assert_str_eq(op("DELETE", "/images/localhost:5000/a/b@sha256:00"), "DELETE /images/{name}");
    ck_assert_str_eq(op("POST", "/images/create?fromImage=busybox"), "POST /images/create");
    ck_assert_str_eq(op("GET", "/version"), "GET /version");
    ck_assert_str_eq(op("GET", "/_ping"), "GET /_ping");
    ck_assert_str_eq(op("GET", "/system/df"), "GET /system/df");
    ck_assert_str_eq(op("GET", "/containers/abc/weird/deep"), "GET /containers/{id}/other");
    ck_assert_str_eq(op("GET", "/nonsense/abc"), "GET /other");
    ck_assert_str_eq(docker_result_class(CS_OK, 200), "ok");
    ck_assert_str_eq(docker_result_class(CS_OK, 304), "ok");
    ck_assert_str_eq(docker_result_class(CS_OK, 404), "not_found");
    ck_assert_str_eq(docker_result_class(CS_OK, 500), "server_error");
    ck_assert_str_eq(docker_result_class(CS_ERR_UNAVAILABLE, 0), "unavailable");
}
END_TEST

START_TEST(engine_histogram_renders)
{
    cs_metrics *m = cs_metrics_new();
    cs_metrics_observe_engine(m, "GET /containers/{id}/json", "ok", 700000);
    cs_metrics_observe_engine(m, "GET /containers/{id}/json", "ok", 3000000);
    cs_metrics_observe_engine(m, "GET /containers/{id}/json", "not_found", 100000);
    /* a flood of distinct names stays within the table */
    for (int i = 0; i < 500; i++) {
        char name[64];
        snprintf(name, sizeof name, "GET /x%d", i);
        cs_metrics_observe_engine(m, name, "ok", 1);
    }
    char *text = cs_metrics_render(m);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE crishim_engine_request_duration_seconds histogram\n"));
    ck_assert_ptr_nonnull(strstr(text, "crishim_engine_request_duration_seconds_bucket{operation=\"GET "
                                       "/containers/{id}/json\",result=\"ok\",le=\"0.001\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "crishim_engine_request_duration_seconds_bucket{operation=\"GET "
                                       "/containers/{id}/json\",result=\"ok\",le=\"0.005\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "crishim_engine_request_duration_seconds_count{operation=\"GET "
                                       "/containers/{id}/json\",result=\"not_found\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "operation=\"other\",result=\"other\"} "));
    size_t series = 0;
    for (const char *p = text; (p = strstr(p, "crishim_engine_request_duration_seconds_count{")); p++)
        series++;
    ck_assert_uint_le(series, 96);
    free(text);
    cs_metrics_free(m);
}
END_TEST

/* The Docker client reports to the engine-neutral observer, which the
 * metrics read: the same series as before the observer moved. */
START_TEST(engine_observer_reaches_metrics)
{
    cs_metrics *m = cs_metrics_new();
    cs_engine_set_observer(cs_metrics_observe_engine, m);
    cs_metrics_set_engine_streams_source(m, cs_engine_streams_open);
    docker_observe("GET", "/containers/abc/json?size=1", CS_OK, 404, 100000);
    cs_engine_observe("containerd.services.tasks.v1.Tasks/Start", "ok", 2000000);
    docker_streams_add(1);
    char *text = cs_metrics_render(m);
    ck_assert_msg(strstr(text, "crishim_engine_request_duration_seconds_count{operation=\"GET "
                               "/containers/{id}/json\",result=\"not_found\"} 1\n"),
                  "%.400s", strstr(text, "crishim_engine") ? strstr(text, "crishim_engine") : text);
    ck_assert_ptr_nonnull(strstr(text, "operation=\"containerd.services.tasks.v1.Tasks/Start\",result=\"ok\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "crishim_engine_streams_open 1\n"));
    free(text);
    docker_streams_add(-1);
    cs_engine_set_observer(NULL, NULL);
    ck_assert(!cs_engine_observed());
    docker_observe("GET", "/_ping", CS_OK, 200, 1); /* nobody listens: nothing happens */
    cs_metrics_free(m);
}
END_TEST

/* Every metric names a descriptor and has as many label values as it has
 * keys; kubelet drops metrics that don't. */
START_TEST(cri_metrics_match_descriptors)
{
    cs_arena *a = cs_arena_new();
    size_t nd;
    Runtime__V1__MetricDescriptor **ds = cri_metric_descriptors(a, &nd);
    ck_assert_uint_ge(nd, 30);
    cs_sandbox sb = {.id = "pod1", .name = "web", .ns = "default", .uid = "u1", .attempt = 0};
    cs_container c = {.id = "ctr1", .name = "app", .image = "busybox", .attempt = 2};
    cs_container_stats cs = {.container = &c, .running = true, .started_ns = 1700000000LL * 1000000000};
    cs.cg = (cs_cgroup_stats){.timestamp_ns = 1700000100LL * 1000000000, .has_cpu = true,
                              .cpu_usage_ns = 2500000000ULL, .has_memory = true, .mem_usage = 100,
                              .mem_working_set = 80, .has_mem_limit = true, .mem_limit = 1 << 20};
    cs.has_detail = true;
    cs.detail = (cs_cgroup_detail){.has_cpu = true, .cpu_user_ns = 2000000000ULL, .has_memory = true,
                                   .has_tasks = true, .processes = 1, .threads = 3, .has_cpu_spec = true,
                                   .cpu_period_us = 100000, .cpu_shares = 2, .has_cpu_quota = true,
                                   .cpu_quota_us = 50000};
    cs.has_writable = true;
    cs.writable = (cs_fs_usage){.timestamp_ns = 5, .mountpoint = "/", .used_bytes = 4096, .inodes_used = 2};
    cs_container_stats *list[] = {&cs};
    cs_net_iface ifs[1] = {{.name = "eth0", .rx_bytes = 10}};
    cs_sandbox_stats ps = {.sandbox = &sb, .containers = list, .n_containers = 1, .ifaces = ifs, .n_ifaces = 1,
                           .net_timestamp_ns = 7};
    Runtime__V1__PodSandboxMetrics *pm = cri_pod_metrics_msg(&ps, a);
    ck_assert_str_eq(pm->pod_sandbox_id, "pod1");
    ck_assert_uint_eq(pm->n_metrics, 8); /* the network, per interface */
    ck_assert_uint_eq(pm->n_container_metrics, 1);
    Runtime__V1__Metric **all[2] = {pm->metrics, pm->container_metrics[0]->metrics};
    size_t counts[2] = {pm->n_metrics, pm->container_metrics[0]->n_metrics};
    bool saw_cpu = false, saw_fs = false, saw_threads = false;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < counts[k]; i++) {
            Runtime__V1__Metric *m = all[k][i];
            Runtime__V1__MetricDescriptor *d = NULL;
            for (size_t j = 0; j < nd && !d; j++)
                if (!strcmp(ds[j]->name, m->name))
                    d = ds[j];
            ck_assert_msg(d != NULL, "%s has no descriptor", m->name);
            ck_assert_msg(d->n_label_keys == m->n_label_values, "%s: %zu keys, %zu values", m->name,
                          d->n_label_keys, m->n_label_values);
            ck_assert_int_ne(m->timestamp, 0);
            if (!strcmp(m->name, "container_cpu_usage_seconds_total")) {
                saw_cpu = true;
                ck_assert_uint_eq(m->value->value, 2); /* whole seconds */
                ck_assert_int_eq(m->metric_type, RUNTIME__V1__METRIC_TYPE__COUNTER);
                ck_assert_str_eq(m->label_values[0], "ctr1");
                ck_assert_str_eq(m->label_values[1], "k8s_app_web_default_u1_2");
                ck_assert_str_eq(m->label_values[2], "busybox");
                ck_assert_str_eq(m->label_values[3], "total");
            }
            if (!strcmp(m->name, "container_fs_usage_bytes")) {
                saw_fs = true;
                ck_assert_uint_eq(m->value->value, 4096);
            }
            if (!strcmp(m->name, "container_threads")) {
                saw_threads = true;
                ck_assert_int_eq(m->metric_type, RUNTIME__V1__METRIC_TYPE__GAUGE);
            }
            if (!strcmp(m->name, "container_network_receive_bytes_total")) {
                ck_assert_str_eq(m->label_values[1], "k8s_POD_web_default_u1_0");
                ck_assert_str_eq(m->label_values[3], "eth0");
            }
        }
    ck_assert(saw_cpu && saw_fs && saw_threads);
    /* descriptor names are unique */
    for (size_t i = 0; i < nd; i++)
        for (size_t j = i + 1; j < nd; j++)
            ck_assert_str_ne(ds[i]->name, ds[j]->name);
    cs_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("logic");
    tcase_add_test(tc, disk_usage_counts_blocks_and_inodes);
    tcase_add_test(tc, cgroup_detail_v1);
    tcase_add_test(tc, cgroup_detail_v2);
    tcase_add_test(tc, netdev_every_interface);
    tcase_add_test(tc, engine_operation_names_are_bounded);
    tcase_add_test(tc, engine_histogram_renders);
    tcase_add_test(tc, engine_observer_reaches_metrics);
    tcase_add_test(tc, cri_metrics_match_descriptors);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
