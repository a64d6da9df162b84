/* PullImage on containerd, crishim's own (containerd 1.6 has no server-side
 * pull): resolve with the registry client, store the index/manifest/config
 * and every layer in the content store with the GC labels containerd's own
 * client sets, unpack the layers into snapshots, then write the image records
 * as containerd's CRI plugin does. All under one lease, deleted at the end.
 *
 * Layers already in the store are never fetched; a layer another pull is
 * writing is waited for (the content store's per-ref lock); an interrupted
 * layer resumes from the bytes already written. A transfer that fails after
 * making progress is resumed, not abandoned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/imageref.h"
#include "containerd/content.h"
#include "containerd/images.h"
#include "containerd/manifest.h"
#include "containerd/pause.h"
#include "containerd/registry.h"
#include "containerd/unpack.h"
#include "util/log.h"

#define GC_CONTENT "containerd.io/gc.ref.content."
#define GC_SNAPSHOT "containerd.io/gc.ref.snapshot."
#define LABEL_UNCOMPRESSED "containerd.io/uncompressed"
#define LABEL_SOURCE "containerd.io/distribution.source."
#define RESUME_ATTEMPTS 5

typedef struct pull {
    ctrd_backend *d;
    const cs_ctx *ctx;
    const cs_imageref *ref;
    const cs_auth *auth;
    const char *lease;
    cs_arena *a;
    cs_kv source; /* containerd.io/distribution.source.<host> = <path> */
} pull;

/* ---- one blob into the content store ---- */

typedef struct sink_state {
    ctrd_writer *w;
    int64_t written; /* this attempt */
} sink_state;

static int to_writer(void *user, const char *data, size_t len, cs_error *err)
{
    sink_state *s = user;
    if (ctrd_writer_write(s->w, data, len, err) != 0)
        return -1;
    s->written += (int64_t)len;
    return 0;
}

static const char *ref_key(const char *kind, const char *digest, cs_arena *a)
{
    return cs_arena_printf(a, "%s-%s", kind, digest);
}

/* A layer (streamed) into the store, unless it is there already. */
static int fetch_layer(pull *p, const reg_desc *l, const cs_kv *labels, size_t n, cs_error *err)
{
    const char *key = ref_key("layer", l->digest, p->a);
    for (int attempt = 0;; attempt++) {
        ctrd_writer *w;
        int64_t offset;
        bool present;
        if (ctrd_writer_open(p->d->client, p->ctx, p->lease, key, l->digest, l->size, &w, &offset, &present, err) !=
            0)
            return -1;
        if (present)
            return ctrd_content_set_labels(p->d->client, p->ctx, p->lease, l->digest, labels, n, p->a, err);
        if (offset > 0)
            cs_info("resuming a layer download", "digest", l->digest, NULL);
        sink_state s = {.w = w};
        cs_error e;
        cs_error_clear(&e);
        if (offset < l->size || l->size <= 0) {
            if (reg_fetch_blob(p->d->registry, p->ctx, p->ref, p->auth, l, offset, to_writer, &s, &e) != 0) {
                /* Keep what arrived (the next STAT reports it) and go on from
                 * there, for as long as attempts make progress. */
                ctrd_writer_abort(w);
                if (s.written > 0 && attempt < RESUME_ATTEMPTS && !cs_ctx_done(p->ctx)) {
                    cs_warn("layer download broke off; resuming", "digest", l->digest, "error", e.msg, NULL);
                    continue;
                }
                if (err)
                    *err = e;
                return cs_error_wrap(err, "layer %s", l->digest);
            }
        }
        return ctrd_writer_commit(w, labels, n, err);
    }
}

/* A manifest or index: from the content store when it is there (content is
 * immutable: a digest names the same bytes), else from the registry, which
 * checks the digest. */
static int small_blob(pull *p, const reg_desc *d, char **body, size_t *len, cs_error *err)
{
    cs_error e;
    if (ctrd_content_read(p->d->client, p->ctx, d->digest, 4 * 1024 * 1024, p->a, body, len, &e) == 0)
        return 0;
    if (e.code != CS_ERR_NOT_FOUND) {
        if (err)
            *err = e;
        return -1;
    }
    return reg_fetch_manifest(p->d->registry, p->ctx, p->ref, p->auth, d, p->a, body, len, err);
}

/* The image config: from the store, else through the content store's ref
 * lock as a layer is, so concurrent pulls of one image ask the registry for
 * it once (the others wait at the lock, then read what the first stored).
 * Its GC labels come later, with the snapshot it keeps. */
static int fetch_config(pull *p, const reg_desc *c, char **body, size_t *len, cs_error *err)
{
    cs_error e;
    if (ctrd_content_read(p->d->client, p->ctx, c->digest, 4 * 1024 * 1024, p->a, body, len, &e) == 0)
        return 0;
    if (e.code != CS_ERR_NOT_FOUND) {
        if (err)
            *err = e;
        return -1;
    }
    ctrd_writer *w;
    int64_t offset;
    bool present;
    if (ctrd_writer_open(p->d->client, p->ctx, p->lease, ref_key("config", c->digest, p->a), c->digest, c->size, &w,
                         &offset, &present, err) != 0)
        return -1;
    if (present)
        return ctrd_content_read(p->d->client, p->ctx, c->digest, 4 * 1024 * 1024, p->a, body, len, err);
    if (reg_fetch_blob_small(p->d->registry, p->ctx, p->ref, p->auth, c, p->a, body, len, err) != 0) {
        ctrd_writer_abort(w);
        return -1;
    }
    /* an interrupted earlier write of it: go on from its end */
    if (offset < 0 || (size_t)offset > *len)
        offset = (int64_t)*len;
    if (ctrd_writer_write(w, *body + offset, *len - (size_t)offset, err) != 0) {
        ctrd_writer_abort(w);
        return -1;
    }
    return ctrd_writer_commit(w, &p->source, 1, err);
}

/* ---- labels ---- */

static cs_kv *labels_new(pull *p, size_t max)
{
    return cs_arena_array(p->a, max, sizeof(cs_kv));
}

/* ---- the pull ---- */

static int do_pull(pull *p, reg_desc *top, const char **config_digest, cs_error *err)
{
    ctrd_backend *d = p->d;
    char *body;
    size_t len;
    if (small_blob(p, top, &body, &len, err) != 0)
        return -1;
    reg_desc mdesc = *top;
    char *mbody = body;
    size_t mlen = len;
    if (mf_is_index(top->media_type)) {
        if (mf_index_select(body, len, "linux", "amd64", &mdesc, err) != 0)
            return -1;
        if (small_blob(p, &mdesc, &mbody, &mlen, err) != 0)
            return -1;
    }
    mf_manifest man;
    if (mf_manifest_parse(mbody, mlen, p->a, &man, err) != 0)
        return -1;
    char *cbody;
    size_t clen;
    if (fetch_config(p, &man.config, &cbody, &clen, err) != 0)
        return -1;
    mf_image_config cfg;
    if (mf_config_parse(cbody, clen, p->a, &cfg, err) != 0)
        return -1;
    if (cfg.n_diff_ids != man.n_layers)
        return cs_error_set(err, CS_ERR_INVALID, "the image has %zu layers but its config names %zu diff ids",
                            man.n_layers, cfg.n_diff_ids);
    const char **chain = NULL;
    if (cfg.n_diff_ids && mf_chain_ids(cfg.diff_ids, cfg.n_diff_ids, p->a, &chain, err) != 0)
        return -1;

    /* layers first: nothing refers to a blob before it is complete */
    ctrd_layer *layers = cs_arena_array(p->a, man.n_layers + 1, sizeof *layers);
    for (size_t i = 0; i < man.n_layers; i++) {
        cs_kv kv[2] = {{LABEL_UNCOMPRESSED, cfg.diff_ids[i]}, p->source};
        if (fetch_layer(p, &man.layers[i], kv, 2, err) != 0)
            return -1;
        layers[i] = (ctrd_layer){man.layers[i].media_type, man.layers[i].digest, man.layers[i].size,
                                 cfg.diff_ids[i], chain[i]};
    }
    if (ctrd_unpack(d, p->ctx, p->lease, layers, man.n_layers, p->a, err) != 0)
        return -1;

    /* the config: it keeps the top snapshot alive */
    cs_kv *ckv = labels_new(p, 2);
    size_t nc = 0;
    if (man.n_layers)
        ckv[nc++] = (cs_kv){cs_arena_printf(p->a, GC_SNAPSHOT "%s", d->snapshotter), chain[man.n_layers - 1]};
    ckv[nc++] = p->source;
    if (ctrd_content_put(d->client, p->ctx, p->lease, ref_key("config", man.config.digest, p->a), man.config.digest,
                         cbody, clen, ckv, nc, p->a, err) != 0)
        return -1;

    /* the manifest: it keeps the config and the layers */
    cs_kv *mkv = labels_new(p, man.n_layers + 2);
    size_t nm = 0;
    mkv[nm++] = (cs_kv){GC_CONTENT "config", man.config.digest};
    for (size_t i = 0; i < man.n_layers; i++)
        mkv[nm++] = (cs_kv){cs_arena_printf(p->a, GC_CONTENT "l.%zu", i), man.layers[i].digest};
    mkv[nm++] = p->source;
    if (ctrd_content_put(d->client, p->ctx, p->lease, ref_key("manifest", mdesc.digest, p->a), mdesc.digest, mbody,
                         mlen, mkv, nm, p->a, err) != 0)
        return -1;

    /* the index: it keeps the manifest of the platform crishim runs */
    if (mf_is_index(top->media_type)) {
        cs_kv ikv[2] = {{GC_CONTENT "m.0", mdesc.digest}, p->source};
        if (ctrd_content_put(d->client, p->ctx, p->lease, ref_key("index", top->digest, p->a), top->digest, body, len,
                             ikv, 2, p->a, err) != 0)
            return -1;
    }
    *config_digest = cs_arena_strdup(p->a, man.config.digest);
    return 0;
}

/* The names containerd's CRI gives a pulled image besides its id: the name
 * as pulled (a tag) and repo@digest. */
static size_t record_names(pull *p, const reg_desc *top, const char **names)
{
    size_t n = 0;
    if (!p->ref->digest[0])
        names[n++] = cs_imageref_full(p->ref, p->a);
    names[n++] = cs_arena_printf(p->a, "%s@%s", cs_imageref_repo(p->ref, p->a), top->digest);
    return n;
}

/* The records: the id, then the names, all with one target. */
static int write_records(pull *p, const reg_desc *top, const char *config, bool pinned, cs_error *err)
{
    const char *names[3];
    names[0] = config;
    size_t n = 1 + record_names(p, top, names + 1);
    for (size_t i = 0; i < n; i++)
        if (ctrd_image_record_put(p->d, p->ctx, p->lease, names[i], top->media_type, top->digest, top->size, pinned,
                                  p->a, err) != 0)
            return -1;
    return 0;
}

int ctrd_image_pull(cs_backend *b, const cs_ctx *ctx, const char *ref, const cs_auth *auth, cs_arena *a,
                    const char **image_id, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    cs_imageref r;
    if (ctrd_parse_ref(ref, &r, err) != 0)
        return -1;
    if (r.is_id)
        return cs_error_set(err, CS_ERR_INVALID, "pull %s: an image id names no registry to pull from", ref);
    const char *full = cs_imageref_full(&r, a);
    bool pinned = ctrd_is_pause_image(d, full, a);
    if (pinned && d->pause_is_default) {
        if (ctrd_pause_ensure(d, ctx, a, image_id, err) != 0)
            return cs_error_wrap(err, "pull %s", ref);
        return 0;
    }
    pull p = {.d = d, .ctx = ctx, .ref = &r, .auth = auth, .a = a};
    p.source = (cs_kv){cs_arena_printf(a, LABEL_SOURCE "%s", r.domain), r.path};
    reg_desc top;
    if (reg_resolve(d->registry, ctx, &r, auth, &top, err) != 0) {
        if (err && err->code == CS_ERR_UNAUTHENTICATED)
            cs_error_wrap(err, "authentication failed");
        return cs_error_wrap(err, "pull %s", ref);
    }
    /* What the registry names is here already, whole: nothing to fetch,
     * unpack or record (a kubelet re-pulling an image it has). */
    const char *names[2];
    size_t n = record_names(&p, &top, names);
    const char *have;
    if (ctrd_image_complete(d, ctx, names, n, top.digest, a, &have, err) != 0)
        return cs_error_wrap(err, "pull %s", ref);
    if (have) {
        *image_id = have;
        return 0;
    }
    if (ctrd_lease_create(d->client, ctx, "pull", a, &p.lease, err) != 0)
        return cs_error_wrap(err, "pull %s", ref);
    const char *config = NULL;
    int rc = do_pull(&p, &top, &config, err);
    if (rc == 0)
        rc = write_records(&p, &top, config, pinned, err);
    ctrd_lease_delete(d->client, p.lease);
    if (rc != 0) {
        if (err && err->code == CS_ERR_UNAUTHENTICATED)
            cs_error_wrap(err, "authentication failed");
        return cs_error_wrap(err, "pull %s", ref);
    }
    *image_id = config;
    return 0;
}
