/* One error type for all of crishim: a backend-neutral code plus a message that
 * already reads as a diagnosis ("pull busybox: registry said: unauthorized").
 * Functions return 0 on success, -1 on failure, and take `cs_error *err` last.
 * The code maps to a gRPC status in src/rpc/status.c only. */
#ifndef CS_ERROR_H
#define CS_ERROR_H

#include <stdarg.h>

/* X-macro: name, gRPC status code number, short text. Kept in one list so the
 * mapping to gRPC (and the names used in logs and tests) cannot drift. */
#define CS_ERROR_CODES(X)                                   \
    X(CS_OK, 0, "ok")                                       \
    X(CS_ERR_CANCELLED, 1, "cancelled")                     \
    X(CS_ERR_UNKNOWN, 2, "unknown")                         \
    X(CS_ERR_INVALID, 3, "invalid argument")                \
    X(CS_ERR_DEADLINE, 4, "deadline exceeded")              \
    X(CS_ERR_NOT_FOUND, 5, "not found")                     \
    X(CS_ERR_EXISTS, 6, "already exists")                   \
    X(CS_ERR_PERMISSION, 7, "permission denied")            \
    X(CS_ERR_RESOURCE, 8, "resource exhausted")             \
    X(CS_ERR_CONFLICT, 9, "failed precondition")            \
    X(CS_ERR_ABORTED, 10, "aborted")                        \
    X(CS_ERR_RANGE, 11, "out of range")                     \
    X(CS_ERR_UNIMPLEMENTED, 12, "unimplemented")            \
    X(CS_ERR_INTERNAL, 13, "internal")                      \
    X(CS_ERR_UNAVAILABLE, 14, "unavailable")                \
    X(CS_ERR_DATA_LOSS, 15, "data loss")                    \
    X(CS_ERR_UNAUTHENTICATED, 16, "unauthenticated")

typedef enum cs_code {
#define CS_X_ENUM(name, num, text) name = num,
    CS_ERROR_CODES(CS_X_ENUM)
#undef CS_X_ENUM
} cs_code;

#define CS_ERROR_MSG_MAX 1024

typedef struct cs_error {
    cs_code code;
    char msg[CS_ERROR_MSG_MAX];
} cs_error;

/* Sets *err (if err is non-NULL) and returns -1, so call sites can write
 * `return cs_error_set(err, CS_ERR_INVALID, "metadata.name is required");`. */
int cs_error_set(cs_error *err, cs_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cs_error_setv(cs_error *err, cs_code code, const char *fmt, va_list ap);

/* Like cs_error_set, appending ": strerror(errnum)". */
int cs_error_errno(cs_error *err, cs_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes context to an error on its way up: "ctx: old message". Keeps the
 * code. Returns -1. */
int cs_error_wrap(cs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void cs_error_clear(cs_error *err);

/* "not found", "unavailable", ...; never NULL. */
const char *cs_code_text(cs_code code);
/* "NOT_FOUND", "UNAVAILABLE", ...: the gRPC spelling, for logs and tests. */
const char *cs_code_name(cs_code code);

#endif
