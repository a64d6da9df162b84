/* cs_code <-> grpc_status_code. cs_code reuses the gRPC numbers (see the
 * CS_ERROR_CODES list), so the mapping is checked at compile time rather than
 * kept as a second table that could drift. */
#include "rpc/status.h"

#define CS_X_CHECK(name, num, text) _Static_assert((int)name == num, #name " must equal gRPC code " #num);
CS_ERROR_CODES(CS_X_CHECK)
#undef CS_X_CHECK
_Static_assert((int)GRPC_STATUS_NOT_FOUND == (int)CS_ERR_NOT_FOUND, "gRPC numbering");
_Static_assert((int)GRPC_STATUS_UNAVAILABLE == (int)CS_ERR_UNAVAILABLE, "gRPC numbering");
_Static_assert((int)GRPC_STATUS_UNAUTHENTICATED == (int)CS_ERR_UNAUTHENTICATED, "gRPC numbering");

grpc_status_code cs_status_to_grpc(cs_code code)
{
    if ((int)code < 0 || (int)code > (int)CS_ERR_UNAUTHENTICATED)
        return GRPC_STATUS_UNKNOWN;
    return (grpc_status_code)code;
}

cs_code cs_status_from_grpc(grpc_status_code code)
{
    if ((int)code < 0 || (int)code > (int)GRPC_STATUS_UNAUTHENTICATED)
        return CS_ERR_UNKNOWN;
    return (cs_code)code;
}
