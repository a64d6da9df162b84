/* The ImageService against a real engine (the private dockerd, or with
 * CRISHIM_TEST_BACKEND=containerd the private containerd) and real
 * registries (one open, one behind basic auth) serving images built from
 * busybox-static by scripts/build-test-images.sh. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "client.h"
#include "runtime/v1/api.pb-c.h"
#include "util/base64.h"

#define IMG(m) "/runtime.v1.ImageService/" m

static tc_daemon crishim;
#define client (crishim.client)
#define need_env tc_need_env

static void start_daemon(void)
{
    tc_daemon_up(&crishim, "images", NULL);
}

static void stop_daemon(void)
{
    tc_daemon_down(&crishim);
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

static char *must_pull(const char *image)
{
    tc_result res;
    Runtime__V1__PullImageResponse *r = pull(image, NULL, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "pull %s: %d %s", image, res.code, res.details);
    ck_assert_msg(!strncmp(r->image_ref, "sha256:", 7), "image_ref %s", r->image_ref);
    char *id = strdup(r->image_ref);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return id;
}

static Runtime__V1__ImageStatusResponse *status(const char *image, bool verbose, tc_result *res)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    req.image = &spec;
    req.verbose = verbose;
    ProtobufCMessage *resp = NULL;
    tc_unary(client, IMG("ImageStatus"), &req.base, &runtime__v1__image_status_response__descriptor, &resp, 10000,
             res);
    return (Runtime__V1__ImageStatusResponse *)resp;
}

static void remove_image(const char *image, tc_result *res)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
    req.image = &spec;
    tc_unary(client, IMG("RemoveImage"), &req.base, &runtime__v1__remove_image_response__descriptor, NULL, 30000, res);
}

static bool has(char **list, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], want))
            return true;
    return false;
}

static void assert_absent(const char *image)
{
    tc_result res;
    Runtime__V1__ImageStatusResponse *s = status(image, false, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "status %s: %s", image, res.details);
    ck_assert_msg(s->image == NULL, "%s still present", image);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

/* ---- tests ---- */

START_TEST(pull_by_tag_and_status_by_every_name)
{
    const char *ref = need_env("CRISHIM_TEST_IMG_BUSYBOX");
    char *id = must_pull(ref);
    const char *digest_ref = need_env("CRISHIM_TEST_IMG_BUSYBOX_DIGEST");
    const char *names[] = {ref, id, id + 7, digest_ref};
    for (size_t i = 0; i < 4; i++) {
        tc_result res;
        Runtime__V1__ImageStatusResponse *s = status(names[i], true, &res);
        ck_assert_msg(res.code == GRPC_STATUS_OK, "status %s: %s", names[i], res.details);
        ck_assert_msg(s->image != NULL, "status %s: no image", names[i]);
        ck_assert_str_eq(s->image->id, id);
        ck_assert_msg(has(s->image->repo_tags, s->image->n_repo_tags, ref), "%s: repo_tags lack %s", names[i], ref);
        ck_assert_msg(has(s->image->repo_digests, s->image->n_repo_digests, digest_ref), "%s: repo_digests lack %s",
                      names[i], digest_ref);
        ck_assert_uint_gt(s->image->size, 100000);
        ck_assert_uint_eq(s->n_info, 1);
        ck_assert_str_eq(s->info[0]->key, "info");
        ck_assert_msg(s->info[0]->value[0] == '{', "verbose info is not JSON: %.40s", s->info[0]->value);
        protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    free(id);
}
END_TEST

START_TEST(pull_by_digest)
{
    const char *digest_ref = need_env("CRISHIM_TEST_IMG_BUSYBOX_DIGEST");
    tc_result res;
    remove_image(need_env("CRISHIM_TEST_IMG_BUSYBOX"), &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    char *id = must_pull(digest_ref);
    Runtime__V1__ImageStatusResponse *s = status(digest_ref, false, &res);
    ck_assert_ptr_nonnull(s->image);
    ck_assert_str_eq(s->image->id, id);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    free(id);
}
END_TEST

START_TEST(several_tags_one_image_and_list_filter)
{
    const char *ref = need_env("CRISHIM_TEST_IMG_BUSYBOX"); /* …/crishim/busybox:1.0 */
    char latest[512];
    snprintf(latest, sizeof latest, "%.*s:latest", (int)(strrchr(ref, ':') - ref), ref);
    char *id1 = must_pull(ref);
    char *id2 = must_pull(latest);
    ck_assert_str_eq(id1, id2);

    Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
    Runtime__V1__ListImagesResponse *l = NULL;
    tc_result res;
    tc_unary(client, IMG("ListImages"), &req.base, &runtime__v1__list_images_response__descriptor,
             (ProtobufCMessage **)&l, 10000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    bool found = false;
    for (size_t i = 0; i < l->n_images; i++) {
        if (strcmp(l->images[i]->id, id1))
            continue;
        found = true;
        ck_assert(has(l->images[i]->repo_tags, l->images[i]->n_repo_tags, ref));
        ck_assert(has(l->images[i]->repo_tags, l->images[i]->n_repo_tags, latest));
    }
    ck_assert(found);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* filtered by a tag: just that image */
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = latest;
    Runtime__V1__ImageFilter f = RUNTIME__V1__IMAGE_FILTER__INIT;
    f.image = &spec;
    req.filter = &f;
    tc_unary(client, IMG("ListImages"), &req.base, &runtime__v1__list_images_response__descriptor,
             (ProtobufCMessage **)&l, 10000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    ck_assert_uint_eq(l->n_images, 1);
    ck_assert_str_eq(l->images[0]->id, id1);
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* StreamImages: the same images, then EOF */
    Runtime__V1__StreamImagesRequest sreq = RUNTIME__V1__STREAM_IMAGES_REQUEST__INIT;
    ProtobufCMessage **msgs;
    size_t n;
    tc_server_stream(client, IMG("StreamImages"), &sreq.base, &runtime__v1__stream_images_response__descriptor, &msgs,
                     &n, 10000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    size_t total = 0;
    found = false;
    for (size_t i = 0; i < n; i++) {
        Runtime__V1__StreamImagesResponse *m = (Runtime__V1__StreamImagesResponse *)msgs[i];
        total += m->n_images;
        for (size_t k = 0; k < m->n_images; k++)
            found |= !strcmp(m->images[k]->id, id1);
    }
    ck_assert(found);
    ck_assert_uint_ge(total, 1);
    tc_free_messages(msgs, n);
    free(id1);
    free(id2);
}
END_TEST

static void check_user(const char *key, bool want_uid, int64_t uid, const char *username)
{
    const char *ref = need_env(key);
    char *id = must_pull(ref);
    tc_result res;
    Runtime__V1__ImageStatusResponse *s = status(ref, false, &res);
    ck_assert_ptr_nonnull(s->image);
    if (want_uid) {
        ck_assert_msg(s->image->uid != NULL, "%s: no uid", ref);
        ck_assert_int_eq(s->image->uid->value, uid);
        ck_assert_str_eq(s->image->username, "");
    } else {
        ck_assert_msg(s->image->uid == NULL, "%s: unexpected uid", ref);
        ck_assert_str_eq(s->image->username, username);
    }
    protobuf_c_message_free_unpacked(&s->base, NULL);
    free(id);
}

START_TEST(image_user_fields)
{
    check_user("CRISHIM_TEST_IMG_UID", true, 1003, NULL);
    check_user("CRISHIM_TEST_IMG_USER", false, 0, "www-data");
    check_user("CRISHIM_TEST_IMG_UIDGID", true, 1003, NULL);
    check_user("CRISHIM_TEST_IMG_USERGID", false, 0, "www-data");
    /* plain busybox runs as root: uid 0 */
    check_user("CRISHIM_TEST_IMG_ENV", false, 0, "");
}
END_TEST

START_TEST(manifest_list)
{
    char *id = must_pull(need_env("CRISHIM_TEST_IMG_MULTI"));
    free(id);
}
END_TEST

START_TEST(auth_registry)
{
    const char *ref = need_env("CRISHIM_TEST_IMG_PRIVATE");
    Runtime__V1__AuthConfig auth = RUNTIME__V1__AUTH_CONFIG__INIT;
    tc_result res;

    /* no credentials */
    Runtime__V1__PullImageResponse *r = pull(ref, NULL, &res);
    ck_assert_msg(res.code != GRPC_STATUS_OK, "pull without credentials succeeded");
    assert_absent(ref);

    /* wrong credentials */
    auth.username = (char *)need_env("CRISHIM_TEST_AUTH_USER");
    auth.password = "wrong-password";
    r = pull(ref, &auth, &res);
    ck_assert_msg(res.code == GRPC_STATUS_UNAUTHENTICATED, "wrong password: %d %s", res.code, res.details);
    ck_assert_msg(strstr(res.details, "authentication failed") != NULL, "message: %s", res.details);
    assert_absent(ref);

    /* right credentials */
    auth.password = (char *)need_env("CRISHIM_TEST_AUTH_PASS");
    r = pull(ref, &auth, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "right password: %d %s", res.code, res.details);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    remove_image(ref, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    assert_absent(ref);

    /* the same through `auth` (base64 user:pass) and server_address */
    char userpass[256];
    snprintf(userpass, sizeof userpass, "%s:%s", auth.username, auth.password);
    char *b64 = cs_base64_encode(userpass, strlen(userpass), false);
    Runtime__V1__AuthConfig auth2 = RUNTIME__V1__AUTH_CONFIG__INIT;
    auth2.auth = b64;
    auth2.server_address = (char *)need_env("CRISHIM_TEST_AUTH_REGISTRY");
    r = pull(ref, &auth2, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "auth field: %d %s", res.code, res.details);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    free(b64);
}
END_TEST

START_TEST(missing_tag_is_a_clear_error)
{
    char ref[512];
    snprintf(ref, sizeof ref, "%s/crishim/busybox:no-such-tag", need_env("CRISHIM_TEST_REGISTRY"));
    tc_result res;
    pull(ref, NULL, &res);
    ck_assert_msg(res.code == GRPC_STATUS_NOT_FOUND, "got %d %s", res.code, res.details);
    ck_assert_msg(strstr(res.details, "no-such-tag") != NULL, "message does not name the image: %s", res.details);
    assert_absent(ref);
}
END_TEST

START_TEST(remove_is_idempotent)
{
    const char *ref = need_env("CRISHIM_TEST_IMG_UID");
    char *id = must_pull(ref);
    tc_result res;
    remove_image(id, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "remove by id: %s", res.details);
    assert_absent(ref);
    assert_absent(id);
    remove_image(id, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "second remove: %s", res.details);
    remove_image(ref, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "remove absent by tag: %s", res.details);
    free(id);
}
END_TEST

START_TEST(image_fs_info)
{
    free(must_pull(need_env("CRISHIM_TEST_IMG_BUSYBOX")));
    Runtime__V1__ImageFsInfoRequest req = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
    Runtime__V1__ImageFsInfoResponse *r = NULL;
    tc_result res;
    tc_unary(client, IMG("ImageFsInfo"), &req.base, &runtime__v1__image_fs_info_response__descriptor,
             (ProtobufCMessage **)&r, 30000, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "%s", res.details);
    ck_assert_uint_eq(r->n_image_filesystems, 1);
    Runtime__V1__FilesystemUsage *f = r->image_filesystems[0];
    ck_assert_int_gt(f->timestamp, 0);
    ck_assert_msg(strlen(f->fs_id->mountpoint) > 1, "mountpoint %s", f->fs_id->mountpoint);
    ck_assert_uint_gt(f->used_bytes->value, 0);
    ck_assert_ptr_nonnull(f->inodes_used);
    ck_assert_uint_gt(f->inodes_used->value, 0);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(bad_input_is_invalid_argument)
{
    const char *bad[] = {"", "Not A Ref", "busybox@sha256:short", "UPPER/case"};
    for (size_t i = 0; i < 4; i++) {
        tc_result res;
        pull(bad[i], NULL, &res);
        ck_assert_msg(res.code == GRPC_STATUS_INVALID_ARGUMENT, "pull \"%s\": %d %s", bad[i], res.code, res.details);
        status(bad[i], false, &res);
        ck_assert_msg(res.code == GRPC_STATUS_INVALID_ARGUMENT, "status \"%s\": %d %s", bad[i], res.code, res.details);
        remove_image(bad[i], &res);
        ck_assert_msg(res.code == GRPC_STATUS_INVALID_ARGUMENT, "remove \"%s\": %d", bad[i], res.code);
    }
    /* no ImageSpec at all names the field */
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    tc_result res;
    tc_unary(client, IMG("PullImage"), &req.base, &runtime__v1__pull_image_response__descriptor, NULL, 5000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_INVALID_ARGUMENT);
    ck_assert_msg(strstr(res.details, "image") != NULL, "%s", res.details);
    /* still serving */
    Runtime__V1__VersionRequest v = RUNTIME__V1__VERSION_REQUEST__INIT;
    tc_unary(client, "/runtime.v1.RuntimeService/Version", &v.base, &runtime__v1__version_response__descriptor, NULL,
             5000, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
}
END_TEST

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

/* Two pulls of one image and two images sharing their busybox layers, all at
 * once: every pull succeeds, one image gets one id. */
START_TEST(concurrent_pulls_share_layers)
{
    const char *a = need_env("CRISHIM_TEST_IMG_UID"), *b = need_env("CRISHIM_TEST_IMG_USER");
    tc_result res;
    remove_image(a, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    remove_image(b, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    bg_pull p[4] = {{.ref = a}, {.ref = a}, {.ref = b}, {.ref = b}};
    for (int i = 0; i < 4; i++)
        pthread_create(&p[i].t, NULL, bg_pull_main, &p[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(p[i].t, NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(p[i].res.code == GRPC_STATUS_OK, "pull %s: %d %s", p[i].ref, p[i].res.code, p[i].res.details);
    ck_assert_str_eq(p[0].id, p[1].id);
    ck_assert_str_eq(p[2].id, p[3].id);
    Runtime__V1__ImageStatusResponse *s = status(a, false, &res);
    ck_assert_ptr_nonnull(s->image);
    ck_assert_str_eq(s->image->id, p[0].id);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}
END_TEST

/* containerd: crishim's own pause image comes from its pause program, with
 * no registry, pinned, with the same id every time. */
START_TEST(pause_image_without_registry)
{
    const char *ref = "localhost/crishim/pause:" CRISHIM_VERSION;
    char *id = must_pull(ref);
    char *again = must_pull(ref);
    ck_assert_str_eq(id, again);
    tc_result res;
    Runtime__V1__ImageStatusResponse *s = status(ref, false, &res);
    ck_assert_msg(res.code == GRPC_STATUS_OK, "%s", res.details);
    ck_assert_ptr_nonnull(s->image);
    ck_assert_str_eq(s->image->id, id);
    ck_assert(s->image->pinned);
    ck_assert(has(s->image->repo_tags, s->image->n_repo_tags, ref));
    ck_assert_uint_gt(s->image->size, 1000);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    remove_image(ref, &res);
    ck_assert_int_eq(res.code, GRPC_STATUS_OK);
    assert_absent(ref);
    char *rebuilt = must_pull(ref);
    ck_assert_str_eq(rebuilt, id);
    free(id);
    free(again);
    free(rebuilt);
}
END_TEST

int main(void)
{
    need_env("CRISHIM_TEST_IMG_BUSYBOX");
    Suite *s = suite_create("images");
    TCase *tc = tcase_create("images");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, start_daemon, stop_daemon);
    tcase_add_test(tc, pull_by_tag_and_status_by_every_name);
    tcase_add_test(tc, pull_by_digest);
    tcase_add_test(tc, several_tags_one_image_and_list_filter);
    tcase_add_test(tc, image_user_fields);
    tcase_add_test(tc, manifest_list);
    tcase_add_test(tc, auth_registry);
    tcase_add_test(tc, missing_tag_is_a_clear_error);
    tcase_add_test(tc, remove_is_idempotent);
    tcase_add_test(tc, image_fs_info);
    tcase_add_test(tc, bad_input_is_invalid_argument);
    tcase_add_test(tc, concurrent_pulls_share_layers);
    const char *backend = tc_env("CRISHIM_TEST_BACKEND");
    if (backend && !strcmp(backend, "containerd"))
        tcase_add_test(tc, pause_image_without_registry);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
