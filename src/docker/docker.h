/* The Docker engine backend: the Docker Engine HTTP API over its unix socket. */
#ifndef CS_DOCKER_H
#define CS_DOCKER_H

#include "backend/backend.h"
#include "util/error.h"

typedef struct docker_options {
    const char *host;         /* "unix:///var/run/docker.sock" when NULL */
    const char *pause_image;  /* the sandbox image */
    const char *pause_binary; /* imported as pause_image when that is missing; may be NULL */
} docker_options;

/* Does not contact the engine: a daemon that is down now is reached once it
 * is up. Starts resuming the CRI logs of existing containers in the
 * background. */
int docker_backend_new(const docker_options *opts, cs_backend **out, cs_error *err);

/* Whether the engine at host answers a ping within timeout_ms (used by
 * --backend auto): 0 with its version in *out (strings in a), else -1 with
 * why not in err ("docker at /x: cannot connect: ..."). */
int docker_backend_probe(const char *host, int64_t timeout_ms, cs_arena *a, cs_engine_version *out, cs_error *err);

#endif
