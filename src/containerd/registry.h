/* A Docker registry v2 / OCI distribution client over libcurl, crishim's own
 * pull (containerd 1.6 has no server-side pull): resolves tags and digests,
 * fetches manifests and blobs, authenticates (anonymous, Basic, Bearer tokens
 * from WWW-Authenticate with every CRI AuthConfig form), follows blob
 * redirects without credentials, resumes from an offset, and fails a transfer
 * only when no byte has arrived for progress_timeout_ms (or at ctx's
 * deadline), never because it is slow. The contract with the pull
 * orchestration is /work/wt/REGISTRY_API.md. */
#ifndef CS_CONTAINERD_REGISTRY_H
#define CS_CONTAINERD_REGISTRY_H

#include <stdint.h>

#include "backend/backend.h"  /* cs_auth */
#include "backend/imageref.h" /* cs_imageref */
#include "util/arena.h"
#include "util/ctx.h"
#include "util/error.h"

typedef struct reg_options {
    long progress_timeout_ms;     /* fail a fetch after this long with no byte received (default 60000) */
    int max_concurrent_downloads; /* blob downloads at once over the whole client (default 3) */
    const char *insecure_hosts;   /* NULL, or comma-separated host[:port] spoken to over plain http
                                     (tests: 127.0.0.1:PORT registries); loopback hosts may default to http
                                     after https fails, as containerd does for localhost */
} reg_options;

typedef struct reg_client reg_client; /* thread-safe; one per backend; caches bearer tokens */
/* The process must have called curl_global_init (the daemon does, through
 * docker_http_global_init) before. o may be NULL (defaults). */
int reg_client_new(const reg_options *o, reg_client **out, cs_error *err);
void reg_client_free(reg_client *c);

typedef struct reg_desc {
    char media_type[128];
    char digest[80]; /* "sha256:<hex>" */
    int64_t size;
} reg_desc;

/* HEAD (falling back to GET) /v2/<path>/manifests/<tag|digest>: the top descriptor (an index or a manifest).
 * Errors: NOT_FOUND (no such repo/tag), UNAUTHENTICATED (bad credentials: message names the registry),
 * UNAVAILABLE (cannot connect), DEADLINE (ctx or progress timeout), INVALID (bad answer). */
int reg_resolve(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth, reg_desc *out,
                cs_error *err);

/* A manifest or index body (<= 4 MiB), its sha256 checked against d->digest (DATA_LOSS on a mismatch).
 * *body is in arena a, NUL-terminated one byte past *len. */
int reg_fetch_manifest(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth,
                       const reg_desc *d, cs_arena *a, char **body, size_t *len, cs_error *err);

/* Streams blob d from byte `offset` (Range request when offset > 0; a server that ignores Range is handled by
 * skipping) into sink, in chunks as they arrive. Follows redirects to blob storage WITHOUT the Authorization
 * header. Never fails a slow but moving transfer: only progress_timeout_ms with no byte (DEADLINE, message
 * names the blob digest), ctx's deadline (DEADLINE) or cancel. Takes one of max_concurrent_downloads slots for
 * its duration. The sink returning -1 aborts with its error. The digest is NOT verified here (the content store
 * verifies it at commit). offset >= d->size (when d->size > 0) succeeds at once without a request. */
typedef int (*reg_sink_fn)(void *user, const char *data, size_t len, cs_error *err);
int reg_fetch_blob(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth,
                   const reg_desc *d, int64_t offset, reg_sink_fn sink, void *user, cs_error *err);
/* A small blob (an image config, <= 4 MiB) into the arena, digest checked (DATA_LOSS on a mismatch). */
int reg_fetch_blob_small(reg_client *c, const cs_ctx *ctx, const cs_imageref *ref, const cs_auth *auth,
                         const reg_desc *d, cs_arena *a, char **body, size_t *len, cs_error *err);

/* ---- beyond the contract: for tests and diagnostics ---- */

/* "registry-1.docker.io" for docker.io, else the reference's domain. */
const char *reg_endpoint_host(const char *domain);

#endif
