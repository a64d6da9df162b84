/* runtime.v1.ImageService: ListImages, StreamImages, ImageStatus, PullImage,
 * RemoveImage, ImageFsInfo. Validation here; the engine work in the backend. */
#include <string.h>

#include "cri/internal.h"

/* StreamImages sends images in messages of this many. */
#define STREAM_BATCH 64

static int require_image(const Runtime__V1__ImageSpec *spec, cs_error *err)
{
    if (!spec)
        return cs_error_set(err, CS_ERR_INVALID, "image is required");
    if (!spec->image || !*spec->image)
        return cs_error_set(err, CS_ERR_INVALID, "image.image is required");
    return 0;
}

static char **strv(cs_arena *a, const char **src, size_t n)
{
    char **out = cs_arena_array(a, n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = (char *)src[i];
    return out;
}

static Runtime__V1__Image *to_cri_image(cs_call *call, const cs_image *img)
{
    cs_arena *a = cs_call_arena(call);
    Runtime__V1__Image *r = CRI_NEW(call, Runtime__V1__Image, RUNTIME__V1__IMAGE__INIT);
    r->id = (char *)img->id;
    r->n_repo_tags = img->n_repo_tags;
    r->repo_tags = strv(a, img->repo_tags, img->n_repo_tags);
    r->n_repo_digests = img->n_repo_digests;
    r->repo_digests = strv(a, img->repo_digests, img->n_repo_digests);
    r->size = img->size;
    if (img->has_uid) {
        r->uid = CRI_NEW(call, Runtime__V1__Int64Value, RUNTIME__V1__INT64_VALUE__INIT);
        r->uid->value = img->uid;
    }
    r->username = (char *)(img->username ? img->username : "");
    r->spec = CRI_NEW(call, Runtime__V1__ImageSpec, RUNTIME__V1__IMAGE_SPEC__INIT);
    r->spec->image = (char *)img->id;
    r->pinned = img->pinned;
    return r;
}

static const char *filter_ref(const Runtime__V1__ImageFilter *f)
{
    return f && f->image && f->image->image && *f->image->image ? f->image->image : NULL;
}

static int list(cs_call *call, const Runtime__V1__ImageFilter *filter, cs_image ***imgs, size_t *n, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    CRI_NEED_OP(call, image_list, err);
    return cs_backend_image_list(rt->backend, cs_call_ctx(call), filter_ref(filter), cs_call_arena(call), imgs,
                                        n, err);
}

int cri_list_images(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ListImagesRequest *req = (const Runtime__V1__ListImagesRequest *)reqm;
    cs_image **imgs;
    size_t n;
    if (list(call, req->filter, &imgs, &n, err) != 0)
        return -1;
    Runtime__V1__ListImagesResponse *r =
        CRI_NEW(call, Runtime__V1__ListImagesResponse, RUNTIME__V1__LIST_IMAGES_RESPONSE__INIT);
    r->n_images = n;
    r->images = cs_arena_array(cs_call_arena(call), n + 1, sizeof *r->images);
    for (size_t i = 0; i < n; i++)
        r->images[i] = to_cri_image(call, imgs[i]);
    *resp = &r->base;
    return 0;
}

int cri_stream_images(cs_call *call, const ProtobufCMessage *reqm, cs_error *err)
{
    const Runtime__V1__StreamImagesRequest *req = (const Runtime__V1__StreamImagesRequest *)reqm;
    cs_image **imgs;
    size_t n;
    if (list(call, req->filter, &imgs, &n, err) != 0)
        return -1;
    for (size_t start = 0; start < n; start += STREAM_BATCH) {
        size_t k = n - start < STREAM_BATCH ? n - start : STREAM_BATCH;
        Runtime__V1__StreamImagesResponse r = RUNTIME__V1__STREAM_IMAGES_RESPONSE__INIT;
        Runtime__V1__Image *batch[STREAM_BATCH];
        for (size_t i = 0; i < k; i++)
            batch[i] = to_cri_image(call, imgs[start + i]);
        r.n_images = k;
        r.images = batch;
        if (cs_call_send(call, &r.base, err) != 0)
            return -1;
    }
    return 0;
}

int cri_image_status(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__ImageStatusRequest *req = (const Runtime__V1__ImageStatusRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (require_image(req->image, err) != 0)
        return -1;
    CRI_NEED_OP(call, image_status, err);
    cs_image *img;
    if (cs_backend_image_status(rt->backend, cs_call_ctx(call), req->image->image, req->verbose,
                                       cs_call_arena(call), &img, err) != 0)
        return -1;
    Runtime__V1__ImageStatusResponse *r =
        CRI_NEW(call, Runtime__V1__ImageStatusResponse, RUNTIME__V1__IMAGE_STATUS_RESPONSE__INIT);
    /* An absent image is not an error: the response just has no image. */
    if (img) {
        r->image = to_cri_image(call, img);
        if (req->verbose && img->info_json) {
            Runtime__V1__ImageStatusResponse__InfoEntry *e = CRI_NEW(
                call, Runtime__V1__ImageStatusResponse__InfoEntry, RUNTIME__V1__IMAGE_STATUS_RESPONSE__INFO_ENTRY__INIT);
            e->key = "info";
            e->value = (char *)img->info_json;
            r->n_info = 1;
            r->info = cs_arena_array(cs_call_arena(call), 1, sizeof *r->info);
            r->info[0] = e;
        }
    }
    *resp = &r->base;
    return 0;
}

int cri_pull_image(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__PullImageRequest *req = (const Runtime__V1__PullImageRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (require_image(req->image, err) != 0)
        return -1;
    CRI_NEED_OP(call, image_pull, err);
    cs_auth auth, *authp = NULL;
    if (req->auth) {
        auth = (cs_auth){
            .username = req->auth->username,
            .password = req->auth->password,
            .auth = req->auth->auth,
            .server_address = req->auth->server_address,
            .identity_token = req->auth->identity_token,
            .registry_token = req->auth->registry_token,
        };
        authp = &auth;
    }
    const char *id;
    if (cs_backend_image_pull(rt->backend, cs_call_ctx(call), req->image->image, authp, cs_call_arena(call),
                                     &id, err) != 0)
        return -1;
    Runtime__V1__PullImageResponse *r =
        CRI_NEW(call, Runtime__V1__PullImageResponse, RUNTIME__V1__PULL_IMAGE_RESPONSE__INIT);
    r->image_ref = (char *)id;
    *resp = &r->base;
    return 0;
}

int cri_remove_image(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    const Runtime__V1__RemoveImageRequest *req = (const Runtime__V1__RemoveImageRequest *)reqm;
    cri_runtime *rt = CRI_RT(call);
    if (require_image(req->image, err) != 0)
        return -1;
    CRI_NEED_OP(call, image_remove, err);
    if (cs_backend_image_remove(rt->backend, cs_call_ctx(call), req->image->image, err) != 0)
        return -1;
    Runtime__V1__RemoveImageResponse *r =
        CRI_NEW(call, Runtime__V1__RemoveImageResponse, RUNTIME__V1__REMOVE_IMAGE_RESPONSE__INIT);
    *resp = &r->base;
    return 0;
}

static Runtime__V1__FilesystemUsage *to_cri_fs(cs_call *call, const cs_fs_usage *u)
{
    Runtime__V1__FilesystemUsage *f = CRI_NEW(call, Runtime__V1__FilesystemUsage, RUNTIME__V1__FILESYSTEM_USAGE__INIT);
    f->timestamp = u->timestamp_ns;
    f->fs_id = CRI_NEW(call, Runtime__V1__FilesystemIdentifier, RUNTIME__V1__FILESYSTEM_IDENTIFIER__INIT);
    f->fs_id->mountpoint = (char *)u->mountpoint;
    f->used_bytes = CRI_NEW(call, Runtime__V1__UInt64Value, RUNTIME__V1__UINT64_VALUE__INIT);
    f->used_bytes->value = u->used_bytes;
    if (u->has_inodes) {
        f->inodes_used = CRI_NEW(call, Runtime__V1__UInt64Value, RUNTIME__V1__UINT64_VALUE__INIT);
        f->inodes_used->value = u->inodes_used;
    }
    return f;
}

int cri_image_fs_info(cs_call *call, const ProtobufCMessage *reqm, ProtobufCMessage **resp, cs_error *err)
{
    cri_runtime *rt = CRI_RT(call);
    CRI_NEED_OP(call, image_fs_info, err);
    cs_fs_usage img, ctr;
    bool has_ctr = false;
    if (cs_backend_image_fs_info(rt->backend, cs_call_ctx(call), cs_call_arena(call), &img, &ctr, &has_ctr,
                                        err) != 0)
        return -1;
    cs_arena *a = cs_call_arena(call);
    Runtime__V1__ImageFsInfoResponse *r =
        CRI_NEW(call, Runtime__V1__ImageFsInfoResponse, RUNTIME__V1__IMAGE_FS_INFO_RESPONSE__INIT);
    r->n_image_filesystems = 1;
    r->image_filesystems = cs_arena_array(a, 1, sizeof *r->image_filesystems);
    r->image_filesystems[0] = to_cri_fs(call, &img);
    if (has_ctr) {
        r->n_container_filesystems = 1;
        r->container_filesystems = cs_arena_array(a, 1, sizeof *r->container_filesystems);
        r->container_filesystems[0] = to_cri_fs(call, &ctr);
    }
    *resp = &r->base;
    return 0;
}
