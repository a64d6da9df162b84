/* The image records in memory, as containerd's own CRI plugin keeps its image
 * store: ListImages and ImageStatus answer from the last Images.List while an
 * Events subscription (topic /images/ in crishim's namespace) says nothing
 * changed. Every event, a broken or new subscription, and crishim's own
 * writes (pull, remove, the pause image) bump a generation that makes the
 * next reader list again. With no subscription (containerd down, or not yet
 * subscribed) nothing is cached: every call asks containerd.
 *
 * One thread holds the subscription and sleeps in it; it reconnects a second
 * after a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "containerd/api/services/events/v1/events.pb-c.h"
#include "containerd/api/services/images/v1/images.pb-c.h"
#include "containerd/imagecache.h"
#include "util/log.h"

#define IMAGES_LIST "/containerd.services.images.v1.Images/List"
#define EVENTS_SUBSCRIBE "/containerd.services.events.v1.Events/Subscribe"
#define RESUBSCRIBE_MS 1000

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

/* ---- the subscription ---- */

static bool wait_or_stop(ctrd_backend *d, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&d->ev_mu);
    while (!d->stopping && pthread_cond_timedwait(&d->ev_cond, &d->ev_mu, &until) == 0)
        ;
    bool stop = d->stopping;
    pthread_mutex_unlock(&d->ev_mu);
    return stop;
}

static void subscribe_once(ctrd_backend *d)
{
    /* The open may wait on a containerd that is frozen: the stop flag ends it. */
    cs_ctx open_ctx = {.cancelled = &d->ev_stop_flag};
    ctrd_stream *s;
    cs_error err;
    if (ctrd_stream_open(d->client, &open_ctx, EVENTS_SUBSCRIBE, NULL, &s, &err) != 0)
        return;
    pthread_mutex_lock(&d->ev_mu);
    if (d->stopping) {
        pthread_mutex_unlock(&d->ev_mu);
        ctrd_stream_free(s);
        return;
    }
    d->ev_stream = s;
    pthread_mutex_unlock(&d->ev_mu);

    /* The server ignores the namespace header for events: the filter says it. */
    char filter[256];
    snprintf(filter, sizeof filter, "namespace==%s,topic~=\"^/images/\"", ctrd_client_namespace(d->client));
    char *filters[] = {filter};
    Containerd__Services__Events__V1__SubscribeRequest req = CONTAINERD__SERVICES__EVENTS__V1__SUBSCRIBE_REQUEST__INIT;
    req.n_filters = 1;
    req.filters = filters;
    if (ctrd_stream_send(s, &req.base, &err) == 0 && ctrd_stream_close_send(s, &err) == 0) {
        ctrd_stream_set_ctx(s, NULL); /* from here on only ctrd_stream_cancel ends it */
        ctrd_image_cache_invalidate(d);
        atomic_store(&d->events_ok, true);
        cs_debug("watching image events", "filter", filter, NULL);
        ProtobufCMessage *m;
        while (ctrd_stream_recv(s, &containerd__services__events__v1__envelope__descriptor, NULL, &m, &err) == 1) {
            ctrd_image_cache_invalidate(d);
            protobuf_c_message_free_unpacked(m, NULL);
        }
        atomic_store(&d->events_ok, false);
        ctrd_image_cache_invalidate(d);
        if (!atomic_load(&d->ev_stop_flag))
            cs_debug("image events ended; resubscribing", "error", err.msg, NULL);
    }
    pthread_mutex_lock(&d->ev_mu);
    d->ev_stream = NULL;
    pthread_mutex_unlock(&d->ev_mu);
    ctrd_stream_free(s);
}

static void *events_main(void *arg)
{
    ctrd_backend *d = arg;
    while (!atomic_load(&d->ev_stop_flag)) {
        subscribe_once(d);
        if (wait_or_stop(d, RESUBSCRIBE_MS))
            break;
    }
    return NULL;
}

void ctrd_image_cache_start(ctrd_backend *d)
{
    pthread_rwlock_init(&d->cache_lock, NULL);
    pthread_mutex_init(&d->ev_mu, NULL);
    pthread_cond_init(&d->ev_cond, NULL);
    atomic_init(&d->gen, 1);
    atomic_init(&d->events_ok, false);
    atomic_init(&d->ev_stop_flag, false);
    d->events_started = pthread_create(&d->events_thread, NULL, events_main, d) == 0;
}

void ctrd_image_cache_stop(ctrd_backend *d)
{
    pthread_mutex_lock(&d->ev_mu);
    d->stopping = true;
    atomic_store(&d->ev_stop_flag, true);
    if (d->ev_stream)
        ctrd_stream_cancel(d->ev_stream);
    pthread_cond_broadcast(&d->ev_cond);
    pthread_mutex_unlock(&d->ev_mu);
    if (d->events_started)
        pthread_join(d->events_thread, NULL);
    if (d->cached)
        protobuf_c_message_free_unpacked(&d->cached->base, NULL);
    d->cached = NULL;
    pthread_cond_destroy(&d->ev_cond);
    pthread_mutex_destroy(&d->ev_mu);
    pthread_rwlock_destroy(&d->cache_lock);
}
