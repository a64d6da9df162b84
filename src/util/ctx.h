/* What one request allows its engine calls: a deadline and a cancel flag.
 * Passed down by pointer so an engine call can bound its timeout by the gRPC
 * deadline and abort when the client goes away. */
#ifndef CS_CTX_H
#define CS_CTX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct cs_ctx {
    int64_t deadline_ms;        /* CLOCK_MONOTONIC ms; 0 = no deadline */
    const atomic_bool *cancelled; /* NULL = can't be cancelled */
} cs_ctx;

/* ms left before the deadline (>= 0), or -1 when there is no deadline. */
int64_t cs_ctx_remaining_ms(const cs_ctx *ctx);
/* True once cancelled or past the deadline. NULL ctx: never done. */
bool cs_ctx_done(const cs_ctx *ctx);
bool cs_ctx_cancelled(const cs_ctx *ctx);
/* ctx's cancellation with a deadline at most ms from now (and never past
 * ctx's own): a step that must not take all a request has left. ctx NULL:
 * just the ms. */
cs_ctx cs_ctx_within(const cs_ctx *ctx, int64_t ms);

#endif
