/* The Docker engine backend: the Docker Engine HTTP API over its unix socket. */
#ifndef CS_DOCKER_H
#define CS_DOCKER_H

#include "backend/backend.h"
#include "util/error.h"

/* host: "unix:///var/run/docker.sock" (default when NULL). Does not contact the
 * engine: a daemon that is down now is reached once it is up. */
int docker_backend_new(const char *host, cs_backend **out, cs_error *err);

/* True when the engine at host answers a ping within timeout_ms (used by
 * --backend auto). */
bool docker_backend_probe(const char *host, int64_t timeout_ms);

#endif
