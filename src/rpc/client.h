/* A one-shot synchronous unary gRPC call on grpc core, for the daemon's own
 * commands (`crishim health`): connect, call, wait, close. */
#ifndef CS_RPC_CLIENT_H
#define CS_RPC_CLIENT_H

#include <protobuf-c/protobuf-c.h>

#include "util/error.h"

/* target: a --listen address (unix:///path, tcp://host:port, plaintext).
 * *resp is malloc'd by protobuf-c: protobuf_c_message_free_unpacked(*resp,
 * NULL). A non-OK status comes back as its code and details. */
int cs_rpc_unary(const char *target, const char *method, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, int timeout_ms, cs_error *err);
/* The same over given channel credentials (borrowed; NULL: plaintext), e.g.
 * grpc_ssl_credentials_create for a tcp:// listener with TLS. */
struct grpc_channel_credentials;
int cs_rpc_unary_creds(const char *target, struct grpc_channel_credentials *creds, const char *method,
                       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                       ProtobufCMessage **resp, int timeout_ms, cs_error *err);

#endif
