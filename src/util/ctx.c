/* Request deadline and cancellation; see ctx.h. */
#include "util/ctx.h"

#include "util/time.h"

int64_t cs_ctx_remaining_ms(const cs_ctx *ctx)
{
    if (!ctx || ctx->deadline_ms <= 0)
        return -1;
    int64_t left = ctx->deadline_ms - cs_time_mono_ms();
    return left > 0 ? left : 0;
}

bool cs_ctx_cancelled(const cs_ctx *ctx)
{
    return ctx && ctx->cancelled && atomic_load(ctx->cancelled);
}

cs_ctx cs_ctx_within(const cs_ctx *ctx, int64_t ms)
{
    cs_ctx c = {.deadline_ms = cs_time_mono_ms() + ms, .cancelled = ctx ? ctx->cancelled : NULL};
    if (ctx && ctx->deadline_ms > 0 && ctx->deadline_ms < c.deadline_ms)
        c.deadline_ms = ctx->deadline_ms;
    return c;
}

bool cs_ctx_done(const cs_ctx *ctx)
{
    return cs_ctx_cancelled(ctx) || cs_ctx_remaining_ms(ctx) == 0;
}
