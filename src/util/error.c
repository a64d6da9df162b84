/* The crishim error type: see error.h. */
#include "util/error.h"

#include <stdio.h>
#include <string.h>

int cs_error_setv(cs_error *err, cs_code code, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int cs_error_set(cs_error *err, cs_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cs_error_setv(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

int cs_error_errno(cs_error *err, cs_code code, int errnum, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return -1;
    va_start(ap, fmt);
    cs_error_setv(err, code, fmt, ap);
    va_end(ap);
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len, ": %s", strerror(errnum));
    return -1;
}

int cs_error_wrap(cs_error *err, const char *fmt, ...)
{
    char old[CS_ERROR_MSG_MAX];
    va_list ap;
    if (!err)
        return -1;
    memcpy(old, err->msg, sizeof old);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    size_t len = strlen(err->msg);
    if (len + 2 < sizeof err->msg) {
        memcpy(err->msg + len, ": ", 2);
        len += 2;
        size_t n = strnlen(old, sizeof err->msg - 1 - len);
        memcpy(err->msg + len, old, n);
        err->msg[len + n] = '\0';
    }
    return -1;
}

void cs_error_clear(cs_error *err)
{
    if (!err)
        return;
    err->code = CS_OK;
    err->msg[0] = '\0';
}

const char *cs_code_text(cs_code code)
{
    switch (code) {
#define CS_X_TEXT(name, num, text) \
    case name:                     \
        return text;
        CS_ERROR_CODES(CS_X_TEXT)
#undef CS_X_TEXT
    }
    return "unknown";
}

const char *cs_code_name(cs_code code)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };
    if ((unsigned)code < sizeof names / sizeof names[0])
        return names[code];
    return "UNKNOWN";
}
