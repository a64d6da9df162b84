/* The pure parts of the containerd backend's sandboxes (src/containerd/
 * sandbox.c): the state extension a sandbox record carries (a stored format:
 * what an older crishim wrote must read back, and what is missing reads as
 * "nothing made") and the pod's resolv.conf. The pods themselves run in
 * tests/integration/test_pods.c on the private containerd. */
#include <check.h>
#include <string.h>

#include "containerd/sandbox.h"
#include "suite.h"

START_TEST(state_round_trip)
{
    cs_arena *a = cs_arena_new();
    const char *ips[] = {"fd00::5"}, *servers[] = {"10.96.0.10"}, *searches[] = {"ns.svc", "svc"},
               *options[] = {"ndots:5"};
    ctrd_cni_port ports[] = {{.host_port = 8080, .container_port = 80, .protocol = "tcp"},
                             {.host_port = 5353, .container_port = 53, .protocol = "udp", .host_ip = "127.0.0.1"}};
    ctrd_pod_state in = {.dir = "/run/crishim/crishim/sandboxes/abc",
                         .netns = "/var/run/netns/cni-0011223344556677",
                         .cni = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.88.0.5/16\"}]}",
                         .ip = "10.88.0.5",
                         .ips = {ips, 1},
                         .ports = ports,
                         .n_ports = 2,
                         .hostname = "web-0",
                         .cgroup_parent = "/kubepods/pod1",
                         .dns_servers = {servers, 1},
                         .dns_searches = {searches, 2},
                         .dns_options = {options, 1},
                         .shm = true,
                         .stopped = true,
                         .exited = true,
                         .exit_code = 137,
                         .exit_ns = 1796000000123456789};
    char *json = ctrd_pod_state_json(&in, a);
    ctrd_pod_state out;
    ctrd_pod_state_parse(json, "/var/lib/elsewhere/sandboxes/abc", a, &out);
    ck_assert_str_eq(out.dir, in.dir);
    ck_assert_str_eq(out.netns, in.netns);
    ck_assert_str_eq(out.cni, in.cni); /* kept verbatim: DEL replays it */
    ck_assert_str_eq(out.ip, "10.88.0.5");
    ck_assert_uint_eq(out.ips.n, 1);
    ck_assert_str_eq(out.ips.items[0], "fd00::5");
    ck_assert_uint_eq(out.n_ports, 2);
    ck_assert_int_eq(out.ports[1].host_port, 5353);
    ck_assert_int_eq(out.ports[1].container_port, 53);
    ck_assert_str_eq(out.ports[1].protocol, "udp");
    ck_assert_str_eq(out.ports[1].host_ip, "127.0.0.1");
    ck_assert_str_eq(out.ports[0].host_ip, "");
    ck_assert_str_eq(out.hostname, "web-0");
    ck_assert_str_eq(out.cgroup_parent, "/kubepods/pod1");
    ck_assert_uint_eq(out.dns_searches.n, 2);
    ck_assert_str_eq(out.dns_searches.items[1], "svc");
    ck_assert_str_eq(out.dns_servers.items[0], "10.96.0.10");
    ck_assert_str_eq(out.dns_options.items[0], "ndots:5");
    ck_assert(out.shm && out.stopped && out.exited);
    ck_assert_int_eq(out.exit_code, 137);
    ck_assert_int_eq(out.exit_ns, 1796000000123456789);
    cs_arena_free(a);
}
END_TEST

/* Host network, and a pod a crash left before CNI ran: null netns and
 * result, no exit. */
START_TEST(state_nulls)
{
    cs_arena *a = cs_arena_new();
    ctrd_pod_state in = {.dir = "/default"};
    ctrd_pod_state out;
    ctrd_pod_state_parse(ctrd_pod_state_json(&in, a), "/default", a, &out);
    ck_assert_str_eq(out.dir, "/default");
    ck_assert_ptr_null(out.netns);
    ck_assert_ptr_null(out.cni);
    ck_assert_uint_eq(out.n_ports, 0);
    ck_assert(!out.shm && !out.stopped && !out.exited);
    cs_arena_free(a);
}
END_TEST

START_TEST(state_missing_or_garbled_is_nothing_made)
{
    cs_arena *a = cs_arena_new();
    /* a directory not named after the pod is never taken: remove deletes it */
    const char *inputs[] = {NULL, "", "{", "[1,2]", "{\"netns\":5,\"ports\":{\"a\":1},\"cni\":\"text\",\"exit\":3}",
                            "{\"dir\":\"/\"}", "{\"dir\":\"/etc\"}", "{\"dir\":\"relative/id\"}", "{\"dir\":7}"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        ctrd_pod_state out;
        ctrd_pod_state_parse(inputs[i], "/run/x/sandboxes/id", a, &out);
        ck_assert_str_eq(out.dir, "/run/x/sandboxes/id");
        ck_assert_ptr_null(out.netns);
        ck_assert_ptr_null(out.cni);
        ck_assert_uint_eq(out.n_ports, 0);
        ck_assert(!out.stopped && !out.exited);
    }
    cs_arena_free(a);
}
END_TEST

START_TEST(resolv_conf_from_dns_config)
{
    cs_arena *a = cs_arena_new();
    const char *servers[] = {"10.96.0.10", "10.96.0.11"}, *searches[] = {"test.svc.cluster.local", "svc.cluster.local"},
               *options[] = {"ndots:5", "timeout:2"};
    cs_strs sv = {servers, 2}, se = {searches, 2}, op = {options, 2}, none = {0};
    ck_assert_str_eq(ctrd_pod_resolv_conf(&sv, &se, &op, a),
                     "search test.svc.cluster.local svc.cluster.local\n"
                     "nameserver 10.96.0.10\nnameserver 10.96.0.11\n"
                     "options ndots:5 timeout:2\n");
    ck_assert_str_eq(ctrd_pod_resolv_conf(&sv, &none, &none, a), "nameserver 10.96.0.10\nnameserver 10.96.0.11\n");
    ck_assert_str_eq(ctrd_pod_resolv_conf(&none, &none, &op, a), "options ndots:5 timeout:2\n");
    ck_assert_ptr_null(ctrd_pod_resolv_conf(&none, &none, &none, a)); /* the host's then */
    cs_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrd_sandbox");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, state_round_trip);
    tcase_add_test(tc, state_nulls);
    tcase_add_test(tc, state_missing_or_garbled_is_nothing_made);
    tcase_add_test(tc, resolv_conf_from_dns_config);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
