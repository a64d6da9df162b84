/* Image records and what they resolve to, shared by the image ops, the pull
 * and the pause image; see images.c. */
#ifndef CS_CTRD_IMAGES_H
#define CS_CTRD_IMAGES_H

#include "backend/imageref.h"
#include "containerd/internal.h"
#include "containerd/manifest.h"

#define CTRD_LABEL_IMAGE "io.cri-containerd.image"   /* "managed", as containerd's CRI labels its images */
#define CTRD_LABEL_PINNED "io.cri-containerd.pinned" /* "pinned": the sandbox image (1.7+) */

/* cs_imageref_parse, plus what Docker refuses too (an upper-case first
 * component that is no host name). */
int ctrd_parse_ref(const char *ref, cs_imageref *r, cs_error *err);

/* A record's target resolved through the content store (for an index, the
 * linux/amd64 manifest); cached per target digest for the backend's life. */
typedef struct ctrd_view ctrd_view;
int ctrd_image_view(ctrd_backend *d, const cs_ctx *ctx, const char *media_type, const char *digest, int64_t size,
                    const ctrd_view **out, cs_error *err);
void ctrd_views_free(ctrd_backend *d);

/* The image ref names (id, tag or digest reference); *out NULL when absent. */
int ctrd_image_find(ctrd_backend *d, const cs_ctx *ctx, const char *ref, cs_arena *a, cs_image **out, cs_error *err);

/* *id set when every one of names points at target and the image is
 * complete (content resolves, the top snapshot exists): nothing to pull. */
int ctrd_image_complete(ctrd_backend *d, const cs_ctx *ctx, const char *const *names, size_t n, const char *target,
                        cs_arena *a, const char **id, cs_error *err);

/* What a container or a sandbox needs of the image it runs: the image id
 * (sha256:<config digest>), the parent of its writable snapshot (the top
 * chain id; "" for an image without layers) and its parsed config, all in
 * arena a. NOT_FOUND naming ref when no such image is there. */
typedef struct ctrd_image_use {
    const char *id;
    const char *top_chain;
    mf_image_config config;
} ctrd_image_use;
int ctrd_image_use_get(ctrd_backend *d, const cs_ctx *ctx, const char *ref, cs_arena *a, ctrd_image_use *out,
                       cs_error *err);
/* Creates (or repoints) one image record labelled as CRI's. */
int ctrd_image_record_put(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const char *name,
                          const char *media_type, const char *digest, int64_t size, bool pinned, cs_arena *a,
                          cs_error *err);
/* Absent is success. */
int ctrd_image_record_delete(ctrd_backend *d, const cs_ctx *ctx, const char *name, bool sync, cs_arena *a,
                             cs_error *err);

/* the ops */
int ctrd_image_list(cs_backend *b, const cs_ctx *ctx, const char *filter_ref, cs_arena *a, cs_image ***out,
                    size_t *n, cs_error *err);
int ctrd_image_status(cs_backend *b, const cs_ctx *ctx, const char *ref, bool verbose, cs_arena *a, cs_image **out,
                      cs_error *err);
int ctrd_image_pull(cs_backend *b, const cs_ctx *ctx, const char *ref, const cs_auth *auth, cs_arena *a,
                    const char **image_id, cs_error *err);
int ctrd_image_remove(cs_backend *b, const cs_ctx *ctx, const char *ref, cs_error *err);
int ctrd_image_fs_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_fs_usage *image_fs,
                       cs_fs_usage *container_fs, bool *has_container_fs, cs_error *err);

#endif
