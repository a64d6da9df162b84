/* The pure parts of CNI (src/containerd/cni.c): which config file is loaded
 * (libcni's order, .conf wrapped into a list), readiness, what each plugin
 * gets on stdin (name, cniVersion, prevResult, only its declared
 * capabilities), CNI_ARGS, and how a result's pod IP is chosen. No plugin
 * runs here; tests/integration/test_cni.c runs the real ones. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "containerd/cni.h"
#include "suite.h"
#include "util/fs.h"
#include "util/json.h"

static char dir[256];

static void mkconf_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/crishim-cni-unit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void put(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void rm_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char CONFLIST[] =
    "{\"cniVersion\":\"1.0.0\",\"name\":\"podnet\",\"plugins\":["
    "{\"type\":\"bridge\",\"bridge\":\"cni0\",\"isGateway\":true,\"ipam\":{\"type\":\"host-local\","
    "\"ranges\":[[{\"subnet\":\"10.88.0.0/16\"}]]},\"note\":\"tab\\there\"},"
    "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true,\"dns\":false},"
    "\"runtimeConfig\":{\"stale\":1},\"prevResult\":{\"stale\":true}}]}";

static ctrd_cni *load_ok(void)
{
    ctrd_cni *c = NULL;
    cs_error err = {0};
    ck_assert_msg(ctrd_cni_load(dir, "/nonexistent", &c, &err) == 0, "load: %s", err.msg);
    return c;
}

START_TEST(conflist_first_in_lexical_order)
{
    mkconf_dir();
    put("20-other.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"other\",\"plugins\":[{\"type\":\"ptp\"}]}");
    put("10-pod.conflist", CONFLIST);
    put("05-ignored.txt", "not a config");
    put(".00-hidden.conflist", "{");
    ctrd_cni *c = load_ok();
    ck_assert(ctrd_cni_ready(c));
    ck_assert_str_eq(ctrd_cni_net_name(c), "podnet");
    ck_assert_ptr_nonnull(strstr(ctrd_cni_conf_file(c), "10-pod.conflist"));
    ck_assert_uint_eq(ctrd_cni_plugin_count(c), 2);
    ck_assert_str_eq(ctrd_cni_plugin_type(c, 0), "bridge");
    ck_assert_str_eq(ctrd_cni_plugin_type(c, 1), "portmap");
    ck_assert_ptr_null(ctrd_cni_plugin_type(c, 2));
    ctrd_cni_free(c);
    rm_dir();
}
END_TEST

START_TEST(single_conf_is_wrapped)
{
    mkconf_dir();
    put("99-loop.json", "{\"cniVersion\":\"1.0.0\",\"name\":\"zzz\",\"type\":\"loopback\"}");
    put("10-bridge.conf", "{\"cniVersion\":\"0.4.0\",\"name\":\"single\",\"type\":\"bridge\",\"bridge\":\"b0\"}");
    ctrd_cni *c = load_ok();
    ck_assert(ctrd_cni_ready(c));
    ck_assert_str_eq(ctrd_cni_net_name(c), "single");
    ck_assert_uint_eq(ctrd_cni_plugin_count(c), 1);
    ck_assert_str_eq(ctrd_cni_plugin_type(c, 0), "bridge");
    cs_arena *a = cs_arena_new();
    ctrd_cni_pod pod = {.id = "abc"};
    char *in = ctrd_cni_stdin(c, 0, &pod, NULL, a);
    cs_json *j;
    cs_error err;
    ck_assert_int_eq(cs_json_parse(in, strlen(in), &j, &err), 0);
    ck_assert_str_eq(cs_json_get_str(j, 0, "name", a), "single");
    ck_assert_str_eq(cs_json_get_str(j, 0, "cniVersion", a), "0.4.0");
    ck_assert_str_eq(cs_json_get_str(j, 0, "bridge", a), "b0");
    ck_assert_int_lt(cs_json_key(j, 0, "prevResult"), 0);
    cs_json_free(j);
    cs_arena_free(a);
    ctrd_cni_free(c);
    rm_dir();
}
END_TEST

START_TEST(no_config_is_not_ready)
{
    mkconf_dir();
    ctrd_cni *c = load_ok();
    ck_assert(!ctrd_cni_ready(c));
    ck_assert_ptr_null(ctrd_cni_conf_file(c));
    ck_assert_uint_eq(ctrd_cni_plugin_count(c), 0);
    cs_arena *a = cs_arena_new();
    ctrd_cni_result r;
    cs_error err;
    ctrd_cni_pod pod = {.id = "x", .netns = "/proc/self/ns/net"};
    ck_assert_int_eq(ctrd_cni_add(c, &pod, a, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_CONFLICT);
    cs_arena_free(a);
    ctrd_cni_free(c);
    rm_dir();

    /* a missing directory too */
    cs_error e2;
    ck_assert_int_eq(ctrd_cni_load("/nonexistent/cni/net.d", NULL, &c, &e2), 0);
    ck_assert(!ctrd_cni_ready(c));
    ctrd_cni_free(c);
}
END_TEST

static void load_fails(const char *name, const char *text, const char *want)
{
    mkconf_dir();
    put(name, text);
    ctrd_cni *c = (ctrd_cni *)1;
    cs_error err = {0};
    ck_assert_int_eq(ctrd_cni_load(dir, NULL, &c, &err), -1);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(err.code, CS_ERR_CONFLICT);
    ck_assert_msg(strstr(err.msg, name) != NULL, "error does not name %s: %s", name, err.msg);
    ck_assert_msg(strstr(err.msg, want) != NULL, "error lacks '%s': %s", want, err.msg);
    rm_dir();
}

START_TEST(bad_config_names_the_file)
{
    load_fails("10-bad.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":", "JSON");
    load_fails("10-noname.conflist", "{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"bridge\"}]}", "name");
    load_fails("10-noplugins.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[]}", "plugins");
    load_fails("10-notype.conf", "{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", "type");
    load_fails("10-path.conflist", "{\"name\":\"n\",\"plugins\":[{\"type\":\"../../bin/sh\"}]}", "type");
    load_fails("10-array.json", "[1,2]", "object");
}
END_TEST

START_TEST(stdin_injection)
{
    mkconf_dir();
    put("10-pod.conflist", CONFLIST);
    ctrd_cni *c = load_ok();
    cs_arena *a = cs_arena_new();
    ctrd_cni_port ports[] = {{.host_port = 8080, .container_port = 80, .protocol = "tcp"},
                             {.host_port = 5353, .container_port = 53, .protocol = "udp", .host_ip = "127.0.0.1"}};
    const char *servers[] = {"10.96.0.10"};
    ctrd_cni_pod pod = {.id = "sb1", .ports = ports, .n_ports = 2, .dns_servers = servers, .n_dns_servers = 1};
    const char *prev = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.88.0.5/16\"}]}";

    /* the first plugin: no prevResult, no capabilities declared -> no runtimeConfig */
    char *in = ctrd_cni_stdin(c, 0, &pod, NULL, a);
    cs_json *j;
    cs_error err;
    ck_assert_msg(cs_json_parse(in, strlen(in), &j, &err) == 0, "%s", in);
    ck_assert_str_eq(cs_json_get_str(j, 0, "name", a), "podnet");
    ck_assert_str_eq(cs_json_get_str(j, 0, "cniVersion", a), "1.0.0");
    ck_assert_str_eq(cs_json_get_str(j, 0, "type", a), "bridge");
    ck_assert_str_eq(cs_json_get_str(j, 0, "note", a), "tab\there");
    ck_assert(cs_json_get_bool(j, 0, "isGateway", false));
    ck_assert_str_eq(cs_json_get_str(j, 0, "ipam.type", a), "host-local");
    ck_assert_int_lt(cs_json_key(j, 0, "prevResult"), 0);
    ck_assert_int_lt(cs_json_key(j, 0, "runtimeConfig"), 0);
    cs_json_free(j);

    /* the second: prevResult replaced, runtimeConfig only portMappings (dns is false) */
    in = ctrd_cni_stdin(c, 1, &pod, prev, a);
    ck_assert_msg(cs_json_parse(in, strlen(in), &j, &err) == 0, "%s", in);
    ck_assert_str_eq(cs_json_get_str(j, 0, "name", a), "podnet");
    int pr = cs_json_key(j, 0, "prevResult");
    ck_assert_str_eq(cs_json_get_str(j, cs_json_at(j, cs_json_key(j, pr, "ips"), 0), "address", a), "10.88.0.5/16");
    ck_assert_int_lt(cs_json_key(j, pr, "stale"), 0);
    int rc = cs_json_key(j, 0, "runtimeConfig");
    ck_assert_int_eq(cs_json_type_of(j, rc), CS_JSON_OBJECT);
    ck_assert_int_eq(cs_json_count(j, rc), 1);
    int pm = cs_json_key(j, rc, "portMappings");
    ck_assert_int_eq(cs_json_count(j, pm), 2);
    int m0 = cs_json_at(j, pm, 0), m1 = cs_json_at(j, pm, 1);
    ck_assert_int_eq(cs_json_get_int64(j, m0, "hostPort", 0), 8080);
    ck_assert_int_eq(cs_json_get_int64(j, m0, "containerPort", 0), 80);
    ck_assert_str_eq(cs_json_get_str(j, m0, "protocol", a), "tcp");
    ck_assert_int_lt(cs_json_key(j, m0, "hostIP"), 0);
    ck_assert_str_eq(cs_json_get_str(j, m1, "protocol", a), "udp");
    ck_assert_str_eq(cs_json_get_str(j, m1, "hostIP", a), "127.0.0.1");
    cs_json_free(j);

    /* no ports: the capability has no value, so no runtimeConfig at all */
    ctrd_cni_pod bare = {.id = "sb1"};
    in = ctrd_cni_stdin(c, 1, &bare, NULL, a);
    ck_assert_msg(cs_json_parse(in, strlen(in), &j, &err) == 0, "%s", in);
    ck_assert_int_lt(cs_json_key(j, 0, "runtimeConfig"), 0);
    ck_assert_int_lt(cs_json_key(j, 0, "prevResult"), 0);
    cs_json_free(j);
    cs_arena_free(a);
    ctrd_cni_free(c);
    rm_dir();
}
END_TEST

START_TEST(dns_capability)
{
    mkconf_dir();
    put("10-dns.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"d\",\"plugins\":[{\"type\":\"x\","
                           "\"capabilities\":{\"dns\":true,\"bandwidth\":true}}]}");
    ctrd_cni *c = load_ok();
    cs_arena *a = cs_arena_new();
    const char *servers[] = {"10.96.0.10"}, *searches[] = {"ns.svc.cluster.local", "svc.cluster.local"},
               *options[] = {"ndots:5"};
    ctrd_cni_pod pod = {.id = "s", .dns_servers = servers, .n_dns_servers = 1, .dns_searches = searches,
                        .n_dns_searches = 2, .dns_options = options, .n_dns_options = 1};
    char *in = ctrd_cni_stdin(c, 0, &pod, NULL, a);
    cs_json *j;
    cs_error err;
    ck_assert_msg(cs_json_parse(in, strlen(in), &j, &err) == 0, "%s", in);
    int dns = cs_json_get(j, 0, "runtimeConfig.dns");
    ck_assert_int_eq(cs_json_count(j, cs_json_get(j, 0, "runtimeConfig")), 1); /* no bandwidth value */
    ck_assert_str_eq(cs_json_str(j, cs_json_at(j, cs_json_key(j, dns, "servers"), 0), a), "10.96.0.10");
    ck_assert_int_eq(cs_json_count(j, cs_json_key(j, dns, "searches")), 2);
    ck_assert_str_eq(cs_json_str(j, cs_json_at(j, cs_json_key(j, dns, "options"), 0), a), "ndots:5");
    cs_json_free(j);
    cs_arena_free(a);
    ctrd_cni_free(c);
    rm_dir();
}
END_TEST

START_TEST(cni_args)
{
    cs_arena *a = cs_arena_new();
    ctrd_cni_pod pod = {.id = "0123abcd", .name = "web", .namespace = "default", .uid = "u-1"};
    ck_assert_str_eq(ctrd_cni_args(&pod, a), "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                                             "K8S_POD_INFRA_CONTAINER_ID=0123abcd;K8S_POD_UID=u-1");
    ctrd_cni_pod empty = {0};
    ck_assert_str_eq(ctrd_cni_args(&empty, a),
                     "IgnoreUnknown=1;K8S_POD_NAMESPACE=;K8S_POD_NAME=;K8S_POD_INFRA_CONTAINER_ID=;K8S_POD_UID=");
    cs_arena_free(a);
}
END_TEST

static ctrd_cni_result parse(const char *json, cs_arena *a)
{
    ctrd_cni_result r;
    cs_error err = {0};
    ck_assert_msg(ctrd_cni_parse_result(json, strlen(json), "eth0", a, &r, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(r.json, json);
    return r;
}

START_TEST(result_pod_ip)
{
    cs_arena *a = cs_arena_new();
    /* what bridge + host-local answer: the host-side veth and bridge come first */
    ctrd_cni_result r = parse(
        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa\"},{\"name\":\"veth1\"},"
        "{\"name\":\"eth0\",\"sandbox\":\"/var/run/netns/cni-1\"}],\"ips\":["
        "{\"interface\":1,\"address\":\"10.9.9.9/24\"},"
        "{\"interface\":2,\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"},"
        "{\"interface\":2,\"address\":\"10.88.0.5/16\",\"gateway\":\"10.88.0.1\"}],"
        "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}",
        a);
    ck_assert_str_eq(r.ip, "10.88.0.5");
    ck_assert_uint_eq(r.n_additional_ips, 1);
    ck_assert_str_eq(r.additional_ips[0], "fd00::5");

    /* no interface named eth0 (or no interface index): the first address */
    r = parse("{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.1.2.3/24\"},"
              "{\"version\":\"4\",\"address\":\"10.1.2.4/24\"}]}",
              a);
    ck_assert_str_eq(r.ip, "10.1.2.3");
    ck_assert_uint_eq(r.n_additional_ips, 1);
    ck_assert_str_eq(r.additional_ips[0], "10.1.2.4");

    /* a host-side interface named eth0 (no sandbox) is not the pod's */
    r = parse("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"},{\"name\":\"eth0\",\"sandbox\":\"/n\"}],"
              "\"ips\":[{\"interface\":0,\"address\":\"10.0.0.1/24\"},{\"interface\":1,\"address\":\"10.0.0.2/24\"}]}",
              a);
    ck_assert_str_eq(r.ip, "10.0.0.2");
    ck_assert_uint_eq(r.n_additional_ips, 0);

    /* IPv6 only; an out-of-range interface index is ignored */
    r = parse("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/n\"}],\"ips\":["
              "{\"interface\":7,\"address\":\"10.0.0.1/8\"},{\"interface\":0,\"address\":\"fd00::9/64\"}]}",
              a);
    ck_assert_str_eq(r.ip, "fd00::9");
    ck_assert_uint_eq(r.n_additional_ips, 0);

    /* no addresses at all */
    r = parse("{\"cniVersion\":\"1.0.0\"}", a);
    ck_assert_ptr_null(r.ip);

    ctrd_cni_result bad;
    cs_error err;
    const char *old = "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.2/24\"}}";
    ck_assert_int_eq(ctrd_cni_parse_result(old, strlen(old), "eth0", a, &bad, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "0.2.0"));
    ck_assert_int_eq(ctrd_cni_parse_result("{\"ips\":[", 8, "eth0", a, &bad, &err), -1);
    ck_assert_int_eq(ctrd_cni_parse_result("[]", 2, "eth0", a, &bad, &err), -1);
    cs_arena_free(a);
}
END_TEST

START_TEST(plugin_error_text)
{
    cs_arena *a = cs_arena_new();
    const char *e = "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"invalid config\",\"details\":\"no subnet\"}\n";
    ck_assert_str_eq(ctrd_cni_error_text(e, strlen(e), a), "invalid config: no subnet (code 7)");
    const char *m = "{\"code\":11,\"msg\":\"try again\"}";
    ck_assert_str_eq(ctrd_cni_error_text(m, strlen(m), a), "try again (code 11)");
    ck_assert_str_eq(ctrd_cni_error_text("plain words\n", 12, a), "plain words");
    cs_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cni");
    TCase *tc = tcase_create("cni");
    tcase_add_test(tc, conflist_first_in_lexical_order);
    tcase_add_test(tc, single_conf_is_wrapped);
    tcase_add_test(tc, no_config_is_not_ready);
    tcase_add_test(tc, bad_config_names_the_file);
    tcase_add_test(tc, stdin_injection);
    tcase_add_test(tc, dns_capability);
    tcase_add_test(tc, cni_args);
    tcase_add_test(tc, result_pod_ip);
    tcase_add_test(tc, plugin_error_text);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
