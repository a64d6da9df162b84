/* The cgroup readers on fake cgroupfs trees (v1 with separate controller
 * mounts, pure v2), so both layouts are proven on any host. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cgroups.h"
#include "backend/netdev.h"
#include "util/fs.h"
#include "suite.h"
#include "tree.h"


START_TEST(v1_separate_mounts)
{
    tree_make("cgroups");
    tree_put("cpuacct/docker/abc/cpuacct.usage", "123456789\n");
    tree_put("memory/docker/abc/memory.usage_in_bytes", "10485760\n");
    tree_put("memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");
    tree_put("memory/docker/abc/memory.stat", "cache 100\nrss 5\ntotal_rss 4194304\ntotal_inactive_file 2097152\n"
                                         "total_pgfault 77\ntotal_pgmajfault 3\n");
    tree_put("pids/docker/abc/pids.current", "4\n");
    const char *proc = "9:name=systemd:/docker/abc\n8:pids:/docker/abc\n4:memory:/docker/abc\n"
                       "2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/\n";
    cs_cgroup_stats s;
    ck_assert_int_eq(cs_cgroup_stats_from(tree_root, proc, &s, NULL), 0);
    ck_assert(s.has_cpu);
    ck_assert_uint_eq(s.cpu_usage_ns, 123456789);
    ck_assert(s.has_memory);
    ck_assert_uint_eq(s.mem_usage, 10485760);
    ck_assert_uint_eq(s.mem_working_set, 10485760 - 2097152);
    ck_assert_uint_eq(s.mem_rss, 4194304);
    ck_assert_uint_eq(s.mem_page_faults, 77);
    ck_assert_uint_eq(s.mem_major_page_faults, 3);
    ck_assert(!s.has_mem_limit); /* "unlimited" in v1 is a huge number */
    ck_assert(s.has_pids);
    ck_assert_uint_eq(s.pids, 4);
    tree_remove();
}
END_TEST

START_TEST(v1_combined_cpu_cpuacct)
{
    tree_make("cgroups");
    tree_put("cpu,cpuacct/kubepods/pod1/abc/cpuacct.usage", "42\n");
    cs_cgroup_stats s;
    ck_assert_int_eq(cs_cgroup_stats_from(tree_root, "3:cpu,cpuacct:/kubepods/pod1/abc\n", &s, NULL), 0);
    ck_assert(s.has_cpu);
    ck_assert_uint_eq(s.cpu_usage_ns, 42);
    ck_assert(!s.has_memory);
    tree_remove();
}
END_TEST

START_TEST(v2_unified)
{
    tree_make("cgroups");
    tree_put("cgroup.controllers", "cpu memory pids\n");
    tree_put("system.slice/docker-abc.scope/cpu.stat", "usage_usec 5000\nuser_usec 4000\n");
    tree_put("system.slice/docker-abc.scope/memory.current", "8000000\n");
    tree_put("system.slice/docker-abc.scope/memory.max", "16000000\n");
    tree_put("system.slice/docker-abc.scope/memory.stat", "anon 3000000\ninactive_file 1000000\npgfault 9\npgmajfault 1\n");
    tree_put("system.slice/docker-abc.scope/pids.current", "2\n");
    cs_cgroup_stats s;
    ck_assert_int_eq(cs_cgroup_stats_from(tree_root, "0::/system.slice/docker-abc.scope\n", &s, NULL), 0);
    ck_assert_uint_eq(s.cpu_usage_ns, 5000000);
    ck_assert_uint_eq(s.mem_working_set, 7000000);
    ck_assert_uint_eq(s.mem_rss, 3000000);
    ck_assert(s.has_mem_limit);
    ck_assert_uint_eq(s.mem_limit, 16000000);
    ck_assert_uint_eq(s.pids, 2);
    tree_put("system.slice/docker-abc.scope/memory.max", "max\n");
    ck_assert_int_eq(cs_cgroup_stats_from(tree_root, "0::/system.slice/docker-abc.scope\n", &s, NULL), 0);
    ck_assert(!s.has_mem_limit);
    tree_remove();
}
END_TEST

START_TEST(gone_process)
{
    cs_cgroup_stats s;
    cs_error err;
    ck_assert_int_eq(cs_cgroup_stats_for_pid(NULL, 0, &s, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    /* our own process always has cgroups */
    ck_assert_int_eq(cs_cgroup_stats_for_pid(NULL, getpid(), &s, &err), 0);
}
END_TEST

START_TEST(netdev_default_interface)
{
    const char *text = "Inter-|   Receive                                                |  Transmit\n"
                       " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
                       "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n"
                       "  eth0:    5000      40    1    0    0     0          0         0     7000      50    2    0    0     0       0          0\n";
    cs_net_iface i;
    ck_assert_int_eq(cs_netdev_parse(text, &i, NULL), 0);
    ck_assert_str_eq(i.name, "eth0");
    ck_assert_uint_eq(i.rx_bytes, 5000);
    ck_assert_uint_eq(i.rx_errors, 1);
    ck_assert_uint_eq(i.tx_bytes, 7000);
    ck_assert_uint_eq(i.tx_errors, 2);
    cs_error err;
    ck_assert_int_eq(cs_netdev_parse("  lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", &i, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cgroups");
    TCase *tc = tcase_create("read");
    tcase_add_test(tc, v1_separate_mounts);
    tcase_add_test(tc, v1_combined_cpu_cpuacct);
    tcase_add_test(tc, v2_unified);
    tcase_add_test(tc, gone_process);
    tcase_add_test(tc, netdev_default_interface);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
