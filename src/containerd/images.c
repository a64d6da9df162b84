/* The ImageService on containerd: image records as containerd's CRI plugin
 * keeps them (`sha256:<config>` for the id, the repo tag, `repo@<digest>`,
 * each labelled io.cri-containerd.image=managed and pointing at the same
 * manifest or index), listed, looked up, removed, and the snapshotter's disk
 * usage.
 *
 * What an image record's target resolves to (its config digest, size, user,
 * top chain id) is read from the content store once per target digest and
 * cached: content is immutable, so the cache never goes stale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/diskusage.h"
#include "backend/imageref.h"
#include "containerd/api/services/images/v1/images.pb-c.h"
#include "containerd/content.h"
#include "containerd/imagecache.h"
#include "containerd/images.h"
#include "containerd/internal.h"
#include "containerd/manifest.h"
#include "containerd/unpack.h"
#include "google/protobuf/empty.pb-c.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define IMAGES(m) "/containerd.services.images.v1.Images/" m
#define MANIFEST_MAX (4 * 1024 * 1024)

/* ---- what a target resolves to ---- */

struct ctrd_view {
    char target[80];
    char config[80];
    char top_chain[80];
    char *user; /* the config's User, or NULL */
    int64_t size;
    /* The config blob itself (immutable, a few KiB): CreateContainer and
     * RunPodSandbox parse it without a content read. */
    char *config_body;
    size_t config_len;
};

static void view_free(ctrd_view *v)
{
    free(v->user);
    free(v->config_body);
    free(v);
}

void ctrd_views_free(ctrd_backend *d)
{
    for (size_t i = 0; i < d->n_views; i++)
        view_free(d->views[i]);
    free(d->views);
    d->views = NULL;
    d->n_views = 0;
}

static const ctrd_view *view_cached(ctrd_backend *d, const char *target)
{
    const ctrd_view *v = NULL;
    pthread_mutex_lock(&d->views_mu);
    for (size_t i = 0; i < d->n_views && !v; i++)
        if (!strcmp(d->views[i]->target, target))
            v = d->views[i];
    pthread_mutex_unlock(&d->views_mu);
    return v;
}

static const ctrd_view *view_store(ctrd_backend *d, ctrd_view *v)
{
    pthread_mutex_lock(&d->views_mu);
    for (size_t i = 0; i < d->n_views; i++) {
        if (!strcmp(d->views[i]->target, v->target)) {
            ctrd_view *have = d->views[i];
            pthread_mutex_unlock(&d->views_mu);
            view_free(v);
            return have;
        }
    }
    d->views = cs_xrealloc(d->views, (d->n_views + 1) * sizeof *d->views);
    d->views[d->n_views++] = v;
    pthread_mutex_unlock(&d->views_mu);
    return v;
}

int ctrd_image_view(ctrd_backend *d, const cs_ctx *ctx, const char *media_type, const char *digest, int64_t size,
                    const ctrd_view **out, cs_error *err)
{
    if ((*out = view_cached(d, digest)) != NULL)
        return 0;
    cs_arena *a = cs_arena_new();
    char *body;
    size_t len;
    int rc = -1;
    reg_desc m = {.size = size};
    snprintf(m.media_type, sizeof m.media_type, "%s", media_type);
    snprintf(m.digest, sizeof m.digest, "%s", digest);
    int64_t total = 0;
    if (mf_is_index(media_type)) {
        total += size;
        if (ctrd_content_read(d->client, ctx, digest, MANIFEST_MAX, a, &body, &len, err) != 0 ||
            mf_index_select(body, len, "linux", "amd64", &m, err) != 0)
            goto out;
    }
    mf_manifest man;
    if (ctrd_content_read(d->client, ctx, m.digest, MANIFEST_MAX, a, &body, &len, err) != 0 ||
        mf_manifest_parse(body, len, a, &man, err) != 0)
        goto out;
    total += (int64_t)len + man.config.size;
    for (size_t i = 0; i < man.n_layers; i++)
        total += man.layers[i].size;
    mf_image_config cfg;
    if (ctrd_content_read(d->client, ctx, man.config.digest, MANIFEST_MAX, a, &body, &len, err) != 0 ||
        mf_config_parse(body, len, a, &cfg, err) != 0)
        goto out;
    const char **chain = NULL;
    if (cfg.n_diff_ids && mf_chain_ids(cfg.diff_ids, cfg.n_diff_ids, a, &chain, err) != 0)
        goto out;
    ctrd_view *v = cs_xcalloc(1, sizeof *v);
    snprintf(v->target, sizeof v->target, "%s", digest);
    snprintf(v->config, sizeof v->config, "%s", man.config.digest);
    if (chain)
        snprintf(v->top_chain, sizeof v->top_chain, "%s", chain[cfg.n_diff_ids - 1]);
    v->user = cfg.user && *cfg.user ? cs_xstrdup(cfg.user) : NULL;
    v->size = total;
    v->config_body = cs_xmalloc(len + 1);
    memcpy(v->config_body, body, len);
    v->config_body[len] = '\0';
    v->config_len = len;
    *out = view_store(d, v);
    rc = 0;
out:
    if (rc != 0)
        cs_error_wrap(err, "image %s", digest);
    cs_arena_free(a);
    return rc;
}

/* ---- references ---- */

int ctrd_parse_ref(const char *ref, cs_imageref *r, cs_error *err)
{
    if (cs_imageref_parse(ref, r, err) != 0)
        return -1;
    /* distribution's grammar makes "UPPER/case" a registry host named
     * UPPER; Docker refuses it, and so does crishim on either engine: a
     * host without a dot, a port or the name localhost is a lowercase
     * repository path. */
    if (!r->is_id && !strchr(r->domain, '.') && !strchr(r->domain, ':') && strcmp(r->domain, "localhost")) {
        for (const char *p = r->domain; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                return cs_error_set(err, CS_ERR_INVALID, "image reference %s: repository name must be lowercase", ref);
    }
    return 0;
}

/* ---- records → images ---- */

/* The image config's User: "1003", "www-data", "1003:1004", "www-data:1004".
 * Only the user part matters to CRI: a uid when numeric, else a name. */
static void set_user(cs_image *img, const char *user, cs_arena *a)
{
    if (!user || !*user)
        return;
    size_t n = strcspn(user, ":");
    bool numeric = n > 0;
    for (size_t i = 0; i < n; i++)
        if (user[i] < '0' || user[i] > '9')
            numeric = false;
    if (numeric && n < 19) {
        img->has_uid = true;
        img->uid = strtoll(user, NULL, 10);
    } else {
        img->username = cs_arena_strndup(a, user, n);
    }
}

static void push(const char ***list, size_t *n, const char *s, cs_arena *a)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*list)[i], s))
            return;
    const char **grown = cs_arena_array(a, *n + 2, sizeof *grown);
    if (*n)
        memcpy(grown, *list, *n * sizeof *grown);
    grown[(*n)++] = cs_arena_strdup(a, s);
    *list = grown;
}

typedef struct image_set {
    cs_image **items;
    size_t n, cap;
} image_set;

static cs_image *image_for(image_set *set, const ctrd_view *v, cs_arena *a)
{
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->items[i]->id, v->config))
            return set->items[i];
    if (set->n + 1 >= set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        cs_image **grown = cs_arena_array(a, cap, sizeof *grown);
        if (set->n)
            memcpy(grown, set->items, set->n * sizeof *grown);
        set->items = grown;
        set->cap = cap;
    }
    cs_image *img = cs_arena_alloc(a, sizeof *img);
    img->id = cs_arena_strdup(a, v->config);
    img->size = v->size > 0 ? (uint64_t)v->size : 0;
    set_user(img, v->user, a);
    set->items[set->n++] = img;
    return img;
}

/* Every image in crishim's namespace, one per config digest with all its
 * names. */
static int list_all(ctrd_backend *d, const cs_ctx *ctx, cs_arena *a, image_set *set, cs_error *err)
{
    memset(set, 0, sizeof *set);
    const Containerd__Services__Images__V1__ListImagesResponse *r;
    bool held;
    if (ctrd_image_records(d, ctx, a, &r, &held, err) != 0)
        return cs_error_wrap(err, "list images");
    int rc = 0;
    char *pause_full = NULL;
    cs_imageref pr;
    if (d->pause_image && cs_imageref_parse(d->pause_image, &pr, NULL) == 0)
        pause_full = cs_imageref_full(&pr, a);
    for (size_t i = 0; i < r->n_images; i++) {
        const Containerd__Services__Images__V1__Image *rec = r->images[i];
        if (!rec->target || !rec->target->digest)
            continue;
        const ctrd_view *v;
        cs_error e;
        if (ctrd_image_view(d, ctx, rec->target->media_type, rec->target->digest, rec->target->size, &v, &e) != 0) {
            if (e.code == CS_ERR_UNAVAILABLE || e.code == CS_ERR_DEADLINE || e.code == CS_ERR_CANCELLED) {
                if (err)
                    *err = e;
                rc = cs_error_wrap(err, "list images");
                break;
            }
            /* A record whose content is gone or unreadable is no image CRI can use. */
            cs_debug("skipping an image record", "name", rec->name, "error", e.msg, NULL);
            continue;
        }
        cs_image *img = image_for(set, v, a);
        const char *name = rec->name;
        if (!strcmp(name, v->config))
            ; /* the id record */
        else if (strchr(name, '@'))
            push(&img->repo_digests, &img->n_repo_digests, name, a);
        else
            push(&img->repo_tags, &img->n_repo_tags, name, a);
        const char *pin = ctrd_label((void *const *)rec->labels, rec->n_labels, CTRD_LABEL_PINNED);
        if ((pin && !strcmp(pin, "pinned")) || (pause_full && !strcmp(name, pause_full)))
            img->pinned = true;
    }
    ctrd_image_records_release(d, held);
    return rc;
}

int ctrd_image_complete(ctrd_backend *d, const cs_ctx *ctx, const char *const *names, size_t n, const char *target,
                        cs_arena *a, const char **id, cs_error *err)
{
    *id = NULL;
    const Containerd__Services__Images__V1__ListImagesResponse *r;
    bool held;
    if (ctrd_image_records(d, ctx, a, &r, &held, err) != 0)
        return -1;
    size_t found = 0;
    const Containerd__Services__Images__V1__Image *rec = NULL;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < r->n_images; i++)
            if (!strcmp(r->images[i]->name, names[k]) && r->images[i]->target && r->images[i]->target->digest &&
                !strcmp(r->images[i]->target->digest, target)) {
                found++;
                rec = r->images[i];
                break;
            }
    char media_type[128] = "";
    int64_t size = 0;
    if (found == n && rec) {
        snprintf(media_type, sizeof media_type, "%s", rec->target->media_type);
        size = rec->target->size;
    }
    ctrd_image_records_release(d, held);
    if (found != n)
        return 0;
    const ctrd_view *v;
    cs_error e;
    if (ctrd_image_view(d, ctx, media_type, target, size, &v, &e) != 0)
        return 0; /* content missing: pull it again */
    bool exists = true;
    if (v->top_chain[0] && ctrd_snapshot_exists(d, ctx, v->top_chain, a, &exists, err) != 0)
        return -1;
    if (exists)
        *id = cs_arena_strdup(a, v->config);
    return 0;
}

static bool image_matches(const cs_image *img, const cs_imageref *r, const char *full)
{
    if (r->is_id)
        return !strcmp(img->id, r->id);
    for (size_t i = 0; i < img->n_repo_tags; i++)
        if (!strcmp(img->repo_tags[i], full))
            return true;
    for (size_t i = 0; i < img->n_repo_digests; i++)
        if (!strcmp(img->repo_digests[i], full))
            return true;
    return false;
}

int ctrd_image_list(cs_backend *b, const cs_ctx *ctx, const char *filter_ref, cs_arena *a, cs_image ***out,
                    size_t *n, cs_error *err)
{
    image_set set;
    if (list_all(ctrd_of(b), ctx, a, &set, err) != 0)
        return -1;
    cs_imageref r;
    bool filter = filter_ref && *filter_ref && cs_imageref_parse(filter_ref, &r, NULL) == 0;
    char *full = filter && !r.is_id ? cs_imageref_full(&r, a) : NULL;
    cs_image **imgs = cs_arena_array(a, set.n + 1, sizeof *imgs);
    size_t k = 0;
    for (size_t i = 0; i < set.n; i++)
        if (!filter_ref || !*filter_ref || (filter && image_matches(set.items[i], &r, full)))
            imgs[k++] = set.items[i];
    *out = imgs;
    *n = k;
    return 0;
}

static char *verbose_info(ctrd_backend *d, const cs_ctx *ctx, const cs_image *img, cs_arena *a)
{
    char *cfg;
    size_t len;
    cs_error e;
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    /* chainID as containerd's CRI reports it: the top layer's snapshot */
    const ctrd_view *v = NULL;
    pthread_mutex_lock(&d->views_mu);
    for (size_t i = 0; i < d->n_views && !v; i++)
        if (!strcmp(d->views[i]->config, img->id))
            v = d->views[i];
    pthread_mutex_unlock(&d->views_mu);
    if (v && v->top_chain[0])
        cs_jw_kv_str(&w, "chainID", v->top_chain);
    cs_jw_kv_str(&w, "snapshotter", d->snapshotter);
    if (ctrd_content_read(d->client, ctx, img->id, MANIFEST_MAX, a, &cfg, &len, &e) == 0 && len > 0 &&
        cfg[0] == '{') {
        cs_jw_key(&w, "imageSpec");
        cs_jw_raw(&w, cfg, len);
    }
    cs_jw_obj_end(&w);
    char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

int ctrd_image_find(ctrd_backend *d, const cs_ctx *ctx, const char *ref, cs_arena *a, cs_image **out, cs_error *err)
{
    *out = NULL;
    cs_imageref r;
    if (ctrd_parse_ref(ref, &r, err) != 0)
        return -1;
    image_set set;
    if (list_all(d, ctx, a, &set, err) != 0)
        return -1;
    char *full = r.is_id ? NULL : cs_imageref_full(&r, a);
    for (size_t i = 0; i < set.n && !*out; i++)
        if (image_matches(set.items[i], &r, full))
            *out = set.items[i];
    return 0;
}

int ctrd_image_use_get(ctrd_backend *d, const cs_ctx *ctx, const char *ref, cs_arena *a, ctrd_image_use *out,
                       cs_error *err)
{
    memset(out, 0, sizeof *out);
    cs_image *img;
    if (ctrd_image_find(d, ctx, ref, a, &img, err) != 0)
        return -1;
    if (!img)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "image %s: not found", ref);
    char *body = NULL;
    size_t len = 0;
    const char **chain = NULL;
    /* The config as the image's view keeps it, else from the content store. */
    pthread_mutex_lock(&d->views_mu);
    for (size_t i = 0; i < d->n_views && !body; i++)
        if (!strcmp(d->views[i]->config, img->id) && d->views[i]->config_body) {
            len = d->views[i]->config_len;
            body = cs_arena_strndup(a, d->views[i]->config_body, len);
        }
    pthread_mutex_unlock(&d->views_mu);
    if ((!body && ctrd_content_read(d->client, ctx, img->id, MANIFEST_MAX, a, &body, &len, err) != 0) ||
        mf_config_parse(body, len, a, &out->config, err) != 0 ||
        (out->config.n_diff_ids &&
         mf_chain_ids(out->config.diff_ids, out->config.n_diff_ids, a, &chain, err) != 0))
        return cs_error_wrap(err, "image %s", ref);
    out->id = img->id;
    out->top_chain = chain ? chain[out->config.n_diff_ids - 1] : "";
    return 0;
}

int ctrd_image_status(cs_backend *b, const cs_ctx *ctx, const char *ref, bool verbose, cs_arena *a, cs_image **out,
                      cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    if (ctrd_image_find(d, ctx, ref, a, out, err) != 0)
        return cs_error_wrap(err, "image status %s", ref);
    if (*out && verbose)
        (*out)->info_json = verbose_info(d, ctx, *out, a);
    return 0;
}

/* ---- records ---- */

int ctrd_image_record_delete(ctrd_backend *d, const cs_ctx *ctx, const char *name, bool sync, cs_arena *a,
                             cs_error *err)
{
    Containerd__Services__Images__V1__DeleteImageRequest req =
        CONTAINERD__SERVICES__IMAGES__V1__DELETE_IMAGE_REQUEST__INIT;
    req.name = (char *)name;
    req.sync = sync;
    ProtobufCMessage *r;
    cs_error e;
    if (ctrd_unary(d->client, ctx, IMAGES("Delete"), &req.base, &google__protobuf__empty__descriptor, NULL, a, &r,
                   &e) == 0 ||
        e.code == CS_ERR_NOT_FOUND)
        return 0;
    if (err)
        *err = e;
    return -1;
}

int ctrd_image_record_put(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const char *name,
                          const char *media_type, const char *digest, int64_t size, bool pinned, cs_arena *a,
                          cs_error *err)
{
    cs_kv kv[2] = {{CTRD_LABEL_IMAGE, "managed"}, {CTRD_LABEL_PINNED, "pinned"}};
    size_t nkv = pinned ? 2 : 1;
    Containerd__Types__Descriptor target = CONTAINERD__TYPES__DESCRIPTOR__INIT;
    target.media_type = (char *)media_type;
    target.digest = (char *)digest;
    target.size = size;
    Containerd__Services__Images__V1__Image img = CONTAINERD__SERVICES__IMAGES__V1__IMAGE__INIT;
    img.name = (char *)name;
    img.target = &target;
    img.n_labels = nkv;
    img.labels = (Containerd__Services__Images__V1__Image__LabelsEntry **)ctrd_map_entries(
        a, &containerd__services__images__v1__image__labels_entry__descriptor, kv, nkv);
    Containerd__Services__Images__V1__CreateImageRequest req =
        CONTAINERD__SERVICES__IMAGES__V1__CREATE_IMAGE_REQUEST__INIT;
    req.image = &img;
    ProtobufCMessage *r;
    cs_error e;
    int rc = ctrd_unary(d->client, ctx, IMAGES("Create"), &req.base,
                        &containerd__services__images__v1__create_image_response__descriptor, lease, a, &r, &e);
    ctrd_image_cache_invalidate(d);
    if (rc == 0)
        return 0;
    if (e.code != CS_ERR_EXISTS) {
        if (err)
            *err = e;
        return cs_error_wrap(err, "image record %s", name);
    }
    /* The name exists (a re-pull, or a tag moved): point it here. */
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.n_paths = 1 + nkv;
    mask.paths = cs_arena_array(a, 1 + nkv, sizeof *mask.paths);
    mask.paths[0] = "target";
    for (size_t i = 0; i < nkv; i++)
        mask.paths[1 + i] = cs_arena_printf(a, "labels.%s", kv[i].key);
    Containerd__Services__Images__V1__UpdateImageRequest up =
        CONTAINERD__SERVICES__IMAGES__V1__UPDATE_IMAGE_REQUEST__INIT;
    up.image = &img;
    up.update_mask = &mask;
    rc = ctrd_unary(d->client, ctx, IMAGES("Update"), &up.base,
                    &containerd__services__images__v1__update_image_response__descriptor, lease, a, &r, err);
    ctrd_image_cache_invalidate(d);
    if (rc != 0)
        return cs_error_wrap(err, "image record %s", name);
    return 0;
}

/* CRI removes the image, not one name of it: every record goes; the last
 * delete is synchronous so containerd's GC has freed the content and
 * snapshots when RemoveImage returns. Absent is success. */
int ctrd_image_remove(cs_backend *b, const cs_ctx *ctx, const char *ref, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    cs_arena *a = cs_arena_new();
    cs_image *img;
    int rc = ctrd_image_find(d, ctx, ref, a, &img, err);
    if (rc == 0 && img) {
        for (size_t i = 0; i < img->n_repo_tags && rc == 0; i++)
            rc = ctrd_image_record_delete(d, ctx, img->repo_tags[i], false, a, err);
        for (size_t i = 0; i < img->n_repo_digests && rc == 0; i++)
            rc = ctrd_image_record_delete(d, ctx, img->repo_digests[i], false, a, err);
        if (rc == 0)
            rc = ctrd_image_record_delete(d, ctx, img->id, true, a, err);
        ctrd_image_cache_invalidate(d);
    }
    if (rc != 0)
        cs_error_wrap(err, "remove image %s", ref);
    cs_arena_free(a);
    return rc;
}

/* ---- filesystem usage ---- */

/* The snapshotter's own directory (where image layers are unpacked), not the
 * filesystem it lives on. */
int ctrd_image_fs_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_fs_usage *image_fs,
                       cs_fs_usage *container_fs, bool *has_container_fs, cs_error *err)
{
    cs_engine_info info;
    if (ctrd_info(b, ctx, a, &info, err) != 0)
        return cs_error_wrap(err, "image filesystem");
    if (!info.snapshotter_root)
        return cs_error_set(err, CS_ERR_INTERNAL, "image filesystem: containerd reports no root for snapshotter %s",
                            info.storage_driver);
    cs_disk_usage du;
    if (cs_disk_usage_of(info.snapshotter_root, &du, err) != 0)
        return cs_error_wrap(err, "image filesystem");
    memset(image_fs, 0, sizeof *image_fs);
    image_fs->timestamp_ns = cs_time_now_ns();
    image_fs->mountpoint = info.snapshotter_root;
    image_fs->used_bytes = du.bytes;
    image_fs->inodes_used = du.inodes;
    image_fs->has_inodes = true;
    memset(container_fs, 0, sizeof *container_fs);
    *has_container_fs = false;
    return 0;
}
