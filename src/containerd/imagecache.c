/* The image records in memory, as containerd's own CRI plugin keeps its image
 * store: ListImages and ImageStatus answer from the last Images.List while an
 * Events subscription (topic /images/ in crishim's namespace) says nothing
 * changed. Every event, a broken or new subscription, and crishim's own
 * writes (pull, remove, the pause image) bump a generation that makes the
 * next reader list again. With no subscription (containerd down, or not yet
 * subscribed) nothing is cached: every call asks containerd.
 *
 * The subscription is the backend's one event feed (events.c), which calls
 * ctrd_image_cache_invalidate on every /images/ event and whenever it
 * connects or breaks. */
#include "containerd/api/services/images/v1/images.pb-c.h"
#include "containerd/imagecache.h"

#define IMAGES_LIST "/containerd.services.images.v1.Images/List"

void ctrd_image_cache_invalidate(ctrd_backend *d)
{
    atomic_fetch_add(&d->gen, 1);
}

static int fetch(ctrd_backend *d, const cs_ctx *ctx, cs_arena *a,
                 Containerd__Services__Images__V1__ListImagesResponse **out, cs_error *err)
{
    Containerd__Services__Images__V1__ListImagesRequest req = CONTAINERD__SERVICES__IMAGES__V1__LIST_IMAGES_REQUEST__INIT;
    return ctrd_unary(d->client, ctx, IMAGES_LIST, &req.base,
                      &containerd__services__images__v1__list_images_response__descriptor, NULL, a,
                      (ProtobufCMessage **)out, err);
}

int ctrd_image_records(ctrd_backend *d, const cs_ctx *ctx, cs_arena *a,
                       const Containerd__Services__Images__V1__ListImagesResponse **out, bool *held, cs_error *err)
{
    *held = false;
    if (!atomic_load(&d->events_ok)) {
        Containerd__Services__Images__V1__ListImagesResponse *r;
        if (fetch(d, ctx, a, &r, err) != 0)
            return -1;
        *out = r;
        return 0;
    }
    pthread_rwlock_rdlock(&d->cache_lock);
    if (d->cached && d->cached_gen == atomic_load(&d->gen)) {
        *out = d->cached;
        *held = true;
        return 0;
    }
    pthread_rwlock_unlock(&d->cache_lock);
    /* What the generation was before the list: a change during it makes
     * the next reader list again. */
    uint64_t g = atomic_load(&d->gen);
    Containerd__Services__Images__V1__ListImagesResponse *fresh;
    if (fetch(d, ctx, NULL, &fresh, err) != 0)
        return -1;
    pthread_rwlock_wrlock(&d->cache_lock);
    if (d->cached)
        protobuf_c_message_free_unpacked(&d->cached->base, NULL);
    d->cached = fresh;
    d->cached_gen = g;
    pthread_rwlock_unlock(&d->cache_lock);
    pthread_rwlock_rdlock(&d->cache_lock);
    *out = d->cached;
    *held = true;
    return 0;
}

void ctrd_image_records_release(ctrd_backend *d, bool held)
{
    if (held)
        pthread_rwlock_unlock(&d->cache_lock);
}

void ctrd_image_cache_start(ctrd_backend *d)
{
    pthread_rwlock_init(&d->cache_lock, NULL);
    atomic_init(&d->gen, 1);
}

void ctrd_image_cache_stop(ctrd_backend *d)
{
    if (d->cached)
        protobuf_c_message_free_unpacked(&d->cached->base, NULL);
    d->cached = NULL;
    pthread_rwlock_destroy(&d->cache_lock);
}
