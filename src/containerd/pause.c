/* The sandbox image without a registry: when the configured pause image is
 * crishim's own (localhost/crishim/pause:<version>) and missing, crishim
 * builds it from its static pause program as a one-layer OCI image (tar,
 * gzip, config and manifest written into the content store, unpacked, the
 * records pinned) — the containerd twin of the Docker backend's import. The
 * build is deterministic (mtime 0, no creation time), so one binary always
 * makes the same image id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "backend/imageref.h"
#include "backend/tar.h"
#include "containerd/content.h"
#include "containerd/images.h"
#include "containerd/manifest.h"
#include "containerd/pause.h"
#include "containerd/unpack.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"

#define PAUSE_MAX (8 * 1024 * 1024)
#define LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"

static pthread_mutex_t build_mu = PTHREAD_MUTEX_INITIALIZER;

bool ctrd_is_pause_image(ctrd_backend *d, const char *full, cs_arena *a)
{
    cs_imageref r;
    if (!d->pause_image || cs_imageref_parse(d->pause_image, &r, NULL) != 0)
        return false;
    return !strcmp(cs_imageref_full(&r, a), full);
}

int ctrd_gzip(const void *data, size_t len, char **out, size_t *out_len, cs_error *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip wrapper (no name, mtime 0), as layers are */
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return cs_error_set(err, CS_ERR_INTERNAL, "gzip: cannot initialise zlib");
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return cs_error_set(err, CS_ERR_INTERNAL, "gzip: deflate failed (%d)", rc);
    }
    *out = buf;
    return 0;
}

char *ctrd_pause_config_json(const char *diff_id, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "architecture", "amd64");
    cs_jw_kv_str(&w, "os", "linux");
    cs_jw_key(&w, "config");
    cs_jw_obj_begin(&w);
    cs_jw_key(&w, "Entrypoint");
    cs_jw_arr_begin(&w);
    cs_jw_string(&w, "/pause");
    cs_jw_arr_end(&w);
    cs_jw_obj_end(&w);
    cs_jw_key(&w, "rootfs");
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "type", "layers");
    cs_jw_key(&w, "diff_ids");
    cs_jw_arr_begin(&w);
    cs_jw_string(&w, diff_id);
    cs_jw_arr_end(&w);
    cs_jw_obj_end(&w);
    cs_jw_obj_end(&w);
    char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

static void desc_json(cs_jw *w, const char *media_type, const char *digest, size_t size)
{
    cs_jw_obj_begin(w);
    cs_jw_kv_str(w, "mediaType", media_type);
    cs_jw_kv_str(w, "digest", digest);
    cs_jw_kv_int(w, "size", (int64_t)size);
    cs_jw_obj_end(w);
}

char *ctrd_pause_manifest_json(const char *config_digest, size_t config_size, const char *layer_digest,
                               size_t layer_size, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_int(&w, "schemaVersion", 2);
    cs_jw_kv_str(&w, "mediaType", MF_MANIFEST_OCI);
    cs_jw_key(&w, "config");
    desc_json(&w, MF_CONFIG_OCI, config_digest, config_size);
    cs_jw_key(&w, "layers");
    cs_jw_arr_begin(&w);
    desc_json(&w, LAYER_GZIP, layer_digest, layer_size);
    cs_jw_arr_end(&w);
    cs_jw_obj_end(&w);
    char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

static int build(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const cs_imageref *r, cs_arena *a,
                 const char **image_id, cs_error *err)
{
    char *bin = NULL, *tar = NULL, *gz = NULL;
    size_t bin_len, tar_len, gz_len;
    int rc = -1;
    if (cs_read_file(d->pause_binary, PAUSE_MAX, &bin, &bin_len, err) != 0)
        goto out;
    tar = cs_tar_one_file("pause", bin, bin_len, &tar_len);
    if (ctrd_gzip(tar, tar_len, &gz, &gz_len, err) != 0)
        goto out;
    char diff_id[72], layer[72], config[72], manifest[72];
    mf_sha256_digest(tar, tar_len, diff_id);
    mf_sha256_digest(gz, gz_len, layer);
    char *cfg = ctrd_pause_config_json(diff_id, a);
    mf_sha256_digest(cfg, strlen(cfg), config);
    char *man = ctrd_pause_manifest_json(config, strlen(cfg), layer, gz_len, a);
    mf_sha256_digest(man, strlen(man), manifest);

    cs_kv lkv[] = {{"containerd.io/uncompressed", diff_id}};
    if (ctrd_content_put(d->client, ctx, lease, cs_arena_printf(a, "layer-%s", layer), layer, gz, gz_len, lkv, 1, a,
                         err) != 0)
        goto out;
    ctrd_layer l = {LAYER_GZIP, layer, (int64_t)gz_len, diff_id, diff_id}; /* one layer: chain id = diff id */
    if (ctrd_unpack(d, ctx, lease, &l, 1, a, err) != 0)
        goto out;
    cs_kv ckv[] = {{cs_arena_printf(a, "containerd.io/gc.ref.snapshot.%s", d->snapshotter), diff_id}};
    if (ctrd_content_put(d->client, ctx, lease, cs_arena_printf(a, "config-%s", config), config, cfg, strlen(cfg),
                         ckv, 1, a, err) != 0)
        goto out;
    cs_kv mkv[] = {{"containerd.io/gc.ref.content.config", config}, {"containerd.io/gc.ref.content.l.0", layer}};
    if (ctrd_content_put(d->client, ctx, lease, cs_arena_printf(a, "manifest-%s", manifest), manifest, man,
                         strlen(man), mkv, 2, a, err) != 0)
        goto out;
    int64_t msize = (int64_t)strlen(man);
    const char *names[] = {config, cs_imageref_full(r, a),
                           cs_arena_printf(a, "%s@%s", cs_imageref_repo(r, a), manifest)};
    for (size_t i = 0; i < 3; i++)
        if (ctrd_image_record_put(d, ctx, lease, names[i], MF_MANIFEST_OCI, manifest, msize, true, a, err) != 0)
            goto out;
    *image_id = cs_arena_strdup(a, config);
    cs_info("built the pause image", "image", names[1], "from", d->pause_binary, "id", config, NULL);
    rc = 0;
out:
    free(bin);
    free(tar);
    free(gz);
    return rc;
}

int ctrd_pause_ensure(ctrd_backend *d, const cs_ctx *ctx, cs_arena *a, const char **image_id, cs_error *err)
{
    cs_imageref r;
    if (cs_imageref_parse(d->pause_image, &r, err) != 0)
        return cs_error_wrap(err, "pause image");
    pthread_mutex_lock(&build_mu);
    cs_image *img;
    int rc = ctrd_image_find(d, ctx, d->pause_image, a, &img, err);
    if (rc == 0 && img) {
        *image_id = img->id;
    } else if (rc == 0 && !d->pause_binary) {
        rc = cs_error_set(err, CS_ERR_NOT_FOUND, "pause image %s is missing and no pause binary is configured",
                          d->pause_image);
    } else if (rc == 0) {
        const char *lease;
        rc = ctrd_lease_create(d->client, ctx, "pause", a, &lease, err);
        if (rc == 0) {
            rc = build(d, ctx, lease, &r, a, image_id, err);
            ctrd_lease_delete(d->client, lease);
        }
        if (rc != 0)
            cs_error_wrap(err, "build pause image %s from %s", d->pause_image, d->pause_binary);
    }
    pthread_mutex_unlock(&build_mu);
    return rc;
}
