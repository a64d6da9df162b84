/* The one place where crishim errors become gRPC status codes. */
#ifndef CS_RPC_STATUS_H
#define CS_RPC_STATUS_H

#include <grpc/status.h>

#include "util/error.h"

grpc_status_code cs_status_to_grpc(cs_code code);
cs_code cs_status_from_grpc(grpc_status_code code);

#endif
