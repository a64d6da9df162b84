/* The state codec (backend/state.h): labels written for a sandbox or a
 * container read back to every field CRI reports, with the exact keys and
 * values earlier builds stored (an upgrade must read old containers), plus
 * names, list filters, id-prefix resolution and exit reasons. */
#include <check.h>
#include <string.h>

#include "backend/state.h"
#include "suite.h"

#define ID_A "aaaa000000000000000000000000000000000000000000000000000000000001"
#define ID_B "aaaa000000000000000000000000000000000000000000000000000000000002"
#define ID_C "bbbb000000000000000000000000000000000000000000000000000000000003"

static cs_kv pod_labels[] = {{"app", "web"}, {"tier", "front"}};
static cs_kv pod_annotations[] = {{"note", "x=y"}, {"empty", ""}};

static cs_sandbox_config sample_sandbox(void)
{
    cs_sandbox_config c = {0};
    c.name = "nginx";
    c.ns = "default";
    c.uid = "uid-1";
    c.attempt = 3;
    c.log_directory = "/var/log/pods/x";
    c.net = CS_NS_NODE;
    c.pid = CS_NS_CONTAINER;
    c.ipc = CS_NS_POD;
    c.runtime_handler = "runc";
    c.labels = (cs_kvs){pod_labels, 2};
    c.annotations = (cs_kvs){pod_annotations, 2};
    return c;
}

static void expect(const cs_kvs *kvs, const char *key, const char *value)
{
    const char *got = cs_state_get(kvs, key);
    ck_assert_msg(got != NULL, "label %s missing", key);
    ck_assert_str_eq(got, value);
}

START_TEST(sandbox_round_trip)
{
    cs_arena *a = cs_arena_new();
    cs_sandbox_config c = sample_sandbox();
    cs_kvs kvs = cs_state_sandbox_labels(&c, 1234567890123LL, a);
    /* the stored format, key by key */
    ck_assert_uint_eq(kvs.n, 14);
    expect(&kvs, "io.crishim.kind", "sandbox");
    expect(&kvs, "io.crishim.name", "nginx");
    expect(&kvs, "io.crishim.pod-name", "nginx");
    expect(&kvs, "io.crishim.pod-namespace", "default");
    expect(&kvs, "io.crishim.pod-uid", "uid-1");
    expect(&kvs, "io.crishim.attempt", "3");
    expect(&kvs, "io.crishim.created", "1234567890123");
    expect(&kvs, "io.crishim.log-directory", "/var/log/pods/x");
    expect(&kvs, "io.crishim.namespaces", "2,1,0");
    expect(&kvs, "io.crishim.runtime-handler", "runc");
    expect(&kvs, "io.crishim.label.app", "web");
    expect(&kvs, "io.crishim.label.tier", "front");
    expect(&kvs, "io.crishim.annotation.note", "x=y");
    expect(&kvs, "io.crishim.annotation.empty", "");

    cs_sandbox s = {0};
    cs_state_sandbox_decode(&kvs, &s, a);
    ck_assert_str_eq(s.name, "nginx");
    ck_assert_str_eq(s.ns, "default");
    ck_assert_str_eq(s.uid, "uid-1");
    ck_assert_uint_eq(s.attempt, 3);
    ck_assert_int_eq(s.created_ns, 1234567890123LL);
    ck_assert_int_eq(s.net, CS_NS_NODE);
    ck_assert_int_eq(s.pid, CS_NS_CONTAINER);
    ck_assert_int_eq(s.ipc, CS_NS_POD);
    ck_assert_str_eq(s.runtime_handler, "runc");
    ck_assert_str_eq(s.log_directory, "/var/log/pods/x");
    ck_assert_uint_eq(s.labels.n, 2);
    ck_assert(cs_state_labels_match(&s.labels, &c.labels));
    ck_assert_uint_eq(s.annotations.n, 2);
    ck_assert(cs_state_labels_match(&s.annotations, &c.annotations));
    cs_arena_free(a);
}
END_TEST

START_TEST(sandbox_defaults)
{
    cs_arena *a = cs_arena_new();
    cs_sandbox_config c = {.name = "p", .ns = "n", .uid = "u"};
    cs_kvs kvs = cs_state_sandbox_labels(&c, 0, a);
    expect(&kvs, "io.crishim.log-directory", "");
    expect(&kvs, "io.crishim.runtime-handler", "");
    /* nothing but the engine's own labels: every string "" */
    cs_kv foreign[] = {{"maintainer", "someone"}};
    cs_kvs none = {foreign, 1};
    cs_sandbox s = {0};
    cs_state_sandbox_decode(&none, &s, a);
    ck_assert_str_eq(s.name, "");
    ck_assert_str_eq(s.ns, "");
    ck_assert_str_eq(s.uid, "");
    ck_assert_str_eq(s.runtime_handler, "");
    ck_assert_str_eq(s.log_directory, "");
    ck_assert_uint_eq(s.attempt, 0);
    ck_assert_int_eq(s.created_ns, 0);
    ck_assert_int_eq(s.net, CS_NS_POD);
    ck_assert_uint_eq(s.labels.n, 0);
    ck_assert_uint_eq(s.annotations.n, 0);
    cs_arena_free(a);
}
END_TEST

START_TEST(container_round_trip)
{
    cs_arena *a = cs_arena_new();
    cs_mount mounts[] = {
        {.container_path = "/data", .host_path = "/srv/data", .readonly = true, .selinux_relabel = true,
         .propagation = 2},
        {.container_path = "/tmp/x", .host_path = "/tmp/y"},
    };
    cs_kv labels[] = {{"io.kubernetes.container.name", "web"}};
    cs_kv annotations[] = {{"io.kubernetes.container.hash", "abc"}};
    cs_container_config c = {.name = "web", .attempt = 7, .image = "busybox:1.36", .mounts = mounts, .n_mounts = 2,
                             .labels = {labels, 1}, .annotations = {annotations, 1}};
    cs_kvs kvs = cs_state_container_labels(&c, ID_A, "/var/log/pods/x/web/7.log", 42, a);
    ck_assert_uint_eq(kvs.n, 10);
    expect(&kvs, "io.crishim.kind", "container");
    expect(&kvs, "io.crishim.sandbox-id", ID_A);
    expect(&kvs, "io.crishim.name", "web");
    expect(&kvs, "io.crishim.attempt", "7");
    expect(&kvs, "io.crishim.created", "42");
    expect(&kvs, "io.crishim.image", "busybox:1.36");
    expect(&kvs, "io.crishim.log-path", "/var/log/pods/x/web/7.log");
    expect(&kvs, "io.crishim.mounts",
           "[{\"c\":\"/data\",\"h\":\"/srv/data\",\"ro\":true,\"z\":true,\"p\":2},"
           "{\"c\":\"/tmp/x\",\"h\":\"/tmp/y\",\"ro\":false,\"z\":false,\"p\":0}]");
    expect(&kvs, "io.crishim.label.io.kubernetes.container.name", "web");
    expect(&kvs, "io.crishim.annotation.io.kubernetes.container.hash", "abc");

    cs_container got = {0};
    cs_state_container_decode(&kvs, &got, a);
    ck_assert_str_eq(got.sandbox_id, ID_A);
    ck_assert_str_eq(got.name, "web");
    ck_assert_uint_eq(got.attempt, 7);
    ck_assert_int_eq(got.created_ns, 42);
    ck_assert_str_eq(got.image, "busybox:1.36");
    ck_assert_str_eq(got.log_path, "/var/log/pods/x/web/7.log");
    ck_assert_str_eq(got.reason, "");
    ck_assert_str_eq(got.message, "");
    ck_assert_uint_eq(got.labels.n, 1);
    ck_assert_str_eq(got.labels.items[0].key, "io.kubernetes.container.name");
    ck_assert_uint_eq(got.annotations.n, 1);
    ck_assert_str_eq(got.annotations.items[0].value, "abc");

    cs_state_mounts_parse(cs_state_get(&kvs, CS_STATE_MOUNTS), a, &got.mounts, &got.n_mounts);
    ck_assert_uint_eq(got.n_mounts, 2);
    ck_assert_str_eq(got.mounts[0].container_path, "/data");
    ck_assert_str_eq(got.mounts[0].host_path, "/srv/data");
    ck_assert(got.mounts[0].readonly);
    ck_assert(got.mounts[0].selinux_relabel);
    ck_assert_int_eq(got.mounts[0].propagation, 2);
    ck_assert_str_eq(got.mounts[1].container_path, "/tmp/x");
    ck_assert(!got.mounts[1].readonly);
    ck_assert_int_eq(got.mounts[1].propagation, 0);
    cs_arena_free(a);
}
END_TEST

/* Labels exactly as a Docker container made by an earlier build carries
 * them, the engine's own labels mixed in. */
START_TEST(reads_earlier_builds)
{
    cs_arena *a = cs_arena_new();
    cs_kv stored[] = {
        {"io.crishim.kind", "container"},
        {"org.opencontainers.image.title", "busybox"},
        {"io.crishim.sandbox-id", ID_B},
        {"io.crishim.name", "sidecar"},
        {"io.crishim.attempt", "1"},
        {"io.crishim.created", "1700000000000000000"},
        {"io.crishim.image", "docker.io/library/busybox:latest"},
        {"io.crishim.log-path", "/logs/sidecar/1.log"},
        {"io.crishim.mounts", "[]"},
        {"io.crishim.label.io.kubernetes.pod.name", "p"},
        {"io.crishim.annotation.a", "b"},
    };
    cs_kvs kvs = {stored, sizeof stored / sizeof stored[0]};
    cs_container c = {0};
    cs_state_container_decode(&kvs, &c, a);
    ck_assert_str_eq(c.sandbox_id, ID_B);
    ck_assert_str_eq(c.name, "sidecar");
    ck_assert_uint_eq(c.attempt, 1);
    ck_assert_int_eq(c.created_ns, 1700000000000000000LL);
    ck_assert_str_eq(c.image, "docker.io/library/busybox:latest");
    ck_assert_str_eq(c.log_path, "/logs/sidecar/1.log");
    ck_assert_uint_eq(c.labels.n, 1);
    ck_assert_str_eq(c.labels.items[0].key, "io.kubernetes.pod.name");
    ck_assert_uint_eq(c.annotations.n, 1);
    cs_state_mounts_parse(cs_state_get(&kvs, CS_STATE_MOUNTS), a, &c.mounts, &c.n_mounts);
    ck_assert_uint_eq(c.n_mounts, 0);
    /* a missing or broken mounts label: no mounts */
    cs_mount *m = NULL;
    size_t n = 0;
    cs_state_mounts_parse(NULL, a, &m, &n);
    cs_state_mounts_parse("{not json", a, &m, &n);
    ck_assert_ptr_null(m);
    ck_assert_uint_eq(n, 0);
    cs_arena_free(a);
}
END_TEST

START_TEST(ns_modes)
{
    cs_arena *a = cs_arena_new();
    cs_ns_mode net, pid, ipc;
    ck_assert_str_eq(cs_state_ns_modes_format(CS_NS_POD, CS_NS_NODE, CS_NS_TARGET, a), "0,2,3");
    cs_state_ns_modes_parse("0,2,3", &net, &pid, &ipc);
    ck_assert_int_eq(net, CS_NS_POD);
    ck_assert_int_eq(pid, CS_NS_NODE);
    ck_assert_int_eq(ipc, CS_NS_TARGET);
    cs_state_ns_modes_parse(NULL, &net, &pid, &ipc);
    ck_assert_int_eq(net + pid + ipc, 0);
    cs_state_ns_modes_parse("garbage", &net, &pid, &ipc);
    ck_assert_int_eq(net + pid + ipc, 0);
    cs_arena_free(a);
}
END_TEST

START_TEST(names)
{
    cs_arena *a = cs_arena_new();
    cs_sandbox_config c = sample_sandbox();
    ck_assert_str_eq(cs_state_sandbox_name(&c, a), "k8s_POD_nginx_default_uid-1_3");
    ck_assert_str_eq(cs_state_container_name("web", 2, "nginx", "default", "uid-1", a),
                     "k8s_web_nginx_default_uid-1_2");
    ck_assert_str_eq(cs_state_container_name("web", 0, "", "", "", a), "k8s_web____0");
    cs_arena_free(a);
}
END_TEST

START_TEST(sandbox_filters)
{
    cs_kv want_app[] = {{"app", "web"}};
    cs_kv want_other[] = {{"app", "db"}};
    cs_kv want_both[] = {{"app", "web"}, {"tier", "front"}};
    cs_sandbox s = {.id = ID_A, .state = CS_SANDBOX_READY, .labels = {pod_labels, 2}};
    ck_assert(cs_state_sandbox_wanted(&s, NULL));
    cs_sandbox_filter f = {0};
    ck_assert(cs_state_sandbox_wanted(&s, &f));
    f.id = "aaaa";
    ck_assert(cs_state_sandbox_wanted(&s, &f));
    f.id = ID_A;
    ck_assert(cs_state_sandbox_wanted(&s, &f));
    f.id = "bbbb";
    ck_assert(!cs_state_sandbox_wanted(&s, &f));
    f.id = "";
    ck_assert(cs_state_sandbox_wanted(&s, &f));
    f = (cs_sandbox_filter){.has_state = true, .state = CS_SANDBOX_NOTREADY};
    ck_assert(!cs_state_sandbox_wanted(&s, &f));
    f.state = CS_SANDBOX_READY;
    ck_assert(cs_state_sandbox_wanted(&s, &f));
    f = (cs_sandbox_filter){.labels = {want_app, 1}};
    ck_assert(cs_state_sandbox_wanted(&s, &f));
    f.labels = (cs_kvs){want_both, 2};
    ck_assert(cs_state_sandbox_wanted(&s, &f));
    f.labels = (cs_kvs){want_other, 1};
    ck_assert(!cs_state_sandbox_wanted(&s, &f));
}
END_TEST

START_TEST(container_filters)
{
    cs_kv labels[] = {{"k", "v"}};
    cs_kv want[] = {{"k", "v"}};
    cs_kv want_missing[] = {{"k", "v"}, {"other", "x"}};
    cs_container c = {.id = ID_C, .sandbox_id = ID_A, .state = CS_CONTAINER_EXITED, .labels = {labels, 1}};
    ck_assert(cs_state_container_wanted(&c, NULL));
    cs_container_filter f = {.id = "bbbb"};
    ck_assert(cs_state_container_wanted(&c, &f));
    f.id = "aaaa";
    ck_assert(!cs_state_container_wanted(&c, &f));
    f = (cs_container_filter){.sandbox_id = "aaaa0"};
    ck_assert(cs_state_container_wanted(&c, &f));
    f.sandbox_id = ID_B;
    ck_assert(!cs_state_container_wanted(&c, &f));
    f = (cs_container_filter){.has_state = true, .state = CS_CONTAINER_RUNNING};
    ck_assert(!cs_state_container_wanted(&c, &f));
    f.state = CS_CONTAINER_EXITED;
    ck_assert(cs_state_container_wanted(&c, &f));
    f = (cs_container_filter){.labels = {want, 1}};
    ck_assert(cs_state_container_wanted(&c, &f));
    f.labels = (cs_kvs){want_missing, 2};
    ck_assert(!cs_state_container_wanted(&c, &f));
}
END_TEST

START_TEST(full_ids)
{
    ck_assert(cs_state_is_full_id(ID_A));
    ck_assert(!cs_state_is_full_id("aaaa"));
    ck_assert(!cs_state_is_full_id(""));
    ck_assert(!cs_state_is_full_id("AAAA000000000000000000000000000000000000000000000000000000000001"));
    ck_assert(!cs_state_is_full_id(ID_A "0"));
}
END_TEST

START_TEST(prefix_resolution)
{
    const char *ids[] = {ID_A, ID_B, ID_C, "abc", "abcdef"};
    const char *full = NULL;
    cs_error err;
    /* unique */
    ck_assert_int_eq(cs_state_resolve_prefix("container", "bb", ids, 5, &full, &err), 0);
    ck_assert_str_eq(full, ID_C);
    ck_assert_int_eq(cs_state_resolve_prefix("container", ID_B, ids, 5, &full, &err), 0);
    ck_assert_str_eq(full, ID_B);
    /* exact beats prefix */
    ck_assert_int_eq(cs_state_resolve_prefix("container", "abc", ids, 5, &full, &err), 0);
    ck_assert_str_eq(full, "abc");
    /* ambiguous */
    ck_assert_int_eq(cs_state_resolve_prefix("sandbox", "aaaa", ids, 5, &full, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    ck_assert_str_eq(err.msg, "sandbox id prefix aaaa is ambiguous");
    /* none */
    ck_assert_int_eq(cs_state_resolve_prefix("container", "cc", ids, 5, &full, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    ck_assert_str_eq(err.msg, "container cc not found");
    ck_assert_int_eq(cs_state_resolve_prefix("container", "cc", NULL, 0, &full, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    /* empty */
    ck_assert_int_eq(cs_state_resolve_prefix("container", "", ids, 5, &full, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
}
END_TEST

START_TEST(exit_reasons)
{
    const char *reason, *message;
    cs_state_exit_reason(false, 0, NULL, &reason, &message);
    ck_assert_str_eq(reason, "Completed");
    ck_assert_str_eq(message, "");
    cs_state_exit_reason(false, 3, "", &reason, &message);
    ck_assert_str_eq(reason, "Error");
    cs_state_exit_reason(true, 137, "killed", &reason, &message);
    ck_assert_str_eq(reason, "OOMKilled");
    ck_assert_str_eq(message, "killed");
    cs_state_exit_reason(true, 0, NULL, &reason, &message);
    ck_assert_str_eq(reason, "OOMKilled");
    cs_state_exit_reason(false, 127, "exec: \"nope\": executable file not found", &reason, &message);
    ck_assert_str_eq(reason, "Error");
    ck_assert_str_eq(message, "exec: \"nope\": executable file not found");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("state");
    TCase *codec = tcase_create("codec");
    tcase_add_test(codec, sandbox_round_trip);
    tcase_add_test(codec, sandbox_defaults);
    tcase_add_test(codec, container_round_trip);
    tcase_add_test(codec, reads_earlier_builds);
    tcase_add_test(codec, ns_modes);
    suite_add_tcase(s, codec);
    TCase *query = tcase_create("query");
    tcase_add_test(query, names);
    tcase_add_test(query, sandbox_filters);
    tcase_add_test(query, container_filters);
    tcase_add_test(query, full_ids);
    tcase_add_test(query, prefix_resolution);
    tcase_add_test(query, exit_reasons);
    suite_add_tcase(s, query);
    return tc_run_suite(s, false);
}
