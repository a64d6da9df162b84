/* Image operations of the Docker backend: list, inspect, pull (with registry
 * auth and the progress stream read to the end), remove, filesystem usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "backend/imageref.h"
#include "backend/security.h"
#include "docker/internal.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"
#include "util/url.h"

/* A pull that receives nothing at all for this long is stuck; one that is
 * merely slow keeps going as long as bytes arrive. */
#define PULL_STALL_MS (10 * 60 * 1000)

/* ---- JSON → cs_image ---- */

/* Docker reports "busybox:latest"; CRI clients expect the fully qualified
 * "docker.io/library/busybox:latest". Docker's "<none>" placeholders go. */
static const char **normalized_refs(const cs_json *j, int arr, cs_arena *a, size_t *n)
{
    int count = cs_json_count(j, arr);
    const char **out = cs_arena_array(a, (size_t)count + 1, sizeof *out);
    *n = 0;
    for (int it = cs_json_first(j, arr); it >= 0; it = cs_json_next(j, arr, it)) {
        char *raw = cs_json_str(j, it, a);
        char *norm = cs_imageref_normalize(raw, a);
        if (!norm)
            continue;
        bool dup = false;
        for (size_t k = 0; k < *n && !dup; k++)
            dup = !strcmp(out[k], norm);
        if (!dup)
            out[(*n)++] = norm;
    }
    return out;
}

/* The image config's User: only the user part matters to CRI, a uid when
 * numeric, else a name. */
static void set_user(cs_image *img, const char *user, cs_arena *a)
{
    cs_user u;
    cs_security_parse_user(user, a, &u);
    img->has_uid = u.has_uid;
    img->uid = u.uid;
    img->username = u.name;
}

static cs_image *image_from_json(const cs_json *j, int obj, cs_arena *a)
{
    cs_image *img = cs_arena_alloc(a, sizeof *img);
    img->id = cs_json_get_str(j, obj, "Id", a);
    img->repo_tags = normalized_refs(j, cs_json_key(j, obj, "RepoTags"), a, &img->n_repo_tags);
    img->repo_digests = normalized_refs(j, cs_json_key(j, obj, "RepoDigests"), a, &img->n_repo_digests);
    int64_t size = cs_json_get_int64(j, obj, "Size", 0);
    img->size = size > 0 ? (uint64_t)size : 0;
    set_user(img, cs_json_get_str(j, obj, "Config.User", a), a);
    return img;
}

/* ---- matching a reference against an image, as ListImages' filter does ---- */

static bool image_matches(const cs_image *img, const char *ref, cs_arena *a)
{
    cs_imageref r;
    if (cs_imageref_parse(ref, &r, NULL) != 0)
        return false;
    if (r.is_id)
        return img->id && !strcmp(img->id, r.id);
    char *full = cs_imageref_full(&r, a);
    for (size_t i = 0; i < img->n_repo_tags; i++)
        if (!strcmp(img->repo_tags[i], full))
            return true;
    for (size_t i = 0; i < img->n_repo_digests; i++)
        if (!strcmp(img->repo_digests[i], full))
            return true;
    return false;
}

int docker_image_list(cs_backend *b, const cs_ctx *ctx, const char *filter_ref, cs_arena *a, cs_image ***out,
                      size_t *n, cs_error *err)
{
    docker_backend *d = docker_of(b);
    docker_response resp = {0};
    cs_json *j;
    if (docker_get_json(d, ctx, "/images/json", &resp, &j, err) != 0)
        return cs_error_wrap(err, "list images");
    int count = cs_json_count(j, 0);
    cs_image **imgs = cs_arena_array(a, (size_t)count + 1, sizeof *imgs);
    size_t k = 0;
    for (int it = cs_json_first(j, 0); it >= 0; it = cs_json_next(j, 0, it)) {
        cs_image *img = image_from_json(j, it, a);
        if (!img->id)
            continue;
        if (filter_ref && *filter_ref && !image_matches(img, filter_ref, a))
            continue;
        imgs[k++] = img;
    }
    docker_json_release(&resp, j);
    *out = imgs;
    *n = k;
    return 0;
}

/* Inspects an image by whatever the client sent. *img NULL when absent. */
static int inspect(docker_backend *d, const cs_ctx *ctx, const char *ref, bool verbose, cs_arena *a, cs_image **img,
                   cs_error *err)
{
    *img = NULL;
    char *path = cs_arena_printf(a, "/images/%s/json", cs_url_path_escape(ref, a));
    docker_response resp = {0};
    if (docker_request(d->http, ctx, "GET", path, NULL, 0, NULL, &resp, err) != 0)
        return -1;
    if (resp.status == 404) {
        docker_response_clear(&resp);
        return 0;
    }
    if (resp.status >= 400) {
        docker_error_from_response(&resp, err);
        docker_response_clear(&resp);
        return -1;
    }
    cs_json *j;
    if (cs_json_parse(resp.body, resp.body_len, &j, err) != 0) {
        docker_response_clear(&resp);
        return cs_error_wrap(err, "inspect image %s", ref);
    }
    *img = image_from_json(j, 0, a);
    if (verbose) {
        size_t len;
        const char *raw = cs_json_raw(j, 0, &len);
        (*img)->info_json = cs_arena_strndup(a, raw, len);
    }
    docker_json_release(&resp, j);
    return 0;
}

/* Docker resolves short ids and names alike; a client's "docker.io/library/x"
 * and "x" are the same image, and an id must be an image id, not a tag that
 * happens to look like one. */
int docker_image_status(cs_backend *b, const cs_ctx *ctx, const char *ref, bool verbose, cs_arena *a, cs_image **out,
                        cs_error *err)
{
    cs_imageref r;
    if (cs_imageref_parse(ref, &r, err) != 0)
        return -1;
    const char *lookup = r.is_id ? r.id : cs_imageref_full(&r, a);
    if (inspect(docker_of(b), ctx, lookup, verbose, a, out, err) != 0)
        return cs_error_wrap(err, "image status %s", ref);
    return 0;
}

/* ---- pull ---- */

/* X-Registry-Auth: base64url of Docker's AuthConfig JSON. CRI's `auth` field
 * (base64 "user:pass") is decoded here, since the daemon reads only the
 * username and password fields. */
static int auth_header(const cs_auth *auth, const cs_imageref *r, cs_arena *a, char **header, cs_error *err)
{
    *header = NULL;
    if (!auth)
        return 0;
    const char *user = auth->username, *pass = auth->password;
    char *decoded_user = NULL;
    if ((!user || !*user) && auth->auth && *auth->auth) {
        unsigned char *raw;
        size_t len;
        if (cs_base64_decode(auth->auth, strlen(auth->auth), &raw, &len) != 0)
            return cs_error_set(err, CS_ERR_INVALID, "auth.auth is not valid base64");
        char *colon = memchr(raw, ':', len);
        if (!colon) {
            free(raw);
            return cs_error_set(err, CS_ERR_INVALID, "auth.auth does not decode to user:password");
        }
        decoded_user = cs_arena_strndup(a, (char *)raw, (size_t)(colon - (char *)raw));
        pass = cs_arena_strndup(a, colon + 1, len - (size_t)(colon + 1 - (char *)raw));
        user = decoded_user;
        free(raw);
    }
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    if (user && *user)
        cs_jw_kv_str(&w, "username", user);
    if (pass && *pass)
        cs_jw_kv_str(&w, "password", pass);
    cs_jw_kv_str(&w, "serveraddress",
                 auth->server_address && *auth->server_address ? auth->server_address : r->domain);
    if (auth->identity_token && *auth->identity_token)
        cs_jw_kv_str(&w, "identitytoken", auth->identity_token);
    if (auth->registry_token && *auth->registry_token)
        cs_jw_kv_str(&w, "registrytoken", auth->registry_token);
    cs_jw_obj_end(&w);
    size_t len;
    char *json = cs_jw_take(&w, &len);
    char *b64 = cs_base64_encode(json, len, true);
    *header = cs_arena_printf(a, "X-Registry-Auth: %s", b64);
    free(json);
    free(b64);
    return 0;
}

typedef struct pull_state {
    const char *ref;
    char last_status[256];
    cs_error stream_err; /* the first error line */
    bool failed;
} pull_state;

/* Each line is one JSON progress object. An error anywhere fails the pull,
 * but the stream is still read to its end so Docker finishes cleanly. */
static int pull_line(void *user, const char *line, size_t len, cs_error *err)
{
    pull_state *ps = user;
    cs_json *j;
    if (len == 0 || cs_json_parse(line, len, &j, NULL) != 0)
        return 0;
    int e = cs_json_key(j, 0, "error");
    if (e >= 0 && !ps->failed) {
        char *msg = cs_json_str(j, e, NULL);
        cs_error_set(&ps->stream_err, CS_ERR_UNKNOWN, "%s", msg ? msg : "unknown error");
        free(msg);
        ps->failed = true;
    }
    if (cs_log_enabled(CS_LOG_DEBUG)) {
        char *status = cs_json_str(j, cs_json_key(j, 0, "status"), NULL);
        /* Log each phase once, not every progress tick. */
        if (status && strcmp(status, ps->last_status) != 0) {
            snprintf(ps->last_status, sizeof ps->last_status, "%s", status);
            cs_debug("pull progress", "image", ps->ref, "status", status, NULL);
        }
        free(status);
    }
    cs_json_free(j);
    return 0;
}

/* Registry answers arrive as free text; give the ones users act on a code and
 * a first word that says what happened. */
static void classify_pull_error(cs_error *err)
{
    const char *m = err->msg;
    if (strstr(m, "unauthorized") || strstr(m, "authentication required") || strstr(m, "no basic auth") ||
        strstr(m, "incorrect username or password")) {
        err->code = CS_ERR_UNAUTHENTICATED;
        cs_error_wrap(err, "authentication failed");
    } else if (strstr(m, "manifest unknown") || strstr(m, "not found") || strstr(m, "does not exist")) {
        err->code = CS_ERR_NOT_FOUND;
    } else if (strstr(m, "denied")) {
        err->code = CS_ERR_PERMISSION;
    } else if (strstr(m, "dial tcp") || strstr(m, "no such host") || strstr(m, "connection refused") ||
               strstr(m, "i/o timeout") || strstr(m, "TLS handshake timeout")) {
        err->code = CS_ERR_UNAVAILABLE;
        cs_error_wrap(err, "registry unreachable");
    } else if (err->code == CS_ERR_UNKNOWN || err->code == CS_ERR_INTERNAL) {
        err->code = CS_ERR_UNKNOWN;
    }
}

int docker_image_pull(cs_backend *b, const cs_ctx *ctx, const char *ref, const cs_auth *auth, cs_arena *a,
                      const char **image_id, cs_error *err)
{
    cs_error local;
    if (!err) /* callers that only want success or not */
        err = &local;
    docker_backend *d = docker_of(b);
    cs_imageref r;
    if (cs_imageref_parse(ref, &r, err) != 0)
        return -1;
    if (r.is_id)
        return cs_error_set(err, CS_ERR_INVALID, "cannot pull %s: an image id names no registry", ref);
    const char *full = cs_imageref_full(&r, a);
    char *header;
    if (auth_header(auth, &r, a, &header, err) != 0)
        return cs_error_wrap(err, "pull %s", full);
    const char *headers[] = {header, NULL};
    char *path = cs_arena_printf(a, "/images/create?fromImage=%s&tag=%s",
                                 cs_url_query_escape(cs_imageref_repo(&r, a), a),
                                 cs_url_query_escape(r.digest[0] ? r.digest : (r.tag[0] ? r.tag : "latest"), a));
    pull_state ps = {.ref = full};
    long status = 0;
    cs_debug("pull", "image", full, NULL);
    if (docker_stream_lines(d->http, ctx, "POST", path, NULL, 0, header ? headers : NULL, PULL_STALL_MS, pull_line,
                            &ps, &status, err) != 0) {
        if (err->code != CS_ERR_UNAVAILABLE && err->code != CS_ERR_DEADLINE && err->code != CS_ERR_CANCELLED)
            classify_pull_error(err);
        return cs_error_wrap(err, "pull %s", full);
    }
    if (ps.failed) {
        *err = ps.stream_err;
        classify_pull_error(err);
        return cs_error_wrap(err, "pull %s", full);
    }
    /* Trust the image store, not the stream: the image must be there now. */
    cs_image *img;
    if (inspect(d, ctx, full, false, a, &img, err) != 0)
        return cs_error_wrap(err, "pull %s", full);
    if (!img || !img->id)
        return cs_error_set(err, CS_ERR_INTERNAL, "pull %s: docker reported success but has no such image", full);
    *image_id = img->id;
    cs_info("pulled image", "image", full, "id", img->id, NULL);
    return 0;
}

/* ---- remove ---- */

static int delete_ref(docker_backend *d, const cs_ctx *ctx, const char *name, cs_arena *a, cs_error *err)
{
    return docker_call_idempotent(d, ctx, "DELETE", cs_arena_printf(a, "/images/%s", cs_url_path_escape(name, a)), err);
}

/* CRI removes the image, not one name of it: every tag goes, then the id.
 * Absent is success (RemoveImage is idempotent). */
int docker_image_remove(cs_backend *b, const cs_ctx *ctx, const char *ref, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_arena *a = cs_arena_new();
    cs_image *img;
    int rc = docker_image_status(b, ctx, ref, false, a, &img, err);
    if (rc == 0 && img) {
        for (size_t i = 0; i < img->n_repo_tags && rc == 0; i++)
            rc = delete_ref(d, ctx, img->repo_tags[i], a, err);
        if (rc == 0)
            rc = delete_ref(d, ctx, img->id, a, err);
        /* A concurrent RemoveImage of the same image can make Docker fail
         * ours half-way (a conflict, or a 500 "unrecognized image ID" when
         * the other removal got there first); gone by now is success all the
         * same. */
        if (rc != 0 && err && (err->code == CS_ERR_CONFLICT || err->code == CS_ERR_INTERNAL ||
                               err->code == CS_ERR_NOT_FOUND)) {
            cs_image *again;
            if (docker_image_status(b, ctx, img->id, false, a, &again, NULL) == 0 && !again)
                rc = 0;
        }
        if (rc != 0)
            cs_error_wrap(err, "remove image %s", ref);
    }
    cs_arena_free(a);
    return rc;
}

/* ---- filesystem usage ---- */

int docker_image_fs_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_fs_usage *image_fs,
                         cs_fs_usage *container_fs, bool *has_container_fs, cs_error *err)
{
    docker_backend *d = docker_of(b);
    cs_engine_info info;
    if (docker_info(b, ctx, a, &info, err) != 0)
        return cs_error_wrap(err, "image filesystem");
    docker_response resp = {0};
    cs_json *j;
    if (docker_get_json(d, ctx, "/system/df", &resp, &j, err) != 0)
        return cs_error_wrap(err, "image filesystem");
    int64_t layers = cs_json_get_int64(j, 0, "LayersSize", 0);
    int64_t rw = 0;
    int containers = cs_json_key(j, 0, "Containers");
    for (int it = cs_json_first(j, containers); it >= 0; it = cs_json_next(j, containers, it))
        rw += cs_json_get_int64(j, it, "SizeRw", 0);
    docker_json_release(&resp, j);

    int64_t now = cs_time_now_ns();
    const char *mount = cs_arena_printf(a, "%s/%s", info.root_dir ? info.root_dir : "/var/lib/docker",
                                        info.storage_driver ? info.storage_driver : "");
    memset(image_fs, 0, sizeof *image_fs);
    image_fs->timestamp_ns = now;
    image_fs->mountpoint = mount;
    image_fs->used_bytes = layers > 0 ? (uint64_t)layers : 0;
    /* Inodes are a property of the filesystem: readable when crishim runs on
     * the engine's host, as it does. */
    struct statvfs vfs;
    if (statvfs(mount, &vfs) == 0 && vfs.f_files > 0) {
        image_fs->has_inodes = true;
        image_fs->inodes_used = (uint64_t)(vfs.f_files - vfs.f_ffree);
    }
    *container_fs = *image_fs;
    container_fs->used_bytes = rw > 0 ? (uint64_t)rw : 0;
    *has_container_fs = true;
    return 0;
}
