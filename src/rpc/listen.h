/* Listen addresses: parsing "unix:///path", "/path", "tcp://host:port", and
 * preparing a unix socket path (parent created, stale socket removed, a live
 * one refused). */
#ifndef CS_RPC_LISTEN_H
#define CS_RPC_LISTEN_H

#include <limits.h>
#include <stdbool.h>

#include "util/error.h"

typedef struct cs_listen_addr {
    bool is_unix;
    char path[108];     /* unix: socket path (sun_path size) */
    char hostport[256]; /* tcp: "host:port" as grpc wants it */
} cs_listen_addr;

int cs_listen_parse(const char *addr, cs_listen_addr *out, cs_error *err);
int cs_listen_prepare_unix(const char *path, cs_error *err);

#endif
