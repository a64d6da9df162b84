/* CNI with the real Debian plugins (bridge, host-local, portmap, loopback)
 * and real network namespaces (src/containerd/netns.c, cni.c): ADD gives
 * the pod an address in its own bridge's subnet that answers from the host,
 * a hostPort reaches a listener inside the namespace, CHECK passes, DEL
 * removes the iptables rules and the IPAM allocation and is idempotent, also
 * after the namespace is gone; removing the namespace leaves no mount. Needs
 * root, no engine: the bridge (cstcni<pid>) and a free 10.214.x.0/24 subnet
 * are this test's own, and all traffic stays on them. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "containerd/cni.h"
#include "containerd/netns.h"
#include "suite.h"

#define CONTAINER_PORT 8080
#define NSFS_MAGIC 0x6e736673

static char tmp[256], confdir[300], nsdir[300], ipamdir[300], bridge[32], prefix[32], netname[32];
static int host_port;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* A /24 under 10.214 that no address or route on the host uses. */
static int pick_subnet(void)
{
    for (int i = 0; i < 256; i++) {
        int x = ((int)getpid() + i) % 256;
        if (sh("ip -4 -o addr show | grep -q ' inet 10\\.214\\.%d\\.' || "
               "[ -n \"$(ip -4 route show 10.214.%d.0/24)\" ]",
               x, x) != 0)
            return x;
    }
    return -1;
}

static bool port_free(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    bool ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static void write_conf(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/crishim-cni-it-%d", (int)getpid());
    snprintf(confdir, sizeof confdir, "%s/net.d", tmp);
    snprintf(nsdir, sizeof nsdir, "%s/netns", tmp); /* made by ctrd_netns_create */
    snprintf(ipamdir, sizeof ipamdir, "%s/ipam", tmp);
    ck_assert_int_eq(sh("rm -rf '%s' && mkdir -p '%s'", tmp, confdir), 0);
    snprintf(bridge, sizeof bridge, "cstcni%d", (int)getpid());
    snprintf(netname, sizeof netname, "cstnet%d", (int)getpid());
    int x = pick_subnet();
    ck_assert_int_ge(x, 0);
    snprintf(prefix, sizeof prefix, "10.214.%d.", x);
    host_port = 0;
    for (int i = 0; i < 1000 && !host_port; i++) {
        int p = 30000 + ((int)getpid() + i * 7) % 20000;
        if (port_free(p))
            host_port = p;
    }
    ck_assert_int_ne(host_port, 0);
    char conf[2048];
    snprintf(conf, sizeof conf,
             "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\",\"plugins\":["
             "{\"type\":\"bridge\",\"bridge\":\"%s\",\"isGateway\":true,\"ipMasq\":false,\"hairpinMode\":true,"
             "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.214.%d.0/24\"}]],"
             "\"dataDir\":\"%s\"}},"
             "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}]}",
             netname, bridge, x, ipamdir);
    write_conf(confdir, "10-test.conflist", conf);
    write_conf(confdir, "20-later.conflist", "{\"this\": is not read");
}

static void teardown(void)
{
    /* after a failed assertion: namespaces still mounted, the bridge */
    sh("for f in '%s'/*; do [ -e \"$f\" ] && umount -l \"$f\"; done 2>/dev/null; true", nsdir);
    sh("ip link del '%s' 2>/dev/null", bridge);
    sh("rm -rf '%s'", tmp);
}

static bool mounted(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -q ' %s ' /proc/self/mountinfo", path);
    return system(cmd) == 0;
}

static bool nat_rules_for(const char *id)
{
    return sh("iptables-save -t nat | grep -q '%s'", id) == 0;
}

static bool ipam_has(const char *ip)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", ipamdir, netname, ip);
    return access(path, F_OK) == 0;
}

/* ---- a listener inside the namespace ---- */

typedef struct listener {
    const char *netns;
    int accepts;
    int ready[2];
    pthread_t t;
    char err[256];
} listener;

static void *listen_thread(void *arg)
{
    listener *l = arg;
    char ok = 0;
    int fd = open(l->netns, O_RDONLY | O_CLOEXEC), s = -1;
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        snprintf(l->err, sizeof l->err, "setns %s: %s", l->netns, strerror(errno));
        goto out;
    }
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(CONTAINER_PORT)};
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 8) != 0) {
        snprintf(l->err, sizeof l->err, "listen: %s", strerror(errno));
        goto out;
    }
    ok = 1;
    (void)!write(l->ready[1], &ok, 1);
    for (int i = 0; i < l->accepts; i++) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 20000) != 1)
            break;
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
            (void)!write(c, "pong", 4);
            close(c);
        }
    }
out:
    if (!ok)
        (void)!write(l->ready[1], &ok, 1);
    if (s >= 0)
        close(s);
    if (fd >= 0)
        close(fd);
    return NULL; /* the thread, and its namespace membership, end here */
}

static void listener_start(listener *l, const char *netns, int accepts)
{
    memset(l, 0, sizeof *l);
    l->netns = netns;
    l->accepts = accepts;
    ck_assert_int_eq(pipe(l->ready), 0);
    ck_assert_int_eq(pthread_create(&l->t, NULL, listen_thread, l), 0);
    char ok = 0;
    ck_assert_int_eq(read(l->ready[0], &ok, 1), 1);
    ck_assert_msg(ok, "listener in %s: %s", netns, l->err);
}

static void listener_join(listener *l)
{
    pthread_join(l->t, NULL);
    close(l->ready[0]);
    close(l->ready[1]);
}

/* Connects to ip:port from the host and reads the listener's "pong". */
static bool pong(const char *ip, int port, char *why, size_t n)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    char buf[8] = {0};
    bool ok = false;
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        snprintf(why, n, "connect %s:%d: %s", ip, port, strerror(errno));
    else if (read(s, buf, 4) != 4 || memcmp(buf, "pong", 4) != 0)
        snprintf(why, n, "read from %s:%d: %s", ip, port, strerror(errno));
    else
        ok = true;
    close(s);
    return ok;
}

/* ---- the tests ---- */

static ctrd_cni *load(const char *dir)
{
    ctrd_cni *c = NULL;
    cs_error err = {0};
    ck_assert_msg(ctrd_cni_load(dir, NULL, &c, &err) == 0, "load: %s", err.msg);
    return c;
}

static char *make_netns(void)
{
    char *path = NULL;
    cs_error err = {0};
    ck_assert_msg(ctrd_netns_create(nsdir, &path, &err) == 0, "netns: %s", err.msg);
    struct statfs st;
    ck_assert_int_eq(statfs(path, &st), 0);
    ck_assert_msg(st.f_type == NSFS_MAGIC, "%s is not a namespace file", path);
    ck_assert(mounted(path));
    return path;
}

static void remove_netns(const char *path)
{
    cs_error err = {0};
    ck_assert_msg(ctrd_netns_remove(path, &err) == 0, "netns remove: %s", err.msg);
    ck_assert(!mounted(path));
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_msg(ctrd_netns_remove(path, &err) == 0, "netns remove again: %s", err.msg);
}

START_TEST(pod_network_lifecycle)
{
    ctrd_cni *c = load(confdir);
    ck_assert(ctrd_cni_ready(c));
    char *ns = make_netns();
    char id[64];
    snprintf(id, sizeof id, "cnitest%dlifecycle", (int)getpid());
    ctrd_cni_port ports[] = {{.host_port = host_port, .container_port = CONTAINER_PORT, .protocol = "tcp"}};
    ctrd_cni_pod pod = {.id = id, .netns = ns, .name = "web", .namespace = "default", .uid = "uid-1",
                        .ports = ports, .n_ports = 1};
    cs_arena *a = cs_arena_new();
    ctrd_cni_result r;
    cs_error err = {0};
    ck_assert_msg(ctrd_cni_add(c, &pod, a, &r, &err) == 0, "ADD: %s", err.msg);
    ck_assert_ptr_nonnull(r.ip);
    ck_assert_msg(strncmp(r.ip, prefix, strlen(prefix)) == 0, "pod IP %s not in %s0/24", r.ip, prefix);
    ck_assert_msg(ipam_has(r.ip), "host-local has no file for %s under %s", r.ip, ipamdir);
    ck_assert_msg(nat_rules_for(id), "no portmap rules for %s", id);
    ck_assert_ptr_nonnull(strstr(r.json, "\"ips\""));

    /* the pod answers on its address, and through the hostPort on 127.0.0.1
     * (portmap DNATs locally generated traffic and sets route_localnet) */
    listener l;
    listener_start(&l, ns, 2);
    char why[256] = "";
    ck_assert_msg(pong(r.ip, CONTAINER_PORT, why, sizeof why), "pod IP: %s", why);
    ck_assert_msg(pong("127.0.0.1", host_port, why, sizeof why), "hostPort %d via 127.0.0.1: %s", host_port, why);
    listener_join(&l);

    /* CHECK with the stored result, as after a crishim restart (a copy).
     * Debian's portmap 1.1.1 fails CHECK on an IPv4-only pod wherever
     * ip6tables exists (it looks for an IPv6 DNAT chain ADD never made:
     * containernetworking/plugins#819); bridge, host-local and loopback
     * must pass, and check_without_portmap proves a whole list passing. */
    char *stored = strdup(r.json);
    if (ctrd_cni_check(c, &pod, stored, &err) != 0)
        ck_assert_msg(strstr(err.msg, "cni plugin portmap CHECK failed: could not check ipv6 dnat"), "CHECK: %s",
                      err.msg);

    ck_assert_msg(ctrd_cni_del(c, &pod, stored, &err) == 0, "DEL: %s", err.msg);
    ck_assert_msg(!nat_rules_for(id), "portmap rules for %s left after DEL", id);
    ck_assert_msg(!ipam_has(r.ip), "host-local still holds %s after DEL", r.ip);
    ck_assert_msg(ctrd_cni_del(c, &pod, stored, &err) == 0, "second DEL: %s", err.msg);

    remove_netns(ns);
    ck_assert_msg(ctrd_cni_del(c, &pod, stored, &err) == 0, "DEL after the netns is gone: %s", err.msg);
    ck_assert_msg(ctrd_cni_del(c, &pod, NULL, &err) == 0, "DEL without a stored result: %s", err.msg);
    free(stored);
    free(ns);
    cs_arena_free(a);
    ctrd_cni_free(c);
}
END_TEST

/* A pod whose namespace vanished before DEL (a crash, a reboot): DEL still
 * releases the address and the host's port rules. */
START_TEST(del_after_netns_gone)
{
    ctrd_cni *c = load(confdir);
    char *ns = make_netns();
    char id[64];
    snprintf(id, sizeof id, "cnitest%dhalfmade", (int)getpid());
    ctrd_cni_port ports[] = {{.host_port = host_port, .container_port = CONTAINER_PORT, .protocol = "tcp"}};
    ctrd_cni_pod pod = {.id = id, .netns = ns, .name = "half", .namespace = "default", .uid = "uid-2",
                        .ports = ports, .n_ports = 1};
    cs_arena *a = cs_arena_new();
    ctrd_cni_result r;
    cs_error err = {0};
    ck_assert_msg(ctrd_cni_add(c, &pod, a, &r, &err) == 0, "ADD: %s", err.msg);
    ck_assert(ipam_has(r.ip));
    ck_assert(nat_rules_for(id));
    remove_netns(ns);
    ck_assert_msg(ctrd_cni_del(c, &pod, r.json, &err) == 0, "DEL: %s", err.msg);
    ck_assert_msg(!ipam_has(r.ip), "host-local still holds %s", r.ip);
    ck_assert_msg(!nat_rules_for(id), "portmap rules for %s left", id);
    ck_assert_msg(ctrd_cni_del(c, &pod, r.json, &err) == 0, "second DEL: %s", err.msg);
    free(ns);
    cs_arena_free(a);
    ctrd_cni_free(c);
}
END_TEST

/* CHECK passes on a list whose plugins implement it correctly. */
START_TEST(check_without_portmap)
{
    char dir[400], conf[1024];
    snprintf(dir, sizeof dir, "%s/plain.d", tmp);
    ck_assert_int_eq(sh("mkdir -p '%s'", dir), 0);
    snprintf(conf, sizeof conf,
             "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\",\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"%s\","
             "\"isGateway\":true,\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"%s0/24\"}]],"
             "\"dataDir\":\"%s\"}}]}",
             netname, bridge, prefix, ipamdir);
    write_conf(dir, "10-plain.conflist", conf);
    ctrd_cni *c = load(dir);
    char *ns = make_netns();
    char id[64];
    snprintf(id, sizeof id, "cnitest%dcheck", (int)getpid());
    ctrd_cni_pod pod = {.id = id, .netns = ns, .name = "chk", .namespace = "default", .uid = "uid-3"};
    cs_arena *a = cs_arena_new();
    ctrd_cni_result r;
    cs_error err = {0};
    ck_assert_msg(ctrd_cni_add(c, &pod, a, &r, &err) == 0, "ADD: %s", err.msg);
    ck_assert_msg(ctrd_cni_check(c, &pod, r.json, &err) == 0, "CHECK: %s", err.msg);
    ck_assert_msg(ctrd_cni_del(c, &pod, r.json, &err) == 0, "DEL: %s", err.msg);
    ck_assert(!ipam_has(r.ip));
    /* CHECK now fails: the interface is gone */
    ck_assert_int_eq(ctrd_cni_check(c, &pod, r.json, &err), -1);
    remove_netns(ns);
    free(ns);
    cs_arena_free(a);
    ctrd_cni_free(c);
}
END_TEST

/* A plugin's own error reaches the caller, naming the plugin. */
START_TEST(plugin_error_is_reported)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/bad.d", tmp);
    ck_assert_int_eq(sh("mkdir -p '%s'", dir), 0);
    char conf[512];
    snprintf(conf, sizeof conf,
             "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\",\"type\":\"bridge\",\"bridge\":\"%s\","
             "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"not-a-subnet\"}]],\"dataDir\":\"%s\"}}",
             netname, bridge, ipamdir);
    write_conf(dir, "10-bad.conf", conf);
    ctrd_cni *c = load(dir);
    char *ns = make_netns();
    ctrd_cni_pod pod = {.id = "cnitestbad", .netns = ns};
    cs_arena *a = cs_arena_new();
    ctrd_cni_result r;
    cs_error err = {0};
    ck_assert_int_eq(ctrd_cni_add(c, &pod, a, &r, &err), -1);
    ck_assert_msg(strstr(err.msg, "cni plugin bridge ADD failed") && strstr(err.msg, "not-a-subnet"), "%s",
                  err.msg);
    /* the same config cannot DEL either, and says so the same way */
    ck_assert_int_eq(ctrd_cni_del(c, &pod, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "cni plugin bridge DEL failed"), "%s", err.msg);
    remove_netns(ns);
    free(ns);
    cs_arena_free(a);
    ctrd_cni_free(c);
}
END_TEST

int main(void)
{
    if (getuid() != 0) {
        fprintf(stderr, "test_cni: skipped: needs root (network namespaces, bridges, iptables)\n");
        return 77;
    }
    if (access("/usr/lib/cni/bridge", X_OK) != 0) {
        fprintf(stderr, "test_cni: skipped: no CNI plugins in /usr/lib/cni (containernetworking-plugins)\n");
        return 77;
    }
    Suite *s = suite_create("cni");
    TCase *tc = tcase_create("cni");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, pod_network_lifecycle);
    tcase_add_test(tc, del_after_netns_gone);
    tcase_add_test(tc, check_without_portmap);
    tcase_add_test(tc, plugin_error_is_reported);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
