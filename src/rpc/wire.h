/* Checks on a request's wire bytes that the unpacked message can no longer
 * show. protobuf-c hands strings over as NUL-terminated char *, so a string
 * field holding a NUL byte would silently end there ("busybox\0:evil" reads as
 * "busybox"); the server refuses such requests, naming the field. */
#ifndef CS_RPC_WIRE_H
#define CS_RPC_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when some string field of the message `data` encodes as `desc`
 * (nested messages, repeated fields and map entries included) holds a NUL
 * byte; `path` then names the first one ("config.labels[0].key",
 * "image.image"). Bytes fields may hold anything. */
bool cs_wire_find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, char *path,
                      size_t cap);

#endif
