/* The methods crishim serves, derived from the protobuf-c service descriptors:
 * every method of every service is registered, whether or not a handler exists
 * (those answer UNIMPLEMENTED naming the method). protoc-c drops the `stream`
 * keyword, so the streaming methods are listed here by name. */
#ifndef CS_RPC_METHODS_H
#define CS_RPC_METHODS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef enum cs_method_kind {
    CS_METHOD_UNARY,
    CS_METHOD_SERVER_STREAM,
    CS_METHOD_BIDI,
} cs_method_kind;

typedef struct cs_method {
    char *path; /* "/runtime.v1.RuntimeService/Version" (owned) */
    const ProtobufCMethodDescriptor *desc;
    cs_method_kind kind;
} cs_method;

/* The services crishim registers, NULL-terminated. */
extern const ProtobufCServiceDescriptor *const cs_services[];

/* Builds the table of all methods of cs_services (caller frees with
 * cs_methods_free). */
cs_method *cs_methods_build(size_t *count);
void cs_methods_free(cs_method *methods, size_t count);
/* Kind by full path; unary when not a known streaming method. */
cs_method_kind cs_method_kind_of(const char *path);
const char *cs_method_kind_name(cs_method_kind kind);

#endif
