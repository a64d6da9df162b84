/* crishim's own pause image on containerd; see pause.c. */
#ifndef CS_CTRD_PAUSE_H
#define CS_CTRD_PAUSE_H

#include "containerd/internal.h"

/* full: a normalised reference. */
bool ctrd_is_pause_image(ctrd_backend *d, const char *full, cs_arena *a);
/* The pause image's id, building it first when it is missing. */
int ctrd_pause_ensure(ctrd_backend *d, const cs_ctx *ctx, cs_arena *a, const char **image_id, cs_error *err);

/* The pieces (pure; unit-tested). */
int ctrd_gzip(const void *data, size_t len, char **out, size_t *out_len, cs_error *err);
char *ctrd_pause_config_json(const char *diff_id, cs_arena *a);
char *ctrd_pause_manifest_json(const char *config_digest, size_t config_size, const char *layer_digest,
                               size_t layer_size, cs_arena *a);

#endif
