/* The CRI service: runtime.v1 handlers over a backend, plus crishim's own
 * extension services. shim/main.c builds one cri_runtime and hands
 * cri_handlers to the gRPC server. */
#ifndef CS_CRI_H
#define CS_CRI_H

#include <pthread.h>

#include "backend/backend.h"
#include "rpc/call.h"

struct strm_server;

typedef struct cri_runtime {
    cs_backend *backend;  /* owned */
    /* Where Exec/Attach/PortForward URLs point; borrowed, set by the daemon
     * before serving. */
    struct strm_server *streaming;
    const char *version;  /* crishim's own version */
    /* Shown by verbose Status; borrowed from the daemon's config. */
    const char *config_json;
    /* How the daemon chose the backend, for verbose Status: what was asked
     * ("docker", "containerd" or "auto") and why this one. Borrowed, set by
     * the daemon before serving; NULL when nobody said. */
    const char *backend_selected;
    const char *backend_reason;
    pthread_mutex_t mu;   /* guards what UpdateRuntimeConfig changes */
    char *pod_cidr;
} cri_runtime;

/* Takes ownership of backend. */
cri_runtime *cri_runtime_new(cs_backend *backend, const char *version, const char *config_json);
void cri_runtime_free(cri_runtime *rt);
/* Copy of the pod CIDR last set by UpdateRuntimeConfig, "" if none (malloc'd). */
char *cri_runtime_pod_cidr(cri_runtime *rt);

/* Every handler crishim has, ending with {NULL}. */
extern const cs_handler cri_handlers[];

#endif
