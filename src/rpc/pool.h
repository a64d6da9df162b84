/* An elastic worker pool: handler work runs here, never on the completion-queue
 * threads, so a slow engine call cannot stall other RPCs. Threads are started
 * on demand up to a maximum (long streams hold one each) and idle ones above
 * the minimum exit after a while, so an idle daemon keeps few threads. */
#ifndef CS_RPC_POOL_H
#define CS_RPC_POOL_H

#include <stddef.h>

typedef struct cs_pool cs_pool;
typedef void (*cs_job_fn)(void *arg);

cs_pool *cs_pool_new(size_t min_threads, size_t max_threads);
/* Queues fn(arg). Returns -1 only once the pool is shutting down. Jobs wait in
 * the queue when every thread is busy and the maximum is reached. */
int cs_pool_submit(cs_pool *p, cs_job_fn fn, void *arg);
/* A job of the same kind ran on another thread (a unary call the server ran
 * inline): it counts toward the burst after which freed memory goes back to
 * the system, and trims now when the pool is idle and that is due. */
void cs_pool_job_done_elsewhere(cs_pool *p);
/* Runs every queued job, then joins all threads and frees the pool. */
void cs_pool_free(cs_pool *p);
/* Threads alive / busy now (metrics and tests). */
size_t cs_pool_threads(cs_pool *p);
size_t cs_pool_busy(cs_pool *p);

#endif
