/* The table of containers whose logs are still being written; see
 * logdrain.h. A hash of ids (kubelet lists hundreds of containers a second,
 * each exited one looked up) under one mutex, and one condition variable on
 * the monotonic clock for the waiters. */
#include "backend/logdrain.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define BUCKETS 256
#define ID_MAX 80

typedef struct item {
    struct item *next;
    char id[ID_MAX];
    void *user;
} item;

struct cs_logdrain {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* an item left, the table became ready, or stop */
    item *buckets[BUCKETS];
    bool ready;
    bool stopping;
};

static item **slot(cs_logdrain *t, const char *id)
{
    unsigned h = 5381;
    for (const char *p = id; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return &t->buckets[h % BUCKETS];
}

/* Called with mu held: where id's item is linked, or the chain's end. */
static item **find(cs_logdrain *t, const char *id)
{
    item **pp = slot(t, id);
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    return pp;
}

cs_logdrain *cs_logdrain_new(void)
{
    cs_logdrain *t = cs_xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* cs_time_mono_ms's clock */
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    return t;
}

void cs_logdrain_free(cs_logdrain *t, void (*free_user)(void *user))
{
    if (!t)
        return;
    for (size_t b = 0; b < BUCKETS; b++) {
        for (item *it = t->buckets[b], *next; it; it = next) {
            next = it->next;
            if (free_user)
                free_user(it->user);
            free(it);
        }
    }
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

bool cs_logdrain_add(cs_logdrain *t, const char *id, void *user)
{
    if (strlen(id) >= ID_MAX)
        return false;
    item *it = cs_xcalloc(1, sizeof *it);
    memcpy(it->id, id, strlen(id) + 1);
    it->user = user;
    pthread_mutex_lock(&t->mu);
    item **pp = find(t, id);
    bool added = !*pp;
    if (added)
        *pp = it;
    pthread_mutex_unlock(&t->mu);
    if (!added)
        free(it);
    return added;
}

int cs_logdrain_with(cs_logdrain *t, const char *id, int (*fn)(void *user, void *arg), void *arg, int absent)
{
    pthread_mutex_lock(&t->mu);
    item *it = *find(t, id);
    int rc = it ? fn(it->user, arg) : absent;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void *cs_logdrain_remove(cs_logdrain *t, const char *id, bool (*keep)(void *user))
{
    pthread_mutex_lock(&t->mu);
    item **pp = find(t, id);
    item *it = *pp;
    if (it && keep && keep(it->user))
        it = NULL;
    if (it)
        *pp = it->next;
    pthread_mutex_unlock(&t->mu);
    if (!it)
        return NULL;
    pthread_cond_broadcast(&t->cond);
    void *user = it->user;
    free(it);
    return user;
}

void cs_logdrain_ready(cs_logdrain *t)
{
    pthread_mutex_lock(&t->mu);
    t->ready = true;
    pthread_mutex_unlock(&t->mu);
    pthread_cond_broadcast(&t->cond);
}

void cs_logdrain_stop(cs_logdrain *t)
{
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    pthread_mutex_unlock(&t->mu);
    pthread_cond_broadcast(&t->cond);
}

bool cs_logdrain_wait(cs_logdrain *t, const char *const *ids, size_t n, int64_t deadline_ms)
{
    if (n == 0)
        return true;
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000), .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
    size_t i = 0; /* a removed id never comes back: no need to look again */
    bool drained = false;
    pthread_mutex_lock(&t->mu);
    while (!t->stopping) {
        while (t->ready && i < n && !*find(t, ids[i]))
            i++;
        if ((drained = t->ready && i == n))
            break;
        if (pthread_cond_timedwait(&t->cond, &t->mu, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&t->mu);
    return drained;
}

bool cs_logdrain_wait_ready(cs_logdrain *t, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000), .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
    pthread_mutex_lock(&t->mu);
    while (!t->ready && !t->stopping)
        if (pthread_cond_timedwait(&t->cond, &t->mu, &ts) == ETIMEDOUT)
            break;
    bool ready = t->ready;
    pthread_mutex_unlock(&t->mu);
    return ready;
}

void cs_logdrain_wait_report(cs_logdrain *t, const char *const *ids, size_t n, const cs_ctx *ctx, int64_t max_ms)
{
    if (n == 0)
        return;
    cs_ctx w = cs_ctx_within(ctx, max_ms);
    if (!cs_logdrain_wait(t, ids, n, w.deadline_ms)) {
        pthread_mutex_lock(&t->mu);
        bool stopping = t->stopping;
        pthread_mutex_unlock(&t->mu);
        if (!stopping)
            cs_debug("reporting an exit before its log drained", "id", ids[0], NULL);
    }
}
