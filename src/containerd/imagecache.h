/* The image records cached while containerd's image events say they are
 * current; see imagecache.c. */
#ifndef CS_CTRD_IMAGECACHE_H
#define CS_CTRD_IMAGECACHE_H

#include "containerd/api/services/images/v1/images.pb-c.h"
#include "containerd/internal.h"

void ctrd_image_cache_start(ctrd_backend *d);
void ctrd_image_cache_stop(ctrd_backend *d);
/* After crishim changed an image record itself. */
void ctrd_image_cache_invalidate(ctrd_backend *d);
/* Every image record of the namespace: the cache (*held: read-locked until
 * ctrd_image_records_release) or a fresh list in arena a. */
int ctrd_image_records(ctrd_backend *d, const cs_ctx *ctx, cs_arena *a,
                       const Containerd__Services__Images__V1__ListImagesResponse **out, bool *held, cs_error *err);
void ctrd_image_records_release(ctrd_backend *d, bool held);

#endif
