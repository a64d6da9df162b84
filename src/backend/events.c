/* Event fan-out; see events.h. */
#include "backend/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/mem.h"

struct cs_event_sub {
    struct cs_event_sub *next;
    cs_event_hub *hub;
    cs_event *ring;
    size_t head, count;
    bool dropped;
    const char *why;
};

struct cs_event_hub {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t queue_len;
    cs_event_sub *subs;
    size_t nsubs;
};

cs_event_hub *cs_event_hub_new(size_t queue_len)
{
    cs_event_hub *h = cs_xcalloc(1, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->queue_len = queue_len ? queue_len : 1024;
    return h;
}

void cs_event_hub_free(cs_event_hub *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    for (cs_event_sub *s = h->subs; s; s = s->next) {
        s->dropped = true;
        s->why = "crishim is shutting down";
    }
    pthread_cond_broadcast(&h->cv);
    while (h->nsubs > 0) {
        pthread_mutex_unlock(&h->mu);
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

cs_event_sub *cs_event_subscribe(cs_event_hub *h)
{
    cs_event_sub *s = cs_xcalloc(1, sizeof *s);
    s->hub = h;
    s->ring = cs_xcalloc(h->queue_len, sizeof *s->ring);
    pthread_mutex_lock(&h->mu);
    s->next = h->subs;
    h->subs = s;
    h->nsubs++;
    pthread_mutex_unlock(&h->mu);
    return s;
}

void cs_event_unsubscribe(cs_event_sub *s)
{
    if (!s)
        return;
    cs_event_hub *h = s->hub;
    pthread_mutex_lock(&h->mu);
    for (cs_event_sub **pp = &h->subs; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            h->nsubs--;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    free(s->ring);
    free(s);
}

size_t cs_event_subscribers(cs_event_hub *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->nsubs;
    pthread_mutex_unlock(&h->mu);
    return n;
}

void cs_event_publish(cs_event_hub *h, const cs_event *e)
{
    pthread_mutex_lock(&h->mu);
    for (cs_event_sub *s = h->subs; s; s = s->next) {
        if (s->dropped)
            continue;
        if (s->count == h->queue_len) {
            s->dropped = true;
            s->why = "too slow: the event queue overflowed";
            continue;
        }
        s->ring[(s->head + s->count) % h->queue_len] = *e;
        s->count++;
    }
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

int cs_event_next(cs_event_sub *s, int timeout_ms, cs_event *out, cs_error *err)
{
    cs_event_hub *h = s->hub;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&h->mu);
    int rc = 1;
    while (s->count == 0 && !s->dropped) {
        if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
            break;
    }
    if (s->count > 0) {
        /* queued events are still delivered before a drop is reported */
        *out = s->ring[s->head];
        s->head = (s->head + 1) % h->queue_len;
        s->count--;
        rc = 0;
    } else if (s->dropped) {
        rc = cs_error_set(err, CS_ERR_RESOURCE, "event stream ended: %s", s->why);
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}
