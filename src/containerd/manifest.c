/* Parsing of registry manifests, indexes and image configs; see manifest.h.
 * Everything the pull trusts from a registry passes through here, so every
 * field is type-checked and bounded before it reaches a reg_desc. */
#include "containerd/manifest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/time.h"

bool mf_is_index(const char *media_type)
{
    return media_type && (!strcmp(media_type, MF_INDEX_OCI) || !strcmp(media_type, MF_INDEX_DOCKER));
}

bool mf_is_manifest(const char *media_type)
{
    return media_type && (!strcmp(media_type, MF_MANIFEST_OCI) || !strcmp(media_type, MF_MANIFEST_DOCKER));
}

bool mf_digest_valid(const char *digest)
{
    if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 7 + 64)
        return false;
    for (const char *p = digest + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

void mf_sha256_digest(const void *data, size_t len, char out[72])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

static int parse_doc(const char *what, const char *body, size_t len, cs_json **j, cs_error *err)
{
    if (!body || len == 0)
        return cs_error_set(err, CS_ERR_INVALID, "%s: empty body", what);
    if (cs_json_parse(body, len, j, err) != 0) {
        err->code = CS_ERR_INVALID;
        return cs_error_wrap(err, "%s", what);
    }
    if (cs_json_type_of(*j, 0) != CS_JSON_OBJECT) {
        cs_json_free(*j);
        *j = NULL;
        return cs_error_set(err, CS_ERR_INVALID, "%s: not a JSON object", what);
    }
    return 0;
}

/* A descriptor object {mediaType, digest, size} at tok; `field` names it in
 * errors ("layers[2]"). media type optional only when default_mt is given. */
static int parse_desc(const cs_json *j, int tok, const char *what, const char *field, const char *default_mt,
                      reg_desc *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    if (cs_json_type_of(j, tok) != CS_JSON_OBJECT)
        return cs_error_set(err, CS_ERR_INVALID, "%s: %s is missing or not an object", what, field);
    int mt = cs_json_key(j, tok, "mediaType");
    size_t n = 0;
    if (mt >= 0) {
        if (cs_json_type_of(j, mt) != CS_JSON_STRING)
            return cs_error_set(err, CS_ERR_INVALID, "%s: %s.mediaType is not a string", what, field);
        char *s = cs_json_str(j, mt, NULL);
        n = strlen(s);
        if (n == 0 || n >= sizeof out->media_type) {
            free(s);
            return cs_error_set(err, CS_ERR_INVALID, "%s: %s.mediaType is empty or too long", what, field);
        }
        memcpy(out->media_type, s, n + 1);
        free(s);
    } else if (default_mt) {
        snprintf(out->media_type, sizeof out->media_type, "%s", default_mt);
    } else {
        return cs_error_set(err, CS_ERR_INVALID, "%s: %s.mediaType is missing", what, field);
    }
    int dg = cs_json_key(j, tok, "digest");
    if (dg < 0)
        return cs_error_set(err, CS_ERR_INVALID, "%s: %s.digest is missing", what, field);
    char *d = cs_json_str(j, dg, NULL);
    bool ok = d && mf_digest_valid(d);
    if (ok)
        snprintf(out->digest, sizeof out->digest, "%s", d);
    free(d);
    if (!ok)
        return cs_error_set(err, CS_ERR_INVALID, "%s: %s.digest is not a sha256 digest", what, field);
    int sz = cs_json_key(j, tok, "size");
    if (sz < 0)
        return cs_error_set(err, CS_ERR_INVALID, "%s: %s.size is missing", what, field);
    if (cs_json_int64(j, sz, &out->size) != 0 || out->size < 0)
        return cs_error_set(err, CS_ERR_INVALID, "%s: %s.size is not a non-negative integer", what, field);
    return 0;
}

static int check_schema(const cs_json *j, const char *what, cs_error *err)
{
    int64_t v = 0;
    int tok = cs_json_key(j, 0, "schemaVersion");
    if (tok < 0)
        return cs_error_set(err, CS_ERR_INVALID, "%s: schemaVersion is missing", what);
    if (cs_json_int64(j, tok, &v) != 0 || v != 2)
        return cs_error_set(err, CS_ERR_INVALID, "%s: schemaVersion is not 2", what);
    return 0;
}

int mf_index_select(const char *body, size_t len, const char *os, const char *arch, reg_desc *out, cs_error *err)
{
    const char *what = "image index";
    cs_json *j = NULL;
    if (parse_doc(what, body, len, &j, err) != 0)
        return -1;
    int rc = -1;
    if (check_schema(j, what, err) != 0)
        goto out;
    int mt = cs_json_key(j, 0, "mediaType");
    if (mt >= 0 && !cs_json_str_eq(j, mt, MF_INDEX_OCI) && !cs_json_str_eq(j, mt, MF_INDEX_DOCKER)) {
        cs_error_set(err, CS_ERR_INVALID, "%s: mediaType is not an index type", what);
        goto out;
    }
    int list = cs_json_key(j, 0, "manifests");
    if (cs_json_type_of(j, list) != CS_JSON_ARRAY) {
        cs_error_set(err, CS_ERR_INVALID, "%s: manifests is missing or not an array", what);
        goto out;
    }
    int i = 0;
    for (int it = cs_json_first(j, list); it >= 0; it = cs_json_next(j, list, it), i++) {
        int plat = cs_json_key(j, it, "platform");
        if (!cs_json_str_eq(j, cs_json_key(j, plat, "os"), os) ||
            !cs_json_str_eq(j, cs_json_key(j, plat, "architecture"), arch))
            continue;
        char field[32];
        snprintf(field, sizeof field, "manifests[%d]", i);
        if (parse_desc(j, it, what, field, NULL, out, err) != 0)
            goto out;
        if (!mf_is_manifest(out->media_type)) {
            cs_error_set(err, CS_ERR_INVALID, "%s: %s.mediaType %s is not an image manifest", what, field,
                         out->media_type);
            goto out;
        }
        rc = 0;
        goto out;
    }
    cs_error_set(err, CS_ERR_NOT_FOUND, "%s: no manifest for platform %s/%s", what, os, arch);
out:
    cs_json_free(j);
    return rc;
}

int mf_manifest_parse(const char *body, size_t len, cs_arena *a, mf_manifest *out, cs_error *err)
{
    const char *what = "image manifest";
    memset(out, 0, sizeof *out);
    cs_json *j = NULL;
    if (parse_doc(what, body, len, &j, err) != 0)
        return -1;
    int rc = -1;
    if (check_schema(j, what, err) != 0)
        goto out;
    int mt = cs_json_key(j, 0, "mediaType");
    if (mt >= 0 && !cs_json_str_eq(j, mt, MF_MANIFEST_OCI) && !cs_json_str_eq(j, mt, MF_MANIFEST_DOCKER)) {
        cs_error_set(err, CS_ERR_INVALID, "%s: mediaType is not an image manifest type", what);
        goto out;
    }
    /* OCI allows the manifest's mediaType to be absent; its config then
     * defaults to the OCI config type. */
    if (parse_desc(j, cs_json_key(j, 0, "config"), what, "config", MF_CONFIG_OCI, &out->config, err) != 0)
        goto out;
    int layers = cs_json_key(j, 0, "layers");
    if (cs_json_type_of(j, layers) != CS_JSON_ARRAY) {
        cs_error_set(err, CS_ERR_INVALID, "%s: layers is missing or not an array", what);
        goto out;
    }
    size_t n = (size_t)cs_json_count(j, layers);
    out->layers = cs_arena_array(a, n ? n : 1, sizeof *out->layers);
    int i = 0;
    for (int it = cs_json_first(j, layers); it >= 0; it = cs_json_next(j, layers, it), i++) {
        char field[32];
        snprintf(field, sizeof field, "layers[%d]", i);
        if (parse_desc(j, it, what, field, NULL, &out->layers[i], err) != 0)
            goto out;
    }
    out->n_layers = n;
    rc = 0;
out:
    cs_json_free(j);
    if (rc != 0) {
        out->layers = NULL;
        out->n_layers = 0;
    }
    return rc;
}

/* An array of strings at tok into the arena; absent (or null) gives 0
 * entries. field names it in errors. */
static int str_array(const cs_json *j, int tok, cs_arena *a, const char *field, const char ***out, size_t *n,
                     cs_error *err)
{
    *out = NULL;
    *n = 0;
    cs_json_type t = cs_json_type_of(j, tok);
    if (t == CS_JSON_NONE || t == CS_JSON_NULL)
        return 0;
    if (t != CS_JSON_ARRAY)
        return cs_error_set(err, CS_ERR_INVALID, "image config: %s is not an array", field);
    size_t count = (size_t)cs_json_count(j, tok);
    const char **v = cs_arena_array(a, count + 1, sizeof *v);
    size_t i = 0;
    for (int it = cs_json_first(j, tok); it >= 0; it = cs_json_next(j, tok, it), i++) {
        v[i] = cs_json_str(j, it, a);
        if (!v[i])
            return cs_error_set(err, CS_ERR_INVALID, "image config: %s[%zu] is not a string", field, i);
    }
    *out = v;
    *n = count;
    return 0;
}

static int opt_str(const cs_json *j, int obj, const char *key, cs_arena *a, const char *field, const char **out,
                   cs_error *err)
{
    *out = NULL;
    int tok = cs_json_key(j, obj, key);
    cs_json_type t = cs_json_type_of(j, tok);
    if (t == CS_JSON_NONE || t == CS_JSON_NULL)
        return 0;
    if (t != CS_JSON_STRING)
        return cs_error_set(err, CS_ERR_INVALID, "image config: %s is not a string", field);
    *out = cs_json_str(j, tok, a);
    return 0;
}

int mf_config_parse(const char *body, size_t len, cs_arena *a, mf_image_config *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    cs_json *j = NULL;
    if (parse_doc("image config", body, len, &j, err) != 0)
        return -1;
    int rc = -1;
    int rootfs = cs_json_key(j, 0, "rootfs");
    if (cs_json_type_of(j, rootfs) != CS_JSON_OBJECT) {
        cs_error_set(err, CS_ERR_INVALID, "image config: rootfs is missing or not an object");
        goto out;
    }
    if (!cs_json_str_eq(j, cs_json_key(j, rootfs, "type"), "layers")) {
        cs_error_set(err, CS_ERR_INVALID, "image config: rootfs.type is not \"layers\"");
        goto out;
    }
    int ids = cs_json_key(j, rootfs, "diff_ids");
    if (cs_json_type_of(j, ids) != CS_JSON_ARRAY) {
        cs_error_set(err, CS_ERR_INVALID, "image config: rootfs.diff_ids is missing or not an array");
        goto out;
    }
    if (str_array(j, ids, a, "rootfs.diff_ids", &out->diff_ids, &out->n_diff_ids, err) != 0)
        goto out;
    for (size_t i = 0; i < out->n_diff_ids; i++)
        if (!mf_digest_valid(out->diff_ids[i])) {
            cs_error_set(err, CS_ERR_INVALID, "image config: rootfs.diff_ids[%zu] is not a sha256 digest", i);
            goto out;
        }
    if (opt_str(j, 0, "os", a, "os", &out->os, err) != 0 ||
        opt_str(j, 0, "architecture", a, "architecture", &out->arch, err) != 0)
        goto out;
    const char *created = NULL;
    if (opt_str(j, 0, "created", a, "created", &created, err) != 0)
        goto out;
    if (created && cs_time_parse_rfc3339(created, strlen(created), &out->created_ns) != 0) {
        cs_error_set(err, CS_ERR_INVALID, "image config: created is not an RFC 3339 time");
        goto out;
    }
    int cfg = cs_json_key(j, 0, "config");
    cs_json_type ct = cs_json_type_of(j, cfg);
    if (ct != CS_JSON_NONE && ct != CS_JSON_NULL && ct != CS_JSON_OBJECT) {
        cs_error_set(err, CS_ERR_INVALID, "image config: config is not an object");
        goto out;
    }
    if (ct != CS_JSON_OBJECT) {
        rc = 0;
        goto out;
    }
    if (opt_str(j, cfg, "User", a, "config.User", &out->user, err) != 0 ||
        opt_str(j, cfg, "WorkingDir", a, "config.WorkingDir", &out->working_dir, err) != 0 ||
        opt_str(j, cfg, "StopSignal", a, "config.StopSignal", &out->stop_signal, err) != 0 ||
        str_array(j, cs_json_key(j, cfg, "Env"), a, "config.Env", &out->env, &out->n_env, err) != 0 ||
        str_array(j, cs_json_key(j, cfg, "Entrypoint"), a, "config.Entrypoint", &out->entrypoint,
                  &out->n_entrypoint, err) != 0 ||
        str_array(j, cs_json_key(j, cfg, "Cmd"), a, "config.Cmd", &out->cmd, &out->n_cmd, err) != 0)
        goto out;
    int vols = cs_json_key(j, cfg, "Volumes");
    cs_json_type vt = cs_json_type_of(j, vols);
    if (vt == CS_JSON_OBJECT) {
        size_t count = (size_t)cs_json_count(j, vols);
        out->volumes = cs_arena_array(a, count + 1, sizeof *out->volumes);
        int k;
        for (int v = cs_json_first_member(j, vols, &k); v >= 0; v = cs_json_next_member(j, vols, v, &k))
            out->volumes[out->n_volumes++] = cs_json_str(j, k, a);
    } else if (vt != CS_JSON_NONE && vt != CS_JSON_NULL) {
        cs_error_set(err, CS_ERR_INVALID, "image config: config.Volumes is not an object");
        goto out;
    }
    rc = 0;
out:
    cs_json_free(j);
    return rc;
}

int mf_chain_ids(const char *const *diff_ids, size_t n, cs_arena *a, const char ***out, cs_error *err)
{
    const char **ids = cs_arena_array(a, n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        if (!mf_digest_valid(diff_ids[i]))
            return cs_error_set(err, CS_ERR_INVALID, "diff_ids[%zu] is not a sha256 digest", i);
        if (i == 0) {
            ids[0] = cs_arena_strdup(a, diff_ids[0]);
            continue;
        }
        /* "sha256:<64>" + " " + "sha256:<64>" */
        char buf[2 * 71 + 2];
        int len = snprintf(buf, sizeof buf, "%s %s", ids[i - 1], diff_ids[i]);
        char d[72];
        mf_sha256_digest(buf, (size_t)len, d);
        ids[i] = cs_arena_strdup(a, d);
    }
    *out = ids;
    return 0;
}
