/* OCI runtime specs (containerd/spec.h) for representative CRI configs,
 * compared structurally with reviewed fixtures in tests/fixtures/spec (object
 * member order aside, everything must match); users resolved through a
 * passwd/group fixture; errors naming the CRI field; and, as root, real runc
 * running a generated spec on a busybox rootfs.
 * CRISHIM_SPEC_WRITE=1 rewrites the fixtures (then review the diff). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/hostcaps.h"
#include "containerd/spec.h"
#include "suite.h"
#include "util/json.h"

#define BIT(name) ((uint64_t)1 << cs_hostcaps_bit(name))

static char *slurp(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/spec/%s", CS_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- structural JSON comparison ---- */


static bool json_eq(const cs_json *x, int a, const cs_json *y, int b, char *where, size_t cap)
{
    cs_json_type ta = cs_json_type_of(x, a), tb = cs_json_type_of(y, b);
    if (ta != tb)
        return false;
    size_t wl = strlen(where);
    if (ta == CS_JSON_OBJECT) {
        if (cs_json_count(x, a) != cs_json_count(y, b))
            return false;
        int k;
        for (int v = cs_json_first_member(x, a, &k); v >= 0; v = cs_json_next_member(x, a, v, &k)) {
            size_t kl;
            const char *key = cs_json_raw(x, k, &kl);
            snprintf(where + wl, cap - wl, ".%.*s", (int)kl, key);
            char *ks = cs_json_str(x, k, NULL);
            int w = cs_json_key(y, b, ks);
            free(ks);
            if (w < 0 || !json_eq(x, v, y, w, where, cap))
                return false;
            where[wl] = '\0';
        }
        return true;
    }
    if (ta == CS_JSON_ARRAY) {
        if (cs_json_count(x, a) != cs_json_count(y, b))
            return false;
        for (int i = 0; i < cs_json_count(x, a); i++) {
            snprintf(where + wl, cap - wl, "[%d]", i);
            if (!json_eq(x, cs_json_at(x, a, i), y, cs_json_at(y, b, i), where, cap))
                return false;
            where[wl] = '\0';
        }
        return true;
    }
    size_t la, lb;
    const char *ra = cs_json_raw(x, a, &la), *rb = cs_json_raw(y, b, &lb);
    return la == lb && memcmp(ra, rb, la) == 0;
}

static void write_fixture(const char *name, const char *json)
{
    char path[512], cmd[1200];
    snprintf(path, sizeof path, "%s/spec/%s", CS_FIXTURES, name);
    snprintf(cmd, sizeof cmd, "python3 -m json.tool --indent 2 > '%s'", path);
    FILE *p = popen(cmd, "w");
    ck_assert(p != NULL);
    fputs(json, p);
    ck_assert_int_eq(pclose(p), 0);
}

static void expect_fixture(const char *name, const char *json)
{
    if (getenv("CRISHIM_SPEC_WRITE"))
        write_fixture(name, json);
    char *want = slurp(name);
    cs_json *x = NULL, *y = NULL;
    cs_error err;
    ck_assert_msg(cs_json_parse(json, strlen(json), &x, &err) == 0, "generated: %s", err.msg);
    ck_assert_msg(cs_json_parse(want, strlen(want), &y, &err) == 0, "%s: %s", name, err.msg);
    char where[512] = "";
    ck_assert_msg(json_eq(x, 0, y, 0, where, sizeof where), "%s differs at %s; generated:\n%s", name,
                  where[0] ? where : "(root)", json);
    cs_json_free(x);
    cs_json_free(y);
    free(want);
}

/* ---- inputs ---- */

typedef struct fx {
    cs_arena *a;
    cs_sandbox_config sb;
    cs_container_config c;
    mf_image_config img;
    cs_security_host host;
    cs_security_policy pol;
    ctrd_spec_input in;
    char *passwd, *group;
} fx;

static const char *busybox_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
static const char *busybox_cmd[] = {"sh"};

/* A busybox container in a pod on the pod network: pause pid 4242. */
static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->a = cs_arena_new();
    f->sb = (cs_sandbox_config){.name = "web", .ns = "default", .uid = "uid-1", .hostname = "web-host",
                                .cgroup_parent = "/kubepods/besteffort/poduid-1"};
    f->c = (cs_container_config){.sandbox_id = "sb1", .name = "app", .image = "docker.io/library/busybox:latest"};
    f->img = (mf_image_config){.env = busybox_env, .n_env = 1, .cmd = busybox_cmd, .n_cmd = 1};
    /* the default set and two more, no CAP_SYS_RESOURCE */
    f->host = (cs_security_host){.bounding = cs_security_default_caps() | BIT("CAP_NET_ADMIN") |
                                             BIT("CAP_SYS_ADMIN"),
                                 .can_lower_oom = false};
    f->passwd = slurp("passwd");
    f->group = slurp("group");
    f->in = (ctrd_spec_input){
        .id = "c1",
        .sandbox = &f->sb,
        .container = &f->c,
        .image = &f->img,
        .policy = &f->pol,
        .host = &f->host,
        .facts = {.id = "sb1",
                  .pause_pid = 4242,
                  .hostname = "web-host",
                  .resolv_path = "/run/crishim/sb1/resolv.conf",
                  .hosts_path = "/run/crishim/sb1/hosts",
                  .hostname_path = "/run/crishim/sb1/hostname",
                  .shm_path = "/run/crishim/sb1/shm"},
        .cgroup_driver = CS_CGROUP_CGROUPFS,
        .passwd = f->passwd,
        .group = f->group,
    };
}

static void fx_free(fx *f)
{
    free(f->passwd);
    free(f->group);
    cs_arena_free(f->a);
}

/* noinline: gcc -O2 otherwise takes the returned text for a pointer to
 * this function's local and warns (-Wdangling-pointer) at every caller. */
__attribute__((noinline)) static char *gen_container(fx *f)
{
    cs_security_decide(&f->c.security, &f->host, f->a, &f->pol);
    char *json;
    cs_error err;
    ck_assert_msg(ctrd_spec_container(&f->in, f->a, &json, &err) == 0, "%s", err.msg);
    return json;
}

static void expect_container_error(fx *f, cs_code code, const char *field)
{
    cs_security_decide(&f->c.security, &f->host, f->a, &f->pol);
    char *json;
    cs_error err;
    ck_assert_int_eq(ctrd_spec_container(&f->in, f->a, &json, &err), -1);
    ck_assert_int_eq(err.code, code);
    ck_assert_msg(strstr(err.msg, field) != NULL, "\"%s\" does not name %s", err.msg, field);
}

/* ---- containers ---- */

START_TEST(default_busybox)
{
    fx f;
    fx_init(&f);
    f.c.security.seccomp.type = CS_PROFILE_RUNTIME_DEFAULT;
    const char *envs_k[] = {"FOO", "PATH"};
    cs_kv envs[] = {{envs_k[0], "bar"}, {envs_k[1], "/bin"}};
    f.c.envs = (cs_kvs){envs, 2};
    f.in.nofile = 1024; /* oci's default, where the caller asks for it */
    expect_fixture("default.json", gen_container(&f));
    ck_assert(strstr(gen_container(&f), "rlimits") != NULL);
    f.in.nofile = 0; /* CRI's: none */
    ck_assert(strstr(gen_container(&f), "rlimits") == NULL);
    fx_free(&f);
}
END_TEST

START_TEST(privileged)
{
    fx f;
    fx_init(&f);
    f.c.security.privileged = true;
    cs_device d[] = {{.container_path = "/dev/mynull", .host_path = "/dev/null"}};
    f.c.devices = d;
    f.c.n_devices = 1;
    expect_fixture("privileged.json", gen_container(&f));
    /* with the host's devices: /dev/null among them, CRI's kept, sorted */
    f.in.host_dev_root = "/dev";
    char *json = gen_container(&f);
    ck_assert_msg(strstr(json, "{\"path\":\"/dev/mynull\",\"type\":\"c\",\"major\":1,\"minor\":3") != NULL, "%s", json);
    char *null = strstr(json, "{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3");
    char *zero = strstr(json, "{\"path\":\"/dev/zero\",\"type\":\"c\",\"major\":1,\"minor\":5");
    ck_assert_msg(null && zero && null < zero, "%s", json);
    ck_assert_msg(strstr(json, "\"/dev/pts/") == NULL && strstr(json, "\"/dev/console\"") == NULL, "%s", json);
    fx_free(&f);
}
END_TEST

START_TEST(mounts)
{
    fx f;
    fx_init(&f);
    f.c.security.seccomp.type = CS_PROFILE_UNCONFINED;
    f.c.security.readonly_rootfs = true;
    cs_mount m[] = {
        {.container_path = "/data/private", .host_path = "/srv/a", .propagation = 0},
        {.container_path = "/data", .host_path = "/srv/data", .readonly = true, .propagation = 1},
        {.container_path = "/shared", .host_path = "/srv/shared", .propagation = 2},
        {.container_path = "/etc/hosts", .host_path = "/srv/hosts", .readonly = true},
        {.container_path = "/dev/termination-log", .host_path = "/var/lib/kubelet/pods/uid-1/term"},
    };
    f.c.mounts = m;
    f.c.n_mounts = 5;
    expect_fixture("mounts.json", gen_container(&f));

    m[1].propagation = 7;
    expect_container_error(&f, CS_ERR_INVALID, "config.mounts[1].propagation");
    m[1].propagation = 1;
    m[0].container_path = "data";
    expect_container_error(&f, CS_ERR_INVALID, "config.mounts[0].container_path");
    fx_free(&f);
}
END_TEST

START_TEST(devices)
{
    fx f;
    fx_init(&f);
    f.c.security.seccomp.type = CS_PROFILE_UNCONFINED;
    cs_device d[] = {
        {.container_path = "/dev/mynull", .host_path = "/dev/null", .permissions = "rw"},
        {.container_path = "/dev/zero", .host_path = "/dev/zero"},
    };
    f.c.devices = d;
    f.c.n_devices = 2;
    expect_fixture("devices.json", gen_container(&f));

    d[1].permissions = "rwx";
    expect_container_error(&f, CS_ERR_INVALID, "config.devices[1].permissions");
    d[1].permissions = NULL;
    d[0].host_path = "/etc/passwd";
    expect_container_error(&f, CS_ERR_INVALID, "config.devices[0].host_path");
    fx_free(&f);
}
END_TEST

START_TEST(resources)
{
    fx f;
    fx_init(&f);
    f.c.security.seccomp.type = CS_PROFILE_UNCONFINED;
    f.in.cgroup_driver = CS_CGROUP_SYSTEMD;
    f.in.swap_accounting = true;
    f.sb.cgroup_parent = "kubepods-besteffort-poduid_1.slice";
    cs_kv unified[] = {{"memory.high", "100000000"}};
    f.c.has_resources = true;
    f.c.resources = (cs_resources){.cpu_period = 100000, .cpu_quota = 50000, .cpu_shares = 512,
                                   .memory_limit = 268435456, .oom_score_adj = 100, .has_oom_score_adj = true,
                                   .cpuset_cpus = "0-1", .cpuset_mems = "0", .unified = {unified, 1}};
    expect_fixture("resources.json", gen_container(&f));
    fx_free(&f);
}
END_TEST

START_TEST(negative_oom_raised)
{
    fx f;
    fx_init(&f);
    f.c.has_resources = true;
    f.c.resources.oom_score_adj = -500;
    f.c.resources.has_oom_score_adj = true;
    char *json = gen_container(&f);
    ck_assert_msg(strstr(json, "\"oomScoreAdj\":0") != NULL, "%s", json);
    f.host.can_lower_oom = true;
    json = gen_container(&f);
    ck_assert_msg(strstr(json, "\"oomScoreAdj\":-500") != NULL, "%s", json);
    fx_free(&f);
}
END_TEST

START_TEST(host_namespaces)
{
    fx f;
    fx_init(&f);
    f.c.security.seccomp.type = CS_PROFILE_UNCONFINED;
    f.sb.net = f.sb.ipc = f.sb.pid = CS_NS_NODE;
    f.c.pid = CS_NS_NODE;
    expect_fixture("host-ns.json", gen_container(&f));

    f.c.pid = CS_NS_CONTAINER; /* a private pid namespace: new, not joined */
    char *json = gen_container(&f);
    ck_assert_msg(strstr(json, "{\"type\":\"pid\"},{\"type\":\"mount\"}") != NULL, "%s", json);
    f.in.cgroup2 = true; /* cgroup v2: a cgroup namespace too */
    json = gen_container(&f);
    ck_assert_msg(strstr(json, "{\"type\":\"mount\"},{\"type\":\"cgroup\"}]") != NULL, "%s", json);
    f.c.pid = CS_NS_TARGET;
    expect_container_error(&f, CS_ERR_INVALID, "namespace_options.pid");
    fx_free(&f);
}
END_TEST

START_TEST(run_as_username)
{
    fx f;
    fx_init(&f);
    f.c.security.seccomp.type = CS_PROFILE_UNCONFINED;
    f.c.security.username = "www";
    int64_t supp[] = {1234, 50};
    f.c.security.supplemental_groups = supp;
    f.c.security.n_supplemental_groups = 2;
    expect_fixture("user.json", gen_container(&f));

    f.c.security.username = "wwx";
    expect_container_error(&f, CS_ERR_INVALID, "config.linux.security_context.run_as_username: no user wwx");
    fx_free(&f);
}
END_TEST

START_TEST(resolve_user)
{
    cs_arena *a = cs_arena_new();
    char *pw = slurp("passwd"), *gr = slurp("group");
    ctrd_spec_user u;
    cs_error err;
    cs_user q = {.has_uid = true, .uid = 33}; /* uid: gid and groups from the files */
    ck_assert_msg(ctrd_spec_resolve_user(&q, pw, gr, "f", a, &u, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(u.uid, 33);
    ck_assert_int_eq(u.gid, 33);
    ck_assert_int_eq(u.n_additional_gids, 3); /* daemon, staff, users; not www, its own */
    ck_assert_int_eq(u.additional_gids[0], 1);
    ck_assert_int_eq(u.additional_gids[1], 50);
    ck_assert_int_eq(u.additional_gids[2], 100);
    q = (cs_user){.has_uid = true, .uid = 4000}; /* unknown uid: gid 0, no groups */
    ck_assert_int_eq(ctrd_spec_resolve_user(&q, pw, gr, "f", a, &u, &err), 0);
    ck_assert_int_eq(u.uid, 4000);
    ck_assert_int_eq(u.gid, 0);
    ck_assert_int_eq(u.n_additional_gids, 0);
    q = (cs_user){.name = "nobody", .group = "audio"};
    ck_assert_int_eq(ctrd_spec_resolve_user(&q, pw, gr, "f", a, &u, &err), 0);
    ck_assert_int_eq(u.uid, 65534);
    ck_assert_int_eq(u.gid, 29);
    ck_assert_int_eq(u.n_additional_gids, 1);
    q = (cs_user){.name = "nobody", .group = "video"};
    ck_assert_int_eq(ctrd_spec_resolve_user(&q, pw, gr, "image config User", a, &u, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    ck_assert_str_eq(err.msg, "image config User: no group video in the image's /etc/group");
    q = (cs_user){.name = "root"}; /* no files at all: a name can't resolve */
    ck_assert_int_eq(ctrd_spec_resolve_user(&q, NULL, NULL, "f", a, &u, &err), -1);
    q = (cs_user){0}; /* no user: root */
    ck_assert_int_eq(ctrd_spec_resolve_user(&q, NULL, NULL, "f", a, &u, &err), 0);
    ck_assert_int_eq(u.uid + u.gid, 0);
    free(pw);
    free(gr);
    cs_arena_free(a);
}
END_TEST

START_TEST(localhost_seccomp)
{
    fx f;
    fx_init(&f);
    char *profile = slurp("localhost-seccomp.json");
    f.c.security.seccomp = (cs_profile){.type = CS_PROFILE_LOCALHOST, .ref = "/var/lib/kubelet/seccomp/p.json",
                                        .content = profile};
    f.c.security.apparmor = (cs_profile){.type = CS_PROFILE_LOCALHOST, .ref = "my-profile"};
    f.in.apparmor_default = "crishim-default";
    expect_fixture("seccomp-localhost.json", gen_container(&f));

    f.c.security.seccomp.content = "[1,2]";
    expect_container_error(&f, CS_ERR_INVALID, "config.linux.security_context.seccomp");
    free(profile);
    fx_free(&f);
}
END_TEST

START_TEST(args_rule)
{
    fx f;
    fx_init(&f);
    const char *ep[] = {"/entry"}, *cmd[] = {"a", "b"}, *ccmd[] = {"/bin/echo"}, *cargs[] = {"hi"};
    f.img.entrypoint = ep;
    f.img.n_entrypoint = 1;
    f.img.cmd = cmd;
    f.img.n_cmd = 2;
    char *json = gen_container(&f);
    ck_assert_msg(strstr(json, "\"args\":[\"/entry\",\"a\",\"b\"]") != NULL, "%s", json);
    f.c.args = (cs_strs){cargs, 1}; /* CRI args replace cmd */
    json = gen_container(&f);
    ck_assert_msg(strstr(json, "\"args\":[\"/entry\",\"hi\"]") != NULL, "%s", json);
    f.c.args.n = 0;
    f.c.command = (cs_strs){ccmd, 1}; /* CRI command replaces the entrypoint and drops cmd */
    json = gen_container(&f);
    ck_assert_msg(strstr(json, "\"args\":[\"/bin/echo\"]") != NULL, "%s", json);
    /* no pod hostname: HOSTNAME is this host's */
    f.in.facts.hostname = NULL;
    f.sb.hostname = "";
    char host[256] = "";
    ck_assert_int_eq(gethostname(host, sizeof host - 1), 0);
    json = gen_container(&f);
    char want[300];
    snprintf(want, sizeof want, "\"HOSTNAME=%s\"", host);
    ck_assert_msg(strstr(json, want) != NULL, "%s", json);
    f.c.command.n = 0;
    f.img.n_entrypoint = f.img.n_cmd = 0;
    expect_container_error(&f, CS_ERR_INVALID, "config.command");
    fx_free(&f);
}
END_TEST

START_TEST(cgroups_paths)
{
    cs_arena *a = cs_arena_new();
    ck_assert_str_eq(ctrd_spec_cgroups_path(CS_CGROUP_CGROUPFS, "/kubepods/pod1", "c1", a), "/kubepods/pod1/c1");
    ck_assert_str_eq(ctrd_spec_cgroups_path(CS_CGROUP_CGROUPFS, "kubepods/", "c1", a), "/kubepods/c1");
    ck_assert_str_eq(ctrd_spec_cgroups_path(CS_CGROUP_CGROUPFS, NULL, "c1", a), "/c1");
    ck_assert_str_eq(ctrd_spec_cgroups_path(CS_CGROUP_SYSTEMD, "/kubepods.slice/kubepods-pod1.slice", "c1", a),
                     "kubepods-pod1.slice:cri-containerd:c1");
    ck_assert_str_eq(ctrd_spec_cgroups_path(CS_CGROUP_SYSTEMD, "", "c1", a), "system.slice:cri-containerd:c1");
    cs_arena_free(a);
}
END_TEST

/* ---- sandboxes ---- */

static const char *pause_ep[] = {"/pause"};

static char *gen_sandbox(fx *f)
{
    f->img = (mf_image_config){.entrypoint = pause_ep, .n_entrypoint = 1};
    f->in.id = "sb1";
    f->in.container = NULL;
    f->in.facts.netns_path = f->sb.net == CS_NS_NODE ? NULL : "/var/run/netns/cni-1234";
    cs_security_decide_sandbox(&f->sb.security, &f->host, f->a, &f->pol);
    char *json;
    cs_error err;
    ck_assert_msg(ctrd_spec_sandbox(&f->in, f->a, &json, &err) == 0, "%s", err.msg);
    return json;
}

START_TEST(sandbox_pod_network)
{
    fx f;
    fx_init(&f);
    cs_kv sysctls[] = {{"net.ipv4.ip_unprivileged_port_start", "0"}};
    f.sb.sysctls = (cs_kvs){sysctls, 1};
    f.sb.log_directory = "/var/log/pods/default_web_uid-1";
    expect_fixture("sandbox.json", gen_sandbox(&f));
    f.host.can_lower_oom = true;
    char *json = gen_sandbox(&f);
    ck_assert_msg(strstr(json, "\"oomScoreAdj\":-998") != NULL, "%s", json);
    fx_free(&f);
}
END_TEST

START_TEST(sandbox_host_network)
{
    fx f;
    fx_init(&f);
    f.sb.net = CS_NS_NODE;
    f.sb.security.has_user = true;
    f.sb.security.user = 65535;
    f.sb.security.seccomp.type = CS_PROFILE_UNCONFINED;
    expect_fixture("sandbox-hostnet.json", gen_sandbox(&f));

    f.img.n_entrypoint = 0;
    char *json;
    cs_error err;
    ck_assert_int_eq(ctrd_spec_sandbox(&f.in, f.a, &json, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    fx_free(&f);
}
END_TEST

/* ---- real runc ---- */

static int run(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void put(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    fputs(text, fp);
    fclose(fp);
}

/* Builds a busybox bundle in a temp dir: the rootfs, the passwd/group
 * fixture in it, and the sandbox's files. */
static char *make_bundle(fx *f)
{
    char *dir = cs_arena_strdup(f->a, "/tmp/crishim-spec-XXXXXX");
    ck_assert(mkdtemp(dir) != NULL);
    char *sh = cs_arena_printf(
        f->a,
        "set -e; cd %s; mkdir -p rootfs/bin rootfs/etc rootfs/mnt rootfs/proc rootfs/sys rootfs/dev files state; "
        "cp /bin/busybox rootfs/bin/; for t in sh id test touch mount echo true unshare; do "
        "ln -s busybox rootfs/bin/$t; done; "
        "cp %s/spec/passwd %s/spec/group rootfs/etc/; echo nameserver 127.0.0.1 > files/resolv.conf; "
        "echo 127.0.0.1 localhost > files/hosts; echo web-host > files/hostname; mkdir files/shm",
        dir, CS_FIXTURES, CS_FIXTURES);
    ck_assert_int_eq(run(sh), 0);
    f->in.facts.resolv_path = cs_arena_printf(f->a, "%s/files/resolv.conf", dir);
    f->in.facts.hosts_path = cs_arena_printf(f->a, "%s/files/hosts", dir);
    f->in.facts.hostname_path = cs_arena_printf(f->a, "%s/files/hostname", dir);
    f->in.facts.shm_path = cs_arena_printf(f->a, "%s/files/shm", dir);
    f->sb.cgroup_parent = "/crishim-test-spec";
    return dir;
}

/* `runc run` of config.json in dir as container id; its exit code, its
 * output in *out. Removes the bundle and the cgroups after. */
static int runc_run(fx *f, const char *dir, const char *id, const char *json, char **out)
{
    put(cs_arena_printf(f->a, "%s/config.json", dir), json);
    int rc = run(cs_arena_printf(f->a, "runc --root %s/state run --bundle %s %s </dev/null >%s/out 2>&1", dir, dir,
                                 id, dir));
    FILE *fp = fopen(cs_arena_printf(f->a, "%s/out", dir), "r");
    char *buf = cs_arena_alloc(f->a, 4096);
    size_t n = fp ? fread(buf, 1, 4095, fp) : 0;
    buf[n] = '\0';
    if (fp)
        fclose(fp);
    *out = buf;
    run(cs_arena_printf(f->a, "runc --root %s/state delete -f %s >/dev/null 2>&1; rm -rf %s; "
                              "rmdir /sys/fs/cgroup/*/crishim-test-spec/%s /sys/fs/cgroup/*/crishim-test-spec "
                              "2>/dev/null; true",
                        dir, id, dir, id));
    return rc;
}

static bool runc_usable(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_spec: runc tests skipped: not root\n");
        return false;
    }
    if (run("command -v runc >/dev/null") != 0 || access("/bin/busybox", X_OK) != 0) {
        fprintf(stderr, "test_spec: runc tests skipped: no runc or no /bin/busybox\n");
        return false;
    }
    return true;
}

/* A container spec as generated (default seccomp, default caps, masked
 * paths, a user from the image's passwd, the sandbox's files read-only, a
 * device, resources), but in namespaces of its own: there is no pause
 * process to join, so the joined ones are made new. */
START_TEST(runc_runs_container_spec)
{
    if (!runc_usable())
        return;
    fx f;
    fx_init(&f);
    char *dir = make_bundle(&f);
    f.in.id = cs_arena_printf(f.a, "crishim-spec-c-%d", (int)getpid());
    f.c.security.seccomp.type = CS_PROFILE_RUNTIME_DEFAULT;
    f.c.security.username = "www";
    f.c.security.readonly_rootfs = true;
    const char *cmd[] = {"/bin/sh", "-c",
                         "test \"$(id -u):$(id -g)\" = 33:33 && test -c /dev/mynull && test -d /dev/shm && "
                         "test -r /etc/resolv.conf && ! touch /etc/hosts 2>/dev/null && "
                         "! unshare -n true 2>/dev/null && echo ok > /dev/mynull"};
    f.c.command = (cs_strs){cmd, 3};
    cs_device dev[] = {{.container_path = "/dev/mynull", .host_path = "/dev/null"}};
    f.c.devices = dev;
    f.c.n_devices = 1;
    f.c.has_resources = true;
    f.c.resources = (cs_resources){.cpu_shares = 512, .memory_limit = 64 << 20};
    char *json = gen_container(&f);
    const char *types[] = {"pid", "ipc", "uts", "net"};
    for (size_t i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof path, ",\"path\":\"/proc/4242/ns/%s\"", types[i]);
        char *p = strstr(json, path);
        ck_assert_msg(p != NULL, "%s", path);
        memmove(p, p + strlen(path), strlen(p + strlen(path)) + 1);
    }
    char *out;
    int rc = runc_run(&f, dir, f.in.id, json, &out);
    ck_assert_msg(rc == 0, "runc exited %d: %s\nspec: %s", rc, out, json);

    /* and the check itself fails when it should: root is not uid 33 */
    fx g;
    fx_init(&g);
    dir = make_bundle(&g);
    g.in.id = cs_arena_printf(g.a, "crishim-spec-n-%d", (int)getpid());
    const char *fail[] = {"/bin/sh", "-c", "test \"$(id -u)\" = 33"};
    g.c.command = (cs_strs){fail, 3};
    g.sb.net = g.sb.ipc = g.sb.pid = CS_NS_NODE;
    g.c.pid = CS_NS_CONTAINER;
    json = gen_container(&g);
    rc = runc_run(&g, dir, g.in.id, json, &out);
    ck_assert_msg(rc == 1, "runc exited %d: %s", rc, out);
    fx_free(&g);
    fx_free(&f);
}
END_TEST

/* A privileged container with this host's real capabilities and devices,
 * on the host's namespaces (pid, ipc, net) but its own mount namespace. */
START_TEST(runc_runs_privileged_spec)
{
    if (!runc_usable())
        return;
    fx f;
    fx_init(&f);
    char *dir = make_bundle(&f);
    cs_security_host_probe(0, &f.host);
    f.in.id = cs_arena_printf(f.a, "crishim-spec-p-%d", (int)getpid());
    f.c.security.privileged = true;
    f.in.host_dev_root = "/dev";
    f.sb.net = f.sb.ipc = f.sb.pid = CS_NS_NODE;
    f.c.pid = CS_NS_NODE;
    const char *cmd[] = {"/bin/sh", "-c", "test -c /dev/null && test -c /dev/zero && echo ok > /dev/null"};
    f.c.command = (cs_strs){cmd, 3};
    char *json = gen_container(&f);
    char *out;
    int rc = runc_run(&f, dir, f.in.id, json, &out);
    ck_assert_msg(rc == 0, "runc exited %d: %s\nspec: %s", rc, out, json);
    fx_free(&f);
}
END_TEST

/* The host-network sandbox spec as generated, its pause replaced by true
 * (the pod-network one needs a netns to join). */
START_TEST(runc_runs_sandbox_spec)
{
    if (!runc_usable())
        return;
    fx f;
    fx_init(&f);
    char *dir = make_bundle(&f);
    f.sb.net = CS_NS_NODE;
    const char *t[] = {"/bin/true"};
    f.in.id = cs_arena_printf(f.a, "crishim-spec-s-%d", (int)getpid());
    cs_security_decide_sandbox(&f.sb.security, &f.host, f.a, &f.pol);
    f.img = (mf_image_config){.entrypoint = t, .n_entrypoint = 1};
    f.in.container = NULL;
    char *json;
    cs_error err;
    ck_assert_msg(ctrd_spec_sandbox(&f.in, f.a, &json, &err) == 0, "%s", err.msg);
    char *out;
    int rc = runc_run(&f, dir, f.in.id, json, &out);
    ck_assert_msg(rc == 0, "runc exited %d: %s\nspec: %s", rc, out, json);
    fx_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spec");
    TCase *tc = tcase_create("container");
    tcase_add_test(tc, default_busybox);
    tcase_add_test(tc, privileged);
    tcase_add_test(tc, mounts);
    tcase_add_test(tc, devices);
    tcase_add_test(tc, resources);
    tcase_add_test(tc, negative_oom_raised);
    tcase_add_test(tc, host_namespaces);
    tcase_add_test(tc, run_as_username);
    tcase_add_test(tc, resolve_user);
    tcase_add_test(tc, localhost_seccomp);
    tcase_add_test(tc, args_rule);
    tcase_add_test(tc, cgroups_paths);
    suite_add_tcase(s, tc);
    TCase *sb = tcase_create("sandbox");
    tcase_add_test(sb, sandbox_pod_network);
    tcase_add_test(sb, sandbox_host_network);
    suite_add_tcase(s, sb);
    TCase *rc = tcase_create("runc");
    tcase_set_timeout(rc, 60);
    tcase_add_test(rc, runc_runs_container_spec);
    tcase_add_test(rc, runc_runs_privileged_spec);
    tcase_add_test(rc, runc_runs_sandbox_spec);
    suite_add_tcase(s, rc);
    return tc_run_suite(s, false);
}
