/* Manifests, indexes and image configs as registries send them (fixtures in
 * tests/fixtures/registry): platform selection, descriptors, config fields,
 * chain ids, and INVALID_ARGUMENT naming the field for bad documents. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/manifest.h"
#include "suite.h"

#define D(c) "sha256:" c c c c c c c c c c c c c c c c /* 16 x 4 hex digits */

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/registry/%s", CS_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Parses s with fn-specific code; expects INVALID naming `field`. */
static void expect_manifest_invalid(const char *s, const char *field)
{
    cs_arena *a = cs_arena_new();
    mf_manifest m;
    cs_error err;
    ck_assert_msg(mf_manifest_parse(s, strlen(s), a, &m, &err) == -1, "accepted %s", s);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, field) != NULL, "message \"%s\" does not name %s", err.msg, field);
    cs_arena_free(a);
}

START_TEST(media_types)
{
    ck_assert(mf_is_index(MF_INDEX_OCI));
    ck_assert(mf_is_index(MF_INDEX_DOCKER));
    ck_assert(!mf_is_index(MF_MANIFEST_OCI));
    ck_assert(!mf_is_index(NULL));
    ck_assert(mf_is_manifest(MF_MANIFEST_DOCKER));
    ck_assert(!mf_is_manifest("application/vnd.docker.distribution.manifest.v1+prettyjws"));
    ck_assert(mf_digest_valid(D("abcd")));
    ck_assert(!mf_digest_valid("sha256:ABCD"));
    ck_assert(!mf_digest_valid(D("abcd") "0"));
    ck_assert(!mf_digest_valid("sha512:abcd"));
}
END_TEST

START_TEST(docker_manifest)
{
    size_t len;
    char *body = slurp("docker_manifest.json", &len);
    cs_arena *a = cs_arena_new();
    mf_manifest m;
    cs_error err;
    ck_assert_msg(mf_manifest_parse(body, len, a, &m, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(m.config.media_type, MF_CONFIG_DOCKER);
    ck_assert_str_eq(m.config.digest, D("1111"));
    ck_assert_int_eq(m.config.size, 1469);
    ck_assert_uint_eq(m.n_layers, 2);
    ck_assert_str_eq(m.layers[0].media_type, "application/vnd.docker.image.rootfs.diff.tar.gzip");
    ck_assert_str_eq(m.layers[0].digest, D("2222"));
    ck_assert_int_eq(m.layers[0].size, 2818413);
    ck_assert_str_eq(m.layers[1].digest, D("3333"));
    ck_assert_int_eq(m.layers[1].size, 32);
    cs_arena_free(a);
    free(body);
}
END_TEST

START_TEST(oci_manifest)
{
    size_t len;
    char *body = slurp("oci_manifest.json", &len);
    cs_arena *a = cs_arena_new();
    mf_manifest m;
    cs_error err;
    ck_assert_msg(mf_manifest_parse(body, len, a, &m, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(m.config.media_type, MF_CONFIG_OCI);
    ck_assert_str_eq(m.config.digest, D("4444"));
    ck_assert_uint_eq(m.n_layers, 1);
    ck_assert_str_eq(m.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
    ck_assert_int_eq(m.layers[0].size, 32654);
    cs_arena_free(a);
    free(body);
}
END_TEST

START_TEST(bad_manifests)
{
    const char *cfg = "\"config\":{\"mediaType\":\"x\",\"digest\":\"" D("1111") "\",\"size\":1}";
    expect_manifest_invalid("", "empty");
    expect_manifest_invalid("{\"schemaVersion\":2,", "image manifest");
    expect_manifest_invalid("[]", "not a JSON object");
    char buf[1024];
    snprintf(buf, sizeof buf, "{%s,\"layers\":[]}", cfg);
    expect_manifest_invalid(buf, "schemaVersion");
    snprintf(buf, sizeof buf, "{\"schemaVersion\":1,%s,\"layers\":[]}", cfg);
    expect_manifest_invalid(buf, "schemaVersion");
    expect_manifest_invalid("{\"schemaVersion\":2,\"layers\":[]}", "config");
    snprintf(buf, sizeof buf, "{\"schemaVersion\":2,%s}", cfg);
    expect_manifest_invalid(buf, "layers");
    snprintf(buf, sizeof buf, "{\"schemaVersion\":2,\"mediaType\":\"%s\",%s,\"layers\":[]}", MF_INDEX_OCI, cfg);
    expect_manifest_invalid(buf, "mediaType");
    expect_manifest_invalid("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1},\"layers\":[]}",
                            "config.digest");
    expect_manifest_invalid(
        "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"md5:00\",\"size\":1},\"layers\":[]}",
        "config.digest");
    snprintf(buf, sizeof buf, "{\"schemaVersion\":2,%s,\"layers\":[{\"mediaType\":\"l\",\"digest\":\"%s\"}]}", cfg,
             D("2222"));
    expect_manifest_invalid(buf, "layers[0].size");
    snprintf(buf, sizeof buf,
             "{\"schemaVersion\":2,%s,\"layers\":[{\"mediaType\":\"l\",\"digest\":\"%s\",\"size\":1},"
             "{\"mediaType\":\"l\",\"digest\":\"%s\",\"size\":-5}]}",
             cfg, D("2222"), D("3333"));
    expect_manifest_invalid(buf, "layers[1].size");
    snprintf(buf, sizeof buf, "{\"schemaVersion\":2,%s,\"layers\":[{\"digest\":\"%s\",\"size\":1}]}", cfg, D("2222"));
    expect_manifest_invalid(buf, "layers[0].mediaType");
}
END_TEST

static void select_ok(const char *file, const char *arch, const char *want_digest, const char *want_mt)
{
    size_t len;
    char *body = slurp(file, &len);
    reg_desc d;
    cs_error err;
    ck_assert_msg(mf_index_select(body, len, "linux", arch, &d, &err) == 0, "%s %s: %s", file, arch, err.msg);
    ck_assert_str_eq(d.digest, want_digest);
    ck_assert_str_eq(d.media_type, want_mt);
    free(body);
}

START_TEST(index_select)
{
    select_ok("docker_list.json", "amd64", D("c3c3"), MF_MANIFEST_DOCKER);
    select_ok("docker_list.json", "arm64", D("b2b2"), MF_MANIFEST_DOCKER);
    select_ok("docker_list.json", "arm", D("a1a1"), MF_MANIFEST_DOCKER);
    /* amd64 with a variant (v3) still matches: the variant is ignored for amd64 */
    select_ok("oci_index.json", "amd64", D("f6f6"), MF_MANIFEST_OCI);
    select_ok("oci_index.json", "arm64", D("e5e5"), MF_MANIFEST_OCI);

    size_t len;
    char *body = slurp("oci_index.json", &len);
    reg_desc d;
    cs_error err;
    ck_assert_int_eq(mf_index_select(body, len, "linux", "s390x", &d, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_NOT_FOUND);
    ck_assert_msg(strstr(err.msg, "linux/s390x") != NULL, "%s", err.msg);
    free(body);
    /* windows/amd64 is in the list only as windows */
    body = slurp("docker_list.json", &len);
    ck_assert_int_eq(mf_index_select(body, len, "windows", "amd64", &d, &err), 0);
    ck_assert_str_eq(d.digest, D("d4d4"));
    free(body);

    const char *bad[][2] = {
        {"{\"manifests\":[]}", "schemaVersion"},
        {"{\"schemaVersion\":2}", "manifests"},
        {"{\"schemaVersion\":2,\"mediaType\":\"" MF_MANIFEST_OCI "\",\"manifests\":[]}", "mediaType"},
        {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MF_MANIFEST_OCI
         "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
         "manifests[0].digest"},
        {"{\"schemaVersion\":2,\"manifests\":[{},{\"mediaType\":\"" MF_INDEX_OCI "\",\"digest\":\"" D("abcd")
         "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
         "manifests[1].mediaType"},
        {"nope", "image index"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(mf_index_select(bad[i][0], strlen(bad[i][0]), "linux", "amd64", &d, &err) == -1, "accepted %s",
                      bad[i][0]);
        ck_assert_int_eq(err.code, CS_ERR_INVALID);
        ck_assert_msg(strstr(err.msg, bad[i][1]) != NULL, "\"%s\" does not name %s", err.msg, bad[i][1]);
    }
}
END_TEST

START_TEST(image_config)
{
    size_t len;
    char *body = slurp("image_config.json", &len);
    cs_arena *a = cs_arena_new();
    mf_image_config c;
    cs_error err;
    ck_assert_msg(mf_config_parse(body, len, a, &c, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(c.n_diff_ids, 3);
    ck_assert_str_eq(c.diff_ids[0], D("aaaa"));
    ck_assert_str_eq(c.diff_ids[2], D("cccc"));
    ck_assert_str_eq(c.user, "www-data:1004");
    ck_assert_str_eq(c.working_dir, "/work");
    ck_assert_str_eq(c.stop_signal, "SIGQUIT");
    ck_assert_uint_eq(c.n_env, 2);
    ck_assert_str_eq(c.env[1], "FOO=bar");
    ck_assert_uint_eq(c.n_entrypoint, 2);
    ck_assert_str_eq(c.entrypoint[1], "-c");
    ck_assert_uint_eq(c.n_cmd, 1);
    ck_assert_str_eq(c.cmd[0], "echo hello from $FOO");
    ck_assert_uint_eq(c.n_volumes, 2);
    ck_assert_str_eq(c.volumes[0], "/data");
    ck_assert_str_eq(c.volumes[1], "/cache");
    ck_assert_str_eq(c.os, "linux");
    ck_assert_str_eq(c.arch, "amd64");
    ck_assert_int_eq(c.created_ns, 1704164645123456789LL);
    cs_arena_free(a);
    free(body);

    /* a minimal config: only rootfs */
    a = cs_arena_new();
    const char *min = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":null}";
    ck_assert_msg(mf_config_parse(min, strlen(min), a, &c, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(c.n_diff_ids, 0);
    ck_assert_ptr_null(c.user);
    ck_assert_ptr_null(c.cmd);
    ck_assert_int_eq(c.created_ns, 0);

    const char *bad[][2] = {
        {"{}", "rootfs"},
        {"{\"rootfs\":{\"type\":\"x\",\"diff_ids\":[]}}", "rootfs.type"},
        {"{\"rootfs\":{\"type\":\"layers\"}}", "rootfs.diff_ids"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:00\"]}}", "rootfs.diff_ids[0]"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[1]}}", "rootfs.diff_ids[0]"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Env\":\"A=b\"}}", "config.Env"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Cmd\":[\"a\",2]}}", "config.Cmd[1]"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"User\":5}}", "config.User"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Volumes\":[]}}", "config.Volumes"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":7}", "config"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"created\":\"yesterday\"}", "created"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(mf_config_parse(bad[i][0], strlen(bad[i][0]), a, &c, &err) == -1, "accepted %s", bad[i][0]);
        ck_assert_int_eq(err.code, CS_ERR_INVALID);
        ck_assert_msg(strstr(err.msg, bad[i][1]) != NULL, "\"%s\" does not name %s", err.msg, bad[i][1]);
    }
    cs_arena_free(a);
}
END_TEST

START_TEST(chain_ids)
{
    /* By hand:
     *   A=sha256:aaaa...(64 a)  B=sha256:bbbb...  C=sha256:cccc...
     *   c1=sha256:$(printf '%s %s' $A $B | sha256sum)   = sha256:ccd72292...
     *   c2=sha256:$(printf '%s %s' $c1 $C | sha256sum)  = sha256:c1377126... */
    const char *ids[] = {D("aaaa"), D("bbbb"), D("cccc")};
    cs_arena *a = cs_arena_new();
    const char **out;
    cs_error err;
    ck_assert_msg(mf_chain_ids(ids, 3, a, &out, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(out[0], D("aaaa"));
    ck_assert_str_eq(out[1], "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
    ck_assert_str_eq(out[2], "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588");
    ck_assert_msg(mf_chain_ids(ids, 0, a, &out, &err) == 0, "%s", err.msg);
    const char *bad[] = {D("aaaa"), "sha256:xyz"};
    ck_assert_int_eq(mf_chain_ids(bad, 2, a, &out, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "diff_ids[1]") != NULL, "%s", err.msg);
    cs_arena_free(a);

    char d[72];
    mf_sha256_digest("", 0, d);
    ck_assert_str_eq(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("manifest");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, media_types);
    tcase_add_test(tc, docker_manifest);
    tcase_add_test(tc, oci_manifest);
    tcase_add_test(tc, bad_manifests);
    tcase_add_test(tc, index_select);
    tcase_add_test(tc, image_config);
    tcase_add_test(tc, chain_ids);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
