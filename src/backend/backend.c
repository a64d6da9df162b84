/* The out-of-line half of calling a backend op (backend.h): what an op left
 * NULL answers. */
#include "backend/backend.h"

#include <string.h>

int cs_backend_unimplemented(const cs_backend *b, const char *op, cs_error *err)
{
    return cs_error_set(err, CS_ERR_UNIMPLEMENTED, "%s is not supported by the %s backend yet", op,
                        b->ops->name ? b->ops->name : "this");
}

void cs_backend_status(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_status *out)
{
    if (b->ops->status) {
        b->ops->status(b, ctx, a, out);
        return;
    }
    memset(out, 0, sizeof *out);
    out->runtime_reason = "Unimplemented";
    out->runtime_message = "this backend does not report its status";
    out->network_reason = "Unimplemented";
    out->network_message = "this backend does not report its status";
}
