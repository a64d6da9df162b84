/* The content store, leases and map entries for the containerd backend; see
 * content.c. */
#ifndef CS_CTRD_CONTENT_H
#define CS_CTRD_CONTENT_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "containerd/client.h"

/* protobuf-c map entries ({key, value} string messages of type `entry`) for
 * kv, in arena a; cast the result to the field's entry type. */
void **ctrd_map_entries(cs_arena *a, const ProtobufCMessageDescriptor *entry, const cs_kv *kv, size_t n);
/* A string map's value for key, or NULL. */
const char *ctrd_label(void *const *entries, size_t n, const char *key);

/* A whole blob (at most max bytes) into arena a, NUL-terminated. */
int ctrd_content_read(ctrd_client *c, const cs_ctx *ctx, const char *digest, size_t max, cs_arena *a, char **body,
                      size_t *len, cs_error *err);
/* NOT_FOUND when the store lacks the blob. */
int ctrd_content_info(ctrd_client *c, const cs_ctx *ctx, const char *digest, cs_arena *a, int64_t *size,
                      cs_error *err);
/* Sets these labels (others stay). */
int ctrd_content_set_labels(ctrd_client *c, const cs_ctx *ctx, const char *lease, const char *digest,
                            const cs_kv *labels, size_t n, cs_arena *a, cs_error *err);

/* One blob being written under ref ("layer-<digest>", as containerd's client
 * names refs). open: *present when the store has the blob already (nothing to
 * write; no writer); else *offset is where an interrupted write left off.
 * Waits while another writer holds the ref. */
typedef struct ctrd_writer ctrd_writer;
int ctrd_writer_open(ctrd_client *c, const cs_ctx *ctx, const char *lease, const char *ref, const char *expected,
                     int64_t total, ctrd_writer **out, int64_t *offset, bool *present, cs_error *err);
int ctrd_writer_write(ctrd_writer *w, const void *data, size_t len, cs_error *err);
int64_t ctrd_writer_offset(const ctrd_writer *w);
/* Commits (the store verifies size and digest) with labels and frees w;
 * a blob someone else committed meanwhile is success. */
int ctrd_writer_commit(ctrd_writer *w, const cs_kv *labels, size_t n, cs_error *err);
/* Ends the stream without committing (the bytes stay for a resume). */
void ctrd_writer_abort(ctrd_writer *w);

/* A small blob in one go; present already: its labels are set instead. */
int ctrd_content_put(ctrd_client *c, const cs_ctx *ctx, const char *lease, const char *ref, const char *digest,
                     const void *data, size_t len, const cs_kv *labels, size_t n, cs_arena *a, cs_error *err);

/* A lease that expires by itself in 24 h should crishim die holding it. */
int ctrd_lease_create(ctrd_client *c, const cs_ctx *ctx, const char *purpose, cs_arena *a, const char **id,
                      cs_error *err);
void ctrd_lease_delete(ctrd_client *c, const char *id);

#endif
