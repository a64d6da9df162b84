/* The registry client (src/containerd/registry.c) against the real test
 * registries of scripts/test-env.sh, called directly (no daemon, no engine):
 * tags, digests, a manifest list and an OCI index, NOT_FOUND, UNAVAILABLE,
 * every CRI auth form against the htpasswd registry and against a Bearer
 * realm, and, through the test proxy (tests/support/regproxy.c) in front of
 * the open registry: a throttled 64 MiB layer, a stall, resume from an
 * offset (with and without Range support), redirects to storage without
 * credentials, deadline and cancel, and the download slots. */
#include <check.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "containerd/manifest.h"
#include "containerd/registry.h"
#include "regproxy.h"
#include "util/base64.h"
#include "util/time.h"

static const char *open_reg, *auth_reg, *auth_user, *auth_pass;
static rp_proxy *proxy;
static char proxy_host[64], insecure[512];

/* ---- helpers ---- */

static reg_client *client_with(long progress_ms, int downloads)
{
    reg_options o = {.progress_timeout_ms = progress_ms, .max_concurrent_downloads = downloads,
                     .insecure_hosts = insecure};
    reg_client *c;
    cs_error err;
    ck_assert_msg(reg_client_new(&o, &c, &err) == 0, "%s", err.msg);
    return c;
}

static reg_client *client(void)
{
    return client_with(10000, 3);
}

static cs_ctx ctx_ms(int64_t ms)
{
    return (cs_ctx){.deadline_ms = cs_time_mono_ms() + ms};
}

static cs_imageref ref_of(const char *s)
{
    cs_imageref r;
    cs_error err;
    ck_assert_msg(cs_imageref_parse(s, &r, &err) == 0, "%s: %s", s, err.msg);
    return r;
}

static cs_imageref ref_at(const char *host, const char *rest)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", host, rest);
    return ref_of(buf);
}

/* "...@sha256:x" -> "sha256:x" */
static const char *digest_of(const char *ref)
{
    const char *at = strchr(ref, '@');
    ck_assert_ptr_nonnull(at);
    return at + 1;
}

typedef struct hash_sink {
    EVP_MD_CTX *md;
    int64_t n;
    int64_t abort_after; /* > 0: fail once this many bytes arrived */
    char *keep;          /* non-NULL: copy bytes here at keep_off + n */
    int64_t keep_off;
} hash_sink;

static void hash_init(hash_sink *h)
{
    memset(h, 0, sizeof *h);
    h->md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h->md, EVP_sha256(), NULL);
}

static void hash_final(hash_sink *h, char out[72])
{
    unsigned char md[32];
    unsigned int n;
    EVP_DigestFinal_ex(h->md, md, &n);
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

static int hash_write(void *user, const char *data, size_t len, cs_error *err)
{
    hash_sink *h = user;
    EVP_DigestUpdate(h->md, data, len);
    if (h->keep)
        memcpy(h->keep + h->keep_off + h->n, data, len);
    h->n += (int64_t)len;
    if (h->abort_after > 0 && h->n >= h->abort_after)
        return cs_error_set(err, CS_ERR_ABORTED, "test sink: enough after %lld bytes", (long long)h->n);
    return 0;
}

/* Resolves, fetches and parses the manifest of ref (an index: its amd64 entry). */
static void manifest_of(reg_client *c, const cs_imageref *ref, const cs_auth *auth, cs_arena *a, mf_manifest *m)
{
    cs_ctx ctx = ctx_ms(30000);
    cs_error err;
    reg_desc top;
    ck_assert_msg(reg_resolve(c, &ctx, ref, auth, &top, &err) == 0, "resolve: %s %s", cs_code_name(err.code),
                  err.msg);
    char *body;
    size_t len;
    ck_assert_msg(reg_fetch_manifest(c, &ctx, ref, auth, &top, a, &body, &len, &err) == 0, "manifest: %s", err.msg);
    if (mf_is_index(top.media_type)) {
        reg_desc d;
        ck_assert_msg(mf_index_select(body, len, "linux", "amd64", &d, &err) == 0, "%s", err.msg);
        ck_assert_msg(reg_fetch_manifest(c, &ctx, ref, auth, &d, a, &body, &len, &err) == 0, "%s", err.msg);
    }
    ck_assert_msg(mf_manifest_parse(body, len, a, m, &err) == 0, "%s", err.msg);
}

/* The biggest layer of ref. */
static reg_desc big_layer(reg_client *c, const cs_imageref *ref)
{
    cs_arena *a = cs_arena_new();
    mf_manifest m;
    manifest_of(c, ref, NULL, a, &m);
    reg_desc best = m.layers[0];
    for (size_t i = 1; i < m.n_layers; i++)
        if (m.layers[i].size > best.size)
            best = m.layers[i];
    cs_arena_free(a);
    return best;
}

/* Fetches blob d whole; checks its digest. */
static void fetch_check(reg_client *c, const cs_imageref *ref, const cs_auth *auth, const reg_desc *d)
{
    cs_ctx ctx = ctx_ms(60000);
    cs_error err;
    hash_sink h;
    hash_init(&h);
    int rc = reg_fetch_blob(c, &ctx, ref, auth, d, 0, hash_write, &h, &err);
    char got[72];
    hash_final(&h, got);
    ck_assert_msg(rc == 0, "blob %s: %s %s", d->digest, cs_code_name(err.code), err.msg);
    ck_assert_int_eq(h.n, d->size);
    ck_assert_str_eq(got, d->digest);
}

/* Resolve with auth; returns the code (0 for OK) and the message. */
static int resolve_code(reg_client *c, const cs_imageref *ref, const cs_auth *auth, cs_error *err)
{
    cs_ctx ctx = ctx_ms(30000);
    reg_desc d;
    return reg_resolve(c, &ctx, ref, auth, &d, err) == 0 ? 0 : (int)err->code;
}

static void expect_ok(reg_client *c, const cs_imageref *ref, const cs_auth *auth, const char *what)
{
    cs_error err;
    int code = resolve_code(c, ref, auth, &err);
    ck_assert_msg(code == 0, "%s: %s %s", what, cs_code_name((cs_code)code), err.msg);
}

static void expect_code(reg_client *c, const cs_imageref *ref, const cs_auth *auth, cs_code want,
                        const char *needle, const char *what)
{
    cs_error err;
    int code = resolve_code(c, ref, auth, &err);
    ck_assert_msg(code == (int)want, "%s: want %s, got %s (%s)", what, cs_code_name(want),
                  cs_code_name((cs_code)code), code ? err.msg : "");
    if (needle)
        ck_assert_msg(strstr(err.msg, needle) != NULL, "%s: \"%s\" does not mention %s", what, err.msg, needle);
}

/* ---- fixture ---- */

static void setup(void)
{
    rp_set_bearer(proxy, false);
    rp_set_redirect(proxy, false);
    rp_set_throttle(proxy, 0, 0);
    rp_set_stall_after(proxy, -1);
    rp_set_ignore_range(proxy, false);
    rp_set_blob_delay(proxy, 0);
    rp_reset_stats(proxy);
}

/* ---- tests ---- */

START_TEST(tag_digest_and_layers)
{
    reg_client *c = client();
    cs_imageref ref = ref_of(tc_need_env("CRISHIM_TEST_IMG_BUSYBOX"));
    const char *want = digest_of(tc_need_env("CRISHIM_TEST_IMG_BUSYBOX_DIGEST"));
    cs_ctx ctx = ctx_ms(30000);
    cs_error err;
    reg_desc top;
    ck_assert_msg(reg_resolve(c, &ctx, &ref, NULL, &top, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(top.media_type, MF_MANIFEST_DOCKER);
    ck_assert_str_eq(top.digest, want);
    ck_assert_int_gt(top.size, 0);

    cs_imageref by_digest = ref_of(tc_need_env("CRISHIM_TEST_IMG_BUSYBOX_DIGEST"));
    reg_desc top2;
    ck_assert_msg(reg_resolve(c, &ctx, &by_digest, NULL, &top2, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(top2.digest, want);
    ck_assert_int_eq(top2.size, top.size);

    cs_arena *a = cs_arena_new();
    mf_manifest m;
    manifest_of(c, &by_digest, NULL, a, &m);
    char *cfg;
    size_t len;
    ck_assert_msg(reg_fetch_blob_small(c, &ctx, &ref, NULL, &m.config, a, &cfg, &len, &err) == 0, "%s", err.msg);
    mf_image_config ic;
    ck_assert_msg(mf_config_parse(cfg, len, a, &ic, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(ic.n_diff_ids, m.n_layers);
    /* the image id is the config's digest */
    ck_assert_str_eq(m.config.digest, tc_need_env("CRISHIM_TEST_IMG_BUSYBOX_ID"));
    for (size_t i = 0; i < m.n_layers; i++)
        fetch_check(c, &ref, NULL, &m.layers[i]);
    /* a config whose digest does not match its bytes */
    reg_desc wrong = m.config;
    wrong.digest[10] ^= 1;
    ck_assert_int_eq(reg_fetch_blob_small(c, &ctx, &ref, NULL, &wrong, a, &cfg, &len, &err), -1);
    cs_arena_free(a);
    reg_client_free(c);
}
END_TEST

START_TEST(loopback_falls_back_to_http)
{
    /* no insecure_hosts: https first, then http, as containerd for localhost */
    reg_client *c;
    cs_error err;
    ck_assert_int_eq(reg_client_new(NULL, &c, &err), 0);
    cs_imageref ref = ref_of(tc_need_env("CRISHIM_TEST_IMG_BUSYBOX"));
    expect_ok(c, &ref, NULL, "loopback without insecure_hosts");
    expect_ok(c, &ref, NULL, "loopback, remembered as plain http");
    reg_client_free(c);
}
END_TEST

START_TEST(index_picks_amd64)
{
    reg_client *c = client();
    const char *want = digest_of(tc_need_env("CRISHIM_TEST_IMG_BUSYBOX_DIGEST"));
    const char *refs[] = {tc_need_env("CRISHIM_TEST_IMG_MULTI"), tc_need_env("CRISHIM_TEST_IMG_MULTI_OCI")};
    const char *types[] = {MF_INDEX_DOCKER, MF_INDEX_OCI};
    for (int i = 0; i < 2; i++) {
        cs_imageref ref = ref_of(refs[i]);
        cs_ctx ctx = ctx_ms(30000);
        cs_error err;
        reg_desc top, d;
        ck_assert_msg(reg_resolve(c, &ctx, &ref, NULL, &top, &err) == 0, "%s: %s", refs[i], err.msg);
        ck_assert_str_eq(top.media_type, types[i]);
        ck_assert(mf_is_index(top.media_type));
        cs_arena *a = cs_arena_new();
        char *body;
        size_t len;
        ck_assert_msg(reg_fetch_manifest(c, &ctx, &ref, NULL, &top, a, &body, &len, &err) == 0, "%s", err.msg);
        ck_assert_msg(mf_index_select(body, len, "linux", "amd64", &d, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(d.digest, want);
        ck_assert_msg(reg_fetch_manifest(c, &ctx, &ref, NULL, &d, a, &body, &len, &err) == 0, "%s", err.msg);
        cs_arena_free(a);
    }
    reg_client_free(c);
}
END_TEST

START_TEST(missing_is_not_found)
{
    reg_client *c = client();
    cs_imageref ref = ref_at(open_reg, "crishim/busybox:no-such-tag");
    expect_code(c, &ref, NULL, CS_ERR_NOT_FOUND, "crishim/busybox:no-such-tag", "missing tag");
    ref = ref_at(open_reg, "crishim/no-such-image:1.0");
    expect_code(c, &ref, NULL, CS_ERR_NOT_FOUND, "no-such-image", "missing repository");
    ref = ref_at(open_reg, "crishim/busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000");
    expect_code(c, &ref, NULL, CS_ERR_NOT_FOUND, NULL, "missing digest");
    /* a missing blob */
    reg_desc d = {.size = 10};
    snprintf(d.digest, sizeof d.digest, "sha256:%064d", 1);
    cs_ctx ctx = ctx_ms(10000);
    cs_error err;
    hash_sink h;
    hash_init(&h);
    ck_assert_int_eq(reg_fetch_blob(c, &ctx, &ref, NULL, &d, 0, hash_write, &h, &err), -1);
    char got[72];
    hash_final(&h, got);
    ck_assert_msg(err.code == CS_ERR_NOT_FOUND && strstr(err.msg, d.digest), "%s %s", cs_code_name(err.code),
                  err.msg);
    reg_client_free(c);
}
END_TEST

START_TEST(unreachable_is_unavailable)
{
    reg_client *c = client_with(3000, 3);
    cs_imageref ref = ref_of("127.0.0.1:1/crishim/busybox:1.0");
    expect_code(c, &ref, NULL, CS_ERR_UNAVAILABLE, "127.0.0.1:1", "closed port");
    reg_client_free(c);
}
END_TEST

START_TEST(basic_auth_forms)
{
    reg_client *c = client();
    cs_imageref ref = ref_of(tc_need_env("CRISHIM_TEST_IMG_PRIVATE"));
    expect_code(c, &ref, NULL, CS_ERR_UNAUTHENTICATED, auth_reg, "no credentials");

    cs_auth up = {.username = auth_user, .password = auth_pass};
    expect_ok(c, &ref, &up, "username/password");

    char userpass[256];
    snprintf(userpass, sizeof userpass, "%s:%s", auth_user, auth_pass);
    char *b64 = cs_base64_encode(userpass, strlen(userpass), false);
    cs_auth a64 = {.auth = b64};
    reg_client *c2 = client(); /* nothing cached */
    expect_ok(c2, &ref, &a64, "auth (base64 user:pass)");

    char server[128];
    snprintf(server, sizeof server, "http://%s", auth_reg);
    cs_auth match = {.username = auth_user, .password = auth_pass, .server_address = server};
    expect_ok(c2, &ref, &match, "server_address naming this registry");
    cs_auth other = {.username = auth_user, .password = auth_pass, .server_address = "https://elsewhere.example:5000"};
    expect_code(c2, &ref, &other, CS_ERR_UNAUTHENTICATED, auth_reg, "server_address naming another registry");

    cs_auth wrong = {.username = auth_user, .password = "wrong"};
    expect_code(c2, &ref, &wrong, CS_ERR_UNAUTHENTICATED, auth_reg, "wrong password");
    cs_auth bad64 = {.auth = "!!not base64"};
    expect_code(c2, &ref, &bad64, CS_ERR_INVALID, "auth", "auth not base64");

    /* the whole image through Basic auth */
    cs_arena *a = cs_arena_new();
    mf_manifest m;
    manifest_of(c, &ref, &up, a, &m);
    for (size_t i = 0; i < m.n_layers; i++)
        fetch_check(c, &ref, &up, &m.layers[i]);
    cs_arena_free(a);
    free(b64);
    reg_client_free(c2);
    reg_client_free(c);
}
END_TEST

START_TEST(bearer_auth_forms)
{
    rp_set_bearer(proxy, true);
    cs_imageref ref = ref_at(proxy_host, "crishim/busybox:1.0");

    reg_client *c = client();
    expect_code(c, &ref, NULL, CS_ERR_UNAUTHENTICATED, proxy_host, "anonymous (the realm wants credentials)");
    cs_auth wrong = {.username = RP_USER, .password = "wrong"};
    expect_code(c, &ref, &wrong, CS_ERR_UNAUTHENTICATED, proxy_host, "wrong password");
    cs_auth bad_id = {.identity_token = "not-the-token"};
    expect_code(c, &ref, &bad_id, CS_ERR_UNAUTHENTICATED, proxy_host, "wrong identity token");
    cs_auth bad_reg = {.registry_token = "not-the-token"};
    expect_code(c, &ref, &bad_reg, CS_ERR_UNAUTHENTICATED, proxy_host, "wrong registry token");
    reg_client_free(c);

    /* username/password: a token via GET with Basic, cached for the next requests */
    c = client();
    rp_reset_stats(proxy);
    cs_auth up = {.username = RP_USER, .password = RP_PASS};
    expect_ok(c, &ref, &up, "bearer with username/password");
    expect_ok(c, &ref, &up, "bearer with username/password, again");
    cs_arena *a = cs_arena_new();
    mf_manifest m;
    manifest_of(c, &ref, &up, a, &m);
    fetch_check(c, &ref, &up, &m.layers[0]);
    ck_assert_int_eq(rp_token_requests(proxy), 1);
    cs_arena_free(a);
    reg_client_free(c);

    /* auth = base64(user:pass) */
    c = client();
    char *b64 = cs_base64_encode(RP_USER ":" RP_PASS, strlen(RP_USER ":" RP_PASS), false);
    cs_auth a64 = {.auth = b64};
    expect_ok(c, &ref, &a64, "bearer with auth");
    free(b64);
    reg_client_free(c);

    /* identity token: the OAuth2 refresh_token POST */
    c = client();
    cs_auth id = {.identity_token = RP_IDENTITY_TOKEN};
    expect_ok(c, &ref, &id, "bearer with identity token");
    reg_client_free(c);

    /* registry token: used as the bearer token as is, no token request */
    c = client();
    rp_reset_stats(proxy);
    cs_auth rt = {.registry_token = RP_REGISTRY_TOKEN};
    expect_ok(c, &ref, &rt, "registry token");
    ck_assert_int_eq(rp_token_requests(proxy), 0);
    reg_client_free(c);
}
END_TEST

START_TEST(redirect_drops_credentials)
{
    rp_set_bearer(proxy, true);
    rp_set_redirect(proxy, true);
    reg_client *c = client();
    cs_imageref ref = ref_at(proxy_host, "crishim/busybox:1.0");
    cs_auth up = {.username = RP_USER, .password = RP_PASS};
    cs_arena *a = cs_arena_new();
    mf_manifest m;
    manifest_of(c, &ref, &up, a, &m);
    fetch_check(c, &ref, &up, &m.layers[0]);
    char *cfg;
    size_t len;
    cs_ctx ctx = ctx_ms(10000);
    cs_error err;
    ck_assert_msg(reg_fetch_blob_small(c, &ctx, &ref, &up, &m.config, a, &cfg, &len, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(rp_storage_requests(proxy), 2);
    ck_assert_int_eq(rp_storage_rejected(proxy), 0);
    cs_arena_free(a);
    reg_client_free(c);
}
END_TEST

START_TEST(throttled_big_layer_completes)
{
    /* 16 MiB, then 1.5 s of silence, repeatedly: 64 MiB take > 4.5 s with a
     * progress timeout of 2 s, which is never reached. */
    reg_client *c = client_with(2000, 3);
    cs_imageref ref = ref_at(proxy_host, "crishim/big:1.0");
    reg_desc d = big_layer(c, &ref);
    ck_assert_int_gt(d.size, 60LL * 1024 * 1024);
    rp_set_throttle(proxy, 16LL * 1024 * 1024, 1500);
    double t0 = tc_now_ms();
    fetch_check(c, &ref, NULL, &d);
    double took = tc_now_ms() - t0;
    ck_assert_msg(took > 4000, "took only %.0f ms: not throttled?", took);
    ck_assert_int_eq(rp_blob_gets(proxy, d.digest), 1);
    reg_client_free(c);
}
END_TEST

START_TEST(trickle_small_blob_completes)
{
    /* a config at 200 bytes per 1.2 s: several times the 2 s timeout in total */
    reg_client *c = client_with(2000, 3);
    cs_imageref ref = ref_at(proxy_host, "crishim/busybox:1.0");
    cs_arena *a = cs_arena_new();
    mf_manifest m;
    manifest_of(c, &ref, NULL, a, &m);
    rp_set_throttle(proxy, 200, 1200);
    double t0 = tc_now_ms();
    char *cfg;
    size_t len;
    cs_ctx ctx = ctx_ms(60000);
    cs_error err;
    ck_assert_msg(reg_fetch_blob_small(c, &ctx, &ref, NULL, &m.config, a, &cfg, &len, &err) == 0, "%s %s",
                  cs_code_name(err.code), err.msg);
    double took = tc_now_ms() - t0;
    ck_assert_msg(m.config.size < 400 || took > 2000, "config of %lld bytes in %.0f ms", (long long)m.config.size,
                  took);
    cs_arena_free(a);
    reg_client_free(c);
}
END_TEST

START_TEST(stall_fails_after_progress_timeout)
{
    reg_client *c = client_with(2000, 3);
    cs_imageref ref = ref_at(proxy_host, "crishim/big:1.0");
    reg_desc d = big_layer(c, &ref);
    rp_set_stall_after(proxy, 1024 * 1024);
    cs_ctx ctx = ctx_ms(60000);
    cs_error err;
    hash_sink h;
    hash_init(&h);
    double t0 = tc_now_ms();
    int rc = reg_fetch_blob(c, &ctx, &ref, NULL, &d, 0, hash_write, &h, &err);
    double took = tc_now_ms() - t0;
    char got[72];
    hash_final(&h, got);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(err.code == CS_ERR_DEADLINE, "%s %s", cs_code_name(err.code), err.msg);
    ck_assert_msg(strstr(err.msg, d.digest) && strstr(err.msg, "no data for 2 s"), "%s", err.msg);
    ck_assert_msg(took >= 2000 && took < 6000, "failed after %.0f ms", took);
    ck_assert_int_eq(h.n, 1024 * 1024);
    reg_client_free(c);
}
END_TEST

static atomic_bool cancel_flag;

static void *cancel_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 500 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&cancel_flag, true);
    return NULL;
}

START_TEST(deadline_and_cancel)
{
    reg_client *c = client_with(30000, 3);
    cs_imageref ref = ref_at(proxy_host, "crishim/big:1.0");
    reg_desc d = big_layer(c, &ref);
    rp_set_stall_after(proxy, 1000);
    cs_ctx ctx = ctx_ms(1000);
    cs_error err;
    hash_sink h;
    hash_init(&h);
    double t0 = tc_now_ms();
    ck_assert_int_eq(reg_fetch_blob(c, &ctx, &ref, NULL, &d, 0, hash_write, &h, &err), -1);
    double took = tc_now_ms() - t0;
    char got[72];
    hash_final(&h, got);
    ck_assert_msg(err.code == CS_ERR_DEADLINE && strstr(err.msg, "deadline"), "%s %s", cs_code_name(err.code),
                  err.msg);
    ck_assert_msg(took >= 900 && took < 3000, "deadline after %.0f ms", took);

    atomic_store(&cancel_flag, false);
    cs_ctx cctx = {.cancelled = &cancel_flag};
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, NULL);
    hash_init(&h);
    t0 = tc_now_ms();
    ck_assert_int_eq(reg_fetch_blob(c, &cctx, &ref, NULL, &d, 0, hash_write, &h, &err), -1);
    took = tc_now_ms() - t0;
    hash_final(&h, got);
    pthread_join(t, NULL);
    ck_assert_msg(err.code == CS_ERR_CANCELLED, "%s %s", cs_code_name(err.code), err.msg);
    ck_assert_msg(took < 2500, "cancel noticed after %.0f ms", took);
    reg_client_free(c);
}
END_TEST

/* A fetch interrupted at `cut` bytes, then resumed from there: the proxy
 * sends the rest only (or, ignoring Range, everything, which the client
 * skips), and the bytes put together have the blob's digest. */
static void resume_from(bool ignore_range)
{
    reg_client *c = client();
    cs_imageref ref = ref_at(proxy_host, "crishim/big:1.0");
    reg_desc d = big_layer(c, &ref);
    char *buf = malloc((size_t)d.size);
    cs_ctx ctx = ctx_ms(60000);
    cs_error err;

    hash_sink h;
    hash_init(&h);
    h.keep = buf;
    h.abort_after = 40LL * 1024 * 1024;
    ck_assert_int_eq(reg_fetch_blob(c, &ctx, &ref, NULL, &d, 0, hash_write, &h, &err), -1);
    ck_assert_msg(err.code == CS_ERR_ABORTED && strstr(err.msg, "test sink"), "the sink's error comes back: %s",
                  err.msg);
    int64_t cut = h.n;
    char got[72];
    hash_final(&h, got);

    rp_reset_stats(proxy);
    rp_set_ignore_range(proxy, ignore_range);
    hash_init(&h);
    h.keep = buf;
    h.keep_off = cut;
    ck_assert_msg(reg_fetch_blob(c, &ctx, &ref, NULL, &d, cut, hash_write, &h, &err) == 0, "%s", err.msg);
    hash_final(&h, got);
    ck_assert_int_eq(cut + h.n, d.size);
    char range[128], want_range[64];
    rp_last_range(proxy, range, sizeof range);
    snprintf(want_range, sizeof want_range, "bytes=%lld-", (long long)cut);
    ck_assert_str_eq(range, want_range);
    if (ignore_range)
        ck_assert_int_eq(rp_blob_bytes(proxy, d.digest), d.size);
    else
        ck_assert_int_eq(rp_blob_bytes(proxy, d.digest), d.size - cut);
    char whole[72];
    mf_sha256_digest(buf, (size_t)d.size, whole);
    ck_assert_str_eq(whole, d.digest);
    /* from the very end: nothing to do, no request */
    rp_reset_stats(proxy);
    ck_assert_int_eq(reg_fetch_blob(c, &ctx, &ref, NULL, &d, d.size, hash_write, &h, &err), 0);
    ck_assert_int_eq(rp_blob_gets(proxy, d.digest), 0);
    free(buf);
    reg_client_free(c);
}

START_TEST(resume_with_range)
{
    resume_from(false);
}
END_TEST

START_TEST(resume_without_range_support)
{
    resume_from(true);
}
END_TEST

typedef struct fetcher {
    reg_client *c;
    cs_imageref ref;
    reg_desc d;
    int rc;
    cs_error err;
} fetcher;

static void *fetch_thread(void *arg)
{
    fetcher *f = arg;
    cs_ctx ctx = ctx_ms(60000);
    hash_sink h;
    hash_init(&h);
    f->rc = reg_fetch_blob(f->c, &ctx, &f->ref, NULL, &f->d, 0, hash_write, &h, &f->err);
    char got[72];
    hash_final(&h, got);
    if (f->rc == 0 && strcmp(got, f->d.digest) != 0) {
        f->rc = -1;
        cs_error_set(&f->err, CS_ERR_DATA_LOSS, "digest %s", got);
    }
    return NULL;
}

START_TEST(download_slots)
{
    reg_client *c = client_with(10000, 3);
    cs_imageref ref = ref_at(proxy_host, "crishim/busybox:1.0");
    cs_arena *a = cs_arena_new();
    mf_manifest m;
    manifest_of(c, &ref, NULL, a, &m);
    rp_set_blob_delay(proxy, 300);
    rp_reset_stats(proxy);
    fetcher f[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        f[i] = (fetcher){.c = c, .ref = ref, .d = m.layers[0]};
        pthread_create(&t[i], NULL, fetch_thread, &f[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(f[i].rc == 0, "fetch %d: %s", i, f[i].err.msg);
    }
    ck_assert_int_eq(rp_blob_gets(proxy, m.layers[0].digest), 8);
    /* never more than the 3 slots; at least 2 at once shows they do overlap */
    int most = rp_max_concurrent(proxy);
    ck_assert_msg(most <= 3 && most >= 2, "%d blob downloads at once", most);
    cs_arena_free(a);
    reg_client_free(c);
}
END_TEST

int main(void)
{
    open_reg = tc_need_env("CRISHIM_TEST_REGISTRY");
    auth_reg = tc_need_env("CRISHIM_TEST_AUTH_REGISTRY");
    auth_user = tc_need_env("CRISHIM_TEST_AUTH_USER");
    auth_pass = tc_need_env("CRISHIM_TEST_AUTH_PASS");
    tc_need_env("CRISHIM_TEST_IMG_BIG");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    proxy = rp_start(open_reg);
    if (!proxy)
        return 1;
    snprintf(proxy_host, sizeof proxy_host, "127.0.0.1:%d", rp_port(proxy));
    snprintf(insecure, sizeof insecure, "%s,%s,%s", open_reg, auth_reg, proxy_host);

    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, tag_digest_and_layers);
    tcase_add_test(tc, loopback_falls_back_to_http);
    tcase_add_test(tc, index_picks_amd64);
    tcase_add_test(tc, missing_is_not_found);
    tcase_add_test(tc, unreachable_is_unavailable);
    tcase_add_test(tc, basic_auth_forms);
    tcase_add_test(tc, bearer_auth_forms);
    tcase_add_test(tc, redirect_drops_credentials);
    tcase_add_test(tc, throttled_big_layer_completes);
    tcase_add_test(tc, trickle_small_blob_completes);
    tcase_add_test(tc, stall_fails_after_progress_timeout);
    tcase_add_test(tc, deadline_and_cancel);
    tcase_add_test(tc, resume_with_range);
    tcase_add_test(tc, resume_without_range_support);
    tcase_add_test(tc, download_slots);
    suite_add_tcase(s, tc);
    int rc = tc_run_suite(s, true);
    rp_stop(proxy);
    curl_global_cleanup();
    return rc;
}
