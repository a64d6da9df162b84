/* containerd's content store from crishim's side: reading blobs, writing them
 * through Content.Write (STAT, WRITE, COMMIT), labels, leases, and the map
 * entries every labelled request needs.
 *
 * Writes use the ref keys containerd's own client uses (`layer-<digest>`,
 * `config-<digest>`, ...), so two writers of one blob meet at the ref lock:
 * the second gets Unavailable "locked", waits and retries, and then finds the
 * blob present (AlreadyExists). STAT reports the bytes an interrupted write
 * already has, so a pull resumes there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "containerd/api/services/content/v1/content.pb-c.h"
#include "containerd/api/services/leases/v1/leases.pb-c.h"
#include "containerd/content.h"
#include "google/protobuf/empty.pb-c.h"
#include "util/log.h"
#include "util/time.h"

#define CONTENT(m) "/containerd.services.content.v1.Content/" m
#define LEASES(m) "/containerd.services.leases.v1.Leases/" m

#define WRITE_CHUNK (1024 * 1024) /* containerd's own client writes 1 MiB at a time */
#define LOCKED_RETRY_MS 200

/* ---- map entries ---- */

void **ctrd_map_entries(cs_arena *a, const ProtobufCMessageDescriptor *entry, const cs_kv *kv, size_t n)
{
    void **out = cs_arena_array(a, n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *m = cs_arena_alloc(a, entry->sizeof_message);
        entry->message_init(m);
        /* every map entry is {key = 1, value = 2}, both strings here */
        *(const char **)((char *)m + entry->fields[0].offset) = kv[i].key;
        *(const char **)((char *)m + entry->fields[1].offset) = kv[i].value;
        out[i] = m;
    }
    return out;
}

const char *ctrd_label(void *const *entries, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        /* the same {base, key, value} layout for every string map entry */
        const Containerd__Services__Content__V1__Info__LabelsEntry *e = entries[i];
        if (e->key && !strcmp(e->key, key))
            return e->value;
    }
    return NULL;
}

/* ---- reading ---- */

int ctrd_content_read(ctrd_client *c, const cs_ctx *ctx, const char *digest, size_t max, cs_arena *a, char **body,
                      size_t *len, cs_error *err)
{
    *body = NULL;
    *len = 0;
    Containerd__Services__Content__V1__ReadContentRequest req =
        CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_REQUEST__INIT;
    req.digest = (char *)digest;
    ctrd_stream *s;
    if (ctrd_stream_open(c, ctx, CONTENT("Read"), NULL, &s, err) != 0)
        return -1;
    int rc = -1;
    if (ctrd_stream_send(s, &req.base, err) != 0 || ctrd_stream_close_send(s, err) != 0)
        goto out;
    size_t cap = 0;
    char *buf = NULL;
    for (;;) {
        ProtobufCMessage *m;
        int r = ctrd_stream_recv(s, &containerd__services__content__v1__read_content_response__descriptor, NULL, &m,
                                 err);
        if (r < 0) {
            free(buf);
            goto out;
        }
        if (r == 0)
            break;
        Containerd__Services__Content__V1__ReadContentResponse *rr = (void *)m;
        if (*len + rr->data.len > max) {
            protobuf_c_message_free_unpacked(m, NULL);
            free(buf);
            cs_error_set(err, CS_ERR_RESOURCE, "content %s is larger than %zu bytes", digest, max);
            goto out;
        }
        if (*len + rr->data.len + 1 > cap) {
            cap = (*len + rr->data.len + 1) * 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        memcpy(buf + *len, rr->data.data, rr->data.len);
        *len += rr->data.len;
        protobuf_c_message_free_unpacked(m, NULL);
    }
    *body = cs_arena_alloc(a, *len + 1);
    if (*len)
        memcpy(*body, buf, *len);
    free(buf);
    rc = 0;
out:
    ctrd_stream_free(s);
    if (rc != 0)
        cs_error_wrap(err, "read content %s", digest);
    return rc;
}

int ctrd_content_info(ctrd_client *c, const cs_ctx *ctx, const char *digest, cs_arena *a, int64_t *size,
                      cs_error *err)
{
    Containerd__Services__Content__V1__InfoRequest req = CONTAINERD__SERVICES__CONTENT__V1__INFO_REQUEST__INIT;
    req.digest = (char *)digest;
    Containerd__Services__Content__V1__InfoResponse *r;
    if (ctrd_unary(c, ctx, CONTENT("Info"), &req.base, &containerd__services__content__v1__info_response__descriptor,
                   NULL, a, (ProtobufCMessage **)&r, err) != 0)
        return -1;
    if (size)
        *size = r->info ? r->info->size : 0;
    return 0;
}

int ctrd_content_set_labels(ctrd_client *c, const cs_ctx *ctx, const char *lease, const char *digest,
                            const cs_kv *labels, size_t n, cs_arena *a, cs_error *err)
{
    Containerd__Services__Content__V1__Info info = CONTAINERD__SERVICES__CONTENT__V1__INFO__INIT;
    info.digest = (char *)digest;
    info.n_labels = n;
    info.labels = (Containerd__Services__Content__V1__Info__LabelsEntry **)ctrd_map_entries(
        a, &containerd__services__content__v1__info__labels_entry__descriptor, labels, n);
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.n_paths = n;
    mask.paths = cs_arena_array(a, n + 1, sizeof *mask.paths);
    for (size_t i = 0; i < n; i++)
        mask.paths[i] = cs_arena_printf(a, "labels.%s", labels[i].key);
    Containerd__Services__Content__V1__UpdateRequest req = CONTAINERD__SERVICES__CONTENT__V1__UPDATE_REQUEST__INIT;
    req.info = &info;
    req.update_mask = &mask;
    ProtobufCMessage *r;
    if (ctrd_unary(c, ctx, CONTENT("Update"), &req.base, &containerd__services__content__v1__update_response__descriptor,
                   lease, a, &r, err) != 0)
        return cs_error_wrap(err, "label content %s", digest);
    return 0;
}

/* ---- writing ---- */

struct ctrd_writer {
    ctrd_client *c;
    ctrd_stream *s;
    cs_arena *a; /* replies */
    char ref[160];
    char expected[80];
    int64_t total, offset;
    char *buf; /* pending bytes, up to WRITE_CHUNK */
    size_t buf_len;
};

static int write_request(ctrd_writer *w, Containerd__Services__Content__V1__WriteContentRequest *req,
                         Containerd__Services__Content__V1__WriteContentResponse **resp, cs_error *err)
{
    req->ref = w->ref;
    if (ctrd_stream_send(w->s, &req->base, err) != 0)
        return -1;
    ProtobufCMessage *m;
    int r = ctrd_stream_recv(w->s, &containerd__services__content__v1__write_content_response__descriptor, w->a, &m,
                             err);
    if (r < 0)
        return -1;
    if (r == 0)
        return cs_error_set(err, CS_ERR_UNAVAILABLE, "content write %s: containerd ended the stream", w->ref);
    *resp = (void *)m;
    return 0;
}

static bool is_locked(const cs_error *e)
{
    return e->code == CS_ERR_UNAVAILABLE && strstr(e->msg, "locked") != NULL;
}

int ctrd_writer_open(ctrd_client *c, const cs_ctx *ctx, const char *lease, const char *ref, const char *expected,
                     int64_t total, ctrd_writer **out, int64_t *offset, bool *present, cs_error *err)
{
    *out = NULL;
    *present = false;
    *offset = 0;
    for (;;) {
        ctrd_writer *w = calloc(1, sizeof *w);
        if (!w)
            abort();
        w->c = c;
        w->a = cs_arena_new();
        snprintf(w->ref, sizeof w->ref, "%s", ref);
        snprintf(w->expected, sizeof w->expected, "%s", expected);
        w->total = total;
        cs_error e;
        cs_error_clear(&e);
        int rc = ctrd_stream_open(c, ctx, CONTENT("Write"), lease, &w->s, &e);
        Containerd__Services__Content__V1__WriteContentResponse *resp = NULL;
        if (rc == 0) {
            Containerd__Services__Content__V1__WriteContentRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
            req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__STAT;
            req.total = total;
            req.expected = w->expected;
            rc = write_request(w, &req, &resp, &e);
        }
        if (rc == 0) {
            w->offset = resp->offset;
            *offset = resp->offset;
            *out = w;
            return 0;
        }
        ctrd_writer_abort(w);
        if (e.code == CS_ERR_EXISTS) {
            *present = true;
            return 0;
        }
        if (!is_locked(&e) || cs_ctx_done(ctx)) {
            if (err)
                *err = e;
            return cs_error_wrap(err, "content write %s", ref);
        }
        /* Another writer holds the ref: wait for it to finish (or die). */
        cs_debug("content ref is locked; waiting", "ref", ref, NULL);
        usleep(LOCKED_RETRY_MS * 1000);
    }
}

int64_t ctrd_writer_offset(const ctrd_writer *w)
{
    return w->offset + (int64_t)w->buf_len;
}

static int flush(ctrd_writer *w, cs_error *err)
{
    if (!w->buf_len)
        return 0;
    Containerd__Services__Content__V1__WriteContentRequest req =
        CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
    req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__WRITE;
    req.offset = w->offset;
    req.data.data = (uint8_t *)w->buf;
    req.data.len = w->buf_len;
    Containerd__Services__Content__V1__WriteContentResponse *resp;
    if (write_request(w, &req, &resp, err) != 0)
        return cs_error_wrap(err, "content write %s at %lld", w->ref, (long long)w->offset);
    w->offset += (int64_t)w->buf_len;
    w->buf_len = 0;
    cs_arena_reset(w->a);
    return 0;
}

int ctrd_writer_write(ctrd_writer *w, const void *data, size_t len, cs_error *err)
{
    const char *p = data;
    if (!w->buf) {
        w->buf = malloc(WRITE_CHUNK);
        if (!w->buf)
            abort();
    }
    while (len > 0) {
        size_t n = WRITE_CHUNK - w->buf_len;
        if (n > len)
            n = len;
        memcpy(w->buf + w->buf_len, p, n);
        w->buf_len += n;
        p += n;
        len -= n;
        if (w->buf_len == WRITE_CHUNK && flush(w, err) != 0)
            return -1;
    }
    return 0;
}

int ctrd_writer_commit(ctrd_writer *w, const cs_kv *labels, size_t n, cs_error *err)
{
    int rc = flush(w, err);
    if (rc == 0) {
        Containerd__Services__Content__V1__WriteContentRequest req =
            CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
        req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT;
        req.total = w->total;
        req.offset = w->offset;
        req.expected = w->expected;
        req.n_labels = n;
        req.labels = (Containerd__Services__Content__V1__WriteContentRequest__LabelsEntry **)ctrd_map_entries(
            w->a, &containerd__services__content__v1__write_content_request__labels_entry__descriptor, labels, n);
        Containerd__Services__Content__V1__WriteContentResponse *resp;
        cs_error e;
        cs_error_clear(&e);
        rc = write_request(w, &req, &resp, &e);
        /* Someone committed the same blob first: it is there, which is all we want. */
        if (rc != 0 && e.code == CS_ERR_EXISTS)
            rc = 0;
        else if (rc != 0 && err)
            *err = e;
        if (rc != 0)
            cs_error_wrap(err, "commit %s", w->expected);
    }
    if (rc == 0) {
        /* The server ends the call after a commit (repeating its reply
         * first): read it to the end rather than cancel what succeeded. */
        ProtobufCMessage *m;
        if (ctrd_stream_close_send(w->s, NULL) == 0)
            while (ctrd_stream_recv(w->s, &containerd__services__content__v1__write_content_response__descriptor, w->a,
                                    &m, NULL) == 1)
                ;
    }
    ctrd_stream_free(w->s);
    w->s = NULL;
    /* A failed commit (a digest mismatch) leaves data a retry must not resume. */
    if (rc != 0) {
        Containerd__Services__Content__V1__AbortRequest ab = CONTAINERD__SERVICES__CONTENT__V1__ABORT_REQUEST__INIT;
        ab.ref = w->ref;
        ProtobufCMessage *r;
        ctrd_unary(w->c, NULL, CONTENT("Abort"), &ab.base, &google__protobuf__empty__descriptor, NULL, w->a, &r, NULL);
    }
    ctrd_writer_abort(w);
    return rc;
}

void ctrd_writer_abort(ctrd_writer *w)
{
    if (!w)
        return;
    ctrd_stream_free(w->s);
    cs_arena_free(w->a);
    free(w->buf);
    free(w);
}

int ctrd_content_put(ctrd_client *c, const cs_ctx *ctx, const char *lease, const char *ref, const char *digest,
                     const void *data, size_t len, const cs_kv *labels, size_t n, cs_arena *a, cs_error *err)
{
    ctrd_writer *w;
    int64_t offset;
    bool present;
    if (ctrd_writer_open(c, ctx, lease, ref, digest, (int64_t)len, &w, &offset, &present, err) != 0)
        return -1;
    if (present)
        return n ? ctrd_content_set_labels(c, ctx, lease, digest, labels, n, a, err) : 0;
    if (offset < 0 || (size_t)offset > len)
        offset = 0;
    if (ctrd_writer_write(w, (const char *)data + offset, len - (size_t)offset, err) != 0) {
        ctrd_writer_abort(w);
        return -1;
    }
    return ctrd_writer_commit(w, labels, n, err);
}

/* ---- leases ---- */

int ctrd_lease_create(ctrd_client *c, const cs_ctx *ctx, const char *purpose, cs_arena *a, const char **id,
                      cs_error *err)
{
    char expire[40];
    cs_time_rfc3339(cs_time_now_ns() + 24LL * 3600 * 1000000000LL, 0, expire, sizeof expire);
    cs_kv kv[] = {{"containerd.io/gc.expire", expire}};
    Containerd__Services__Leases__V1__CreateRequest req = CONTAINERD__SERVICES__LEASES__V1__CREATE_REQUEST__INIT;
    req.id = cs_arena_printf(a, "crishim-%s-%lld-%d", purpose, (long long)cs_time_now_ns(), rand() % 100000);
    req.n_labels = 1;
    req.labels = (Containerd__Services__Leases__V1__CreateRequest__LabelsEntry **)ctrd_map_entries(
        a, &containerd__services__leases__v1__create_request__labels_entry__descriptor, kv, 1);
    ProtobufCMessage *r;
    if (ctrd_unary(c, ctx, LEASES("Create"), &req.base, &containerd__services__leases__v1__create_response__descriptor,
                   NULL, a, &r, err) != 0)
        return cs_error_wrap(err, "create a lease");
    *id = req.id;
    return 0;
}

void ctrd_lease_delete(ctrd_client *c, const char *id)
{
    if (!id)
        return;
    cs_arena *a = cs_arena_new();
    Containerd__Services__Leases__V1__DeleteRequest req = CONTAINERD__SERVICES__LEASES__V1__DELETE_REQUEST__INIT;
    req.id = (char *)id;
    ProtobufCMessage *r;
    cs_error err;
    /* A fresh ctx: the lease goes even when the request's ctx is done. */
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + 10000};
    if (ctrd_unary(c, &ctx, LEASES("Delete"), &req.base, &google__protobuf__empty__descriptor, NULL, a, &r, &err) != 0)
        cs_warn("cannot delete a lease (its gc.expire label ends it in 24 h)", "lease", id, "error", err.msg, NULL);
    cs_arena_free(a);
}
