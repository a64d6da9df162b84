/* The security policy (backend/security.h) against given host facts:
 * capability expansion into a bounding set, drop ALL, privileged, seccomp and
 * AppArmor choices, oom_score_adj, and users. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "backend/hostcaps.h"
#include "backend/security.h"
#include "suite.h"
#include "tree.h"

#define BIT(name) ((uint64_t)1 << cs_hostcaps_bit(name))

/* A host that has only these four. */
static cs_security_host small_host(void)
{
    cs_security_host h = {
        .bounding = BIT("CAP_CHOWN") | BIT("CAP_KILL") | BIT("CAP_NET_ADMIN") | BIT("CAP_SYS_ADMIN"),
        .can_lower_oom = false,
    };
    return h;
}

static void expect_strs(const cs_strs *got, const char *const *want, size_t n)
{
    ck_assert_msg(got->n == n, "want %zu items, got %zu", n, got->n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(got->items[i], want[i]);
}

static const char *const four[] = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"};

START_TEST(all_expands_to_bounding_set)
{
    cs_arena *a = cs_arena_new();
    cs_security_host h = small_host();
    const char *add[] = {"all"};
    cs_security s = {.cap_add = {add, 1}};
    cs_security_policy p;
    cs_security_decide(&s, &h, a, &p);
    ck_assert(!p.privileged);
    expect_strs(&p.cap_add, four, 4);
    ck_assert_uint_eq(p.cap_drop.n, 0);
    expect_strs(&p.caps, four, 4);
    /* ALL with a drop: everything the host has but that */
    const char *drop[] = {"sys_admin"};
    s.cap_drop = (cs_strs){drop, 1};
    cs_security_decide(&s, &h, a, &p);
    const char *want_drop[] = {"CAP_SYS_ADMIN"};
    expect_strs(&p.cap_drop, want_drop, 1);
    expect_strs(&p.caps, four, 3);
    /* an engine that can't name a capability: left out */
    cs_security_host older = h;
    older.bounding &= ~BIT("CAP_NET_ADMIN");
    s.cap_drop.n = 0;
    cs_security_decide(&s, &older, a, &p);
    const char *three[] = {"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"};
    expect_strs(&p.cap_add, three, 3);
    cs_arena_free(a);
}
END_TEST

START_TEST(add_and_drop_names)
{
    cs_arena *a = cs_arena_new();
    cs_security_host h = small_host();
    const char *add[] = {"net_admin", "CAP_SYS_ADMIN"};
    const char *drop[] = {"Kill", "cap_chown"};
    cs_security s = {.cap_add = {add, 2}, .cap_drop = {drop, 2}};
    cs_security_policy p;
    cs_security_decide(&s, &h, a, &p);
    const char *want_add[] = {"CAP_NET_ADMIN", "CAP_SYS_ADMIN"};
    const char *want_drop[] = {"CAP_KILL", "CAP_CHOWN"};
    expect_strs(&p.cap_add, want_add, 2);
    expect_strs(&p.cap_drop, want_drop, 2);
    /* the default set (within the host's) less the drops, plus the adds */
    expect_strs(&p.caps, want_add, 2);
    /* nothing asked: the default set, within the host's */
    cs_security none = {0};
    cs_security_decide(&none, &h, a, &p);
    ck_assert_uint_eq(p.cap_add.n, 0);
    ck_assert_uint_eq(p.cap_drop.n, 0);
    const char *defaults[] = {"CAP_CHOWN", "CAP_KILL"};
    expect_strs(&p.caps, defaults, 2);
    ck_assert(cs_security_default_caps() & BIT("CAP_NET_BIND_SERVICE"));
    ck_assert(!(cs_security_default_caps() & BIT("CAP_SYS_ADMIN")));
    cs_arena_free(a);
}
END_TEST

START_TEST(drop_all)
{
    cs_arena *a = cs_arena_new();
    cs_security_host h = small_host();
    const char *add[] = {"NET_ADMIN"};
    const char *drop[] = {"all"};
    cs_security s = {.cap_add = {add, 1}, .cap_drop = {drop, 1}};
    cs_security_policy p;
    cs_security_decide(&s, &h, a, &p);
    const char *want_drop[] = {"ALL"};
    const char *want_add[] = {"CAP_NET_ADMIN"};
    expect_strs(&p.cap_drop, want_drop, 1);
    expect_strs(&p.cap_add, want_add, 1);
    expect_strs(&p.caps, want_add, 1);
    s.cap_add.n = 0;
    cs_security_decide(&s, &h, a, &p);
    ck_assert_uint_eq(p.caps.n, 0);
    cs_arena_free(a);
}
END_TEST

START_TEST(privileged)
{
    cs_arena *a = cs_arena_new();
    cs_security_host h = small_host();
    const char *drop[] = {"KILL"};
    const char *masked[] = {"/proc/kcore"};
    cs_security s = {.privileged = true, .cap_drop = {drop, 1}, .no_new_privs = true,
                     .seccomp = {.type = CS_PROFILE_LOCALHOST, .ref = "/x", .content = "{}"},
                     .has_masked_paths = true, .masked_paths = {masked, 1},
                     .has_readonly_paths = true, .readonly_paths = {masked, 1}};
    cs_security_policy p;
    cs_security_decide(&s, &h, a, &p);
    ck_assert(p.privileged);
    expect_strs(&p.cap_add, four, 4);
    ck_assert_uint_eq(p.cap_drop.n, 0); /* privileged drops nothing */
    expect_strs(&p.caps, four, 4);
    ck_assert_int_eq(p.seccomp.type, CS_PROFILE_UNCONFINED);
    ck_assert_int_eq(p.apparmor.type, CS_PROFILE_UNCONFINED);
    ck_assert(!p.no_new_privs);
    ck_assert(p.has_masked_paths && p.masked_paths.n == 0);
    ck_assert(p.has_readonly_paths && p.readonly_paths.n == 0);
    /* a privileged pod's pause process is not */
    const char *add[] = {"ALL"};
    s.cap_add = (cs_strs){add, 1};
    cs_security_decide_sandbox(&s, &h, a, &p);
    ck_assert(!p.privileged);
    ck_assert_uint_eq(p.cap_add.n, 0);
    ck_assert_int_eq(p.seccomp.type, CS_PROFILE_LOCALHOST);
    ck_assert_str_eq(p.seccomp.content, "{}");
    cs_arena_free(a);
}
END_TEST

START_TEST(paths_pass_through)
{
    cs_arena *a = cs_arena_new();
    cs_security_host h = small_host();
    const char *masked[] = {"/proc/kcore", "/proc/keys"};
    cs_security s = {.readonly_rootfs = true, .no_new_privs = true, .has_masked_paths = true,
                     .masked_paths = {masked, 2}};
    int64_t groups[] = {10, 20};
    s.supplemental_groups = groups;
    s.n_supplemental_groups = 2;
    cs_security_policy p;
    cs_security_decide(&s, &h, a, &p);
    ck_assert(p.readonly_rootfs);
    ck_assert(p.no_new_privs);
    expect_strs(&p.masked_paths, masked, 2);
    ck_assert(!p.has_readonly_paths); /* the runtime's default, for an OCI spec: */
    cs_strs ro = cs_security_default_readonly_paths();
    ck_assert_uint_eq(ro.n, 5);
    ck_assert_str_eq(ro.items[3], "/proc/sys");
    cs_strs mp = cs_security_default_masked_paths();
    ck_assert_uint_eq(mp.n, 10);
    ck_assert_str_eq(mp.items[2], "/proc/kcore");
    ck_assert_uint_eq(p.n_supplemental_groups, 2);
    ck_assert_int_eq(p.supplemental_groups[1], 20);
    cs_arena_free(a);
}
END_TEST

START_TEST(seccomp_choices)
{
    cs_arena *a = cs_arena_new();
    cs_profile p;
    cs_error err;
    /* no profile at all: unconfined (CRI's rule) */
    cs_profile_request r = {0};
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), 0);
    ck_assert_int_eq(p.type, CS_PROFILE_UNCONFINED);
    r.legacy = "";
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), 0);
    ck_assert_int_eq(p.type, CS_PROFILE_UNCONFINED);
    /* RuntimeDefault, by the message or the old names */
    r = (cs_profile_request){.has_profile = true, .type = CS_PROFILE_RUNTIME_DEFAULT};
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), 0);
    ck_assert_int_eq(p.type, CS_PROFILE_RUNTIME_DEFAULT);
    r = (cs_profile_request){.legacy = "runtime/default"};
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), 0);
    ck_assert_int_eq(p.type, CS_PROFILE_RUNTIME_DEFAULT);
    r = (cs_profile_request){.legacy = "docker/default"};
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), 0);
    ck_assert_int_eq(p.type, CS_PROFILE_RUNTIME_DEFAULT);
    /* Unconfined */
    r = (cs_profile_request){.has_profile = true, .type = CS_PROFILE_UNCONFINED};
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), 0);
    ck_assert_int_eq(p.type, CS_PROFILE_UNCONFINED);
    r = (cs_profile_request){.legacy = "unconfined"};
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), 0);
    ck_assert_int_eq(p.type, CS_PROFILE_UNCONFINED);
    /* Localhost: read here, path and content */
    tree_make("seccomp");
    tree_put("profiles/deny.json", "{\"defaultAction\":\"SCMP_ACT_ERRNO\"}");
    char path[512];
    snprintf(path, sizeof path, "%s/profiles/deny.json", tree_root);
    r = (cs_profile_request){.has_profile = true, .type = CS_PROFILE_LOCALHOST, .localhost_ref = path};
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), 0);
    ck_assert_int_eq(p.type, CS_PROFILE_LOCALHOST);
    ck_assert_str_eq(p.ref, path);
    ck_assert_str_eq(p.content, "{\"defaultAction\":\"SCMP_ACT_ERRNO\"}");
    char legacy[600];
    snprintf(legacy, sizeof legacy, "localhost%s", path); /* "localhost/<path>" */
    r = (cs_profile_request){.legacy = legacy};
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), 0);
    ck_assert_int_eq(p.type, CS_PROFILE_LOCALHOST);
    ck_assert_str_eq(p.ref, path);
    /* a relative path, a missing file */
    r = (cs_profile_request){.has_profile = true, .type = CS_PROFILE_LOCALHOST, .localhost_ref = "deny.json"};
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "absolute path") != NULL, "message: %s", err.msg);
    snprintf(path, sizeof path, "%s/profiles/missing.json", tree_root);
    r.localhost_ref = path;
    ck_assert_int_eq(cs_security_seccomp(&r, a, &p, &err), -1);
    ck_assert_msg(strstr(err.msg, "seccomp profile") != NULL, "message: %s", err.msg);
    tree_remove();
    cs_arena_free(a);
}
END_TEST

START_TEST(apparmor_choices)
{
    cs_profile p;
    cs_profile_request r = {0};
    cs_security_apparmor(&r, &p);
    ck_assert_int_eq(p.type, CS_PROFILE_RUNTIME_DEFAULT); /* unlike seccomp */
    r = (cs_profile_request){.has_profile = true, .type = CS_PROFILE_UNCONFINED};
    cs_security_apparmor(&r, &p);
    ck_assert_int_eq(p.type, CS_PROFILE_UNCONFINED);
    r = (cs_profile_request){.has_profile = true, .type = CS_PROFILE_LOCALHOST, .localhost_ref = "k8s-deny"};
    cs_security_apparmor(&r, &p);
    ck_assert_int_eq(p.type, CS_PROFILE_LOCALHOST);
    ck_assert_str_eq(p.ref, "k8s-deny");
    r.localhost_ref = "";
    cs_security_apparmor(&r, &p);
    ck_assert_int_eq(p.type, CS_PROFILE_RUNTIME_DEFAULT);
    r = (cs_profile_request){.legacy = "unconfined"};
    cs_security_apparmor(&r, &p);
    ck_assert_int_eq(p.type, CS_PROFILE_UNCONFINED);
    r = (cs_profile_request){.legacy = "localhost/k8s-deny"};
    cs_security_apparmor(&r, &p);
    ck_assert_int_eq(p.type, CS_PROFILE_LOCALHOST);
    ck_assert_str_eq(p.ref, "k8s-deny");
    r = (cs_profile_request){.legacy = "runtime/default"};
    cs_security_apparmor(&r, &p);
    ck_assert_int_eq(p.type, CS_PROFILE_RUNTIME_DEFAULT);
}
END_TEST

START_TEST(oom_score_adj)
{
    cs_security_host h = small_host();
    int64_t adj = 1;
    ck_assert_int_eq(cs_security_oom_score_adj(&h, -500), 0);
    ck_assert_int_eq(cs_security_oom_score_adj(&h, 300), 300);
    ck_assert(!cs_security_sandbox_oom_score_adj(&h, &adj));
    ck_assert_int_eq(adj, 1);
    h.can_lower_oom = true;
    ck_assert_int_eq(cs_security_oom_score_adj(&h, -500), -500);
    ck_assert(cs_security_sandbox_oom_score_adj(&h, &adj));
    ck_assert_int_eq(adj, -998);
}
END_TEST

START_TEST(image_users)
{
    cs_arena *a = cs_arena_new();
    cs_user u;
    cs_security_parse_user("1003", a, &u);
    ck_assert(u.has_uid && u.uid == 1003 && !u.name && !u.has_gid && !u.group);
    cs_security_parse_user("1003:1004", a, &u);
    ck_assert(u.has_uid && u.uid == 1003 && u.has_gid && u.gid == 1004);
    cs_security_parse_user("www-data", a, &u);
    ck_assert(!u.has_uid);
    ck_assert_str_eq(u.name, "www-data");
    cs_security_parse_user("www-data:staff", a, &u);
    ck_assert_str_eq(u.name, "www-data");
    ck_assert(!u.has_gid);
    ck_assert_str_eq(u.group, "staff");
    cs_security_parse_user("www-data:50", a, &u);
    ck_assert(u.has_gid && u.gid == 50);
    cs_security_parse_user("", a, &u);
    ck_assert(!u.has_uid && !u.name && !u.has_gid);
    cs_security_parse_user(NULL, a, &u);
    ck_assert(!u.has_uid && !u.name);
    /* too long to be a uid: a name */
    cs_security_parse_user("1234567890123456789", a, &u);
    ck_assert(!u.has_uid);
    ck_assert_str_eq(u.name, "1234567890123456789");
    cs_arena_free(a);
}
END_TEST

START_TEST(cri_users)
{
    cs_arena *a = cs_arena_new();
    cs_security s = {0};
    ck_assert_ptr_null(cs_security_user_string(&s, a));
    s = (cs_security){.has_user = true, .user = 1000};
    ck_assert_str_eq(cs_security_user_string(&s, a), "1000");
    s.has_group = true;
    s.group = 2000;
    ck_assert_str_eq(cs_security_user_string(&s, a), "1000:2000");
    s = (cs_security){.username = "nobody"};
    ck_assert_str_eq(cs_security_user_string(&s, a), "nobody");
    s.has_group = true;
    s.group = 5;
    ck_assert_str_eq(cs_security_user_string(&s, a), "nobody:5");

    /* CRI's user over the image's */
    cs_user u;
    s = (cs_security){0};
    cs_security_user(&s, "www-data:staff", a, &u);
    ck_assert_str_eq(u.name, "www-data");
    ck_assert_str_eq(u.group, "staff");
    s = (cs_security){.has_user = true, .user = 0};
    cs_security_user(&s, "www-data:staff", a, &u);
    ck_assert(u.has_uid && u.uid == 0 && !u.name && !u.group && !u.has_gid);
    s = (cs_security){.has_group = true, .group = 7};
    cs_security_user(&s, "1003:1004", a, &u);
    ck_assert(u.has_uid && u.uid == 1003 && u.has_gid && u.gid == 7);

    /* run_as_group needs a user */
    cs_error err;
    s = (cs_security){.has_group = true, .group = 7};
    ck_assert_int_eq(cs_security_check_user(&s, false, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    ck_assert_str_eq(err.msg, "run_as_group needs run_as_user");
    ck_assert_int_eq(cs_security_check_user(&s, true, &err), -1);
    ck_assert_str_eq(err.msg, "run_as_group needs run_as_user or run_as_username");
    s.username = "nobody";
    ck_assert_int_eq(cs_security_check_user(&s, true, &err), 0);
    s = (cs_security){.has_group = true, .has_user = true};
    ck_assert_int_eq(cs_security_check_user(&s, false, &err), 0);
    s = (cs_security){0};
    ck_assert_int_eq(cs_security_check_user(&s, false, &err), 0);
    cs_arena_free(a);
}
END_TEST

START_TEST(host_probe)
{
    cs_security_host h;
    cs_security_host_probe(0, &h);
    ck_assert_uint_eq(h.bounding, cs_hostcaps_bounding_mask());
    ck_assert_int_eq(h.can_lower_oom, cs_hostcaps_can_lower_oom());
    cs_security_host_probe(BIT("CAP_CHOWN"), &h);
    ck_assert(!(h.bounding & BIT("CAP_CHOWN")));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security");
    TCase *caps = tcase_create("capabilities");
    tcase_add_test(caps, all_expands_to_bounding_set);
    tcase_add_test(caps, add_and_drop_names);
    tcase_add_test(caps, drop_all);
    tcase_add_test(caps, privileged);
    tcase_add_test(caps, paths_pass_through);
    tcase_add_test(caps, host_probe);
    suite_add_tcase(s, caps);
    TCase *profiles = tcase_create("profiles");
    tcase_add_test(profiles, seccomp_choices);
    tcase_add_test(profiles, apparmor_choices);
    tcase_add_test(profiles, oom_score_adj);
    suite_add_tcase(s, profiles);
    TCase *users = tcase_create("users");
    tcase_add_test(users, image_users);
    tcase_add_test(users, cri_users);
    suite_add_tcase(s, users);
    return tc_run_suite(s, false);
}
