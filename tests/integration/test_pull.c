/* PullImage on the containerd backend, end to end through the daemon
 * (issue #11's acceptance): the image references point at the test proxy
 * (tests/support/regproxy.c, run in this process in front of the open test
 * registry), which counts blob GETs and bytes, throttles, stalls and plays a
 * Bearer realm. Eight concurrent pulls of one image fetch each blob once; a
 * SIGKILLed crishim resumes the layer it was downloading from where the
 * content store stopped; a slow but moving layer completes past
 * --pull-progress-timeout while a stall fails after it naming the blob; the
 * token forms of CRI's AuthConfig; a manifest list and an OCI index. On
 * Docker it skips: the engine's own pull does this work there. */
#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "client.h"
#include "containerd/manifest.h"
#include "containerd/registry.h"
#include "regproxy.h"
#include "runtime/v1/api.pb-c.h"
#include "util/base64.h"
#include "util/time.h"

#define IMG(m) "/runtime.v1.ImageService/" m
#define MIB (1024LL * 1024)

static tc_daemon crishim;
#define client (crishim.client)

static rp_proxy *proxy;
static char proxy_host[64];
static char big_ref[160];          /* crishim/big:1.0 through the proxy */
static reg_desc big_layer, big_cfg; /* its one 64 MiB layer and its config (the image id) */

/* ---- the daemon: a 2 s progress timeout for the whole suite ---- */

static void start_daemon(void)
{
    tc_daemon_up(&crishim, "pull", "--pull-progress-timeout=2");
}

static void stop_daemon(void)
{
    tc_daemon_down(&crishim);
}

static void proxy_defaults(void)
{
    rp_set_bearer(proxy, false);
    rp_set_redirect(proxy, false);
    rp_set_throttle(proxy, 0, 0);
    rp_set_stall_after(proxy, -1);
    rp_set_ignore_range(proxy, false);
    rp_set_blob_delay(proxy, 0);
    rp_reset_stats(proxy);
}

/* ---- calls ---- */

static Runtime__V1__PullImageResponse *pull(const char *image, const Runtime__V1__AuthConfig *auth, tc_result *res)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    req.auth = (Runtime__V1__AuthConfig *)auth;
    ProtobufCMessage *resp = NULL;
    tc_unary(client, IMG("PullImage"), &req.base, &runtime__v1__pull_image_response__descriptor, &resp, 120000, res);
    return (Runtime__V1__PullImageResponse *)resp;
}

/* Pulls and checks the id the daemon answers. */
static void must_pull(const char *image, const Runtime__V1__AuthConfig *auth, const char *want_id)
{
    tc_result res;
    Runtime__V1__PullImageResponse *r = pull(image, auth, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "pull %s: %d %s", image, res.code, res.details);
    if (want_id)
        ck_assert_str_eq(r->image_ref, want_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* The id ImageStatus reports for image ("" when absent). */
static void status_id(const char *image, char *out, size_t cap)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    req.image = &spec;
    Runtime__V1__ImageStatusResponse *s = NULL;
    tc_result res;
    tc_unary(client, IMG("ImageStatus"), &req.base, &runtime__v1__image_status_response__descriptor,
             (ProtobufCMessage **)&s, 10000, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "status %s: %s", image, res.details);
    snprintf(out, cap, "%s", s->image ? s->image->id : "");
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

static void remove_image(const char *image)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
    req.image = &spec;
    tc_result res;
    tc_unary(client, IMG("RemoveImage"), &req.base, &runtime__v1__remove_image_response__descriptor, NULL, 30000,
             &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "remove %s: %s", image, res.details);
}

/* A pull lease left by a SIGKILLed crishim pins what it had stored for 24 h;
 * between tests the daemon is idle, so every pull lease is such a leftover.
 * Dropped here so the blob counts below do not depend on earlier runs. */
static void drop_stale_pull_leases(void)
{
    const char *addr = tc_need_env("CRISHIM_TEST_CONTAINERD_ADDRESS");
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "ctr --address '%s' -n crishim leases ls -q 2>/dev/null | grep '^crishim-pull-' | "
             "xargs -r ctr --address '%s' -n crishim leases rm >/dev/null 2>&1",
             addr, addr);
    if (system(cmd) != 0)
        fprintf(stderr, "test_pull: dropping stale leases failed (ignored)\n");
}

/* crishim/big gone from the daemon (every name) and its blobs from the store. */
static void big_absent(void)
{
    drop_stale_pull_leases();
    remove_image(big_cfg.digest);
    char id[128];
    status_id(big_ref, id, sizeof id);
    ck_assert_str_eq(id, "");
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct bg_pull {
    pthread_t t;
    const char *ref;
    tc_result res;
    char id[80];
} bg_pull;

static void *bg_pull_main(void *arg)
{
    bg_pull *b = arg;
    Runtime__V1__PullImageResponse *r = pull(b->ref, NULL, &b->res);
    if (r) {
        snprintf(b->id, sizeof b->id, "%s", r->image_ref);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return NULL;
}

/* ---- tests ---- */

/* Eight PullImage calls of one image at once: the registry sees one GET of
 * the layer and one of the config; every call answers the one id. */
START_TEST(eight_concurrent_pulls_fetch_each_blob_once)
{
    big_absent();
    rp_reset_stats(proxy);
    /* each blob body waits a little first, so the calls surely overlap */
    rp_set_blob_delay(proxy, 300);
    bg_pull p[8];
    memset(p, 0, sizeof p);
    for (int i = 0; i < 8; i++) {
        p[i].ref = big_ref;
        pthread_create(&p[i].t, NULL, bg_pull_main, &p[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(p[i].t, NULL);
    for (int i = 0; i < 8; i++) {
        ck_assert_msg(p[i].res.code == GRPC_STATUS_OK, "pull %d: %d %s", i, p[i].res.code, p[i].res.details);
        ck_assert_str_eq(p[i].id, big_cfg.digest);
    }
    ck_assert_msg(rp_blob_gets(proxy, big_layer.digest) == 1, "layer fetched %d times",
                  rp_blob_gets(proxy, big_layer.digest));
    ck_assert_msg(rp_blob_gets(proxy, big_cfg.digest) == 1, "config fetched %d times",
                  rp_blob_gets(proxy, big_cfg.digest));
    ck_assert_int_le(rp_blob_bytes(proxy, big_layer.digest), big_layer.size);
}
END_TEST

/* SIGKILL mid-layer, restart, pull again: the layer goes on from what the
 * content store kept (a Range request from there), the config is not asked
 * for again, and the image is whole with its id. */
START_TEST(killed_mid_pull_resumes_after_restart)
{
    big_absent();
    rp_reset_stats(proxy);
    rp_set_throttle(proxy, 512 * 1024, 50); /* about 10 MiB/s: 64 MiB take 6 s */
    bg_pull b = {.ref = big_ref};
    pthread_create(&b.t, NULL, bg_pull_main, &b);
    double t0 = tc_now_ms();
    while (rp_blob_bytes(proxy, big_layer.digest) < 8 * MIB && tc_now_ms() - t0 < 60000)
        sleep_ms(50);
    int64_t sent = rp_blob_bytes(proxy, big_layer.digest);
    ck_assert_msg(sent >= 8 * MIB && sent < big_layer.size, "layer bytes before the kill: %lld", (long long)sent);
    int st = tc_daemon_stop(crishim.pid, SIGKILL, 10000);
    crishim.pid = -1;
    ck_assert_msg(st >= 0 && WIFSIGNALED(st), "crishim did not die of SIGKILL (status %d)", st);
    pthread_join(b.t, NULL);
    ck_assert_msg(b.res.code != GRPC_STATUS_OK, "the pull finished before the kill");
    sent = rp_blob_bytes(proxy, big_layer.digest);
    tc_close(client);
    client = NULL;

    proxy_defaults();
    start_daemon();
    must_pull(big_ref, NULL, big_cfg.digest);
    char range[128];
    rp_last_range(proxy, range, sizeof range);
    long long from = -1;
    ck_assert_msg(sscanf(range, "bytes=%lld-", &from) == 1, "second pull's Range: \"%s\"", range);
    /* the store has what crishim wrote before it died: at most what was sent */
    ck_assert_msg(from >= 1 * MIB && from <= sent, "resumed from %lld of %lld sent", from, (long long)sent);
    ck_assert_int_eq(rp_blob_gets(proxy, big_layer.digest), 1);
    ck_assert_int_eq(rp_blob_bytes(proxy, big_layer.digest), big_layer.size - from);
    ck_assert_int_eq(rp_blob_gets(proxy, big_cfg.digest), 0);
    char id[128];
    status_id(big_ref, id, sizeof id);
    ck_assert_str_eq(id, big_cfg.digest);
    drop_stale_pull_leases();
}
END_TEST

/* 64 MiB at 2 MiB per 150 ms take longer than the 2 s progress timeout,
 * never silent that long: the pull completes. */
START_TEST(slow_moving_layer_outlasts_progress_timeout)
{
    big_absent();
    rp_reset_stats(proxy);
    rp_set_throttle(proxy, 2 * MIB, 150);
    double t0 = tc_now_ms();
    must_pull(big_ref, NULL, big_cfg.digest);
    double took = tc_now_ms() - t0;
    ck_assert_msg(took > 4000, "took only %.0f ms: not throttled?", took);
    ck_assert_int_eq(rp_blob_gets(proxy, big_layer.digest), 1);
    char id[128];
    status_id(big_ref, id, sizeof id);
    ck_assert_str_eq(id, big_cfg.digest);
}
END_TEST

/* A layer that stops mid-blob fails after the progress timeout with
 * DEADLINE_EXCEEDED naming the blob (crishim resumes a transfer that made
 * progress a few times first, so it takes some timeouts), and leaves no
 * image. */
START_TEST(stalled_layer_fails_naming_the_blob)
{
    big_absent();
    rp_reset_stats(proxy);
    rp_set_stall_after(proxy, 2 * MIB);
    double t0 = tc_now_ms();
    tc_result res;
    pull(big_ref, NULL, &res);
    double took = tc_now_ms() - t0;
    ck_assert_msg(res.code == GRPC_STATUS_DEADLINE_EXCEEDED, "got %d %s", res.code, res.details);
    ck_assert_msg(strstr(res.details, big_layer.digest) != NULL, "message does not name the layer: %s", res.details);
    ck_assert_msg(took >= 2000 && took < 60000, "failed after %.0f ms", took);
    char id[128];
    status_id(big_ref, id, sizeof id);
    ck_assert_str_eq(id, "");
}
END_TEST

/* The proxy's Bearer realm: anonymous and a wrong token are UNAUTHENTICATED;
 * username/password, `auth`, identity_token and registry_token pull. */
START_TEST(bearer_realm_every_auth_form)
{
    rp_set_bearer(proxy, true);
    char ref[200];
    snprintf(ref, sizeof ref, "%s/crishim/busybox:1.0", proxy_host);
    const char *want = tc_need_env("CRISHIM_TEST_IMG_BUSYBOX_ID");
    tc_result res;

    pull(ref, NULL, &res);
    ck_assert_msg(res.code == GRPC_STATUS_UNAUTHENTICATED, "anonymous: %d %s", res.code, res.details);
    Runtime__V1__AuthConfig bad = RUNTIME__V1__AUTH_CONFIG__INIT;
    bad.registry_token = "not-the-token";
    pull(ref, &bad, &res);
    ck_assert_msg(res.code == GRPC_STATUS_UNAUTHENTICATED, "wrong registry token: %d %s", res.code, res.details);

    Runtime__V1__AuthConfig up = RUNTIME__V1__AUTH_CONFIG__INIT;
    up.username = RP_USER;
    up.password = RP_PASS;
    must_pull(ref, &up, want);
    remove_image(ref);

    char *b64 = cs_base64_encode(RP_USER ":" RP_PASS, strlen(RP_USER ":" RP_PASS), false);
    Runtime__V1__AuthConfig a64 = RUNTIME__V1__AUTH_CONFIG__INIT;
    a64.auth = b64;
    a64.server_address = proxy_host;
    must_pull(ref, &a64, want);
    free(b64);
    remove_image(ref);

    Runtime__V1__AuthConfig id = RUNTIME__V1__AUTH_CONFIG__INIT;
    id.identity_token = RP_IDENTITY_TOKEN;
    must_pull(ref, &id, want);
    remove_image(ref);

    rp_reset_stats(proxy);
    Runtime__V1__AuthConfig rt = RUNTIME__V1__AUTH_CONFIG__INIT;
    rt.registry_token = RP_REGISTRY_TOKEN;
    must_pull(ref, &rt, want);
    ck_assert_int_eq(rp_token_requests(proxy), 0);
    remove_image(ref);
}
END_TEST

/* A Docker manifest list and an OCI index, by tag and by digest: each the
 * amd64 entry, the busybox image. */
START_TEST(list_and_index_resolve_to_amd64)
{
    const char *want = tc_need_env("CRISHIM_TEST_IMG_BUSYBOX_ID");
    const char *refs[] = {"CRISHIM_TEST_IMG_MULTI", "CRISHIM_TEST_IMG_MULTI_DIGEST", "CRISHIM_TEST_IMG_MULTI_OCI",
                          "CRISHIM_TEST_IMG_MULTI_OCI_DIGEST"};
    for (size_t i = 0; i < 4; i++) {
        const char *ref = tc_need_env(refs[i]);
        must_pull(ref, NULL, want);
        char id[128];
        status_id(ref, id, sizeof id);
        ck_assert_msg(!strcmp(id, want), "%s: status id %s, want %s", ref, id, want);
    }
    for (size_t i = 0; i < 4; i++)
        remove_image(tc_need_env(refs[i]));
}
END_TEST

/* ---- setup ---- */

/* The big image's layer and config, read from the open registry directly. */
static void read_big(const char *registry)
{
    reg_options o = {.progress_timeout_ms = 10000, .max_concurrent_downloads = 1, .insecure_hosts = registry};
    reg_client *c;
    cs_error err;
    if (reg_client_new(&o, &c, &err) != 0) {
        fprintf(stderr, "test_pull: %s\n", err.msg);
        exit(1);
    }
    char s[300];
    snprintf(s, sizeof s, "%s/crishim/big:1.0", registry);
    cs_imageref ref;
    cs_arena *a = cs_arena_new();
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 30000};
    reg_desc top;
    char *body;
    size_t len;
    mf_manifest m;
    if (cs_imageref_parse(s, &ref, &err) != 0 || reg_resolve(c, &ctx, &ref, NULL, &top, &err) != 0 ||
        reg_fetch_manifest(c, &ctx, &ref, NULL, &top, a, &body, &len, &err) != 0 ||
        mf_manifest_parse(body, len, a, &m, &err) != 0) {
        fprintf(stderr, "test_pull: reading %s: %s\n", s, err.msg);
        exit(1);
    }
    if (m.n_layers != 1 || m.layers[0].size < 60 * MIB) {
        fprintf(stderr, "test_pull: %s: want one layer of 64 MiB\n", s);
        exit(1);
    }
    big_layer = m.layers[0];
    big_cfg = m.config;
    cs_arena_free(a);
    reg_client_free(c);
}

int main(void)
{
    tc_skip_unless_backend("containerd", "Docker pulls images itself (dockerd's own puller), crishim's puller is "
                                         "the containerd backend's");
    const char *registry = tc_need_env("CRISHIM_TEST_REGISTRY");
    tc_need_env("CRISHIM_TEST_IMG_BIG");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    read_big(registry);
    proxy = rp_start(registry);
    if (!proxy)
        return 1;
    snprintf(proxy_host, sizeof proxy_host, "127.0.0.1:%d", rp_port(proxy));
    snprintf(big_ref, sizeof big_ref, "%s/crishim/big:1.0", proxy_host);

    Suite *s = suite_create("pull");
    TCase *tc = tcase_create("pull");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, start_daemon, stop_daemon);
    tcase_add_checked_fixture(tc, proxy_defaults, NULL);
    tcase_add_test(tc, eight_concurrent_pulls_fetch_each_blob_once);
    tcase_add_test(tc, killed_mid_pull_resumes_after_restart);
    tcase_add_test(tc, slow_moving_layer_outlasts_progress_timeout);
    tcase_add_test(tc, stalled_layer_fails_naming_the_blob);
    tcase_add_test(tc, bearer_realm_every_auth_form);
    tcase_add_test(tc, list_and_index_resolve_to_amd64);
    suite_add_tcase(s, tc);
    int rc = tc_run_suite(s, true);
    rp_stop(proxy);
    curl_global_cleanup();
    return rc;
}
