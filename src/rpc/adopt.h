/* Serving listening sockets crishim did not create (systemd socket
 * activation). gRPC core 1.51 cannot adopt a listening fd: its only fd entry
 * point, grpc_server_add_channel_from_fd (grpc_posix.h), takes one connected
 * socket with insecure credentials. So one thread polls the inherited
 * listeners and hands every accepted connection to that call; from there on
 * the connection is grpc's like any other. */
#ifndef CS_RPC_ADOPT_H
#define CS_RPC_ADOPT_H

#include <grpc/grpc.h>
#include <stddef.h>

#include "util/error.h"

typedef struct cs_adopter cs_adopter;

/* Starts accepting on fds (listening stream sockets, now owned by the
 * adopter) for a started server. */
int cs_adopter_start(grpc_server *server, const int *fds, size_t nfds, cs_adopter **out, cs_error *err);
/* Stops accepting and closes the listening fds (systemd keeps its own copy);
 * connections already handed over stay grpc's. */
void cs_adopter_stop(cs_adopter *a);

#endif
