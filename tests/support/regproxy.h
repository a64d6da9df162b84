/* Test support: a small HTTP proxy in front of the open test registry that
 * does what docker-registry can't, so the registry client's hard cases are
 * tested against real bytes: counting GETs and bytes per blob, tracking how
 * many blob downloads run at once, throttling blob bodies to a trickle,
 * stalling after K bytes, a Bearer token realm (user/password, identity
 * token, registry token) in front of the API, and redirecting blobs to a
 * second "storage" port that rejects any request carrying Authorization.
 * Plain sockets and one thread per connection; one request per connection
 * (it answers "Connection: close"). Runs inside the test process (the
 * knobs are plain calls) or as the crishim-test-regproxy program. */
#ifndef CS_TEST_REGPROXY_H
#define CS_TEST_REGPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Credentials the Bearer realm accepts. */
#define RP_USER "crishim"
#define RP_PASS "s3cret"
#define RP_IDENTITY_TOKEN "crishim-identity-token"
#define RP_REGISTRY_TOKEN "crishim-registry-token"
#define RP_SERVICE "crishim-proxy"

typedef struct rp_proxy rp_proxy;

/* upstream: "127.0.0.1:PORT" of an open registry. Listens on two free
 * loopback ports. NULL on failure (message on stderr). */
rp_proxy *rp_start(const char *upstream);
/* Stops listening, ends every connection (stalled ones too), joins. */
void rp_stop(rp_proxy *p);
int rp_port(const rp_proxy *p);         /* the registry API (and /token) */
int rp_storage_port(const rp_proxy *p); /* redirect target for blobs */

/* ---- behaviour (any thread, any time; applies to requests that start after) ---- */
void rp_set_bearer(rp_proxy *p, bool on); /* /v2/ needs "Authorization: Bearer <token>" */
/* Blob bodies: `bytes` then a pause of `interval_ms`, repeatedly; 0 = full speed. */
void rp_set_throttle(rp_proxy *p, int64_t bytes, int interval_ms);
/* Blob bodies: send `bytes` of the body, then nothing until the client goes; -1 = never stall. */
void rp_set_stall_after(rp_proxy *p, int64_t bytes);
void rp_set_redirect(rp_proxy *p, bool on); /* blob GETs: 307 to the storage port */
/* Range headers are not passed on: the client gets 200 and the whole blob. */
void rp_set_ignore_range(rp_proxy *p, bool on);
/* Blob bodies: hold each download this long before its first body byte
 * (so concurrent downloads overlap measurably). */
void rp_set_blob_delay(rp_proxy *p, int ms);

/* ---- what happened (since the last reset) ---- */
void rp_reset_stats(rp_proxy *p);
int rp_blob_gets(rp_proxy *p, const char *digest);      /* GETs of /v2/<repo>/blobs/<digest> (not storage) */
int64_t rp_blob_bytes(rp_proxy *p, const char *digest); /* body bytes of it sent (registry and storage) */
int rp_max_concurrent(rp_proxy *p);                     /* most blob bodies in flight at once */
int rp_token_requests(rp_proxy *p);
int rp_storage_requests(rp_proxy *p);
int rp_storage_rejected(rp_proxy *p); /* storage requests that carried Authorization (answered 403) */
/* The Range header of the last blob GET ("" if none). */
void rp_last_range(rp_proxy *p, char *out, size_t size);

#endif
