/* TLS for tcp:// listeners: gRPC core SSL server credentials whose
 * certificate comes from a fetcher that re-reads the PEM files when they
 * change (grpc asks it before every handshake; a change costs three stats),
 * so a renewed certificate is served without a restart. With a client CA,
 * clients must present a certificate it signed (mTLS). */
#ifndef CS_RPC_TLS_H
#define CS_RPC_TLS_H

#include <grpc/grpc_security.h>
#include <stdbool.h>

#include "util/error.h"

typedef struct cs_tls_files {
    const char *cert;      /* PEM chain */
    const char *key;       /* PEM private key */
    const char *client_ca; /* PEM bundle; NULL: no client certificates asked */
} cs_tls_files;

typedef struct cs_tls cs_tls;

/* Reads the files once (an error names the bad one). Copies the paths. */
int cs_tls_new(const cs_tls_files *files, cs_tls **out, cs_error *err);
/* New credentials for one grpc_server_add_http2_port (caller releases them);
 * t must outlive the server that uses them. */
grpc_server_credentials *cs_tls_server_credentials(cs_tls *t);
/* True when clients must present a certificate. */
bool cs_tls_mutual(const cs_tls *t);
void cs_tls_free(cs_tls *t);

#endif
