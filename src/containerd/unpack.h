/* Layers into snapshots by chain id; see unpack.c. */
#ifndef CS_CTRD_UNPACK_H
#define CS_CTRD_UNPACK_H

#include "containerd/internal.h"

typedef struct ctrd_layer {
    const char *media_type, *digest; /* the blob in the content store */
    int64_t size;
    const char *diff_id;  /* the uncompressed digest the config names */
    const char *chain_id; /* this layer's snapshot name */
} ctrd_layer;

int ctrd_unpack(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const ctrd_layer *layers, size_t n,
                cs_arena *a, cs_error *err);
int ctrd_snapshot_exists(ctrd_backend *d, const cs_ctx *ctx, const char *key, cs_arena *a, bool *exists,
                         cs_error *err);

#endif
