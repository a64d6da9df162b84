/* The streaming server's request cache: Exec, Attach and PortForward store
 * what they were asked for under a random token, and the URL they return
 * carries it. A token is good once, for a minute; a bounded number can be
 * outstanding, so a client that asks and never connects can't grow us. */
#ifndef CS_STREAM_TOKENS_H
#define CS_STREAM_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* 16 random bytes as base64url without padding. */
#define STRM_TOKEN_LEN 22

typedef enum strm_kind { STRM_EXEC = 0, STRM_ATTACH, STRM_PORTFORWARD } strm_kind;

/* What a token stands for; everything owned by the request. */
typedef struct strm_request {
    strm_kind kind;
    char *id;   /* container (exec, attach) or pod sandbox (port-forward), full id */
    char **cmd; /* exec: NULL-terminated */
    size_t ncmd;
    bool tty, stdin_, stdout_, stderr_;
    uint16_t *ports; /* port-forward */
    size_t nports;
} strm_request;

void strm_request_free(strm_request *r);
const char *strm_kind_name(strm_kind k); /* "exec", "attach", "portforward" */

typedef struct strm_tokens strm_tokens;

strm_tokens *strm_tokens_new(size_t max, int64_t ttl_ms);
void strm_tokens_free(strm_tokens *t);
/* Stores r (owned from here on, even on failure) under a fresh token.
 * RESOURCE_EXHAUSTED when max requests are outstanding. */
int strm_tokens_put(strm_tokens *t, strm_request *r, char token[STRM_TOKEN_LEN + 1], cs_error *err);
/* Removes and returns the request (caller owns it); NULL when the token is
 * unknown, used or expired. */
strm_request *strm_tokens_take(strm_tokens *t, const char *token);
size_t strm_tokens_outstanding(strm_tokens *t);

#endif
