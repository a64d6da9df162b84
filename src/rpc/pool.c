/* Elastic worker pool; see pool.h. */
#include "rpc/pool.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"
#include "util/mem.h"

#define POOL_IDLE_EXIT_SECONDS 30
#define POOL_STACK_SIZE (512 * 1024)
/* After a burst, memory its calls freed goes back to the system (malloc_trim):
 * when the pool falls idle after at least this many jobs, at most once per
 * TRIM_MIN_INTERVAL_MS, and whenever it shrinks. */
#define TRIM_AFTER_JOBS 32
#define TRIM_MIN_INTERVAL_MS 1000

typedef struct job {
    struct job *next;
    cs_job_fn fn;
    void *arg;
} job;

struct cs_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;    /* a job was queued, or shutdown */
    pthread_cond_t exited;  /* a thread has exited */
    job *head, *tail;
    size_t min, max;
    size_t threads, idle;
    size_t queued; /* jobs not yet taken by a thread */
    bool stopping;
    size_t jobs_since_trim;
    int64_t last_trim_ms;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether the thread that finished a job should trim: the pool is idle
 * (nothing queued, every other thread waiting) after a burst. self: 1 when
 * that thread is one of the pool's (not waiting, yet idle), 0 otherwise. */
static bool trim_due_locked(cs_pool *p, size_t self)
{
    p->jobs_since_trim++;
    if (p->head || p->idle + self < p->threads || p->jobs_since_trim < TRIM_AFTER_JOBS)
        return false;
    int64_t now = mono_ms();
    if (now - p->last_trim_ms < TRIM_MIN_INTERVAL_MS)
        return false;
    p->jobs_since_trim = 0;
    p->last_trim_ms = now;
    return true;
}

static void *worker_main(void *arg);

cs_pool *cs_pool_new(size_t min_threads, size_t max_threads)
{
    cs_pool *p = cs_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&p->exited, NULL);
    p->min = min_threads;
    p->max = max_threads < min_threads ? min_threads : max_threads;
    if (p->max == 0)
        p->max = 1;
    return p;
}

/* Called with mu held. Threads are detached; cs_pool_free waits on the count. */
static int spawn_locked(cs_pool *p)
{
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, POOL_STACK_SIZE);
    int rc = pthread_create(&t, &attr, worker_main, p);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    p->threads++;
    return 0;
}

int cs_pool_submit(cs_pool *p, cs_job_fn fn, void *arg)
{
    job *j = cs_xmalloc(sizeof *j);
    j->next = NULL;
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        free(j);
        return -1;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
    /* Idle threads already woken for earlier jobs don't count: compare with the
     * queue length, or a long stream could leave a job waiting behind it. */
    if (p->queued > p->idle && p->threads < p->max && spawn_locked(p) != 0 && p->threads == 0)
        cs_warn("worker pool: cannot start a thread; job waits", NULL);
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static job *next_job_locked(cs_pool *p, bool *exit_now)
{
    *exit_now = false;
    while (!p->head) {
        if (p->stopping) {
            *exit_now = true;
            return NULL;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += POOL_IDLE_EXIT_SECONDS;
        p->idle++;
        int rc = pthread_cond_timedwait(&p->work, &p->mu, &until);
        p->idle--;
        if (rc == ETIMEDOUT && !p->head && p->threads > p->min) {
            *exit_now = true;
            return NULL;
        }
    }
    job *j = p->head;
    p->queued--;
    p->head = j->next;
    if (!p->head)
        p->tail = NULL;
    return j;
}

void cs_pool_job_done_elsewhere(cs_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    bool trim = trim_due_locked(p, 0);
    pthread_mutex_unlock(&p->mu);
    if (trim)
        malloc_trim(0);
}

static void *worker_main(void *arg)
{
    cs_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        bool exit_now;
        job *j = next_job_locked(p, &exit_now);
        if (exit_now)
            break;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->mu);
        if (trim_due_locked(p, 1)) {
            pthread_mutex_unlock(&p->mu);
            malloc_trim(0);
            pthread_mutex_lock(&p->mu);
        }
    }
    p->threads--;
    bool shrunk = !p->stopping;
    pthread_cond_broadcast(&p->exited);
    pthread_mutex_unlock(&p->mu);
    if (shrunk)
        malloc_trim(0);
    return NULL;
}

void cs_pool_free(cs_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    /* Queued jobs still run: workers drain the queue before they see stopping. */
    if (p->head && p->threads == 0)
        spawn_locked(p);
    pthread_cond_broadcast(&p->work);
    while (p->threads > 0)
        pthread_cond_wait(&p->exited, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->exited);
    free(p);
}

size_t cs_pool_threads(cs_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->threads;
    pthread_mutex_unlock(&p->mu);
    return n;
}

size_t cs_pool_busy(cs_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->threads - p->idle;
    pthread_mutex_unlock(&p->mu);
    return n;
}
